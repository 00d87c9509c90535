//! The Candor client against the built-in simulator (`shared/api/candor.md`): cookie login and
//! re-login when the cookie silently expires, public vs private pipelines, pipelines and runs
//! mapped to projects and builds, run logs with their sentinels, archives streamed to disk, the
//! trigger's outcomes, the runner (health, ad-hoc runs, byte-range tail, auth), `runner_down`
//! and faults.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{advance, clear_faults, fast_policy, set_faults, start_sim};
use serde_json::json;
use shipdeck::api::candor::{Candor, RunnerJobState};
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::{Credential, Profile};
use shipdeck::domain::{
    Build, BuildScope, BuildStatus, Kind, LaunchRequest, ListQuery, LogEvent, Resource, StepStatus,
};
use shipdeck::sim::SimHandle;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const TOKEN: &str = "runner-demo-token";

fn q() -> ListQuery {
    ListQuery {
        page: 1,
        per_page: 50,
        filter: None,
        sort: None,
    }
}

fn client_on(dash: &str, runner: &str, user: Option<&str>) -> Candor {
    Candor::for_test(
        dash,
        user.map(|u| (u, u)),
        Some((runner, TOKEN)),
        fast_policy(),
    )
    .expect("client")
    .with_poll_interval(Duration::from_millis(10))
}

fn demo(h: &SimHandle) -> Candor {
    client_on(&h.url("candor"), &h.url("candor-runner"), Some("demouser"))
}

fn project(id: &str) -> BuildScope {
    BuildScope::Project {
        id: id.into(),
        name: String::new(),
    }
}

async fn set_options(h: &SimHandle, v: serde_json::Value) {
    let r = reqwest::Client::new()
        .put(h.url("__sim/candor/options"))
        .json(&v)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// A proxy that forwards every header both ways (cookies included), records `METHOD path`,
/// and can answer some requests itself (Express route misses for the fallback tests).
struct Proxy {
    root: String,
    hits: Arc<Mutex<Vec<String>>>,
}

type Rule = Arc<dyn Fn(&Method, &str) -> Option<Response> + Send + Sync>;

struct ProxyState {
    client: reqwest::Client,
    target: String,
    hits: Arc<Mutex<Vec<String>>>,
    rule: Rule,
}

impl Proxy {
    fn url(&self, prefix: &str) -> String {
        format!("{}/{prefix}", self.root)
    }
    fn count(&self, part: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.contains(part))
            .count()
    }
}

fn route_miss(m: &Method, path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!DOCTYPE html>\n<html><body>\n<pre>Cannot {m} {path}</pre>\n</body></html>\n"),
    )
        .into_response()
}

async fn start_proxy(h: &SimHandle, rule: Rule) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Mutex::new(Vec::new()));
    shipdeck::api::http::install_crypto_provider();
    let st = Arc::new(ProxyState {
        client: reqwest::Client::new(),
        target: h.url(""),
        hits: hits.clone(),
        rule,
    });
    let app = axum::Router::new().fallback(forward).with_state(st);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Proxy {
        root: format!("http://{addr}"),
        hits,
    }
}

async fn forward(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    st.hits
        .lock()
        .unwrap()
        .push(format!("{} {path}", parts.method));
    if let Some(r) = (st.rule)(&parts.method, &path) {
        return r;
    }
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
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    };
    let status = resp.status();
    let headers: Vec<(header::HeaderName, HeaderValue)> = resp
        .headers()
        .iter()
        .filter(|(n, _)| **n != header::CONTENT_LENGTH && **n != header::TRANSFER_ENCODING)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let body = resp.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (n, v) in headers {
        out.headers_mut().append(n, v);
    }
    out
}

fn no_rule() -> Rule {
    Arc::new(|_, _| None)
}

/// Collect a tail's events until it returns.
async fn tail(c: &Candor, b: &Build, follow: bool) -> (Result<(), ApiError>, Vec<LogEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let res = c.tail_log(b, follow, tx).await;
    let mut evs = Vec::new();
    while let Ok(e) = rx.try_recv() {
        evs.push(e);
    }
    (res, evs)
}

