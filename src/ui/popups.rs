//! Overlays: the command palette, help generated from the keymap, and the first-run screen.

use super::{Theme, clean};
use crate::app::keymap::{Ctx, Group};
use crate::app::overlays::palette::candidates as palette_candidates;
use crate::app::state::{Confirm, LaunchForm, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

/// At most `room` of `lines`: the first ones and the last two (the profile), with the middle
/// cut to one line that says how many are not shown.
fn fit_lines(lines: &[String], room: usize) -> Vec<String> {
    if lines.len() <= room {
        return lines.to_vec();
    }
    let tail = 2.min(lines.len());
    let head = room.saturating_sub(tail + 1).max(1);
    let hidden = lines.len().saturating_sub(head + tail);
    let mut out: Vec<String> = lines.iter().take(head).cloned().collect();
    out.push(format!(
        "… {hidden} more not shown (a taller terminal shows them)"
    ));
    out.extend(lines.iter().skip(lines.len() - tail).cloned());
    out
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a
/// line is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let width = width.max(10);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let extra = if line.is_empty() { 0 } else { 1 };
        if !line.is_empty() && line.width() + extra + word.width() > width {
            out.push(std::mem::take(&mut line));
        } else if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    c
}

fn popup_block<'a>(title: &'a str, t: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            format!(" {} ", clean(title)),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ))
}

pub fn palette(f: &mut Frame, body: Rect, s: &State, t: &Theme, input: &TextArea, selected: usize) {
    let text = input.lines().join("");
    let cands = palette_candidates(s, &text);
    let shown = cands.len().min(10) as u16;
    let w = 64.min(body.width);
    let h = 3 + shown + u16::from(shown > 0);
    let area = Rect {
        x: body.x + (body.width - w) / 2,
        y: body.y + 1.min(body.height),
        width: w,
        height: h.min(body.height),
    };
    f.render_widget(Clear, area);
    let blk = popup_block("command", t).title_bottom(Line::styled(
        " tab complete · ↑↓ choose · ⏎ run · esc close ",
        t.dim(),
    ));
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    let mut lines = vec![Line::from(vec![
        Span::styled(": ", Style::new().fg(t.accent).add_modifier(Modifier::BOLD)),
        Span::raw(clean(&text).into_owned()),
        Span::styled("▏", Style::new().fg(t.accent)),
    ])];
    if shown > 0 {
        lines.push(Line::styled("─".repeat(inner.width as usize), t.dim()));
    }
    let start = selected.saturating_sub(9);
    // Names in a column as wide as the longest shown (at most half the box), cut in the
    // middle so that `demo-freecommit` and `demo-freecommit-alice` stay apart.
    let name_w = cands
        .iter()
        .skip(start)
        .take(10)
        .map(|(c, _)| clean(c.trim_end()).chars().count())
        .max()
        .unwrap_or(0)
        .min(inner.width as usize / 2);
    for (i, (c, d)) in cands.iter().enumerate().skip(start).take(10) {
        let style = if i == selected {
            t.selection()
        } else {
            Style::new()
        };
        lines.push(
            Line::from(vec![
                Span::styled(
                    format!(
                        " {:<name_w$}  ",
                        super::lists::middle_cut(&clean(c.trim_end()), name_w)
                    ),
                    style.fg(t.text),
                ),
                Span::styled(clean(d).into_owned(), style.patch(t.dim())),
            ])
            .style(style),
        );
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn help(f: &mut Frame, body: Rect, s: &State, t: &Theme, scroll: u16, ctx: Ctx) {
    let area = centered(body, 76, body.height.saturating_sub(2).max(10));
    f.render_widget(Clear, area);
    let mut lines: Vec<Line> = Vec::new();
    // The layer under help, then what it falls through to: a pane or the log viewer also has
    // the movement and global keys; a popup has only its own.
    let own = match ctx {
        Ctx::List => format!("{} pane", s.pane.title()),
        other => other.title().to_string(),
    };
    let layer: Vec<_> = s.keymap.of(ctx).collect();
    let sections: Vec<(String, Vec<&crate::app::keymap::Binding>)> = if ctx.falls_through() {
        let of_group = |g: Group| {
            s.keymap
                .of(Ctx::Any)
                .filter(|b| b.group == g)
                .collect::<Vec<_>>()
        };
        vec![
            ("Move".to_string(), of_group(Group::Navigation)),
            (own, layer),
            ("Everywhere".to_string(), of_group(Group::Global)),
        ]
    } else {
        vec![(own, layer)]
    };
    for (title, bindings) in sections {
        lines.push(Line::styled(
            title,
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        let read_only = crate::app::gate::why_not(s).is_some();
        for b in bindings {
            // A change this read-only profile refuses: struck through, and said.
            let refused = read_only && b.action.change_verb().is_some();
            let strike = |st: Style| {
                if refused {
                    st.add_modifier(Modifier::CROSSED_OUT)
                } else {
                    st
                }
            };
            let mut line = vec![
                Span::styled(
                    format!("  {:<12}", s.keymap.keys_of(b.name)),
                    strike(Style::new().fg(t.text).add_modifier(Modifier::BOLD)),
                ),
                Span::styled(format!("{:<44}", ellipsis(b.help, 43)), strike(t.dim())),
                Span::styled(b.name, t.dim().add_modifier(Modifier::ITALIC)),
            ];
            if refused {
                line.push(Span::styled(" read-only", Style::new().fg(t.warn)));
            }
            lines.push(Line::from(line));
        }
        lines.push(Line::from(""));
    }
    if let Some(caps) = s.caps()
        && !caps.missing.is_empty()
    {
        lines.push(Line::styled(
            "Not offered here",
            Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
        ));
        for (r, why) in &caps.missing {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<12}", r.title()), Style::new().fg(t.text)),
                Span::styled(clean(why).into_owned(), t.dim()),
            ]));
        }
        lines.push(Line::from(""));
    }
    if let Some(p) = s.profile()
        && s.read_only()
    {
        lines.push(Line::styled(
            format!(
                "Profile {} is read-only: it can look, never act.",
                clean(&p.name)
            ),
            Style::new().fg(t.warn),
        ));
    }
    lines.push(Line::styled(
        "Rebind keys in [keys] of the config by the names on the right, e.g. quit = \"x\".",
        t.dim(),
    ));
    let blk =
        popup_block("help", t).title_bottom(Line::styled(" j/k scroll · esc close ", t.dim()));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(blk.padding(ratatui::widgets::Padding::horizontal(1))),
        area,
    );
}

