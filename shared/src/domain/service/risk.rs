//! What a send risks, read in one batch before it: its source's rolling
//! hour (past the soft cap a send needs a solved challenge, past the hard
//! cap none goes), and SMS pumping, caught by its shape: sends to a number
//! prefix or a region that no login follows.
//!
//! Every count here that any send may touch (a prefix's, a region's, a
//! day's budget) is split over `SHARDS` items, each send writing the next
//! one in turn, so no item takes more than one in `SHARDS` of the writes
//! whatever the traffic; reads add the shards up. A pumping item counts
//! sends and logins both: at one login a send, one in 20 sends.

use std::sync::atomic::{AtomicU32, Ordering};

use super::Service;
use crate::domain::metric::Metric;
use crate::domain::phone::{Phone, Region};
use crate::domain::source::source_key;
use crate::domain::time::Timestamp;
use crate::domain::window::{RollingHour, counter_expiry, hour_of};
use crate::ports::{Charge, Tally, TallyField};

/// Items a shared count is split over: at most one write in 40 lands on
/// any one of them, so a pumping item, written by a send and again by its
/// login, takes one in 20 sends (the contract asks for no more than one
/// in 16).
pub const SHARDS: u32 = 40;

/// What a shard is drawn for. Each has its own turn, so each count's
/// writes go round all its shards evenly (one turn shared by several
/// counts would give each a fixed subset of them).
#[derive(Clone, Copy, Debug)]
pub(super) enum ShardFor {
    DailyBudget = 0,
    RegionBudget = 1,
    /// A send or a login, counted for its prefix and its region alike.
    Pumping = 2,
}

/// Every `ShardFor`'s turn, from a random start.
pub(super) fn shard_turns() -> [AtomicU32; 3] {
    std::array::from_fn(|_| AtomicU32::new(rand::random()))
}

/// What the reads before a send found.
#[derive(Debug, Default)]
pub(super) struct Risk {
    /// The source's rolling hour and the key of its current hour's count.
    pub source: Option<(String, RollingHour)>,
    /// Whether the number's prefix or region looks pumped.
    pub pumped: bool,
}

/// The counts pumping is judged on: the number's prefix (its last
/// `hidden` digits off) and its region.
fn pumping_scopes(phone: &Phone, region: Option<Region>, hidden: usize) -> [String; 2] {
    let digits = phone.as_str();
    let prefix = &digits[..digits.len().saturating_sub(hidden).max(2)];
    let region = region.as_ref().map_or("ZZ", |region| region.as_ref());
    [format!("p{prefix}"), format!("r{region}")]
}

fn pumping_key(scope: &str, hour: i64, shard: u32) -> String {
    format!("pump#{scope}#{hour}#{shard}")
}

fn source_hour_key(source: &str, hour: i64) -> String {
    format!("ip#{}#{hour}", source_key(source))
}

/// Shards of a count, added up.
fn total(tallies: &[Tally]) -> Tally {
    tallies.iter().fold(Tally::default(), |sum, t| Tally {
        count: sum.count + t.count,
        logins: sum.logins + t.logins,
    })
}

/// A capped count every send may touch, split over up to `SHARDS` items
/// whose caps add up to `cap`: none can overshoot, and together they hold
/// exactly `cap`.
pub(super) fn budget_shards(key: &str, cap: u32, expires_at: Timestamp) -> Vec<Charge> {
    let shards = SHARDS.min(cap).max(1);
    (0..shards)
        .map(|shard| Charge {
            key: format!("{key}#{shard}"),
            cap: cap / shards + u32::from(shard < cap % shards),
            expires_at,
        })
        .collect()
}

impl Service {
    /// The next shard this process writes for `use_`: in turn.
    pub(super) fn next_shard(&self, use_: ShardFor) -> u32 {
        self.shard_turns[use_ as usize].fetch_add(1, Ordering::Relaxed) % SHARDS
    }