fn lines_of(evs: &[LogEvent]) -> Vec<String> {
    evs.iter()
        .filter_map(|e| match e {
            LogEvent::Lines(l) => Some(l.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The state each step ends in: its header's, changed by `StepStatus` events while current.
fn final_steps(evs: &[LogEvent]) -> Vec<StepStatus> {
    let mut out: Vec<StepStatus> = Vec::new();
    for e in evs {
        match e {
            LogEvent::Step { status, .. } => out.push(*status),
            LogEvent::StepStatus(st) => {
                if let Some(last) = out.last_mut() {
                    *last = *st;
                }
            }
            _ => {}
        }
    }
    out
}

fn steps_of(evs: &[LogEvent]) -> Vec<(String, StepStatus)> {
    evs.iter()
        .filter_map(|e| match e {
            LogEvent::Step { name, status } => Some((name.clone(), *status)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn login_names_the_user_and_capabilities_are_honest() {
    let h = start_sim("").await;
    let mut profile = Profile::new(
        "c",
        Kind::Candor,
        url::Url::parse(&h.url("candor")).unwrap(),
    );
    profile.username = Some("demouser".into());
    profile.password = Some(Credential::Inline("demouser".to_string().into()));
    profile.runner_url = Some(url::Url::parse(&h.url("candor-runner")).unwrap());
    profile.runner_token = Some(Credential::Inline(TOKEN.to_string().into()));
    let c = shipdeck::api::connect(&profile).expect("connect");
    assert_eq!(c.kind(), Kind::Candor);
    let s = c.login().await.expect("login");
    assert_eq!(
        (s.user.id.as_str(), s.user.name.as_str()),
        ("1", "demouser")
    );
    assert!(s.caps.list(Resource::Projects).is_some());
    assert!(s.caps.list(Resource::Developers).is_some());
    assert!(s.caps.list(Resource::Secrets).is_none());
    assert_eq!(
        s.caps.why_not(Resource::Secrets),
        "Candor has no secret API"
    );
    assert!(s.caps.builds.list && s.caps.builds.launch && s.caps.builds.logs);
    assert!(s.caps.builds.live_logs, "a runner is configured");
    assert!(!s.caps.builds.kill && !s.caps.builds.skip_steps && !s.caps.builds.redeploy);
    assert!(c.secrets(&q()).await.is_err());

    // Without a runner: no live logs, runner methods say why.
    let bare = Candor::for_test(
        &h.url("candor"),
        Some(("demouser", "demouser")),
        None,
        fast_policy(),
    )
    .unwrap();
    assert!(!bare.login().await.unwrap().caps.builds.live_logs);
    assert!(matches!(
        bare.runner_health().await,
        Err(ApiError::Unsupported(_))
    ));
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_password() {
    let h = start_sim("").await;
    let c = Candor::for_test(
        &h.url("candor"),
        Some(("demouser", "s3cr3t-wrong")),
        None,
        fast_policy(),
    )
    .unwrap();
    let e = c.login().await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Auth(m) if m.contains("wrong username or password") && m.contains("Unauthorized")),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 3);
    assert!(!e.to_string().contains("s3cr3t"));
    assert!(!format!("{c:?}").contains("s3cr3t"));
    // Every call fails the same way, none panics.
    assert!(matches!(c.projects(&q()).await, Err(ApiError::Auth(_))));
}

#[tokio::test]
async fn expired_cookie_logs_in_again_once_and_replays() {
    let h = start_sim("candor.token_ttl=30s").await;
    let p = start_proxy(&h, no_rule()).await;
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"));
    let b = c
        .builds(&project("5"))
        .await
        .expect("private pipeline while logged in");
    assert!(!b.is_empty());
    assert_eq!(p.count("/login"), 1);

    // The cookie expires on the server: a private pipeline turns 403 (not 401).
    advance(&h, 31.0).await;
    let b2 = c.builds(&project("5")).await.expect("re-login and replay");
    assert_eq!(b2.len(), b.len());
    assert_eq!(p.count("/login"), 2, "one more login");

    // The list silently hides private pipelines: the client notices and logs in again.
    advance(&h, 31.0).await;
    let names: Vec<String> = c
        .projects(&q())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(names, ["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(p.count("/login"), 3);

    // A public pipeline still answers 200 with an expired cookie: no login needed for it.
    advance(&h, 31.0).await;
    c.builds(&project("2")).await.unwrap();
    assert_eq!(p.count("/login"), 3);

    // /me is checked every `me_check` interval.
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"))
        .with_me_check_interval(Duration::ZERO);
    c.projects(&q()).await.unwrap();
    let before = p.count("GET /candor/me");
    c.projects(&q()).await.unwrap();
    assert_eq!(p.count("GET /candor/me"), before + 1);

    // A 403 on a pipeline never visible is shown, not retried with a login.
    let viewer = client_on(&p.url("candor"), &p.url("candor-runner"), Some("viewer"));
    let logins = p.count("/login");
    assert!(
        matches!(viewer.builds(&project("5")).await, Err(ApiError::Forbidden(m)) if m.contains("Forbidden"))
    );
    assert_eq!(p.count("/login"), logins + 1, "only the first login");
}

#[tokio::test]
async fn anonymous_sees_public_pipelines_and_403_on_private_ones() {
    let h = start_sim("").await;
    let c = client_on(&h.url("candor"), &h.url("candor-runner"), None);
    let ids: Vec<String> = c
        .projects(&q())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert!(matches!(
        c.builds(&project("5")).await,
        Err(ApiError::Forbidden(_))
    ));
    assert!(matches!(
        c.builds(&project("42")).await,
        Err(ApiError::NotFound(_))
    ));
    assert_eq!(c.builds(&project("2")).await.unwrap().len(), 5);
    assert!(!c.login().await.unwrap().caps.builds.launch);
}

#[tokio::test]
async fn pipelines_and_runs_map_to_projects_and_builds() {
    let h = start_sim("").await;
    let c = demo(&h);
    let projects = c.projects(&q()).await.unwrap();
    assert!(!projects.has_more);
    let by_name = |n: &str| projects.items.iter().find(|p| p.name == n).unwrap().clone();
    assert!(by_name("hello-world").last_build.is_none(), "never run");
    let integ = by_name("integration").last_build.unwrap();
    assert_eq!(integ.status, BuildStatus::Failed);
    assert_eq!(integ.raw, "Failed (Passed, Failed, Skipped)");
    assert!(integ.at.is_some(), "from lastFailure");
    assert_eq!(integ.message.as_deref(), Some("stage 2/3 failed"));

    let runs = c.builds(&project("3")).await.unwrap();
    assert_eq!(runs.len(), 5, "the detail's last 5");
    let r = &runs[0];
    assert_eq!((r.status, r.exit_code), (BuildStatus::Failed, Some(1)));
    assert_eq!(
        r.message.as_deref(),
        Some("stage 2/3 `test` failed: exit 1")
    );
    assert_eq!(r.project, "integration");
    assert!(r.started_at.unwrap() < r.finished_at.unwrap());
    assert!(
        runs.windows(2)
            .all(|w| w[0].finished_at >= w[1].finished_at)
    );

    let e2e = c.builds(&project("7")).await.unwrap();
    assert_eq!(e2e[0].exit_code, Some(-3));
    assert!(
        e2e[0]
            .message
            .as_deref()
            .unwrap()
            .contains("stage timeout (-3)")
    );

    let devs = c.developers(&q()).await.unwrap().items;
    let demo_dev = devs.iter().find(|d| d.username == "demouser").unwrap();
    assert_eq!(demo_dev.id, "1");
    assert_eq!(
        demo_dev.roles.len(),
        5,
        "assigned to five pipelines: {:?}",
        demo_dev.roles
    );
}

#[tokio::test]
async fn finished_logs_become_named_steps_and_sentinels_become_errors() {
    let h = start_sim("").await;
    let c = demo(&h);
    let runs = c.builds(&project("3")).await.unwrap();
    let (res, evs) = tail(&c, &runs[0], false).await;
    res.unwrap();
    assert_eq!(
        steps_of(&evs),
        [
            ("setup".to_string(), StepStatus::Succeeded),
            ("test".to_string(), StepStatus::Failed),
            ("teardown".to_string(), StepStatus::Skipped),
        ]
    );
    let lines = lines_of(&evs);
    assert!(
        lines.iter().all(|l| !l.starts_with("****")),
        "headers are steps"
    );
    assert_eq!(lines.last().map(String::as_str), Some("Skipped"));
    assert_eq!(
        evs.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Failed)
        })
    );

    // The run whose runner log was deleted: a 200 sentinel, not content.
    let lint = c.builds(&project("1")).await.unwrap();
    let (res, evs) = tail(&c, &lint[1], false).await;
    assert!(
        matches!(&res, Err(ApiError::NotFound(m)) if m.contains("No log could be found (deleted on server)")),
        "{res:?}"
    );
    assert!(lines_of(&evs).is_empty());

    // Any other runner failure: `An error occurred` with 200, retried, then an error.
    set_faults(&h, json!({"candor.runner_down": true})).await;
    let (res, evs) = tail(&c, &lint[0], false).await;
    assert!(
        matches!(&res, Err(ApiError::Server { message, .. }) if message.contains("An error occurred")),
        "{res:?}"
    );
    assert!(lines_of(&evs).is_empty());
    clear_faults(&h).await;
    let (res, evs) = tail(&c, &lint[0], false).await;
    res.unwrap();
    assert_eq!(steps_of(&evs)[0].0, "lint");

    // A bare run id (no pipeline): found among the visible pipelines' last runs.
    let fresh = demo(&h);
    let mut bare = runs[0].clone();
    bare.project_id = None;
    bare.status = BuildStatus::Unknown;
    let (res, evs) = tail(&fresh, &bare, false).await;
    res.unwrap();
    assert_eq!(steps_of(&evs).len(), 3);
    assert_eq!(
        evs.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Failed)
        })
    );
    bare.id = "0000beef".into();
    bare.build_id = Some("0000beef".into());
    assert!(matches!(
        tail(&fresh, &bare, false).await.0,
        Err(ApiError::NotFound(_))
    ));

    // No such run: 404 with its words.
    let mut ghost = lint[0].clone();
    ghost.id = "deadbeef".into();
    ghost.build_id = Some("deadbeef".into());
    let (res, _) = tail(&c, &ghost, false).await;
    assert!(matches!(&res, Err(ApiError::NotFound(m)) if m.contains("No log could be found")));
}

#[tokio::test]
async fn launch_reports_started_already_running_and_constraints_not_met() {
    let h = start_sim("").await;
    let c = demo(&h);
    let started = c
        .launch(&LaunchRequest {
            project_id: "2".into(),
            ..Default::default()
        })
        .await
        .expect("started");
    assert_eq!(started.status, BuildStatus::Running);
    let active = c.builds(&BuildScope::Active).await.unwrap();
    assert_eq!(
        active.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ["2:running"]
    );
    let runs = c.builds(&project("2")).await.unwrap();
    assert_eq!(runs[0].status, BuildStatus::Running);
    assert_eq!(runs.len(), 6, "running row + last 5");

    let again = c
        .launch(&LaunchRequest {
            project_id: "2".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ApiError::Rejected { status: 400, message } if message.contains("already running") && message.contains("Bad Request")),
        "{again:?}"
    );

    let opts = c.launch_options("5").await.unwrap();
    let names: Vec<&str> = opts.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["params", "headers"]);
    assert!(opts.fields[1].required && opts.fields[1].key_values);
    let no = c
        .launch(&LaunchRequest {
            project_id: "5".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&no, ApiError::Rejected { status: 204, message } if message.contains("constraints not met")),
        "{no:?}"
    );
    c.launch(&LaunchRequest {
        project_id: "5".into(),
        skip_steps: vec![],
        params: vec![("headers".into(), "X-Deploy-Key=letmein".into())],
    })
    .await
    .expect("constraint met");

    // Parameters: the form's key=value field and the body's JSPath.
    let opts = c.launch_options("6").await.unwrap();
    assert!(opts.fields[0].key_values);
    assert_eq!(opts.fields[0].default.as_deref(), Some("BRANCH=, VERSION="));
    assert_eq!(opts.fields[1].name, "body");
    c.launch(&LaunchRequest {
        project_id: "6".into(),
        skip_steps: vec![],
        params: vec![
            ("params".into(), "BRANCH=, VERSION=2.0".into()),
            ("body".into(), r#"{"ref": "dev"}"#.into()),
        ],
    })
    .await
    .unwrap();
    advance(&h, 60.0).await;
    let notes = c.builds(&project("6")).await.unwrap();
    let (res, evs) = tail(&c, &notes[0], false).await;
    res.unwrap();
    assert_eq!(steps_of(&evs)[0].0, "notes 2.0");
    assert!(lines_of(&evs).iter().any(|l| l == "$ echo building dev"));

    // Not assigned: refused before any trigger (the token is hidden).
    let viewer = client_on(&h.url("candor"), &h.url("candor-runner"), Some("viewer"));
    let e = viewer
        .launch(&LaunchRequest {
            project_id: "2".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)));
}

#[tokio::test]
async fn a_running_pipeline_tail_waits_then_shows_the_new_run() {
    let h = start_sim("").await;
    let c = Arc::new(demo(&h));
    c.launch(&LaunchRequest {
        project_id: "2".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let row = c.builds(&project("2")).await.unwrap().remove(0);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = {
        let c = c.clone();
        tokio::spawn(async move { c.tail_log(&row, true, tx).await })
    };
    let first = rx.recv().await.unwrap();
    assert!(
        matches!(&first, LogEvent::Lines(l) if l[0].contains("only once the run has finished"))
    );
    advance(&h, 120.0).await;
    let mut evs = Vec::new();
    while let Some(e) = rx.recv().await {
        evs.push(e);
    }
    task.await.unwrap().unwrap();
    assert_eq!(evs[0], LogEvent::Restart);
    let names: Vec<String> = steps_of(&evs).into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["install", "test", "package"]);
    assert_eq!(
        evs.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Succeeded)
        })
    );
}

