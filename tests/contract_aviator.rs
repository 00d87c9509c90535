//! The Aviator Releases client against the built-in simulator (`shared/api/aviator.md`): token
//! check and capabilities, configured projects/environments, deployments and their paging,
//! create/deploy/status/rollback with every documented error, the current RC, percent-encoded
//! names, and faults turned into the right `ApiError`.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, fast_policy, set_faults, start_proxy, start_sim};
use secrecy::SecretString;
use serde_json::json;
use shipdeck::api::aviator::Aviator;
use shipdeck::api::http::Http;
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::{Credential, Profile, ReleaseProject};
use shipdeck::domain::{
    BuildStatus, DeployRequest, Kind, ListQuery, ReleaseRequest, Resource, RollbackRequest,
    StatusRequest,
};
use shipdeck::sim::aviator::{CATALOG, HEALTH_CHECK_FAILED};
use std::collections::HashSet;
use std::time::Duration;

const ALICE: &str = "av_uat_demo_alice";
const COMMIT: &str = "4e1f9a7c2b0d8e6f5a3c1b9d7e5f3a1c9b7d5e3f";

fn profile(base: &str, token: &str) -> Profile {
    let mut p = Profile::new("av", Kind::Aviator, url::Url::parse(base).unwrap());
    p.token = Some(Credential::Inline(SecretString::from(token.to_string())));
    p.projects = CATALOG
        .iter()
        .map(|p| ReleaseProject {
            name: p.name.to_string(),
            environments: p.environments.iter().map(|e| e.name.to_string()).collect(),
        })
        .collect();
    p.protected_environments = vec!["production".into()];
    p
}

/// A client with fast retries.
fn client(base: &str, token: &str) -> Aviator {
    let http = Http::with_base(base, Duration::from_secs(10), None, false)
        .unwrap()
        .with_policy(fast_policy());
    Aviator::with_http(http, &profile(base, token)).unwrap()
}

fn release(project: &str, candidate: &str) -> ReleaseRequest {
    let repo = CATALOG
        .iter()
        .find(|p| p.name == project)
        .map_or("acme/x", |p| p.repo);
    ReleaseRequest {
        project: project.into(),
        candidate: candidate.into(),
        repo: repo.into(),
        commit: COMMIT.into(),
        build: true,
    }
}

fn dep(project: &str, env: &str, candidate: &str) -> DeployRequest {
    DeployRequest {
        project: project.into(),
        environment: env.into(),
        candidate: candidate.into(),
    }
}

fn status(project: &str, env: &str, candidate: &str, s: &str) -> StatusRequest {
    StatusRequest {
        project: project.into(),
        environment: env.into(),
        candidate: candidate.into(),
        status: s.into(),
    }
}

fn rb(project: &str, env: &str, force: bool) -> RollbackRequest {
    RollbackRequest {
        project: project.into(),
        environment: env.into(),
        force,
    }
}

async fn newest(av: &Aviator, project: &str, env: &str) -> shipdeck::domain::Deployment {
    av.deployments(project, env, 1, 1)
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("a deployment")
}

#[tokio::test]
async fn login_names_the_token_kind_and_offers_releases_only() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = Aviator::new(&profile(&proxy.url("aviator"), ALICE)).unwrap();
    let s = av.login().await.expect("alice's token works");
    assert_eq!(s.user.name, "user token");
    // One cheap read of the first configured environment.
    assert_eq!(
        proxy.paths(),
        vec!["/aviator/api/releases/payments-api/environments/staging/deployments".to_string()]
    );
    let r = &s.caps.releases;
    assert!(r.list && r.create && r.deploy && r.set_status && r.rollback);
    assert_eq!(
        r.statuses,
        [
            "pending",
            "in_progress",
            "success",
            "failure",
            "canceling",
            "canceled",
            "error",
            "unknown"
        ]
    );
    assert_eq!(s.caps.builds, Default::default(), "no build support at all");
    let projects = s.caps.list(Resource::Projects).expect("projects list");
    assert!(!projects.paged && !projects.server_filter);
    for r in [Resource::Developers, Resource::Secrets] {
        assert!(s.caps.list(r).is_none());
        assert!(s.caps.why_not(r).starts_with("Aviator has no"), "{r:?}");
    }
    assert!(s.caps.list(Resource::Builds).is_none());

    let acct = client(&sim.url("aviator"), "av_api_demo");
    assert_eq!(acct.login().await.unwrap().user.name, "account token");
    assert_eq!(acct.kind(), Kind::Aviator);
}

