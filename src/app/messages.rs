//! How the app layer speaks to the operator: the footer message ([`toast`]) and the sentences
//! several modules say. One place, so the words stay consistent.

use super::state::{Level, Millis, State, Toast};

/// How long a message stays (errors twice as long).
pub const TOAST_MS: Millis = 5_000;

/// Nothing was sent: what every cancelled change says.
pub const CANCELLED: &str = "cancelled: nothing was sent";

pub fn toast(s: &mut State, level: Level, text: impl Into<String>) {
    let ms = if level == Level::Error {
        TOAST_MS * 2
    } else {
        TOAST_MS
    };
    s.toast = Some(Toast {
        level,
        text: text.into(),
        until: s.now + ms,
    });
    s.dirty = true;
}

/// "1.2 MB"
pub fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}
