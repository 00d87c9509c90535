//! The config file (SPEC §3) through the library and the real binary: every kind, every problem
//! with its line, inline secrets only in private files, credential sources, and the one-shot
//! commands' exit codes and output against the simulator.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use secrecy::{ExposeSecret, SecretString};
use shipdeck::config::{Config, Credential, Problem};
use shipdeck::domain::Kind;
use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const FULL: &str = r#"default_profile = "ci"
theme = "dark"
refresh_secs = 5

[profiles.ci]
kind = "freecommit"
url = "https://ci.example.com/api-free-commit"
username = "alice"
password_command = "pass show ci/alice"
protected_environments = []

[profiles.releases]
kind = "aviator"
url = "https://api.aviator.co"
token_env = "AVIATOR_TOKEN"
theme = "red-prod"
protected_environments = ["production"]
projects = [ { name = "web", environments = ["dev", "staging", "production"] } ]

[profiles.np]
kind = "nullplatform"
url = "https://ci.nullplatform.com"
api_key_env = "NP_API_KEY"

[profiles.scd]
kind = "serverless-cd"
url = "https://cd.example.net"
route_prefix = "/api/flow"
token_env = "CD_TOKEN"

[profiles.candor]
kind = "candor"
url = "https://candor.example.com"
username = "ops"
password_env = "CANDOR_PASSWORD"
runner_url = "https://runner.example.com"
runner_token_env = "RUNNER_TOKEN"
read_only = true
"#;

/// One problem of each sort; the comment says which line reports it.
const BAD: &str = r#"default_profile = "nope"
refresh_secs = "fast"

[profiles.ci]
kind = "freecommit"
url = "https://ci.example.com"
usernme = "alice"
password_env = "CI_PW"

[profiles.weird]
kind = "jenkins"
url = "https://j.example.com"

[profiles.nourl]
kind = "serverless-cd"
token_env = "CD_TOKEN"

[profiles.nocred]
kind = "nullplatform"
timeout_secs = "slow"
"#;

/// (line, text the message must contain) for every problem in `BAD`.
const BAD_PROBLEMS: &[(usize, &str)] = &[
    (1, "default_profile `nope` is not defined"),
    (2, "expected a whole number"),
    (4, "needs `username`"),
    (7, "did you mean `username`?"),
    (11, "unknown kind `jenkins`"),
    (14, "needs `url`"),
    (18, "needs `api_key`"),
    (20, "expected a whole number"),
];

fn assert_problems(problems: &[Problem]) {
    let got: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
        .collect();
    assert_eq!(problems.len(), BAD_PROBLEMS.len(), "{got:#?}");
    for (line, text) in BAD_PROBLEMS {
        assert!(
            problems
                .iter()
                .any(|p| p.line == *line && p.message.contains(text)),
            "no problem on line {line} containing {text:?}: {got:#?}"
        );
    }
    for p in problems {
        assert!(p.column >= 1, "{p:?}");
    }
}

