//! The Aviator Releases simulator over raw HTTP (`shared/api/aviator.md` §4, §9): routes,
//! tokens, fixtures, the deployment state machine on the simulated clock, PATCH upserts, list
//! paging, rollback, and the fault table.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, set_faults, start_sim};
use reqwest::Method;
use serde_json::{Value, json};
use shipdeck::sim::aviator::{CATALOG, HEALTH_CHECK_FAILED};
use shipdeck::sim::{self, SimHandle, SimOptions};

const ALICE: &str = "av_uat_demo_alice";
const ACCOUNT: &str = "av_api_demo";
const VIEWER: &str = "av_uat_demo_viewer";
const COMMIT: &str = "4e1f9a7c2b0d8e6f5a3c1b9d7e5f3a1c9b7d5e3f";

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .expect("error key")
            .to_string()
    }
}

async fn call(
    h: &SimHandle,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    shipdeck::api::http::install_crypto_provider();
    let mut rb = reqwest::Client::new().request(method, format!("{}{path}", h.url("aviator")));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Reply {
        status,
        headers,
        text,
    }
}

fn enc(s: &str) -> String {
    s.replace(' ', "%20")
}

fn deps_path(project: &str, env: &str) -> String {
    format!(
        "/api/releases/{}/environments/{env}/deployments",
        enc(project)
    )
}

