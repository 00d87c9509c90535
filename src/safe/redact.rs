//! The one redactor: a process-wide registry of known secret values, replaced by
//! `[redacted]` wherever they would reach an output.
//!
//! Registered: every credential a profile resolves (`Credential::resolve`: inline, `_env`,
//! `_command`), every token issued to it (login replies, Serverless-cd tokens) and secret values
//! a backend returned (nullplatform secret parameters, Serverless-cd `secrets`, webhook
//! secrets). Each is also registered in its JSON-escaped and URL-encoded forms when those
//! differ. Values shorter than [`MIN_SECRET_CHARS`] characters are ignored: redacting `ab`
//! would redact half of every message, and so short a secret protects nothing anyway.

use crate::logtext::{LogLine, StyleRun};
use aho_corasick::{AhoCorasick, MatchKind};
use secrecy::{ExposeSecret, SecretString};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a known secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this (in characters) are not redacted.
pub const MIN_SECRET_CHARS: usize = 4;

/// Issued values kept at most (the oldest go first); credentials are always kept.
const MAX_ISSUED: usize = 256;

struct Registry {
    /// Credentials of the profiles: kept for the whole run.
    pinned: Vec<String>,
    /// Tokens and values a server returned: a bounded window.
    issued: VecDeque<String>,
    /// One automaton over all of them, rebuilt at the first use after a registration (so a
    /// page of many secret values costs one rebuild, not one per value).
    matcher: Option<AhoCorasick>,
    dirty: bool,
}

impl Registry {
    fn knows(&self, s: &str) -> bool {
        self.pinned.iter().chain(self.issued.iter()).any(|k| k == s)
    }

    /// Never logs: the log file's writer redacts through this registry (its lock is held).
    fn rebuild(&mut self) -> Result<(), aho_corasick::BuildError> {
        self.dirty = false;
        let all = self.pinned.iter().chain(self.issued.iter());
        let m = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(all)?;
        self.matcher = Some(m);
        Ok(())
    }
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    pinned: Vec::new(),
    issued: VecDeque::new(),
    matcher: None,
    dirty: false,
});
/// Whether anything is registered (the common empty case skips the lock).
static ANY: AtomicBool = AtomicBool::new(false);

/// Register a credential of a profile (kept for the whole run).
pub fn register(secret: &str) {
    add(secret, true);
}

/// Register a value issued by a server (a token, a secret value it returned).
pub fn register_issued(secret: &str) {
    add(secret, false);
}

/// [`register`] for a `SecretString`.
pub fn register_secret(secret: &SecretString) {
    register(secret.expose_secret());
}

fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    if let Ok(j) = serde_json::to_string(secret) {
        let inner = j.get(1..j.len().saturating_sub(1)).unwrap_or("");
        out.push(inner.to_string());
    }
    let url: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    if secret.contains(' ') {
        out.push(url.replace('+', "%20"));
    }
    out.push(url);
    out.sort();
    out.dedup();
    out
}

fn add(secret: &str, pinned: bool) {
    if secret.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let mut changed = false;
    for form in forms(secret) {
        if form.is_empty() || reg.knows(&form) {
            continue;
        }
        changed = true;
        if pinned {
            reg.pinned.push(form);
        } else {
            if reg.issued.len() >= MAX_ISSUED {
                reg.issued.pop_front();
            }
            reg.issued.push_back(form);
        }
    }
    if changed {
        reg.dirty = true;
        ANY.store(true, Ordering::Release);
    }
}

/// Byte ranges of known secrets in `s`, in order; empty (no allocation) when none.
fn hits(s: &str) -> Vec<(usize, usize)> {
    if !ANY.load(Ordering::Acquire) || s.len() < MIN_SECRET_CHARS {
        return Vec::new();
    }
    let mut reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    if reg.dirty {
        drop(reg);
        let mut w = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
        let built = if w.dirty { w.rebuild() } else { Ok(()) };
        drop(w);
        if let Err(e) = built {
            // The previous automaton stays in use.
            tracing::warn!("the redactor could not take the new secrets: {e}");
        }
        reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    }
    match &reg.matcher {
        Some(m) => m.find_iter(s).map(|h| (h.start(), h.end())).collect(),
        None => Vec::new(),
    }
}

/// `s` with every known secret replaced by [`REDACTED`]; borrowed when there is none.
pub fn redact(s: &str) -> Cow<'_, str> {
    let hits = hits(s);
    if hits.is_empty() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (a, b) in hits {
        // A valid UTF-8 needle found in valid UTF-8 starts and ends on char boundaries.
        out.push_str(s.get(at..a).unwrap_or(""));
        out.push_str(REDACTED);
        at = b;
    }
    out.push_str(s.get(at..).unwrap_or(""));
    Cow::Owned(out)
}

/// A sanitised log line with known secrets replaced; its colours stay on the text around.
pub fn redact_line(line: LogLine) -> LogLine {
    let hits = hits(line.plain());
    if hits.is_empty() {
        return line;
    }
    let text = line.plain();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for &(a, b) in &hits {
        out.push_str(text.get(at..a).unwrap_or(""));
        out.push_str(REDACTED);
        at = b;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    // A position in the old text → in the new one; inside a secret it moves to the start
    // (`end == false`) or the end of the replacement.
    let map = |pos: usize, end: bool| -> u32 {
        let mut delta: isize = 0;
        for &(a, b) in &hits {
            if pos >= b {
                delta += REDACTED.len() as isize - (b - a) as isize;
            } else if pos > a {
                let base = (a as isize + delta) as usize;
                return (if end { base + REDACTED.len() } else { base }) as u32;
            } else {
                break;
            }
        }
        (pos as isize + delta) as u32
    };
    let runs: Vec<StyleRun> = line
        .runs()
        .iter()
        .map(|r| StyleRun {
            start: map(r.start as usize, false),
            end: map(r.end as usize, true),
            style: r.style,
        })
        .filter(|r| r.start < r.end)
        .collect();
    // Runs may now touch or overlap at a replacement: keep them ordered and disjoint.
    let mut clean: Vec<StyleRun> = Vec::with_capacity(runs.len());
    for mut r in runs {
        if let Some(last) = clean.last()
            && r.start < last.end
        {
            r.start = last.end;
        }
        if r.start < r.end {
            clean.push(r);
        }
    }
    LogLine::from_parts(&out, &clean)
}
