//! Dev-only helpers for shipdeck: turn a ratatui [`Buffer`] (as produced by
//! `ratatui::backend::TestBackend`) into an SVG document or a PNG screenshot.
//!
//! The SVG uses one `<text>` element per cell at `x = col * CELL_W`, one
//! `<rect>` per run of equal background, and draws box-drawing and block
//! characters as geometry (like terminals do) so borders join without seams.
//! The PNG is rasterised in-process with `resvg`, using DejaVu Sans Mono
//! loaded from explicit font files (no fontconfig, no system packages beyond
//! the DejaVu fonts).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth as _};
use ratatui::style::{Color, Modifier};
use resvg::{tiny_skia, usvg};

/// Font size of the text, in SVG user units (pixels at scale 1.0).
pub const FONT_SIZE: f32 = 14.0;
/// Width of one terminal cell (the advance of DejaVu Sans Mono at 14 px).
pub const CELL_W: f32 = 8.43;
/// Height of one terminal cell.
pub const CELL_H: f32 = 17.0;
/// Margin drawn around the terminal area, in the terminal background colour.
pub const PADDING: f32 = 12.0;
/// Offset of the text baseline from the top of a cell.
const BASELINE: f32 = 13.0;

/// Family named in the SVG; it is loaded from [`FONT_FILES`].
const FONT_FAMILY: &str = "DejaVu Sans Mono";
const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
/// The first file is required; the others are used when present (bold,
/// italic, and DejaVu Sans as a fallback for glyphs the mono face lacks).
const FONT_FILES: &[&str] = &[
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
];

/// Thickness of light box-drawing lines.
const LIGHT: f32 = 1.0;
/// Thickness of heavy box-drawing lines.
const HEAVY: f32 = 2.0;
/// Distance of each line of a double box-drawing line from the cell centre.
const DOUBLE_GAP: f32 = 2.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Rgb(u8, u8, u8);

impl Rgb {
    fn mix(self, other: Rgb, t: f32) -> Rgb {
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }
}

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Default background (`Color::Reset` as background), Catppuccin Mocha base.
const DEFAULT_BG: Rgb = Rgb(0x1e, 0x1e, 0x2e);
/// Default foreground (`Color::Reset` as foreground), Catppuccin Mocha text.
const DEFAULT_FG: Rgb = Rgb(0xcd, 0xd6, 0xf4);

/// The 16 ANSI colours, a dark palette in the style of Catppuccin Mocha.
const ANSI16: [Rgb; 16] = [
    Rgb(0x45, 0x47, 0x5a), // 0 black
    Rgb(0xf3, 0x8b, 0xa8), // 1 red
    Rgb(0xa6, 0xe3, 0xa1), // 2 green
    Rgb(0xf9, 0xe2, 0xaf), // 3 yellow
    Rgb(0x89, 0xb4, 0xfa), // 4 blue
    Rgb(0xf5, 0xc2, 0xe7), // 5 magenta
    Rgb(0x94, 0xe2, 0xd5), // 6 cyan
    Rgb(0xba, 0xc2, 0xde), // 7 white (ratatui Gray)
    Rgb(0x58, 0x5b, 0x70), // 8 bright black (ratatui DarkGray)
    Rgb(0xf7, 0xa8, 0xbe), // 9 bright red
    Rgb(0xbd, 0xf0, 0xb8), // 10 bright green
    Rgb(0xfb, 0xeb, 0xc6), // 11 bright yellow
    Rgb(0xa7, 0xc7, 0xfc), // 12 bright blue
    Rgb(0xf8, 0xd4, 0xee), // 13 bright magenta
    Rgb(0xb2, 0xec, 0xe3), // 14 bright cyan
    Rgb(0xef, 0xf2, 0xfb), // 15 bright white (ratatui White)
];

/// xterm 256-colour palette: 0..16 from [`ANSI16`], then the 6×6×6 cube and
/// the 24-step grey ramp.
fn indexed(i: u8) -> Rgb {
    match i {
        0..=15 => ANSI16[usize::from(i)],
        16..=231 => {
            const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
            let i = i - 16;
            Rgb(
                LEVELS[usize::from(i / 36)],
                LEVELS[usize::from(i / 6 % 6)],
                LEVELS[usize::from(i % 6)],
            )
        }
        232..=255 => {
            let v = 8 + 10 * (i - 232);
            Rgb(v, v, v)
        }
    }
}

