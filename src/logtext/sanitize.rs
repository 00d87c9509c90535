//! Streaming sanitiser: raw build-log bytes → safe [`LogLine`]s.
//!
//! Escape sequences are parsed by the [`vte`] state machine (the parser used
//! by alacritty), so CSI/OSC/DCS/SOS/PM/APC framing follows the DEC ANSI
//! parser model rather than regexes.
//!
//! # Policy
//! * **SGR** (`ESC [ … m`, no private marker / intermediates) becomes a
//!   ratatui [`Style`]: reset, bold, dim, italic, underline (incl. `4:n`
//!   styles and `21`), reverse, crossed-out, their resets, the 8/16 colours,
//!   `38/48/58 ; 5 ; n`, `38/48/58 ; 2 ; r ; g ; b` and the colon forms
//!   `38:5:n`, `38:2:r:g:b`, `38:2:cs:r:g:b` / `38:2::r:g:b`. Blink and
//!   conceal (`5`, `6`, `8`) are ignored on purpose: hostile input must not
//!   be able to hide text or flash the operator's screen. SGR state carries
//!   across lines of one stream and is reset by [`Sanitizer::finish`] /
//!   [`Sanitizer::reset`].
//! * **Everything else is dropped**: other CSI (cursor moves, clears, scroll
//!   regions, `?1049h`, …), ESC sequences, OSC (titles, OSC 52 clipboard,
//!   OSC 8 hyperlinks — the link *text* is ordinary text and survives),
//!   DCS/SOS/PM/APC strings, C1 controls (raw bytes `0x80..=0x9F` as well as
//!   UTF-8 encoded `U+0080..=U+009F`; raw 8-bit `0x9B` is *not* treated as a
//!   CSI introducer since the stream is UTF-8, but a UTF-8 encoded introducer
//!   — U+009B CSI, U+009D OSC, U+0090 DCS, … — starts its sequence like the
//!   7-bit form, which is then dropped whole), DEL and C0 controls other
//!   than TAB/CR/LF (BEL, BS, VT, FF, NUL, a lone ESC, …).
//! * **Bidi and zero-width characters** (U+202E, U+200B, … see
//!   `line::is_hidden_format`) are shown as a visible `<U+XXXX>` marker.
//! * **Line ends**: `\n` and `\r\n` end a line. A line feed also aborts any
//!   escape sequence in progress (as CAN would), so an unterminated OSC/DCS
//!   can never swallow the rest of the log; escape sequences never span lines.
//! * **Bare `\r`** (progress bars): when printable text follows a bare CR on
//!   the same line, everything before the CR is discarded ("overwrite from
//!   column 0", simplified to "keep only the text after the last bare CR").
//!   A CR followed only by the line end (or end of stream) discards nothing.
//! * **TAB** becomes spaces up to the next multiple of 8 display columns.
//! * **Invalid UTF-8** becomes U+FFFD. Incomplete UTF-8 and incomplete escape
//!   sequences at the end of a chunk are carried over to the next
//!   [`Sanitizer::push`]; the result never depends on chunk boundaries.
//! * **Huge lines** are stored whole up to [`DEFAULT_MAX_LINE_BYTES`]
//!   (configurable); beyond that the line is split into continuation lines
//!   (nothing is dropped), which bounds memory for a newline-free stream.
//!   Likewise an escape string (OSC, DCS, …) still unterminated about that
//!   many bytes after the last line feed is aborted (its remaining payload
//!   then shows as plain, sanitised text), which bounds the parser's OSC
//!   buffer; see `Sanitizer::feed` for the exact, chunking-independent rule.

use ratatui::style::{Color, Modifier, Style};
use unicode_width::UnicodeWidthChar;
use vte::{Params, Parser, Perform};

use super::line::{LogLine, StyleRun, is_forbidden, is_hidden_format, push_marker};