/// A file with `text` and the given mode, in a fresh directory.
fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn full_config_with_all_five_kinds_parses() {
    let cfg = Config::parse(FULL, Path::new("config.toml"), false).expect("valid config");
    assert_eq!(cfg.default_profile.as_deref(), Some("ci"));
    assert_eq!(cfg.theme.as_deref(), Some("dark"));
    assert_eq!(cfg.refresh_secs, 5);
    let names: Vec<&str> = cfg.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["ci", "releases", "np", "scd", "candor"],
        "file order"
    );
    let kinds: HashSet<Kind> = cfg.profiles.iter().map(|p| p.kind).collect();
    assert_eq!(kinds.len(), 5);

    let ci = cfg.profile("ci").unwrap();
    assert_eq!(ci.kind, Kind::Freecommit);
    assert_eq!(
        ci.url.as_str(),
        "https://ci.example.com/api-free-commit",
        "the base URL is kept as written"
    );
    assert_eq!(ci.username.as_deref(), Some("alice"));
    assert!(matches!(&ci.password, Some(Credential::Command(c)) if c == "pass show ci/alice"));
    assert!(ci.protected_environments.is_empty());
    assert!(!ci.read_only);
    assert_eq!(ci.line, 5);

    let rel = cfg.profile("releases").unwrap();
    assert_eq!(rel.kind, Kind::Aviator);
    assert_eq!(rel.url.host_str(), Some("api.aviator.co"));
    assert!(matches!(&rel.token, Some(Credential::Env(v)) if v == "AVIATOR_TOKEN"));
    assert_eq!(rel.theme.as_deref(), Some("red-prod"));
    assert_eq!(rel.protected_environments, ["production"]);
    assert_eq!(rel.projects.len(), 1);
    assert_eq!(rel.projects[0].name, "web");
    assert_eq!(
        rel.projects[0].environments,
        ["dev", "staging", "production"]
    );

    let np = cfg.profile("np").unwrap();
    assert_eq!(np.kind, Kind::Nullplatform);
    assert_eq!(np.url.host_str(), Some("ci.nullplatform.com"));
    assert!(matches!(&np.api_key, Some(Credential::Env(v)) if v == "NP_API_KEY"));

    let scd = cfg.profile("scd").unwrap();
    assert_eq!(scd.kind, Kind::ServerlessCd);
    assert_eq!(scd.url.host_str(), Some("cd.example.net"));
    assert_eq!(scd.route_prefix.as_deref(), Some("/api/flow"));
    assert!(matches!(&scd.token, Some(Credential::Env(v)) if v == "CD_TOKEN"));

    let candor = cfg.profile("candor").unwrap();
    assert_eq!(candor.kind, Kind::Candor);
    assert_eq!(candor.url.host_str(), Some("candor.example.com"));
    assert_eq!(candor.username.as_deref(), Some("ops"));
    assert!(matches!(&candor.password, Some(Credential::Env(v)) if v == "CANDOR_PASSWORD"));
    assert_eq!(
        candor.runner_url.as_ref().map(|u| u.as_str()),
        Some("https://runner.example.com/")
    );
    assert!(matches!(&candor.runner_token, Some(Credential::Env(v)) if v == "RUNNER_TOKEN"));
    assert!(candor.read_only);

    assert_eq!(cfg.pick_profile(None).unwrap().unwrap().name, "ci");
    assert_eq!(cfg.pick_profile(Some("np")).unwrap().unwrap().name, "np");
    assert!(cfg.pick_profile(Some("nope")).is_err());
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let err = Config::parse(BAD, Path::new("bad.toml"), false).expect_err("invalid config");
    assert_problems(&err.problems);
    let typo = err
        .problems
        .iter()
        .find(|p| p.line == 7)
        .expect("typo problem");
    assert_eq!(typo.column, 1);
    assert!(typo.message.contains("usernme"), "{}", typo.message);
    // Display gives one `path:line:col: message` per problem.
    let text = err.to_string();
    assert_eq!(text.lines().count(), BAD_PROBLEMS.len(), "{text}");
    assert!(
        text.contains("bad.toml:7:1: unknown key `usernme`"),
        "{text}"
    );
}

#[test]
fn toml_syntax_error_reports_its_line() {
    let text = "theme = \"dark\"\n\n[profiles.ci]\nkind = \"freecommit\nurl = \"https://x\"\n";
    let err = Config::parse(text, Path::new("x.toml"), true).expect_err("syntax error");
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!(p.line, 4, "{p:?}");
    assert!(p.message.contains("TOML syntax error"), "{p:?}");
}

#[test]
fn inline_password_needs_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[profiles.ci]\nkind = \"freecommit\"\nurl = \"http://127.0.0.1:1/fc\"\nusername = \"admin\"\npassword = \"hunter2-inline\"\n";

    let open = write_file(dir.path(), "open.toml", text, 0o644);
    let err = Config::load(&open).expect_err("0644 + inline password is refused");
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!(p.line, 5);
    assert!(p.message.contains("chmod 600"), "{}", p.message);
    assert!(p.message.contains("password_env"), "{}", p.message);
    assert!(!err.to_string().contains("hunter2-inline"), "{err}");

    let private = write_file(dir.path(), "private.toml", text, 0o600);
    let cfg = Config::load(&private).unwrap().expect("file exists");
    let ci = cfg.profile("ci").unwrap();
    let Some(Credential::Inline(pw)) = &ci.password else {
        panic!("expected an inline password: {:?}", ci.password);
    };
    assert_eq!(pw.expose_secret(), "hunter2-inline");
    // Nothing that prints a config shows the value.
    let debug = format!("{cfg:?}");
    assert!(!debug.contains("hunter2-inline"), "{debug}");
}

