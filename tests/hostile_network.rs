//! Hostile and broken servers (issue 11, items 3–6): cross-origin redirects never carry a
//! credential, `timeout_secs` bounds a request with its retries, `Retry-After` is capped,
//! paging stops on repeated or endless pages, bodies and messages are size-capped, failed
//! logins back off, short-lived tokens are reused, invalid UTF-8 is replaced per character, a
//! `password_command` ends with shipdeck, and `config check` handles thousands of profiles and
//! names unknown themes. Each server here is a small axum app that records what it received.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{fast_policy, start_proxy, start_sim};
use futures::future::BoxFuture;
use secrecy::SecretString;
use serde_json::json;
use shipdeck::api::http::{Http, Request as ApiRequest};
use shipdeck::api::nullplatform::Nullplatform;
use shipdeck::api::serverless_cd::ServerlessCd;
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::{Credential, Profile};
use shipdeck::domain::{Kind, ListQuery};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as a test server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn query_value(&self, key: &str) -> Option<u32> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.parse().ok())?
        })
    }
}

type Handler = Arc<dyn Fn(Seen) -> BoxFuture<'static, Response> + Send + Sync>;

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn count(&self, method_path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| format!("{} {}", s.method, s.path) == method_path)
            .count()
    }

    fn all(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Start a server answering every request with `handler`, recording each one first.
async fn serve(
    handler: impl Fn(Seen) -> BoxFuture<'static, Response> + Send + Sync + 'static,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let st: (Handler, Arc<Mutex<Vec<Seen>>>) = (Arc::new(handler), seen.clone());
    let app = axum::Router::new().fallback(record).with_state(st);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        seen,
    }
}

async fn record(
    State((handler, seen)): State<(Handler, Arc<Mutex<Vec<Seen>>>)>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let s = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    seen.lock().unwrap().push(s.clone());
    handler(s).await
}

fn json_reply(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn redirect_to(origin: &str, s: &Seen, status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("{origin}{}", s.path)).unwrap(),
    );
    r
}

/// A server that takes anything (a stand-in for "another origin" that must see nothing).
async fn sink() -> Server {
    serve(|_| Box::pin(async { json_reply(StatusCode::OK, json!({"access_token": "x"})) })).await
}

/// Redirects every request (307) to `target`'s origin, same path.
async fn redirector(target: &str) -> Server {
    let target = target.to_string();
    serve(move |s| {
        let r = redirect_to(&target, &s, StatusCode::TEMPORARY_REDIRECT);
        Box::pin(async move { r })
    })
    .await
}

fn port(base: &str) -> &str {
    base.rsplit(':').next().unwrap()
}

// ---------------------------------------------------------------- redirects (item 3)

#[tokio::test]
async fn a_cross_origin_307_of_a_free_commit_login_never_reaches_the_other_origin() {
    let other = sink().await;
    let hostile = redirector(&other.base).await;
    let fc = common::client(&hostile.base, "alice", "CANARY-pw-7731");
    let e = fc.login().await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "redirected the login to http://127.0.0.1:{}",
            port(&other.base)
        )) && msg.contains("refused: credentials are only sent to")
            && msg.contains(&format!("127.0.0.1:{}", port(&hostile.base))),
        "{msg}"
    );
    assert!(!msg.contains("CANARY"), "{msg}");
    assert_eq!(hostile.count("POST /auth/token"), 1);
    assert!(
        other.all().is_empty(),
        "the other origin got {:?}",
        other.all()
    );
}

#[tokio::test]
async fn a_cross_origin_308_of_a_nullplatform_login_never_reaches_the_other_origin() {
    let other = sink().await;
    let target = other.base.clone();
    let hostile = serve(move |s| {
        let r = redirect_to(&target, &s, StatusCode::PERMANENT_REDIRECT);
        Box::pin(async move { r })
    })
    .await;
    let http = Http::with_base(&hostile.base, Duration::from_secs(5), None, false)
        .unwrap()
        .with_policy(fast_policy());
    let np = Nullplatform::with_http(
        http,
        Credential::Inline(SecretString::from("CANARY-key-5512".to_string())),
    );
    let e = np.login().await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Config(m) if m.contains("redirected the login to")),
        "{e:?}"
    );
    assert!(!e.to_string().contains("CANARY"));
    assert!(
        other.all().is_empty(),
        "the other origin got {:?}",
        other.all()
    );
    // The login was not tried again and again either.
    assert_eq!(hostile.count("POST /login"), 1);
}

