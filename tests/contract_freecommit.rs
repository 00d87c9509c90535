//! The Free Commit client against the built-in simulator (`shared/api/freecommit.md`):
//! login and roles, pagination with the `last_page` quirk, filters, sorting, secrets without
//! values, transparent re-login, and every fault turned into the right `ApiError`.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{advance, client, set_faults, start_proxy, start_sim};
use secrecy::SecretString;
use serde_json::json;
use shipdeck::api::freecommit::FreeCommit;
use shipdeck::api::{ApiError, Backend};
use shipdeck::config::{Credential, Profile};
use shipdeck::domain::{Kind, ListQuery, Page, Resource, Sort};
use std::collections::HashSet;
use std::future::Future;

fn q(page: u32, per_page: u32) -> ListQuery {
    ListQuery {
        page,
        per_page,
        filter: None,
        sort: None,
    }
}

/// Every page of a list, walked like the CLI does (stop on `!has_more`), ids in order.
async fn walk<T, F, Fut>(per_page: u32, fetch: F) -> Vec<T>
where
    F: Fn(ListQuery) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut all = Vec::new();
    for page in 1..=100 {
        let p = fetch(q(page, per_page)).await.expect("page");
        assert!(p.items.len() <= per_page as usize);
        all.extend(p.items);
        if !p.has_more {
            return all;
        }
    }
    panic!("more than 100 pages: has_more never turned false");
}

#[tokio::test]
async fn admin_login_names_user_roles_and_offers_every_list() {
    let sim = start_sim("").await;
    let url = url::Url::parse(&sim.url("freecommit")).unwrap();
    let mut profile = Profile::new("ci", Kind::Freecommit, url);
    profile.username = Some("admin".into());
    profile.password = Some(Credential::Inline(SecretString::from("admin")));
    let fc = FreeCommit::new(&profile).expect("client");

    let s = fc.login().await.expect("admin logs in");
    assert_eq!(s.user.name, "admin");
    assert!(s.user.roles.iter().any(|r| r == "ROLE_ADMIN"), "{s:?}");
    assert!(s.user.roles.iter().any(|r| r == "ROLE_DEVELOPER"), "{s:?}");
    for r in [
        Resource::Projects,
        Resource::Developers,
        Resource::Secrets,
        Resource::Builds,
    ] {
        assert!(s.caps.list(r).is_some(), "admin should be offered {r:?}");
    }
    assert!(s.caps.list(Resource::Releases).is_none());
    assert!(
        s.caps.why_not(Resource::Releases).contains("release"),
        "{:?}",
        s.caps.missing
    );
}

#[tokio::test]
async fn proxy_prefixed_base_url_works_too() {
    // §1/§9: the same router is mounted at /freecommit/api-free-commit.
    let sim = start_sim("").await;
    let fc = client(
        &format!("{}/api-free-commit", sim.url("freecommit")),
        "alice",
        "alice",
    );
    let s = fc.login().await.expect("alice logs in");
    assert_eq!(s.user.name, "alice");
    assert_eq!(fc.projects(&q(1, 20)).await.unwrap().items.len(), 20);
}

#[tokio::test]
async fn wrong_password_is_auth_error_naming_the_user() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "alice", "not-alices-password");
    let err = fc.login().await.expect_err("wrong password must fail");
    let ApiError::Auth(text) = &err else {
        panic!("expected ApiError::Auth, got {err:?}");
    };
    assert!(text.contains("alice"), "{text}");
    assert!(
        !text.contains("not-alices-password"),
        "password leaked: {text}"
    );
    assert_eq!(err.exit_code(), 3);
}

#[tokio::test]
async fn unknown_user_is_auth_error_with_the_servers_sentence() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "ghost", "boo");
    let err = fc.login().await.expect_err("unknown user must fail");
    let ApiError::Auth(text) = &err else {
        panic!("expected ApiError::Auth, got {err:?}");
    };
    assert!(
        text.contains("The user with username ghost was not found"),
        "{text}"
    );
    assert_eq!(err.exit_code(), 3);
}