#[tokio::test]
async fn bad_token_is_auth_with_how_to_replace_it_and_no_retry() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let secret = "av_uat_s3cr3t-value-never-shown";
    let av = client(&proxy.url("aviator"), secret);
    let err = av.login().await.expect_err("unknown token");
    let ApiError::Auth(text) = &err else {
        panic!("expected Auth, got {err:?}");
    };
    assert!(!text.contains("s3cr3t"), "token leaked: {text}");
    assert!(text.contains("av_uat_"), "{text}");
    assert!(text.contains("Unauthorized"), "server's words: {text}");
    assert!(
        text.contains("api_token"),
        "says where to get a new one: {text}"
    );
    assert_eq!(err.exit_code(), 3);
    assert_eq!(proxy.paths().len(), 1, "a 401 is not retried");

    let acct = client(&sim.url("aviator"), "not-a-real-account-token");
    let err = acct.login().await.expect_err("unknown token");
    let ApiError::Auth(text) = &err else {
        panic!("expected Auth, got {err:?}");
    };
    assert!(!text.contains("not-a-real"), "token leaked: {text}");
    assert!(text.contains("Integrations"), "{text}");
    assert!(!format!("{err:?}").contains("not-a-real"));

    // Revoked mid-run: the next read is an Auth error too.
    let ok = client(&proxy.url("aviator"), ALICE);
    ok.login().await.unwrap();
    set_faults(&sim, json!({"aviator.expire_tokens_at": "10s"})).await;
    advance(&sim, 10.0).await;
    let err = ok
        .deployments("payments-api", "canary", 1, 10)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn projects_and_environments_come_from_the_profile() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    let p = av.projects(&ListQuery::default()).await.unwrap();
    let names: Vec<&str> = p.items.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["payments-api", "web-frontend", "data pipeline"]);
    assert!(
        p.items
            .iter()
            .all(|p| p.id == p.name && p.last_build.is_none())
    );
    assert!(!p.has_more);
    let envs = av.environments().await.unwrap();
    let got: Vec<(&str, &str, usize)> = envs
        .iter()
        .map(|e| (e.project.as_str(), e.name.as_str(), e.position))
        .collect();
    assert_eq!(
        got,
        [
            ("payments-api", "staging", 0),
            ("payments-api", "canary", 1),
            ("payments-api", "production", 2),
            ("web-frontend", "dogfood", 0),
            ("web-frontend", "production", 1),
            ("data pipeline", "staging", 0),
            ("data pipeline", "production", 1),
        ]
    );
}

#[tokio::test]
async fn deployments_map_and_page() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = client(&proxy.url("aviator"), ALICE);
    // 25 rows in payments-api/staging: 10 + 10 + 5.
    let mut seen = HashSet::new();
    let mut last_start = None;
    for (page, len, more) in [(1, 10, true), (2, 10, true), (3, 5, false)] {
        let p = av
            .deployments("payments-api", "staging", page, 10)
            .await
            .unwrap();
        assert_eq!((p.items.len(), p.has_more, p.page), (len, more, page));
        assert_eq!(p.total, None);
        for d in p.items {
            assert!(seen.insert(d.id.clone()));
            assert!(d.id.parse::<i64>().is_ok(), "{}", d.id);
            assert_eq!(
                (d.project.as_str(), d.environment.as_str()),
                ("payments-api", "staging")
            );
            let (rel, n) = shipdeck::domain::split_candidate(&d.candidate).unwrap();
            assert_eq!(d.release.as_deref(), Some(rel));
            let start = d.started_at.expect("start parsed");
            assert!(d.finished_at.expect("end parsed") > start);
            assert!(last_start.is_none_or(|l| start <= l), "newest first");
            last_start = Some(start);
            if n % 4 == 0 {
                assert_eq!(
                    (d.status, d.raw_status.as_str()),
                    (BuildStatus::Failed, "failure")
                );
                assert_eq!(d.error.as_deref(), Some(HEALTH_CHECK_FAILED));
            } else {
                assert_eq!(
                    (d.status, d.raw_status.as_str()),
                    (BuildStatus::Succeeded, "success")
                );
            }
        }
    }
    assert_eq!(seen.len(), 25);
    // Page past the end: empty, no more. Exact multiple: a full page then an empty one.
    let p = av
        .deployments("payments-api", "staging", 9, 10)
        .await
        .unwrap();
    assert!(p.items.is_empty() && !p.has_more);
    let p = av
        .deployments("payments-api", "canary", 2, 4)
        .await
        .unwrap();
    assert_eq!((p.items.len(), p.has_more), (4, true));
    let p = av
        .deployments("payments-api", "canary", 3, 4)
        .await
        .unwrap();
    assert_eq!((p.items.len(), p.has_more), (0, false));
    // per_page above 100 is asked as 100; 0 as the default 10.
    let p = av
        .deployments("payments-api", "staging", 1, 500)
        .await
        .unwrap();
    assert_eq!((p.per_page, p.items.len(), p.has_more), (100, 25, false));
    let p = av
        .deployments("payments-api", "staging", 0, 0)
        .await
        .unwrap();
    assert_eq!((p.page, p.per_page, p.items.len()), (1, 10, 10));
    // web-frontend prints `.rcN`; kept exactly.
    let d = newest(&av, "web-frontend", "dogfood").await;
    assert!(d.candidate.contains(".rc"), "{}", d.candidate);
    // Unknown names: the server's words.
    let e = av.deployments("nope", "staging", 1, 10).await.unwrap_err();
    assert_eq!(e, ApiError::NotFound("Release project not found".into()));
    let e = av
        .deployments("payments-api", "qa", 1, 10)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::NotFound("Release environment not found".into())
    );
}