fn color(c: Color, default: Rgb) -> Rgb {
    match c {
        Color::Reset => default,
        Color::Black => ANSI16[0],
        Color::Red => ANSI16[1],
        Color::Green => ANSI16[2],
        Color::Yellow => ANSI16[3],
        Color::Blue => ANSI16[4],
        Color::Magenta => ANSI16[5],
        Color::Cyan => ANSI16[6],
        Color::Gray => ANSI16[7],
        Color::DarkGray => ANSI16[8],
        Color::LightRed => ANSI16[9],
        Color::LightGreen => ANSI16[10],
        Color::LightYellow => ANSI16[11],
        Color::LightBlue => ANSI16[12],
        Color::LightMagenta => ANSI16[13],
        Color::LightCyan => ANSI16[14],
        Color::White => ANSI16[15],
        Color::Rgb(r, g, b) => Rgb(r, g, b),
        Color::Indexed(i) => indexed(i),
    }
}

/// A cell's effective look after applying the palette and modifiers.
#[derive(Clone, Copy)]
struct Look {
    fg: Rgb,
    bg: Rgb,
    bold: bool,
    italic: bool,
    underline: bool,
    crossed_out: bool,
    hidden: bool,
}

fn look(cell: &Cell) -> Look {
    let m = cell.modifier;
    let mut fg = color(cell.fg, DEFAULT_FG);
    let mut bg = color(cell.bg, DEFAULT_BG);
    if m.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    if m.contains(Modifier::DIM) {
        fg = fg.mix(bg, 0.45);
    }
    Look {
        fg,
        bg,
        bold: m.contains(Modifier::BOLD),
        italic: m.contains(Modifier::ITALIC),
        underline: m.contains(Modifier::UNDERLINED),
        crossed_out: m.contains(Modifier::CROSSED_OUT),
        hidden: m.contains(Modifier::HIDDEN),
    }
}

fn xml_escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 documents at all.
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
}

/// Size of the whole SVG (terminal plus padding) for a `cols × rows` buffer.
fn svg_size(cols: u16, rows: u16) -> (f32, f32) {
    (
        f32::from(cols) * CELL_W + 2.0 * PADDING,
        f32::from(rows) * CELL_H + 2.0 * PADDING,
    )
}