pub(crate) fn first_run(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let path = s
        .config_path
        .clone()
        .unwrap_or_else(|| "(no config directory on this system)".into());
    let mut lines = vec![
        Line::styled(
            "Welcome to shipdeck",
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Line::from(""),
        Line::from("There is no config file yet. shipdeck reads its profiles — which CI/CD server"),
        Line::from("to talk to, as whom — from:"),
        Line::from(""),
        Line::styled(
            format!("    {}", clean(&path)),
            Style::new().fg(t.text).add_modifier(Modifier::BOLD),
        ),
        Line::from(""),
        Line::from("A minimal one looks like this:"),
        Line::from(""),
    ];
    for l in crate::config::EXAMPLE.lines() {
        lines.push(Line::styled(format!("    {l}"), Style::new().fg(t.queued)));
    }
    lines.extend([
        Line::from(""),
        Line::from("Secrets come from *_env (a variable) or *_command (a password manager);"),
        Line::from("inline values are accepted only in a file no one else can read (chmod 600)."),
        Line::from("Check a file with: shipdeck config check"),
        Line::from(""),
        Line::from(vec![
            Span::raw("Press "),
            Span::styled(" d ", t.badge(t.accent)),
            Span::raw(" to try the built-in demo (a simulated server, nothing is written), "),
            Span::styled(" q ", t.badge(t.dim)),
            Span::raw(" to quit."),
        ]),
    ]);
    let h = lines.len() as u16 + 4;
    let area = centered(area, 84, h);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(popup_block("first run", t).padding(ratatui::widgets::Padding::uniform(1))),
        area,
    );
}

