//! The log viewer's triage modes (issue 12): a failed build's summary and the diff against
//! another build's log. Pure drawing from the state; only the rows on screen are built.

use super::{Theme, clean, spinner};
use crate::app::logview::LogView;
use crate::app::panes::triage::{CompareState, DiffRow, LogMode, exit_meaning};
use crate::app::state::State;
use crate::logdiff::Tag;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The block's bottom line in a triage mode: where one is and how to leave.
pub(super) fn bottom(s: &State, t: &Theme, log: &LogView) -> Vec<Span<'static>> {
    let km = &s.keymap;
    let text = match log.mode {
        LogMode::Summary => format!(
            " summary · ⏎ jump · esc full log · {} diff · {} pick a build ",
            km.keys_of("diff"),
            km.keys_of("diff_pick")
        ),
        LogMode::Diff => format!(
            " diff · n/N ]/[ hunks · ⏎ jump to the line · esc/{} back · {} another build ",
            km.keys_of("diff"),
            km.keys_of("diff_pick")
        ),
        LogMode::Log => String::new(),
    };
    vec![Span::styled(text, Style::new().fg(t.accent))]
}

/// What the comparison says in one line (summary) or as the diff view's status.
fn compare_status(s: &State, log: &LogView) -> (String, bool) {
    match &log.compare.state {
        CompareState::Idle | CompareState::Cancelled => (
            format!(
                "{}: compare with the last green build",
                s.keymap.keys_of("diff")
            ),
            false,
        ),
        CompareState::Running { other, progress } => (
            format!(
                "{} comparing with {}: {}  (esc stops)",
                spinner(s.now),
                other.as_deref().unwrap_or("the last green build"),
                clean(progress)
            ),
            false,
        ),
        CompareState::Ready { .. } => (log.compare.size_line().unwrap_or_default(), false),
        CompareState::NoBaseline(msg) => (clean(msg).into_owned(), true),
        CompareState::Failed(msg) => (clean(msg).into_owned(), true),
    }
}

