//! Candor simulator (`shared/api/candor.md`, §9 decisions): the dashboard at `/candor` and its
//! one runner at `/candor-runner`. The dashboard runs its pipelines through the runner's own
//! engine (in process), exactly as in §7: a trigger makes a run id, sets the running flag and
//! starts a runner run; the run record appears when the runner's timeline ends.
//!
//! Routing is by hand (one catch-all per mount) so that Express's behaviours are exact: route
//! misses answer the `Cannot GET /path` page, routing is not strict (`/api/pipelines/` is the
//! list), bodies are Express's status phrases, and the log and archive routes carry no
//! `Content-Type` (their 404 sentences come as `text/html`). What the real server does in §11
//! is followed: a non-numeric pipeline id crashes the dashboard (the connection closes), the
//! `file` of an archive is decoded twice (a lone `%` crashes it), the runner checks no token,
//! the login cookie has `Expires` and no `Max-Age`.
//!
//! Extra control route (never faulted, never used by a client): `GET`/`PUT
//! /__sim/candor/options` with `{"trigger_auth": "cookie" | "token", "wiki_routes": bool,
//! "runner_auth": "none" | "bearer"}`; `POST /__sim/reset` restores the defaults.

mod dashboard;
pub mod demo;
mod runner;
pub mod runner_engine;
pub mod state;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::decode::{body_bytes, content_type_has, query_pairs};
use super::layer::{Dice, drain, is_json, rewrite_body, truncate};
use super::mount::{Store, catch_all};
use super::reply::{self, JSON_UTF8, dropped, express_error_page, with_retry_after};
use super::{Backend, Core, FaultSet};

pub(crate) use super::decode::percent_decode;

pub use state::{DELETED_LOG_PIPELINE, RUNNER_TOKEN};

/// Route prefix of the dashboard.
pub(crate) const PREFIX: &str = "/candor";
/// Route prefix of the runner.
pub(crate) const RUNNER_PREFIX: &str = "/candor-runner";
/// Fault scope of both.
const KIND: &str = "candor";

pub struct Candor {
    core: Arc<Core>,
    state: Store<state::State>,
}

impl Candor {
    pub fn new(core: Arc<Core>) -> Self {
        Candor {
            state: Store::new(&core, Self::fresh),
            core,
        }
    }

    fn fresh(core: &Core) -> state::State {
        let start = core.clock.start_ns();
        let mut st = state::State::new(core.seed, start, core.demo);
        // Align the demo's trigger grid on the simulator start.
        let now = core.clock.now_ns();
        let done = (now - start).max(0) / state::DEMO_TRIGGER_EVERY_NS;
        st.next_demo = start + (done + 1) * state::DEMO_TRIGGER_EVERY_NS;
        st
    }

    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock()
    }

    fn faults(&self) -> FaultSet {
        self.core.faults_for(KIND)
    }

    fn roll(&self, rate: Option<f64>) -> bool {
        rate.is_some_and(|r| r > 0.0 && self.core.fault_draw() < r)
    }

    /// The state with every time-driven change applied up to now.
    fn current(&self) -> (MutexGuard<'_, state::State>, i64) {
        let now = self.core.clock.now_ns();
        let down = self.faults().runner_down.unwrap_or(false);
        let mut st = self.lock();
        st.advance(now, down);
        (st, now)
    }
}

impl Backend for Candor {
    fn reset(&self) {
        self.state.reset(&self.core);
    }
}

/// Both mounts with the fault layer, plus the options control route (not faulted).
pub fn router(c: Arc<Candor>) -> Router {
    let faulted = catch_all(PREFIX, dashboard::handle)
        .merge(catch_all(RUNNER_PREFIX, runner::handle))
        .layer(axum::middleware::from_fn_with_state(c.clone(), faults))
        .with_state(c.clone());
    let control = Router::new()
        .route("/__sim/candor/options", get(get_options).put(put_options))
        .with_state(c);
    faulted.merge(control)
}

fn options_json(o: &state::Options) -> Value {
    json!({
        "trigger_auth": if o.trigger_auth_token_only { "token" } else { "cookie" },
        "wiki_routes": o.wiki_routes,
        "runner_auth": if o.runner_checks_token { "bearer" } else { "none" },
    })
}

async fn get_options(State(c): State<Arc<Candor>>) -> Response {
    json_response(StatusCode::OK, &options_json(&c.lock().options))
}

async fn put_options(State(c): State<Arc<Candor>>, body: Bytes) -> Response {
    let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(&body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "expected {\"trigger_auth\": \"cookie\"|\"token\", \"wiki_routes\": bool, \"runner_auth\": \"none\"|\"bearer\"}"}),
        );
    };
    let mut st = c.lock();
    let mut o = st.options.clone();
    for (k, v) in &v {
        match (k.as_str(), v) {
            ("trigger_auth", Value::String(s)) if s == "token" || s == "cookie" => {
                o.trigger_auth_token_only = s == "token";
            }
            ("wiki_routes", Value::Bool(b)) => o.wiki_routes = *b,
            ("runner_auth", Value::String(s)) if s == "none" || s == "bearer" => {
                o.runner_checks_token = s == "bearer";
            }
            _ => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": format!("bad option `{k}`: {v}")}),
                );
            }
        }
    }
    st.options = o;
    json_response(StatusCode::OK, &options_json(&st.options))
}

