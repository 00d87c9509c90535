//! The release pipeline: one box per environment, in promotion order, with what it runs.

use super::lists::{ago, status_color};
use super::{Theme, clean, spinner};
use crate::app::state::State;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

pub(crate) const PIPELINE_HEIGHT: u16 = 7;

pub fn pipeline(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let r = &s.releases;
    let projects = r.projects();
    let title = match r.project_name() {
        Some(p) if projects.len() > 1 => format!(
            " {} ({} of {}, p next) ",
            clean(&p),
            r.project + 1,
            projects.len()
        ),
        Some(p) => format!(" {} ", clean(&p)),
        None if !r.loaded => format!(" {} loading environments… ", spinner(s.now)),
        None => " no release projects configured ".to_string(),
    };
    let watch = r.watch.as_ref().map(|w| {
        Span::styled(
            format!(
                " {} following {} on {} ",
                spinner(s.now),
                clean(w.candidate.as_deref().unwrap_or("the rollback")),
                clean(&w.environment)
            ),
            Style::new().fg(t.running),
        )
    });
    let mut block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            title,
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
    if let Some(w) = watch {
        block = block.title_bottom(Line::from(w));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let envs = r.environments();
    if envs.is_empty() {
        if let Some(e) = &r.error {
            f.render_widget(
                Paragraph::new(Line::styled(
                    clean(e).into_owned(),
                    Style::new().fg(t.error),
                )),
                inner,
            );
        }
        return;
    }
    let n = envs.len() as u32;
    let cols = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(inner);
    for (i, (env, col)) in envs.iter().zip(cols.iter()).enumerate() {
        let selected = i == r.env.min(envs.len() - 1);
        let protected = s
            .profile()
            .is_some_and(|p| p.protected_environments.contains(&env.name));
        let st = r.env_state(&env.project, &env.name);
        let mut lines: Vec<Line> = Vec::new();
        match st.and_then(|x| x.current.as_ref()) {
            Some(d) => {
                lines.push(Line::from(Span::styled(
                    clean(&d.candidate).into_owned(),
                    Style::new().fg(t.text).add_modifier(Modifier::BOLD),
                )));
                let when = d
                    .finished_at
                    .or(d.started_at)
                    .map(|a| ago(s.wall, a))
                    .unwrap_or_default();
                lines.push(Line::styled(
                    format!("{} · {}", when, clean(d.actor.as_deref().unwrap_or("—"))),
                    t.dim(),
                ));
            }
            None if st.is_some_and(|x| x.loading) => {
                lines.push(Line::styled(format!("{} …", spinner(s.now)), t.dim()))
            }
            None => lines.push(Line::styled("nothing deployed", t.dim())),
        }
        if let Some(d) = st.and_then(|x| x.latest.as_ref()) {
            let is_current = st
                .and_then(|x| x.current.as_ref())
                .is_some_and(|c| c.id == d.id);
            if !is_current {
                lines.push(Line::from(Span::styled(
                    format!(
                        "{} {} {}",
                        d.status.symbol(),
                        clean(&d.candidate),
                        clean(&d.raw_status)
                    ),
                    Style::new().fg(status_color(t, d.status)),
                )));
            } else {
                lines.push(Line::from(Span::styled(
                    format!("{} {}", d.status.symbol(), clean(&d.raw_status)),
                    Style::new().fg(status_color(t, d.status)),
                )));
            }
        }
        if let Some(e) = st.and_then(|x| x.error.as_ref()) {
            lines.push(Line::styled(
                format!("▲ {}", clean(e)),
                Style::new().fg(t.error),
            ));
        }
        let arrow = if i + 1 < envs.len() { " →" } else { "" };
        let name = format!(
            " {}{}{} ",
            clean(&env.name),
            if protected { " (protected)" } else { "" },
            arrow
        );
        let border = if selected { t.border_focus } else { t.border };
        let title_style = if selected {
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(t.text)
        };
        let b = Block::bordered()
            .border_type(if selected {
                BorderType::Thick
            } else {
                BorderType::Plain
            })
            .border_style(Style::new().fg(border))
            .title(Span::styled(name, title_style));
        f.render_widget(Paragraph::new(lines).block(b), *col);
    }
}