pub(super) fn draw_summary(f: &mut Frame, area: Rect, s: &State, t: &Theme, log: &LogView) {
    let Some(sum) = &log.summary else { return };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut out: Vec<Line> = vec![Line::styled(" Why this build failed", bold.fg(t.fail))];
    if !sum.ready {
        out.push(Line::styled(
            format!(" {} reading the log…", spinner(s.now)),
            t.dim(),
        ));
        f.render_widget(Paragraph::new(out), area);
        return;
    }
    let b = &log.build;
    let mut exit = vec![Span::styled(" exit code ", t.dim())];
    match b.exit_code {
        Some(code) => {
            exit.push(Span::styled(code.to_string(), bold));
            if let Some(m) = exit_meaning(code) {
                exit.push(Span::raw(format!(": {m}")));
            }
        }
        None => exit.push(Span::styled("not reported", t.dim())),
    }
    if let Some(m) = b.message.as_deref().filter(|m| !m.is_empty()) {
        exit.push(Span::styled(
            format!(" — the server says: {}", clean(m)),
            t.dim(),
        ));
    }
    out.push(Line::from(exit));
    let (status, bad) = compare_status(s, log);
    out.push(Line::from(vec![
        Span::styled(" diff ", t.dim()),
        Span::styled(
            status,
            if bad {
                Style::new().fg(t.warn)
            } else {
                Style::new()
            },
        ),
    ]));
    out.push(Line::raw(""));
    let width = area.width.saturating_sub(12) as usize;
    // Links in `Summary::links` order: the selected one is highlighted.
    let mut link = 0usize;
    let mut link_style = || {
        link += 1;
        if link - 1 == sum.cursor {
            t.selection()
        } else {
            Style::new()
        }
    };
    for st in &sum.steps {
        let title = match (&st.line, st.guessed) {
            (None, _) => " the log (the backend reports no steps)".to_string(),
            (Some(_), true) => format!(
                " ✘ step {} (where the log stopped; no step is marked failed)",
                clean(&st.name)
            ),
            (Some(_), false) => format!(" ✘ failed step {}", clean(&st.name)),
        };
        let mut row = vec![Span::styled(title, bold.fg(t.fail))];
        if let Some(n) = st.line {
            row.push(Span::styled(format!("  line {}", n + 1), link_style()));
        }
        out.push(Line::from(row));
        if st.errors.is_empty() {
            out.push(Line::styled("     no error line found in it", t.dim()));
        }
        for (n, text) in &st.errors {
            let text: String = clean(text).chars().take(width).collect();
            out.push(
                Line::from(vec![
                    Span::styled(format!("   {:>6} ", n + 1), t.dim()),
                    Span::raw(text),
                ])
                .style(link_style()),
            );
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled(
        " ⏎ jumps to the selected line · esc or i: the full log",
        t.dim(),
    ));
    // Keep the selected link on screen.
    let h = area.height as usize;
    let sel_row = out
        .iter()
        .position(|l| l.style == t.selection())
        .unwrap_or(0);
    let skip = (sel_row + 1).saturating_sub(h);
    f.render_widget(Paragraph::new(out).scroll((skip as u16, 0)), area);
}

pub(super) fn draw_diff(f: &mut Frame, area: Rect, s: &State, t: &Theme, log: &LogView) {
    let h = area.height as usize;
    if h == 0 || area.width == 0 {
        return;
    }
    let c = &log.compare;
    let CompareState::Ready { other, diff } = &c.state else {
        let (status, bad) = compare_status(s, log);
        let style = if bad {
            Style::new().fg(t.warn)
        } else {
            t.dim()
        };
        f.render_widget(
            Paragraph::new(Line::styled(status, style))
                .centered()
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    };
    let mut out: Vec<Line> = vec![Line::from(vec![
        Span::styled(
            format!(" vs {} ", crate::logdiff::fetch::label(other)),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(
                "{} · {} hunk(s) · times, hashes, paths and counters ignored",
                diff.size(),
                diff.hunks.iter().filter(|x| x.note.is_none()).count()
            ),
            t.dim(),
        ),
    ])];
    if diff.hunks.is_empty() {
        out.push(Line::styled(
            " no difference once volatile parts are ignored",
            Style::new().fg(t.ok),
        ));
    }
    let body = h.saturating_sub(1);
    let top = c.top.min(c.rows.len().saturating_sub(1));
    let top = if c.cursor >= top + body {
        c.cursor + 1 - body.max(1)
    } else {
        top.min(c.cursor)
    };
    let width = area.width as usize;
    for (i, row) in c.rows.iter().enumerate().skip(top).take(body) {
        let mut line = match *row {
            DiffRow::Header(k) => {
                let Some(hunk) = diff.hunks.get(k) else {
                    continue;
                };
                Line::styled(
                    clean(&hunk.header()).into_owned(),
                    Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
                )
            }
            DiffRow::Note(k) => {
                let Some(note) = diff.hunks.get(k).and_then(|x| x.note.as_deref()) else {
                    continue;
                };
                Line::styled(format!("  {}", clean(note)), Style::new().fg(t.warn))
            }
            DiffRow::Line(k, j) => {
                let Some(l) = diff.hunks.get(k).and_then(|x| x.lines.get(j)) else {
                    continue;
                };
                let (mark, style) = match l.tag {
                    Tag::Added => ('+', Style::new().fg(t.ok)),
                    Tag::Removed => ('-', Style::new().fg(t.fail)),
                    Tag::Context => (' ', t.dim()),
                };
                let num = l
                    .new_line
                    .map_or_else(|| "      ".to_string(), |n| format!("{:>6}", n + 1));
                let text: String = clean(&l.text)
                    .chars()
                    .skip(log.hscroll)
                    .take(width.saturating_sub(9))
                    .collect();
                Line::from(vec![
                    Span::styled(format!("{num} "), t.dim()),
                    Span::styled(format!("{mark} {text}"), style),
                ])
            }
        };
        if i == c.cursor {
            line = line.style(t.selection());
        }
        out.push(line);
    }
    f.render_widget(Paragraph::new(out), area);
}
