//! Insta snapshots of every pane each non-Free-Commit backend offers, from REAL app states: the
//! simulator runs in-process on its manual clock, the real client logs in, and the app's own
//! `update` (through `app::headless`) and `ui::draw` produce the screens. Plus a few facts per
//! backend that must hold on screen whatever the snapshots say.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ratatui::{Terminal, backend::TestBackend};
use shipdeck::api::{self, Backend};
use shipdeck::app::headless::act;
use shipdeck::app::state::{Conn, Overlay};
use shipdeck::app::{Action, Keymap, ProfileInfo, State, update};
use shipdeck::domain::{BuildScope, Resource};
use shipdeck::sim::{self, SimHandle, SimOptions};
use shipdeck::ui::{self, Themes};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// One screen of a walk: its snapshot name (without the size) and what was drawn.
struct Shot {
    name: String,
    screen: String,
}

fn render(s: &State, w: u16, h: u16) -> String {
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, s, themes.get(s.theme_name())))
        .unwrap();
    term.backend().to_string()
}

/// What is left to pin before a frame: the wall clock at the simulator's epoch (stable "3h
/// ago" columns), no toast, and the monotonic clock where no spinner frame depends on it.
fn pin(s: &mut State) {
    s.wall = chrono::DateTime::from_timestamp_nanos(sim::clock::MANUAL_EPOCH_NS);
    s.now = 0;
    s.toast = None;
    // Audit lines carry the wall time they were written at.
    for a in s.audit.iter_mut().chain(s.lists.audit.rows.iter_mut()) {
        a.time = s.wall;
    }
}

/// One change through the app, made as an operator would (the form, then yes), so the Audit,
/// Builds and Overview panes show real content: a launch where the backend launches builds,
/// else a deploy to the second environment.
async fn make_a_change(s: &mut State, b: &dyn Backend) {
    let caps = s.caps().cloned().expect("a session");
    if caps.builds.launch {
        act(s, b, Action::ShowPane(Resource::Projects)).await;
        act(s, b, Action::Top).await;
        if s.kind() == Some(shipdeck::domain::Kind::Candor) {
            // The demo user may trigger the pipelines it is assigned to (not the first).
            act(s, b, Action::Down).await;
        }
        act(s, b, Action::Launch).await;
        // A required field without a default (nullplatform's commit): type one, as a user would.
        if let Overlay::Launch(form) = &s.overlay
            && let Some(i) = form
                .fields
                .iter()
                .position(|(f, input)| f.required && input.lines().join("").is_empty())
        {
            let at = form
                .focus_order()
                .iter()
                .position(|f| *f == i + 2)
                .unwrap_or(0);
            let from = form
                .focus_order()
                .iter()
                .position(|f| *f == form.focus)
                .unwrap_or(0);
            for _ in from..at {
                act(s, b, Action::NextField).await;
            }
            for c in "4e1f9a7".chars() {
                let key = crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                );
                act(s, b, Action::Input(key)).await;
            }
        }
    } else if caps.releases.deploy {
        act(s, b, Action::ShowPane(Resource::Releases)).await;
        act(s, b, Action::NextEnv).await;
        act(s, b, Action::DeployCandidate).await;
        act(s, b, Action::Accept).await;
        act(s, b, Action::Accept).await;
        // Back to the first environment, where the walk starts.
        act(s, b, Action::PrevEnv).await;
        return check_audited(s);
    } else {
        return;
    }
    act(s, b, Action::Accept).await; // the form: its defaults
    act(s, b, Action::Accept).await; // the confirmation: yes
    check_audited(s);
}

fn check_audited(s: &State) {
    assert!(matches!(s.overlay, Overlay::None), "{:?}", s.overlay);
    assert!(s.audit.iter().any(|a| a.result == "ok"), "{:?}", s.audit);
}

