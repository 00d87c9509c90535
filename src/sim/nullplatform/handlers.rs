//! Routes of the CI API (§4) plus the optional build reads (§9 #6), with the simulator
//! decisions of §9 as corrected by the real clients (§11): bare arrays from the reads,
//! `successful` accepted before an asset, Azure and GitLab asset bodies.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::state::{API_KEYS, BuildRec, NpState, TOKEN_TTL_NS};
use super::{Nullplatform, error, json_response};
use crate::sim::decode::bearer_of;
use crate::sim::paging;

pub(super) struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub auth: Option<String>,
    /// The body when it parses as JSON.
    pub body: Option<Value>,
    pub now: i64,
}

impl Ctx {
    fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn field(&self, key: &str) -> Option<&Value> {
        self.body.as_ref()?.get(key).filter(|v| !v.is_null())
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }
}

enum Route {
    Login,
    Applications,
    Parameters(String),
    Builds,
    Build(String),
    Asset(String),
    Assets,
}

fn route(method: &Method, path: &str) -> Result<Route, Box<Response>> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let (allowed, r): (&[&str], Option<Route>) = match segs.as_slice() {
        ["login"] => (&["POST"], (m == "POST").then_some(Route::Login)),
        ["application"] => (&["GET"], (m == "GET").then_some(Route::Applications)),
        ["application", id, "parameter"] if !id.is_empty() => (
            &["GET"],
            (m == "GET").then(|| Route::Parameters(id.to_string())),
        ),
        ["build"] => (
            &["GET", "POST"],
            matches!(m, "GET" | "POST").then_some(Route::Builds),
        ),
        ["build", id] if !id.is_empty() => (
            &["GET", "PATCH"],
            matches!(m, "GET" | "PATCH").then(|| Route::Build(id.to_string())),
        ),
        ["build", id, "asset"] if !id.is_empty() => (
            &["POST"],
            (m == "POST").then(|| Route::Asset(id.to_string())),
        ),
        ["asset"] => (&["GET"], (m == "GET").then_some(Route::Assets)),
        _ => return Err(Box::new(error(StatusCode::NOT_FOUND, "Not found"))),
    };
    r.ok_or_else(|| {
        // 405 with an empty body (§9 #4).
        let mut resp = Response::new(axum::body::Body::empty());
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        Box::new(resp)
    })
}

fn ok(v: &Value) -> Response {
    json_response(StatusCode::OK, v)
}

fn bad(msg: &str) -> Response {
    error(StatusCode::BAD_REQUEST, msg)
}

fn id_of(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An id given as a number or a string of digits (§9 #13).
fn id_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => id_of(s.trim()),
        _ => None,
    }
}

pub(super) fn dispatch(np: &Nullplatform, ctx: &Ctx) -> Response {
    let r = match route(&ctx.method, &ctx.path) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let faults = np.core.faults_for(super::KIND);
    let mut st = np.lock();
    st.advance(ctx.now);

    if let Route::Login = r {
        let ttl = faults
            .token_ttl
            .map_or(TOKEN_TTL_NS, |d| d.as_nanos() as i64);
        return login(&mut st, ctx, ttl);
    }

    // Bearer token (header name case-insensitive; scheme too).
    let Some(auth) = ctx.auth.as_deref().map(str::trim).filter(|a| !a.is_empty()) else {
        return error(StatusCode::UNAUTHORIZED, "Missing authorization header");
    };
    let Some(token) = bearer_of(auth) else {
        return error(StatusCode::UNAUTHORIZED, "Invalid token");
    };
    let Some(&(issued, exp)) = st.tokens.get(token) else {
        return error(StatusCode::UNAUTHORIZED, "Invalid token");
    };
    let revoked = np
        .core
        .token_cut(super::KIND)
        .is_some_and(|cut| ctx.now >= cut && issued < cut);
    if ctx.now >= exp || revoked {
        return error(StatusCode::UNAUTHORIZED, "Token expired");
    }

    match r {
        Route::Login => unreachable!("handled above"),
        Route::Applications => applications(&st, ctx),
        Route::Parameters(id) => {
            let truncate = faults
                .truncate_rate
                .is_some_and(|r| r > 0.0 && np.core.fault_draw() < r);
            let draw = if truncate { np.core.fault_draw() } else { 1.0 };
            parameters(&st, &id, truncate.then_some(draw))
        }
        Route::Builds if ctx.method == Method::POST => create_build(&mut st, ctx),
        Route::Builds => list_builds(&st, ctx),
        Route::Build(id) if ctx.method == Method::PATCH => patch_build(&mut st, ctx, &id),
        Route::Build(id) => match id_of(&id).and_then(|i| st.builds.get(&i)) {
            Some(b) => ok(&b.to_json()),
            None => error(StatusCode::NOT_FOUND, "Build not found"),
        },
        Route::Asset(id) => create_asset(&mut st, ctx, &id),
        Route::Assets => list_assets(&st, ctx),
    }
}

