//! The Free Commit client's builds and logs against the built-in simulator with a manual clock
//! (`shared/api/freecommit.md` §4.2, §5, §7, §8): active lists, launch (with and without
//! skipped steps), kill, project history, the live log protocol with its hand-over to the
//! archived log, and the archived walk.
//!
//! Live tails poll every 20 ms (`with_poll_interval`); the tests move simulated time and then
//! wait, through a request-recording proxy, until the client has polled again: no fixed sleeps.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Proxy, advance, clear_faults, client, set_faults, start_proxy, start_sim};
use serde_json::json;
use shipdeck::api::freecommit::FreeCommit;
use shipdeck::api::{ApiError, Backend};
use shipdeck::domain::{Build, BuildScope, BuildStatus, LaunchRequest, LogEvent, StepStatus};
use shipdeck::sim::SimHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

const POLL: Duration = Duration::from_millis(20);

/// A simulator, a recording proxy in front of it and a fast-polling client through the proxy.
struct Rig {
    sim: SimHandle,
    proxy: Proxy,
    fc: Arc<FreeCommit>,
}

async fn rig(user: &str) -> Rig {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let fc = Arc::new(client(&proxy.url("freecommit"), user, user).with_poll_interval(POLL));
    Rig { sim, proxy, fc }
}

/// Requests the client made to either log route so far.
fn log_requests(proxy: &Proxy) -> usize {
    proxy
        .paths()
        .iter()
        .filter(|p| p.contains("/developer/logs/"))
        .count()
}

/// Wait (bounded, real time) until `cond` holds.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A `tail_log` running in its own task, with the events received so far.
struct Tail {
    rx: UnboundedReceiver<LogEvent>,
    events: Vec<LogEvent>,
    task: JoinHandle<Result<(), ApiError>>,
}

impl Tail {
    fn start(fc: &Arc<FreeCommit>, build: &Build, follow: bool) -> Tail {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let fc = fc.clone();
        let build = build.clone();
        let task = tokio::spawn(async move { fc.tail_log(&build, follow, tx).await });
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

    /// Wait for the task to return and collect everything it sent.
    async fn finish(mut self) -> (Vec<LogEvent>, Result<(), ApiError>) {
        let r = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("tail returns")
            .expect("tail task does not panic");
        while let Ok(e) = self.rx.try_recv() {
            self.events.push(e);
        }
        (self.events, r)
    }
}

/// Advance simulated time, then wait until the client has polled twice more (so one whole
/// poll saw the new instant) or the tail has returned.
async fn step(r: &Rig, t: &mut Tail, seconds: f64) {
    let before = log_requests(&r.proxy);
    advance(&r.sim, seconds).await;
    wait_for("the client to poll", || {
        log_requests(&r.proxy) >= before + 2 || t.task.is_finished()
    })
    .await;
    t.drain();
}

/// Step the clock until `done` holds on the events (at most `max` steps).
async fn drive(
    r: &Rig,
    t: &mut Tail,
    seconds: f64,
    max: usize,
    done: impl Fn(&[LogEvent]) -> bool,
) {
    for _ in 0..max {
        t.drain();
        if done(&t.events) {
            return;
        }
        step(r, t, seconds).await;
    }
    t.drain();
    assert!(
        done(&t.events),
        "condition not reached; events: {:?}",
        t.events
    );
}

/// Steps with their lines, in order (a `Lines` before any `Step` goes to an unnamed step).
fn steps_of(events: &[LogEvent]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for e in events {
        match e {
            LogEvent::Step { name, .. } => out.push((name.clone(), Vec::new())),
            LogEvent::Lines(l) => {
                if out.is_empty() {
                    out.push((String::new(), Vec::new()));
                }
                out.last_mut().unwrap().1.extend(l.iter().cloned());
            }
            _ => {}
        }
    }
    out
}

fn step_statuses(events: &[LogEvent]) -> Vec<(String, StepStatus)> {
    events
        .iter()
        .filter_map(|e| match e {
            LogEvent::Step { name, status } => Some((name.clone(), *status)),
            _ => None,
        })
        .collect()
}

/// (live part, archived part) around the single `Restart`.
fn split_at_restart(events: &[LogEvent]) -> (&[LogEvent], &[LogEvent]) {
    let restarts: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, LogEvent::Restart))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(restarts.len(), 1, "exactly one Restart: {events:?}");
    (&events[..restarts[0]], &events[restarts[0] + 1..])
}

