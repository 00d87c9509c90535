//! Request pipeline: JWT filter → security rules → route dispatch → handler.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::{self, Claims, JwtError};
use super::engine::FcState;
use super::pagination::{self, PageError, Query};
use super::{Ctx, FreeCommit, empty, entities, json_response, secs, text};
use crate::sim::clock::{NS_PER_SEC, fmt_ns};
use crate::sim::decode::percent_decode;

const LOGIN_NPE: &str = "Cannot invoke \"Object.toString()\" because the return value of \"java.util.Map.get(Object)\" is null";
const ROLE_ADMIN: &str = "ROLE_ADMIN";
const ROLE_DEVELOPER: &str = "ROLE_DEVELOPER";

/// Route table: (method, pattern). `{id}` = digits only, `{s}` = any segment.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/auth/token"),
    ("GET", "/user/info"),
    ("GET", "/guest/ping"),
    ("POST", "/guest/webhooks/build/{id}"),
    ("GET", "/developer/projects"),
    ("GET", "/developer/projects/{id}"),
    ("GET", "/developer/developers"),
    ("GET", "/developer/developers/{id}"),
    ("GET", "/developer/secrets"),
    ("GET", "/developer/secrets/{id}"),
    ("GET", "/developer/credentials"),
    ("GET", "/developer/credentials/{id}"),
    ("GET", "/developer/executors"),
    ("GET", "/developer/builds/by/project/{id}"),
    ("GET", "/developer/builds/{id}"),
    ("POST", "/developer/builds/{id}"),
    ("GET", "/developer/builds/queueds"),
    ("GET", "/developer/builds/executeds"),
    ("DELETE", "/developer/builds/kill/queued/{s}"),
    ("DELETE", "/developer/builds/kill/executed/{s}"),
    ("GET", "/developer/builds/output/{s}"),
    ("GET", "/developer/logs/{s}/{s}/{id}"),
    ("GET", "/developer/logs/{id}/{s}"),
    ("GET", "/developer/paginations/project"),
    ("GET", "/developer/paginations/developer"),
    ("GET", "/developer/paginations/secret"),
    ("GET", "/developer/statistics/sum/duration"),
    ("GET", "/admin/projects/{id}"),
    ("GET", "/admin/developers/{id}"),
    ("GET", "/admin/secrets/{id}"),
    ("GET", "/admin/credentials/{id}"),
    ("GET", "/admin/executors"),
    ("POST", "/admin/executors"),
    ("POST", "/admin/config/mail/test/{s}"),
    ("GET", "/admin/executors/{id}"),
    ("GET", "/admin/config/env"),
];