/// `POST /login` (§9 #1–#2).
fn login(st: &mut NpState, ctx: &Ctx, ttl: i64) -> Response {
    let key = ctx
        .field("api_key")
        .or_else(|| ctx.field("token"))
        .map(|v| v.as_str().unwrap_or(""));
    match key {
        Some(k) if API_KEYS.contains(&k) => {
            let token = st.issue_token(ctx.now, ttl);
            ok(&json!({ "access_token": token }))
        }
        Some(_) => error(StatusCode::UNAUTHORIZED, "Invalid api key"),
        // `access_key`/`secret_access_key` were never implemented; nothing usable given.
        None => bad("Field api_key is required"),
    }
}

/// `GET /application` with exact-match filters (§9 #5).
fn applications(st: &NpState, ctx: &Ctx) -> Response {
    let statuses: Option<Vec<&str>> = ctx.q("status").map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    let name = ctx.q("name");
    let repo = ctx.q("repository_url");
    // `repository_app_path` only counts together with `repository_url` (§4).
    let path = repo.and(ctx.q("repository_app_path"));
    let rows: Vec<Value> = st
        .apps
        .iter()
        .filter(|a| name.is_none_or(|n| a.name == n))
        .filter(|a| repo.is_none_or(|r| a.repository_url == r))
        .filter(|a| path.is_none_or(|p| a.app_path.as_deref() == Some(p)))
        .filter(|a| statuses.as_ref().is_none_or(|s| s.contains(&a.status)))
        .map(|a| a.to_json())
        .collect();
    ok(&Value::Array(rows))
}

/// `GET /application/{id}/parameter`; `truncate` = cut the list to a prefix (fault).
fn parameters(st: &NpState, id: &str, truncate: Option<f64>) -> Response {
    let Some(list) = id_of(id)
        .and_then(|i| st.app(i))
        .and_then(|a| st.params.get(&a.id))
    else {
        return error(StatusCode::NOT_FOUND, "Application not found");
    };
    let keep = match truncate {
        Some(d) => ((d * list.len() as f64) as usize).min(list.len().saturating_sub(1)),
        None => list.len(),
    };
    let rows: Vec<Value> = list
        .iter()
        .take(keep)
        .map(|p| json!({"name": p.name, "value": p.value, "secret": p.secret}))
        .collect();
    ok(&Value::Array(rows))
}

