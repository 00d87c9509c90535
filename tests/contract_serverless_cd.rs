//! The Serverless-cd client against the built-in simulator (manual clock) and, for shapes the
//! simulator's era does not produce (string codes, no code, a newer server's 404), a small stub
//! server: `shared/api/serverless-cd.md`.
//!
//! Every request goes through a capturing proxy (method, path, query, body, `cd_token`), so the
//! tests can check headers and bodies and wait for the client's next poll instead of sleeping.

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{advance, clear_faults, fast_policy, set_faults, start_sim};
use secrecy::SecretString;
use serde_json::{Value, json};
use shipdeck::api::http::Http;
use shipdeck::api::serverless_cd::ServerlessCd;
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::Credential;
use shipdeck::domain::{
    Build, BuildScope, BuildStatus, LaunchRequest, ListQuery, LogEvent, Resource, StepStatus,
};
use shipdeck::sim::SimHandle;
use shipdeck::sim::serverless_cd::{DEMO_TOKEN, EXPIRED_TOKEN};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

const POLL: Duration = Duration::from_millis(20);
const LOG_EXPIRED: &str = "The logs for this run have expired and are no longer available.";

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
}

struct CaptureState {
    client: reqwest::Client,
    target: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

async fn start_capture(target: String) -> Capture {
    shipdeck::api::http::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Mutex::new(Vec::new()));
    let st = Arc::new(CaptureState {
        client: reqwest::Client::new(),
        target,
        hits: hits.clone(),
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
        if n != header::HOST && n != header::CONTENT_LENGTH {
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
        .filter(|(n, _)| **n == header::CONTENT_TYPE || **n == header::RETRY_AFTER)
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

fn client_at(base: &str, token: &str, prefix: Option<&str>) -> ServerlessCd {
    let http = Http::with_base(base, Duration::from_secs(10), None, false)
        .unwrap()
        .with_policy(fast_policy());
    ServerlessCd::with_http(
        http,
        Credential::Inline(SecretString::from(token.to_string())),
        prefix,
    )
    .with_poll_interval(POLL)
}

struct Rig {
    sim: SimHandle,
    cap: Capture,
    c: Arc<ServerlessCd>,
}

async fn rig_with(token: &str) -> Rig {
    let sim = start_sim("").await;
    let cap = start_capture(sim.url("")).await;
    let c = Arc::new(client_at(
        &format!("{}/serverless-cd", cap.root),
        token,
        None,
    ));
    Rig { sim, cap, c }
}

async fn rig() -> Rig {
    rig_with(DEMO_TOKEN).await
}

impl Rig {
    async fn app_id(&self, name: &str) -> String {
        let page = self.c.projects(&ListQuery::default()).await.unwrap();
        page.items
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("project {name}"))
            .id
    }

    async fn launch(&self, app: &str, params: &[(&str, &str)]) -> Build {
        self.c
            .launch(&LaunchRequest {
                project_id: app.to_string(),
                skip_steps: Vec::new(),
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .await
            .expect("launch")
    }

    /// Raw `task/log` text (through the simulator directly).
    async fn raw_log(&self, task: &str, step: usize) -> Value {
        reqwest::Client::new()
            .get(format!(
                "{}/api/flow/task/log?taskId={task}&stepCount={step}",
                self.sim.url("serverless-cd")
            ))
            .header("cd_token", DEMO_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn raw_task(&self, task: &str) -> Value {
        let v: Value = reqwest::Client::new()
            .get(format!(
                "{}/api/flow/task/get?taskId={task}",
                self.sim.url("serverless-cd")
            ))
            .header("cd_token", DEMO_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"].clone()
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

    fn lines(&mut self) -> Vec<String> {
        self.drain();
        self.events
            .iter()
            .filter_map(|e| match e {
                LogEvent::Lines(l) => Some(l.clone()),
                _ => None,
            })
            .flatten()
            .collect()
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

/// Lines of each step's `Step … ` section: (name, status at Step, later statuses, lines).
fn sections(events: &[LogEvent]) -> Vec<(String, StepStatus, Vec<StepStatus>, Vec<String>)> {
    let mut out: Vec<(String, StepStatus, Vec<StepStatus>, Vec<String>)> = Vec::new();
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

fn final_status(s: &(String, StepStatus, Vec<StepStatus>, Vec<String>)) -> StepStatus {
    *s.2.last().unwrap_or(&s.1)
}

// ---------------------------------------------------------------------------------------------
// Authentication and errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_the_demo_token_and_capabilities() {
    let r = rig().await;
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

#[tokio::test]
async fn unknown_and_expired_tokens_are_auth_errors() {
    for (token, msg) in [
        ("nope-not-a-token", "token 不存在"),
        (EXPIRED_TOKEN, "token 已过期"),
    ] {
        let r = rig_with(token).await;
        let e = r.c.login().await.unwrap_err();
        let ApiError::Auth(text) = &e else {
            panic!("{e:?}")
        };
        assert!(text.starts_with(msg), "{text}");
        assert!(
            text.contains("token unknown / expired — create a new one under settings → Tokens")
        );
        assert!(
            text.contains("underscores_in_headers"),
            "proxy hint: {text}"
        );
        assert!(!text.contains(token), "the token never appears in errors");
        assert_eq!(e.exit_code(), 3);
        // Never retried: one request.
        assert_eq!(r.cap.hits().len(), 1);
        let e = r.c.builds(&BuildScope::Active).await.unwrap_err();
        assert!(matches!(e, ApiError::Auth(_)));
    }
}

#[tokio::test]
async fn tokens_expired_by_the_server_become_auth_errors() {
    let r = rig().await;
    r.c.login().await.unwrap();
    set_faults(&r.sim, json!({"serverless-cd.expire_tokens_at": "5s"})).await;
    advance(&r.sim, 6.0).await;
    let e = r.c.projects(&ListQuery::default()).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Auth(m) if m.starts_with("token 已过期")),
        "{e:?}"
    );
}

#[tokio::test]
async fn numeric_codes_classify_with_the_servers_message() {
    let r = rig().await;
    let fake = Build {
        id: "zzzzzzzzzzzzzzzz".into(),
        run_id: None,
        build_id: None,
        project_id: None,
        project: "x".into(),
        status: BuildStatus::Running,
        raw_status: "running".into(),
        exit_code: None,
        message: None,
        queued_at: None,
        started_at: None,
        finished_at: None,
        trigger: None,
    };
    // 400 → not found.
    assert_eq!(
        r.c.kill(&fake).await.unwrap_err(),
        ApiError::NotFound("没有查到部署信息".into())
    );
    // 424 → rejected, message verbatim.
    let app = r.app_id("web-portal").await;
    let e =
        r.c.launch(&LaunchRequest {
            project_id: app.clone(),
            skip_steps: vec![],
            params: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::Rejected {
            status: 424,
            message: "ref 必填".into()
        }
    );
    // 400 with the unknown-ref text.
    let e =
        r.c.launch(&LaunchRequest {
            project_id: app,
            skip_steps: vec![],
            params: vec![("ref".into(), "refs/heads/nope".into())],
        })
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::NotFound("ref refs/heads/nope not found".into())
    );
    // 401 on another user's application is a refusal, not a token problem.
    let foreign = shipdeck::sim::serverless_cd::foreign_app_id(1);
    let e = r.c.launch_options(&foreign).await.unwrap_err();
    assert_eq!(e, ApiError::Forbidden("无权操作此应用".into()));
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
    let b = Build {
        id: "t1".into(),
        run_id: None,
        build_id: None,
        project_id: Some("a".into()),
        project: "a".into(),
        status: BuildStatus::Running,
        raw_status: "running".into(),
        exit_code: None,
        message: None,
        queued_at: None,
        started_at: None,
        finished_at: None,
        trigger: None,
    };
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
        matches!(c.kill(&b).await.unwrap_err(), ApiError::Auth(m) if m.starts_with("token 不存在"))
    );
    // …anything else is a server error with the message verbatim.
    assert_eq!(
        c.redeploy(&b).await.unwrap_err(),
        ApiError::Server {
            status: 500,
            message: "AppId is empty".into()
        }
    );
}

#[tokio::test]
async fn a_newer_server_is_reported_as_unsupported() {
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
    // The simulator's own 404 for a prefix it does not serve: a clear not-found.
    let sim = start_sim("").await;
    let c = client_at(&sim.url("serverless-cd"), DEMO_TOKEN, Some("/api/v9"));
    let e = c.login().await.unwrap_err();
    assert!(
        matches!(&e, ApiError::NotFound(m) if m.contains("Cannot GET /api/v9/application/list") && m.contains("route_prefix")),
        "{e:?}"
    );
    // The `/api` alias the simulator serves works as a route prefix.
    let c = client_at(&sim.url("serverless-cd"), DEMO_TOKEN, Some("/api"));
    assert!(c.login().await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Applications and secrets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn applications_map_to_projects() {
    let r = rig().await;
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
    }
    // last_build follows the latest task.
    let app = r.app_id("shop-api").await;
    r.launch(&app, &[("ref", "refs/heads/main")]).await;
    let page = r.c.projects(&ListQuery::default()).await.unwrap();
    let p = page.items.iter().find(|p| p.id == app).unwrap();
    assert_eq!(p.last_build.as_ref().unwrap().status, BuildStatus::Queued);
}

#[tokio::test]
async fn secrets_are_names_only() {
    let r = rig().await;
    let page = r.c.secrets(&ListQuery::default()).await.unwrap();
    assert!(page.items.len() >= 13 * 2);
    // Every value the server sends in clear must be absent from what the client returns.
    let apps: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/flow/application/list",
            r.sim.url("serverless-cd")
        ))
        .header("cd_token", DEMO_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dump = format!("{page:?}");
    let mut n = 0;
    for a in apps["data"].as_array().unwrap() {
        for (k, v) in a["secrets"].as_object().unwrap() {
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
    assert_eq!(n, page.items.len());
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn task_pages_with_totals_and_the_whole_history() {
    let r = rig().await;
    let app = r.app_id("shop-api").await;
    let mut ids = std::collections::HashSet::new();
    for (page, want, more) in [(1, 10, true), (2, 10, true), (3, 10, true), (4, 7, false)] {
        let p = r.c.tasks_page(&app, page, 10).await.unwrap();
        assert_eq!(p.items.len(), want);
        assert_eq!(p.total, Some(37));
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

    // The whole history, paged by 10: ⌈37/10⌉ = 4 requests; a running task on top.
    let running = r.launch(&app, &[("ref", "refs/heads/main")]).await;
    advance(&r.sim, 4.0).await;
    let c =
        client_at(&format!("{}/serverless-cd", r.cap.root), DEMO_TOKEN, None).with_page_size(10);
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
    assert!(
        all.iter()
            .all(|b| b.project == "shop-api" && b.project_id.as_deref() == Some(&app))
    );
}

#[tokio::test]
async fn active_scope_lists_pending_and_running_tasks() {
    let r = rig().await;
    assert!(r.c.builds(&BuildScope::Active).await.unwrap().is_empty());
    let a = r.app_id("web-portal").await;
    let b = r.app_id("order-service").await;
    let t1 = r.launch(&a, &[("ref", "refs/heads/main")]).await;
    assert_eq!(t1.status, BuildStatus::Queued);
    assert_eq!(t1.raw_status, "pending");
    advance(&r.sim, 4.0).await;
    let t2 = r.launch(&b, &[("ref", "refs/heads/develop")]).await;
    let active = r.c.builds(&BuildScope::Active).await.unwrap();
    let got: Vec<(&str, BuildStatus)> = active.iter().map(|b| (b.id.as_str(), b.status)).collect();
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

#[tokio::test]
async fn finished_task_detail_gives_every_step_and_its_log() {
    let r = rig().await;
    let app = r.app_id("shop-api").await;
    let page = r.c.tasks_page(&app, 1, 1).await.unwrap();
    let build = page.items[0].clone();
    assert_eq!(build.status, BuildStatus::Succeeded);
    assert!(build.finished_at.is_some());
    let (events, res) = Tail::start(&r.c, &build, false).finish().await;
    res.unwrap();
    let secs = sections(&events);
    let names: Vec<&str> = secs.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["Checkout", "Install", "Test", "Deploy", "Notify"]);
    for (i, s) in secs.iter().enumerate() {
        assert_eq!(s.1, StepStatus::Succeeded);
        let raw = r.raw_log(&build.id, i + 1).await;
        let text = raw["data"].as_str().unwrap();
        let want: Vec<&str> = text.strip_suffix('\n').unwrap().split('\n').collect();
        assert_eq!(s.3, want, "step {}", s.0);
    }
    assert_eq!(
        events.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Succeeded)
        })
    );
}

#[tokio::test]
async fn expired_logs_are_a_note_not_content() {
    let r = rig().await;
    let app = r.app_id("shop-api").await;
    let oldest = r.c.tasks_page(&app, 4, 10).await.unwrap().items;
    let build = oldest.last().unwrap().clone();
    let (events, res) = Tail::start(&r.c, &build, true).finish().await;
    res.unwrap();
    let secs = sections(&events);
    assert_eq!(secs.len(), 5);
    for s in &secs {
        assert_eq!(
            s.3,
            [format!("shipdeck: no log for step {}: {LOG_EXPIRED}", s.0)]
        );
    }
    assert!(matches!(
        events.last(),
        Some(LogEvent::End { status: Some(_) })
    ));
}

#[tokio::test]
async fn step_logs_grow_while_running_and_end_with_the_status() {
    let r = rig().await;
    let app = r.app_id("shop-api").await;
    let build = r
        .launch(
            &app,
            &[("ref", "refs/heads/main"), ("inputs", "REGION=cn-hangzhou")],
        )
        .await;
    let mut tail = Tail::start(&r.c, &build, true);
    r.step_clock(1.0).await;
    tail.drain();
    assert!(
        tail.events.is_empty(),
        "pending: nothing yet: {:?}",
        tail.events
    );
    r.step_clock(2.5).await; // running, Checkout started, no log for 1 s
    r.step_clock(1.0).await; // 1.5 s into Checkout: 3 lines
    let first = tail.lines();
    assert!(!first.is_empty());
    assert_eq!(
        tail.events[0],
        LogEvent::Step {
            name: "Checkout".into(),
            status: StepStatus::Running
        }
    );
    r.step_clock(1.0).await;
    let second = tail.lines();
    assert!(second.len() > first.len(), "{first:?} → {second:?}");
    assert_eq!(
        &second[..first.len()],
        &first[..],
        "only new lines are appended"
    );
    // To the end, in steps of 2 s so that every step is seen running.
    for _ in 0..60 {
        advance(&r.sim, 2.0).await;
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
    assert_eq!(
        events.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Succeeded)
        })
    );
    let secs = sections(&events);
    assert_eq!(secs.len(), 5);
    for (i, s) in secs.iter().enumerate() {
        assert_eq!(s.1, StepStatus::Running, "{} seen running", s.0);
        assert_eq!(s.2, [StepStatus::Succeeded]);
        let text = r.raw_log(&build.id, i + 1).await["data"]
            .as_str()
            .unwrap()
            .to_string();
        let want: Vec<&str> = text.strip_suffix('\n').unwrap().split('\n').collect();
        assert_eq!(s.3, want, "step {}: no line lost or repeated", s.0);
    }
    assert!(secs[1].3.contains(&"input REGION=cn-hangzhou".to_string()));
}

#[tokio::test]
async fn flaky_and_tolerant_step_statuses() {
    let r = rig().await;
    // Tolerant: Test → error-with-continue → Succeeded with a warning note; task succeeds.
    let app = r.app_id("search-tolerant").await;
    let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
    advance(&r.sim, 300.0).await;
    let (events, res) = Tail::start(&r.c, &b, false).finish().await;
    res.unwrap();
    let secs = sections(&events);
    assert_eq!(final_status(&secs[2]), StepStatus::Succeeded);
    assert!(
        secs[2]
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
                    StepStatus::Failed,
                    StepStatus::Skipped,
                    StepStatus::Succeeded
                ]
            );
            assert!(secs[3].3.is_empty(), "skipped step has no log");
            assert!(!secs[4].3.is_empty());
            return;
        }
    }
    panic!("no failing task in three launches of the flaky application");
}

// ---------------------------------------------------------------------------------------------
// Dispatch, redeploy, cancel
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_options_and_dispatch_body() {
    let r = rig().await;
    let app = r.app_id("web-portal").await;
    let opts = r.c.launch_options(&app).await.unwrap();
    let names: Vec<&str> = opts.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["ref", "commit", "message", "inputs"]);
    assert!(
        opts.fields[0].required
            && opts.fields[0]
                .default
                .as_deref()
                .is_some_and(|d| d.starts_with("refs/"))
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
    assert!(
        b.message
            .as_deref()
            .unwrap()
            .starts_with("release 1.4.0 (refs/tags/v1.4.0 @ 0123456)")
    );
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

#[tokio::test]
async fn dispatch_is_never_retried() {
    let r = rig().await;
    let app = r.app_id("web-portal").await;
    set_faults(&r.sim, json!({"serverless-cd.reset_rate": 1})).await;
    let e =
        r.c.launch(&LaunchRequest {
            project_id: app.clone(),
            skip_steps: vec![],
            params: vec![("ref".into(), "refs/heads/main".into())],
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
    assert_eq!(r.cap.count("dispatch/manual"), 1);
    // Rate limited: also not retried.
    set_faults(&r.sim, json!({"serverless-cd.rate_limit": 1})).await;
    let e =
        r.c.launch(&LaunchRequest {
            project_id: app,
            skip_steps: vec![],
            params: vec![("ref".into(), "refs/heads/main".into())],
        })
        .await
        .unwrap_err();
    assert_eq!(e, ApiError::RateLimited);
    assert_eq!(r.cap.count("dispatch/manual"), 2);
}

#[tokio::test]
async fn redeploy_runs_an_earlier_task_again() {
    let r = rig().await;
    let app = r.app_id("order-service").await;
    let old = r.c.tasks_page(&app, 1, 1).await.unwrap().items.remove(0);
    let b = r.c.redeploy(&old).await.unwrap();
    assert_ne!(b.id, old.id);
    assert_eq!(b.status, BuildStatus::Queued);
    assert_eq!(b.trigger, Some(format!("redeploy of {}", old.id)));
    assert_eq!(b.project, "order-service");
    assert_eq!(b.message, old.message, "same commit, ref and message");
    let post = r
        .cap
        .hits()
        .into_iter()
        .find(|h| h.method == "POST")
        .unwrap();
    assert_eq!(post.path, "/serverless-cd/api/flow/dispatch/redeploy");
    assert_eq!(post.body, Some(json!({"taskId": old.id, "appId": app})));
}

#[tokio::test]
async fn cancel_running_then_already_stopped() {
    let r = rig().await;
    let app = r.app_id("order-service").await;
    let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
    advance(&r.sim, 6.0).await;
    r.c.kill(&b).await.expect("cancel a running task");
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
    assert_eq!(final_status(&secs[0]), StepStatus::Cancelled);
    assert!(
        !secs[0].3.is_empty(),
        "the cancelled step keeps its log so far"
    );
    assert!(
        secs[1..]
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
    assert_eq!(
        e,
        ApiError::Rejected {
            status: 424,
            message: "任务运行已经被停止".into()
        }
    );
    assert!(e.to_string().contains("任务运行已经被停止"));
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fault_modes_surface_as_typed_errors() {
    let r = rig().await;
    // error_rate: HTTP 200 SystemError, HTTP 500 HTML, HTTP 502 (retried, then the next).
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

#[tokio::test]
async fn truncated_step_logs_never_show_partial_lines() {
    let r = rig().await;
    let app = r.app_id("shop-api").await;
    let b = r.launch(&app, &[("ref", "refs/heads/main")]).await;
    let mut tail = Tail::start(&r.c, &b, true);
    r.step_clock(4.0).await;
    // While Checkout runs, every log reply is cut mid-line. Faults are cleared before each
    // clock move, so the step's final fetch (once it ends) is never cut.
    let mut polls_cut = 0;
    loop {
        clear_faults(&r.sim).await;
        advance(&r.sim, 0.5).await;
        let task = r.raw_task(&b.id).await;
        if task["steps"][0]["status"] != "running" {
            break;
        }
        set_faults(&r.sim, json!({"serverless-cd.truncate_rate": 1})).await;
        let n = r.cap.count("task/log");
        wait_for("two cut log replies", || r.cap.count("task/log") >= n + 2).await;
        polls_cut += 1;
    }
    assert!(polls_cut >= 1);
    let cut_phase = tail.lines();
    // Errors while following are retried, too.
    set_faults(&r.sim, json!({"serverless-cd.error_rate": 0.3})).await;
    for _ in 0..10 {
        r.step_clock(1.0).await;
    }
    clear_faults(&r.sim).await;
    advance(&r.sim, 300.0).await;
    let (events, res) = tail.finish().await;
    res.unwrap();
    let secs = sections(&events);
    let text = r.raw_log(&b.id, 1).await["data"]
        .as_str()
        .unwrap()
        .to_string();
    let want: Vec<&str> = text.strip_suffix('\n').unwrap().split('\n').collect();
    assert_eq!(secs[0].3, want);
    assert!(
        cut_phase.iter().all(|l| want.contains(&l.as_str())),
        "{cut_phase:?}"
    );
    assert_eq!(
        events.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Succeeded)
        })
    );
}