    /// Reads the source's hour and, unless `pumping` is off (a review
    /// number), the number's pumping counts, in one batch.
    pub(super) async fn assess(
        &self,
        phone: &Phone,
        region: Option<Region>,
        source: Option<&str>,
        pumping: bool,
        now: Timestamp,
    ) -> crate::error::Result<Risk> {
        let hour = hour_of(now);
        let mut keys = Vec::new();
        if let Some(source) = source {
            keys.push(source_hour_key(source, hour - 1));
            keys.push(source_hour_key(source, hour));
        }
        if pumping {
            let scopes = pumping_scopes(phone, region, self.rules.fraud.prefix_hidden_digits);
            for scope in &scopes {
                for h in [hour - 1, hour] {
                    keys.extend((0..SHARDS).map(|shard| pumping_key(scope, h, shard)));
                }
            }
        }
        if keys.is_empty() {
            return Ok(Risk::default());
        }
        let tallies = self.store.counters(&keys).await?;
        let mut rest = tallies.as_slice();
        let mut risk = Risk::default();
        if source.is_some() {
            let window = RollingHour::at(now, rest[0].count, rest[1].count);
            risk.source = Some((keys[1].clone(), window));
            rest = &rest[2..];
        }
        if pumping {
            let shards = SHARDS as usize;
            for scope in rest.chunks(2 * shards) {
                let (previous, current) = scope.split_at(shards);
                let (previous, current) = (total(previous), total(current));
                let sends = RollingHour::at(now, previous.count, current.count).count();
                let logins = RollingHour::at(now, previous.logins, current.logins).count();
                let fraud = &self.rules.fraud;
                if sends >= u64::from(fraud.min_sends)
                    && (logins as f64) < fraud.min_conversion * sends as f64
                {
                    risk.pumped = true;
                }
            }
            if risk.pumped {
                self.metrics.record(Metric::SuspectedPumping { region });
            }
        }
        Ok(risk)
    }

    /// Counts a send, or a login with a sent code, for the pumping check:
    /// the prefix's and the region's shard, both writes in flight at once.
    /// It comes after the fact (the SMS is gone, the login made): a fault
    /// here is logged, not answered.
    pub(super) async fn count_for_pumping(
        &self,
        phone: &Phone,
        region: Option<Region>,
        field: TallyField,
        now: Timestamp,
    ) {
        let hour = hour_of(now);
        let shard = self.next_shard(ShardFor::Pumping);
        let scopes = pumping_scopes(phone, region, self.rules.fraud.prefix_hidden_digits);
        let writes = scopes.iter().map(|scope| {
            let key = pumping_key(scope, hour, shard);
            async move {
                self.store
                    .add_to_counter(&key, field, counter_expiry(hour))
                    .await
            }
        });
        for counted in futures_util::future::join_all(writes).await {
            if let Err(error) = counted {
                tracing::warn!(%error, ?field, "counting for the pumping check failed");
            }
        }
    }

    /// Spends one unit of a sharded budget: the next shard in turn, or,
    /// when that one is full, any with room. `None` when all are spent.
    pub(super) async fn spend_budget(
        &self,
        shards: &[Charge],
        use_: ShardFor,
    ) -> crate::error::Result<Option<Charge>> {
        let first = &shards[self.next_shard(use_) as usize % shards.len()];
        if self.store.charge(first).await? {
            return Ok(Some(first.clone()));
        }
        let keys: Vec<String> = shards.iter().map(|shard| shard.key.clone()).collect();
        let counts = self.store.counters(&keys).await?;
        let mut open: Vec<(u32, &Charge)> = shards
            .iter()
            .zip(&counts)
            .filter(|(shard, tally)| tally.count < shard.cap)
            .map(|(shard, tally)| (shard.cap - tally.count, shard))
            .collect();
        open.sort_by_key(|(room, _)| std::cmp::Reverse(*room));
        for (_, shard) in open {
            if self.store.charge(shard).await? {
                return Ok(Some(shard.clone()));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_shards_hold_exactly_the_budget() {
        let at = Timestamp::from_secs(0);
        for cap in [1, 2, 19, 20, 21, 100, 1_001] {
            let shards = budget_shards("sms#2026-12-05", cap, at);
            assert_eq!(shards.iter().map(|s| s.cap).sum::<u32>(), cap);
            assert!(shards.len() as u32 <= SHARDS && shards.iter().all(|s| s.cap > 0));
        }
    }

    #[test]
    fn a_prefix_is_the_number_without_its_last_digits() {
        let phone = Phone::from_trusted("+79123456789".into());
        let scopes = pumping_scopes(&phone, phone.region(), 3);
        assert_eq!(scopes, ["p+79123456".to_owned(), "rRU".to_owned()]);
    }
}
