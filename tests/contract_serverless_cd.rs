//! The Serverless-cd client against the built-in simulator (manual clock) in BOTH server eras
//! of `shared/api/serverless-cd.md` §11 (Nov 2022 and Jan 2023: every test body runs for
//! each), and, for shapes neither era produces (string codes, a newer server's 404), a small
//! stub server. The §11 rows each test covers are named in its comment.
//!
//! Every request goes through a capturing proxy (method, path, query, body, `cd_token`), so the
//! tests can check headers and bodies and wait for the client's next poll instead of sleeping.
//! The proxy can also drop the `cd_token` header, as an nginx in front does by default.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{advance, clear_faults, fast_policy, set_faults};
use secrecy::SecretString;
use serde_json::{Value, json};
use shipdeck::api::http::Http;
use shipdeck::api::serverless_cd::ServerlessCd;
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::Credential;
use shipdeck::domain::{
    Build, BuildScope, BuildStatus, LaunchRequest, ListQuery, LogEvent, Resource, StepStatus,
};
use shipdeck::sim::serverless_cd::{DEMO_TOKEN, EXPIRED_TOKEN, Era};
use shipdeck::sim::{self, SimHandle, SimOptions};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

const ERAS: [Era; 2] = [Era::Nov, Era::Jan];
const POLL: Duration = Duration::from_millis(20);
const NO_SUCH_KEY: &str = "The specified key does not exist.";
const RUNNING_NOTE: &str = "its log appears when the step ends";

#[derive(Clone, Debug)]
struct Hit {
    method: String,
    path: String,
    query: String,
    body: Option<Value>,
    token: Option<String>,
}

/// A proxy that records every request and forwards it to `target`.
struct Capture {
    root: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Capture {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn count(&self, part: &str) -> usize {
        self.hits().iter().filter(|h| h.path.contains(part)).count()
    }

    /// `task/log` requests for one `stepCount`.
    fn log_fetches(&self, count: &str) -> usize {
        let q = format!("stepCount={count}");
        self.hits()
            .iter()
            .filter(|h| h.path.ends_with("task/log") && h.query.split('&').any(|p| p == q))
            .count()
    }
}

struct CaptureState {
    client: reqwest::Client,
    target: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Forward without the `cd_token` header (a proxy that drops `_` headers).
    drop_token: bool,
}

async fn start_capture(target: String, drop_token: bool) -> Capture {
    shipdeck::api::http::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Mutex::new(Vec::new()));
    let st = Arc::new(CaptureState {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        target,
        hits: hits.clone(),
        drop_token,
    });
    let app = axum::Router::new().fallback(forward).with_state(st);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Capture {
        root: format!("http://{addr}"),
        hits,
    }
}

