//! `update()` tests (action sequences → state and effects, no terminal, no network) and insta
//! snapshots of each pane drawn on ratatui's `TestBackend` at 80×24 and 160×48.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{Terminal, backend::TestBackend};
use shipdeck::api::ApiError;
use shipdeck::app::action::Mutation;
use shipdeck::app::state::{Conn, Overlay, PER_PAGE, Screen};
use shipdeck::app::{Action, Effect, Keymap, Listing, LogItem, ProfileInfo, State, update};
use shipdeck::domain::*;
use shipdeck::ui::{self, Themes};

fn wall() -> DateTime<Utc> {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn profiles() -> Vec<ProfileInfo> {
    vec![
        ProfileInfo {
            name: "ci".into(),
            kind: Kind::Freecommit,
            url: "https://ci.example.com/api-free-commit".into(),
            read_only: false,
            insecure: false,
            theme: None,
            protected_environments: vec![],
            web_url: None,
            notify: Default::default(),
        },
        ProfileInfo {
            name: "prod".into(),
            kind: Kind::Freecommit,
            url: "https://prod.example.com/".into(),
            read_only: true,
            insecure: false,
            theme: Some("red-prod".into()),
            protected_environments: vec!["production".into()],
            web_url: None,
            notify: Default::default(),
        },
    ]
}

fn caps(server_filter: bool) -> Capabilities {
    let s = |sort: &'static [&'static str]| ListSupport {
        paged: true,
        server_filter,
        sort_fields: sort,
        server_qualifiers: &[],
    };
    Capabilities {
        lists: vec![
            (Resource::Projects, s(&["id", "name"])),
            (Resource::Developers, s(&["name"])),
            (Resource::Secrets, s(&[])),
        ],
        builds: BuildSupport::default(),
        releases: Default::default(),
        missing: vec![],
    }
}

fn session(server_filter: bool) -> Session {
    Session {
        user: User {
            id: "1".into(),
            name: "admin".into(),
            roles: vec!["ROLE_ADMIN".into(), "ROLE_DEVELOPER".into()],
        },
        caps: caps(server_filter),
    }
}

const NAMES: [&str; 8] = [
    "billing-api",
    "web-shop",
    "search-indexer",
    "mobile-gateway",
    "ledger-core",
    "docs-site",
    "payments-worker",
    "image-resizer",
];

fn project(i: usize) -> Project {
    let status = [
        BuildStatus::Succeeded,
        BuildStatus::Failed,
        BuildStatus::Cancelled,
    ][i % 3];
    let code = [0, 208, 143][i % 3];
    Project {
        id: (100 - i).to_string(),
        name: format!("{}-{}", NAMES[i % NAMES.len()], i),
        description: None,
        last_build: (i % 5 != 4).then(|| LastBuild {
            status,
            raw: format!("exit {code}"),
            exit_code: Some(code),
            message: Some(["success", "a step failed", "aborted by user"][i % 3].into()),
            at: Some(wall() - Duration::minutes(37 * i as i64 + 3)),
        }),
    }
}

fn page<T>(items: Vec<T>, page: u32, per_page: u32, total: u64) -> Page<T> {
    let has_more = items.len() as u32 == per_page;
    Page {
        items,
        page,
        per_page,
        total: Some(total),
        has_more,
    }
}

fn projects_page(n: u32, per_page: u32, total: usize) -> Page<Project> {
    let start = ((n - 1) * per_page) as usize;
    let end = (start + per_page as usize).min(total);
    page(
        (start..end).map(project).collect(),
        n,
        per_page,
        total as u64,
    )
}

fn developers() -> Page<Developer> {
    let items = (1..=12)
        .map(|i| Developer {
            id: i.to_string(),
            username: ["admin", "alice", "bob", "carol", "dave", "erin"][i % 6].to_string()
                + &i.to_string(),
            email: (i % 4 != 0).then(|| format!("dev{i}@acme.test")),
            roles: vec![
                if i == 1 {
                    "ROLE_ADMIN"
                } else {
                    "ROLE_DEVELOPER"
                }
                .into(),
            ],
        })
        .collect();
    page(items, 1, 20, 12)
}

fn secrets() -> Page<Secret> {
    let items = [
        "DATABASE_URL",
        "STRIPE_API_KEY",
        "SENTRY_DSN",
        "NPM_TOKEN",
        "SMTP_PASSWORD",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| Secret {
        id: (i + 1).to_string(),
        name: n.to_string(),
        scope: if i % 2 == 0 { "PRIVATE" } else { "PUBLIC" }.into(),
        environment: (i % 2 == 0).then(|| "prod".to_string()),
        value: None,
    })
    .collect();
    page(items, 1, 20, 5)
}

/// A state logged in to profile `ci`, with the first page of projects loaded (total rows).
fn online(total: usize, server_filter: bool) -> (State, u64) {
    let mut s = State::new(profiles(), Keymap::default());
    s.wall = wall();
    s.theme_names = Themes::builtin().names();
    let _ = update(&mut s, Action::Resize { cols: 80, rows: 24 }, 0);
    let fx = update(&mut s, Action::SwitchProfile("ci".into()), 0);
    assert!(
        matches!(&fx[..], [Effect::LoadCache { profile, .. }, Effect::Connect { .. }] if profile == "ci"),
        "{fx:?}"
    );
    let epoch = connect_epoch(&fx);
    let fx = update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session(server_filter)),
        },
        10,
    );
    let req = fetch_req(&fx, Resource::Projects, 1, PER_PAGE);
    let fx = update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(projects_page(1, PER_PAGE, total))),
        },
        20,
    );
    assert!(
        without_cache(&fx).is_empty(),
        "20 rows fill an 80×24 screen: no prefetch, got {fx:?}"
    );
    // A fresh first page is kept for the next start.
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::SaveCache { profile, cache }
        if profile == "ci" && !cache.projects.is_empty()))
    );
    (s, epoch)
}

/// The epoch of the `Connect` in `fx` (a profile switch also asks for the cached rows).
fn connect_epoch(fx: &[Effect]) -> u64 {
    fx.iter()
        .find_map(|e| match e {
            Effect::Connect { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Connect in {fx:?}"))
}

/// Effects without the list-cache bookkeeping (written after every fresh first page) and the
/// lazy per-row asks for recent builds (tested on their own in `recent_builds_…`).
fn without_cache(fx: &[Effect]) -> Vec<Effect> {
    fx.iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::SaveCache { .. } | Effect::LoadCache { .. } | Effect::FetchRecent { .. }
            )
        })
        .cloned()
        .collect()
}

/// The request id of the single FetchList in `fx`, checking what it asks for.
fn fetch_req(fx: &[Effect], res: Resource, page: u32, per_page: u32) -> u64 {
    match &without_cache(fx)[..] {
        [
            Effect::FetchList {
                req,
                resource,
                query,
                ..
            },
        ] => {
            assert_eq!(
                (*resource, query.page, query.per_page),
                (res, page, per_page),
                "{query:?}"
            );
            *req
        }
        other => panic!("expected one FetchList of {res:?}, got {other:?}"),
    }
}

fn key(c: char) -> Action {
    Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn special(code: KeyCode) -> Action {
    Action::Input(KeyEvent::new(code, KeyModifiers::NONE))
}

// ---------------------------------------------------------------- update()

#[test]
fn login_then_first_page_then_next_page_on_scroll() {
    let (mut s, epoch) = online(47, true);
    assert_eq!(s.conn, Conn::Online);
    assert_eq!(s.lists.projects.rows.len(), 20);
    assert_eq!(s.lists.projects.total, Some(47));
    // Moving down near the end of the loaded rows asks for page 2, once.
    let mut fx = Vec::new();
    for _ in 0..5 {
        fx.extend(update(&mut s, Action::Down, 30));
    }
    let req = fetch_req(&fx, Resource::Projects, 2, PER_PAGE);
    // A duplicate row (the list shifted on the server) is kept once.
    let mut p2 = projects_page(2, PER_PAGE, 47);
    p2.items[0] = project(19);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(p2)),
        },
        40,
    );
    assert_eq!(s.lists.projects.rows.len(), 39);
    let ids: std::collections::HashSet<_> =
        s.lists.projects.rows.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids.len(), 39);
}

#[test]
fn a_server_that_ignores_the_page_number_is_not_followed_to_the_end() {
    let (mut s, epoch) = online(1_000, true);
    // `G`: every page up to the last one is fetched, one after another.
    let fx = update(&mut s, key('G'), 30);
    let req = fetch_req(&fx, Resource::Projects, 2, PER_PAGE);
    // The server answers page 2 with the rows of page 1.
    let fx = update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(projects_page(1, PER_PAGE, 1_000))),
        },
        40,
    );
    assert!(without_cache(&fx).is_empty(), "no page 3: {fx:?}");
    let l = &s.lists.projects;
    assert_eq!((l.rows.len(), l.has_more, l.total), (20, false, Some(20)));
    let toast = s.toast.as_ref().expect("said");
    assert!(
        toast.text.contains("page 2 brought no new rows"),
        "{}",
        toast.text
    );
}

