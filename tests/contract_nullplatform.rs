//! The nullplatform client against the built-in simulator (`shared/api/nullplatform.md`):
//! login and bad keys, transparent re-login on expiry, proactive refresh when the login reply
//! says when the token ends, application filters, parameters without secret values, builds
//! (history, active, launch, status reports with the refused `successful`, assets and their
//! targets), the server's errors verbatim, the probe of the optional build reads, and faults.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::{advance, fast_policy, set_faults, start_proxy, start_sim};
use secrecy::SecretString;
use serde_json::{Value, json};
use shipdeck::api::http::Http;
use shipdeck::api::nullplatform::{AssetKind, Nullplatform, ReportStatus};
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::{Credential, Profile};
use shipdeck::domain::{BuildScope, BuildStatus, Kind, LaunchRequest, ListQuery, Resource};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SHA: &str = "9f2c1e4b7a5d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";

fn client(base: &str, key: &str) -> Nullplatform {
    let http = Http::with_base(base, Duration::from_secs(10), None, false)
        .expect("http client")
        .with_policy(fast_policy());
    Nullplatform::with_http(
        http,
        Credential::Inline(SecretString::from(key.to_string())),
    )
}

fn q(filter: Option<&str>) -> ListQuery {
    ListQuery {
        page: 1,
        per_page: 50,
        filter: filter.map(str::to_string),
        sort: None,
    }
}

fn launch_req(app: &str, sha: &str) -> LaunchRequest {
    LaunchRequest {
        project_id: app.into(),
        skip_steps: Vec::new(),
        params: vec![
            ("commit".into(), sha.into()),
            ("branch".into(), "refs/heads/main".into()),
            ("description".into(), "Fix rounding".into()),
        ],
    }
}

/// Raw JSON from the simulator with the CI key (for comparisons).
async fn raw_get(base: &str, path: &str) -> Value {
    shipdeck::api::http::install_crypto_provider();
    let c = reqwest::Client::new();
    let t: Value = c
        .post(format!("{base}/login"))
        .json(&json!({"api_key": "np-ci-key"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.get(format!("{base}{path}"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_offers_projects_secrets_and_build_reads() {
    let sim = start_sim("").await;
    let url = url::Url::parse(&sim.url("nullplatform")).unwrap();
    let mut profile = Profile::new("np", Kind::Nullplatform, url);
    profile.api_key = Some(Credential::Inline(SecretString::from("np-demo-key")));
    let np = shipdeck::api::connect(&profile).expect("client");
    assert_eq!(np.kind(), Kind::Nullplatform);
    let s = np.login().await.expect("login");
    let projects = s.caps.list(Resource::Projects).expect("projects");
    assert!(projects.server_filter && !projects.paged);
    assert!(s.caps.list(Resource::Secrets).is_some());
    assert!(s.caps.list(Resource::Developers).is_none());
    assert!(s.caps.why_not(Resource::Developers).contains("no user"));
    assert!(s.caps.builds.list && s.caps.builds.launch);
    assert!(!s.caps.builds.kill && !s.caps.builds.logs && !s.caps.builds.skip_steps);
    assert!(s.caps.list(Resource::Builds).is_some());
}

#[tokio::test]
async fn bad_key_is_an_auth_error_with_exit_code_3() {
    let sim = start_sim("").await;
    let np = client(&sim.url("nullplatform"), "np-wrong-key");
    let e = np.login().await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Auth(m) if m.contains("Invalid api key")),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 3);
    assert!(!e.to_string().contains("np-wrong-key"), "{e}");
}

#[tokio::test]
async fn expired_token_is_renewed_once_transparently() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let np = client(&proxy.url("nullplatform"), "np-ci-key");
    np.login().await.unwrap();
    assert_eq!(proxy.count("/login"), 1);
    np.projects(&q(None)).await.unwrap();
    assert_eq!(
        proxy.count("/login"),
        1,
        "opaque token: no proactive refresh"
    );
    advance(&sim, 3601.0).await;
    let p = np
        .projects(&q(None))
        .await
        .expect("re-login is transparent");
    assert_eq!(p.items.len(), 20);
    assert_eq!(proxy.count("/login"), 2);
    // A POST is replayed after the re-login too (a 401 was not processed).
    advance(&sim, 3601.0).await;
    let b = np.launch(&launch_req("1", SHA)).await.expect("launch");
    assert_eq!(b.status, BuildStatus::Queued);
    assert_eq!(proxy.count("/login"), 3);
    assert_eq!(
        proxy.count("/build"),
        3,
        "POST /build: refused once, replayed once, plus the probe"
    );
}

#[tokio::test]
async fn expire_tokens_at_fault_is_survived() {
    let sim = start_sim("nullplatform.expire_tokens_at=5s").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    np.login().await.unwrap();
    advance(&sim, 6.0).await;
    assert_eq!(np.projects(&q(None)).await.unwrap().items.len(), 20);
}

#[tokio::test]
async fn a_second_401_after_a_fresh_login_is_auth() {
    // Tokens that are dead on arrival: the re-login cannot help.
    let sim = start_sim("nullplatform.token_ttl=0s").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    let e = np.projects(&q(None)).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Auth(m) if m.contains("Token expired")),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 3);
}

/// A stub CI API whose login reply carries `expires_in`; counts logins.
async fn stub_with_expiry(expires_in: i64) -> (String, Arc<AtomicUsize>) {
    let logins = Arc::new(AtomicUsize::new(0));
    let st = (logins.clone(), expires_in);
    let app = axum::Router::new()
        .route(
            "/login",
            axum::routing::post(
                |State((n, exp)): State<(Arc<AtomicUsize>, i64)>| async move {
                    n.fetch_add(1, Ordering::SeqCst);
                    axum::Json(json!({"access_token": "npat_stub", "expires_in": exp}))
                },
            ),
        )
        .route(
            "/application",
            axum::routing::get(|| async { axum::Json(json!([{"id": 7, "name": "only"}])) }),
        )
        .with_state(st);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), logins)
}