/// Marks a `POST /run` whose connection is to be dropped once the run has started.
#[derive(Clone, Copy)]
struct ResetAfterStart;

/// What a crashed Node process gives the request that crashed it: the connection closes.
pub(crate) fn crash(why: &str) -> Response {
    tracing::info!(target: "shipdeck::sim", "candor: the process would crash here: {why}");
    dropped()
}

fn is_run_route(method: &Method, path: &str) -> bool {
    method == Method::POST && path.trim_end_matches('/') == format!("{RUNNER_PREFIX}/run")
}

fn is_dashboard_log(path: &str) -> bool {
    path.starts_with(&format!("{PREFIX}/api/runs/")) && path.ends_with("/log")
}

/// The fault table of §9: like the shared layer, with Candor's forms (the log route's 200
/// sentinel, `/run` exempt from hangs and still started on a reset).
async fn faults(State(c): State<Arc<Candor>>, mut req: Request, next: Next) -> Response {
    let dice = Dice::new(&c.core, KIND);
    let path = req.uri().path().to_string();
    let run = is_run_route(req.method(), &path);
    if dice.roll(dice.faults.reset_rate) {
        if run {
            req.extensions_mut().insert(ResetAfterStart);
            return next.run(req).await;
        }
        drain(req).await;
        return dropped();
    }
    dice.wait(!run).await;
    if dice.roll(dice.faults.rate_limit) {
        return with_retry_after(
            text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
            dice.retry_after(),
        );
    }
    if dice.roll(dice.faults.error_rate) {
        if is_dashboard_log(&path) {
            return raw(StatusCode::OK, dashboard::LOG_ERROR.as_bytes().to_vec());
        }
        return text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    let malformed = dice.roll(dice.faults.malformed_rate);
    let resp = next.run(req).await;
    if !malformed || !resp.status().is_success() || !is_json(&resp) {
        return resp;
    }
    rewrite_body(resp, |b| truncate(&b, || dice.draw()))
        .await
        .unwrap_or_else(|| text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// Express's `res.sendStatus`/`res.send(text)`: `text/plain; charset=utf-8`.
pub(crate) fn text(status: StatusCode, body: &str) -> Response {
    reply::body(status, "text/plain; charset=utf-8", body.to_string())
}

/// Express's phrase for a status (`sendStatus`).
pub(crate) fn phrase(status: StatusCode) -> Response {
    text(status, status.canonical_reason().unwrap_or(""))
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    reply::json(status, JSON_UTF8, v)
}

/// A piped body with no `Content-Type` at all (dashboard log and archive replies).
pub(crate) fn raw(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r
}

/// Express's 404 page for a route nobody registered.
pub(crate) fn route_miss(method: &Method, path: &str) -> Response {
    html(
        StatusCode::NOT_FOUND,
        &format!("Cannot {} {}", method.as_str(), escape(path)),
    )
}

/// Express's default HTML error page with `message` in a `<pre>`.
pub(crate) fn html(status: StatusCode, message: &str) -> Response {
    reply::body(
        status,
        "text/html; charset=utf-8",
        express_error_page(message),
    )
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// JavaScript's `decodeURIComponent`: every `%` starts a valid escape and the bytes are UTF-8,
/// else `None` (where JavaScript throws a `URIError`).
pub(crate) fn decode_uri_component(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Everything a handler needs of a request, read at once.
pub(crate) struct Req {
    pub method: Method,
    /// Path as the app sees it (mount prefix removed), still percent-encoded.
    pub path: String,
    pub query: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub body: Bytes,
    pub reset_after_start: bool,
}

impl Req {
    async fn read(req: Request, prefix: &str) -> Req {
        let reset_after_start = req.extensions().get::<ResetAfterStart>().is_some();
        let (parts, body) = req.into_parts();
        let body = body_bytes(body, 32 << 20).await;
        let p = parts.uri.path();
        let p = p.strip_prefix(prefix).unwrap_or(p);
        Req {
            method: parts.method,
            path: if p.is_empty() {
                "/".into()
            } else {
                p.to_string()
            },
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers,
            body,
            reset_after_start,
        }
    }

    /// The path's segments; one trailing slash is ignored (Express routing is not strict:
    /// `/api/pipelines/` is `/api/pipelines`).
    pub(crate) fn segments(&self) -> Vec<&str> {
        let p = self.path.trim_start_matches('/');
        let p = p.strip_suffix('/').unwrap_or(p);
        p.split('/').collect()
    }

    pub(crate) fn is_json(&self) -> bool {
        content_type_has(&self.headers, "json")
    }

    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        query_pairs(self.query.as_deref())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
