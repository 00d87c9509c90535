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
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::decode::{body_bytes, content_type_has, query_pairs};
use super::layer::{FaultLayerState, FaultStyle, fault_middleware};
use super::mount::{Store, catch_all};
use super::reply::{dropped, gateway_page, with_retry_after};
use super::{Backend, Core};
use reply::{Answer, error_envelope, express_error_page, html, json_response};

pub use reply::{NEED_LOGIN, TOKEN_EXPIRED, TOKEN_UNKNOWN};
pub use state::{DEMO_TOKEN, DEMO_USER, EXPIRED_TOKEN};

/// Route prefix of this backend.
pub(crate) const PREFIX: &str = "/serverless-cd";
/// The route prefix clients use (documented era).
pub const ROUTE_PREFIX: &str = "/api/flow";
/// How long a request the real server never answers is held before the connection is dropped:
/// longer than any client timeout, short enough not to pile up (§11 R5, R17).
pub(crate) const HOLD: Duration = Duration::from_secs(30);

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
    pub(crate) fn describe(self) -> &'static str {
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
    state: Store<state::ScdState>,
    era: AtomicU8,
}

impl ServerlessCd {
    pub fn new(core: Arc<Core>, era: Era) -> Self {
        let s = ServerlessCd {
            state: Store::new(&core, Self::fresh),
            core,
            era: AtomicU8::new(0),
        };
        s.set_era(era);
        s
    }

    fn fresh(core: &Core) -> state::ScdState {
        state::ScdState::new(core.seed, core.clock.start_ns(), core.demo)
    }

    fn lock(&self) -> MutexGuard<'_, state::ScdState> {
        self.state.lock()
    }

    pub fn era(&self) -> Era {
        match self.era.load(Ordering::Relaxed) {
            1 => Era::Jan,
            _ => Era::Nov,
        }
    }

    pub(crate) fn set_era(&self, era: Era) {
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
        self.state.reset(&self.core);
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
                &gateway_page("502 Bad Gateway", Some("Function Compute gateway")),
            ),
        }
    }

    fn rate_limited(&self, retry_after: u64) -> Response {
        let mut body = json!({"success": false, "message": "Too Many Requests"});
        if self.0.era() == Era::Jan {
            body["code"] = json!(429);
        }
        with_retry_after(
            json_response(StatusCode::TOO_MANY_REQUESTS, &body),
            retry_after,
        )
    }
}

pub fn router(scd: Arc<ServerlessCd>) -> Router {
    let layer_state = FaultLayerState {
        core: scd.core.clone(),
        style: Arc::new(ScdStyle(scd.clone())),
    };
    catch_all(PREFIX, handle)
        .with_state(scd)
        .layer(axum::middleware::from_fn_with_state(
            layer_state,
            fault_middleware,
        ))
}

/// `GET|PUT /__sim/serverless-cd/era` (`{"era": "nov"|"jan"}`): a control route, never faulted.
pub(crate) fn control_router(scd: Arc<ServerlessCd>) -> Router {
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
    let bytes = body_bytes(body, 8 << 20).await;
    let body = if content_type_has(&parts.headers, "json") {
        serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| json!({}))
    } else {
        json!({})
    };
    let full = parts.uri.path();
    let path = full.strip_prefix(PREFIX).unwrap_or(full);
    let path = if path.is_empty() { "/" } else { path };
    let query = query_pairs(parts.uri.query());
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
