//! Dashboard routes (`candor.md` §2.1, §4.1): cookie login, pipelines, config, run logs,
//! archived files and the trigger.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::state::{self, COOKIE_MAX_AGE_SECS, Pipeline, Session, USERS};
use super::{
    Candor, PREFIX, Req, crash, decode_uri_component, html, json_response, percent_decode, phrase,
    raw, route_miss,
};
use crate::sim::clock::NS_PER_SEC;

pub const LOG_NOT_FOUND: &str = "No log could be found";
pub(crate) const LOG_DELETED: &str = "No log could be found (deleted on server)";
pub(crate) const LOG_ERROR: &str = "An error occurred";
pub(crate) const ARCHIVE_NOT_FOUND: &str = "No archive could be found";
const COOKIE: &str = "connect.sid";

pub(super) async fn handle(State(c): State<Arc<Candor>>, req: Request) -> Response {
    let r = Req::read(req, PREFIX).await;
    dispatch(&c, &r)
}

fn cookie_value(r: &Req) -> Option<String> {
    for h in r.headers.get_all(header::COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=')
                && k == COOKIE
            {
                return Some(v.to_string());
            }
        }
    }
    None
}

impl Candor {
    /// The logged-in user of the request's cookie, if the session is still valid: 30 days, or
    /// `token_ttl`; `expire_tokens_at` invalidates every session issued before that moment.
    fn user_of(&self, st: &state::State, r: &Req, now: i64) -> Option<i64> {
        let sid = cookie_value(r)?;
        let s = st.sessions.get(&sid)?;
        let f = self.faults();
        let ttl = f
            .token_ttl
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(COOKIE_MAX_AGE_SECS * NS_PER_SEC);
        if now >= s.issued + ttl {
            return None;
        }
        if let Some(cut) = self.core.token_cut(super::KIND)
            && now >= cut
            && s.issued < cut
        {
            return None;
        }
        Some(s.user)
    }
}

/// A `:pipelineId` as the database takes it (a 32-bit integer); anything else makes the query
/// fail, and the dashboard does not catch that (§11 R2).
fn pipeline_id(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<i32>().ok())
        .flatten()
        .map(i64::from)
}

/// The text answer of the log and archive routes (`res.status(404).send(text)`): Express sends
/// a string as `text/html`.
fn sentence(status: StatusCode, text: &str) -> Response {
    crate::sim::reply::body(status, "text/html; charset=utf-8", text.to_string())
}

fn dispatch(c: &Candor, r: &Req) -> Response {
    let segs = r.segments();
    let m = &r.method;
    let get = *m == Method::GET || *m == Method::HEAD;
    let post = *m == Method::POST;
    // A route parameter is never empty: `/api/pipelines//config` matches no route.
    if segs.iter().any(|s| s.is_empty()) {
        return route_miss(m, &r.path);
    }
    match (segs.as_slice(), get, post) {
        (["login"], _, true) => login(c, r),
        (["logout"], _, true) => logout(c, r),
        (["me"], true, _) => me(c, r),
        (["api", "pipelines"], true, _) => list(c, r),
        (["api", "pipelines", id], true, _) => detail(c, r, id),
        (["api", "pipelines", id, "config"], true, _) => config_read(c, r, id),
        (["api", "pipelines", id, "config"], _, true) => config_write(c, r, id),
        (["api", "runs", pid, rid, "log"], true, _) => log(c, r, pid, rid),
        (["api", "runs", pid, rid, "archived"], true, _) => archive(c, r, pid, rid),
        (["api", "runs", pid, rid, "archive"], true, _) if c.lock().options.wiki_routes => {
            archive(c, r, pid, rid)
        }
        (["trigger", token], _, true) => trigger(c, r, token),
        (["trigger", _, "github"], _, true) => phrase(StatusCode::OK),
        _ => route_miss(m, &r.path),
    }
}

/// body-parser's answer to a JSON body it cannot parse: Express's error page, with the stack
/// trace a development server shows (server paths and all).
fn unparsable_json(e: &serde_json::Error) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        &format!(
            "SyntaxError: Unexpected token in JSON at position {}<br> &nbsp; &nbsp;at JSON.parse \
             (&lt;anonymous&gt;)<br> &nbsp; &nbsp;at parse \
             (/app/dashboard/backend/node_modules/body-parser/lib/types/json.js:89:19)<br> \
             &nbsp; &nbsp;at /app/dashboard/backend/node_modules/body-parser/lib/read.js:121:18",
            e.column()
        ),
    )
}