#[test]
fn answers_for_an_old_profile_are_dropped() {
    let (mut s, old) = online(5, true);
    let fx = update(&mut s, Action::SwitchProfile("prod".into()), 50);
    assert_eq!(connect_epoch(&fx), old + 1);
    assert!(s.lists.projects.rows.is_empty());
    // The old profile's late answers change nothing.
    update(
        &mut s,
        Action::LoggedIn {
            epoch: old,
            result: Ok(session(true)),
        },
        60,
    );
    update(
        &mut s,
        Action::ListLoaded {
            epoch: old,
            req: 1,
            result: Ok(Listing::Projects(projects_page(1, 20, 5))),
        },
        60,
    );
    assert!(s.session.is_none());
    assert!(s.lists.projects.rows.is_empty());
    assert_eq!(s.conn, Conn::Connecting);
    assert!(s.read_only(), "prod is a read-only profile");
}

#[test]
fn a_failed_refresh_keeps_the_rows_marks_them_stale_and_retries_with_backoff() {
    let (mut s, epoch) = online(5, true);
    let fx = update(&mut s, Action::Refresh, 100);
    let req = fetch_req(&fx, Resource::Projects, 1, PER_PAGE);
    let err = ApiError::Network("connection failed: Connection refused".into());
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Err(err),
        },
        200,
    );
    let l = &s.lists.projects;
    assert_eq!(l.rows.len(), 5, "last good data stays");
    assert!(l.stale);
    assert!(l.error.as_deref().unwrap().contains("Connection refused"));
    assert!(matches!(s.conn, Conn::Offline { .. }));
    let retry_at = l.retry_at.expect("a retry is scheduled");
    assert_eq!(
        s.next_deadline(),
        Some(retry_at.min(s.toast.as_ref().map_or(u64::MAX, |t| t.until)))
    );
    assert!(
        update(&mut s, Action::Tick, retry_at - 1).is_empty(),
        "not due yet"
    );
    let fx = update(&mut s, Action::Tick, retry_at);
    let req = fetch_req(&fx, Resource::Projects, 1, PER_PAGE);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(projects_page(1, 20, 5))),
        },
        retry_at + 5,
    );
    assert!(!s.lists.projects.stale);
    assert_eq!(s.conn, Conn::Online);
}

#[test]
fn refresh_reloads_every_loaded_page_in_one_request() {
    let (mut s, epoch) = online(100, true);
    for n in 2..=3 {
        for _ in 0..20 {
            update(&mut s, Action::Down, 30);
        }
        let fx = update(&mut s, Action::Down, 30);
        let req = match &fx[..] {
            [] => s.lists.projects.loading.unwrap().0,
            _ => fetch_req(&fx, Resource::Projects, n, PER_PAGE),
        };
        update(
            &mut s,
            Action::ListLoaded {
                epoch,
                req,
                result: Ok(Listing::Projects(projects_page(n, 20, 100))),
            },
            40,
        );
    }
    assert_eq!(s.lists.projects.rows.len(), 60);
    let selected = s.lists.projects.selected_row().unwrap().id.clone();
    let fx = update(&mut s, Action::Refresh, 50);
    let req = fetch_req(&fx, Resource::Projects, 1, 60);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(projects_page(1, 60, 100))),
        },
        60,
    );
    assert_eq!(
        s.lists.projects.selected_row().unwrap().id,
        selected,
        "the user keeps their place"
    );
}

#[test]
fn a_superseded_answer_is_ignored() {
    let (mut s, epoch) = online(5, true);
    let first = fetch_req(
        &update(&mut s, Action::Refresh, 100),
        Resource::Projects,
        1,
        20,
    );
    let second = fetch_req(
        &update(&mut s, Action::Refresh, 110),
        Resource::Projects,
        1,
        20,
    );
    assert_ne!(first, second);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req: first,
            result: Ok(Listing::Projects(projects_page(1, 20, 2))),
        },
        120,
    );
    assert_eq!(s.lists.projects.rows.len(), 5, "old request ignored");
    assert!(s.lists.projects.loading.is_some());
}

#[test]
fn server_filter_is_sent_on_enter_and_cleared_by_esc() {
    let (mut s, epoch) = online(47, true);
    update(&mut s, Action::StartFilter, 100);
    assert!(matches!(s.overlay, Overlay::Filter { .. }));
    for c in "api".chars() {
        assert!(
            update(&mut s, key(c), 100).is_empty(),
            "typing asks nothing of the server"
        );
    }
    // While typing, loaded rows are narrowed locally as a preview.
    assert!(s.lists.projects.visible.len() < 20);
    let fx = update(&mut s, special(KeyCode::Enter), 110);
    let query = match &fx[..] {
        [Effect::FetchList { query, .. }] => query.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(query.filter.as_deref(), Some("api"));
    assert_eq!(query.page, 1);
    let req = s.lists.projects.loading.unwrap().0;
    let only = page(vec![project(0)], 1, 20, 1);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(only)),
        },
        120,
    );
    assert_eq!(s.lists.projects.visible.len(), 1);
    // Esc clears the filter and asks for the unfiltered list.
    let fx = update(&mut s, Action::Back, 130);
    match &fx[..] {
        [Effect::FetchList { query, .. }] => assert_eq!(query.filter, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn local_filter_narrows_loaded_rows_without_asking() {
    let (mut s, _) = online(20, false);
    update(&mut s, Action::StartFilter, 100);
    for c in "ledger".chars() {
        update(&mut s, key(c), 100);
    }
    let fx = update(&mut s, special(KeyCode::Enter), 100);
    assert!(fx.is_empty(), "no server filter: nothing is sent");
    let l = &s.lists.projects;
    assert!(!l.server_filter);
    assert!(!l.visible.is_empty());
    assert!(l.visible.iter().all(|&i| l.rows[i].name.contains("ledger")));
}

#[test]
fn palette_completes_and_runs_commands() {
    let (mut s, _) = online(5, true);
    update(&mut s, Action::OpenPalette, 100);
    for c in "sec".chars() {
        update(&mut s, key(c), 100);
    }
    update(&mut s, special(KeyCode::Tab), 100);
    match &s.overlay {
        Overlay::Palette { input, .. } => assert_eq!(input.lines().join(""), "secrets"),
        other => panic!("{other:?}"),
    }
    let fx = update(&mut s, special(KeyCode::Enter), 100);
    assert_eq!(s.pane, Resource::Secrets);
    fetch_req(&fx, Resource::Secrets, 1, 20);
    // Unknown commands and profiles say so.
    update(&mut s, Action::OpenPalette, 100);
    for c in "profile nope".chars() {
        update(&mut s, key(c), 100);
    }
    update(&mut s, special(KeyCode::Enter), 100);
    assert!(s.toast.as_ref().unwrap().text.contains("no profile `nope`"));
    // A later pane says it is not there yet instead of failing silently.
    update(&mut s, Action::OpenPalette, 100);
    for c in "nonsense".chars() {
        update(&mut s, key(c), 100);
    }
    update(&mut s, special(KeyCode::Enter), 100);
    assert!(s.toast.as_ref().unwrap().text.contains("unknown command"));
    // A pane this backend lacks says why.
    update(&mut s, Action::OpenPalette, 100);
    for c in "releases".chars() {
        update(&mut s, key(c), 100);
    }
    update(&mut s, special(KeyCode::Enter), 100);
    assert!(
        s.toast
            .as_ref()
            .unwrap()
            .text
            .contains("Releases unavailable"),
        "{:?}",
        s.toast
    );
    assert_eq!(s.pane, Resource::Secrets);
}

#[test]
fn a_pane_the_backend_lacks_is_not_offered_and_says_why() {
    let mut s = State::new(profiles(), Keymap::default());
    let fx = update(&mut s, Action::SwitchProfile("ci".into()), 0);
    let epoch = connect_epoch(&fx);
    let mut sess = session(true);
    sess.caps.lists.retain(|(r, _)| *r != Resource::Secrets);
    sess.caps
        .missing
        .push((Resource::Secrets, "this account cannot read secrets".into()));
    update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(sess),
        },
        5,
    );
    // The Audit pane is local: every profile has it.
    assert_eq!(
        s.panes(),
        vec![
            Resource::Projects,
            Resource::Developers,
            Resource::Audit,
            Resource::Overview
        ]
    );
    let fx = update(&mut s, Action::ShowPane(Resource::Secrets), 10);
    assert!(fx.is_empty());
    assert_eq!(s.pane, Resource::Projects);
    assert!(
        s.toast
            .as_ref()
            .unwrap()
            .text
            .contains("cannot read secrets")
    );
}

