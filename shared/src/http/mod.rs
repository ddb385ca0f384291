//! The HTTP face of the service, independent of where requests come from:
//! the Lambda adapter and the dev server both build an `ApiRequest` and
//! send back the `ApiResponse` they get.

pub mod body;
mod handlers;
pub mod problem;
pub mod query;
pub mod routes;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::domain::service::Service;
use crate::error::Error;
use routes::{Endpoint, Function, Matched, match_path};

pub type ApiResponse = http::Response<Bytes>;

#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The client's address as API Gateway (or the dev server's socket) saw it.
    pub source_ip: Option<String>,
    /// The IAM principal (its ARN) API Gateway's `AWS_IAM` authorization
    /// let in; never set from anything the caller writes.
    pub iam_caller: Option<String>,
}

/// Who may call the `/admin/` routes.
#[derive(Clone, Default)]
pub enum AdminAccess {
    /// The stack: callers API Gateway let in by IAM (SigV4).
    #[default]
    Iam,
    /// The dev server with `ADMIN_TOKEN`: `Authorization: Bearer <it>`.
    Token(String),
    /// The dev server without it: the routes do not exist.
    Off,
}

impl ApiRequest {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct App {
    service: Service,
    admin: AdminAccess,
}

impl App {
    pub fn new(service: Service) -> App {
        App {
            service,
            admin: AdminAccess::default(),
        }
    }

    /// Who may call the `/admin/` routes; by default IAM callers.
    pub fn with_admin(mut self, admin: AdminAccess) -> App {
        self.admin = admin;
        self
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Serves any route of the table (the dev server).
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let result = match route(None, &self.admin, &request) {
            Ok(matched) => handlers::dispatch(&self.service, &self.admin, matched, request).await,
            Err(error) => Err(error),
        };
        result.unwrap_or_else(|error| problem::response(&error))
    }

    /// Serves only `F`'s routes (one Lambda function); any other path is
    /// not found.
    pub async fn handle_for<F: Function>(&self, request: ApiRequest) -> ApiResponse {
        let result = match route(Some(F::ENDPOINT), &self.admin, &request) {
            Ok(matched) => {
                handlers::dispatch_to::<F>(&self.service, &self.admin, matched, request).await
            }
            Err(error) => Err(error),
        };
        result.unwrap_or_else(|error| problem::response(&error))
    }
}

/// The route a request is for, among `only`'s when given: not found, or a
/// method the path does not take. With the admin API off, its paths are
/// not found whatever the method.
fn route(
    only: Option<Endpoint>,
    admin: &AdminAccess,
    request: &ApiRequest,
) -> Result<Matched, Error> {
    let admin_off = matches!(admin, AdminAccess::Off);
    match match_path(&request.path) {
        Some(matched)
            if only.is_none_or(|e| e == matched.route.endpoint)
                && !(admin_off && matched.route.endpoint == Endpoint::Admin) =>
        {
            if matched.route.methods.contains(&request.method) {
                Ok(matched)
            } else {
                Err(Error::MethodNotAllowed {
                    allow: matched.route.allow,
                })
            }
        }
        _ => Err(Error::NotFound),
    }
}

pub(crate) fn json_response(
    status: StatusCode,
    body: &serde_json::Value,
    content_type: &'static str,
) -> ApiResponse {
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn empty_response(status: StatusCode) -> ApiResponse {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
