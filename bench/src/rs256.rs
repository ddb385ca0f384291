//! RS256: the functions that sign parse the key pair at start-up, and a
//! refresh signs one access token; the JWKS function reads no table.

use std::collections::HashMap;

use crate::launch::{Starts, ms};
use crate::setup::rs256_settings;
use crate::targets::Targets;

pub async fn table(starts: &mut Starts, env: &HashMap<String, String>, targets: &mut Targets) {
    let mut rs256 = env.clone();
    rs256.extend(rs256_settings().map(|(k, v)| (k.to_owned(), v)));
    println!(
        "\n| function, RS256 | no I/O, at its share | no I/O, CPU used | success, full CPU | success, at its share | success, CPU used | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for function in ["code-enter", "token-refresh", "well-known"] {
        let launch = starts.launch(function, &rs256);
        let na = || "n/a".to_owned();
        let measured = starts.measure(&launch).await;
        let (bare, full, shared) = (&measured.bare, &measured.cold, &measured.shared);
        let peak = measured.peak_rss_kib;
        println!(
            "| {function} | {} | {} | {} | {} | {:.2} ms | {:.1} MiB |",
            shared.as_ref().map_or_else(na, |(b, _)| b.times()),
            shared
                .as_ref()
                .map_or_else(na, |(b, _)| format!("{:.2} ms", ms(b.cpu))),
            full.times(),
            shared.as_ref().map_or_else(na, |(_, c)| c.times()),
            ms(shared.as_ref().map_or(full.cpu, |(_, c)| c.cpu)),
            peak as f64 / 1024.0,
        );
        targets.add(
            &format!("{function} (RS256)"),
            bare,
            shared.as_ref().map(|(b, c)| (b, c)),
            peak,
        );
    }
    println!(
        "\nThe success path with JWT_ALGORITHM=RS256 (keys in the environment): code-enter answers a wrong code, \
         so the difference is the key's parse at start-up; token-refresh also signs one RS256 access token. \
         well-known answers the JWKS."
    );
}
