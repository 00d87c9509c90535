//! Ingest throughput and memory of `logtext`: 1,000,000 synthetic CI log
//! lines (~80 chars, ~10 % with SGR colour) streamed in 64 KiB chunks through
//! `Sanitizer` into a `LogBuffer` with capacity 100,000 (the rest spills to a
//! temp file). Prints lines/s and the process's VmRSS / VmHWM.
//!
//! Run: `cargo bench --bench log_ingest`

// A benchmark harness: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use shipdeck::logtext::{LogBuffer, Sanitizer, StepStatus};

const LINES: u64 = 1_000_000;
const CAPACITY: usize = 100_000;
const CHUNK: usize = 64 * 1024;

fn proc_status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "n/a".into())
}

/// Append one synthetic line (~80 bytes of text) to `out`.
fn synth_line(out: &mut Vec<u8>, i: u64, rng: &mut fastrand::Rng) {
    let crate_no = rng.u32(0..500);
    match rng.u32(0..10) {
        0 => {
            // ~10 %: coloured lines as cargo / test runners emit them.
            let _ = writeln!(
                out,
                "\x1b[1m\x1b[32m   Compiling\x1b[0m crate-{crate_no} v0.{}.{} (/build/src/crates/crate-{crate_no}) [{i}]",
                rng.u32(0..20),
                rng.u32(0..9)
            );
        }
        1 => {
            let _ = writeln!(
                out,
                "2026-11-25T12:00:{:02}.{:06}Z \x1b[31merror\x1b[0m[E0{:03}]: mismatched types in crate-{crate_no} line {i}",
                i % 60,
                rng.u32(0..1_000_000),
                rng.u32(0..999)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "2026-11-25T12:00:{:02}.{:06}Z [build] step {}/42: running test suite shard {} ok {i}",
                i % 60,
                rng.u32(0..1_000_000),
                rng.u32(1..42),
                crate_no
            );
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut sanitizer = Sanitizer::new();
    let mut buffer = LogBuffer::new(CAPACITY, dir.path().join("spill.log"));
    buffer.mark_step("build", StepStatus::Running);

    let rss_before = proc_status("VmRSS:");
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 256);
    let mut busy = Duration::ZERO;
    let mut bytes_total = 0u64;
    let mut i = 0u64;
    while i < LINES {
        chunk.clear();
        while chunk.len() < CHUNK && i < LINES {
            synth_line(&mut chunk, i, &mut rng);
            i += 1;
        }
        bytes_total += chunk.len() as u64;
        // Only sanitising + storing is timed, not the input generation.
        let t = Instant::now();
        for line in sanitizer.push(&chunk) {
            buffer.push(line);
        }
        busy += t.elapsed();
    }
    let t = Instant::now();
    for line in sanitizer.finish() {
        buffer.push(line);
    }
    busy += t.elapsed();

    assert_eq!(buffer.len(), LINES);
    let secs = busy.as_secs_f64();
    println!(
        "log_ingest: {LINES} lines, {:.1} MB input, capacity {CAPACITY}",
        bytes_total as f64 / 1e6
    );
    println!(
        "  sanitize+store: {:.3} s  ->  {:.0} lines/s, {:.1} MB/s",
        secs,
        LINES as f64 / secs,
        bytes_total as f64 / 1e6 / secs
    );
    println!(
        "  in memory: {} lines, spilled: {} lines",
        buffer.len() - buffer.spilled(),
        buffer.spilled()
    );
    println!(
        "  VmRSS before: {rss_before}, after: {}, peak (VmHWM): {}",
        proc_status("VmRSS:"),
        proc_status("VmHWM:")
    );

    // Whole-log search that must scan the spill file (needle absent).
    let t = Instant::now();
    let hit = buffer.search("no such text anywhere", 0, true);
    println!(
        "  full search miss over {LINES} lines: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    black_box(hit);
    let t = Instant::now();
    let hit = buffer.search("[E0", LINES - 1, false);
    println!(
        "  backward search hit {hit:?}: {:.6} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let last = buffer.get(LINES - 1).expect("in memory");
    let mut cols = 0;
    for _ in 0..1000 {
        cols += black_box(last.to_line(120)).width();
    }
    black_box(cols);
    println!("  1000x to_line(120): {:.6} s", t.elapsed().as_secs_f64());
}