fn login(c: &Candor, r: &Req) -> Response {
    let body: Value = if r.is_json() {
        match serde_json::from_slice(&r.body) {
            Ok(v) => v,
            Err(e) => return unparsable_json(&e),
        }
    } else {
        json!({})
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(user), Some(password)) = (field("username"), field("password")) else {
        return phrase(StatusCode::BAD_REQUEST);
    };
    let Some(u) = USERS
        .iter()
        .find(|u| u.name == user && u.password == password)
    else {
        return phrase(StatusCode::UNAUTHORIZED);
    };
    let (mut st, now) = c.current();
    let sid = format!("s%3A{}", state::hex_id(&mut st.rng, 24));
    st.sessions.insert(
        sid.clone(),
        Session {
            user: u.id,
            issued: now,
        },
    );
    let mut resp = phrase(StatusCode::OK);
    // express-session writes `Expires` only (§11 R11). The date is wall-clock time, as the
    // client's cookie jar judges it; the session's life on the server follows the simulated
    // clock (`user_of`).
    let expires = chrono::Utc::now() + chrono::Duration::seconds(COOKIE_MAX_AGE_SECS);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={sid}; Path=/; Expires={}; HttpOnly",
        expires.format("%a, %d %b %Y %H:%M:%S GMT")
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn logout(c: &Candor, r: &Req) -> Response {
    if let Some(sid) = cookie_value(r) {
        c.lock().sessions.remove(&sid);
    }
    phrase(StatusCode::OK)
}

fn me(c: &Candor, r: &Req) -> Response {
    let (st, now) = c.current();
    match c.user_of(&st, r, now) {
        Some(id) => {
            let name = USERS.iter().find(|u| u.id == id).map_or("", |u| u.name);
            json_response(StatusCode::OK, &json!({"id": id, "name": name}))
        }
        None => phrase(StatusCode::UNAUTHORIZED),
    }
}

fn list(c: &Candor, r: &Req) -> Response {
    let (st, now) = c.current();
    let user = c.user_of(&st, r, now);
    let rows: Vec<Value> = st
        .pipelines
        .iter()
        .filter(|p| p.can_inspect(user))
        .map(Pipeline::entry_json)
        .collect();
    json_response(StatusCode::OK, &Value::Array(rows))
}

/// The pipeline if `user` may inspect it (or interact, with `interact`), else the reply: 404
/// unknown, 403 denied, and a crash for an id the database cannot take (§11 R2).
fn access<'a>(
    st: &'a state::State,
    id: &str,
    user: Option<i64>,
    interact: bool,
) -> Result<&'a Pipeline, Box<Response>> {
    let Some(id) = pipeline_id(id) else {
        return Err(Box::new(crash(&format!(
            "pipeline id `{id}` is not an integer"
        ))));
    };
    let p = st
        .pipeline(id)
        .ok_or_else(|| Box::new(phrase(StatusCode::NOT_FOUND)))?;
    let ok = if interact {
        p.assigned(user)
    } else {
        p.can_inspect(user)
    };
    if ok {
        Ok(p)
    } else {
        Err(Box::new(phrase(StatusCode::FORBIDDEN)))
    }
}

fn detail(c: &Candor, r: &Req, id: &str) -> Response {
    let (st, now) = c.current();
    let user = c.user_of(&st, r, now);
    match access(&st, id, user, false) {
        Ok(p) => json_response(StatusCode::OK, &p.detail_json(user)),
        Err(e) => *e,
    }
}

fn config_read(c: &Candor, r: &Req, id: &str) -> Response {
    let (st, now) = c.current();
    let user = c.user_of(&st, r, now);
    match access(&st, id, user, true) {
        Ok(p) => json_response(StatusCode::OK, &p.config),
        Err(e) => *e,
    }
}

fn config_write(c: &Candor, r: &Req, id: &str) -> Response {
    let (mut st, now) = c.current();
    let user = c.user_of(&st, r, now);
    let pid = match access(&st, id, user, true) {
        Ok(p) => p.id,
        Err(e) => return *e,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&r.body) else {
        return phrase(StatusCode::BAD_REQUEST);
    };
    if !state::valid_config(&v) {
        return json_response(StatusCode::OK, &json!({"valid": false}));
    }
    // An UPDATE moves the row to the end of the table's storage order, which is the list's
    // order (§11 R11: not by id).
    if let Some(at) = st.pipelines.iter().position(|p| p.id == pid) {
        let mut p = st.pipelines.remove(at);
        p.config = v;
        st.pipelines.push(p);
    }
    json_response(StatusCode::OK, &json!({"valid": true}))
}

fn log(c: &Candor, r: &Req, pid: &str, rid: &str) -> Response {
    let (st, now) = c.current();
    let user = c.user_of(&st, r, now);
    let p = match access(&st, pid, user, false) {
        Ok(p) => p,
        Err(e) => return *e,
    };
    // Any run by id, with no 5-run limit (§11 R5); `last` = greatest start.
    let rid = percent_decode(rid);
    let Some(run) = p.find_run(&rid) else {
        return sentence(StatusCode::NOT_FOUND, LOG_NOT_FOUND);
    };
    // A run recorded without a runner has no log: `last` too is 404 then (§11 R9).
    let Some(rr) = st.runner.get(&run.id) else {
        return sentence(StatusCode::NOT_FOUND, LOG_NOT_FOUND);
    };
    if c.faults().runner_down.unwrap_or(false) {
        return raw(StatusCode::OK, LOG_ERROR.as_bytes().to_vec());
    }
    if rr.deleted {
        return raw(StatusCode::OK, LOG_DELETED.as_bytes().to_vec());
    }
    raw(StatusCode::OK, rr.log_at(now))
}