#[tokio::test]
async fn archives_list_and_stream_to_disk_with_the_wiki_fallback() {
    let h = start_sim("").await;
    let c = demo(&h);
    let runs = c.builds(&project("2")).await.unwrap();
    let files = c.archived_files(&runs[0]).await.unwrap();
    assert_eq!(files, ["dist.tar.gz", "coverage.xml"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dist.tar.gz");
    let mut seen = Vec::new();
    let n = c
        .download_archive(&runs[0], "dist.tar.gz", &path, |done, total| {
            seen.push((done, total))
        })
        .await
        .unwrap();
    let want = reqwest::get(format!(
        "{}/api/runs/2/{}/archived?file=dist.tar.gz",
        h.url("candor"),
        runs[0].id
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    let got = std::fs::read(&path).unwrap();
    assert_eq!(got, want.to_vec());
    assert_eq!(n, got.len() as u64);
    assert_eq!(seen.last(), Some(&(n, Some(n))));
    assert!(!dir.path().join("dist.tar.gz.part").exists());
    let e = c
        .download_archive(&runs[0], "nope.zip", &dir.path().join("x"), |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::NotFound(m) if m.contains("No archive could be found")),
        "{e:?}"
    );
    assert!(!dir.path().join("x").exists());

    // A dashboard that only knows the wiki's `/archive`.
    set_options(&h, json!({"wiki_routes": true})).await;
    let p = start_proxy(
        &h,
        Arc::new(|m: &Method, path: &str| {
            path.ends_with("/archived")
                .then(|| route_miss(m, path.trim_start_matches("/candor")))
        }),
    )
    .await;
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"));
    let runs = c.builds(&project("2")).await.unwrap();
    let path = dir.path().join("coverage.xml");
    c.download_archive(&runs[0], "coverage.xml", &path, |_, _| {})
        .await
        .unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("<?xml"));
    c.download_archive(&runs[0], "coverage.xml", &path, |_, _| {})
        .await
        .unwrap();
    assert_eq!(p.count("/archived"), 1, "remembered");
    assert_eq!(p.count("/archive"), 3);
}

#[tokio::test]
async fn runner_runs_tail_by_byte_ranges_to_the_outcome() {
    let h = start_sim("").await;
    let c = demo(&h);
    // §11 R6: healthy, and the runner does not verify tokens (the operator is told so).
    let health = c.runner_health().await.unwrap();
    assert!(health.healthy);
    assert_eq!(health.verifies_tokens, Some(false));
    assert!(
        health.summary().contains("does not verify tokens"),
        "{}",
        health.summary()
    );
    assert!(health.worrying());
    let plan = json!({"stages": [
        {"name": "build", "image": "alpine", "script": ["make"]},
        {"name": "check", "image": "alpine", "script": ["exit 3"]},
        {"name": "ship", "image": "alpine"},
    ]})
    .to_string();
    let id = c.runner_run(&plan).await.unwrap();
    assert_eq!(id.len(), 12);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(c.runner_job(&id), Some(RunnerJobState::Running));
    assert_eq!(c.builds(&BuildScope::Active).await.unwrap()[0].id, id);

    let head = c.runner_log_since(&id, 0).await.unwrap();
    assert!(head.starts_with(b"**************** [1/3]"));
    assert!(
        c.runner_log_since(&id, head.len() as u64)
            .await
            .unwrap()
            .is_empty(),
        "416: nothing new"
    );
    advance(&h, 2.0).await;
    let more = c.runner_log_since(&id, head.len() as u64).await.unwrap();
    assert!(!more.is_empty(), "206: the new bytes");
    assert!(!more.starts_with(b"****"));

    let b = c.runner_build(&id);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = {
        let c = Arc::new(c);
        let c2 = c.clone();
        (
            tokio::spawn(async move { c2.tail_log(&b, true, tx).await }),
            c,
        )
    };
    advance(&h, 60.0).await;
    let mut evs = Vec::new();
    while let Some(e) = rx.recv().await {
        evs.push(e);
    }
    task.0.await.unwrap().unwrap();
    let c = task.1;
    let names: Vec<String> = steps_of(&evs).into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["build", "check", "ship"]);
    // Each step's final state, whether it came with its header (the outcome was known by
    // then) or later with its closing sentence.
    assert_eq!(
        final_steps(&evs),
        [
            StepStatus::Succeeded,
            StepStatus::Failed,
            StepStatus::Skipped
        ]
    );
    assert_eq!(
        evs.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Failed)
        })
    );
    match c.runner_job(&id) {
        Some(RunnerJobState::Finished(b)) => {
            assert_eq!((b.status, b.exit_code), (BuildStatus::Failed, Some(3)));
        }
        other => panic!("{other:?}"),
    }
    assert!(c.builds(&BuildScope::Active).await.unwrap().is_empty());

    // A plan the runner refuses comes back as an error at once.
    let e = c
        .runner_run(r#"{"stages": [{"name": "x"}]}"#)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Rejected { status: 400, message } if message.contains("Bad Request")),
        "{e:?}"
    );
    assert!(matches!(
        c.runner_run("stages: []").await,
        Err(ApiError::Config(_))
    ));
}

