//! One small HTTPS client for the third parties a send may call (Turnstile's
//! siteverify, an SMS webhook): hyper on rustls with ring and the platform's
//! roots (or `SSL_CERT_FILE`'s), the same crates the AWS SDK links, so
//! nothing new is compiled. Plain HTTP only where a URL says so, and the
//! settings allow that on loopback alone.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub struct HttpsClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// Why a call gave no answer: it could not be made, or it took too long.
#[derive(Debug)]
pub enum CallFailed {
    Unreachable(String),
    TimedOut,
}

impl std::fmt::Display for CallFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailed::Unreachable(why) => f.write_str(why),
            CallFailed::TimedOut => f.write_str("timed out"),
        }
    }
}

impl HttpsClient {
    /// The process's one client: the trust store is read once, however
    /// many third parties (siteverify, a webhook bridge) it calls.
    pub fn shared() -> std::io::Result<Arc<HttpsClient>> {
        static SHARED: OnceLock<Arc<HttpsClient>> = OnceLock::new();
        if let Some(client) = SHARED.get() {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(HttpsClient::new()?);
        Ok(Arc::clone(SHARED.get_or_init(|| client)))
    }

    fn new() -> std::io::Result<HttpsClient> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpsClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// POSTs `body` as JSON with `headers`, and reads the whole answer,
    /// all within `timeout`.
    pub async fn post_json(
        &self,
        url: &http::Uri,
        headers: &[(&str, String)],
        body: String,
        timeout: Duration,
    ) -> Result<(http::StatusCode, Bytes), CallFailed> {
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "phone-auth");
        self.send(request, headers, body, timeout).await
    }

    /// PUTs `body` with no content type (what a presigned URL signed
    /// without one accepts), and reads the whole answer within `timeout`.
    pub async fn put(
        &self,
        url: &http::Uri,
        body: String,
        timeout: Duration,
    ) -> Result<(http::StatusCode, Bytes), CallFailed> {
        let request = http::Request::put(url).header(http::header::USER_AGENT, "phone-auth");
        self.send(request, &[], body, timeout).await
    }

    async fn send(
        &self,
        mut request: http::request::Builder,
        headers: &[(&str, String)],
        body: String,
        timeout: Duration,
    ) -> Result<(http::StatusCode, Bytes), CallFailed> {
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallFailed::Unreachable(format!("building the request: {e}")))?;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| CallFailed::Unreachable(e.to_string()))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| CallFailed::Unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| CallFailed::TimedOut)?
    }
}