/// The admin write routes (§4.3), one PATCH route per field.
static ADMIN_ROUTES: std::sync::LazyLock<Vec<(&'static str, String)>> =
    std::sync::LazyLock::new(super::admin::routes);

fn route_table() -> impl Iterator<Item = (&'static str, &'static str)> {
    ROUTES
        .iter()
        .copied()
        .chain(ADMIN_ROUTES.iter().map(|(m, p)| (*m, p.as_str())))
}

fn match_pattern(pattern: &str, segs: &[&str]) -> Option<Vec<String>> {
    let pat: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    if pat.len() != segs.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pat.iter().zip(segs) {
        match *p {
            "{id}" => {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                params.push((*s).to_string());
            }
            "{s}" => {
                if s.is_empty() {
                    return None;
                }
                params.push(percent_decode(s));
            }
            lit => {
                if lit != *s {
                    return None;
                }
            }
        }
    }
    Some(params)
}

enum Routed {
    Found(&'static str, Vec<String>),
    NotFound,
    Method(Vec<&'static str>),
}

fn route(method: &Method, path: &str) -> Routed {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut allowed = Vec::new();
    // Spring answers HEAD wherever GET is mapped (hyper drops the body).
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    for (m, p) in route_table() {
        if let Some(params) = match_pattern(p, &segs) {
            if m == method {
                return Routed::Found(p, params);
            }
            if !allowed.contains(&m) {
                allowed.push(m);
            }
        }
    }
    if allowed.is_empty() {
        Routed::NotFound
    } else {
        Routed::Method(allowed)
    }
}

fn id(params: &[String], i: usize) -> i64 {
    params.get(i).and_then(|s| s.parse().ok()).unwrap_or(-1)
}

fn ok(v: &Value) -> Response {
    json_response(StatusCode::OK, v)
}

/// Returns the response and, for a kill with a real clock, how long to wait
/// (ns) before sending it.
pub(super) fn dispatch(fc: &FreeCommit, ctx: &Ctx) -> (Response, Option<i64>) {
    let faults = fc.core.faults_for("freecommit");
    let now = ctx.now;

    // 1. JWT filter (runs on every route, public ones included).
    let mut claims: Option<Claims> = None;
    if let Some(h) = ctx.headers.get(header::AUTHORIZATION) {
        let h = h.to_str().unwrap_or("").trim();
        if h == "Bearer" {
            return (
                ctx.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Index 1 out of bounds for length 1",
                ),
                None,
            );
        }
        if let Some(tok) = h.strip_prefix("Bearer ") {
            let revoked = faults
                .expire_tokens_at
                .map(|d| secs(fc.core.clock.start_ns() + d.as_nanos() as i64));
            match auth::decode(tok.trim(), secs(now), revoked) {
                Ok(c) => claims = Some(c),
                Err(JwtError::Invalid | JwtError::Expired) => {
                    return (empty(StatusCode::UNAUTHORIZED), None);
                }
            }
        }
    }

    // 2. Security rules.
    let first = ctx
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let needed = match first {
        "auth" | "guest" => None,
        "developer" => Some(Some(ROLE_DEVELOPER)),
        "admin" => Some(Some(ROLE_ADMIN)),
        _ => Some(None),
    };
    if let Some(role) = needed {
        match &claims {
            None => return (ctx.error(StatusCode::FORBIDDEN, "Access Denied"), None),
            Some(c) => {
                if let Some(r) = role
                    && !c.has(r)
                {
                    return (ctx.error(StatusCode::FORBIDDEN, "Forbidden"), None);
                }
            }
        }
    }

    // 3. Dispatch.
    let (pattern, params) = match route(&ctx.method, &ctx.path) {
        Routed::Found(p, params) => (p, params),
        Routed::NotFound => {
            let msg = format!("No static resource {}.", ctx.path.trim_start_matches('/'));
            return (ctx.error(StatusCode::NOT_FOUND, &msg), None);
        }
        Routed::Method(allowed) => {
            let msg = format!("Request method '{}' is not supported", ctx.method);
            let mut r = ctx.error(StatusCode::METHOD_NOT_ALLOWED, &msg);
            if let Ok(v) = HeaderValue::from_str(&allowed.join(",")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return (r, None);
        }
    };

    if pattern == "/auth/token" {
        return (login(fc, ctx), None);
    }
    if pattern == "/guest/ping" {
        return (empty(StatusCode::NO_CONTENT), None);
    }
    if pattern == "/guest/webhooks/build/{id}" {
        let mut st = fc.lock();
        st.advance(now);
        return (webhook(&mut st, ctx, id(&params, 0)), None);
    }
    // The security rules let no other route through without a token.
    let Some(claims) = claims else {
        return (ctx.error(StatusCode::FORBIDDEN, "Access Denied"), None);
    };
    if pattern == "/user/info" {
        return (
            ok(&json!({
                "id": claims.sub.parse::<i64>().unwrap_or(0),
                "username": claims.username,
                "roles": claims.roles,
            })),
            None,
        );
    }

    let mut st = fc.lock();
    st.advance(now);
    if let Some(r) = super::admin::dispatch(&mut st, ctx, pattern, &params) {
        return (r, None);
    }
    let is_admin = claims.has(ROLE_ADMIN);
    let nf = |m: &str| (ctx.error(StatusCode::NOT_FOUND, m), None);

    match pattern {
        "/developer/projects" => {
            let v: Vec<Value> = st
                .projects
                .values()
                .map(|p| entities::project(&st, p, is_admin))
                .collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/projects/{id}" | "/admin/projects/{id}" => {
            match st.projects.get(&id(&params, 0)) {
                Some(p) => (ok(&entities::project(&st, p, is_admin)), None),
                None => nf("PROJECT_NOT_FOUND"),
            }
        }
        "/developer/developers" => {
            let v: Vec<Value> = st
                .developers
                .values()
                .map(|d| entities::developer(&st, d))
                .collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/developers/{id}" | "/admin/developers/{id}" => {
            match st.developers.get(&id(&params, 0)) {
                Some(d) => (ok(&entities::developer(&st, d)), None),
                None => nf("DEVELOPER_NOT_FOUND"),
            }
        }
        "/developer/secrets" => {
            let v: Vec<Value> = st
                .secrets
                .values()
                .map(|s| entities::secret(s, false))
                .collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/secrets/{id}" | "/admin/secrets/{id}" => {
            match st.secrets.get(&id(&params, 0)) {
                Some(s) => (
                    ok(&entities::secret(s, pattern.starts_with("/admin"))),
                    None,
                ),
                None => nf("SECRET_NOT_FOUND"),
            }
        }
        "/developer/credentials" => {
            let v: Vec<Value> = st
                .credentials
                .values()
                .map(|c| entities::credential(c, false))
                .collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/credentials/{id}" | "/admin/credentials/{id}" => {
            match st.credentials.get(&id(&params, 0)) {
                Some(c) => (
                    ok(&entities::credential(c, pattern.starts_with("/admin"))),
                    None,
                ),
                None => nf("CREDENTIAL_NOT_FOUND"),
            }
        }
        "/developer/executors" | "/admin/executors" if ctx.method != Method::POST => {
            let v: Vec<Value> = st.executors.values().map(entities::executor).collect();
            (ok(&Value::Array(v)), None)
        }
        "/admin/executors" => create_executor(&mut st, ctx),
        "/admin/config/mail/test/{s}" => (empty(StatusCode::CREATED), None),
        "/admin/executors/{id}" => match st.executors.get(&id(&params, 0)) {
            Some(e) => (ok(&entities::executor(e)), None),
            None => nf("EXECUTOR_NOT_FOUND"),
        },
        "/admin/config/env" => {
            let ttl = faults.token_ttl.map_or(3600, |d| d.as_secs());
            (
                ok(&json!({
                    "max.parallel.executor": "2",
                    "default.admin.username": "admin",
                    "jwt.life-time": ttl.to_string(),
                    "mail.from": "free-commit@acme.example",
                    "mail.host": null,
                    "mail.port": null,
                })),
                None,
            )
        }
        "/developer/builds/by/project/{id}" => {
            let pid = id(&params, 0);
            if !st.projects.contains_key(&pid) {
                return nf("PROJECT_NOT_FOUND");
            }
            let v: Vec<Value> = st.builds_of(pid).map(entities::build).collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/builds/{id}" if ctx.method != Method::POST => {
            match st.builds.get(&id(&params, 0)) {
                Some(b) => (ok(&entities::build(b)), None),
                None => nf("BUILD_NOT_FOUND"),
            }
        }
        "/developer/builds/{id}" => (launch(&mut st, ctx, &claims, id(&params, 0)), None),
        "/developer/builds/queueds" => {
            let v: Vec<Value> = st
                .queue
                .iter()
                .map(|r| json!({"project_name": r.project_name, "executor_id": r.uuid}))
                .collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/builds/executeds" => {
            let v: Vec<Value> = st
                .running
                .iter()
                .map(|r| {
                    json!({
                        "project_name": r.project_name,
                        "executor_id": r.uuid,
                        "at": r.started_at.map(fmt_ns),
                    })
                })
                .collect();
            (ok(&Value::Array(v)), None)
        }
        "/developer/builds/kill/queued/{s}" => {
            let uuid = &params[0];
            match st.queue.iter().position(|r| &r.uuid == uuid) {
                Some(i) => {
                    st.queue.remove(i);
                    (empty(StatusCode::NO_CONTENT), None)
                }
                None => nf("EXECUTOR_NOT_FOUND"),
            }
        }
        "/developer/builds/kill/executed/{s}" => kill_executed(&mut st, ctx, &params[0]),
        "/developer/builds/output/{s}" => {
            let uuid = &params[0];
            if st.queue.iter().any(|r| &r.uuid == uuid) {
                return (
                    text(StatusCode::OK, "Waits for an executor to become available"),
                    None,
                );
            }
            match st.running.iter().find(|r| &r.uuid == uuid) {
                Some(r) => {
                    let out = if r.persisted {
                        r.plan.output.clone().unwrap_or_default()
                    } else {
                        String::new()
                    };
                    (text(StatusCode::OK, &out), None)
                }
                None => nf("EXECUTOR_NOT_FOUND"),
            }
        }
        "/developer/logs/{s}/{s}/{id}" => {
            let truncate = faults
                .truncate_rate
                .is_some_and(|r| r > 0.0 && fc.core.fault_draw() < r);
            let drop_n = if truncate {
                1 + (fc.core.fault_draw() * 3.0) as usize
            } else {
                0
            };
            (
                live_log(&st, ctx, &params[0], &params[1], &params[2], drop_n),
                None,
            )
        }
        "/developer/logs/{id}/{s}" => (archived_log(&st, ctx, id(&params, 0), &params[1]), None),
        "/developer/paginations/project"
        | "/developer/paginations/developer"
        | "/developer/paginations/secret" => (paginate(&mut st, ctx, pattern), None),
        "/developer/statistics/sum/duration" => (statistics(&st, ctx), None),
        _ => nf("No static resource"),
    }
}

fn login(fc: &FreeCommit, ctx: &Ctx) -> Response {
    let unauthorized = |m: &str| json_response(StatusCode::UNAUTHORIZED, &json!({ "message": m }));
    let field = |k: &str| -> Option<String> {
        ctx.field(k).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let (Some(username), Some(password)) = (field("auth_username"), field("auth_password")) else {
        return unauthorized(LOGIN_NPE);
    };
    let mut st = fc.lock();
    st.advance(ctx.now);
    let Some(dev) = st.developer_by_username(&username) else {
        return unauthorized(&format!("The user with username {username} was not found"));
    };
    if dev.password != password {
        return unauthorized("UNAUTHORIZED");
    }
    let ttl = fc
        .core
        .faults_for("freecommit")
        .token_ttl
        .map_or(3600, |d| {
            ((d.as_nanos() as i64 + NS_PER_SEC - 1) / NS_PER_SEC).max(1)
        });
    let iat = secs(ctx.now);
    let claims = Claims {
        sub: dev.user_id.to_string(),
        iat,
        exp: iat + ttl,
        username: dev.username.clone(),
        roles: dev.roles.clone(),
        provider: "FREE-COMMIT".into(),
    };
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": auth::encode(&claims),
            "token_type": "Bearer",
            "expires_in": ttl,
        }),
    )
}

fn launch(st: &mut FcState, ctx: &Ctx, claims: &Claims, project_id: i64) -> Response {
    if !st.projects.contains_key(&project_id) {
        return ctx.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    }
    let user_id: i64 = claims.sub.parse().unwrap_or(-1);
    let Some(dev_id) = st.developer_by_user_id(user_id).map(|d| d.id) else {
        return ctx.error(StatusCode::NOT_FOUND, "DEVELOPER_NOT_FOUND");
    };
    if !claims.has(ROLE_ADMIN) && !st.is_member(project_id, dev_id) {
        return ctx.error(StatusCode::FORBIDDEN, "LAUNCH_BUILD_NOT_ALLOWED");
    }
    let ignore = match ctx.field("build_ignore_steps") {
        None => {
            return ctx.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot invoke \"java.util.List.iterator()\" because \"ignoreSteps\" is null",
            );
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>(),
        Some(other) => {
            let class = match other {
                Value::String(_) => "java.lang.String",
                Value::Number(_) => "java.lang.Integer",
                Value::Bool(_) => "java.lang.Boolean",
                _ => "java.util.LinkedHashMap",
            };
            return ctx.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "class {class} cannot be cast to class java.util.List ({class} and java.util.List are in module java.base of loader 'bootstrap')"
                ),
            );
        }
    };
    let Some((name, uuid)) = st.launch(project_id, &ignore, ctx.now) else {
        return ctx.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    };
    json_response(
        StatusCode::CREATED,
        &json!({"project_name": name, "executor_id": uuid}),
    )
}