async fn list(h: &SimHandle, project: &str, env: &str, query: &str) -> Vec<Value> {
    let r = call(
        h,
        Method::GET,
        &format!("{}?{query}", deps_path(project, env)),
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json().as_array().expect("bare array").clone()
}

async fn newest(h: &SimHandle, project: &str, env: &str) -> Value {
    list(h, project, env, "per_page=1")
        .await
        .into_iter()
        .next()
        .expect("a deployment")
}

async fn create_rc(h: &SimHandle, project: &str, version: &str) {
    let repo = CATALOG
        .iter()
        .find(|p| p.name == project)
        .expect("fixture project")
        .repo;
    let r = call(
        h,
        Method::POST,
        &format!("/api/releases/{}/releases/{version}", enc(project)),
        Some(ALICE),
        Some(json!({"repo": repo, "commit": COMMIT})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "", "create answers an empty body");
}

async fn deploy(h: &SimHandle, token: &str, project: &str, env: &str, version: &str) -> Reply {
    call(
        h,
        Method::POST,
        &deps_path(project, env),
        Some(token),
        Some(json!({ "release_candidate_version": version })),
    )
    .await
}

async fn patch(h: &SimHandle, project: &str, env: &str, version: &str, status: &str) -> Reply {
    call(
        h,
        Method::PATCH,
        &deps_path(project, env),
        Some(ALICE),
        Some(json!({ "release_candidate_version": version, "status": status })),
    )
    .await
}

async fn rollback(h: &SimHandle, project: &str, env: &str, body: Option<Value>) -> Reply {
    call(
        h,
        Method::POST,
        &format!("/api/releases/{}/environments/{env}/rollback", enc(project)),
        Some(ALICE),
        body,
    )
    .await
}

/// `2026-03-02T10:15:04.512331+00:00`
fn is_micro_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 32
        && s.ends_with("+00:00")
        && b[10] == b'T'
        && b[19] == b'.'
        && b[20..26].iter().all(u8::is_ascii_digit)
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let h = start_sim("").await;
    for path in [
        "/graphql",
        "/api/v1/sync-build-github-action",
        "/api/v1/sync-deploy-github-action",
        "/api/releases/payments-api",
        "/api/releases/payments-api/environments/staging/deployments/",
        "/api/releases/payments-api/environments/staging",
    ] {
        let r = call(&h, Method::POST, path, Some(ALICE), Some(json!({}))).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json(), json!({"error": "Not found"}), "{path}");
    }
    let r = call(
        &h,
        Method::DELETE,
        &deps_path("payments-api", "staging"),
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.status, 405);
    let r = call(
        &h,
        Method::GET,
        "/api/releases/payments-api/environments/staging/rollback",
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn tokens_401_403_and_actor() {
    let h = start_sim("").await;
    let path = deps_path("payments-api", "staging");
    for tok in [None, Some("av_uat_someone_else"), Some("")] {
        let r = call(&h, Method::GET, &path, tok, None).await;
        assert_eq!(r.status, 401, "{tok:?}");
        assert_eq!(r.json(), json!({"error": "Unauthorized"}));
    }
    // The viewer reads, but every write is 403 (before any validation).
    assert_eq!(
        call(&h, Method::GET, &path, Some(VIEWER), None)
            .await
            .status,
        200
    );
    let writes = [
        deploy(&h, VIEWER, "payments-api", "staging", "nope").await,
        call(
            &h,
            Method::PATCH,
            &path,
            Some(VIEWER),
            Some(json!({"release_candidate_version": "x-rc1", "status": "success"})),
        )
        .await,
        call(
            &h,
            Method::POST,
            "/api/releases/payments-api/releases/2026.01.01-rc1",
            Some(VIEWER),
            Some(json!({"repo": "acme/payments-api", "commit": COMMIT})),
        )
        .await,
        call(
            &h,
            Method::POST,
            "/api/releases/payments-api/environments/staging/rollback",
            Some(VIEWER),
            None,
        )
        .await,
    ];
    for r in writes {
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.json(), json!({"error": "Forbidden"}));
    }
    // Actor: the user token's e-mail, null for the account token.
    create_rc(&h, "payments-api", "2026.01.01-rc1").await;
    assert_eq!(
        deploy(&h, ALICE, "payments-api", "staging", "2026.01.01-rc1")
            .await
            .status,
        201
    );
    assert_eq!(
        newest(&h, "payments-api", "staging").await["actor"],
        "alice@acme.test"
    );
    assert_eq!(
        deploy(&h, ACCOUNT, "payments-api", "canary", "2026.01.01-rc1")
            .await
            .status,
        201
    );
    assert_eq!(
        newest(&h, "payments-api", "canary").await["actor"],
        Value::Null
    );
}

#[tokio::test]
async fn fixture_history_counts_order_and_fields() {
    let h = start_sim("").await;
    let mut ids = std::collections::HashSet::new();
    for p in CATALOG {
        for e in p.environments {
            let rows = list(&h, p.name, e.name, "per_page=100").await;
            assert_eq!(rows.len(), e.history, "{} / {}", p.name, e.name);
            let mut prev: Option<String> = None;
            for r in &rows {
                assert!(r["id"].is_i64(), "{r}");
                assert!(ids.insert(r["id"].as_i64().unwrap()), "ids are unique");
                let start = r["deploy_start_at"].as_str().unwrap().to_string();
                assert!(is_micro_time(&start), "{start}");
                assert!(is_micro_time(r["deploy_end_at"].as_str().unwrap()), "{r}");
                if let Some(p) = &prev {
                    assert!(start <= *p, "newest first");
                }
                prev = Some(start);
                assert_eq!(r["environment_name"], e.name);
                let rc = r["release_candidate_version"].as_str().unwrap();
                let sep = if p.name == "web-frontend" {
                    ".rc"
                } else {
                    "-rc"
                };
                assert!(rc.contains(sep), "{rc}");
                let (release, n) = shipdeck::sim::aviator::parse_rc(rc).expect("valid RC");
                assert_eq!(r["release_version"], release);
                assert_eq!(release.len(), 10, "CalVer YYYY.MM.DD: {release}");
                let status = r["status"].as_str().unwrap();
                if n % 4 == 0 {
                    assert_eq!(status, "failure");
                    assert_eq!(r["error_message"], HEALTH_CHECK_FAILED);
                } else {
                    assert_eq!(status, "success");
                    assert_eq!(r["error_message"], Value::Null);
                }
                for k in [
                    "actor",
                    "from_release_candidate_version",
                    "from_release_version",
                ] {
                    assert!(r.get(k).is_some(), "{k} present (maybe null)");
                }
            }
            // from_* of each row is the RC of the previous success.
            let mut current: Option<&str> = None;
            for r in rows.iter().rev() {
                assert_eq!(r["from_release_candidate_version"].as_str(), current, "{r}");
                if r["status"] == "success" {
                    current = r["release_candidate_version"].as_str();
                }
            }
        }
    }
}

#[tokio::test]
async fn list_paging_clamp_and_errors() {
    let h = start_sim("").await;
    // Defaults: page 1, 10 rows.
    let all = list(&h, "payments-api", "staging", "per_page=100").await;
    let first = list(&h, "payments-api", "staging", "").await;
    assert_eq!(first, all[..10]);
    let third = list(&h, "payments-api", "staging", "page=3&per_page=10").await;
    assert_eq!(third, all[20..]);
    assert!(
        list(&h, "payments-api", "staging", "page=4&per_page=10")
            .await
            .is_empty()
    );
    assert!(
        list(&h, "payments-api", "staging", "page=999")
            .await
            .is_empty()
    );
    for q in [
        "page=0",
        "per_page=0",
        "page=-1",
        "per_page=abc",
        "page=",
        "page=1.5",
    ] {
        let r = call(
            &h,
            Method::GET,
            &format!("{}?{q}", deps_path("payments-api", "staging")),
            Some(ALICE),
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.error(), "Invalid pagination parameters");
    }
    // Unknown names (case-sensitive).
    for (p, e, msg) in [
        ("payments-API", "staging", "Release project not found"),
        ("nope", "staging", "Release project not found"),
        ("payments-api", "Staging", "Release environment not found"),
        ("data pipeline", "canary", "Release environment not found"),
    ] {
        let r = call(&h, Method::GET, &deps_path(p, e), Some(ALICE), None).await;
        assert_eq!(r.status, 404, "{p}/{e}");
        assert_eq!(r.error(), msg);
    }
    // per_page above 100 is clamped: 110 rows in production, 100 on a page.
    for n in 1..=96 {
        let v = format!("2026.02.01-rc{}", n * 4 + 1);
        create_rc(&h, "payments-api", &v).await;
        assert_eq!(
            patch(&h, "payments-api", "production", &v, "success")
                .await
                .status,
            200
        );
    }
    assert_eq!(
        list(&h, "payments-api", "production", "per_page=500")
            .await
            .len(),
        100
    );
    assert_eq!(
        list(&h, "payments-api", "production", "page=2&per_page=500")
            .await
            .len(),
        10
    );
}

#[tokio::test]
async fn create_release_checks() {
    let h = start_sim("").await;
    let post = |project: &'static str, version: &'static str, body: Value| {
        let h = &h;
        async move {
            call(
                h,
                Method::POST,
                &format!("/api/releases/{}/releases/{version}", enc(project)),
                Some(ALICE),
                Some(body),
            )
            .await
        }
    };
    let ok = json!({"repo": "acme/payments-api", "commit": COMMIT, "trigger_build_workflow": true});
    for bad in ["1.2.3", "x-rc0", "x-RC1", "-rc1", "x-rc01"] {
        let r = post("payments-api", bad, ok.clone()).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "Invalid release candidate version".into()),
            "{bad}"
        );
    }
    for commit in [
        json!("xyz1234"),
        json!("abc12"),
        json!(null),
        json!(1234567),
    ] {
        let r = post(
            "payments-api",
            "2026.01.01-rc1",
            json!({"repo": "acme/payments-api", "commit": commit}),
        )
        .await;
        assert_eq!(
            (r.status, r.error()),
            (400, "Invalid commit hash".into()),
            "{commit}"
        );
    }
    for repo in [
        json!("acme/web-frontend"),
        json!(null),
        json!("payments-api"),
    ] {
        let r = post(
            "payments-api",
            "2026.01.01-rc1",
            json!({"repo": repo, "commit": "abcdef1"}),
        )
        .await;
        assert_eq!(
            (r.status, r.error()),
            (404, "GitHub repository not found".into())
        );
    }
    let r = post("nope", "2026.01.01-rc1", ok.clone()).await;
    assert_eq!(
        (r.status, r.error()),
        (404, "Release project not found".into())
    );
    let r = post("payments-api", "2026.01.01-rc1", ok.clone()).await;
    assert_eq!((r.status, r.text.as_str()), (201, ""));
    let r = post("payments-api", "2026.01.01-rc1", ok).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "Release candidate already exists".into())
    );
    // A space in the project name, percent-encoded; `.rc` separator accepted.
    let r = post(
        "data pipeline",
        "2026.01.01.rc1",
        json!({"repo": "acme/data-pipeline", "commit": "ABCDEF1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = call(
        &h,
        Method::POST,
        "/api/releases/payments-api/releases/2026.01.01-rc2",
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.error(), "Invalid commit hash", "no body: no commit");
}

#[tokio::test]
async fn deployment_state_machine_over_the_clock() {
    let h = start_sim("").await;
    let before = newest(&h, "payments-api", "staging").await;
    let current = list(&h, "payments-api", "staging", "per_page=100")
        .await
        .into_iter()
        .find(|r| r["status"] == "success")
        .unwrap();
    create_rc(&h, "payments-api", "2026.01.01-rc1").await;
    let r = deploy(&h, ALICE, "payments-api", "staging", "2026.01.01-rc1").await;
    assert_eq!((r.status, r.text.as_str()), (201, ""));
    let d = newest(&h, "payments-api", "staging").await;
    assert!(d["id"].as_i64() > before["id"].as_i64());
    assert_eq!(d["status"], "pending");
    assert_eq!(d["deploy_start_at"], "2026-01-01T10:00:00.000000+00:00");
    assert_eq!(d["deploy_end_at"], Value::Null);
    assert_eq!(d["release_version"], "2026.01.01");
    assert_eq!(
        d["from_release_candidate_version"],
        current["release_candidate_version"]
    );
    assert_eq!(d["from_release_version"], current["release_version"]);
    advance(&h, 1.9).await;
    assert_eq!(
        newest(&h, "payments-api", "staging").await["status"],
        "pending"
    );
    advance(&h, 0.1).await;
    assert_eq!(
        newest(&h, "payments-api", "staging").await["status"],
        "in_progress"
    );
    advance(&h, 9.9).await;
    assert_eq!(
        newest(&h, "payments-api", "staging").await["status"],
        "in_progress"
    );
    advance(&h, 0.1).await;
    let d = newest(&h, "payments-api", "staging").await;
    assert_eq!(d["status"], "success");
    assert_eq!(d["deploy_end_at"], "2026-01-01T10:00:12.000000+00:00");

    // A new deployment cancels the active one: canceling at once, canceled 2 s later.
    create_rc(&h, "payments-api", "2026.01.01-rc2").await;
    create_rc(&h, "payments-api", "2026.01.01-rc3").await;
    deploy(&h, ALICE, "payments-api", "staging", "2026.01.01-rc2").await;
    advance(&h, 3.0).await;
    deploy(&h, ALICE, "payments-api", "staging", "2026.01.01-rc3").await;
    let rows = list(&h, "payments-api", "staging", "per_page=2").await;
    assert_eq!(rows[0]["release_candidate_version"], "2026.01.01-rc3");
    assert_eq!(rows[0]["from_release_candidate_version"], "2026.01.01-rc1");
    assert_eq!(rows[1]["status"], "canceling");
    assert_eq!(rows[1]["deploy_end_at"], Value::Null);
    advance(&h, 2.0).await;
    let rows = list(&h, "payments-api", "staging", "per_page=2").await;
    assert_eq!(rows[1]["status"], "canceled");
    assert!(rows[1]["deploy_end_at"].is_string());
    assert_eq!(rows[0]["status"], "in_progress");

    // rc4: failure with the health-check message.
    create_rc(&h, "payments-api", "2026.01.01-rc4").await;
    deploy(&h, ALICE, "payments-api", "canary", "2026.01.01-rc4").await;
    advance(&h, 12.0).await;
    let d = newest(&h, "payments-api", "canary").await;
    assert_eq!(d["status"], "failure");
    assert_eq!(d["error_message"], HEALTH_CHECK_FAILED);

    // Errors of the deploy route.
    let r = deploy(&h, ALICE, "payments-api", "staging", "2026.09.09-rc1").await;
    assert_eq!((r.status, r.error()), (404, "Release not found".into()));
    let r = deploy(&h, ALICE, "payments-api", "staging", "bogus").await;
    assert_eq!(
        (r.status, r.error()),
        (400, "Invalid release candidate version".into())
    );
    let r = deploy(&h, ALICE, "payments-api", "qa", "2026.01.01-rc1").await;
    assert_eq!(
        (r.status, r.error()),
        (404, "Release environment not found".into())
    );
    let r = deploy(&h, ALICE, "nope", "staging", "2026.01.01-rc1").await;
    assert_eq!(
        (r.status, r.error()),
        (404, "Release project not found".into())
    );
    let wf = newest(&h, "web-frontend", "dogfood").await;
    let v = wf["release_candidate_version"].as_str().unwrap();
    let r = deploy(&h, ALICE, "web-frontend", "production", v).await;
    assert_eq!((r.status, r.error()), (400, "Environment is frozen".into()));
    assert_eq!(
        deploy(&h, ALICE, "web-frontend", "dogfood", v).await.status,
        201
    );
}

#[tokio::test]
async fn patch_upserts_and_never_advances() {
    let h = start_sim("").await;
    create_rc(&h, "data pipeline", "2026.01.01-rc1").await;
    let r = patch(
        &h,
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "in_progress",
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    let rows = list(&h, "data pipeline", "production", "").await;
    assert_eq!(rows.len(), 1, "PATCH created the deployment");
    assert_eq!(rows[0]["status"], "in_progress");
    assert_eq!(rows[0]["deploy_end_at"], Value::Null);
    assert_eq!(rows[0]["from_release_candidate_version"], Value::Null);
    advance(&h, 60.0).await;
    assert_eq!(
        newest(&h, "data pipeline", "production").await["status"],
        "in_progress"
    );
    patch(
        &h,
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "success",
    )
    .await;
    let rows = list(&h, "data pipeline", "production", "").await;
    assert_eq!(rows.len(), 1, "same row updated");
    assert_eq!(rows[0]["status"], "success");
    assert_eq!(rows[0]["deploy_end_at"], "2026-01-01T10:01:00.000000+00:00");
    patch(
        &h,
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "canceling",
    )
    .await;
    assert_eq!(
        newest(&h, "data pipeline", "production").await["deploy_end_at"],
        Value::Null
    );
    for s in STATUS_WORDS {
        assert_eq!(
            patch(&h, "data pipeline", "production", "2026.01.01-rc1", s)
                .await
                .status,
            200,
            "{s}"
        );
    }
    let r = patch(
        &h,
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "succeeded",
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "Invalid status".into()));
    let r = patch(
        &h,
        "data pipeline",
        "production",
        "2026.01.01-rc9",
        "success",
    )
    .await;
    assert_eq!((r.status, r.error()), (404, "Release not found".into()));
    let r = patch(&h, "data pipeline", "production", "2026.01.01", "success").await;
    assert_eq!(
        (r.status, r.error()),
        (400, "Invalid release candidate version".into())
    );
    let r = patch(&h, "data pipeline", "qa", "2026.01.01-rc1", "success").await;
    assert_eq!(
        (r.status, r.error()),
        (404, "Release environment not found".into())
    );
    // PATCH on a simulator-driven row stops it from advancing.
    create_rc(&h, "data pipeline", "2026.01.01-rc2").await;
    deploy(&h, ALICE, "data pipeline", "staging", "2026.01.01-rc2").await;
    patch(
        &h,
        "data pipeline",
        "staging",
        "2026.01.01-rc2",
        "in_progress",
    )
    .await;
    advance(&h, 30.0).await;
    assert_eq!(
        newest(&h, "data pipeline", "staging").await["status"],
        "in_progress"
    );
}

const STATUS_WORDS: [&str; 8] = [
    "pending",
    "in_progress",
    "success",
    "failure",
    "canceling",
    "canceled",
    "error",
    "unknown",
];

#[tokio::test]
async fn rollback_algorithm() {
    let h = start_sim("").await;
    // No deployment at all.
    let r = rollback(&h, "data pipeline", "production", None).await;
    assert_eq!(
        (r.status, r.error()),
        (404, "No previous deployment to roll back from".into())
    );
    // Last is a success with no from_* → 404 too.
    create_rc(&h, "data pipeline", "2026.01.01-rc1").await;
    patch(
        &h,
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "success",
    )
    .await;
    let r = rollback(&h, "data pipeline", "production", Some(json!({}))).await;
    assert_eq!(
        (r.status, r.error()),
        (404, "No previous deployment to roll back from".into())
    );

    // Last succeeded → the RC it replaced.
    let last = newest(&h, "payments-api", "production").await;
    assert_eq!(last["status"], "success");
    let r = rollback(&h, "payments-api", "production", None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let d = r.json();
    assert_eq!(d["status"], "pending");
    assert_eq!(d["deploy_end_at"], Value::Null);
    assert_eq!(d["error_message"], Value::Null);
    assert_eq!(d["actor"], "alice@acme.test");
    assert_eq!(
        d["release_candidate_version"],
        last["from_release_candidate_version"]
    );
    assert_eq!(
        d["from_release_candidate_version"],
        last["release_candidate_version"]
    );
    assert_eq!(newest(&h, "payments-api", "production").await, d);
    advance(&h, 12.0).await;
    assert_eq!(
        newest(&h, "payments-api", "production").await["status"],
        "success"
    );

    // Last failed → the newest success; an active row is canceled first.
    let good = newest(&h, "payments-api", "canary").await;
    assert_eq!(good["status"], "success");
    create_rc(&h, "payments-api", "2026.01.01-rc4").await;
    create_rc(&h, "payments-api", "2026.01.01-rc5").await;
    deploy(&h, ALICE, "payments-api", "canary", "2026.01.01-rc4").await;
    advance(&h, 12.0).await;
    deploy(&h, ALICE, "payments-api", "canary", "2026.01.01-rc5").await;
    advance(&h, 1.0).await;
    let r = rollback(&h, "payments-api", "canary", Some(json!({"force": false}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json()["release_candidate_version"],
        good["release_candidate_version"]
    );
    let rows = list(&h, "payments-api", "canary", "per_page=3").await;
    assert_eq!(rows[1]["release_candidate_version"], "2026.01.01-rc5");
    assert_eq!(
        rows[1]["status"], "canceled",
        "active rows are canceled at once"
    );
    assert_eq!(rows[2]["status"], "failure");

    // Frozen: 400 without force, 201 with it.
    let r = rollback(&h, "web-frontend", "production", None).await;
    assert_eq!((r.status, r.error()), (400, "Environment is frozen".into()));
    let last = newest(&h, "web-frontend", "production").await;
    let r = rollback(
        &h,
        "web-frontend",
        "production",
        Some(json!({"force": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json()["release_candidate_version"],
        last["from_release_candidate_version"]
    );
    let r = rollback(&h, "web-frontend", "qa", None).await;
    assert_eq!(
        (r.status, r.error()),
        (404, "Release environment not found".into())
    );
    let r = rollback(&h, "nope", "qa", None).await;
    assert_eq!(
        (r.status, r.error()),
        (404, "Release project not found".into())
    );
}

#[tokio::test]
async fn faults_in_aviator_style() {
    let h = start_sim("").await;
    let path = deps_path("payments-api", "staging");
    set_faults(&h, json!({"aviator.error_rate": 1})).await;
    let r = call(&h, Method::GET, &path, Some(ALICE), None).await;
    assert_eq!((r.status, r.error()), (500, "Internal server error".into()));
    let r = call(&h, Method::GET, &path, Some(ALICE), None).await;
    assert_eq!(r.status, 502);
    assert!(r.text.contains("<html>") && r.text.contains("502 Bad Gateway"));

    set_faults(
        &h,
        json!({"aviator.rate_limit": 1, "aviator.retry_after": 7}),
    )
    .await;
    let r = call(&h, Method::GET, &path, Some(ALICE), None).await;
    assert_eq!((r.status, r.error()), (429, "Rate limit exceeded".into()));
    assert_eq!(r.headers.get("retry-after").unwrap(), "7");

    set_faults(&h, json!({"aviator.malformed_rate": 1})).await;
    let (mut cut, mut missing) = (0, 0);
    for _ in 0..30 {
        let r = call(&h, Method::GET, &path, Some(ALICE), None).await;
        assert_eq!(r.status, 200);
        match serde_json::from_str::<Value>(&r.text) {
            Err(_) => cut += 1,
            Ok(Value::Array(items)) => {
                assert_eq!(
                    items.iter().filter(|i| i.get("status").is_none()).count(),
                    1
                );
                missing += 1;
            }
            Ok(other) => panic!("{other}"),
        }
    }
    assert!(
        cut > 0 && missing > 0,
        "cut {cut}, missing status {missing}"
    );

    // A reset after a POST deployment: no answer, but the row exists.
    set_faults(&h, json!({})).await;
    create_rc(&h, "payments-api", "2026.01.01-rc1").await;
    set_faults(&h, json!({"aviator.reset_rate": 1})).await;
    let sent = reqwest::Client::new()
        .post(format!("{}{path}", h.url("aviator")))
        .bearer_auth(ALICE)
        .json(&json!({"release_candidate_version": "2026.01.01-rc1"}))
        .send()
        .await;
    assert!(sent.is_err(), "connection closed without an answer");
    set_faults(&h, json!({})).await;
    assert_eq!(
        newest(&h, "payments-api", "staging").await["release_candidate_version"],
        "2026.01.01-rc1"
    );

    // Tokens revoked mid-run: 401 from then on.
    set_faults(&h, json!({"aviator.expire_tokens_at": "30s"})).await;
    assert_eq!(
        call(&h, Method::GET, &path, Some(ALICE), None).await.status,
        200
    );
    advance(&h, 30.0).await;
    for tok in [ALICE, ACCOUNT] {
        let r = call(&h, Method::GET, &path, Some(tok), None).await;
        assert_eq!((r.status, r.error()), (401, "Unauthorized".into()));
    }
    // Another backend's faults never touch Aviator (and revocation ends with the fault).
    set_faults(&h, json!({"freecommit.error_rate": 1})).await;
    assert_eq!(
        call(&h, Method::GET, &path, Some(ALICE), None).await.status,
        200
    );
}

#[tokio::test]
async fn reset_restores_fixtures_and_demo_deploys_in_the_background() {
    let h = start_sim("").await;
    create_rc(&h, "payments-api", "2026.01.01-rc1").await;
    deploy(&h, ALICE, "payments-api", "staging", "2026.01.01-rc1").await;
    assert_eq!(
        list(&h, "payments-api", "staging", "per_page=100")
            .await
            .len(),
        26
    );
    let r = reqwest::Client::new()
        .post(h.url("__sim/reset"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        list(&h, "payments-api", "staging", "per_page=100")
            .await
            .len(),
        25
    );
    // No background activity outside demo mode.
    advance(&h, 3600.0).await;
    assert_eq!(
        list(&h, "payments-api", "staging", "per_page=100")
            .await
            .len(),
        25
    );

    let demo = sim::start(SimOptions {
        demo: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let before = list(&demo, "payments-api", "staging", "per_page=100").await;
    advance(&demo, 150.0).await;
    let after = list(&demo, "payments-api", "staging", "per_page=100").await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[0]["actor"], Value::Null);
    assert_eq!(after[0]["status"], "pending");
    assert_eq!(after[0]["release_candidate_version"], "2026.01.01-rc1");
    // Modest: one event per 150 s, in turn per project.
    advance(&demo, 300.0).await;
    assert_eq!(
        list(&demo, "payments-api", "staging", "per_page=100")
            .await
            .len(),
        before.len() + 1
    );
    assert_eq!(
        newest(&demo, "web-frontend", "dogfood").await["release_candidate_version"],
        "2026.01.01.rc1"
    );
}

#[tokio::test]
async fn printed_config_lists_the_catalog() {
    let h = start_sim("").await;
    let text = shipdeck::demo::printable_config(&h);
    let cfg = shipdeck::config::Config::parse(&text, std::path::Path::new("sim.toml"), true)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let p = cfg.profile("sim-aviator").expect("aviator profile");
    assert_eq!(p.url.as_str(), h.url("aviator"));
    assert_eq!(p.protected_environments, vec!["production".to_string()]);
    let names: Vec<(&str, Vec<&str>)> = p
        .projects
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.environments.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("payments-api", vec!["staging", "canary", "production"]),
            ("web-frontend", vec!["dogfood", "production"]),
            ("data pipeline", vec!["staging", "production"]),
        ]
    );
    let demo = shipdeck::demo::demo_config(&h);
    let d = demo.profile("demo-aviator").expect("demo profile");
    assert_eq!(d.projects, p.projects);
    assert_eq!(d.protected_environments, p.protected_environments);
}
