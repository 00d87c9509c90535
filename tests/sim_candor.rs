//! The Candor simulator over raw HTTP (`shared/api/candor.md`, §9 decisions): cookie login,
//! visibility, runs and exit codes, log sentinels, archives, the trigger's outcomes, the
//! runner's auth, held `/run` and byte ranges, `runner_down`, and the fault table.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, set_faults, start_sim};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shipdeck::sim::SimHandle;
use std::time::Duration;

fn client() -> reqwest::Client {
    shipdeck::api::http::install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

fn d(h: &SimHandle, path: &str) -> String {
    format!("{}{path}", h.url("candor"))
}

fn r(h: &SimHandle, path: &str) -> String {
    format!("{}{path}", h.url("candor-runner"))
}

async fn login(c: &reqwest::Client, h: &SimHandle, user: &str) -> reqwest::Response {
    c.post(d(h, "/login"))
        .json(&json!({"username": user, "password": user}))
        .send()
        .await
        .unwrap()
}

async fn get_json(c: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let resp = c.get(url).send().await.unwrap();
    let s = resp.status();
    let body = resp.bytes().await.unwrap();
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn text(resp: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let s = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (s, ct, resp.text().await.unwrap())
}

async fn set_options(h: &SimHandle, v: Value) {
    let resp = client()
        .put(h.url("__sim/candor/options"))
        .json(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn login_sets_the_session_cookie_and_me_names_the_user() {
    let h = start_sim("").await;
    let c = client();
    let (s, _, body) = text(c.get(d(&h, "/me")).send().await.unwrap()).await;
    assert_eq!((s.as_u16(), body.as_str()), (401, "Unauthorized"));

    let resp = login(&c, &h, "demouser").await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("connect.sid="), "{cookie}");
    // §11 R11: `Expires` (30 days ahead) and no `Max-Age`.
    for attr in ["Path=/", "HttpOnly", "Expires="] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    let expires = cookie
        .split("; ")
        .find_map(|a| a.strip_prefix("Expires="))
        .unwrap();
    let expires = chrono::DateTime::parse_from_rfc2822(&expires.replace("GMT", "+0000")).unwrap();
    let ahead = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!((29..=30).contains(&ahead.num_days()), "{cookie}: {ahead:?}");
    let (s, ct, body) = text(resp).await;
    assert_eq!((s.as_u16(), body.as_str()), (200, "OK"));
    assert!(ct.unwrap().starts_with("text/plain"));
    let (s, me) = get_json(&c, &d(&h, "/me")).await;
    assert_eq!(s, 200);
    assert_eq!(me, json!({"id": 1, "name": "demouser"}));
    // Logging in again while logged in is fine.
    assert_eq!(login(&c, &h, "demouser").await.status(), 200);

    let bad = c
        .post(d(&h, "/login"))
        .json(&json!({"username": "demouser", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(text(bad).await.2, "Unauthorized");
    let missing = c
        .post(d(&h, "/login"))
        .json(&json!({"username": "demouser"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    // A body that is not JSON: body-parser's HTML page, stack trace and server paths included
    // (clients must not repeat it).
    let (s, ct, body) = text(
        c.post(d(&h, "/login"))
            .header("content-type", "application/json")
            .body("{\"username\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(ct.unwrap().starts_with("text/html"));
    assert!(
        body.contains("<pre>SyntaxError") && body.contains("/node_modules/"),
        "{body}"
    );

    let out = c.post(d(&h, "/logout")).send().await.unwrap();
    assert_eq!(text(out).await.2, "OK");
    assert_eq!(c.get(d(&h, "/me")).send().await.unwrap().status(), 401);
    // Logout with no session is still 200.
    assert_eq!(
        client()
            .post(d(&h, "/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn private_pipelines_are_403_not_401_and_hidden_from_the_list() {
    let h = start_sim("").await;
    let anon = client();
    let (_, list) = get_json(&anon, &d(&h, "/api/pipelines")).await;
    assert_eq!(ids(&list), [1, 2, 3, 4]);
    let (s, _, body) = text(anon.get(d(&h, "/api/pipelines/5")).send().await.unwrap()).await;
    assert_eq!((s.as_u16(), body.as_str()), (403, "Forbidden"));
    let (s, detail) = get_json(&anon, &d(&h, "/api/pipelines/2")).await;
    assert_eq!(s, 200);
    assert_eq!(detail["trigger"], "hidden");
    assert_eq!(detail["assigned"], false);
    let (s, _, body) = text(anon.get(d(&h, "/api/pipelines/99")).send().await.unwrap()).await;
    assert_eq!((s.as_u16(), body.as_str()), (404, "Not Found"));
    // §11 R1, R2: a trailing slash is the list; a non-numeric id crashes the dashboard (the
    // connection closes), on every route that takes one.
    let (s, slash) = get_json(&anon, &d(&h, "/api/pipelines/")).await;
    assert_eq!((s.as_u16(), ids(&slash)), (200, vec![1, 2, 3, 4]));
    let (s, detail2) = get_json(&anon, &d(&h, "/api/pipelines/2/")).await;
    assert_eq!((s.as_u16(), detail2["id"].as_i64()), (200, Some(2)));
    for path in [
        "/api/pipelines/abc",
        "/api/pipelines/web-build/config",
        "/api/pipelines/1.0",
        "/api/pipelines/99999999999",
        "/api/runs/abc/last/log",
        "/api/runs/x/deadbeef/archived?file=a",
    ] {
        assert!(
            anon.get(d(&h, path)).send().await.is_err(),
            "{path} must crash the dashboard"
        );
    }
    let (s, _, body) = text(
        anon.get(d(&h, "/api/pipelines//config"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404, "an empty id matches no route");
    assert!(body.contains("Cannot GET"), "{body}");

    let demo = client();
    login(&demo, &h, "demouser").await;
    let (_, list) = get_json(&demo, &d(&h, "/api/pipelines")).await;
    assert_eq!(ids(&list), [1, 2, 3, 4, 5, 6, 7]);
    let (_, detail) = get_json(&demo, &d(&h, "/api/pipelines/5")).await;
    assert_eq!(detail["assigned"], true);
    assert_eq!(detail["public"], false);
    assert_eq!(detail["trigger"].as_str().unwrap().len(), 32);
    assert_eq!(detail["assignees"], json!(["demouser"]));
    // gpu-bench and docs are assigned to nobody: 403 even logged in.
    assert_eq!(
        demo.get(d(&h, "/api/pipelines/8"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let viewer = client();
    login(&viewer, &h, "viewer").await;
    let (_, list) = get_json(&viewer, &d(&h, "/api/pipelines")).await;
    assert_eq!(ids(&list), [1, 2, 3, 4]);
    let resp = viewer
        .get(d(&h, "/api/pipelines/2/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "config needs an assignment");
    // Route misses are Express's page.
    let (s, ct, body) = text(anon.get(d(&h, "/api/nope")).send().await.unwrap()).await;
    assert_eq!(s, 404);
    assert!(ct.unwrap().starts_with("text/html"));
    assert!(body.contains("<pre>Cannot GET /api/nope</pre>"), "{body}");
}

#[tokio::test]
async fn cookies_expire_per_token_ttl_and_expire_tokens_at() {
    let h = start_sim("candor.token_ttl=30s").await;
    let c = client();
    login(&c, &h, "demouser").await;
    assert_eq!(
        c.get(d(&h, "/api/pipelines/5"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    advance(&h, 31.0).await;
    assert_eq!(c.get(d(&h, "/me")).send().await.unwrap().status(), 401);
    assert_eq!(
        c.get(d(&h, "/api/pipelines/5"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        c.get(d(&h, "/api/pipelines/2"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (_, list) = get_json(&c, &d(&h, "/api/pipelines")).await;
    assert_eq!(ids(&list), [1, 2, 3, 4], "private ones silently vanish");
    login(&c, &h, "demouser").await;
    assert_eq!(c.get(d(&h, "/me")).send().await.unwrap().status(), 200);

    let h = start_sim("candor.expire_tokens_at=10s").await;
    let c = client();
    login(&c, &h, "demouser").await;
    advance(&h, 10.0).await;
    assert_eq!(c.get(d(&h, "/me")).send().await.unwrap().status(), 401);
    login(&c, &h, "demouser").await;
    assert_eq!(
        c.get(d(&h, "/me")).send().await.unwrap().status(),
        200,
        "issued after the cut"
    );
}

#[tokio::test]
async fn list_and_detail_carry_runs_stages_and_exit_codes() {
    let h = start_sim("").await;
    let c = client();
    login(&c, &h, "demouser").await;
    let (_, list) = get_json(&c, &d(&h, "/api/pipelines")).await;
    let hello = &list[3];
    assert_eq!(hello["name"], "hello-world");
    for k in ["status", "stages", "lastSuccess", "lastFailure", "running"] {
        assert!(hello.get(k).is_none(), "hello-world has no {k}: {hello}");
    }
    let integ = &list[2];
    assert_eq!(integ["status"], "Failed");
    assert_eq!(integ["stages"], json!(["Passed", "Failed", "Skipped"]));
    assert!(integ["lastFailure"].is_i64() && integ.get("lastSuccess").is_none());
    assert!(list[0]["lastSuccess"].is_i64(), "lint passes sometimes");

    let (_, lint) = get_json(&c, &d(&h, "/api/pipelines/1")).await;
    let runs = lint["lastRuns"].as_array().unwrap();
    assert_eq!(runs.len(), 5, "15 runs, 5 visible");
    let finishes: Vec<i64> = runs.iter().map(|r| r["finish"].as_i64().unwrap()).collect();
    assert!(finishes.windows(2).all(|w| w[0] >= w[1]), "{finishes:?}");
    for r in runs {
        assert_eq!(r["id"].as_str().unwrap().len(), 8);
        assert!(r["start"].as_i64().unwrap() < r["finish"].as_i64().unwrap());
    }
    let (_, integ) = get_json(&c, &d(&h, "/api/pipelines/3")).await;
    let codes: Vec<i64> = integ["lastRuns"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["exitCode"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [0, 1, -1]);
    let (_, e2e) = get_json(&c, &d(&h, "/api/pipelines/7")).await;
    assert_eq!(e2e["lastRuns"][0]["stages"][2]["exitCode"], -3);
    assert_eq!(e2e["lastRuns"][0]["stages"][2]["status"], "Failed");
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    assert_eq!(
        web["lastRuns"][0]["archived"],
        json!(["dist.tar.gz", "coverage.xml"])
    );
    let (_, notes) = get_json(&c, &d(&h, "/api/pipelines/6")).await;
    assert_eq!(notes["requiredParameters"], json!(["BRANCH", "VERSION"]));
    assert_eq!(notes["running"], false);
    // Same seed, same fixtures.
    let h2 = start_sim("").await;
    let (_, list2) = get_json(&client(), &d(&h2, "/api/pipelines")).await;
    let (_, list1) = get_json(&client(), &d(&h, "/api/pipelines")).await;
    assert_eq!(list1, list2);
}

#[tokio::test]
async fn run_logs_have_headers_sentinels_and_no_content_type() {
    let h = start_sim("").await;
    let c = client();
    let (_, lint) = get_json(&c, &d(&h, "/api/pipelines/1")).await;
    let last = lint["lastRuns"][0]["id"].as_str().unwrap().to_string();
    let resp = c.get(d(&h, "/api/runs/1/last/log")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("content-type").is_none());
    let by_last = resp.text().await.unwrap();
    let by_id = c
        .get(d(&h, &format!("/api/runs/1/{last}/log")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(by_last, by_id);
    assert!(by_id.starts_with("**************** [1/1] ****************\n"));
    assert!(
        by_id
            .trim_end()
            .ends_with("Process exited with status code 0")
            || by_id.contains("status code 1")
    );

    let deleted = lint["lastRuns"][1]["id"].as_str().unwrap();
    let (s, ct, body) = text(
        c.get(d(&h, &format!("/api/runs/1/{deleted}/log")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), ct, body.as_str()),
        (200, None, "No log could be found (deleted on server)")
    );
    let (s, _, body) = text(
        c.get(d(&h, "/api/runs/1/deadbeef/log"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s.as_u16(), body.as_str()), (404, "No log could be found"));
    // §11 R5: every run is reachable by id, not only the last 5; under another pipeline the
    // same id is 404.
    let fixture =
        shipdeck::sim::candor::state::State::new(1, shipdeck::sim::clock::MANUAL_EPOCH_NS, false);
    let oldest = &fixture.pipelines[0].runs[0];
    assert!(
        !lint["lastRuns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == oldest.id.as_str()),
        "the oldest of 15 runs is not among the last 5"
    );
    let (s, _, old_log) = text(
        c.get(d(&h, &format!("/api/runs/1/{}/log", oldest.id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert!(old_log.starts_with("**************** [1/1] ****************\n"));
    let (s, _, body) = text(
        c.get(d(&h, &format!("/api/runs/2/{}/log", oldest.id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s.as_u16(), body.as_str()), (404, "No log could be found"));
    let (_, ct, _) = text(
        c.get(d(&h, "/api/runs/1/deadbeef/log"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(ct.unwrap().starts_with("text/html"), "§11 R11");
    assert_eq!(
        c.get(d(&h, "/api/runs/5/last/log"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // The integration log: three headers, a blank line before the 2nd and 3rd.
    let log = c
        .get(d(&h, "/api/runs/3/last/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // §11 R4: no blank line between stages, the closing sentence's newline is the next
    // header's, the file ends without one.
    assert!(log.contains("\n**************** [2/3] ****************\n"));
    assert!(!log.contains("\n\n"), "{log}");
    assert!(log.ends_with(
        "Process exited with status code 1\n**************** [3/3] ****************\nSkipped"
    ));
    assert!(log.contains('\u{1b}'), "some lines carry ANSI SGR");
    // Some stage output has no newline of its own: it is glued to the closing sentence.
    let mut glued = false;
    for id in 1..=3 {
        let log = c
            .get(d(&h, &format!("/api/runs/{id}/last/log")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        glued |= log.lines().any(|l| {
            l.len() > "Process exited".len()
                && l.contains("Process exited")
                && !l.starts_with("Process")
        });
    }
    assert!(glued, "no glued closing sentence in the fixtures");
}

async fn trigger(c: &reqwest::Client, h: &SimHandle, token: &str) -> reqwest::RequestBuilder {
    c.post(d(h, &format!("/trigger/{token}")))
}

#[tokio::test]
async fn trigger_starts_hides_and_records_a_run_with_archives() {
    let h = start_sim("").await;
    let c = client();
    login(&c, &h, "demouser").await;
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    let token = web["trigger"].as_str().unwrap().to_string();
    let before: Vec<Value> = web["lastRuns"].as_array().unwrap().clone();

    let resp = trigger(&c, &h, &token)
        .await
        .json(&json!({"source": "Web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(text(resp).await.2, "OK");
    let (_, during) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    assert_eq!(during["running"], true);
    assert_eq!(during["lastRuns"], json!(before), "no record while running");
    let again = trigger(&c, &h, &token).await.send().await.unwrap();
    assert_eq!(text(again).await.2, "Bad Request");
    let last_log_before = c
        .get(d(&h, "/api/runs/2/last/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!last_log_before.is_empty());

    advance(&h, 120.0).await;
    let (_, after) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    assert_eq!(after["running"], false);
    let new = &after["lastRuns"][0];
    assert_ne!(new["id"], before[0]["id"]);
    assert_eq!(new["status"], "Passed");
    assert_eq!(new["archived"], json!(["dist.tar.gz", "coverage.xml"]));
    let rid = new["id"].as_str().unwrap();

    // Archives: stream and file modes, errors.
    let url = d(&h, &format!("/api/runs/2/{rid}/archived"));
    let stream = c
        .get(&url)
        .query(&[("file", "coverage.xml")])
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "application/octet-stream");
    let bytes = stream.bytes().await.unwrap();
    assert!(bytes.starts_with(b"<?xml"));
    let file = c
        .get(&url)
        .query(&[("file", "coverage.xml"), ("mode", "file")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        file.headers()["content-disposition"],
        "attachment; filename=\"coverage.xml\""
    );
    assert_eq!(file.bytes().await.unwrap(), bytes, "same bytes either way");
    assert_eq!(c.get(&url).send().await.unwrap().status(), 400);
    assert_eq!(
        c.get(&url)
            .query(&[("file", "coverage.xml"), ("mode", "zip")])
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let (s, _, body) = text(
        c.get(&url)
            .query(&[("file", "nope.bin")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), body.as_str()),
        (404, "No archive could be found")
    );
    let wiki = d(&h, &format!("/api/runs/2/{rid}/archive"));
    let (s, _, body) = text(
        c.get(&wiki)
            .query(&[("file", "coverage.xml")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    assert!(body.contains("Cannot GET"), "{body}");
    set_options(&h, json!({"wiki_routes": true})).await;
    let wiki_bytes = c
        .get(&wiki)
        .query(&[("file", "coverage.xml")])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(wiki_bytes, bytes);
}

#[tokio::test]
async fn trigger_outcomes_constraints_parameters_and_auth() {
    let h = start_sim("").await;
    let c = client();
    login(&c, &h, "demouser").await;
    let token_of = |v: &Value| v["trigger"].as_str().unwrap().to_string();
    let (_, deploy) = get_json(&c, &d(&h, "/api/pipelines/5")).await;
    let deploy_token = token_of(&deploy);
    let resp = trigger(&c, &h, &deploy_token).await.send().await.unwrap();
    assert_eq!(resp.status(), 204, "header constraint not met");
    let resp = trigger(&c, &h, &deploy_token)
        .await
        .header("X-Deploy-Key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = trigger(&c, &h, &deploy_token)
        .await
        .header("X-Deploy-Key", "letmein")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let (_, notes) = get_json(&c, &d(&h, "/api/pipelines/6")).await;
    let notes_token = token_of(&notes);
    let resp = c
        .post(d(&h, &format!("/trigger/{notes_token}?VERSION=1.2")))
        .json(&json!({"ref": "main"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    advance(&h, 60.0).await;
    let (_, notes) = get_json(&c, &d(&h, "/api/pipelines/6")).await;
    assert_eq!(notes["lastRuns"][0]["stages"][0]["name"], "notes 1.2");
    let log = c
        .get(d(&h, "/api/runs/6/last/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("$ echo building main"), "{log}");

    // Not assigned → 403; unknown token → 404; anonymous → 403.
    let viewer = client();
    login(&viewer, &h, "viewer").await;
    assert_eq!(
        trigger(&viewer, &h, &deploy_token)
            .await
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        trigger(&c, &h, "nope").await.send().await.unwrap().status(),
        404
    );
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    let anon = client();
    assert_eq!(
        trigger(&anon, &h, &token_of(&web))
            .await
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // The wiki's reading: the token alone.
    set_options(&h, json!({"trigger_auth": "token"})).await;
    assert_eq!(
        trigger(&anon, &h, &token_of(&web))
            .await
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.post(d(&h, "/trigger/whatever/github"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn config_read_and_write_validate_the_schema() {
    let h = start_sim("").await;
    let c = client();
    login(&c, &h, "demouser").await;
    let (s, cfg) = get_json(&c, &d(&h, "/api/pipelines/5/config")).await;
    assert_eq!(s, 200);
    assert_eq!(cfg["constrainHeaders"], json!({"X-Deploy-Key": "letmein"}));
    let mut new = cfg.clone();
    new["stages"][0]["name"] = json!("compile");
    let (_, v) = {
        let resp = c
            .post(d(&h, "/api/pipelines/5/config"))
            .json(&new)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json::<Value>().await.unwrap())
    };
    assert_eq!(v, json!({"valid": true}));
    let (_, saved) = get_json(&c, &d(&h, "/api/pipelines/5/config")).await;
    assert_eq!(saved["stages"][0]["name"], "compile");
    for bad in [
        json!({"stages": [{"name": "", "image": "x"}]}),
        json!({"stages": [], "extra": 1}),
        json!({"archive": []}),
    ] {
        let resp = c
            .post(d(&h, "/api/pipelines/5/config"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.json::<Value>().await.unwrap(),
            json!({"valid": false}),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn runner_auth_held_run_and_byte_ranges() {
    let h = start_sim("").await;
    let c = client();
    let (s, ct, body) = text(c.get(r(&h, "/")).send().await.unwrap()).await;
    assert_eq!((s.as_u16(), body.as_str()), (200, "OK"), "§11 R11");
    assert!(ct.unwrap().starts_with("text/plain"));
    let plan = json!({"stages": [
        {"name": "one", "image": "alpine", "script": ["echo hi"]},
        {"name": "two", "image": "alpine", "script": ["exit 3"]},
    ]});
    let body = json!({"plan": plan});
    // §11 R6: the real runner checks no token: a wrong one or none gets past it.
    let (s, _, page) = text(
        c.get(r(&h, "/logs/ffffffffffff"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404, "past the (absent) token check: no such log");
    assert!(
        page.contains("/home/candor/runner/logs/ffffffffffff"),
        "{page}"
    );
    assert_eq!(
        c.get(r(&h, "/logs/ffffffffffff"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // The check, when a runner does make it (`runner_auth = "bearer"`).
    set_options(&h, json!({"runner_auth": "bearer"})).await;
    assert_eq!(
        c.post(r(&h, "/run"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.post(r(&h, "/run"))
            .bearer_auth("wrong")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let auth = |rb: reqwest::RequestBuilder| rb.bearer_auth("runner-demo-token");
    assert_eq!(
        auth(c.post(r(&h, "/run")))
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status(),
        415
    );
    assert_eq!(
        auth(c.post(r(&h, "/run")))
            .json(&json!({"plan": {"stages": [{"name": "x"}]}}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let held = tokio::spawn(
        auth(client().post(r(&h, "/run")))
            .json(&json!({"runId": "abc123", "plan": plan}))
            .send(),
    );
    // The log appears at once and grows with the clock.
    let log_url = r(&h, "/logs/abc123");
    let mut first = Vec::new();
    for _ in 0..200 {
        let resp = auth(c.get(&log_url)).send().await.unwrap();
        if resp.status() == 200 {
            assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
            first = resp.bytes().await.unwrap().to_vec();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(first.starts_with(b"**************** [1/2] ****************\n"));
    let held_len = first.len();
    let none = auth(c.get(&log_url))
        .header("range", format!("bytes={held_len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 416);
    advance(&h, 3.0).await;
    let more = auth(c.get(&log_url))
        .header("range", format!("bytes={held_len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(more.status(), 206);
    let range = more.headers()["content-range"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(range.starts_with(&format!("bytes {held_len}-")), "{range}");
    let new = more.bytes().await.unwrap();
    assert!(!new.is_empty() && new.ends_with(b"\n"));
    assert!(!held.is_finished(), "/run is held while the run goes on");

    advance(&h, 60.0).await;
    let outcome: Value = held.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(outcome["status"], "Failed");
    assert_eq!(
        outcome["stages"][1],
        json!({"name": "two", "status": "Failed", "exitCode": 3})
    );
    assert!(outcome.get("archived").is_none());
    let full = auth(c.get(&log_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        full.ends_with("Process exited with status code 3"),
        "{full}"
    );

    // Malicious ids, missing files, route misses.
    let resp = auth(c.get(r(&h, "/logs/..%2Fetc"))).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.bytes().await.unwrap().is_empty());
    let (s, ct, body) = text(
        auth(c.get(r(&h, "/logs/ffffffffffff")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    assert!(ct.unwrap().starts_with("text/html"));
    // §11 R11: the page names the server's log file.
    assert!(
        body.contains("<pre>Error: ENOENT: no such file or directory, stat &#39;/home/candor/runner/logs/ffffffffffff&#39;</pre>"),
        "{body}"
    );
    let (s, _, body) = text(auth(c.post(&log_url)).send().await.unwrap()).await;
    assert_eq!(s, 404);
    assert!(
        body.contains("<pre>Cannot POST /logs/abc123</pre>"),
        "{body}"
    );
    set_options(&h, json!({"wiki_routes": true})).await;
    assert_eq!(auth(c.post(&log_url)).send().await.unwrap().status(), 200);
    assert_eq!(
        c.get(&log_url).send().await.unwrap().status(),
        400,
        "no header"
    );
    // Back to the real runner: a run with a wrong token is accepted and executes.
    set_options(&h, json!({"runner_auth": "none"})).await;
    let held = tokio::spawn(
        client()
            .post(r(&h, "/run"))
            .bearer_auth("certainly-not-the-token")
            .json(
                &json!({"runId": "abc124", "plan": {"stages": [{"name": "a", "image": "alpine"}]}}),
            )
            .send(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !held.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "/run was not answered"
        );
        advance(&h, 30.0).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outcome: Value = held.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(outcome["status"], "Passed");
}

#[tokio::test]
async fn archive_names_are_decoded_twice_and_runner_failures_have_no_stages() {
    let h = start_sim("").await;
    let c = client();
    login(&c, &h, "demouser").await;
    // web-build archives names with `%`, `+`, a space and a non-ASCII letter.
    let (_, mut cfg) = get_json(&c, &d(&h, "/api/pipelines/2/config")).await;
    cfg["archive"] = json!(["out/50%off.txt", "out/a b+c.txt", "out/ü.xml"]);
    let v: Value = c
        .post(d(&h, "/api/pipelines/2/config"))
        .json(&cfg)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"valid": true}));
    // A config write moves the row to the end of the storage order (§11 R11).
    let (_, list) = get_json(&c, &d(&h, "/api/pipelines")).await;
    assert_eq!(ids(&list), [1, 3, 4, 5, 6, 7, 2]);
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    let token = web["trigger"].as_str().unwrap().to_string();
    assert_eq!(
        trigger(&c, &h, &token).await.send().await.unwrap().status(),
        200
    );
    advance(&h, 120.0).await;
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    let run = &web["lastRuns"][0];
    assert_eq!(run["archived"], json!(["50%off.txt", "a b+c.txt", "ü.xml"]));
    let base = d(
        &h,
        &format!("/api/runs/2/{}/archived", run["id"].as_str().unwrap()),
    );
    // Encoded twice: every name comes back.
    for q in ["50%2525off.txt", "a%2520b%252Bc.txt", "%25C3%25BC.xml"] {
        let resp = c.get(format!("{base}?file={q}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{q}");
    }
    // Encoded once: `50%25off` decodes to `50%off`, whose lone `%` crashes the dashboard.
    assert!(
        c.get(format!("{base}?file=50%25off.txt"))
            .send()
            .await
            .is_err()
    );
    // `mode=file`: a type by extension and the UTF-8 name.
    let resp = c
        .get(format!("{base}?file=%25C3%25BC.xml&mode=file"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/xml");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"?.xml\"; filename*=UTF-8''%C3%BC.xml"
    );
    let (s, ct, body) = text(c.get(format!("{base}?file=nope.txt")).send().await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), body.as_str()),
        (404, "No archive could be found")
    );
    assert!(ct.unwrap().starts_with("text/html"), "§11 R11");

    // §11 R3: an image that cannot be pulled fails inside the runner: `stages: []` in the
    // detail (and `archived: []`), no `stages` in the list entry.
    let (_, mut cfg) = get_json(&c, &d(&h, "/api/pipelines/3/config")).await;
    cfg["stages"][0]["image"] = json!("registry.example.com/does-not-exist:1");
    c.post(d(&h, "/api/pipelines/3/config"))
        .json(&cfg)
        .send()
        .await
        .unwrap();
    let (_, integ) = get_json(&c, &d(&h, "/api/pipelines/3")).await;
    let token = integ["trigger"].as_str().unwrap().to_string();
    assert_eq!(
        trigger(&c, &h, &token).await.send().await.unwrap().status(),
        200
    );
    advance(&h, 30.0).await;
    let (_, integ) = get_json(&c, &d(&h, "/api/pipelines/3")).await;
    let run = &integ["lastRuns"][0];
    assert_eq!(
        (&run["status"], &run["stages"], &run["archived"]),
        (&json!("Error"), &json!([]), &json!([]))
    );
    for older in integ["lastRuns"].as_array().unwrap() {
        assert!(
            older["stages"].is_array() && older["archived"].is_array(),
            "{older}"
        );
    }
    let (_, list) = get_json(&c, &d(&h, "/api/pipelines")).await;
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == 3)
        .unwrap();
    assert_eq!(entry["status"], "Error");
    assert!(entry.get("stages").is_none(), "{entry}");
}

#[tokio::test]
async fn runner_down_records_get_runner_and_breaks_the_log_route() {
    let h = start_sim("").await;
    let c = client();
    login(&c, &h, "demouser").await;
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    let token = web["trigger"].as_str().unwrap().to_string();
    set_faults(&h, json!({"candor.runner_down": true})).await;
    assert_eq!(c.get(r(&h, "/")).send().await.unwrap().status(), 503);
    assert_eq!(
        trigger(&c, &h, &token).await.send().await.unwrap().status(),
        200
    );
    let (_, web) = get_json(&c, &d(&h, "/api/pipelines/2")).await;
    assert_eq!(web["running"], false);
    assert_eq!(
        web["lastRuns"][0]["stages"],
        json!([{"name": "Get Runner", "status": "Failed", "exitCode": -1}])
    );
    assert_eq!(web["lastRuns"][0]["status"], "Failed");
    // §11 R9: the newest run ran without a runner, so `last` has no log (404), although older
    // runs do.
    let rid = web["lastRuns"][0]["id"].as_str().unwrap().to_string();
    let older = web["lastRuns"][1]["id"].as_str().unwrap().to_string();
    for path in [
        "/api/runs/2/last/log".to_string(),
        format!("/api/runs/2/{rid}/log"),
    ] {
        let (s, ct, body) = text(c.get(d(&h, &path)).send().await.unwrap()).await;
        assert_eq!(
            (s.as_u16(), body.as_str()),
            (404, "No log could be found"),
            "{path}"
        );
        assert!(ct.unwrap().starts_with("text/html"));
    }
    // A run with a runner log, while the runner is down: the dashboard's 200 sentinel.
    let (s, ct, body) = text(
        c.get(d(&h, &format!("/api/runs/2/{older}/log")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), ct, body.as_str()),
        (200, None, "An error occurred")
    );
    common::clear_faults(&h).await;
    let (s, _, body) = text(
        c.get(d(&h, &format!("/api/runs/2/{older}/log")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.starts_with("****"));
    assert_eq!(
        c.get(d(&h, "/api/runs/2/last/log"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn fault_table_in_candor_style() {
    let h = start_sim("").await;
    let c = client();
    set_faults(&h, json!({"candor.error_rate": 1})).await;
    let (s, _, body) = text(c.get(d(&h, "/api/pipelines")).send().await.unwrap()).await;
    assert_eq!((s.as_u16(), body.as_str()), (500, "Internal Server Error"));
    let (s, ct, body) = text(c.get(d(&h, "/api/runs/1/last/log")).send().await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), ct, body.as_str()),
        (200, None, "An error occurred")
    );

    set_faults(&h, json!({"candor.rate_limit": 1, "candor.retry_after": 7})).await;
    let resp = c.get(d(&h, "/api/pipelines")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");

    set_faults(&h, json!({"candor.malformed_rate": 1})).await;
    let body = c
        .get(d(&h, "/api/pipelines"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        serde_json::from_slice::<Value>(&body).is_err(),
        "cut mid-document"
    );
    let log = c
        .get(d(&h, "/api/runs/1/last/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.starts_with("****"), "non-JSON bodies are left alone");

    set_faults(&h, json!({"candor.reset_rate": 1})).await;
    assert!(c.get(d(&h, "/api/pipelines")).send().await.is_err());
    let plan =
        json!({"runId": "feed00000001", "plan": {"stages": [{"name": "a", "image": "alpine"}]}});
    let run = c
        .post(r(&h, "/run"))
        .bearer_auth("runner-demo-token")
        .json(&plan)
        .send()
        .await;
    assert!(run.is_err(), "the /run connection breaks");
    set_faults(&h, json!({"candor.truncate_rate": 1})).await;
    // ...but the run goes on: its log exists, and truncated replies are shorter.
    advance(&h, 30.0).await;
    let mut lens = Vec::new();
    for _ in 0..6 {
        let b = c
            .get(r(&h, "/logs/feed00000001"))
            .bearer_auth("runner-demo-token")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        lens.push(b.len());
    }
    common::clear_faults(&h).await;
    let full = c
        .get(r(&h, "/logs/feed00000001"))
        .bearer_auth("runner-demo-token")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(full.ends_with(b"Process exited with status code 0"));
    assert!(
        lens.iter().all(|l| *l < full.len()),
        "{lens:?} vs {}",
        full.len()
    );
}

#[tokio::test]
async fn hangs_spare_the_held_run_and_demo_mode_triggers_every_45s() {
    let h = start_sim("").await;
    set_faults(&h, json!({"candor.hang_rate": 1})).await;
    let plan =
        json!({"runId": "0123456789ab", "plan": {"stages": [{"name": "a", "image": "alpine"}]}});
    let run = tokio::spawn(
        client()
            .post(r(&h, "/run"))
            .bearer_auth("runner-demo-token")
            .json(&plan)
            .send(),
    );
    // Move the clock until the held run ends (the request may arrive after the first step;
    // every later step then finishes it). Polls with a deadline; no fixed wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !run.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "/run was not answered"
        );
        advance(&h, 30.0).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let resp = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("/run is exempt from hang_rate")
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200);

    let h = shipdeck::sim::start(shipdeck::sim::SimOptions {
        demo: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client();
    login(&c, &h, "demouser").await;
    let running = |c: reqwest::Client, h: String| async move {
        let mut n = 0;
        for id in [2, 3, 5, 6, 7] {
            let (_, v) = get_json(&c, &format!("{h}/api/pipelines/{id}")).await;
            n += usize::from(v["running"] == true);
        }
        n
    };
    assert_eq!(running(c.clone(), h.url("candor")).await, 0);
    advance(&h, 46.0).await;
    assert_eq!(
        running(c.clone(), h.url("candor")).await,
        1,
        "one demo trigger"
    );
}