/// Renders the buffer as a standalone SVG document.
///
/// Each non-blank cell becomes one `<text>` element positioned at its column;
/// backgrounds are merged into one `<rect>` per run of equal colour; box
/// drawing and block elements are drawn as rectangles (and a short curve for
/// rounded corners). The terminal is surrounded by [`PADDING`] of background.
pub fn buffer_to_svg(buf: &Buffer) -> String {
    let cols = buf.area.width;
    let rows = buf.area.height;
    let (w, h) = svg_size(cols, rows);
    let mut bgs = String::new();
    let mut shapes = String::new();
    let mut texts = String::new();

    for row in 0..rows {
        let y0 = f32::from(row) * CELL_H;
        let line_start = usize::from(row) * usize::from(cols);
        let line = &buf.content[line_start..line_start + usize::from(cols)];
        // Background of every column; the hidden trailing cells of a wide
        // character take the leading cell's background, as in a terminal.
        let mut row_bg = vec![DEFAULT_BG; usize::from(cols)];
        let mut col = 0usize;
        while col < line.len() {
            let cell = &line[col];
            let lk = look(cell);
            let span = usize::from(cell.cell_width().max(1)).min(line.len() - col);
            row_bg[col..col + span].fill(lk.bg);
            let x0 = col as f32 * CELL_W;
            let symbol = cell.symbol();
            if cell.diff_option != CellDiffOption::Skip && !lk.hidden {
                let cell_box = CellBox {
                    x0,
                    y0,
                    x1: x0 + CELL_W,
                    y1: y0 + CELL_H,
                };
                let mut chars = symbol.chars();
                let single = match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                };
                let drawn = single.is_some_and(|c| {
                    draw_box_char(c, cell_box, lk.fg, &mut shapes)
                        || draw_block_char(c, cell_box, lk, &mut shapes)
                });
                if !drawn && !symbol.trim().is_empty() {
                    let _ = write!(
                        texts,
                        r#"<text x="{:.2}" y="{:.2}" fill="{}""#,
                        x0,
                        y0 + BASELINE,
                        lk.fg
                    );
                    if lk.bold {
                        texts.push_str(r#" font-weight="bold""#);
                    }
                    if lk.italic {
                        texts.push_str(r#" font-style="italic""#);
                    }
                    texts.push('>');
                    xml_escape(symbol, &mut texts);
                    texts.push_str("</text>\n");
                }
                let span_w = span as f32 * CELL_W;
                if lk.underline {
                    rect(&mut shapes, x0, y0 + BASELINE + 1.5, span_w, LIGHT, lk.fg);
                }
                if lk.crossed_out {
                    rect(&mut shapes, x0, y0 + BASELINE - 4.5, span_w, LIGHT, lk.fg);
                }
            }
            col += span;
        }
        // One rect per run of equal (non-default) background.
        let mut start = 0;
        while start < row_bg.len() {
            let bg = row_bg[start];
            let mut end = start + 1;
            while end < row_bg.len() && row_bg[end] == bg {
                end += 1;
            }
            if bg != DEFAULT_BG {
                rect(
                    &mut bgs,
                    start as f32 * CELL_W,
                    y0,
                    (end - start) as f32 * CELL_W,
                    CELL_H,
                    bg,
                );
            }
            start = end;
        }
    }

    let mut svg = String::with_capacity(bgs.len() + shapes.len() + texts.len() + 1024);
    let _ = write!(
        svg,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.2}" height="{h:.2}" viewBox="0 0 {w:.2} {h:.2}">"#,
            "\n",
            r#"<rect width="100%" height="100%" fill="{bg}"/>"#,
            "\n",
            r#"<g transform="translate({p} {p})">"#,
            "\n",
            r#"<g shape-rendering="crispEdges">"#,
            "\n{bgs}{shapes}</g>\n",
            r#"<g font-family="{family}" font-size="{size}">"#,
            "\n{texts}</g>\n</g>\n</svg>\n"
        ),
        w = w,
        h = h,
        bg = DEFAULT_BG,
        p = PADDING,
        bgs = bgs,
        shapes = shapes,
        family = FONT_FAMILY,
        size = FONT_SIZE,
        texts = texts,
    );
    svg
}

fn rect(out: &mut String, x: f32, y: f32, w: f32, h: f32, fill: Rgb) {
    let _ = writeln!(
        out,
        r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{fill}"/>"#
    );
}

#[derive(Clone, Copy)]
struct CellBox {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
}

