//! Hostile servers against every output path (issue 11 items 1 and 2): escape sequences, C1
//! controls, bidi and zero-width characters in error messages, names and log lines never reach
//! CLI stdout/stderr, the dashboard, the audit file or the log file as they were sent (the
//! visible words do); a credential or token a server echoes back is redacted everywhere, for
//! every backend kind and every credential source.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::pty::Tui;
use common::{running_build, start_sim};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every hostile sequence of the issue, back to back: OSC 52 clipboard, OSC 0 title (BEL and
/// ST ended), mouse reporting on, cursor hidden, DECRQSS, DA and DSR queries (which make the
/// terminal answer), C1 CSI and OSC as UTF-8, BEL, RLO, ZWSP.
const HOSTILE: &str = "\u{1b}]52;c;aGFja2Vk\u{7}\u{1b}]0;PWNED-TITLE\u{7}\u{1b}]0;PWNED-TITLE\u{1b}\\\
\u{1b}[?1000h\u{1b}[?25l\u{1b}P$qm\u{1b}\\\u{1b}[c\u{1b}[6n\u{9b}6n\u{9d}0;PWNED-TITLE\u{9c}\u{7}\u{202e}\u{200b}";

const KINDS: [&str; 5] = [
    "freecommit",
    "nullplatform",
    "aviator",
    "serverless-cd",
    "candor",
];
const SOURCES: [&str; 3] = ["inline", "env", "command"];

/// Characters no output may carry (besides `\n`).
fn bad_char(c: char) -> bool {
    (c < ' ' && c != '\n')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// No control, C1, bidi or zero-width character in `bytes`.
fn assert_no_bad_chars(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(c) = text.chars().find(|&c| bad_char(c)) {
        panic!("{what}: {c:?} reached the output:\n{text:?}");
    }
}

/// [`assert_no_bad_chars`], and no payload of an escape sequence shows either.
fn assert_inert(what: &str, bytes: &[u8]) {
    assert_no_bad_chars(what, bytes);
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains("PWNED-TITLE"), "{what}: {text:?}");
    assert!(!text.contains("aGFja2Vk"), "{what}: {text:?}");
}

// ---------------------------------------------------------------------------------------------
// A server that rejects everything, echoing the credential it was sent.

#[derive(Clone)]
struct Echo {
    kind: &'static str,
    /// `Some(token)`: a Free Commit login succeeds with this token, everything else fails.
    issue: Option<String>,
}

async fn echo_server(kind: &'static str, issue: Option<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(echo)
        .with_state(Arc::new(Echo { kind, issue }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn echo(State(st): State<Arc<Echo>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    if let Some(token) = &st.issue
        && parts.uri.path().ends_with("/auth/token")
    {
        return axum::Json(json!({"access_token": token, "expires_in": 3600})).into_response();
    }
    // Whatever credential came, it goes back in the message.
    let mut echoed = Vec::new();
    let keys = ["password", "api_key", "token"];
    fn find(v: &Value, keys: &[&str], out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        Value::String(s) if keys.contains(&k.as_str()) => out.push(s.clone()),
                        v => find(v, keys, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| find(v, keys, out)),
            _ => {}
        }
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        find(&v, &keys, &mut echoed);
    } else {
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            if keys.contains(&k.as_ref()) {
                echoed.push(v.into_owned());
            }
        }
    }
    for h in ["authorization", "cd_token", "cookie"] {
        if let Some(v) = parts.headers.get(h).and_then(|v| v.to_str().ok()) {
            echoed.push(v.trim_start_matches("Bearer ").to_string());
        }
    }
    // Spaces around the words: Candor keeps whole words only (a word that looks like a path
    // is left out), so the visible words must stand alone there.
    let message = format!(
        "{HOSTILE} password '{}' rejected \u{202e}by\u{200b}design {HOSTILE}",
        echoed.join("' '")
    );
    let status = if st.issue.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNAUTHORIZED
    };
    if st.kind == "candor" {
        return (status, [(header::CONTENT_TYPE, "text/plain")], message).into_response();
    }
    let body =
        json!({"success": false, "code": status.as_u16(), "message": message, "error": message});
    (status, axum::Json(body)).into_response()
}

// ---------------------------------------------------------------------------------------------
// Running the CLI.

fn canary(kind: &str, source: &str) -> String {
    format!("CANARY-{kind}-{source}-7391")
}

/// A config with one profile `p` of `kind` at `url`, its secret from `source`.
fn write_config(dir: &Path, kind: &str, url: &str, source: &str, secret: &str) -> PathBuf {
    let field = match kind {
        "freecommit" | "candor" => "password",
        "nullplatform" => "api_key",
        _ => "token",
    };
    let cred = match source {
        "inline" => format!("{field} = \"{secret}\""),
        "env" => format!("{field}_env = \"SHIPDECK_TEST_CANARY\""),
        _ => format!("{field}_command = \"printf %s {secret}\""),
    };
    let user = if field == "password" {
        "username = \"ops\"\n"
    } else {
        ""
    };
    let extra = if kind == "aviator" {
        "projects = [ { name = \"web\", environments = [\"dev\", \"prod\"] } ]\n"
    } else {
        ""
    };
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "default_profile = \"p\"\n[profiles.p]\nkind = \"{kind}\"\nurl = \"{url}\"\n{user}{cred}\n{extra}timeout_secs = 5\n"
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

async fn run_cli(home: &Path, cfg: &Path, secret: &str, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("SHIPDECK_LOG", "debug")
        .env("SHIPDECK_TEST_CANARY", secret)
        .env_remove("SHIPDECK_PROFILE")
        .env_remove("SHIPDECK_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the command ends")
        .expect("runs");
    Run {
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Every file under `dir` (the state, data and cache directories: log file, audit, caches).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn log_file(home: &Path) -> Vec<u8> {
    files_under(home)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "shipdeck.log"))
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn assert_no_canary(what: &str, bytes: &[u8], secret: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(secret), "{what} shows the secret:\n{text}");
}

/// What the CLI needs to reach the server for each kind.
fn get_args(kind: &str) -> &'static [&'static str] {
    match kind {
        "aviator" => &["get", "environments"],
        _ => &["get", "projects"],
    }
}

#[tokio::test]
async fn an_echoed_credential_with_escapes_is_inert_and_redacted_in_the_cli_for_every_kind_and_source()
 {
    for kind in KINDS {
        let url = echo_server(kind, None).await;
        for source in SOURCES {
            let secret = canary(kind, source);
            let home = tempfile::tempdir().unwrap();
            let conf = tempfile::tempdir().unwrap();
            let cfg = write_config(conf.path(), kind, &url, source, &secret);
            let run = run_cli(home.path(), &cfg, &secret, get_args(kind)).await;
            let what = format!("{kind}/{source}");
            let stderr = String::from_utf8_lossy(&run.stderr).to_string();
            // The server's words arrive, made harmless.
            assert!(stderr.contains("rejected"), "{what}: {stderr}");
            assert!(stderr.contains("[redacted]"), "{what}: {stderr}");
            assert!(stderr.contains("<U+202E>"), "{what}: {stderr}");
            assert_inert(&format!("{what} stderr"), &run.stderr);
            assert_inert(&format!("{what} stdout"), &run.stdout);
            assert_no_canary(&format!("{what} stderr"), &run.stderr, &secret);
            assert_no_canary(&format!("{what} stdout"), &run.stdout, &secret);
            let log = log_file(home.path());
            assert!(
                String::from_utf8_lossy(&log).contains("rejected"),
                "{what}: the log file has the failure"
            );
            assert_inert(&format!("{what} log file"), &log);
            for f in files_under(home.path()) {
                assert_no_canary(
                    &f.display().to_string(),
                    &std::fs::read(&f).unwrap(),
                    &secret,
                );
            }
        }
    }
}

#[tokio::test]
async fn a_token_echoed_back_is_redacted() {
    let token = "tok-CANARY-issued-5520".to_string();
    let url = echo_server("freecommit", Some(token.clone())).await;
    let home = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let cfg = write_config(conf.path(), "freecommit", &url, "env", "pw-CANARY-0001");
    let run = run_cli(home.path(), &cfg, "pw-CANARY-0001", &["get", "projects"]).await;
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    assert!(stderr.contains("'[redacted]' rejected"), "{stderr}");
    assert!(stderr.contains("<U+202E>by<U+200B>design"), "{stderr}");
    assert_inert("stderr", &run.stderr);
    for (what, bytes) in [
        ("stderr", run.stderr.clone()),
        ("stdout", run.stdout.clone()),
        ("log file", log_file(home.path())),
    ] {
        assert_no_canary(what, &bytes, &token);
    }
    assert!(
        String::from_utf8_lossy(&log_file(home.path())).contains("rejected"),
        "the log file has the failure"
    );
}

// ---------------------------------------------------------------------------------------------
// The dashboard, in a PTY: the login failure's words on screen, nothing hostile in the bytes.

#[test]
fn an_echoed_credential_with_escapes_is_inert_and_redacted_on_the_dashboard_for_every_kind() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for kind in KINDS {
        let url = rt.block_on(echo_server(kind, None));
        let secret = canary(kind, "tui");
        let home = tempfile::tempdir().unwrap();
        let conf = tempfile::tempdir().unwrap();
        let cfg = write_config(conf.path(), kind, &url, "command", &secret);
        let cfg = cfg.to_str().unwrap().to_string();
        // No mouse: then no mouse-reporting sequence may reach the terminal at all.
        let mut tui = Tui::spawn_at(home.path(), &["--config", &cfg, "--no-mouse"], 160, 40);
        tui.wait(&format!("{kind}: the server's words"), |s| {
            s.contains("rejected") && s.contains("<U+202E>")
        });
        let screen = tui.screen();
        assert!(!screen.contains(&secret), "{kind}: {screen}");
        assert!(screen.contains("[redacted]"), "{kind}: {screen}");
        tui.send("\u{3}");
        tui.wait_exit(Duration::from_secs(10));
        tui.wait_restored();
        let raw = tui.raw.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&raw);
        for bad in [
            "\u{1b}]52;",
            "PWNED-TITLE",
            "\u{1b}[?1000h",
            "\u{1b}P$q",
            "\u{1b}[6n",
            "\u{9b}",
            "\u{9d}",
            "\u{202e}",
            "\u{200b}",
        ] {
            assert!(!text.contains(bad), "{kind}: {bad:?} reached the terminal");
        }
        assert!(
            !text.contains(&secret),
            "{kind}: the secret reached the terminal"
        );
        for f in files_under(home.path()) {
            assert_no_canary(
                &f.display().to_string(),
                &std::fs::read(&f).unwrap(),
                &secret,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The audit file: a change the server refuses with hostile words and the echoed credential.

#[tokio::test]
async fn a_refused_change_is_audited_inert_and_redacted() {
    use shipdeck::app::action::{Effect, Mutation};
    use shipdeck::app::runner::Runner;
    use shipdeck::config::Config;

    let url = echo_server("freecommit", None).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "CANARY-audit-4410";
    let text = format!(
        "[profiles.a]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"ops\"\npassword = \"{secret}\"\n"
    );
    let cfg = Config::parse(&text, &dir.path().join("config.toml"), true).expect("config");
    let audit = dir.path().join("audit.jsonl");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = Runner::new(cfg, tx).with_audit_file(Some(audit.clone()));
    runner.run(Effect::Connect {
        epoch: 1,
        profile: "a".into(),
    });
    let build = shipdeck::domain::Build {
        id: "run-1".into(),
        run_id: Some("run-1".into()),
        project: "web".into(),
        status: shipdeck::domain::BuildStatus::Running,
        ..Default::default()
    };
    runner.run(Effect::Mutate {
        epoch: 1,
        op: Mutation::Kill { build },
        profile: "a".into(),
        user: "ops".into(),
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let line = std::fs::read_to_string(&audit).unwrap_or_default();
        if line.contains("rejected") {
            break line;
        }
        assert!(Instant::now() < deadline, "no audit line: {line:?}");
        while rx.try_recv().is_ok() {}
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    runner.finish(Duration::from_secs(5)).await;
    assert!(!line.contains(secret), "{line}");
    assert!(line.contains("[redacted]"), "{line}");
    assert_inert("audit file", line.as_bytes());
    // The file is still JSON, and the entry says what the server said (escaped, not lost).
    let entry: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let result = entry["result"].as_str().unwrap();
    assert!(
        result.contains("password '[redacted]' rejected"),
        "{result}"
    );
}

// ---------------------------------------------------------------------------------------------
// Names and log lines: a proxy in front of the simulator makes them hostile.

struct Mangle {
    client: reqwest::Client,
    target: String,
    /// (plain text to find, hostile replacement)
    swaps: Vec<(String, String)>,
}

async fn mangling_proxy(target: String, swaps: Vec<(String, String)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    shipdeck::api::http::install_crypto_provider();
    let st = Arc::new(Mangle {
        client: reqwest::Client::new(),
        target,
        swaps,
    });
    let app = axum::Router::new().fallback(mangle).with_state(st);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn mangle(State(st): State<Arc<Mangle>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut rb = st
        .client
        .request(parts.method.clone(), format!("{}{pq}", st.target));
    for (n, v) in &parts.headers {
        if n != header::HOST && n != header::CONTENT_LENGTH {
            rb = rb.header(n, v);
        }
    }
    let resp = rb.body(bytes).send().await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(header::HeaderValue::from_static("text/plain"));
    let json = ctype.to_str().unwrap_or("").contains("json");
    let mut text = resp.text().await.unwrap_or_default();
    for (from, to) in &st.swaps {
        let to = if json {
            let quoted = serde_json::to_string(to).unwrap();
            quoted[1..quoted.len() - 1].to_string()
        } else {
            to.clone()
        };
        text = text.replace(from, &to);
    }
    let mut out = Response::new(Body::from(text));
    *out.status_mut() = status;
    out.headers_mut().insert(header::CONTENT_TYPE, ctype);
    out
}

#[tokio::test]
async fn hostile_names_and_log_lines_are_inert_in_get_tables_and_logs() {
    let sim = start_sim("").await;
    let build = running_build(&sim, "admin").await;
    let url = mangling_proxy(
        sim.url("freecommit"),
        vec![("billing".into(), format!("bill{HOSTILE}ing"))],
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let cfg = write_config(conf.path(), "freecommit", &url, "env", "admin");
    let cfg_text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("username = \"ops\"", "username = \"admin\"");
    std::fs::write(&cfg, cfg_text).unwrap();

    let get = run_cli(home.path(), &cfg, "admin", &["get", "projects"]).await;
    let table = String::from_utf8_lossy(&get.stdout).to_string();
    assert!(table.contains("bill<U+202E><U+200B>ing-api"), "{table}");
    assert_inert("get table", &get.stdout);
    assert_inert("get stderr", &get.stderr);

    let json = run_cli(home.path(), &cfg, "admin", &["get", "projects", "--json"]).await;
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&json.stdout),
            String::from_utf8_lossy(&json.stderr)
        )
    });
    let names: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("bill\u{1b}]52;")),
        "--json keeps the value (escaped): {names:?}"
    );
    // `--json` keeps every value (escaped): the sequences are data there, never bytes.
    assert_no_bad_chars("--json", &json.stdout);

    // The build runs to its end; its archived log is read back.
    common::advance(&sim, 900.0).await;
    let builds = run_cli(
        home.path(),
        &cfg,
        "admin",
        &["get", "builds", "--project", "1", "--json"],
    )
    .await;
    let builds: Value = serde_json::from_slice(&builds.stdout).unwrap();
    let finished = builds
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["run_id"].as_str() == Some(build.id.as_str()) || b["id"] == json!(build.id))
        .or_else(|| builds.as_array().unwrap().first())
        .expect("a build");
    let id = finished["id"].as_str().unwrap().to_string();
    let logs = run_cli(home.path(), &cfg, "admin", &["logs", &id]).await;
    let text = String::from_utf8_lossy(&logs.stdout).to_string();
    assert!(
        text.contains("bill<U+202E><U+200B>ing-api"),
        "{text}\n{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    assert_inert("logs stdout", &logs.stdout);
    assert_inert("logs stderr", &logs.stderr);
}

// ---------------------------------------------------------------------------------------------
// The dashboard's footer and `:messages`: a toast quoting a hostile server.

#[test]
fn a_toast_quoting_a_hostile_server_is_inert_and_redacted() {
    use ratatui::{Terminal, backend::TestBackend};
    use shipdeck::app::keymap::Keymap;
    use shipdeck::app::state::{Level, State};
    use shipdeck::app::{Action, update::update};

    let secret = "CANARY-toast-3141";
    shipdeck::safe::register(secret);
    let mut s = State::new(Vec::new(), Keymap::default());
    update(
        &mut s,
        Action::Resize {
            cols: 160,
            rows: 30,
        },
        0,
    );
    shipdeck::app::messages::toast(
        &mut s,
        Level::Error,
        format!("{HOSTILE} kill failed: token {secret} unknown \u{202e}ok {HOSTILE}"),
    );
    let themes = shipdeck::ui::Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(160, 30)).unwrap();
    term.draw(|f| shipdeck::ui::draw(f, &s, themes.get(s.theme_name())))
        .unwrap();
    let screen = term.backend().to_string();
    assert!(
        screen.contains("kill failed: token [redacted] unknown <U+202E>ok"),
        "{screen}"
    );
    assert!(!screen.contains(secret), "{screen}");
    assert_inert("the screen", screen.as_bytes());
    let history = shipdeck::app::messages::history(&s).join("\n");
    assert!(
        history.contains("[redacted]") && !history.contains(secret),
        "{history}"
    );
    assert_inert(":messages", history.as_bytes());
}
