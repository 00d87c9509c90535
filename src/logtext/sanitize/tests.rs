use super::*;
use ratatui::text::Line;

fn lines(bytes: &[u8]) -> Vec<LogLine> {
    sanitize_lines(bytes)
}

fn texts(bytes: &[u8]) -> Vec<String> {
    lines(bytes).iter().map(|l| l.plain().to_owned()).collect()
}

/// (text, style) pairs of a rendered line.
fn spans(line: &Line<'_>) -> Vec<(String, Style)> {
    line.spans
        .iter()
        .map(|s| (s.content.to_string(), s.style))
        .collect()
}

fn run_capped(cap: usize, input: &[u8]) -> String {
    let mut s = Sanitizer::with_max_line_bytes(cap);
    let mut got: Vec<_> = s.push(input).collect();
    got.extend(s.finish());
    let texts: Vec<&str> = got.iter().map(|l| l.plain()).collect();
    texts.join("\n")
}

#[test]
fn overlong_unterminated_osc_is_aborted() {
    const SLACK: usize = 100;
    const { assert!(FORCE_SLACK > SLACK) };
    // Parser memory must stay bounded even without any line feed: after
    // cap + slack bytes (slack = min(64 KiB, cap)) with no ESC, the sequence
    // is aborted after the next ASCII byte and the rest of its payload is
    // plain text.
    let n = 100 + SLACK + 500;
    let mut input = b"a\x1b]0;".to_vec();
    input.extend(std::iter::repeat_n(b'p', n));
    input.extend_from_slice(b"\x07b");
    // 5 bytes "a ESC ] 0 ;", then payload up to and including the byte at
    // raw offset cap + SLACK is swallowed.
    let swallowed = 100 + SLACK + 1 - 5;
    // (The text itself is then split into 100-byte lines by the line cap.)
    assert_eq!(
        run_capped(100, &input).replace('\n', ""),
        format!("a{}b", "p".repeat(n - swallowed))
    );
    // Without any ASCII byte, the abort happens 4 bytes later.
    let mut input = b"\x1b]".to_vec();
    input.extend(std::iter::repeat_n(0xffu8, 100 + SLACK + 10));
    // 2 + 100 + SLACK + 10 bytes, cut after 100 + SLACK + 4.
    assert_eq!(run_capped(100, &input), "\u{fffd}".repeat(8));
}

#[test]
fn long_lf_free_runs_are_cut_invisibly_before_esc() {
    // A progress bar that never prints a line feed: far more raw bytes than
    // the cap, but cutting before ESC must not change the result.
    let mut input = Vec::new();
    for i in 0..2000 {
        input.extend_from_slice(format!("\x1b[2K\r\x1b[32m{i:>5}%\x1b[0m [#####    ]").as_bytes());
    }
    input.extend_from_slice(b"\x1b]0;title\x07 done\n");
    let want = run_capped(1 << 20, &input);
    assert_eq!(want, " 1999% [#####    ] done\n".trim_end());
    assert_eq!(run_capped(64, &input), want);
}

#[test]
fn plain_lines_and_line_ends() {
    assert_eq!(texts(b"a\nb\r\nc"), ["a", "b", "c"]);
    assert_eq!(texts(b"a\n\nb\n"), ["a", "", "b"]);
    assert_eq!(sanitize_to_string(b"x\ny\n"), "x\ny\n");
    assert_eq!(sanitize_to_string(b"x\ny"), "x\ny");
    assert!(texts(b"").is_empty());
    // A trailing reset after the last newline does not create a line.
    assert_eq!(texts(b"a\n\x1b[0m"), ["a"]);
}

#[test]
fn sgr_basic_colours_to_styles() {
    let l = &lines(b"\x1b[31mred\x1b[0m plain \x1b[1;42mbold\x1b[m")[0];
    assert_eq!(l.plain(), "red plain bold");
    assert_eq!(
        spans(&l.to_line(100)),
        vec![
            ("red".into(), Style::new().fg(Color::Red)),
            (" plain ".into(), Style::new()),
            (
                "bold".into(),
                Style::new().bg(Color::Green).add_modifier(Modifier::BOLD)
            ),
        ]
    );
}