#[tokio::test]
async fn expires_in_triggers_a_proactive_refresh_before_expiry() {
    // Issue 11 item 5: the margin is min(60 s, a quarter of the lifetime), so a short-lived
    // token is still reused (never one login per request) …
    let (base, logins) = stub_with_expiry(30).await;
    let np = client(&base, "k");
    for _ in 0..3 {
        let p = np.projects(&q(None)).await.unwrap();
        assert_eq!(p.items[0].id, "7");
    }
    assert_eq!(
        logins.load(Ordering::SeqCst),
        1,
        "a 30 s token is renewed 7 s before it ends, not before each request"
    );
    // … while one that is already at its end is renewed before use.
    let (base, logins) = stub_with_expiry(0).await;
    let np = client(&base, "k");
    for _ in 0..3 {
        np.projects(&q(None)).await.unwrap();
    }
    assert_eq!(
        logins.load(Ordering::SeqCst),
        3,
        "an ended token: refresh each time"
    );

    let (base, logins) = stub_with_expiry(3600).await;
    let np = client(&base, "k");
    for _ in 0..3 {
        np.projects(&q(None)).await.unwrap();
    }
    assert_eq!(logins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn projects_map_applications_and_filter_by_name() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let np = client(&proxy.url("nullplatform"), "np-ci-key");
    let all = np.projects(&q(None)).await.unwrap();
    assert_eq!(all.items.len(), 20, "active applications only");
    assert!(!all.has_more);
    let pay = all.items.iter().find(|p| p.name == "payments").unwrap();
    assert_eq!(pay.id, "1");
    assert_eq!(
        pay.description.as_deref(),
        Some("payments · https://github.com/acme/payments")
    );
    let inv = all.items.iter().find(|p| p.name == "inventory").unwrap();
    assert!(
        inv.description
            .as_deref()
            .unwrap()
            .contains("(services/inventory)")
    );

    let exact = np.projects(&q(Some("payments"))).await.unwrap();
    assert_eq!(exact.items.len(), 1);
    assert_eq!(exact.items[0].name, "payments");
    // Not an exact name: the active list filtered locally by substring.
    let partial = np.projects(&q(Some("pay"))).await.unwrap();
    assert_eq!(
        partial
            .items
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["payments"]
    );
    let by_repo = np.projects(&q(Some("acme/platform"))).await.unwrap();
    assert_eq!(by_repo.items.len(), 3);
    assert!(
        np.projects(&q(Some("old-crm")))
            .await
            .unwrap()
            .items
            .is_empty(),
        "inactive"
    );
    let page2 = np
        .projects(&ListQuery { page: 2, ..q(None) })
        .await
        .unwrap();
    assert!(page2.items.is_empty() && !page2.has_more);

    let mono = np
        .applications_by_repository("https://github.com/acme/platform", None, "active")
        .await
        .unwrap();
    assert_eq!(mono.len(), 3);
    let one = np
        .applications_by_repository(
            "https://github.com/acme/platform",
            Some("services/shipping"),
            "active",
        )
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name, "shipping");
    // The dashboard's `/` filter reaches the same server filters.
    let by_url = np
        .projects(&q(Some("https://github.com/acme/platform")))
        .await
        .unwrap();
    assert_eq!(by_url.items.len(), 3);
    let by_path = np
        .projects(&q(Some(
            "repo:https://github.com/acme/platform path:services/shipping",
        )))
        .await
        .unwrap();
    assert_eq!(by_path.items.len(), 1);
    assert_eq!(by_path.items[0].name, "shipping");
}

