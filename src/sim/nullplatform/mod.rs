//! nullplatform CI API simulator (`shared/api/nullplatform.md`), mounted at `/nullplatform`.
//!
//! Routing is by hand (one catch-all route) so that unknown paths are a JSON 404 and known
//! paths with another method a 405 with an empty body (§9 #4). Faults use this backend's own
//! middleware: like the shared layer, plus the two nullplatform-specific forms (a malformed
//! array element with `id` as a string, and a truncated parameter list).

pub mod demo;
mod handlers;
mod state;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::decode::{body_bytes, query_pairs};
use super::layer::{Dice, rewrite_body, truncate};
use super::mount::{Store, catch_all};
use super::reply::{self, JSON, dropped, gateway_page, with_retry_after};
use super::{Backend, Core};

pub use state::{API_KEYS, APP_NAMES, BUILD_PARAMS};

/// Route prefix of this backend.
pub(crate) const PREFIX: &str = "/nullplatform";
const KIND: &str = "nullplatform";

pub struct Nullplatform {
    core: Arc<Core>,
    state: Store<state::NpState>,
}

impl Nullplatform {
    pub fn new(core: Arc<Core>) -> Self {
        Nullplatform {
            state: Store::new(&core, Self::fresh),
            core,
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
        self.state.lock()
    }
}

impl Backend for Nullplatform {
    fn reset(&self) {
        self.state.reset(&self.core);
    }
}

pub fn router(np: Arc<Nullplatform>) -> Router {
    catch_all(PREFIX, handle)
        .layer(axum::middleware::from_fn_with_state(
            np.clone(),
            fault_middleware,
        ))
        .with_state(np)
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    reply::json(status, JSON, v)
}

/// `{"id": <HTTP status>, "message": "<text>"}` (§9 #3).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"id": status.as_u16(), "message": message}))
}

fn html(status: StatusCode, title: &str) -> Response {
    reply::body(status, "text/html", gateway_page(title, None))
}

/// Fault table of §9.
async fn fault_middleware(
    State(np): State<Arc<Nullplatform>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let dice = Dice::new(&np.core, KIND);

    if dice.roll(dice.faults.reset_rate) {
        // The request is read and the socket closed; half the time the request was applied
        // first (a `POST /build` may or may not exist afterwards).
        let (parts, body) = req.into_parts();
        let bytes = body_bytes(body, 16 << 20).await;
        if dice.draw() < 0.5 {
            let _ = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
        return dropped();
    }
    dice.wait(true).await;
    if dice.roll(dice.faults.rate_limit) {
        return with_retry_after(
            error(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            dice.retry_after(),
        );
    }
    if dice.roll(dice.faults.error_rate) {
        return match np.core.next_error_serial() % 3 {
            0 => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
            1 => html(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
            _ => html(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Temporarily Unavailable",
            ),
        };
    }
    let malformed = dice.roll(dice.faults.malformed_rate);
    let resp = next.run(req).await;
    if !malformed || !resp.status().is_success() {
        return resp;
    }
    let draw = dice.draw();
    rewrite_body(resp, |b| malform(&b, draw))
        .await
        .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
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
                if let Some(obj) = arr.get_mut(i).and_then(Value::as_object_mut)
                    && let Some(id) = obj.get("id").and_then(Value::as_i64)
                {
                    obj.insert("id".into(), Value::String(format!("{id}")));
                    return Bytes::from(v.to_string());
                }
            }
        }
    }
    truncate(bytes, || draw)
}

async fn handle(State(np): State<Arc<Nullplatform>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = body_bytes(body, 8 << 20).await;
    let full = parts.uri.path();
    let path = full.strip_prefix(PREFIX).unwrap_or(full);
    let query = query_pairs(parts.uri.query());
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
