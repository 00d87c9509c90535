//! Fault soak of the real dashboard (issue 11, item 7): the release binary in a PTY against the
//! built-in simulator (all five backends, real clock, demo activity) with injected faults —
//! latency and jitter, 5xx, 429 with Retry-After, connection resets, hangs, malformed and
//! truncated bodies, short token lifetimes — switched between phases during the run, while keys
//! are typed (panes, moving, filter, help, palette, opening a log and going back) and the
//! profile is switched with `:profile <name>` so every backend is exercised.
//!
//! Reports:
//! - panics: the dashboard died or printed a panic (exit status, screen, log file), or a
//!   simulator handler panicked;
//! - freezes: a key with no screen change for > 250 ms whose follow-up probe (`?`, always
//!   visible) was not answered within 250 ms either (a key with no visible effect is counted
//!   apart);
//! - key-to-screen latency p50/p99/max: from writing the key to the PTY until the emulated
//!   screen changes (any change: a data refresh that lands at the same moment counts too). A
//!   change later than 250 ms is not a latency figure: the probe decides between "no visible
//!   effect" (the probe answered in time) and a freeze, so the latency tail stops at 250 ms;
//! - RSS (VmRSS sampled every 2 s): growth over the first minute, slope after it (kB/min) and
//!   whether it flattens (the second half's slope is small or at most half the first half's);
//! - requests per second the dashboard sent (`GET /__sim/stats`), per backend.
//!
//! Output: a table, then one `SOAK_RESULT {json}` line to compare with a baseline.
//!
//! Run: `cargo bench --bench soak` (90 s); `SOAK_SECS=600` for a 10-minute run, `SOAK_KEYS=8000`
//! to stop after that many keys (whichever comes first). `SOAK_PACE_MS` (default 60) is the
//! pause after a key's effect before the next key; `SOAK_SWITCH_SECS` (15) the profile switch
//! period; `SOAK_PHASE_SECS` (20) the fault phase period.

// A benchmark harness: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/common/pty.rs"]
mod pty;

use serde_json::{Value, json};
use shipdeck::sim::{self, ClockMode, SimOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COLS: u16 = 120;
const ROWS: u16 = 36;
const FREEZE: Duration = Duration::from_millis(250);
/// A dashboard that answers nothing for this long is hung: the soak stops there.
const HUNG: Duration = Duration::from_secs(30);
const RSS_EVERY: Duration = Duration::from_secs(2);

/// Fault phases, rotated every `SOAK_PHASE_SECS`; every key applies to all five backends.
const PHASES: &[(&str, &str)] = &[
    (
        "mixed",
        r#"{"latency":"20ms","jitter":"150ms","error_rate":0.05,"rate_limit":0.03,
            "retry_after":2,"reset_rate":0.02,"hang_rate":0.005,"malformed_rate":0.02,
            "truncate_rate":0.02,"token_ttl":"30s"}"#,
    ),
    (
        "storm",
        r#"{"latency":"100ms","jitter":"400ms","error_rate":0.3,"rate_limit":0.1,
            "retry_after":5,"reset_rate":0.1,"hang_rate":0.02,"malformed_rate":0.1,
            "truncate_rate":0.1,"token_ttl":"10s"}"#,
    ),
    ("calm", "{}"),
];

const PROFILES: &[&str] = &[
    "sim-freecommit",
    "sim-nullplatform",
    "sim-aviator",
    "sim-serverless-cd",
    "sim-candor",
];

/// The keys typed in a loop: each is measured. Esc = `\x1b`, BackTab = `\x1b[Z`, Enter = `\r`.
const KEYS: &[&str] = &[
    "1", "j", "j", "k", "?", "\x1b", "/", "\x1b", "\t", "j", "\x1b[Z", "4", "\r", "\x1b", "2", "j",
    "3", "k", ":", "\x1b", "7", "5", "g", "G", "1", "\r", "j", "\r", "\x1b", "\x1b", "r", "6",
];

static SIM_PANICS: AtomicU64 = AtomicU64::new(0);

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// One request to the simulator's control routes (std only, `Connection: close`).
fn control(addr: SocketAddr, method: &str, path: &str, body: &str) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{method} {path}: {head}");
    serde_json::from_str(body).unwrap()
}