#[test]
fn bad_credentials_stop_without_a_retry_loop() {
    let mut s = State::new(profiles(), Keymap::default());
    let epoch = connect_epoch(&update(&mut s, Action::SwitchProfile("ci".into()), 0));
    update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Err(ApiError::Auth("wrong password for user `alice`".into())),
        },
        5,
    );
    assert!(matches!(&s.conn, Conn::AuthFailed(m) if m.contains("wrong password")));
    assert_eq!(s.next_deadline(), None, "nothing ticks");
    // A network failure at login retries by itself.
    let epoch = connect_epoch(&update(&mut s, Action::SwitchProfile("ci".into()), 10));
    update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Err(ApiError::Network("refused".into())),
        },
        20,
    );
    let Conn::Offline { retry_at, .. } = s.conn else {
        panic!("{:?}", s.conn)
    };
    let fx = update(&mut s, Action::Tick, retry_at);
    assert_eq!(fx, vec![Effect::Login { epoch }]);
}

#[test]
fn failed_logins_wait_longer_each_time_up_to_five_minutes() {
    let mut s = State::new(profiles(), Keymap::default());
    let epoch = connect_epoch(&update(&mut s, Action::SwitchProfile("ci".into()), 0));
    let mut now = 10;
    let mut waits = Vec::new();
    for _ in 0..12 {
        update(
            &mut s,
            Action::LoggedIn {
                epoch,
                result: Err(ApiError::Network("refused".into())),
            },
            now,
        );
        let Conn::Offline { retry_at, .. } = s.conn else {
            panic!("{:?}", s.conn)
        };
        waits.push((retry_at - now) / 1000);
        now = retry_at;
        // Nothing is tried before the wait is over.
        assert!(update(&mut s, Action::Tick, retry_at - 1).is_empty());
        assert_eq!(
            update(&mut s, Action::Tick, retry_at),
            vec![Effect::Login { epoch }]
        );
    }
    assert_eq!(
        waits,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300],
        "seconds between logins"
    );
}

#[test]
fn sort_cycles_columns_and_order() {
    let (mut s, _) = online(5, true);
    let fx = update(&mut s, Action::CycleSort, 100);
    match &fx[..] {
        [Effect::FetchList { query, .. }] => {
            assert_eq!(
                query.sort,
                Some(Sort {
                    field: "id",
                    ascending: true
                })
            )
        }
        other => panic!("{other:?}"),
    }
    let fx = update(&mut s, Action::ToggleSortOrder, 100);
    match &fx[..] {
        [Effect::FetchList { query, .. }] => {
            assert_eq!(
                query.sort,
                Some(Sort {
                    field: "id",
                    ascending: false
                })
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn idle_dashboard_only_wakes_for_the_refresh() {
    let (mut s, _) = online(5, true);
    s.toast = None;
    assert_eq!(s.next_deadline(), Some(20 + s.refresh_ms));
    let due = 20 + s.refresh_ms;
    let fx = update(&mut s, Action::Tick, due);
    fetch_req(&fx, Resource::Projects, 1, 20);
}

#[test]
fn enter_opens_a_detail_and_esc_goes_back() {
    let (mut s, _) = online(5, true);
    update(&mut s, Action::Down, 10);
    update(&mut s, Action::Open, 10);
    assert_eq!(
        s.breadcrumbs(),
        vec!["Projects".to_string(), project(1).name]
    );
    update(&mut s, Action::Back, 10);
    assert_eq!(s.breadcrumbs(), vec!["Projects".to_string()]);
}

#[test]
fn first_run_offers_the_demo() {
    let mut s = State::new(vec![], Keymap::default());
    assert_eq!(s.screen, Screen::FirstRun);
    assert_eq!(update(&mut s, key('d'), 0), vec![Effect::StartDemo]);
    let fx = update(
        &mut s,
        Action::DemoReady {
            profiles: profiles(),
            open: "ci".into(),
        },
        10,
    );
    assert_eq!(s.screen, Screen::Dashboard);
    assert!(
        matches!(&without_cache(&fx)[..], [Effect::Connect { profile, .. }] if profile == "ci")
    );
}

// ---------------------------------------------------------------- snapshots

fn render(s: &State, w: u16, h: u16) -> String {
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, s, themes.get(s.theme_name())))
        .unwrap();
    term.backend().to_string()
}

fn sized(mut s: State, w: u16, h: u16) -> State {
    let now = s.now;
    update(&mut s, Action::Resize { cols: w, rows: h }, now);
    s.toast = None;
    s
}

fn with_all_lists() -> State {
    let (mut s, epoch) = online(47, true);
    let req = |s: &mut State, a| match &update(s, a, 50)[..] {
        [Effect::FetchList { req, .. }] => *req,
        _ => s
            .lists
            .developers
            .loading
            .or(s.lists.secrets.loading)
            .map(|l| l.0)
            .unwrap_or(0),
    };
    let r = req(&mut s, Action::ShowPane(Resource::Developers));
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req: r,
            result: Ok(Listing::Developers(developers())),
        },
        60,
    );
    let r = req(&mut s, Action::ShowPane(Resource::Secrets));
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req: r,
            result: Ok(Listing::Secrets(secrets())),
        },
        60,
    );
    s
}

#[test]
fn snapshot_panes() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut s = sized(with_all_lists(), w, h);
        for r in [Resource::Projects, Resource::Developers, Resource::Secrets] {
            update(&mut s, Action::ShowPane(r), 70);
            answer_recent(&mut s);
            s.toast = None;
            insta::assert_snapshot!(format!("{}_{w}x{h}", r.as_str()), render(&s, w, h));
        }
    }
}

/// Answer every ask for recent builds (and the asks those answers make) with a made-up
/// history per project: the TREND column and lazily read last builds fill in.
fn answer_recent(s: &mut State) {
    // The asks made while the list loaded were never answered: start over.
    s.recent = Default::default();
    let now = s.now;
    let mut fx = update(s, Action::Tick, now);
    let epoch = s.epoch;
    for _ in 0..100 {
        let asks: Vec<Project> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::FetchRecent { project, .. } => Some((**project).clone()),
                _ => None,
            })
            .collect();
        if asks.is_empty() {
            return;
        }
        fx.clear();
        for p in asks {
            let n: usize = p.id.parse().unwrap_or(0);
            fx.extend(update(
                s,
                Action::RecentLoaded {
                    epoch,
                    profile: "ci".into(),
                    project_id: p.id.clone(),
                    result: Ok(history(n)),
                },
                s.now,
            ));
        }
    }
}

/// Ten finished builds, newest first; results and durations vary with `seed`.
fn history(seed: usize) -> Vec<Build> {
    (0..10)
        .map(|i| {
            let start = wall() - Duration::hours(i as i64 * 5 + 1);
            let failed = (seed + i) % 4 == 0;
            Build {
                id: format!("{seed}-{i}"),
                status: if failed {
                    BuildStatus::Failed
                } else {
                    BuildStatus::Succeeded
                },
                started_at: Some(start),
                finished_at: Some(
                    start + Duration::seconds(60 + ((seed * 7 + i * 13) % 90) as i64),
                ),
                commit: Some(format!("{:07x}", seed * 1000 + i)),
                ..Build::default()
            }
        })
        .collect()
}

