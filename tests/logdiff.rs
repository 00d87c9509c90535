//! Issue 12, items 1 and 2, end to end through the app's own `update` (headless, against the
//! in-process simulator on its manual clock) and through the CLI: a failed build's log opens
//! on its summary, `d` compares it with the last green build and shows only what changed,
//! `D` picks another build, Esc goes back; `logs <build> --diff` prints the same for scripts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ratatui::{Terminal, backend::TestBackend};
use shipdeck::api::{self, Backend};
use shipdeck::app::headless::act;
use shipdeck::app::overlays::picker::PickFor;
use shipdeck::app::panes::triage::{CompareState, DiffRow, LogMode};
use shipdeck::app::state::{Conn, Overlay};
use shipdeck::app::{Action, Effect, Keymap, ProfileInfo, State, update};
use shipdeck::domain::{Build, BuildScope, BuildStatus, Resource};
use shipdeck::logdiff::{Normaliser, Tag, fetch};
use shipdeck::sim::{self, SimHandle, SimOptions};
use shipdeck::ui::{self, Themes};

fn render(s: &State, w: u16, h: u16) -> String {
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, s, themes.get(s.theme_name())))
        .unwrap();
    term.backend().to_string()
}

async fn logged_in(sim: &SimHandle, profile: &str) -> (State, std::sync::Arc<dyn Backend>) {
    let cfg = shipdeck::demo::demo_config(sim);
    let p = cfg
        .profiles
        .iter()
        .find(|p| p.name == profile)
        .expect("demo profile");
    let backend = api::connect(p).expect("client");
    let profiles: Vec<ProfileInfo> = cfg.profiles.iter().map(ProfileInfo::from_profile).collect();
    let mut s = State::new(profiles, Keymap::default());
    s.theme_names = Themes::builtin().names();
    s.cache_dir = std::env::temp_dir().join(format!("shipdeck-logdiff-{}", std::process::id()));
    let _ = update(
        &mut s,
        Action::Resize {
            cols: 120,
            rows: 40,
        },
        0,
    );
    act(
        &mut s,
        backend.as_ref(),
        Action::SwitchProfile(profile.into()),
    )
    .await;
    assert_eq!(s.conn, Conn::Online, "{profile} logs in");
    (s, backend)
}

/// A failed build whose project has a successful build before it (and the project's builds),
/// found through the backend as an operator would see them.
async fn failed_with_green(b: &dyn Backend, want: impl Fn(&Build) -> bool) -> (Build, Vec<Build>) {
    let q = shipdeck::domain::ListQuery {
        page: 1,
        per_page: 100,
        filter: None,
        sort: None,
    };
    for p in b.projects(&q).await.unwrap().items {
        let scope = BuildScope::Project {
            id: p.id.clone(),
            name: p.name.clone(),
        };
        let builds = b.builds(&scope).await.unwrap();
        if let Some(x) = builds.iter().find(|x| {
            x.status == BuildStatus::Failed && want(x) && fetch::last_green(&builds, x).is_some()
        }) {
            return (x.clone(), builds);
        }
    }
    panic!("the demo has a failed build with a green one before it");
}

/// Open `build`'s log from its project's history, as Enter on its row does.
async fn open(s: &mut State, b: &dyn Backend, build: &Build) {
    act(s, b, Action::ShowPane(Resource::Projects)).await;
    act(s, b, Action::Top).await;
    let project = build.project_id.clone().unwrap();
    for _ in 0..200 {
        if s.lists
            .projects
            .selected_row()
            .is_some_and(|p| p.id == project)
        {
            break;
        }
        act(s, b, Action::Down).await;
    }
    act(s, b, Action::Open).await;
    assert_eq!(s.pane, Resource::Builds);
    act(s, b, Action::Top).await;
    for _ in 0..200 {
        if s.lists
            .builds
            .selected_row()
            .is_some_and(|x| x.id == build.id)
        {
            break;
        }
        act(s, b, Action::Down).await;
    }
    assert_eq!(
        s.lists.builds.selected_row().map(|x| x.id.clone()),
        Some(build.id.clone())
    );
    act(s, b, Action::Open).await;
    assert!(s.log.is_some(), "Enter opens the log");
}

