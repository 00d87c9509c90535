use super::*;
use crate::logtext::LogLine;
use ratatui::style::{Color, Style};

/// Every hostile sequence of issue 11, each wrapped around visible words.
pub(crate) const HOSTILE: &[&str] = &[
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]0;owned title\x07",
    "\x1b]0;owned title\x1b\\",
    "\x1b[?1000h",
    "\x1b[?25l",
    "\x1bP$qm\x1b\\",
    "\x1b[c",
    "\x1b[6n",
    "\u{9b}6n",
    "\u{9d}0;title\u{9c}",
    "\x07",
    "\u{202e}",
    "\u{200b}",
];

fn assert_inert(out: &str) {
    for c in out.chars() {
        assert!(
            c == '\n' || !crate::logtext::line::is_forbidden(c),
            "control {c:?} in {out:?}"
        );
        assert!(
            !crate::logtext::line::is_hidden_format(c),
            "{c:?} in {out:?}"
        );
    }
}

#[test]
fn every_hostile_sequence_is_removed_and_the_words_survive() {
    for h in HOSTILE {
        let input = format!("build {h}failed{h} now");
        for out in [text(&input).into_owned(), block(&input).into_owned()] {
            assert_inert(&out);
            assert!(out.starts_with("build "), "{out:?}");
            assert!(out.contains("failed"), "{out:?}");
            assert!(out.ends_with(" now"), "{out:?}");
            assert!(
                !out.contains("owned title") && !out.contains("aGVsbG8"),
                "{out:?}"
            );
        }
    }
}

#[test]
fn bidi_and_zero_width_are_made_visible() {
    assert_eq!(text("pro\u{200b}d"), "pro<U+200B>d");
    assert_eq!(text("\u{202e}gnp.exe"), "<U+202E>gnp.exe");
    assert_eq!(
        text("a\u{2066}b\u{2069}\u{feff}"),
        "a<U+2066>b<U+2069><U+FEFF>"
    );
    assert_eq!(text("tag\u{E0041}"), "tag<U+E0041>");
    assert_eq!(
        json("\"a\u{202e}\u{9b}\u{E0041}\""),
        "\"a\\u202e\\u009b\\udb40\\udc41\""
    );
}

#[test]
fn lines_and_carriage_returns_hide_nothing() {
    assert_eq!(text("one\ntwo\r\nthree\rfour"), "one two three four");
    assert_eq!(
        block("one\ntwo\r\nthree\rfour\n"),
        "one\ntwo\nthree\nfour\n"
    );
    assert_eq!(block("a\n\nb"), "a\n\nb");
    assert_eq!(text("col\tumn"), "col     umn");
}

#[test]
fn clean_text_is_borrowed() {
    for s in ["plain words", "ünïcödé ✓ 日本", "", "multi\nline"] {
        if s.contains('\n') {
            assert!(matches!(block(s), Cow::Borrowed(_)));
        } else {
            assert!(matches!(text(s), Cow::Borrowed(_)));
        }
    }
    assert!(matches!(text("a\u{1b}b"), Cow::Owned(_)));
}

#[test]
fn known_secrets_are_redacted_in_every_form() {
    register("S3CRET-unit-1 \"x\"");
    register("abc"); // too short: ignored
    assert_eq!(
        text("password 'S3CRET-unit-1 \"x\"' rejected"),
        "password '[redacted]' rejected"
    );
    assert_eq!(
        json(r#"{"m":"S3CRET-unit-1 \"x\""}"#),
        r#"{"m":"[redacted]"}"#
    );
    assert_eq!(
        text("q=S3CRET-unit-1+%22x%22&r=S3CRET-unit-1%20%22x%22"),
        "q=[redacted]&r=[redacted]"
    );
    assert_eq!(text("abc abc"), "abc abc");
    // An escape sequence inside the secret does not smuggle it out.
    assert_eq!(text("S3CRET-\x1b[0munit-1 \"x\" end"), "[redacted] end");
    register_issued("tok-unit-9f8e7d");
    assert_eq!(
        block("Bearer tok-unit-9f8e7dtok-unit-9f8e7d\n"),
        "Bearer [redacted][redacted]\n"
    );
}

#[test]
fn nullplatform_secret_parameter_values_are_redacted() {
    let rows = serde_json::json!([
        {"name": "K", "value": "np-secret-value-31", "secret": true},
        {"name": "L", "value": "np-plain-value-77", "secret": false},
        {"name": "M", "value": "np-flagless-value-12"}
    ]);
    let got = crate::api::nullplatform::decode::parameters(rows, "1", "app").unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(text("echo np-secret-value-31"), "echo [redacted]");
    assert_eq!(text("np-plain-value-77"), "np-plain-value-77");
    // Never shown (a missing flag counts as secret), but not taken for a secret either.
    assert_eq!(text("np-flagless-value-12"), "np-flagless-value-12");
}

#[test]
fn a_redacted_log_line_keeps_its_colours_around() {
    register_issued("LOGSECRET-77");
    let mut san = crate::logtext::Sanitizer::new();
    let lines: Vec<LogLine> = san
        .push(b"\x1b[31mkey=LOGSECRET-77\x1b[0m and \x1b[32mok\x1b[0m\n")
        .collect();
    let line = redact_line(lines.into_iter().next().unwrap());
    assert_eq!(line.plain(), "key=[redacted] and ok");
    let red = Style::new().fg(Color::Red);
    assert_eq!(
        line.runs().first().map(|r| (r.start, r.end, r.style)),
        Some((0, 14, red))
    );
    let green = line.runs().get(1).unwrap();
    assert_eq!(&line.plain()[green.range()], "ok");
}

#[test]
fn json_stays_json_with_the_same_values() {
    let v = serde_json::json!({"name": "a\u{9b}6n\u{202e}b\u{7f}", "list": ["\u{1b}]0;t\u{7}", "plain"]});
    let pretty = serde_json::to_string_pretty(&v).unwrap();
    let safe = json(&pretty);
    assert!(
        !safe
            .chars()
            .any(|c| ('\u{7f}'..='\u{9f}').contains(&c) || c == '\u{202e}')
    );
    assert!(safe.contains('\n'), "layout kept");
    let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
    assert_eq!(back, v);
}
