//! The one mapping from `Error` to a status and an RFC 9457 problem body.
//! `detail` and `code` are what Django REST framework and SimpleJWT clients
//! read; `errors` carries field errors.

use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::error::Error;
use crate::http::ApiResponse;

struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<&'static str>,
}

fn problem(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
    Problem {
        status,
        code,
        detail: detail.into(),
        field: None,
    }
}

fn field_problem(code: &'static str, field: &'static str, detail: &str) -> Problem {
    Problem {
        field: Some(field),
        ..problem(StatusCode::BAD_REQUEST, code, detail)
    }
}

fn describe(error: &Error) -> Problem {
    use StatusCode as S;
    match error {
        Error::InvalidRequest(detail) => problem(S::BAD_REQUEST, "invalid_request", detail.clone()),
        // The contract's codes: a missing phone is `invalid_phone`, any
        // other missing field `invalid_request`; the words are the same.
        Error::MissingField(field) => Problem {
            field: Some(field),
            ..problem(
                S::BAD_REQUEST,
                if *field == "phone" {
                    "invalid_phone"
                } else {
                    "invalid_request"
                },
                format!("The field `{field}` is required."),
            )
        },
        Error::InvalidPhone => {
            field_problem("invalid_phone", "phone", "Enter a valid phone number.")
        }
        Error::PhoneWithoutCountry => field_problem(
            "invalid_phone",
            "phone",
            "Enter a valid phone number, in international format: + and the country code \
             first (+44 7700 900123). This service reads no national numbers (DEFAULT_REGION is not set).",
        ),
        Error::PhoneNotAllowed => field_problem(
            "phone_not_allowed",
            "phone",
            "Phone numbers from this region are not accepted.",
        ),
        Error::MalformedCode => field_problem(
            "invalid_code",
            "code",
            "Enter the code from the SMS, digits only.",
        ),
        Error::InvalidCode => field_problem("invalid_code", "code", "The code is not correct."),
        Error::CodeExpired => problem(
            S::BAD_REQUEST,
            "code_expired",
            "The code has expired or was not requested. Ask for a new one.",
        ),
        Error::TooManyAttempts { .. } => problem(
            S::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many wrong codes. Ask for a new one.",
        ),
        Error::RateLimited { retry_after } => problem(
            S::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "Too many requests. Try again in {} seconds.",
                retry_after.as_secs()
            ),
        ),
        Error::ChallengeRequired { .. } => problem(
            S::TOO_MANY_REQUESTS,
            "challenge_required",
            "Solve the challenge and send this request again with its solution in `challenge`.",
        ),
        Error::NotAuthenticated => problem(
            S::UNAUTHORIZED,
            "not_authenticated",
            "Authentication credentials were not provided.",
        ),
        Error::NotBearer => problem(
            S::UNAUTHORIZED,
            "not_authenticated",
            "The Authorization header must use the Bearer scheme: `Authorization: Bearer <access token>`.",
        ),
        Error::TokenNotValid(_) => problem(
            S::UNAUTHORIZED,
            "token_not_valid",
            "Token is invalid or expired.",
        ),
        Error::PermissionDenied => problem(
            S::FORBIDDEN,
            "permission_denied",
            "You do not have permission to perform this action.",
        ),
        Error::AccountDisabled => problem(
            S::FORBIDDEN,
            "account_disabled",
            "This account has been disabled.",
        ),
        Error::PhoneTaken => Problem {
            field: Some("phone"),
            ..problem(
                S::CONFLICT,
                "phone_taken",
                "Another account has this phone number.",
            )
        },
        Error::NotFound => problem(S::NOT_FOUND, "not_found", "Not found."),
        Error::InviteNotFound => Problem {
            field: Some("inv"),
            ..problem(
                S::NOT_FOUND,
                "invite_not_found",
                "No user has this invite code.",
            )
        },
        Error::InviteSelf => field_problem(
            "invite_self",
            "inv",
            "You cannot activate your own invite code.",
        ),
        Error::InviteAlreadyActivated => problem(
            S::CONFLICT,
            "invite_already_activated",
            "You have already activated an invite code.",
        ),
        Error::InviteNotAllowed => problem(
            S::CONFLICT,
            "invite_not_allowed",
            "This invite code belongs to a user who joined after you.",
        ),
        Error::MethodNotAllowed { .. } => problem(
            S::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed on this path.",
        ),
        Error::PayloadTooLarge => problem(
            S::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is larger than 4 KiB.",
        ),
        Error::SmsUnavailable(_) | Error::SmsBudgetSpent { .. } => problem(
            S::SERVICE_UNAVAILABLE,
            "sms_unavailable",
            "The SMS could not be sent. Try again later.",
        ),
        Error::StoreUnavailable(_) | Error::CaptchaUnavailable(_) => problem(
            S::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is busy. Try again shortly.",
        ),
        Error::Internal(_) => problem(
            S::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error.",
        ),
    }
}

/// Seconds to wait after SNS failed a message: the send was taken back, so
/// no cooldown applies.
const SMS_RETRY_SECS: u64 = 30;

/// Seconds a client should wait before trying again, where there is a
/// sensible number: on every 429 and 503.
fn retry_after(error: &Error) -> Option<u64> {
    match error {
        Error::RateLimited { retry_after }
        | Error::TooManyAttempts { retry_after }
        | Error::ChallengeRequired { retry_after, .. }
        | Error::SmsBudgetSpent { retry_after } => Some(retry_after.as_secs().max(1)),
        Error::StoreUnavailable(_) => Some(1),
        Error::CaptchaUnavailable(_) => Some(5),
        // SNS throttling or a passing fault: worth another try soon.
        Error::SmsUnavailable(_) => Some(SMS_RETRY_SECS),
        _ => None,
    }
}

pub fn response(error: &Error) -> ApiResponse {
    let p = describe(error);
    if p.status.is_server_error() {
        // The internal detail goes to the log, never to the client.
        tracing::error!(status = p.status.as_u16(), error = %error, "request failed");
    } else {
        tracing::info!(status = p.status.as_u16(), code = p.code, "request refused");
    }
    let mut body = json!({
        "type": "about:blank",
        "title": p.status.canonical_reason().unwrap_or("Error"),
        "status": p.status.as_u16(),
        "detail": p.detail,
        "code": p.code,
    });
    if let Some(field) = p.field {
        body["errors"] = json!({ field: [p.detail] });
    }
    if let Error::ChallengeRequired { challenge, .. } = error {
        body["challenge"] = json!(challenge);
    }
    let mut response = super::json_response(p.status, &body, "application/problem+json");
    let headers = response.headers_mut();
    if let Some(secs) = retry_after(error) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Error::MethodNotAllowed { allow } = error {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if matches!(error, Error::NotAuthenticated | Error::TokenNotValid(_)) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
