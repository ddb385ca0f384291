//! One function per endpoint: read the request, call the service, shape the
//! answer. No rule lives here, and no store or SMS call.

use http::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::challenge::not_a_solution;
use crate::domain::language::is_tag;
use crate::domain::service::{
    AdminView, Attempt, CodeSent, Profile, ProfileRef, ReferralsQuery, RevokeScope, SendRequest,
    Service, invalid_referrals_limit,
};
use crate::domain::time::Timestamp;
use crate::domain::token::Claims;
use crate::error::{Error, Result};
use crate::http::body::{self, text};
use crate::http::query;
use crate::http::routes::{
    ADMIN_CLAIMS_PATH, ADMIN_DISABLE_PATH, ADMIN_ENABLE_PATH, ADMIN_SIGN_OUT_PATH, ADMIN_USER_PATH,
    ADMIN_USERS_PATH, Endpoint, Function, Matched, OPENID_CONFIGURATION_PATH, PHONE_VERIFY_PATH,
    SESSION_PATH, SESSIONS_PATH, function, profile_ref,
};
use crate::http::{AdminAccess, ApiRequest, ApiResponse, empty_response, json_response};

/// Serves any endpoint (the dev server).
pub async fn dispatch(
    service: &Service,
    admin: &AdminAccess,
    matched: Matched,
    request: ApiRequest,
) -> Result<ApiResponse> {
    let (s, a) = (service, admin);
    match matched.route.endpoint {
        Endpoint::PhoneEnter => dispatch_to::<function::PhoneEnter>(s, a, matched, request).await,
        Endpoint::CodeEnter => dispatch_to::<function::CodeEnter>(s, a, matched, request).await,
        Endpoint::Profile => dispatch_to::<function::Profile>(s, a, matched, request).await,
        Endpoint::TokenRefresh => {
            dispatch_to::<function::TokenRefresh>(s, a, matched, request).await
        }
        Endpoint::TokenRevoke => dispatch_to::<function::TokenRevoke>(s, a, matched, request).await,
        Endpoint::WellKnown => dispatch_to::<function::WellKnown>(s, a, matched, request).await,
        Endpoint::Admin => dispatch_to::<function::Admin>(s, a, matched, request).await,
        Endpoint::PhoneChange => dispatch_to::<function::PhoneChange>(s, a, matched, request).await,
    }
}

/// Serves `F`'s endpoint. `F::ENDPOINT` is a constant here, so a
/// function's binary holds its own handler only.
pub async fn dispatch_to<F: Function>(
    service: &Service,
    admin_access: &AdminAccess,
    matched: Matched,
    request: ApiRequest,
) -> Result<ApiResponse> {
    body::check_size(&request.body)?;
    match F::ENDPOINT {
        Endpoint::PhoneEnter => phone_enter(service, &request).await,
        Endpoint::CodeEnter => code_enter(service, &request).await,
        Endpoint::Profile => {
            profile(
                service,
                matched.param.as_deref().unwrap_or_default(),
                &request,
            )
            .await
        }
        Endpoint::TokenRefresh => token_refresh(service, &request).await,
        Endpoint::TokenRevoke => match matched.route.path {
            SESSIONS_PATH => devices(service, &request).await,
            SESSION_PATH => {
                let sid = matched.param.as_deref().unwrap_or_default();
                end_device(service, sid, &request).await
            }
            _ => token_revoke(service, &request).await,
        },
        Endpoint::WellKnown => well_known(service, matched.route.path),
        Endpoint::Admin => admin(service, admin_access, &matched, &request).await,
        Endpoint::PhoneChange => {
            let param = matched.param.as_deref().unwrap_or_default();
            if matched.route.path == PHONE_VERIFY_PATH {
                verify_phone_change(service, param, &request).await
            } else {
                send_phone_change(service, param, &request).await
            }
        }
    }
}

fn ok(body: Value) -> ApiResponse {
    json_response(StatusCode::OK, &body, "application/json")
}

#[derive(Deserialize)]
struct PhoneBody {
    phone: Option<Value>,
    challenge: Option<Value>,
    channel: Option<Value>,
    locale: Option<Value>,
}

#[derive(Deserialize)]
struct CodeBody {
    phone: Option<Value>,
    code: Option<Value>,
    verification_id: Option<Value>,
}

/// The send's id as a client passed it back: at most 64 characters.
fn verification_id(value: Option<Value>) -> Result<Option<String>> {
    match text("verification_id", value)? {
        Some(id) if id.is_empty() || id.chars().count() > 64 => Err(Error::InvalidRequest(
            "The field `verification_id` must be what /phone/ answered.".into(),
        )),
        id => Ok(id),
    }
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh: Option<Value>,
}

