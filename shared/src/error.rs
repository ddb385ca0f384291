//! The one error type of the service. Every failure a request can meet is a
//! variant here, and `http::problem` is the only place that turns one into a
//! status code and a problem+json body.

use std::time::Duration;

/// A field that failed validation, reported under `errors` in the problem body.
pub type FieldError = (&'static str, String);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A required field is absent (or `null`).
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("invalid phone number")]
    InvalidPhone,
    /// A number without `+` where no `DEFAULT_REGION` says how to read it.
    #[error("phone number without a country code")]
    PhoneWithoutCountry,
    #[error("phone number region not allowed")]
    PhoneNotAllowed,
    #[error("malformed verification code")]
    MalformedCode,
    #[error("wrong verification code")]
    InvalidCode,
    #[error("no live verification code")]
    CodeExpired,
    #[error("verification code burned by too many attempts")]
    TooManyAttempts { retry_after: Duration },
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    /// The send needs a solved challenge: this one.
    #[error("challenge required")]
    ChallengeRequired {
        challenge: Box<crate::domain::challenge::Offer>,
        retry_after: Duration,
    },
    /// The captcha provider (Turnstile's siteverify) could not be asked.
    #[error("captcha provider unavailable: {0}")]
    CaptchaUnavailable(String),
    #[error("missing bearer token")]
    NotAuthenticated,
    /// An `Authorization` header in another scheme (`Token`, `Basic`).
    #[error("authorization scheme is not Bearer")]
    NotBearer,
    #[error("token not valid: {0}")]
    TokenNotValid(&'static str),
    #[error("permission denied")]
    PermissionDenied,
    /// An operator disabled the account (see the admin API).
    #[error("account disabled")]
    AccountDisabled,
    /// Another account holds the number a phone change moves to.
    #[error("phone taken")]
    PhoneTaken,
    #[error("not found")]
    NotFound,
    #[error("invite code not found")]
    InviteNotFound,
    #[error("own invite code")]
    InviteSelf,
    #[error("an invite code was already activated")]
    InviteAlreadyActivated,
    #[error("invite owner joined after the caller")]
    InviteNotAllowed,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("payload too large")]
    PayloadTooLarge,
    /// SNS refused or failed the message.
    #[error("sms unavailable: {0}")]
    SmsUnavailable(String),
    /// The day's SMS budget, the service's or the number's region's, is
    /// spent until the next UTC midnight.
    #[error("sms budget spent")]
    SmsBudgetSpent { retry_after: Duration },
    /// The store is throttling or unreachable: worth retrying shortly.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    /// Anything else. The text is for the log only, never for a response.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