#[test]
fn sgr_bright_256_truecolour_and_colon_forms() {
    let cases: &[(&[u8], Style)] = &[
        (b"\x1b[91mx", Style::new().fg(Color::LightRed)),
        (b"\x1b[97mx", Style::new().fg(Color::White)),
        (b"\x1b[37mx", Style::new().fg(Color::Gray)),
        (b"\x1b[104mx", Style::new().bg(Color::LightBlue)),
        (b"\x1b[38;5;196mx", Style::new().fg(Color::Indexed(196))),
        (b"\x1b[48;5;17mx", Style::new().bg(Color::Indexed(17))),
        (
            b"\x1b[38;2;10;20;30mx",
            Style::new().fg(Color::Rgb(10, 20, 30)),
        ),
        (b"\x1b[48;2;1;2;3mx", Style::new().bg(Color::Rgb(1, 2, 3))),
        (b"\x1b[38:5:42mx", Style::new().fg(Color::Indexed(42))),
        (
            b"\x1b[38:2:10:20:30mx",
            Style::new().fg(Color::Rgb(10, 20, 30)),
        ),
        (
            b"\x1b[38:2::10:20:30mx",
            Style::new().fg(Color::Rgb(10, 20, 30)),
        ),
        (
            b"\x1b[38:2:0:10:20:30mx",
            Style::new().fg(Color::Rgb(10, 20, 30)),
        ),
        (
            b"\x1b[58:5:3;4:3mx",
            Style::new()
                .underline_color(Color::Indexed(3))
                .add_modifier(Modifier::UNDERLINED),
        ),
        (
            b"\x1b[1;2;3;4;7;9mx",
            Style::new().add_modifier(
                Modifier::BOLD
                    | Modifier::DIM
                    | Modifier::ITALIC
                    | Modifier::UNDERLINED
                    | Modifier::REVERSED
                    | Modifier::CROSSED_OUT,
            ),
        ),
        (b"\x1b[1;2;3;4;7;22;23;24;27mx", Style::new()),
        (
            b"\x1b[4mx\x1b[4:0m",
            Style::new().add_modifier(Modifier::UNDERLINED),
        ),
        (b"\x1b[31;39mx", Style::new()),
        // Following params after an extended colour are still applied.
        (
            b"\x1b[38;5;1;1mx",
            Style::new()
                .fg(Color::Indexed(1))
                .add_modifier(Modifier::BOLD),
        ),
        // Out-of-range components: colour ignored, params consumed.
        (
            b"\x1b[38;2;300;0;0;1mx",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        // Blink and conceal are ignored on purpose.
        (b"\x1b[5;6;8mx", Style::new()),
    ];
    for (input, want) in cases {
        let l = &lines(input)[0];
        assert_eq!(l.plain(), "x", "{input:?}");
        assert_eq!(l.style_at(0), *want, "{input:?}");
    }
}

#[test]
fn sgr_state_carries_across_lines_and_resets_between_streams() {
    let mut s = Sanitizer::new();
    let got: Vec<_> = s.push(b"\x1b[32mone\ntwo\n").collect();
    assert_eq!(got[1].style_at(0), Style::new().fg(Color::Green));
    assert_eq!(s.finish().count(), 0);
    let got: Vec<_> = s.push(b"three\n").collect();
    assert_eq!(got[0].style_at(0), Style::new());
    assert!(got[0].runs().is_empty());
}

#[test]
fn non_sgr_csi_removed() {
    let input = b"a\x1b[2J\x1b[H\x1b[10;20Hb\x1b[3Ac\x1b[?1049h\x1b[?25l\x1b[1;24r\x1b[Kd\x1b[>4;1m\x1b[?1mX";
    let l = &lines(input)[0];
    assert_eq!(l.plain(), "abcdX");
    // Private-marker "m" sequences are not SGR.
    assert!(l.runs().is_empty());
}

#[test]
fn osc_and_strings_removed() {
    // Title (BEL and ST terminated), OSC 52 clipboard write, OSC 8 link.
    let input = b"\x1b]0;evil title\x07a\x1b]2;t2\x1b\\b\x1b]52;c;ZWNobyBwd25lZA==\x07c\
\x1b]8;;https://example.com\x1b\\link text\x1b]8;;\x1b\\d";
    assert_eq!(texts(input), ["abclink textd"]);
    // DCS, SOS, PM, APC strings.
    let input = b"a\x1bP1$r0m\x1b\\b\x1bXsos\x1b\\c\x1b^pm\x1b\\d\x1b_apc\x1b\\e";
    assert_eq!(texts(input), ["abcde"]);
    // ESC sequences (RIS, charset designation, DECSC) and a lone ESC.
    assert_eq!(texts(b"a\x1bcb\x1b(0c\x1b7d\x1b"), ["abcd"]);
}

#[test]
fn unterminated_string_does_not_swallow_following_lines() {
    assert_eq!(
        texts(b"one\x1b]0;never terminated\ntwo\n\x1bPdcs\nthree\n"),
        ["one", "two", "", "three"]
    );
}

#[test]
fn c0_and_c1_controls_removed() {
    // C0 (NUL, BEL, BS, VT, FF, SO, DEL); raw C1 bytes (0x85 NEL, 0x9B CSI,
    // 0x9D OSC, 0x90 DCS) and UTF-8-encoded C1 (U+0085, U+009B, U+009D).
    let input = b"a\x00\x07\x08\x0b\x0c\x0e\x7fb\x85\x9b\x9d\x90c\xc2\x85d";
    assert_eq!(texts(input), ["abcd"]);
    // A UTF-8 encoded C1 introducer starts its sequence, which goes whole.
    assert_eq!(
        texts(b"a\xc2\x9b6nb\xc2\x9d0;title\xc2\x9cc\xc2\x90$qm\xc2\x9cd"),
        ["abcd"]
    );
    assert_eq!(texts("x\u{9b}31my".as_bytes()), ["xy"]);
    // 8-bit CSI is not interpreted (stream is UTF-8): its payload stays text.
    assert_eq!(texts(b"\x9b31mx"), ["31mx"]);
}

#[test]
fn bare_cr_overwrites() {
    assert_eq!(texts(b"10%\r50%\r100%\n"), ["100%"]);
    assert_eq!(texts(b"abc\r\n"), ["abc"]);
    assert_eq!(texts(b"abc\r"), ["abc"]);
    assert_eq!(texts(b"abc\r\r\n"), ["abc"]);
    assert_eq!(texts(b"abc\r\x1b[31m\r\tx\n"), ["        x"]);
    // Styles before the CR are discarded with the text.
    let l = &lines(b"\x1b[31mold\x1b[0m\rnew")[0];
    assert_eq!(l.plain(), "new");
    assert!(l.runs().is_empty());
}

#[test]
fn tabs_expand_to_multiple_of_8() {
    assert_eq!(texts(b"\tx"), ["        x"]);
    assert_eq!(texts(b"ab\tx"), ["ab      x"]);
    assert_eq!(texts(b"abcdefgh\tx"), ["abcdefgh        x"]);
    // Wide characters count as two columns; escapes count as none.
    assert_eq!(texts("日本\tx".as_bytes()), ["日本    x"]);
    assert_eq!(texts(b"\x1b[31mab\x1b[0m\tx"), ["ab      x"]);
}

#[test]
fn invalid_utf8_is_lossy() {
    assert_eq!(texts(b"a\xffb\xe2\x28c"), ["a\u{fffd}b\u{fffd}(c"]);
    // Truncated multi-byte char before a newline and at end of stream.
    assert_eq!(texts(b"a\xe2\x82\nb\xf0\x9f"), ["a\u{fffd}", "b\u{fffd}"]);
}

#[test]
fn split_escape_sequence_across_pushes() {
    let mut s = Sanitizer::new();
    let a: Vec<_> = s.push(b"x\x1b[3").collect();
    assert!(a.is_empty());
    let b: Vec<_> = s.push(b"1my\n").collect();
    assert_eq!(b[0].plain(), "xy");
    assert_eq!(b[0].style_at(1), Style::new().fg(Color::Red));
    // Split OSC too.
    let mut s = Sanitizer::new();
    assert_eq!(s.push(b"a\x1b]0;ti").count(), 0);
    let got: Vec<_> = s.push(b"tle\x07b\n").collect();
    assert_eq!(got[0].plain(), "ab");
}

#[test]
fn split_utf8_across_pushes() {
    let mut s = Sanitizer::new();
    let bytes = "é€😀".as_bytes();
    let mut out = Vec::new();
    for b in bytes {
        out.extend(s.push(std::slice::from_ref(b)));
    }
    out.extend(s.push(b"\n"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].plain(), "é€😀");
    // UTF-8-encoded C1 split across pushes is still removed.
    let mut s = Sanitizer::new();
    assert_eq!(s.push(b"a\xc2").count(), 0);
    let fin: Vec<_> = s.finish().map(|l| l.plain().to_owned()).collect();
    assert_eq!(fin, ["a\u{fffd}"]);
    let mut s = Sanitizer::new();
    let _ = s.push(b"a\xc2").count();
    let got: Vec<_> = s.push(b"\x9b1mb\n").collect();
    assert_eq!(got[0].plain(), "ab");
    let mut s = Sanitizer::new();
    let _ = s.push(b"a\xc2").count();
    let got: Vec<_> = s.push(b"\xa2b\n").collect();
    assert_eq!(
        got[0].plain(),
        "a¢b",
        "a held 0xC2 that starts a letter stays one"
    );
}

#[test]
fn keep_sgr_output() {
    let out = sanitize_keep_sgr(b"\x1b]0;t\x07\x1b[1;31mA\x1b[0mb\x1b[2J\x1b[38:5:7mC\nd");
    assert_eq!(
        out,
        "\x1b[0;1;31mA\x1b[0mb\x1b[0;38;5;7mC\x1b[0m\n\x1b[0;38;5;7md\x1b[0m"
    );
    let out = sanitize_keep_sgr(b"\x1b[48;2;1;2;3mX\x1b[92mY");
    assert_eq!(out, "\x1b[0;48;2;1;2;3mX\x1b[0;92;48;2;1;2;3mY\x1b[0m");
}

#[test]
fn huge_line_renders_window() {
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend_from_slice(format!("{:09}|", i).as_bytes());
    }
    input.extend_from_slice(b"\x1b[31mEND\x1b[0m\n");
    let l = &lines(&input)[0];
    assert_eq!(l.len(), 100_003);
    assert_eq!(l.width(), 100_003);
    let line = l.to_line(25);
    assert_eq!(line.width(), 25);
    assert_eq!(line.to_string(), "000000000|000000001|00000");
    let line = l.to_line_window(99_990, 20);
    assert_eq!(
        spans(&line),
        vec![
            ("000009999|".into(), Style::new()),
            ("END".into(), Style::new().fg(Color::Red)),
        ]
    );
    // Wrapped rendering: 80 columns → 1251 rows; render only the last two.
    assert_eq!(l.wrapped_rows(80), 1251);
    let rows = l.to_wrapped_lines(80, 1249, 5, None);
    assert_eq!(rows.len(), 2);
    assert!(rows[0].to_string().ends_with("000009999|"));
    assert_eq!(rows[1].to_string(), "END");
}

