//! CloudWatch's embedded metric format: each metric is one JSON line on
//! standard output, which Lambda hands to CloudWatch Logs, which turns it
//! into a metric in the namespace `PhoneAuth`. No API call, no wait.
//!
//! Every metric carries the `Stack` dimension (two stacks in one account
//! keep their counts apart), alone and with the metric's own dimension.

use std::io::Write;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::domain::metric::Metric;
use crate::ports::{Clock, Metrics};

pub const NAMESPACE: &str = "PhoneAuth";

pub struct EmfMetrics {
    stack: String,
    clock: Arc<dyn Clock>,
}

impl EmfMetrics {
    pub fn new(stack: impl Into<String>, clock: Arc<dyn Clock>) -> EmfMetrics {
        EmfMetrics {
            stack: stack.into(),
            clock,
        }
    }

    /// The log line of one metric, without its newline.
    pub fn line(&self, metric: &Metric) -> String {
        let name = metric.name();
        let mut dimensions = vec![json!(["Stack"])];
        let mut root = Map::new();
        root.insert("Stack".into(), Value::from(self.stack.as_str()));
        if let Some((dimension, value)) = metric.dimension() {
            dimensions.push(json!(["Stack", dimension]));
            root.insert(dimension.into(), Value::from(value));
        }
        root.insert(name.into(), Value::from(1));
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.clock.now().0,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": [{ "Name": name, "Unit": "Count" }],
                }],
            }),
        );
        Value::Object(root).to_string()
    }
}

impl Metrics for EmfMetrics {
    fn record(&self, metric: Metric) {
        let mut line = self.line(&metric);
        line.push('\n');
        // One write of one whole line, so that log lines never interleave
        // inside it. A closed stdout loses the metric, not the request.
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metric::Limit;
    use crate::domain::phone::Region;
    use crate::domain::time::Timestamp;

    struct At(i64);

    impl Clock for At {
        fn now(&self) -> Timestamp {
            Timestamp(self.0)
        }
    }

    fn line(metric: Metric) -> Value {
        let emf = EmfMetrics::new("prod", Arc::new(At(1_764_600_000_123)));
        serde_json::from_str(&emf.line(&metric)).unwrap()
    }

    #[test]
    fn a_metric_with_a_dimension_is_published_with_and_without_it() {
        let line = line(Metric::CodeSent {
            region: Some(Region::RU),
        });
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 1_764_600_000_123_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "PhoneAuth",
                        "Dimensions": [["Stack"], ["Stack", "Region"]],
                        "Metrics": [{ "Name": "CodesSent", "Unit": "Count" }],
                    }],
                },
                "Stack": "prod",
                "Region": "RU",
                "CodesSent": 1,
            })
        );
    }

    #[test]
    fn each_metric_names_its_dimension_and_its_value() {
        let cases = [
            (
                Metric::SmsFailed { region: None },
                Some(("Region", "unknown")),
            ),
            (Metric::LoggedIn { created: true }, Some(("Kind", "new"))),
            (
                Metric::LoggedIn { created: false },
                Some(("Kind", "returning")),
            ),
            (Metric::LimitHit(Limit::IpHour), Some(("Limit", "ip_hour"))),
            (Metric::WrongCode, None),
            (Metric::RefreshReuse, None),
        ];
        for (metric, dimension) in cases {
            let line = line(metric);
            let declared = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(declared["Metrics"][0]["Name"], metric.name());
            assert_eq!(line[metric.name()], 1);
            let mut sets = vec![json!(["Stack"])];
            if let Some((name, value)) = dimension {
                sets.push(json!(["Stack", name]));
                assert_eq!(line[name], value);
            }
            assert_eq!(declared["Dimensions"], Value::Array(sets));
            // Nothing but the stack, the dimension, the count and `_aws`.
            let keys = line.as_object().unwrap().len();
            assert_eq!(keys, 3 + usize::from(dimension.is_some()));
        }
    }
}
