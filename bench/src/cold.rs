//! The main table: each function's cold start with no I/O and on its
//! success path, at full CPU and at its Lambda share, and its peak memory.

use std::collections::HashMap;

use crate::cgroup;
use crate::launch::{Starts, ms};
use crate::targets::Targets;

pub async fn table(
    starts: &mut Starts,
    env: &HashMap<String, String>,
    over_tls: bool,
    endpoint: &str,
    targets: &mut Targets,
) {
    println!(
        "| function | MemorySize: CPU quota | no I/O, full CPU | no I/O, at its share | no I/O, CPU used | success over {}, full CPU | success, at its share | success, CPU used | peak RSS |",
        if over_tls { "TLS" } else { "plain HTTP" }
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for function in crate::FUNCTIONS {
        let launch = starts.launch(function, env);
        let memory_mb = launch.memory_mb;
        let quota = starts.group(&launch).map(|g| g.quota_us);
        let throttled_before = starts.group(&launch).map(|g| g.throttled_periods());
        let measured = starts.measure(&launch).await;
        let (bare, cold, shared) = (&measured.bare, &measured.cold, &measured.shared);
        let peak = measured.peak_rss_kib;
        let throttled = starts
            .group(&launch)
            .zip(throttled_before)
            .map(|(g, before)| g.throttled_periods() - before);
        let na = || "n/a".to_owned();
        println!(
            "| {function} | {memory_mb} MB: {} | {} | {} | {:.2} ms | {} | {} | {:.2} ms | {:.1} MiB |",
            quota.map_or_else(na, |q| format!("{:.1}%", q as f64 / 1000.0)),
            bare.times(),
            shared.as_ref().map_or_else(na, |(b, _)| b.times()),
            ms(shared.as_ref().map_or(bare.cpu, |(b, _)| b.cpu)),
            cold.times(),
            shared.as_ref().map_or_else(na, |(_, c)| c.times()),
            ms(shared.as_ref().map_or(cold.cpu, |(_, c)| c.cpu)),
            peak as f64 / 1024.0,
        );
        targets.add(function, bare, shared.as_ref().map(|(b, c)| (b, c)), peak);
        if let Some(throttled) = throttled.filter(|t| *t > 0) {
            targets.throttled.push(format!("{function}: {throttled}"));
        }
    }
    println!(
        "\n{} cold starts per function and column (median / max); binaries from {}; moto at {endpoint}. \
         A CPU quota is per 100 ms period (Lambda: MemorySize / {} MB of one vCPU); CPU used is the process's own, from exec to its first response, at its share.",
        starts.spawns,
        starts.bin_dir,
        cgroup::MB_PER_VCPU
    );
}