fn recent_asks(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::FetchRecent { project, .. } => Some(project.id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn recent_builds_are_asked_for_rows_on_screen_four_at_a_time_and_kept() {
    let (s, epoch) = online(47, true);
    let mut s = sized(s, 80, 16); // 10 rows on screen
    // The first page's answer already asked; start from nothing asked to count them.
    s.recent = Default::default();
    let fx = update(&mut s, Action::Tick, 30);
    let first = recent_asks(&fx);
    assert_eq!(first.len(), 4, "four at a time: {first:?}");
    assert_eq!(first[0], project(0).id, "from the top of the screen");
    // Each answer lets one more row ask, down to the last row on screen and no further.
    let mut asked = first.clone();
    let mut pending = first;
    while let Some(id) = pending.pop() {
        let fx = update(
            &mut s,
            Action::RecentLoaded {
                epoch,
                profile: "ci".into(),
                project_id: id,
                result: Ok(history(1)),
            },
            40,
        );
        let more = recent_asks(&fx);
        asked.extend(more.iter().cloned());
        pending.extend(more);
    }
    let on_screen: Vec<String> = (0..s.page_rows).map(|i| project(i).id).collect();
    asked.sort();
    let mut want = on_screen.clone();
    want.sort();
    assert_eq!(asked, want, "exactly the rows on screen, each once");
    // Answers are kept: nothing is asked again until they are two minutes old.
    assert!(recent_asks(&update(&mut s, Action::Tick, 60_000)).is_empty());
    assert_eq!(
        recent_asks(&update(&mut s, Action::Tick, 40 + 120_000)).len(),
        4,
        "stale answers are asked again"
    );
    // Moving down brings new rows on screen: they ask (once the asks in flight answered).
    let (s2, epoch2) = online(47, true);
    let mut s2 = sized(s2, 80, 16);
    s2.recent = Default::default();
    let in_flight = recent_asks(&update(&mut s2, Action::Tick, 30));
    for _ in 0..15 {
        assert!(
            recent_asks(&update(&mut s2, Action::Down, 31)).is_empty(),
            "four in flight"
        );
    }
    let mut later = Vec::new();
    for id in in_flight {
        later.extend(recent_asks(&update(
            &mut s2,
            Action::RecentLoaded {
                epoch: epoch2,
                profile: "ci".into(),
                project_id: id,
                result: Ok(history(2)),
            },
            32,
        )));
    }
    let now_on_screen: Vec<String> = (6..16).map(|i| project(i).id).collect();
    assert_eq!(later.len(), 4, "{later:?}");
    assert!(
        later.iter().all(|id| now_on_screen.contains(id)),
        "{later:?}"
    );
    // A backend without project history is not asked again.
    let mut s3 = sized(online(5, true).0, 80, 16);
    s3.recent = Default::default();
    let epoch3 = s3.epoch;
    let fx = update(&mut s3, Action::Tick, 30);
    for id in recent_asks(&fx) {
        update(
            &mut s3,
            Action::RecentLoaded {
                epoch: epoch3,
                profile: "ci".into(),
                project_id: id,
                result: Err(ApiError::Unsupported("no history".into())),
            },
            40,
        );
    }
    let fx = update(&mut s3, Action::Tick, 40 + 10 * 60_000);
    let again = recent_asks(&fx);
    assert!(
        again.len() <= 1 && !again.contains(&project(0).id),
        "unsupported rows are not asked again: {again:?}"
    );
}

#[test]
fn a_project_without_a_last_build_in_the_list_shows_its_newest_recent_build_and_trend() {
    let (s, epoch) = online(5, true);
    let mut s = sized(s, 120, 24);
    // project(4) has no last build in the list (i % 5 == 4).
    let p = project(4);
    assert!(p.last_build.is_none());
    let before = render(&s, 120, 24);
    let row = |text: &str| {
        text.lines()
            .find(|l| l.contains(&p.name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row(&before).contains("…"), "asking: {}", row(&before));
    let mut h = history(4);
    h[0].status = BuildStatus::Failed;
    h[0].message = Some("a step failed".into());
    update(
        &mut s,
        Action::RecentLoaded {
            epoch,
            profile: "ci".into(),
            project_id: p.id.clone(),
            result: Ok(h.clone()),
        },
        50,
    );
    let after = row(&render(&s, 120, 24));
    assert!(after.contains("failed"), "{after}");
    assert!(after.contains("a step failed"), "{after}");
    let trend = Trend::of(&h, 10);
    let strip: String = trend.results.iter().map(|r| r.symbol()).collect();
    assert!(after.contains(&strip), "the strip {strip} in {after}");
    assert!(
        after.contains(&format!("{}%", trend.success_rate.unwrap())),
        "{after}"
    );
    // Answered with no builds: "never built".
    update(
        &mut s,
        Action::RecentLoaded {
            epoch,
            profile: "ci".into(),
            project_id: p.id.clone(),
            result: Ok(vec![]),
        },
        60,
    );
    assert!(row(&render(&s, 120, 24)).contains("never built"));
}

#[test]
fn snapshot_states() {
    let (s, epoch) = online(47, true);
    let mut stale = sized(s, 80, 24);
    let req = fetch_req(
        &update(&mut stale, Action::Refresh, 100),
        Resource::Projects,
        1,
        20,
    );
    update(
        &mut stale,
        Action::ListLoaded {
            epoch,
            req,
            result: Err(ApiError::Server {
                status: 500,
                message: "internal server error (INTERNAL_SERVER_ERROR)".into(),
            }),
        },
        200,
    );
    stale.toast = None;
    insta::assert_snapshot!("stale_error_80x24", render(&stale, 80, 24));

    let mut help = sized(online(5, true).0, 80, 24);
    update(&mut help, Action::Help, 10);
    insta::assert_snapshot!("help_80x24", render(&help, 80, 24));

    let mut pal = sized(online(5, true).0, 80, 24);
    update(&mut pal, Action::OpenPalette, 10);
    update(&mut pal, key('p'), 10);
    insta::assert_snapshot!("palette_80x24", render(&pal, 80, 24));

    let mut first = State::new(vec![], Keymap::default());
    first.config_path = Some("/home/op/.config/shipdeck/config.toml".into());
    let first = sized(first, 100, 40);
    insta::assert_snapshot!("first_run_100x40", render(&first, 100, 40));

    let mut auth = State::new(profiles(), Keymap::default());
    let epoch = connect_epoch(&update(&mut auth, Action::SwitchProfile("prod".into()), 0));
    update(
        &mut auth,
        Action::LoggedIn {
            epoch,
            result: Err(ApiError::Auth("wrong password for user `ops`".into())),
        },
        5,
    );
    let auth = sized(auth, 80, 24);
    insta::assert_snapshot!("auth_failed_readonly_80x24", render(&auth, 80, 24));
}

#[test]
fn hostile_names_cannot_reach_the_terminal() {
    let (mut s, epoch) = online(1, true);
    let evil = Project {
        id: "1".into(),
        name: "pwn\x1b]52;c;ZXZpbA==\x07\x1b[2J\r\u{9b}31m".into(),
        description: None,
        last_build: None,
    };
    let req = fetch_req(
        &update(&mut s, Action::Refresh, 10),
        Resource::Projects,
        1,
        20,
    );
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(page(vec![evil], 1, 20, 1))),
        },
        20,
    );
    // Wide enough for the whole name in its column.
    let text = render(&s, 120, 24);
    // shipdeck's own cleaning (`safe::text`), not ratatui's: each escape sequence (OSC 52,
    // the clear screen, the C1 CSI sent as UTF-8) goes whole, payload included, and the
    // control characters with it; the name's words stay.
    let row = text.lines().find(|l| l.contains("pwn")).expect("the row");
    assert!(
        !row.contains("ZXZpbA") && !row.contains("[2J") && !row.contains("31m"),
        "{row}"
    );
    assert!(!row.contains('�'), "nothing left to replace: {row}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

#[test]
fn layout_never_panics_at_tiny_sizes() {
    let s = with_all_lists();
    // Below the minimum (the notice) and around it (the panes at their tightest).
    for w in (1..30u16).chain(58..64) {
        for h in (1..14u16).chain([24]) {
            let _ = render(&sized(s.clone(), w, h), w, h);
        }
    }
}

#[test]
fn below_the_minimum_size_a_notice_says_what_is_needed() {
    let s = with_all_lists();
    let small = render(&sized(s.clone(), 40, 10), 40, 10);
    assert!(small.contains("terminal too small"), "{small}");
    assert!(small.contains("60×12"), "{small}");
    let fits = render(&sized(s, 80, 24), 80, 24);
    assert!(
        !fits.contains("too small") && fits.contains("Projects"),
        "{fits}"
    );
}

fn build(status: BuildStatus) -> Build {
    Build {
        id: "0b6e1c2a-9f00-4d1b-8a7e-3f5c6d7e8f90".into(),
        run_id: Some("0b6e1c2a-9f00-4d1b-8a7e-3f5c6d7e8f90".into()),
        build_id: None,
        project_id: Some("1".into()),
        project: "billing-api".into(),
        status,
        raw_status: "running".into(),
        exit_code: None,
        message: None,
        queued_at: Some(wall() - Duration::minutes(3)),
        started_at: Some(wall() - Duration::minutes(2)),
        finished_at: None,
        trigger: None,
        ..Build::default()
    }
}

/// A state with the Builds pane open on one running build and its log viewer showing `lines`.
fn with_log(lines: &[&[u8]]) -> State {
    let (mut s, epoch) = online(5, true);
    s.session.as_mut().unwrap().caps.builds = BuildSupport {
        list: true,
        launch: true,
        skip_steps: true,
        kill: true,
        redeploy: false,
        logs: true,
        live_logs: true,
        report_statuses: Vec::new(),
        asset_kinds: Vec::new(),
        archives: false,
        direct_runs: false,
    };
    s.cache_dir = std::env::temp_dir().join(format!("shipdeck-test-{}", std::process::id()));
    let fx = update(&mut s, Action::ShowPane(Resource::Builds), 30);
    let req = match &fx[..] {
        [Effect::FetchBuilds { req, .. }] => *req,
        other => panic!("{other:?}"),
    };
    let page = page(vec![build(BuildStatus::Running)], 1, 1, 1);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(page)),
        },
        40,
    );
    let fx = update(&mut s, Action::Open, 50);
    let log_req = match &fx[..] {
        [
            Effect::TailLog {
                req, follow: true, ..
            },
        ] => *req,
        other => panic!("{other:?}"),
    };
    let mut san = shipdeck::logtext::Sanitizer::new();
    let mut items = vec![LogItem::Step {
        name: "init".into(),
        status: StepStatus::Succeeded,
    }];
    let mut out = Vec::new();
    for l in lines {
        let mut b = l.to_vec();
        b.push(b'\n');
        out.extend(san.push(&b));
    }
    items.push(LogItem::Lines(out));
    update(
        &mut s,
        Action::LogIngest {
            epoch,
            req: log_req,
            items,
        },
        60,
    );
    s
}