#[tokio::test]
async fn runner_tail_survives_truncated_replies_with_whole_lines() {
    let h = start_sim("").await;
    let c = Arc::new(demo(&h));
    let plan =
        json!({"stages": [{"name": "a", "image": "alpine"}, {"name": "b", "image": "alpine"}]})
            .to_string();
    let id = c.runner_run(&plan).await.unwrap();
    advance(&h, 40.0).await;
    // The /run reply is out: wait for it.
    for _ in 0..500 {
        if c.runner_job(&id) != Some(RunnerJobState::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let full = String::from_utf8(c.runner_log_since(&id, 0).await.unwrap()).unwrap();
    set_faults(&h, json!({"candor.truncate_rate": 0.8})).await;
    let (res, evs) = tail(&c, &c.runner_build(&id), true).await;
    res.unwrap();
    clear_faults(&h).await;
    // The real format (§11 R4): no blank lines, no final newline, output glued to a closing
    // sentence shown as a line of its own. Every line whole, none lost, none twice.
    let mut want: Vec<String> = Vec::new();
    let mut headers = 0;
    for line in full.split('\n') {
        if line.starts_with("****************") {
            headers += 1;
            continue;
        }
        match line.find("Process exited with status code") {
            Some(at) if at > 0 => {
                want.push(line[..at].to_string());
                want.push(line[at..].to_string());
            }
            _ => want.push(line.to_string()),
        }
    }
    assert_eq!(steps_of(&evs).len(), headers);
    assert_eq!(lines_of(&evs), want);
    assert!(!full.ends_with('\n'));
    assert!(full.contains('✓') || full.contains('é') || full.contains('—'));
}

#[tokio::test]
async fn runner_auth_errors_and_the_post_fallback() {
    let h = start_sim("").await;
    let bad = Candor::for_test(
        &h.url("candor"),
        Some(("demouser", "demouser")),
        Some((&h.url("candor-runner"), "not-the-token")),
        fast_policy(),
    )
    .unwrap();
    // A runner that does check its token (`runner_auth = "bearer"`): 401 is a configuration
    // error, and health says the runner refuses a wrong token.
    set_options(&h, json!({"runner_auth": "bearer"})).await;
    let health = bad.runner_health().await.unwrap();
    assert!(health.healthy, "health needs no token");
    assert_eq!(health.verifies_tokens, Some(true));
    assert!(!health.worrying());
    let e = bad
        .runner_run(r#"{"stages": [{"name": "a", "image": "alpine"}]}"#)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Auth(m) if m.contains("401") && !m.contains("not-the-token")),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 3);
    assert!(matches!(
        bad.runner_log_since("abc", 0).await,
        Err(ApiError::Auth(_))
    ));
    // The real runner (§11 R6): the same wrong token is accepted and the run executes; nothing
    // claims the token was verified.
    set_options(&h, json!({"runner_auth": "none"})).await;
    let id = bad
        .runner_run(r#"{"stages": [{"name": "a", "image": "alpine"}]}"#)
        .await
        .expect("a runner that checks no token runs the plan");
    assert!(!bad.runner_log_since(&id, 0).await.unwrap().is_empty());
    let health = bad.runner_health().await.unwrap();
    assert_eq!(health.verifies_tokens, Some(false));

    let c = demo(&h);
    // A run id that could escape the log directory is never sent (§11 R1/R2 rule for ids).
    let e = c.runner_log_since("../etc", 0).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::NotFound(m) if m.contains("nothing was sent")),
        "{e:?}"
    );
    // The runner's 404 page names its log file: the message does not (§11 R11).
    let e = c.runner_log_since("ffffffffffff", 0).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::NotFound(m) if m.contains("no log for run ffffffffffff")),
        "{e:?}"
    );
    assert!(!e.to_string().contains("/home/candor"), "{e}");

    // A runner that registered the wiki's POST only.
    set_options(&h, json!({"wiki_routes": true})).await;
    let p = start_proxy(
        &h,
        Arc::new(|m: &Method, path: &str| {
            (m == Method::GET && path.contains("/candor-runner/logs/"))
                .then(|| route_miss(m, path.trim_start_matches("/candor-runner")))
        }),
    )
    .await;
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"));
    let id = c
        .runner_run(r#"{"stages": [{"name": "a", "image": "alpine"}]}"#)
        .await
        .unwrap();
    assert!(!c.runner_log_since(&id, 0).await.unwrap().is_empty());
    assert!(p.count("POST /candor-runner/logs/") >= 1);
    let gets = p.count("GET /candor-runner/logs/");
    c.runner_log_since(&id, 0).await.unwrap();
    assert_eq!(p.count("GET /candor-runner/logs/"), gets, "POST remembered");
}

#[tokio::test]
async fn runner_down_shows_in_health_and_in_the_recorded_run() {
    let h = start_sim("").await;
    let c = demo(&h);
    set_faults(&h, json!({"candor.runner_down": true})).await;
    let health = c.runner_health().await.unwrap();
    assert!(!health.healthy && health.worrying());
    // §11 R8: the dashboard answers 200 and records a `Get Runner` run at once: not "ok".
    let e = c
        .launch(&LaunchRequest {
            project_id: "2".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("the dashboard found no runner")
            && e.to_string().contains("Get Runner"),
        "{e}"
    );
    let runs = c.builds(&project("2")).await.unwrap();
    assert_eq!(runs[0].status, BuildStatus::Failed);
    assert_eq!(runs[0].exit_code, Some(-1));
    assert_eq!(
        runs[0].message.as_deref(),
        Some("Get Runner: no runner answered its health check")
    );
    // The runner-less run itself has no log, and says why.
    let (res, _) = tail(&c, &runs[0], false).await;
    assert!(
        matches!(&res, Err(ApiError::NotFound(m)) if m.contains("found no runner")),
        "{res:?}"
    );
    // §11 R9: `last` is 404 now (the newest run has no log): the newest run with one instead,
    // by number or by name.
    clear_faults(&h).await;
    let want = c.run_log("2", &runs[1].id).await.unwrap();
    assert!(want.starts_with("****"));
    assert_eq!(c.run_log("2", "last").await.unwrap(), want);
    assert_eq!(c.run_log("web-build", "last").await.unwrap(), want);
    let mut last = runs[1].clone();
    last.build_id = Some("last".into());
    let (res, evs) = tail(&c, &last, false).await;
    res.unwrap();
    let names: Vec<String> = steps_of(&evs).into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["install", "test", "package"]);
}

#[tokio::test]
async fn faults_become_the_right_errors_and_writes_are_not_retried() {
    let h = start_sim("").await;
    let c = demo(&h);
    c.login().await.unwrap();

    set_faults(&h, json!({"candor.error_rate": 1})).await;
    let e = c.projects(&q()).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Server {
            status: 500,
            message: "HTTP 500: Internal Server Error".into()
        }
    );
    set_faults(&h, json!({"candor.rate_limit": 1, "candor.retry_after": 0})).await;
    assert_eq!(c.projects(&q()).await.unwrap_err(), ApiError::RateLimited);
    set_faults(&h, json!({"candor.malformed_rate": 1})).await;
    assert!(matches!(c.projects(&q()).await, Err(ApiError::Decode(_))));
    set_faults(&h, json!({"candor.reset_rate": 1})).await;
    let e = c.projects(&q()).await;
    assert!(matches!(e, Err(ApiError::Network(_))), "{e:?}");
    set_faults(&h, json!({"candor.latency": "50ms"})).await;
    assert_eq!(c.projects(&q()).await.unwrap().items.len(), 7);

    // Reads retry through intermittent resets.
    set_faults(&h, json!({"candor.reset_rate": 0.3})).await;
    for _ in 0..5 {
        c.builds(&project("3")).await.expect("retried read");
    }
    clear_faults(&h).await;

    // A trigger whose connection breaks is sent once, never retried (the proxy breaks it).
    let p = start_proxy(
        &h,
        Arc::new(|m: &Method, path: &str| {
            (m == Method::POST && path.contains("/trigger/")).then(|| {
                Response::new(Body::from_stream(futures::stream::once(async {
                    Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("reset"))
                })))
            })
        }),
    )
    .await;
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"));
    let e = c
        .launch(&LaunchRequest {
            project_id: "3".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
    assert_eq!(p.count("POST /candor/trigger/"), 1, "never retried");
}

/// Every pipeline id in a recorded `METHOD /candor/api/…` path, and every run id.
fn ids_in(hit: &str) -> Vec<(&'static str, String)> {
    let path = hit.split_once(' ').map_or(hit, |(_, p)| p);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["candor", "api", "pipelines", pid, ..] => vec![("pipeline", pid.to_string())],
        ["candor", "api", "runs", pid, rid, ..] => {
            vec![("pipeline", pid.to_string()), ("run", rid.to_string())]
        }
        ["candor", "api", "runs", pid] => vec![("pipeline", pid.to_string())],
        ["candor-runner", "logs", rid, ..] => vec![("run", rid.to_string())],
        _ => Vec::new(),
    }
}