fn is_hex_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `POST /build` (§9 #8, #13).
fn create_build(st: &mut NpState, ctx: &Ctx) -> Response {
    let Some(app_id) = ctx.field("application_id").and_then(id_value) else {
        return bad("Field application_id is required");
    };
    let commit = ctx.field("commit");
    let sha = commit
        .and_then(|c| c.get("id"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| is_hex_sha(s));
    let Some(sha) = sha else {
        return bad("Field commit.id is required");
    };
    let branch = ctx
        .str_field("branch")
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let Some(branch) = branch else {
        return bad("Field branch is required");
    };
    let status = match ctx.field("status") {
        None => "pending".to_string(),
        Some(Value::String(s)) if s == "pending" || s == "in_progress" => s.clone(),
        Some(v) => {
            let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            return bad(&format!("Invalid build status: {s}"));
        }
    };
    if st.app(app_id).is_none() {
        return error(StatusCode::NOT_FOUND, "Application not found");
    }
    let permalink = commit
        .and_then(|c| c.get("permalink"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let id = st.create_build(BuildRec {
        id: 0,
        app_id,
        status,
        branch: branch.to_string(),
        commit_id: sha.to_string(),
        permalink,
        description: ctx.str_field("description").map(str::to_string),
        created: ctx.now,
        updated: ctx.now,
    });
    ok(&st.builds[&id].to_json())
}

const STATUSES: &[&str] = &["pending", "in_progress", "failed", "successful"];

/// `PATCH /build/{id}` (§9 #9); the path id wins over a body `id`.
fn patch_build(st: &mut NpState, ctx: &Ctx, id: &str) -> Response {
    let Some(b) = id_of(id).and_then(|i| st.builds.get_mut(&i)) else {
        return error(StatusCode::NOT_FOUND, "Build not found");
    };
    let to = match ctx.field("status") {
        None => return bad("Field status is required"),
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => s.clone(),
        Some(v) => {
            let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            return bad(&format!("Invalid build status: {s}"));
        }
    };
    let from = b.status.clone();
    if from == to {
        return ok(&b.to_json());
    }
    let allowed = match from.as_str() {
        "pending" => matches!(to.as_str(), "in_progress" | "failed" | "successful"),
        "in_progress" => matches!(to.as_str(), "failed" | "successful"),
        _ => false,
    };
    if !allowed {
        return bad(&format!("Invalid status transition from {from} to {to}"));
    }
    // §11 C5: a current GitHub action sets `successful` before it creates the asset, and
    // whether the real server refuses that is not confirmed: the simulator accepts it.
    b.status = to;
    b.updated = ctx.now;
    ok(&b.to_json())
}

/// `POST /build/{id}/asset` (§9 #10, §11 C5–C6).
fn create_asset(st: &mut NpState, ctx: &Ctx, id: &str) -> Response {
    let Some(build) = id_of(id).and_then(|i| st.builds.get(&i)) else {
        return error(StatusCode::NOT_FOUND, "Build not found");
    };
    let build_id = build.id;
    // A failed build takes no asset; a `successful` one does (§11 C5: the asset may come
    // after the status).
    if build.status == "failed" {
        return bad(&format!("Build is already {}", build.status));
    }
    let Some(kind) = ctx.str_field("type").filter(|t| !t.trim().is_empty()) else {
        return bad("Field type is required");
    };
    // §11 C6: the Azure task sends `buildId` (camel case) and never `url`, often no `name`
    // either (its input defaults to `main`); GitLab sends no build id at all. The path id
    // wins over any body id.
    let name = ctx.str_field("name").filter(|n| !n.is_empty());
    let url = ctx.str_field("url").filter(|u| !u.is_empty());
    let metadata = ctx
        .field("metadata")
        .filter(|m| m.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    match st.add_asset(
        build_id,
        name.unwrap_or("main").to_string(),
        kind.to_string(),
        metadata,
        url,
    ) {
        Some(a) => ok(&a.to_json()),
        None => error(StatusCode::NOT_FOUND, "Build not found"),
    }
}

/// The rows from `offset` (default 0), at most `limit` of them (default: all).
///
/// §11 C1: the CI API's reads answer a **bare JSON array** (the metadata action reads
/// `result.length`), not §9's `{paging, results}` envelope of the public API.
fn bare_window(ctx: &Ctx, rows: Vec<Value>) -> Response {
    let n = |k: &str| ctx.q(k).and_then(|v| v.parse::<usize>().ok());
    ok(&Value::Array(paging::window(
        rows,
        n("offset").unwrap_or(0),
        n("limit").unwrap_or(usize::MAX),
    )))
}

/// `GET /build?application_id=&status=&branch=&limit=&offset=`, newest first (§9 #6).
fn list_builds(st: &NpState, ctx: &Ctx) -> Response {
    let app = ctx.q("application_id").map(|s| id_of(s).unwrap_or(-1));
    let statuses: Option<Vec<&str>> = ctx
        .q("status")
        .map(|s| s.split(',').map(str::trim).collect());
    let branch = ctx.q("branch");
    let mut rows: Vec<&BuildRec> = st
        .builds
        .values()
        .filter(|b| app.is_none_or(|a| b.app_id == a))
        .filter(|b| {
            statuses
                .as_ref()
                .is_none_or(|s| s.contains(&b.status.as_str()))
        })
        .filter(|b| branch.is_none_or(|br| b.branch == br))
        .collect();
    rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    bare_window(ctx, rows.into_iter().map(BuildRec::to_json).collect())
}

/// `GET /asset?build_id=` (§9 #6).
fn list_assets(st: &NpState, ctx: &Ctx) -> Response {
    let build = ctx.q("build_id").map(|s| id_of(s).unwrap_or(-1));
    let rows: Vec<Value> = st
        .assets
        .values()
        .filter(|a| build.is_none_or(|b| a.build_id == b))
        .map(|a| a.to_json())
        .collect();
    bare_window(ctx, rows)
}
