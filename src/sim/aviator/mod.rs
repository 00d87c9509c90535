//! Aviator Releases simulator (`shared/api/aviator.md` §9), mounted at `/aviator`.
//!
//! Routes (all under `/api/releases/`, names percent-decoded per segment):
//! `POST {P}/releases/<rc>`, `GET|POST|PATCH {E}/deployments`, `POST {E}/rollback`.
//! Anything else is 404 `{"error": "Not found"}`. Static Bearer tokens; the
//! viewer token gets 403 on every write. Time comes from the shared clock and
//! is applied lazily before each request.

pub mod demo;
mod state;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::decode::{bearer, body_bytes, percent_decode, query_pairs};
use super::layer::{Dice, is_json, rewrite_body, truncate};
use super::mount::{Store, catch_all};
use super::reply::{self, JSON, dropped, empty, gateway_page, with_retry_after};
use super::{Backend, Core, paging};

pub use state::{CATALOG, EnvSpec, HEALTH_CHECK_FAILED, ProjectSpec, STATUSES, fmt_time, parse_rc};

/// Route prefix of this backend.
pub(crate) const PREFIX: &str = "/aviator";

/// User access token: rows it creates get `actor` `alice@acme.test`.
pub const TOKEN_ALICE: &str = "av_uat_demo_alice";
/// Account API token: `actor` null.
pub(crate) const TOKEN_ACCOUNT: &str = "av_api_demo";
/// Read-only user token: 403 on every write.
pub(crate) const TOKEN_VIEWER: &str = "av_uat_demo_viewer";

/// The Aviator backend: release projects, RCs, deployments.
pub struct Aviator {
    core: Arc<Core>,
    state: Store<state::AvState>,
}

impl Aviator {
    pub fn new(core: Arc<Core>) -> Self {
        Aviator {
            state: Store::new(&core, Self::fresh_state),
            core,
        }
    }

    fn fresh_state(core: &Core) -> state::AvState {
        let mut st = state::AvState::new(core.seed, core.clock.start_ns(), core.demo);
        st.advance(core.clock.now_ns());
        st
    }

    fn lock(&self) -> MutexGuard<'_, state::AvState> {
        self.state.lock()
    }
}

impl Backend for Aviator {
    fn reset(&self) {
        self.state.reset(&self.core);
    }
}

/// The router with the fault layer.
pub fn router(av: Arc<Aviator>) -> Router {
    catch_all(PREFIX, handle)
        .with_state(av.clone())
        .layer(axum::middleware::from_fn_with_state(av, fault_middleware))
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    reply::json(status, JSON, v)
}

fn error(status: u16, message: &str) -> Response {
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &json!({ "error": message }),
    )
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

/// `page`/`per_page`: default 1/10, `per_page` clamped to 100, < 1 or not an
/// integer → `None` (400).
fn pagination(query: Option<&str>) -> Option<(usize, usize)> {
    let (mut page, mut per_page) = (1i64, 10i64);
    for (k, v) in query_pairs(query) {
        match k.as_str() {
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
    let bytes = body_bytes(body, 1 << 20).await;
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
    let revoked = av.core.token_cut("aviator").is_some_and(|cut| now >= cut);
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
                let rows: Vec<Value> = paging::page(st.history(p, env), page, per_page)
                    .into_iter()
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

/// The fault layer in Aviator's style (contract §9, fault table). Same draws
/// and order as the shared layer; `malformed_rate` either cuts the body or,
/// for a non-empty list, drops `status` from one item.
async fn fault_middleware(State(av): State<Arc<Aviator>>, req: Request, next: Next) -> Response {
    let dice = Dice::new(&av.core, "aviator");

    if dice.roll(dice.faults.reset_rate) {
        // The request is read (and, for a write, applied) before the socket closes:
        // a POST deployment may exist although the client saw no answer.
        let resp = next.run(req).await;
        let _ = body_bytes(resp.into_body(), 16 << 20).await;
        return dropped();
    }
    dice.wait(true).await;
    if dice.roll(dice.faults.rate_limit) {
        return with_retry_after(error(429, "Rate limit exceeded"), dice.retry_after());
    }
    if dice.roll(dice.faults.error_rate) {
        return if av.core.next_error_serial() % 2 == 0 {
            error(500, "Internal server error")
        } else {
            reply::body(
                StatusCode::BAD_GATEWAY,
                "text/html",
                gateway_page("502 Bad Gateway", None),
            )
        };
    }
    let malformed = dice.roll(dice.faults.malformed_rate);
    let resp = next.run(req).await;
    if !malformed || !resp.status().is_success() || !is_json(&resp) {
        return resp;
    }
    let variant = dice.draw();
    let bad = |bytes: Bytes| match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(mut items)) if !items.is_empty() && variant < 0.5 => {
            let i = ((variant * 2.0 * items.len() as f64) as usize).min(items.len() - 1);
            if let Some(obj) = items.get_mut(i).and_then(Value::as_object_mut) {
                obj.remove("status");
            }
            Bytes::from(Value::Array(items).to_string())
        }
        _ => truncate(&bytes, || dice.draw()),
    };
    rewrite_body(resp, bad)
        .await
        .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
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