#[test]
fn log_viewer_follows_pauses_searches_and_closes() {
    let lines: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("line {i} \x1b[31mred\x1b[0m").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_slice()).collect();
    let mut s = with_log(&refs);
    let log = s.log.as_ref().unwrap();
    assert!(log.follow);
    assert_eq!(
        log.cursor, 199,
        "following keeps the cursor on the last line"
    );
    update(&mut s, Action::Up, 70);
    assert!(!s.log.as_ref().unwrap().follow, "scrolling up pauses");
    update(&mut s, Action::Bottom, 70);
    assert!(s.log.as_ref().unwrap().follow, "G resumes");
    // Search from the top.
    update(&mut s, Action::Top, 70);
    update(&mut s, Action::StartFilter, 70);
    for c in "line 42 ".chars() {
        update(&mut s, key(c), 70);
    }
    update(&mut s, special(KeyCode::Enter), 70);
    assert_eq!(s.log.as_ref().unwrap().cursor, 42);
    let screen = render(&s, 100, 30);
    assert!(screen.contains("line 42 red"), "{screen}");
    assert!(!screen.contains('\x1b'));
    // Copy goes out as an effect, not as terminal bytes from update.
    assert!(
        matches!(&update(&mut s, Action::Copy, 70)[..], [Effect::Copy(t)] if t == "line 42 red")
    );
    // Esc closes the viewer and stops the tail.
    assert_eq!(update(&mut s, Action::Back, 80), vec![Effect::StopLog]);
    assert!(s.log.is_none());
}

#[test]
fn kill_asks_first_and_no_sends_nothing() {
    let mut s = with_log(&[b"x"]);
    update(&mut s, Action::Back, 10);
    assert!(
        update(&mut s, Action::Kill, 10).is_empty(),
        "only a question"
    );
    match &s.overlay {
        Overlay::Confirm(c) => {
            assert!(c.lines[0].contains("0b6e1c2a") && c.lines[0].contains("billing-api"))
        }
        other => panic!("{other:?}"),
    }
    assert!(update(&mut s, key('n'), 10).is_empty(), "no sends nothing");
    update(&mut s, Action::Kill, 10);
    let fx = update(&mut s, key('y'), 10);
    assert!(matches!(
        &fx[..],
        [Effect::Mutate { op: shipdeck::app::action::Mutation::Kill { build }, profile, user, .. }]
            if build.project == "billing-api" && profile == "ci" && user == "admin"
    ));
    // Read-only shows itself before any question: the kill key is refused at once, nothing is
    // sent, and the refused attempt is recorded in the audit trail (its only effect: the audit
    // file line).
    s.cli_read_only = true;
    let fx = update(&mut s, Action::Kill, 10);
    assert!(matches!(s.overlay, Overlay::None), "{:?}", s.overlay);
    assert!(
        matches!(&fx[..], [Effect::Audit(a)] if a.result.starts_with("refused") && a.action == "kill"),
        "{fx:?}"
    );
    assert!(s.toast.as_ref().unwrap().text.starts_with("refused"));
    assert!(
        s.audit
            .last()
            .is_some_and(|a| a.result.starts_with("refused: --read-only"))
    );
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]
    #[test]
    fn log_viewer_never_panics_at_any_size(
        w in 1u16..220,
        h in 1u16..70,
        lines in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 0..40),
        wrap in proptest::bool::ANY,
        steps in proptest::bool::ANY,
    ) {
        let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_slice()).collect();
        let mut s = with_log(&refs);
        update(&mut s, Action::Resize { cols: w, rows: h }, 90);
        if wrap { update(&mut s, Action::ToggleWrap, 90); }
        if steps { update(&mut s, Action::ToggleSteps, 90); }
        update(&mut s, Action::Up, 90);
        let screen = render(&s, w, h);
        proptest::prop_assert!(!screen.contains('\x1b'));
    }
}

// ---------------------------------------------------------------- releases

fn deployment(env: &str, id: u32, candidate: &str, status: BuildStatus, raw: &str) -> Deployment {
    Deployment {
        id: id.to_string(),
        project: "payments-api".into(),
        environment: env.into(),
        release: Some(candidate.split("-rc").next().unwrap().into()),
        candidate: candidate.into(),
        from_candidate: None,
        status,
        raw_status: raw.into(),
        actor: Some("alice@acme.test".into()),
        started_at: Some(wall() - Duration::hours(id as i64)),
        finished_at: None,
        error: None,
    }
}

/// Logged in to the (read-write) `prod` profile's twin with release support, Releases pane
/// open, environments staging → canary → production loaded. Returns the effects of the load.
fn releases_state() -> (State, u64, Vec<Effect>) {
    let mut profiles = profiles();
    profiles[1].read_only = false;
    let mut s = State::new(profiles, Keymap::default());
    s.wall = wall();
    let epoch = connect_epoch(&update(&mut s, Action::SwitchProfile("prod".into()), 0));
    let mut sess = session(true);
    sess.caps.releases = ReleaseSupport {
        list: true,
        create: true,
        deploy: true,
        set_status: true,
        rollback: true,
        statuses: vec!["in_progress".into(), "success".into(), "failure".into()],
    };
    update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(sess),
        },
        1,
    );
    let fx = update(&mut s, Action::ShowPane(Resource::Releases), 2);
    assert_eq!(fx, vec![Effect::FetchEnvironments { epoch }]);
    let envs = ["staging", "canary", "production"]
        .iter()
        .enumerate()
        .map(|(i, e)| Environment {
            project: "payments-api".into(),
            name: e.to_string(),
            position: i,
        })
        .collect();
    let fx = update(
        &mut s,
        Action::EnvironmentsLoaded {
            epoch,
            result: Ok(envs),
        },
        3,
    );
    (s, epoch, fx)
}

fn answer(
    s: &mut State,
    epoch: u64,
    fx: &[Effect],
    env: &str,
    rows: Vec<Deployment>,
) -> Vec<Effect> {
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchDeployments {
                req, environment, ..
            } if environment == env => Some(*req),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no read of {env} in {fx:?}"));
    let n = rows.len() as u32;
    update(
        s,
        Action::DeploymentsLoaded {
            epoch,
            req,
            result: Ok(Page {
                items: rows,
                page: 1,
                per_page: 100,
                total: None,
                has_more: n == 100,
            }),
        },
        4,
    )
}

#[test]
fn releases_pipeline_promote_protected_environment_needs_its_name() {
    let (mut s, epoch, fx) = releases_state();
    // One read per environment for the pipeline, plus the selected environment's history.
    let reads = fx
        .iter()
        .filter(|e| matches!(e, Effect::FetchDeployments { .. }))
        .count();
    assert_eq!(reads, 4, "{fx:?}");
    answer(
        &mut s,
        epoch,
        &fx,
        "staging",
        vec![deployment(
            "staging",
            1,
            "2026.03.02-rc2",
            BuildStatus::Succeeded,
            "success",
        )],
    );
    answer(
        &mut s,
        epoch,
        &fx,
        "canary",
        vec![
            deployment(
                "canary",
                3,
                "2026.03.02-rc4",
                BuildStatus::Failed,
                "failure",
            ),
            deployment(
                "canary",
                2,
                "2026.03.02-rc1",
                BuildStatus::Succeeded,
                "success",
            ),
        ],
    );
    let screen = render(&s, 120, 30);
    assert!(
        screen.contains("2026.03.02-rc1") && screen.contains("2026.03.02-rc4 failure"),
        "{screen}"
    );

    // Promote staging → canary: the confirmation says what runs now and what will run.
    assert!(update(&mut s, Action::Promote, 5).is_empty());
    match &s.overlay {
        Overlay::Confirm(c) => {
            assert!(
                c.lines
                    .iter()
                    .any(|l| l == "canary: 2026.03.02-rc1 → 2026.03.02-rc2"),
                "{:?}",
                c.lines
            );
            assert!(c.typed.is_none());
        }
        o => panic!("{o:?}"),
    }
    let fx = update(&mut s, key('y'), 5);
    assert!(
        matches!(&fx[..], [Effect::Mutate { op: Mutation::Deploy { request, .. }, .. }]
        if request.environment == "canary" && request.candidate == "2026.03.02-rc2")
    );

    // Promote canary → production (protected): y does nothing, a wrong name sends nothing.
    update(&mut s, Action::NextEnv, 6);
    update(&mut s, Action::Promote, 6);
    assert!(matches!(&s.overlay, Overlay::Confirm(c) if c.typed.is_some()));
    assert!(update(&mut s, key('y'), 6).is_empty());
    assert!(
        update(&mut s, special(KeyCode::Enter), 6).is_empty(),
        "`y` is not the name"
    );
    assert!(matches!(&s.overlay, Overlay::Confirm(c) if c.error.is_some()));
    // Clear the field, type the name.
    for _ in 0..3 {
        update(&mut s, special(KeyCode::Backspace), 6);
    }
    for c in "production".chars() {
        update(&mut s, key(c), 6);
    }
    let fx = update(&mut s, special(KeyCode::Enter), 6);
    assert!(
        matches!(&fx[..], [Effect::Mutate { op: Mutation::Deploy { request, from }, .. }]
        if request.environment == "production" && request.candidate == "2026.03.02-rc1" && from.is_none())
    );
}