#[tokio::test]
async fn a_space_in_the_project_name_is_percent_encoded() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = client(&proxy.url("aviator"), ALICE);
    let p = av
        .deployments("data pipeline", "staging", 1, 10)
        .await
        .unwrap();
    assert_eq!(p.items.len(), 3);
    assert!(p.items.iter().all(|d| d.project == "data pipeline"));
    av.create_release(&release("data pipeline", "2026.01.01-rc1"))
        .await
        .unwrap();
    av.deploy(&dep("data pipeline", "production", "2026.01.01-rc1"))
        .await
        .unwrap();
    let paths = proxy.paths();
    assert_eq!(
        paths,
        [
            "/aviator/api/releases/data%20pipeline/environments/staging/deployments",
            "/aviator/api/releases/data%20pipeline/releases/2026.01.01-rc1",
            "/aviator/api/releases/data%20pipeline/environments/production/deployments",
        ]
    );
    assert_eq!(
        newest(&av, "data pipeline", "production").await.candidate,
        "2026.01.01-rc1"
    );
}

#[tokio::test]
async fn create_deploy_and_watch_it_progress() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    let before = av
        .current("payments-api", "staging")
        .await
        .unwrap()
        .expect("a current RC");
    av.create_release(&release("payments-api", "2026.01.01-rc1"))
        .await
        .unwrap();
    av.deploy(&dep("payments-api", "staging", "2026.01.01-rc1"))
        .await
        .unwrap();
    let d = newest(&av, "payments-api", "staging").await;
    assert_eq!(
        (d.status, d.raw_status.as_str()),
        (BuildStatus::Queued, "pending")
    );
    assert_eq!(d.candidate, "2026.01.01-rc1");
    assert_eq!(d.release.as_deref(), Some("2026.01.01"));
    assert_eq!(d.from_candidate.as_deref(), Some(before.candidate.as_str()));
    assert_eq!(d.actor.as_deref(), Some("alice@acme.test"));
    assert_eq!(d.finished_at, None);
    assert_eq!(
        d.started_at.unwrap().to_rfc3339(),
        "2026-01-01T10:00:00+00:00"
    );
    advance(&sim, 2.0).await;
    let d = newest(&av, "payments-api", "staging").await;
    assert_eq!(
        (d.status, d.raw_status.as_str()),
        (BuildStatus::Running, "in_progress")
    );
    assert_eq!(
        av.current("payments-api", "staging")
            .await
            .unwrap()
            .unwrap()
            .id,
        before.id
    );
    advance(&sim, 10.0).await;
    let d = newest(&av, "payments-api", "staging").await;
    assert_eq!(d.status, BuildStatus::Succeeded);
    assert!(d.finished_at.is_some());
    let cur = av
        .current("payments-api", "staging")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((cur.id, cur.candidate.as_str()), (d.id, "2026.01.01-rc1"));

    // Promote the same RC; a second deploy cancels it (canceling = Running, then Cancelled).
    av.create_release(&release("payments-api", "2026.01.01.rc2"))
        .await
        .unwrap();
    av.deploy(&dep("payments-api", "canary", "2026.01.01-rc1"))
        .await
        .unwrap();
    av.deploy(&dep("payments-api", "canary", "2026.01.01.rc2"))
        .await
        .unwrap();
    let p = av
        .deployments("payments-api", "canary", 1, 2)
        .await
        .unwrap();
    assert_eq!(
        p.items[0].candidate, "2026.01.01.rc2",
        "sent exactly as given"
    );
    assert_eq!(
        (p.items[1].status, p.items[1].raw_status.as_str()),
        (BuildStatus::Running, "canceling")
    );
    advance(&sim, 2.0).await;
    let p = av
        .deployments("payments-api", "canary", 1, 2)
        .await
        .unwrap();
    assert_eq!(p.items[1].status, BuildStatus::Cancelled);

    // rc4 fails with the server's message.
    av.create_release(&release("payments-api", "2026.01.01-rc4"))
        .await
        .unwrap();
    av.deploy(&dep("payments-api", "production", "2026.01.01-rc4"))
        .await
        .unwrap();
    advance(&sim, 12.0).await;
    let d = newest(&av, "payments-api", "production").await;
    assert_eq!(d.status, BuildStatus::Failed);
    assert_eq!(d.error.as_deref(), Some(HEALTH_CHECK_FAILED));
    let cur = av
        .current("payments-api", "production")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(cur.candidate, "2026.01.01-rc4", "current = newest success");
    assert_eq!(
        av.current("data pipeline", "production").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn every_documented_error_with_the_servers_words() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = client(&proxy.url("aviator"), ALICE);
    let rejected = |m: &str| ApiError::Rejected {
        status: 400,
        message: m.into(),
    };
    let nf = |m: &str| ApiError::NotFound(m.into());

    // Checked locally first: nothing is sent.
    for bad in ["1.2.3", "2026.01.01-rc0", "rc1", "a b-rc1"] {
        let e = av
            .create_release(&release("payments-api", bad))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("not a release candidate version"),
            "{e}"
        );
        let e = av
            .deploy(&dep("payments-api", "staging", bad))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("nothing was sent"), "{e}");
        let e = av
            .set_deployment_status(&status("payments-api", "staging", bad, "success"))
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::Unsupported(_)), "{e:?}");
    }
    assert!(proxy.paths().is_empty(), "{:?}", proxy.paths());

    // The server's version check (stricter: `rc` is lower case there).
    let e = av
        .create_release(&release("payments-api", "2026.01.01-RC1"))
        .await
        .unwrap_err();
    assert_eq!(e, rejected("Invalid release candidate version"));
    let mut r = release("payments-api", "2026.01.01-rc1");
    r.commit = "not-a-sha".into();
    assert_eq!(
        av.create_release(&r).await.unwrap_err(),
        rejected("Invalid commit hash")
    );
    r.commit = COMMIT.into();
    r.repo = "acme/elsewhere".into();
    assert_eq!(
        av.create_release(&r).await.unwrap_err(),
        nf("GitHub repository not found")
    );
    let e = av
        .create_release(&release("nope", "2026.01.01-rc1"))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release project not found"));
    av.create_release(&release("payments-api", "2026.01.01-rc1"))
        .await
        .unwrap();
    let e = av
        .create_release(&release("payments-api", "2026.01.01-rc1"))
        .await
        .unwrap_err();
    assert_eq!(e, rejected("Release candidate already exists"));

    let e = av
        .deploy(&dep("payments-api", "staging", "2026.09.09-rc1"))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release not found"));
    let e = av
        .deploy(&dep("payments-api", "qa", "2026.01.01-rc1"))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release environment not found"));
    let e = av
        .deploy(&dep("nope", "staging", "2026.01.01-rc1"))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release project not found"));
    let wf = newest(&av, "web-frontend", "dogfood").await;
    let e = av
        .deploy(&dep("web-frontend", "production", &wf.candidate))
        .await
        .unwrap_err();
    assert_eq!(e, rejected("Environment is frozen"));

    let e = av
        .set_deployment_status(&status(
            "payments-api",
            "staging",
            "2026.01.01-rc1",
            "succeeded",
        ))
        .await
        .unwrap_err();
    assert_eq!(e, rejected("Invalid status"));
    let e = av
        .set_deployment_status(&status(
            "payments-api",
            "staging",
            "2026.01.01-rc7",
            "success",
        ))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release not found"));

    let e = av
        .rollback(&rb("data pipeline", "production", false))
        .await
        .unwrap_err();
    assert_eq!(e, nf("No previous deployment to roll back from"));
    let e = av
        .rollback(&rb("web-frontend", "production", false))
        .await
        .unwrap_err();
    assert_eq!(e, rejected("Environment is frozen"));
    let e = av
        .rollback(&rb("payments-api", "qa", false))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release environment not found"));
    let e = av
        .rollback(&rb("nope", "staging", false))
        .await
        .unwrap_err();
    assert_eq!(e, nf("Release project not found"));
}