fn assert_nothing_sent(what: &str, r: Result<impl std::fmt::Debug, ApiError>) {
    match r {
        Err(ApiError::NotFound(m)) if m.contains("nothing was sent") => {}
        other => panic!("{what}: expected a clear error before any request, got {other:?}"),
    }
}

#[tokio::test]
async fn no_request_carries_an_empty_or_non_numeric_id() {
    // §11 R1, R2: `/api/pipelines/` is the list and a non-numeric id crashes the dashboard,
    // so only integers read from the server reach a URL; names are resolved through the list.
    let h = start_sim("").await;
    let p = start_proxy(&h, no_rule()).await;
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"));
    let runs = c.builds(&project("2")).await.unwrap();
    let finished = runs[0].clone();
    let weird = [
        "",
        " ",
        "abc",
        "no such pipeline",
        "../1",
        "1/2",
        "-1",
        "1.0",
        "%",
        "٣",
        "2147483648",
        "1 ",
        "\u{0}",
    ];
    for id in weird {
        assert_nothing_sent(&format!("builds({id:?})"), c.builds(&project(id)).await);
        assert_nothing_sent(
            &format!("launch_options({id:?})"),
            c.launch_options(id).await,
        );
        let launch = LaunchRequest {
            project_id: id.into(),
            ..Default::default()
        };
        assert_nothing_sent(&format!("launch({id:?})"), c.launch(&launch).await);
        assert_nothing_sent(&format!("plan({id:?})"), c.pipeline_plan(id, &[]).await);
        assert_nothing_sent(&format!("run_log({id:?})"), c.run_log(id, "last").await);
        let mut b = finished.clone();
        b.project_id = Some(id.into());
        assert_nothing_sent(&format!("archives({id:?})"), c.archived_files(&b).await);
        let dir = tempfile::tempdir().unwrap();
        let dl = c
            .download_archive(&b, "coverage.xml", &dir.path().join("x"), |_, _| {})
            .await;
        assert_nothing_sent(&format!("download({id:?})"), dl);
        assert_nothing_sent(&format!("tail({id:?})"), tail(&c, &b, false).await.0);
        b.id = format!("{id}:running");
        assert_nothing_sent(&format!("tail running({id:?})"), tail(&c, &b, true).await.0);
    }
    for rid in ["", " ", "../x", "a b", "%2e", "é", "x/y", "a?b", "a#b"] {
        assert_nothing_sent(&format!("run_log(2, {rid:?})"), c.run_log("2", rid).await);
        let mut b = finished.clone();
        b.id = rid.into();
        b.build_id = Some(rid.into());
        assert_nothing_sent(&format!("tail({rid:?})"), tail(&c, &b, false).await.0);
        assert_nothing_sent(&format!("archives({rid:?})"), c.archived_files(&b).await);
        let dir = tempfile::tempdir().unwrap();
        let dl = c
            .download_archive(&b, "coverage.xml", &dir.path().join("x"), |_, _| {})
            .await;
        assert_nothing_sent(&format!("download({rid:?})"), dl);
        b.project_id = None;
        assert_nothing_sent(&format!("bare tail({rid:?})"), tail(&c, &b, false).await.0);
        assert_nothing_sent(&format!("locate({rid:?})"), c.locate_run(rid).await);
        assert_nothing_sent(
            &format!("runner log({rid:?})"),
            c.runner_log_since(rid, 0).await,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let dl = c
        .download_archive(&finished, "", &dir.path().join("x"), |_, _| {})
        .await;
    assert_nothing_sent("download of no file", dl);

    // Names are resolved through the list first.
    assert_eq!(c.builds(&project("web-build")).await.unwrap().len(), 5);
    assert_eq!(
        c.launch_options("integration").await.unwrap().fields[0].name,
        "params"
    );
    assert!(
        c.pipeline_plan("release-notes", &[])
            .await
            .unwrap()
            .contains("notes")
    );

    let hits = p.hits.lock().unwrap().clone();
    assert!(
        hits.iter().any(|h| h.contains("/candor/api/pipelines/2")),
        "{hits:?}"
    );
    for hit in &hits {
        for (kind, id) in ids_in(hit) {
            let ok = match kind {
                "pipeline" => !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
                _ => !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            };
            assert!(ok, "{hit} carries {kind} id {id:?}");
        }
    }
}

#[tokio::test]
async fn runs_older_than_the_last_five_are_found_by_id() {
    // §11 R5: the log and archive routes find any run by id; a bare run id is looked for
    // under each visible pipeline (a wrong one answers 404).
    let h = start_sim("").await;
    let c = demo(&h);
    let fixture =
        shipdeck::sim::candor::state::State::new(1, shipdeck::sim::clock::MANUAL_EPOCH_NS, false);
    let oldest = fixture.pipelines[0].runs[0].id.clone();
    let recent = c.builds(&project("1")).await.unwrap();
    assert!(!recent.iter().any(|b| b.id == oldest));
    let (pid, text) = c.locate_run(&oldest).await.unwrap();
    assert_eq!(pid, "1");
    assert!(text.unwrap().starts_with("**************** [1/1]"));
    let mut bare = recent[0].clone();
    bare.id = oldest.clone();
    bare.build_id = Some(oldest.clone());
    bare.project_id = None;
    bare.status = BuildStatus::Unknown;
    let (res, evs) = tail(&demo(&h), &bare, false).await;
    res.unwrap();
    assert_eq!(steps_of(&evs).len(), 1);
    assert!(lines_of(&evs).iter().any(|l| l == "$ npm run lint"));
    assert!(matches!(
        evs.last(),
        Some(LogEvent::End { status: Some(_) })
    ));
    let mut under = bare.clone();
    under.project_id = Some("1".into());
    tail(&c, &under, false).await.0.unwrap();
    // Five newer runs push web-build's newest out of the last 5: its archived names are listed
    // nowhere then (except to the process that saw them), but a file is fetched by name.
    let old_web = c.builds(&project("2")).await.unwrap().remove(0);
    assert_eq!(c.archived_files(&old_web).await.unwrap().len(), 2);
    for _ in 0..5 {
        c.launch(&LaunchRequest {
            project_id: "2".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        advance(&h, 120.0).await;
    }
    let fresh = demo(&h);
    assert!(
        !fresh
            .builds(&project("2"))
            .await
            .unwrap()
            .contains(&old_web)
    );
    let e = fresh.archived_files(&old_web).await.unwrap_err();
    assert!(e.to_string().contains("older than the last 5"), "{e}");
    assert_eq!(
        c.archived_files(&old_web).await.unwrap().len(),
        2,
        "seen before"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.xml");
    fresh
        .download_archive(&old_web, "coverage.xml", &path, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        shipdeck::sim::candor::runner_engine::archive_bytes(1, &old_web.id, "coverage.xml")
    );
    let e = c.locate_run("0000beef").await.unwrap_err();
    assert!(matches!(e, ApiError::NotFound(_)), "{e:?}");
}

/// A logged-in raw client of the simulator, for what shipdeck has no call for (config writes).
async fn raw_login(h: &SimHandle) -> reqwest::Client {
    shipdeck::api::http::install_crypto_provider();
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = c
        .post(format!("{}/login", h.url("candor")))
        .json(&json!({"username": "demouser", "password": "demouser"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    c
}

async fn edit_config(h: &SimHandle, pid: u32, edit: impl FnOnce(&mut serde_json::Value)) {
    let c = raw_login(h).await;
    let url = format!("{}/api/pipelines/{pid}/config", h.url("candor"));
    let mut cfg: serde_json::Value = c.get(&url).send().await.unwrap().json().await.unwrap();
    edit(&mut cfg);
    let v: serde_json::Value = c
        .post(&url)
        .json(&cfg)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"valid": true}));
}

#[tokio::test]
async fn archive_names_with_percent_plus_space_and_non_ascii_download() {
    // §11 R7: the dashboard decodes the name twice; shipdeck encodes it twice.
    let h = start_sim("").await;
    let names = ["50%off.txt", "a b+c.txt", "ü-ß 100%25.xml", "plain.tar.gz"];
    edit_config(&h, 2, |cfg| {
        cfg["archive"] = json!(names.iter().map(|n| format!("out/{n}")).collect::<Vec<_>>());
    })
    .await;
    let c = demo(&h);
    c.launch(&LaunchRequest {
        project_id: "web-build".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    advance(&h, 120.0).await;
    let run = c.builds(&project("2")).await.unwrap().remove(0);
    assert_eq!(run.status, BuildStatus::Succeeded);
    assert_eq!(c.archived_files(&run).await.unwrap(), names);
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in names.iter().enumerate() {
        let path = dir.path().join(format!("f{i}"));
        let n = c
            .download_archive(&run, name, &path, |_, _| {})
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = shipdeck::sim::candor::runner_engine::archive_bytes(1, &run.id, name);
        assert_eq!(n, want.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), want, "{name}");
    }
    // Still answered: the dashboard did not crash on any of them.
    assert!(c.projects(&q()).await.is_ok());
}

#[tokio::test]
async fn a_runner_failure_before_any_stage_is_worded_as_such() {
    // §11 R3: `status: "Error"` with `stages: []` (detail) or no `stages` (list).
    let h = start_sim("").await;
    edit_config(&h, 3, |cfg| {
        cfg["stages"][0]["image"] = json!("registry.example.com/does-not-exist:1");
    })
    .await;
    let c = demo(&h);
    c.launch(&LaunchRequest {
        project_id: "3".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    advance(&h, 30.0).await;
    let run = c.builds(&project("3")).await.unwrap().remove(0);
    assert_eq!(
        (run.status, run.raw_status.as_str()),
        (BuildStatus::Failed, "Error")
    );
    let msg = run.message.clone().unwrap();
    assert!(
        msg.contains("the runner failed before any stage ran"),
        "{msg}"
    );
    let projects = c.projects(&q()).await.unwrap().items;
    let integ = projects.iter().find(|p| p.id == "3").unwrap();
    assert_eq!(
        integ.last_build.as_ref().unwrap().message.as_deref(),
        Some(msg.as_str())
    );
    let (res, evs) = tail(&c, &run, false).await;
    res.unwrap();
    assert_eq!(steps_of(&evs).len(), 1, "only the first header was written");
    assert_eq!(
        evs.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Failed)
        })
    );

    // The same on the runner directly: the live tail's open step takes the outcome's result.
    let plan = json!({"stages": [
        {"name": "pull", "image": "registry.example.com/does-not-exist:1"},
        {"name": "after", "image": "alpine"},
    ]})
    .to_string();
    let id = c.runner_run(&plan).await.unwrap();
    let c = Arc::new(c);
    let b = c.runner_build(&id);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = {
        let c = c.clone();
        tokio::spawn(async move { c.tail_log(&b, true, tx).await })
    };
    advance(&h, 30.0).await;
    let mut evs = Vec::new();
    while let Some(e) = rx.recv().await {
        evs.push(e);
    }
    task.await.unwrap().unwrap();
    let names: Vec<String> = steps_of(&evs).into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["pull"], "only the first header was written");
    assert_eq!(final_steps(&evs), [StepStatus::Failed], "{evs:?}");
    assert_eq!(
        evs.last(),
        Some(&LogEvent::End {
            status: Some(BuildStatus::Failed)
        })
    );
    match c.runner_job(&id) {
        Some(RunnerJobState::Finished(b)) => {
            assert!(
                b.message
                    .unwrap()
                    .contains("the runner failed before any stage ran")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn glued_output_is_split_from_the_closing_sentence() {
    // §11 R4: `…doneProcess exited with status code 0` is a line of output, then the result.
    let h = start_sim("").await;
    let c = demo(&h);
    let raw = reqwest::Client::new();
    let mut seen_glued = false;
    for pid in ["1", "2", "3", "7"] {
        for run in c.builds(&project(pid)).await.unwrap() {
            let text = raw
                .get(format!("{}/api/runs/{pid}/{}/log", h.url("candor"), run.id))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let glued = text
                .lines()
                .any(|l| l.find("Process exited").is_some_and(|at| at > 0));
            let (res, evs) = tail(&c, &run, false).await;
            if text.starts_with("No log") {
                continue;
            }
            res.unwrap();
            let lines = lines_of(&evs);
            assert!(
                lines
                    .iter()
                    .all(|l| l.find("Process exited").is_none_or(|at| at == 0)),
                "{lines:?}"
            );
            if glued {
                seen_glued = true;
                let steps = steps_of(&evs);
                assert!(
                    steps.iter().all(|s| s.1 != StepStatus::Unknown),
                    "{steps:?}"
                );
            }
        }
    }
    assert!(seen_glued, "the fixtures have glued closing sentences");
}

#[tokio::test]
async fn logout_ends_the_session_once_and_quickly() {
    // §11 R10: each login keeps a 30-day session on the server.
    let h = start_sim("").await;
    let p = start_proxy(&h, no_rule()).await;
    let c = client_on(&p.url("candor"), &p.url("candor-runner"), Some("demouser"));
    c.projects(&q()).await.unwrap();
    assert_eq!(p.count("POST /candor/login"), 1);
    let b: &dyn Backend = &c;
    b.logout().await.unwrap();
    assert_eq!(p.count("POST /candor/logout"), 1);
    b.logout().await.unwrap();
    assert_eq!(
        p.count("POST /candor/logout"),
        1,
        "idempotent: nothing to end"
    );
    // The server dropped the session: the next request logs in again.
    assert_eq!(c.projects(&q()).await.unwrap().items.len(), 7);
    assert_eq!(p.count("POST /candor/login"), 2);

    // Anonymous: no session, nothing sent.
    let anon = client_on(&p.url("candor"), &p.url("candor-runner"), None);
    anon.projects(&q()).await.unwrap();
    anon.logout().await.unwrap();
    assert_eq!(p.count("POST /candor/logout"), 1);

    // A dashboard that does not answer: logout gives up after its short timeout, without error.
    set_faults(&h, json!({"candor.hang_rate": 1})).await;
    let started = std::time::Instant::now();
    c.logout().await.unwrap();
    let took = started.elapsed();
    assert!(
        took < shipdeck::api::candor::LOGOUT_TIMEOUT + Duration::from_secs(2),
        "{took:?}"
    );
    clear_faults(&h).await;
}

#[tokio::test]
async fn one_shot_commands_log_out_before_they_exit() {
    let h = start_sim("").await;
    let p = start_proxy(&h, no_rule()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.cd]\nkind = \"candor\"\nurl = \"{}\"\nusername = \"demouser\"\npassword = \"demouser\"\n",
            p.url("candor")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let run = |args: &[&str]| {
        let mut all = vec!["shipdeck", "--config", path.to_str().unwrap()];
        all.extend_from_slice(args);
        <shipdeck::cli::Cli as clap::Parser>::try_parse_from(all).unwrap()
    };
    assert_eq!(shipdeck::cli::main(run(&["get", "projects"])).await, 0);
    assert_eq!(p.count("POST /candor/login"), 1);
    assert_eq!(p.count("POST /candor/logout"), 1);
    // Also when the command fails.
    let code = shipdeck::cli::main(run(&["get", "builds", "--project", "no-such-pipeline"])).await;
    assert_ne!(code, 0);
    assert_eq!(p.count("POST /candor/logout"), 2);
    assert_eq!(
        shipdeck::cli::main(run(&["get", "builds", "--project", "web-build"])).await,
        0
    );
    assert_eq!(p.count("POST /candor/logout"), 3);
    // An anonymous profile is valid (§11 R12) and has nothing to log out of.
    std::fs::write(
        &path,
        format!(
            "[profiles.pub]\nkind = \"candor\"\nurl = \"{}\"\n",
            p.url("candor")
        ),
    )
    .unwrap();
    assert_eq!(shipdeck::cli::main(run(&["config", "check"])).await, 0);
    assert_eq!(shipdeck::cli::main(run(&["get", "projects"])).await, 0);
    assert_eq!(p.count("POST /candor/login"), 3);
    assert_eq!(p.count("POST /candor/logout"), 3);
}

#[tokio::test]
async fn list_order_is_the_servers_and_shown_by_number() {
    // §11 R11: `/api/pipelines` is in storage order (a config change moves a row to the end).
    let h = start_sim("").await;
    edit_config(&h, 2, |cfg| cfg["stages"][0]["name"] = json!("deps")).await;
    let raw = raw_login(&h).await;
    let list: serde_json::Value = raw
        .get(format!("{}/api/pipelines", h.url("candor")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let raw_ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(raw_ids, [1, 3, 4, 5, 6, 7, 2]);
    let ids: Vec<String> = demo(&h)
        .projects(&q())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7"]);
}