#[tokio::test]
async fn a_same_origin_redirect_of_a_login_is_followed() {
    let server = serve(|s| {
        Box::pin(async move {
            match (s.method.as_str(), s.path.as_str()) {
                ("POST", "/auth/token") => {
                    let mut r = Response::new(Body::empty());
                    *r.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                    r.headers_mut()
                        .insert(header::LOCATION, HeaderValue::from_static("/v2/auth/token"));
                    r
                }
                ("POST", "/v2/auth/token") => json_reply(
                    StatusCode::OK,
                    json!({"access_token": "tok", "expires_in": 3600}),
                ),
                ("GET", "/user/info") => json_reply(
                    StatusCode::OK,
                    json!({"id": 1, "username": "alice", "roles": ["ADMIN"]}),
                ),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        })
    })
    .await;
    let fc = common::client(&server.base, "alice", "pw");
    let session = fc.login().await.expect("same-origin redirect followed");
    assert_eq!(session.user.name, "alice");
    // The 307 re-sent the body to the same origin.
    let second = server
        .all()
        .into_iter()
        .find(|s| s.path == "/v2/auth/token")
        .expect("followed");
    assert!(second.body.contains("\"pw\""), "{}", second.body);
}

#[tokio::test]
async fn the_cd_token_never_follows_a_redirect_to_another_origin() {
    let other = sink().await;
    let hostile = redirector(&other.base).await;
    // The profile's client (no redirects followed at all) …
    let mut p = Profile::new(
        "scd",
        Kind::ServerlessCd,
        url::Url::parse(&hostile.base).unwrap(),
    );
    p.token = Some(Credential::Inline(SecretString::from(
        "CANARY-cd-9911".to_string(),
    )));
    p.timeout_secs = 5;
    let b = shipdeck::api::connect(&p).unwrap();
    let _ = b.login().await;
    // … and one on a client that follows same-origin redirects.
    let http = Http::with_base(&hostile.base, Duration::from_secs(5), None, false)
        .unwrap()
        .with_policy(fast_policy());
    let scd = ServerlessCd::with_http(
        http,
        Credential::Inline(SecretString::from("CANARY-cd-9911".to_string())),
        None,
    );
    let e = scd.login().await.unwrap_err();
    assert!(!e.to_string().contains("CANARY"), "{e}");
    assert!(hostile.all().len() >= 2);
    assert!(
        hostile.all().iter().all(|s| s
            .headers
            .iter()
            .any(|(n, v)| n == "cd_token" && v == "CANARY-cd-9911")),
        "the origin itself gets the token"
    );
    assert!(
        other.all().is_empty(),
        "the other origin got {:?}",
        other.all()
    );
}

// ---------------------------------------------------------------- time bounds (item 4)

#[tokio::test]
async fn a_hung_server_is_bounded_by_the_timeout_retries_included() {
    let hung = serve(|_| {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        })
    })
    .await;
    // The default policy (4 tries, seconds of backoff): the deadline covers them all.
    let http = Http::with_base(&hung.base, Duration::from_secs(1), None, false).unwrap();
    let started = Instant::now();
    let e = http.send(&ApiRequest::get("/api/x")).await.unwrap_err();
    assert_eq!(e, ApiError::Timeout(1), "{e}");
    assert_eq!(e.to_string(), "no answer within 1s");
    assert_eq!(hung.count("GET /api/x"), 1, "no retry past the deadline");
    // Safety net only: far below the 23 s of four 5 s tries with backoff.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_huge_retry_after_is_not_waited_past_the_deadline() {
    let limited = serve(|_| {
        Box::pin(async {
            let mut r = json_reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"message": "slow down"}),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("180"));
            r
        })
    })
    .await;
    let http = Http::with_base(&limited.base, Duration::from_secs(3), None, false).unwrap();
    let started = Instant::now();
    let reply = http.send(&ApiRequest::get("/api/x")).await.unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(limited.count("GET /api/x"), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------- the CLI against a fake Free Commit

/// A Free Commit that logs in anyone and answers project pages with `page_rows(page)`.
async fn fake_free_commit(
    page_rows: impl Fn(u32) -> (Vec<serde_json::Value>, Option<u64>) + Send + Sync + 'static,
) -> Server {
    let page_rows = Arc::new(page_rows);
    serve(move |s| {
        let page_rows = page_rows.clone();
        Box::pin(async move {
            match (s.method.as_str(), s.path.as_str()) {
                ("POST", "/auth/token") => json_reply(
                    StatusCode::OK,
                    json!({"access_token": "tok", "expires_in": 3600}),
                ),
                ("GET", "/user/info") => json_reply(
                    StatusCode::OK,
                    json!({"id": 1, "username": "admin", "roles": ["ADMIN"]}),
                ),
                ("GET", "/developer/paginations/project") => {
                    let (rows, total) = page_rows(s.query_value("page").unwrap_or(1));
                    json_reply(StatusCode::OK, json!({"data": rows, "total": total}))
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        })
    })
    .await
}

fn project(id: u64) -> serde_json::Value {
    json!({"project_id": id, "project_name": format!("p{id}")})
}

fn write_config(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.t]\nkind = \"freecommit\"\nurl = \"{url}\"\nusername = \"admin\"\n{extra}\n"
        ),
    )
    .unwrap();
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
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn run(home: &Path, cfg: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), command(home, cfg, args).output())
        .await
        .expect("the command ends")
        .expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn get_stops_when_the_server_ignores_the_page_number() {
    let server = fake_free_commit(|_| ((1..=100).map(project).collect(), Some(1_000_000))).await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &server.base,
        "password_env = \"SHIPDECK_TEST_PW\"",
    );
    let (code, stdout, stderr) = run(home.path(), &cfg, &["get", "projects"]).await;
    assert!(
        stderr.contains("page 2 repeated the rows of page 1"),
        "{stderr}"
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 101, "header and 100 rows: {stdout}");
    assert_eq!(server.count("GET /developer/paginations/project"), 2);
}

