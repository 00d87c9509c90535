//! Integration tests of the Free Commit simulator (manual clock, no sleeps).

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use reqwest::StatusCode;
use serde_json::{Value, json};
use shipdeck::sim::{self, ClockMode, Faults, SimHandle, SimOptions};

struct T {
    sim: SimHandle,
    http: reqwest::Client,
    base: String,
}

impl T {
    async fn new() -> T {
        Self::with(SimOptions::default()).await
    }

    async fn with(opts: SimOptions) -> T {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = sim::start(opts).await.expect("simulator starts");
        let base = sim.url("freecommit");
        T {
            sim,
            http: reqwest::Client::new(),
            base,
        }
    }

    fn root(&self) -> String {
        self.sim.url("")
    }

    async fn login_raw(&self, user: &str, pass: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/token", self.base))
            .json(&json!({"auth": {"username": user, "password": pass}}))
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, user: &str) -> String {
        let r = self.login_raw(user, user).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, tok: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(tok)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let body = r.text().await.unwrap();
        (
            s,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    async fn advance(&self, seconds: f64) {
        let r = self
            .http
            .post(format!("{}/__sim/clock/advance", self.root()))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    async fn launch(&self, tok: &str, project: i64) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/developer/builds/{project}", self.base))
            .bearer_auth(tok)
            .json(&json!({"build": {"ignore_steps": []}}))
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

fn in_list(list: &Value, uuid: &str) -> bool {
    list.as_array()
        .unwrap()
        .iter()
        .any(|r| r["executor_id"] == uuid)
}

#[tokio::test]
async fn login_variants() {
    let t = T::new().await;
    let r = t.login_raw("alice", "alice").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v.as_object().unwrap().len(), 3);

    let r = t.login_raw("alice", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "UNAUTHORIZED"})
    );

    let r = t.login_raw("zed", "zed").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "The user with username zed was not found"})
    );

    // Not JSON → the Java text.
    let r = t
        .http
        .post(format!("{}/auth/token", t.base))
        .body("username=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().starts_with("Cannot invoke"));

    // /user/info: sub is the user-table id, not the developer id.
    let tok = t.login("alice").await;
    let (s, v) = t.get(&tok, "/user/info").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["username"], "alice");
    assert_ne!(v["id"], 2);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn auth_errors() {
    let t = T::new().await;
    let r = t
        .http
        .get(format!("{}/developer/projects", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["message"], "Access Denied");
    assert_eq!(v["path"], "/developer/projects");
    for k in ["timestamp", "status", "error", "message", "path"] {
        assert!(v.get(k).is_some(), "{k}");
    }

    let ops = t.login("opsonly").await;
    let (s, v) = t.get(&ops, "/developer/projects").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["message"], "Forbidden");

    let r = t
        .http
        .get(format!("{}/developer/projects", t.base))
        .header("Authorization", "Bearer")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let r = t
        .http
        .get(format!("{}/guest/ping", t.base))
        .bearer_auth("garbage.token.here")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .http
        .get(format!("{}/guest/ping", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let tok = t.login("alice").await;
    let (s, v) = t.get(&tok, "/developer/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("No static resource")
    );
    let (s, _) = t.get(&tok, "/developer/projects/").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t.get(&tok, "/developer/projects/abc").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = t
        .http
        .delete(format!("{}/developer/projects", t.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn token_ttl_expires_with_clock() {
    let t = T::with(SimOptions {
        faults: Faults::from_str("freecommit.token_ttl=30s").unwrap(),
        ..SimOptions::default()
    })
    .await;
    let r = t.login_raw("alice", "alice").await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 30);
    let tok = v["access_token"].as_str().unwrap().to_string();
    let (s, _) = t.get(&tok, "/developer/executors").await;
    assert_eq!(s, StatusCode::OK);
    t.advance(31.0).await;
    let r = t
        .http
        .get(format!("{}/developer/executors", t.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers().get("content-length").unwrap().to_str().unwrap(),
        "0"
    );
    assert!(r.bytes().await.unwrap().is_empty());
    t.sim.shutdown().await;
}

#[tokio::test]
async fn fixtures_and_proxy_mount() {
    let t = T::new().await;
    let tok = t.login("alice").await;
    let (_, p) = t.get(&tok, "/developer/projects").await;
    assert_eq!(p.as_array().unwrap().len(), 47);
    assert_eq!(p[0]["signature_key"], "*".repeat(15));
    let (_, d) = t.get(&tok, "/developer/developers").await;
    assert_eq!(d.as_array().unwrap().len(), 20);
    assert_eq!(d[0]["password"], "*".repeat(11));
    let (_, s) = t.get(&tok, "/developer/secrets").await;
    assert_eq!(s.as_array().unwrap().len(), 12);
    assert!(s[0].get("value").is_none());
    let (_, c) = t.get(&tok, "/developer/credentials").await;
    assert_eq!(c.as_array().unwrap().len(), 3);
    let (_, e) = t.get(&tok, "/developer/executors").await;
    assert_eq!(e.as_array().unwrap().len(), 2);

    // Same router behind the proxy-style prefix.
    let r = t
        .http
        .get(format!("{}/api-free-commit/developer/executors", t.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let admin = t.login("admin").await;
    let (s, v) = t.get(&admin, "/admin/secrets/1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["value"].is_string());
    let (s, v) = t.get(&admin, "/admin/projects/1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["signature_key"].as_str().unwrap().len(), 32);
    let (s, _) = t.get(&tok, "/admin/projects/1").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Retained history in a realistic range.
    let mut builds = 0;
    for p in p.as_array().unwrap() {
        builds += p["builds_id"].as_array().unwrap().len();
    }
    assert!((150..=230).contains(&builds), "{builds} builds");
    eprintln!("{builds} retained builds");
    let (s, v) = t
        .get(&tok, "/developer/statistics/sum/duration?per_page=50")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["data"].as_array().unwrap().len() >= 14);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn pagination_envelopes() {
    let t = T::new().await;
    let tok = t.login("alice").await;
    let pick = |v: &Value| {
        (
            v["current_page"].as_i64().unwrap(),
            v["from"].as_i64().unwrap(),
            v["to"].as_i64().unwrap(),
            v["total"].as_i64().unwrap(),
            v["last_page"].as_i64().unwrap(),
            v["data"].as_array().unwrap().len(),
        )
    };
    let (_, v) = t
        .get(&tok, "/developer/paginations/project?page=1&per_page=20")
        .await;
    assert_eq!(pick(&v), (1, 1, 20, 47, 3, 20));
    assert_eq!(v["data"][0]["project_id"], 47, "default sort id DESC");
    let (_, v) = t
        .get(&tok, "/developer/paginations/project?page=2&per_page=20")
        .await;
    assert_eq!(pick(&v), (2, 21, 40, 47, 3, 20));
    let (_, v) = t
        .get(&tok, "/developer/paginations/project?page=3&per_page=20")
        .await;
    assert_eq!(pick(&v), (3, 41, 47, 47, 3, 7));

    // Developer: 20 rows, per_page 20 → last_page 2, page 2 empty.
    let (_, v) = t
        .get(&tok, "/developer/paginations/developer?per_page=20")
        .await;
    assert_eq!(pick(&v), (1, 1, 20, 20, 2, 20));
    let (_, v) = t
        .get(&tok, "/developer/paginations/developer?page=2&perPage=20")
        .await;
    assert_eq!(pick(&v), (2, 21, 20, 20, 2, 0));

    // Filter, percent-encoded brackets too.
    let (_, v) = t
        .get(
            &tok,
            "/developer/paginations/project?project_name[contains]=api",
        )
        .await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["project_name"].as_str().unwrap())
        .collect();
    assert!(!names.is_empty());
    assert!(names.iter().all(|n| n.contains("api")), "{names:?}");
    let (_, v2) = t
        .get(
            &tok,
            "/developer/paginations/project?project_name%5Bcontains%5D=api",
        )
        .await;
    assert_eq!(v["data"], v2["data"]);

    // Sort ASC by name.
    let (_, v) = t
        .get(
            &tok,
            "/developer/paginations/project?sort_by=project_name&order_by=asc&per_page=50",
        )
        .await;
    let names: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["project_name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 47);

    // Secrets: 4 PUBLIC.
    let (_, v) = t
        .get(
            &tok,
            "/developer/paginations/secret?secret_scope[eq]=PUBLIC",
        )
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 4);

    // Unsupported / unknown operators → 500.
    let (s, _) = t
        .get(
            &tok,
            "/developer/paginations/project?project_name[jsoncontains]=x",
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn launch_run_live_log_archive() {
    let t = T::new().await;
    let tok = t.login("alice").await;

    // Launch needs ignore_steps, and JSON.
    let r = t
        .http
        .post(format!("{}/developer/builds/1", t.base))
        .bearer_auth(&tok)
        .json(&json!({"build": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bob = t.login("bob").await;
    let (s, v) = t.launch(&bob, 1).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["message"], "LAUNCH_BUILD_NOT_ALLOWED");

    let (_, before) = t.get(&tok, "/developer/builds/by/project/1").await;
    let before = before.as_array().unwrap().len();

    let (s, v) = t.launch(&tok, 1).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["project_name"], "billing-api");
    let uuid = v["executor_id"].as_str().unwrap().to_string();
    let (_, q) = t.get(&tok, "/developer/builds/queueds").await;
    assert!(in_list(&q, &uuid));

    // Queued: placeholder.
    let (s, v) = t.get(&tok, &format!("/developer/logs/{uuid}/-1/0")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["log"], "Waiting for first byte");

    // Next tick (≤ 5 s) starts it.
    t.advance(5.0).await;
    let (_, q) = t.get(&tok, "/developer/builds/queueds").await;
    assert!(!in_list(&q, &uuid));
    let (_, e) = t.get(&tok, "/developer/builds/executeds").await;
    assert!(in_list(&e, &uuid));

    // Before the first line: 500.
    let (s, _) = t.get(&tok, &format!("/developer/logs/{uuid}/-1/0")).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);

    // Follow the live log like the client does.
    let mut step = "-1".to_string();
    let mut n = 0usize;
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    let mut grew = 0;
    for _ in 0..400 {
        t.advance(0.5).await;
        let (s, v) = t
            .get(&tok, &format!("/developer/logs/{uuid}/{step}/{n}"))
            .await;
        if s == StatusCode::NOT_FOUND {
            assert_eq!(v["message"], "EXECUTOR_NOT_FOUND");
            break;
        }
        if s == StatusCode::INTERNAL_SERVER_ERROR {
            continue;
        }
        assert_eq!(s, StatusCode::OK);
        if v["line_number"] == 0 && v["start_at"].is_null() {
            continue;
        }
        let Some(log) = v["log"].as_str() else {
            continue;
        };
        let name = v["step"].as_str().unwrap().to_string();
        let text = log.strip_prefix('\n').unwrap_or(log);
        let lines: Vec<String> = if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').map(str::to_string).collect()
        };
        if name == step {
            if !lines.is_empty() {
                grew += 1;
            }
            steps.last_mut().unwrap().1.extend(lines);
        } else {
            steps.push((name.clone(), lines));
            step = name;
        }
        n = steps.last().unwrap().1.len();
    }
    assert!(grew > 3, "the live log grew in chunks");
    let (_, e) = t.get(&tok, "/developer/builds/executeds").await;
    assert!(!in_list(&e, &uuid));
    assert_eq!(steps[0].0, "init");
    assert!(steps.len() >= 3);

    // The Build row exists; the archived walk returns the same steps.
    let (_, after) = t.get(&tok, "/developer/builds/by/project/1").await;
    let after = after.as_array().unwrap();
    assert!(after.len() >= before.min(10));
    let build = after.last().unwrap();
    let id = build["id"].as_i64().unwrap();
    let mut walked = Vec::new();
    let mut cur = "-1".to_string();
    loop {
        let (s, v) = t.get(&tok, &format!("/developer/logs/{id}/{cur}")).await;
        if s == StatusCode::NOT_FOUND {
            assert_eq!(v["message"], "LOG_NOT_FOUND");
            break;
        }
        cur = v["step"].as_str().unwrap().to_string();
        walked.push((cur.clone(), v["log"].as_str().unwrap_or("").to_string()));
        assert!(walked.len() < 20);
    }
    let live: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    let archived: Vec<&str> = walked.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(live, archived);
    for ((_, live_lines), (_, arch)) in steps.iter().zip(&walked) {
        assert_eq!(live_lines.join("\n"), *arch);
    }
    let (s, v) = t.get(&tok, &format!("/developer/builds/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["project_id"], 1);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn kill_queued_and_running() {
    let t = T::new().await;
    let tok = t.login("alice").await;
    // Two slots: fill them, then a third stays queued.
    let (_, a) = t.launch(&tok, 1).await;
    let (_, b) = t.launch(&tok, 2).await;
    let (_, c) = t.launch(&tok, 4).await;
    let c = c["executor_id"].as_str().unwrap().to_string();
    t.advance(5.0).await;
    let (_, q) = t.get(&tok, "/developer/builds/queueds").await;
    assert!(in_list(&q, &c));
    let r = t
        .http
        .delete(format!("{}/developer/builds/kill/queued/{c}", t.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, q) = t.get(&tok, "/developer/builds/queueds").await;
    assert!(!in_list(&q, &c));
    let r = t
        .http
        .delete(format!("{}/developer/builds/kill/queued/{c}", t.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Running: too early → CONTAINER_NOT_FOUND; later → 204, exit 143.
    let a = a["executor_id"].as_str().unwrap().to_string();
    let _ = b;
    let kill = |u: String| {
        let http = t.http.clone();
        let url = format!("{}/developer/builds/kill/executed/{u}", t.base);
        let tok = tok.clone();
        async move { http.delete(url).bearer_auth(tok).send().await.unwrap() }
    };
    let r = kill(a.clone()).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "CONTAINER_NOT_FOUND"
    );
    t.advance(6.0).await;
    let r = kill(a.clone()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    t.advance(5.0).await;
    let (_, e) = t.get(&tok, "/developer/builds/executeds").await;
    assert!(!in_list(&e, &a));
    let (_, builds) = t.get(&tok, "/developer/builds/by/project/1").await;
    let last = builds.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["exit_code"], 143);
    assert_eq!(last["output"], "[WARNING] Container killed");
    let id = last["id"].as_i64().unwrap();
    let mut cur = "-1".to_string();
    let mut names = Vec::new();
    loop {
        let (s, v) = t.get(&tok, &format!("/developer/logs/{id}/{cur}")).await;
        if s != StatusCode::OK {
            break;
        }
        cur = v["step"].as_str().unwrap().to_string();
        names.push(cur.clone());
    }
    assert_eq!(names.last().map(String::as_str), Some("abort"));
    t.sim.shutdown().await;
}

#[tokio::test]
async fn control_routes_and_faults() {
    let t = T::new().await;
    let r = t
        .http
        .get(format!("{}/__sim/health", t.root()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = t
        .http
        .put(format!("{}/__sim/faults", t.root()))
        .json(&json!({"freecommit.error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = t
            .http
            .get(format!("{}/guest/ping", t.base))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, vec![500, 502, 503]);
    // Control routes are never faulted.
    let r = t
        .http
        .delete(format!("{}/__sim/faults", t.root()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = t
        .http
        .get(format!("{}/guest/ping", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Reset drops the queue.
    let tok = t.login("alice").await;
    t.launch(&tok, 3).await;
    let (_, q) = t.get(&tok, "/developer/builds/queueds").await;
    assert_eq!(q.as_array().unwrap().len(), 1);
    let r = t
        .http
        .post(format!("{}/__sim/reset", t.root()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, q) = t.get(&tok, "/developer/builds/queueds").await;
    assert_eq!(q.as_array().unwrap().len(), 0);

    // Reset faults: a reset fault closes the connection.
    let r = t
        .http
        .put(format!("{}/__sim/faults", t.root()))
        .json(&json!({"reset_rate": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = t.http.get(format!("{}/guest/ping", t.base)).send().await;
    assert!(r.is_err(), "{r:?}");
    t.sim.shutdown().await;
}

#[tokio::test]
async fn deterministic_fixtures() {
    let a = T::new().await;
    let b = T::new().await;
    let ta = a.login("admin").await;
    let tb = b.login("admin").await;
    let (_, pa) = a.get(&ta, "/developer/projects").await;
    let (_, pb) = b.get(&tb, "/developer/projects").await;
    assert_eq!(pa, pb);
    let (_, la) = a.get(&ta, "/developer/logs/5/-1").await;
    let (_, lb) = b.get(&tb, "/developer/logs/5/-1").await;
    assert_eq!(la, lb);
    let _ = ClockMode::Real;
    a.sim.shutdown().await;
    b.sim.shutdown().await;
}

#[tokio::test]
async fn webhook_and_huge_log() {
    use hmac::{Hmac, Mac};
    let t = T::new().await;
    let admin = t.login("admin").await;
    let (_, p) = t.get(&admin, "/admin/projects/1").await;
    let key = p["signature_key"].as_str().unwrap().to_string();
    let body = json!({"ref": "refs/heads/main", "sender": {"login": "alice-dev"}}).to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hook = |sig: String| {
        t.http
            .post(format!("{}/guest/webhooks/build/1", t.base))
            .header("X-GitHub-Event", "push")
            .header("X-Hub-Signature-256", format!("sha256={sig}"))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    };
    // Bad signature: 201, silently ignored.
    let r = hook("00".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, q) = t.get(&admin, "/developer/builds/queueds").await;
    assert_eq!(q.as_array().unwrap().len(), 0);
    let r = hook(sig).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, q) = t.get(&admin, "/developer/builds/queueds").await;
    assert_eq!(q[0]["project_name"], "billing-api");
    let r = t
        .http
        .post(format!("{}/guest/webhooks/build/1", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // huge-log: the @build step prints HUGE_LOG_LINES lines within seconds.
    let (s, v) = t.launch(&admin, sim::freecommit::HUGE_LOG_PROJECT_ID).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["project_name"], "huge-log");
    let uuid = v["executor_id"].as_str().unwrap().to_string();
    let mut seen = false;
    for _ in 0..200 {
        t.advance(0.2).await;
        let (s, v) = t
            .get(&admin, &format!("/developer/logs/{uuid}/build/0"))
            .await;
        if s == StatusCode::OK
            && v["step"] == "build"
            && v["line_number"] == sim::freecommit::HUGE_LOG_LINES
        {
            let log = v["log"].as_str().unwrap();
            assert_eq!(log.matches('\n').count(), sim::freecommit::HUGE_LOG_LINES);
            seen = true;
            break;
        }
    }
    assert!(seen, "huge-log build step reached its full size");
    t.sim.shutdown().await;
}

#[tokio::test]
async fn real_clock_starts() {
    let t = T::with(SimOptions {
        clock: ClockMode::Real,
        ..SimOptions::default()
    })
    .await;
    let r = t
        .http
        .get(format!("{}/__sim/health", t.root()))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["clock"], "real");
    let tok = t.login("alice").await;
    let (s, _) = t.get(&tok, "/developer/paginations/project").await;
    assert_eq!(s, StatusCode::OK);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_malformed_truncate() {
    let t = T::with(SimOptions {
        faults: Faults::from_str("freecommit.rate_limit=1,retry_after=7").unwrap(),
        ..SimOptions::default()
    })
    .await;
    let r = t
        .http
        .get(format!("{}/guest/ping", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.text().await.unwrap(), "Too Many Requests");

    t.http
        .put(format!("{}/__sim/faults", t.root()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let tok = t.login("alice").await;
    let (s, v) = t.launch(&tok, 1).await;
    assert_eq!(s, StatusCode::CREATED);
    let uuid = v["executor_id"].as_str().unwrap().to_string();
    t.advance(5.0 + 4.5 + 3.0).await; // started, init done, first spec step has lines

    t.http
        .put(format!("{}/__sim/faults", t.root()))
        .json(&json!({"truncate_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let (_, full) = t.get(&tok, &format!("/developer/logs/{uuid}/init/0")).await;
    let got = full["log"].as_str().unwrap().matches('\n').count();
    assert!((3..6).contains(&got), "{full}");
    assert_eq!(full["line_number"], 6);

    t.http
        .put(format!("{}/__sim/faults", t.root()))
        .json(&json!({"malformed_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let r = t
        .http
        .get(format!("{}/developer/projects", t.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err());
    t.sim.shutdown().await;
}

impl T {
    /// One admin write with a JSON body (`None` = no body).
    async fn write(
        &self,
        tok: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(tok);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status();
        let text = r.text().await.unwrap();
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn patch(&self, tok: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.write(tok, reqwest::Method::PATCH, path, Some(body))
            .await
    }

    async fn post(&self, tok: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.write(tok, reqwest::Method::POST, path, Some(body))
            .await
    }

    async fn delete(&self, tok: &str, path: &str) -> (StatusCode, Value) {
        self.write(tok, reqwest::Method::DELETE, path, None).await
    }
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// §11 F1: project create with exactly what the web frontend sends, one-field PATCHes that
/// answer the whole entity, and delete.
#[tokio::test]
async fn admin_project_create_patch_delete() {
    let t = T::new().await;
    let admin = t.login("admin").await;
    let alice = t.login("alice").await;
    // The frontend: no developers_id / secrets_id, keep_number_build "", the executor from a
    // <select> as a string, description "" when left blank.
    let body = json!({"project": {
        "name": "new-svc", "description": "", "repository": "git@github.com:acme/new-svc.git",
        "keep_number_build": "", "branch": "main",
        "spec_file_path": "/.free-commit/live/pipeline.yaml",
        "allow_concurrent_execution": false, "executor_id": "1"
    }});
    let (s, _) = t.post(&alice, "/admin/projects", body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "admin role needed");
    let (s, p) = t.post(&admin, "/admin/projects", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(id, 48);
    assert_eq!(p["name"], "new-svc");
    assert_eq!(p["keep_number_build"], Value::Null);
    assert_eq!(p["allow_concurrent_execution"], false);
    assert_eq!(p["executor_id"], 1);
    assert_eq!(p["repository_credential_id"], Value::Null);
    assert!(ids(&p["developers_id"]).is_empty() && ids(&p["secrets_id"]).is_empty());
    assert_eq!(
        p["signature_key"].as_str().unwrap().len(),
        32,
        "ADMIN encoding"
    );
    let (_, all) = t.get(&alice, "/developer/projects").await;
    assert_eq!(all.as_array().unwrap().len(), 48);
    let (s, got) = t.get(&admin, &format!("/admin/projects/{id}")).await;
    assert_eq!((s, &got), (StatusCode::OK, &p));

    // Each PATCH changes one field and answers the whole entity.
    let path = |f: &str| format!("/admin/projects/{id}/{f}");
    let (s, v) = t
        .patch(
            &admin,
            &path("name"),
            json!({"project": {"name": "renamed"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "renamed");
    assert_eq!(v["repository"], p["repository"]);
    assert_eq!(
        v.as_object().unwrap().len(),
        p.as_object().unwrap().len(),
        "whole entity"
    );
    let (_, v) = t
        .patch(
            &admin,
            &path("keep_number_build"),
            json!({"project": {"keep_number_build": "5"}}),
        )
        .await;
    assert_eq!(v["keep_number_build"], 5);
    let (_, v) = t
        .patch(
            &admin,
            &path("allow_concurrent_execution"),
            json!({"project_allow_concurrent_execution": "true"}),
        )
        .await;
    assert_eq!(
        v["allow_concurrent_execution"], true,
        "flat body reads the same"
    );
    let (_, v) = t
        .patch(
            &admin,
            &path("developers"),
            json!({"project": {"developers_id": [2, 5]}}),
        )
        .await;
    assert_eq!(ids(&v["developers_id"]), vec![2, 5]);
    let (_, d) = t.get(&admin, "/developer/developers/5").await;
    assert!(ids(&d["projects_id"]).contains(&id));
    let (_, v) = t
        .patch(
            &admin,
            &path("secrets"),
            json!({"project": {"secrets_id": [3]}}),
        )
        .await;
    assert_eq!(ids(&v["secrets_id"]), vec![3]);
    let (_, sec) = t.get(&admin, "/admin/secrets/3").await;
    assert_eq!(
        ids(&sec["projects_id"]),
        vec![id],
        "secret follows the project"
    );
    let (_, v) = t
        .patch(
            &admin,
            &path("repository_credential"),
            json!({"project": {"repository_credential_id": 2}}),
        )
        .await;
    assert_eq!(v["repository_credential_id"], 2);
    let (_, v) = t
        .patch(
            &admin,
            &path("repository_credential"),
            json!({"project": {"repository_credential_id": null}}),
        )
        .await;
    assert_eq!(v["repository_credential_id"], Value::Null, "null unsets");
    let (_, v) = t
        .patch(
            &admin,
            &path("executor"),
            json!({"project": {"executor_id": 2}}),
        )
        .await;
    assert_eq!(v["executor_id"], 2);
    let (s, v) = t.patch(&admin, &path("signature_key"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(v["signature_key"], p["signature_key"], "regenerated");

    // Refusals in the backend's words.
    let (s, v) = t
        .patch(&admin, &path("name"), json!({"project": {"name": " "}}))
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("PROJECT_NAME_REQUIRED")
        )
    );
    let (s, v) = t
        .patch(
            &admin,
            &path("executor"),
            json!({"project": {"executor_id": 99}}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("EXECUTOR_NOT_FOUND"))
    );
    let (s, _) = t.patch(&admin, &path("nope"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no such field route");
    let (s, v) = t
        .patch(
            &admin,
            "/admin/projects/999/name",
            json!({"project": {"name": "x"}}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("PROJECT_NOT_FOUND"))
    );
    let mut no_exec = body.clone();
    no_exec["project"]
        .as_object_mut()
        .unwrap()
        .remove("executor_id");
    let (s, v) = t.post(&admin, "/admin/projects", no_exec).await;
    assert_eq!(
        (s, v["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("EXECUTOR_NOT_FOUND"))
    );
    let mut no_name = body.clone();
    no_name["project"]["name"] = Value::Null;
    let (s, v) = t.post(&admin, "/admin/projects", no_name).await;
    assert_eq!(v["message"], "PROJECT_NAME_REQUIRED");
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Delete: 204, builds gone, secrets detached.
    let (s, v) = t.delete(&admin, &format!("/admin/projects/{id}")).await;
    assert_eq!(
        (s, v),
        (StatusCode::NO_CONTENT, Value::String(String::new()))
    );
    let (s, _) = t.get(&admin, &format!("/admin/projects/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, sec) = t.get(&admin, "/admin/secrets/3").await;
    assert!(ids(&sec["projects_id"]).is_empty());
    let (s, _) = t.delete(&admin, &format!("/admin/projects/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, hist) = t.get(&admin, "/developer/builds/by/project/1").await;
    assert!(!hist.as_array().unwrap().is_empty());
    let (s, _) = t.delete(&admin, "/admin/projects/1").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = t.get(&admin, "/developer/builds/by/project/1").await;
    assert_eq!(
        (s, v["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("PROJECT_NOT_FOUND"))
    );
    t.sim.shutdown().await;
}

/// §11 F1: secrets and credentials (create 201, PATCH 200, DELETE 204), developers (create,
/// PATCH) and executors (PATCH `name`, `variables`).
#[tokio::test]
async fn admin_secret_credential_developer_executor_writes() {
    let t = T::new().await;
    let admin = t.login("admin").await;

    // Secrets.
    let (s, v) = t
        .post(
            &admin,
            "/admin/secrets",
            json!({"secret": {"name": "NEW_TOKEN", "env": "prod"}}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("SECRET_VALUE_REQUIRED")
        )
    );
    let (s, sec) = t
        .post(
            &admin,
            "/admin/secrets",
            json!({"secret": {"name": "NEW_TOKEN", "value": "s3cr3t", "env": "prod", "projects_id": [2]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sec}");
    let sid = sec["id"].as_i64().unwrap();
    assert_eq!(sid, 13);
    assert_eq!(sec["value"], "s3cr3t", "ADMIN encoding");
    let (_, p2) = t.get(&admin, "/developer/projects/2").await;
    assert!(
        ids(&p2["secrets_id"]).contains(&sid),
        "project follows the secret"
    );
    let (s, v) = t
        .patch(
            &admin,
            &format!("/admin/secrets/{sid}/value"),
            json!({"secret": {"value": "rotated"}}),
        )
        .await;
    assert_eq!((s, v["value"].as_str()), (StatusCode::OK, Some("rotated")));
    assert_eq!(v["name"], "NEW_TOKEN");
    let (s, v) = t.delete(&admin, &format!("/admin/secrets/{sid}")).await;
    assert_eq!(
        (s, v["message"].as_str()),
        (StatusCode::CONFLICT, Some("SECRET_PROJECTS_NOT_EMPTY"))
    );
    let (_, v) = t
        .patch(
            &admin,
            &format!("/admin/secrets/{sid}/projects"),
            json!({"secret": {"projects_id": null}}),
        )
        .await;
    assert!(ids(&v["projects_id"]).is_empty(), "null makes it global");
    let (_, p2) = t.get(&admin, "/developer/projects/2").await;
    assert!(!ids(&p2["secrets_id"]).contains(&sid));
    let (s, _) = t.delete(&admin, &format!("/admin/secrets/{sid}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t.get(&admin, &format!("/admin/secrets/{sid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Credentials.
    let (s, v) = t
        .post(
            &admin,
            "/admin/credentials",
            json!({"credential": {"ssh_key": "k"}}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("CREDENTIAL_NAME_REQUIRED")
        )
    );
    let (s, c) = t
        .post(
            &admin,
            "/admin/credentials",
            json!({"credential": {"name": "", "ssh_key": "KEY"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "an empty name passes: {c}");
    let cid = c["id"].as_i64().unwrap();
    assert_eq!(c["ssh_key"], "KEY");
    let (s, v) = t
        .patch(
            &admin,
            &format!("/admin/credentials/{cid}/name"),
            json!({"credential": {"name": "deploy"}}),
        )
        .await;
    assert_eq!(
        (s, v["name"].as_str(), v["ssh_key"].as_str()),
        (StatusCode::OK, Some("deploy"), Some("KEY"))
    );
    let (_, v) = t
        .patch(
            &admin,
            &format!("/admin/credentials/{cid}/ssh_key"),
            json!({"credential": {"ssh_key": "KEY2"}}),
        )
        .await;
    assert_eq!(v["ssh_key"], "KEY2");
    let (s, _) = t.delete(&admin, &format!("/admin/credentials/{cid}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .get(&admin, &format!("/developer/credentials/{cid}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Developers: create, then the new account logs in; PATCHes answer the developer.
    let (s, d) = t
        .post(
            &admin,
            "/admin/developers",
            json!({"developer": {"username": "zoe", "password": "zoe", "roles": ["ROLE_DEVELOPER"], "email": "zoe@acme.example"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let did = d["id"].as_i64().unwrap();
    assert_eq!(did, 21);
    assert_eq!(d["password"], "*".repeat(11));
    let zoe = t.login("zoe").await;
    let (s, _) = t.get(&zoe, "/developer/projects/1").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .post(
            &admin,
            "/admin/developers",
            json!({"developer": {"username": "zoe", "password": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "duplicate username");
    let (_, v) = t
        .patch(
            &admin,
            &format!("/admin/developers/{did}/email"),
            json!({"developer": {"email": "z@acme.example"}}),
        )
        .await;
    assert_eq!(v["email"], "z@acme.example");
    let (_, v) = t
        .patch(
            &admin,
            &format!("/admin/developers/{did}/enabled"),
            json!({"developer": {"enabled": false}}),
        )
        .await;
    assert_eq!(v["enabled"], false);
    let (_, v) = t
        .patch(
            &admin,
            &format!("/admin/developers/{did}/projects"),
            json!({"developer": {"projects_id": [4, 7]}}),
        )
        .await;
    assert_eq!(ids(&v["projects_id"]), vec![4, 7]);
    let (_, p4) = t.get(&admin, "/developer/projects/4").await;
    assert!(ids(&p4["developers_id"]).contains(&did));
    let (s, v) = t.launch(&zoe, 4).await;
    assert_eq!(s, StatusCode::CREATED, "a member may launch: {v}");
    let (_, v) = t
        .patch(
            &admin,
            &format!("/admin/developers/{did}/role"),
            json!({"developer": {"roles": ["ROLE_ADMIN"]}}),
        )
        .await;
    assert_eq!(v["roles"], json!(["ROLE_ADMIN"]));
    let (s, _) = t
        .patch(
            &admin,
            &format!("/admin/developers/{did}/password"),
            json!({"developer": {"password": "new"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = t.login_raw("zoe", "zoe").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "old password refused");
    let r = t.login_raw("zoe", "new").await;
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = t.delete(&admin, &format!("/admin/developers/{did}")).await;
    assert_eq!(
        s,
        StatusCode::METHOD_NOT_ALLOWED,
        "developers cannot be deleted"
    );

    // Executors: name and variables.
    let (s, v) = t
        .patch(
            &admin,
            "/admin/executors/2/name",
            json!({"executor": {"name": "openstack-us"}}),
        )
        .await;
    assert_eq!(
        (s, v["name"].as_str()),
        (StatusCode::OK, Some("openstack-us"))
    );
    assert_eq!(v["driver"], "openStackDriver");
    let (s, v) = t
        .patch(
            &admin,
            "/admin/executors/2/variables",
            json!({"executor": {"variables": {"FLAVOR_NAME": "m1.small"}}}),
        )
        .await;
    assert_eq!(
        (s, &v["variables"]),
        (StatusCode::OK, &json!({"FLAVOR_NAME": "m1.small"})),
        "replaces the map"
    );
    let (s, v) = t
        .patch(
            &admin,
            "/admin/executors/1/name",
            json!({"executor": {"name": null}}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("EXECUTOR_NAME_REQUIRED")
        )
    );
    let (s, _) = t.delete(&admin, "/admin/executors/1").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    // The older executor create still answers 200.
    let (s, v) = t
        .post(
            &admin,
            "/admin/executors",
            json!({"executor": {"name": "x", "driver": "localDriver"}}),
        )
        .await;
    assert_eq!((s, v["id"].as_i64()), (StatusCode::OK, Some(3)));
    t.sim.shutdown().await;
}

/// §11 F2: preflights are answered before the token check; answers to requests with an
/// `Origin` carry the allow-origin header, on both mounts.
#[tokio::test]
async fn cors_preflight_and_allow_origin() {
    let t = T::new().await;
    for base in [t.base.clone(), format!("{}/api-free-commit", t.base)] {
        let r = t
            .http
            .request(reqwest::Method::OPTIONS, format!("{base}/auth/token"))
            .header("Origin", "http://localhost:3000")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,authorization",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let h = |k: &str| r.headers().get(k).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(h("access-control-allow-origin").as_deref(), Some("*"));
        let methods = h("access-control-allow-methods").unwrap();
        for m in ["HEAD", "GET", "POST", "PUT", "DELETE", "PATCH"] {
            assert!(
                methods.split(',').any(|x| x.trim() == m),
                "{m} in {methods}"
            );
        }
        let headers = h("access-control-allow-headers")
            .unwrap()
            .to_ascii_lowercase();
        for k in ["authorization", "cache-control", "content-type"] {
            assert!(headers.contains(k), "{k} in {headers}");
        }
        // A protected route too: the preflight never sees the token check.
        let r = t
            .http
            .request(
                reqwest::Method::OPTIONS,
                format!("{base}/developer/projects"),
            )
            .header("Origin", "http://localhost:3000")
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        // Real requests from another origin: the header is on successes and errors alike.
        let r = t
            .http
            .post(format!("{base}/auth/token"))
            .header("Origin", "http://localhost:3000")
            .json(&json!({"auth": {"username": "alice", "password": "alice"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let r = t
            .http
            .get(format!("{base}/developer/projects"))
            .header("Origin", "http://localhost:3000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
    }
    // Without `Origin`, no CORS header.
    let r = t
        .http
        .get(format!("{}/guest/ping", t.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A method outside the list is refused.
    let r = t
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/auth/token", t.base))
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "TRACE")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    t.sim.shutdown().await;
}

/// §11 F3: `shipdeck simulate` prints every Free Commit mount it serves, and each one serves.
#[tokio::test]
async fn simulate_prints_both_free_commit_mounts() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(["simulate", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("shipdeck simulate starts");
    let stdout = child.stdout.take().unwrap();
    // Read the banner on a thread (the child keeps running until killed).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let done = line.trim().is_empty();
            let _ = tx.send(line);
            if done {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut banner = Vec::new();
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        if line.trim().is_empty() {
            break;
        }
        banner.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    let fc: Vec<&String> = banner
        .iter()
        .filter(|l| l.contains("Free Commit"))
        .collect();
    assert_eq!(fc.len(), 2, "{banner:#?}");
    let urls: Vec<&str> = fc
        .iter()
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    assert!(urls[0].ends_with("/freecommit"), "{urls:?}");
    assert!(urls[1].ends_with("/freecommit/api-free-commit"), "{urls:?}");

    // Every mount the simulator declares serves the application.
    let t = T::new().await;
    for mount in sim::freecommit::MOUNTS {
        let r = t
            .http
            .get(t.sim.url(mount) + "/guest/ping")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{mount}");
    }
    t.sim.shutdown().await;
}

/// §11 F4 (keep): the pagination parameters the web frontend sends (`mode=exclude`,
/// `orderBy`/`sortBy`, `per_page=100000`), the final 404 of an archived-log walk, 403 for a
/// missing role and the empty 401.
#[tokio::test]
async fn what_the_frontend_relies_on_is_kept() {
    let t = T::new().await;
    let tok = t.login("alice").await;
    let (s, v) = t
        .get(
            &tok,
            "/developer/paginations/project?page=1&per_page=100000&orderBy=DESC&sortBy=project_id&mode=exclude",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 47);
    let ids: Vec<i64> = data
        .iter()
        .map(|r| r["project_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "DESC by project_id");
    assert_eq!(
        (
            v["current_page"].as_i64(),
            v["last_page"].as_i64(),
            v["total"].as_i64()
        ),
        (Some(1), Some(1), Some(47))
    );
    let (_, v) = t
        .get(
            &tok,
            "/developer/paginations/developer?page=1&per_page=100000&orderBy=ASC&sortBy=user_username&mode=exclude",
        )
        .await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 20);
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");

    // The archived walk ends in 404 LOG_NOT_FOUND.
    let mut step = "-1".to_string();
    let mut last = None;
    for _ in 0..20 {
        let (s, v) = t.get(&tok, &format!("/developer/logs/5/{step}")).await;
        if s == StatusCode::NOT_FOUND {
            last = Some(v);
            break;
        }
        assert_eq!(s, StatusCode::OK);
        step = v["step"].as_str().unwrap().to_string();
    }
    assert_eq!(last.unwrap()["message"], "LOG_NOT_FOUND");

    let ops = t.login("opsonly").await;
    let (s, v) = t.get(&ops, "/developer/paginations/project").await;
    assert_eq!(
        (s, v["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("Forbidden"))
    );
    let r = t
        .http
        .get(format!("{}/developer/projects", t.base))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.bytes().await.unwrap().is_empty());
    t.sim.shutdown().await;
}

#[tokio::test]
async fn stats_count_backend_requests_not_control_routes() {
    let t = T::new().await;
    let stats = |t: &T| {
        let url = format!("{}/__sim/stats", t.root());
        let http = t.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let before = stats(&t).await;
    assert_eq!(before["requests"], 0);
    for _ in 0..3 {
        t.http
            .get(format!("{}/guest/ping", t.base))
            .send()
            .await
            .unwrap();
    }
    // A faulted request is counted too; control routes never are.
    t.http
        .put(format!("{}/__sim/faults", t.root()))
        .json(&json!({"error_rate": 1}))
        .send()
        .await
        .unwrap();
    let r = t
        .http
        .get(format!("{}/guest/ping", t.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_server_error());
    let after = stats(&t).await;
    assert_eq!(after["requests"], 4, "{after}");
    assert_eq!(after["by_backend"]["freecommit"], 4, "{after}");
    assert_eq!(after["by_backend"]["candor"], 0, "{after}");
    t.sim.shutdown().await;
}
