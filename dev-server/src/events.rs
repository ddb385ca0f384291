//! The dev server's events: what its in-memory store committed, turned
//! into the events the stack publishes from the users table's stream,
//! printed on the console and listed at `GET /dev/events`.

use std::sync::{Arc, Mutex};

use phone_auth::adapters::memory::MemoryStore;
use phone_auth::domain::event::{Event, events_of};
use phone_auth::domain::user::UserId;
use phone_auth::ports::Clock;

pub struct EventLog {
    source: Arc<MemoryStore>,
    clock: Arc<dyn Clock>,
    seen: Mutex<Vec<Event>>,
}

impl EventLog {
    pub fn new(source: Arc<MemoryStore>, clock: Arc<dyn Clock>) -> EventLog {
        source.log_changes();
        EventLog {
            source,
            clock,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Turns the changes committed since the last call into events, and
    /// prints each.
    pub fn collect(&self) {
        let changes = self.source.take_changes();
        if changes.is_empty() {
            return;
        }
        let now = self.clock.now();
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        for change in changes {
            let id = format!("dev-{:012}", change.number);
            for event in events_of(&id, change.before.as_ref(), change.after.as_ref(), now) {
                println!("event: {}", event.json());
                seen.push(event);
            }
        }
    }

    /// The events so far, oldest first; of one user when `user` is given.
    pub fn list(&self, user: Option<UserId>) -> Vec<Event> {
        self.collect();
        let Ok(seen) = self.seen.lock() else {
            return Vec::new();
        };
        seen.iter()
            .filter(|event| user.is_none_or(|id| event.user_id == id))
            .cloned()
            .collect()
    }
}
