//! nullplatform CI API simulator (`shared/api/nullplatform.md`), mounted at `/nullplatform`.
//!
//! Routing is by hand (one catch-all route) so that unknown paths are a JSON 404 and known
//! paths with another method a 405 with an empty body (§9 #4). Faults use this backend's own
//! middleware: like the shared layer, plus the two nullplatform-specific forms (a malformed
//! array element with `id` as a string, and a truncated parameter list).

pub mod demo;
mod handlers;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use super::{Backend, Core};

pub use state::{API_KEYS, APP_NAMES, BUILD_PARAMS};

/// Route prefix of this backend.
pub const PREFIX: &str = "/nullplatform";
const KIND: &str = "nullplatform";

pub struct Nullplatform {
    core: Arc<Core>,
    state: Mutex<state::NpState>,
}

impl Nullplatform {
    pub fn new(core: Arc<Core>) -> Self {
        let st = Self::fresh(&core);
        Nullplatform {
            core,
            state: Mutex::new(st),
        }
    }

    fn fresh(core: &Core) -> state::NpState {
        state::NpState::new(
            core.seed,
            core.clock.start_ns(),
            core.clock.now_ns(),
            core.demo,
        )
    }

    fn lock(&self) -> MutexGuard<'_, state::NpState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Backend for Nullplatform {
    fn reset(&self) {
        let fresh = Self::fresh(&self.core);
        *self.lock() = fresh;
    }
}

pub fn router(np: Arc<Nullplatform>) -> Router {
    Router::new()
        .route(PREFIX, any(handle))
        .route(&format!("{PREFIX}/"), any(handle))
        .route(&format!("{PREFIX}/{{*rest}}"), any(handle))
        .layer(axum::middleware::from_fn_with_state(
            np.clone(),
            fault_middleware,
        ))
        .with_state(np)
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// `{"id": <HTTP status>, "message": "<text>"}` (§9 #3).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"id": status.as_u16(), "message": message}))
}

fn html(status: StatusCode, title: &str) -> Response {
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// A body that fails before its first byte: the connection is dropped without a response.
fn reset_body() -> Body {
    Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    }))
}

/// Fault table of §9.
async fn fault_middleware(
    State(np): State<Arc<Nullplatform>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let core = &np.core;
    let faults = core.faults_for(KIND);
    let roll = |rate: Option<f64>| rate.is_some_and(|r| r > 0.0 && core.fault_draw() < r);

    if roll(faults.reset_rate) {
        // The request is read and the socket closed; half the time the request was applied
        // first (a `POST /build` may or may not exist afterwards).
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 16 << 20)
            .await
            .unwrap_or_default();
        if core.fault_draw() < 0.5 {
            let _ = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
        return Response::new(reset_body());
    }
    if roll(faults.hang_rate) {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let mut delay = faults.latency.unwrap_or_default();
    if let Some(j) = faults.jitter.filter(|j| !j.is_zero()) {
        delay += j.mul_f64(core.fault_draw());
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if roll(faults.rate_limit) {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        let secs = faults.retry_after.unwrap_or(2);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    if roll(faults.error_rate) {
        return match core.next_error_serial() % 3 {
            0 => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
            1 => html(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
            _ => html(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Temporarily Unavailable",
            ),
        };
    }
    let malformed = roll(faults.malformed_rate);
    let resp = next.run(req).await;
    if !malformed || !resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let body = malform(&bytes, core.fault_draw());
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from_str(&body.len().to_string()).unwrap_or(HeaderValue::from_static("0")),
    );
    Response::from_parts(parts, Body::from(body))
}

/// A JSON body made bad: when `draw < 0.5` and the body holds an array of objects with a
/// numeric `id` (bare, or as `results`), one element gets its `id` as a string; otherwise the
/// document is cut in the middle.
fn malform(bytes: &Bytes, draw: f64) -> Bytes {
    if draw < 0.5
        && let Ok(mut v) = serde_json::from_slice::<Value>(bytes)
    {
        let arr = match &mut v {
            Value::Array(a) => Some(a),
            Value::Object(o) => o.get_mut("results").and_then(Value::as_array_mut),
            _ => None,
        };
        if let Some(arr) = arr {
            let n = arr.len();
            if n > 0 {
                let i = ((draw * 2.0) * n as f64) as usize % n;
                if let Some(obj) = arr[i].as_object_mut()
                    && let Some(id) = obj.get("id").and_then(Value::as_i64)
                {
                    obj.insert("id".into(), Value::String(format!("{id}")));
                    return Bytes::from(v.to_string());
                }
            }
        }
    }
    let len = bytes.len();
    if len <= 1 {
        return Bytes::new();
    }
    let cut = 1 + ((draw * (len - 1) as f64) as usize).min(len - 2);
    bytes.slice(..cut)
}

async fn handle(State(np): State<Arc<Nullplatform>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();
    let full = parts.uri.path();
    let path = full.strip_prefix(PREFIX).unwrap_or(full);
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let ctx = handlers::Ctx {
        method: parts.method.clone(),
        path: if path.is_empty() { "/" } else { path }.to_string(),
        query,
        auth: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_slice::<Value>(&bytes).ok(),
        now: np.core.clock.now_ns(),
    };
    handlers::dispatch(&np, &ctx)
}