#[tokio::test]
async fn patch_upserts_a_deployment_and_updates_it() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    av.create_release(&release("data pipeline", "2026.01.01-rc1"))
        .await
        .unwrap();
    av.set_deployment_status(&status(
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "in_progress",
    ))
    .await
    .unwrap();
    let p = av
        .deployments("data pipeline", "production", 1, 10)
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1, "created by the PATCH");
    assert_eq!(p.items[0].status, BuildStatus::Running);
    advance(&sim, 60.0).await;
    assert_eq!(
        newest(&av, "data pipeline", "production").await.status,
        BuildStatus::Running
    );
    av.set_deployment_status(&status(
        "data pipeline",
        "production",
        "2026.01.01-rc1",
        "success",
    ))
    .await
    .unwrap();
    let p = av
        .deployments("data pipeline", "production", 1, 10)
        .await
        .unwrap();
    assert_eq!(p.items.len(), 1, "the same row, updated");
    assert_eq!(p.items[0].status, BuildStatus::Succeeded);
    assert!(p.items[0].finished_at.is_some());
    for (word, unified) in [
        ("error", BuildStatus::Failed),
        ("unknown", BuildStatus::Unknown),
        ("canceled", BuildStatus::Cancelled),
        ("pending", BuildStatus::Queued),
    ] {
        av.set_deployment_status(&status(
            "data pipeline",
            "production",
            "2026.01.01-rc1",
            word,
        ))
        .await
        .unwrap();
        let d = newest(&av, "data pipeline", "production").await;
        assert_eq!((d.raw_status.as_str(), d.status), (word, unified));
    }
}

