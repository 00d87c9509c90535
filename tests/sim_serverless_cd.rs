//! Integration tests of the Serverless-cd simulator (`shared/api/serverless-cd.md` §9, with §11
//! superseding it), raw HTTP against a manual clock, for both server eras: routes under
//! `/api/flow` and `/api`, auth failures as each era answers them, envelopes and error shapes,
//! fixtures, paging, the task clock, step logs, dispatch, redeploy, cancel, tokens, the fault
//! table and the era switch.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use shipdeck::sim::serverless_cd::{DEMO_TOKEN, EXPIRED_TOKEN, Era, foreign_app_id};
use shipdeck::sim::{self, SimHandle, SimOptions};
use std::time::Duration;

const ERAS: [Era; 2] = [Era::Nov, Era::Jan];
const NO_SUCH_KEY: &str = "The specified key does not exist.";

struct T {
    sim: SimHandle,
    /// Never follows redirects (the Nov 302 must be seen as it is).
    http: reqwest::Client,
    base: String,
    era: Era,
}

/// How a refusal looks (§11 R6/R7).
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A thrown validation error: Nov 422.
    Invalid,
    /// An early return: Nov 200.
    Early,
    /// Any other thrown error: Nov 500.
    Thrown,
}

impl T {
    async fn new(era: Era) -> T {
        Self::with(SimOptions {
            serverless_cd_era: era,
            ..Default::default()
        })
        .await
    }

    async fn with(opts: SimOptions) -> T {
        shipdeck::api::http::install_crypto_provider();
        let era = opts.serverless_cd_era;
        let sim = sim::start(opts).await.expect("simulator starts");
        let base = sim.url("serverless-cd");
        T {
            sim,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base,
            era,
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

    async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.raw(reqwest::Method::GET, path, Some(DEMO_TOKEN), None)
            .await
    }

    async fn post_raw(&self, path: &str, body: Value) -> reqwest::Response {
        self.raw(reqwest::Method::POST, path, Some(DEMO_TOKEN), Some(body))
            .await
    }

    /// A successful envelope's `data` (with `code: 200` in Jan only).
    async fn data(&self, r: reqwest::Response) -> Value {
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["success"], true, "{v}");
        match self.era {
            Era::Nov => assert!(v.get("code").is_none(), "{v}"),
            Era::Jan => assert_eq!(v["code"], 200, "{v}"),
        }
        v["data"].clone()
    }

    async fn get(&self, path: &str) -> Value {
        let r = self.get_raw(path).await;
        self.data(r).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self.post_raw(path, body).await;
        self.data(r).await
    }

    /// A refusal as this era renders it.
    async fn fails(&self, r: reqwest::Response, kind: Kind, message: &str) {
        let status = r.status().as_u16();
        let v: Value = r.json().await.expect("json error body");
        match self.era {
            Era::Nov => {
                let want = match kind {
                    Kind::Invalid => 422,
                    Kind::Early => 200,
                    Kind::Thrown => 500,
                };
                assert_eq!(status, want, "{kind:?} {v}");
                assert_eq!(v, json!({"success": false, "message": message}));
            }
            Era::Jan => {
                assert_eq!(status, 200, "{v}");
                assert_eq!(
                    v,
                    json!({"code": 500, "success": false, "message": message})
                );
            }
        }
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
        self.get("/api/flow/application/list")
            .await
            .as_array()
            .expect("array")
            .clone()
    }

    async fn app_named(&self, name: &str) -> Value {
        self.apps()
            .await
            .into_iter()
            .find(|a| a["repo_name"] == name)
            .unwrap_or_else(|| panic!("app {name}"))
    }

    /// The `envName` query part Jan needs.
    fn env_q(&self, env: &str) -> String {
        match self.era {
            Era::Nov => String::new(),
            Era::Jan => format!("&envName={env}"),
        }
    }

    async fn tasks(&self, app: &str, extra: &str) -> Value {
        self.get(&format!(
            "/api/flow/task/list?appId={app}{}{extra}",
            self.env_q("default")
        ))
        .await
    }