#[derive(Deserialize)]
struct RevokeBody {
    refresh: Option<Value>,
    scope: Option<Value>,
}

/// A send's body as `/phone/` takes it: the phone as typed, and what the
/// send may carry besides.
struct SendBody {
    phone: String,
    challenge: Option<String>,
    channel: Option<String>,
    locale: Option<String>,
}

impl SendBody {
    fn read(request: &ApiRequest) -> Result<SendBody> {
        let body: PhoneBody = body::parse(&request.body)?;
        let phone = text("phone", body.phone)?.ok_or(Error::MissingField("phone"))?;
        let challenge = text("challenge", body.challenge)?;
        if challenge.as_ref().is_some_and(|c| c.len() > 2048) {
            return Err(not_a_solution());
        }
        let channel = text("channel", body.channel)?;
        let locale = text("locale", body.locale)?;
        if locale.as_deref().is_some_and(|l| !is_tag(l)) {
            return Err(Error::InvalidRequest(
                "The field `locale` must be a language tag such as en or pt-BR.".into(),
            ));
        }
        Ok(SendBody {
            phone,
            challenge,
            channel,
            locale,
        })
    }

    fn send_request<'a>(&'a self, request: &'a ApiRequest) -> SendRequest<'a> {
        SendRequest {
            source: request.source_ip.as_deref(),
            challenge: self.challenge.as_deref(),
            channel: self.channel.as_deref(),
            locale: self.locale.as_deref(),
            accept_language: request.header(header::ACCEPT_LANGUAGE),
        }
    }
}

fn code_sent(sent: &CodeSent) -> ApiResponse {
    ok(json!({
        "message": "Verification code sent successfully.",
        "expires_in": sent.expires_in,
        "retry_after": sent.retry_after,
        "verification_id": sent.verification_id,
    }))
}

async fn phone_enter(service: &Service, request: &ApiRequest) -> Result<ApiResponse> {
    let body = SendBody::read(request)?;
    let phone = service.parse_login_phone(&body.phone).await?;
    let sent = service
        .send_code(&phone, &body.send_request(request))
        .await?;
    Ok(code_sent(&sent))
}

/// A code to the number the caller moves to.
async fn send_phone_change(
    service: &Service,
    param: &str,
    request: &ApiRequest,
) -> Result<ApiResponse> {
    let (caller, target) = caller_and_profile(service, param, request)?;
    let body = SendBody::read(request)?;
    let send = body.send_request(request);
    let sent = service
        .send_phone_change(&caller, target, &body.phone, &send)
        .await?;
    Ok(code_sent(&sent))
}

/// The account moved to the new number, with its code.
async fn verify_phone_change(
    service: &Service,
    param: &str,
    request: &ApiRequest,
) -> Result<ApiResponse> {
    let (caller, target) = caller_and_profile(service, param, request)?;
    let body: CodeBody = body::parse(&request.body)?;
    let phone = text("phone", body.phone)?.ok_or(Error::MissingField("phone"))?;
    let code = text("code", body.code)?.ok_or(Error::MissingField("code"))?;
    let verification_id = verification_id(body.verification_id)?;
    let attempt = Attempt {
        verification_id: verification_id.as_deref(),
        source: request.source_ip.as_deref(),
        user_agent: None,
    };
    let profile = service
        .change_phone(&caller, target, &phone, &code, &attempt)
        .await?;
    Ok(ok(profile_json(&profile)))
}

async fn code_enter(service: &Service, request: &ApiRequest) -> Result<ApiResponse> {
    let body: CodeBody = body::parse(&request.body)?;
    let phone = text("phone", body.phone)?;
    let code = text("code", body.code)?;
    let verification_id = verification_id(body.verification_id)?;
    let phone = service
        .parse_login_phone(&phone.ok_or(Error::MissingField("phone"))?)
        .await?;
    let code = service.parse_code(&phone, &code.ok_or(Error::MissingField("code"))?)?;
    let attempt = Attempt {
        verification_id: verification_id.as_deref(),
        source: request.source_ip.as_deref(),
        user_agent: request.header(header::USER_AGENT),
    };
    let login = service.verify_code(&phone, &code, &attempt).await?;
    Ok(ok(json!({
        "token": login.access,
        "access": login.access,
        "refresh": login.refresh,
        "token_type": "Bearer",
        "expires_in": login.expires_in,
        "user_id": login.user_id.0,
        "created": login.created,
    })))
}

#[derive(Deserialize)]
struct InviteBody {
    inv: Option<Value>,
}

#[derive(Deserialize)]
struct DeleteBody {
    code: Option<Value>,
    verification_id: Option<Value>,
}

