//! Verification codes and the shared counters a send adds to.

use async_trait::async_trait;

use crate::domain::code::CodeHash;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::error::Result;

/// Everything the service keeps about one phone's verification code, and the
/// phone's send history for the hourly limit. `version` grows by one on
/// every send, so a send is a compare-and-swap on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub phone: Phone,
    /// `None` once the code has been used.
    pub hash: Option<CodeHash>,
    pub expires_at: Timestamp,
    /// Wrong tries against the current code that carried the current
    /// send's `verification_id`.
    pub attempts: u32,
    /// Wrong tries that carried no `verification_id`, or another one: a
    /// second allowance, so that a stranger who knows only the phone can
    /// never burn the holder's.
    pub stranger_attempts: u32,
    /// What `/phone/` answered for this send; tries carrying it count
    /// against `attempts`.
    pub verification_id: Option<String>,
    pub sent_at: Timestamp,
    /// The phone's sends in the last hour, oldest first (this one last):
    /// its hourly cap is a rolling hour over these.
    pub recent_sends: Vec<Timestamp>,
    pub version: u64,
}

impl CodeRecord {
    /// When the store may forget the record: once neither the code nor
    /// any send it counts is live.
    pub fn forget_at(&self) -> Timestamp {
        let last_send = self.recent_sends.last().copied().unwrap_or(self.sent_at);
        self.expires_at.max(last_send.plus_secs(3600))
    }

    /// This record put back in place of `written`, under a version past
    /// it: versions only grow, so no stale compare-and-swap can match again.
    pub fn restored_after(&self, written: &CodeRecord) -> CodeRecord {
        CodeRecord {
            version: written.version + 1,
            ..self.clone()
        }
    }
}

/// Which of a code's two allowances a try counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// The try carried the send's `verification_id`.
    Holder,
    /// It carried none, or another.
    Stranger,
}

impl Allowance {
    /// The record's tries against this allowance.
    pub fn spent(self, record: &CodeRecord) -> u32 {
        match self {
            Allowance::Holder => record.attempts,
            Allowance::Stranger => record.stranger_attempts,
        }
    }

    /// The stored attribute that counts them.
    pub fn attribute(self) -> &'static str {
        match self {
            Allowance::Holder => "attempts",
            Allowance::Stranger => "stranger_attempts",
        }
    }
}

/// One more unit on a shared counter, refused when it would pass `cap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub key: String,
    pub cap: u32,
    pub expires_at: Timestamp,
}

/// What a counter item holds: its count (sends, wrong codes) and, for a
/// pumping count, the logins those sends led to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: u32,
    pub logins: u32,
}

/// Which of a tally's numbers to add to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TallyField {
    Count,
    Logins,
}

impl TallyField {
    pub fn attribute(self) -> &'static str {
        match self {
            TallyField::Count => "count",
            TallyField::Logins => "logins",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SaveCode {
    Saved,
    /// Another send changed the record first.
    Conflict,
    /// The charge at this index would have passed its cap; nothing was written.
    LimitReached(usize),
}

/// Verification codes and the shared send counters.
#[async_trait]
pub trait CodeStore: Send + Sync {
    async fn code(&self, phone: &Phone) -> Result<Option<CodeRecord>>;

    /// Writes `record` if the stored record's version is still
    /// `record.version - 1` (absent when that is 0), and adds one to each
    /// charge; all or nothing.
    async fn save_code(&self, record: &CodeRecord, charges: &[Charge]) -> Result<SaveCode>;

    /// Takes back a send whose SMS failed: restores `previous` (see
    /// `CodeRecord::restored_after`, or removes the record) if `written` is
    /// still there, and takes one off each charge. Idempotent: the charges
    /// are given back once per `written.verification_id`, however often
    /// it is called (a retry after a lost answer gives nothing twice).
    async fn undo_save_code(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) -> Result<()>;

    /// Counts one wrong try against the code with this hash, on
    /// `allowance`, unless that allowance is spent already. Returns whether
    /// the try was counted.
    async fn count_wrong_attempt(
        &self,
        phone: &Phone,
        hash: &CodeHash,
        allowance: Allowance,
        max: u32,
    ) -> Result<bool>;

    /// Adds one to `charge.key` unless that would pass `charge.cap`, on
    /// its own (not in a send's transaction: a budget shard every send
    /// may touch). Returns whether it was added.
    async fn charge(&self, charge: &Charge) -> Result<bool>;

    /// Adds one to `field` of the counter `key` (which lapses at
    /// `expires_at`); nothing is capped by it, it only counts (wrong codes
    /// per source, sends and logins per prefix).
    async fn add_to_counter(
        &self,
        key: &str,
        field: TallyField,
        expires_at: Timestamp,
    ) -> Result<()>;

    /// The counters' values, zero for an absent one, in the order asked.
    async fn counters(&self, keys: &[String]) -> Result<Vec<Tally>>;
}