#[tokio::test]
async fn rollback_returns_the_new_deployment() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    // After a success: the RC that ran before it.
    let last = newest(&av, "payments-api", "production").await;
    assert_eq!(last.status, BuildStatus::Succeeded);
    let d = av
        .rollback(&rb("payments-api", "production", false))
        .await
        .unwrap()
        .expect("row");
    assert_eq!(Some(d.candidate.as_str()), last.from_candidate.as_deref());
    assert_eq!(d.from_candidate.as_deref(), Some(last.candidate.as_str()));
    assert_eq!(
        (d.status, d.finished_at, d.error.clone()),
        (BuildStatus::Queued, None, None)
    );
    assert_eq!(newest(&av, "payments-api", "production").await, d);
    advance(&sim, 12.0).await;
    let cur = av
        .current("payments-api", "production")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((cur.id, cur.candidate), (d.id, d.candidate));

    // After a failure: the last successful RC.
    let good = av
        .current("payments-api", "staging")
        .await
        .unwrap()
        .unwrap();
    av.create_release(&release("payments-api", "2026.01.01-rc4"))
        .await
        .unwrap();
    av.deploy(&dep("payments-api", "staging", "2026.01.01-rc4"))
        .await
        .unwrap();
    advance(&sim, 12.0).await;
    assert_eq!(
        newest(&av, "payments-api", "staging").await.status,
        BuildStatus::Failed
    );
    let d = av
        .rollback(&rb("payments-api", "staging", false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.candidate, good.candidate);
    assert_eq!(d.from_candidate, Some(good.candidate.clone()));

    // Frozen, with force (after a typed confirmation in the UI).
    let last = newest(&av, "web-frontend", "production").await;
    let d = av
        .rollback(&rb("web-frontend", "production", true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(d.candidate.as_str()), last.from_candidate.as_deref());
    assert!(d.candidate.contains(".rc"));
}

#[tokio::test]
async fn viewer_token_reads_but_every_write_is_forbidden() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), "av_uat_demo_viewer");
    assert_eq!(av.login().await.unwrap().user.name, "user token");
    assert_eq!(
        av.deployments("payments-api", "staging", 1, 5)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    let errs = [
        av.create_release(&release("payments-api", "2026.01.01-rc1"))
            .await
            .unwrap_err(),
        av.deploy(&dep("payments-api", "staging", "2026.01.01-rc1"))
            .await
            .unwrap_err(),
        av.set_deployment_status(&status(
            "payments-api",
            "staging",
            "2026.01.01-rc1",
            "success",
        ))
        .await
        .unwrap_err(),
        av.rollback(&rb("payments-api", "staging", false))
            .await
            .unwrap_err(),
    ];
    for e in errs {
        assert_eq!(
            e,
            ApiError::Forbidden(
                "token lacks access to this project: payments-api (Forbidden)".into()
            )
        );
    }
}

#[tokio::test]
async fn current_pages_back_until_a_success() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = client(&proxy.url("aviator"), ALICE);
    let before = av.current("payments-api", "canary").await.unwrap().unwrap();
    // 100 newer failures push the current RC to page 2.
    for n in 1..=100 {
        let v = format!("2026.01.01-rc{n}");
        av.create_release(&release("payments-api", &v))
            .await
            .unwrap();
        av.set_deployment_status(&status("payments-api", "canary", &v, "failure"))
            .await
            .unwrap();
    }
    let hits = proxy.paths().len();
    let cur = av.current("payments-api", "canary").await.unwrap().unwrap();
    assert_eq!(cur, before);
    assert_eq!(proxy.paths().len() - hits, 2, "two pages of 100");
}

