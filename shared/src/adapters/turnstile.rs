//! Cloudflare Turnstile's siteverify, for `CAPTCHA_PROVIDER=turnstile`: one
//! POST of the secret, the widget's token and the caller's address, within
//! `TIMEOUT`. The URL is a setting (`CAPTCHA_VERIFY_URL`), so tests ask a
//! stand-in on loopback that speaks the documented protocol.
//! <https://developers.cloudflare.com/turnstile/get-started/server-side-validation/>

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::adapters::https::HttpsClient;
use crate::error::{Error, Result};
use crate::ports::CaptchaVerifier;

/// A provider slower than this fails the send (503), rather than the
/// function's own timeout.
const TIMEOUT: Duration = Duration::from_secs(3);

pub const SITEVERIFY_URL: &str = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

pub struct Turnstile {
    client: Arc<HttpsClient>,
    url: http::Uri,
    secret: String,
}

#[derive(Deserialize)]
struct Answer {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

impl Turnstile {
    pub fn new(url: http::Uri, secret: String) -> std::io::Result<Turnstile> {
        Ok(Turnstile {
            client: HttpsClient::shared()?,
            url,
            secret,
        })
    }

    async fn ask(&self, token: &str, remote_ip: Option<&str>) -> Result<Answer> {
        let mut body = json!({ "secret": self.secret, "response": token });
        if let Some(ip) = remote_ip {
            body["remoteip"] = json!(ip);
        }
        let (status, bytes) = self
            .client
            .post_json(&self.url, &[], body.to_string(), TIMEOUT)
            .await
            .map_err(|e| Error::CaptchaUnavailable(format!("siteverify: {e}")))?;
        if !status.is_success() {
            return Err(Error::CaptchaUnavailable(format!(
                "siteverify answered {status}"
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| Error::CaptchaUnavailable("siteverify: not its JSON".into()))
    }
}

#[async_trait]
impl CaptchaVerifier for Turnstile {
    async fn verify(&self, token: &str, remote_ip: Option<&str>) -> Result<bool> {
        let answer = self.ask(token, remote_ip).await?;
        if !answer.success {
            // The codes say why (a bad secret is the operator's to fix);
            // never the token.
            tracing::info!(error_codes = ?answer.error_codes, "turnstile refused a token");
            if answer.error_codes.iter().any(|c| c.contains("secret")) {
                return Err(Error::CaptchaUnavailable(format!(
                    "siteverify refused the secret: {:?}",
                    answer.error_codes
                )));
            }
        }
        Ok(answer.success)
    }
}
