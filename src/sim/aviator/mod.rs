//! Aviator Releases simulator (`shared/api/aviator.md` §9), mounted at `/aviator`.
//!
//! Routes (all under `/api/releases/`, names percent-decoded per segment):
//! `POST {P}/releases/<rc>`, `GET|POST|PATCH {E}/deployments`, `POST {E}/rollback`.
//! Anything else is 404 `{"error": "Not found"}`. Static Bearer tokens; the
//! viewer token gets 403 on every write. Time comes from the shared clock and
//! is applied lazily before each request.

pub mod demo;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};

use super::{Backend, Core};

pub use state::{CATALOG, EnvSpec, HEALTH_CHECK_FAILED, ProjectSpec, STATUSES, fmt_time, parse_rc};

/// Route prefix of this backend.
pub const PREFIX: &str = "/aviator";

/// User access token: rows it creates get `actor` `alice@acme.test`.
pub const TOKEN_ALICE: &str = "av_uat_demo_alice";
/// Account API token: `actor` null.
pub const TOKEN_ACCOUNT: &str = "av_api_demo";
/// Read-only user token: 403 on every write.
pub const TOKEN_VIEWER: &str = "av_uat_demo_viewer";

/// The Aviator backend: release projects, RCs, deployments.
pub struct Aviator {
    core: Arc<Core>,
    state: Mutex<state::AvState>,
}

impl Aviator {
    pub fn new(core: Arc<Core>) -> Self {
        let state = Self::fresh_state(&core);
        Aviator {
            core,
            state: Mutex::new(state),
        }
    }

    fn fresh_state(core: &Core) -> state::AvState {
        let mut st = state::AvState::new(core.seed, core.clock.start_ns(), core.demo);
        st.advance(core.clock.now_ns());
        st
    }

    fn lock(&self) -> MutexGuard<'_, state::AvState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Backend for Aviator {
    fn reset(&self) {
        let fresh = Self::fresh_state(&self.core);
        *self.lock() = fresh;
    }
}

/// The router with the fault layer.
pub fn router(av: Arc<Aviator>) -> Router {
    Router::new()
        .route(PREFIX, any(handle))
        .route(&format!("{PREFIX}/{{*rest}}"), any(handle))
        .with_state(av.clone())
        .layer(axum::middleware::from_fn_with_state(av, fault_middleware))
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn error(status: u16, message: &str) -> Response {
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &json!({ "error": message }),
    )
}

/// A success with an empty body (create, deploy, PATCH).
fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

enum Route {
    Release { project: String, version: String },
    Deployments { project: String, env: String },
    Rollback { project: String, env: String },
}

fn route(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    let d = |i: usize| percent_decode(segs[i]);
    match segs.as_slice() {
        ["api", "releases", _, "releases", _] => Some(Route::Release {
            project: d(2),
            version: d(4),
        }),
        ["api", "releases", _, "environments", _, "deployments"] => Some(Route::Deployments {
            project: d(2),
            env: d(4),
        }),
        ["api", "releases", _, "environments", _, "rollback"] => Some(Route::Rollback {
            project: d(2),
            env: d(4),
        }),
        _ => None,
    }
}

/// `(actor, may write)` of a token.
fn who(token: &str) -> Option<(Option<&'static str>, bool)> {
    match token {
        TOKEN_ALICE => Some((Some("alice@acme.test"), true)),
        TOKEN_ACCOUNT => Some((None, true)),
        TOKEN_VIEWER => Some((Some("viewer@acme.test"), false)),
        _ => None,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, tok) = h.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim())
}

/// `page`/`per_page`: default 1/10, `per_page` clamped to 100, < 1 or not an
/// integer → `None` (400).
fn pagination(query: Option<&str>) -> Option<(usize, usize)> {
    let (mut page, mut per_page) = (1i64, 10i64);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(&v.replace('+', " "));
        match k {
            "page" => page = v.trim().parse().ok()?,
            "per_page" => per_page = v.trim().parse().ok()?,
            _ => {}
        }
    }
    if page < 1 || per_page < 1 {
        return None;
    }
    Some((page as usize, per_page.min(100) as usize))
}