#[test]
fn rollback_force_is_a_choice_and_esc_sends_nothing() {
    let (mut s, epoch, fx) = releases_state();
    answer(
        &mut s,
        epoch,
        &fx,
        "staging",
        vec![deployment(
            "staging",
            1,
            "2026.03.02-rc2",
            BuildStatus::Succeeded,
            "success",
        )],
    );
    update(&mut s, Action::Rollback, 5);
    let lines = |s: &State| match &s.overlay {
        Overlay::Confirm(c) => c.lines.join("\n"),
        o => panic!("{o:?}"),
    };
    assert!(lines(&s).contains("force: off"));
    update(&mut s, key('f'), 5);
    assert!(lines(&s).contains("force: ON"));
    assert!(update(&mut s, special(KeyCode::Esc), 5).is_empty());
    assert!(matches!(s.overlay, Overlay::None));
    update(&mut s, Action::Rollback, 5);
    update(&mut s, key('f'), 5);
    let fx = update(&mut s, key('y'), 5);
    assert!(
        matches!(&fx[..], [Effect::Mutate { op: Mutation::Rollback { request, from }, .. }]
        if request.force && from.as_deref() == Some("2026.03.02-rc2"))
    );
}

#[test]
fn a_promotion_is_followed_until_it_settles_then_notifies() {
    let (mut s, epoch, first) = releases_state();
    answer(
        &mut s,
        epoch,
        &first,
        "staging",
        vec![deployment(
            "staging",
            1,
            "2026.03.02-rc2",
            BuildStatus::Succeeded,
            "success",
        )],
    );
    let op = Mutation::Deploy {
        request: DeployRequest {
            project: "payments-api".into(),
            environment: "canary".into(),
            candidate: "2026.03.02-rc2".into(),
        },
        from: None,
    };
    let audit = shipdeck::app::action::AuditEntry {
        time: wall(),
        profile: "prod".into(),
        user: "admin".into(),
        action: "deploy".into(),
        target: "payments-api/canary".into(),
        request: "nothing → 2026.03.02-rc2".into(),
        result: "ok".into(),
        key: String::new(),
    };
    let done = shipdeck::app::action::Mutated {
        epoch,
        op,
        result: Ok(shipdeck::app::action::Outcome::Done),
        audit,
    };
    update(&mut s, Action::Mutated(Box::new(done)), 10);
    assert_eq!(s.audit.len(), 1);
    // canary's pipeline read is still in flight: the watch waits for it instead of asking twice.
    let in_progress = deployment(
        "canary",
        9,
        "2026.03.02-rc2",
        BuildStatus::Running,
        "in_progress",
    );
    let after = answer(&mut s, epoch, &first, "canary", vec![in_progress]);
    assert!(!after.iter().any(|e| matches!(e, Effect::Alert(_))));
    // The watch re-reads the environment on its own clock.
    let due = s.next_deadline().unwrap();
    let fx = update(&mut s, Action::Tick, due + 2_000);
    let settled = deployment(
        "canary",
        9,
        "2026.03.02-rc2",
        BuildStatus::Succeeded,
        "success",
    );
    let after = answer(&mut s, epoch, &fx, "canary", vec![settled]);
    assert!(after.iter().any(|e| matches!(e, Effect::Alert(a) if a.body.contains("2026.03.02-rc2") && a.body.contains("success") && a.bell && a.desktop)), "{after:?}");
    assert!(s.releases.watch.is_none());
}

// ---------------------------------------------------------------- key router (issue 14)

#[test]
fn a_hidden_log_gets_no_keys_and_help_in_a_log_lists_its_keys() {
    use shipdeck::app::keymap::Ctx;
    let mut s = sized(with_log(&[b"alice was here\n", b"bob\n"]), 100, 40);
    assert!(s.log_visible());
    // `?` inside the log lists the log's keys.
    update(&mut s, key('?'), 60);
    assert!(
        matches!(s.overlay, Overlay::Help { ctx: Ctx::Log, .. }),
        "{:?}",
        s.overlay
    );
    let screen = render(&s, 100, 40);
    assert!(screen.contains("Log viewer"), "{screen}");
    assert!(screen.contains("save the whole log"), "{screen}");
    update(&mut s, special(KeyCode::Esc), 60);
    assert!(matches!(s.overlay, Overlay::None));

    // Another pane hides the log: from then on its keys go to that pane.
    update(&mut s, key('3'), 60);
    assert_eq!(s.pane, Resource::Secrets);
    assert!(s.log.is_some() && !s.log_visible());
    for c in "/alice".chars() {
        update(&mut s, key(c), 60);
    }
    update(&mut s, special(KeyCode::Enter), 60);
    assert_eq!(
        s.log.as_ref().unwrap().search,
        "",
        "the hidden log was searched"
    );
    assert_eq!(s.lists.secrets.filter, "alice");
    let fx = update(&mut s, key('s'), 60);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::SaveLog { .. })),
        "the hidden log was saved: {fx:?}"
    );
    update(&mut s, key('x'), 60);
    assert!(
        matches!(s.overlay, Overlay::None),
        "x on Secrets opened {:?}",
        s.overlay
    );

    // Back on the Builds tab, the log is on screen again and takes its keys.
    update(&mut s, key('4'), 60);
    assert!(s.log_visible());
    let fx = update(&mut s, key('s'), 60);
    assert!(
        fx.iter().any(|e| matches!(e, Effect::SaveLog { .. })),
        "{fx:?}"
    );
}

#[test]
fn a_protected_rollback_can_be_forced_and_tab_types_nothing() {
    let (mut s, _) = online(5, true);
    s.profiles[0].protected_environments = vec!["production".into()];
    let op = Mutation::Rollback {
        request: RollbackRequest {
            project: "web".into(),
            environment: "production".into(),
            force: false,
        },
        from: Some("2026.03.02-rc2".into()),
    };
    s.overlay = shipdeck::app::overlays::confirm::confirm_for(&s, op);
    // `f` is text in the name field; Ctrl-f turns force on; Tab types nothing.
    update(&mut s, key('f'), 10);
    update(
        &mut s,
        Action::Input(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL)),
        10,
    );
    update(&mut s, special(KeyCode::Tab), 10);
    for c in "production".chars() {
        update(&mut s, key(c), 10);
    }
    let fx = update(&mut s, special(KeyCode::Enter), 10);
    assert!(
        matches!(
            &fx[..],
            [Effect::Mutate { op: Mutation::Rollback { request, .. }, .. }]
                if request.force && request.environment == "production"
        ),
        "{fx:?} / {:?}",
        s.overlay
    );
}

#[test]
fn popup_keys_are_rebindable_by_name_and_listed_in_the_footer() {
    let (km, problems) = Keymap::with_overrides(&[shipdeck::config::KeyOverride {
        action: "confirm_yes".into(),
        key: "o".into(),
        line: 1,
    }]);
    assert!(problems.is_empty(), "{problems:?}");
    let (mut s, _) = online(5, true);
    s.keymap = km;
    s.overlay = shipdeck::app::overlays::confirm::confirm_for(
        &s,
        Mutation::Kill {
            build: build(BuildStatus::Running),
        },
    );
    let screen = render(&sized(s.clone(), 100, 30), 100, 30);
    assert!(screen.contains(" o yes"), "{screen}");
    assert!(
        update(&mut s, key('y'), 10).is_empty(),
        "y is no longer yes"
    );
    let fx = update(&mut s, key('o'), 10);
    assert!(matches!(&fx[..], [Effect::Mutate { .. }]), "{fx:?}");
}

// ---------------------------------------------------------------- act on what you see (issue 10)