/// No hunk pairs a removed line with an added line that is the same once volatile parts are
/// ignored: the diff shows real changes only.
fn assert_no_volatile_pairs(s: &State) {
    let log = s.log.as_ref().unwrap();
    let CompareState::Ready { diff, .. } = &log.compare.state else {
        panic!("no diff: {:?}", log.compare.state);
    };
    let norm = Normaliser::defaults();
    for h in &diff.hunks {
        let removed: Vec<String> = h
            .lines
            .iter()
            .filter(|l| l.tag == Tag::Removed)
            .map(|l| norm.normalise(&l.text).into_owned())
            .collect();
        for l in h.lines.iter().filter(|l| l.tag == Tag::Added) {
            let n = norm.normalise(&l.text);
            assert!(
                !removed.iter().any(|r| *r == n),
                "`{}` differs only in volatile parts",
                l.text
            );
        }
    }
}

fn diff_texts(s: &State, tag: Tag) -> Vec<String> {
    let log = s.log.as_ref().unwrap();
    match &log.compare.state {
        CompareState::Ready { diff, .. } => diff
            .hunks
            .iter()
            .flat_map(|h| h.lines.iter())
            .filter(|l| l.tag == tag)
            .map(|l| l.text.clone())
            .collect(),
        other => panic!("no diff: {other:?}"),
    }
}

