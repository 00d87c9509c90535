//! The watch list's poll against the simulator (issue 13 item 1): a watched build or
//! deployment is followed to its end through the real clients, also where the finished record
//! has another id than the running one (Free Commit's run UUID, Candor's `<pipeline>:running`),
//! and each poll costs one active-list read per profile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, start_proxy_to, start_sim};
use shipdeck::app::watch::{Now, Watched, poll};
use shipdeck::config::Profile;
use shipdeck::domain::{BuildStatus, DeployRequest, LaunchRequest};
use shipdeck::sim::SimHandle;

/// What the dashboard keeps of a poll's answer (see `watch::polled`).
fn keep(w: &mut Watched, now: &Now) {
    w.status = now.status;
    w.build_id = now.build_id.clone().or(w.build_id.take());
    w.project_id = now.project_id.clone().or(w.project_id.take());
    w.started_at = now.started_at.or(w.started_at);
    w.baseline = now.baseline.clone().or(w.baseline.take());
}

/// Poll `w` while moving the clock until it ends (bounded); the final state.
async fn follow(sim: &SimHandle, p: &Profile, w: &Watched) -> Now {
    let b = shipdeck::api::connect(p).unwrap();
    let mut w = w.clone();
    for _ in 0..200 {
        let seen = poll::profile(b.clone(), vec![w.clone()]).await;
        assert_eq!(seen.len(), 1);
        if let Ok(Some(now)) = &seen[0].result {
            if now.status.is_terminal() {
                return now.clone();
            }
            keep(&mut w, now);
        }
        advance(sim, 3.0).await;
    }
    panic!("{} never ended", w.title);
}

fn demo(sim: &SimHandle, name: &str) -> Profile {
    shipdeck::demo::demo_config(sim)
        .profiles
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("demo profile {name}"))
}

#[tokio::test]
async fn a_free_commit_run_is_found_again_as_its_finished_build() {
    let sim = start_sim("").await;
    let p = demo(&sim, "demo-freecommit");
    let b = shipdeck::api::connect(&p).unwrap();
    b.login().await.unwrap();
    let launched = b
        .launch(&LaunchRequest {
            project_id: "1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    advance(&sim, 5.0).await;
    let running = b
        .builds(&shipdeck::domain::BuildScope::Active)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == launched.id)
        .unwrap();
    let w = Watched::from_build(&p.name, &running);
    let end = follow(&sim, &p, &w).await;
    assert_eq!(end.status, BuildStatus::Succeeded);
    let record = end.build_id.expect("the finished build's id");
    assert_ne!(record, launched.id);
    assert_eq!(end.project_id.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_candor_run_is_found_again_in_its_pipeline_history() {
    let sim = start_sim("").await;
    let p = demo(&sim, "demo-candor");
    let b = shipdeck::api::connect(&p).unwrap();
    b.login().await.unwrap();
    let started = b
        .launch(&LaunchRequest {
            project_id: "2".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(started.status, BuildStatus::Running);
    let w = Watched::from_build(&p.name, &started);
    let end = follow(&sim, &p, &w).await;
    assert!(end.status.is_terminal());
    // Its own record: newer than every run the pipeline had before.
    let record = end.build_id.expect("the finished run's id");
    let history = b
        .builds(&shipdeck::domain::BuildScope::Project {
            id: "2".into(),
            name: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(history[0].id, record, "the newest run is ours");
    assert_ne!(record, "2:running");
}

#[tokio::test]
async fn an_aviator_deployment_is_followed_until_it_settles() {
    let sim = start_sim("").await;
    let p = demo(&sim, "demo-aviator");
    let b = shipdeck::api::connect(&p).unwrap();
    b.login().await.unwrap();
    b.deploy(&DeployRequest {
        project: "payments-api".into(),
        environment: "canary".into(),
        candidate: "2025.12.25-rc2".into(),
    })
    .await
    .unwrap();
    let d = b
        .deployments("payments-api", "canary", 1, 5)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(d.candidate, "2025.12.25-rc2");
    let w = Watched::from_deployment(&p.name, &d);
    let end = follow(&sim, &p, &w).await;
    assert!(end.status.is_terminal(), "{end:?}");
}

#[tokio::test]
async fn one_poll_is_one_active_list_read_per_profile() {
    let sim = start_sim("").await;
    let proxy = start_proxy_to(&sim.url("freecommit")).await;
    let mut p = demo(&sim, "demo-freecommit");
    p.url = url::Url::parse(&proxy.root).unwrap();
    let b = shipdeck::api::connect(&p).unwrap();
    b.login().await.unwrap();
    let mut watched = Vec::new();
    for project in ["1", "2", "4"] {
        let x = b
            .launch(&LaunchRequest {
                project_id: project.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        watched.push(Watched::from_build(&p.name, &x));
    }
    advance(&sim, 5.0).await;
    // The first poll may read a project's history once, for a run with no time yet.
    let seen = poll::profile(b.clone(), watched.clone()).await;
    for (w, s) in watched.iter_mut().zip(&seen) {
        if let Ok(Some(now)) = &s.result {
            keep(w, now);
        }
    }
    let before = proxy.paths().len();
    let seen = poll::profile(b.clone(), watched).await;
    assert!(
        seen.iter().all(|s| matches!(&s.result, Ok(Some(_)))),
        "{seen:?}"
    );
    let asked: Vec<String> = proxy.paths()[before..].to_vec();
    // Three queued or running builds: the queue and the running list once each, nothing per
    // build.
    assert_eq!(asked.len(), 2, "{asked:?}");
}
