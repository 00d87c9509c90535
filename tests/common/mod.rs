//! Helpers shared by the integration tests: the in-process simulator, its control routes, a
//! Free Commit client with fast retries, and a counting proxy that records every request path
//! (the simulator itself does not count logins).
#![allow(dead_code)] // each test binary uses a different subset

pub mod mutate;
pub mod pty;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use shipdeck::api::freecommit::FreeCommit;
use shipdeck::api::http::{Http, RetryPolicy};
use shipdeck::config::Credential;
use shipdeck::sim::{self, SimHandle, SimOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Retries in milliseconds instead of seconds, so retry tests stay fast.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        tries: 3,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
    }
}

/// A simulator with a manual clock and the given fault spec (`""` = none).
pub async fn start_sim(faults: &str) -> SimHandle {
    sim::start(SimOptions {
        faults: faults.parse().expect("fault spec"),
        ..Default::default()
    })
    .await
    .expect("simulator starts")
}

fn http_client() -> reqwest::Client {
    shipdeck::api::http::install_crypto_provider();
    reqwest::Client::new()
}

/// `PUT /__sim/faults` (replaces every fault).
pub async fn set_faults(h: &SimHandle, faults: Value) {
    let r = http_client()
        .put(h.url("__sim/faults"))
        .json(&faults)
        .send()
        .await
        .expect("control route");
    assert!(r.status().is_success(), "PUT /__sim/faults: {}", r.status());
}

/// `DELETE /__sim/faults`.
pub async fn clear_faults(h: &SimHandle) {
    let r = http_client()
        .delete(h.url("__sim/faults"))
        .send()
        .await
        .expect("control route");
    assert!(r.status().is_success());
}

/// `POST /__sim/clock/advance {"seconds": n}`.
pub async fn advance(h: &SimHandle, seconds: f64) {
    let r = http_client()
        .post(h.url("__sim/clock/advance"))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .expect("control route");
    assert!(r.status().is_success(), "advance: {}", r.status());
}

/// A Free Commit client on `base` with fast retries.
pub fn client(base: &str, user: &str, password: &str) -> FreeCommit {
    let http = Http::with_base(base, Duration::from_secs(10), None, false)
        .expect("http client")
        .with_policy(fast_policy());
    FreeCommit::with_http(
        http,
        user,
        Credential::Inline(SecretString::from(password.to_string())),
    )
}

/// The value of every given secret id, read through the admin route (`GET /admin/secrets/{id}`).
pub async fn admin_secret_values(fc_base: &str, ids: &[String]) -> Vec<String> {
    let c = http_client();
    let tok: Value = c
        .post(format!("{fc_base}/auth/token"))
        .json(&json!({"auth": {"username": "admin", "password": "admin"}}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token json");
    let tok = tok["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let mut values = Vec::new();
    for id in ids {
        let s: Value = c
            .get(format!("{fc_base}/admin/secrets/{id}"))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("admin secret")
            .json()
            .await
            .expect("secret json");
        let v = s["value"]
            .as_str()
            .expect("admin sees the value")
            .to_string();
        assert!(!v.is_empty());
        values.push(v);
    }
    values
}

/// A reverse proxy in front of the simulator that records each request path.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`; append the simulator's route prefix (`/freecommit`).
    pub root: String,
    hits: Arc<Mutex<Vec<String>>>,
    /// The same requests as `METHOD path`.
    calls: Arc<Mutex<Vec<String>>>,
    /// Requests other than GET, whole: what a change sent.
    writes: Arc<Mutex<Vec<Write>>>,
}

/// One non-GET request the proxy forwarded.
#[derive(Clone, Debug)]
pub struct Write {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The body, when it was JSON.
    pub body: Option<Value>,
}

impl Proxy {
    pub fn url(&self, prefix: &str) -> String {
        format!("{}/{}", self.root, prefix.trim_start_matches('/'))
    }

    /// How many requests had a path ending with `suffix`.
    pub fn count(&self, suffix: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.ends_with(suffix))
            .count()
    }

    /// How many requests had `part` anywhere in their path.
    pub fn count_containing(&self, part: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.contains(part))
            .count()
    }

    /// How many requests were exactly `METHOD path`.
    pub fn calls(&self, method_and_path: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == method_and_path)
            .count()
    }

    pub fn paths(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }

    /// The non-GET requests, in order (method, path, query and JSON body).
    pub fn writes(&self) -> Vec<Write> {
        self.writes.lock().unwrap().clone()
    }
}

struct ProxyState {
    client: reqwest::Client,
    target: String,
    hits: Arc<Mutex<Vec<String>>>,
    calls: Arc<Mutex<Vec<String>>>,
    writes: Arc<Mutex<Vec<Write>>>,
}

pub async fn start_proxy(h: &SimHandle) -> Proxy {
    start_proxy_to(&h.url("")).await
}

/// A recording proxy whose root forwards to `target` (e.g. `sim.url("nullplatform")`: the
/// backend then sits at a bare host, without the simulator's route prefix).
pub async fn start_proxy_to(target: &str) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    let hits = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let writes = Arc::new(Mutex::new(Vec::new()));
    let st = Arc::new(ProxyState {
        client: http_client(),
        target: target.trim_end_matches('/').to_string(),
        hits: hits.clone(),
        calls: calls.clone(),
        writes: writes.clone(),
    });
    let app = axum::Router::new().fallback(forward).with_state(st);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Proxy {
        root: format!("http://{addr}"),
        hits,
        calls,
        writes,
    }
}

async fn forward(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    st.hits.lock().unwrap().push(parts.uri.path().to_string());
    st.calls
        .lock()
        .unwrap()
        .push(format!("{} {}", parts.method, parts.uri.path()));
    if parts.method != axum::http::Method::GET {
        st.writes.lock().unwrap().push(Write {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            body: serde_json::from_slice(&bytes).ok(),
        });
    }
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut rb = st
        .client
        .request(parts.method.clone(), format!("{}{pq}", st.target));
    for (n, v) in &parts.headers {
        if n != header::HOST && n != header::CONTENT_LENGTH {
            rb = rb.header(n, v);
        }
    }
    let resp = match rb.body(bytes).send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    };
    let status = resp.status();
    let keep: Vec<(header::HeaderName, HeaderValue)> = resp
        .headers()
        .iter()
        .filter(|(n, _)| {
            // Cookies pass both ways, so session-cookie backends (Candor) work behind it.
            [
                header::CONTENT_TYPE,
                header::RETRY_AFTER,
                header::SET_COOKIE,
            ]
            .contains(*n)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let body = resp.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (n, v) in keep {
        out.headers_mut().append(n, v);
    }
    out
}

/// A Free Commit build of project 1 that is running (launched, then the manual clock moved
/// past its start), as `user` sees it in the active list.
pub async fn running_build(h: &SimHandle, user: &str) -> shipdeck::domain::Build {
    use shipdeck::api::Backend;
    let fc = client(&h.url("freecommit"), user, user);
    fc.launch(&shipdeck::domain::LaunchRequest {
        project_id: "1".into(),
        skip_steps: Vec::new(),
        params: Vec::new(),
    })
    .await
    .expect("launch");
    advance(h, 5.0).await;
    let build = fc
        .builds(&shipdeck::domain::BuildScope::Active)
        .await
        .expect("active")
        .remove(0);
    assert_eq!(build.status, shipdeck::domain::BuildStatus::Running);
    build
}