#[tokio::test]
async fn parameters_never_carry_secret_values_but_show_plain_ones() {
    let sim = start_sim("").await;
    let base = sim.url("nullplatform");
    let np = client(&base, "np-ci-key");
    let raw = raw_get(&base, "/application/1/parameter").await;
    let raw = raw.as_array().unwrap();
    let page = np.secrets(&q(Some("payments"))).await.unwrap();
    assert_eq!(page.items.len(), raw.len());
    let json_out = serde_json::to_string(&page.items).unwrap();
    let debug_out = format!("{:?}", page.items);
    let mut secrets = 0;
    for p in raw {
        let name = p["name"].as_str().unwrap();
        let row = page.items.iter().find(|s| s.name == name).unwrap();
        assert_eq!(row.environment.as_deref(), Some("payments"));
        let value = p["value"].as_str();
        if p["secret"] == true {
            secrets += 1;
            assert_eq!(row.scope, "secret");
            assert_eq!(row.value, None);
            let v = value.expect("fixture secret has a value");
            assert!(!json_out.contains(v), "secret value of {name} serialized");
            assert!(!debug_out.contains(v), "secret value of {name} in Debug");
        } else {
            assert_eq!(row.scope, "plain");
            assert_eq!(row.value.as_deref(), value, "{name}");
        }
    }
    assert!(secrets >= 4, "the BUILD_* secrets at least");
    assert!(json_out.contains(r#""value":"us-east-1""#), "{json_out}");

    // No filter: every active application's parameters.
    let all = np.secrets(&q(None)).await.unwrap();
    let apps = raw_get(&base, "/application?status=active").await;
    let mut expected = 0;
    for a in apps.as_array().unwrap() {
        expected += raw_get(&base, &format!("/application/{}/parameter", a["id"]))
            .await
            .as_array()
            .unwrap()
            .len();
    }
    assert_eq!(all.items.len(), expected);
    // A filter that names no application matches parameter names.
    let db = np.secrets(&q(Some("DATABASE_URL"))).await.unwrap();
    assert!(!db.items.is_empty());
    assert!(
        db.items
            .iter()
            .all(|s| s.name == "DATABASE_URL" && s.value.is_none())
    );
    // `value: null` on a plain parameter stays absent.
    let four = np.secrets(&q(Some("accounts"))).await.unwrap();
    assert!(
        four.items
            .iter()
            .any(|s| s.scope == "plain" && s.value.is_none())
    );
}

#[tokio::test]
async fn build_history_and_active_builds() {
    let sim = start_sim("").await;
    let base = sim.url("nullplatform");
    let np = client(&base, "np-ci-key");
    np.login().await.unwrap();
    // §11 C1: the reads answer bare arrays.
    let raw = raw_get(&base, "/build?application_id=1").await;
    let hist = np
        .builds(&BuildScope::Project {
            id: "1".into(),
            name: "payments".into(),
        })
        .await
        .unwrap();
    assert_eq!(hist.len(), raw.as_array().unwrap().len());
    assert!(hist.windows(2).all(|w| w[0].queued_at >= w[1].queued_at));
    for (b, r) in hist.iter().zip(raw.as_array().unwrap()) {
        assert_eq!(b.id, r["id"].to_string());
        assert_eq!(b.project, "payments");
        assert_eq!(b.project_id.as_deref(), Some("1"));
        assert_eq!(b.raw_status, r["status"].as_str().unwrap());
        assert_eq!(b.status.is_terminal(), b.finished_at.is_some());
    }
    // More than one page of GET /build: a busy application.
    for _ in 0..105 {
        np.launch(&launch_req("2", SHA)).await.unwrap();
    }
    let busy = np
        .builds(&BuildScope::Project {
            id: "2".into(),
            name: "checkout".into(),
        })
        .await
        .unwrap();
    let total = raw_get(&base, "/build?application_id=2")
        .await
        .as_array()
        .unwrap()
        .len();
    assert!(total > 105);
    assert_eq!(busy.len(), total);
    let ids: std::collections::HashSet<&str> = busy.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), total, "no build twice across pages");

    let active = np.builds(&BuildScope::Active).await.unwrap();
    let raw_active = raw_get(&base, "/build?status=pending,in_progress").await;
    assert_eq!(active.len(), raw_active.as_array().unwrap().len());
    assert!(
        active
            .iter()
            .all(|b| matches!(b.status, BuildStatus::Queued | BuildStatus::Running))
    );
    assert!(active.iter().any(|b| b.status == BuildStatus::Running));
    assert!(active.iter().all(|b| !b.project.is_empty()));
}

