//! The one sanitiser and the one redactor between every byte from a server or a config and
//! every output: the dashboard (`ui::clean` is [`text`]), CLI stdout and stderr (`cli::out`),
//! toasts and messages, `--json`, the audit file, saved logs and the tracing log file.
//!
//! # Policy
//! * Escape sequences (CSI, OSC such as the OSC 52 clipboard and titles, DCS and the other
//!   strings, terminal queries) are removed whole, parsed by the same `vte` state machine as
//!   build logs ([`crate::logtext::Sanitizer`]); their payload never shows.
//! * C0 and C1 controls and DEL are removed (`logtext::line::is_forbidden`, the one definition);
//!   a C1 introducer sent as UTF-8 (U+009B CSI, U+009D OSC, U+0090 DCS, …) is read as its
//!   7-bit form by the log sanitiser, so its whole sequence goes, not only the introducer.
//!   A bare CR and a line break become a space in [`text`] and a line break in [`block`], so no
//!   text is hidden by being "overwritten". TAB becomes spaces.
//! * Bidi and zero-width characters (`logtext::line::is_hidden_format`) are made visible as
//!   `<U+202E>`, never removed, so two names that differ only by them never look alike.
//! * SGR colour is kept only in the log viewer and in `shipdeck logs` on a terminal (the log
//!   sanitiser's own output); everything here is plain.
//! * Known secrets ([`redact`]) are replaced by `[redacted]`, before and after cleaning (so
//!   an escape sequence put inside a secret does not smuggle it out).
//!
//! The common case costs one scan and no allocation: a clean string comes back borrowed.

mod redact;
mod writer;

pub use redact::{
    MIN_SECRET_CHARS, REDACTED, redact, redact_line, register, register_issued, register_secret,
};
pub use writer::SafeMakeWriter;

use crate::logtext::Sanitizer;
use crate::logtext::line::{is_forbidden, is_hidden_format};
use std::borrow::Cow;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One line: line breaks become spaces.
    Line,
    /// Several lines: `\n` is kept.
    Block,
}

/// Sanitise and redact text shown on one line (a table cell, a column, an error message).
pub fn text(s: &str) -> Cow<'_, str> {
    clean(s, Shape::Line)
}

/// Sanitise and redact text of several lines (`\n` kept; CR LF and bare CR become `\n`).
pub fn block(s: &str) -> Cow<'_, str> {
    clean(s, Shape::Block)
}

/// Make serialized JSON safe for a terminal or a file without changing what it means: a C1
/// control, DEL, or a bidi / zero-width character inside a string becomes its `\uXXXX` escape
/// (serde already escapes C0), and known secrets are redacted.
pub fn json(s: &str) -> Cow<'_, str> {
    // serde escapes every C0 control inside a string; outside one only JSON whitespace
    // (`\n`, `\r`, `\t`, space) can appear, and it stays as it is.
    let escape =
        |c: char| (is_forbidden(c) && !matches!(c, '\n' | '\r' | '\t')) || is_hidden_format(c);
    let escaped = if s.chars().any(escape) {
        let mut out = String::with_capacity(s.len() + 16);
        for c in s.chars() {
            if escape(c) {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    };
    match escaped {
        Cow::Borrowed(b) => redact(b),
        Cow::Owned(o) => Cow::Owned(redact(&o).into_owned()),
    }
}

/// Whether `s` holds anything the cleaner changes.
fn needs_cleaning(s: &str, shape: Shape) -> bool {
    let keep_lf = shape == Shape::Block;
    if s.is_ascii() {
        s.bytes()
            .any(|b| (b < b' ' && !(keep_lf && b == b'\n')) || b == 0x7f)
    } else {
        s.chars()
            .any(|c| (is_forbidden(c) && !(keep_lf && c == '\n')) || is_hidden_format(c))
    }
}

fn clean(s: &str, shape: Shape) -> Cow<'_, str> {
    if !needs_cleaning(s, shape) {
        return redact(s);
    }
    let first = redact(s);
    let cleaned = strip(&first, shape);
    Cow::Owned(redact(&cleaned).into_owned())
}

/// Run `s` through the log sanitiser (escape sequences parsed and dropped, controls dropped,
/// hidden characters marked) and join its lines for `shape`.
fn strip(s: &str, shape: Shape) -> String {
    // CR LF and a bare CR end a line, so nothing before a CR is discarded.
    let mut bytes = Vec::with_capacity(s.len() + 1);
    let mut it = s.bytes().peekable();
    while let Some(b) = it.next() {
        match b {
            b'\r' if it.peek() == Some(&b'\n') => {}
            b'\r' => bytes.push(b'\n'),
            b => bytes.push(b),
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut lines = 0usize;
    let mut add = |line: &str, out: &mut String| match shape {
        Shape::Line => {
            if line.trim().is_empty() {
                return;
            }
            if lines > 0 {
                out.push(' ');
            }
            lines += 1;
            out.push_str(line);
        }
        Shape::Block => {
            if lines > 0 {
                out.push('\n');
            }
            lines += 1;
            out.push_str(line);
        }
    };
    let mut san = Sanitizer::new();
    for l in san.push(&bytes) {
        add(l.plain(), &mut out);
    }
    let ended = bytes.last() == Some(&b'\n');
    for l in san.finish() {
        add(l.plain(), &mut out);
    }
    if shape == Shape::Block && ended {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