/// The bearer token's claims, and the profile the path names.
fn caller_and_profile(
    service: &Service,
    param: &str,
    request: &ApiRequest,
) -> Result<(Claims, ProfileRef)> {
    let caller = service.authenticate(request.header(header::AUTHORIZATION))?;
    let target = profile_ref(param).ok_or(Error::NotFound)?;
    Ok((caller, target))
}

async fn profile(service: &Service, param: &str, request: &ApiRequest) -> Result<ApiResponse> {
    let (caller, target) = caller_and_profile(service, param, request)?;
    if request.method == Method::DELETE {
        // No body at all is a DELETE without its code, not a malformed one.
        let body: DeleteBody = if request.body.iter().all(u8::is_ascii_whitespace) {
            DeleteBody {
                code: None,
                verification_id: None,
            }
        } else {
            body::parse(&request.body)?
        };
        let code = text("code", body.code)?.ok_or(Error::MissingField("code"))?;
        let verification_id = verification_id(body.verification_id)?;
        let attempt = Attempt {
            verification_id: verification_id.as_deref(),
            source: request.source_ip.as_deref(),
            user_agent: None,
        };
        service
            .delete_account(&caller, target, &code, &attempt)
            .await?;
        return Ok(empty_response(StatusCode::NO_CONTENT));
    }
    let page = referrals_query(request.query.as_deref())?;
    let profile = if request.method == Method::PATCH {
        let body: InviteBody = body::parse(&request.body)?;
        let code = text("inv", body.inv)?.ok_or(Error::MissingField("inv"))?;
        service
            .activate_invite(&caller, target, &code, &page)
            .await?
    } else {
        service.profile(&caller, target, &page).await?
    };
    Ok(ok(profile_json(&profile)))
}

fn referrals_query(query: Option<&str>) -> Result<ReferralsQuery> {
    let limit = query::param(query, "referrals_limit")
        .map(|raw| raw.parse::<usize>().map_err(|_| invalid_referrals_limit()))
        .transpose()?;
    Ok(ReferralsQuery {
        limit,
        cursor: query::param(query, "referrals_cursor"),
    })
}

fn profile_json(profile: &Profile) -> Value {
    let user = &profile.user;
    let activated = user.activated.as_ref();
    let owner = activated.and_then(|a| a.owner.as_ref());
    json!({
        "id": user.id.0,
        "phone": user.phone.as_str(),
        "invite": user.invite.as_str(),
        "inv": activated.map(|a| a.code.as_str()),
        "inv_phone": owner.map(|o| o.phone.as_str()),
        "parent_invite": owner.map(|o| o.id.0),
        "last_login": user.last_login.map(|t| t.rfc3339()),
        "date_joined": user.date_joined.rfc3339(),
        "referrals": profile.referrals.iter().map(|r| json!({
            "id": r.id.0,
            "phone": r.phone.as_str(),
            "date": r.date.rfc3339(),
        })).collect::<Vec<_>>(),
        "referrals_count": user.referrals_count,
        "referrals_next": profile.referrals_next,
    })
}

fn refresh_token(value: Option<Value>) -> Result<String> {
    text("refresh", value)?
        .filter(|token| !token.is_empty())
        .ok_or(Error::MissingField("refresh"))
}

async fn token_refresh(service: &Service, request: &ApiRequest) -> Result<ApiResponse> {
    let body: RefreshBody = body::parse(&request.body)?;
    let refreshed = service.refresh(&refresh_token(body.refresh)?).await?;
    Ok(ok(
        json!({"access": refreshed.access, "refresh": refreshed.refresh}),
    ))
}