#[tokio::test]
async fn launch_report_and_assets_follow_the_server_rules() {
    let sim = start_sim("").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    let opts = np.launch_options("1").await.unwrap();
    let names: Vec<&str> = opts.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(&names[..2], ["commit", "branch"]);
    assert!(opts.fields[0].required && opts.fields[1].required);
    assert!(names.contains(&"description"));

    np.projects(&q(None)).await.unwrap(); // learn the names
    let b = np.launch(&launch_req("1", SHA)).await.unwrap();
    assert_eq!(b.status, BuildStatus::Queued);
    assert_eq!(b.raw_status, "pending");
    assert_eq!(b.project, "payments");
    assert_eq!(
        b.commit_label().as_deref(),
        Some("main@9f2c1e4"),
        "refs/heads/ stripped"
    );
    assert_eq!(b.message.as_deref(), Some("Fix rounding"));

    let run = np
        .set_build_status(&b.id, ReportStatus::InProgress)
        .await
        .unwrap();
    assert_eq!(
        (run.status, run.project.as_str()),
        (BuildStatus::Running, "payments")
    );

    let img = np
        .create_asset(&b.id, AssetKind::DockerImage, None, None)
        .await
        .unwrap();
    assert_eq!(
        (img.name.as_str(), img.kind.as_str()),
        ("main", "docker-image")
    );
    assert_eq!(img.build_id, b.id);
    assert_eq!(img.targets.len(), 1);
    assert_eq!(img.targets[0].provider, "aws-ecr");
    assert_eq!(
        img.targets[0].url,
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/payments:{SHA}")
    );
    let fun = np
        .create_asset(&b.id, AssetKind::Lambda, Some("handler"), None)
        .await
        .unwrap();
    assert_eq!(fun.targets[0].provider, "aws-s3");
    assert!(
        fun.targets[0]
            .url
            .ends_with(&format!("/payments/{SHA}.zip?X-Amz-Expires=900"))
    );
    let pinned = np
        .create_asset(
            &b.id,
            AssetKind::DockerImage,
            Some("side"),
            Some("reg.example/p:1"),
        )
        .await
        .unwrap();
    assert_eq!(pinned.targets[0].provider, "generic");
    assert_eq!(pinned.targets[0].url, "reg.example/p:1");

    let done = np
        .set_build_status(&b.id, ReportStatus::Successful)
        .await
        .unwrap();
    assert_eq!(done.status, BuildStatus::Succeeded);
    assert!(done.finished_at.is_some());
    let e = np
        .set_build_status(&b.id, ReportStatus::Failed)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::Rejected {
            status: 400,
            message: "Invalid status transition from successful to failed".into()
        }
    );
    // §11 C5: an asset after `successful` is accepted (the current GitHub action's order).
    let late = np
        .create_asset(&b.id, AssetKind::Lambda, None, None)
        .await
        .unwrap();
    assert_eq!(late.build_id, b.id);
    // pending → failed directly; a failed build takes no asset, in the server's words.
    let b2 = np.launch(&launch_req("3", "abcdef1")).await.unwrap();
    let f = np
        .set_build_status(&b2.id, ReportStatus::Failed)
        .await
        .unwrap();
    assert_eq!(f.status, BuildStatus::Failed);
    assert_eq!(
        np.create_asset(&b2.id, AssetKind::Lambda, None, None)
            .await
            .unwrap_err(),
        ApiError::Rejected {
            status: 400,
            message: "Build is already failed".into()
        }
    );
}

/// §11 C5: `successful` straight after registering is accepted by the simulator (a current
/// GitHub action reports it before creating the asset).
#[tokio::test]
async fn successful_before_an_asset_is_reported() {
    let sim = start_sim("").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    let b = np.launch(&launch_req("1", SHA)).await.unwrap();
    let done = np
        .set_build_status(&b.id, ReportStatus::Successful)
        .await
        .unwrap();
    assert_eq!(done.status, BuildStatus::Succeeded);
    let a = np
        .create_asset(&b.id, AssetKind::DockerImage, None, None)
        .await
        .unwrap();
    assert_eq!(a.targets[0].provider, "aws-ecr");
}

#[tokio::test]
async fn server_errors_reach_the_operator_verbatim() {
    let sim = start_sim("").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    assert_eq!(
        np.launch(&launch_req("1", "not-a-sha")).await.unwrap_err(),
        ApiError::Rejected {
            status: 400,
            message: "Field commit.id is required".into()
        }
    );
    let mut no_branch = launch_req("1", SHA);
    no_branch.params.retain(|(k, _)| k != "branch");
    assert_eq!(
        np.launch(&no_branch).await.unwrap_err(),
        ApiError::Rejected {
            status: 400,
            message: "Field branch is required".into()
        }
    );
    assert_eq!(
        np.launch(&launch_req("999", SHA)).await.unwrap_err(),
        ApiError::NotFound("Application not found".into())
    );
    assert_eq!(
        np.set_build_status("42", ReportStatus::Failed)
            .await
            .unwrap_err(),
        ApiError::NotFound("Build not found".into())
    );
    assert_eq!(
        np.create_asset("42", AssetKind::Lambda, None, None)
            .await
            .unwrap_err(),
        ApiError::NotFound("Build not found".into())
    );
    let build = np.launch(&launch_req("1", SHA)).await.unwrap();
    let e = np.kill(&build).await.unwrap_err();
    assert!(matches!(&e, ApiError::Unsupported(m) if m.contains("cannot cancel")));
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let e = np.tail_log(&build, false, tx).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Unsupported(m) if m.contains("external CI")),
        "{e:?}"
    );
    assert!(matches!(
        np.developers(&q(None)).await,
        Err(ApiError::Unsupported(_))
    ));
}

struct HideBuilds {
    target: String,
    status: StatusCode,
    client: reqwest::Client,
}

