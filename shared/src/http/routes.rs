//! The path table: which endpoint serves which path, with which methods, in
//! which Lambda function. The dev server routes by it, each Lambda serves its
//! own rows of it, and the template's routes are checked against it.

use http::Method;

use crate::domain::service::{JWKS_PATH, ProfileRef};
use crate::domain::user::UserId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    PhoneEnter,
    CodeEnter,
    Profile,
    TokenRefresh,
    /// Logging out, and the caller's sessions (its devices).
    TokenRevoke,
    /// The JWKS and the OpenID discovery document: one function, two paths.
    WellKnown,
    /// The operators' API under `/admin/`: IAM-authorised in the stack.
    Admin,
    /// Moving the caller's account to a new number: its code sent, then
    /// checked.
    PhoneChange,
}

impl Endpoint {
    /// Whether the endpoint sends SMS, and so needs SNS.
    pub const fn sends_sms(self) -> bool {
        matches!(self, Endpoint::PhoneEnter | Endpoint::PhoneChange)
    }

    /// Whether the endpoint issues access tokens, and so needs the signing
    /// key parsed at start-up.
    pub const fn signs_tokens(self) -> bool {
        matches!(self, Endpoint::CodeEnter | Endpoint::TokenRefresh)
    }

    /// Whether the endpoint reads the token keys' secret (signs or
    /// verifies). The stack gives a function only the secrets it reads:
    /// the JWKS function gets the public keys alone, in its environment.
    pub const fn uses_token_keys(self) -> bool {
        !matches!(
            self,
            Endpoint::PhoneEnter | Endpoint::WellKnown | Endpoint::Admin
        )
    }

    /// Whether every answer but a refusal reads or writes DynamoDB: the
    /// functions that open their connection to it at start-up.
    pub const fn uses_store(self) -> bool {
        !matches!(self, Endpoint::WellKnown)
    }

    /// Whether the endpoint reads the code-hash secret: codes are hashed
    /// under it, and referral cursors signed.
    pub const fn uses_code_hash(self) -> bool {
        matches!(
            self,
            Endpoint::PhoneEnter
                | Endpoint::CodeEnter
                | Endpoint::Profile
                | Endpoint::Admin
                | Endpoint::PhoneChange
        )
    }
}

/// One Lambda function as a type. A function's binary is generic over it,
/// so every choice made on `ENDPOINT` is settled when it is compiled: the
/// binary links that endpoint's handler, and SNS only if it sends SMS.
pub trait Function: Send + Sync + 'static {
    const ENDPOINT: Endpoint;
}

macro_rules! functions {
    ($($name:ident),*) => {$(
        #[doc = concat!("The function that serves `Endpoint::", stringify!($name), "`.")]
        pub struct $name;

        impl super::Function for $name {
            const ENDPOINT: super::Endpoint = super::Endpoint::$name;
        }
    )*};
}

/// The functions, one type each.
pub mod function {
    functions!(
        PhoneEnter,
        CodeEnter,
        Profile,
        TokenRefresh,
        TokenRevoke,
        WellKnown,
        Admin,
        PhoneChange
    );
}

pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
pub const SESSIONS_PATH: &str = "/sessions";
pub const SESSION_PATH: &str = "/sessions/{id}";
pub const PHONE_CHANGE_PATH: &str = "/profile/{id}/phone";
pub const PHONE_VERIFY_PATH: &str = "/profile/{id}/phone/verify";
pub const ADMIN_USERS_PATH: &str = "/admin/users";
pub const ADMIN_USER_PATH: &str = "/admin/users/{id}";
pub const ADMIN_DISABLE_PATH: &str = "/admin/users/{id}/disable";
pub const ADMIN_ENABLE_PATH: &str = "/admin/users/{id}/enable";
pub const ADMIN_SIGN_OUT_PATH: &str = "/admin/users/{id}/sign-out";
pub const ADMIN_CLAIMS_PATH: &str = "/admin/users/{id}/claims";

pub struct Route {
    pub endpoint: Endpoint,
    /// The path in API Gateway's form, without the trailing slash.
    pub path: &'static str,
    pub methods: &'static [Method],
    /// The `Allow` header for this path.
    pub allow: &'static str,
    /// The Lambda function (crate) that serves it.
    pub function: &'static str,
}