#[test]
fn missing_file_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let got = Config::load(&dir.path().join("does-not-exist.toml")).expect("no error");
    assert!(got.is_none());
}

#[tokio::test]
async fn env_credential_resolves_only_when_set() {
    let var = format!("SHIPDECK_TEST_PW_{}", std::process::id());
    let cred = Credential::Env(var.clone());
    let err = cred.resolve().await.expect_err("unset");
    assert!(err.to_string().contains(&var), "{err}");
    // SAFETY: a variable name unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var(&var, "from-the-env") };
    let got = cred.resolve().await.map(|s| s.expose_secret().to_string());
    unsafe { std::env::remove_var(&var) };
    assert_eq!(got.unwrap(), "from-the-env");
    assert_eq!(cred.source(), format!("${var}"));
}

#[tokio::test]
async fn command_credential_resolves_and_fails_without_leaking() {
    let ok = Credential::Command("printf s3cret".into());
    assert_eq!(ok.resolve().await.unwrap().expose_secret(), "s3cret");

    let fail = Credential::Command("exit 3".into());
    let msg = fail.resolve().await.expect_err("exit 3").to_string();
    assert!(msg.contains("exit 3") && msg.contains('3'), "{msg}");

    // A command that prints a secret on stdout and then fails: the secret stays out of the
    // message (the command text spells it differently on purpose).
    let leaky = Credential::Command("printf 's3%s' cret-out; echo oops >&2; exit 3".into());
    let msg = leaky.resolve().await.expect_err("exit 3").to_string();
    assert!(!msg.contains("s3cret-out"), "{msg}");
    assert!(msg.contains("oops"), "stderr explains the failure: {msg}");

    let empty = Credential::Command("true".into());
    assert!(empty.resolve().await.is_err());
}

#[test]
fn debug_of_an_inline_credential_is_redacted() {
    let c = Credential::Inline(SecretString::from("top-secret-value"));
    let d = format!("{c:?}");
    assert!(d.contains("[REDACTED]"), "{d}");
    assert!(!d.contains("top-secret-value"), "{d}");
    assert_eq!(c.source(), "inline");
}

// ---- the real binary ----------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run `shipdeck` with `args`, its home and XDG dirs in `home` (nothing written elsewhere).
async fn shipdeck(home: &Path, args: &[&str]) -> Run {
    shipdeck_with(home, args, &[]).await
}

async fn shipdeck_with(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("SHIPDECK_PROFILE")
        .env_remove("SHIPDECK_CONFIG")
        .env_remove("SHIPDECK_LOG")
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
    }
}

fn fc_config(url: &str, user: &str, password: &str) -> String {
    format!(
        "[profiles.sim]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"{user}\"\npassword = \"{password}\"\n"
    )
}

#[tokio::test]
async fn cli_config_check_lists_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "bad.toml", BAD, 0o600);
    let p = path.to_str().unwrap();
    let run = shipdeck(dir.path(), &["config", "check", "--config", p]).await;
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for (line, text) in BAD_PROBLEMS {
        let prefix = format!("{p}:{line}:");
        assert!(
            run.stdout.lines().any(|l| {
                l.strip_prefix(&prefix).is_some_and(|rest| {
                    let (col, msg) = rest.split_once(": ").unwrap_or(("", ""));
                    col.parse::<usize>().is_ok() && msg.contains(text)
                })
            }),
            "no `{prefix}<col>: …{text}…` line in:\n{}",
            run.stdout
        );
    }
    let problem_lines = run
        .stdout
        .lines()
        .filter(|l| l.starts_with(&format!("{p}:")))
        .count();
    assert_eq!(problem_lines, BAD_PROBLEMS.len(), "{}", run.stdout);

    // And a good file passes.
    let good = write_file(dir.path(), "good.toml", FULL, 0o600);
    let run = shipdeck(
        dir.path(),
        &["config", "check", "--config", good.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("ok, 5 profile(s)"), "{}", run.stdout);
}