#[test]
fn the_selection_follows_its_item_across_a_refresh_that_reorders() {
    let (mut s, epoch) = online(5, true);
    // Select the third row, then a refresh comes back re-sorted with a new row on top.
    update(&mut s, Action::Down, 20);
    update(&mut s, Action::Down, 20);
    let chosen = s.lists.projects.selected_row().unwrap().id.clone();
    let req = fetch_req(
        &update(&mut s, Action::Refresh, 30),
        Resource::Projects,
        1,
        20,
    );
    let mut rows = projects_page(1, 5, 6).items;
    rows.reverse();
    rows.insert(0, project(99));
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(page(rows, 1, 20, 6))),
        },
        40,
    );
    assert_eq!(s.lists.projects.selected_row().unwrap().id, chosen);
    // The item leaves the list: the selection stays in place and the app says so.
    let req = fetch_req(
        &update(&mut s, Action::Refresh, 50),
        Resource::Projects,
        1,
        20,
    );
    let without: Vec<Project> = projects_page(1, 5, 5)
        .items
        .into_iter()
        .filter(|p| p.id != chosen)
        .collect();
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(page(without, 1, 20, 4))),
        },
        60,
    );
    let toast = s.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("no longer in the list"), "{toast}");
}

#[test]
fn a_run_that_finishes_under_a_new_id_keeps_the_selection() {
    let mut s = with_log(&[b"x\n"]);
    update(&mut s, Action::Back, 60);
    let epoch = s.epoch;
    let run = build(BuildStatus::Running);
    let other = |id: &str, project: &str| Build {
        id: id.into(),
        project: project.into(),
        project_id: Some(format!("p-{project}")),
        status: BuildStatus::Succeeded,
        started_at: Some(wall() - Duration::hours(5)),
        finished_at: Some(wall() - Duration::hours(4)),
        ..Build::default()
    };
    // The run, with an older build of the same project and one of another project around it.
    let load = |s: &mut State, rows: Vec<Build>, now| {
        let req = match &update(s, Action::Refresh, now)[..] {
            [Effect::FetchBuilds { req, .. }] => *req,
            other => panic!("{other:?}"),
        };
        update(
            s,
            Action::ListLoaded {
                epoch,
                req,
                result: Ok(Listing::Builds(page(rows, 1, 20, 3))),
            },
            now + 1,
        );
    };
    load(
        &mut s,
        vec![
            other("7", "web-shop"),
            run.clone(),
            other("40", "billing-api"),
        ],
        70,
    );
    for _ in 0..3 {
        update(&mut s, Action::Up, 72);
    }
    update(&mut s, Action::Down, 73);
    assert_eq!(s.lists.builds.selected_row().unwrap().id, run.id);
    // It finished: the server lists build 41 (the run's record) and no longer the run.
    let finished = Build {
        id: "41".into(),
        run_id: None,
        build_id: Some("41".into()),
        status: BuildStatus::Failed,
        started_at: run.started_at.map(|t| t + Duration::seconds(2)),
        finished_at: Some(wall()),
        ..run.clone()
    };
    load(
        &mut s,
        vec![finished, other("7", "web-shop"), other("40", "billing-api")],
        80,
    );
    assert_eq!(s.lists.builds.selected_row().unwrap().id, "41", "followed");
    let said = s.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(said.contains("is now 41"), "{said}");
    // A build that leaves with no successor: the selection moves and the app says so.
    s.toast = None;
    load(&mut s, vec![other("7", "web-shop")], 90);
    let said = s.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(said.contains("41 is no longer in the list"), "{said}");
}

#[test]
fn a_kill_is_checked_again_when_it_is_sent() {
    let mut s = with_log(&[b"x\n"]);
    update(&mut s, Action::Back, 10);
    s.lists.builds.rows[0].status = BuildStatus::Queued;
    update(&mut s, Action::Kill, 10);
    // A refresh while the question is open: the queued run has started. The kill goes to the
    // running run (the backend kills those another way), and the app says so.
    s.lists.builds.rows[0].status = BuildStatus::Running;
    let fx = update(&mut s, key('y'), 10);
    assert!(
        matches!(&fx[..], [Effect::Mutate { op: Mutation::Kill { build }, .. }] if build.status == BuildStatus::Running),
        "{fx:?}"
    );
    assert!(s.toast.as_ref().unwrap().text.contains("running now"));
    // A run that finished meanwhile: nothing is sent.
    update(&mut s, Action::Kill, 10);
    s.lists.builds.rows[0].status = BuildStatus::Succeeded;
    assert!(update(&mut s, key('y'), 10).is_empty());
    assert!(matches!(s.overlay, Overlay::None));
    assert!(s.toast.as_ref().unwrap().text.contains("meanwhile"));
}

#[test]
fn log_search_is_smart_case_and_regex_and_e_finds_the_builds_errors() {
    let mut s = with_log(&[
        b"Compiling",
        b"Error: disk full",
        b"an error again",
        b"all fine",
        b"process exited with status 2",
        b"done",
    ]);
    let search = |s: &mut State, text: &str| {
        update(s, Action::StartFilter, 60);
        for c in text.chars() {
            update(s, key(c), 60);
        }
        update(s, special(KeyCode::Enter), 60);
        s.log.as_ref().unwrap().matches.len()
    };
    assert_eq!(search(&mut s, "error"), 2, "lower case: any case");
    assert_eq!(search(&mut s, "Error"), 1, "a capital: exact case");
    assert_eq!(
        search(&mut s, r"exit(ed)? with status [1-9]"),
        1,
        "a regular expression"
    );
    assert_eq!(search(&mut s, "a(b"), 0, "not an expression: plain text");
    // The match count is on screen.
    search(&mut s, "error");
    let screen = render(&s, 100, 30);
    assert!(
        screen.contains("/error 1/2") || screen.contains("/error 2/2"),
        "{screen}"
    );
    // e: the first error; E: the next one, then around again.
    let base = s.log.as_ref().unwrap().first_in_memory();
    update(&mut s, key('e'), 60);
    assert_eq!(s.log.as_ref().unwrap().cursor, base + 1);
    update(&mut s, key('E'), 60);
    assert_eq!(s.log.as_ref().unwrap().cursor, base + 2);
    update(&mut s, key('E'), 60);
    assert_eq!(
        s.log.as_ref().unwrap().cursor,
        base + 4,
        "a non-zero exit is an error"
    );
    update(&mut s, key('E'), 60);
    assert_eq!(s.log.as_ref().unwrap().cursor, base + 1, "around again");
}

#[test]
fn messages_stay_until_dismissed_belong_to_their_profile_and_have_a_history() {
    let (mut s, _) = online(5, true);
    // A warning (no sort column on Secrets is an info; an unknown theme is an error).
    update(&mut s, Action::SetTheme("nope".into()), 10);
    update(&mut s, Action::Tick, 10 + 60_000);
    assert!(
        s.toast
            .as_ref()
            .is_some_and(|t| t.text.contains("no theme")),
        "an error stays"
    );
    // Esc dismisses it first, before going back.
    update(&mut s, Action::Back, 70_000);
    assert!(s.toast.is_none());
    // The palette marks the current profile; :messages lists what was said.
    let cands = shipdeck::app::overlays::palette::candidates(&s, "profile ");
    assert!(
        cands
            .iter()
            .any(|(c, d)| c == "profile ci" && d.contains("● current")),
        "{cands:?}"
    );
    assert!(
        cands
            .iter()
            .any(|(c, d)| c == "profile prod" && !d.contains("current")),
        "{cands:?}"
    );
    update(&mut s, key(':'), 70_000);
    for c in "messages".chars() {
        update(&mut s, key(c), 70_000);
    }
    update(&mut s, special(KeyCode::Enter), 70_000);
    match &s.overlay {
        Overlay::Message { lines, .. } => {
            assert!(
                lines.iter().any(|l| l.contains("ci · no theme `nope`")),
                "{lines:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A message belongs to its profile: switching starts with a clean footer.
    update(&mut s, special(KeyCode::Esc), 70_000);
    update(&mut s, Action::SetTheme("nope".into()), 70_000);
    update(&mut s, Action::SwitchProfile("prod".into()), 70_000);
    assert!(s.toast.is_none());
}

#[test]
fn overview_enter_opens_the_exact_row_of_its_profile() {
    let (mut s, _) = online(5, true);
    // A leftover screen of this profile: a project's history.
    s.builds_scope = BuildScope::Project {
        id: "1".into(),
        name: "billing-api".into(),
    };
    let item = shipdeck::app::overview::OverviewItem {
        key: "prod/running/x".into(),
        profile: "prod".into(),
        backend: Kind::Freecommit,
        what: shipdeck::app::overview::ItemKind::Running,
        title: "web-shop b-42".into(),
        detail: "running".into(),
        pane: Resource::Builds,
        target: Some("b-42".into()),
        at: None,
        project: "web-shop".into(),
        environment: None,
    };
    s.lists.overview.rows = vec![item];
    s.lists.overview.refilter();
    s.pane = Resource::Overview;
    let fx = update(&mut s, Action::Open, 10);
    let epoch = connect_epoch(&fx);
    let mut session = session(true);
    session.caps.builds.list = true;
    let fx = update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session),
        },
        20,
    );
    assert_eq!(s.pane, Resource::Builds);
    assert_eq!(s.builds_scope, BuildScope::Active, "no leftover history");
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchBuilds { req, .. } => Some(*req),
            _ => None,
        })
        .expect("the queue is asked for");
    let mk = |id: &str| Build {
        id: id.into(),
        run_id: Some(id.into()),
        ..build(BuildStatus::Running)
    };
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(page(
                vec![mk("b-40"), mk("b-41"), mk("b-42"), mk("b-43")],
                1,
                20,
                4,
            ))),
        },
        30,
    );
    assert_eq!(s.lists.builds.selected_row().unwrap().id, "b-42");
}

