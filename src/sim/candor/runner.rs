//! Runner routes (`candor.md` §2.2, §4.2, §9 decisions 8–10, §11 R6, R11): `GET /` health
//! (`OK`), `POST /run` held until the run ends, `GET /logs/:runId` with byte ranges. No token
//! is checked unless the `runner_auth = "bearer"` option says so.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::state::RUNNER_TOKEN;
use super::{Candor, RUNNER_PREFIX, Req, html, json_response, percent_decode, phrase, route_miss};
use crate::sim::ClockMode;

pub(super) async fn handle(State(c): State<Arc<Candor>>, req: Request) -> Response {
    let r = Req::read(req, RUNNER_PREFIX).await;
    if c.faults().runner_down.unwrap_or(false) {
        return phrase(StatusCode::SERVICE_UNAVAILABLE);
    }
    let segs = r.segments();
    let get = r.method == Method::GET || r.method == Method::HEAD;
    if r.path == "/" && get {
        // `res.send("OK")` from the health route (§11 R11).
        return super::text(StatusCode::OK, "OK");
    }
    let (wiki, checks_token) = {
        let st = c.lock();
        (st.options.wiki_routes, st.options.runner_checks_token)
    };
    // The auth middleware (D17) never matches on the real runner, so no token is checked
    // (§11 R6); the `runner_auth = "bearer"` option turns the check on, for clients' 400/401
    // handling.
    if checks_token {
        let Some(auth) = r.header("authorization") else {
            return phrase(StatusCode::BAD_REQUEST);
        };
        if auth.strip_prefix("Bearer ").map(str::trim) != Some(RUNNER_TOKEN) {
            return phrase(StatusCode::UNAUTHORIZED);
        }
    }
    match segs.as_slice() {
        ["run"] if r.method == Method::POST => run(&c, &r).await,
        ["logs", id] if get || (wiki && r.method == Method::POST) => logs(&c, &r, id),
        _ => route_miss(&r.method, &r.path),
    }
}

/// Where the simulated runner keeps its log files (its 404 page shows it).
const LOG_DIR: &str = "/home/candor/runner/logs";

fn bad_id(id: &str) -> bool {
    id.is_empty() || id.contains("..") || id.contains('/') || id.contains('\\')
}

async fn run(c: &Candor, r: &Req) -> Response {
    if !r.is_json() {
        return phrase(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let Ok(v) = serde_json::from_slice::<Value>(&r.body) else {
        return phrase(StatusCode::BAD_REQUEST);
    };
    let Some(plan) = v.get("plan").and_then(super::runner_engine::parse_plan) else {
        return phrase(StatusCode::BAD_REQUEST);
    };
    let id = match v.get("runId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !bad_id(s) => Some(s.clone()),
        Some(_) => return phrase(StatusCode::BAD_REQUEST),
    };
    let (id, end) = {
        let (mut st, now) = c.current();
        st.runner_run(id, &plan, now)
    };
    if r.reset_after_start {
        // The connection breaks; the run goes on.
        return crate::sim::reply::dropped();
    }
    // Held until the whole pipeline has finished (simulated time).
    loop {
        let now = c.core.clock.now_ns();
        if now >= end {
            break;
        }
        let wait = match c.core.clock.mode() {
            ClockMode::Manual => Duration::from_millis(20),
            ClockMode::Real => Duration::from_nanos(((end - now) as u64).min(250_000_000)),
        };
        tokio::time::sleep(wait).await;
    }
    let outcome = c.lock().outcome(&id);
    match outcome {
        Some(o) => json_response(StatusCode::OK, &o.to_json()),
        None => phrase(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// `Range: bytes=N-` or `bytes=N-M` (one range; anything else is ignored, as by `send`).
fn parse_range(h: Option<&str>) -> Option<(u64, Option<u64>)> {
    let spec = h?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let start = a.trim().parse().ok()?;
    let end = if b.trim().is_empty() {
        None
    } else {
        Some(b.trim().parse().ok()?)
    };
    Some((start, end))
}

fn logs(c: &Candor, r: &Req, id: &str) -> Response {
    let id = percent_decode(id);
    if bad_id(&id) {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::BAD_REQUEST;
        return resp;
    }
    let truncate = c.roll(c.faults().truncate_rate);
    let (st, now) = c.current();
    let Some(run) = st.runner.get(&id).filter(|r| !r.deleted) else {
        // `sendFile`'s error through Express's page: it names the log file (§11 R11).
        return html(
            StatusCode::NOT_FOUND,
            &format!(
                "Error: ENOENT: no such file or directory, stat &#39;{LOG_DIR}/{}&#39;",
                super::escape(&id)
            ),
        );
    };
    let file = run.log_at(now);
    drop(st);
    let len = file.len() as u64;
    let (status, from, to) = match parse_range(r.header("range")) {
        Some((start, _)) if start >= len => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            resp.headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return resp;
        }
        Some((start, end)) => {
            let end = end.map_or(len, |e| (e + 1).min(len));
            (StatusCode::PARTIAL_CONTENT, start, end.max(start))
        }
        None => (StatusCode::OK, 0, len),
    };
    let mut body = file[from as usize..to as usize].to_vec();
    if truncate && body.len() > 1 {
        body.truncate(cut_point(c, &body));
    }
    let mut resp = Response::new(Body::from(body.clone()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        let last = from + body.len() as u64;
        if let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {from}-{}/{len}",
            last.saturating_sub(1).max(from)
        )) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    resp
}

/// Where a truncated reply ends: inside a multi-byte UTF-8 sequence when the body has one
/// (half the time), else anywhere but at a line end.
fn cut_point(c: &Candor, body: &[u8]) -> usize {
    let inner: Vec<usize> = (1..body.len())
        .filter(|&i| body[i] & 0xC0 == 0x80)
        .collect();
    if !inner.is_empty() && c.core.fault_draw() < 0.5 {
        return inner[(c.core.fault_draw() * inner.len() as f64) as usize % inner.len()];
    }
    let mut at = 1 + (c.core.fault_draw() * (body.len() - 1) as f64) as usize;
    at = at.min(body.len() - 1);
    while at > 1 && body[at - 1] == b'\n' {
        at -= 1;
    }
    at
}
