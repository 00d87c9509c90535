//! Serverless-cd simulator (`shared/api/serverless-cd.md` §9, as measured in §11), mounted at
//! `/serverless-cd`, behaving like the real admin server of one era: Nov 2022 (`23a3093`) or
//! Jan 2023 (`567130d`), chosen by `SimOptions::serverless_cd_era` (`--serverless-cd-era`) and
//! switchable at run time with `PUT /__sim/serverless-cd/era {"era": "jan"}`.
//!
//! The handlers answer under `/api/flow/...` and, like the published curl example, the same
//! handlers under `/api/...`; token routes under `/api/tokens/...`. Unknown routes get the web
//! UI's index page (HTTP 200 `text/html`). How errors look depends on the era (`reply`).

mod auth;
pub mod demo;
mod handlers;
mod reply;
pub mod state;

use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, get};
use serde_json::{Value, json};

use super::layer::{FaultLayerState, FaultStyle, fault_middleware};
use super::{Backend, Core};
use reply::{Answer, error_envelope, express_error_page, html, json_response};

pub use reply::{NEED_LOGIN, TOKEN_EXPIRED, TOKEN_UNKNOWN};
pub use state::{DEMO_TOKEN, DEMO_USER, EXPIRED_TOKEN};

/// Route prefix of this backend.
pub const PREFIX: &str = "/serverless-cd";
/// The route prefix clients use (documented era).
pub const ROUTE_PREFIX: &str = "/api/flow";
/// How long a request the real server never answers is held before the connection is dropped:
/// longer than any client timeout, short enough not to pile up (§11 R5, R17).
pub const HOLD: Duration = Duration::from_secs(30);

/// Which real server the simulator behaves like (§11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Era {
    /// `23a3093` (2022-11-25), closest to the published page.
    #[default]
    Nov,
    /// `567130d` (2023-01-12): numeric codes, `envName`, per-environment application data.
    Jan,
}

impl Era {
    pub const NAMES: [&'static str; 2] = ["nov", "jan"];

    pub fn as_str(self) -> &'static str {
        match self {
            Era::Nov => "nov",
            Era::Jan => "jan",
        }
    }

    /// For people: `nov — the Nov 2022 server, …`.
    pub fn describe(self) -> &'static str {
        match self {
            Era::Nov => "nov — the Nov 2022 server, shapes of the published page",
            Era::Jan => "jan — the Jan 2023 server, environments, envName, code-500 errors",
        }
    }
}

impl std::fmt::Display for Era {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Era {
    type Err = String;

    fn from_str(s: &str) -> Result<Era, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nov" => Ok(Era::Nov),
            "jan" => Ok(Era::Jan),
            other => Err(format!(
                "unknown Serverless-cd era `{other}` (expected nov or jan)"
            )),
        }
    }
}

pub struct ServerlessCd {
    core: Arc<Core>,
    state: Mutex<state::ScdState>,
    era: AtomicU8,
}

impl ServerlessCd {
    pub fn new(core: Arc<Core>, era: Era) -> Self {
        let st = state::ScdState::new(core.seed, core.clock.start_ns(), core.demo);
        let s = ServerlessCd {
            core,
            state: Mutex::new(st),
            era: AtomicU8::new(0),
        };
        s.set_era(era);
        s
    }

    fn lock(&self) -> MutexGuard<'_, state::ScdState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn era(&self) -> Era {
        match self.era.load(Ordering::Relaxed) {
            1 => Era::Jan,
            _ => Era::Nov,
        }
    }

    pub fn set_era(&self, era: Era) {
        self.era.store(u8::from(era == Era::Jan), Ordering::Relaxed);
    }
}

/// Id of the fixture application owned by another user (hidden from lists) for `seed`.
pub fn foreign_app_id(seed: u64) -> String {
    let st = state::ScdState::new(seed, super::clock::MANUAL_EPOCH_NS, false);
    st.apps[state::FOREIGN_APP].id.clone()
}

impl Backend for ServerlessCd {
    /// Back to the fixtures; the era stays what it is.
    fn reset(&self) {
        let fresh =
            state::ScdState::new(self.core.seed, self.core.clock.start_ns(), self.core.demo);
        *self.lock() = fresh;
    }
}

struct ScdStyle(Arc<ServerlessCd>);

impl FaultStyle for ScdStyle {
    fn kind(&self) -> &'static str {
        "serverless-cd"
    }

    fn error_response(&self, n: u64, _path: &str, _now_ns: i64) -> Response {
        match n % 3 {
            // Nov: HTTP 500 JSON without a code; Jan: HTTP 200 code 500.
            0 => error_envelope(
                self.0.era(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "SystemError",
            ),
            1 => html(
                StatusCode::INTERNAL_SERVER_ERROR,
                &express_error_page("Internal Server Error"),
            ),
            _ => html(
                StatusCode::BAD_GATEWAY,
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Function Compute gateway</center>\r\n</body>\r\n</html>\r\n",
            ),
        }
    }

    fn rate_limited(&self, retry_after: u64) -> Response {
        let mut body = json!({"success": false, "message": "Too Many Requests"});
        if self.0.era() == Era::Jan {
            body["code"] = json!(429);
        }
        let mut r = json_response(StatusCode::TOO_MANY_REQUESTS, &body);
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

pub fn router(scd: Arc<ServerlessCd>) -> Router {
    let layer_state = FaultLayerState {
        core: scd.core.clone(),
        style: Arc::new(ScdStyle(scd.clone())),
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

/// `GET|PUT /__sim/serverless-cd/era` (`{"era": "nov"|"jan"}`): a control route, never faulted.
pub fn control_router(scd: Arc<ServerlessCd>) -> Router {
    Router::new()
        .route("/__sim/serverless-cd/era", get(get_era).put(put_era))
        .with_state(scd)
}

async fn get_era(State(scd): State<Arc<ServerlessCd>>) -> Response {
    json_response(StatusCode::OK, &json!({ "era": scd.era().as_str() }))
}

async fn put_era(State(scd): State<Arc<ServerlessCd>>, body: Bytes) -> Response {
    let era = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("era").and_then(Value::as_str).map(Era::from_str));
    match era {
        Some(Ok(e)) => {
            scd.set_era(e);
            get_era(State(scd)).await
        }
        Some(Err(m)) => json_response(StatusCode::BAD_REQUEST, &json!({ "error": m })),
        None => json_response(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "expected {\"era\": \"nov\" | \"jan\"}" }),
        ),
    }
}

/// A body that fails before its first byte: the connection is dropped without an answer.
fn dropped() -> Response {
    Response::new(Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the server never answered",
        ))
    })))
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
    let answer = handlers::dispatch(&scd, &ctx);
    match answer {
        Answer::Now(r) => r,
        Answer::Hold => {
            // Outside every lock: only this request waits.
            tokio::time::sleep(HOLD).await;
            dropped()
        }
    }
}