#[tokio::test]
async fn get_stops_endless_pages_at_max_pages() {
    let server = fake_free_commit(|page| {
        let first = u64::from(page) * 100;
        ((first..first + 100).map(project).collect(), None)
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &server.base,
        "password_env = \"SHIPDECK_TEST_PW\"\nmax_pages = 5",
    );
    let (code, stdout, stderr) = run(home.path(), &cfg, &["get", "projects"]).await;
    assert!(
        stderr.contains("list cut at 5 pages (max_pages); 500 row(s) listed"),
        "{stderr}"
    );
    assert_eq!(
        code,
        Some(1),
        "an incomplete list is not a success: {stderr}"
    );
    assert_eq!(stdout.lines().count(), 501);
    assert_eq!(server.count("GET /developer/paginations/project"), 5);
}

#[tokio::test]
async fn get_stops_a_page_past_the_declared_total() {
    let server = fake_free_commit(|page| {
        let first = u64::from(page) * 100;
        ((first..first + 100).map(project).collect(), Some(250))
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &server.base,
        "password_env = \"SHIPDECK_TEST_PW\"",
    );
    let (code, _, stderr) = run(home.path(), &cfg, &["get", "projects"]).await;
    assert!(
        stderr.contains("the server declared 250 row(s) but kept sending more"),
        "{stderr}"
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.count("GET /developer/paginations/project"), 4);
}

#[tokio::test]
async fn a_hung_server_ends_a_cli_command_within_its_timeout_and_says_so() {
    let hung = serve(|_| {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        })
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &hung.base,
        "password_env = \"SHIPDECK_TEST_PW\"\ntimeout_secs = 1",
    );
    let started = Instant::now();
    let (code, _, stderr) = run(home.path(), &cfg, &["get", "projects"]).await;
    assert!(stderr.contains("no answer within 1s"), "{stderr}");
    assert_ne!(code, Some(0));
    assert_eq!(hung.all().len(), 1, "the login, once");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_ten_kilobyte_error_message_is_cut_to_two_on_stderr() {
    let long = format!("START{}END", "x".repeat(10 * 1024));
    let body = json!({"status": 500, "error": "Internal Server Error", "message": long});
    let server = serve(move |s| {
        let body = body.clone();
        Box::pin(async move {
            match (s.method.as_str(), s.path.as_str()) {
                ("POST", "/auth/token") => json_reply(
                    StatusCode::OK,
                    json!({"access_token": "tok", "expires_in": 3600}),
                ),
                ("GET", "/user/info") => json_reply(
                    StatusCode::OK,
                    json!({"id": 1, "username": "admin", "roles": ["ADMIN"]}),
                ),
                _ => json_reply(StatusCode::INTERNAL_SERVER_ERROR, body),
            }
        })
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &server.base,
        "password_env = \"SHIPDECK_TEST_PW\"",
    );
    let (code, _, stderr) = run(home.path(), &cfg, &["get", "projects"]).await;
    assert_ne!(code, Some(0));
    assert!(stderr.contains("START"), "{stderr}");
    assert!(!stderr.contains("END"), "cut");
    assert!(stderr.contains("more bytes in the log file)"), "{stderr}");
    assert!(stderr.len() < 2_600, "{} bytes on stderr", stderr.len());
    // The whole message is in the log file.
    let log = std::fs::read_to_string(home.path().join("state/shipdeck/shipdeck.log"))
        .unwrap_or_default();
    assert!(
        log.contains(&"x".repeat(10 * 1024)),
        "log: {} bytes",
        log.len()
    );
}

// ---------------------------------------------------------------- size bounds and UTF-8

#[tokio::test]
async fn a_twenty_megabyte_body_is_not_read_whole() {
    let big = serve(|s| {
        Box::pin(async move {
            let body = vec![b' '; 20 * 1024 * 1024];
            if s.path == "/chunked" {
                // No Content-Length: the cap applies while reading.
                let chunks = body
                    .chunks(64 * 1024)
                    .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>();
                Response::new(Body::from_stream(futures::stream::iter(chunks)))
            } else {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response()
            }
        })
    })
    .await;
    let http = Http::with_base(&big.base, Duration::from_secs(20), None, false).unwrap();
    for path in ["/sized", "/chunked"] {
        let e = http.send(&ApiRequest::get(path)).await.unwrap_err();
        assert!(
            matches!(&e, ApiError::Decode(m) if m.contains("answer larger than 16 MB")),
            "{path}: {e:?}"
        );
        assert_eq!(big.count(&format!("GET {path}")), 1, "not retried");
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_page_keeps_the_row_with_a_replacement_character() {
    let server = serve(|s| {
        Box::pin(async move {
            match (s.method.as_str(), s.path.as_str()) {
                ("POST", "/auth/token") => json_reply(
                    StatusCode::OK,
                    json!({"access_token": "tok", "expires_in": 3600}),
                ),
                ("GET", "/developer/paginations/project") => {
                    let mut body =
                        br#"{"total":2,"data":[{"project_id":1,"project_name":"pay"#.to_vec();
                    body.push(0xff);
                    body.extend_from_slice(br#"ments"},{"project_id":2,"project_name":"web"}]}"#);
                    (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                        .into_response()
                }
                ("GET", "/log") => {
                    let mut body = b"line one\nbad ".to_vec();
                    body.extend_from_slice(&[0xc3, 0x28]);
                    body.extend_from_slice(b" byte\n");
                    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        })
    })
    .await;
    let fc = common::client(&server.base, "admin", "pw");
    let page = fc
        .projects(&ListQuery {
            page: 1,
            per_page: 20,
            filter: None,
            sort: None,
        })
        .await
        .expect("the page is read");
    let names: Vec<&str> = page.items.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["pay\u{FFFD}ments", "web"]);
    let http = Http::with_base(&server.base, Duration::from_secs(5), None, false).unwrap();
    // A log chunk stays bytes (logs are read on by byte offset); its text is made per
    // character.
    let log = http.send(&ApiRequest::get("/log")).await.unwrap();
    assert_eq!(log.body.len(), "line one\nbad ".len() + 2 + " byte\n".len());
    assert_eq!(
        String::from_utf8_lossy(&log.body),
        "line one\nbad \u{FFFD}( byte\n"
    );
}

// ---------------------------------------------------------------- logins (item 5)

#[tokio::test]
async fn failed_logins_back_off_instead_of_retrying_every_request() {
    let server = serve(|_| {
        Box::pin(async {
            json_reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"message": "db down"}),
            )
        })
    })
    .await;
    let fc = common::client(&server.base, "admin", "pw");
    let q = ListQuery {
        page: 1,
        per_page: 20,
        filter: None,
        sort: None,
    };
    // A busy caller: 40 requests as fast as they come, then more until the next login.
    let started = Instant::now();
    let mut last = None;
    for _ in 0..40 {
        last = Some(fc.projects(&q).await.unwrap_err());
    }
    let e = last.unwrap();
    assert!(e.to_string().contains("next try in 1s"), "{e}");
    assert_eq!(
        server.count("POST /auth/token"),
        1,
        "one login, then waiting"
    );
    // Keep calling until the second login (polling, with a deadline): not before its 1 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.count("POST /auth/token") < 2 {
        assert!(Instant::now() < deadline, "never tried again");
        let _ = fc.projects(&q).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited its 1 s"
    );
    // Tried again after 1 s; the next one waits 2 s more.
    assert_eq!(server.count("POST /auth/token"), 2);
    let e = fc.projects(&q).await.unwrap_err();
    assert!(e.to_string().contains("next try in"), "{e}");
    assert_eq!(server.all().len(), 2, "no list request without a token");
}

#[tokio::test]
async fn refused_logins_stop_after_three_until_a_new_connection() {
    let server = serve(|s| {
        Box::pin(async move {
            match (s.method.as_str(), s.path.as_str()) {
                ("GET", "/me") => {
                    json_reply(StatusCode::UNAUTHORIZED, json!({"error": "no session"}))
                }
                ("POST", "/login") => json_reply(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": "bad credentials"}),
                ),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        })
    })
    .await;
    let candor = shipdeck::api::candor::Candor::for_test(
        &server.base,
        Some(("ops", "CANARY-pw")),
        None,
        fast_policy(),
    )
    .unwrap();
    // A caller that keeps asking: logins at 0 s, 1 s and 3 s, then none.
    let deadline = Instant::now() + Duration::from_secs(15);
    let stopped = loop {
        let e = candor.login().await.unwrap_err();
        if e.to_string().contains("stopped after 3 refused logins") {
            break e;
        }
        assert!(Instant::now() < deadline, "never stopped: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(matches!(stopped, ApiError::Auth(_)), "{stopped:?}");
    assert_eq!(server.count("POST /login"), 3);
    let asked = server.all().len();
    for _ in 0..50 {
        let _ = candor.login().await;
    }
    assert_eq!(
        server.all().len(),
        asked,
        "nothing more is asked of the server"
    );
    // A new connection (the dashboard's `r` or a profile switch) tries again.
    let again = shipdeck::api::candor::Candor::for_test(
        &server.base,
        Some(("ops", "CANARY-pw")),
        None,
        fast_policy(),
    )
    .unwrap();
    let _ = again.login().await;
    assert_eq!(server.count("POST /login"), 4);
}

#[tokio::test]
async fn a_sixty_second_token_is_reused_not_renewed_per_request() {
    let sim = start_sim("freecommit.token_ttl=60s").await;
    let proxy = start_proxy(&sim).await;
    let fc = common::client(&proxy.url("freecommit"), "admin", "admin");
    let q = ListQuery {
        page: 1,
        per_page: 20,
        filter: None,
        sort: None,
    };
    let requests = 30;
    for _ in 0..requests {
        fc.projects(&q).await.expect("projects");
    }
    let logins = proxy.count("/auth/token");
    assert!(
        logins >= 1 && logins <= requests / 10,
        "{logins} logins for {requests} requests"
    );
}

// ---------------------------------------------------------------- password_command (item 6)

/// Whether `pid` is gone (or only a zombie waiting for its reaper).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

async fn wait_for_pid(pidfile: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assert_gone(pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gone(pid) {
        if Instant::now() >= deadline {
            // Clean up before failing.
            // SAFETY: kill(2) on a pid this test started; no memory is involved.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            panic!("{what}: the password command's child {pid} is still running");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn lingering_command(pidfile: &Path) -> String {
    format!("sleep 1000 & echo $! > '{}'; wait", pidfile.display())
}

#[tokio::test]
async fn a_dropped_password_command_takes_its_children_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let cred = Credential::Command(lingering_command(&pidfile));
    let task = tokio::spawn(async move { cred.resolve().await.is_ok() });
    let pid = wait_for_pid(&pidfile).await;
    assert!(!gone(pid), "started");
    task.abort();
    let _ = task.await;
    assert_gone(pid, "dropped future").await;
}

#[tokio::test]
async fn a_password_command_ends_with_shipdeck_on_a_signal() {
    for (sig, code) in [
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
        (libc::SIGINT, 130),
    ] {
        let home = tempfile::tempdir().unwrap();
        let pidfile = home.path().join("pid");
        let cfg = write_config(
            home.path(),
            "http://127.0.0.1:9",
            &format!(
                "password_command = \"{}\"",
                lingering_command(&pidfile).replace('\'', "")
            ),
        );
        let child = command(home.path(), &cfg, &["get", "projects"])
            .spawn()
            .unwrap();
        let pid = wait_for_pid(&pidfile).await;
        let shipdeck = i32::try_from(child.id().unwrap()).unwrap();
        // SAFETY: kill(2) on the child this test spawned; no memory is involved.
        unsafe {
            libc::kill(shipdeck, sig);
        }
        let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .expect("shipdeck ends")
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "signal {sig}");
        assert_gone(pid, &format!("signal {sig}")).await;
    }
}

// ---------------------------------------------------------------- config check (item 6)

#[tokio::test]
async fn config_check_takes_thousands_of_profiles_and_names_unknown_themes() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("config.toml");
    let mut text = String::from("theme = \"dark\"\n");
    for i in 0..5_000 {
        text.push_str(&format!(
            "\n[profiles.p{i}]\nkind = \"freecommit\"\nurl = \"https://ci{i}.example.com\"\nusername = \"u\"\npassword_env = \"SHIPDECK_TEST_PW\"\n"
        ));
    }
    text.push_str("\n[profiles.odd]\nkind = \"freecommit\"\nurl = \"https://ci.example.com\"\nusername = \"u\"\npassword_env = \"SHIPDECK_TEST_PW\"\ntheme = \"solarized\"\n");
    let theme_line = text.lines().count();
    std::fs::write(&path, &text).unwrap();
    let (code, stdout, stderr) = run(home.path(), &path, &["config", "check"]).await;
    let want = format!(
        "{}:{theme_line}:9: unknown theme `solarized`; known themes: dark, high-contrast, light, mono, red-prod",
        path.display()
    );
    assert!(stdout.contains(&want), "{stdout}\n{stderr}");
    assert_eq!(code, Some(2), "{stdout}");
    // Without the odd theme the 5,001 profiles pass.
    std::fs::write(&path, text.replace("solarized", "mono")).unwrap();
    let (code, stdout, _) = run(home.path(), &path, &["config", "check"]).await;
    assert!(stdout.contains("ok, 5001 profile(s)"), "{stdout}");
    assert_eq!(code, Some(0));
}
