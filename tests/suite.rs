//! The cross-crate tests, each file a module: the store contract on
//! memory and moto, the API over HTTP, the event fixtures, the template,
//! the functions under a Lambda runtime API. `emulate` and
//! `lambda_metrics` are ignored by default; `make test` runs them by name
//! once what they need is up (`cargo test -p api-tests --test suite --
//! --ignored emulate::`).

mod admin;
mod api;
mod challenges;
mod deletion;
mod emulate;
mod events;
mod import;
mod lambda_metrics;
mod metrics;
mod openapi;
mod phone_change;
mod review_numbers;
mod scaling;
mod secrets;
mod security;
mod sessions;
mod signing_key;
mod sms;
mod sms_delivery;
mod store_contract;
mod template;
mod tokens;
mod turnstile;
mod user_events;
mod user_events_stream;
mod webhook;

/// A file in tests/ without its `mod` line above would never be compiled,
/// and its tests would pass by not running.
#[test]
fn every_test_file_is_a_module_of_the_suite() {
    let suite = include_str!("suite.rs");
    for entry in std::fs::read_dir(env!("CARGO_MANIFEST_DIR")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module != "suite" {
            assert!(
                suite.contains(&format!("\nmod {module};\n")),
                "tests/{name} is not a module of tests/suite.rs"
            );
        }
    }
}