impl CellBox {
    fn cx(self) -> f32 {
        (self.x0 + self.x1) / 2.0
    }
    fn cy(self) -> f32 {
        // Whole pixel + 0.5 so 1-px horizontal lines land on one pixel row.
        self.y0 + (CELL_H / 2.0).floor() + 0.5
    }
    fn w(self) -> f32 {
        self.x1 - self.x0
    }
    fn h(self) -> f32 {
        self.y1 - self.y0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum W {
    N, // no arm
    L, // light
    H, // heavy
    D, // double
}

/// Arms of a box-drawing character as `[up, right, down, left]`.
fn box_arms(c: char) -> Option<[W; 4]> {
    use W::{D, H, L, N};
    Some(match c {
        '─' => [N, L, N, L],
        '│' => [L, N, L, N],
        '┌' => [N, L, L, N],
        '┐' => [N, N, L, L],
        '└' => [L, L, N, N],
        '┘' => [L, N, N, L],
        '├' => [L, L, L, N],
        '┤' => [L, N, L, L],
        '┬' => [N, L, L, L],
        '┴' => [L, L, N, L],
        '┼' => [L, L, L, L],
        '╴' => [N, N, N, L],
        '╵' => [L, N, N, N],
        '╶' => [N, L, N, N],
        '╷' => [N, N, L, N],
        '━' => [N, H, N, H],
        '┃' => [H, N, H, N],
        '┏' => [N, H, H, N],
        '┓' => [N, N, H, H],
        '┗' => [H, H, N, N],
        '┛' => [H, N, N, H],
        '┣' => [H, H, H, N],
        '┫' => [H, N, H, H],
        '┳' => [N, H, H, H],
        '┻' => [H, H, N, H],
        '╋' => [H, H, H, H],
        '╸' => [N, N, N, H],
        '╹' => [H, N, N, N],
        '╺' => [N, H, N, N],
        '╻' => [N, N, H, N],
        '═' => [N, D, N, D],
        '║' => [D, N, D, N],
        '╔' => [N, D, D, N],
        '╗' => [N, N, D, D],
        '╚' => [D, D, N, N],
        '╝' => [D, N, N, D],
        '╠' => [D, D, D, N],
        '╣' => [D, N, D, D],
        '╦' => [N, D, D, D],
        '╩' => [D, D, N, D],
        '╬' => [D, D, D, D],
        _ => return None,
    })
}

fn thickness(w: W) -> f32 {
    match w {
        W::N => 0.0,
        W::L | W::D => LIGHT,
        W::H => HEAVY,
    }
}

/// Draws `c` as lines from the cell centre to the cell edges if it is a
/// supported box-drawing character; returns whether it did.
fn draw_box_char(c: char, b: CellBox, fg: Rgb, out: &mut String) -> bool {
    if let Some(corner) = rounded_corner(c) {
        draw_rounded(corner, b, fg, out);
        return true;
    }
    let Some(arms) = box_arms(c) else {
        return false;
    };
    let [up, right, down, left] = arms;
    let (cx, cy) = (b.cx(), b.cy());
    // Half of the thickest arm: single/heavy arms reach this far past the
    // centre so that corners and junctions are filled.
    let e = arms.iter().map(|&a| thickness(a)).fold(0.0, f32::max) / 2.0;
    let has = |a: W| a != W::N;
    let t = LIGHT;
    let d = DOUBLE_GAP;

    // Horizontal segment from x_a to x_b centred on y with thickness th.
    let hseg = |x_a: f32, x_b: f32, y: f32, th: f32, out: &mut String| {
        rect(out, x_a, y - th / 2.0, x_b - x_a, th, fg);
    };
    match right {
        W::N => {}
        W::D => {
            let top = if has(up) { cx + d } else { cx - d };
            let bot = if has(down) { cx + d } else { cx - d };
            hseg(top - t / 2.0, b.x1, cy - d, t, out);
            hseg(bot - t / 2.0, b.x1, cy + d, t, out);
        }
        w => hseg(cx - e, b.x1, cy, thickness(w), out),
    }
    match left {
        W::N => {}
        W::D => {
            let top = if has(up) { cx - d } else { cx + d };
            let bot = if has(down) { cx - d } else { cx + d };
            hseg(b.x0, top + t / 2.0, cy - d, t, out);
            hseg(b.x0, bot + t / 2.0, cy + d, t, out);
        }
        w => hseg(b.x0, cx + e, cy, thickness(w), out),
    }
    let vseg = |x: f32, y_a: f32, y_b: f32, th: f32, out: &mut String| {
        rect(out, x - th / 2.0, y_a, th, y_b - y_a, fg);
    };
    match up {
        W::N => {}
        W::D => {
            let l = if has(left) { cy - d } else { cy + d };
            let r = if has(right) { cy - d } else { cy + d };
            vseg(cx - d, b.y0, l + t / 2.0, t, out);
            vseg(cx + d, b.y0, r + t / 2.0, t, out);
        }
        w => vseg(cx, b.y0, cy + e, thickness(w), out),
    }
    match down {
        W::N => {}
        W::D => {
            let l = if has(left) { cy + d } else { cy - d };
            let r = if has(right) { cy + d } else { cy - d };
            vseg(cx - d, l - t / 2.0, b.y1, t, out);
            vseg(cx + d, r - t / 2.0, b.y1, t, out);
        }
        w => vseg(cx, cy - e, b.y1, thickness(w), out),
    }
    true
}

/// For `╭╮╰╯`: (horizontal arm goes right, vertical arm goes down).
fn rounded_corner(c: char) -> Option<(bool, bool)> {
    match c {
        '╭' => Some((true, true)),
        '╮' => Some((false, true)),
        '╰' => Some((true, false)),
        '╯' => Some((false, false)),
        _ => None,
    }
}

fn draw_rounded((right, down): (bool, bool), b: CellBox, fg: Rgb, out: &mut String) {
    let (cx, cy) = (b.cx(), b.cy());
    let r = (b.w() / 2.0).min(b.h() / 2.0);
    let sx = if right { 1.0 } else { -1.0 };
    let sy = if down { 1.0 } else { -1.0 };
    let t = LIGHT;
    // Straight parts as crisp rects (matching the neighbouring ─ and │)...
    let hx = cx + sx * r;
    let (hx0, hx1) = if right { (hx, b.x1) } else { (b.x0, hx) };
    rect(out, hx0, cy - t / 2.0, hx1 - hx0, t, fg);
    let vy = cy + sy * r;
    let (vy0, vy1) = if down { (vy, b.y1) } else { (b.y0, vy) };
    rect(out, cx - t / 2.0, vy0, t, vy1 - vy0, fg);
    // ...and the curve, anti-aliased, with the cell centre as control point.
    let _ = writeln!(
        out,
        concat!(
            r#"<path d="M{:.2} {:.2} Q{:.2} {:.2} {:.2} {:.2}" fill="none" stroke="{}" "#,
            r#"stroke-width="{}" shape-rendering="geometricPrecision"/>"#
        ),
        hx, cy, cx, cy, cx, vy, fg, t
    );
}

/// Draws block elements (`█▀▄▌▐`, eighths, quadrants, shades) as rects;
/// returns whether `c` was one.
fn draw_block_char(c: char, b: CellBox, lk: Look, out: &mut String) -> bool {
    let (w, h) = (b.w(), b.h());
    let fg = lk.fg;
    let code = c as u32;
    match c {
        '█' => rect(out, b.x0, b.y0, w, h, fg),
        '▀' => rect(out, b.x0, b.y0, w, h / 2.0, fg),
        '▐' => rect(out, b.x0 + w / 2.0, b.y0, w / 2.0, h, fg),
        '▔' => rect(out, b.x0, b.y0, w, h / 8.0, fg),
        '▕' => rect(out, b.x1 - w / 8.0, b.y0, w / 8.0, h, fg),
        // ▁▂▃▄▅▆▇: lower n eighths.
        '\u{2581}'..='\u{2587}' => {
            let n = (code - 0x2580) as f32;
            rect(out, b.x0, b.y1 - h * n / 8.0, w, h * n / 8.0, fg);
        }
        // ▉▊▋▌▍▎▏: left 7..1 eighths.
        '\u{2589}'..='\u{258F}' => {
            let n = (0x2590 - code) as f32;
            rect(out, b.x0, b.y0, w * n / 8.0, h, fg);
        }
        '░' => rect(out, b.x0, b.y0, w, h, lk.bg.mix(fg, 0.25)),
        '▒' => rect(out, b.x0, b.y0, w, h, lk.bg.mix(fg, 0.5)),
        '▓' => rect(out, b.x0, b.y0, w, h, lk.bg.mix(fg, 0.75)),
        '\u{2596}'..='\u{259F}' => {
            // Quadrants as bits: upper-left, upper-right, lower-left, lower-right.
            const UL: u8 = 1;
            const UR: u8 = 2;
            const LL: u8 = 4;
            const LR: u8 = 8;
            const QUADS: [u8; 10] = [
                LL,           // ▖
                LR,           // ▗
                UL,           // ▘
                UL | LL | LR, // ▙
                UL | LR,      // ▚
                UL | UR | LL, // ▛
                UL | UR | LR, // ▜
                UR,           // ▝
                UR | LL,      // ▞
                UR | LL | LR, // ▟
            ];
            let q = QUADS[(code - 0x2596) as usize];
            let (hw, hh) = (w / 2.0, h / 2.0);
            for (bit, dx, dy) in [(UL, 0.0, 0.0), (UR, hw, 0.0), (LL, 0.0, hh), (LR, hw, hh)] {
                if q & bit != 0 {
                    rect(out, b.x0 + dx, b.y0 + dy, hw, hh, fg);
                }
            }
        }
        _ => return false,
    }
    true
}

/// Loads DejaVu Sans Mono (and companions, where present) from [`FONT_DIR`].
fn font_database() -> anyhow::Result<usvg::fontdb::Database> {
    let mut db = usvg::fontdb::Database::new();
    for (i, name) in FONT_FILES.iter().enumerate() {
        let path = Path::new(FONT_DIR).join(name);
        match std::fs::read(&path) {
            Ok(data) => db.load_font_data(data),
            Err(e) if i == 0 => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot read {} (install the DejaVu fonts, e.g. Debian's fonts-dejavu-core)",
                        path.display()
                    )
                });
            }
            Err(_) => {}
        }
    }
    // Also make the generic family resolve, should an SVG ask for it.
    db.set_monospace_family(FONT_FAMILY);
    Ok(db)
}