/// Log in to `profile` of the demo config headlessly at `w`×`h`, then show every pane the
/// session offers; in Builds also open a project's history when the queue is empty, and a
/// build's log where the backend has logs.
async fn walk(sim: &SimHandle, profile: &str, w: u16, h: u16) -> (State, Vec<Shot>) {
    let cfg = shipdeck::demo::demo_config(sim);
    let p = cfg
        .profiles
        .iter()
        .find(|p| p.name == profile)
        .expect("demo profile");
    let backend = api::connect(p).expect("client");
    let b: &dyn Backend = backend.as_ref();
    let profiles: Vec<ProfileInfo> = cfg.profiles.iter().map(ProfileInfo::from_profile).collect();
    let mut s = State::new(profiles, Keymap::default());
    s.theme_names = Themes::builtin().names();
    let _ = update(&mut s, Action::Resize { cols: w, rows: h }, 0);
    pin(&mut s);
    act(&mut s, b, Action::SwitchProfile(profile.into())).await;
    assert_eq!(s.conn, Conn::Online, "{profile} logs in");
    make_a_change(&mut s, b).await;
    let mut shots = Vec::new();
    let mut shot = |s: &mut State, name: &str| {
        pin(s);
        shots.push(Shot {
            name: name.to_string(),
            screen: render(s, w, h),
        });
    };
    let panes = s.panes();
    let logs = s.caps().is_some_and(|c| c.builds.logs);
    for pane in panes {
        act(&mut s, b, Action::ShowPane(pane)).await;
        assert_eq!(s.pane, pane);
        shot(&mut s, pane.as_str());
        if pane != Resource::Builds {
            continue;
        }
        {
            // Enter on the first project shows its history.
            act(&mut s, b, Action::ShowPane(Resource::Projects)).await;
            act(&mut s, b, Action::Top).await;
            act(&mut s, b, Action::Open).await;
            assert!(
                matches!(s.builds_scope, BuildScope::Project { .. }),
                "{profile}: Enter on a project opens its builds"
            );
            shot(&mut s, "project_builds");
        }
        if logs {
            // The newest finished build (the change above queued one that has no log yet).
            act(&mut s, b, Action::Top).await;
            while s
                .lists
                .builds
                .selected_row()
                .is_some_and(|x| !x.status.is_terminal())
            {
                act(&mut s, b, Action::Down).await;
            }
            act(&mut s, b, Action::Open).await;
            assert!(s.log.is_some(), "{profile}: Enter on a build opens its log");
            shot(&mut s, "log");
            act(&mut s, b, Action::Back).await;
            assert!(s.log.is_none());
        }
    }
    (s, shots)
}

/// Snapshot every screen of the walk at both sizes; returns the screens by name and size.
async fn snapshots(profile: &str, prefix: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (w, h) in SIZES {
        // A fresh simulator per size: each walk makes its change on the same start.
        let sim = sim::start(SimOptions::default())
            .await
            .expect("simulator starts");
        let (_, shots) = walk(&sim, profile, w, h).await;
        for Shot { name, screen } in shots {
            let name = format!("{prefix}_{name}_{w}x{h}");
            insta::assert_snapshot!(name.clone(), screen);
            all.push((name, screen));
        }
        sim.shutdown().await;
    }
    all
}

fn screen<'a>(all: &'a [(String, String)], name: &str) -> &'a str {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| {
            panic!(
                "no screen {name}; have {:?}",
                all.iter().map(|(n, _)| n).collect::<Vec<_>>()
            )
        })
        .1
}