#[tokio::test]
async fn free_commit_summary_first_then_d_shows_what_changed_since_the_last_green_build() {
    let sim = sim::start(SimOptions::default()).await.unwrap();
    let (mut s, backend) = logged_in(&sim, "demo-freecommit").await;
    let b = backend.as_ref();
    // A build stopped by a failed step (exit 208).
    let (failed, builds) = failed_with_green(b, |x| x.exit_code == Some(208)).await;
    let green = fetch::last_green(&builds, &failed).unwrap();
    open(&mut s, b, &failed).await;

    // The first screen is the summary: failed step, exit code and meaning, error lines.
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.mode, LogMode::Summary);
    let sum = log.summary.clone().unwrap();
    assert!(sum.ready);
    assert_eq!(sum.steps.len(), 1, "{sum:?}");
    let step = sum.steps[0].clone();
    assert!(!step.guessed);
    assert!(
        step.errors
            .iter()
            .any(|(_, t)| t.contains(&format!("Step @{} failed", step.name))),
        "{step:?}"
    );
    let screen = render(&s, 120, 40);
    assert!(screen.contains("Why this build failed"), "{screen}");
    assert!(screen.contains("exit code 208"), "{screen}");
    assert!(
        screen.contains(&format!("failed step {}", step.name)),
        "{screen}"
    );
    // The diff was computed in the background: its size is on the summary.
    let size = format!("vs {}", fetch::label(&green));
    assert!(screen.contains(&size), "{screen}");
    assert!(screen.contains(" lines"), "{screen}");
    // Readable at 80×24 too.
    let small = render(&s, 80, 24);
    assert!(small.contains("Why this build failed"), "{small}");
    assert!(small.contains("exit code 208"), "{small}");
    assert!(small.contains(&size), "{small}");

    // Enter on an error line shows it in the full log.
    let links = sum.links();
    let (target, text) = step.errors.last().cloned().unwrap();
    let pos = links.iter().position(|n| *n == target).unwrap();
    for _ in 0..pos {
        act(&mut s, b, Action::Down).await;
    }
    act(&mut s, b, Action::Open).await;
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.mode, LogMode::Log);
    assert_eq!(log.cursor, target);
    assert_eq!(log.buf.get(target).unwrap().plain(), text);
    assert!(render(&s, 120, 40).contains(&text));
    // `i` brings the summary back, Esc leaves it for the full log.
    act(&mut s, b, Action::ToggleSummary).await;
    assert_eq!(s.log.as_ref().unwrap().mode, LogMode::Summary);
    act(&mut s, b, Action::Back).await;
    assert_eq!(s.log.as_ref().unwrap().mode, LogMode::Log);
    assert!(s.log.is_some(), "Esc on the summary keeps the log open");

    // `d`: only what changed, in hunks with their step, not the volatile lines.
    act(&mut s, b, Action::ToggleDiff).await;
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.mode, LogMode::Diff);
    let added = diff_texts(&s, Tag::Added);
    assert!(
        added.iter().any(|t| t.contains("failed")),
        "the failure is among the added lines: {added:?}"
    );
    assert_no_volatile_pairs(&s);
    let total = log.buf.len() as usize;
    let changed = added.len() + diff_texts(&s, Tag::Removed).len();
    assert!(changed * 2 < total, "{changed} of {total} lines differ");
    let screen = render(&s, 120, 40);
    assert!(
        screen.contains(&format!("@@ step {}", step.name)),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("vs {}", fetch::label(&green))),
        "{screen}"
    );
    let small = render(&s, 80, 24);
    assert!(small.contains(&format!("@@ step {}", step.name)), "{small}");
    assert!(small.contains("esc/d back"), "{small}");

    // `n` goes to the next hunk header, Enter on a line jumps there in the full log.
    let c = &s.log.as_ref().unwrap().compare;
    let headers = c
        .rows
        .iter()
        .filter(|r| matches!(r, DiffRow::Header(_)))
        .count();
    if headers > 1 {
        act(&mut s, b, Action::NextMatch).await;
        let c = &s.log.as_ref().unwrap().compare;
        assert!(matches!(c.rows[c.cursor], DiffRow::Header(_)));
        act(&mut s, b, Action::PrevMatch).await;
    }
    let c = &s.log.as_ref().unwrap().compare;
    let row = c
        .rows
        .iter()
        .position(|r| matches!(r, DiffRow::Line(..)) && c.target(0).is_some())
        .unwrap();
    let want = c.target(row).unwrap();
    while s.log.as_ref().unwrap().compare.cursor != row {
        let cur = s.log.as_ref().unwrap().compare.cursor;
        act(&mut s, b, if cur < row { Action::Down } else { Action::Up }).await;
    }
    act(&mut s, b, Action::Open).await;
    let log = s.log.as_ref().unwrap();
    assert_eq!((log.mode, log.cursor), (LogMode::Log, want));

    // `D` picks another build; Esc returns to the log.
    act(&mut s, b, Action::PickDiff).await;
    let Overlay::Pick(pick) = &s.overlay else {
        panic!("D opens a picker: {:?}", s.overlay);
    };
    let PickFor::Compare(choices) = &pick.purpose else {
        panic!("a picker of builds: {pick:?}");
    };
    let (items, selected) = (&pick.items, &pick.selected);
    assert_eq!(
        choices[*selected].id, green.id,
        "the last green build is preselected"
    );
    assert!(items.len() >= 2 || choices.len() == 1);
    let other = choices
        .iter()
        .position(|x| x.id != green.id)
        .unwrap_or(*selected);
    let other_id = choices[other].id.clone();
    while let Overlay::Pick(p) = &s.overlay
        && p.selected != other
    {
        let down = p.selected < other;
        act(&mut s, b, if down { Action::Down } else { Action::Up }).await;
    }
    act(&mut s, b, Action::Accept).await;
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.mode, LogMode::Diff);
    match &log.compare.state {
        CompareState::Ready { other, .. } => assert_eq!(other.id, other_id),
        x => panic!("{x:?}"),
    }
    act(&mut s, b, Action::Back).await;
    assert_eq!(s.log.as_ref().unwrap().mode, LogMode::Log);
    act(&mut s, b, Action::Back).await;
    assert!(s.log.is_none(), "Esc on the log closes it as before");
    sim.shutdown().await;
}

