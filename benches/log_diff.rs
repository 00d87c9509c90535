//! The log diff (issue 12) on big logs:
//!
//! 1. two 100,000-line logs (five steps) that differ in a handful of real lines, and in
//!    volatile parts (durations, hashes, timestamps, temp paths) on every line: time to
//!    normalise, hash and diff, the hunks found, and memory (resident before/after, peak);
//! 2. frame time while that diff runs off the UI thread: the dashboard keeps drawing the
//!    100,000-line log (moving the cursor every frame) and applying the job's progress, as
//!    the task runner and event loop do; p50/p99/max, then frames of the diff view itself.
//!
//! Run: `cargo bench --bench log_diff`

// A benchmark harness: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use ratatui::{Terminal, backend::TestBackend};
use shipdeck::app::diffjob::DiffOutcome;
use shipdeck::app::logview::LogView;
use shipdeck::app::panes::triage::LogMode;
use shipdeck::app::{Action, Keymap, LogItem, ProfileInfo, State, update};
use shipdeck::domain::*;
use shipdeck::logdiff::{LogText, Normaliser, Progress, Tag, default_rules, diff_logs};
use shipdeck::logtext::LogLine;
use shipdeck::ui::{self, Themes};
use std::time::{Duration, Instant};

const LINES: usize = 100_000;
const STEPS: [&str; 5] = ["init", "lint", "test", "build", "deploy"];
const W: u16 = 160;
const H: u16 = 48;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A log of `LINES` lines in five steps; `run` varies the volatile parts, `broken` adds the
/// real differences (a failing test, a changed dependency, a missing line).
fn log(run: u64, broken: bool) -> LogText {
    let mut rng = fastrand::Rng::with_seed(run);
    let per = LINES / STEPS.len();
    let mut t = LogText::default();
    for (k, step) in STEPS.iter().enumerate() {
        t.steps.push((step.to_string(), t.lines.len() as u64));
        for i in 0..per {
            let n = k * per + i;
            let line = match (broken, n) {
                (true, 30_000) => "FAIL src/orders.test.js: expected 42, got 41".to_string(),
                (true, 30_001) => "  ● orders › rejects an empty cart".to_string(),
                (true, 61_234) => "Downloaded serde v1.0.229".to_string(),
                (true, 99_000) => "WARN retrying upload after a reset".to_string(),
                _ => match n % 5 {
                    0 => format!(
                        "2026-12-04T15:{:02}:{:02}.{:03}Z test suite::module_{}::case_{n} ... ok ({} ms)",
                        rng.u32(0..60),
                        rng.u32(0..60),
                        rng.u32(0..1000),
                        n % 97,
                        rng.u32(1..900)
                    ),
                    1 => format!(
                        "   Compiling crate-{} v0.{}.0 (/tmp/build{}/src/c{n})",
                        n % 500,
                        n % 9,
                        rng.u32(0..99999)
                    ),
                    2 => format!(
                        "layer {:012x} pushed in {}.{}s",
                        rng.u64(..1 << 48),
                        rng.u32(0..60),
                        rng.u32(0..10)
                    ),
                    3 => format!("step {step} line {i}: nothing to report"),
                    _ => format!(
                        "Downloaded serde v1.0.{}",
                        if n == 61_234 { 228 } else { n % 300 }
                    ),
                },
            };
            // One line fewer in the broken run.
            if broken && n == 77_777 {
                continue;
            }
            t.lines.push(line);
        }
    }
    t
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn diff_alone() {
    let new = log(1, true);
    let old = log(2, false);
    let norm = Normaliser::new(&default_rules()).unwrap();
    let rss0 = status_kb("VmRSS:");
    let start = Instant::now();
    let diff = diff_logs(&new, &old, &norm, 3, &mut |_| true).unwrap();
    let took = start.elapsed();
    let rss1 = status_kb("VmRSS:");
    let added: Vec<&str> = diff
        .hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .filter(|l| l.tag == Tag::Added)
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        added.iter().any(|l| l.contains("FAIL src/orders")),
        "{added:?}"
    );
    assert!(diff.added + diff.removed < 12, "{}", diff.size());
    println!(
        "diff of two {LINES}-line logs (5 steps, volatile parts on every line, 6 real changes): {:.0} ms; {} hunks, {}; RSS {} MB before, {} MB after, peak {} MB (both logs in memory: {} MB of text)",
        ms(took),
        diff.hunks.len(),
        diff.size(),
        rss0 / 1024,
        rss1 / 1024,
        status_kb("VmHWM:") / 1024,
        (new.lines
            .iter()
            .chain(&old.lines)
            .map(String::len)
            .sum::<usize>())
            / (1 << 20),
    );
}

fn state() -> State {
    let profiles = vec![ProfileInfo {
        name: "bench".into(),
        kind: Kind::Freecommit,
        url: "http://127.0.0.1/".into(),
        read_only: false,
        insecure: false,
        theme: None,
        protected_environments: vec![],
        web_url: None,
        notify: Default::default(),
    }];
    let mut s = State::new(profiles, Keymap::default());
    s.wall = Utc::now();
    s.theme_names = Themes::builtin().names();
    s.cache_dir = std::env::temp_dir().join(format!("shipdeck-bench-diff-{}", std::process::id()));
    std::fs::create_dir_all(&s.cache_dir).unwrap();
    update(&mut s, Action::Resize { cols: W, rows: H }, 0);
    update(&mut s, Action::SwitchProfile("bench".into()), 0);
    let epoch = s.epoch;
    let session = Session {
        user: User {
            id: "1".into(),
            name: "bench".into(),
            roles: vec![],
        },
        caps: Capabilities {
            lists: vec![],
            builds: BuildSupport {
                list: true,
                logs: true,
                ..Default::default()
            },
            releases: Default::default(),
            missing: vec![],
        },
    };
    update(
        &mut s,
        Action::LoggedIn {
            epoch,
            result: Ok(session),
        },
        0,
    );
    s.pane = Resource::Builds;
    s
}