async fn forward(State(st): State<Arc<CaptureState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    st.hits.lock().unwrap().push(Hit {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        body: serde_json::from_slice(&bytes).ok(),
        token: parts
            .headers
            .get("cd_token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut rb = st
        .client
        .request(parts.method.clone(), format!("{}{pq}", st.target));
    for (n, v) in &parts.headers {
        let dropped = st.drop_token && n.as_str() == "cd_token";
        if n != header::HOST && n != header::CONTENT_LENGTH && !dropped {
            rb = rb.header(n, v);
        }
    }
    let resp = match rb.body(bytes).send().await {
        Ok(r) => r,
        Err(_) => {
            // The simulator reset the connection: do the same.
            return Response::new(Body::from_stream(futures::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("reset"))
            })));
        }
    };
    let status = resp.status();
    let keep: Vec<_> = resp
        .headers()
        .iter()
        .filter(|(n, _)| {
            **n == header::CONTENT_TYPE || **n == header::RETRY_AFTER || **n == header::LOCATION
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let body = resp.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (n, v) in keep {
        out.headers_mut().insert(n, v);
    }
    out
}

fn client_with(base: &str, token: &str, prefix: Option<&str>, timeout: Duration) -> ServerlessCd {
    let http = Http::with_base_without_redirects(base, timeout, None, false)
        .unwrap()
        .with_policy(fast_policy());
    ServerlessCd::with_http(
        http,
        Credential::Inline(SecretString::from(token.to_string())),
        prefix,
    )
    .with_poll_interval(POLL)
}

fn client_at(base: &str, token: &str, prefix: Option<&str>) -> ServerlessCd {
    client_with(base, token, prefix, Duration::from_secs(10))
}

async fn start_sim(era: Era) -> SimHandle {
    sim::start(SimOptions {
        serverless_cd_era: era,
        ..Default::default()
    })
    .await
    .expect("simulator starts")
}

struct Rig {
    era: Era,
    sim: SimHandle,
    cap: Capture,
    c: Arc<ServerlessCd>,
}

async fn rig_opts(era: Era, token: &str, drop_token: bool, timeout: Duration) -> Rig {
    let sim = start_sim(era).await;
    let cap = start_capture(sim.url(""), drop_token).await;
    let c = Arc::new(client_with(
        &format!("{}/serverless-cd", cap.root),
        token,
        None,
        timeout,
    ));
    Rig { era, sim, cap, c }
}

async fn rig_with(era: Era, token: &str) -> Rig {
    rig_opts(era, token, false, Duration::from_secs(10)).await
}

async fn rig(era: Era) -> Rig {
    rig_with(era, DEMO_TOKEN).await
}

impl Rig {
    /// Another client through the same proxy (a cold cache, other settings).
    fn client(&self) -> ServerlessCd {
        client_at(
            &format!("{}/serverless-cd", self.cap.root),
            DEMO_TOKEN,
            None,
        )
    }

    async fn app_id(&self, name: &str) -> String {
        let page = self.c.projects(&ListQuery::default()).await.unwrap();
        page.items
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("project {name}"))
            .id
    }

    fn launch_req(app: &str, params: &[(&str, &str)]) -> LaunchRequest {
        LaunchRequest {
            project_id: app.to_string(),
            skip_steps: Vec::new(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    async fn launch(&self, app: &str, params: &[(&str, &str)]) -> Build {
        self.c
            .launch(&Rig::launch_req(app, params))
            .await
            .expect("launch")
    }

    fn raw(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .get(format!("{}{path}", self.sim.url("serverless-cd")))
            .header("cd_token", DEMO_TOKEN)
    }

    /// Raw `task/log` text (through the simulator directly).
    async fn raw_log(&self, task: &str, count: &str) -> String {
        let v: Value = self
            .raw(&format!(
                "/api/flow/task/log?taskId={task}&stepCount={count}"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_string()
    }

    async fn raw_task(&self, task: &str) -> Value {
        let v: Value = self
            .raw(&format!("/api/flow/task/get?taskId={task}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"].clone()
    }

    async fn raw_apps(&self) -> Vec<Value> {
        let v: Value = self
            .raw("/api/flow/application/list")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"].as_array().unwrap().clone()
    }

    /// An application's data: top level (Nov) or its environment's (Jan).
    fn app_data(&self, app: &Value) -> Value {
        match self.era {
            Era::Nov => app.clone(),
            Era::Jan => app["environment"]
                .as_object()
                .and_then(|m| m.values().next())
                .cloned()
                .unwrap(),
        }
    }

    /// Advance the clock, then wait until the client has asked for the task twice more (a
    /// whole poll after the advance).
    async fn step_clock(&self, seconds: f64) {
        advance(&self.sim, seconds).await;
        let n = self.cap.count("task/get");
        wait_for("two more task polls", || {
            self.cap.count("task/get") >= n + 2
        })
        .await;
    }
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn step_counts(task: &Value) -> Vec<String> {
    task["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stepCount"].as_str().unwrap().to_string())
        .collect()
}

fn text_lines(text: &str) -> Vec<String> {
    text.strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .map(str::to_string)
        .collect()
}

struct Tail {
    rx: UnboundedReceiver<LogEvent>,
    events: Vec<LogEvent>,
    task: JoinHandle<Result<(), ApiError>>,
}

impl Tail {
    fn start(c: &Arc<ServerlessCd>, build: &Build, follow: bool) -> Tail {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let c = c.clone();
        let build = build.clone();
        let task = tokio::spawn(async move { c.tail_log(&build, follow, tx).await });
        Tail {
            rx,
            events: Vec::new(),
            task,
        }
    }

    fn drain(&mut self) {
        while let Ok(e) = self.rx.try_recv() {
            self.events.push(e);
        }
    }

    async fn finish(mut self) -> (Vec<LogEvent>, Result<(), ApiError>) {
        let r = tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("tail ends")
            .expect("no panic");
        self.drain();
        (self.events, r)
    }
}

type Section = (String, StepStatus, Vec<StepStatus>, Vec<String>);

/// Each step's section: (name, status at Step, later statuses, lines).
fn sections(events: &[LogEvent]) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for e in events {
        match e {
            LogEvent::Step { name, status } => out.push((name.clone(), *status, vec![], vec![])),
            LogEvent::StepStatus(s) => out.last_mut().expect("step first").2.push(*s),
            LogEvent::Lines(l) => out.last_mut().expect("step first").3.extend(l.clone()),
            _ => {}
        }
    }
    out
}

fn final_status(s: &Section) -> StepStatus {
    *s.2.last().unwrap_or(&s.1)
}

fn fake_build(id: &str, project_id: Option<&str>) -> Build {
    Build {
        id: id.into(),
        run_id: None,
        build_id: None,
        project_id: project_id.map(str::to_string),
        project: "x".into(),
        status: BuildStatus::Running,
        raw_status: "running".into(),
        exit_code: None,
        message: None,
        queued_at: None,
        started_at: None,
        finished_at: None,
        trigger: None,
        commit: None,
        git_ref: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication and errors (R4, R5, R6, R7, R8, R14)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_the_demo_token_and_capabilities() {
    for era in ERAS {
        let r = rig(era).await;
        let s = r.c.login().await.expect("login");
        assert_eq!(s.user.id, "u-7fa3c1");
        assert!(s.caps.list(Resource::Projects).is_some());
        assert!(s.caps.list(Resource::Secrets).is_some());
        assert!(s.caps.list(Resource::Developers).is_none());
        assert_eq!(
            s.caps.why_not(Resource::Developers),
            "Serverless-cd has no user API"
        );
        let b = &s.caps.builds;
        assert!(b.list && b.launch && b.kill && b.redeploy && b.logs && b.live_logs);
        assert!(!b.skip_steps);
        // `cd_token` on every request, and routes under the default prefix.
        let hits = r.cap.hits();
        assert!(!hits.is_empty());
        for h in hits {
            assert_eq!(h.token.as_deref(), Some(DEMO_TOKEN));
            assert!(h.path.starts_with("/serverless-cd/api/flow/"), "{}", h.path);
        }
    }
}

fn assert_auth(e: &ApiError, starts: &str, token: &str) {
    let ApiError::Auth(text) = e else {
        panic!("{e:?}")
    };
    assert!(text.starts_with(starts), "{text}");
    assert!(
        text.contains("token unknown / expired — create a new one under settings → Tokens"),
        "{text}"
    );
    assert!(
        text.contains("underscores_in_headers"),
        "proxy hint: {text}"
    );
    assert!(!text.contains(token), "the token never appears in errors");
    assert!(
        !text.contains('<') && !text.contains("/code/") && !text.contains(".js"),
        "no HTML, stack or server path: {text}"
    );
    assert_eq!(e.exit_code(), 3);
}

/// R4 (Nov: HTML 500 pages), R5 (Jan: code-less expired; an unknown token never answered).
#[tokio::test]
async fn unknown_and_expired_tokens_are_auth_errors() {
    for era in ERAS {
        let mut cases = vec![(EXPIRED_TOKEN, "token 已过期")];
        if era == Era::Nov {
            cases.push(("nope-not-a-token", "token 不存在"));
        }
        for (token, msg) in cases {
            let r = rig_with(era, token).await;
            let e = r.c.login().await.unwrap_err();
            assert_auth(&e, msg, token);
            // Never retried: one request.
            assert_eq!(r.cap.hits().len(), 1, "{era}");
            let e = r.c.builds(&BuildScope::Active).await.unwrap_err();
            assert!(matches!(e, ApiError::Auth(_)));
        }
    }
    // Jan: an unknown token is never answered; the first call says "token or server".
    let token = "nope-not-a-token";
    let r = rig_opts(Era::Jan, token, false, Duration::from_secs(1)).await;
    let e = r.c.login().await.unwrap_err();
    assert_auth(&e, "no answer within 1s to the first request", token);
    let ApiError::Auth(m) = &e else {
        unreachable!()
    };
    assert!(
        m.contains("token is probably wrong") && m.contains("server is down"),
        "{m}"
    );
    assert_eq!(r.cap.count("application/list"), 1, "one timeout, not four");
}

/// R4 (Nov: no token → 302 to /login), R5 (Jan: `{"code":401,"message":"need login"}`): a
/// proxy in front drops the `cd_token` header.
#[tokio::test]
async fn a_dropped_token_header_is_an_auth_error_with_the_proxy_hint() {
    for era in ERAS {
        let r = rig_opts(era, DEMO_TOKEN, true, Duration::from_secs(10)).await;
        let e = r.c.login().await.unwrap_err();
        let starts = match era {
            Era::Nov => "the server redirects to its login page (HTTP 302)",
            Era::Jan => "need login",
        };
        assert_auth(&e, starts, DEMO_TOKEN);
        assert_eq!(r.cap.hits().len(), 1, "{era}: the redirect is not followed");
    }
}

#[tokio::test]
async fn tokens_expired_by_the_server_become_auth_errors() {
    for era in ERAS {
        let r = rig(era).await;
        r.c.login().await.unwrap();
        set_faults(&r.sim, json!({"serverless-cd.expire_tokens_at": "5s"})).await;
        advance(&r.sim, 6.0).await;
        let e = r.c.projects(&ListQuery::default()).await.unwrap_err();
        assert_auth(&e, "token 已过期", DEMO_TOKEN);
    }
}

/// R6/R7: errors are classified by their message (Nov: HTTP 422/500/200 without a code; Jan:
/// `code: 500` for everything); R14: detail has no owner check; R12: the trigger branch.
#[tokio::test]
async fn errors_classify_by_message_in_both_eras() {
    for era in ERAS {
        let r = rig(era).await;
        // Unknown task → not found, and not retried as a server error.
        let fake = fake_build("zzzzzzzzzzzzzzzz", None);
        assert_eq!(
            r.c.kill(&fake).await.unwrap_err(),
            ApiError::NotFound("没有查到部署信息".into())
        );
        assert_eq!(r.cap.count("task/get"), 1, "{era}");
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        assert_eq!(
            r.c.tail_log(&fake, true, tx).await.unwrap_err(),
            ApiError::NotFound("没有查到部署信息".into())
        );
        assert_eq!(r.cap.count("task/get"), 2, "{era}");
        // Validation: Nov HTTP 422, Jan code 500 → rejected with the message.
        let e = r.c.tasks_page("", 1, 10).await.unwrap_err();
        let want_status = if era == Era::Nov { 422 } else { 400 };
        assert_eq!(
            e,
            ApiError::Rejected {
                status: want_status,
                message: "AppId is empty".into()
            }
        );
        assert_eq!(r.cap.count("task/list"), 1);
        // The unknown-ref text.
        let app = r.app_id("web-portal").await;
        let e =
            r.c.launch(&Rig::launch_req(&app, &[("ref", "refs/heads/nope")]))
                .await
                .unwrap_err();
        assert_eq!(
            e,
            ApiError::NotFound("ref refs/heads/nope not found".into())
        );
        // Another user's application: visible in detail (R14), refused on dispatch.
        let foreign = shipdeck::sim::serverless_cd::foreign_app_id(1);
        assert!(r.c.launch_options(&foreign).await.is_ok());
        let e =
            r.c.launch(&Rig::launch_req(&foreign, &[("ref", "refs/heads/main")]))
                .await
                .unwrap_err();
        assert_eq!(e, ApiError::Forbidden("无权操作此应用".into()));
        // An unknown application: 暂无应用信息.
        assert_eq!(
            r.c.launch_options("zzzzzzzzzzzzzzzz").await.unwrap_err(),
            ApiError::NotFound("暂无应用信息".into())
        );
    }
}

/// A stub of other eras: string codes, no code, and a newer server's Express 404.
async fn stub(reply: fn(&str) -> Response) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |req: Request| async move {
        let path = req.uri().path().to_string();
        reply(&path)
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn json_reply(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

#[tokio::test]
async fn string_codes_and_codeless_errors_classify() {
    let base = stub(|path| {
        let (code, msg): (Value, &str) = match path {
            p if p.ends_with("application/list") => (json!("NeedLogin"), "需要登录"),
            p if p.ends_with("application/detail") => (json!("NotFound"), "应用不存在"),
            p if p.ends_with("task/get") => (json!("ParamsInvalid"), "taskId 必填"),
            p if p.ends_with("task/list") => (json!("SystemError"), "db down"),
            p if p.ends_with("dispatch/cancel") => (Value::Null, "token 不存在"),
            _ => (Value::Null, "AppId is empty"),
        };
        let mut v = json!({"success": false, "message": msg});
        if !code.is_null() {
            v["code"] = code;
        }
        json_reply(v)
    })
    .await;
    let c = client_at(&base, "t0ken-value-xyz", None);
    let e = c.login().await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Auth(m) if m.starts_with("需要登录") && m.contains("underscores_in_headers")),
        "{e:?}"
    );
    assert_eq!(
        c.launch_options("a").await.unwrap_err(),
        ApiError::NotFound("应用不存在".into())
    );
    let b = fake_build("t1", Some("a"));
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    assert_eq!(
        c.tail_log(&b, false, tx).await.unwrap_err(),
        ApiError::Rejected {
            status: 400,
            message: "taskId 必填".into()
        }
    );
    assert_eq!(
        c.builds(&BuildScope::Project {
            id: "a".into(),
            name: "a".into()
        })
        .await
        .unwrap_err(),
        ApiError::Server {
            status: 500,
            message: "db down".into()
        }
    );
    // No code: the auth messages are still auth…
    assert!(
        matches!(c.redeploy(&b).await.unwrap_err(), ApiError::Rejected { status: 400, message } if message == "AppId is empty"),
        "…and a validation message is a refusal (§11 R6/R7), not a server error"
    );
    let base = stub(|path| {
        json_reply(if path.ends_with("task/get") {
            json!({"success": true, "data": {"id": "t1", "status": "running", "steps": []}})
        } else {
            json!({"success": false, "message": "token 不存在"})
        })
    })
    .await;
    let c = client_at(&base, "t0ken-value-xyz", None);
    assert!(
        matches!(c.kill(&b).await.unwrap_err(), ApiError::Auth(m) if m.starts_with("token 不存在"))
    );
}

/// R8: a web page where JSON was expected; the newer era's 404.
#[tokio::test]
async fn a_newer_server_or_a_web_page_is_reported_as_unsupported() {
    let base = stub(|path| {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot GET {path}</pre>\n</body>\n</html>\n"
            ),
        )
            .into_response()
    })
    .await;
    let c = client_at(&base, "t", None);
    let e = c.login().await.unwrap_err();
    let ApiError::Unsupported(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.starts_with("unsupported Serverless-cd version (routes under /api)"),
        "{m}"
    );
    assert!(m.contains("Cannot GET /api/flow/application/list"), "{m}");
    for era in ERAS {
        // A prefix the server does not serve: its web UI answers, HTTP 200 HTML.
        let sim = start_sim(era).await;
        let c = client_at(&sim.url("serverless-cd"), DEMO_TOKEN, Some("/api/v9"));
        let e = c.login().await.unwrap_err();
        assert!(
            matches!(&e, ApiError::Unsupported(m) if m.starts_with("not a Serverless-cd open API at this address (got a web page)")),
            "{e:?}"
        );
        assert!(!e.to_string().contains('<'), "{e}");
        // The `/api` alias the simulator serves works as a route prefix.
        let c = client_at(&sim.url("serverless-cd"), DEMO_TOKEN, Some("/api"));
        assert!(c.login().await.is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// Applications and secrets (R2, R3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn applications_map_to_projects() {
    for era in ERAS {
        let r = rig(era).await;
        let page = r.c.projects(&ListQuery::default()).await.unwrap();
        assert_eq!(page.items.len(), 13);
        assert_eq!(page.total, Some(13));
        assert!(!page.has_more);
        let never: Vec<_> = page
            .items
            .iter()
            .filter(|p| p.last_build.is_none())
            .collect();
        assert_eq!(never.len(), 1);
        assert_eq!(never[0].name, "legacy-cron");
        for p in &page.items {
            assert_eq!(p.id.len(), 16);
            if let Some(lb) = &p.last_build {
                assert!(lb.status.is_terminal(), "{lb:?}");
                assert!(["success", "failure"].contains(&lb.raw.as_str()));
            }
            let d = p.description.as_deref().unwrap_or("");
            assert_eq!(d.contains("environment "), era == Era::Jan, "{d}");
        }
        // last_build follows the latest task.
        let app = r.app_id("shop-api").await;
        r.launch(&app, &[("ref", "refs/heads/main")]).await;
        let page = r.c.projects(&ListQuery::default()).await.unwrap();
        let p = page.items.iter().find(|p| p.id == app).unwrap();
        assert_eq!(p.last_build.as_ref().unwrap().status, BuildStatus::Queued);
    }
}

#[tokio::test]
async fn secrets_are_names_only() {
    for era in ERAS {
        let r = rig(era).await;
        let page = r.c.secrets(&ListQuery::default()).await.unwrap();
        assert!(page.items.len() >= 13 * 2);
        // Every value the server sends in clear must be absent from what the client returns.
        let dump = format!("{page:?}");
        let mut n = 0;
        for a in r.raw_apps().await {
            let data = r.app_data(&a);
            for (k, v) in data["secrets"].as_object().unwrap() {
                n += 1;
                let v = v.as_str().unwrap();
                assert!(!dump.contains(v), "value of {k} leaked");
                let s = page
                    .items
                    .iter()
                    .find(|s| s.name == *k && s.id == format!("{}/{k}", a["id"].as_str().unwrap()))
                    .unwrap_or_else(|| panic!("secret {k}"));
                assert_eq!(s.environment.as_deref(), a["repo_name"].as_str());
            }
        }
        assert_eq!(n, page.items.len(), "{era}");
    }
}

/// R2: Jan needs `envName` on task/list: the application's environment (`default`, else the
/// first); Nov gets none (no environment known).
#[tokio::test]
async fn task_list_names_the_applications_environment() {
    for era in ERAS {
        let r = rig(era).await;
        for (name, env) in [("shop-api", "default"), ("docs-site", "prod")] {
            let app = r.app_id(name).await;
            // A cold client reads the application first.
            let c = r.client();
            let p = c.tasks_page(&app, 1, 10).await.unwrap();
            assert!(!p.items.is_empty(), "{era} {name}");
            assert!(p.items.iter().all(|b| b.project == name));
            let q = r
                .cap
                .hits()
                .into_iter()
                .rfind(|h| h.path.ends_with("task/list"))
                .unwrap()
                .query;
            let sent = q.contains(&format!("envName={env}"));
            assert_eq!(sent, era == Era::Jan, "{era}: {q}");
            assert_eq!(q.contains("envName"), era == Era::Jan, "{q}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks (R1, R9, R10, R11, R16)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn task_pages_with_totals_and_the_whole_history() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("shop-api").await;
        let mut ids = std::collections::HashSet::new();
        for (page, want, more) in [(1, 10, true), (2, 10, true), (3, 10, true), (4, 7, false)] {
            let p = r.c.tasks_page(&app, page, 10).await.unwrap();
            assert_eq!(p.items.len(), want);
            assert_eq!(p.total, Some(37), "a string totalCount (R1)");
            assert_eq!(p.has_more, more, "page {page}");
            ids.extend(p.items.into_iter().map(|b| b.id));
        }
        assert_eq!(ids.len(), 37);
        let q: Vec<String> = r
            .cap
            .hits()
            .iter()
            .filter(|h| h.path.ends_with("task/list"))
            .map(|h| h.query.clone())
            .collect();
        assert!(
            q[3].contains("currentPage=4") && q[3].contains("pageSize=10"),
            "{q:?}"
        );
        // pageSize never above 100 (R16).
        let p = r.c.tasks_page(&app, 1, 500).await.unwrap();
        assert_eq!((p.per_page, p.items.len()), (100, 37));
        let c = r.client().with_page_size(1000);
        assert_eq!(
            c.builds(&BuildScope::Project {
                id: app.clone(),
                name: "shop-api".into()
            })
            .await
            .unwrap()
            .len(),
            37
        );
        let last = r
            .cap
            .hits()
            .into_iter()
            .rfind(|h| h.path.ends_with("task/list"))
            .unwrap();
        assert!(last.query.contains("pageSize=100"), "{}", last.query);

        // The whole history, paged by 10: ⌈37/10⌉ = 4 requests; a running task on top.
        let running = r.launch(&app, &[("ref", "refs/heads/main")]).await;
        advance(&r.sim, 4.0).await;
        let c = r.client().with_page_size(10);
        c.login().await.unwrap();
        let before = r.cap.count("task/list");
        let all = c
            .builds(&BuildScope::Project {
                id: app.clone(),
                name: "shop-api".into(),
            })
            .await
            .unwrap();
        assert_eq!(r.cap.count("task/list") - before, 4);
        assert_eq!(all.len(), 38);
        let unique: std::collections::HashSet<_> = all.iter().map(|b| &b.id).collect();
        assert_eq!(unique.len(), 38);
        assert_eq!(all[0].id, running.id);
        assert_eq!(all[0].status, BuildStatus::Running);
        assert!(all.windows(2).all(|w| w[0].queued_at >= w[1].queued_at));
        // No repo_name or trigger_type on tasks (R11): the application's name stands in.
        assert!(
            all.iter()
                .all(|b| b.project == "shop-api" && b.project_id.as_deref() == Some(&app))
        );
        assert!(all[1..].iter().all(|b| b.trigger.is_none()));
    }
}

#[tokio::test]
async fn active_scope_lists_pending_and_running_tasks() {
    for era in ERAS {
        let r = rig(era).await;
        assert!(r.c.builds(&BuildScope::Active).await.unwrap().is_empty());
        let a = r.app_id("web-portal").await;
        let b = r.app_id("order-service").await;
        let t1 = r.launch(&a, &[("ref", "refs/heads/main")]).await;
        assert_eq!(t1.status, BuildStatus::Queued);
        assert_eq!(t1.raw_status, "pending");
        advance(&r.sim, 4.0).await;
        let t2 = r.launch(&b, &[("ref", "refs/heads/develop")]).await;
        let active = r.c.builds(&BuildScope::Active).await.unwrap();
        let got: Vec<(&str, BuildStatus)> =
            active.iter().map(|b| (b.id.as_str(), b.status)).collect();
        assert_eq!(
            got,
            [
                (t1.id.as_str(), BuildStatus::Running),
                (t2.id.as_str(), BuildStatus::Queued)
            ]
        );
        assert_eq!(active[0].project, "web-portal");
        advance(&r.sim, 200.0).await;
        assert!(r.c.builds(&BuildScope::Active).await.unwrap().is_empty());
    }
}

/// R10: `Set up task` first, opaque step ids; every ended step's whole log.
#[tokio::test]
async fn finished_task_detail_gives_every_step_and_its_log() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("shop-api").await;
        let page = r.c.tasks_page(&app, 1, 1).await.unwrap();
        let build = page.items[0].clone();
        assert_eq!(build.status, BuildStatus::Succeeded);
        assert!(build.finished_at.is_some());
        let (events, res) = Tail::start(&r.c, &build, false).finish().await;
        res.unwrap();
        let secs = sections(&events);
        let names: Vec<&str> = secs.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "Set up task",
                "Checkout",
                "Install",
                "Test",
                "Deploy",
                "Notify"
            ]
        );
        let counts = step_counts(&r.raw_task(&build.id).await);
        assert_eq!(counts[0], "0");
        assert_ne!(counts[1], "1", "opaque ids, not 1..n");
        for (i, s) in secs.iter().enumerate() {
            assert_eq!(s.1, StepStatus::Succeeded);
            let text = r.raw_log(&build.id, &counts[i]).await;
            assert_eq!(s.3, text_lines(&text), "step {}", s.0);
            assert_eq!(r.cap.log_fetches(&counts[i]), 1, "one fetch per step");
        }
        assert_eq!(
            events.last(),
            Some(&LogEvent::End {
                status: Some(BuildStatus::Succeeded)
            })
        );
    }
}

#[tokio::test]
async fn missing_logs_of_old_tasks_are_a_note_not_content() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("shop-api").await;
        let oldest = r.c.tasks_page(&app, 4, 10).await.unwrap().items;
        let build = oldest.last().unwrap().clone();
        let (events, res) = Tail::start(&r.c, &build, true).finish().await;
        res.unwrap();
        let secs = sections(&events);
        assert_eq!(secs.len(), 6);
        for s in &secs {
            assert_eq!(
                s.3,
                [format!("shipdeck: no log for step {}: {NO_SUCH_KEY}", s.0)]
            );
        }
        assert!(matches!(
            events.last(),
            Some(LogEvent::End { status: Some(_) })
        ));
    }
}

/// R9: following = polling task/get; a step's log is fetched once, after the step ended; the
/// running step shows a note instead.
#[tokio::test]
async fn following_a_task_fetches_each_log_once_its_step_ended() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("shop-api").await;
        let build = r
            .launch(
                &app,
                &[("ref", "refs/heads/main"), ("inputs", "REGION=cn-hangzhou")],
            )
            .await;
        let counts = step_counts(&r.raw_task(&build.id).await);
        let mut tail = Tail::start(&r.c, &build, true);
        r.step_clock(1.0).await;
        tail.drain();
        assert!(
            tail.events.is_empty(),
            "pending: nothing yet: {:?}",
            tail.events
        );
        // To the end in half seconds: no step's log is asked for while it runs.
        let mut seen_running = vec![false; counts.len()];
        for _ in 0..400 {
            advance(&r.sim, 0.5).await;
            let n = r.cap.count("task/get");
            wait_for("a poll", || {
                r.cap.count("task/get") >= n + 2 || tail.task.is_finished()
            })
            .await;
            if tail.task.is_finished() {
                break;
            }
            let task = r.raw_task(&build.id).await;
            for (i, s) in task["steps"].as_array().unwrap().iter().enumerate() {
                if matches!(s["status"].as_str(), Some("running" | "pending")) {
                    seen_running[i] |= s["status"] == "running";
                    assert_eq!(r.cap.log_fetches(&counts[i]), 0, "{era}: step {i} {s}");
                }
            }
        }
        assert!(seen_running.iter().all(|s| *s));
        let (events, res) = tail.finish().await;
        res.unwrap();
        assert_eq!(
            events.last(),
            Some(&LogEvent::End {
                status: Some(BuildStatus::Succeeded)
            })
        );
        let secs = sections(&events);
        assert_eq!(secs.len(), 6);
        for (i, s) in secs.iter().enumerate() {
            assert_eq!(s.1, StepStatus::Running, "{} seen running", s.0);
            assert_eq!(s.2, [StepStatus::Succeeded]);
            let mut want = vec![format!("shipdeck: step {} is running; {RUNNING_NOTE}", s.0)];
            want.extend(text_lines(&r.raw_log(&build.id, &counts[i]).await));
            assert_eq!(s.3, want, "step {}: the note, then the whole log", s.0);
        }
        assert!(secs[2].3.contains(&"input REGION=cn-hangzhou".to_string()));
    }
}

#[tokio::test]
async fn flaky_and_tolerant_step_statuses() {
    for era in ERAS {
        let r = rig(era).await;
        // Tolerant: Test → error-with-continue → Succeeded with a warning note; task succeeds.
        let app = r.app_id("search-tolerant").await;
        let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
        advance(&r.sim, 300.0).await;
        let (events, res) = Tail::start(&r.c, &b, false).finish().await;
        res.unwrap();
        let secs = sections(&events);
        assert_eq!(secs[3].0, "Test");
        assert_eq!(final_status(&secs[3]), StepStatus::Succeeded);
        assert!(
            secs[3]
                .3
                .last()
                .unwrap()
                .starts_with("shipdeck: ⚠ step Test failed; continue-on-error")
        );
        assert_eq!(
            events.last(),
            Some(&LogEvent::End {
                status: Some(BuildStatus::Succeeded)
            })
        );
        // Flaky: run until a task fails: Test Failed, Deploy Skipped (no log), Notify ran.
        let app = r.app_id("checkout-flaky").await;
        let mut failed = false;
        for _ in 0..3 {
            let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
            advance(&r.sim, 300.0).await;
            let (events, res) = Tail::start(&r.c, &b, false).finish().await;
            res.unwrap();
            if events.last()
                == Some(&LogEvent::End {
                    status: Some(BuildStatus::Failed),
                })
            {
                let secs = sections(&events);
                let st: Vec<StepStatus> = secs.iter().map(final_status).collect();
                assert_eq!(
                    st,
                    [
                        StepStatus::Succeeded,
                        StepStatus::Succeeded,
                        StepStatus::Succeeded,
                        StepStatus::Failed,
                        StepStatus::Skipped,
                        StepStatus::Succeeded
                    ]
                );
                assert!(secs[4].3.is_empty(), "skipped step has no log");
                assert!(!secs[5].3.is_empty());
                failed = true;
                break;
            }
        }
        assert!(
            failed,
            "{era}: no failing task in three launches of the flaky app"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch, redeploy, cancel (R12, R13, R17)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_options_and_dispatch_body() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("web-portal").await;
        let opts = r.c.launch_options(&app).await.unwrap();
        let names: Vec<&str> = opts.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["ref", "commit", "message", "inputs"]);
        assert!(opts.fields[0].required);
        assert_eq!(
            opts.fields[0].default.as_deref(),
            Some("refs/heads/main"),
            "the trigger's branch"
        );
        assert!(opts.fields[1..].iter().all(|f| !f.required));
        assert!(opts.fields[3].key_values);
        assert!(opts.skippable_steps.is_empty());

        let commit = "0123456789abcdef0123456789abcdef01234567";
        let b = r
            .launch(
                &app,
                &[
                    ("ref", "refs/tags/v1.4.0"),
                    ("commit", commit),
                    ("message", "release 1.4.0"),
                    ("inputs", "REGION=cn-hangzhou, DEBUG=1"),
                ],
            )
            .await;
        let posts: Vec<Hit> = r
            .cap
            .hits()
            .into_iter()
            .filter(|h| h.method == "POST")
            .collect();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].path, "/serverless-cd/api/flow/dispatch/manual");
        assert_eq!(
            posts[0].body,
            Some(
                json!({"appId": app, "ref": "refs/tags/v1.4.0", "commitId": commit,
                        "message": "release 1.4.0", "inputs": {"REGION": "cn-hangzhou", "DEBUG": "1"}})
            )
        );
        assert_eq!(b.status, BuildStatus::Queued);
        assert_eq!(b.project, "web-portal");
        assert_eq!(b.project_id.as_deref(), Some(app.as_str()));
        assert_eq!(b.trigger.as_deref(), Some("manual"));
        // Message, ref and commit each in their own field (their own columns).
        assert_eq!(b.message.as_deref(), Some("release 1.4.0"));
        assert_eq!(b.git_ref.as_deref(), Some("refs/tags/v1.4.0"));
        assert!(b.commit.as_deref().unwrap().starts_with("0123456"));
        assert_eq!(b.commit_label().as_deref(), Some("tag:v1.4.0@0123456"));
        // Optional fields left empty are not sent.
        r.launch(
            &app,
            &[("ref", "refs/heads/main"), ("commit", ""), ("inputs", " ")],
        )
        .await;
        let last = r
            .cap
            .hits()
            .into_iter()
            .rfind(|h| h.method == "POST")
            .unwrap();
        assert_eq!(
            last.body,
            Some(json!({"appId": app, "ref": "refs/heads/main"}))
        );
    }
}

