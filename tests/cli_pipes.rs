//! The one-shot commands on pipes (issue 9 item 6, issue 11 item 6): a reader that goes away ends
//! the command quietly with exit 0 (no panic), `logs --follow` hands each line to the pipe as
//! it arrives instead of holding it until the build ends, and `get environments --json` says
//! what each environment runs, as the Releases pane does. Every command (not only `get`) ends
//! with exit 0 when its stdout and stderr readers have gone.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, running_build, start_sim};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

fn write_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.sim]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"admin\"\npassword_env = \"SHIPDECK_TEST_PW\"\n"
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
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("SHIPDECK_TEST_PW", "admin")
        .env_remove("SHIPDECK_PROFILE")
        .env_remove("SHIPDECK_CONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

#[tokio::test]
async fn a_closed_pipe_ends_get_quietly_with_exit_0() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(home.path(), &sim.url("freecommit"));
    for args in [
        &["get", "projects"][..],
        &["get", "projects", "--json"][..],
        &["get", "developers"][..],
    ] {
        let mut child = command(home.path(), &cfg, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The reader goes away before the first byte (`| true`).
        drop(child.stdout.take());
        let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("ends")
            .expect("output");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn every_command_ends_quietly_with_exit_0_when_stdout_and_stderr_close() {
    let sim = start_sim("").await;
    let running = running_build(&sim, "admin").await;
    let home = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(home.path(), &sim.url("freecommit"));
    for args in [
        &["profiles"][..],
        &["completions", "bash"][..],
        &["config", "check"][..],
        &["get", "builds", "--json"][..],
        &["get", "secrets"][..],
        &["logs", &running.id][..],
    ] {
        let mut child = command(home.path(), &cfg, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Both readers go away before the first byte (`2>&1 | true`).
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("ends")
            .expect("wait");
        assert_eq!(status.code(), Some(0), "{args:?}");
    }
}

#[tokio::test]
async fn logs_follow_hands_each_line_to_the_pipe_as_it_arrives() {
    let sim = start_sim("").await;
    let running = running_build(&sim, "admin").await;
    // Some output exists, the build is far from done, and simulated time stands still: a
    // follower that holds its output until the build ends prints nothing here.
    advance(&sim, 3.0).await;

    let home = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(home.path(), &sim.url("freecommit"));
    let mut child = command(home.path(), &cfg, &["logs", &running.id, "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("a line reaches the pipe while the build runs")
        .expect("read");
    assert!(first.is_some(), "stdout ended without a line");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the follower is still following"
    );
    // The reader goes away mid-follow: the command ends by itself, with exit 0.
    drop(lines);
    advance(&sim, 10.0).await;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("ends after the reader left")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn get_environments_json_says_what_each_environment_runs() {
    let sim = start_sim("").await;
    let home = tempfile::tempdir().expect("tempdir");
    let projects: String = shipdeck::sim::aviator::CATALOG
        .iter()
        .map(|c| {
            let envs: Vec<&str> = c.environments.iter().map(|e| e.name).collect();
            format!("  {{ name = {:?}, environments = {envs:?} }},\n", c.name)
        })
        .collect();
    let cfg = home.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.av]\nkind = \"aviator\"\nurl = \"{}\"\ntoken_env = \"SHIPDECK_TEST_PW\"\nprojects = [\n{projects}]\n",
            sim.url("aviator")
        ),
    )
    .expect("write config");
    let out = command(home.path(), &cfg, &["get", "environments", "--json"])
        .env("SHIPDECK_TEST_PW", shipdeck::sim::aviator::TOKEN_ALICE)
        .output()
        .await
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    let expected: usize = shipdeck::sim::aviator::CATALOG
        .iter()
        .map(|c| c.environments.len())
        .sum();
    assert_eq!(rows.len(), expected);
    for r in &rows {
        for key in [
            "project",
            "environment",
            "order",
            "release",
            "since",
            "status",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    // The fixtures deploy something somewhere: those rows say what and since when.
    let running: Vec<_> = rows.iter().filter(|r| r["release"].is_string()).collect();
    assert!(!running.is_empty(), "{rows:?}");
    for r in running {
        assert!(r["since"].is_string(), "{r}");
        assert!(r["status"].is_string(), "{r}");
    }
}