fn kill_executed(st: &mut FcState, ctx: &Ctx, uuid: &str) -> (Response, Option<i64>) {
    let delay = st.kill_delay;
    let Some(run) = st.running.iter_mut().find(|r| r.uuid == uuid) else {
        return (ctx.error(StatusCode::NOT_FOUND, "EXECUTOR_NOT_FOUND"), None);
    };
    let started = run.started_at.unwrap_or(ctx.now);
    let rel = ctx.now - started;
    let container = run.plan.container_from().is_some_and(|c| rel >= c);
    if run.persisted || run.killed || !container || rel >= run.plan.end {
        return (
            ctx.error(StatusCode::NOT_FOUND, "CONTAINER_NOT_FOUND"),
            None,
        );
    }
    run.killed = true;
    run.plan.kill(rel, delay);
    // Real clock: answer after the 1.5 s kill procedure. Manual clock: the kill
    // completed at the current simulated instant (delay 0), answer now.
    (empty(StatusCode::NO_CONTENT), (delay > 0).then_some(delay))
}

fn live_log(
    st: &FcState,
    ctx: &Ctx,
    uuid: &str,
    step: &str,
    line: &str,
    drop_n: usize,
) -> Response {
    let placeholder = json!({
        "step": "init",
        "log": "Waiting for first byte",
        "line_number": 0,
        "start_at": null,
        "closed_at": null,
        "success": null,
        "skipped": null,
    });
    if st.queue.iter().any(|r| r.uuid == uuid) {
        return ok(&placeholder);
    }
    let Some(run) = st.running.iter().find(|r| r.uuid == uuid) else {
        return ctx.error(StatusCode::NOT_FOUND, "EXECUTOR_NOT_FOUND");
    };
    let steps = run.view(ctx.now);
    if steps.is_empty() {
        return ok(&placeholder);
    }
    let held: usize = line.parse().unwrap_or(usize::MAX);
    let idx = steps.iter().position(|s| s.step.name == step).unwrap_or(0);
    let cur = &steps[idx];
    if idx == 0 && cur.n == 0 {
        return ctx.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Index 0 out of bounds for length 0",
        );
    }
    let wrapper = |s: &super::engine::StepView<'_>, log: Value, n: usize| {
        json!({
            "step": s.step.name,
            "log": log,
            "line_number": n,
            "start_at": fmt_ns(s.start_at),
            "closed_at": s.closed_at.map(fmt_ns),
            "success": s.success,
            "skipped": s.skipped,
        })
    };
    if held > cur.n {
        return ok(&wrapper(cur, Value::Null, cur.n));
    }
    if held < cur.n {
        let lines: Vec<&str> = cur.lines().skip(held).collect();
        let keep = lines.len().saturating_sub(drop_n);
        let mut log = String::new();
        for l in &lines[..keep] {
            log.push('\n');
            log.push_str(l);
        }
        return ok(&wrapper(cur, Value::String(log), cur.n));
    }
    match steps.get(idx + 1) {
        Some(next) => {
            let log: Vec<&str> = next.lines().collect();
            ok(&wrapper(next, Value::String(log.join("\n")), next.n))
        }
        None => ok(&wrapper(cur, Value::String(String::new()), cur.n)),
    }
}