fn end_status(events: &[LogEvent]) -> Option<BuildStatus> {
    match events.last() {
        Some(LogEvent::End { status }) => *status,
        other => panic!("the last event is not End: {other:?} in {events:?}"),
    }
}

fn launch_req(project: &str, skip: &[&str]) -> LaunchRequest {
    LaunchRequest {
        project_id: project.into(),
        skip_steps: skip.iter().map(|s| s.to_string()).collect(),
        params: Vec::new(),
    }
}

fn project_scope(id: &str, name: &str) -> BuildScope {
    BuildScope::Project {
        id: id.into(),
        name: name.into(),
    }
}

/// The whole archived log of a finished build (follow = false).
async fn archived(fc: &Arc<FreeCommit>, b: &Build) -> Vec<LogEvent> {
    let (events, r) = Tail::start(fc, b, false).finish().await;
    r.expect("archived tail");
    events
}

#[tokio::test]
async fn developer_accounts_get_every_build_capability() {
    let r = rig("alice").await;
    let b = r.fc.login().await.unwrap().caps.builds;
    assert!(
        b.list && b.launch && b.skip_steps && b.kill && b.logs && b.live_logs,
        "{b:?}"
    );
    let ops = client(&r.sim.url("freecommit"), "opsonly", "opsonly");
    let b = ops.login().await.unwrap().caps.builds;
    assert!(!b.list && !b.launch && !b.kill && !b.logs, "{b:?}");
}

#[tokio::test]
async fn launch_queues_runs_and_sends_ignore_steps() {
    let r = rig("alice").await;
    let fc = &r.fc;
    assert!(fc.builds(&BuildScope::Active).await.unwrap().is_empty());

    // Project 12 (lint, test, build, deploy) skipping @test; project 1 (test, build, deploy)
    // with the (mandatory) empty array.
    let a = fc.launch(&launch_req("12", &["@test"])).await.unwrap();
    let b = fc.launch(&launch_req("1", &[])).await.unwrap();
    for (x, pid, name) in [(&a, "12", "recommendation-svc"), (&b, "1", "billing-api")] {
        assert_eq!(x.status, BuildStatus::Queued);
        assert_eq!(x.raw_status, "queued");
        assert_eq!(x.project, name);
        assert_eq!(x.project_id.as_deref(), Some(pid));
        assert_eq!(x.run_id.as_deref(), Some(x.id.as_str()));
        assert!(x.build_id.is_none() && x.queued_at.is_some());
    }
    let active = fc.builds(&BuildScope::Active).await.unwrap();
    let ids: Vec<&str> = active.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, [a.id.as_str(), b.id.as_str()], "queue order");
    assert!(active.iter().all(|x| x.status == BuildStatus::Queued
        && x.project_id.is_none()
        && x.started_at.is_none()));

    // The next tick starts both (250 ms apart): running, newest start first.
    advance(&r.sim, 5.0).await;
    let active = fc.builds(&BuildScope::Active).await.unwrap();
    let ids: Vec<&str> = active.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, [b.id.as_str(), a.id.as_str()]);
    for x in &active {
        assert_eq!(x.status, BuildStatus::Running);
        assert_eq!(x.raw_status, "running");
        assert!(x.started_at.is_some());
    }
    assert!(active[0].started_at > active[1].started_at);

    // A project's scope: its active run on top, then its history.
    let p12 = fc
        .builds(&project_scope("12", "recommendation-svc"))
        .await
        .unwrap();
    assert_eq!(p12[0].id, a.id);
    assert_eq!(p12[0].status, BuildStatus::Running);
    assert!(p12[1..].iter().all(|x| x.build_id.is_some()), "{p12:?}");

    // Let both finish (≤ 45 s each) and leave the running list.
    for _ in 0..7 {
        advance(&r.sim, 10.0).await;
    }
    assert!(fc.builds(&BuildScope::Active).await.unwrap().is_empty());

    let newest = |bs: Vec<Build>| bs.into_iter().next().expect("a finished build");
    let skipped = newest(
        fc.builds(&project_scope("12", "recommendation-svc"))
            .await
            .unwrap(),
    );
    assert_eq!(skipped.status, BuildStatus::Succeeded, "{skipped:?}");
    let ev = archived(fc, &skipped).await;
    let st = step_statuses(&ev);
    assert!(st.contains(&("test".into(), StepStatus::Skipped)), "{st:?}");
    let test_lines = steps_of(&ev)
        .into_iter()
        .find(|(n, _)| n == "test")
        .unwrap()
        .1;
    assert_eq!(test_lines, ["Step @test skipped"]);

    let plain = newest(fc.builds(&project_scope("1", "billing-api")).await.unwrap());
    let st = step_statuses(&archived(fc, &plain).await);
    assert!(
        st.contains(&("test".into(), StepStatus::Succeeded)),
        "{st:?}"
    );
    assert!(st.iter().all(|(_, s)| *s != StepStatus::Skipped), "{st:?}");
}

