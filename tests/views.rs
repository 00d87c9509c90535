//! On-call filters (`status:`, `since:`, `author:` with free text) and saved views
//! (`[[views]]`): `update()` sequences in the style of `tests/app.rs`, the config's checks
//! with their lines, and what the screen says.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{Terminal, backend::TestBackend};
use shipdeck::app::state::{Overlay, PER_PAGE};
use shipdeck::app::{Action, Effect, Keymap, Listing, ProfileInfo, State, update};
use shipdeck::config::{Config, View, ViewSort};
use shipdeck::domain::*;
use shipdeck::ui::{self, Themes};
use std::path::Path;

fn wall() -> DateTime<Utc> {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn profile(name: &str) -> ProfileInfo {
    ProfileInfo {
        name: name.into(),
        kind: Kind::Freecommit,
        url: format!("https://{name}.example.com/"),
        read_only: false,
        insecure: false,
        theme: None,
        protected_environments: vec![],
        web_url: None,
        notify: Default::default(),
    }
}

fn session(server_filter: bool) -> Session {
    let s = |sort: &'static [&'static str]| ListSupport {
        paged: true,
        server_filter,
        sort_fields: sort,
        server_qualifiers: &[],
    };
    Session {
        user: User {
            id: "1".into(),
            name: "admin".into(),
            roles: vec![],
        },
        caps: Capabilities {
            lists: vec![
                (Resource::Projects, s(&["id", "name", "last_build"])),
                (Resource::Developers, s(&["name"])),
            ],
            builds: BuildSupport {
                list: true,
                logs: true,
                ..Default::default()
            },
            releases: Default::default(),
            missing: vec![],
        },
    }
}

fn key(c: char) -> Action {
    Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn special(code: KeyCode) -> Action {
    Action::Input(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(s: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(update(s, key(c), 100));
    }
    fx
}

fn real(fx: &[Effect]) -> Vec<&Effect> {
    fx.iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::SaveCache { .. } | Effect::LoadCache { .. } | Effect::FetchRecent { .. }
            )
        })
        .collect()
}

fn epoch_of(fx: &[Effect]) -> u64 {
    fx.iter()
        .find_map(|e| match e {
            Effect::Connect { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Connect in {fx:?}"))
}

/// Logged in to `ci` (and `prod` configured), on the Projects pane with nothing loaded yet.
fn logged_in(server_filter: bool, views: Vec<View>) -> (State, u64, Vec<Effect>) {
    let mut s = State::new(vec![profile("ci"), profile("prod")], Keymap::default());
    s.wall = wall();
    s.views = views;
    update(
        &mut s,
        Action::Resize {
            cols: 160,
            rows: 48,
        },
        0,
    );
    let fx = update(&mut s, Action::SwitchProfile("ci".into()), 0);
    let epoch = epoch_of(&fx);
    let fx = update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session(server_filter)),
        },
        10,
    );
    (s, epoch, fx)
}

fn build(i: usize, status: BuildStatus, started_hours_ago: i64, trigger: Option<&str>) -> Build {
    Build {
        id: format!("b{i}"),
        project_id: Some(format!("p{i}")),
        project: format!("{}-{i}", ["payments", "web", "search"][i % 3]),
        status,
        raw_status: status.symbol().into(),
        started_at: Some(wall() - Duration::hours(started_hours_ago)),
        trigger: trigger.map(str::to_string),
        ..Build::default()
    }
}

fn builds(with_authors: bool) -> Vec<Build> {
    let who = |n: &'static str| with_authors.then_some(n);
    vec![
        build(0, BuildStatus::Failed, 1, who("ana")),
        build(1, BuildStatus::Running, 0, who("bob")),
        build(2, BuildStatus::Failed, 30, who("bob")),
        build(3, BuildStatus::Succeeded, 3, who("Ana Lima")),
        build(4, BuildStatus::Queued, 0, who("carl")),
        build(5, BuildStatus::Failed, 5, who("carl")),
        build(6, BuildStatus::Cancelled, 1, who("ana")),
    ]
}

