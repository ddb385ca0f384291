//! The try-it page (`GET /`): static files compiled into the dev server,
//! never into a Lambda. The page runs the whole flow against this server's
//! own API and its `/dev/sms` outbox.

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use phone_auth::error::Error;
use phone_auth::http::{ApiResponse, problem};

/// Same-origin only, no inline script or style, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The page's files, and the ALTCHA widget it solves challenges with: the
/// `altcha` package's CSP-friendly build (`dist_external`), version 2.3.0
/// from npm, MIT (its licence beside it). `make browser` checks the copy
/// against the pinned package.
const FILES: [(&str, &str, &str); 6] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../page/index.html"),
    ),
    (
        "/page/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../page/app.js"),
    ),
    (
        "/page/app.css",
        "text/css; charset=utf-8",
        include_str!("../page/app.css"),
    ),
    (
        "/page/vendor/altcha/altcha.js",
        "text/javascript; charset=utf-8",
        include_str!("../page/vendor/altcha/altcha.js"),
    ),
    (
        "/page/vendor/altcha/worker.js",
        "text/javascript; charset=utf-8",
        include_str!("../page/vendor/altcha/worker.js"),
    ),
    (
        "/page/vendor/altcha/altcha.css",
        "text/css; charset=utf-8",
        include_str!("../page/vendor/altcha/altcha.css"),
    ),
];

/// The page's answer to `path`, or `None` when the path is not one of its
/// files.
pub fn respond(method: &Method, path: &str) -> Option<ApiResponse> {
    let (_, content_type, text) = FILES.iter().find(|(at, ..)| *at == path)?;
    if method != Method::GET && method != Method::HEAD {
        return Some(problem::response(&Error::MethodNotAllowed {
            allow: "GET, HEAD",
        }));
    }
    // hyper sends no body in answer to HEAD, and keeps its length.
    let mut response = http::Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Some(response)
}
