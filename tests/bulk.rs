//! Marked rows in the Builds pane (Space) and `x` / `R` on all of them: `update()` tests
//! (action sequences → state and effects), and one run through the real Free Commit client
//! against the simulator where every kill is sent and audited on its own.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{Terminal, backend::TestBackend};
use shipdeck::api::{self, ApiError, Backend};
use shipdeck::app::action::{AuditEntry, Mutated, Mutation, Outcome};
use shipdeck::app::headless::act;
use shipdeck::app::state::{Conn, Overlay};
use shipdeck::app::{Action, Effect, Keymap, Listing, ProfileInfo, State, update};
use shipdeck::domain::*;
use shipdeck::ui::{self, Themes};

fn wall() -> DateTime<Utc> {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn profile(name: &str, read_only: bool) -> ProfileInfo {
    ProfileInfo {
        name: name.into(),
        kind: Kind::Freecommit,
        url: "https://ci.example.com/api-free-commit".into(),
        read_only,
        insecure: false,
        theme: None,
        protected_environments: vec![],
        web_url: None,
        notify: Default::default(),
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
                launch: true,
                skip_steps: true,
                kill: true,
                logs: true,
                live_logs: true,
                ..BuildSupport::default()
            },
            releases: Default::default(),
            missing: vec![],
        },
    }
}

/// A run of billing-api: queued/running ones carry a run UUID, finished ones a build id.
fn run(id: &str, status: BuildStatus) -> Build {
    let live = !status.is_terminal();
    Build {
        id: id.into(),
        run_id: live.then(|| id.to_string()),
        build_id: (!live).then(|| id.to_string()),
        project_id: Some("1".into()),
        project: "billing-api".into(),
        status,
        raw_status: format!("{status:?}").to_lowercase(),
        queued_at: Some(wall() - Duration::minutes(3)),
        ..Build::default()
    }
}

const A: &str = "0b6e1c2a-9f00-4d1b-8a7e-3f5c6d7e8f90";
const B: &str = "1c7f2d3b-0a11-4e2c-9b8f-4a6d7e8f9a01";
const C: &str = "2d803e4c-1b22-4f3d-8c90-5b7e8f9a0b12";

fn rows() -> Vec<Build> {
    vec![
        run(A, BuildStatus::Running),
        run(B, BuildStatus::Running),
        run(C, BuildStatus::Queued),
        run("12", BuildStatus::Failed),
    ]
}

fn key(c: char) -> Action {
    Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Logged in to `name` with the Builds pane showing `rows()`; the epoch.
fn builds_pane(name: &str) -> (State, u64) {
    let mut s = State::new(
        vec![profile("ci", false), profile("prod", true)],
        Keymap::default(),
    );
    s.wall = wall();
    let _ = update(
        &mut s,
        Action::Resize {
            cols: 120,
            rows: 30,
        },
        0,
    );
    let fx = update(&mut s, Action::SwitchProfile(name.into()), 0);
    let epoch = fx
        .iter()
        .find_map(|e| match e {
            Effect::Connect { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .expect("connect");
    update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session()),
        },
        10,
    );
    load_builds(&mut s, epoch, rows());
    (s, epoch)
}

/// Show the Builds pane (or refresh it) and answer with `rows`.
fn load_builds(s: &mut State, epoch: u64, rows: Vec<Build>) {
    let fx = if s.pane == Resource::Builds {
        update(s, Action::Refresh, 30)
    } else {
        update(s, Action::ShowPane(Resource::Builds), 30)
    };
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchBuilds { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no FetchBuilds in {fx:?}"));
    update(
        s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(Page::whole(rows))),
        },
        40,
    );
}

/// Select the row with `id` and press Space.
fn mark(s: &mut State, id: &str) {
    update(s, Action::Top, 50);
    while s.lists.builds.selected_row().map(|b| b.id.as_str()) != Some(id) {
        let before = s.lists.builds.selected;
        update(s, Action::Down, 50);
        assert_ne!(s.lists.builds.selected, before, "{id} not in the list");
    }
    update(s, key(' '), 50);
}

fn render(s: &State) -> String {
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    term.draw(|f| ui::draw(f, s, themes.get(s.theme_name())))
        .unwrap();
    term.backend().to_string()
}

fn confirm_text(s: &State) -> String {
    match &s.overlay {
        Overlay::Confirm(c) => format!("{}\n{}", c.title, c.lines.join("\n")),
        other => panic!("no confirmation: {other:?}; toast {:?}", s.toast),
    }
}

fn toast(s: &State) -> String {
    s.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default()
}