#[tokio::test]
async fn launch_options_exclude_cleanup_and_non_members_are_refused() {
    let r = rig("alice").await;
    assert_eq!(
        r.fc.launch_options("1").await.unwrap().skippable_steps,
        ["@test", "@build", "@deploy"]
    );
    assert_eq!(
        r.fc.launch_options("4").await.unwrap().skippable_steps,
        ["@lint", "@test", "@build", "@deploy"]
    );
    // No build yet: the server does not know the steps.
    assert!(
        r.fc.launch_options("13")
            .await
            .unwrap()
            .skippable_steps
            .is_empty()
    );
    assert!(matches!(
        r.fc.launch_options("999").await,
        Err(ApiError::NotFound(_))
    ));

    let bob = client(&r.sim.url("freecommit"), "bob", "bob");
    let err = bob.launch(&launch_req("1", &[])).await.expect_err("403");
    let ApiError::Forbidden(msg) = &err else {
        panic!("expected Forbidden, got {err:?}");
    };
    assert!(msg.contains("not a developer"), "{msg}");
    assert!(r.fc.builds(&BuildScope::Active).await.unwrap().is_empty());
}

#[tokio::test]
async fn project_history_is_newest_first_with_mapped_statuses() {
    let r = rig("alice").await;
    let mut seen = std::collections::BTreeSet::new();
    for id in 1..=47 {
        let name = format!("project-{id}");
        let hist =
            r.fc.builds(&project_scope(&id.to_string(), &name))
                .await
                .unwrap();
        let ids: Vec<i64> = hist.iter().map(|b| b.id.parse().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(ids, sorted, "project {id} newest first");
        for b in &hist {
            let code = b.exit_code.expect("finished builds have an exit code");
            let want = match code {
                0 => BuildStatus::Succeeded,
                143 => BuildStatus::Cancelled,
                _ => BuildStatus::Failed,
            };
            assert_eq!(b.status, want, "{b:?}");
            assert_eq!(b.raw_status, format!("exit {code}"));
            assert_eq!(b.build_id.as_deref(), Some(b.id.as_str()));
            assert!(b.run_id.is_none());
            assert_eq!(b.project_id.as_deref(), Some(id.to_string().as_str()));
            assert_eq!(b.project, name);
            assert!(b.queued_at.is_some() && b.finished_at.is_some());
            assert!(b.queued_at <= b.finished_at);
            match code {
                208 => assert_eq!(b.message.as_deref(), Some("a step failed")),
                143 => assert_eq!(b.message.as_deref(), Some("Deployment aborted by user")),
                1000 => assert_eq!(b.message.as_deref(), Some("Spec file not found")),
                _ => {}
            }
            seen.insert(code);
        }
    }
    for code in [0, 208, 143, 1000] {
        assert!(seen.contains(&code), "fixtures have exit {code}: {seen:?}");
    }
    assert!(matches!(
        r.fc.builds(&project_scope("999", "nope")).await,
        Err(ApiError::NotFound(_))
    ));
}

#[tokio::test]
async fn archived_walk_of_fixture_builds() {
    let r = rig("alice").await;
    let mut want = vec![
        BuildStatus::Succeeded,
        BuildStatus::Failed,
        BuildStatus::Cancelled,
    ];
    for id in 1..=47 {
        if want.is_empty() {
            break;
        }
        let hist =
            r.fc.builds(&project_scope(&id.to_string(), "p"))
                .await
                .unwrap();
        for b in hist {
            let Some(i) = want.iter().position(|s| *s == b.status) else {
                continue;
            };
            if b.exit_code == Some(1000) {
                continue; // no steps: see the broken-project test
            }
            want.remove(i);
            let ev = archived(&r.fc, &b).await;
            assert_eq!(end_status(&ev), Some(b.status), "{b:?}");
            assert!(!ev.contains(&LogEvent::Restart));
            let st = step_statuses(&ev);
            assert_eq!(st[0].0, "init", "{st:?}");
            assert!(st.len() >= 2, "{st:?}");
            // No step appears twice; every step has lines.
            let names: std::collections::HashSet<&str> =
                st.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names.len(), st.len(), "{st:?}");
            assert!(steps_of(&ev).iter().all(|(_, l)| !l.is_empty()), "{ev:?}");
            let last = st.last().unwrap();
            match b.status {
                BuildStatus::Succeeded => {
                    // The last step's `success` is null: still Succeeded.
                    assert!(
                        st.iter().all(|(_, s)| *s == StepStatus::Succeeded),
                        "{st:?}"
                    );
                }
                BuildStatus::Failed => {
                    assert_eq!(last.1, StepStatus::Failed, "{b:?} {st:?}");
                }
                BuildStatus::Cancelled => {
                    assert_eq!(last, &("abort".to_string(), StepStatus::Cancelled));
                    let steps = steps_of(&ev);
                    assert_eq!(steps.last().unwrap().1, ["[WARNING] Container killed"]);
                }
                _ => unreachable!(),
            }
        }
    }
    assert!(want.is_empty(), "fixtures lack builds with status {want:?}");
}

