//! Bytes for the terminal outside the drawn frame: the bell, desktop notifications (OSC 9,
//! or OSC 777 where the terminal speaks that), wrapped for tmux passthrough inside tmux, and a
//! clickable link (OSC 8) over text already on screen. Pure: the event loop writes them.

use crate::app::action::Alert;

/// What the terminal around shipdeck understands, read once at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TermEnv {
    /// Inside tmux: escape sequences for the outer terminal need passthrough.
    pub tmux: bool,
    /// The terminal takes OSC 777 notifications (urxvt, foot, VTE) rather than OSC 9.
    pub osc777: bool,
}

impl TermEnv {
    pub fn from_env() -> TermEnv {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let term = var("TERM");
        TermEnv {
            tmux: std::env::var_os("TMUX").is_some(),
            osc777: term.starts_with("rxvt")
                || term.starts_with("foot")
                || (std::env::var_os("VTE_VERSION").is_some() && var("TERM_PROGRAM").is_empty()),
        }
    }
}

/// Text for inside an escape sequence: no control characters (they would end it early or
/// start another), no `;` in a title (OSC 777 separates fields with it).
fn plain(s: &str) -> String {
    crate::ui::clean(s)
        .chars()
        .filter(|c| *c != '\u{fffd}' && !c.is_control())
        .collect()
}

/// `ESC P tmux ; <seq with every ESC doubled> ESC \`: tmux hands it to the outer terminal
/// (with `allow-passthrough on`).
pub fn tmux_wrap(seq: &str) -> String {
    format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
}

/// The bell and/or a desktop notification for an alert.
pub fn alert(a: &Alert, env: TermEnv) -> String {
    let mut out = String::new();
    if a.bell {
        out.push('\x07');
    }
    if a.desktop {
        let (title, body) = (plain(&a.title), plain(&a.body));
        let seq = if env.osc777 {
            format!("\x1b]777;notify;{};{}\x07", title.replace(';', ","), body)
        } else {
            format!("\x1b]9;{title}: {body}\x07")
        };
        if env.tmux {
            out.push_str(&tmux_wrap(&seq));
        } else {
            out.push_str(&seq);
        }
    }
    out
}

/// Make `text`, already drawn at (`row`, `col`) (0-based), a link to `url`: the cursor is
/// saved, the same text rewritten inside OSC 8, the cursor restored. Nothing changes on
/// screen but the link.
pub fn link_over(row: u16, col: u16, text: &str, url: &str) -> String {
    let url = plain(url);
    let text = plain(text);
    format!(
        "\x1b7\x1b[{};{}H\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\\x1b8",
        row + 1,
        col + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(bell: bool, desktop: bool) -> Alert {
        Alert {
            title: "shipdeck · ci".into(),
            body: "web 1a2b ✔ passed\x1b]52;c;evil\x07".into(),
            bell,
            desktop,
        }
    }

    #[test]
    fn osc9_with_bell_and_no_control_characters_from_the_text() {
        let out = alert(&a(true, true), TermEnv::default());
        assert_eq!(
            out,
            // The escape sequence in the text goes whole (`crate::safe`).
            "\x07\x1b]9;shipdeck · ci: web 1a2b ✔ passed\x07"
        );
    }

    #[test]
    fn osc777_where_the_terminal_takes_it() {
        let env = TermEnv {
            tmux: false,
            osc777: true,
        };
        let out = alert(&a(false, true), env);
        assert!(
            out.starts_with("\x1b]777;notify;shipdeck · ci;web 1a2b"),
            "{out:?}"
        );
        assert!(!out.contains('\x07') || out.ends_with('\x07'));
    }

    #[test]
    fn inside_tmux_the_notification_is_wrapped_for_passthrough() {
        let env = TermEnv {
            tmux: true,
            osc777: false,
        };
        let out = alert(&a(true, true), env);
        assert!(out.starts_with("\x07\x1bPtmux;\x1b\x1b]9;"), "{out:?}");
        assert!(out.ends_with("\x07\x1b\\"), "{out:?}");
        // Only the bell and the wrapper's own ESCs: every inner ESC doubled.
        let inner = &out[1..];
        assert_eq!(inner.matches("\x1b\x1b").count(), 1);
    }

    #[test]
    fn bell_only_and_nothing() {
        assert_eq!(alert(&a(true, false), TermEnv::default()), "\x07");
        assert_eq!(alert(&a(false, false), TermEnv::default()), "");
    }

    #[test]
    fn a_link_is_drawn_over_its_text() {
        let out = link_over(23, 5, "https://x/1", "https://x/1");
        assert_eq!(
            out,
            "\x1b7\x1b[24;6H\x1b]8;;https://x/1\x1b\\https://x/1\x1b]8;;\x1b\\\x1b8"
        );
    }
}