/// R12: an empty ref is never sent: the trigger's branch, else the operator is asked.
#[tokio::test]
async fn an_empty_ref_becomes_the_trigger_branch_or_a_question() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("web-portal").await;
        let b = r.launch(&app, &[("ref", " ")]).await;
        let post = r
            .cap
            .hits()
            .into_iter()
            .rfind(|h| h.method == "POST")
            .unwrap();
        assert_eq!(
            post.body,
            Some(json!({"appId": app, "ref": "refs/heads/main"}))
        );
        assert_eq!(b.git_ref.as_deref(), Some("refs/heads/main"));
        // An application whose trigger names no branch.
        let v: Value = reqwest::Client::new()
            .post(format!(
                "{}/api/flow/application/create",
                r.sim.url("serverless-cd")
            ))
            .header("cd_token", DEMO_TOKEN)
            .json(
                &json!({"repo": "no-branch", "owner": "acme", "repo_url": "u",
                "provider_repo_id": "900", "provider": "github",
                "trigger_spec": {"github": {"events": [{"eventName": "push"}]}}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["data"]["id"].as_str().unwrap();
        let c = r.client();
        let opts = c.launch_options(id).await.unwrap();
        assert_eq!(opts.fields[0].default, None, "nothing invented");
        let before = r.cap.count("dispatch/manual");
        let e = c.launch(&Rig::launch_req(id, &[])).await.unwrap_err();
        assert!(
            matches!(&e, ApiError::Rejected { status: 0, message } if message.contains("enter a ref")),
            "{e:?}"
        );
        assert_eq!(r.cap.count("dispatch/manual"), before, "nothing sent");
    }
}

/// R17: a dispatch without an answer has an unknown outcome and is never retried.
#[tokio::test]
async fn dispatch_is_never_retried() {
    for era in ERAS {
        let r = rig_opts(era, DEMO_TOKEN, false, Duration::from_secs(1)).await;
        let app = r.app_id("web-portal").await;
        let req = Rig::launch_req(&app, &[("ref", "refs/heads/main")]);
        set_faults(&r.sim, json!({"serverless-cd.reset_rate": 1})).await;
        let e = r.c.launch(&req).await.unwrap_err();
        assert!(
            matches!(&e, ApiError::Network(m) if m.contains("unknown outcome — check the task list")),
            "{e:?}"
        );
        assert_eq!(r.cap.count("dispatch/manual"), 1);
        // No answer at all: the same, after one timeout.
        set_faults(&r.sim, json!({"serverless-cd.hang_rate": 1})).await;
        let e = r.c.launch(&req).await.unwrap_err();
        assert!(
            matches!(&e, ApiError::Network(m) if m.contains("no answer within 1s") && m.contains("unknown outcome — check the task list")),
            "{e:?}"
        );
        assert_eq!(r.cap.count("dispatch/manual"), 2);
        // Rate limited: also not retried.
        set_faults(&r.sim, json!({"serverless-cd.rate_limit": 1})).await;
        let e = r.c.launch(&req).await.unwrap_err();
        assert_eq!(e, ApiError::RateLimited);
        assert_eq!(r.cap.count("dispatch/manual"), 3);
    }
}

#[tokio::test]
async fn redeploy_runs_an_earlier_task_again() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("order-service").await;
        let old = r.c.tasks_page(&app, 1, 1).await.unwrap().items.remove(0);
        let b = r.c.redeploy(&old).await.unwrap();
        assert_ne!(b.id, old.id);
        assert_eq!(b.status, BuildStatus::Queued);
        assert_eq!(b.trigger, Some(format!("redeploy of {}", old.id)));
        assert_eq!(b.project, "order-service");
        assert_eq!(
            (&b.message, &b.git_ref, &b.commit),
            (&old.message, &old.git_ref, &old.commit),
            "same commit, ref and message"
        );
        let post = r
            .cap
            .hits()
            .into_iter()
            .find(|h| h.method == "POST")
            .unwrap();
        assert_eq!(post.path, "/serverless-cd/api/flow/dispatch/redeploy");
        assert_eq!(post.body, Some(json!({"taskId": old.id, "appId": app})));
    }
}