#[tokio::test]
async fn server_errors_are_not_retried_and_say_so() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = client(&proxy.url("aviator"), ALICE);
    set_faults(&sim, json!({"aviator.error_rate": 1})).await;
    let e = av
        .deployments("payments-api", "staging", 1, 10)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::Server {
            status: 500,
            message: "Internal server error".into()
        }
    );
    assert_eq!(proxy.paths().len(), 1, "a 500 is not retried");
    // The next answer is the gateway's 502 page: a read retries it (and meets a 500 again);
    // a write never retries.
    let e = av
        .deployments("payments-api", "staging", 1, 10)
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Server { status: 500, .. }), "{e:?}");
    assert_eq!(proxy.paths().len(), 3);
    let e = av
        .deploy(&dep("payments-api", "staging", "2026.01.01-rc1"))
        .await
        .unwrap_err();
    let ApiError::Server {
        status: 502,
        message,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert!(message.contains("HTML"), "{message}");
    assert_eq!(proxy.paths().len(), 4);
}

#[tokio::test]
async fn rate_limits_retry_reads_only() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let av = client(&proxy.url("aviator"), ALICE);
    set_faults(
        &sim,
        json!({"aviator.rate_limit": 1, "aviator.retry_after": 0}),
    )
    .await;
    let e = av
        .deployments("payments-api", "staging", 1, 10)
        .await
        .unwrap_err();
    assert_eq!(e, ApiError::RateLimited);
    assert_eq!(
        proxy.paths().len(),
        fast_policy().tries as usize,
        "every try hit the server"
    );
    let e = av
        .rollback(&rb("payments-api", "staging", false))
        .await
        .unwrap_err();
    assert_eq!(e, ApiError::RateLimited);
    assert_eq!(
        proxy.paths().len(),
        fast_policy().tries as usize + 1,
        "a write is sent once"
    );
    // With the limit lifted after one 429, the read succeeds on its retry.
    set_faults(
        &sim,
        json!({"aviator.rate_limit": 0.5, "aviator.retry_after": 0}),
    )
    .await;
    for _ in 0..5 {
        // Each read either succeeds (possibly after retries) or runs out of tries.
        match av.deployments("payments-api", "staging", 1, 10).await {
            Ok(p) => assert_eq!(p.items.len(), 10),
            Err(e) => assert_eq!(e, ApiError::RateLimited),
        }
    }
}

/// A body cut mid-document is a `Decode` error; an item missing `status` (the other
/// malformed form) no longer fails the list (issue 9): the row is kept with an unknown status.
#[tokio::test]
async fn malformed_lists_are_decode_errors_or_rows_of_unknown_status() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    av.login().await.unwrap();
    set_faults(&sim, json!({"aviator.malformed_rate": 1})).await;
    let (mut cut, mut statusless) = (0, 0);
    for _ in 0..20 {
        match av.deployments("payments-api", "staging", 1, 10).await {
            Err(e) => {
                assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
                cut += 1;
            }
            Ok(p) => {
                assert_eq!(p.items.len(), 10, "every row kept");
                let odd: Vec<_> = p.items.iter().filter(|d| d.raw_status.is_empty()).collect();
                assert_eq!(odd.len(), 1, "{:?}", p.items);
                assert_eq!(odd[0].status, BuildStatus::Unknown);
                assert!(!odd[0].id.is_empty() && !odd[0].candidate.is_empty());
                statusless += 1;
            }
        }
    }
    assert!(
        cut > 0 && statusless > 0,
        "both forms seen: {cut} cut, {statusless} without status"
    );
    let e = av
        .rollback(&rb("payments-api", "staging", false))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
    match av.login().await {
        Ok(_) => {}
        Err(e) => assert!(matches!(e, ApiError::Decode(_)), "{e:?}"),
    }
}

#[tokio::test]
async fn a_reset_write_says_to_reload_and_the_row_may_exist() {
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    av.create_release(&release("payments-api", "2026.01.01-rc1"))
        .await
        .unwrap();
    set_faults(&sim, json!({"aviator.reset_rate": 1})).await;
    let e = av
        .deploy(&dep("payments-api", "staging", "2026.01.01-rc1"))
        .await
        .unwrap_err();
    let ApiError::Network(m) = &e else {
        panic!("{e:?}");
    };
    assert!(m.contains("reload the deployments"), "{m}");
    set_faults(&sim, json!({})).await;
    let d = newest(&av, "payments-api", "staging").await;
    assert_eq!(d.candidate, "2026.01.01-rc1", "the deployment exists");
    let p = av
        .deployments("payments-api", "staging", 1, 100)
        .await
        .unwrap();
    assert_eq!(
        p.items.len(),
        26,
        "and exactly once: a write is not replayed"
    );
}