/// Default cap on one line's text, in bytes (1 MiB).
pub(crate) const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// CAN: aborts any escape sequence in progress in the vte state machine.
const CAN: u8 = 0x18;

/// See [`Sanitizer::feed`]; the slack is `min(FORCE_SLACK, line cap)`.
const FORCE_SLACK: usize = 64 * 1024;

/// Streaming sanitiser for one log stream. See the [module docs](self).
pub struct Sanitizer {
    parser: Parser,
    st: LineState,
    /// Continuation bytes still missing from an incomplete UTF-8 sequence at
    /// the end of the previous `vte` call (see [`Sanitizer::advance`]).
    utf8_need: usize,
    /// Raw bytes fed since the last LF or forced sequence abort.
    raw_run: usize,
    /// Abort escape sequences after this many raw bytes without LF.
    raw_cap: usize,
    /// Stage-1 window of the cut rule, see [`Sanitizer::feed`].
    slack: usize,
    /// The previous chunk ended with a `0xC2` byte, held back: with the next byte it may be a
    /// UTF-8 encoded C1 introducer (see [`Sanitizer::c1_as_7bit`]).
    held_c2: bool,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Sanitizer::new()
    }
}

impl std::fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sanitizer")
            .field("partial_line_bytes", &self.st.text.len())
            .field("style", &self.st.style)
            .finish_non_exhaustive()
    }
}

impl Sanitizer {
    /// A sanitiser with the default line cap.
    pub fn new() -> Sanitizer {
        Sanitizer::with_max_line_bytes(DEFAULT_MAX_LINE_BYTES)
    }

    /// A sanitiser that splits lines longer than `max_line_bytes` bytes of
    /// text (minimum 64) into continuation lines.
    pub fn with_max_line_bytes(max_line_bytes: usize) -> Sanitizer {
        let max_line_bytes = max_line_bytes.clamp(64, u32::MAX as usize / 2);
        Sanitizer {
            parser: Parser::new(),
            raw_run: 0,
            utf8_need: 0,
            raw_cap: max_line_bytes,
            slack: max_line_bytes.min(FORCE_SLACK),
            held_c2: false,
            st: LineState {
                text: String::new(),
                runs: Vec::new(),
                col: 0,
                style: Style::default(),
                pending_cr: false,
                max_line_bytes,
                done: Vec::new(),
            },
        }
    }