/// R13: "already finished" is decided from the task's status; nothing is sent then. R9: the
/// step cut by the cancel has no log.
#[tokio::test]
async fn cancel_running_then_already_finished() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("order-service").await;
        let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
        advance(&r.sim, 6.5).await;
        r.c.kill(&b).await.expect("cancel a running task");
        // Steps that ended before the cancel still get their log uploaded.
        advance(&r.sim, 5.0).await;
        let post = r
            .cap
            .hits()
            .into_iter()
            .rfind(|h| h.method == "POST")
            .unwrap();
        assert_eq!(post.path, "/serverless-cd/api/flow/dispatch/cancel");
        assert_eq!(post.body, Some(json!({"taskId": b.id})));
        let (events, res) = Tail::start(&r.c, &b, true).finish().await;
        res.unwrap();
        let secs = sections(&events);
        assert_eq!(final_status(&secs[0]), StepStatus::Succeeded);
        assert!(!secs[0].3.is_empty(), "Set up task ended: its log");
        assert_eq!(final_status(&secs[1]), StepStatus::Cancelled);
        assert!(
            secs[1].3.is_empty(),
            "the cancelled step has no log: {:?}",
            secs[1]
        );
        assert!(
            secs[2..]
                .iter()
                .all(|s| s.1 == StepStatus::Queued && s.3.is_empty())
        );
        assert_eq!(
            events.last(),
            Some(&LogEvent::End {
                status: Some(BuildStatus::Cancelled)
            })
        );
        let e = r.c.kill(&b).await.unwrap_err();
        assert!(
            matches!(&e, ApiError::Rejected { message, .. } if message.contains("has already finished (cancelled)")),
            "{e:?}"
        );
        assert_eq!(r.cap.count("dispatch/cancel"), 1, "not sent again");
    }
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fault_modes_surface_as_typed_errors() {
    for era in ERAS {
        let r = rig(era).await;
        r.c.login().await.unwrap();
        // error_rate: a SystemError envelope, HTTP 500 HTML, HTTP 502 (retried, then the next).
        set_faults(&r.sim, json!({"serverless-cd.error_rate": 1})).await;
        let mut seen = Vec::new();
        for _ in 0..3 {
            match r.c.projects(&ListQuery::default()).await.unwrap_err() {
                ApiError::Server { status, message } => seen.push((status, message)),
                e => panic!("{e:?}"),
            }
        }
        assert!(seen.contains(&(500, "SystemError".to_string())), "{seen:?}");
        assert!(
            seen.contains(&(500, "HTTP 500: Internal Server Error".to_string())),
            "{seen:?}"
        );
        // 429: retried (reads), then reported.
        set_faults(
            &r.sim,
            json!({"serverless-cd.rate_limit": 1, "retry_after": 0}),
        )
        .await;
        let n = r.cap.count("application/list");
        assert_eq!(
            r.c.projects(&ListQuery::default()).await.unwrap_err(),
            ApiError::RateLimited
        );
        assert_eq!(
            r.cap.count("application/list") - n,
            3,
            "fast policy: 3 tries"
        );
        // Malformed JSON.
        set_faults(&r.sim, json!({"serverless-cd.malformed_rate": 1})).await;
        assert!(matches!(
            r.c.projects(&ListQuery::default()).await.unwrap_err(),
            ApiError::Decode(_)
        ));
        // Reset.
        set_faults(&r.sim, json!({"serverless-cd.reset_rate": 1})).await;
        assert!(matches!(
            r.c.projects(&ListQuery::default()).await.unwrap_err(),
            ApiError::Network(_)
        ));
        clear_faults(&r.sim).await;
        assert_eq!(
            r.c.projects(&ListQuery::default())
                .await
                .unwrap()
                .items
                .len(),
            13
        );
    }
}