/// The simulator's printed config with each `<field>_env = "X"   # export X=value` turned into
/// `<field> = "value"` (the file is private to the user, as inline secrets require).
fn inline_config(printed: &str) -> String {
    printed
        .lines()
        .map(
            |l| match (l.split_once("_env = "), l.split_once("# export ")) {
                (Some((field, _)), Some((_, export))) if !field.trim_start().starts_with('#') => {
                    let value = export.split_once('=').map(|(_, v)| v.trim()).unwrap();
                    format!("{field} = {value:?}")
                }
                _ => l.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Least-squares slope of (seconds, kB) in kB per minute.
fn slope_per_min(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
}

struct Driver {
    tui: pty::Tui,
}

impl Driver {
    /// The screen with its attributes (a moved selection changes only colours).
    fn frame(&self) -> String {
        self.tui
            .parser
            .lock()
            .unwrap()
            .screen()
            .contents_formatted()
    }

    /// How long until the screen differs from `before`, if within `limit`.
    fn wait_change(&self, before: &str, since: Instant, limit: Duration) -> Option<Duration> {
        loop {
            if self.frame() != before {
                return Some(since.elapsed());
            }
            if since.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Type `keys`, wait (unmeasured) for the screen to take them.
    fn type_unmeasured(&mut self, keys: &str) {
        let before = self.frame();
        let t = Instant::now();
        self.tui.send(keys);
        let _ = self.wait_change(&before, t, Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// What one measured key did.
enum Outcome {
    Shown(Duration),
    /// No change, but the probe was answered in time: the key had no visible effect.
    NoEffect,
    /// No answer for this long (key plus probe).
    Frozen(Duration),
    Hung,
}

fn measured(d: &mut Driver, key: &str) -> Outcome {
    let before = d.frame();
    let t = Instant::now();
    d.tui.send(key);
    if let Some(lat) = d.wait_change(&before, t, FREEZE) {
        return Outcome::Shown(lat);
    }
    // Nothing in 250 ms: a key with no effect here, or a frozen dashboard? `?` always shows.
    let before = d.frame();
    let probe = Instant::now();
    d.tui.send("?");
    let out = match d.wait_change(&before, probe, HUNG) {
        Some(p) if p <= FREEZE => Outcome::NoEffect,
        Some(_) => Outcome::Frozen(t.elapsed()),
        None => return Outcome::Hung,
    };
    d.type_unmeasured("\x1b");
    out
}

fn main() {
    let secs = env_u64("SOAK_SECS").unwrap_or(if std::env::var("SOAK_KEYS").is_ok() {
        u64::MAX / 4
    } else {
        90
    });
    let max_keys = env_u64("SOAK_KEYS").unwrap_or(u64::MAX);
    let pace = Duration::from_millis(env_u64("SOAK_PACE_MS").unwrap_or(60));
    let switch_every = Duration::from_secs(env_u64("SOAK_SWITCH_SECS").unwrap_or(15));
    let phase_every = Duration::from_secs(env_u64("SOAK_PHASE_SECS").unwrap_or(20));
    let run_for = Duration::from_secs(secs);

    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        SIM_PANICS.fetch_add(1, Ordering::Relaxed);
        default_hook(info);
    }));

    // The simulator in this process, on its own runtime; faults go through its control routes.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let handle = rt
        .block_on(sim::start(SimOptions {
            clock: ClockMode::Real,
            demo: true,
            ..SimOptions::default()
        }))
        .unwrap();
    let addr = handle.addr;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        inline_config(&shipdeck::demo::printable_config(&handle)),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    let (first_phase, first_faults) = PHASES[0];
    control(addr, "PUT", "/__sim/faults", first_faults);
    let req0 = control(addr, "GET", "/__sim/stats", "");

    let tui = pty::Tui::spawn_at(
        home.path(),
        &["--config", config.to_str().unwrap()],
        COLS,
        ROWS,
    );
    let pid = tui.child.process_id().unwrap();
    let mut d = Driver { tui };
    d.tui
        .wait("the first frame", |s| s.contains("sim-freecommit"));
    let start = Instant::now();
    let cpu0 = cpu_ticks(pid).unwrap_or(0);

    // RSS sampler.
    let samples: Arc<Mutex<Vec<(f64, f64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, stop) = (samples.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if Instant::now() >= next {
                    match rss_kb(pid) {
                        Some(kb) => samples
                            .lock()
                            .unwrap()
                            .push((start.elapsed().as_secs_f64(), kb as f64)),
                        None => break,
                    }
                    next += RSS_EVERY;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    eprintln!(
        "soak: {} s / {} keys max, faults phase {first_phase}",
        secs.min(99_999),
        if max_keys == u64::MAX {
            "no".to_string()
        } else {
            max_keys.to_string()
        }
    );
    let mut lat: Vec<Duration> = Vec::new();
    let mut by_key: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut freezes: Vec<Duration> = Vec::new();
    let (mut keys, mut no_effect, mut switches, mut phases) = (0u64, 0u64, 0u64, 1u64);
    let mut died: Option<String> = None;
    let (mut next_switch, mut next_phase) = (start + switch_every, start + phase_every);
    let mut k = 0usize;
    'run: while start.elapsed() < run_for && keys < max_keys {
        if let Some(st) = d.tui.child.try_wait().unwrap() {
            died = Some(format!("exited with {}", st.exit_code()));
            break;
        }
        let now = Instant::now();
        if now >= next_phase {
            let (name, faults) = PHASES[phases as usize % PHASES.len()];
            control(addr, "PUT", "/__sim/faults", faults);
            eprintln!(
                "soak: {:>4.0} s faults phase {name}",
                start.elapsed().as_secs_f64()
            );
            phases += 1;
            next_phase += phase_every;
        }
        if now >= next_switch {
            switches += 1;
            let profile = PROFILES[switches as usize % PROFILES.len()];
            d.type_unmeasured("\x1b");
            d.type_unmeasured(":");
            d.type_unmeasured(&format!("profile {profile}"));
            d.type_unmeasured("\r");
            next_switch += switch_every;
        }
        let key = KEYS[k % KEYS.len()];
        k += 1;
        keys += 1;
        match measured(&mut d, key) {
            Outcome::Shown(l) => {
                lat.push(l);
                by_key.entry(key).or_default().push(l);
            }
            Outcome::NoEffect => no_effect += 1,
            Outcome::Frozen(f) => {
                eprintln!("soak: freeze of {} ms after {key:?}", f.as_millis());
                freezes.push(f);
            }
            Outcome::Hung => {
                died = Some(format!("no answer for {} s after {key:?}", HUNG.as_secs()));
                break 'run;
            }
        }
        std::thread::sleep(pace);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu1 = cpu_ticks(pid).unwrap_or(cpu0);
    let req1 = control(addr, "GET", "/__sim/stats", "");
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    // Leave: Ctrl-c quits from anywhere; a clean exit is 0.
    let screen_at_end = d.tui.screen();
    let exit = if died.is_none() {
        d.tui.send("\x03");
        let (code, _) = d.tui.wait_exit(Duration::from_secs(5));
        if code != 0 {
            died = Some(format!("exited with {code} on Ctrl-c"));
        }
        code
    } else {
        d.tui
            .child
            .try_wait()
            .ok()
            .flatten()
            .map_or(0, |s| s.exit_code())
    };
    let log = std::fs::read_to_string(home.path().join("shipdeck").join("shipdeck.log"))
        .unwrap_or_default();
    let printed_panic = screen_at_end.contains("panicked") || d.tui.screen().contains("panicked");
    let logged_panics = log.matches("panicked").count();
    let panics = u64::from(died.is_some() || printed_panic)
        + logged_panics as u64
        + SIM_PANICS.load(Ordering::Relaxed);
    rt.block_on(handle.shutdown());

    // Figures.
    lat.sort();
    let samples = samples.lock().unwrap().clone();
    let rss_at = |t: f64| {
        samples
            .iter()
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
            .map_or(0.0, |p| p.1)
    };
    let rss_start = samples.first().map_or(0.0, |p| p.1);
    let rss_end = samples.last().map_or(0.0, |p| p.1);
    let rss_max = samples.iter().map(|p| p.1).fold(0.0, f64::max);
    let first_min = (elapsed >= 60.0).then(|| rss_at(60.0) - rss_start);
    let after: Vec<(f64, f64)> = samples.iter().copied().filter(|p| p.0 >= 60.0).collect();
    let slope = slope_per_min(&after);
    let (h1, h2) = after.split_at(after.len() / 2);
    let (s1, s2) = (slope_per_min(h1), slope_per_min(h2));
    let flattens = match (s1, s2) {
        (Some(a), Some(b)) => Some(b <= 20.0 || b <= a / 2.0),
        _ => None,
    };
    let requests = req1["requests"].as_u64().unwrap_or(0) - req0["requests"].as_u64().unwrap_or(0);
    let by_backend: serde_json::Map<String, Value> = req1["by_backend"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let was = req0["by_backend"][k].as_u64().unwrap_or(0);
                    let n = v.as_u64().unwrap_or(0) - was;
                    (k.clone(), json!((n as f64 / elapsed * 10.0).round() / 10.0))
                })
                .collect()
        })
        .unwrap_or_default();
    let ticks = 100.0; // USER_HZ on Linux
    let cpu_pct = (cpu1 - cpu0) as f64 / ticks / elapsed * 100.0;
    let max_freeze = freezes
        .iter()
        .max()
        .map_or(0.0, |f| f.as_secs_f64() * 1000.0);

    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:+.0}"));
    println!(
        "soak: {elapsed:.0} s, {keys} keys, {switches} profile switches, {phases} fault phases"
    );
    println!(
        "  panics                 {panics}{}",
        died.as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    );
    println!(
        "  freezes > 250 ms       {} (max {max_freeze:.0} ms)",
        freezes.len()
    );
    println!("  keys without effect    {no_effect}");
    println!(
        "  key → screen           p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms ({} keys)",
        pct(&lat, 50),
        pct(&lat, 99),
        pct(&lat, 100),
        lat.len()
    );
    println!(
        "  RSS                    start {:.1} MB · end {:.1} MB · max {:.1} MB",
        rss_start / 1024.0,
        rss_end / 1024.0,
        rss_max / 1024.0
    );
    println!("  RSS first minute       {} kB", opt(first_min));
    println!(
        "  RSS after it           {} kB/min (halves {} / {}; flattens: {})",
        opt(slope),
        opt(s1),
        opt(s2),
        flattens.map_or("n/a", |f| if f { "yes" } else { "no" })
    );
    println!(
        "  requests/s             {:.1} ({requests} requests) {}",
        requests as f64 / elapsed,
        Value::Object(by_backend.clone())
    );
    let mut slowest: Vec<(f64, &str)> = by_key
        .iter_mut()
        .map(|(k, v)| {
            v.sort();
            (pct(v, 99), *k)
        })
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<String> = slowest
        .iter()
        .take(3)
        .map(|(p, k)| format!("{k:?} {p:.0} ms"))
        .collect();
    println!("  slowest keys (p99)     {}", slowest.join(" · "));
    println!("  dashboard CPU          {cpu_pct:.1} %");
    println!("  exit                   {exit}");
    let result = json!({
        "secs": elapsed.round(),
        "keys": keys,
        "panics": panics,
        "freezes": freezes.len(),
        "max_freeze_ms": max_freeze.round(),
        "no_effect_keys": no_effect,
        "p50_ms": (pct(&lat, 50) * 10.0).round() / 10.0,
        "p99_ms": (pct(&lat, 99) * 10.0).round() / 10.0,
        "max_ms": (pct(&lat, 100) * 10.0).round() / 10.0,
        "rss_start_kb": rss_start,
        "rss_end_kb": rss_end,
        "rss_first_min_kb": first_min,
        "rss_kb_per_min_after": slope.map(f64::round),
        "rss_flattens": flattens,
        "requests_per_s": (requests as f64 / elapsed * 10.0).round() / 10.0,
        "requests_per_s_by_backend": by_backend,
        "cpu_pct": (cpu_pct * 10.0).round() / 10.0,
        "exit": exit,
    });
    println!("SOAK_RESULT {result}");
    if panics > 0 || !freezes.is_empty() {
        eprintln!("soak: screen at the end:\n{screen_at_end}");
        std::process::exit(1);
    }
}
