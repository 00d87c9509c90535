//! [`LogLine`]: one sanitised log line and its rendering helpers.

use std::ops::Range;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// A styled byte range of a [`LogLine`]'s text.
///
/// Byte offsets are `u32` (lines are capped well below 4 GiB by the
/// sanitiser) and always lie on `char` boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StyleRun {
    /// Start byte offset (inclusive).
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
    /// Style of the text in `start..end`.
    pub style: Style,
}

impl StyleRun {
    /// The run as a `usize` byte range.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One sanitised display line.
///
/// Memory layout is deliberately compact: the text is a `Box<str>` (exact
/// allocation) and the style runs a `Box<[StyleRun]>` holding only the
/// *non-default* styled ranges, sorted and non-overlapping; an unstyled line
/// has no run allocation at all. `size_of::<LogLine>()` is 32 bytes on 64-bit.
///
/// Invariant (upheld by all constructors): the text contains no C0 control
/// (`U+0000..=U+001F`), no DEL, no C1 control (`U+0080..=U+009F`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogLine {
    text: Box<str>,
    runs: Box<[StyleRun]>,
}

/// True for characters that must never reach the display (C0, DEL, C1): they are dropped.
///
/// Together with [`is_hidden_format`] this is the one definition of what server text may not
/// carry to an output; `crate::safe` (every other output path) uses the same two functions.
#[inline]
pub(crate) fn is_forbidden(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// Invisible formatting characters that can reorder or hide text: bidi embeddings, overrides,
/// isolates and marks (U+202A–202E, U+2066–2069, U+200E/F, U+061C), zero-width characters
/// (U+200B–200D, U+2060–2064, U+FEFF), line/paragraph separators, soft hyphen, fillers and tag
/// characters. They are never passed through: they are shown as a visible `<U+XXXX>` marker
/// ([`push_marker`]) so that `prod` and `pro<U+200B>d` never look alike. (Emoji joined with
/// U+200D therefore show the marker between their parts; variation selectors are kept.)
#[inline]
pub(crate) fn is_hidden_format(c: char) -> bool {
    !c.is_ascii()
        && matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}')
}

/// The visible stand-in of a [`is_hidden_format`] character, e.g. `<U+202E>`, pushed char by
/// char through `put` (so callers can track widths).
#[inline]
pub(crate) fn push_marker(c: char, mut put: impl FnMut(char)) {
    use std::fmt::Write;
    let mut buf = String::with_capacity(10);
    let _ = write!(buf, "<U+{:04X}>", u32::from(c));
    buf.chars().for_each(&mut put);
}

#[inline]
fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

impl LogLine {
    /// Internal constructor; the caller guarantees the invariants.
    pub(crate) fn from_parts(text: &str, runs: &[StyleRun]) -> LogLine {
        debug_assert!(!text.chars().any(is_forbidden));
        LogLine {
            text: text.into(),
            runs: runs.into(),
        }
    }

