//! The watch list end to end (issue 13 item 1): the real binary in a PTY against the
//! simulator behind a recording proxy. `w` on a running build, then another pane: the build's
//! end is announced there (message, bell, OSC 9/777 bytes), ⏎ jumps to it; the requests the
//! watch sends are counted while the build runs and after it ended.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pty::{DEADLINE, Tui};
use std::time::{Duration, Instant};

struct Rig {
    rt: tokio::runtime::Runtime,
    sim: shipdeck::sim::SimHandle,
    proxy: common::Proxy,
    tui: Tui,
}

impl Rig {
    fn start() -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt.block_on(common::start_sim(""));
        let proxy = rt.block_on(common::start_proxy(&sim));
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("config.toml");
        // Lists refresh rarely here, so what is counted is the watch's own polling.
        let text = format!(
            "default_profile = \"ci\"\nrefresh_secs = 60\n\n[profiles.ci]\nkind = \"freecommit\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"admin\"\n",
            proxy.url("freecommit")
        );
        std::fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = path.to_string_lossy().into_owned();
        let tui = Tui::spawn_in(home, &["--config", &config], 120, 36);
        Rig {
            rt,
            sim,
            proxy,
            tui,
        }
    }

    fn advance(&self, seconds: f64) {
        self.rt.block_on(common::advance(&self.sim, seconds));
    }

    /// Requests for builds (the active lists and project histories).
    fn build_reads(&self) -> usize {
        self.proxy.count_containing("/developer/builds/")
    }

    /// Wait (polling, with a deadline) until at least `n` more build reads than `before`.
    fn wait_build_reads(&self, before: usize, n: usize) -> usize {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let seen = self.build_reads() - before;
            if seen >= n {
                return seen;
            }
            assert!(Instant::now() < deadline, "only {seen} build reads");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_watched_build_ending_is_announced_from_another_pane_with_bell_and_osc_and_enter_jumps() {
    let mut r = Rig::start();
    // A build of project 1, running.
    let fc = common::client(&r.sim.url("freecommit"), "admin", "admin");
    let launched =
        r.rt.block_on(shipdeck::api::Backend::launch(
            &fc,
            &shipdeck::domain::LaunchRequest {
                project_id: "1".into(),
                skip_steps: Vec::new(),
                params: Vec::new(),
            },
        ))
        .unwrap();
    r.advance(5.0);
    r.tui.wait_for("● online");
    r.tui.send("4");
    // The queue with the build in it (the pane's title alone says "queued and running").
    r.tui.wait("the running build", |s| {
        s.contains("Builds · queued and running") && s.contains("billing-api")
    });
    r.tui.send("w");
    r.tui.wait_for("watching");
    // Somewhere else: the Developers pane.
    r.tui.send("2");
    r.tui.wait_for("Developers");
    // Busy: the build runs (the clock stands still) and, from another pane, only the watch
    // asks about builds. Its pace (one poll per 3 s while something runs, none once all
    // ended) is checked on a simulated clock in `app_watch::polling_is_fast_while_…`.
    let before = r.build_reads();
    r.wait_build_reads(before, 2);
    // The build ends; the message says so on this pane.
    let start = Instant::now();
    while !r.tui.screen().contains("to jump there") {
        assert!(
            start.elapsed() < DEADLINE * 3,
            "never announced; screen:\n{}\nrequests: {:?}",
            r.tui.screen(),
            r.proxy.paths().iter().rev().take(12).collect::<Vec<_>>()
        );
        r.advance(5.0);
        let until = Instant::now() + Duration::from_millis(400);
        while Instant::now() < until && !r.tui.screen().contains("to jump there") {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let screen = r.tui.screen();
    assert!(
        screen.contains("ci: billing-api") || screen.contains("ci: "),
        "{screen}"
    );
    assert!(screen.contains("passed"), "{screen}");
    // The bell and a desktop notification reached the terminal: OSC 9 here (OSC 777 on
    // terminals that take it, wrapped for passthrough inside tmux; see `termseq`).
    r.tui
        .wait_bytes("the notification", "shipdeck · ci".as_bytes());
    let raw = r.tui.raw.lock().unwrap().clone();
    let has = |n: &[u8]| raw.windows(n.len()).any(|w| w == n);
    assert!(
        has(b"\x07\x1b]9;shipdeck") || has(b"\x07\x1bPtmux;") || has(b"\x07\x1b]777;notify;"),
        "bell then notification"
    );
    // Enter: the project's history, the finished build selected.
    r.tui.send("\r");
    r.tui.wait_for("Builds of billing-api");
    r.tui.wait_for("passed");
    drop(launched);
    r.tui.quit();
}

#[test]
fn wait_on_a_terminal_rewrites_one_progress_line_and_exits_with_the_result() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt.block_on(common::start_sim(""));
    let fc = common::client(&sim.url("freecommit"), "admin", "admin");
    // Project 6 is `broken`: it fails.
    let b = rt
        .block_on(shipdeck::api::Backend::launch(
            &fc,
            &shipdeck::domain::LaunchRequest {
                project_id: "6".into(),
                skip_steps: Vec::new(),
                params: Vec::new(),
            },
        ))
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.ci]\nkind = \"freecommit\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"admin\"\n",
            sim.url("freecommit")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = path.to_string_lossy().into_owned();
    let mut t = Tui::spawn_in(home, &["--config", &config, "wait", &b.id], 100, 10);
    let start = Instant::now();
    let code = loop {
        if let Some(status) = t.child.try_wait().unwrap() {
            break status.exit_code();
        }
        assert!(start.elapsed() < DEADLINE * 3, "{}", t.screen());
        rt.block_on(common::advance(&sim, 2.0));
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, 5, "{}", t.screen());
    t.wait_for("✘ failed");
    let raw = String::from_utf8_lossy(&t.raw.lock().unwrap()).into_owned();
    // The line is rewritten in place (carriage return, erase line), not printed again.
    assert!(raw.contains("\r\x1b[2K"), "{raw:?}");
    assert!(raw.contains("queued"), "{raw:?}");
}