fn archived_log(st: &FcState, ctx: &Ctx, build_id: i64, step: &str) -> Response {
    let Some(b) = st.builds.get(&build_id) else {
        return ctx.error(StatusCode::NOT_FOUND, "BUILD_NOT_FOUND");
    };
    let found = if step == "-1" {
        b.logs.first()
    } else {
        b.logs
            .iter()
            .position(|l| l.step == step)
            .and_then(|i| b.logs.get(i + 1))
    };
    match found {
        Some(l) => ok(&entities::log(l)),
        None => ctx.error(StatusCode::NOT_FOUND, "LOG_NOT_FOUND"),
    }
}

fn page_error(ctx: &Ctx, e: PageError) -> Response {
    ctx.error(StatusCode::INTERNAL_SERVER_ERROR, &e.0)
}

fn paginate(st: &mut FcState, ctx: &Ctx, pattern: &str) -> Response {
    let q = match Query::parse(ctx.query.as_deref()) {
        Ok(q) => q,
        Err(e) => return page_error(ctx, e),
    };
    let (route, id_key, rows) = match pattern {
        "/developer/paginations/project" => (
            "project",
            "project_id",
            st.projects
                .values()
                .map(|p| entities::project_row(st, p))
                .collect::<Vec<_>>(),
        ),
        "/developer/paginations/developer" => (
            "developer",
            "developer_id",
            st.developers
                .values()
                .map(entities::developer_row)
                .collect(),
        ),
        _ => (
            "secret",
            "secret_id",
            st.secrets.values().map(entities::secret_row).collect(),
        ),
    };
    let mut rows = match pagination::filter(rows, &q, id_key) {
        Ok(r) => r,
        Err(e) => return page_error(ctx, e),
    };
    if route == "secret" {
        let natural = Query {
            sort_by: "NONE".into(),
            ..q.clone()
        };
        pagination::sort(&mut rows, &natural, id_key);
    } else {
        pagination::sort(&mut rows, &q, id_key);
    }
    let count = count_cached(
        st,
        &q.count_key(route),
        rows.len(),
        ctx.now,
        q.dynamic_counting,
    );
    ok(&pagination::envelope(rows, &q, count))
}

