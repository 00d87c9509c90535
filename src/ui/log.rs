//! The log viewer: step list, line numbers, cursor and selection, search highlights, wrap,
//! horizontal scroll, follow. Only the lines on screen are built, whatever the log's size.

use super::{Theme, clean, spinner};
use crate::app::logview::{LogView, TailState};
use crate::app::panes::triage::LogMode;
use crate::app::state::{State, short_id};
use crate::domain::StepStatus;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

fn step_color(t: &Theme, st: StepStatus) -> ratatui::style::Color {
    match st {
        StepStatus::Queued => t.queued,
        StepStatus::Running => t.running,
        StepStatus::Succeeded => t.ok,
        StepStatus::Failed => t.fail,
        StepStatus::Cancelled => t.cancelled,
        StepStatus::Skipped | StepStatus::Unknown => t.dim,
    }
}

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, log: &LogView) {
    let b = &log.build;
    let state = match &log.state {
        TailState::Loading => Span::styled(
            format!("{} loading", spinner(s.now)),
            Style::new().fg(t.running),
        ),
        TailState::Live => Span::styled("● live", Style::new().fg(t.running)),
        TailState::Archived => Span::styled("archived", t.dim()),
        TailState::Done(Some(st)) => Span::styled(
            format!("{} {}", st.symbol(), st.label()),
            Style::new().fg(super::lists::status_color(t, *st)),
        ),
        TailState::Done(None) => Span::styled("ended", t.dim()),
        TailState::Failed(e) => Span::styled(format!("▲ {}", clean(e)), Style::new().fg(t.error)),
    };
    let mut title = vec![
        Span::styled(
            format!(" {} · {} ", clean(&b.project), clean(short_id(&b.id))),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        state,
        Span::styled(format!(" · {} lines", log.buf.len()), t.dim()),
    ];
    if log.buf.spilled() > 0 {
        title.push(Span::styled(
            format!(
                " ({} on disk, covered by search and save)",
                log.buf.spilled()
            ),
            Style::new().fg(t.warn),
        ));
    }
    title.push(Span::raw(" "));
    let mut bottom = vec![Span::styled(
        if log.follow {
            " ↓ following "
        } else {
            " ‖ paused · G/f follow "
        },
        if log.follow {
            Style::new().fg(t.ok)
        } else {
            Style::new().fg(t.warn)
        },
    )];
    if let Some((name, st)) = log.current_step() {
        bottom.push(Span::styled(
            format!("· step {} {} ", st.symbol(), clean(&name)),
            Style::new().fg(step_color(t, st)),
        ));
    }
    if !log.search.is_empty() {
        let pos = log.matches.partition_point(|&m| m < log.cursor);
        let count = if log.matches.is_empty() && !log.only_matches {
            String::new()
        } else {
            format!(
                " {}/{}",
                (pos + 1).min(log.matches.len()),
                log.matches.len()
            )
        };
        bottom.push(Span::styled(
            format!(
                "· /{}{count}{} ",
                clean(&log.search),
                if log.only_matches {
                    " (only matches)"
                } else {
                    ""
                }
            ),
            Style::new().fg(t.warn),
        ));
    }
    if log.mark.is_some() {
        bottom.push(Span::styled(
            "· selecting (y copies) ",
            Style::new().fg(t.accent),
        ));
    }
    if log.mode != LogMode::Log {
        bottom = super::triage::bottom(s, t, log);
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(t.border_focus))
        .title(Line::from(title))
        .title_bottom(Line::from(bottom));
    let inner = block.inner(area);
    f.render_widget(block, area);
    match log.mode {
        LogMode::Summary => return super::triage::draw_summary(f, inner, s, t, log),
        LogMode::Diff => return super::triage::draw_diff(f, inner, s, t, log),
        LogMode::Log => {}
    }

    let (steps_area, text_area) = if log.steps_open && inner.width > 40 {
        let [a, b] = Layout::horizontal([Constraint::Length(26), Constraint::Min(10)]).areas(inner);
        (Some(a), b)
    } else {
        (None, inner)
    };
    if let Some(a) = steps_area {
        draw_steps(f, a, t, log);
    }
    draw_lines(f, text_area, t, log);
}

fn draw_steps(f: &mut Frame, area: Rect, t: &Theme, log: &LogView) {
    let current = log.buf.step_for_line(log.cursor);
    let lines: Vec<Line> = log
        .buf
        .steps()
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let style = if Some(i) == current {
                t.selection()
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(
                    format!(" {} ", st.status.symbol()),
                    Style::new().fg(step_color(t, st.status)),
                ),
                Span::styled(clean(&st.name).into_owned(), style),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(ratatui::widgets::Borders::RIGHT)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(" steps  [ ] ", t.dim()));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_lines(f: &mut Frame, area: Rect, t: &Theme, log: &LogView) {
    let height = area.height as usize;
    if height == 0 || area.width == 0 {
        return;
    }
    if log.buf.is_empty() {
        let msg = match &log.state {
            TailState::Loading | TailState::Live => "waiting for the first line…",
            _ => "this build has no log",
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim())).centered(), area);
        return;
    }
    let gutter = if log.numbers {
        (log.buf.len().to_string().len() + 1) as u16
    } else {
        0
    };
    let text_w = area.width.saturating_sub(gutter) as usize;
    let hl = Style::new().bg(t.warn).fg(t.badge_fg);
    let needle = log.needle.as_ref();
    let sel = log.mark.map(|m| (m.min(log.cursor), m.max(log.cursor)));

    // Which line numbers are on screen: in match-filter mode only matches, else a window.
    let first = log.first_in_memory();
    let last = log.last_line().unwrap_or(0);
    let numbers: Vec<u64> = if log.only_matches {
        let pos = log.matches.partition_point(|&m| m < log.cursor);
        let start = pos.saturating_sub(height / 2);
        log.matches
            .iter()
            .copied()
            .skip(start)
            .take(height)
            .collect()
    } else {
        let top = if log.follow {
            // Anchor the end of the log at the bottom of the view.
            let mut rows = 0usize;
            let mut top = last;
            loop {
                let h = row_height(log, top, text_w);
                if rows + h > height {
                    top += 1;
                    break;
                }
                rows += h;
                if top == first {
                    break;
                }
                top -= 1;
            }
            top.min(last)
        } else {
            log.top.max(first)
        };
        (top..=last).take(height).collect()
    };

    let mut out: Vec<Line> = Vec::with_capacity(height);
    for n in numbers {
        if out.len() >= height {
            break;
        }
        let Some(line) = log.buf.get(n) else { continue };
        let selected = n == log.cursor || sel.is_some_and(|(a, b)| (a..=b).contains(&n));
        let rows: Vec<Line> = if log.wrap {
            line.to_wrapped_lines(
                text_w.max(1),
                0,
                height - out.len(),
                needle.map(|nd| (nd, hl)),
            )
        } else {
            vec![match needle {
                Some(nd) => line.to_line_window_highlighted(log.hscroll, text_w, nd, hl),
                None => line.to_line_window(log.hscroll, text_w),
            }]
        };
        for (i, mut row) in rows.into_iter().enumerate() {
            let mut spans = Vec::with_capacity(row.spans.len() + 1);
            if log.numbers {
                let label = if i == 0 {
                    format!("{:>w$} ", n + 1, w = gutter as usize - 1)
                } else {
                    " ".repeat(gutter as usize)
                };
                spans.push(Span::styled(label, t.dim()));
            }
            spans.append(&mut row.spans);
            let mut l = Line::from(spans);
            if selected {
                l = l.style(t.selection());
            }
            out.push(l);
        }
    }
    f.render_widget(Paragraph::new(out), area);
}

/// Screen rows a line takes (1 unless wrapping).
fn row_height(log: &LogView, n: u64, width: usize) -> usize {
    if !log.wrap {
        return 1;
    }
    log.buf
        .get(n)
        .map_or(1, |l| l.wrapped_rows(width.max(1)).max(1))
}