#[tokio::test]
async fn admin_only_account_logs_in_but_is_offered_no_list_and_told_why() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "opsonly", "opsonly");
    let s = fc.login().await.expect("opsonly logs in");
    assert_eq!(s.user.name, "opsonly");
    assert_eq!(s.user.roles, vec!["ROLE_ADMIN".to_string()]);
    assert!(s.caps.lists.is_empty(), "{:?}", s.caps.lists);
    for r in [
        Resource::Projects,
        Resource::Developers,
        Resource::Secrets,
        Resource::Builds,
    ] {
        assert!(s.caps.list(r).is_none());
        let why = s.caps.why_not(r);
        assert!(why.contains("ROLE_DEVELOPER"), "{r:?}: {why}");
    }
    // And the server indeed refuses the list (no hierarchy between the roles).
    let err = fc.projects(&q(1, 20)).await.expect_err("403");
    assert!(matches!(err, ApiError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn projects_pages_of_twenty() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");

    let p1 = fc.projects(&q(1, 20)).await.unwrap();
    assert_eq!(
        (p1.items.len(), p1.page, p1.has_more, p1.total),
        (20, 1, true, Some(47))
    );
    let p2 = fc.projects(&q(2, 20)).await.unwrap();
    assert_eq!((p2.items.len(), p2.page, p2.has_more), (20, 2, true));
    let p3 = fc.projects(&q(3, 20)).await.unwrap();
    assert_eq!(
        (p3.items.len(), p3.has_more, p3.total),
        (7, false, Some(47))
    );
    let p4 = fc.projects(&q(4, 20)).await.unwrap();
    assert!(p4.items.is_empty(), "{:?}", p4.items);
    assert!(!p4.has_more);

    let ids: HashSet<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.items.iter().map(|x| x.id.clone()))
        .collect();
    assert_eq!(ids.len(), 47, "pages overlap");
}

#[tokio::test]
async fn developers_exact_multiple_follows_the_last_page_quirk() {
    // 20 developers at 20 per page: the server says last_page 2; the client must not trust
    // that, but it cannot know either, so page 1 says has_more and page 2 is empty.
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    let p1 = fc.developers(&q(1, 20)).await.unwrap();
    assert_eq!(p1.items.len(), 20);
    assert!(p1.has_more);
    let p2 = fc.developers(&q(2, 20)).await.unwrap();
    assert!(p2.items.is_empty(), "{:?}", p2.items);
    assert!(!p2.has_more);
}

#[tokio::test]
async fn walking_every_page_gives_each_row_once() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    let fc = &fc;
    for per_page in [20, 5] {
        let projects = walk(per_page, |q| async move { fc.projects(&q).await }).await;
        let developers = walk(per_page, |q| async move { fc.developers(&q).await }).await;
        let secrets = walk(per_page, |q| async move { fc.secrets(&q).await }).await;
        for (what, ids, want) in [
            (
                "projects",
                projects.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
                47,
            ),
            (
                "developers",
                developers.iter().map(|x| x.id.clone()).collect(),
                20,
            ),
            (
                "secrets",
                secrets.iter().map(|x| x.id.clone()).collect(),
                12,
            ),
        ] {
            let distinct: HashSet<&String> = ids.iter().collect();
            assert_eq!(ids.len(), want, "{what} at {per_page}/page: {ids:?}");
            assert_eq!(distinct.len(), want, "{what} at {per_page}/page repeat ids");
        }
    }
}

