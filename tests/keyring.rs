//! `<field>_keyring = "<service>/<account>"` (issue 13, item 6): parsing and `config check`,
//! and resolution through the real binary on a host with no keyring (no D-Bus session): a
//! clear message within the timeout, and the fallback to the field's other source.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shipdeck::config::{Config, Credential, KEYRING_TIMEOUT, KeyringEntry};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn parse(text: &str) -> Result<Config, shipdeck::config::ConfigError> {
    Config::parse(text, Path::new("config.toml"), true)
}

#[test]
fn every_secret_field_takes_a_keyring_source() {
    let text = r#"
[profiles.fc]
kind = "freecommit"
url = "https://ci.example.com/api"
username = "alice"
password_keyring = "ci.example.com/alice"

[profiles.np]
kind = "nullplatform"
url = "https://np.example.com"
api_key_keyring = "nullplatform/ops/api"

[profiles.av]
kind = "aviator"
url = "https://api.aviator.co"
token_keyring = "aviator/alice"
projects = [ { name = "web", environments = ["dev"] } ]

[profiles.candor]
kind = "candor"
url = "https://candor.example.com"
username = "ops"
password_keyring = "candor/ops"
runner_url = "https://runner.example.com"
runner_token_keyring = "candor-runner/ops"
"#;
    let cfg = parse(text).expect("valid config");
    let entry = |c: &Option<Credential>| match c {
        Some(Credential::Keyring {
            entry,
            field,
            fallback: None,
        }) => (entry.to_string(), field.clone()),
        other => panic!("expected a keyring credential, got {other:?}"),
    };
    let p = |n: &str| cfg.profile(n).unwrap();
    assert_eq!(
        entry(&p("fc").password),
        ("ci.example.com/alice".into(), "password".into())
    );
    assert_eq!(
        entry(&p("np").api_key),
        ("nullplatform/ops/api".into(), "api_key".into())
    );
    assert_eq!(
        entry(&p("av").token),
        ("aviator/alice".into(), "token".into())
    );
    assert_eq!(
        entry(&p("candor").runner_token),
        ("candor-runner/ops".into(), "runner_token".into())
    );
    // The service is before the first `/`; the account may hold more.
    let Some(Credential::Keyring { entry: e, .. }) = &p("np").api_key else {
        unreachable!()
    };
    assert_eq!(
        e,
        &KeyringEntry {
            service: "nullplatform".into(),
            account: "ops/api".into()
        }
    );
    assert_eq!(
        p("fc").password.as_ref().unwrap().source(),
        "keyring ci.example.com/alice"
    );
}

#[test]
fn a_keyring_source_takes_one_other_source_as_its_fallback() {
    let text = r#"[profiles.fc]
kind = "freecommit"
url = "https://ci.example.com/api"
username = "alice"
password_env = "CI_PASSWORD"
password_keyring = "ci/alice"
"#;
    let cfg = parse(text).expect("keyring + env is valid");
    let pw = cfg.profile("fc").unwrap().password.clone().unwrap();
    let Credential::Keyring {
        fallback: Some(next),
        ..
    } = &pw
    else {
        panic!("expected a keyring with a fallback: {pw:?}");
    };
    assert!(matches!(**next, Credential::Env(ref v) if v == "CI_PASSWORD"));
    assert_eq!(pw.source(), "keyring ci/alice, else $CI_PASSWORD");

    // Two sources besides the keyring stay a problem, on the second one's line.
    let two = format!("{text}password_command = \"pass show ci\"\n");
    let err = parse(&two).expect_err("env + command");
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert!(p.message.contains("more than once"), "{}", p.message);
    assert!(p.message.contains("password_keyring"), "{}", p.message);
}

#[test]
fn a_malformed_keyring_entry_is_reported_with_its_line_and_fix() {
    let text = r#"[profiles.fc]
kind = "freecommit"
url = "https://ci.example.com/api"
username = "alice"
password_keyring = "alice"

[profiles.np]
kind = "nullplatform"
url = "https://np.example.com"
api_key_keyring = "/ops"

[profiles.av]
kind = "aviator"
url = "https://api.aviator.co"
token_keyring = 42
projects = [ { name = "web", environments = ["dev"] } ]

[profiles.scd]
kind = "serverless-cd"
url = "https://cd.example.net"
token_keyrng = "cd/ops"
"#;
    let err = parse(text).expect_err("bad entries");
    let got: Vec<String> = err
        .problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
        .collect();
    for (line, text) in [
        (5, "password_keyring `alice` has no `/`"),
        (
            10,
            "api_key_keyring `/ops` needs both a service and an account",
        ),
        (15, "expected \"<service>/<account>\""),
        // A misspelt key gives no token at all: the fix names the keyring too.
        (18, "or `token_keyring = \"<service>/<account>\"`"),
        (21, "did you mean `token_keyring`?"),
    ] {
        assert!(
            err.problems
                .iter()
                .any(|p| p.line == line && p.message.contains(text)),
            "no problem on line {line} containing {text:?}: {got:#?}"
        );
    }
    // Each bad entry is reported once, with the fix, and not also as a missing secret.
    assert_eq!(err.problems.len(), 5, "{got:#?}");
    for p in &err.problems[..3] {
        assert!(
            p.message.contains("\"<service>/<account>\""),
            "the fix is given: {}",
            p.message
        );
    }
}

