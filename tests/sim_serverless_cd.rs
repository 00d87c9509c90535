//! Integration tests of the Serverless-cd simulator (`shared/api/serverless-cd.md` §9), raw
//! HTTP against a manual clock: routes under `/api/flow` and `/api`, `cd_token` auth with
//! HTTP-200 errors, envelopes, fixtures, paging, the task clock, step logs, dispatch,
//! redeploy, cancel, tokens and the fault table.

use reqwest::StatusCode;
use serde_json::{Value, json};
use shipdeck::sim::serverless_cd::{DEMO_TOKEN, EXPIRED_TOKEN, foreign_app_id};
use shipdeck::sim::{self, SimHandle, SimOptions};

const LOG_EXPIRED: &str = "The logs for this run have expired and are no longer available.";

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
        shipdeck::api::http::install_crypto_provider();
        let sim = sim::start(opts).await.expect("simulator starts");
        let base = sim.url("serverless-cd");
        T {
            sim,
            http: reqwest::Client::new(),
            base,
        }
    }

    async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.header("cd_token", t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.expect("request")
    }

    async fn get_as(&self, token: Option<&str>, path: &str) -> Value {
        let r = self.raw(reqwest::Method::GET, path, token, None).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.expect("json")
    }

    async fn get(&self, path: &str) -> Value {
        self.get_as(Some(DEMO_TOKEN), path).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .raw(reqwest::Method::POST, path, Some(DEMO_TOKEN), Some(body))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "POST {path}");
        r.json().await.expect("json")
    }

    async fn advance(&self, seconds: f64) {
        let r = self
            .http
            .post(self.sim.url("__sim/clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    async fn faults(&self, f: Value) {
        let r = self
            .http
            .put(self.sim.url("__sim/faults"))
            .json(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    async fn apps(&self) -> Vec<Value> {
        let v = self.get("/api/flow/application/list").await;
        assert_eq!(v["success"], true);
        v["data"].as_array().expect("array").clone()
    }

    async fn app_named(&self, name: &str) -> Value {
        self.apps()
            .await
            .into_iter()
            .find(|a| a["repo_name"] == name)
            .unwrap_or_else(|| panic!("app {name}"))
    }

    async fn dispatch(&self, app: &str, extra: Value) -> String {
        let mut body = json!({"appId": app, "ref": "refs/heads/main"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let v = self.post("/api/flow/dispatch/manual", body).await;
        assert_eq!(v["success"], true, "{v}");
        v["data"]["taskId"].as_str().expect("taskId").to_string()
    }

    async fn task(&self, id: &str) -> Value {
        let v = self.get(&format!("/api/flow/task/get?taskId={id}")).await;
        assert_eq!(v["success"], true, "{v}");
        v["data"].clone()
    }

    async fn log(&self, id: &str, step: usize) -> Value {
        self.get(&format!("/api/flow/task/log?taskId={id}&stepCount={step}"))
            .await
    }
}

fn assert_err(v: &Value, code: i64, message: &str) {
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["message"], message, "{v}");
}

#[tokio::test]
async fn auth_errors_are_http_200_with_code_401() {
    let t = T::new().await;
    for path in ["/api/flow/application/list", "/api/application/list"] {
        assert_err(&t.get_as(None, path).await, 401, "need login");
        assert_err(&t.get_as(Some("nope"), path).await, 401, "token 不存在");
        assert_err(
            &t.get_as(Some(EXPIRED_TOKEN), path).await,
            401,
            "token 已过期",
        );
        let ok = t.get_as(Some(DEMO_TOKEN), path).await;
        assert_eq!(ok["success"], true);
        // Published success shape: no `code`.
        assert!(ok.get("code").is_none(), "{ok}");
    }
}

#[tokio::test]
async fn unknown_routes_are_express_404_html() {
    let t = T::new().await;
    let r = t
        .raw(reqwest::Method::GET, "/api/flow/x", Some(DEMO_TOKEN), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<pre>Cannot GET /api/flow/x</pre>")
    );
    // application/update is not implemented (era mismatch); wrong method is unmatched too.
    let r = t
        .raw(
            reqwest::Method::POST,
            "/api/flow/application/update",
            Some(DEMO_TOKEN),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Cannot POST /api/flow/application/update")
    );
    let r = t
        .raw(
            reqwest::Method::GET,
            "/api/flow/dispatch/manual",
            Some(DEMO_TOKEN),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn applications_fixture_and_detail_errors() {
    let t = T::new().await;
    let apps = t.apps().await;
    assert_eq!(apps.len(), 13, "14 applications, one owned by another user");
    let mut never = 0;
    for a in &apps {
        let id = a["id"].as_str().unwrap();
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert!(a["created_time"].is_i64() && a["updated_time"].is_i64());
        assert_eq!(a["provider"], "github");
        assert_eq!(a["user_id"], "u-7fa3c1");
        let n = a["secrets"].as_object().unwrap().len();
        assert!((2..=5).contains(&n), "{n} secrets");
        assert!(a.get("webhook_secret").is_none());
        match a.get("latest_task") {
            None => never += 1,
            Some(lt) => {
                assert_eq!(lt["completed"], true);
                assert!(lt["taskId"].is_string() && lt["commit"].is_string());
            }
        }
    }
    assert_eq!(never, 1);
    let id = apps[0]["id"].as_str().unwrap();
    let d = t
        .get(&format!("/api/flow/application/detail?id={id}"))
        .await;
    assert_eq!(d["data"], apps[0]);
    assert_err(
        &t.get("/api/flow/application/detail?id=zzzzzzzzzzzzzzzz")
            .await,
        400,
        "没有查到应用信息",
    );
    assert_err(&t.get("/api/flow/application/detail").await, 424, "id 必填");
}

#[tokio::test]
async fn foreign_application_is_hidden_and_refused() {
    let t = T::new().await;
    let foreign = foreign_app_id(1);
    assert!(t.apps().await.iter().all(|a| a["id"] != foreign.as_str()));
    assert_err(
        &t.get(&format!("/api/flow/application/detail?id={foreign}"))
            .await,
        401,
        "无权操作此应用",
    );
    assert_err(
        &t.post(
            "/api/flow/dispatch/manual",
            json!({"appId": foreign, "ref": "refs/heads/main"}),
        )
        .await,
        401,
        "无权操作此应用",
    );
    // Its tasks are not listed for this user.
    let v = t.get(&format!("/api/flow/task/list?appId={foreign}")).await;
    assert_eq!(v["data"]["totalCount"], 0);
}

#[tokio::test]
async fn application_create_and_delete() {
    let t = T::new().await;
    let v = t
        .post(
            "/api/flow/application/create",
            json!({"repo": "new-svc", "owner": "acme", "repo_url": "https://github.com/acme/new-svc.git",
                   "provider_repo_id": "777", "provider": "github", "trigger_spec": {"github": {"events": []}},
                   "secrets": {"A": "1"}}),
        )
        .await;
    assert_eq!(v["success"], true, "{v}");
    let id = v["data"]["id"].as_str().unwrap().to_string();
    let app = t.app_named("new-svc").await;
    assert_eq!(app["id"], id.as_str());
    assert!(app.get("latest_task").is_none());
    assert_err(
        &t.post(
            "/api/flow/application/create",
            json!({"repo": "x", "owner": "acme", "repo_url": "u", "provider_repo_id": "777",
                   "provider": "github", "trigger_spec": {}}),
        )
        .await,
        424,
        "代码仓库已绑定，请勿重新绑定",
    );
    assert_err(
        &t.post("/api/flow/application/create", json!({"repo": "x"}))
            .await,
        424,
        "owner 必填",
    );
    let r = t
        .raw(
            reqwest::Method::DELETE,
            &format!("/api/flow/application/delete?appId={id}"),
            Some(DEMO_TOKEN),
            None,
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["success"], true);
    assert_eq!(t.apps().await.len(), 13);
}

#[tokio::test]
async fn task_list_pages_with_totals_and_defaults() {
    let t = T::new().await;
    let app = t.app_named("shop-api").await;
    let id = app["id"].as_str().unwrap();
    let mut seen = Vec::new();
    for (page, want) in [(1, 10), (2, 10), (3, 10), (4, 7), (5, 0)] {
        let v = t
            .get(&format!(
                "/api/flow/task/list?appId={id}&currentPage={page}&pageSize=10"
            ))
            .await;
        assert_eq!(v["data"]["totalCount"], 37);
        let rows = v["data"]["result"].as_array().unwrap();
        assert_eq!(rows.len(), want, "page {page}");
        for r in rows {
            assert!(r.get("env_name").is_none());
            assert!(r["trigger_type"].is_string());
            assert_eq!(r["app_id"], id);
            seen.push((
                r["updated_time"].as_i64().unwrap(),
                r["id"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert!(
        seen.windows(2).all(|w| w[0].0 >= w[1].0),
        "updated_time desc"
    );
    let ids: std::collections::HashSet<_> = seen.iter().map(|s| &s.1).collect();
    assert_eq!(ids.len(), 37);
    // Defaults: 0, non-numeric and negative values fall back to 1 / 10.
    for q in [
        "",
        "&currentPage=0&pageSize=0",
        "&currentPage=abc&pageSize=x",
        "&currentPage=-2&pageSize=-5",
        "&envName=prod",
    ] {
        let v = t.get(&format!("/api/flow/task/list?appId={id}{q}")).await;
        assert_eq!(v["data"]["result"].as_array().unwrap().len(), 10, "{q}");
        assert_eq!(v["data"]["result"][0]["id"], seen[0].1.as_str(), "{q}");
    }
    let v = t
        .get(&format!("/api/flow/task/list?appId={id}&pageSize=100"))
        .await;
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 37);
    assert_err(&t.get("/api/flow/task/list").await, 424, "appId 必填");
}

#[tokio::test]
async fn old_tasks_have_expired_logs() {
    let t = T::new().await;
    let app = t.app_named("shop-api").await;
    let id = app["id"].as_str().unwrap();
    let v = t
        .get(&format!("/api/flow/task/list?appId={id}&pageSize=100"))
        .await;
    let rows = v["data"]["result"].as_array().unwrap().clone();
    let now_ms = 1_767_261_600_000i64;
    let old: Vec<&Value> = rows
        .iter()
        .filter(|r| now_ms - r["created_time"].as_i64().unwrap() > 30 * 86_400_000)
        .collect();
    assert_eq!(old.len(), 3);
    for r in old {
        let tid = r["id"].as_str().unwrap();
        assert_err(&t.log(tid, 1).await, 400, LOG_EXPIRED);
    }
    // A recent finished task has its logs.
    let v = t.log(rows[0]["id"].as_str().unwrap(), 1).await;
    assert_eq!(v["success"], true);
    assert!(v["data"].as_str().unwrap().ends_with('\n'));
}

#[tokio::test]
async fn task_clock_steps_and_growing_logs() {
    let t = T::new().await;
    let app = t.app_named("shop-api").await;
    let app_id = app["id"].as_str().unwrap();
    let v = t
        .post(
            "/api/flow/dispatch/manual",
            json!({"appId": app_id, "ref": "refs/heads/main", "inputs": {"REGION": "cn-hangzhou"}}),
        )
        .await;
    let rid = v["data"]["x-fc-request-id"].as_str().unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(&rid[14..15], "4", "UUID v4: {rid}");
    let id = v["data"]["taskId"].as_str().unwrap().to_string();
    // Pending at once, listed immediately, on top.
    let task = t.task(&id).await;
    assert_eq!(task["status"], "pending");
    assert_eq!(task["trigger_type"], "manual");
    assert_eq!(task["ref"], "refs/heads/main");
    assert_eq!(task["branch"], "main");
    assert_eq!(task["commit"].as_str().unwrap().len(), 40);
    assert!(task.get("env_name").is_none());
    let steps: Vec<&str> = task["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["run"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["Checkout", "Install", "Test", "Deploy", "Notify"]);
    assert_eq!(task["steps"][0]["stepCount"], "1");
    let list = t.get(&format!("/api/flow/task/list?appId={app_id}")).await;
    assert_eq!(list["data"]["result"][0]["id"], id.as_str());
    let detail = t
        .get(&format!("/api/flow/application/detail?id={app_id}"))
        .await;
    assert_eq!(detail["data"]["latest_task"]["taskId"], id.as_str());
    assert_eq!(detail["data"]["latest_task"]["completed"], false);
    assert_err(&t.log(&id, 1).await, 400, LOG_EXPIRED);

    t.advance(3.0).await;
    let task = t.task(&id).await;
    assert_eq!(task["status"], "running");
    assert_eq!(task["steps"][0]["status"], "running");
    assert!(task["steps"][0].get("process_time").is_none());
    // Readable 1 s after the step starts.
    assert_err(&t.log(&id, 1).await, 400, LOG_EXPIRED);
    t.advance(1.0).await;
    let a = t.log(&id, 1).await["data"].as_str().unwrap().to_string();
    assert_eq!(a.lines().count(), 2, "2 lines/s: {a:?}");
    t.advance(1.0).await;
    let b = t.log(&id, 1).await["data"].as_str().unwrap().to_string();
    assert!(b.starts_with(&a) && b.lines().count() == 4, "{b:?}");
    // Run to the end: every step ends with process_time, logs are final.
    let mut install = String::new();
    for _ in 0..100 {
        t.advance(1.0).await;
        let task = t.task(&id).await;
        if task["steps"][1]["status"] == "running" && install.is_empty() {
            t.advance(1.0).await;
            install = t.log(&id, 2).await["data"].as_str().unwrap().to_string();
        }
        if task["status"] != "running" {
            break;
        }
    }
    let task = t.task(&id).await;
    assert_eq!(task["status"], "success");
    for s in task["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "success");
        assert!(s["process_time"].as_i64().unwrap() >= 3);
    }
    assert!(install.contains("input REGION=cn-hangzhou"), "{install:?}");
    let full = t.log(&id, 2).await["data"].as_str().unwrap().to_string();
    assert!(full.contains('\r'), "Install redraws with \\r");
    let again = t.log(&id, 2).await["data"].as_str().unwrap().to_string();
    assert_eq!(full, again);
    let detail = t
        .get(&format!("/api/flow/application/detail?id={app_id}"))
        .await;
    assert_eq!(detail["data"]["latest_task"]["completed"], true);
    assert_eq!(detail["data"]["latest_task"]["status"], "success");
}

#[tokio::test]
async fn dispatch_validation_and_commit_defaults() {
    let t = T::new().await;
    let app = t.app_named("web-portal").await;
    let app_id = app["id"].as_str().unwrap();
    assert_err(
        &t.post(
            "/api/flow/dispatch/manual",
            json!({"ref": "refs/heads/main"}),
        )
        .await,
        424,
        "appId 必填",
    );
    assert_err(
        &t.post("/api/flow/dispatch/manual", json!({"appId": app_id}))
            .await,
        424,
        "ref 必填",
    );
    assert_err(
        &t.post(
            "/api/flow/dispatch/manual",
            json!({"appId": app_id, "ref": "refs/heads/nope"}),
        )
        .await,
        400,
        "ref refs/heads/nope not found",
    );
    assert_err(
        &t.post(
            "/api/flow/dispatch/manual",
            json!({"appId": "zzzzzzzzzzzzzzzz", "ref": "refs/heads/main"}),
        )
        .await,
        400,
        "没有查到应用信息",
    );
    // No commitId: head of the ref, the same for two dispatches; a given one is kept.
    let a = t.dispatch(app_id, json!({})).await;
    let b = t.dispatch(app_id, json!({})).await;
    let c = t
        .dispatch(
            app_id,
            json!({"commitId": "0123456789abcdef0123456789abcdef01234567", "message": "hotfix",
                   "ref": "refs/tags/v1.4.0"}),
        )
        .await;
    let (a, b, c) = (t.task(&a).await, t.task(&b).await, t.task(&c).await);
    assert_eq!(a["commit"], b["commit"]);
    assert_eq!(c["commit"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(c["message"], "hotfix");
    assert_eq!(c["branch"], "v1.4.0");
}

#[tokio::test]
async fn cancel_and_redeploy() {
    let t = T::new().await;
    let app = t.app_named("order-service").await;
    let app_id = app["id"].as_str().unwrap();
    let id = t.dispatch(app_id, json!({})).await;
    t.advance(5.0).await;
    let v = t
        .post("/api/flow/dispatch/cancel", json!({"taskId": id}))
        .await;
    assert_eq!(v, json!({"success": true, "data": {}}));
    let log_at_cancel = t.log(&id, 1).await["data"].as_str().unwrap().to_string();
    t.advance(30.0).await;
    let task = t.task(&id).await;
    assert_eq!(task["status"], "cancelled");
    assert_eq!(task["steps"][0]["status"], "cancelled");
    assert_eq!(task["steps"][1]["status"], "pending");
    assert_eq!(
        t.log(&id, 1).await["data"].as_str().unwrap(),
        log_at_cancel,
        "the cancelled step's log ends mid-stream"
    );
    let detail = t
        .get(&format!("/api/flow/application/detail?id={app_id}"))
        .await;
    assert_eq!(detail["data"]["latest_task"]["completed"], true);
    assert_eq!(detail["data"]["latest_task"]["status"], "cancelled");
    assert_err(
        &t.post("/api/flow/dispatch/cancel", json!({"taskId": id}))
            .await,
        424,
        "任务运行已经被停止",
    );
    assert_err(
        &t.post("/api/flow/dispatch/cancel", json!({})).await,
        424,
        "taskId 必填",
    );
    // Redeploy: a new task with the old trigger payload.
    let v = t
        .post("/api/flow/dispatch/redeploy", json!({"taskId": id}))
        .await;
    let new = v["data"]["taskId"].as_str().unwrap().to_string();
    assert_ne!(new, id);
    let (old, nt) = (t.task(&id).await, t.task(&new).await);
    assert_eq!(nt["redelivery"], id.as_str());
    assert_eq!(nt["trigger_type"], "redeploy");
    assert_eq!(nt["status"], "pending");
    for k in ["commit", "ref", "message", "app_id"] {
        assert_eq!(nt[k], old[k], "{k}");
    }
    assert_err(
        &t.post(
            "/api/flow/dispatch/redeploy",
            json!({"taskId": "nope000000000000"}),
        )
        .await,
        400,
        "没有查到部署信息",
    );
    // task/remove: `{"success": true}` without `data`.
    let v = t
        .post("/api/flow/task/remove", json!({"taskId": new}))
        .await;
    assert_eq!(v, json!({"success": true}));
    assert_err(
        &t.get(&format!("/api/flow/task/get?taskId={new}")).await,
        400,
        "没有查到部署信息",
    );
}

async fn run_to_end(t: &T, id: &str) -> Value {
    for _ in 0..100 {
        t.advance(5.0).await;
        let task = t.task(id).await;
        if task["status"] != "running" && task["status"] != "pending" {
            return task;
        }
    }
    panic!("task {id} never ended");
}

#[tokio::test]
async fn flaky_and_tolerant_outcomes() {
    let t = T::new().await;
    let flaky = t.app_named("checkout-flaky").await;
    let fid = flaky["id"].as_str().unwrap();
    let total = t.get(&format!("/api/flow/task/list?appId={fid}")).await["data"]["totalCount"]
        .as_u64()
        .unwrap();
    // Find the next task index that is a multiple of 3.
    let mut n = total + 1;
    let last = loop {
        let id = t.dispatch(fid, json!({})).await;
        let last = run_to_end(&t, &id).await;
        if n % 3 == 0 {
            break last;
        }
        assert_eq!(last["status"], "success");
        n += 1;
    };
    assert_eq!(last["status"], "failure");
    let st: Vec<&str> = last["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(st, ["success", "success", "failure", "skipped", "success"]);
    let id = last["id"].as_str().unwrap();
    assert_err(&t.log(id, 4).await, 400, LOG_EXPIRED);
    assert!(
        t.log(id, 3).await["data"]
            .as_str()
            .unwrap()
            .contains("failed")
    );

    let tol = t.app_named("search-tolerant").await;
    let id = t.dispatch(tol["id"].as_str().unwrap(), json!({})).await;
    let task = run_to_end(&t, &id).await;
    assert_eq!(task["status"], "success");
    assert_eq!(task["steps"][2]["status"], "error-with-continue");
}

#[tokio::test]
async fn tokens_routes() {
    let t = T::new().await;
    let v = t
        .post(
            "/api/tokens/create",
            json!({"description": "ci", "expiration": 60_000}),
        )
        .await;
    let tok = v["data"]["cd_token"].as_str().unwrap().to_string();
    assert_eq!(tok.len(), 40);
    assert!(tok.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        t.get_as(Some(&tok), "/api/flow/application/list").await["success"],
        true
    );
    let list = t.get("/api/tokens/list").await;
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(!list.to_string().contains(&tok), "secret omitted");
    assert!(!list.to_string().contains(DEMO_TOKEN));
    t.advance(61.0).await;
    assert_err(
        &t.get_as(Some(&tok), "/api/flow/application/list").await,
        401,
        "token 已过期",
    );
    let id = rows.iter().find(|r| r["description"] == "ci").unwrap()["id"].clone();
    let v = t
        .post("/api/tokens/update", json!({"id": id, "expiration": -1}))
        .await;
    assert_eq!(v["success"], true);
    assert_eq!(
        t.get_as(Some(&tok), "/api/flow/application/list").await["success"],
        true
    );
    let v = t.post("/api/tokens/delete", json!({"id": id})).await;
    assert_eq!(v["success"], true);
    assert_err(
        &t.get_as(Some(&tok), "/api/flow/application/list").await,
        401,
        "token 不存在",
    );
}

#[tokio::test]
async fn fault_table() {
    let t = T::new().await;
    let path = "/api/flow/application/list";
    // error_rate: HTTP 200 SystemError, HTTP 500 HTML, HTTP 502 gateway page, in turn.
    t.faults(json!({"serverless-cd.error_rate": 1})).await;
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let r = t
            .raw(reqwest::Method::GET, path, Some(DEMO_TOKEN), None)
            .await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        kinds.push(status);
        match status {
            200 => assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap(),
                json!({"success": false, "code": 500, "message": "SystemError"})
            ),
            500 => assert!(body.contains("<pre>Internal Server Error</pre>")),
            502 => assert!(body.contains("502 Bad Gateway")),
            s => panic!("unexpected {s}"),
        }
    }
    kinds.sort_unstable();
    assert_eq!(kinds, [200, 500, 502]);
    // rate_limit: 429 JSON + Retry-After.
    t.faults(json!({"serverless-cd.rate_limit": 1, "retry_after": 7}))
        .await;
    let r = t
        .raw(reqwest::Method::GET, path, Some(DEMO_TOKEN), None)
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], 429);
    // malformed: 200 JSON cut mid-body.
    t.faults(json!({"serverless-cd.malformed_rate": 1})).await;
    let r = t
        .raw(reqwest::Method::GET, path, Some(DEMO_TOKEN), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    // reset: no response at all.
    t.faults(json!({"serverless-cd.reset_rate": 1})).await;
    let e = t
        .http
        .get(format!("{}{path}", t.base))
        .header("cd_token", DEMO_TOKEN)
        .send()
        .await;
    assert!(e.is_err());
    // Other backends are not affected by scoped keys.
    let r = t
        .http
        .get(t.sim.url("freecommit/guest/ping"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // expire_tokens_at: from then on `token 已过期`.
    t.faults(json!({"serverless-cd.expire_tokens_at": "10s"}))
        .await;
    assert_eq!(t.get(path).await["success"], true);
    t.advance(10.0).await;
    assert_err(&t.get(path).await, 401, "token 已过期");
}

#[tokio::test]
async fn truncate_fault_cuts_logs_mid_line() {
    let t = T::new().await;
    let app = t.app_named("shop-api").await;
    let id = t.dispatch(app["id"].as_str().unwrap(), json!({})).await;
    run_to_end(&t, &id).await;
    let whole = t.log(&id, 1).await["data"].as_str().unwrap().to_string();
    t.faults(json!({"serverless-cd.truncate_rate": 1})).await;
    for _ in 0..5 {
        let cut = t.log(&id, 1).await["data"].as_str().unwrap().to_string();
        assert!(whole.starts_with(&cut) && cut.len() < whole.len());
        assert!(!cut.ends_with('\n'), "ends mid-line: {cut:?}");
    }
}

#[tokio::test]
async fn deterministic_from_the_seed_and_demo_activity() {
    let a = T::new().await;
    let b = T::new().await;
    assert_eq!(a.apps().await, b.apps().await);
    let c = T::with(SimOptions {
        seed: 2,
        ..Default::default()
    })
    .await;
    assert_ne!(a.apps().await, c.apps().await);
    // No background activity in tests; a webhook push task every 40 s in demo mode.
    let count = |apps: Vec<Value>| {
        apps.iter()
            .filter(|a| a["latest_task"]["completed"] == false)
            .count()
    };
    a.advance(41.0).await;
    assert_eq!(count(a.apps().await), 0);
    let d = T::with(SimOptions {
        demo: true,
        ..Default::default()
    })
    .await;
    d.advance(41.0).await;
    let apps = d.apps().await;
    let busy: Vec<&Value> = apps
        .iter()
        .filter(|a| a["latest_task"]["completed"] == false)
        .collect();
    assert_eq!(busy.len(), 1);
    let tid = busy[0]["latest_task"]["taskId"].as_str().unwrap();
    assert_eq!(d.task(tid).await["trigger_type"], "github");
}