/// A proxy that answers `GET /build…` with `status` (a host without build reads) and
/// forwards everything else.
async fn start_hiding_proxy(target: String, status: StatusCode) -> String {
    async fn fwd(State(st): State<Arc<HideBuilds>>, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_string();
        if parts.method == axum::http::Method::GET && path.ends_with("/build") {
            return if st.status == StatusCode::NOT_FOUND {
                (
                    st.status,
                    axum::Json(json!({"id": 404, "message": "Not found"})),
                )
                    .into_response()
            } else {
                st.status.into_response()
            };
        }
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut rb = st
            .client
            .request(parts.method.clone(), format!("{}{pq}", st.target));
        for (n, v) in &parts.headers {
            if n != axum::http::header::HOST && n != axum::http::header::CONTENT_LENGTH {
                rb = rb.header(n, v);
            }
        }
        let r = rb.body(bytes).send().await.unwrap();
        let status = r.status();
        let ct = r.headers().get("content-type").cloned();
        let mut out = Response::new(Body::from(r.bytes().await.unwrap_or_default()));
        *out.status_mut() = status;
        if let Some(ct) = ct {
            out.headers_mut().insert("content-type", ct);
        }
        out
    }
    shipdeck::api::http::install_crypto_provider();
    let st = Arc::new(HideBuilds {
        target,
        status,
        client: reqwest::Client::new(),
    });
    let app = axum::Router::new().fallback(fwd).with_state(st);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn hosts_without_build_reads_hide_history_but_still_register() {
    for status in [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED] {
        let sim = start_sim("").await;
        let root = start_hiding_proxy(sim.url(""), status).await;
        let np = client(&format!("{root}/nullplatform"), "np-ci-key");
        let s = np.login().await.unwrap();
        assert!(!s.caps.builds.list, "{status}");
        assert!(s.caps.builds.launch);
        assert!(s.caps.why_not(Resource::Builds).contains("404/405"));
        for scope in [
            BuildScope::Active,
            BuildScope::Project {
                id: "1".into(),
                name: "payments".into(),
            },
        ] {
            let e = np.builds(&scope).await.unwrap_err();
            assert!(
                matches!(&e, ApiError::Unsupported(m) if m.contains("build reads")),
                "{e:?}"
            );
        }
        let b = np.launch(&launch_req("1", SHA)).await.unwrap();
        assert_eq!(b.status, BuildStatus::Queued);
    }
    // Without a login first, the first build list probes too.
    let sim = start_sim("").await;
    let root = start_hiding_proxy(sim.url(""), StatusCode::NOT_FOUND).await;
    let np = client(&format!("{root}/nullplatform"), "np-ci-key");
    let e = np
        .builds(&BuildScope::Project {
            id: "1".into(),
            name: "payments".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unsupported(_)), "{e:?}");
}

#[tokio::test]
async fn server_errors_and_rate_limits_surface_after_read_retries() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let np = client(&proxy.url("nullplatform"), "np-ci-key");
    np.login().await.unwrap();
    set_faults(&sim, json!({"nullplatform.error_rate": 1})).await;
    // Injected errors rotate 500 (JSON), 502, 503 (HTML). A 500 is not retried.
    let before = proxy.count("/application");
    let e = np.projects(&q(None)).await.unwrap_err();
    let internal = ApiError::Server {
        status: 500,
        message: "Internal server error".into(),
    };
    assert_eq!(e, internal);
    assert_eq!(proxy.count("/application") - before, 1);
    // 502 and 503 are retried (3 tries), ending on the next 500.
    let e = np.projects(&q(None)).await.unwrap_err();
    assert_eq!(e, internal);
    assert_eq!(proxy.count("/application") - before, 4, "reads retried");
    // A write is never retried, not even on a 502.
    let before = proxy.count("/build");
    let e = np.launch(&launch_req("1", SHA)).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Server { status: 502, message } if message.starts_with("HTTP 502: <html>")),
        "{e:?}"
    );
    assert!(e.is_connectivity());
    assert_eq!(proxy.count("/build") - before, 1);
    // Login failures that are the server's fault are not credential problems.
    let fresh = client(&proxy.url("nullplatform"), "np-ci-key");
    let e = fresh.login().await.unwrap_err();
    assert!(matches!(e, ApiError::Server { .. }), "{e:?}");
    assert_ne!(e.exit_code(), 3);

    set_faults(&sim, json!({"rate_limit": 1, "retry_after": 1})).await;
    assert_eq!(
        np.projects(&q(None)).await.unwrap_err(),
        ApiError::RateLimited
    );
    assert_eq!(
        np.set_build_status("5001", ReportStatus::Failed)
            .await
            .unwrap_err(),
        ApiError::RateLimited
    );
}

#[tokio::test]
async fn malformed_and_truncated_bodies_never_panic_or_leak() {
    let sim = start_sim("").await;
    let base = sim.url("nullplatform");
    let np = client(&base, "np-ci-key");
    np.login().await.unwrap();
    let secret_values: Vec<String> = raw_get(&base, "/application/1/parameter")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["secret"] == true)
        .filter_map(|p| p["value"].as_str().map(str::to_string))
        .collect();
    set_faults(&sim, json!({"nullplatform.malformed_rate": 1})).await;
    let (mut ok, mut decode) = (0, 0);
    for _ in 0..10 {
        match np.projects(&q(None)).await {
            // `id` as a string is still an opaque id.
            Ok(p) => {
                assert_eq!(p.items.len(), 20);
                ok += 1;
            }
            Err(ApiError::Decode(_)) => decode += 1,
            Err(e) => panic!("{e:?}"),
        }
        match np.secrets(&q(Some("payments"))).await {
            Ok(_) => {}
            Err(ApiError::Decode(m)) => {
                for v in &secret_values {
                    assert!(!m.contains(v.as_str()), "secret in error: {m}");
                }
                assert!(m.contains("payments"), "{m}");
            }
            Err(e) => panic!("{e:?}"),
        }
        let _ = np
            .builds(&BuildScope::Project {
                id: "1".into(),
                name: "payments".into(),
            })
            .await;
    }
    assert!(ok > 0 && decode > 0, "ok {ok}, decode {decode}");

    set_faults(&sim, json!({"truncate_rate": 1})).await;
    let short = np.secrets(&q(Some("payments"))).await.unwrap();
    assert!(short.items.len() < 12);
}