#[tokio::test]
async fn live_tail_streams_steps_then_hands_over_to_the_archived_log() {
    let r = rig("alice").await;
    // Every token issued so far dies 20 simulated seconds in: the tail re-logs in.
    set_faults(&r.sim, json!({"freecommit.expire_tokens_at": "20s"})).await;
    // Project 4: lint, test, build, deploy.
    let b = r.fc.launch(&launch_req("4", &[])).await.unwrap();
    let run = b.run_id.clone().unwrap();
    let mut t = Tail::start(&r.fc, &b, true);

    // Queued: the waiting placeholder is skipped.
    wait_for("a poll", || log_requests(&r.proxy) >= 2).await;
    t.drain();
    assert!(t.events.is_empty(), "{:?}", t.events);

    // The tick starts the run; its first second has no line: 500, which must not end the tail.
    advance(&r.sim, 5.0).await;
    let early = format!("/logs/{run}/-1/0");
    let before = r.proxy.count(&early);
    wait_for("polls in the 500 window", || {
        r.proxy.count(&early) >= before + 3
    })
    .await;
    t.drain();
    assert!(t.events.is_empty(), "{:?}", t.events);
    assert!(!t.task.is_finished());

    // Lines grow as the clock advances.
    drive(&r, &mut t, 0.5, 20, |ev| {
        ev.iter()
            .filter(|e| matches!(e, LogEvent::Lines(_)))
            .count()
            >= 3
    })
    .await;
    assert_eq!(
        t.events[0],
        LogEvent::Step {
            name: "init".into(),
            status: StepStatus::Running
        }
    );
    let live_init = steps_of(&t.events)[0].1.len();
    assert!(live_init >= 2, "{:?}", t.events);

    drive(&r, &mut t, 1.0, 80, |ev| ev.contains(&LogEvent::Restart)).await;
    drive(&r, &mut t, 1.0, 10, |ev| {
        ev.iter().any(|e| matches!(e, LogEvent::End { .. }))
    })
    .await;
    let (events, res) = t.finish().await;
    res.expect("the tail ends cleanly");
    assert!(r.proxy.count("/auth/token") >= 2, "re-login happened");

    let (live, archived) = split_at_restart(&events);
    let live_names: Vec<String> = step_statuses(live).into_iter().map(|(n, _)| n).collect();
    assert_eq!(live_names, ["init", "lint", "test", "build", "deploy"]);
    // Every step switch closes the previous step first.
    for (i, e) in live.iter().enumerate().skip(1) {
        if matches!(e, LogEvent::Step { .. }) {
            let prev = live[..i]
                .iter()
                .rev()
                .find(|e| !matches!(e, LogEvent::Lines(_)))
                .unwrap();
            assert!(
                matches!(prev, LogEvent::StepStatus(s) if *s != StepStatus::Running),
                "{live:?}"
            );
        }
    }
    // Lines come in batches, never one event per line for a multi-line chunk.
    assert!(
        live.iter()
            .any(|e| matches!(e, LogEvent::Lines(l) if l.len() > 1)),
        "{live:?}"
    );
    let st = step_statuses(archived);
    assert_eq!(
        st,
        [
            ("init".to_string(), StepStatus::Succeeded),
            ("lint".to_string(), StepStatus::Succeeded),
            ("test".to_string(), StepStatus::Succeeded),
            ("build".to_string(), StepStatus::Succeeded),
            ("deploy".to_string(), StepStatus::Succeeded),
        ]
    );
    assert_eq!(
        steps_of(live),
        steps_of(archived),
        "live text = archived text"
    );
    assert_eq!(end_status(&events), Some(BuildStatus::Succeeded));
}

