//! A rolling hour, estimated from two clock-hour counters: the previous
//! hour's count, weighted by how much of it the rolling hour still covers
//! (rounded up, so the estimate never lets one more through than a true
//! rolling count would at the hour's turn), plus the current hour's. Two
//! counters a key, each written only in its own hour.

use crate::domain::time::Timestamp;

pub const HOUR_SECS: u64 = 3600;

/// Which clock hour `now` is in, for a counter's key.
pub fn hour_of(now: Timestamp) -> i64 {
    now.secs().div_euclid(HOUR_SECS as i64)
}

/// When a counter of `hour` can go: after the next hour, which still
/// weighs it.
pub fn counter_expiry(hour: i64) -> Timestamp {
    Timestamp::from_secs((hour + 2) * HOUR_SECS as i64)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollingHour {
    pub previous: u32,
    pub current: u32,
    /// Seconds since the current clock hour began.
    pub elapsed: u64,
}

impl RollingHour {
    pub fn at(now: Timestamp, previous: u32, current: u32) -> RollingHour {
        let elapsed = now.secs().rem_euclid(HOUR_SECS as i64) as u64;
        RollingHour {
            previous,
            current,
            elapsed,
        }
    }

    /// The previous hour's share of the rolling hour, rounded up.
    fn carried(&self) -> u64 {
        let covered = HOUR_SECS - self.elapsed.min(HOUR_SECS - 1);
        (u64::from(self.previous) * covered).div_ceil(HOUR_SECS)
    }

    /// The rolling hour's count.
    pub fn count(&self) -> u64 {
        self.carried() + u64::from(self.current)
    }

    /// How many more the current hour's counter may take under `cap`.
    pub fn room(&self, cap: u32) -> u32 {
        u64::from(cap).saturating_sub(self.count()) as u32
    }

    /// Seconds until one more fits under `cap`, or none when one fits now.
    pub fn wait(&self, cap: u32) -> Option<u64> {
        if self.room(cap) > 0 {
            return None;
        }
        let elapsed = self.elapsed.min(HOUR_SECS - 1);
        // The second of an hour from which `previous`, weighted, leaves
        // `room` for one: ceil(previous * (H - t) / H) <= room.
        let from = |previous: u32, room: u32| {
            if previous == 0 {
                0
            } else {
                HOUR_SECS - (u64::from(room) * HOUR_SECS / u64::from(previous)).min(HOUR_SECS)
            }
        };
        Some(
            if self.current < cap {
                // Within this hour, as the previous one slides out.
                from(self.previous, cap - self.current - 1).saturating_sub(elapsed)
            } else {
                // Into the next hour, as this one slides out.
                (HOUR_SECS - elapsed) + from(self.current, cap.saturating_sub(1))
            }
            .max(1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(previous: u32, current: u32, elapsed: u64) -> RollingHour {
        RollingHour {
            previous,
            current,
            elapsed,
        }
    }

    #[test]
    fn the_previous_hour_weighs_what_the_rolling_hour_still_covers() {
        assert_eq!(window(0, 49, 0).wait(50), None);
        assert_eq!(window(100, 0, 3599).wait(50), None);
        // Half of a full previous hour still counts at the half hour.
        assert_eq!(window(100, 0, 1800).count(), 50);
        assert_eq!(window(100, 0, 1800).wait(50), Some(36));
        assert_eq!(window(100, 0, 1836).wait(50), None);
        // At the cap within this hour: into the next, as this one slides out.
        assert_eq!(window(0, 50, 600).wait(50), Some(3000 + 72));
        // Rounded up: one second into the hour, the whole previous hour counts.
        assert_eq!(window(3, 0, 1).room(3), 0);
        assert_eq!(window(3, 0, 1).wait(3), Some(1199));
    }

    #[test]
    fn the_wait_is_when_one_more_fits() {
        for (previous, current, elapsed, cap) in [
            (7, 2, 100, 5),
            (0, 5, 0, 5),
            (40, 3, 300, 20),
            (1, 0, 0, 1),
            (200, 199, 59, 200),
        ] {
            let now = window(previous, current, elapsed);
            let Some(wait) = now.wait(cap) else {
                panic!("{now:?} is at its cap {cap}");
            };
            let at = |secs: u64| {
                let t = elapsed + secs;
                if t < HOUR_SECS {
                    window(previous, current, t)
                } else {
                    window(current, 0, t - HOUR_SECS)
                }
            };
            assert!(at(wait).room(cap) > 0, "{now:?} after {wait}");
            assert_eq!(at(wait - 1).room(cap), 0, "{now:?} after {}", wait - 1);
        }
    }
}