#[tokio::test]
async fn resets_are_network_errors_and_a_reset_launch_says_to_re_read() {
    let sim = start_sim("").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    np.login().await.unwrap();
    set_faults(&sim, json!({"nullplatform.reset_rate": 1})).await;
    let e = np.projects(&q(None)).await.unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
    let e = np.launch(&launch_req("1", SHA)).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Network(m) if m.contains("may or may not have been registered")),
        "{e:?}"
    );
}

/// A stub CI API: `/login` always works; `routes` adds the rest. Returns its base URL.
async fn stub(routes: axum::Router) -> String {
    let app = axum::Router::new()
        .route(
            "/login",
            axum::routing::post(|| async { axum::Json(json!({"access_token": "npat_stub"})) }),
        )
        .merge(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn history(id: &str, name: &str) -> BuildScope {
    BuildScope::Project {
        id: id.into(),
        name: name.into(),
    }
}

/// §11 C1: build reads come as the CI API's bare array or as the public API's
/// `{paging, results}` page; both are read, and a server that ignores `limit`/`offset`
/// (the whole list on every page) yields each build once.
#[tokio::test]
async fn build_reads_accept_bare_arrays_and_envelopes() {
    fn rows(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({"id": 9000 + i, "application_id": 1, "status": "successful",
                       "created_at": format!("2026-03-02T10:{:02}:{:02}Z", i / 60, i % 60)})
            })
            .collect()
    }
    let bare = stub(axum::Router::new().route(
        "/build",
        axum::routing::get(|| async { axum::Json(Value::Array(rows(150))) }),
    ))
    .await;
    let paged = stub(axum::Router::new().route(
        "/build",
        axum::routing::get(
            |axum::extract::Query(q): axum::extract::Query<
                std::collections::HashMap<String, String>,
            >| async move {
                let off: usize = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                let lim: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(30);
                let all = rows(150);
                let page: Vec<Value> = all.into_iter().skip(off).take(lim).collect();
                axum::Json(
                    json!({"paging": {"offset": off, "limit": lim, "total": 150}, "results": page}),
                )
            },
        ),
    ))
    .await;
    for base in [bare, paged] {
        let np = client(&base, "k");
        let got = np.builds(&history("1", "payments")).await.unwrap();
        assert_eq!(got.len(), 150, "{base}");
        let ids: std::collections::HashSet<&str> = got.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids.len(), 150, "each build once");
        assert!(
            got.windows(2).all(|w| w[0].queued_at >= w[1].queued_at),
            "newest first"
        );
        assert!(got.iter().all(|b| b.status == BuildStatus::Succeeded));
    }
    // The simulator answers bare arrays too.
    let sim = start_sim("").await;
    let raw = raw_get(&sim.url("nullplatform"), "/build").await;
    assert!(raw.is_array(), "{raw}");
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    let got = np.builds(&history("1", "payments")).await.unwrap();
    let raw = raw_get(&sim.url("nullplatform"), "/build?application_id=1").await;
    assert_eq!(got.len(), raw.as_array().unwrap().len());
}

/// §11 C2: the same client works on a bare host (`https://ci.nullplatform.com` style) and
/// on a URL with a path prefix (the simulator's mount), with or without a trailing slash.
#[tokio::test]
async fn bare_host_and_prefixed_urls_work_alike() {
    let sim = start_sim("").await;
    let bare = common::start_proxy_to(&sim.url("nullplatform")).await;
    let prefixed = start_proxy(&sim).await;
    for (base, proxy, prefix) in [
        (bare.root.clone(), &bare, ""),
        (format!("{}/", bare.root), &bare, ""),
        (prefixed.url("nullplatform"), &prefixed, "/nullplatform"),
        (
            format!("{}/", prefixed.url("nullplatform")),
            &prefixed,
            "/nullplatform",
        ),
    ] {
        let np = client(&base, "np-ci-key");
        let s = np.login().await.unwrap();
        assert!(s.caps.builds.list, "{base}");
        let apps = np.projects(&q(None)).await.unwrap();
        assert_eq!(apps.items.len(), 20, "{base}");
        let params = np.secrets(&q(Some("payments"))).await.unwrap();
        assert!(!params.items.is_empty(), "{base}");
        let hist = np.builds(&history("1", "payments")).await.unwrap();
        assert!(!hist.is_empty(), "{base}");
        let b = np.launch(&launch_req("1", SHA)).await.unwrap();
        let a = np
            .create_asset(&b.id, AssetKind::DockerImage, None, None)
            .await
            .unwrap();
        assert_eq!(a.build_id, b.id);
        let done = np
            .set_build_status(&b.id, ReportStatus::Successful)
            .await
            .unwrap();
        assert_eq!(done.status, BuildStatus::Succeeded);
        // Routes were appended verbatim to the base: `/login` at the host's root for the
        // bare URL, under the prefix for the prefixed one; never a doubled slash.
        assert!(proxy.calls(&format!("POST {prefix}/login")) >= 1, "{base}");
        assert!(proxy.calls(&format!("POST {prefix}/build")) >= 1, "{base}");
        assert!(
            proxy.paths().iter().all(|p| !p.contains("//")),
            "{:?}",
            proxy.paths()
        );
    }
}