#[tokio::test]
async fn filter_narrows_projects_on_the_server() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    let query = ListQuery {
        page: 1,
        per_page: 100,
        filter: Some("api".into()),
        sort: None,
    };
    let page = fc.projects(&query).await.unwrap();
    assert!(!page.has_more);
    let got: HashSet<String> = page.items.iter().map(|p| p.name.clone()).collect();
    assert!(!got.is_empty());
    assert!(got.len() < 47, "filter ignored: {} rows", got.len());
    for name in &got {
        assert!(name.to_lowercase().contains("api"), "{name}");
    }
    // Exactly the fixture names containing "api".
    let want: HashSet<String> = shipdeck::sim::freecommit::PROJECT_NAMES
        .iter()
        .filter(|n| n.to_lowercase().contains("api"))
        .map(|n| n.to_string())
        .collect();
    assert_eq!(got, want);

    // A filter nothing matches: an empty, final page.
    let none = fc
        .projects(&ListQuery {
            filter: Some("zzz-no-such-project".into()),
            ..query
        })
        .await
        .unwrap();
    assert!(none.items.is_empty() && !none.has_more);
}

#[tokio::test]
async fn sort_by_name_both_ways_across_pages() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    for ascending in [true, false] {
        let mut names = Vec::new();
        for page in 1..=3 {
            let p = fc
                .projects(&ListQuery {
                    page,
                    per_page: 20,
                    filter: None,
                    sort: Some(Sort {
                        field: "name",
                        ascending,
                    }),
                })
                .await
                .unwrap();
            names.extend(p.items.into_iter().map(|p| p.name.to_lowercase()));
        }
        assert_eq!(names.len(), 47);
        let mut sorted = names.clone();
        sorted.sort();
        if !ascending {
            sorted.reverse();
        }
        assert_eq!(names, sorted, "ascending={ascending}");
    }
}

#[tokio::test]
async fn secrets_never_carry_a_value_and_four_are_public() {
    let sim = start_sim("").await;
    let base = sim.url("freecommit");
    let fc = client(&base, "admin", "admin");
    let page = fc.secrets(&q(1, 20)).await.unwrap();
    assert_eq!(page.items.len(), 12);
    assert!(!page.has_more);
    let public = page.items.iter().filter(|s| s.scope == "PUBLIC").count();
    assert_eq!(public, 4);
    assert!(
        page.items
            .iter()
            .all(|s| s.scope == "PUBLIC" || s.scope == "PRIVATE")
    );

    let ids: Vec<String> = page.items.iter().map(|s| s.id.clone()).collect();
    let values = common::admin_secret_values(&base, &ids).await;
    for s in &page.items {
        let v = serde_json::to_value(s).unwrap();
        let obj = v.as_object().expect("a secret serialises as an object");
        assert!(!obj.contains_key("value"), "{v}");
        let text = format!("{v} {s:?}");
        for secret in &values {
            assert!(!text.contains(secret.as_str()), "value leaked in {text}");
        }
    }
}

#[tokio::test]
async fn a_valid_token_is_reused_not_renewed_on_every_call() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let fc = client(&proxy.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    fc.projects(&q(1, 20)).await.unwrap();
    fc.developers(&q(1, 20)).await.unwrap();
    fc.secrets(&q(1, 20)).await.unwrap();
    assert_eq!(
        proxy.count("/auth/token"),
        1,
        "one login for four calls within the token's life: {:?}",
        proxy.paths()
    );
}

