//! Sends through the team's own bridge (Twilio, Vonage, WhatsApp, voice)
//! with `SMS_PROVIDER=webhook`: each message is one POST, signed as
//! Standard Webhooks sign (<https://www.standardwebhooks.com/>), answered
//! 2xx within `TIMEOUT` or counted as not sent. The body carries the code:
//! it is never logged.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::adapters::https::HttpsClient;
use crate::config::WebhookSettings;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::ports::{Clock, OtpMessage, SmsSender};

/// A bridge slower than this has not sent (503), well inside the
/// function's own timeout.
pub const TIMEOUT: Duration = Duration::from_secs(3);

pub struct WebhookSms {
    client: Arc<HttpsClient>,
    settings: WebhookSettings,
    clock: Arc<dyn Clock>,
}

impl WebhookSms {
    pub fn new(settings: WebhookSettings, clock: Arc<dyn Clock>) -> std::io::Result<WebhookSms> {
        Ok(WebhookSms {
            client: HttpsClient::shared()?,
            settings,
            clock,
        })
    }
}

/// The `webhook-signature` of a message: `v1,` and the base64 HMAC-SHA256
/// of `<id>.<timestamp>.<body>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The JSON body of a message, as the contract gives it.
pub fn body(message: &OtpMessage<'_>, now: Timestamp) -> String {
    json!({
        "type": "otp.send",
        "timestamp": now.rfc3339(),
        "data": {
            "to": message.to.as_str(),
            "channel": message.channel,
            "locale": message.locale,
            "text": message.text,
            "code": message.code,
            "expires_in": message.expires_in,
            "verification_id": message.verification_id,
        },
    })
    .to_string()
}

#[async_trait]
impl SmsSender for WebhookSms {
    #[tracing::instrument(skip_all, fields(channel = message.channel))]
    async fn send(&self, message: &OtpMessage<'_>) -> Result<()> {
        let now = self.clock.now();
        let body = body(message, now);
        // One id per send, so a bridge can drop a delivery it has seen.
        let id = format!("msg_{}", message.verification_id);
        let timestamp = now.secs();
        let headers = [
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature(&self.settings.key, &id, timestamp, &body),
            ),
        ];
        let outcome = self
            .client
            .post_json(&self.settings.url, &headers, body, TIMEOUT)
            .await;
        match outcome {
            Ok((status, _)) if status.is_success() => Ok(()),
            Ok((status, _)) => {
                tracing::error!(status = status.as_u16(), "the SMS webhook refused a send");
                Err(Error::SmsUnavailable(format!(
                    "the webhook answered {status}"
                )))
            }
            Err(failed) => {
                tracing::error!(error = %failed, "the SMS webhook could not be reached");
                Err(Error::SmsUnavailable(format!("the webhook: {failed}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_s_own_example() {
        // The example of the Standard Webhooks specification's reference
        // libraries: secret, id, timestamp, body and the signature they make.
        let key = crate::config::webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