/// "Are you sure": what will happen, and the only two answers.
pub fn confirm(f: &mut Frame, body: Rect, t: &Theme, c: &Confirm) {
    let w = c
        .lines
        .iter()
        .map(|l| l.chars().count() as u16 + 6)
        .max()
        .unwrap_or(40)
        .clamp(60, 90)
        .min(body.width);
    // Every word of what will be sent stays on screen: long lines wrap (the first line of a
    // wrapped sentence keeps its place: the title line stays bold).
    let wrapped: Vec<String> = c
        .lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            wrap_words(l, w.saturating_sub(6) as usize)
                .into_iter()
                .enumerate()
                .map(move |(j, part)| {
                    if i == 0 || j == 0 {
                        part
                    } else {
                        format!("  {part}")
                    }
                })
        })
        .collect();
    let mut lines: Vec<Line> = vec![Line::from("")];
    // Borders, blank lines, the prompt (and a typed name, an error) always fit: a long list of
    // targets (marked rows) gives up its middle first, and says how much.
    let trailer = 2 + if c.typed.is_some() { 2 } else { 1 } + usize::from(c.error.is_some());
    let room = (body.height as usize).saturating_sub(3 + trailer).max(4);
    let shown = fit_lines(&wrapped, room);
    for (i, l) in shown.iter().enumerate() {
        let style = if i == 0 {
            Style::new().fg(t.text).add_modifier(Modifier::BOLD)
        } else {
            t.dim()
        };
        lines.push(Line::styled(format!("  {}", clean(l)), style));
    }
    lines.push(Line::from(""));
    match &c.typed {
        Some((expected, input)) => {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(
                    format!("{} is protected.", clean(expected)),
                    Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
                ),
                Span::raw(" Type its name and press ⏎ (esc sends nothing):"),
            ]));
            lines.push(Line::from(vec![
                Span::raw("  > "),
                Span::styled(
                    format!("{}▏", clean(&input.lines().join(""))),
                    Style::new().fg(t.text).add_modifier(Modifier::UNDERLINED),
                ),
            ]));
        }
        None => lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(" y ", t.badge(t.warn)),
            Span::raw(" yes, do it    "),
            Span::styled(" n ", t.badge(t.dim)),
            Span::raw(" / esc  no, send nothing"),
        ])),
    }
    if let Some(e) = &c.error {
        lines.push(Line::styled(
            format!("  {}", clean(e)),
            Style::new().fg(t.error),
        ));
    }
    let area = centered(body, w, lines.len() as u16 + 3);
    f.render_widget(Clear, area);
    let blk = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(t.warn))
        .title(Span::styled(
            format!(" {} ", clean(&c.title)),
            Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
        ));
    f.render_widget(Paragraph::new(lines).block(blk), area);
}