    /// An unstyled line from arbitrary text: control characters (including
    /// line breaks and ESC) are dropped, TAB becomes a single space, bidi and
    /// zero-width characters become a visible `<U+XXXX>` marker. Escape
    /// sequences are *not* interpreted; use [`crate::logtext::Sanitizer`] for
    /// raw log bytes.
    pub fn from_plain(s: &str) -> LogLine {
        let mut text = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '\t' => text.push(' '),
                c if is_forbidden(c) => {}
                c if is_hidden_format(c) => push_marker(c, |m| text.push(m)),
                c => text.push(c),
            }
        }
        LogLine {
            text: text.into_boxed_str(),
            runs: Box::default(),
        }
    }

    /// The sanitised plain text (no escapes, no control characters).
    pub fn plain(&self) -> &str {
        &self.text
    }

    /// The non-default style runs, sorted by position.
    pub fn runs(&self) -> &[StyleRun] {
        &self.runs
    }

    /// Length of the text in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// True when the line has no text.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Style at byte offset `byte` (default style where no run applies).
    #[cfg(test)]
    pub(crate) fn style_at(&self, byte: usize) -> Style {
        let i = self.runs.partition_point(|r| (r.end as usize) <= byte);
        match self.runs.get(i) {
            Some(r) if (r.start as usize) <= byte => r.style,
            _ => Style::default(),
        }
    }

    /// Display width in terminal columns (per-`char` `unicode-width`).
    pub fn width(&self) -> usize {
        if self.text.is_ascii() {
            self.text.len()
        } else {
            self.text.chars().map(char_width).sum()
        }
    }

    /// Advance from byte `from` by at most `cols` display columns without
    /// splitting a character. Returns the end byte offset. Zero-width
    /// characters directly following the last taken character are included.
    /// If `force_one` is set and the first character is wider than `cols`,
    /// it is taken anyway (so wrapping always makes progress).
    fn advance_cols(&self, from: usize, cols: usize, force_one: bool) -> usize {
        let bytes = self.text.as_bytes();
        let probe_end = from.saturating_add(cols).min(bytes.len());
        if bytes[from..probe_end].is_ascii() {
            // Every byte before `probe_end` is ASCII, so it is a char boundary.
            // Stop here unless a (possibly zero-width) non-ASCII char follows.
            if probe_end == bytes.len() || bytes[probe_end].is_ascii() {
                return probe_end;
            }
        }
        let mut used = 0usize;
        let mut end = from;
        for (i, c) in self.text[from..].char_indices() {
            let w = char_width(c);
            if used + w > cols && !(force_one && end == from) {
                break;
            }
            used += w;
            end = from + i + c.len_utf8();
        }
        end
    }

    /// Byte range of the window `skip_cols .. skip_cols + max_cols` (display
    /// columns). A wide character straddling `skip_cols` is skipped.
    pub(crate) fn window_bytes(&self, skip_cols: usize, max_cols: usize) -> Range<usize> {
        let start = if skip_cols == 0 {
            0
        } else {
            let s = self.advance_cols(0, skip_cols, false);
            // Skip a wide char cut in half by the left edge.
            let cut: usize = if self.text[..s].is_ascii() {
                s
            } else {
                self.text[..s].chars().map(char_width).sum()
            };
            if cut < skip_cols && s < self.text.len() {
                let c = self.text[s..].chars().next().unwrap_or(' ');
                s + c.len_utf8()
            } else {
                s
            }
        };
        let end = self.advance_cols(start, max_cols, false);
        start..end
    }

    /// Render the first `max_cols` display columns. Cost is proportional to
    /// the window, not the line, so a 100 000-character line is cheap.
    pub fn to_line(&self, max_cols: usize) -> Line<'_> {
        self.to_line_window(0, max_cols)
    }

    /// Render display columns `skip_cols .. skip_cols + max_cols`
    /// (horizontal scrolling).
    pub(crate) fn to_line_window(&self, skip_cols: usize, max_cols: usize) -> Line<'_> {
        let r = self.window_bytes(skip_cols, max_cols);
        Line::from(self.spans(r, None))
    }

    /// Like [`to_line`](Self::to_line), with every occurrence of `needle`
    /// (case-sensitive) overlaid with `hl` (patched over the line's style).
    #[cfg(test)]
    pub(crate) fn to_line_highlighted(&self, needle: &str, hl: Style, max_cols: usize) -> Line<'_> {
        match super::Needle::literal(needle) {
            Some(n) => self.to_line_window_highlighted(0, max_cols, &n, hl),
            None => self.to_line(max_cols),
        }
    }

    /// Windowed rendering with match highlighting.
    pub(crate) fn to_line_window_highlighted(
        &self,
        skip_cols: usize,
        max_cols: usize,
        needle: &super::Needle,
        hl: Style,
    ) -> Line<'_> {
        let r = self.window_bytes(skip_cols, max_cols);
        Line::from(self.spans(r, Some((needle, hl))))
    }

    /// Number of rows the line occupies when hard-wrapped at `width` columns
    /// (at least 1, also for an empty line). O(1) for ASCII text.
    pub(crate) fn wrapped_rows(&self, width: usize) -> usize {
        let width = width.max(1);
        if self.text.is_ascii() {
            return self.text.len().div_ceil(width).max(1);
        }
        let mut rows = 0;
        let mut pos = 0;
        while pos < self.text.len() {
            pos = self.advance_cols(pos, width, true);
            rows += 1;
        }
        rows.max(1)
    }

    /// Hard-wrap (by character, not word: logs are not prose) at `width`
    /// columns and render rows `skip_rows .. skip_rows + max_rows`. Work is
    /// proportional to `(skip_rows + max_rows) * width`, not the line length.
    /// `highlight` optionally overlays matches of a needle.
    pub(crate) fn to_wrapped_lines(
        &self,
        width: usize,
        skip_rows: usize,
        max_rows: usize,
        highlight: Option<(&super::Needle, Style)>,
    ) -> Vec<Line<'_>> {
        let width = width.max(1);
        let mut out = Vec::new();
        if self.text.is_empty() {
            if skip_rows == 0 && max_rows > 0 {
                out.push(Line::default());
            }
            return out;
        }
        let ascii = self.text.is_ascii();
        let mut pos = if ascii {
            skip_rows.saturating_mul(width).min(self.text.len())
        } else {
            let mut p = 0;
            for _ in 0..skip_rows {
                if p >= self.text.len() {
                    break;
                }
                p = self.advance_cols(p, width, true);
            }
            p
        };
        while out.len() < max_rows && pos < self.text.len() {
            let end = self.advance_cols(pos, width, true);
            out.push(Line::from(self.spans(pos..end, highlight)));
            pos = end;
        }
        out
    }

    /// Match ranges of `needle` that intersect `range`.
    fn matches_in(&self, range: &Range<usize>, needle: &super::Needle) -> Vec<Range<usize>> {
        if range.is_empty() {
            return Vec::new();
        }
        needle
            .ranges(&self.text)
            .into_iter()
            .filter(|m| m.end > range.start && m.start < range.end)
            .collect()
    }

    /// Borrowing spans for the byte range `range` (char boundaries), merging
    /// style runs and optional highlight matches.
    fn spans(
        &self,
        range: Range<usize>,
        highlight: Option<(&super::Needle, Style)>,
    ) -> Vec<Span<'_>> {
        let Range { start, end } = range;
        let text = &*self.text;
        let (matches, hl) = match highlight {
            Some((needle, hl)) => (self.matches_in(&(start..end), needle), hl),
            None => (Vec::new(), Style::default()),
        };
        let runs = &*self.runs;
        let mut ri = runs.partition_point(|r| (r.end as usize) <= start);
        let mut mi = 0;
        let mut spans = Vec::new();
        let mut pos = start;
        while pos < end {
            while ri < runs.len() && (runs[ri].end as usize) <= pos {
                ri += 1;
            }
            while mi < matches.len() && matches[mi].end <= pos {
                mi += 1;
            }
            let (base, run_bound) = match runs.get(ri) {
                Some(r) if (r.start as usize) <= pos => (r.style, r.end as usize),
                Some(r) => (Style::default(), r.start as usize),
                None => (Style::default(), end),
            };
            let (hl_on, hl_bound) = match matches.get(mi) {
                Some(m) if m.start <= pos => (true, m.end),
                Some(m) => (false, m.start),
                None => (false, end),
            };
            let next = run_bound.min(hl_bound).min(end);
            let style = if hl_on { base.patch(hl) } else { base };
            spans.push(Span::styled(&text[pos..next], style));
            pos = next;
        }
        spans
    }
}