#[test]
fn forms_are_titled_by_their_action_and_check_values_as_they_are_typed() {
    let (mut s, _) = online(5, true);
    s.session.as_mut().unwrap().caps.releases = ReleaseSupport {
        list: true,
        deploy: true,
        ..Default::default()
    };
    s.overlay = Overlay::Launch(Box::new(shipdeck::app::state::LaunchForm::fields_only(
        shipdeck::app::state::FormPurpose::CutRelease,
        "web".into(),
        "web".into(),
        Vec::new(),
        ["candidate", "repo", "commit"]
            .into_iter()
            .map(|n| {
                (
                    LaunchField {
                        name: n.into(),
                        label: n.into(),
                        required: true,
                        default: Some(if n == "commit" { "zz" } else { "x" }.into()),
                        key_values: false,
                    },
                    ratatui_textarea::TextArea::new(vec![
                        if n == "commit" {
                            "zz"
                        } else {
                            "2026.03.02-rc1"
                        }
                        .to_string(),
                    ]),
                )
            })
            .collect(),
    )));
    let screen = render(&sized(s.clone(), 100, 30), 100, 30);
    assert!(
        screen.contains("cut a release candidate of web"),
        "{screen}"
    );
    // Typing in the commit field: the wrong value is named before any confirmation.
    update(&mut s, Action::NextField, 10);
    update(&mut s, Action::NextField, 10);
    update(&mut s, key('g'), 10);
    match &s.overlay {
        Overlay::Launch(f) => {
            assert!(
                f.error.as_deref().unwrap_or("").contains("hex SHA"),
                "{:?}",
                f.error
            )
        }
        other => panic!("{other:?}"),
    }
    // Ctrl-U clears the line; a valid SHA clears the complaint.
    update(
        &mut s,
        Action::Input(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
        10,
    );
    for c in "4e1f9a7".chars() {
        update(&mut s, key(c), 10);
    }
    match &s.overlay {
        Overlay::Launch(f) => assert_eq!(f.error, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deploy_that_skips_environments_says_which() {
    let (mut s, _) = online(5, true);
    s.releases.envs = ["staging", "canary", "production"]
        .iter()
        .enumerate()
        .map(|(i, e)| Environment {
            project: "web".into(),
            name: e.to_string(),
            position: i,
        })
        .collect();
    let runs = |c: &str| shipdeck::app::releases::EnvState {
        current: Some(Deployment {
            id: "1".into(),
            project: "web".into(),
            environment: String::new(),
            release: None,
            candidate: c.into(),
            from_candidate: None,
            status: BuildStatus::Succeeded,
            raw_status: "success".into(),
            actor: None,
            started_at: None,
            finished_at: None,
            error: None,
        }),
        ..Default::default()
    };
    s.releases
        .state
        .insert(("web".into(), "staging".into()), runs("2026.03.02-rc2"));
    s.releases
        .state
        .insert(("web".into(), "canary".into()), runs("2026.03.01-rc1"));
    let op = Mutation::Deploy {
        request: DeployRequest {
            project: "web".into(),
            environment: "production".into(),
            candidate: "2026.03.02-rc2".into(),
        },
        from: Some("2026.03.01-rc1".into()),
    };
    match shipdeck::app::overlays::confirm::confirm_for(&s, op) {
        Overlay::Confirm(c) => assert!(
            c.lines
                .iter()
                .any(|l| l.contains("skips canary, which does not run 2026.03.02-rc2")),
            "{:?}",
            c.lines
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn copied_is_only_claimed_where_the_terminal_takes_osc_52() {
    let mut s = with_log(&[b"a line"]);
    update(&mut s, key('y'), 60);
    assert!(s.toast.as_ref().unwrap().text.starts_with("copied 1 line"));
    s.clipboard_hint = Some("tmux has set-clipboard off: add `set -g set-clipboard on`".into());
    let fx = update(&mut s, key('y'), 60);
    assert!(fx.iter().any(|e| matches!(e, Effect::Copy(_))));
    let t = s.toast.as_ref().unwrap();
    assert!(
        !t.text.contains("copied") && t.text.contains("set-clipboard on"),
        "{}",
        t.text
    );
}

#[test]
fn a_search_past_the_cursor_wraps_to_the_first_match() {
    let mut s = with_log(&[b"an error early", b"fine", b"fine"]);
    // Following: the cursor is on the last line, after the only match.
    update(&mut s, Action::StartFilter, 60);
    for c in "error".chars() {
        update(&mut s, key(c), 60);
    }
    update(&mut s, special(KeyCode::Enter), 60);
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.cursor, log.first_in_memory(), "around to the match");
    assert!(
        s.toast.as_ref().is_none_or(|t| !t.text.contains("no line")),
        "{:?}",
        s.toast
    );
}

// ---------------------------------------------------------------- the mouse

/// The column of `needle` in screen line `row` of `text` (as `render` returns it: each line
/// in quotes).
fn column_of(text: &str, row: usize, needle: &str) -> u16 {
    let line = text.lines().nth(row).unwrap();
    let line = line.strip_prefix('"').unwrap_or(line);
    let byte = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {line}"));
    line[..byte].chars().count() as u16
}

fn left_click(s: &State, size: (u16, u16), col: u16, row: u16) -> Option<Action> {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    ui::mouse::action(
        s,
        ratatui::layout::Rect::new(0, 0, size.0, size.1),
        &MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        },
    )
}

#[test]
fn clicks_select_open_and_switch_where_they_land_and_the_wheel_scrolls() {
    let (s, _) = online(47, true);
    let mut s = sized(s, 80, 24);
    // Header, tabs, the block's top border, the table's header: the first row is screen row 4.
    assert!(matches!(
        left_click(&s, (80, 24), 10, 4),
        Some(Action::ClickRow(0))
    ));
    assert!(matches!(
        left_click(&s, (80, 24), 10, 6),
        Some(Action::ClickRow(2))
    ));
    assert!(
        left_click(&s, (80, 24), 10, 2).is_none(),
        "the border is not a row"
    );
    update(&mut s, Action::ClickRow(2), 1_000);
    assert_eq!(s.lists.projects.selected_row().unwrap().id, project(2).id);
    // A second click soon after opens it (as Enter; this session has no builds: its details).
    update(&mut s, Action::ClickRow(2), 1_200);
    assert!(s.breadcrumbs().contains(&project(2).name));
    update(&mut s, Action::Back, 1_300);
    // Tabs: a click on a tab's title switches to its pane.
    let text = render(&s, 80, 24);
    let col = column_of(&text, 1, "Developers");
    assert!(matches!(
        left_click(&s, (80, 24), col + 2, 1),
        Some(Action::ShowPane(Resource::Developers))
    ));
    // The footer's hints act as their keys.
    let col = column_of(&text, 23, "help");
    assert!(matches!(
        left_click(&s, (80, 24), col, 23),
        Some(Action::Help)
    ));
    // Back on Projects: two clicks far apart only select.
    update(&mut s, Action::ShowPane(Resource::Projects), 2_000);
    update(&mut s, Action::ClickRow(1), 3_000);
    update(&mut s, Action::ClickRow(1), 5_000);
    assert_eq!(s.breadcrumbs(), vec!["Projects".to_string()], "not opened");
    // The wheel moves three rows a notch.
    update(&mut s, Action::Wheel(3), 6_000);
    assert_eq!(s.lists.projects.selected_row().unwrap().id, project(4).id);
    update(&mut s, Action::Wheel(-3), 6_100);
    assert_eq!(s.lists.projects.selected_row().unwrap().id, project(1).id);
    // A popup takes keys only: a click behind it does nothing.
    update(&mut s, Action::Help, 7_000);
    assert!(left_click(&s, (80, 24), 10, 6).is_none());
}