/// `attachment; filename="…"` as Express writes it: an ASCII fallback, and `filename*` with
/// the UTF-8 name when it has other characters.
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|ch| {
            if ch == '"' || ch == '\\' || ch.is_control() || !ch.is_ascii() {
                '?'
            } else {
                ch
            }
        })
        .collect();
    if name.is_ascii() && !name.contains(['"', '\\']) {
        return format!("attachment; filename=\"{fallback}\"");
    }
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The type `res.download` gives a file, by its extension.
fn type_by_extension(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("xml") => "application/xml",
        Some("json") => "application/json; charset=utf-8",
        Some("txt" | "log") => "text/plain; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("gz" | "tgz") => "application/gzip",
        Some("zip") => "application/zip",
        Some("tar") => "application/x-tar",
        _ => "application/octet-stream",
    }
}

fn archive(c: &Candor, r: &Req, pid: &str, rid: &str) -> Response {
    let (st, now) = c.current();
    let user = c.user_of(&st, r, now);
    let p = match access(&st, pid, user, false) {
        Ok(p) => p,
        Err(e) => return *e,
    };
    let q = r.query_pairs();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(file) = get("file") else {
        return phrase(StatusCode::BAD_REQUEST);
    };
    let mode = get("mode").unwrap_or_else(|| "stream".into());
    if mode != "stream" && mode != "file" {
        return phrase(StatusCode::BAD_REQUEST);
    }
    // The query parser decoded `file` once; the route decodes it again (§11 R7).
    let Some(file) = decode_uri_component(&file) else {
        return crash("URIError: URI malformed (the archive file name)");
    };
    let rid = percent_decode(rid);
    let Some(run) = p.find_run(&rid).filter(|run| run.archived.contains(&file)) else {
        return sentence(StatusCode::NOT_FOUND, ARCHIVE_NOT_FOUND);
    };
    let bytes = super::runner_engine::archive_bytes(st.seed, &run.id, &file);
    let mut resp = raw(StatusCode::OK, bytes);
    let kind = if mode == "file" {
        type_by_extension(&file)
    } else {
        "application/octet-stream"
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if mode == "file"
        && let Ok(v) = HeaderValue::from_str(&content_disposition(&file))
    {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `POST /trigger/:token` (D10): unknown token 404; not assigned 403 (unless the
/// `trigger_auth = "token"` option); running 400; constraints not met 204; started 200.
fn trigger(c: &Candor, r: &Req, token: &str) -> Response {
    let down = c.faults().runner_down.unwrap_or(false);
    let (mut st, now) = c.current();
    let user = c.user_of(&st, r, now);
    let token = percent_decode(token);
    let Some(p) = st.pipelines.iter().find(|p| p.token == token) else {
        return phrase(StatusCode::NOT_FOUND);
    };
    if !st.options.trigger_auth_token_only && !p.assigned(user) {
        return phrase(StatusCode::FORBIDDEN);
    }
    if p.running.is_some() {
        return phrase(StatusCode::BAD_REQUEST);
    }
    let body: Value = if r.body.iter().all(u8::is_ascii_whitespace) || !r.is_json() {
        json!({})
    } else {
        match serde_json::from_slice(&r.body) {
            Ok(v) => v,
            Err(_) => return phrase(StatusCode::BAD_REQUEST),
        }
    };
    let cfg = &p.config;
    if let Some(h) = cfg.get("constrainHeaders").and_then(Value::as_object) {
        for (name, allowed) in h {
            let got = r.header(name);
            let ok = match allowed {
                Value::String(s) => got == Some(s.as_str()),
                Value::Array(a) => a.iter().any(|v| v.as_str().is_some_and(|s| got == Some(s))),
                _ => false,
            };
            if !ok {
                return super::raw(StatusCode::NO_CONTENT, Vec::new());
            }
        }
    }
    if let Some(b) = cfg.get("constrainBody").and_then(Value::as_object) {
        for (path, expected) in b {
            if Value::Array(state::jspath(&body, path)) != *expected {
                return super::raw(StatusCode::NO_CONTENT, Vec::new());
            }
        }
    }
    let mut params = HashMap::new();
    if let Some(ps) = cfg.get("parameters").and_then(Value::as_object) {
        let query = r.query_pairs();
        for (name, path) in ps {
            let from_body = path
                .as_str()
                .and_then(|p| state::jspath(&body, p).first().map(state::stringify));
            let from_query = query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone());
            params.insert(name.clone(), from_query.or(from_body).unwrap_or_default());
        }
    }
    let pid = p.id;
    st.start_run(pid, &params, now, down);
    phrase(StatusCode::OK)
}
