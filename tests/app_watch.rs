//! The watch list and links (issue 13 items 1 and 3) through `update()`: `w` adds and
//! removes, `:watching` lists every profile's items, a watched build that ends is announced
//! (message, bell, OSC 9) and ⏎ jumps to it, polling is fast while something runs and stops
//! when nothing does, `o` shows an OSC 8 link without a display, `Y` copies link then id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use shipdeck::app::state::Overlay;
use shipdeck::app::watch::{Now, Seen, WatchKind, Watched};
use shipdeck::app::{Action, Effect, Keymap, Listing, ProfileInfo, State, update};
use shipdeck::config::Notify;
use shipdeck::domain::*;

fn wall() -> DateTime<Utc> {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn profile(name: &str, notify: Notify) -> ProfileInfo {
    ProfileInfo {
        name: name.into(),
        kind: Kind::Freecommit,
        url: format!("https://{name}.example.com/api-free-commit"),
        read_only: false,
        insecure: false,
        theme: None,
        protected_environments: vec![],
        web_url: None,
        notify,
    }
}

fn session() -> Session {
    Session {
        user: User {
            id: "1".into(),
            name: "admin".into(),
            roles: vec!["ROLE_DEVELOPER".into()],
        },
        caps: Capabilities {
            lists: vec![],
            builds: BuildSupport {
                list: true,
                logs: true,
                ..BuildSupport::default()
            },
            releases: Default::default(),
            missing: vec![],
        },
    }
}

fn running(id: &str, project: &str) -> Build {
    Build {
        id: id.into(),
        run_id: Some(id.into()),
        project: project.into(),
        status: BuildStatus::Running,
        raw_status: "running".into(),
        started_at: Some(wall()),
        ..Build::default()
    }
}

fn key(c: char) -> Action {
    Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Logged in to `ci` (notify `ci_notify`; profile `prod` too), the Builds pane showing `builds`.
fn on_builds(ci_notify: Notify, builds: Vec<Build>) -> State {
    let mut s = State::new(
        vec![profile("ci", ci_notify), profile("prod", Notify::Both)],
        Keymap::default(),
    );
    s.wall = wall();
    update(
        &mut s,
        Action::Resize {
            cols: 100,
            rows: 30,
        },
        0,
    );
    let fx = update(&mut s, Action::SwitchProfile("ci".into()), 0);
    let epoch = fx
        .iter()
        .find_map(|e| match e {
            Effect::Connect { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .unwrap();
    let mut fx = update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session()),
        },
        10,
    );
    fx.extend(update(&mut s, Action::ShowPane(Resource::Builds), 20));
    assert_eq!(s.pane, Resource::Builds);
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchBuilds { req, .. } => Some(*req),
            _ => None,
        })
        .expect("builds asked for");
    let n = builds.len();
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(Page {
                items: builds,
                page: 1,
                per_page: 20,
                total: Some(n as u64),
                has_more: false,
            })),
        },
        30,
    );
    s
}

fn saved(fx: &[Effect]) -> Option<(String, usize)> {
    fx.iter().find_map(|e| match e {
        Effect::SaveWatch { profile, items } => Some((profile.clone(), items.len())),
        _ => None,
    })
}

fn poll(fx: &[Effect]) -> Option<(u64, Vec<Watched>)> {
    fx.iter().find_map(|e| match e {
        Effect::PollWatch { req, items } => Some((*req, items.clone())),
        _ => None,
    })
}

/// Tick at the watch list's next deadline; the poll it sends, if any.
fn tick_to_poll(s: &mut State) -> Option<(u64, Vec<Watched>, u64)> {
    let at = shipdeck::app::watch::next_deadline(s)?;
    let fx = update(s, Action::Tick, at);
    poll(&fx).map(|(req, items)| (req, items, at))
}