fn kills(fx: &[Effect]) -> Vec<Build> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Mutate {
                op: Mutation::Kill { build },
                ..
            } => Some(build.clone()),
            _ => None,
        })
        .collect()
}

/// What the runner would answer for one change (the audit entry as `exec` writes it).
fn done(epoch: u64, op: Mutation, result: Result<Outcome, ApiError>) -> Action {
    let audit = AuditEntry {
        time: wall(),
        profile: "ci".into(),
        user: "admin".into(),
        action: "kill".into(),
        target: op.target(),
        request: op.summary(),
        result: match &result {
            Ok(_) => "ok".into(),
            Err(e) => format!("error: {e}"),
        },
        key: String::new(),
    };
    Action::Mutated(Box::new(Mutated {
        epoch,
        op,
        result,
        audit,
    }))
}

#[test]
fn marks_show_survive_a_refresh_by_id_and_esc_clears_them() {
    let (mut s, epoch) = builds_pane("ci");
    mark(&mut s, B);
    mark(&mut s, "12");
    assert_eq!(s.lists.builds.marked, [B, "12"]);
    let screen = render(&s);
    assert!(screen.contains("2 marked"), "{screen}");
    assert_eq!(screen.matches('◆').count(), 2, "{screen}");
    // Space again unmarks.
    mark(&mut s, "12");
    assert_eq!(s.lists.builds.marked, [B]);
    mark(&mut s, "12");
    // A refresh: new rows on top, another order; the marks follow the ids.
    let mut fresh = rows();
    fresh.reverse();
    fresh.insert(
        0,
        run("3e914f5d-2c33-4a4e-9da1-6c8f9a0b1c23", BuildStatus::Queued),
    );
    load_builds(&mut s, epoch, fresh);
    assert_eq!(s.lists.builds.rows.len(), 5);
    assert_eq!(s.lists.builds.marked, [B, "12"]);
    let screen = render(&s);
    assert!(screen.contains("2 marked"), "{screen}");
    assert_eq!(screen.matches('◆').count(), 2, "{screen}");
    // Esc clears the marks first, and stays in the pane.
    update(&mut s, Action::Back, 60);
    assert!(s.lists.builds.marked.is_empty());
    assert_eq!(s.pane, Resource::Builds);
    assert!(!render(&s).contains("marked"));
}

#[test]
fn space_is_bound_once_in_the_builds_pane() {
    let km = Keymap::default();
    let space = KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE);
    assert!(matches!(
        km.lookup(&space, shipdeck::app::keymap::Ctx::List, false),
        Some(Action::MarkRow)
    ));
    let (s, _) = builds_pane("ci");
    assert!(matches!(
        shipdeck::app::router::route(&s, &space),
        Some(Action::MarkRow)
    ));
    // No other binding of the pane's layers (list, navigation, global) takes Space.
    let taken = km
        .bindings
        .iter()
        .filter(|b| b.keys.iter().any(|k| k.matches(&space)))
        .filter(|b| {
            b.ctx == shipdeck::app::keymap::Ctx::List || b.ctx == shipdeck::app::keymap::Ctx::Any
        })
        .count();
    assert_eq!(taken, 1);
}

#[test]
fn one_confirmation_lists_every_target_then_each_is_sent_and_summed_up() {
    let (mut s, epoch) = builds_pane("ci");
    for id in [A, B, C, "12"] {
        mark(&mut s, id);
    }
    update(&mut s, key('x'), 60);
    let text = confirm_text(&s);
    assert!(text.starts_with("kill 3 builds"), "{text}");
    for (id, status) in [
        ("0b6e1c2a", "running"),
        ("1c7f2d3b", "running"),
        ("2d803e4c", "queued"),
    ] {
        assert!(
            text.contains(&format!("kill billing-api {id} ({status})")),
            "{text}"
        );
    }
    assert!(
        text.contains("left out: #12 had already finished"),
        "{text}"
    );
    assert!(text.contains("profile ci"), "{text}");
    let fx = update(&mut s, key('y'), 70);
    let sent = kills(&fx);
    assert_eq!(
        sent.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        [A, B, C],
        "{fx:?}"
    );
    assert!(s.lists.builds.marked.is_empty(), "marks are spent");
    // Results come back one by one: one failed; the summary waits for all of them.
    let mut results = sent.into_iter().map(|build| Mutation::Kill { build });
    update(
        &mut s,
        done(epoch, results.next().unwrap(), Ok(Outcome::Done)),
        80,
    );
    update(
        &mut s,
        done(
            epoch,
            results.next().unwrap(),
            Err(ApiError::NotFound("CONTAINER_NOT_FOUND".into())),
        ),
        80,
    );
    assert!(!toast(&s).starts_with("killed"), "{}", toast(&s));
    update(
        &mut s,
        done(epoch, results.next().unwrap(), Ok(Outcome::Done)),
        80,
    );
    let said = toast(&s);
    assert!(said.starts_with("killed 2 of 4: "), "{said}");
    assert!(said.contains("#12 had already finished"), "{said}");
    assert!(said.contains("1c7f2d3b failed: not found"), "{said}");
    // Each change is its own line in the trail.
    let trail: Vec<&str> = s.audit.iter().map(|a| a.target.as_str()).collect();
    assert_eq!(
        trail,
        [
            "billing-api 0b6e1c2a",
            "billing-api 1c7f2d3b",
            "billing-api 2d803e4c"
        ]
    );
}