async fn handle(State(av): State<Arc<Aviator>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or("");
    let Some(route) = route(path) else {
        return error(404, "Not found");
    };
    let method = if parts.method == Method::HEAD {
        Method::GET
    } else {
        parts.method.clone()
    };
    let allowed: &[Method] = match route {
        Route::Deployments { .. } => &[Method::GET, Method::POST, Method::PATCH],
        _ => &[Method::POST],
    };
    if !allowed.contains(&method) {
        let mut r = error(405, "Method not allowed");
        let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
            r.headers_mut().insert(header::ALLOW, v);
        }
        return r;
    }

    let now = av.core.clock.now_ns();
    let revoked = av
        .core
        .faults_for("aviator")
        .expire_tokens_at
        .is_some_and(|d| now >= av.core.clock.start_ns() + d.as_nanos() as i64);
    let Some((actor, may_write)) = bearer(&parts.headers).and_then(who).filter(|_| !revoked) else {
        return error(401, "Unauthorized");
    };
    let write = method != Method::GET;
    if write && !may_write {
        return error(403, "Forbidden");
    }
    let body: Map<String, Value> = if !write || bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => m,
            _ => return error(400, "Invalid JSON body"),
        }
    };
    let str_field = |k: &str| body.get(k).and_then(Value::as_str);
    let bool_field = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);

    let mut st = av.lock();
    st.advance(now);
    let result: Result<Response, state::Failure> = (|| match &route {
        Route::Release { project, version } => {
            let p = st.project(project)?;
            st.create_release(
                p,
                version,
                str_field("repo"),
                str_field("commit"),
                bool_field("trigger_build_workflow"),
                now,
            )?;
            Ok(empty(StatusCode::CREATED))
        }
        Route::Deployments { project, env } => {
            let p = st.project(project)?;
            st.env(p, env)?;
            if method == Method::GET {
                let (page, per_page) =
                    pagination(parts.uri.query()).ok_or((400, "Invalid pagination parameters"))?;
                let rows: Vec<Value> = st
                    .history(p, env)
                    .into_iter()
                    .skip((page - 1).saturating_mul(per_page))
                    .take(per_page)
                    .map(|i| st.deployments[i].to_json())
                    .collect();
                Ok(json_response(StatusCode::OK, &Value::Array(rows)))
            } else if method == Method::POST {
                st.deploy(p, env, str_field("release_candidate_version"), actor, now)?;
                Ok(empty(StatusCode::CREATED))
            } else {
                st.patch(
                    p,
                    env,
                    str_field("release_candidate_version"),
                    str_field("status"),
                    actor,
                    now,
                )?;
                Ok(empty(StatusCode::OK))
            }
        }
        Route::Rollback { project, env } => {
            let p = st.project(project)?;
            st.env(p, env)?;
            let row = st.rollback(p, env, bool_field("force"), actor, now)?;
            Ok(json_response(StatusCode::CREATED, &row))
        }
    })();
    match result {
        Ok(r) => r,
        Err((status, message)) => error(status, message),
    }
}

/// A body that fails before producing any byte: hyper drops the connection
/// without a response head (a reset, as the client sees it).
fn reset_body() -> Body {
    Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    }))
}

const GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

/// The fault layer in Aviator's style (contract §9, fault table). Same draws
/// and order as the shared layer; `malformed_rate` either cuts the body or,
/// for a non-empty list, drops `status` from one item.
async fn fault_middleware(State(av): State<Arc<Aviator>>, req: Request, next: Next) -> Response {
    let core = &av.core;
    let faults = core.faults_for("aviator");
    let roll = |rate: Option<f64>| rate.is_some_and(|r| r > 0.0 && core.fault_draw() < r);

    if roll(faults.reset_rate) {
        // The request is read (and, for a write, applied) before the socket closes:
        // a POST deployment may exist although the client saw no answer.
        let resp = next.run(req).await;
        let _ = axum::body::to_bytes(resp.into_body(), 16 << 20).await;
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
        let mut r = error(429, "Rate limit exceeded");
        let secs = faults.retry_after.unwrap_or(2);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    if roll(faults.error_rate) {
        return if core.next_error_serial() % 2 == 0 {
            error(500, "Internal server error")
        } else {
            (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                GATEWAY_PAGE,
            )
                .into_response()
        };
    }
    let malformed = roll(faults.malformed_rate);
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !malformed || !resp.status().is_success() || !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let variant = core.fault_draw();
    let body: Bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(mut items)) if !items.is_empty() && variant < 0.5 => {
            let i = ((variant * 2.0 * items.len() as f64) as usize).min(items.len() - 1);
            if let Some(obj) = items[i].as_object_mut() {
                obj.remove("status");
            }
            Bytes::from(Value::Array(items).to_string())
        }
        _ => {
            let cut = if bytes.len() > 1 {
                1 + (core.fault_draw() * (bytes.len() - 1) as f64) as usize
            } else {
                0
            };
            bytes.slice(..cut.min(bytes.len().saturating_sub(1)))
        }
    };
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from_str(&body.len().to_string()).unwrap_or(HeaderValue::from_static("0")),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_decode_each_segment() {
        match route("/api/releases/data%20pipeline/environments/staging/deployments") {
            Some(Route::Deployments { project, env }) => {
                assert_eq!(project, "data pipeline");
                assert_eq!(env, "staging");
            }
            _ => panic!("not routed"),
        }
        assert!(route("/api/releases/x/environments/y/deployments/").is_none());
        assert!(route("/graphql").is_none());
        assert!(route("/api/v1/sync-build-github-action").is_none());
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%"), "A%");
    }

    #[test]
    fn pagination_rules() {
        assert_eq!(pagination(None), Some((1, 10)));
        assert_eq!(pagination(Some("page=2&per_page=500")), Some((2, 100)));
        assert_eq!(pagination(Some("page=0")), None);
        assert_eq!(pagination(Some("per_page=0")), None);
        assert_eq!(pagination(Some("page=x")), None);
        assert_eq!(pagination(Some("page=")), None);
        assert_eq!(pagination(Some("per_page=1.5")), None);
    }
}