fn frames_while_diffing() {
    let mut s = state();
    let new = log(1, true);
    let build = Build {
        id: "139".into(),
        build_id: Some("139".into()),
        project_id: Some("1".into()),
        project: "huge-log".into(),
        status: BuildStatus::Failed,
        ..Build::default()
    };
    let view = LogView::new(
        build.clone(),
        1,
        200_000,
        s.cache_dir.join("bench.spill"),
        H as usize - 6,
    );
    let mut items = Vec::new();
    for (k, (name, start)) in new.steps.iter().enumerate() {
        let end = new
            .steps
            .get(k + 1)
            .map_or(new.lines.len(), |x| x.1 as usize);
        items.push(LogItem::Step {
            name: name.clone(),
            status: shipdeck::domain::StepStatus::Succeeded,
        });
        items.push(LogItem::Lines(
            new.lines[*start as usize..end]
                .iter()
                .map(|l| LogLine::from_plain(l))
                .collect(),
        ));
    }
    let epoch = s.epoch;
    s.log = Some(view);
    update(
        &mut s,
        Action::LogIngest {
            epoch,
            req: 1,
            items,
        },
        0,
    );
    update(&mut s, Action::Top, 0);
    // Pressing `d` takes the log's snapshot on the UI thread (the rest runs elsewhere): the
    // one frame that pays for the size of the log.
    let press = Instant::now();
    let fx = update(&mut s, Action::ToggleDiff, 0);
    let press = press.elapsed();
    assert!(
        fx.iter()
            .any(|e| matches!(e, shipdeck::app::Effect::DiffLog(_))),
        "d starts the comparison"
    );
    if let Some(log) = s.log.as_mut() {
        log.mode = LogMode::Log;
    }

    // The job, as the runner runs it: on its own thread, progress sent back as actions.
    let (tx, rx) = std::sync::mpsc::channel::<Action>();
    let old = log(2, false);
    let worker = std::thread::spawn(move || {
        let norm = Normaliser::new(&default_rules()).unwrap();
        let mut last = Instant::now();
        let mut progress = |p: Progress| {
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                let _ = tx.send(Action::DiffProgress {
                    epoch,
                    req: 1,
                    job: 0,
                    text: format!("comparing: {}%", p.done * 100 / p.total.max(1)),
                });
            }
            true
        };
        let diff = diff_logs(&new, &old, &norm, 3, &mut progress).unwrap();
        let _ = tx.send(Action::DiffDone {
            epoch,
            req: 1,
            job: 0,
            result: Ok(Box::new(DiffOutcome::Diff {
                other: Box::new(Build {
                    id: "138".into(),
                    build_id: Some("138".into()),
                    status: BuildStatus::Succeeded,
                    ..Build::default()
                }),
                diff,
            })),
        });
    });
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let mut during = Vec::new();
    let started = Instant::now();
    let mut done = None;
    while done.is_none() {
        let start = Instant::now();
        for a in rx.try_iter() {
            if matches!(a, Action::DiffDone { .. }) {
                done = Some(a);
            } else {
                update(&mut s, a, 0);
            }
        }
        update(&mut s, Action::Down, 0);
        term.draw(|f| ui::draw(f, &s, themes.get("dark"))).unwrap();
        during.push(start.elapsed());
        // ~60 frames a second, as the event loop draws at most.
        std::thread::sleep(Duration::from_millis(16).saturating_sub(start.elapsed()));
    }
    let job_took = started.elapsed();
    worker.join().unwrap();
    // The answer, then the diff view.
    if let Some(log) = s.log.as_mut() {
        log.compare.job = 0;
        log.compare.state = shipdeck::app::panes::triage::CompareState::Running {
            other: None,
            progress: String::new(),
        };
        log.mode = LogMode::Diff;
    }
    update(&mut s, done.unwrap(), 0);
    let mut view = Vec::new();
    for i in 0..200 {
        let start = Instant::now();
        update(
            &mut s,
            if i % 10 == 0 {
                Action::NextMatch
            } else {
                Action::Down
            },
            0,
        );
        term.draw(|f| ui::draw(f, &s, themes.get("dark"))).unwrap();
        view.push(start.elapsed());
    }
    assert!(
        term.backend().to_string().contains("@@ step")
            || s.log.as_ref().unwrap().compare.rows.len() > 3,
        "the diff view shows hunks"
    );
    during.sort();
    view.sort();
    println!(
        "pressing d on the {LINES}-line log (snapshot taken on the UI thread): {:.1} ms",
        ms(press)
    );
    println!(
        "frames at {W}x{H} while the diff runs ({:.0} ms, {} frames): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 <= 16 ms)",
        ms(job_took),
        during.len(),
        ms(percentile(&during, 0.5)),
        ms(percentile(&during, 0.99)),
        ms(*during.last().unwrap()),
    );
    println!(
        "frames of the diff view (200 moves and hunk jumps): p50 {:.2} ms, p99 {:.2} ms; RSS {} MB, peak {} MB",
        ms(percentile(&view, 0.5)),
        ms(percentile(&view, 0.99)),
        status_kb("VmRSS:") / 1024,
        status_kb("VmHWM:") / 1024,
    );
    let _ = std::fs::remove_dir_all(&s.cache_dir);
}

fn main() {
    diff_alone();
    frames_while_diffing();
}