// ---- the real binary, on a host with no keyring ------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Run `shipdeck` with its home in `home`, with no D-Bus session (no address, no runtime dir:
/// a headless SSH host) unless `env` sets an address.
async fn shipdeck(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("SHIPDECK_PROFILE")
        .env_remove("SHIPDECK_CONFIG")
        .env_remove("SHIPDECK_LOG")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run shipdeck");
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn fc_config(url: &str, sources: &str) -> String {
    format!(
        "[profiles.sim]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"admin\"\n{sources}"
    )
}

const NO_KEYRING: &str =
    "no keyring reachable (no D-Bus session): set password_env or password_command instead";

#[tokio::test]
async fn without_a_session_bus_the_keyring_says_so_at_once() {
    let sim = common::start_sim("").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(
            &sim.url("freecommit"),
            "password_keyring = \"shipdeck-test/admin\"\n",
        ),
        0o600,
    );
    let run = shipdeck(
        dir.path(),
        &["get", "projects", "--config", cfg.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains(NO_KEYRING), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.took < KEYRING_TIMEOUT + Duration::from_secs(10),
        "took {:?}",
        run.took
    );
}

#[tokio::test]
async fn an_unreachable_bus_is_reported_within_the_timeout() {
    // An address is set but nothing listens there: the keyring crate itself is asked.
    let dir = tempfile::tempdir().unwrap();
    let sim = common::start_sim("").await;
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(
            &sim.url("freecommit"),
            "password_keyring = \"shipdeck-test/admin\"\n",
        ),
        0o600,
    );
    let address = format!("unix:path={}", dir.path().join("no-bus").display());
    let run = shipdeck(
        dir.path(),
        &["get", "projects", "--config", cfg.to_str().unwrap()],
        &[("DBUS_SESSION_BUS_ADDRESS", &address)],
    )
    .await;
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains("no keyring reachable (")
            && run
                .stderr
                .contains("set password_env or password_command instead"),
        "{}",
        run.stderr
    );
    assert!(
        run.took < KEYRING_TIMEOUT + Duration::from_secs(10),
        "took {:?}",
        run.took
    );
}

#[tokio::test]
async fn without_a_keyring_the_other_source_is_used() {
    let sim = common::start_sim("").await;
    let dir = tempfile::tempdir().unwrap();
    let sources = "password_keyring = \"shipdeck-test/admin\"\npassword_env = \"SIM_PASSWORD\"\n";
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(&sim.url("freecommit"), sources),
        0o600,
    );
    let args = [
        "get",
        "projects",
        "--json",
        "--config",
        cfg.to_str().unwrap(),
    ];
    let run = shipdeck(dir.path(), &args, &[("SIM_PASSWORD", "admin")]).await;
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(rows.as_array().map(Vec::len), Some(47));

    // Both fail: both reasons are given, the keyring's first.
    let run = shipdeck(dir.path(), &args, &[]).await;
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let keyring = run.stderr.find(NO_KEYRING);
    let env = run.stderr.find("SIM_PASSWORD is not set");
    assert!(
        keyring.is_some() && env.is_some() && keyring < env,
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn config_check_gives_file_line_and_fix_for_a_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config("https://ci.example.com/api", "password_keyring = \"ci\"\n"),
        0o600,
    );
    let p = cfg.to_str().unwrap();
    let run = shipdeck(dir.path(), &["config", "check", "--config", p], &[]).await;
    assert_eq!(run.code, 2, "stdout: {}", run.stdout);
    assert!(!run.stdout.contains("warning"), "{}", run.stdout);
    let want = format!("{p}:5:");
    assert!(
        run.stdout.lines().any(|l| l.starts_with(&want)
            && l.contains("password_keyring `ci` has no `/`")
            && l.contains("\"<service>/<account>\"")),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn config_check_warns_when_no_keyring_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(
            "https://ci.example.com/api",
            "password_keyring = \"ci/admin\"\npassword_env = \"CI_PW_UNSET\"\n",
        ),
        0o600,
    );
    let p = cfg.to_str().unwrap();
    let run = shipdeck(dir.path(), &["config", "check", "--config", p], &[]).await;
    assert_eq!(run.code, 0, "stdout: {}", run.stdout);
    let warnings: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stdout);
    assert!(
        warnings[0].starts_with(&format!(
            "{p}:1: warning: profile `sim`: password_keyring: "
        )) && warnings[0].ends_with(NO_KEYRING),
        "{}",
        run.stdout
    );
    assert!(
        warnings[1].contains("CI_PW_UNSET, which is not set"),
        "{}",
        run.stdout
    );

    // With a session bus address the keyring is not ruled out, and not asked either.
    let run = shipdeck(
        dir.path(),
        &["config", "check", "--config", p],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    )
    .await;
    assert_eq!(run.code, 0, "stdout: {}", run.stdout);
    assert!(!run.stdout.contains("password_keyring"), "{}", run.stdout);
}