#[tokio::test]
async fn cli_get_with_a_wrong_password_exits_3_without_printing_it() {
    let sim = common::start_sim("").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(&sim.url("freecommit"), "admin", "hunter2-wrong"),
        0o600,
    );
    let run = shipdeck_with(
        dir.path(),
        &["get", "projects", "--config", cfg.to_str().unwrap()],
        &[("SHIPDECK_LOG", "debug")],
    )
    .await;
    assert_eq!(
        run.code, 3,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("admin"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    for (what, text) in [("stderr", &run.stderr), ("stdout", &run.stdout)] {
        assert!(
            !text.contains("hunter2-wrong"),
            "password in {what}: {text}"
        );
    }
    // The log goes to XDG_STATE_HOME (not the real home) and, even at debug level, holds no
    // password.
    let log = std::fs::read_to_string(dir.path().join("state/shipdeck/shipdeck.log"))
        .expect("the log is written under XDG_STATE_HOME");
    assert!(!log.contains("hunter2-wrong"), "password in the log: {log}");
}

#[tokio::test]
async fn cli_get_projects_json_lists_all_47() {
    let sim = common::start_sim("").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(&sim.url("freecommit"), "admin", "admin"),
        0o600,
    );
    let run = shipdeck(
        dir.path(),
        &[
            "get",
            "projects",
            "--json",
            "--config",
            cfg.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    let rows = v.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 47);
    let ids: HashSet<&str> = rows
        .iter()
        .map(|r| r["id"].as_str().expect("string id"))
        .collect();
    assert_eq!(ids.len(), 47, "ids repeat");
    assert!(rows.iter().all(|r| r["name"].is_string()));
    let names: HashSet<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for n in shipdeck::sim::freecommit::PROJECT_NAMES {
        assert!(names.contains(n), "{n} missing");
    }
    // Nothing is written outside the temporary home.
    assert!(!dir.path().join("config/shipdeck/config.toml").exists());
}

#[tokio::test]
async fn cli_get_secrets_json_has_no_values() {
    let sim = common::start_sim("").await;
    let base = sim.url("freecommit");
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "c.toml",
        &fc_config(&base, "admin", "admin"),
        0o600,
    );
    let run = shipdeck(
        dir.path(),
        &[
            "get",
            "secrets",
            "--json",
            "--config",
            cfg.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let rows = v.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 12);
    assert_eq!(rows.iter().filter(|r| r["scope"] == "PUBLIC").count(), 4);
    for r in rows {
        assert!(r.get("value").is_none(), "{r}");
    }
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let values = common::admin_secret_values(&base, &ids).await;
    for secret in &values {
        assert!(
            !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
            "secret value {secret:?} printed"
        );
    }
}

#[test]
fn diff_rules_extend_the_defaults_and_bad_regexes_name_their_line() {
    let text = "[diff]\ncontext = 5\nignore = [\"seed=\\\\d+\"]\nrules = [{ name = \"hash\", regex = \"\\\\bZZZ\\\\b\", replace = \"<z>\" }]\n";
    let cfg = Config::parse(text, Path::new("d.toml"), true).expect("valid [diff]");
    assert_eq!(cfg.diff.context, 5);
    let rules = cfg.diff.rules();
    let norm = shipdeck::logdiff::Normaliser::new(&rules).unwrap();
    // `hash` was replaced by the config's rule, `ignore` added one, the others stay.
    assert_eq!(
        norm.normalise("seed=42 ZZZ 4e1f9a7 in 12.3s"),
        "… <z> 4e1f9a7 in <duration>"
    );

    let bad = "theme = \"dark\"\n[diff]\nignore = [\"ok\", \"(unclosed\"]\nrules = [{ name = \"x\", regex = \"[z-a]\" }]\ncontxt = 3\n";
    let err = Config::parse(bad, Path::new("d.toml"), true).expect_err("bad regexes");
    let lines: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 4, 5], "{err}");
    assert!(err.problems[0].message.contains("(unclosed"), "{err}");
    assert!(
        err.problems[2].message.contains("did you mean `context`"),
        "{err}"
    );
}
