//! The PTY harness for end-to-end tests of the real binary: keys in, the emulated screen
//! (vt100) polled with a deadline. Shared by `tests/e2e.rs` and `tests/e2e_backends.rs`.

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Tui {
    pub child: Box<dyn Child + Send + Sync>,
    pub parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote (the last 8 MB), for sequences the screen does not keep
    /// (bell, notifications).
    pub raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    _master: Box<dyn MasterPty + Send>,
    pub _home: Option<tempfile::TempDir>,
}

impl Tui {
    pub fn spawn(args: &[&str], cols: u16, rows: u16) -> Tui {
        Tui::spawn_in(tempfile::tempdir().unwrap(), args, cols, rows)
    }

    pub fn spawn_in(home: tempfile::TempDir, args: &[&str], cols: u16, rows: u16) -> Tui {
        let mut t = Tui::spawn_at(home.path(), args, cols, rows);
        t._home = Some(home);
        t
    }

    /// Run with HOME and the XDG directories at `home` (kept by the caller across runs).
    pub fn spawn_at(home: &std::path::Path, args: &[&str], cols: u16, rows: u16) -> Tui {
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
            cmd.env(var, home);
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
        let raw = Arc::new(Mutex::new(Vec::new()));
        let record = raw.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
                let mut r = record.lock().unwrap();
                r.extend_from_slice(&buf[..n]);
                let over = r.len().saturating_sub(8 << 20);
                r.drain(..over);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Tui {
            child,
            parser,
            raw,
            writer,
            _master: pty.master,
            _home: None,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Poll the screen until `pred` holds; fail with the screen after the deadline.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) {
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

    /// Poll the bytes written so far until they contain `needle`.
    pub fn wait_bytes(&self, what: &str, needle: &[u8]) {
        let start = Instant::now();
        while !self
            .raw
            .lock()
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            if start.elapsed() > DEADLINE {
                panic!("timed out waiting for {what}; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_for(&self, needle: &str) {
        self.wait(needle, |s| s.contains(needle));
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn wait_exit(&mut self, limit: Duration) -> (u32, Duration) {
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

impl Tui {
    /// The terminal was given back (alternate screen left). The last bytes the process wrote
    /// may still be on their way through the PTY when it has exited: poll, with a deadline.
    pub fn wait_restored(&self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.parser.lock().unwrap().screen().alternate_screen() {
            assert!(Instant::now() < deadline, "terminal restored");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `q`, a clean exit, and the terminal restored.
    pub fn quit(&mut self) {
        self.send("q");
        assert_eq!(self.wait_exit(Duration::from_secs(5)).0, 0);
        self.wait_restored();
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
