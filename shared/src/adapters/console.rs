//! SMS for development: printed to the console, and kept in an outbox that
//! the dev server shows at `GET /dev/sms`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::{Clock, OtpMessage, SmsSender};

/// Prints each message as `SMS to <phone>: <text>` on standard output.
pub struct ConsoleSms;

#[async_trait]
impl SmsSender for ConsoleSms {
    async fn send(&self, message: &OtpMessage<'_>) -> Result<()> {
        let (to, text) = (message.to, message.text);
        match message.channel {
            "sms" => println!("SMS to {to}: {text}"),
            channel => println!("{channel} to {to}: {text}"),
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentSms {
    pub phone: Phone,
    pub channel: String,
    pub locale: String,
    pub text: String,
    pub at: Timestamp,
}

/// Wraps a sender and records every message it sent, oldest first.
pub struct Outbox {
    inner: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
    sent: Mutex<Vec<SentSms>>,
}

impl Outbox {
    pub fn new(inner: Arc<dyn SmsSender>, clock: Arc<dyn Clock>) -> Outbox {
        Outbox {
            inner,
            clock,
            sent: Mutex::new(Vec::new()),
        }
    }

    pub fn sent_to(&self, phone: &Phone) -> Vec<SentSms> {
        self.sent
            .lock()
            .map(|sent| sent.iter().filter(|m| &m.phone == phone).cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl SmsSender for Outbox {
    async fn send(&self, message: &OtpMessage<'_>) -> Result<()> {
        self.inner.send(message).await?;
        let message = SentSms {
            phone: message.to.clone(),
            channel: message.channel.to_owned(),
            locale: message.locale.to_owned(),
            text: message.text.to_owned(),
            at: self.clock.now(),
        };
        self.sent
            .lock()
            .map_err(|_| Error::Internal("outbox lock poisoned".into()))?
            .push(message);
        Ok(())
    }
}