#[tokio::test]
async fn expired_token_mid_session_is_renewed_transparently() {
    // Tokens live 5 simulated minutes; the client's 60 s margin is well inside that.
    let sim = start_sim("freecommit.token_ttl=300s").await;
    let proxy = start_proxy(&sim).await;
    let fc = client(&proxy.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    assert_eq!(fc.projects(&q(1, 20)).await.unwrap().items.len(), 20);
    assert_eq!(proxy.count("/auth/token"), 1);

    advance(&sim, 301.0).await;
    let p = fc
        .projects(&q(1, 20))
        .await
        .expect("re-login is transparent");
    assert_eq!(p.items.len(), 20);
    assert_eq!(
        proxy.count("/auth/token"),
        2,
        "the 401 must trigger exactly one new login: {:?}",
        proxy.paths()
    );
    // Old token answered 401 once, the replay succeeded.
    assert_eq!(proxy.count("/developer/paginations/project"), 3);

    // And the fresh token keeps working without further logins.
    fc.secrets(&q(1, 20)).await.unwrap();
    assert_eq!(proxy.count("/auth/token"), 2);
}

#[tokio::test]
async fn tokens_revoked_by_expire_tokens_at_are_renewed_transparently() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let fc = client(&proxy.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    fc.developers(&q(1, 20)).await.unwrap();

    // Every token issued so far dies 10 simulated seconds after the simulator started.
    set_faults(&sim, json!({"freecommit.expire_tokens_at": "10s"})).await;
    advance(&sim, 11.0).await;
    let p = fc
        .developers(&q(1, 20))
        .await
        .expect("re-login is transparent");
    assert_eq!(p.items.len(), 20);
    assert_eq!(proxy.count("/auth/token"), 2, "{:?}", proxy.paths());
}

#[tokio::test]
async fn server_errors_become_server_errors_with_a_message() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    set_faults(&sim, json!({"freecommit.error_rate": 1})).await;
    // The fault alternates 500 JSON, 502 and 503 text; whatever the retries end on is a
    // Server error carrying the server's words.
    for _ in 0..3 {
        let err = fc.projects(&q(1, 20)).await.expect_err("500");
        let ApiError::Server { status, message } = &err else {
            panic!("expected ApiError::Server, got {err:?}");
        };
        assert!(*status >= 500, "{err:?}");
        assert!(
            message.contains("INTERNAL_SERVER_ERROR")
                || message.contains("Bad Gateway")
                || message.contains("Service Unavailable"),
            "{message}"
        );
        assert_eq!(err.exit_code(), 1);
    }
}