/// The request id of the single FetchBuilds in `fx`.
fn builds_req(fx: &[Effect]) -> u64 {
    match real(fx)[..] {
        [Effect::FetchBuilds { req, .. }] => *req,
        ref other => panic!("expected one FetchBuilds, got {other:?}"),
    }
}

/// On the Builds pane (`4`) with `rows` loaded.
fn on_builds(rows: Vec<Build>) -> State {
    let (mut s, epoch, _) = logged_in(false, vec![]);
    let fx = update(&mut s, key('4'), 20);
    let req = builds_req(&fx);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(Page::whole(rows))),
        },
        30,
    );
    assert_eq!(s.pane, Resource::Builds);
    assert_eq!(s.lists.builds.visible.len(), 7);
    s
}

fn filter(s: &mut State, text: &str) -> Vec<Effect> {
    update(s, Action::StartFilter, 100);
    update(s, Action::ClearLine, 100);
    let mut fx = type_text(s, text);
    fx.extend(update(s, special(KeyCode::Enter), 100));
    fx
}

fn visible_ids(s: &State) -> Vec<String> {
    let l = &s.lists.builds;
    l.visible.iter().map(|&i| l.rows[i].id.clone()).collect()
}

fn render(s: &State, w: u16, h: u16) -> String {
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, s, themes.get(s.theme_name())))
        .unwrap();
    term.backend().to_string()
}

#[test]
fn status_failed_keeps_only_failed_builds() {
    let mut s = on_builds(builds(false));
    let fx = filter(&mut s, "status:failed");
    assert!(real(&fx).is_empty(), "builds filter locally: {fx:?}");
    assert_eq!(visible_ids(&s), ["b0", "b2", "b5"]);
    // Several statuses at once; `passed` and `succeeded` are the same.
    filter(&mut s, "status:running,queued");
    assert_eq!(visible_ids(&s), ["b1", "b4"]);
    filter(&mut s, "status:passed");
    assert_eq!(visible_ids(&s), ["b3"]);
    filter(&mut s, "status:cancelled");
    assert_eq!(visible_ids(&s), ["b6"]);
    // The title names the active filter.
    let screen = render(&s, 160, 48);
    assert!(screen.contains("filter “status:cancelled”"), "{screen}");
}

#[test]
fn since_counts_back_from_the_wall_clock() {
    let mut s = on_builds(builds(false));
    filter(&mut s, "since:2h");
    assert_eq!(visible_ids(&s), ["b0", "b1", "b4", "b6"]);
    filter(&mut s, "since:30m");
    assert_eq!(visible_ids(&s), ["b1", "b4"]);
    filter(&mut s, "since:1d");
    assert_eq!(visible_ids(&s), ["b0", "b1", "b3", "b4", "b5", "b6"]);
    // Combined with status and free text: all three must hold.
    filter(&mut s, "status:failed since:1d payments");
    assert_eq!(visible_ids(&s), ["b0"]);
    filter(&mut s, "status:failed since:2w");
    assert_eq!(visible_ids(&s), ["b0", "b2", "b5"]);
}

#[test]
fn author_matches_the_trigger_where_the_backend_gives_one() {
    let mut s = on_builds(builds(true));
    filter(&mut s, "author:ana");
    assert_eq!(visible_ids(&s), ["b0", "b3", "b6"]);
    filter(&mut s, "actor:BOB status:failed");
    assert_eq!(visible_ids(&s), ["b2"]);
    assert_eq!(s.lists.builds.filter_missing, None);
}

#[test]
fn author_on_a_backend_without_authors_says_so_in_the_pane() {
    let mut s = on_builds(builds(false));
    filter(&mut s, "author:ana");
    assert!(s.lists.builds.visible.is_empty());
    assert_eq!(s.lists.builds.filter_missing, Some(Missing::Author));
    let screen = render(&s, 160, 48);
    assert!(
        screen.contains("this backend gives its builds no author"),
        "{screen}"
    );
    // A filter the rows can answer: nothing to explain.
    filter(&mut s, "status:failed");
    assert_eq!(s.lists.builds.filter_missing, None);
}

