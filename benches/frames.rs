//! Frame time of the dashboard's own work (update + draw into an off-screen buffer):
//!
//! 1. following a fast log stream: 1,000,000 lines arrive in 60 batches a second
//!    (~20,000 lines/s, far beyond any real build), a frame per batch, at 160×48;
//!    reports p50/p99/max frame time and the resident memory at the end;
//! 2. scrolling a list of 100 rows vs 100,000 rows: the frame time must not grow with
//!    the row count.
//!
//! Run: `cargo bench --bench frames`

// A benchmark harness: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use ratatui::{Terminal, backend::TestBackend};
use shipdeck::app::{Action, Keymap, Listing, LogItem, ProfileInfo, State, update};
use shipdeck::domain::*;
use shipdeck::logtext::Sanitizer;
use shipdeck::ui::{self, Themes};
use std::io::Write;
use std::time::{Duration, Instant};

const W: u16 = 160;
const H: u16 = 48;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn state() -> (State, u64) {
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
    s.cache_dir = std::env::temp_dir().join(format!("shipdeck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&s.cache_dir).unwrap();
    update(&mut s, Action::Resize { cols: W, rows: H }, 0);
    update(&mut s, Action::SwitchProfile("bench".into()), 0);
    let epoch = s.epoch;
    let support = |r| {
        (
            r,
            ListSupport {
                paged: true,
                server_filter: true,
                sort_fields: &[],
                server_qualifiers: &[],
            },
        )
    };
    let session = Session {
        user: User {
            id: "1".into(),
            name: "bench".into(),
            roles: vec![],
        },
        caps: Capabilities {
            lists: vec![support(Resource::Projects)],
            builds: BuildSupport {
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
    (s, epoch)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn follow_stream() {
    let (mut s, epoch) = state();
    let build = Build {
        id: "run-1".into(),
        run_id: Some("run-1".into()),
        build_id: None,
        project_id: Some("1".into()),
        project: "huge-log".into(),
        status: BuildStatus::Running,
        raw_status: "running".into(),
        exit_code: None,
        message: None,
        queued_at: None,
        started_at: Some(Utc::now()),
        finished_at: None,
        trigger: None,
        ..Build::default()
    };
    let page = Page {
        items: vec![build],
        page: 1,
        per_page: 1,
        total: Some(1),
        has_more: false,
    };
    update(&mut s, Action::ShowPane(Resource::Builds), 0);
    let req = s.lists.builds.loading.map(|l| l.0).unwrap_or(0);
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Builds(page)),
        },
        0,
    );
    update(&mut s, Action::Open, 0);
    let log_req = s.log.as_ref().expect("log open").req;

    // Lines are sanitised off the UI thread in the app too: prepare them outside the timing.
    const TOTAL: usize = 1_000_000;
    const PER_FRAME: usize = TOTAL / (60 * 50); // 50 s of stream at 60 frames a second
    let mut san = Sanitizer::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let mut frames = Vec::with_capacity(TOTAL / PER_FRAME + 1);
    let mut sent = 0;
    let mut raw = Vec::new();
    while sent < TOTAL {
        raw.clear();
        for i in sent..sent + PER_FRAME {
            if rng.u32(0..10) == 0 {
                let _ = writeln!(
                    raw,
                    "\x1b[32m   Compiling\x1b[0m crate-{} v0.{}.0 (/build/src/crates/c{i})",
                    rng.u32(0..500),
                    i % 9
                );
            } else {
                let _ = writeln!(
                    raw,
                    "test suite::module_{}::case_{i} ... ok ({} ms) {}",
                    i % 97,
                    rng.u32(0..900),
                    "·".repeat(i % 40)
                );
            }
        }
        let lines: Vec<_> = san.push(&raw).collect();
        sent += PER_FRAME;
        let start = Instant::now();
        update(
            &mut s,
            Action::LogIngest {
                epoch,
                req: log_req,
                items: vec![LogItem::Lines(lines)],
            },
            0,
        );
        term.draw(|f| ui::draw(f, &s, themes.get("dark"))).unwrap();
        frames.push(start.elapsed());
    }
    let log = s.log.as_ref().unwrap();
    assert_eq!(log.buf.len() as usize, sent, "no line lost");
    frames.sort();
    println!(
        "follow {} lines at 160x48: {} frames, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 <= 16 ms); {} lines in memory, {} on disk; RSS {} MB (goal <= 64 MB)",
        sent,
        frames.len(),
        percentile(&frames, 0.5).as_secs_f64() * 1e3,
        percentile(&frames, 0.99).as_secs_f64() * 1e3,
        frames.last().unwrap().as_secs_f64() * 1e3,
        log.buf.len() - log.buf.spilled(),
        log.buf.spilled(),
        rss_kb() / 1024,
    );
    let _ = std::fs::remove_dir_all(&s.cache_dir);
}

fn project(i: usize) -> Project {
    Project {
        id: i.to_string(),
        name: format!("service-{i:06}"),
        description: None,
        last_build: Some(LastBuild {
            status: BuildStatus::Succeeded,
            raw: "exit 0".into(),
            exit_code: Some(0),
            message: Some("success".into()),
            at: Some(Utc::now()),
        }),
    }
}

fn scroll(rows: usize) -> (Duration, Duration) {
    let (mut s, epoch) = state();
    let req = s.lists.projects.loading.map(|l| l.0).unwrap_or(0);
    let items: Vec<Project> = (0..rows).map(project).collect();
    let page = Page {
        items,
        page: 1,
        per_page: rows as u32,
        total: Some(rows as u64),
        has_more: false,
    };
    update(
        &mut s,
        Action::ListLoaded {
            epoch,
            req,
            result: Ok(Listing::Projects(page)),
        },
        0,
    );
    let themes = Themes::builtin();
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let mut frames = Vec::new();
    // Page through the whole list in 400 steps: top, middle, bottom all count.
    let step = (rows / 400).max(1) as i64;
    for _ in 0..400 {
        let start = Instant::now();
        for _ in 0..step.min(50) {
            update(&mut s, Action::Down, 0);
        }
        if step > 50 {
            update(&mut s, Action::PageDown, 0);
        }
        term.draw(|f| ui::draw(f, &s, themes.get("dark"))).unwrap();
        frames.push(start.elapsed());
    }
    frames.sort();
    (percentile(&frames, 0.5), percentile(&frames, 0.99))
}

fn main() {
    follow_stream();
    let (small50, small99) = scroll(100);
    let (big50, big99) = scroll(100_000);
    println!(
        "scroll 100 rows: p50 {:.3} ms p99 {:.3} ms; 100,000 rows: p50 {:.3} ms p99 {:.3} ms (ratio p50 {:.2}, goal ~1)",
        small50.as_secs_f64() * 1e3,
        small99.as_secs_f64() * 1e3,
        big50.as_secs_f64() * 1e3,
        big99.as_secs_f64() * 1e3,
        big50.as_secs_f64() / small50.as_secs_f64()
    );
}
