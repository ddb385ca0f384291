//! The cold-start targets, each beside the worst function's figure.

use std::time::Duration;

use crate::launch::ColdStart;

/// A target and the worst figure seen against it, with whose it was.
struct Worst {
    what: &'static str,
    limit: f64,
    unit: &'static str,
    worst: Option<(f64, String)>,
}

impl Worst {
    fn new(what: &'static str, limit: f64, unit: &'static str) -> Worst {
        Worst {
            what,
            limit,
            unit,
            worst: None,
        }
    }

    fn see(&mut self, function: &str, value: f64) {
        if self.worst.as_ref().is_none_or(|(w, _)| value > *w) {
            self.worst = Some((value, function.to_owned()));
        }
    }
}

pub struct Targets {
    rows: Vec<Worst>,
    /// Functions whose starts at their share were throttled, with how often.
    pub throttled: Vec<String>,
}

const FULL: usize = 0;
const SHARE: usize = 1;
const CPU: usize = 2;
const REGION: usize = 3;
const TLS: usize = 4;
const DEPLOYED: usize = 5;
const DEPLOYED_INIT_FULL: usize = 6;
const RSS: usize = 7;
const BOOTSTRAP: usize = 8;
const ZIP: usize = 9;

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            rows: vec![
                Worst::new("no-I/O cold start, full CPU", 10.0, "ms"),
                Worst::new("no-I/O cold start, at its share", 20.0, "ms"),
                Worst::new("no-I/O cold start, CPU used", 7.0, "ms"),
                Worst::new("no-I/O cold start, CPU used, any of 20 regions", 4.0, "ms"),
                Worst::new("success path over TLS, at its share", 120.0, "ms"),
                Worst::new(
                    "success as deployed, at its share, whole process",
                    30.0,
                    "ms",
                ),
                Worst::new(
                    "success as deployed, at its share, init at full CPU",
                    30.0,
                    "ms",
                ),
                Worst::new("peak RSS", 24.0, "MiB"),
                Worst::new("bootstrap (arm64)", 5.0, "MiB"),
                Worst::new("zip (arm64)", 2.5, "MiB"),
            ],
            throttled: Vec::new(),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(path: &str) -> Option<f64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.len() as f64 / 1048576.0)
}

impl Targets {
    pub fn add(
        &mut self,
        function: &str,
        bare: &ColdStart,
        shared: Option<(&ColdStart, &ColdStart)>,
        peak_rss_kib: u64,
    ) {
        self.rows[FULL].see(function, ms(bare.median));
        if let Some((bare, cold)) = shared {
            self.rows[SHARE].see(function, ms(bare.median));
            self.rows[CPU].see(function, ms(bare.cpu));
            self.rows[TLS].see(function, ms(cold.median));
        }
        self.rows[RSS].see(function, peak_rss_kib as f64 / 1024.0);
    }

    /// The success path as deployed, at the share under both models.
    pub fn deployed(&mut self, function: &str, share: &ColdStart, init_full: &ColdStart) {
        self.rows[DEPLOYED].see(function, ms(share.median));
        self.rows[DEPLOYED_INIT_FULL].see(function, ms(init_full.median));
    }

    /// A no-I/O start with a number of `region`.
    pub fn region(&mut self, function: &str, region: &str, cpu: Duration) {
        self.rows[REGION].see(&format!("{function} ({region})"), ms(cpu));
    }

    pub fn sizes(&mut self, function: &str, bootstrap: &str, zip: &str) {
        if let Some(size) = mib(bootstrap) {
            self.rows[BOOTSTRAP].see(function, size);
        }
        if let Some(size) = mib(zip) {
            self.rows[ZIP].see(function, size);
        }
    }

    /// The targets beside the worst figures; a smoke run (debug binaries,
    /// a few starts) says so instead of judging them.
    pub fn print(&self, smoke: bool) {
        println!("\n| target | limit | worst function | figure | |");
        println!("| --- | --- | --- | --- | --- |");
        for row in &self.rows {
            let (figure, function, verdict) = match &row.worst {
                Some((value, function)) => (
                    format!("{value:.2} {}", row.unit),
                    function.as_str(),
                    if smoke {
                        "smoke run: not judged"
                    } else if *value <= row.limit {
                        "met"
                    } else {
                        "**missed**"
                    },
                ),
                None => ("not measured".to_owned(), "", ""),
            };
            println!(
                "| {} | <= {} {} | {function} | {figure} | {verdict} |",
                row.what, row.limit, row.unit
            );
        }
        if !self.throttled.is_empty() {
            println!(
                "\nThrottled periods during the starts at the share (a start that needs more than its quota waits for the next 100 ms): {}.",
                self.throttled.join(", ")
            );
        }
    }
}