#[test]
fn long_lines_are_split_not_dropped() {
    let mut s = Sanitizer::with_max_line_bytes(100);
    let input = vec![b'x'; 250];
    let mut got: Vec<_> = s.push(&input).collect();
    got.extend(s.finish());
    let lens: Vec<_> = got.iter().map(|l| l.len()).collect();
    assert_eq!(lens, [100, 100, 50]);
    // Flushing a truncated UTF-8 char at end of stream can overflow the cap.
    let mut s = Sanitizer::with_max_line_bytes(64);
    let mut input = vec![b'y'; 63];
    input.push(0xe2);
    assert_eq!(s.push(&input).count(), 0);
    let fin: Vec<_> = s.finish().map(|l| l.plain().to_owned()).collect();
    assert_eq!(fin, ["y".repeat(63), "\u{fffd}".to_owned()]);
}

#[test]
fn highlight_overlays_matches() {
    let l = &lines(b"\x1b[32mfoo bar\x1b[0m foo")[0];
    let hl = Style::new().bg(Color::Yellow);
    let line = l.to_line_highlighted("foo", hl, 100);
    assert_eq!(
        spans(&line),
        vec![
            (
                "foo".into(),
                Style::new().fg(Color::Green).bg(Color::Yellow)
            ),
            (" bar".into(), Style::new().fg(Color::Green)),
            (" ".into(), Style::new()),
            ("foo".into(), hl),
        ]
    );
    // A match cut by the window edge is highlighted up to the edge.
    let line =
        l.to_line_window_highlighted(9, 10, &crate::logtext::Needle::literal("foo").unwrap(), hl);
    assert_eq!(spans(&line), vec![("oo".into(), hl)]);
    // Empty needle: no highlight.
    assert_eq!(l.to_line_highlighted("", hl, 100), l.to_line(100));
}