    /// Feed a chunk of raw bytes; returns the lines completed by it (in
    /// order). The partial last line, incomplete UTF-8 and incomplete escape
    /// sequences are kept for the next call.
    pub fn push(&mut self, bytes: &[u8]) -> impl Iterator<Item = LogLine> + '_ {
        let bytes = self.c1_as_7bit(bytes);
        let mut rest: &[u8] = &bytes;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.feed(&rest[..i]);
            // Abort any pending escape sequence and flush partial UTF-8.
            self.advance(&[CAN]);
            self.raw_run = 0;
            self.st.end_line();
            rest = &rest[i + 1..];
        }
        self.feed(rest);
        self.st.done.drain(..)
    }

    /// A C1 introducer sent UTF-8 encoded (`C2 9B` = U+009B CSI, U+009D OSC, U+0090 DCS,
    /// U+0098 SOS, U+009E PM, U+009F APC, U+009C ST) is rewritten to its 7-bit form
    /// (`ESC [`, …, same length), so the whole sequence is parsed and dropped as a terminal
    /// that honours C1 would read it, instead of only the introducer. A `0xC2` ending the chunk
    /// is held back for the next one, so the result never depends on chunk boundaries.
    fn c1_as_7bit<'a>(&mut self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        if !self.held_c2 && memchr::memchr(0xC2, bytes).is_none() {
            return std::borrow::Cow::Borrowed(bytes);
        }
        let mut out = Vec::with_capacity(bytes.len() + 1);
        if std::mem::take(&mut self.held_c2) {
            out.push(0xC2);
        }
        out.extend_from_slice(bytes);
        let mut i = 0;
        while i + 1 < out.len() {
            if out[i] == 0xC2 && matches!(out[i + 1], 0x90 | 0x98 | 0x9B..=0x9F) {
                out[i] = 0x1B;
                out[i + 1] -= 0x40;
                i += 2;
            } else {
                i += 1;
            }
        }
        // 0xC2 is never a continuation byte: a last one starts a character.
        if out.last() == Some(&0xC2) {
            out.pop();
            self.held_c2 = true;
        }
        std::borrow::Cow::Owned(out)
    }

    /// The only way bytes reach `vte`.
    ///
    /// Works around a `vte` 0.15.0 bug (alacritty/vte#159): when a UTF-8
    /// sequence is split across two `advance` calls, vte completes it from
    /// the next call but also consumes up to 3 following bytes if they are
    /// valid UTF-8 followed by an invalid or incomplete sequence — those
    /// characters are silently lost, making output depend on chunking. We
    /// track how many continuation bytes the previous call left missing and
    /// feed exactly those in a call of their own, so vte's look-ahead window
    /// never extends past the completed character. Harmless when vte was not
    /// in the ground state (continuation bytes are then ignored byte-wise).
    fn advance(&mut self, mut bytes: &[u8]) {
        if self.utf8_need > 0 {
            let n = bytes
                .iter()
                .take(self.utf8_need)
                .take_while(|&&b| b & 0xC0 == 0x80)
                .count();
            if n > 0 {
                self.parser.advance(&mut self.st, &bytes[..n]);
                bytes = &bytes[n..];
            }
            if n == self.utf8_need || !bytes.is_empty() {
                // Completed, or broken by a non-continuation byte.
                self.utf8_need = 0;
            } else {
                self.utf8_need -= n;
            }
        }
        if bytes.is_empty() {
            return;
        }
        self.parser.advance(&mut self.st, bytes);
        self.utf8_need = utf8_missing(bytes);
    }

    /// Feed bytes containing no LF, bounding the parser's memory.
    ///
    /// vte buffers OSC strings without limit when its `std` feature is on
    /// (which e.g. the `vt100` dev-dependency enables), so an unterminated
    /// OSC must not grow forever. Once `raw_cap` bytes have passed without a
    /// line feed, the stream is cut (any escape sequence in progress is
    /// aborted, as by CAN, and the count restarts):
    /// 1. right before the next ESC byte, within `slack` bytes — this
    ///    cut is invisible, since ESC aborts or ends any sequence anyway
    ///    (typical case: long `\r` progress-bar runs);
    /// 2. otherwise right after the next ASCII byte (never splits a UTF-8
    ///    character), or at the latest 4 bytes later. The rest of an
    ///    overlong unterminated string then shows as plain text.
    ///
    /// Cut points depend only on the content, never on chunk boundaries.
    fn feed(&mut self, mut seg: &[u8]) {
        while !seg.is_empty() {
            let room = self.raw_cap.saturating_sub(self.raw_run);
            if room > 0 {
                let n = room.min(seg.len());
                self.advance(&seg[..n]);
                self.raw_run += n;
                seg = &seg[n..];
                continue;
            }
            let past = self.raw_run - self.raw_cap;
            let (limit, found) = if past < self.slack {
                let limit = self.slack - past;
                let w = &seg[..limit.min(seg.len())];
                (limit, memchr::memchr(0x1b, w))
            } else {
                let limit = self.slack + 4 - past;
                let w = &seg[..limit.min(seg.len())];
                (limit, w.iter().position(|&b| b < 0x80).map(|i| i + 1))
            };
            let cut = match found {
                Some(i) => i,
                None if past >= self.slack && limit <= seg.len() => limit,
                None => {
                    // Stage 1 exhausted (go on to stage 2) or chunk ended.
                    let n = limit.min(seg.len());
                    self.advance(&seg[..n]);
                    self.raw_run += n;
                    seg = &seg[n..];
                    continue;
                }
            };
            self.advance(&seg[..cut]);
            self.advance(&[CAN]);
            self.raw_run = 0;
            seg = &seg[cut..];
        }
    }

    /// End of stream: flush the last partial line (if it has any text) and
    /// reset all state (SGR, parser) so the sanitiser can start a new stream.
    ///
    /// Usually yields zero or one line; it yields two when flushing an
    /// incomplete UTF-8 sequence (as U+FFFD) pushes the partial line over
    /// the line cap.
    pub fn finish(&mut self) -> impl Iterator<Item = LogLine> + use<> {
        if std::mem::take(&mut self.held_c2) {
            self.feed(&[0xC2]);
        }
        self.advance(&[CAN]);
        if !self.st.text.is_empty() {
            let line = self.st.take_line();
            self.st.done.push(line);
        }
        let lines = std::mem::take(&mut self.st.done);
        self.reset();
        lines.into_iter()
    }

    /// Discard all state (partial line, SGR state, parser state).
    pub fn reset(&mut self) {
        self.parser = Parser::new();
        self.held_c2 = false;
        self.raw_run = 0;
        self.utf8_need = 0;
        self.st.text.clear();
        self.st.runs.clear();
        self.st.col = 0;
        self.st.style = Style::default();
        self.st.pending_cr = false;
        self.st.done.clear();
    }
}