#[test]
fn a_server_that_filters_gets_the_free_text_only() {
    let (mut s, epoch, fx) = logged_in(true, vec![]);
    let req = match real(&fx)[..] {
        [Effect::FetchList { req, .. }] => *req,
        ref other => panic!("{other:?}"),
    };
    let rows: Vec<Project> = (0..6)
        .map(|i| Project {
            id: i.to_string(),
            name: format!("ledger-{i}"),
            description: None,
            last_build: Some(LastBuild {
                status: [BuildStatus::Failed, BuildStatus::Succeeded][i % 2],
                raw: String::new(),
                exit_code: None,
                message: None,
                at: Some(wall() - Duration::hours(i as i64)),
            }),
        })
        .collect();
    let answer = Page::whole(rows.clone());
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(answer)),
        },
        20,
    );
    let fx = filter(&mut s, "status:failed ledger");
    let (req, query) = match real(&fx)[..] {
        [Effect::FetchList { req, query, .. }] => (*req, query.clone()),
        ref other => panic!("expected one FetchList, got {other:?}"),
    };
    assert_eq!(query.filter.as_deref(), Some("ledger"));
    assert_eq!((query.page, query.per_page), (1, PER_PAGE));
    // The server's answer (the free text matched there) is narrowed by the qualifier here.
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(Page::whole(rows))),
        },
        30,
    );
    let l = &s.lists.projects;
    assert!(l.server_filter);
    let names: Vec<&str> = l.visible.iter().map(|&i| l.rows[i].name.as_str()).collect();
    assert_eq!(names, ["ledger-0", "ledger-2", "ledger-4"]);
    // A new qualifier with the same text asks the server nothing.
    let fx = filter(&mut s, "since:2h ledger");
    assert!(real(&fx).is_empty(), "{fx:?}");
    assert_eq!(s.lists.projects.visible.len(), 3, "0 h, 1 h and 2 h ago");
}

#[test]
fn a_bad_qualifier_is_shown_in_the_filter_line_and_not_applied() {
    let mut s = on_builds(builds(false));
    let fx = filter(&mut s, "colour:red");
    assert!(real(&fx).is_empty());
    // Enter did not close the line: the error is there to fix.
    assert!(matches!(s.overlay, Overlay::Filter { .. }));
    let err = s.lists.builds.filter_error.clone().unwrap();
    assert!(err.contains("unknown qualifier `colour:`"), "{err}");
    let screen = render(&s, 160, 48);
    assert!(screen.contains("unknown qualifier `colour:`"), "{screen}");
    // Not applied: the rows show the last text that parsed, Esc returns to none.
    assert_eq!(s.lists.builds.applied_filter, "");
    assert_ne!(s.lists.builds.filter, "colour:red");
    // Fixed text applies; the error is gone.
    update(&mut s, Action::ClearLine, 100);
    type_text(&mut s, "since:2x");
    assert!(
        s.lists
            .builds
            .filter_error
            .as_deref()
            .unwrap()
            .contains("not a duration"),
        "{:?}",
        s.lists.builds.filter_error
    );
    update(&mut s, Action::ClearLine, 100);
    type_text(&mut s, "status:failed");
    update(&mut s, special(KeyCode::Enter), 100);
    assert!(matches!(s.overlay, Overlay::None));
    assert_eq!(s.lists.builds.filter_error, None);
    assert_eq!(visible_ids(&s), ["b0", "b2", "b5"]);
    // Esc while typing goes back to the filter applied before.
    update(&mut s, Action::StartFilter, 100);
    type_text(&mut s, " web");
    assert!(s.lists.builds.visible.is_empty());
    update(&mut s, special(KeyCode::Esc), 100);
    assert_eq!(s.lists.builds.filter, "status:failed");
    assert_eq!(visible_ids(&s), ["b0", "b2", "b5"]);
}