fn answer(w: &Watched, status: BuildStatus, build_id: Option<&str>) -> Seen {
    Seen {
        profile: w.profile.clone(),
        kind: w.kind,
        id: w.id.clone(),
        result: Ok(Some(Now {
            status,
            raw_status: status.symbol().into(),
            build_id: build_id.map(String::from),
            project_id: Some("7".into()),
            started_at: w.started_at,
            message: (status == BuildStatus::Failed).then(|| "a step failed".into()),
            baseline: None,
        })),
    }
}

#[test]
fn w_watches_the_selected_build_and_again_stops() {
    let mut s = on_builds(
        Notify::Both,
        vec![running("run-a", "web"), running("run-b", "api")],
    );
    let fx = update(&mut s, key('w'), 40);
    assert_eq!(s.watch.items.len(), 1);
    assert_eq!(s.watch.items[0].id, "run-a");
    assert_eq!(s.watch.items[0].kind, WatchKind::Build);
    assert_eq!(saved(&fx), Some(("ci".into(), 1)), "persisted: {fx:?}");
    assert!(s.toast.as_ref().unwrap().text.contains("watching web"));
    // The next row too, then the first again: it is taken off.
    update(&mut s, key('j'), 41);
    update(&mut s, key('w'), 42);
    update(&mut s, key('k'), 43);
    let fx = update(&mut s, key('w'), 44);
    assert_eq!(
        s.watch
            .items
            .iter()
            .map(|w| w.id.as_str())
            .collect::<Vec<_>>(),
        ["run-b"]
    );
    assert_eq!(saved(&fx), Some(("ci".into(), 1)));
    assert!(
        s.toast
            .as_ref()
            .unwrap()
            .text
            .contains("no longer watching")
    );
    // A finished build is not watched.
    let done = Build {
        status: BuildStatus::Succeeded,
        ..running("run-c", "docs")
    };
    let mut s = on_builds(Notify::Both, vec![done]);
    let fx = update(&mut s, key('w'), 40);
    assert!(s.watch.items.is_empty() && saved(&fx).is_none());
}

#[test]
fn watching_lists_every_profile_and_enter_jumps_to_the_profile() {
    let mut s = on_builds(Notify::Both, vec![running("run-a", "web")]);
    update(&mut s, key('w'), 40);
    // An item of another profile, as restored from its file at start.
    let other = Watched {
        profile: "prod".into(),
        ..Watched::from_build("prod", &running("run-z", "payments"))
    };
    shipdeck::app::watch::restore(&mut s, vec![other]);
    update(&mut s, Action::OpenPalette, 50);
    for c in "watching".chars() {
        update(&mut s, key(c), 50);
    }
    update(&mut s, Action::Accept, 51);
    assert!(
        matches!(s.overlay, Overlay::Watching { selected: 0 }),
        "{:?}",
        s.overlay
    );
    let lines = shipdeck::app::watch::lines(&s);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains("ci") && lines[0].contains("web run-a"),
        "{lines:?}"
    );
    assert!(lines[1].contains("prod") && lines[1].contains("payments run-z"));
    // The second line, Enter: prod is switched to and its queue opened on that run.
    update(&mut s, key('j'), 52);
    let fx = update(
        &mut s,
        Action::Input(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        53,
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Connect { profile, .. } if profile == "prod")),
        "{fx:?}"
    );
    assert_eq!(s.profile().unwrap().name, "prod");
    assert_eq!(
        s.open_after_login,
        Some((Resource::Builds, Some("run-z".into())))
    );
    assert!(matches!(s.overlay, Overlay::None));
}