/// Number of continuation bytes missing from an incomplete UTF-8 sequence
/// at the end of `b` (0 if `b` ends on a character boundary or in garbage).
fn utf8_missing(b: &[u8]) -> usize {
    for back in 1..=b.len().min(3) {
        let x = b[b.len() - back];
        if x & 0xC0 == 0x80 {
            continue;
        }
        let len: usize = match x {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return len.saturating_sub(back);
    }
    0
}

/// Sanitise a whole stream at once; lines completed by `\n` plus the final
/// partial line (if it has text).
#[cfg(test)]
pub(crate) fn sanitize_lines(bytes: &[u8]) -> Vec<LogLine> {
    let mut s = Sanitizer::new();
    let mut lines: Vec<LogLine> = s.push(bytes).collect();
    lines.extend(s.finish());
    lines
}

/// Sanitise to plain text with no escape sequences at all. Lines are joined
/// with `\n`; a trailing `\n` is present iff the input's last line was
/// terminated.
pub fn sanitize_to_string(bytes: &[u8]) -> String {
    let mut s = Sanitizer::new();
    let mut out = String::with_capacity(bytes.len());
    for l in s.push(bytes) {
        out.push_str(l.plain());
        out.push('\n');
    }
    for (i, l) in s.finish().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(l.plain());
    }
    out
}

/// Sanitise, re-emitting only SGR (for writing logs to a real terminal).
///
/// Each line is self-contained: styled stretches start with
/// `ESC [ 0 ; … m` and a styled line ends with `ESC [ 0 m`. The output
/// contains no escape sequence other than `ESC [ <digits and ;> m`.
pub fn sanitize_keep_sgr(bytes: &[u8]) -> String {
    let mut s = Sanitizer::new();
    let mut out = String::with_capacity(bytes.len());
    for l in s.push(bytes) {
        write_line_sgr(&mut out, &l);
        out.push('\n');
    }
    for (i, l) in s.finish().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_line_sgr(&mut out, &l);
    }
    out
}

/// Append `line` with SGR sequences for its style runs.
pub(crate) fn write_line_sgr(out: &mut String, line: &LogLine) {
    let text = line.plain();
    let mut pos = 0;
    let mut styled = false;
    for run in line.runs() {
        let r = run.range();
        if r.start > pos {
            if styled {
                out.push_str("\x1b[0m");
            }
            out.push_str(&text[pos..r.start]);
        }
        write_sgr(out, &run.style);
        styled = true;
        out.push_str(&text[r.clone()]);
        pos = r.end;
    }
    if styled && pos < text.len() {
        out.push_str("\x1b[0m");
        styled = false;
    }
    out.push_str(&text[pos..]);
    if styled {
        out.push_str("\x1b[0m");
    }
}

