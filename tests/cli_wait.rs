//! Scriptable waits (issue 13 item 2): `shipdeck wait <build>` and `launch --wait` follow a
//! build to its end against the simulator and exit 0 / 5 / 6 for succeeded / failed /
//! cancelled, 124 when `--timeout` passes first; progress goes to stderr as plain lines on a
//! pipe. `promote --wait` follows the deployment until it settles. `get … --json` gives each
//! item its `url` in the system's web UI (issue 13 item 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, client, start_sim};
use shipdeck::api::Backend;
use shipdeck::domain::{BuildScope, LaunchRequest};
use shipdeck::sim::SimHandle;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn write_config(dir: &Path, sim: &SimHandle) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.sim]\nkind = \"freecommit\"\nurl = \"{}\"\nusername = \"admin\"\npassword_env = \"SHIPDECK_TEST_PW\"\n\n\
             [profiles.rel]\nkind = \"aviator\"\nurl = \"{}\"\ntoken_env = \"SHIPDECK_TEST_AV\"\n\
             projects = [ {{ name = \"payments-api\", environments = [\"staging\", \"canary\", \"production\"] }} ]\n",
            sim.url("freecommit"),
            sim.url("aviator"),
        ),
    )
    .expect("write config");
    path
}

fn command(home: &Path, cfg: &Path, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--config")
        .arg(cfg)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("SHIPDECK_TEST_PW", "admin")
        .env("SHIPDECK_TEST_AV", common_aviator_token())
        .env_remove("SHIPDECK_PROFILE")
        .env_remove("SHIPDECK_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

fn common_aviator_token() -> String {
    "av_uat_demo_alice".to_string()
}

/// Run the command while moving the simulator's clock `step` seconds at a time, until it ends
/// (deadline 90 s of real time).
async fn run_advancing(sim: &SimHandle, mut cmd: tokio::process::Command, step: f64) -> Output {
    let mut child = cmd.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the wait did not end");
        if step > 0.0 {
            advance(sim, step).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.wait_with_output().await.expect("output")
}

async fn launch(sim: &SimHandle, project: &str) -> String {
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    let b = fc
        .launch(&LaunchRequest {
            project_id: project.into(),
            skip_steps: Vec::new(),
            params: Vec::new(),
        })
        .await
        .expect("launch");
    b.id
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn wait_exits_0_for_a_build_that_succeeds_with_plain_progress_lines() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    let id = launch(&sim, "1").await;
    let out = run_advancing(&sim, command(home.path(), &cfg, &["wait", &id]), 2.0).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("✔ passed"), "{err}");
    // A pipe gets whole lines, no carriage returns or erase sequences.
    assert!(!err.contains('\r') && !err.contains("\x1b["), "{err:?}");
    assert!(err.lines().any(|l| l.contains("step")), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[tokio::test]
async fn wait_exits_5_for_a_build_that_fails() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    // Project 6 is `broken`: exit 1000.
    let id = launch(&sim, "6").await;
    let out = run_advancing(&sim, command(home.path(), &cfg, &["wait", &id]), 2.0).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("failed"), "{err}");
}

#[tokio::test]
async fn wait_exits_6_for_a_build_that_is_cancelled() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    let id = launch(&sim, "1").await;
    // Past the first 20 s, when a running build can be killed.
    advance(&sim, 25.0).await;
    let running = fc
        .builds(&BuildScope::Active)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.id == id)
        .expect("running");
    let mut child = command(home.path(), &cfg, &["wait", &id]).spawn().unwrap();
    // The waiter is following before the kill.
    let kill = tokio::spawn(async move { fc.kill(&running).await });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the wait did not end");
        advance(&sim, 1.0).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill.await.unwrap().expect("kill");
    let out = child.wait_with_output().await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("cancelled"), "{err}");
}

#[tokio::test]
async fn wait_gives_up_with_124_after_the_timeout() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    let id = launch(&sim, "1").await;
    // The clock stands still: the build never ends.
    let started = Instant::now();
    let out = run_advancing(
        &sim,
        command(home.path(), &cfg, &["wait", &id, "--timeout", "2s"]),
        0.0,
    )
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(124), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(err.contains("timeout"), "{err}");
}

#[tokio::test]
async fn launch_wait_follows_the_new_build() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    let out = run_advancing(
        &sim,
        command(home.path(), &cfg, &["launch", "6", "--wait"]),
        2.0,
    )
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("launch") && err.contains("failed"), "{err}");
}

#[tokio::test]
async fn promote_wait_follows_the_deployment_until_it_settles() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    let out = run_advancing(
        &sim,
        command(
            home.path(),
            &cfg,
            &[
                "--profile",
                "rel",
                "promote",
                "payments-api",
                "2025.12.25-rc2",
                "--to",
                "canary",
                "--yes",
                "--wait",
            ],
        ),
        5.0,
    )
    .await;
    let err = stderr(&out);
    assert!(
        matches!(out.status.code(), Some(0) | Some(5)),
        "settled with a result: {err}"
    );
    assert!(err.contains("payments-api/canary 2025.12.25-rc2:"), "{err}");
}

#[tokio::test]
async fn get_json_gives_each_item_its_web_url() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(home.path(), &sim);
    let root = sim.url("freecommit");
    let root = root.trim_end_matches('/');
    // Projects: their page in the web UI.
    let out = run_advancing(
        &sim,
        command(home.path(), &cfg, &["get", "projects", "--json"]),
        0.0,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        let id = r["id"].as_str().unwrap();
        assert_eq!(
            r["url"].as_str().unwrap(),
            format!("{root}/free-commit/project/{id}"),
            "{r}"
        );
    }
    // A project's finished builds: their own page.
    let out = run_advancing(
        &sim,
        command(
            home.path(),
            &cfg,
            &["get", "builds", "--project", "1", "--json"],
        ),
        0.0,
    )
    .await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let first = rows.first().expect("history");
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        first["url"].as_str().unwrap(),
        format!("{root}/free-commit/project/1/build/{id}")
    );
    // Deployments of a release profile: the environment's page in the Aviator app.
    let out = run_advancing(
        &sim,
        command(
            home.path(),
            &cfg,
            &["--profile", "rel", "get", "deployments", "--json"],
        ),
        0.0,
    )
    .await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let d = rows.first().expect("deployments");
    let url = d["url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!(
            "/releases/{}?environment={}",
            d["project"].as_str().unwrap(),
            d["environment"].as_str().unwrap()
        )),
        "{url}"
    );
}
