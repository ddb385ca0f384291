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
use crate::domain::time::Timestamp;
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
        self.line_at(metric, self.clock.now())
    }

    /// The line of a metric of an event that happened at `at` (a delivery
    /// SNS logged a while ago counts in the minute it happened).
    pub fn line_at(&self, metric: &Metric, at: Timestamp) -> String {
        let mut dimensions = vec![json!(["Stack"])];
        let mut root = Map::new();
        root.insert("Stack".into(), Value::from(self.stack.as_str()));
        for (dimension, value) in metric.dimensions() {
            dimensions.push(json!(["Stack", dimension]));
            root.insert(dimension.into(), Value::from(value));
        }
        let mut declared = Vec::new();
        for (name, value, unit) in metric.values() {
            declared.push(json!({ "Name": name, "Unit": unit }));
            // Counts as whole numbers, as they always were.
            let value = if value.fract() == 0.0 {
                Value::from(value as i64)
            } else {
                Value::from(value)
            };
            root.insert(name.into(), value);
        }
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": at.0,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": declared,
                }],
            }),
        );
        Value::Object(root).to_string()
    }
}

impl EmfMetrics {
    /// Writes the line of a metric of an event that happened at `at`.
    pub fn record_at(&self, metric: Metric, at: Timestamp) {
        let mut line = self.line_at(&metric, at);
        line.push('\n');
        // One write of one whole line, so that log lines never interleave
        // inside it. A closed stdout loses the metric, not the request.
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

impl Metrics for EmfMetrics {
    fn record(&self, metric: Metric) {
        self.record_at(metric, self.clock.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metric::Limit;
    use crate::domain::phone::Region;

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
    fn each_metric_names_its_dimensions_and_its_value() {
        let ru = Some(Region::RU);
        let cases: [(Metric, &[(&str, &str)]); 6] = [
            (Metric::SmsFailed { region: None }, &[("Region", "unknown")]),
            (
                Metric::LoggedIn {
                    created: true,
                    region: ru,
                },
                &[("Kind", "new"), ("Region", "RU")],
            ),
            (
                Metric::LoggedIn {
                    created: false,
                    region: None,
                },
                &[("Kind", "returning"), ("Region", "unknown")],
            ),
            (Metric::LimitHit(Limit::IpHour), &[("Limit", "ip_hour")]),
            (Metric::WrongCode, &[]),
            (Metric::RefreshReuse, &[]),
        ];
        for (metric, dimensions) in cases {
            let line = line(metric);
            let declared = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(declared["Metrics"][0]["Name"], metric.name());
            assert_eq!(line[metric.name()], 1);
            let mut sets = vec![json!(["Stack"])];
            for (name, value) in dimensions {
                sets.push(json!(["Stack", name]));
                assert_eq!(line[name], *value);
            }
            assert_eq!(declared["Dimensions"], Value::Array(sets));
            // Nothing but the stack, the dimensions, the count and `_aws`.
            let keys = line.as_object().unwrap().len();
            assert_eq!(keys, 3 + dimensions.len());
        }
    }

    #[test]
    fn a_delivery_writes_its_outcome_as_a_rate_and_its_price() {
        let failed = line(Metric::SmsDelivery {
            region: Some(Region::BR),
            delivered: false,
            price_micro_usd: 6_450,
        });
        let declared = &failed["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            declared["Metrics"],
            json!([
                { "Name": "SmsDelivered", "Unit": "Count" },
                { "Name": "SmsFailed", "Unit": "Count" },
                { "Name": "SmsPriceUSD", "Unit": "None" },
            ])
        );
        assert_eq!(
            declared["Dimensions"],
            json!([["Stack"], ["Stack", "Region"]])
        );
        assert_eq!(
            (
                &failed["SmsDelivered"],
                &failed["SmsFailed"],
                &failed["SmsPriceUSD"]
            ),
            (&json!(0), &json!(1), &json!(0.00645))
        );
        assert_eq!(failed["Region"], "BR");
    }
}