/// §11 C3: the client never relies on the server filtering `GET /application` (GitLab sends
/// no status, the Azure task sends upper-case names): the reply is filtered again.
#[tokio::test]
async fn application_filters_are_applied_to_the_reply_too() {
    // A server that ignores every filter.
    let base = stub(axum::Router::new().route(
        "/application",
        axum::routing::get(|| async {
            axum::Json(json!([
                {"id": 1, "name": "payments", "status": "active",
                 "code_repository": {"url": "https://github.com/acme/payments"}},
                {"id": 2, "name": "legacy", "status": "inactive",
                 "repository_url": "https://github.com/acme/legacy"},
                {"id": 3, "name": "billing", "status": "creating",
                 "repository_url": "https://github.com/acme/payments"},
                {"id": 4, "name": "mono-a", "status": "ACTIVE",
                 "repository_url": "https://github.com/acme/mono.git",
                 "repository_app_path": "apps/a"},
                {"id": 5, "name": "mono-b", "status": "active",
                 "repository_url": "https://github.com/acme/mono",
                 "repository_app_path": "apps/b"},
                {"id": 6, "name": "no-status"}
            ]))
        }),
    ))
    .await;
    let np = client(&base, "k");
    let ids = |p: &[shipdeck::domain::Project]| p.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    let active = np.projects(&q(None)).await.unwrap();
    assert_eq!(
        ids(&active.items),
        ["1", "4", "5", "6"],
        "active (any case) or unknown"
    );
    let by_repo = np
        .applications_by_repository("https://github.com/acme/payments", None, "active")
        .await
        .unwrap();
    assert_eq!(ids(&by_repo), ["1", "6"]);
    let mono = np
        .applications_by_repository("https://github.com/acme/mono/", Some("apps/b"), "active")
        .await
        .unwrap();
    assert_eq!(ids(&mono), ["5", "6"]);
    let inactive = np.projects(&q(Some("status:inactive"))).await.unwrap();
    assert_eq!(ids(&inactive.items), ["2", "6"]);
    let several = np
        .projects(&q(Some("status:inactive,creating")))
        .await
        .unwrap();
    assert_eq!(ids(&several.items), ["2", "3", "6"]);
    // The exact-name lookup is not fooled by a server that returns everything.
    let named = np.projects(&q(Some("mono-b"))).await.unwrap();
    assert_eq!(ids(&named.items), ["5"]);
}

/// §11 C4: only `id`, `status` and `application_id` of the `POST /build` reply are relied on;
/// what else the build shows comes from the request.
#[tokio::test]
async fn a_minimal_build_reply_is_enough() {
    for reply in [
        json!({"id": 77, "status": "in_progress", "application_id": 1}),
        json!({"id": "77", "status": "in_progress", "application_id": "1", "extra": {"x": 1}}),
        json!({"id": 77, "status": "in_progress"}),
    ] {
        let base = stub(axum::Router::new().route(
            "/build",
            axum::routing::post(move || {
                let r = reply.clone();
                async move { axum::Json(r) }
            }),
        ))
        .await;
        let np = client(&base, "k");
        let b = np.launch(&launch_req("1", SHA)).await.unwrap();
        assert_eq!(b.id, "77");
        assert_eq!(b.build_id.as_deref(), Some("77"));
        assert_eq!(
            (b.status, b.raw_status.as_str()),
            (BuildStatus::Running, "in_progress")
        );
        assert_eq!(b.project_id.as_deref(), Some("1"));
        assert_eq!(
            b.commit_label().as_deref(),
            Some("main@9f2c1e4"),
            "from the request"
        );
        assert_eq!(
            b.message.as_deref(),
            Some("Fix rounding"),
            "from the request"
        );
        assert!(b.queued_at.is_some());
    }
    // A reply without an id is not a registered build.
    let base = stub(axum::Router::new().route(
        "/build",
        axum::routing::post(|| async { axum::Json(json!({"status": "pending"})) }),
    ))
    .await;
    let e = client(&base, "k")
        .launch(&launch_req("1", SHA))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
}

/// §11 C7 and C5: refusals come back in the server's words (also `successful` without an
/// asset, should the real server refuse it); a `405` with an empty body is reported by its
/// status, not as a JSON error.
#[tokio::test]
async fn refusals_verbatim_and_empty_405_by_status() {
    let base = stub(
        axum::Router::new()
            .route(
                "/build/{id}",
                axum::routing::patch(|| async {
                    (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"id": 400,
                            "message": "Build must have at least one asset to be set as successful"})),
                    )
                }),
            )
            .route(
                "/build/{id}/asset",
                axum::routing::post(|| async { StatusCode::METHOD_NOT_ALLOWED }),
            ),
    )
    .await;
    let np = client(&base, "k");
    assert_eq!(
        np.set_build_status("5", ReportStatus::Successful)
            .await
            .unwrap_err(),
        ApiError::Rejected {
            status: 400,
            message: "Build must have at least one asset to be set as successful".into()
        }
    );
    let e = np
        .create_asset("5", AssetKind::DockerImage, None, None)
        .await
        .unwrap_err();
    match &e {
        ApiError::Rejected {
            status: 405,
            message,
        } => {
            assert!(message.contains("405 Method Not Allowed"), "{message}");
            assert!(
                !message.contains("JSON") && !message.contains('{'),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The simulator's texts, verbatim.
    let sim = start_sim("").await;
    let np = client(&sim.url("nullplatform"), "np-ci-key");
    let e = np.launch(&launch_req("1", "zzzzzzz")).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Rejected {
            status: 400,
            message: "Field commit.id is required".into()
        }
    );
}

/// Raw JSON of the simulator's fixtures (read once).
struct Fixture {
    apps: Value,
    params: Value,
    builds: Value,
    assets: Value,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        common::mutate::with_sim(async |sim| {
            let base = sim.url("nullplatform");
            Fixture {
                apps: raw_get(&base, "/application").await,
                params: raw_get(&base, "/application/1/parameter").await,
                builds: raw_get(&base, "/build").await,
                assets: raw_get(&base, "/asset").await,
            }
        })
    })
}

