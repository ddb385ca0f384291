//! Codes and send counters.

use async_trait::async_trait;

use crate::domain::code::CodeHash;
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::ports::{Allowance, Charge, CodeRecord, CodeStore, SaveCode, Tally, TallyField};

use super::MemoryStore;

#[async_trait]
impl CodeStore for MemoryStore {
    async fn code(&self, phone: &Phone) -> Result<Option<CodeRecord>> {
        Ok(self.state()?.codes.get(phone).cloned())
    }

    async fn save_code(&self, record: &CodeRecord, charges: &[Charge]) -> Result<SaveCode> {
        let mut state = self.state()?;
        let stored_version = state.codes.get(&record.phone).map_or(0, |r| r.version);
        if stored_version + 1 != record.version {
            return Ok(SaveCode::Conflict);
        }
        if let Some(index) = charges
            .iter()
            .position(|c| state.counters.get(&c.key).copied().unwrap_or(0) >= c.cap)
        {
            return Ok(SaveCode::LimitReached(index));
        }
        for charge in charges {
            *state.counters.entry(charge.key.clone()).or_default() += 1;
        }
        state.codes.insert(record.phone.clone(), record.clone());
        Ok(SaveCode::Saved)
    }

    async fn undo_save_code(
        &self,
        previous: Option<&CodeRecord>,
        written: &CodeRecord,
        charges: &[Charge],
    ) -> Result<()> {
        let mut state = self.state()?;
        if state.codes.get(&written.phone).map(|r| r.version) == Some(written.version) {
            match previous {
                Some(prev) => state
                    .codes
                    .insert(prev.phone.clone(), prev.restored_after(written)),
                None => state.codes.remove(&written.phone),
            };
        }
        if let Some(id) = &written.verification_id
            && !state.undone.insert(id.clone())
        {
            return Ok(());
        }
        for charge in charges {
            if let Some(count) = state.counters.get_mut(&charge.key) {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn count_wrong_attempt(
        &self,
        phone: &Phone,
        hash: &CodeHash,
        allowance: Allowance,
        max: u32,
    ) -> Result<bool> {
        let mut state = self.state()?;
        match state.codes.get_mut(phone) {
            Some(r) if r.hash.as_ref() == Some(hash) && allowance.spent(r) < max => {
                match allowance {
                    Allowance::Holder => r.attempts += 1,
                    Allowance::Stranger => r.stranger_attempts += 1,
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn charge(&self, charge: &Charge) -> Result<bool> {
        let mut state = self.state()?;
        let count = state.counters.entry(charge.key.clone()).or_default();
        if *count >= charge.cap {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }

    async fn add_to_counter(
        &self,
        key: &str,
        field: TallyField,
        _expires_at: Timestamp,
    ) -> Result<()> {
        let mut state = self.state()?;
        let counters = match field {
            TallyField::Count => &mut state.counters,
            TallyField::Logins => &mut state.logins,
        };
        *counters.entry(key.to_owned()).or_default() += 1;
        Ok(())
    }

    async fn counters(&self, keys: &[String]) -> Result<Vec<Tally>> {
        let state = self.state()?;
        let read = |counters: &std::collections::HashMap<String, u32>, key: &String| {
            counters.get(key).copied().unwrap_or(0)
        };
        Ok(keys
            .iter()
            .map(|key| Tally {
                count: read(&state.counters, key),
                logins: read(&state.logins, key),
            })
            .collect())
    }
}