#[test]
fn a_marked_run_that_finished_before_the_yes_is_not_killed_and_said() {
    let (mut s, epoch) = builds_pane("ci");
    mark(&mut s, A);
    mark(&mut s, B);
    update(&mut s, key('x'), 60);
    assert!(confirm_text(&s).starts_with("kill 2 builds"));
    // A refresh while the question is open: A has finished meanwhile.
    s.lists.builds.rows[0].status = BuildStatus::Succeeded;
    let fx = update(&mut s, key('y'), 70);
    let sent = kills(&fx);
    assert_eq!(sent.len(), 1, "{fx:?}");
    assert_eq!(sent[0].id, B);
    update(
        &mut s,
        done(
            epoch,
            Mutation::Kill {
                build: sent[0].clone(),
            },
            Ok(Outcome::Done),
        ),
        80,
    );
    let said = toast(&s);
    assert_eq!(said, "killed 1 of 2: 0b6e1c2a finished meanwhile");
}

#[test]
fn nothing_killable_among_the_marks_asks_nothing() {
    let (mut s, _) = builds_pane("ci");
    mark(&mut s, "12");
    let fx = update(&mut s, key('x'), 60);
    assert!(matches!(s.overlay, Overlay::None));
    assert!(kills(&fx).is_empty());
    assert_eq!(toast(&s), "nothing to kill: #12 had already finished");
}

#[test]
fn read_only_refuses_bulk_changes_before_the_confirmation() {
    let (mut s, _) = builds_pane("prod");
    mark(&mut s, A);
    mark(&mut s, "12");
    for k in ['x', 'R'] {
        let fx = update(&mut s, key(k), 60);
        assert!(matches!(s.overlay, Overlay::None), "{k}: {:?}", s.overlay);
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Mutate { .. })),
            "{fx:?}"
        );
        assert!(
            toast(&s).starts_with("refused: profile prod is read-only"),
            "{}",
            toast(&s)
        );
    }
    // Both refusals are in the trail.
    assert_eq!(
        s.audit
            .iter()
            .filter(|a| a.result.starts_with("refused"))
            .count(),
        2
    );
}

#[test]
fn rerun_of_marked_builds_names_each_ones_parameters() {
    let (mut s, epoch) = builds_pane("ci");
    let mut fresh = rows();
    fresh.push(run("11", BuildStatus::Succeeded));
    load_builds(&mut s, epoch, fresh);
    mark(&mut s, "12");
    mark(&mut s, "11");
    mark(&mut s, A);
    update(&mut s, key('R'), 60);
    let text = confirm_text(&s);
    assert!(text.starts_with("re-run 2 builds"), "{text}");
    assert!(text.contains("re-run billing-api #12: "), "{text}");
    assert!(text.contains("re-run billing-api #11: "), "{text}");
    // Free Commit keeps no skipped steps with a build: said, not guessed.
    assert!(text.contains("does not record skipped steps"), "{text}");
    assert!(
        text.contains("left out: 0b6e1c2a has not finished yet"),
        "{text}"
    );
    let fx = update(&mut s, key('y'), 70);
    let reruns: Vec<&LaunchRequest> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Mutate {
                op: Mutation::Rerun { request, .. },
                ..
            } => Some(request),
            _ => None,
        })
        .collect();
    assert_eq!(reruns.len(), 2, "{fx:?}");
    assert!(reruns.iter().all(|r| r.project_id == "1"));
    // Both started: one summary for the two and the one left out.
    let ops: Vec<Mutation> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Mutate { op, .. } => Some(op.clone()),
            _ => None,
        })
        .collect();
    for (i, op) in ops.into_iter().enumerate() {
        let new = run(
            &format!("9{i}a0b1c2-0000-4000-8000-000000000000"),
            BuildStatus::Queued,
        );
        update(&mut s, done(epoch, op, Ok(Outcome::Build(new))), 80);
    }
    assert_eq!(toast(&s), "re-ran 2 of 3: 0b6e1c2a has not finished yet");
}