#[test]
fn a_watched_build_that_ends_is_announced_and_enter_jumps_there() {
    let mut s = on_builds(Notify::Both, vec![running("run-a", "web")]);
    update(&mut s, key('w'), 40);
    // Somewhere else entirely: another pane.
    update(&mut s, Action::ShowPane(Resource::Audit), 50);
    let (req, items, at) = tick_to_poll(&mut s).expect("a poll");
    assert_eq!(items.len(), 1);
    // It failed; its finished record is build 140 of project 7.
    let seen = vec![answer(&items[0], BuildStatus::Failed, Some("140"))];
    let fx = update(&mut s, Action::WatchPolled { req, seen }, at + 100);
    let toast = s.toast.clone().expect("a message");
    assert!(
        toast.text.contains("ci: web run-a ✘ failed"),
        "{}",
        toast.text
    );
    assert!(toast.text.contains("(a step failed)"), "{}", toast.text);
    assert!(toast.text.contains("⏎ to jump there"), "{}", toast.text);
    let alert = fx
        .iter()
        .find_map(|e| match e {
            Effect::Alert(a) => Some(a.clone()),
            _ => None,
        })
        .expect("bell and notification");
    assert!(alert.bell && alert.desktop);
    let bytes = shipdeck::termseq::alert(&alert, Default::default());
    assert!(
        bytes.starts_with("\x07\x1b]9;shipdeck · ci: web run-a ✘ failed"),
        "{bytes:?}"
    );
    // The new state is kept for the next start.
    assert_eq!(saved(&fx), Some(("ci".into(), 1)));
    assert_eq!(s.watch.items[0].status, BuildStatus::Failed);
    // Enter: the project's history, the finished build selected.
    let fx = update(
        &mut s,
        Action::Input(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        at + 200,
    );
    assert_eq!(s.pane, Resource::Builds);
    assert_eq!(
        s.builds_scope,
        BuildScope::Project {
            id: "7".into(),
            name: "web".into()
        }
    );
    assert_eq!(s.lists.builds.selected_id.as_deref(), Some("140"));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::FetchBuilds { scope: BuildScope::Project { id, .. }, .. } if id == "7")),
        "{fx:?}"
    );
    // Nothing runs any more: no further poll.
    assert_eq!(shipdeck::app::watch::next_deadline(&s), None);
}

#[test]
fn notify_none_still_says_it_but_rings_nothing() {
    let mut s = on_builds(Notify::None, vec![running("run-a", "web")]);
    update(&mut s, key('w'), 40);
    let (req, items, at) = tick_to_poll(&mut s).unwrap();
    let seen = vec![answer(&items[0], BuildStatus::Succeeded, None)];
    let fx = update(&mut s, Action::WatchPolled { req, seen }, at + 1);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Alert(_))), "{fx:?}");
    assert!(s.toast.unwrap().text.contains("✔ passed"));
}

#[test]
fn polling_is_fast_while_something_runs_and_stops_when_nothing_does() {
    let mut s = on_builds(
        Notify::Both,
        vec![running("run-a", "web"), running("run-b", "api")],
    );
    update(&mut s, key('w'), 40);
    update(&mut s, key('j'), 41);
    update(&mut s, key('w'), 42);
    // One simulated minute while both run: one poll (for both items) every 3 s.
    let mut polls = 0;
    let mut after_a_minute = None;
    while let Some((req, items, at)) = tick_to_poll(&mut s) {
        if at > 42 + 60_000 {
            after_a_minute = Some((req, items, at));
            break;
        }
        assert_eq!(items.len(), 2, "one poll asks about every item");
        polls += 1;
        let seen = items
            .iter()
            .map(|w| answer(w, BuildStatus::Running, None))
            .collect();
        update(&mut s, Action::WatchPolled { req, seen }, at + 50);
    }
    assert!(
        (19..=21).contains(&polls),
        "{polls} polls a minute while busy"
    );
    // Both end: no more polls at all.
    let (req, items, at) = after_a_minute.unwrap();
    let seen = items
        .iter()
        .map(|w| answer(w, BuildStatus::Succeeded, None))
        .collect();
    update(&mut s, Action::WatchPolled { req, seen }, at + 1);
    assert_eq!(shipdeck::app::watch::next_deadline(&s), None);
    let fx = update(&mut s, Action::Tick, at + 60_000);
    assert!(poll(&fx).is_none());
    // A failing poll backs off instead of hammering.
    let mut s = on_builds(Notify::Both, vec![running("run-a", "web")]);
    update(&mut s, key('w'), 40);
    let mut gaps = Vec::new();
    let mut last = 40;
    for _ in 0..6 {
        let (req, items, at) = tick_to_poll(&mut s).unwrap();
        gaps.push(at - last);
        last = at;
        let seen = items
            .iter()
            .map(|w| Seen {
                profile: w.profile.clone(),
                kind: w.kind,
                id: w.id.clone(),
                result: Err("connection refused".into()),
            })
            .collect();
        update(&mut s, Action::WatchPolled { req, seen }, at);
    }
    assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
    assert!(*gaps.last().unwrap() >= 48_000, "{gaps:?}");
}