async fn token_revoke(service: &Service, request: &ApiRequest) -> Result<ApiResponse> {
    let body: RevokeBody = body::parse(&request.body)?;
    let scope = match text("scope", body.scope)?.as_deref() {
        None | Some("session") => RevokeScope::Session,
        Some("all") => RevokeScope::All,
        Some(_) => {
            return Err(Error::InvalidRequest(
                "The field `scope` must be \"session\" or \"all\".".into(),
            ));
        }
    };
    service.revoke(&refresh_token(body.refresh)?, scope).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// The caller's live sessions, newest first.
async fn devices(service: &Service, request: &ApiRequest) -> Result<ApiResponse> {
    let caller = service.authenticate(request.header(header::AUTHORIZATION))?;
    let time = |at: Option<Timestamp>| at.map(Timestamp::rfc3339);
    let sessions: Vec<Value> = service
        .devices(&caller)
        .await?
        .into_iter()
        .map(|device| {
            json!({
                "id": device.id,
                "created": time(device.created),
                "last_used": time(device.last_used),
                "user_agent": device.user_agent,
                "current": device.current,
            })
        })
        .collect();
    Ok(ok(json!({ "sessions": sessions })))
}

/// Logs one of the caller's sessions out.
async fn end_device(service: &Service, sid: &str, request: &ApiRequest) -> Result<ApiResponse> {
    let caller = service.authenticate(request.header(header::AUTHORIZATION))?;
    service.end_device(&caller, sid).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// The JWKS or the discovery document: the same for every caller and
/// until the next deployment, so caches may keep it for five minutes.
fn well_known(service: &Service, path: &str) -> Result<ApiResponse> {
    let document = if path == OPENID_CONFIGURATION_PATH {
        service.openid_configuration()
    } else {
        service.jwks()
    };
    let mut response = ok(document);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct DisableBody {
    reason: Option<Value>,
    until: Option<Value>,
}

#[derive(Deserialize)]
struct ClaimsBody {
    claims: Option<Value>,
}

/// The `/admin/` routes. Each call is logged with its operator.
async fn admin(
    service: &Service,
    access: &AdminAccess,
    matched: &Matched,
    request: &ApiRequest,
) -> Result<ApiResponse> {
    let by = operator(access, request)?;
    let path = matched.route.path;
    tracing::info!(by, method = %request.method, route = path, "admin call");
    if path == ADMIN_USERS_PATH {
        let phone =
            query::param(request.query.as_deref(), "phone").ok_or(Error::MissingField("phone"))?;
        let users: Vec<Value> = service
            .admin_find(&phone)
            .await?
            .iter()
            .map(admin_json)
            .collect();
        return Ok(ok(json!({ "users": users })));
    }
    let id = match matched.param.as_deref().and_then(profile_ref) {
        Some(ProfileRef::Id(id)) => id,
        _ => return Err(Error::NotFound),
    };
    let view = match path {
        ADMIN_USER_PATH if request.method == Method::GET => service.admin_user(id).await?,
        ADMIN_USER_PATH => {
            service.admin_delete(&by, id).await?;
            return Ok(empty_response(StatusCode::NO_CONTENT));
        }
        ADMIN_SIGN_OUT_PATH => {
            service.admin_sign_out(&by, id).await?;
            return Ok(empty_response(StatusCode::NO_CONTENT));
        }
        ADMIN_DISABLE_PATH => {
            let body: DisableBody = body::parse(&request.body)?;
            let reason = text("reason", body.reason)?.ok_or(Error::MissingField("reason"))?;
            let until = text("until", body.until)?
                .map(|until| {
                    Timestamp::parse_rfc3339(&until).ok_or_else(|| {
                        Error::InvalidRequest(
                            "The field `until` must be an RFC 3339 time, or null.".into(),
                        )
                    })
                })
                .transpose()?;
            service.disable_user(&by, id, &reason, until).await?
        }
        ADMIN_ENABLE_PATH => service.enable_user(&by, id).await?,
        ADMIN_CLAIMS_PATH => {
            let body: ClaimsBody = body::parse(&request.body)?;
            let Some(Value::Object(claims)) = body.claims else {
                return Err(Error::InvalidRequest(
                    "The field `claims` must be an object.".into(),
                ));
            };
            service.set_user_claims(&by, id, claims).await?
        }
        _ => return Err(Error::NotFound),
    };
    Ok(ok(admin_json(&view)))
}

/// Who is calling the admin API: the IAM principal API Gateway let in, or
/// `dev-admin` with the dev server's `ADMIN_TOKEN`. A user's access token
/// opens nothing here.
fn operator(access: &AdminAccess, request: &ApiRequest) -> Result<String> {
    use subtle::ConstantTimeEq;
    match access {
        AdminAccess::Off => Err(Error::NotFound),
        AdminAccess::Iam => request.iam_caller.clone().ok_or(Error::PermissionDenied),
        AdminAccess::Token(secret) => {
            let value = request.header(header::AUTHORIZATION).unwrap_or_default();
            let token = value
                .trim()
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim());
            match token {
                _ if value.trim().is_empty() => Err(Error::NotAuthenticated),
                Some(token) if bool::from(token.as_bytes().ct_eq(secret.as_bytes())) => {
                    Ok("dev-admin".into())
                }
                _ => Err(Error::PermissionDenied),
            }
        }
    }
}

/// A user as an operator sees it: the profile, with the disabling, the
/// claims and the live sessions' count.
fn admin_json(view: &AdminView) -> Value {
    let user = &view.profile.user;
    let disabled = user.disabled.as_ref().filter(|_| view.disabled);
    let mut body = profile_json(&view.profile);
    body["disabled"] = json!(disabled.is_some());
    body["disabled_until"] = json!(disabled.and_then(|d| d.until).map(Timestamp::rfc3339));
    body["disabled_reason"] = json!(disabled.map(|d| &d.reason));
    body["claims"] = Value::Object(user.claims.clone());
    body["sessions"] = json!(view.sessions);
    body
}