/// Choose the steps to skip and fill the backend's launch fields.
pub fn launch(f: &mut Frame, body: Rect, t: &Theme, form: &LaunchForm) {
    let title = clean(&form.purpose.title(&form.project)).into_owned();
    let h = form.steps.len() as u16 + form.fields.len() as u16 * 2 + 10;
    let area = centered(body, 68, h);
    f.render_widget(Clear, area);
    let blk = popup_block(&title, t).title_bottom(Line::styled(
        " space toggle · tab next field · ⏎ continue · esc cancel ",
        t.dim(),
    ));
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    let mut lines = Vec::new();
    // Labels in their own column, as wide as the longest (values never run into them).
    let label_w = form
        .fields
        .iter()
        .map(|(f, _)| f.label.chars().count() + 3)
        .chain([15])
        .max()
        .unwrap_or(15)
        .min(34);
    let field = |label: &str, text: &str, focused: bool| {
        let style = if focused {
            Style::new().fg(t.text).add_modifier(Modifier::UNDERLINED)
        } else {
            t.dim()
        };
        Line::from(vec![
            Span::styled(
                format!(" {label:<label_w$} "),
                if focused {
                    Style::new().fg(t.accent)
                } else {
                    t.dim()
                },
            ),
            Span::styled(
                format!("{}{}", clean(text), if focused { "▏" } else { "" }),
                style,
            ),
        ])
    };
    if !form.steps.is_empty() {
        lines.push(Line::styled(" Steps to skip (none by default):", t.dim()));
        for (i, (name, skip)) in form.steps.iter().enumerate() {
            let cursor = i == form.cursor && form.focus == 0;
            let mark = if *skip { "[x]" } else { "[ ]" };
            let style = if cursor { t.selection() } else { Style::new() };
            let label = if *skip { "skip" } else { "run" };
            lines.push(Line::from(vec![
                Span::styled(format!("   {mark} {:<24}", clean(name)), style),
                Span::styled(
                    label,
                    if *skip {
                        Style::new().fg(t.warn)
                    } else {
                        t.dim()
                    },
                ),
            ]));
        }
        lines.push(Line::from(""));
        lines.push(field(
            "ignore_steps:",
            &form.input.lines().join(""),
            form.focus == 1,
        ));
    }
    for (i, (f, input)) in form.fields.iter().enumerate() {
        let label = format!("{}{}:", f.label, if f.required { "*" } else { "" });
        lines.push(field(&label, &input.lines().join(""), form.focus == i + 2));
        if f.key_values {
            lines.push(Line::styled(
                "                key=value, key=value",
                t.dim(),
            ));
        }
    }
    if form.steps.is_empty() && form.fields.is_empty() {
        lines.push(Line::styled(
            " Nothing to choose: ⏎ continues to the confirmation.",
            t.dim(),
        ));
    }
    if let Some(e) = &form.error {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!(" {}", clean(e)),
            Style::new().fg(t.error),
        ));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Something to read; any key closes it.
pub fn message(f: &mut Frame, body: Rect, t: &Theme, title: &str, lines: &[String]) {
    let w = lines
        .iter()
        .map(|l| l.chars().count() as u16 + 6)
        .max()
        .unwrap_or(40)
        .clamp(40, 110);
    let area = centered(body, w, lines.len() as u16 + 4);
    f.render_widget(Clear, area);
    let text: Vec<Line> = lines
        .iter()
        .map(|l| Line::raw(clean(l).into_owned()))
        .collect();
    let blk = popup_block(title, t).title_bottom(Line::styled(" any key closes ", t.dim()));
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(blk.padding(ratatui::widgets::Padding::horizontal(1))),
        area,
    );
}

/// Choose one of a list.
pub fn pick(f: &mut Frame, body: Rect, t: &Theme, p: &crate::app::overlays::picker::Pick) {
    let verb = match p.purpose {
        crate::app::overlays::picker::PickFor::Archive(_) => "download",
        crate::app::overlays::picker::PickFor::Candidate { .. } => "deploy (asks first)",
        crate::app::overlays::picker::PickFor::Compare(_) => "compare",
    };
    let hint = if p.find.is_empty() {
        format!(" ↑↓ choose · type to find · ⏎ {verb} · esc close ")
    } else {
        format!(" find: {} · ⏎ {verb} · esc close ", clean(&p.find))
    };
    list_popup(f, body, t, (&p.title, &p.items, p.selected), hint);
}

/// A list to choose from, centred, the selected row marked (not by colour alone).
pub fn list_popup(
    f: &mut Frame,
    body: Rect,
    t: &Theme,
    (title, items, selected): (&str, &[String], usize),
    hint: String,
) {
    let w = items
        .iter()
        .map(|l| l.chars().count() as u16 + 8)
        .max()
        .unwrap_or(30)
        .clamp(40, 100);
    let h = (items.len() as u16 + 2)
        .min(body.height.saturating_sub(2))
        .max(3);
    let area = centered(body, w, h);
    f.render_widget(Clear, area);
    let visible = h.saturating_sub(2) as usize;
    let start = selected.saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(start)
        .take(visible)
        .map(|(i, it)| {
            // A marker as well as the colour: the choice reads without colour too.
            let (mark, style) = if i == selected {
                ("›", t.selection())
            } else {
                (" ", Style::new())
            };
            Line::styled(format!("{mark}{}", clean(it)), style)
        })
        .collect();
    let blk = popup_block(title, t).title_bottom(Line::styled(hint, t.dim()));
    f.render_widget(Paragraph::new(lines).block(blk), area);
}

/// At most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