#[tokio::test]
async fn serverless_cd_diff_shows_the_failed_tests_and_no_summary_for_green_tasks() {
    let sim = sim::start(SimOptions::default()).await.unwrap();
    let (mut s, backend) = logged_in(&sim, "demo-serverless-cd").await;
    let b = backend.as_ref();
    let (failed, builds) = failed_with_green(b, |_| true).await;
    open(&mut s, b, &failed).await;
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.mode, LogMode::Summary);
    assert!(log.compare.size_line().is_some(), "{:?}", log.compare.state);
    act(&mut s, b, Action::ToggleDiff).await;
    let added = diff_texts(&s, Tag::Added);
    assert!(
        added
            .iter()
            .any(|t| t.contains("FAIL") || t.contains("failed")),
        "{added:?}"
    );
    assert_no_volatile_pairs(&s);
    // Esc: diff → summary (where `d` was pressed) → full log → closed.
    act(&mut s, b, Action::Back).await;
    assert_eq!(s.log.as_ref().unwrap().mode, LogMode::Summary);
    act(&mut s, b, Action::Back).await;
    assert_eq!(s.log.as_ref().unwrap().mode, LogMode::Log);
    act(&mut s, b, Action::Back).await;
    assert!(s.log.is_none());
    // A successful build opens on its log, as before.
    let green = fetch::last_green(&builds, &failed).unwrap();
    open(&mut s, b, &green).await;
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.mode, LogMode::Log);
    assert!(log.summary.is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn without_a_green_build_the_summary_and_d_say_so() {
    let sim = sim::start(SimOptions::default()).await.unwrap();
    let (mut s, backend) = logged_in(&sim, "demo-freecommit").await;
    let b = backend.as_ref();
    let q = shipdeck::domain::ListQuery {
        page: 1,
        per_page: 100,
        filter: None,
        sort: None,
    };
    let mut target = None;
    for p in b.projects(&q).await.unwrap().items {
        let scope = BuildScope::Project {
            id: p.id.clone(),
            name: p.name.clone(),
        };
        let builds = b.builds(&scope).await.unwrap();
        if !builds.is_empty() && builds.iter().all(|x| x.status == BuildStatus::Failed) {
            target = builds.first().cloned();
            break;
        }
    }
    let failed = target.expect("a project that never passed");
    open(&mut s, b, &failed).await;
    let log = s.log.as_ref().unwrap();
    assert!(
        matches!(&log.compare.state, CompareState::NoBaseline(m) if m.contains("no successful build")),
        "{:?}",
        log.compare.state
    );
    assert!(render(&s, 120, 40).contains("no successful build"));
    act(&mut s, b, Action::ToggleDiff).await;
    let toast = s.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("no successful build"), "{toast}");
    sim.shutdown().await;
}

#[test]
fn esc_stops_a_comparison_in_progress_and_its_late_answer_is_ignored() {
    let mut s = State::new(Vec::new(), Keymap::default());
    s.screen = shipdeck::app::state::Screen::Dashboard;
    s.pane = Resource::Builds;
    let build = Build {
        id: "42".into(),
        project_id: Some("3".into()),
        project: "auth-service".into(),
        status: BuildStatus::Failed,
        ..Build::default()
    };
    let mut view = shipdeck::app::logview::LogView::new(
        build,
        7,
        1000,
        std::env::temp_dir().join(format!("shipdeck-logdiff-esc-{}", std::process::id())),
        20,
    );
    view.state = shipdeck::app::logview::TailState::Done(Some(BuildStatus::Failed));
    s.log = Some(view);
    let fx = update(&mut s, Action::ToggleDiff, 0);
    let job = match fx.as_slice() {
        [Effect::DiffLog(r)] => {
            assert_eq!((r.req, r.other.clone()), (7, None));
            r.job
        }
        other => panic!("d starts one comparison: {other:?}"),
    };
    assert_eq!(s.log.as_ref().unwrap().mode, LogMode::Diff);
    let epoch = s.epoch;
    let fx = update(
        &mut s,
        Action::DiffProgress {
            epoch,
            req: 7,
            job,
            text: "comparing 200000 lines: 40%".into(),
        },
        1,
    );
    assert!(fx.is_empty());
    assert!(matches!(
        &s.log.as_ref().unwrap().compare.state,
        CompareState::Running { progress, .. } if progress.contains("40%")
    ));
    let fx = update(&mut s, Action::Back, 2);
    assert!(matches!(fx.as_slice(), [Effect::CancelDiff]), "{fx:?}");
    let log = s.log.as_ref().unwrap();
    assert_eq!(
        (log.mode, &log.compare.state),
        (LogMode::Log, &CompareState::Cancelled)
    );
    // The job's answer after all: ignored.
    let _ = update(
        &mut s,
        Action::DiffDone {
            epoch,
            req: 7,
            job,
            result: Ok(Box::new(shipdeck::app::diffjob::DiffOutcome::NoBaseline(
                "late".into(),
            ))),
        },
        3,
    );
    assert_eq!(
        s.log.as_ref().unwrap().compare.state,
        CompareState::Cancelled
    );
}

