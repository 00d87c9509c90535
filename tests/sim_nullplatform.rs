//! The nullplatform simulator over raw HTTP (`shared/api/nullplatform.md` §4, §9): login and
//! tokens, application filters, parameters, build transitions, assets and their targets,
//! the optional build reads, error bodies, 405s, faults and the demo's external CI.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, set_faults, start_sim};
use serde_json::{Value, json};
use shipdeck::sim::{self, SimHandle, SimOptions};

fn http() -> reqwest::Client {
    shipdeck::api::http::install_crypto_provider();
    reqwest::Client::new()
}

struct Np {
    base: String,
    c: reqwest::Client,
    token: String,
}

impl Np {
    async fn new(h: &SimHandle) -> Np {
        let base = h.url("nullplatform");
        let c = http();
        let r: Value = c
            .post(format!("{base}/login"))
            .json(&json!({"api_key": "np-ci-key"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = r["access_token"].as_str().unwrap().to_string();
        Np { base, c, token }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .c
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .c
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, body).await
    }
}

fn err(id: u16, message: &str) -> Value {
    json!({"id": id, "message": message})
}

const SHA: &str = "9f2c1e4b7a5d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";

#[tokio::test]
async fn login_accepts_both_keys_and_the_deprecated_body() {
    let sim = start_sim("").await;
    let base = sim.url("nullplatform");
    let c = http();
    let login = |body: Value| {
        let c = c.clone();
        let url = format!("{base}/login");
        async move {
            let r = c.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = login(json!({"api_key": "np-demo-key"})).await;
    assert_eq!(s, 200);
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "only access_token: {v}");
    assert_eq!(v["access_token"].as_str().unwrap().len(), 48);
    assert_eq!(login(json!({"token": "np-ci-key"})).await.0, 200);
    assert_eq!(
        login(json!({"api_key": "nope"})).await,
        (401, err(401, "Invalid api key"))
    );
    assert_eq!(
        login(json!({"access_key": "a", "secret_access_key": "b"}))
            .await
            .0,
        400
    );
    // Deterministic from the seed: a second simulator issues the same first token.
    let sim2 = start_sim("").await;
    let r: Value = c
        .post(format!("{}/login", sim2.url("nullplatform")))
        .json(&json!({"api_key": "np-demo-key"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["access_token"], v["access_token"]);
}

#[tokio::test]
async fn tokens_are_checked_and_expire_after_an_hour() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let c = http();
    let r = c
        .get(format!("{}/application", np.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        err(401, "Missing authorization header")
    );
    let r = c
        .get(format!("{}/application", np.base))
        .bearer_auth("npat_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), err(401, "Invalid token"));
    // Lower-case header name and scheme work too.
    let r = c
        .get(format!("{}/application", np.base))
        .header("authorization", format!("bearer {}", np.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    advance(&sim, 3599.0).await;
    assert_eq!(np.get("/application").await.0, 200);
    advance(&sim, 1.0).await;
    assert_eq!(
        np.get("/application").await,
        (401, err(401, "Token expired"))
    );
    // A fresh login works.
    let np2 = Np::new(&sim).await;
    assert_eq!(np2.get("/application").await.0, 200);
}

#[tokio::test]
async fn token_faults_expire_tokens_mid_run() {
    let sim = start_sim("nullplatform.token_ttl=30s").await;
    let np = Np::new(&sim).await;
    advance(&sim, 30.0).await;
    assert_eq!(np.get("/application").await.1, err(401, "Token expired"));

    let sim = start_sim("expire_tokens_at=10s").await;
    let np = Np::new(&sim).await;
    assert_eq!(np.get("/application").await.0, 200);
    advance(&sim, 10.0).await;
    assert_eq!(np.get("/application").await.1, err(401, "Token expired"));
    let np2 = Np::new(&sim).await;
    assert_eq!(np2.get("/application").await.0, 200);
}

#[tokio::test]
async fn applications_have_the_decided_shape_and_filters() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let (s, all) = np.get("/application").await;
    assert_eq!(s, 200);
    assert_eq!(all.as_array().unwrap().len(), 24);
    let count = |v: &Value| v.as_array().unwrap().len();
    assert_eq!(count(&np.get("/application?status=active").await.1), 20);
    assert_eq!(
        count(&np.get("/application?status=inactive,failed").await.1),
        3
    );
    assert_eq!(count(&np.get("/application?status=creating").await.1), 1);
    let (_, one) = np.get("/application?name=payments&status=active").await;
    assert_eq!(count(&one), 1);
    let a = &one[0];
    for key in [
        "id",
        "name",
        "slug",
        "status",
        "namespace_id",
        "repository_url",
        "repository_app_path",
        "code_repository",
        "code_repository_app_path",
        "is_mono_repo",
        "nrn",
        "tags",
        "settings",
        "messages",
    ] {
        assert!(a.get(key).is_some(), "missing {key}: {a}");
    }
    assert!(a["id"].is_i64());
    assert_eq!(a["code_repository"]["url"], a["repository_url"]);
    assert_eq!(
        a["nrn"],
        format!(
            "organization=1:account=2:namespace={}:application={}",
            a["namespace_id"], a["id"]
        )
    );
    assert_eq!(count(&np.get("/application?name=pay").await.1), 0, "exact");
    let mono = "repository_url=https%3A%2F%2Fgithub.com%2Facme%2Fplatform";
    assert_eq!(count(&np.get(&format!("/application?{mono}")).await.1), 3);
    let (_, inv) = np
        .get(&format!(
            "/application?{mono}&repository_app_path=services%2Finventory"
        ))
        .await;
    assert_eq!(count(&inv), 1);
    assert_eq!(inv[0]["name"], "inventory");
    assert_eq!(inv[0]["is_mono_repo"], true);
    // Without repository_url the app path is not a filter.
    assert_eq!(
        count(
            &np.get("/application?repository_app_path=services%2Finventory")
                .await
                .1
        ),
        24
    );
}

#[tokio::test]
async fn parameters_are_flat_with_secret_flags() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let (s, p) = np.get("/application/1/parameter").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = p
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    for n in shipdeck::sim::nullplatform::BUILD_PARAMS {
        assert!(names.contains(&n.0), "{n:?} in {names:?}");
    }
    for x in p.as_array().unwrap() {
        assert!(x["secret"].is_boolean());
        assert_eq!(x.as_object().unwrap().len(), 3, "{x}");
    }
    let mut nulls = 0;
    for id in 1..=24 {
        let (_, p) = np.get(&format!("/application/{id}/parameter")).await;
        let p = p.as_array().unwrap();
        assert!((6..=12).contains(&p.len()));
        nulls += p.iter().filter(|x| x["value"].is_null()).count();
    }
    assert_eq!(nulls, 2);
    assert_eq!(
        np.get("/application/999/parameter").await,
        (404, err(404, "Application not found"))
    );
    assert_eq!(np.get("/application/abc/parameter").await.0, 404);
}

#[tokio::test]
async fn build_create_validates_and_defaults_to_pending() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let body = |app: Value, sha: &str, branch: &str| {
        json!({"application_id": app, "commit": {"id": sha, "permalink": "https://x/commit/1"},
               "description": "msg", "branch": branch})
    };
    let (s, b) = np.post("/build", body(json!("1"), SHA, "main")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["application_id"], 1);
    assert!(b["id"].is_i64());
    assert_eq!(b["commit"]["id"], SHA);
    assert_eq!(b["created_at"], "2026-01-01T10:00:00.000Z");
    let (s, b2) = np.post("/build", body(json!(2), "abcdef1", "dev")).await;
    assert_eq!((s, &b2["application_id"]), (200, &json!(2)));
    let mut with_status = body(json!(1), SHA, "main");
    with_status["status"] = json!("in_progress");
    assert_eq!(
        np.post("/build", with_status.clone()).await.1["status"],
        "in_progress"
    );
    with_status["status"] = json!("failed");
    assert_eq!(
        np.post("/build", with_status).await,
        (400, err(400, "Invalid build status: failed"))
    );
    assert_eq!(
        np.post("/build", body(json!(1), "xyz", "main")).await,
        (400, err(400, "Field commit.id is required"))
    );
    assert_eq!(
        np.post("/build", body(json!(1), "abc12", "main")).await.0,
        400,
        "6 hex chars is too short"
    );
    assert_eq!(
        np.post("/build", body(json!(1), SHA, "")).await,
        (400, err(400, "Field branch is required"))
    );
    assert_eq!(
        np.post("/build", json!({"commit": {"id": SHA}, "branch": "m"}))
            .await,
        (400, err(400, "Field application_id is required"))
    );
    assert_eq!(
        np.post("/build", body(json!(999), SHA, "main")).await,
        (404, err(404, "Application not found"))
    );
}

#[tokio::test]
async fn build_transitions_and_assets_follow_the_rules() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let (_, b) = np
        .post(
            "/build",
            json!({"application_id": 1, "commit": {"id": SHA}, "branch": "main"}),
        )
        .await;
    let id = b["id"].as_i64().unwrap();
    let path = format!("/build/{id}");
    assert_eq!(
        np.patch(&path, json!({"status": "bogus"})).await,
        (400, err(400, "Invalid build status: bogus"))
    );
    // Body `id` is ignored: the path wins.
    let (s, v) = np
        .patch(&path, json!({"id": 1, "status": "in_progress"}))
        .await;
    assert_eq!(
        (s, v["status"].as_str(), v["id"].as_i64()),
        (200, Some("in_progress"), Some(id))
    );
    assert_eq!(
        np.patch(&path, json!({"status": "in_progress"})).await.0,
        200,
        "no-op"
    );
    assert_eq!(
        np.patch(&path, json!({"status": "pending"})).await,
        (
            400,
            err(400, "Invalid status transition from in_progress to pending")
        )
    );
    let apath = format!("/build/{id}/asset");
    assert_eq!(
        np.post(&apath, json!({"name": "main", "metadata": {}}))
            .await,
        (400, err(400, "Field type is required"))
    );
    let (s, a) = np
        .post(
            &apath,
            json!({"build_id": 999999, "type": "docker-image", "name": "main", "metadata": {}}),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["build_id"], id, "path id wins");
    assert_eq!(
        a["targets"],
        json!([{"provider": "aws-ecr",
                "url": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/payments:{SHA}")}])
    );
    let (_, l) = np
        .post(
            &apath,
            json!({"type": "lambda", "name": "fn", "metadata": {}}),
        )
        .await;
    assert_eq!(
        l["targets"],
        json!([{"provider": "aws-s3",
                "url": format!("https://np-assets-sim.s3.amazonaws.com/payments/{SHA}.zip?X-Amz-Expires=900")}])
    );
    let (_, g) = np
        .post(
            &apath,
            json!({"type": "docker-image", "url": "reg.example/x:1"}),
        )
        .await;
    assert_eq!(
        g["targets"],
        json!([{"provider": "generic", "url": "reg.example/x:1"}])
    );
    assert_eq!(g["name"], "main");
    let (s, v) = np.patch(&path, json!({"status": "successful"})).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("successful")));
    assert_eq!(
        np.patch(&path, json!({"status": "successful"})).await.0,
        200
    );
    assert_eq!(
        np.patch(&path, json!({"status": "failed"})).await,
        (
            400,
            err(400, "Invalid status transition from successful to failed")
        )
    );
    // §11 C5: a successful build still takes an asset (the action may add it afterwards).
    assert_eq!(
        np.post(&apath, json!({"type": "docker-image", "name": "x"}))
            .await
            .0,
        200,
        "a successful build takes an asset"
    );
    assert_eq!(
        np.patch("/build/1", json!({"status": "failed"})).await,
        (404, err(404, "Build not found"))
    );
    assert_eq!(
        np.post("/build/1/asset", json!({"type": "lambda", "name": "x"}))
            .await
            .1,
        err(404, "Build not found")
    );
    // pending → failed directly is allowed.
    let (_, b) = np
        .post(
            "/build",
            json!({"application_id": 2, "commit": {"id": SHA}, "branch": "main"}),
        )
        .await;
    let (s, v) = np
        .patch(&format!("/build/{}", b["id"]), json!({"status": "failed"}))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("failed")));
    // §11 C7: a failed build takes no asset, in these words.
    assert_eq!(
        np.post(
            &format!("/build/{}/asset", b["id"]),
            json!({"type": "docker-image", "name": "x"})
        )
        .await,
        (400, err(400, "Build is already failed"))
    );
}

/// §11 C5: the current GitHub action PATCHes `successful` first and creates the asset after;
/// the simulator accepts both steps.
#[tokio::test]
async fn successful_before_the_asset_is_accepted() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let (_, b) = np
        .post(
            "/build",
            json!({"application_id": "3", "commit": {"id": SHA}, "branch": "main", "status": "in_progress"}),
        )
        .await;
    let id = b["id"].as_i64().unwrap();
    let (s, v) = np
        .patch(
            &format!("/build/{id}"),
            json!({"id": id, "status": "successful"}),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("successful")), "{v}");
    let (s, a) = np
        .post(
            &format!("/build/{id}/asset"),
            json!({"build_id": id, "type": "docker-image", "name": "main", "metadata": {}}),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["build_id"], id);
    assert_eq!(a["targets"][0]["provider"], "aws-ecr");
    let (_, assets) = np.get(&format!("/asset?build_id={id}")).await;
    assert_eq!(assets.as_array().unwrap().len(), 1);
}

/// §11 C6: the asset bodies of the Azure task (`buildId`, `type`, `metadata`; no `url`, and
/// no `name` when the input is left at its default) and of the GitLab template (no build id).
#[tokio::test]
async fn azure_and_gitlab_asset_bodies_are_accepted() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let (_, b) = np
        .post(
            "/build",
            json!({"application_id": 1, "commit": {"id": SHA}, "branch": "main"}),
        )
        .await;
    let id = b["id"].as_i64().unwrap();
    let apath = format!("/build/{id}/asset");
    // Azure, name left at its default.
    let (s, a) = np
        .post(
            &apath,
            json!({"buildId": id, "type": "docker-image", "metadata": {}}),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        (a["build_id"].as_i64(), a["name"].as_str()),
        (Some(id), Some("main"))
    );
    assert_eq!(a["targets"][0]["provider"], "aws-ecr");
    // Azure with a name, and a body build id that is not the path's: the path wins.
    let (s, a) = np
        .post(
            &apath,
            json!({"buildId": 999, "type": "lambda", "name": "fn", "metadata": {}}),
        )
        .await;
    assert_eq!(
        (s, a["build_id"].as_i64(), a["name"].as_str()),
        (200, Some(id), Some("fn"))
    );
    assert_eq!(a["targets"][0]["provider"], "aws-s3");
    // GitLab: no build id in the body.
    let (s, a) = np
        .post(
            &apath,
            json!({"type": "docker-image", "name": "api", "metadata": {}}),
        )
        .await;
    assert_eq!(
        (s, a["build_id"].as_i64(), a["name"].as_str()),
        (200, Some(id), Some("api"))
    );
    let (_, assets) = np.get(&format!("/asset?build_id={id}")).await;
    assert_eq!(assets.as_array().unwrap().len(), 3);
}

