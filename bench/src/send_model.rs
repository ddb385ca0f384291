//! The send path under concurrent load, as a model: DynamoDB cannot be
//! loaded to a thousand sends a second here (moto serialises everything),
//! so this simulates what decides it, from the writes each send makes.
//!
//! Sends arrive at random (Poisson) at a given rate. A send's transaction
//! holds its items for `HOLD_MS`; a transaction that meets another in
//! flight on one of its items is cancelled (DynamoDB's
//! `TransactionConflict`). Plain updates to one item do not conflict: they
//! queue, up to `ITEM_WRITES_PER_SEC` (a partition's 1,000 write units),
//! past which they are throttled. Sources are drawn from `SOURCES`
//! addresses, phones are all different.
//!
//! Before: the day's budget (`sms#<day>`) was in every send's transaction.
//! After (this code): the transaction holds the phone's record, the
//! source's hour and a challenge's use; the budgets and the pumping counts
//! are plain updates on `SHARDS` shards, each taken in turn.

use std::collections::HashMap;

use phone_auth::domain::service::SHARDS;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How long a transaction holds its items: a stated assumption (a
/// TransactWriteItems takes two phases of about 10 ms each).
const HOLD_MS: f64 = 20.0;
const ITEM_WRITES_PER_SEC: f64 = 1_000.0;
const SOURCES: u32 = 100_000;
const SECONDS: f64 = 20.0;

#[derive(Clone, Copy)]
enum Design {
    Before,
    After,
}

/// The share of sends that fail, and the busiest item's writes a second.
fn simulate(design: Design, rate: f64, rng: &mut StdRng) -> (f64, f64) {
    // Per item: when its last transaction releases it.
    let mut held_until: HashMap<String, f64> = HashMap::new();
    // Per plain-updated item: its writes, for the throttle.
    let mut writes: HashMap<String, u64> = HashMap::new();
    let (mut now, mut sends, mut failed) = (0.0, 0u64, 0u64);
    let mut shard = 0u32;
    let hold = HOLD_MS / 1000.0;
    while now < SECONDS {
        now += -(1.0 - rng.random::<f64>()).ln() / rate;
        sends += 1;
        let source = rng.random_range(0..SOURCES);
        let mut transaction = vec![format!("phone#{sends}"), format!("ip#{source}")];
        let mut plain = Vec::new();
        match design {
            Design::Before => transaction.push("sms#day".into()),
            Design::After => {
                shard = (shard + 1) % SHARDS;
                plain.push(format!("sms#day#{shard}"));
                plain.push(format!("pump#prefix#{shard}"));
                plain.push(format!("pump#region#{shard}"));
            }
        }
        let conflict = transaction
            .iter()
            .any(|item| held_until.get(item).is_some_and(|until| *until > now));
        if conflict {
            failed += 1;
            continue;
        }
        for item in transaction {
            held_until.insert(item, now + hold);
        }
        for item in plain {
            *writes.entry(item).or_default() += 1;
        }
    }
    let busiest = writes.values().copied().max().unwrap_or(0) as f64 / SECONDS;
    // Writes past an item's throughput are throttled: those sends fail too.
    let throttled = writes
        .values()
        .map(|w| (*w as f64 - ITEM_WRITES_PER_SEC * SECONDS).max(0.0))
        .sum::<f64>();
    ((failed as f64 + throttled) / sends as f64, busiest)
}

pub fn table() {
    println!(
        "\nThe send path under load, modelled (Poisson arrivals for {SECONDS} s; a transaction \
         holds its items {HOLD_MS} ms and is cancelled when it meets another on one; plain \
         updates queue up to {ITEM_WRITES_PER_SEC} writes/s an item; {SOURCES} source addresses; \
         {SHARDS} shards):\n"
    );
    println!(
        "| sends/s | failing before (budget in the transaction) | failing after (sharded, outside it) | busiest item after, writes/s |"
    );
    println!("|---|---|---|---|");
    let mut rng = StdRng::seed_from_u64(22);
    for rate in [10.0, 100.0, 1_000.0] {
        let (before, _) = simulate(Design::Before, rate, &mut rng);
        let (after, busiest) = simulate(Design::After, rate, &mut rng);
        println!(
            "| {rate} | {:.1} % | {:.2} % | {busiest:.1} |",
            before * 100.0,
            after * 100.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_matches_the_closed_form_before_and_shows_no_shared_conflict_after() {
        let mut rng = StdRng::seed_from_u64(1);
        // One shared item in every transaction: a send fails when another
        // started within the hold before it, 1 - e^(-rate x hold).
        let (before, _) = simulate(Design::Before, 10.0, &mut rng);
        let expected = 1.0 - (-10.0 * HOLD_MS / 1000.0f64).exp();
        assert!((before - expected).abs() < 0.03, "{before} vs {expected}");
        let (after, busiest) = simulate(Design::After, 1_000.0, &mut rng);
        assert!(after < 0.01, "{after}");
        assert!(busiest <= 1_000.0 / f64::from(SHARDS) + 1.0, "{busiest}");
    }
}