// ---- CLI ----

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn shipdeck(home: &std::path::Path, config: &str, args: &[&str]) -> Run {
    use std::os::unix::fs::PermissionsExt;
    let path = home.join("config.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(["--config", path.to_str().unwrap()])
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("SHIPDECK_PROFILE")
        .env_remove("SHIPDECK_CONFIG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn cli_logs_diff_prints_hunks_with_step_headers_and_says_when_nothing_passed() {
    let sim = sim::start(SimOptions::default()).await.unwrap();
    let cfg = shipdeck::demo::demo_config(&sim);
    let p = cfg
        .profiles
        .iter()
        .find(|p| p.name == "demo-freecommit")
        .unwrap();
    let backend = api::connect(p).unwrap();
    let (failed, builds) = failed_with_green(backend.as_ref(), |x| x.exit_code == Some(208)).await;
    let green = fetch::last_green(&builds, &failed).unwrap();
    let config = format!(
        "[profiles.sim]\nkind = \"freecommit\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"admin\"\n\n[diff]\nignore = [\"zzz-never\"]\n",
        sim.url("freecommit")
    );
    let dir = tempfile::tempdir().unwrap();
    let run = shipdeck(dir.path(), &config, &["logs", &failed.id, "--diff"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("--- ") && lines[0].contains(&fetch::label(&green)),
        "{}",
        run.stdout
    );
    assert!(lines[1].starts_with("+++ ") && lines[1].contains(&fetch::label(&failed)));
    assert!(
        lines.iter().any(|l| l.starts_with("@@ step ")),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('+') && l.contains("failed")),
        "{}",
        run.stdout
    );
    // Short: far fewer changed lines than the log has.
    let whole = shipdeck(dir.path(), &config, &["logs", &failed.id]).await;
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let changed = lines
        .iter()
        .skip(2)
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .count();
    assert!(changed * 2 < whole.stdout.lines().count(), "{}", run.stdout);
    assert!(run.stderr.contains("lines"), "{}", run.stderr);

    // `--step 1`: the first step's hunks only.
    let run = shipdeck(
        dir.path(),
        &config,
        &["logs", &failed.id, "--diff", "--step", "1"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("@@"))
            .all(|l| l.starts_with("@@ step init")),
        "{}",
        run.stdout
    );
    let run = shipdeck(
        dir.path(),
        &config,
        &["logs", &failed.id, "--diff", "--step", "99"],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);

    // Against a chosen build.
    let other = builds
        .iter()
        .find(|x| x.id != failed.id && x.id != green.id);
    if let Some(other) = other {
        let run = shipdeck(
            dir.path(),
            &config,
            &["logs", &failed.id, "--diff", &other.id],
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout
                .lines()
                .next()
                .unwrap()
                .contains(&fetch::label(other))
        );
    }

    // A project that never passed: said on stderr, nothing on stdout, exit 1.
    let q = shipdeck::domain::ListQuery {
        page: 1,
        per_page: 100,
        filter: None,
        sort: None,
    };
    let mut never = None;
    for p in backend.projects(&q).await.unwrap().items {
        let scope = BuildScope::Project {
            id: p.id.clone(),
            name: p.name.clone(),
        };
        let bs = backend.builds(&scope).await.unwrap();
        if !bs.is_empty() && bs.iter().all(|x| x.status == BuildStatus::Failed) {
            never = bs.first().cloned();
            break;
        }
    }
    let never = never.unwrap();
    let run = shipdeck(dir.path(), &config, &["logs", &never.id, "--diff"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("no successful build"), "{}", run.stderr);
    sim.shutdown().await;
}

// ---- the task runner ----

/// The failed build's log as the viewer holds it: a buffer with its steps, snapshotted.
async fn snapshot_of(
    b: &dyn Backend,
    build: &Build,
) -> (
    shipdeck::logtext::LogSnapshot,
    Vec<(String, u64)>,
    shipdeck::logtext::LogBuffer,
) {
    let text = fetch::collect_log(b, build, &mut |_| true)
        .await
        .unwrap()
        .unwrap();
    let mut buf = shipdeck::logtext::LogBuffer::new(
        10_000,
        std::env::temp_dir().join(format!("shipdeck-logdiff-runner-{}", std::process::id())),
    );
    let mut next = text.steps.iter().peekable();
    for (i, line) in text.lines.iter().enumerate() {
        while let Some((name, _)) = next.next_if(|(_, at)| *at as usize == i) {
            buf.mark_step(name.clone(), shipdeck::domain::StepStatus::Succeeded);
        }
        buf.push(shipdeck::logtext::LogLine::from_plain(line));
    }
    (buf.snapshot(), text.steps.clone(), buf)
}

#[tokio::test]
async fn the_runner_diffs_off_the_ui_thread_and_esc_stops_it() {
    use shipdeck::app::diffjob::{DiffOutcome, DiffRequest};
    let sim = sim::start(SimOptions::default()).await.unwrap();
    let cfg = shipdeck::demo::demo_config(&sim);
    let p = cfg
        .profiles
        .iter()
        .find(|p| p.name == "demo-freecommit")
        .unwrap();
    let backend = api::connect(p).unwrap();
    let (failed, builds) = failed_with_green(backend.as_ref(), |x| x.exit_code == Some(208)).await;
    let green = fetch::last_green(&builds, &failed).unwrap();
    let (snapshot, steps, _buf) = snapshot_of(backend.as_ref(), &failed).await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = shipdeck::app::runner::Runner::new(cfg.clone(), tx);
    runner.run(Effect::Connect {
        epoch: 1,
        profile: "demo-freecommit".into(),
    });
    let request = |job: u64| {
        Effect::DiffLog(Box::new(DiffRequest {
            epoch: 1,
            req: 9,
            job,
            build: failed.clone(),
            other: None,
            snapshot: snapshot.clone(),
            steps: steps.clone(),
            rules: shipdeck::logdiff::default_rules(),
            context: 3,
        }))
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let next = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>| {
        tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("an answer in time")
            .expect("the runner is alive")
    };
    // Logged in, then every request takes a while: job 1 is stopped (Esc) while it waits for
    // the project's builds. The same request made after it answers first, and job 1 says
    // nothing more (it would have, being first in line, had it not been stopped).
    while !matches!(next(&mut rx).await, Action::LoggedIn { .. }) {}
    common::set_faults(&sim, serde_json::json!({"latency": "300ms"})).await;
    runner.run(request(1));
    loop {
        if let Action::DiffProgress { job: 1, .. } = next(&mut rx).await {
            break;
        }
    }
    runner.run(Effect::CancelDiff);
    runner.run(Effect::CompareCandidates {
        epoch: 1,
        req: 9,
        build: Box::new(failed.clone()),
    });
    loop {
        match next(&mut rx).await {
            Action::CompareCandidates { result, .. } => {
                assert!(result.unwrap().iter().any(|x| x.id == green.id));
                break;
            }
            a @ (Action::DiffProgress { .. } | Action::DiffDone { .. }) => {
                panic!("a stopped comparison went on: {a:?}")
            }
            _ => {}
        }
    }
    common::clear_faults(&sim).await;
    // Job 2 runs to its end.
    runner.run(request(2));
    let mut progress = 0;
    let outcome = loop {
        match next(&mut rx).await {
            Action::DiffProgress { job, .. } => {
                assert_eq!(job, 2, "a stopped comparison reports nothing");
                progress += 1;
            }
            Action::DiffDone { job, result, .. } => {
                assert_eq!(job, 2, "a stopped comparison never answers");
                break result.expect("compared");
            }
            _ => {}
        }
    };
    assert!(progress >= 1, "progress is reported");
    match *outcome {
        DiffOutcome::Diff { other, diff } => {
            assert_eq!(other.id, green.id);
            assert!(!diff.is_empty());
            assert!(diff.added > 0);
        }
        other => panic!("{other:?}"),
    }
    runner.finish(std::time::Duration::from_secs(2)).await;
    sim.shutdown().await;
}
