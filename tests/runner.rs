//! The task runner (issue 14 item 4): a change in flight is never aborted. A profile switch
//! during a kill lets the kill reach the server, and its audit line is written.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{running_build, set_faults, start_proxy, start_sim};
use serde_json::json;
use shipdeck::app::action::{Action, Effect, Mutation};
use shipdeck::app::runner::Runner;
use shipdeck::config::Config;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_profile_switch_during_a_kill_keeps_the_request_and_its_audit_line() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let build = running_build(&sim, "admin").await;

    let dir = tempfile::tempdir().expect("tempdir");
    let url = proxy.url("freecommit");
    let text = format!(
        "[profiles.a]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"admin\"\npassword = \"admin\"\n\n\
         [profiles.b]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"alice\"\npassword = \"alice\"\n"
    );
    let cfg = Config::parse(&text, &dir.path().join("config.toml"), true).expect("config");
    let audit = dir.path().join("audit.jsonl");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = Runner::new(cfg, tx).with_audit_file(Some(audit.clone()));
    runner.run(Effect::Connect {
        epoch: 1,
        profile: "a".into(),
    });
    let logged_in = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an answer");
    assert!(
        matches!(logged_in, Some(Action::LoggedIn { result: Ok(_), .. })),
        "{logged_in:?}"
    );

    // Every answer now takes a while: the switch comes while the kill is on its way.
    set_faults(&sim, json!({"latency": "400ms"})).await;
    runner.run(Effect::Mutate {
        epoch: 1,
        op: Mutation::Kill { build },
        profile: "a".into(),
        user: "admin".into(),
    });
    runner.run(Effect::Connect {
        epoch: 2,
        profile: "b".into(),
    });
    assert_eq!(runner.writes_pending(), 1, "the kill is still in flight");

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let line = std::fs::read_to_string(&audit).unwrap_or_default();
        if line.contains("\"kill\"") {
            assert_eq!(proxy.count_containing("/kill/"), 1, "{:?}", proxy.paths());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no audit line; requests: {:?}",
            proxy.paths()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The answer for the old profile still comes back (the app drops it by its epoch).
    runner.finish(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_profile_switch_and_quit_log_the_candor_session_out() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[profiles.cd]\nkind = \"candor\"\nurl = \"{}\"\nusername = \"demouser\"\npassword = \"demouser\"\n\n\
         [profiles.cd2]\nkind = \"candor\"\nurl = \"{}\"\nusername = \"viewer\"\npassword = \"viewer\"\n",
        proxy.url("candor"),
        proxy.url("candor")
    );
    let cfg = Config::parse(&text, &dir.path().join("config.toml"), true).expect("config");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = Runner::new(cfg, tx);
    let login = |runner: &mut Runner, epoch: u64, profile: &str| {
        runner.run(Effect::Connect {
            epoch,
            profile: profile.into(),
        });
    };
    login(&mut runner, 1, "cd");
    let answer = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert!(
        matches!(answer, Ok(Some(Action::LoggedIn { result: Ok(_), .. }))),
        "{answer:?}"
    );
    // Switching profile ends the first session.
    login(&mut runner, 2, "cd2");
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.calls("POST /candor/logout") < 1 {
        assert!(Instant::now() < deadline, "{:?}", proxy.paths());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert!(
        matches!(answer, Ok(Some(Action::LoggedIn { result: Ok(_), .. }))),
        "{answer:?}"
    );
    // Quit ends the second one.
    runner.finish(Duration::from_secs(5)).await;
    assert_eq!(proxy.calls("POST /candor/logout"), 2, "{:?}", proxy.paths());
}

/// Soak finding (issue 11 item 7): every recent-builds ask is a one-off read with its own job
/// key; the runner kept each finished one (and the task memory behind its handle) until the
/// profile changed, so a dashboard left on one profile grew without bound.
#[tokio::test]
async fn finished_one_off_reads_are_let_go() {
    let sim = start_sim("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[profiles.a]\nkind = \"freecommit\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"admin\"\n",
        sim.url("freecommit")
    );
    let cfg = Config::parse(&text, &dir.path().join("config.toml"), true).expect("config");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = Runner::new(cfg, tx);
    runner.run(Effect::Connect {
        epoch: 1,
        profile: "a".into(),
    });
    let answer = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert!(
        matches!(answer, Ok(Some(Action::LoggedIn { result: Ok(_), .. }))),
        "{answer:?}"
    );
    let ask = |runner: &mut Runner| {
        runner.run(Effect::FetchRecent {
            epoch: 1,
            profile: "a".into(),
            project: Box::new(shipdeck::domain::Project {
                id: "1".into(),
                name: "p".into(),
                description: None,
                last_build: None,
            }),
        })
    };
    const ASKS: usize = 200;
    for _ in 0..ASKS {
        ask(&mut runner);
        let answer = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        assert!(
            matches!(answer, Ok(Some(Action::RecentLoaded { .. }))),
            "{answer:?}"
        );
    }
    // Each answer was sent by its task just before it ended: wait for the last one to end,
    // then one more ask lets every finished read go.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        ask(&mut runner);
        let answer = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        assert!(matches!(answer, Ok(Some(Action::RecentLoaded { .. }))));
        if runner.reads_held() <= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} reads held after {ASKS} answered asks",
            runner.reads_held()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runner.finish(Duration::from_secs(5)).await;
}
