//! `R` on a finished build, end to end against the simulator: the app (through
//! `app::headless`) confirms what it will send, and a recording proxy in front of the
//! simulator shows that the request carries the build's original parameters, per backend.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Proxy, Write, advance, start_proxy, start_sim};
use shipdeck::api::{self, Backend};
use shipdeck::app::headless::act;
use shipdeck::app::state::{Conn, Overlay};
use shipdeck::app::{Action, Keymap, ProfileInfo, State, update};
use shipdeck::domain::{Build, BuildScope, LaunchRequest, Resource};
use shipdeck::sim::SimHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The demo profile `name`, its URL pointed at the recording proxy, logged in headlessly.
async fn online(sim: &SimHandle, proxy: &Proxy, name: &str) -> (State, Arc<dyn Backend>) {
    let mut cfg = shipdeck::demo::demo_config(sim);
    for p in &mut cfg.profiles {
        let via = p.url.as_str().replace(&sim.url(""), &proxy.root);
        p.url = via.parse().unwrap();
    }
    let p = cfg.profiles.iter().find(|p| p.name == name).unwrap();
    let backend = api::connect(p).unwrap();
    let profiles: Vec<ProfileInfo> = cfg.profiles.iter().map(ProfileInfo::from_profile).collect();
    let mut s = State::new(profiles, Keymap::default());
    let _ = update(
        &mut s,
        Action::Resize {
            cols: 160,
            rows: 48,
        },
        0,
    );
    act(&mut s, backend.as_ref(), Action::SwitchProfile(name.into())).await;
    assert_eq!(s.conn, Conn::Online, "{name} logs in");
    (s, backend)
}

/// Select the row of the pane on screen whose id is `id` (moving down as an operator does;
/// more pages load on the way).
async fn select(s: &mut State, b: &dyn Backend, id: &str) {
    act(s, b, Action::Top).await;
    for _ in 0..500 {
        if s.lists.get(s.pane).selected_id().as_deref() == Some(id) {
            return;
        }
        let before = s.lists.meta(s.pane).selected;
        act(s, b, Action::Down).await;
        if s.lists.meta(s.pane).selected == before {
            break;
        }
    }
    panic!("{id} is not in the {:?} pane", s.pane);
}

/// The Builds pane of one project, through the Projects pane as an operator gets there.
async fn open_builds(s: &mut State, b: &dyn Backend, project_id: &str) {
    act(s, b, Action::ShowPane(Resource::Projects)).await;
    select(s, b, project_id).await;
    act(s, b, Action::Open).await;
    assert_eq!(s.pane, Resource::Builds);
    assert!(
        matches!(&s.builds_scope, BuildScope::Project { id, .. } if id == project_id),
        "{:?}",
        s.builds_scope
    );
}

/// R on the selected build: the confirmation's lines (asserted open).
async fn ask_rerun(s: &mut State, b: &dyn Backend) -> String {
    act(s, b, Action::Rollback).await;
    match &s.overlay {
        Overlay::Confirm(c) => c.lines.join("\n"),
        other => panic!("no confirmation: {other:?}; toast {:?}", s.toast),
    }
}

/// Yes, then the writes the proxy saw from then on.
async fn accept(s: &mut State, b: &dyn Backend, proxy: &Proxy) -> Vec<Write> {
    let before = proxy.writes().len();
    act(s, b, Action::Accept).await;
    assert!(matches!(s.overlay, Overlay::None), "{:?}", s.overlay);
    let last = s.audit.last().expect("audited");
    assert_eq!(last.result, "ok", "{last:?}");
    proxy.writes()[before..].to_vec()
}