#[tokio::test]
async fn connect_picks_the_aviator_client_and_needs_a_token() {
    let sim = start_sim("").await;
    let b = shipdeck::api::connect(&profile(&sim.url("aviator"), ALICE)).unwrap();
    assert_eq!(b.kind(), Kind::Aviator);
    assert_eq!(b.login().await.unwrap().user.name, "user token");
    let mut p = profile(&sim.url("aviator"), ALICE);
    p.token = None;
    assert!(matches!(Aviator::new(&p), Err(ApiError::Config(_))));
    let mut p = profile(&sim.url("aviator"), ALICE);
    p.projects.clear();
    let e = Aviator::new(&p).unwrap().login().await.unwrap_err();
    assert!(matches!(e, ApiError::Config(_)), "{e:?}");
}

/// A stub Aviator whose every route answers with `reply` (status, content type, body);
/// records each request's path and query.
async fn stub(
    reply: impl Fn(&str, &str) -> (u16, &'static str, String) + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::response::IntoResponse;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let reply = std::sync::Arc::new(reply);
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let reply = reply.clone();
        let log = log.clone();
        async move {
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or("").to_string();
            log.lock()
                .unwrap()
                .push(format!("{} {path}?{query}", req.method()));
            let (status, ct, body) = reply(&path, &query);
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::CONTENT_TYPE, ct)],
                body,
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

/// §11: the bodies of 401 and 403 are not documented: whatever text comes is shown (never an
/// HTML page, never the token), or the status when there is none.
#[tokio::test]
async fn auth_refusals_of_any_shape_show_their_text_or_status() {
    for (status, ct, body, want) in [
        (401, "text/plain", "token revoked", "token revoked"),
        (401, "application/json", "", "HTTP 401 Unauthorized"),
        (
            401,
            "application/json",
            r#"{"message":"Bad token"}"#,
            "Bad token",
        ),
        (
            401,
            "text/html",
            "<html><title>401</title></html>",
            "HTTP 401 Unauthorized (an HTML page, probably from a gateway)",
        ),
    ] {
        let (base, seen) = stub(move |_, _| (status, ct, body.to_string())).await;
        let e = client(&base, ALICE).login().await.unwrap_err();
        let ApiError::Auth(text) = &e else {
            panic!("{e:?}")
        };
        assert!(text.contains(&format!("({want})")), "{text}");
        assert!(!text.contains("<html") && !text.contains(ALICE), "{text}");
        assert_eq!(seen.lock().unwrap().len(), 1, "no retry");
    }
    for (ct, body, want) in [
        ("text/plain", "Forbidden\n", "Forbidden"),
        ("application/json", "", "HTTP 403 Forbidden"),
        ("application/json", r#"{"error":"Forbidden"}"#, "Forbidden"),
        (
            "text/html",
            "<!doctype html><p>denied</p>",
            "HTTP 403 Forbidden (an HTML page, probably from a gateway)",
        ),
    ] {
        let (base, _) = stub(move |_, _| (403, ct, body.to_string())).await;
        let e = client(&base, ALICE)
            .deploy(&dep("payments-api", "staging", "2026.01.01-rc1"))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            ApiError::Forbidden(format!(
                "token lacks access to this project: payments-api ({want})"
            ))
        );
    }
}

/// §11: the 400 for a bad page is not confirmed, so the client never sends one (page ≥ 1,
/// 1 ≤ per_page ≤ 100), and a refused page past the first ends a history walk. Timestamps
/// come as bare date-times here.
#[tokio::test]
async fn pages_are_always_valid_and_a_refused_later_page_ends_the_walk() {
    let (base, seen) = stub(|_, query| {
        let q: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let page: i64 = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(-1);
        let per: i64 = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(-1);
        if page < 1 || !(1..=100).contains(&per) || page > 1 {
            return (
                400,
                "application/json",
                r#"{"error":"Invalid pagination parameters"}"#.into(),
            );
        }
        let rows: Vec<serde_json::Value> = (0..per)
            .map(|i| {
                json!({"id": 500 - i, "release_candidate_version": format!("2026.01.{:02}-rc1", 1 + i % 28),
                       "status": "failure", "deploy_start_at": "2026-12-04 10:00:00",
                       "deploy_end_at": "2026-12-04T10:05:00"})
            })
            .collect();
        (200, "application/json", serde_json::Value::Array(rows).to_string())
    })
    .await;
    let av = client(&base, ALICE);
    for (page, per) in [(0, 0), (0, 1000), (1, 250), (1, 7)] {
        let p = av
            .deployments("payments-api", "staging", page, per)
            .await
            .unwrap();
        assert!(
            p.page >= 1 && (1..=100).contains(&p.per_page),
            "{page}/{per}"
        );
        assert_eq!(p.items.len() as u32, p.per_page);
        let d = &p.items[0];
        assert_eq!(
            d.started_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-04T10:00:00+00:00")
        );
        assert!(d.finished_at.is_some());
    }
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|r| !r.contains("page=0") && !r.contains("per_page=1000")),
        "{:?}",
        seen.lock().unwrap()
    );
    // 100 failures on page 1; page 2 is refused: no current RC, not an error.
    assert_eq!(av.current("payments-api", "staging").await.unwrap(), None);
}