#[test]
fn wide_chars_in_windows_and_wrapping() {
    let l = LogLine::from_plain("日本語abc");
    assert_eq!(l.width(), 9);
    assert_eq!(l.to_line(3).to_string(), "日");
    // Window starting in the middle of a wide char skips it.
    assert_eq!(l.to_line_window(1, 4).to_string(), "本語");
    assert_eq!(l.wrapped_rows(4), 3);
    let rows: Vec<String> = l
        .to_wrapped_lines(4, 0, 10, None)
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(rows, ["日本", "語ab", "c"]);
    // Width 1: wide chars still make progress.
    assert_eq!(l.wrapped_rows(1), 6);
}

#[test]
fn from_plain_strips_controls() {
    let l = LogLine::from_plain("a\x1b[31m\tb\nc\u{85}");
    assert_eq!(l.plain(), "a[31m bc");
}

#[test]
fn log_line_is_compact() {
    assert_eq!(std::mem::size_of::<LogLine>(), 32);
}

#[test]
fn split_utf8_does_not_swallow_following_chars() {
    // vte 0.15.0 bug (alacritty/vte#159), worked around in `advance`.
    let subject = "B\u{301}C\u{2500}".as_bytes();
    for at in 0..=subject.len() {
        let mut s = Sanitizer::new();
        let _ = s.push(&subject[..at]).count();
        let _ = s.push(&subject[at..]).count();
        let got: Vec<_> = s.finish().map(|l| l.plain().to_owned()).collect();
        assert_eq!(got, ["B\u{301}C\u{2500}"], "split at {at}");
    }
    // Minimised from a proptest failure: valid char completed across the
    // split, followed by a valid ASCII char and an invalid byte.
    let bytes = b"\x9f\xd6\x9c\x37\xb8x";
    let one = sanitize_to_string(bytes);
    for at in 0..=bytes.len() {
        let mut s = Sanitizer::new();
        let mut out: String = s.push(&bytes[..at]).map(|l| l.plain().to_owned()).collect();
        out.extend(s.push(&bytes[at..]).map(|l| l.plain().to_owned()));
        out.extend(s.finish().map(|l| l.plain().to_owned()));
        assert_eq!(out, one, "split at {at}");
    }
    assert_eq!(one, "\u{59c}7\u{fffd}x");
}
