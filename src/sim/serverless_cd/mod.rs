//! Serverless-cd simulator (`shared/api/serverless-cd.md` §9), mounted at `/serverless-cd`.
//!
//! The documented-era handlers answer under `/api/flow/...` and, like the published curl
//! example, the same handlers under `/api/...`; token routes under `/api/tokens/...`. Handled
//! errors are HTTP 200 `{"success": false, "code": <int>, "message"}`; unmatched routes get
//! Express's 404 HTML `Cannot GET <path>`.

mod handlers;
pub mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use super::layer::{FaultLayerState, FaultStyle, fault_middleware};
use super::{Backend, Core};

pub use state::{DEMO_TOKEN, DEMO_USER, EXPIRED_TOKEN};

/// Route prefix of this backend.
pub const PREFIX: &str = "/serverless-cd";
/// The route prefix clients use (documented era).
pub const ROUTE_PREFIX: &str = "/api/flow";

pub struct ServerlessCd {
    core: Arc<Core>,
    state: Mutex<state::ScdState>,
}

impl ServerlessCd {
    pub fn new(core: Arc<Core>) -> Self {
        let st = state::ScdState::new(core.seed, core.clock.start_ns(), core.demo);
        ServerlessCd {
            core,
            state: Mutex::new(st),
        }
    }

    fn lock(&self) -> MutexGuard<'_, state::ScdState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Id of the fixture application owned by another user (hidden from lists) for `seed`.
pub fn foreign_app_id(seed: u64) -> String {
    let st = state::ScdState::new(seed, super::clock::MANUAL_EPOCH_NS, false);
    st.apps[state::FOREIGN_APP].id.clone()
}

impl Backend for ServerlessCd {
    fn reset(&self) {
        let fresh =
            state::ScdState::new(self.core.seed, self.core.clock.start_ns(), self.core.demo);
        *self.lock() = fresh;
    }
}

struct ScdStyle;

impl FaultStyle for ScdStyle {
    fn kind(&self) -> &'static str {
        "serverless-cd"
    }

    fn error_response(&self, n: u64, _path: &str, _now_ns: i64) -> Response {
        match n % 3 {
            0 => error(500, "SystemError"),
            1 => html(
                StatusCode::INTERNAL_SERVER_ERROR,
                &express_page("Internal Server Error"),
            ),
            _ => html(
                StatusCode::BAD_GATEWAY,
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Function Compute gateway</center>\r\n</body>\r\n</html>\r\n",
            ),
        }
    }

    fn rate_limited(&self, retry_after: u64) -> Response {
        let mut r = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"success": false, "code": 429, "message": "Too Many Requests"}),
        );
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

pub fn router(scd: Arc<ServerlessCd>) -> Router {
    let layer_state = FaultLayerState {
        core: scd.core.clone(),
        style: Arc::new(ScdStyle),
    };
    Router::new()
        .route(PREFIX, any(handle))
        .route(&format!("{PREFIX}/"), any(handle))
        .route(&format!("{PREFIX}/{{*rest}}"), any(handle))
        .with_state(scd)
        .layer(axum::middleware::from_fn_with_state(
            layer_state,
            fault_middleware,
        ))
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

fn html(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Express's default HTML error page around `<pre>{text}</pre>`.
fn express_page(text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>{text}</pre>\n</body>\n</html>\n"
    )
}

/// Express's 404 for an unmatched route.
pub(crate) fn cannot(method: &Method, path: &str) -> Response {
    html(
        StatusCode::NOT_FOUND,
        &express_page(&format!("Cannot {method} {path}")),
    )
}

/// `{"success": true, "data": …}` (published shape, no `code`).
pub(crate) fn ok(data: Value) -> Response {
    json_response(StatusCode::OK, &json!({"success": true, "data": data}))
}

/// Handled error: HTTP 200 `{"success": false, "code", "message"}` (Jan 2023 shape).
pub(crate) fn error(code: u16, message: &str) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"success": false, "code": code, "message": message}),
    )
}

/// What a handler sees of the request.
pub(crate) struct Ctx {
    pub method: Method,
    /// Path after the mount prefix.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// The JSON body (`{}` when absent or not JSON, like body-parser).
    pub body: Value,
    pub now: i64,
}

impl Ctx {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty string field of the body (numbers are taken as their text).
    pub fn field(&self, name: &str) -> Option<String> {
        match self.body.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

async fn handle(State(scd): State<Arc<ServerlessCd>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let body = if is_json {
        serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| json!({}))
    } else {
        json!({})
    };
    let full = parts.uri.path();
    let path = full.strip_prefix(PREFIX).unwrap_or(full);
    let path = if path.is_empty() { "/" } else { path };
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let ctx = Ctx {
        method: parts.method.clone(),
        path: path.to_string(),
        query,
        headers: parts.headers,
        body,
        now: scd.core.clock.now_ns(),
    };
    handlers::dispatch(&scd, &ctx)
}