#[tokio::test]
async fn truncated_chunks_and_failed_polls_lose_no_line() {
    let r = rig("alice").await;
    // Project 1: test, build, deploy. The tail starts from the running list (start time known).
    r.fc.launch(&launch_req("1", &[])).await.unwrap();
    advance(&r.sim, 5.0).await;
    let running = r.fc.builds(&BuildScope::Active).await.unwrap().remove(0);
    assert_eq!(running.status, BuildStatus::Running);
    // Every chunk loses its last 1–3 lines while `line_number` reports the full count.
    set_faults(&r.sim, json!({"freecommit.truncate_rate": 1})).await;
    let mut t = Tail::start(&r.fc, &running, true);
    for _ in 0..12 {
        step(&r, &mut t, 0.5).await;
    }
    let during = steps_of(&t.events);
    assert_eq!(
        during.len(),
        1,
        "the short init chunk is re-requested: {during:?}"
    );
    assert!(!during[0].1.is_empty(), "{during:?}");
    // Then server errors (500 JSON, 502/503 text) and cut bodies: retried, the tail goes on.
    for faults in [
        json!({"freecommit.error_rate": 1}),
        json!({"freecommit.malformed_rate": 1}),
    ] {
        set_faults(&r.sim, faults).await;
        for _ in 0..3 {
            step(&r, &mut t, 0.5).await;
        }
        assert!(!t.task.is_finished(), "{:?}", t.events);
    }
    clear_faults(&r.sim).await;

    drive(&r, &mut t, 1.0, 80, |ev| {
        ev.iter().any(|e| matches!(e, LogEvent::End { .. }))
    })
    .await;
    let (events, res) = t.finish().await;
    res.unwrap();
    let (live, archived) = split_at_restart(&events);
    let live_steps = steps_of(live);
    assert_eq!(
        live_steps
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["init", "test", "build", "deploy"]
    );
    assert_eq!(
        live_steps,
        steps_of(archived),
        "no live line lost or doubled"
    );
    assert_eq!(end_status(&events), Some(BuildStatus::Succeeded));
}

#[tokio::test]
async fn broken_project_builds_end_failed_without_steps() {
    let r = rig("alice").await;
    // Project 6 is `broken`: exit 1000, no steps. A finished one first.
    let hist =
        r.fc.builds(&project_scope("6", "notification-hub"))
            .await
            .unwrap();
    let old = &hist[0];
    assert_eq!(old.exit_code, Some(1000));
    assert_eq!(old.message.as_deref(), Some("Spec file not found"));
    let ev = archived(&r.fc, old).await;
    assert_eq!(
        ev,
        [LogEvent::End {
            status: Some(BuildStatus::Failed)
        }]
    );

    // A live one: placeholders only, then the hand-over finds the new Build row.
    let b = r.fc.launch(&launch_req("6", &[])).await.unwrap();
    let mut t = Tail::start(&r.fc, &b, true);
    drive(&r, &mut t, 1.0, 20, |ev| {
        ev.iter().any(|e| matches!(e, LogEvent::End { .. }))
    })
    .await;
    let (events, res) = t.finish().await;
    res.unwrap();
    assert_eq!(
        events,
        [
            LogEvent::Restart,
            LogEvent::End {
                status: Some(BuildStatus::Failed)
            }
        ]
    );
}