#[test]
fn a_restart_asks_at_once_about_restored_items() {
    let mut s = on_builds(Notify::Both, vec![]);
    let item = Watched::from_build("prod", &running("run-z", "payments"));
    shipdeck::app::watch::restore(&mut s, vec![item.clone(), item]);
    assert_eq!(s.watch.items.len(), 1, "kept once");
    let (_, items, _) = tick_to_poll(&mut s).expect("asked at once");
    assert_eq!(items[0].profile, "prod");
}

#[test]
fn o_without_a_display_shows_a_link_to_click_and_with_one_opens_the_browser() {
    let mut s = on_builds(Notify::Both, vec![running("run-a", "web")]);
    s.lists.builds.rows[0].project_id = Some("7".into());
    s.display = false;
    let fx = update(&mut s, key('o'), 40);
    assert!(fx.is_empty(), "{fx:?}");
    let toast = s.toast.clone().unwrap();
    let url = "https://ci.example.com/free-commit/project/7";
    assert_eq!(toast.link.as_deref(), Some(url));
    assert!(toast.text.contains(url), "{}", toast.text);
    assert_eq!(
        shipdeck::app::links::osc8(url),
        format!("\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\")
    );
    s.display = true;
    let fx = update(&mut s, key('o'), 50);
    assert_eq!(fx, vec![Effect::OpenUrl(url.into())]);
    // No browser after all: the link is shown instead.
    update(
        &mut s,
        Action::OpenFailed {
            url: url.into(),
            why: "xdg-open found no browser".into(),
        },
        60,
    );
    assert_eq!(s.toast.unwrap().link.as_deref(), Some(url));
}

#[test]
fn web_url_in_a_profile_replaces_the_root_of_links() {
    let mut s = on_builds(Notify::Both, vec![running("run-a", "web")]);
    s.lists.builds.rows[0].project_id = Some("7".into());
    s.profiles[0].web_url = Some("https://builds.example.com/".into());
    let t = shipdeck::app::links::target(&s).unwrap();
    assert_eq!(t.url, "https://builds.example.com/free-commit/project/7");
}

#[test]
fn shift_y_copies_the_link_then_the_id() {
    let mut s = on_builds(Notify::Both, vec![running("run-a", "web")]);
    let fx = update(&mut s, key('Y'), 40);
    assert_eq!(
        fx,
        vec![Effect::Copy(
            "https://ci.example.com/free-commit/project".into()
        )]
    );
    assert!(s.toast.as_ref().unwrap().text.contains("Y again: the id"));
    let fx = update(&mut s, key('Y'), 41);
    assert_eq!(fx, vec![Effect::Copy("run-a".into())]);
}

#[test]
fn the_keys_do_not_clash_and_show_in_help() {
    let km = Keymap::default();
    let names: Vec<&str> = km.bindings.iter().map(|b| b.name).collect();
    for n in ["watch", "web", "copy_link", "watch_log", "watching_jump"] {
        assert!(names.contains(&n), "{n}");
    }
    // In a list `w`, `o`, `Y` mean only these; in a log `w` still wraps.
    let list = |c: char| {
        km.bindings
            .iter()
            .filter(|b| {
                b.ctx == shipdeck::app::keymap::Ctx::List
                    && b.keys
                        .iter()
                        .any(|k| k.matches(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
            })
            .count()
    };
    assert_eq!((list('w'), list('o'), list('Y')), (1, 1, 1));
}