#[tokio::test]
async fn first_server_error_is_a_500_that_is_not_retried() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let fc = client(&proxy.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    set_faults(&sim, json!({"freecommit.error_rate": 1})).await;
    let err = fc.projects(&q(1, 20)).await.expect_err("500");
    assert_eq!(
        err,
        ApiError::Server {
            status: 500,
            message: "internal server error (INTERNAL_SERVER_ERROR)".into()
        }
    );
    assert_eq!(proxy.count("/developer/paginations/project"), 1);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_not_a_panic() {
    let sim = start_sim("").await;
    let fc = client(&sim.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    set_faults(&sim, json!({"freecommit.malformed_rate": 1})).await;
    for _ in 0..5 {
        let err = fc.projects(&q(1, 20)).await.expect_err("cut body");
        assert!(matches!(err, ApiError::Decode(_)), "{err:?}");
        let err = fc.secrets(&q(1, 20)).await.expect_err("cut body");
        assert!(matches!(err, ApiError::Decode(_)), "{err:?}");
    }
    // A fresh client: the token reply itself is cut.
    let fresh = client(&sim.url("freecommit"), "admin", "admin");
    let err = fresh.login().await.expect_err("cut token reply");
    assert!(matches!(err, ApiError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn rate_limited_reads_retry_then_give_up_with_rate_limited() {
    let sim = start_sim("").await;
    let proxy = start_proxy(&sim).await;
    let fc = client(&proxy.url("freecommit"), "admin", "admin");
    fc.login().await.unwrap();
    set_faults(
        &sim,
        json!({"freecommit.rate_limit": 1, "freecommit.retry_after": 0}),
    )
    .await;
    let err = fc.projects(&q(1, 20)).await.expect_err("429");
    assert_eq!(err, ApiError::RateLimited);
    assert_eq!(
        proxy.count("/developer/paginations/project"),
        common::fast_policy().tries as usize,
        "each try hit the server: {:?}",
        proxy.paths()
    );
}

#[tokio::test]
async fn retry_after_is_honoured_before_the_next_try() {
    let sim = start_sim("").await;
    let http = shipdeck::api::http::Http::with_base(
        &sim.url("freecommit"),
        std::time::Duration::from_secs(10),
        None,
        false,
    )
    .unwrap()
    .with_policy(shipdeck::api::http::RetryPolicy {
        tries: 2,
        first_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(1),
        max_retry_after: std::time::Duration::from_secs(5),
    });
    let fc = FreeCommit::with_http(
        http,
        "admin",
        Credential::Inline(SecretString::from("admin")),
    );
    fc.login().await.unwrap();
    set_faults(
        &sim,
        json!({"freecommit.rate_limit": 1, "freecommit.retry_after": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    let err = fc.developers(&q(1, 20)).await.expect_err("429");
    assert_eq!(err, ApiError::RateLimited);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "Retry-After: 1 ignored ({:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    // A port that was free a moment ago and now has no listener.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fc = client(
        &format!("http://127.0.0.1:{port}/freecommit"),
        "admin",
        "admin",
    );
    let err = fc.login().await.expect_err("nobody listens");
    assert!(matches!(err, ApiError::Network(_)), "{err:?}");
    assert!(err.is_connectivity());
    assert_eq!(err.exit_code(), 1);
    let err = fc.projects(&q(1, 20)).await.expect_err("nobody listens");
    assert!(matches!(err, ApiError::Network(_)), "{err:?}");
}

/// Raw JSON of the simulator's fixtures, as the server sends them (read once).
struct Fixture {
    pages: Vec<(&'static str, serde_json::Value)>,
    history: serde_json::Value,
    project: serde_json::Value,
    queued: serde_json::Value,
    running: serde_json::Value,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        common::mutate::with_sim(async |sim| {
            let base = sim.url("freecommit");
            let http = reqwest::Client::new();
            let tok: serde_json::Value = http
                .post(format!("{base}/auth/token"))
                .json(&json!({"auth": {"username": "admin", "password": "admin"}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let tok = tok["access_token"].as_str().unwrap().to_string();
            let get = async |path: &str| -> serde_json::Value {
                http.get(format!("{base}{path}"))
                    .bearer_auth(&tok)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap()
            };
            for p in [1, 2, 4] {
                let r = http
                    .post(format!("{base}/developer/builds/{p}"))
                    .bearer_auth(&tok)
                    .json(&json!({"build": {"ignore_steps": []}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
            advance(sim, 6.0).await;
            let mut pages = Vec::new();
            for route in ["project", "developer", "secret"] {
                pages.push((
                    route,
                    get(&format!("/developer/paginations/{route}?per_page=100")).await,
                ));
            }
            Fixture {
                pages,
                history: get("/developer/builds/by/project/1").await,
                project: get("/developer/projects/1").await,
                queued: get("/developer/builds/queueds").await,
                running: get("/developer/builds/executeds").await,
            }
        })
    })
}

/// The envelope with mutated top-level fields around a mutated `data` list.
fn mutated_page(
    m: &common::mutate::Mutations,
    page: &serde_json::Value,
    enums: &[&str],
) -> (serde_json::Value, common::mutate::Mutated) {
    let rows = page["data"].as_array().unwrap();
    assert!(rows.len() >= 3, "fixture rows: {}", rows.len());
    let list = m.apply(rows, enums);
    let mut top = page.clone();
    top.as_object_mut().unwrap().remove("data");
    let mut top = m.apply_one(&top, &[]);
    top["data"] = serde_json::Value::Array(list.list.clone());
    (top, list)
}

mod tolerant_decoding {
    use super::common::mutate::{int, mutations, strings, text};
    use super::*;
    use proptest::prelude::*;
    use shipdeck::api::freecommit::decode;
    use shipdeck::domain::BuildStatus;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Issue 9: every valid row of the three paginations survives numbers as strings,
        /// unknown fields, undocumented role/scope values and a garbage row.
        #[test]
        fn pages_keep_every_valid_row(m in mutations()) {
            let f = fixture();
            for (route, page) in &f.pages {
                match *route {
                    "project" => {
                        let (top, rows) = mutated_page(&m, page, &[]);
                        let (got, total) = decode::projects_page(top.clone()).unwrap();
                        prop_assert_eq!(total, int(&top["total"]).map(|t| t as u64));
                        prop_assert_eq!(got.len(), rows.valid.len());
                        for (p, src) in got.iter().zip(&rows.valid) {
                            prop_assert_eq!(Some(p.id.clone()), text(&src["project_id"]));
                            prop_assert_eq!(Some(p.name.clone()), text(&src["project_name"]));
                            prop_assert_eq!(
                                p.last_build.as_ref().and_then(|b| b.exit_code),
                                int(&src["build_last_exit_code"])
                            );
                            prop_assert_eq!(
                                p.last_build.as_ref().map(|b| b.at.is_some()),
                                int(&src["build_last_exit_code"]).map(|_| true)
                            );
                        }
                    }
                    "developer" => {
                        let (top, rows) = mutated_page(&m, page, &["user_role"]);
                        let (got, _) = decode::developers_page(top).unwrap();
                        prop_assert_eq!(got.len(), rows.valid.len());
                        for (d, src) in got.iter().zip(&rows.valid) {
                            prop_assert_eq!(Some(d.id.clone()), text(&src["developer_id"]));
                            prop_assert_eq!(Some(d.username.clone()), text(&src["user_username"]));
                            prop_assert_eq!(&d.roles, &text(&src["user_role"]).into_iter().collect::<Vec<_>>());
                        }
                    }
                    _ => {
                        let (top, rows) = mutated_page(&m, page, &["secret_scope"]);
                        let (got, _) = decode::secrets_page(top).unwrap();
                        prop_assert_eq!(got.len(), rows.valid.len());
                        for (s, src) in got.iter().zip(&rows.valid) {
                            prop_assert_eq!(Some(s.id.clone()), text(&src["secret_id"]));
                            prop_assert_eq!(Some(s.name.clone()), text(&src["secret_name"]));
                            prop_assert_eq!(Some(s.scope.clone()), text(&src["secret_scope"]));
                            prop_assert!(s.value.is_none());
                        }
                    }
                }
            }
        }

        /// Issue 9: queue, running list, a project's history and its skippable steps.
        #[test]
        fn builds_runs_and_steps_keep_every_valid_row(m in mutations()) {
            let f = fixture();
            for (list, running) in [(&f.queued, false), (&f.running, true)] {
                let rows = m.apply(list.as_array().unwrap(), &[]);
                prop_assert!(!rows.valid.is_empty());
                let got = decode::runs(serde_json::Value::Array(rows.list.clone()), running);
                prop_assert_eq!(got.len(), rows.valid.len());
                for (b, src) in got.iter().zip(&rows.valid) {
                    prop_assert_eq!(Some(b.id.clone()), text(&src["executor_id"]));
                    prop_assert_eq!(Some(b.project.clone()), text(&src["project_name"]));
                    let want = if running { BuildStatus::Running } else { BuildStatus::Queued };
                    prop_assert_eq!(b.status, want);
                    prop_assert_eq!(b.started_at.is_some(), running);
                }
            }
            let rows = m.apply(f.history.as_array().unwrap(), &[]);
            let got = decode::finished_builds(serde_json::Value::Array(rows.list.clone()), "billing-api");
            prop_assert_eq!(got.len(), rows.valid.len());
            for (b, src) in got.iter().zip(&rows.valid) {
                prop_assert_eq!(Some(b.id.clone()), text(&src["id"]));
                prop_assert_eq!(b.exit_code, int(&src["exit_code"]));
                prop_assert_ne!(b.status, BuildStatus::Unknown);
                prop_assert!(b.queued_at.is_some() && b.finished_at.is_some());
            }
            let project = m.apply_one(&f.project, &[]);
            let want: Vec<String> = strings(&project["available_steps"])
                .into_iter()
                .filter(|s| s != "@cleanup")
                .collect();
            prop_assert_eq!(decode::skippable_steps(project).unwrap(), want);
        }
    }

    #[test]
    fn a_page_that_is_not_an_object_is_a_decode_error() {
        for v in [json!([]), json!("x"), json!(null)] {
            let e = decode::projects_page(v).unwrap_err();
            assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
        }
        // An envelope with odd `data` is an empty page, not an error.
        let (rows, total) = decode::projects_page(json!({"total": "3", "data": "oops"})).unwrap();
        assert!(rows.is_empty());
        assert_eq!(total, Some(3));
    }
}