#[tokio::test]
async fn kill_queued_and_running_builds() {
    let r = rig("alice").await;
    let fc = &r.fc;

    // Queued → removed.
    let q = fc.launch(&launch_req("2", &[])).await.unwrap();
    fc.kill(&q).await.expect("kill queued");
    assert!(fc.builds(&BuildScope::Active).await.unwrap().is_empty());

    // Running, before the container exists → the server's words; the build keeps running.
    fc.launch(&launch_req("1", &[])).await.unwrap();
    advance(&r.sim, 5.0).await;
    let running = fc.builds(&BuildScope::Active).await.unwrap().remove(0);
    assert_eq!(running.status, BuildStatus::Running);
    let err = fc.kill(&running).await.expect_err("too early");
    assert!(
        err.to_string().contains("CONTAINER_NOT_FOUND")
            && err.to_string().contains("container does not exist"),
        "{err}"
    );
    assert_eq!(
        r.proxy.count(&format!("/kill/executed/{}", running.id)),
        1,
        "a kill is never retried"
    );
    assert_eq!(fc.builds(&BuildScope::Active).await.unwrap().len(), 1);

    // Once the first spec step runs, the kill works; the build ends Cancelled (exit 143).
    advance(&r.sim, 6.0).await;
    fc.kill(&running).await.expect("kill running");
    let mut t = Tail::start(fc, &running, true);
    drive(&r, &mut t, 1.0, 15, |ev| {
        ev.iter().any(|e| matches!(e, LogEvent::End { .. }))
    })
    .await;
    let (events, res) = t.finish().await;
    res.unwrap();
    assert_eq!(end_status(&events), Some(BuildStatus::Cancelled));
    let (_, archived) = split_at_restart(&events);
    assert_eq!(
        step_statuses(archived).last().unwrap(),
        &("abort".to_string(), StepStatus::Cancelled)
    );
    let done = fc
        .builds(&project_scope("1", "billing-api"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(done.exit_code, Some(143));
    assert_eq!(done.status, BuildStatus::Cancelled);

    // A finished build cannot be killed.
    let err = fc.kill(&done).await.expect_err("finished");
    assert_eq!(
        err,
        ApiError::Unsupported(format!("build {} has already finished", done.id))
    );
}

#[tokio::test]
async fn without_follow_a_live_tail_stops_at_what_exists() {
    let r = rig("alice").await;
    let b = r.fc.launch(&launch_req("4", &[])).await.unwrap();
    // Queued: nothing exists yet.
    let (ev, res) = Tail::start(&r.fc, &b, false).finish().await;
    res.unwrap();
    assert_eq!(ev, [LogEvent::End { status: None }]);

    // 7 s after launch: the run started 2 s ago, init has a few lines.
    advance(&r.sim, 7.0).await;
    let (ev, res) = Tail::start(&r.fc, &b, false).finish().await;
    res.unwrap();
    let steps = steps_of(&ev);
    assert_eq!(steps.len(), 1, "{ev:?}");
    assert_eq!(steps[0].0, "init");
    assert!(!steps[0].1.is_empty());
    assert_eq!(ev.last(), Some(&LogEvent::End { status: None }));
}

#[tokio::test]
async fn a_closed_viewer_stops_the_tail() {
    let r = rig("alice").await;
    let b = r.fc.launch(&launch_req("4", &[])).await.unwrap();
    let t = Tail::start(&r.fc, &b, true);
    wait_for("a poll", || log_requests(&r.proxy) >= 1).await;
    let Tail { rx, task, .. } = t;
    drop(rx);
    let res = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the tail notices the closed viewer")
        .unwrap();
    assert_eq!(res, Ok(()));
}

#[tokio::test]
async fn concurrent_runs_of_one_project_hand_over_to_their_own_build() {
    let r = rig("alice").await;
    // Two runs of project 4 start on the same tick, 250 ms apart; names and times overlap.
    let a = r.fc.launch(&launch_req("4", &[])).await.unwrap();
    let b = r.fc.launch(&launch_req("4", &[])).await.unwrap();
    let tails = [
        (a.id.clone(), Tail::start(&r.fc, &a, true)),
        (b.id.clone(), Tail::start(&r.fc, &b, true)),
    ];
    let polls = |run: &str| {
        r.proxy
            .paths()
            .iter()
            .filter(|p| p.contains(&format!("/logs/{run}/")))
            .count()
    };
    for _ in 0..80 {
        if tails.iter().all(|(_, t)| t.task.is_finished()) {
            break;
        }
        let before: Vec<usize> = tails.iter().map(|(run, _)| polls(run)).collect();
        advance(&r.sim, 1.0).await;
        wait_for("both clients to poll", || {
            tails
                .iter()
                .zip(&before)
                .all(|((run, t), n)| polls(run) >= n + 2 || t.task.is_finished())
        })
        .await;
    }
    let mut archived_texts = Vec::new();
    for (_, t) in tails {
        let (events, res) = t.finish().await;
        res.unwrap();
        let (live, archived) = split_at_restart(&events);
        assert_eq!(steps_of(live), steps_of(archived), "its own build's log");
        assert_eq!(end_status(&events), Some(BuildStatus::Succeeded));
        archived_texts.push(steps_of(archived));
    }
    assert_ne!(archived_texts[0], archived_texts[1], "two different builds");
}