/// A finished build of some project, as the backend lists it, that satisfies `want`.
async fn finished_build(b: &dyn Backend, s: &State, want: impl Fn(&Build) -> bool) -> Build {
    for p in &s.lists.projects.rows {
        let scope = BuildScope::Project {
            id: p.id.clone(),
            name: p.name.clone(),
        };
        if let Ok(builds) = b.builds(&scope).await
            && let Some(found) = builds
                .into_iter()
                .find(|x| x.status.is_terminal() && want(x))
        {
            return found;
        }
    }
    panic!(
        "no finished build fits among {} projects",
        s.lists.projects.rows.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_commit_reruns_with_the_steps_the_build_skipped() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let (mut s, backend) = online(&sim, &proxy, "demo-freecommit").await;
    let b = backend.as_ref();
    // A build of billing-api (project 1: @test, @build, @deploy) that skipped @test.
    let scope = BuildScope::Project {
        id: "1".into(),
        name: "billing-api".into(),
    };
    let before: Vec<String> = b
        .builds(&scope)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    let run = b
        .launch(&LaunchRequest {
            project_id: "1".into(),
            skip_steps: vec!["@test".into()],
            params: Vec::new(),
        })
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        advance(&sim, 5.0).await;
        let builds = b.builds(&scope).await.unwrap();
        // The run finished as a new build record.
        if builds.iter().all(|x| x.status.is_terminal())
            && let Some(new) = builds.iter().find(|x| !before.contains(&x.id))
        {
            break new.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the build never finished: {run:?}\n{builds:#?}"
        );
    };
    open_builds(&mut s, b, "1").await;
    select(&mut s, b, &done.id).await;

    // From the list alone the skipped steps are not known: said, not guessed.
    let words = ask_rerun(&mut s, b).await;
    assert!(words.contains("does not record skipped steps"), "{words}");
    act(&mut s, b, Action::Cancel).await;

    // From its log (read to the end), they are: the confirmation names them, the launch sends them.
    act(&mut s, b, Action::Open).await;
    assert!(s.log_visible());
    let words = ask_rerun(&mut s, b).await;
    assert!(
        words.contains(&format!("Re-run billing-api #{}", done.id))
            && words.contains("skipping @test"),
        "{words}"
    );
    assert!(!words.contains("Not known"), "{words}");
    let writes = accept(&mut s, b, &proxy).await;
    let launch: Vec<&Write> = writes
        .iter()
        .filter(|w| w.method == "POST" && w.path == "/freecommit/developer/builds/1")
        .collect();
    assert_eq!(launch.len(), 1, "{writes:?}");
    assert_eq!(
        launch[0].body,
        Some(serde_json::json!({"build": {"ignore_steps": ["@test"]}}))
    );
    assert_eq!(s.audit.last().unwrap().action, "rerun");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nullplatform_reruns_the_same_commit_on_the_same_branch() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let (mut s, backend) = online(&sim, &proxy, "demo-nullplatform").await;
    let b = backend.as_ref();
    let old = finished_build(b, &s, |x| x.commit.is_some() && x.git_ref.is_some()).await;
    let (sha, branch) = (old.commit.clone().unwrap(), old.short_ref().unwrap());
    open_builds(&mut s, b, old.project_id.as_deref().unwrap()).await;
    select(&mut s, b, &old.id).await;
    let words = ask_rerun(&mut s, b).await;
    let sha7: String = sha.chars().take(7).collect();
    assert!(
        words.contains(&format!("same commit {sha7} on {branch}")),
        "{words}"
    );
    let writes = accept(&mut s, b, &proxy).await;
    let post = writes
        .iter()
        .find(|w| w.method == "POST" && w.path.ends_with("/build"))
        .unwrap_or_else(|| panic!("{writes:?}"));
    let body = post.body.clone().unwrap();
    assert_eq!(body["commit"]["id"], sha.as_str(), "{body}");
    assert_eq!(body["branch"], branch.as_str(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverless_cd_reruns_through_its_redeploy_of_the_same_task() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let (mut s, backend) = online(&sim, &proxy, "demo-serverless-cd").await;
    let b = backend.as_ref();
    let old = finished_build(b, &s, |x| x.commit.is_some()).await;
    open_builds(&mut s, b, old.project_id.as_deref().unwrap()).await;
    select(&mut s, b, &old.id).await;
    let words = ask_rerun(&mut s, b).await;
    let sha7: String = old.commit.as_deref().unwrap().chars().take(7).collect();
    assert!(words.contains(&format!("same commit {sha7}")), "{words}");
    let writes = accept(&mut s, b, &proxy).await;
    let post = writes
        .iter()
        .find(|w| w.path.ends_with("/dispatch/redeploy"))
        .unwrap_or_else(|| panic!("{writes:?}"));
    assert_eq!(post.body.as_ref().unwrap()["taskId"], old.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candor_retriggers_the_pipeline_and_says_its_parameters_are_not_known() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let (mut s, backend) = online(&sim, &proxy, "demo-candor").await;
    let b = backend.as_ref();
    // web-build: assigned to this account, no header or body constraints.
    let pid = "2".to_string();
    let scope = BuildScope::Project {
        id: pid.clone(),
        name: "web-build".into(),
    };
    let old = b
        .builds(&scope)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.status.is_terminal())
        .expect("a finished run of web-build");
    open_builds(&mut s, b, &pid).await;
    select(&mut s, b, &old.id).await;
    let words = ask_rerun(&mut s, b).await;
    assert!(
        words.contains("Candor does not record a run's parameters"),
        "{words}"
    );
    let writes = accept(&mut s, b, &proxy).await;
    let trigger = writes
        .iter()
        .find(|w| w.method == "POST" && w.path.contains("/trigger/"))
        .unwrap_or_else(|| panic!("{writes:?}"));
    // No parameter is invented: the web UI's own body, no query.
    assert_eq!(trigger.query, "", "{trigger:?}");
    assert_eq!(trigger.body, Some(serde_json::json!({"source": "Web"})));
}