/// §11 C7: the error texts real clients meet, in `{"id", "message"}` bodies.
#[tokio::test]
async fn error_texts_of_the_real_clients() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    // A present but invalid commit id.
    for commit in [json!({"id": "not-a-sha"}), json!({"id": "abc"}), json!({})] {
        assert_eq!(
            np.post(
                "/build",
                json!({"application_id": 1, "commit": commit, "branch": "main"})
            )
            .await,
            (400, err(400, "Field commit.id is required")),
            "{commit}"
        );
    }
    assert_eq!(np.get("/deployment").await, (404, err(404, "Not found")));
    let (_, b) = np
        .post(
            "/build",
            json!({"application_id": 1, "commit": {"id": SHA}, "branch": "main"}),
        )
        .await;
    let id = b["id"].as_i64().unwrap();
    np.patch(&format!("/build/{id}"), json!({"status": "failed"}))
        .await;
    assert_eq!(
        np.post(
            &format!("/build/{id}/asset"),
            json!({"type": "lambda", "name": "x"})
        )
        .await,
        (400, err(400, "Build is already failed"))
    );
}

#[tokio::test]
async fn build_reads_page_newest_first() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    // §11 C1 (supersedes §9 #6's envelope): bare arrays; `limit`/`offset` window them, no
    // `limit` means every row.
    let (s, all) = np.get("/build?limit=1000").await;
    assert_eq!(s, 200);
    assert_eq!(all.as_array().unwrap().len(), 140);
    let (_, p) = np.get("/build?offset=0").await;
    assert_eq!(p.as_array().unwrap().len(), 140);
    let (_, p) = np.get("/build?limit=30").await;
    assert_eq!(p.as_array().unwrap().len(), 30);
    let (_, one) = np.get("/build?application_id=1&limit=1000").await;
    let rows = one.as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|b| b["application_id"] == 1));
    let times: Vec<&str> = rows
        .iter()
        .map(|b| b["created_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let (_, off) = np.get("/build?application_id=1&limit=1&offset=1").await;
    assert_eq!(off[0], rows[1]);
    assert_eq!(off.as_array().unwrap().len(), 1);
    let (_, succ) = np.get("/build?status=successful&limit=1000").await;
    let succ = succ.as_array().unwrap().clone();
    assert!(succ.iter().all(|b| b["status"] == "successful"));
    let (_, pend) = np.get("/build?status=pending,in_progress").await;
    assert_eq!(pend.as_array().unwrap().len(), 5);
    let id = succ[0]["id"].as_i64().unwrap();
    assert_eq!(np.get(&format!("/build/{id}")).await.1, succ[0]);
    let (_, assets) = np.get(&format!("/asset?build_id={id}")).await;
    assert_eq!(
        assets.as_array().unwrap().len(),
        1,
        "every successful build has one asset"
    );
    assert_eq!(np.get("/build/1").await, (404, err(404, "Build not found")));
}

/// §11 C1: with no query at all — what the metadata action sends — `/build` and `/asset`
/// answer a bare JSON array of every row.
#[tokio::test]
async fn build_and_asset_reads_without_a_query_are_bare_arrays() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let (s, builds) = np.get("/build").await;
    assert_eq!(s, 200);
    let builds = builds.as_array().expect("a bare array, not an envelope");
    assert_eq!(builds.len(), 140);
    assert!(
        builds
            .iter()
            .all(|b| b["id"].is_i64() && b["status"].is_string())
    );
    let (s, assets) = np.get("/asset").await;
    assert_eq!(s, 200);
    let assets = assets.as_array().expect("a bare array, not an envelope");
    let successful = builds
        .iter()
        .filter(|b| b["status"] == "successful")
        .count();
    assert_eq!(
        assets.len(),
        successful,
        "one asset per successful fixture build"
    );
    assert!(assets.iter().all(|a| a["targets"].is_array()));
}

