//! How the app layer speaks to the operator: the footer message ([`toast`]) and the sentences
//! several modules say. One place, so the words stay consistent.

use super::state::{Level, Millis, State, Toast};

/// How long a message stays (errors twice as long).
pub(crate) const TOAST_MS: Millis = 5_000;

/// Nothing was sent: what every cancelled change says.
pub(crate) const CANCELLED: &str = "cancelled: nothing was sent";

/// Say something in the footer. Information fades after a while; a warning or an error stays
/// until another message replaces it or Esc dismisses it. Every message also goes to the
/// history (`:messages`), stamped with the time and the profile it belongs to.
pub fn toast(s: &mut State, level: Level, text: impl Into<String>) {
    let text: String = text.into();
    // Toasts quote server words: sanitised, redacted and cut to 2 KB once here, for the
    // footer, the history and the desktop notification alike.
    let text = crate::api::errors::cap_message(&crate::safe::text(&text)).into_owned();
    let until = match level {
        Level::Info => s.now + TOAST_MS,
        Level::Warn | Level::Error => Millis::MAX,
    };
    let profile = s.profile().map(|p| p.name.clone()).unwrap_or_default();
    if s.messages.len() >= HISTORY {
        s.messages.remove(0);
    }
    s.messages.push(Said {
        at: s.wall,
        level,
        profile: profile.clone(),
        text: text.clone(),
    });
    s.toast = Some(Toast {
        level,
        text,
        until,
        profile,
        link: None,
    });
    s.dirty = true;
}

/// Messages kept for `:messages`.
const HISTORY: usize = 200;

/// One message as it was said.
#[derive(Clone, Debug, PartialEq)]
pub struct Said {
    pub at: chrono::DateTime<chrono::Utc>,
    pub level: Level,
    pub profile: String,
    pub text: String,
}

/// `:messages`: the history, newest last, as lines to read.
pub fn history(s: &State) -> Vec<String> {
    if s.messages.is_empty() {
        return vec!["no messages yet".into()];
    }
    s.messages
        .iter()
        .map(|m| {
            let level = match m.level {
                Level::Info => " ",
                Level::Warn => "!",
                Level::Error => "✘",
            };
            let at = m.at.with_timezone(&chrono::Local).format("%H:%M:%S");
            format!("{at} {level} {} · {}", m.profile, m.text)
        })
        .collect()
}

/// "1.2 MB"
pub fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}