mod tolerant_decoding {
    use super::common::mutate::{mutations, text};
    use super::*;
    use proptest::prelude::*;
    use shipdeck::api::nullplatform::{decode, status_of};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Issue 9: applications, parameters and builds keep every valid row through numbers
        /// as strings, dropped/null/empty arrays, unknown fields, undocumented statuses and a
        /// garbage row, in both list shapes.
        #[test]
        fn lists_keep_every_valid_row(m in mutations(), envelope in any::<bool>()) {
            let f = fixture();
            let shape = |list: Vec<Value>| {
                if envelope {
                    json!({"paging": {"offset": 0, "limit": "500", "total": list.len()}, "results": list})
                } else {
                    Value::Array(list)
                }
            };

            let apps = m.apply(f.apps.as_array().unwrap(), &["status"]);
            let got = decode::applications(shape(apps.list.clone())).unwrap();
            prop_assert_eq!(got.len(), apps.valid.len());
            prop_assert_eq!(got.len(), 24);
            for (p, src) in got.iter().zip(&apps.valid) {
                prop_assert_eq!(Some(p.id.clone()), text(&src["id"]));
                prop_assert_eq!(Some(p.name.clone()), text(&src["name"]));
                let status = text(&src["status"]).unwrap();
                let desc = p.description.clone().unwrap_or_default();
                prop_assert_eq!(status == "active", !desc.contains(&status));
            }

            let params = m.apply(f.params.as_array().unwrap(), &[]);
            let got = decode::parameters(shape(params.list.clone()), "1", "payments").unwrap();
            prop_assert_eq!(got.len(), params.valid.len());
            for (s, src) in got.iter().zip(&params.valid) {
                prop_assert_eq!(Some(s.name.clone()), text(&src["name"]));
                let plain = src["secret"] == json!(false);
                prop_assert_eq!(s.scope.as_str(), if plain { "plain" } else { "secret" });
                if plain {
                    prop_assert_eq!(s.value.clone(), text(&src["value"]));
                } else {
                    prop_assert!(s.value.is_none(), "a secret value left the decoder");
                }
            }

            let builds = m.apply(f.builds.as_array().unwrap(), &["status"]);
            let got = decode::builds(shape(builds.list.clone()), "payments").unwrap();
            prop_assert_eq!(got.len(), builds.valid.len());
            prop_assert_eq!(got.len(), 140);
            for (b, src) in got.iter().zip(&builds.valid) {
                prop_assert_eq!(Some(b.id.clone()), text(&src["id"]));
                prop_assert_eq!(b.project_id.clone(), text(&src["application_id"]));
                let raw = text(&src["status"]).unwrap();
                prop_assert_eq!(&b.raw_status, &raw);
                prop_assert_eq!(b.status, status_of(&raw));
                if raw == m.word {
                    prop_assert_eq!(b.status, BuildStatus::Unknown);
                }
                prop_assert!(b.queued_at.is_some());
                prop_assert!(b.commit_label().is_some());
            }
        }

        /// Issue 9: an asset reply with its targets dropped, `null` or `[]`, providers and
        /// types nobody documented, numbers as strings and unknown fields.
        #[test]
        fn assets_keep_what_they_carry(m in mutations()) {
            let f = fixture();
            for row in f.assets.as_array().unwrap().iter().take(20) {
                let src = m.apply_one(row, &["type", "provider"]);
                let a = decode::asset(src.clone(), "0").unwrap();
                prop_assert_eq!(Some(a.id.clone()), text(&src["id"]));
                prop_assert_eq!(Some(a.build_id.clone()), text(&src["build_id"]));
                prop_assert_eq!(Some(a.kind.clone()), text(&src["type"]));
                let targets: Vec<(String, String)> = src["targets"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .map(|x| (text(&x["provider"]).unwrap(), text(&x["url"]).unwrap()))
                            .collect()
                    })
                    .unwrap_or_default();
                let got: Vec<(String, String)> =
                    a.targets.iter().map(|t| (t.provider.clone(), t.url.clone())).collect();
                prop_assert_eq!(got, targets);
            }
        }
    }

    #[test]
    fn a_list_that_is_neither_shape_is_a_decode_error() {
        for v in [json!("x"), json!({"id": 1}), json!(null), json!(3)] {
            let e = decode::builds(v, "p").unwrap_err();
            assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
        }
        let e = decode::parameters(json!({"value": "hunter2"}), "1", "p").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