#[tokio::test]
async fn wrong_method_is_405_without_body_and_unknown_route_404() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let r =
        np.c.put(format!("{}/build/5001", np.base))
            .bearer_auth(&np.token)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = np.c.get(format!("{}/login", np.base)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let (s, v) = np.get("/release").await;
    assert_eq!((s, v["id"].as_i64()), (404, Some(404)));
}

#[tokio::test]
async fn faults_take_the_nullplatform_forms() {
    let sim = start_sim("").await;
    let np = Np::new(&sim).await;
    let c = http();
    set_faults(&sim, json!({"nullplatform.error_rate": 1})).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = c
            .get(format!("{}/application", np.base))
            .bearer_auth(&np.token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.text().await.unwrap();
        if status == 500 {
            assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap(),
                err(500, "Internal server error")
            );
        } else {
            assert!(
                ct.contains("text/html") && body.contains("<html>"),
                "{body}"
            );
        }
        seen.push(status);
    }
    seen.sort();
    assert_eq!(seen, [500, 502, 503]);

    set_faults(&sim, json!({"rate_limit": 1, "retry_after": 7})).await;
    let r = c
        .get(format!("{}/application", np.base))
        .bearer_auth(&np.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        err(429, "Too many requests")
    );

    set_faults(&sim, json!({"malformed_rate": 1})).await;
    let mut cut = 0;
    let mut string_ids = 0;
    for _ in 0..12 {
        let (s, body) = {
            let r = c
                .get(format!("{}/application", np.base))
                .bearer_auth(&np.token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        };
        assert_eq!(s, 200);
        match serde_json::from_str::<Value>(&body) {
            Err(_) => cut += 1,
            Ok(v) => {
                let n = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|a| a["id"].is_string())
                    .count();
                assert_eq!(n, 1);
                string_ids += 1;
            }
        }
    }
    assert!(
        cut > 0 && string_ids > 0,
        "cut {cut}, string ids {string_ids}"
    );

    set_faults(&sim, json!({"truncate_rate": 1})).await;
    let full = {
        common::clear_faults(&sim).await;
        np.get("/application/1/parameter").await.1
    };
    set_faults(&sim, json!({"truncate_rate": 1})).await;
    let (s, short) = np.get("/application/1/parameter").await;
    assert_eq!(s, 200);
    let (full, short) = (full.as_array().unwrap(), short.as_array().unwrap());
    assert!(short.len() < full.len());
    assert_eq!(short[..], full[..short.len()]);

    set_faults(&sim, json!({"reset_rate": 1})).await;
    let r = c
        .get(format!("{}/application", np.base))
        .bearer_auth(&np.token)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "reset must not produce a complete response");
}

