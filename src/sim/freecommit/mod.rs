//! Free Commit simulator (`shared/api/freecommit.md`), mounted at `/freecommit`
//! and again at `/freecommit/api-free-commit`.
//!
//! Routing is done by hand (one catch-all axum route per mount) so that the
//! Spring behaviours are exact: the JWT filter runs before the security rules,
//! which run before dispatch; `{id}` segments are digit-only; a trailing slash
//! is a 404 `No static resource …`; a known path with another method is a 405.

mod admin;
mod auth;
mod cors;
pub mod demo;
mod engine;
mod entities;
mod fixtures;
mod handlers;
mod pagination;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::clock::{NS_PER_SEC, fmt_spring};
use super::decode::{body_bytes, content_type_has};
use super::layer::{FaultLayerState, FaultStyle, fault_middleware};
use super::mount::{Store, catch_all};
use super::reply::{self, JSON, with_retry_after};
use super::{Backend, ClockMode, Core};

pub use fixtures::{HUGE_LOG_LINES, HUGE_LOG_PROJECT_ID, PROJECT_NAMES};

/// Route prefix of this backend.
pub(crate) const PREFIX: &str = "/freecommit";
/// Second mount, the reverse-proxy style base URL.
pub(crate) const PROXY_PREFIX: &str = "/api-free-commit";
/// Every mount this backend serves (`shipdeck simulate` prints each).
pub const MOUNTS: [&str; 2] = [PREFIX, "/freecommit/api-free-commit"];

/// The Free Commit backend: fixtures, queue, running builds.
pub struct FreeCommit {
    core: Arc<Core>,
    state: Store<engine::FcState>,
}

impl FreeCommit {
    pub fn new(core: Arc<Core>) -> Self {
        FreeCommit {
            state: Store::new(&core, Self::fresh_state),
            core,
        }
    }

    fn fresh_state(core: &Core) -> engine::FcState {
        // Kill of a running build takes 1.5 s before the 204. With a real clock
        // the handler waits 1.5 s and the build ends 1.5 s after the kill; with
        // a manual clock nothing may block on real time, so the kill is applied
        // and completed at the current simulated instant and the 204 is
        // immediate.
        let kill_delay = match core.clock.mode() {
            ClockMode::Real => engine::KILL_DELAY_NS,
            ClockMode::Manual => 0,
        };
        let start = core.clock.start_ns();
        let mut st = fixtures::build_state(core.seed, start, core.demo, kill_delay);
        // Align the scheduler grid on the simulator start.
        let now = core.clock.now_ns();
        let ticks = (now - start).max(0) / engine::TICK_NS;
        st.last_tick = start + ticks * engine::TICK_NS;
        let demos = (now - start).max(0) / engine::DEMO_LAUNCH_EVERY_NS;
        st.next_demo = start + (demos + 1) * engine::DEMO_LAUNCH_EVERY_NS;
        st
    }

    fn lock(&self) -> MutexGuard<'_, engine::FcState> {
        self.state.lock()
    }
}

impl Backend for FreeCommit {
    fn reset(&self) {
        self.state.reset(&self.core);
    }
}

struct FcStyle;

impl FaultStyle for FcStyle {
    fn kind(&self) -> &'static str {
        "freecommit"
    }

    fn error_response(&self, n: u64, path: &str, now_ns: i64) -> Response {
        match n % 3 {
            0 => spring_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                app_path(path),
                now_ns,
            ),
            1 => text(StatusCode::BAD_GATEWAY, "Bad Gateway"),
            _ => text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        }
    }

    fn rate_limited(&self, retry_after: u64) -> Response {
        with_retry_after(
            text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
            retry_after,
        )
    }
}

/// The router with both mounts and the fault layer.
pub fn router(fc: Arc<FreeCommit>) -> Router {
    let layer_state = FaultLayerState {
        core: fc.core.clone(),
        style: Arc::new(FcStyle),
    };
    catch_all(PREFIX, handle)
        .with_state(fc)
        .layer(axum::middleware::from_fn_with_state(
            layer_state,
            fault_middleware,
        ))
        .layer(axum::middleware::from_fn(cors::cors))
}

/// The path as the application sees it (mount and proxy prefix removed).
fn app_path(full: &str) -> &str {
    let p = full.strip_prefix(PREFIX).unwrap_or(full);
    let p = match p.strip_prefix(PROXY_PREFIX) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => p,
    };
    if p.is_empty() { "/" } else { p }
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response {
    reply::body(status, "text/plain;charset=UTF-8", body.to_string())
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    reply::json(status, JSON, v)
}

/// Spring Boot's default error JSON.
pub(crate) fn spring_error(status: StatusCode, message: &str, path: &str, now: i64) -> Response {
    json_response(
        status,
        &json!({
            "timestamp": fmt_spring(now),
            "status": status.as_u16(),
            "error": status.canonical_reason().unwrap_or(""),
            "message": message,
            "path": path,
        }),
    )
}

pub(crate) use reply::empty;

/// What a handler sees of the request.
pub(crate) struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// Flattened JSON body (`{"build":{"x":1}}` → `build_x`), `None` unless the
    /// content type is JSON and the body parses.
    pub body: Option<serde_json::Map<String, Value>>,
    /// Raw request body (webhook signatures).
    pub raw: axum::body::Bytes,
    pub now: i64,
}

impl Ctx {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.body.as_ref()?.get(name).filter(|v| !v.is_null())
    }

    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        spring_error(status, message, &self.path, self.now)
    }
}

fn flatten(v: Value) -> Option<serde_json::Map<String, Value>> {
    let Value::Object(obj) = v else { return None };
    let mut out = serde_json::Map::new();
    for (k, v) in obj {
        if let Value::Object(inner) = &v {
            for (k2, v2) in inner {
                out.insert(format!("{k}_{k2}"), v2.clone());
            }
        }
        out.entry(k).or_insert(v);
    }
    Some(out)
}

async fn handle(State(fc): State<Arc<FreeCommit>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = body_bytes(body, 32 << 20).await;
    let body = if content_type_has(&parts.headers, "application/json") {
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(flatten)
    } else {
        None
    };
    let ctx = Ctx {
        method: parts.method.clone(),
        path: app_path(parts.uri.path()).to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        raw: bytes,
        now: fc.core.clock.now_ns(),
    };
    let (resp, wait) = handlers::dispatch(&fc, &ctx);
    if let Some(ns) = wait {
        tokio::time::sleep(std::time::Duration::from_nanos(ns.max(0) as u64)).await;
    }
    resp
}

/// Seconds since the epoch of a simulated instant.
pub(crate) fn secs(ns: i64) -> i64 {
    ns.div_euclid(NS_PER_SEC)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_proxy_mount_is_the_prefix_plus_the_proxy_path() {
        assert_eq!(
            super::MOUNTS[1],
            format!("{}{}", super::PREFIX, super::PROXY_PREFIX)
        );
        assert_eq!(
            super::app_path("/freecommit/api-free-commit/auth/token"),
            "/auth/token"
        );
    }
}
