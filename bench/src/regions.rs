//! The no-I/O cold start of `code-enter` and `phone-enter` for a number of
//! each of the 20 most populous calling regions: the first parse of a
//! number compiles its region's patterns, which costs some regions far
//! more than others. Each start reads libphonenumber's example mobile
//! number of the region; `code-enter` refuses its malformed code and
//! `phone-enter` its region (`ALLOWED_COUNTRY_CODES` names another), both
//! after the parse and before any I/O.

use std::collections::HashMap;

use phonenumber::metadata::DATABASE;

use crate::launch::{Cpu, Starts, cold_starts_of, ms};
use crate::targets::Targets;

pub const REGIONS: [&str; 20] = [
    "CN", "IN", "US", "ID", "PK", "NG", "BR", "BD", "RU", "MX", "JP", "PH", "EG", "VN", "DE", "TR",
    "IR", "GB", "FR", "TH",
];

/// A region none of `REGIONS` is: `phone-enter` refuses their numbers
/// once it has read them.
const ONLY_ALLOWED: &str = "VA";

/// libphonenumber's example mobile number of `region`, in E.164.
pub fn example(region: &str) -> String {
    let meta = DATABASE
        .by_id(region)
        .expect("a region libphonenumber knows");
    let mobile = meta.descriptors().mobile().expect("a mobile range");
    let digits = mobile.example().expect("an example mobile number");
    format!("+{}{digits}", meta.country_code())
}

/// The function's API Gateway event, for `phone` (and a malformed code).
fn event(function: &str, phone: &str) -> String {
    let file = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let template = std::fs::read_to_string(file).expect("an event per function");
    template
        .replace("+79123456789", phone)
        .replace("\\\"123456\\\"", "\\\"12\\\"")
}

pub async fn table(starts: &mut Starts, env: &HashMap<String, String>, targets: &mut Targets) {
    let mut elsewhere = env.clone();
    elsewhere.insert("ALLOWED_COUNTRY_CODES".into(), ONLY_ALLOWED.into());
    println!(
        "\n| no-I/O cold start, CPU used (ms, median) | {} |",
        REGIONS.join(" | ")
    );
    println!("| --- |{}", " --- |".repeat(REGIONS.len()));
    for function in ["code-enter", "phone-enter"] {
        let env = if function == "phone-enter" {
            &elsewhere
        } else {
            env
        };
        let launch = starts.launch(function, env);
        let mut cells = Vec::new();
        for region in REGIONS {
            let phone = example(region);
            let cold = cold_starts_of(
                &launch,
                starts.spawns,
                |_| event(function, &phone),
                Cpu::Full,
            )
            .await;
            targets.region(function, region, cold.cpu);
            cells.push(format!("{:.1}", ms(cold.cpu)));
        }
        println!("| {function} | {} |", cells.join(" | "));
    }
    println!(
        "\n{} starts per cell at full CPU; the process's own CPU from exec to its answer (CPU time is the same at any share; \
         at 128 MB, 7.2 ms of it fit in one 100 ms period). Each region's example mobile number from libphonenumber.",
        starts.spawns
    );
}

/// A warm parse and validation of each region's example number, in
/// microseconds of CPU: this service's compiled patterns, and the
/// `phonenumber` crate with its patterns compiled at run time (the engine
/// the service used before), both after a first parse has warmed them.
pub fn warm_parse_table(repeats: usize) {
    use phone_auth::domain::phone::Phone;

    let per_number = |parse: &dyn Fn(&str) -> bool, number: &str| -> f64 {
        assert!(parse(number), "{number} parses");
        let start = crate::warm::thread_cpu_ns();
        for _ in 0..repeats {
            assert!(parse(number));
        }
        (crate::warm::thread_cpu_ns() - start) as f64 / repeats as f64 / 1000.0
    };
    let ours = |number: &str| Phone::parse(number, None).is_ok();
    let crate_regex = |number: &str| {
        phonenumber::parse(None, number).is_ok_and(|parsed| phonenumber::is_valid(&parsed))
    };
    println!(
        "\n| warm parse, CPU per number (us) | {} |",
        REGIONS.join(" | ")
    );
    println!("| --- |{}", " --- |".repeat(REGIONS.len()));
    for (name, parse) in [
        (
            "compiled patterns (this service)",
            &ours as &dyn Fn(&str) -> bool,
        ),
        ("phonenumber crate, regex at run time", &crate_regex),
    ] {
        let cells: Vec<String> = REGIONS
            .iter()
            .map(|region| format!("{:.2}", per_number(parse, &example(region))))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!("\n{repeats} parses of each region's example mobile number (E.164), in-process.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_region_s_example_is_a_valid_number_of_that_region() {
        for region in REGIONS {
            let phone = phone_auth::domain::phone::Phone::parse(&example(region), None).unwrap();
            assert_eq!(
                phone.region().map(|r| r.as_ref().to_owned()),
                Some(region.to_owned())
            );
        }
        assert!(!REGIONS.contains(&ONLY_ALLOWED));
    }
}
