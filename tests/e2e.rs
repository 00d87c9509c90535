//! End-to-end tests of the real binary in a pseudo-terminal: keys in, the emulated screen
//! (vt100) polled with a deadline. No fixed sleeps.

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

struct Tui {
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    _master: Box<dyn MasterPty + Send>,
    _home: tempfile::TempDir,
}

impl Tui {
    fn spawn(args: &[&str], cols: u16, rows: u16) -> Tui {
        let home = tempfile::tempdir().unwrap();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_shipdeck"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        for var in [
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
            "XDG_STATE_HOME",
            "XDG_DATA_HOME",
            "HOME",
        ] {
            cmd.env(var, home.path());
        }
        cmd.env_remove("SHIPDECK_CONFIG");
        cmd.env_remove("SHIPDECK_PROFILE");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            rows.try_into().unwrap(),
            cols.try_into().unwrap(),
            0,
        )));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let feed = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Tui {
            child,
            parser,
            writer,
            _master: pty.master,
            _home: home,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Poll the screen until `pred` holds; fail with the screen after the deadline.
    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return;
            }
            if start.elapsed() > DEADLINE {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_for(&self, needle: &str) {
        self.wait(needle, |s| s.contains(needle));
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self, limit: Duration) -> (u32, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.exit_code(), start.elapsed());
            }
            if start.elapsed() > limit {
                panic!("still running after {limit:?}; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn demo_browse_filter_switch_profile_and_quit() {
    let mut t = Tui::spawn(&["demo"], 100, 30);
    t.wait_for("● online");
    t.wait_for(" of 47 ");
    t.wait_for("search-indexer");
    // Palette to the secrets pane.
    t.send(":secrets\r");
    t.wait_for("DATABASE_URL");
    t.wait_for("Secrets · 12");
    assert!(
        !t.screen().contains("sim-"),
        "a secret value reached the screen:\n{}",
        t.screen()
    );
    // Server-side filter.
    t.send("/STRIPE\r");
    t.wait("the filtered list", |s| {
        s.contains("STRIPE_API_KEY") && !s.contains("DATABASE_URL")
    });
    t.wait_for("filter “STRIPE” (server)");
    t.send("\x1b");
    t.wait_for("DATABASE_URL");
    // Switch to the read-only profile: its badge and its user show.
    t.send(":profile demo-freecommit-alice\r");
    t.wait("alice's session", |s| {
        s.contains("READ-ONLY") && s.contains("│ alice")
    });
    t.wait_for("search-indexer");
    t.send("q");
    let (code, _) = t.wait_exit(Duration::from_secs(5));
    assert_eq!(code, 0);
    assert!(
        !t.parser.lock().unwrap().screen().alternate_screen(),
        "terminal restored"
    );
}

#[test]
fn sighup_ends_the_dashboard_within_a_second() {
    let mut t = Tui::spawn(&["demo"], 80, 24);
    t.wait_for("● online");
    let pid = t.child.process_id().expect("pid");
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let (_, took) = t.wait_exit(Duration::from_secs(3));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(
        !t.parser.lock().unwrap().screen().alternate_screen(),
        "terminal restored"
    );
}

#[test]
fn first_run_explains_the_config_and_offers_the_demo() {
    let mut t = Tui::spawn(&[], 100, 40);
    t.wait_for("Welcome to shipdeck");
    t.wait_for("shipdeck/config.toml");
    t.send("d");
    t.wait_for("● online");
    t.wait_for("search-indexer");
    t.send("\x03"); // Ctrl-c quits from anywhere
    let (code, _) = t.wait_exit(Duration::from_secs(5));
    assert_eq!(code, 0);
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut t = Tui::spawn(&["demo"], 100, 40);
    t.wait_for("● online");
    t.send("?");
    t.wait_for("half a page down");
    t.send("\x1b");
    t.wait("help closed", |s| !s.contains("half a page down"));
    t.send("q");
    t.wait_exit(Duration::from_secs(5));
}