/// COUNT with the 30 s per-query-text cache (§9 #14).
fn count_cached(st: &mut FcState, key: &str, actual: usize, now: i64, skip: bool) -> usize {
    if skip {
        return actual;
    }
    if let Some((c, at)) = st.count_cache.get(key)
        && now - at < pagination::COUNT_CACHE_NS
    {
        return *c;
    }
    st.count_cache.insert(key.to_string(), (actual, now));
    actual
}

fn statistics(st: &FcState, ctx: &Ctx) -> Response {
    use chrono::Datelike;
    let q = match Query::parse(ctx.query.as_deref()) {
        Ok(q) => q,
        Err(e) => return page_error(ctx, e),
    };
    let mut months: std::collections::BTreeMap<(i32, u32), i64> = Default::default();
    for b in st.builds.values() {
        let dt = chrono::DateTime::from_timestamp(b.completed_at.div_euclid(NS_PER_SEC), 0)
            .unwrap_or_default();
        let dur: i64 = b
            .logs
            .iter()
            .map(|l| l.closed_at.unwrap_or(l.start_at) - l.start_at)
            .sum();
        *months.entry((dt.year(), dt.month())).or_default() += dur;
    }
    if months.is_empty() {
        return ctx.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Index 0 out of bounds for length 0",
        );
    }
    let rows: Vec<serde_json::Map<String, Value>> = months
        .into_iter()
        .map(|((y, m), d)| {
            json!({"date": format!("{y}-{m}"), "duration": d / NS_PER_SEC})
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let count = rows.len();
    let q = Query {
        filters: Vec::new(),
        ..q
    };
    ok(&pagination::envelope(rows, &q, count))
}

/// `POST /admin/executors`: 200 (not 201) with the Executor.
fn create_executor(st: &mut FcState, ctx: &Ctx) -> (Response, Option<i64>) {
    let name = ctx
        .field("executor_name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let driver = ctx
        .field("executor_driver")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(name) = name else {
        return (
            ctx.error(StatusCode::UNPROCESSABLE_ENTITY, "EXECUTOR_NAME_REQUIRED"),
            None,
        );
    };
    let Some(driver) = driver else {
        return (
            ctx.error(StatusCode::UNPROCESSABLE_ENTITY, "EXECUTOR_DRIVER_REQUIRED"),
            None,
        );
    };
    if driver != "localDriver" && driver != "openStackDriver" {
        return (
            ctx.error(StatusCode::UNPROCESSABLE_ENTITY, "EXECUTOR_DRIVER_INVALID"),
            None,
        );
    }
    let id = st.executors.keys().next_back().copied().unwrap_or(0) + 1;
    let e = super::engine::Executor {
        id,
        name,
        driver,
        variables: serde_json::Map::new(),
    };
    let v = entities::executor(&e);
    st.executors.insert(id, e);
    (ok(&v), None)
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `POST /guest/webhooks/build/{projectId}` (§4.1): 201 empty, even when the
/// push is silently rejected (branch or signature mismatch).
fn webhook(st: &mut FcState, ctx: &Ctx, project_id: i64) -> Response {
    use hmac::{Hmac, Mac};
    let hv = |k: &str| {
        ctx.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let github = hv("x-github-event").is_some();
    let gitlab = hv("x-gitlab-event").is_some();
    if !github && !gitlab {
        return ctx.error(StatusCode::BAD_REQUEST, "WEBHOOK_PROVIDER_NOT_SUPPORTED");
    }
    let Some(project) = st.projects.get(&project_id).cloned() else {
        return ctx.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    };
    let body: Value = serde_json::from_slice(&ctx.raw).unwrap_or(Value::Null);
    let sender = if github {
        body.pointer("/sender/login")
    } else {
        body.get("user_name")
    }
    .and_then(Value::as_str)
    .unwrap_or("")
    .to_string();
    let dev = st.developers.values().find(|d| {
        let u = if github {
            &d.github_username
        } else {
            &d.gitlab_username
        };
        u.as_deref() == Some(sender.as_str())
    });
    if dev.is_none() {
        return ctx.error(StatusCode::NOT_FOUND, "DEVELOPER_NOT_FOUND");
    }
    let git_ref = body.get("ref").and_then(Value::as_str).unwrap_or("");
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    let branch_ok = branch == project.branch || (github && project.branch == "*");
    let signature_ok = if github {
        // HMAC takes a key of any length: the `Err` arm is never taken.
        Hmac::<sha2::Sha256>::new_from_slice(project.signature_key.as_bytes()).is_ok_and(
            |mut mac| {
                mac.update(&ctx.raw);
                let expected = format!("sha256={}", hex_lower(&mac.finalize().into_bytes()));
                hv("x-hub-signature-256").as_deref() == Some(expected.as_str())
            },
        )
    } else {
        hv("x-gitlab-token").as_deref() == Some(project.signature_key.as_str())
    };
    if branch_ok && signature_ok {
        let _ = st.launch(project_id, &[], ctx.now);
    }
    empty(StatusCode::CREATED)
}
