//! Cloudflare Turnstile's siteverify, for `CAPTCHA_PROVIDER=turnstile`: one
//! POST of the secret, the widget's token and the caller's address, within
//! `TIMEOUT`. The URL is a setting (`CAPTCHA_VERIFY_URL`), so tests ask a
//! stand-in on loopback that speaks the documented protocol.
//! <https://developers.cloudflare.com/turnstile/get-started/server-side-validation/>

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::ports::CaptchaVerifier;

/// A provider slower than this fails the send (503), rather than the
/// function's own timeout.
const TIMEOUT: Duration = Duration::from_secs(3);

pub const SITEVERIFY_URL: &str = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

pub struct Turnstile {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
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
    /// HTTPS on rustls with ring and the platform's roots (or
    /// `SSL_CERT_FILE`'s); plain HTTP only where `url` says so (the
    /// settings allow it on loopback alone).
    pub fn new(url: http::Uri, secret: String) -> std::io::Result<Turnstile> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Turnstile {
            client: Client::builder(TokioExecutor::new()).build(connector),
            url,
            secret,
        })
    }

    async fn ask(&self, token: &str, remote_ip: Option<&str>) -> Result<Answer> {
        let mut body = json!({ "secret": self.secret, "response": token });
        if let Some(ip) = remote_ip {
            body["remoteip"] = json!(ip);
        }
        let request = http::Request::post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| Error::Internal(format!("siteverify request: {e}")))?;
        let unavailable = |why: String| Error::CaptchaUnavailable(why);
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unavailable(format!("siteverify: {e}")))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unavailable(format!("siteverify body: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(unavailable(format!("siteverify answered {status}")));
        }
        serde_json::from_slice(&bytes).map_err(|_| unavailable("siteverify: not its JSON".into()))
    }
}

#[async_trait]
impl CaptchaVerifier for Turnstile {
    async fn verify(&self, token: &str, remote_ip: Option<&str>) -> Result<bool> {
        let answer = tokio::time::timeout(TIMEOUT, self.ask(token, remote_ip))
            .await
            .map_err(|_| Error::CaptchaUnavailable("siteverify timed out".into()))??;
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
