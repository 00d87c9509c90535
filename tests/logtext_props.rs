//! Property tests for `shipdeck::logtext`.

// Tests stop loudly on a failed set-up step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shipdeck::logtext::{LogBuffer, LogLine, Sanitizer, sanitize_keep_sgr, sanitize_to_string};

/// Characters that must never appear in sanitised text.
fn forbidden(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// Byte soup biased towards the interesting parts of the escape grammar.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..8),
        3 => proptest::collection::vec(
            prop::sample::select(b"\x1b[;:0123456789m]P^_X\\\x07\n\r\t\x18\x1a?>$ Hx".to_vec()),
            0..12,
        ),
        2 => prop::sample::select(vec![
            b"\x1b[".to_vec(),
            b"\x1b]".to_vec(),
            b"\x1bP".to_vec(),
            b"\x1b\\".to_vec(),
            b"\x1b[38;2;1;2;3m".to_vec(),
            b"\x1b[38:5:200m".to_vec(),
            b"\x1b[0m".to_vec(),
            b"\x1b]8;;http://x\x1b\\".to_vec(),
            b"\x1b]52;c;aGk=\x07".to_vec(),
            b"\x9b".to_vec(),
            b"\xc2\x9b".to_vec(),
            b"\xc2\x85".to_vec(),
            "日本\u{1F600}é".as_bytes().to_vec(),
            b"\xe2\x82".to_vec(),
            b"\r\n".to_vec(),
        ]),
        2 => "[ -~]{0,20}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        hostile_bytes(),
    ]
}

/// Input plus chunk split points.
fn chunked() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    any_input().prop_flat_map(|bytes| {
        let n = bytes.len();
        (
            Just(bytes),
            proptest::collection::vec(0..=n, 0..12).prop_map(|mut cuts| {
                cuts.sort_unstable();
                cuts
            }),
        )
    })
}

fn split_at_cuts<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts {
        out.push(&bytes[prev..c]);
        prev = c;
    }
    out.push(&bytes[prev..]);
    out
}

fn run_stream(s: &mut Sanitizer, chunks: &[&[u8]]) -> Vec<LogLine> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend(s.push(c));
    }
    out.extend(s.finish());
    out
}

/// Checks that `s` contains no escape sequence other than complete
/// `ESC [ <digits ; :> m`, and no control character other than `\n`.
fn only_complete_sgr(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b {
            if b.get(i + 1) != Some(&b'[') {
                return Err(format!("ESC not followed by [ at {i}"));
            }
            let mut j = i + 2;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b';' || b[j] == b':') {
                j += 1;
            }
            if b.get(j) != Some(&b'm') {
                return Err(format!("incomplete or non-SGR CSI at {i}"));
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    let stripped: String = s.split('\x1b').collect();
    if let Some(c) = stripped.chars().find(|&c| c != '\n' && forbidden(c)) {
        return Err(format!("control char {c:?} in output"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sanitised_text_has_no_controls((bytes, cuts) in chunked()) {
        let mut s = Sanitizer::new();
        for line in run_stream(&mut s, &split_at_cuts(&bytes, &cuts)) {
            let bad = line.plain().chars().find(|&c| forbidden(c));
            prop_assert!(bad.is_none(), "{:?} in {:?}", bad, line.plain());
            // Style runs are in bounds, ordered, on char boundaries.
            let mut prev = 0;
            for r in line.runs() {
                prop_assert!(prev <= r.start as usize && r.start < r.end);
                prop_assert!(line.plain().is_char_boundary(r.start as usize));
                prop_assert!(line.plain().is_char_boundary(r.end as usize));
                prev = r.end as usize;
            }
            prop_assert!(prev <= line.len());
        }
        let one_shot = sanitize_to_string(&bytes);
        prop_assert!(!one_shot.chars().any(|c| c != '\n' && forbidden(c)));
    }

    #[test]
    fn keep_sgr_emits_only_complete_sgr(bytes in any_input()) {
        let out = sanitize_keep_sgr(&bytes);
        if let Err(e) = only_complete_sgr(&out) {
            prop_assert!(false, "{}: {:?}", e, out);
        }
        // Removing the SGR sequences gives exactly the plain sanitised text.
        let mut plain = String::new();
        let mut in_seq = false;
        for c in out.chars() {
            match (in_seq, c) {
                (false, '\x1b') => in_seq = true,
                (true, 'm') => in_seq = false,
                (true, _) => {}
                (false, c) => plain.push(c),
            }
        }
        prop_assert_eq!(plain, sanitize_to_string(&bytes));
    }

    #[test]
    fn streaming_equals_one_shot((bytes, cuts) in chunked()) {
        let one_shot = run_stream(&mut Sanitizer::new(), &[&bytes]);
        let streamed = run_stream(&mut Sanitizer::new(), &split_at_cuts(&bytes, &cuts));
        prop_assert_eq!(&streamed, &one_shot);
        // Byte-at-a-time, too.
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&run_stream(&mut Sanitizer::new(), &bytewise), &one_shot);
        // And with a tiny line cap, which exercises forced splits and
        // forced escape-sequence aborts.
        let a = run_stream(&mut Sanitizer::with_max_line_bytes(64), &[&bytes]);
        let b = run_stream(&mut Sanitizer::with_max_line_bytes(64), &split_at_cuts(&bytes, &cuts));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn buffer_keeps_all_lines_in_order(
        lines in proptest::collection::vec("[ -~\u{a0}-\u{3ff}日本]{0,30}", 0..400),
        capacity in 0usize..20,
        flush in 1usize..600,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = LogBuffer::new(capacity, dir.path().join("spill")).with_flush_bytes(flush);
        let lines: Vec<LogLine> = lines.iter().map(|s| LogLine::from_plain(s)).collect();
        for (i, l) in lines.iter().enumerate() {
            prop_assert_eq!(buf.push(l.clone()), i as u64);
        }
        prop_assert_eq!(buf.len(), lines.len() as u64);
        prop_assert_eq!(buf.spilled(), lines.len().saturating_sub(capacity) as u64);
        let want: Vec<&str> = lines.iter().map(|l| l.plain()).collect();
        let got: Vec<String> = buf.iter_all_text().map(|r| r.unwrap().into_owned()).collect();
        prop_assert_eq!(&got, &want);
        for (i, l) in lines.iter().enumerate() {
            let n = i as u64;
            prop_assert_eq!(buf.text_of(n).unwrap().unwrap(), l.plain());
            if n >= buf.spilled() {
                prop_assert_eq!(buf.get(n), Some(l));
            }
        }
        let saved = dir.path().join("saved");
        buf.save_to(&saved).unwrap();
        let text = std::fs::read_to_string(&saved).unwrap();
        let expect: String = want.iter().map(|l| format!("{l}\n")).collect();
        prop_assert_eq!(text, expect);
        // Search agrees with a linear scan, both directions.
        if let Some(probe) = lines.get(lines.len() / 2).map(|l| l.plain().to_owned()) {
            if !probe.is_empty() {
                let from = (lines.len() / 3) as u64;
                let fwd = want.iter().enumerate().skip(from as usize)
                    .find(|(_, t)| t.contains(&probe)).map(|(i, _)| i as u64);
                prop_assert_eq!(buf.search(&probe, from, true), fwd);
                let back = want.iter().enumerate().take(from as usize + 1).rev()
                    .find(|(_, t)| t.contains(&probe)).map(|(i, _)| i as u64);
                prop_assert_eq!(buf.search(&probe, from, false), back);
            }
        }
    }
}