/// The real Free Commit client and simulator: three queued runs and a finished build marked,
/// one `x`, one yes: three kills on the wire, three audit lines, one summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_kill_against_the_simulator_sends_and_audits_each() {
    let sim = common::start_sim("").await;
    let proxy = common::start_proxy(&sim).await;
    let mut cfg = shipdeck::demo::demo_config(&sim);
    for p in &mut cfg.profiles {
        p.url = p
            .url
            .as_str()
            .replace(&sim.url(""), &proxy.root)
            .parse()
            .unwrap();
    }
    let p = cfg
        .profiles
        .iter()
        .find(|p| p.name == "demo-freecommit")
        .unwrap();
    let backend = api::connect(p).unwrap();
    let b: &dyn Backend = backend.as_ref();
    let mut queued = Vec::new();
    for _ in 0..3 {
        let req = LaunchRequest {
            project_id: "1".into(),
            ..LaunchRequest::default()
        };
        queued.push(b.launch(&req).await.unwrap().id);
    }
    let profiles: Vec<ProfileInfo> = cfg.profiles.iter().map(ProfileInfo::from_profile).collect();
    let mut s = State::new(profiles, Keymap::default());
    let _ = update(
        &mut s,
        Action::Resize {
            cols: 120,
            rows: 40,
        },
        0,
    );
    act(&mut s, b, Action::SwitchProfile("demo-freecommit".into())).await;
    assert_eq!(s.conn, Conn::Online);
    // Builds of billing-api: the three queued runs on top, then its history.
    act(&mut s, b, Action::ShowPane(Resource::Projects)).await;
    while s.lists.projects.selected_row().map(|x| x.id.as_str()) != Some("1") {
        let before = s.lists.projects.selected;
        act(&mut s, b, Action::Down).await;
        assert_ne!(s.lists.projects.selected, before, "no billing-api");
    }
    act(&mut s, b, Action::Open).await;
    assert_eq!(s.pane, Resource::Builds);
    let finished = s
        .lists
        .builds
        .rows
        .iter()
        .find(|x| x.status.is_terminal())
        .map(|x| x.id.clone())
        .expect("a finished build");
    for id in queued.iter().chain([&finished]) {
        act(&mut s, b, Action::Top).await;
        while s.lists.builds.selected_row().map(|x| &x.id) != Some(id) {
            act(&mut s, b, Action::Down).await;
        }
        act(&mut s, b, key(' ')).await;
    }
    act(&mut s, b, key('x')).await;
    let text = confirm_text(&s);
    assert!(text.starts_with("kill 3 builds"), "{text}");
    act(&mut s, b, key('y')).await;
    let kills: Vec<String> = proxy
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .map(|w| w.path)
        .collect();
    let want: Vec<String> = queued
        .iter()
        .map(|id| format!("/freecommit/developer/builds/kill/queued/{id}"))
        .collect();
    assert_eq!(kills, want);
    let audited: Vec<(&str, &str)> = s
        .audit
        .iter()
        .map(|a| (a.action.as_str(), a.result.as_str()))
        .collect();
    assert_eq!(audited, [("kill", "ok"); 3]);
    assert_eq!(
        toast(&s),
        format!("killed 3 of 4: #{finished} had already finished")
    );
}

#[test]
fn a_long_list_of_targets_keeps_the_question_on_a_small_screen() {
    let (mut s, epoch) = builds_pane("ci");
    let many: Vec<Build> = (0..30)
        .map(|i| {
            run(
                &format!("{i:08x}-0000-4000-8000-000000000000"),
                BuildStatus::Running,
            )
        })
        .collect();
    load_builds(&mut s, epoch, many.clone());
    for b in &many {
        mark(&mut s, &b.id);
    }
    update(&mut s, key('x'), 60);
    assert_eq!(
        confirm_text(&s).lines().count(),
        1 + 30 + 2,
        "every target is listed"
    );
    let screen = render(&s);
    assert!(screen.contains("kill 30 builds"), "{screen}");
    assert!(screen.contains("yes, do it"), "{screen}");
    assert!(screen.contains("more not shown"), "{screen}");
    assert!(screen.contains("profile ci"), "{screen}");
}