pub const ROUTES: &[Route] = &[
    Route {
        endpoint: Endpoint::PhoneEnter,
        path: "/phone",
        methods: &[Method::POST],
        allow: "POST",
        function: "phone-enter",
    },
    Route {
        endpoint: Endpoint::CodeEnter,
        path: "/code",
        methods: &[Method::POST],
        allow: "POST",
        function: "code-enter",
    },
    Route {
        endpoint: Endpoint::Profile,
        path: "/profile/{id}",
        methods: &[Method::GET, Method::PATCH, Method::DELETE],
        allow: "GET, PATCH, DELETE",
        function: "user-profile",
    },
    // Changing the phone: a function of its own, the one beside /phone/
    // that sends SMS and reads tokens.
    Route {
        endpoint: Endpoint::PhoneChange,
        path: PHONE_CHANGE_PATH,
        methods: &[Method::POST],
        allow: "POST",
        function: "phone-change",
    },
    Route {
        endpoint: Endpoint::PhoneChange,
        path: PHONE_VERIFY_PATH,
        methods: &[Method::POST],
        allow: "POST",
        function: "phone-change",
    },
    Route {
        endpoint: Endpoint::TokenRefresh,
        path: "/token/refresh",
        methods: &[Method::POST],
        allow: "POST",
        function: "token-refresh",
    },
    Route {
        endpoint: Endpoint::TokenRevoke,
        path: "/token/revoke",
        methods: &[Method::POST],
        allow: "POST",
        function: "token-revoke",
    },
    // The caller's devices: the sessions' function.
    Route {
        endpoint: Endpoint::TokenRevoke,
        path: SESSIONS_PATH,
        methods: &[Method::GET],
        allow: "GET",
        function: "token-revoke",
    },
    Route {
        endpoint: Endpoint::TokenRevoke,
        path: SESSION_PATH,
        methods: &[Method::DELETE],
        allow: "DELETE",
        function: "token-revoke",
    },
    Route {
        endpoint: Endpoint::WellKnown,
        path: JWKS_PATH,
        methods: &[Method::GET],
        allow: "GET",
        function: "well-known",
    },
    Route {
        endpoint: Endpoint::WellKnown,
        path: OPENID_CONFIGURATION_PATH,
        methods: &[Method::GET],
        allow: "GET",
        function: "well-known",
    },
    Route {
        endpoint: Endpoint::Admin,
        path: ADMIN_USERS_PATH,
        methods: &[Method::GET],
        allow: "GET",
        function: "admin",
    },
    Route {
        endpoint: Endpoint::Admin,
        path: ADMIN_USER_PATH,
        methods: &[Method::GET, Method::DELETE],
        allow: "GET, DELETE",
        function: "admin",
    },
    Route {
        endpoint: Endpoint::Admin,
        path: ADMIN_DISABLE_PATH,
        methods: &[Method::POST],
        allow: "POST",
        function: "admin",
    },
    Route {
        endpoint: Endpoint::Admin,
        path: ADMIN_ENABLE_PATH,
        methods: &[Method::POST],
        allow: "POST",
        function: "admin",
    },
    Route {
        endpoint: Endpoint::Admin,
        path: ADMIN_SIGN_OUT_PATH,
        methods: &[Method::POST],
        allow: "POST",
        function: "admin",
    },
    Route {
        endpoint: Endpoint::Admin,
        path: ADMIN_CLAIMS_PATH,
        methods: &[Method::PUT],
        allow: "PUT",
        function: "admin",
    },
];

/// A path matched against the table, with its `{id}` when it has one.
pub struct Matched {
    pub route: &'static Route,
    pub param: Option<String>,
}

/// Matches a request path with or without its trailing slash.
pub fn match_path(path: &str) -> Option<Matched> {
    let path = path.strip_suffix('/').unwrap_or(path);
    ROUTES.iter().find_map(|route| {
        let mut param = None;
        let mut got = path.split('/');
        let mut want = route.path.split('/');
        loop {
            match (got.next(), want.next()) {
                (None, None) => return Some(Matched { route, param }),
                (Some(g), Some("{id}")) if !g.is_empty() => param = Some(g.to_owned()),
                (Some(g), Some(w)) if g == w => {}
                _ => return None,
            }
        }
    })
}

/// Reads `{id}` of a profile path: `me` or a user id. Anything else names
/// no profile.
pub fn profile_ref(param: &str) -> Option<ProfileRef> {
    if param == "me" {
        return Some(ProfileRef::Me);
    }
    if param.is_empty() || !param.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    param.parse().ok().map(|id| ProfileRef::Id(UserId(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_with_and_without_trailing_slash() {
        for path in ["/phone", "/phone/"] {
            assert_eq!(
                match_path(path).unwrap().route.endpoint,
                Endpoint::PhoneEnter
            );
        }
        let m = match_path("/profile/123/").unwrap();
        assert_eq!(m.route.endpoint, Endpoint::Profile);
        assert_eq!(m.param.as_deref(), Some("123"));
        assert_eq!(
            match_path("/token/refresh").unwrap().route.endpoint,
            Endpoint::TokenRefresh
        );
        let device = match_path("/sessions/abc/").unwrap();
        assert_eq!(device.route.path, SESSION_PATH);
        assert_eq!(device.param.as_deref(), Some("abc"));
        assert_eq!(match_path("/sessions/").unwrap().route.path, SESSIONS_PATH);
        let verify = match_path("/profile/me/phone/verify/").unwrap();
        assert_eq!(verify.route.path, PHONE_VERIFY_PATH);
        assert_eq!(verify.param.as_deref(), Some("me"));
        assert_eq!(
            match_path("/profile/me/phone").unwrap().route.path,
            PHONE_CHANGE_PATH
        );
        let disable = match_path("/admin/users/42/disable/").unwrap();
        assert_eq!(disable.route.path, ADMIN_DISABLE_PATH);
        assert_eq!(disable.param.as_deref(), Some("42"));
        assert_eq!(
            match_path("/admin/users").unwrap().route.path,
            ADMIN_USERS_PATH
        );
        assert_eq!(
            match_path("/admin/users/7").unwrap().route.path,
            ADMIN_USER_PATH
        );
    }

    #[test]
    fn unknown_paths_do_not_match() {
        for path in [
            "/",
            "",
            "/phone//",
            "/profile",
            "/profile/",
            "/profile/1/2",
            "/token",
            "/phones",
            "/dev/sms",
        ] {
            assert!(match_path(path).is_none(), "{path:?} matched");
        }
    }

    #[test]
    fn profile_refs() {
        assert_eq!(profile_ref("me"), Some(ProfileRef::Me));
        assert_eq!(profile_ref("42"), Some(ProfileRef::Id(UserId(42))));
        for bad in ["", "-1", "+1", "1e3", "ME", "99999999999999999999999"] {
            assert_eq!(profile_ref(bad), None, "{bad:?}");
        }
    }
}