/// Append one `ESC [ 0 ; … m` sequence that sets exactly `style`.
fn write_sgr(out: &mut String, style: &Style) {
    use std::fmt::Write;
    out.push_str("\x1b[0");
    let m = style.add_modifier;
    for (flag, code) in [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::REVERSED, 7),
        (Modifier::CROSSED_OUT, 9),
    ] {
        if m.contains(flag) {
            let _ = write!(out, ";{code}");
        }
    }
    let color = |out: &mut String, c: Option<Color>, base: u8, bright: u8, ext: u8| {
        let Some(c) = c else { return };
        let named = |i: u8| if i < 8 { base + i } else { bright + i - 8 };
        let _ = match c {
            Color::Reset => write!(out, ";{}", ext + 1),
            Color::Indexed(n) => write!(out, ";{ext};5;{n}"),
            Color::Rgb(r, g, b) => write!(out, ";{ext};2;{r};{g};{b}"),
            other => match named_index(other) {
                Some(i) if base != 0 => write!(out, ";{}", named(i)),
                Some(i) => write!(out, ";{ext};5;{i}"),
                None => Ok(()),
            },
        };
    };
    color(out, style.fg, 30, 90, 38);
    color(out, style.bg, 40, 100, 48);
    color(out, style.underline_color, 0, 0, 58);
    out.push('m');
}

/// ANSI index (0–15) of a named ratatui colour.
fn named_index(c: Color) -> Option<u8> {
    NAMED.iter().position(|&n| n == c).map(|i| i as u8)
}

/// ratatui names for ANSI colours 0–15.
const NAMED: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// Line-assembly state; the `vte` performer.
struct LineState {
    text: String,
    runs: Vec<StyleRun>,
    /// Display column of the end of `text` (for tab stops).
    col: usize,
    style: Style,
    /// A bare CR was seen; applied lazily when printable text follows.
    pending_cr: bool,
    max_line_bytes: usize,
    done: Vec<LogLine>,
}

impl LineState {
    fn take_line(&mut self) -> LogLine {
        let line = LogLine::from_parts(&self.text, &self.runs);
        self.text.clear();
        self.runs.clear();
        self.col = 0;
        line
    }

    fn end_line(&mut self) {
        self.pending_cr = false;
        let line = self.take_line();
        self.done.push(line);
    }

    #[inline]
    fn apply_pending_cr(&mut self) {
        if self.pending_cr {
            self.pending_cr = false;
            self.text.clear();
            self.runs.clear();
            self.col = 0;
        }
    }

    #[inline]
    fn put(&mut self, c: char, width: usize) {
        if self.text.len() + c.len_utf8() > self.max_line_bytes {
            let line = self.take_line();
            self.done.push(line);
        }
        let start = self.text.len() as u32;
        self.text.push(c);
        self.col += width;
        if self.style != Style::default() {
            let end = self.text.len() as u32;
            match self.runs.last_mut() {
                Some(last) if last.end == start && last.style == self.style => last.end = end,
                _ => self.runs.push(StyleRun {
                    start,
                    end,
                    style: self.style,
                }),
            }
        }
    }