#[tokio::test]
async fn demo_external_ci_runs_builds_through_their_lifecycle() {
    let sim = sim::start(SimOptions {
        demo: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let np = Np::new(&sim).await;
    let before = newest(&np).await["id"].as_i64().unwrap();
    advance(&sim, 30.0).await;
    let b = newest(&np).await;
    let id = b["id"].as_i64().unwrap();
    assert_eq!((id, b["status"].as_str()), (before + 1, Some("pending")));
    advance(&sim, 2.0).await;
    assert_eq!(
        np.get(&format!("/build/{id}")).await.1["status"],
        "in_progress"
    );
    advance(&sim, 13.0).await;
    let end = np.get(&format!("/build/{id}")).await.1;
    let assets = np
        .get(&format!("/asset?build_id={id}"))
        .await
        .1
        .as_array()
        .unwrap()
        .len();
    match end["status"].as_str() {
        Some("successful") => assert_eq!(assets, 1),
        Some("failed") => assert_eq!(assets, 0),
        other => panic!("demo build ended {other:?}"),
    }
    // Without demo nothing happens.
    let quiet = start_sim("").await;
    let np = Np::new(&quiet).await;
    let before = newest(&np).await["id"].clone();
    advance(&quiet, 120.0).await;
    assert_eq!(newest(&np).await["id"], before);
}

async fn newest(np: &Np) -> Value {
    np.get("/build?limit=1").await.1[0].clone()
}