    async fn dispatch(&self, app: &str, extra: Value) -> String {
        let mut body = json!({"appId": app, "ref": "refs/heads/main"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let d = self.post("/api/flow/dispatch/manual", body).await;
        d["taskId"].as_str().expect("taskId").to_string()
    }

    async fn task(&self, id: &str) -> Value {
        self.get(&format!("/api/flow/task/get?taskId={id}")).await
    }

    async fn log_raw(&self, id: &str, count: &str) -> reqwest::Response {
        self.get_raw(&format!("/api/flow/task/log?taskId={id}&stepCount={count}"))
            .await
    }

    async fn log(&self, id: &str, count: &str) -> String {
        let r = self.log_raw(id, count).await;
        self.data(r).await.as_str().expect("text").to_string()
    }

    async fn log_missing(&self, id: &str, count: &str) {
        let r = self.log_raw(id, count).await;
        self.fails(r, Kind::Thrown, NO_SUCH_KEY).await;
    }

    async fn run_to_end(&self, id: &str) -> Value {
        for _ in 0..100 {
            self.advance(5.0).await;
            let task = self.task(id).await;
            if task["status"] != "running" && task["status"] != "pending" {
                return task;
            }
        }
        panic!("task {id} never ended");
    }
}

fn counts(task: &Value) -> Vec<String> {
    task["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stepCount"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Authentication (§11 R4, R5)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn nov_auth_failures_are_html_500_and_a_redirect_to_login() {
    let t = T::new(Era::Nov).await;
    for path in ["/api/flow/application/list", "/api/application/list"] {
        let r = t.raw(reqwest::Method::GET, path, None, None).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()["location"], "/serverless-cd/login");
        for (token, msg) in [("nope", "token 不存在"), (EXPIRED_TOKEN, "token 已过期")] {
            let r = t.raw(reqwest::Method::GET, path, Some(token), None).await;
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            let page = r.text().await.unwrap();
            assert!(page.contains(msg) && page.contains("<pre>"), "{page}");
        }
        assert!(!t.get(path).await.as_array().unwrap().is_empty());
    }
    // A POST without a token is redirected too.
    let r = t
        .raw(
            reqwest::Method::POST,
            "/api/flow/dispatch/manual",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn jan_auth_failures_hang_are_codeless_or_need_login() {
    let t = T::new(Era::Jan).await;
    let path = "/api/flow/application/list";
    let v: Value = t
        .raw(reqwest::Method::GET, path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"code": 401, "message": "need login"}));
    let r = t
        .raw(reqwest::Method::GET, path, Some(EXPIRED_TOKEN), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"success": false, "message": "token 已过期"}));
    // An unknown token is never answered.
    let e = t
        .http
        .get(format!("{}{path}", t.base))
        .header("cd_token", "nope")
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    // The server keeps answering everyone else meanwhile.
    assert!(!t.get(path).await.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_routes_are_the_web_ui_index_page() {
    for era in ERAS {
        let t = T::new(era).await;
        for (method, path) in [
            (reqwest::Method::GET, "/api/flow/x"),
            (reqwest::Method::POST, "/api/flow/application/update"),
            (reqwest::Method::GET, "/api/flow/dispatch/manual"),
            (reqwest::Method::GET, "/login"),
        ] {
            let r = t.raw(method, path, Some(DEMO_TOKEN), None).await;
            assert_eq!(r.status(), StatusCode::OK, "{era} {path}");
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            let body = r.text().await.unwrap();
            assert!(body.contains("<div id=\"root\">"), "{body}");
            assert!(!body.contains("Cannot "), "{body}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Applications (§11 R3, R14)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn applications_have_each_eras_shape() {
    for era in ERAS {
        let t = T::new(era).await;
        let apps = t.apps().await;
        assert_eq!(apps.len(), 13, "14 applications, one owned by another user");
        let mut never = 0;
        for a in &apps {
            let id = a["id"].as_str().unwrap();
            assert_eq!(id.len(), 16);
            assert!(a["created_time"].is_i64() && a["updated_time"].is_i64());
            assert_eq!(a["user_id"], "u-7fa3c1");
            assert!(a.get("webhook_secret").is_none());
            let data = match era {
                Era::Nov => {
                    assert!(a.get("environment").is_none(), "{a}");
                    a.clone()
                }
                Era::Jan => {
                    for k in ["latest_task", "secrets", "trigger_spec"] {
                        assert!(a.get(k).is_none(), "no top-level {k}: {a}");
                    }
                    let envs = a["environment"].as_object().unwrap();
                    assert_eq!(envs.len(), 1);
                    let want = if a["repo_name"] == "docs-site" {
                        "prod"
                    } else {
                        "default"
                    };
                    let data = envs[want].clone();
                    assert_eq!(data["cd_pipeline_yaml"], "serverless-pipeline.yaml");
                    data
                }
            };
            let n = data["secrets"].as_object().unwrap().len();
            assert!((2..=5).contains(&n), "{n} secrets");
            assert!(
                data["trigger_spec"]["github"]["events"][0]["filter"]
                    .as_str()
                    .unwrap()
                    .contains("refs/heads/main")
            );
            match data.get("latest_task") {
                None => never += 1,
                Some(lt) => assert_eq!(lt["completed"], true),
            }
        }
        assert_eq!(never, 1, "{era}");
        let id = apps[0]["id"].as_str().unwrap();
        let d = t
            .get(&format!("/api/flow/application/detail?id={id}"))
            .await;
        assert_eq!(d, apps[0]);
        // No owner check on detail; an unknown id → 暂无应用信息.
        let foreign = foreign_app_id(1);
        let d = t
            .get(&format!("/api/flow/application/detail?id={foreign}"))
            .await;
        assert_eq!(d["user_id"], "u-3d90b2");
        for q in ["?id=zzzzzzzzzzzzzzzz", ""] {
            let r = t.get_raw(&format!("/api/flow/application/detail{q}")).await;
            t.fails(r, Kind::Early, "暂无应用信息").await;
        }
    }
}

#[tokio::test]
async fn foreign_application_is_hidden_and_refused() {
    for era in ERAS {
        let t = T::new(era).await;
        let foreign = foreign_app_id(1);
        assert!(t.apps().await.iter().all(|a| a["id"] != foreign.as_str()));
        let r = t
            .post_raw(
                "/api/flow/dispatch/manual",
                json!({"appId": foreign, "ref": "refs/heads/main"}),
            )
            .await;
        t.fails(r, Kind::Early, "无权操作此应用").await;
        let v = t.tasks(&foreign, "").await;
        assert_eq!(v["totalCount"], "0");
    }
}

#[tokio::test]
async fn application_create_delete_and_a_duplicate_that_hangs() {
    for era in ERAS {
        let t = T::new(era).await;
        let body = json!({"repo": "new-svc", "owner": "acme", "repo_url": "https://github.com/acme/new-svc.git",
               "provider_repo_id": "777", "provider": "github", "trigger_spec": {"github": {"events": []}},
               "secrets": {"A": "1"}});
        let v = t.post("/api/flow/application/create", body.clone()).await;
        let id = v["id"].as_str().unwrap().to_string();
        let app = t.app_named("new-svc").await;
        assert_eq!(app["id"], id.as_str());
        // A duplicate is never answered (§11 R17).
        let e = t
            .http
            .post(format!("{}/api/flow/application/create", t.base))
            .header("cd_token", DEMO_TOKEN)
            .json(&body)
            .timeout(Duration::from_millis(300))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_timeout(), "{e:?}");
        let r = t
            .post_raw("/api/flow/application/create", json!({"repo": "x"}))
            .await;
        t.fails(r, Kind::Early, "owner 必填").await;
        let r = t
            .raw(
                reqwest::Method::DELETE,
                &format!("/api/flow/application/delete?appId={id}"),
                Some(DEMO_TOKEN),
                None,
            )
            .await;
        t.data(r).await;
        assert_eq!(t.apps().await.len(), 13);
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks (§11 R1, R2, R9, R10, R11, R16)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn task_list_pages_with_string_totals_and_limits() {
    for era in ERAS {
        let t = T::new(era).await;
        let app = t.app_named("shop-api").await;
        let id = app["id"].as_str().unwrap();
        let mut seen = Vec::new();
        for (page, want) in [(1, 10), (2, 10), (3, 10), (4, 7), (5, 0)] {
            let v = t
                .tasks(id, &format!("&currentPage={page}&pageSize=10"))
                .await;
            assert_eq!(v["totalCount"], "37", "a string (§11 R1)");
            let rows = v["result"].as_array().unwrap();
            assert_eq!(rows.len(), want, "page {page}");
            for r in rows {
                assert!(r.get("trigger_type").is_none() && r.get("repo_name").is_none());
                assert_eq!(r.get("env_name").is_some(), era == Era::Jan);
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
        // Defaults: currentPage ≤ 1, 0 or not a number → 1; pageSize 0/non-numeric → 10.
        for q in [
            "",
            "&currentPage=0&pageSize=0",
            "&currentPage=abc&pageSize=x",
            "&currentPage=-2&pageSize=-5",
        ] {
            let v = t.tasks(id, q).await;
            assert_eq!(v["result"].as_array().unwrap().len(), 10, "{q}");
            assert_eq!(v["result"][0]["id"], seen[0].1.as_str(), "{q}");
        }
        let v = t.tasks(id, "&pageSize=100").await;
        assert_eq!(v["result"].as_array().unwrap().len(), 37);
        let r = t
            .get_raw(&format!(
                "/api/flow/task/list?appId={id}&pageSize=101{}",
                t.env_q("default")
            ))
            .await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["success"], false, "pageSize above 100 fails: {v}");
        let r = t.get_raw("/api/flow/task/list").await;
        t.fails(r, Kind::Invalid, "AppId is empty").await;
    }
}

#[tokio::test]
async fn jan_task_list_needs_the_environment() {
    let t = T::new(Era::Jan).await;
    let app = t.app_named("shop-api").await;
    let id = app["id"].as_str().unwrap();
    let r = t.get_raw(&format!("/api/flow/task/list?appId={id}")).await;
    t.fails(r, Kind::Invalid, "envName is empty").await;
    let v = t
        .get(&format!("/api/flow/task/list?appId={id}&envName=prod"))
        .await;
    assert_eq!(v["totalCount"], "0");
    // The `prod` application lists its tasks under `prod` only.
    let docs = t.app_named("docs-site").await;
    let did = docs["id"].as_str().unwrap();
    let v = t
        .get(&format!("/api/flow/task/list?appId={did}&envName=prod"))
        .await;
    assert_ne!(v["totalCount"], "0");
    assert_eq!(v["result"][0]["env_name"], "prod");
    // Nov ignores envName.
    let n = T::new(Era::Nov).await;
    let v = n
        .get(&format!("/api/flow/task/list?appId={id}&envName=nope"))
        .await;
    assert_eq!(v["totalCount"], "37");
}

#[tokio::test]
async fn old_tasks_have_no_logs() {
    for era in ERAS {
        let t = T::new(era).await;
        let app = t.app_named("shop-api").await;
        let v = t.tasks(app["id"].as_str().unwrap(), "&pageSize=100").await;
        let rows = v["result"].as_array().unwrap().clone();
        let now_ms = 1_767_261_600_000i64;
        let old: Vec<&Value> = rows
            .iter()
            .filter(|r| now_ms - r["created_time"].as_i64().unwrap() > 30 * 86_400_000)
            .collect();
        assert_eq!(old.len(), 3);
        for r in old {
            let tid = r["id"].as_str().unwrap();
            t.log_missing(tid, &counts(r)[1]).await;
        }
        // A recent finished task has its logs, the first step's id is "0".
        let c = counts(&rows[0]);
        assert_eq!(c[0], "0");
        assert!(
            t.log(rows[0]["id"].as_str().unwrap(), &c[1])
                .await
                .ends_with('\n')
        );
    }
}

#[tokio::test]
async fn steps_ids_times_and_logs_that_exist_once_a_step_ended() {
    for era in ERAS {
        let t = T::new(era).await;
        let app = t.app_named("shop-api").await;
        let app_id = app["id"].as_str().unwrap();
        let v = t
            .post(
                "/api/flow/dispatch/manual",
                json!({"appId": app_id, "ref": "refs/heads/main", "inputs": {"REGION": "cn-hangzhou"}}),
            )
            .await;
        let rid = v["x-fc-request-id"].as_str().unwrap();
        assert_eq!(rid.len(), 36);
        let id = v["taskId"].as_str().unwrap().to_string();
        let task = t.task(&id).await;
        assert_eq!(task["status"], "pending");
        assert!(task.get("trigger_type").is_none() && task.get("repo_name").is_none());
        assert_eq!(task["branch"], "main");
        assert_eq!(task.get("env_name").is_some(), era == Era::Jan);
        let names: Vec<&str> = task["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["run"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Set up task",
                "Checkout",
                "Install",
                "Test",
                "Deploy",
                "Notify"
            ]
        );
        let c = counts(&task);
        assert_eq!(c[0], "0");
        let nums: Vec<u64> = c[1..].iter().map(|s| s.parse().unwrap()).collect();
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{c:?}");
        assert_ne!(
            nums[0], 1,
            "opaque ids that continue across tasks, not 1..n"
        );
        let listed = t.tasks(app_id, "").await;
        assert_eq!(listed["result"][0]["id"], id.as_str());
        let detail = t
            .get(&format!("/api/flow/application/detail?id={app_id}"))
            .await;
        let lt = match era {
            Era::Nov => detail["latest_task"].clone(),
            Era::Jan => detail["environment"]["default"]["latest_task"].clone(),
        };
        assert_eq!(lt["taskId"], id.as_str());
        assert_eq!(lt["completed"], false);

        // Walk the clock: a step that runs (or has not started) has no log; one second after
        // it is seen ended its whole log is there and stays the same.
        let mut ended_at: Vec<Option<f64>> = vec![None; 6];
        let mut finals: Vec<Option<String>> = vec![None; 6];
        let mut clock = 0.0;
        while clock < 200.0 {
            t.advance(0.5).await;
            clock += 0.5;
            let task = t.task(&id).await;
            for (i, s) in task["steps"].as_array().unwrap().iter().enumerate() {
                match s["status"].as_str().unwrap() {
                    "pending" | "running" => {
                        assert!(s.get("process_time").is_none(), "{s}");
                        t.log_missing(&id, &c[i]).await;
                    }
                    _ => {
                        let pt = s["process_time"].as_f64().unwrap();
                        assert!(pt >= 1.0, "{s}");
                        assert_eq!((pt * 100.0).round(), pt * 100.0, "two decimals: {pt}");
                        let seen = *ended_at[i].get_or_insert(clock);
                        if clock >= seen + 1.0 {
                            let text = t.log(&id, &c[i]).await;
                            assert!(text.ends_with('\n'));
                            match &finals[i] {
                                Some(f) => assert_eq!(f, &text, "final"),
                                None => finals[i] = Some(text),
                            }
                        }
                    }
                }
            }
            if task["status"] == "success" && finals.iter().all(Option::is_some) {
                break;
            }
        }
        assert!(finals.iter().all(Option::is_some), "{era}: {finals:?}");
        let install = finals[2].as_deref().unwrap();
        assert!(install.contains("input REGION=cn-hangzhou"), "{install:?}");
        assert!(install.contains('\r'), "Install redraws with \\r");
        // A second task's ids continue the counter.
        let id2 = t.dispatch(app_id, json!({})).await;
        let c2 = counts(&t.task(&id2).await);
        assert_eq!(c2[0], "0");
        assert!(
            c2[1].parse::<u64>().unwrap() > *nums.last().unwrap(),
            "{c2:?}"
        );
    }
}

#[tokio::test]
async fn dispatch_validation_refs_and_commit_defaults() {
    for era in ERAS {
        let t = T::new(era).await;
        let app = t.app_named("web-portal").await;
        let app_id = app["id"].as_str().unwrap();
        let m = "/api/flow/dispatch/manual";
        let r = t.post_raw(m, json!({"ref": "refs/heads/main"})).await;
        t.fails(r, Kind::Early, "appId 必填").await;
        for body in [
            json!({"appId": app_id}),
            json!({"appId": app_id, "ref": null}),
        ] {
            let r = t.post_raw(m, body).await;
            t.fails(r, Kind::Early, "ref 必填").await;
        }
        let r = t
            .post_raw(m, json!({"appId": app_id, "ref": "refs/heads/nope"}))
            .await;
        t.fails(r, Kind::Thrown, "ref refs/heads/nope not found")
            .await;
        let r = t
            .post_raw(
                m,
                json!({"appId": "zzzzzzzzzzzzzzzz", "ref": "refs/heads/main"}),
            )
            .await;
        t.fails(r, Kind::Early, "没有查到应用信息").await;
        // An empty ref is accepted: the default branch (§11 R12).
        let e = t.dispatch(app_id, json!({"ref": ""})).await;
        assert_eq!(t.task(&e).await["ref"], "refs/heads/main");
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
}

#[tokio::test]
async fn cancel_redeploy_and_remove() {
    for era in ERAS {
        let t = T::new(era).await;
        let app = t.app_named("order-service").await;
        let app_id = app["id"].as_str().unwrap();
        let id = t.dispatch(app_id, json!({})).await;
        // Run until Set up task is over and Checkout runs.
        for _ in 0..20 {
            t.advance(1.0).await;
            if t.task(&id).await["steps"][1]["status"] == "running" {
                break;
            }
        }
        t.advance(1.5).await;
        let c = counts(&t.task(&id).await);
        let setup_log = t.log(&id, &c[0]).await;
        assert_eq!(
            t.post("/api/flow/dispatch/cancel", json!({"taskId": id}))
                .await,
            json!({})
        );
        t.advance(30.0).await;
        let task = t.task(&id).await;
        assert_eq!(task["status"], "cancelled");
        let st: Vec<&str> = task["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            st,
            [
                "success",
                "cancelled",
                "pending",
                "pending",
                "pending",
                "pending"
            ]
        );
        assert!(
            task["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.get("process_time").is_none()),
            "a cancel removes process_time: {task}"
        );
        assert_eq!(
            t.log(&id, &c[0]).await,
            setup_log,
            "ended steps keep their log"
        );
        t.log_missing(&id, &c[1]).await;
        let detail = t
            .get(&format!("/api/flow/application/detail?id={app_id}"))
            .await;
        let lt = match era {
            Era::Nov => &detail["latest_task"],
            Era::Jan => &detail["environment"]["default"]["latest_task"],
        };
        assert_eq!(lt["completed"], true);
        assert_eq!(lt["status"], "cancelled");
        // Cancel of a finished task: the Function Compute client's words (§11 R13).
        let r = t
            .post_raw("/api/flow/dispatch/cancel", json!({"taskId": id}))
            .await;
        t.fails(
            r,
            Kind::Thrown,
            &format!(
                "StatefulAsyncInvocationAlreadyCompleted: the stateful async invocation {id} has already completed"
            ),
        )
        .await;
        let r = t.post_raw("/api/flow/dispatch/cancel", json!({})).await;
        t.fails(r, Kind::Early, "taskId 必填").await;
        // Redeploy: a new task with the old trigger payload.
        let new = t
            .post("/api/flow/dispatch/redeploy", json!({"taskId": id}))
            .await["taskId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(new, id);
        let (old, nt) = (t.task(&id).await, t.task(&new).await);
        assert_eq!(nt["redelivery"], id.as_str());
        assert_eq!(nt["status"], "pending");
        for k in ["commit", "ref", "message", "app_id"] {
            assert_eq!(nt[k], old[k], "{k}");
        }
        let r = t
            .post_raw(
                "/api/flow/dispatch/redeploy",
                json!({"taskId": "nope000000000000"}),
            )
            .await;
        t.fails(r, Kind::Thrown, "没有查到部署信息").await;
        // task/remove (§11 R15), then the task is gone.
        let r = t
            .post_raw("/api/flow/task/remove", json!({"taskId": new}))
            .await;
        let whole: Value = r.json().await.unwrap();
        match era {
            Era::Nov => assert_eq!(whole, json!({"success": true, "data": {}})),
            Era::Jan => assert_eq!(whole, json!({"success": true, "data": {}, "code": 200})),
        }
        let r = t
            .post_raw("/api/flow/task/remove", json!({"taskId": new}))
            .await;
        t.fails(r, Kind::Thrown, "没有查到部署信息").await;
        let r = t.get_raw(&format!("/api/flow/task/get?taskId={new}")).await;
        t.fails(r, Kind::Thrown, "没有查到部署信息").await;
        let r = t.get_raw("/api/flow/task/get").await;
        t.fails(r, Kind::Invalid, "TaskId is empty").await;
        let r = t.get_raw(&format!("/api/flow/task/log?taskId={id}")).await;
        t.fails(r, Kind::Invalid, "StepCount is empty").await;
    }
}

#[tokio::test]
async fn flaky_and_tolerant_outcomes() {
    for era in ERAS {
        let t = T::new(era).await;
        let flaky = t.app_named("checkout-flaky").await;
        let fid = flaky["id"].as_str().unwrap();
        let total: u64 = t.tasks(fid, "").await["totalCount"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // Find the next task index that is a multiple of 3.
        let mut n = total + 1;
        let last = loop {
            let id = t.dispatch(fid, json!({})).await;
            let last = t.run_to_end(&id).await;
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
        assert_eq!(
            st,
            [
                "success", "success", "success", "failure", "skipped", "success"
            ]
        );
        assert_eq!(last["steps"][4]["process_time"], json!(0), "skipped: 0");
        let id = last["id"].as_str().unwrap();
        let c = counts(&last);
        t.log_missing(id, &c[4]).await;
        assert!(t.log(id, &c[3]).await.contains("failed"));

        let tol = t.app_named("search-tolerant").await;
        let id = t.dispatch(tol["id"].as_str().unwrap(), json!({})).await;
        let task = t.run_to_end(&id).await;
        assert_eq!(task["status"], "success");
        assert_eq!(task["steps"][3]["status"], "error-with-continue");
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens, faults, determinism, the era switch
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tokens_routes() {
    for era in ERAS {
        let t = T::new(era).await;
        let tok = t
            .post(
                "/api/tokens/create",
                json!({"description": "ci", "expiration": 60_000}),
            )
            .await["cd_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(tok.len(), 40);
        assert!(tok.chars().all(|c| c.is_ascii_alphanumeric()));
        let list_as = |tok: String| {
            let t = &t;
            async move {
                t.raw(
                    reqwest::Method::GET,
                    "/api/flow/application/list",
                    Some(&tok),
                    None,
                )
                .await
            }
        };
        t.data(list_as(tok.clone()).await).await;
        let list = t.get("/api/tokens/list").await;
        let rows = list.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert!(!list.to_string().contains(&tok), "secret omitted");
        t.advance(61.0).await;
        let r = list_as(tok.clone()).await;
        let body = r.text().await.unwrap();
        assert!(body.contains("token 已过期"), "{era}: {body}");
        let id = rows.iter().find(|r| r["description"] == "ci").unwrap()["id"].clone();
        t.post("/api/tokens/update", json!({"id": id, "expiration": -1}))
            .await;
        t.data(list_as(tok.clone()).await).await;
        t.post("/api/tokens/delete", json!({"id": id})).await;
        if era == Era::Nov {
            let body = list_as(tok.clone()).await.text().await.unwrap();
            assert!(body.contains("token 不存在"), "{body}");
        }
    }
}

#[tokio::test]
async fn fault_table() {
    for era in ERAS {
        let t = T::new(era).await;
        let path = "/api/flow/application/list";
        // error_rate: a SystemError envelope, an HTML 500 and a 502 gateway page, in turn.
        t.faults(json!({"serverless-cd.error_rate": 1})).await;
        let mut kinds = Vec::new();
        for _ in 0..3 {
            let r = t.get_raw(path).await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if body.contains("SystemError") {
                let v: Value = serde_json::from_str(&body).unwrap();
                match era {
                    Era::Nov => {
                        assert_eq!(status, 500);
                        assert_eq!(v, json!({"success": false, "message": "SystemError"}));
                    }
                    Era::Jan => {
                        assert_eq!(status, 200);
                        assert_eq!(
                            v,
                            json!({"code": 500, "success": false, "message": "SystemError"})
                        );
                    }
                }
                kinds.push("envelope");
            } else if status == 500 {
                assert!(body.contains("<pre>Error: Internal Server Error"));
                kinds.push("html");
            } else {
                assert_eq!(status, 502);
                assert!(body.contains("502 Bad Gateway"));
                kinds.push("gateway");
            }
        }
        kinds.sort_unstable();
        assert_eq!(kinds, ["envelope", "gateway", "html"]);
        // rate_limit: 429 + Retry-After (a code in Jan only).
        t.faults(json!({"serverless-cd.rate_limit": 1, "retry_after": 7}))
            .await;
        let r = t.get_raw(path).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "7");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v.get("code").is_some(), era == Era::Jan);
        // malformed: 200 JSON cut mid-body.
        t.faults(json!({"serverless-cd.malformed_rate": 1})).await;
        let r = t.get_raw(path).await;
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
        // expire_tokens_at: from then on `token 已过期`, as the era says it.
        t.faults(json!({"serverless-cd.expire_tokens_at": "10s"}))
            .await;
        t.get(path).await;
        t.advance(10.0).await;
        let r = t.get_raw(path).await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert!(body.contains("token 已过期"));
        match era {
            Era::Nov => assert_eq!(status, 500),
            Era::Jan => assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap(),
                json!({"success": false, "message": "token 已过期"})
            ),
        }
    }
}

#[tokio::test]
async fn truncate_fault_cuts_logs_mid_line() {
    let t = T::new(Era::Nov).await;
    let app = t.app_named("shop-api").await;
    let id = t.dispatch(app["id"].as_str().unwrap(), json!({})).await;
    let task = t.run_to_end(&id).await;
    let c = counts(&task);
    let whole = t.log(&id, &c[1]).await;
    t.faults(json!({"serverless-cd.truncate_rate": 1})).await;
    for _ in 0..5 {
        let cut = t.log(&id, &c[1]).await;
        assert!(whole.starts_with(&cut) && cut.len() < whole.len());
        assert!(!cut.ends_with('\n'), "ends mid-line: {cut:?}");
    }
}

#[tokio::test]
async fn deterministic_from_the_seed_and_demo_activity() {
    let a = T::new(Era::Nov).await;
    let b = T::new(Era::Nov).await;
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
    assert_eq!(d.task(tid).await["status"], "pending");
}

#[tokio::test]
async fn the_era_is_switched_by_a_control_route() {
    let mut t = T::new(Era::Nov).await;
    let era_url = t.sim.url("__sim/serverless-cd/era");
    let v: Value = t
        .http
        .get(&era_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"era": "nov"}));
    let path = "/api/flow/application/list";
    assert!(t.apps().await[0].get("environment").is_none());
    let r = t
        .http
        .put(&era_url)
        .json(&json!({"era": "jan"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    t.era = Era::Jan;
    assert!(t.apps().await[0].get("environment").is_some());
    let v: Value = t
        .raw(reqwest::Method::GET, path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["message"], "need login");
    // A reset keeps the era; a bad value is refused.
    let r = t.http.post(t.sim.url("__sim/reset")).send().await.unwrap();
    assert!(r.status().is_success());
    let v: Value = t
        .http
        .get(&era_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"era": "jan"}));
    let r = t
        .http
        .put(&era_url)
        .json(&json!({"era": "mar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(t.sim.serverless_cd_era, Era::Nov, "the era it started with");
}

#[test]
fn simulate_help_offers_the_era() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(["simulate", "--help"])
        .output()
        .expect("shipdeck runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("--serverless-cd-era"), "{text}");
    assert!(text.contains("nov") && text.contains("jan"), "{text}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(["simulate", "--serverless-cd-era", "mar"])
        .output()
        .expect("shipdeck runs");
    assert!(!bad.status.success());
}