    fn apply_sgr(&mut self, params: &Params) {
        let mut it = params.iter();
        while let Some(p) = it.next() {
            let s = &mut self.style;
            match p[0] {
                0 => *s = Style::default(),
                1 => s.add_modifier.insert(Modifier::BOLD),
                2 => s.add_modifier.insert(Modifier::DIM),
                3 => s.add_modifier.insert(Modifier::ITALIC),
                // `4:0` is "no underline"; `4:1`..`4:5` are underline styles.
                4 if p.get(1) == Some(&0) => s.add_modifier.remove(Modifier::UNDERLINED),
                4 | 21 => s.add_modifier.insert(Modifier::UNDERLINED),
                7 => s.add_modifier.insert(Modifier::REVERSED),
                9 => s.add_modifier.insert(Modifier::CROSSED_OUT),
                22 => s.add_modifier.remove(Modifier::BOLD | Modifier::DIM),
                23 => s.add_modifier.remove(Modifier::ITALIC),
                24 => s.add_modifier.remove(Modifier::UNDERLINED),
                27 => s.add_modifier.remove(Modifier::REVERSED),
                29 => s.add_modifier.remove(Modifier::CROSSED_OUT),
                n @ 30..=37 => s.fg = Some(NAMED[usize::from(n - 30)]),
                n @ 90..=97 => s.fg = Some(NAMED[usize::from(n - 90 + 8)]),
                n @ 40..=47 => s.bg = Some(NAMED[usize::from(n - 40)]),
                n @ 100..=107 => s.bg = Some(NAMED[usize::from(n - 100 + 8)]),
                39 => s.fg = None,
                49 => s.bg = None,
                59 => s.underline_color = None,
                n @ (38 | 48 | 58) => {
                    let c = ext_color(p, &mut it);
                    if let Some(c) = c {
                        match n {
                            38 => s.fg = Some(c),
                            48 => s.bg = Some(c),
                            _ => s.underline_color = Some(c),
                        }
                    }
                }
                // 5/6 blink, 8 conceal and everything unknown: ignored.
                _ => {}
            }
        }
    }
}

/// Parse an extended colour (`38`/`48`/`58`) in colon form (sub-parameters of
/// `p`) or semicolon form (following parameters, consumed from `it`).
fn ext_color(p: &[u16], it: &mut vte::ParamsIter<'_>) -> Option<Color> {
    let byte = |v: u16| u8::try_from(v).ok();
    if p.len() > 1 {
        return match p[1] {
            5 => p.get(2).copied().and_then(byte).map(Color::Indexed),
            2 => {
                // 38:2:cs:r:g:b (ITU form, cs may be empty) or 38:2:r:g:b.
                let rgb = if p.len() >= 6 { &p[3..6] } else { p.get(2..5)? };
                Some(Color::Rgb(byte(rgb[0])?, byte(rgb[1])?, byte(rgb[2])?))
            }
            _ => None,
        };
    }
    match it.next().map(|q| q[0]) {
        Some(5) => it.next().and_then(|q| byte(q[0])).map(Color::Indexed),
        Some(2) => {
            // Consume all three components even if one is out of range.
            let r = it.next().map(|q| q[0]);
            let g = it.next().map(|q| q[0]);
            let b = it.next().map(|q| q[0]);
            Some(Color::Rgb(byte(r?)?, byte(g?)?, byte(b?)?))
        }
        _ => None,
    }
}

impl Perform for LineState {
    #[inline]
    fn print(&mut self, c: char) {
        // vte prints DEL, and prints C1 when a UTF-8 encoded C1 control is
        // split across chunks; drop them here.
        if is_forbidden(c) {
            return;
        }
        self.apply_pending_cr();
        if is_hidden_format(c) {
            push_marker(c, |m| self.put(m, 1));
            return;
        }
        let w = if c.is_ascii() {
            1
        } else {
            c.width().unwrap_or(0)
        };
        self.put(c, w);
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\r' => self.pending_cr = true,
            b'\t' => {
                self.apply_pending_cr();
                let n = 8 - self.col % 8;
                for _ in 0..n {
                    self.put(' ', 1);
                }
            }
            // LF never reaches vte (handled in `push`); everything else
            // (C0 and C1 controls) is dropped.
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        if action == 'm' && intermediates.is_empty() && !ignore {
            self.apply_sgr(params);
        }
        // Any other CSI (cursor movement, erase, modes, …) is dropped.
    }
    // OSC / DCS / ESC dispatch: default no-op implementations drop them.
}

#[cfg(test)]
mod tests;