fn names(all: &[(String, String)]) -> Vec<&str> {
    all.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn aviator_panes() {
    let all = snapshots("demo-aviator", "aviator").await;
    assert_eq!(
        small(&all),
        [
            "aviator_projects_80x24",
            "aviator_releases_80x24",
            "aviator_audit_80x24",
            "aviator_overview_80x24",
        ],
        "Aviator offers projects, releases, audit and overview; no builds, secrets or users"
    );
    for size in ["80x24", "160x48"] {
        let projects = screen(&all, &format!("aviator_projects_{size}"));
        for p in sim::aviator::CATALOG {
            assert!(projects.contains(p.name), "{}:\n{projects}", p.name);
        }
    }
    // The pipeline of the first release project, in promotion order.
    let releases = screen(&all, "aviator_releases_160x48");
    let first = &sim::aviator::CATALOG[0];
    let at: Vec<usize> = first
        .environments
        .iter()
        .map(|e| {
            releases
                .find(e.name)
                .unwrap_or_else(|| panic!("{} missing:\n{releases}", e.name))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "environments out of order {at:?}:\n{releases}"
    );
    assert!(releases.contains(&format!("Deployments to {}", first.environments[0].name)));
}

/// The panes snapshotted at 80×24, in order.
fn small(all: &[(String, String)]) -> Vec<&str> {
    names(all)
        .into_iter()
        .filter(|n| n.ends_with("_80x24"))
        .collect()
}

#[tokio::test]
async fn serverless_cd_panes() {
    let all = snapshots("demo-serverless-cd", "serverless_cd").await;
    assert_eq!(
        small(&all),
        [
            "serverless_cd_projects_80x24",
            "serverless_cd_secrets_80x24",
            "serverless_cd_builds_80x24",
            "serverless_cd_project_builds_80x24",
            "serverless_cd_log_80x24",
            "serverless_cd_audit_80x24",
            "serverless_cd_overview_80x24",
        ]
    );
    for (name, screen) in &all {
        // Secret values are `sv-<hex>` in the fixtures, webhook secrets `whsec-…`, and the
        // token is the profile's own: none may reach any screen.
        for leak in ["sv-", "whsec-", sim::serverless_cd::DEMO_TOKEN] {
            assert!(!screen.contains(leak), "{name} shows {leak}:\n{screen}");
        }
    }
    let projects = screen(&all, "serverless_cd_projects_160x48");
    assert!(projects.contains("shop-api") && projects.contains("legacy-cron"));
    assert!(
        !projects.contains("partner-sync"),
        "another user's application is hidden:\n{projects}"
    );
    let secrets = screen(&all, "serverless_cd_secrets_160x48");
    assert!(secrets.contains("ALIYUN_AK") && secrets.contains("•••• hidde"));
    let history = screen(&all, "serverless_cd_project_builds_160x48");
    // 37 tasks, and the one the walk launched.
    assert!(history.contains("Builds of shop-api · 38"), "{history}");
    let log = screen(&all, "serverless_cd_log_160x48");
    assert!(log.contains("✔ shop-api deployed (fc."), "{log}");
    assert!(log.contains("notification sent (task success)"), "{log}");
}

#[tokio::test]
async fn nullplatform_panes() {
    let all = snapshots("demo-nullplatform", "nullplatform").await;
    assert_eq!(
        small(&all),
        [
            "nullplatform_projects_80x24",
            "nullplatform_secrets_80x24",
            "nullplatform_builds_80x24",
            "nullplatform_project_builds_80x24",
            "nullplatform_audit_80x24",
            "nullplatform_overview_80x24",
        ],
        "nullplatform has no logs to open and no developers"
    );
    for (name, screen) in &all {
        // Secret parameter values are `s3cr3t-<app>-<hex>` in the fixtures; the API key too.
        for leak in ["s3cr3t", "np-demo-key"] {
            assert!(!screen.contains(leak), "{name} shows {leak}:\n{screen}");
        }
    }
    let secrets = screen(&all, "nullplatform_secrets_160x48");
    // Plain parameters show their values; secret ones are hidden.
    for plain in ["us-east-1", "acme-ci", "ci-bot", "8080"] {
        assert!(secrets.contains(plain), "{plain}:\n{secrets}");
    }
    assert!(secrets.contains("•••• hidde"), "{secrets}");
    let projects = screen(&all, "nullplatform_projects_80x24");
    assert!(projects.contains("payments") && projects.contains("checkout"));
    let builds = screen(&all, "nullplatform_builds_160x48");
    assert!(
        builds.contains("queued") && builds.contains("running"),
        "{builds}"
    );
}

#[tokio::test]
async fn candor_panes() {
    let all = snapshots("demo-candor", "candor").await;
    assert_eq!(
        small(&all),
        [
            "candor_projects_80x24",
            "candor_developers_80x24",
            "candor_builds_80x24",
            "candor_project_builds_80x24",
            "candor_log_80x24",
            "candor_audit_80x24",
            "candor_overview_80x24",
        ],
        "Candor has no secrets"
    );
    for (name, screen) in &all {
        for leak in ["demouser:", sim::candor::RUNNER_TOKEN] {
            assert!(!screen.contains(leak), "{name} shows {leak}:\n{screen}");
        }
    }
    let projects = screen(&all, "candor_projects_160x48");
    for p in [
        "lint",
        "web-build",
        "integration",
        "hello-world",
        "nightly-e2e",
    ] {
        assert!(projects.contains(p), "{p}:\n{projects}");
    }
    assert!(projects.contains("stage 2/3 failed"), "{projects}");
    let log = screen(&all, "candor_log_160x48");
    assert!(log.contains("$ npm run lint"), "{log}");
    assert!(log.contains("Process exited with status code 0"), "{log}");
}