/// A cut log reply is fetched again (up to 3 times, the longest kept); failed polls while
/// following are retried.
#[tokio::test]
async fn cut_logs_are_fetched_again_and_failed_polls_retried() {
    for era in ERAS {
        let r = rig(era).await;
        let app = r.app_id("shop-api").await;
        let done = r.c.tasks_page(&app, 1, 1).await.unwrap().items.remove(0);
        let counts = step_counts(&r.raw_task(&done.id).await);
        set_faults(&r.sim, json!({"serverless-cd.truncate_rate": 1})).await;
        let (events, res) = Tail::start(&r.c, &done, false).finish().await;
        res.unwrap();
        clear_faults(&r.sim).await;
        for (i, s) in sections(&events).iter().enumerate() {
            assert_eq!(r.cap.log_fetches(&counts[i]), 3, "{era}: step {}", s.0);
            let want = text_lines(&r.raw_log(&done.id, &counts[i]).await);
            let (last, whole) = s.3.split_last().unwrap();
            assert_eq!(whole, &want[..whole.len()], "complete lines are true lines");
            assert!(want[whole.len()].starts_with(last.as_str()));
        }
        // Following a live task through server errors.
        let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
        let counts = step_counts(&r.raw_task(&b.id).await);
        let tail = Tail::start(&r.c, &b, true);
        set_faults(&r.sim, json!({"serverless-cd.error_rate": 0.3})).await;
        for _ in 0..10 {
            r.step_clock(1.0).await;
        }
        clear_faults(&r.sim).await;
        for _ in 0..200 {
            advance(&r.sim, 1.0).await;
            let n = r.cap.count("task/get");
            wait_for("a poll", || {
                r.cap.count("task/get") >= n + 2 || tail.task.is_finished()
            })
            .await;
            if tail.task.is_finished() {
                break;
            }
        }
        let (events, res) = tail.finish().await;
        res.unwrap();
        for (i, s) in sections(&events).iter().enumerate() {
            let want = text_lines(&r.raw_log(&b.id, &counts[i]).await);
            assert_eq!(
                s.3[s.3.len() - want.len()..],
                want[..],
                "{era}: step {}",
                s.0
            );
        }
        assert_eq!(
            events.last(),
            Some(&LogEvent::End {
                status: Some(BuildStatus::Succeeded)
            })
        );
    }
}