/// §11: acceptance of `.rcN` is unconfirmed. The client sends versions exactly as given and
/// reads both forms; a server that refuses the dotted form gets a hint, not a dead end.
#[tokio::test]
async fn dotted_candidates_are_sent_as_given_and_a_refusal_suggests_the_dash_form() {
    let (base, seen) = stub(|path, _| {
        if path.contains(".rc") {
            (
                400,
                "application/json",
                r#"{"error":"Invalid release candidate version"}"#.into(),
            )
        } else {
            (201, "application/json", String::new())
        }
    })
    .await;
    let av = client(&base, ALICE);
    let e = av
        .create_release(&release("web-frontend", "2026.03.02.rc2"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::Rejected {
            status: 400,
            message: "Invalid release candidate version (this server may take only the -rcN \
                      form: try `2026.03.02-rc2`)"
                .into()
        }
    );
    av.create_release(&release("web-frontend", "2026.03.02-rc2"))
        .await
        .unwrap();
    let paths = seen.lock().unwrap().clone();
    assert!(paths[0].contains("/releases/2026.03.02.rc2?"), "{paths:?}");
    // The simulator takes both forms (web-frontend's history uses `.rcN`).
    let sim = start_sim("").await;
    let av = client(&sim.url("aviator"), ALICE);
    av.create_release(&release("web-frontend", "2026.04.01.rc1"))
        .await
        .unwrap();
    av.deploy(&dep("web-frontend", "dogfood", "2026.04.01.rc1"))
        .await
        .unwrap();
    let d = newest(&av, "web-frontend", "dogfood").await;
    assert_eq!(
        (d.candidate.as_str(), d.release.as_deref()),
        ("2026.04.01.rc1", Some("2026.04.01"))
    );
}

fn fixture() -> &'static serde_json::Value {
    static F: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        common::mutate::with_sim(async |sim| {
            reqwest::Client::new()
                .get(format!(
                    "{}/api/releases/payments-api/environments/staging/deployments?per_page=100",
                    sim.url("aviator")
                ))
                .bearer_auth(ALICE)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    })
}

mod tolerant_decoding {
    use super::common::mutate::{mutations, text};
    use super::*;
    use proptest::prelude::*;
    use shipdeck::api::aviator::{decode, status_of};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Issue 9: every valid deployment survives ids and numbers as strings, unknown
        /// fields, statuses nobody documented and a garbage row.
        #[test]
        fn deployments_keep_every_valid_row(m in mutations()) {
            let rows = fixture().as_array().unwrap();
            prop_assert_eq!(rows.len(), 25);
            let list = m.apply(rows, &["status"]);
            let got = decode::deployments(
                serde_json::Value::Array(list.list.clone()), "payments-api", "staging",
            )
            .unwrap();
            prop_assert_eq!(got.len(), list.valid.len());
            for (d, src) in got.iter().zip(&list.valid) {
                prop_assert_eq!(Some(d.id.clone()), text(&src["id"]));
                prop_assert_eq!(Some(d.candidate.clone()), text(&src["release_candidate_version"]));
                let raw = text(&src["status"]).unwrap();
                prop_assert_eq!(d.status, status_of(&raw));
                if raw == m.word {
                    prop_assert_eq!(d.status, BuildStatus::Unknown);
                }
                prop_assert_eq!(&d.raw_status, &raw);
                prop_assert_eq!(d.from_candidate.clone(), text(&src["from_release_candidate_version"]));
                prop_assert!(d.started_at.is_some());
                prop_assert_eq!(d.finished_at.is_some(), !src["deploy_end_at"].is_null());
                prop_assert_eq!(d.release.clone(), text(&src["release_version"]));
            }
            let one = m.apply_one(&rows[0], &["status"]);
            let d = decode::created_deployment(one.clone(), "payments-api", "staging").unwrap();
            prop_assert_eq!(Some(d.id), text(&one["id"]));
        }
    }

    #[test]
    fn a_list_that_is_not_an_array_is_a_decode_error() {
        for v in [json!({"results": []}), json!("x"), json!(null)] {
            let e = decode::deployments(v, "p", "e").unwrap_err();
            assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
        }
        let e = decode::created_deployment(json!([1]), "p", "e").unwrap_err();
        assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
    }
}