/// Rasterises an SVG string into a pixmap, scaled by `scale`.
fn rasterize(svg: &str, scale: f32) -> anyhow::Result<tiny_skia::Pixmap> {
    if !(scale.is_finite() && scale > 0.0) {
        bail!("scale must be a positive number, got {scale}");
    }
    let opt = usvg::Options {
        font_family: FONT_FAMILY.to_owned(),
        fontdb: Arc::new(font_database()?),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).context("parsing the generated SVG")?;
    let size = tree.size();
    let w = (size.width() * scale).ceil() as u32;
    let h = (size.height() * scale).ceil() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(w, h)
        .with_context(|| format!("cannot allocate a {w}×{h} pixmap"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

/// Renders the buffer to a PNG file at `path`.
///
/// `scale` multiplies the pixel size: 1.0 gives one SVG unit per pixel
/// (≈ 8.43 × 17 px per cell, plus [`PADDING`]); use 2.0 for crisp README
/// images.
pub fn buffer_to_png(buf: &Buffer, path: &Path, scale: f32) -> anyhow::Result<()> {
    let pixmap = rasterize(&buffer_to_svg(buf), scale)?;
    pixmap
        .save_png(path)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn tiny() -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        buf.set_string(0, 0, "a<&b", Style::default().fg(Color::Red));
        buf.set_string(0, 1, "┌─", Style::default());
        buf.set_string(2, 1, "日", Style::default().bg(Color::Blue));
        buf
    }

    #[test]
    fn svg_has_one_text_per_cell_and_escapes() {
        let svg = buffer_to_svg(&tiny());
        let red = color(Color::Red, DEFAULT_FG);
        assert!(svg.contains(&format!(
            r#"<text x="0.00" y="13.00" fill="{red}">a</text>"#
        )));
        assert!(svg.contains(&format!(
            r#"<text x="8.43" y="13.00" fill="{red}">&lt;</text>"#
        )));
        assert!(svg.contains(&format!(
            r#"<text x="16.86" y="13.00" fill="{red}">&amp;</text>"#
        )));
        assert!(svg.contains(">b</text>"));
        assert!(svg.contains(">日</text>"));
        assert!(!svg.contains("<&"));
        // Box drawing is geometry, not text; blanks produce no text.
        assert!(!svg.contains(">┌<") && !svg.contains(">─<") && !svg.contains("> <"));
        assert_eq!(svg.matches("<text").count(), 5);
        // The wide character's background covers both of its cells.
        let blue = color(Color::Blue, DEFAULT_BG);
        assert!(svg.contains(&format!(
            r#"<rect x="16.86" y="17.00" width="16.86" height="17.00" fill="{blue}"/>"#
        )));
        // The whole document parses.
        usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    }

    #[test]
    fn png_has_expected_size() {
        let dir = std::env::temp_dir().join(format!("xtask-shot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tiny.png");
        buffer_to_png(&tiny(), &path, 2.0).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let (sw, sh) = svg_size(6, 2);
        assert_eq!((w, h), ((sw * 2.0).ceil() as u32, (sh * 2.0).ceil() as u32));
        assert_eq!((w, h), (150, 116));
    }

    #[test]
    fn text_is_actually_drawn() {
        // A cell of text must change pixels away from the background colour.
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
        buf.set_string(0, 0, "MMM", Style::default());
        let pixmap = rasterize(&buffer_to_svg(&buf), 1.0).unwrap();
        let bg = tiny_skia::ColorU8::from_rgba(DEFAULT_BG.0, DEFAULT_BG.1, DEFAULT_BG.2, 255)
            .premultiply();
        let non_bg = pixmap.pixels().iter().filter(|p| **p != bg).count();
        assert!(non_bg > 20, "only {non_bg} non-background pixels");
    }

    #[test]
    fn palette() {
        assert_eq!(indexed(16), Rgb(0, 0, 0));
        assert_eq!(indexed(196), Rgb(255, 0, 0));
        assert_eq!(indexed(231), Rgb(255, 255, 255));
        assert_eq!(indexed(232), Rgb(8, 8, 8));
        assert_eq!(indexed(255), Rgb(238, 238, 238));
        assert_eq!(color(Color::Reset, DEFAULT_BG), DEFAULT_BG);
        assert_eq!(Rgb(0x1e, 0x1e, 0x2e).to_string(), "#1e1e2e");
    }
}