fn view(name: &str, pane: Resource, filter: &str) -> View {
    View {
        name: name.into(),
        pane,
        profile: None,
        filter: filter.into(),
        sort: None,
        line: 1,
    }
}

#[test]
fn a_view_opens_from_its_tab_number() {
    let views = vec![
        view("failing", Resource::Builds, "status:failed"),
        View {
            sort: Some(ViewSort {
                field: "last_build",
                ascending: false,
            }),
            ..view("ledger", Resource::Projects, "ledger")
        },
    ];
    let (mut s, epoch, _) = logged_in(true, views);
    // `8`: the Builds pane, its first request under way, the filter applied.
    let fx = update(&mut s, key('8'), 20);
    let req = builds_req(&fx);
    assert_eq!(s.pane, Resource::Builds);
    assert_eq!(s.lists.builds.filter, "status:failed");
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(Page::whole(builds(false)))),
        },
        30,
    );
    assert_eq!(visible_ids(&s), ["b0", "b2", "b5"]);
    let screen = render(&s, 160, 48);
    assert!(screen.contains("8 ◇failing"), "{screen}");
    assert!(screen.contains("9 ◇ledger"), "{screen}");
    // At 80 columns the other tabs keep only their number so the views still show.
    let screen = render(&s, 80, 24);
    let tabs = screen.lines().nth(1).unwrap();
    assert!(
        tabs.contains("8 ◇failing") && tabs.contains(" 9 "),
        "{screen}"
    );
    assert!(!tabs.contains("Projects"), "{tabs}");
    // `9`: a server-filtered pane gets the text and the sort in one request.
    let fx = update(&mut s, key('9'), 40);
    let query = match real(&fx)[..] {
        [Effect::FetchList { query, .. }] => query.clone(),
        ref other => panic!("expected one FetchList, got {other:?}"),
    };
    assert_eq!(query.filter.as_deref(), Some("ledger"));
    assert_eq!(
        query.sort,
        Some(Sort {
            field: "last_build",
            ascending: false
        })
    );
    assert_eq!(s.pane, Resource::Projects);
    // `0` without a third view says how to add one.
    update(&mut s, key('0'), 50);
    assert!(
        s.toast.as_ref().unwrap().text.contains("no saved view 3"),
        "{:?}",
        s.toast
    );
}

#[test]
fn a_view_opens_from_the_palette_with_completion_and_switches_profile() {
    let views = vec![
        view("failing", Resource::Builds, "status:failed"),
        View {
            profile: Some("prod".into()),
            ..view("prod-red", Resource::Projects, "status:failed")
        },
    ];
    let (mut s, _, _) = logged_in(false, views);
    update(&mut s, Action::OpenPalette, 20);
    type_text(&mut s, "view fa");
    update(&mut s, special(KeyCode::Tab), 20);
    match &s.overlay {
        Overlay::Palette { input, .. } => assert_eq!(input.lines().join(""), "view failing"),
        other => panic!("{other:?}"),
    }
    let fx = update(&mut s, special(KeyCode::Enter), 20);
    builds_req(&fx);
    assert_eq!(s.pane, Resource::Builds);
    assert_eq!(s.lists.builds.filter, "status:failed");
    // A view on another profile: switch, log in, then its pane and filter.
    update(&mut s, Action::OpenPalette, 30);
    type_text(&mut s, "view prod-red");
    let fx = update(&mut s, special(KeyCode::Enter), 30);
    assert_eq!(s.profile().unwrap().name, "prod");
    let epoch = epoch_of(&fx);
    let fx = update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session(false)),
        },
        40,
    );
    assert!(
        matches!(
            real(&fx)[..],
            [Effect::FetchList {
                resource: Resource::Projects,
                ..
            }]
        ),
        "{fx:?}"
    );
    assert_eq!(s.pane, Resource::Projects);
    assert_eq!(s.lists.projects.filter, "status:failed");
    // An unknown view names the known ones.
    update(&mut s, Action::OpenPalette, 50);
    type_text(&mut s, "view nope");
    update(&mut s, special(KeyCode::Enter), 50);
    let text = &s.toast.as_ref().unwrap().text;
    assert!(
        text.contains("no view `nope`") && text.contains("failing"),
        "{text}"
    );
}

#[test]
fn help_lists_the_view_keys_from_the_keymap() {
    let km = Keymap::default();
    let names: Vec<&str> = km.bindings.iter().map(|b| b.name).collect();
    for n in ["view_1", "view_2", "view_3"] {
        assert!(names.contains(&n), "{names:?}");
    }
}

// ---- [[views]] in the config ----

const PROFILE: &str = "[profiles.ci]\nkind = \"nullplatform\"\napi_key_env = \"K\"\n";

fn parse(views: &str) -> Result<Config, shipdeck::config::ConfigError> {
    Config::parse(&format!("{PROFILE}{views}"), Path::new("c.toml"), true)
}

#[test]
fn good_views_parse_in_file_order() {
    let cfg = parse(
        "\n[[views]]\nname = \"failing\"\npane = \"builds\"\nfilter = \"status:failed since:1d\"\n\
         \n[[views]]\nname = \"ledger\"\npane = \"projects\"\nprofile = \"ci\"\nsort = \"last_build desc\"\n",
    )
    .unwrap();
    assert_eq!(cfg.views.len(), 2);
    let v = &cfg.views[0];
    assert_eq!(
        (v.name.as_str(), v.pane, v.filter.as_str(), v.line),
        ("failing", Resource::Builds, "status:failed since:1d", 5)
    );
    let v = &cfg.views[1];
    assert_eq!(v.profile.as_deref(), Some("ci"));
    assert_eq!(
        v.sort,
        Some(ViewSort {
            field: "last_build",
            ascending: false
        })
    );
}

#[test]
fn each_bad_view_is_reported_with_its_line() {
    // Line numbers count from the top of the file (the profile takes lines 1–3).
    let text = "\n[[views]]\nname = \"a\"\npane = \"bilds\"\n\
                \n[[views]]\nname = \"b\"\npane = \"builds\"\nfilter = \"colour:red\"\n\
                \n[[views]]\nname = \"c\"\npane = \"builds\"\nsort = \"speed\"\n\
                \n[[views]]\nname = \"d\"\npane = \"builds\"\nprofile = \"nope\"\n\
                \n[[views]]\nname = \"e\"\npane = \"builds\"\nfliter = \"x\"\n\
                \n[[views]]\npane = \"builds\"\n\
                \n[[views]]\nname = \"g\"\n\
                \n[[views]]\nname = \"h\"\npane = \"builds\"\nfilter = \"since:2y\"\n\
                \n[[views]]\nname = \"a\"\npane = \"builds\"\n";
    let err = parse(text).unwrap_err();
    let got: Vec<String> = err
        .problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
        .collect();
    let want: &[(usize, &str)] = &[
        (
            7,
            "unknown pane `bilds` in a view; expected one of: projects, developers",
        ),
        (12, "filter: unknown qualifier `colour:`"),
        (17, "unknown sort column `speed`; expected one of: name"),
        (
            22,
            "view `d` names profile `nope`, which is not defined; defined profiles: ci",
        ),
        (27, "unknown key `fliter` in a view; did you mean `filter`?"),
        (29, "a view without `name`"),
        (32, "view `g` has no `pane`"),
        (38, "`since:2y` is not a duration"),
        (40, "view `a` is defined twice"),
    ];
    assert_eq!(err.problems.len(), want.len(), "{got:#?}");
    for (line, text) in want {
        assert!(
            err.problems
                .iter()
                .any(|p| p.line == *line && p.message.contains(text)),
            "no problem on line {line} containing {text:?}: {got:#?}"
        );
    }
    // `path:line:col: message`, as every config problem.
    assert!(
        err.to_string()
            .contains("c.toml:27:1: unknown key `fliter`"),
        "{err}"
    );
}
