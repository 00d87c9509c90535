//! The list panes (Projects, Developers, Secrets) and the detail view of one row.

use super::{Theme, clean, spinner};
use crate::app::state::short_id;
use crate::app::state::{Conn, ListPane, State};
use crate::domain::{Build, BuildStatus, Developer, LastBuild, Project, Resource, Row, Secret};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row as TRow, Table, Wrap};

/// How one row type turns into table cells.
trait Columns: Row {
    fn header() -> &'static [&'static str];
    /// Columns of names that differ at their end (`demo-freecommit` / `demo-freecommit-alice`):
    /// cut in the middle, so that both ends stay readable.
    fn names() -> &'static [usize] {
        &[]
    }
    /// A column only some backends fill (a build's COMMIT): hidden when no loaded row has it.
    fn optional() -> Option<usize> {
        None
    }
    fn fills_optional(&self) -> bool {
        true
    }
    fn widths(width: u16) -> Vec<Constraint>;
    fn cells(&self, s: &State, t: &Theme) -> Vec<Line<'static>>;
    fn detail(&self, s: &State) -> Vec<(&'static str, String)>;
}

pub(crate) fn status_color(t: &Theme, st: BuildStatus) -> ratatui::style::Color {
    match st {
        BuildStatus::Queued => t.queued,
        BuildStatus::Running => t.running,
        BuildStatus::Succeeded => t.ok,
        BuildStatus::Failed => t.fail,
        BuildStatus::Cancelled => t.cancelled,
        BuildStatus::Unknown => t.dim,
    }
}

/// "3m ago", "2h ago", "5d ago".
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 0 => "just now".into(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s if s < 86_400 * 60 => format!("{}d ago", s / 86_400),
        s => format!("{}mo ago", s / (86_400 * 30)),
    }
}

impl Columns for Project {
    fn header() -> &'static [&'static str] {
        &["", "PROJECT", "LAST BUILD", "MEANING", "WHEN", "TREND"]
    }
    fn widths(width: u16) -> Vec<Constraint> {
        let wide = width >= 118;
        vec![
            Constraint::Length(1),
            Constraint::Fill(3),
            Constraint::Length(14),
            // The meaning gives way to the name first on a narrow screen.
            Constraint::Fill(if wide { 2 } else { 1 }),
            Constraint::Length(if wide { 10 } else { 8 }),
            Constraint::Length(trend_width(width)),
        ]
    }
    fn cells(&self, s: &State, t: &Theme) -> Vec<Line<'static>> {
        let (recent, last) = shown_last_build(self, s);
        let (sym, status, meaning, when) = match last {
            Some(b) => {
                let c = status_color(t, b.status);
                (
                    Span::styled(b.status.symbol(), Style::new().fg(c)),
                    Span::styled(
                        format!(
                            "{} {}",
                            b.status.label(),
                            b.exit_code.map(|c| c.to_string()).unwrap_or_default()
                        ),
                        Style::new().fg(c),
                    ),
                    clean(b.message.as_deref().unwrap_or("")).into_owned(),
                    b.at.map(|at| ago(s.wall, at)).unwrap_or_default(),
                )
            }
            None => {
                let (word, why) = no_last_build(recent);
                (
                    Span::styled("·", t.dim()),
                    Span::styled(word, t.dim()),
                    why,
                    String::new(),
                )
            }
        };
        vec![
            Line::from(sym),
            Line::from(clean(&self.name).into_owned()),
            Line::from(status),
            Line::from(Span::styled(meaning, t.dim())),
            Line::from(Span::styled(when, t.dim())),
            recent
                .map(|e| trend_line(&e.builds, s.cols.saturating_sub(2), t))
                .unwrap_or_default(),
        ]
    }
    fn detail(&self, s: &State) -> Vec<(&'static str, String)> {
        let mut out = vec![("id", self.id.clone()), ("name", self.name.clone())];
        if let Some(d) = &self.description {
            out.push(("description", d.clone()));
        }
        let (recent, last) = shown_last_build(self, s);
        match last {
            Some(b) => {
                out.push((
                    "last build",
                    format!("{} {}", b.status.symbol(), b.status.label()),
                ));
                out.push(("raw status", b.raw.clone()));
                if let Some(c) = b.exit_code {
                    out.push(("exit code", c.to_string()));
                }
                if let Some(m) = &b.message {
                    out.push(("meaning", m.clone()));
                }
                if let Some(at) = b.at {
                    out.push((
                        "at",
                        format!(
                            "{} ({})",
                            at.format("%Y-%m-%d %H:%M:%S UTC"),
                            ago(s.wall, at)
                        ),
                    ));
                }
            }
            None => {
                let (word, why) = no_last_build(recent);
                out.push(("last build", format!("{word} {why}").trim().to_string()));
            }
        }
        if let Some(e) = recent.filter(|e| !e.builds.is_empty()) {
            let trend = crate::domain::Trend::of(&e.builds, e.builds.len());
            out.push(("trend", trend_text(&trend)));
        }
        out
    }
}

/// The row's recent builds and the last build shown: the list's own, else the newest of the
/// recent builds asked for the row.
fn shown_last_build<'a>(
    p: &Project,
    s: &'a State,
) -> (Option<&'a crate::app::recent::Entry>, Option<LastBuild>) {
    let recent = crate::app::recent::of(s, &p.id);
    let last = p
        .last_build
        .clone()
        .or_else(|| recent.and_then(|e| e.builds.first()).map(LastBuild::of));
    (recent, last)
}

/// What the LAST BUILD and MEANING cells say when no build is known (yet).
fn no_last_build(recent: Option<&crate::app::recent::Entry>) -> (&'static str, String) {
    match recent {
        Some(e) if e.unsupported => ("—", "this backend keeps no build history".into()),
        Some(e) if e.answered && e.error.is_none() => ("never built", String::new()),
        Some(e) if e.error.is_some() => (
            "unknown",
            format!(
                "cannot read its builds: {}",
                e.error.as_deref().unwrap_or("")
            ),
        ),
        _ => ("…", "asking for its builds".into()),
    }
}

/// The TREND column's width: strip and rate; the duration sparkline too on a wide screen.
fn trend_width(width: u16) -> u16 {
    match width {
        // strip, " 100%", " " + sparkline, " flaky" (" ≈" when narrow)
        w if w >= TREND_WIDER => 2 * TREND_CELLS_WIDE as u16 + 12,
        w if w >= TREND_WIDE => TREND_CELLS_WIDE as u16 + 11,
        _ => TREND_CELLS as u16 + 7,
    }
}

/// Inner widths from which the trend shows ten builds and `flaky` in words, then a sparkline.
const TREND_WIDE: u16 = 118;
const TREND_WIDER: u16 = 148;

/// Builds in the strip on an ordinary and on a wide screen.
const TREND_CELLS: usize = 6;
const TREND_CELLS_WIDE: usize = 10;

/// `✔✔✘✔✔ 80% ▂▃▅▂▁ flaky` (`≈` on a narrow screen): the last builds oldest to newest (coloured symbols, so it
/// reads without colour), the success rate, durations, and a mark on a flaky project.
fn trend_line(builds: &[Build], width: u16, t: &Theme) -> Line<'static> {
    let n = if width >= TREND_WIDE {
        TREND_CELLS_WIDE
    } else {
        TREND_CELLS
    };
    let trend = crate::domain::Trend::of(builds, n);
    if trend.is_empty() {
        return Line::default();
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    // Right-aligned so that the newest results line up from row to row.
    let pad = n.saturating_sub(trend.results.len());
    if pad > 0 {
        spans.push(Span::raw(" ".repeat(pad)));
    }
    for st in &trend.results {
        spans.push(Span::styled(
            st.symbol(),
            Style::new().fg(status_color(t, *st)),
        ));
    }
    spans.push(Span::styled(
        match trend.success_rate {
            Some(r) => format!(" {r:>3}%"),
            None => "    ".to_string(),
        },
        t.dim(),
    ));
    if width >= TREND_WIDER {
        spans.push(Span::styled(
            format!(" {:>n$}", crate::domain::sparkline(&trend.durations)),
            Style::new().fg(t.accent),
        ));
    }
    if trend.flaky {
        let mark = if width >= TREND_WIDE {
            " flaky"
        } else {
            " ≈"
        };
        spans.push(Span::styled(mark, Style::new().fg(t.warn)));
    }
    Line::from(spans)
}

/// The trend in words, for details and the top of a project's history.
fn trend_text(trend: &crate::domain::Trend) -> String {
    let strip: String = trend.results.iter().map(|s| s.symbol()).collect();
    let rate = trend
        .success_rate
        .map(|r| format!(" · {r}% passed"))
        .unwrap_or_default();
    let flaky = if trend.flaky { " · flaky" } else { "" };
    format!("{strip}{rate}{flaky} (oldest → newest)")
}

/// "1m 05s", "2h 03m".
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Columns for Build {
    fn optional() -> Option<usize> {
        Some(6)
    }
    fn fills_optional(&self) -> bool {
        self.commit.is_some() || self.git_ref.is_some()
    }
    fn header() -> &'static [&'static str] {
        &[
            "", "RUN", "PROJECT", "STATUS", "STARTED", "DURATION", "COMMIT", "MESSAGE",
        ]
    }
    fn widths(width: u16) -> Vec<Constraint> {
        let wide = width >= 120;
        vec![
            Constraint::Length(1),
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Length(10),
            Constraint::Length(if wide { 19 } else { 9 }),
            Constraint::Length(9),
            // `sha7 ref` when there is room, the SHA alone on a medium screen, none below.
            Constraint::Length(match width {
                w if w >= 118 => 20,
                w if w >= 94 => 8,
                _ => 0,
            }),
            Constraint::Fill(2),
        ]
    }
    fn cells(&self, s: &State, t: &Theme) -> Vec<Line<'static>> {
        let c = status_color(t, self.status);
        // SHA first, so that a narrow column cut to 7 characters still shows it whole.
        let commit = match (self.short_commit(), self.short_ref()) {
            (Some(c), Some(r)) => format!("{c} {r}"),
            (Some(c), None) => c,
            (None, Some(r)) => r,
            (None, None) => String::new(),
        };
        let start = self.started_at.or(self.queued_at);
        let started = start
            .map(|at| ago(s.wall, at))
            .unwrap_or_else(|| "—".into());
        let dur = match (start, self.finished_at) {
            (Some(a), Some(b)) => duration((b - a).num_seconds()),
            // Live: grows while the build runs.
            (Some(a), None) if self.status == BuildStatus::Running => {
                duration((s.wall - a).num_seconds())
            }
            _ => String::new(),
        };
        let exit = match (self.exit_code, &self.message) {
            (Some(code), Some(m)) => format!("{code} · {m}"),
            (Some(code), None) => code.to_string(),
            (None, Some(m)) => m.clone(),
            (None, None) => String::new(),
        };
        // The first column is also the mark column: a marked row (Space) shows ◆.
        let first = if s.lists.builds.marked.contains(&self.id) {
            Span::styled("◆", Style::new().fg(t.accent).add_modifier(Modifier::BOLD))
        } else {
            Span::styled(self.status.symbol(), Style::new().fg(c))
        };
        vec![
            Line::from(first),
            Line::from(Span::styled(
                clean(short_id(&self.id)).into_owned(),
                t.dim(),
            )),
            Line::from(clean(&self.project).into_owned()),
            Line::from(Span::styled(self.status.label(), Style::new().fg(c))),
            Line::from(Span::styled(started, t.dim())),
            Line::from(dur),
            Line::from(Span::styled(clean(&commit).into_owned(), t.dim())),
            Line::from(Span::styled(clean(&exit).into_owned(), t.dim())),
        ]
    }
    fn detail(&self, s: &State) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("id", self.id.clone()),
            ("project", self.project.clone()),
            (
                "status",
                format!("{} {}", self.status.symbol(), self.status.label()),
            ),
            ("raw status", self.raw_status.clone()),
        ];
        if let Some(r) = &self.run_id {
            out.push(("run id", r.clone()));
        }
        if let Some(b) = &self.build_id {
            out.push(("build id", b.clone()));
        }
        if let Some(r) = &self.git_ref {
            out.push(("ref", r.clone()));
        }
        if let Some(c) = &self.commit {
            out.push(("commit", c.clone()));
        }
        if let Some(c) = self.exit_code {
            out.push(("exit code", c.to_string()));
        }
        if let Some(m) = &self.message {
            out.push(("meaning", m.clone()));
        }
        // Enter shows these details instead of a log: say why there is none.
        if let (Some(caps), Some(kind)) = (s.caps(), s.kind())
            && !caps.builds.logs
        {
            out.push((
                "log",
                format!(
                    "none: {} keeps no build logs (the CI that ran the build has them)",
                    kind.label()
                ),
            ));
        }
        for (k, v) in [
            ("queued", self.queued_at),
            ("started", self.started_at),
            ("finished", self.finished_at),
        ] {
            if let Some(at) = v {
                out.push((
                    k,
                    format!(
                        "{} ({})",
                        at.format("%Y-%m-%d %H:%M:%S UTC"),
                        ago(s.wall, at)
                    ),
                ));
            }
        }
        if let Some(t) = &self.trigger {
            out.push(("trigger", t.clone()));
        }
        out
    }
}

impl Columns for crate::domain::Deployment {
    fn header() -> &'static [&'static str] {
        &[
            "",
            "ID",
            "CANDIDATE",
            "FROM",
            "STATUS",
            "ACTOR",
            "STARTED",
            "TOOK",
            "ERROR",
        ]
    }
    fn widths(width: u16) -> Vec<Constraint> {
        let wide = width >= 120;
        vec![
            Constraint::Length(1),
            Constraint::Length(6),
            Constraint::Length(16),
            Constraint::Length(if wide { 16 } else { 0 }),
            Constraint::Length(11),
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Fill(3),
        ]
    }
    fn cells(&self, s: &State, t: &Theme) -> Vec<Line<'static>> {
        let c = status_color(t, self.status);
        let took = match (self.started_at, self.finished_at) {
            (Some(a), Some(b)) => duration((b - a).num_seconds()),
            (Some(a), None) if !self.status.is_terminal() => duration((s.wall - a).num_seconds()),
            _ => String::new(),
        };
        vec![
            Line::from(Span::styled(self.status.symbol(), Style::new().fg(c))),
            Line::from(Span::styled(clean(&self.id).into_owned(), t.dim())),
            Line::from(clean(&self.candidate).into_owned()),
            Line::from(Span::styled(
                clean(self.from_candidate.as_deref().unwrap_or("—")).into_owned(),
                t.dim(),
            )),
            Line::from(Span::styled(
                clean(&self.raw_status).into_owned(),
                Style::new().fg(c),
            )),
            Line::from(Span::styled(
                clean(self.actor.as_deref().unwrap_or("—")).into_owned(),
                t.dim(),
            )),
            Line::from(Span::styled(
                self.started_at.map(|a| ago(s.wall, a)).unwrap_or_default(),
                t.dim(),
            )),
            Line::from(took),
            Line::from(Span::styled(
                clean(self.error.as_deref().unwrap_or("")).into_owned(),
                Style::new().fg(t.error),
            )),
        ]
    }
    fn detail(&self, s: &State) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("id", self.id.clone()),
            ("project", self.project.clone()),
            ("environment", self.environment.clone()),
            ("candidate", self.candidate.clone()),
            ("release", self.release.clone().unwrap_or_default()),
            (
                "from",
                self.from_candidate.clone().unwrap_or_else(|| "—".into()),
            ),
            (
                "status",
                format!("{} {}", self.status.symbol(), self.raw_status),
            ),
            ("actor", self.actor.clone().unwrap_or_else(|| "—".into())),
        ];
        for (k, v) in [("started", self.started_at), ("finished", self.finished_at)] {
            if let Some(at) = v {
                out.push((
                    k,
                    format!(
                        "{} ({})",
                        at.format("%Y-%m-%d %H:%M:%S UTC"),
                        ago(s.wall, at)
                    ),
                ));
            }
        }
        if let Some(e) = &self.error {
            out.push(("error", e.clone()));
        }
        out
    }
}

impl Columns for crate::app::action::AuditEntry {
    fn header() -> &'static [&'static str] {
        &[
            "TIME", "PROFILE", "USER", "ACTION", "TARGET", "REQUEST", "RESULT",
        ]
    }
    fn names() -> &'static [usize] {
        &[1]
    }
    fn widths(_width: u16) -> Vec<Constraint> {
        vec![
            Constraint::Length(19),
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Fill(2),
        ]
    }
    fn cells(&self, _s: &State, t: &Theme) -> Vec<Line<'static>> {
        let ok = self.result == "ok";
        vec![
            Line::from(Span::styled(
                self.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                t.dim(),
            )),
            Line::from(clean(&self.profile).into_owned()),
            Line::from(Span::styled(clean(&self.user).into_owned(), t.dim())),
            Line::from(clean(&self.action).into_owned()),
            Line::from(clean(&self.target).into_owned()),
            Line::from(Span::styled(clean(&self.request).into_owned(), t.dim())),
            Line::from(Span::styled(
                clean(&self.result).into_owned(),
                Style::new().fg(if ok { t.ok } else { t.error }),
            )),
        ]
    }
    fn detail(&self, _s: &State) -> Vec<(&'static str, String)> {
        vec![
            ("time", self.time.to_rfc3339()),
            ("profile", self.profile.clone()),
            ("user", self.user.clone()),
            ("action", self.action.clone()),
            ("target", self.target.clone()),
            ("request", self.request.clone()),
            ("result", self.result.clone()),
        ]
    }
}

impl Columns for crate::app::overview::OverviewItem {
    fn header() -> &'static [&'static str] {
        &[
            "", "PROFILE", "BACKEND", "WHAT", "SUBJECT", "DETAIL", "WHEN",
        ]
    }
    fn names() -> &'static [usize] {
        &[1]
    }
    fn widths(width: u16) -> Vec<Constraint> {
        // The backend is the first to go on a narrow screen (the profile's name says it).
        vec![
            Constraint::Length(1),
            Constraint::Length(if width >= 118 { 24 } else { 16 }),
            Constraint::Length(if width >= 98 { 13 } else { 0 }),
            Constraint::Length(11),
            Constraint::Fill(3),
            Constraint::Fill(3),
            Constraint::Length(9),
        ]
    }
    fn cells(&self, s: &State, t: &Theme) -> Vec<Line<'static>> {
        let st = self.what.status();
        let c = status_color(t, st);
        vec![
            Line::from(Span::styled(st.symbol(), Style::new().fg(c))),
            Line::from(clean(&self.profile).into_owned()),
            Line::from(Span::styled(self.backend.as_str(), t.dim())),
            Line::from(Span::styled(self.what.label(), Style::new().fg(c))),
            Line::from(clean(&self.title).into_owned()),
            Line::from(Span::styled(clean(&self.detail).into_owned(), t.dim())),
            Line::from(Span::styled(
                self.at.map(|a| ago(s.wall, a)).unwrap_or_default(),
                t.dim(),
            )),
        ]
    }
    fn detail(&self, _s: &State) -> Vec<(&'static str, String)> {
        vec![
            ("profile", self.profile.clone()),
            ("backend", self.backend.label().to_string()),
            ("what", self.what.label().to_string()),
            ("subject", self.title.clone()),
            ("detail", self.detail.clone()),
            ("opens", self.pane.title().to_string()),
        ]
    }
}

impl Columns for Developer {
    fn header() -> &'static [&'static str] {
        &["ID", "USERNAME", "EMAIL", "ROLE"]
    }
    fn widths(_width: u16) -> Vec<Constraint> {
        vec![
            Constraint::Length(6),
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(16),
        ]
    }
    fn cells(&self, _s: &State, t: &Theme) -> Vec<Line<'static>> {
        // `ROLE_ADMIN` → `admin`: the prefix is Spring's, not information.
        let role = self
            .roles
            .iter()
            .map(|r| r.strip_prefix("ROLE_").unwrap_or(r).to_lowercase())
            .collect::<Vec<_>>()
            .join(", ");
        let role_style = if role.contains("admin") {
            Style::new().fg(t.warn)
        } else {
            t.dim()
        };
        vec![
            Line::from(Span::styled(clean(&self.id).into_owned(), t.dim())),
            Line::from(clean(&self.username).into_owned()),
            Line::from(clean(self.email.as_deref().unwrap_or("—")).into_owned()),
            Line::from(Span::styled(clean(&role).into_owned(), role_style)),
        ]
    }
    fn detail(&self, _s: &State) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.clone()),
            ("username", self.username.clone()),
            ("email", self.email.clone().unwrap_or_else(|| "—".into())),
            ("roles", self.roles.join(", ")),
        ]
    }
}

impl Columns for Secret {
    fn header() -> &'static [&'static str] {
        &["NAME", "SCOPE", "ENVIRONMENT", "VALUE"]
    }
    fn widths(_width: u16) -> Vec<Constraint> {
        vec![
            Constraint::Fill(3),
            Constraint::Length(11),
            Constraint::Fill(2),
            Constraint::Fill(2),
        ]
    }
    fn cells(&self, _s: &State, t: &Theme) -> Vec<Line<'static>> {
        let scope_style = if self.scope == "PUBLIC" {
            Style::new().fg(t.warn)
        } else {
            Style::new().fg(t.text)
        };
        vec![
            Line::from(clean(&self.name).into_owned()),
            Line::from(Span::styled(clean(&self.scope).into_owned(), scope_style)),
            Line::from(clean(self.environment.as_deref().unwrap_or("—")).into_owned()),
            Line::from(
                self.value
                    .as_deref()
                    .map_or(Span::styled("•••• hidden", t.dim()), |v| {
                        Span::raw(clean(v).into_owned())
                    }),
            ),
        ]
    }
    fn detail(&self, _s: &State) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.clone()),
            ("name", self.name.clone()),
            ("scope", self.scope.clone()),
            (
                "environment",
                self.environment.clone().unwrap_or_else(|| "—".into()),
            ),
            ("value", "never shown by shipdeck".into()),
        ]
    }
}

/// What the body shows and where: the drawing and the mouse agree on it.
pub(crate) enum Body {
    Connection,
    Log,
    /// A panel above (the trend of a project's history, or the release pipeline), then the
    /// list pane.
    List {
        panel: Option<(Panel, Rect)>,
        list: Rect,
    },
}

pub(crate) enum Panel {
    Trend { tall: bool },
    Pipeline,
}

pub(crate) fn body(s: &State, area: Rect) -> Body {
    // Before the login answers: cached rows if there are any, else the connection panel.
    let cached = match s.pane {
        Resource::Projects => !s.lists.projects.rows.is_empty(),
        Resource::Developers => !s.lists.developers.rows.is_empty(),
        Resource::Secrets => !s.lists.secrets.rows.is_empty(),
        _ => false,
    };
    if s.session.is_none() && !(cached && matches!(s.conn, Conn::Connecting | Conn::Offline { .. }))
    {
        return Body::Connection;
    }
    let split = |h: u16| {
        let [top, rest] =
            ratatui::layout::Layout::vertical([Constraint::Length(h), Constraint::Min(3)])
                .areas(area);
        (top, rest)
    };
    match (s.pane, &s.log, &s.builds_scope) {
        (Resource::Builds, Some(_), _) => Body::Log,
        (Resource::Builds, None, crate::domain::BuildScope::Project { .. })
            if !s.lists.builds.rows.is_empty() && s.detail.is_none() =>
        {
            let tall = area.height >= 30;
            let (top, rest) = split(if tall { 5 } else { 3 });
            Body::List {
                panel: Some((Panel::Trend { tall }, top)),
                list: rest,
            }
        }
        (Resource::Releases, _, _) => {
            let (top, rest) = split(super::releases::PIPELINE_HEIGHT);
            Body::List {
                panel: Some((Panel::Pipeline, top)),
                list: rest,
            }
        }
        _ => Body::List {
            panel: None,
            list: area,
        },
    }
}

/// The list on screen: positions in `visible` of its rows, and the screen row of the first.
pub(crate) fn rows_on_screen(s: &State, list: Rect) -> (std::ops::Range<usize>, u16) {
    // Inside the block's border, under the table's header.
    let height = list.height.saturating_sub(3) as usize;
    (s.lists.meta(s.pane).window(height), list.y + 2)
}

pub(crate) fn draw_body(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let (panel, list) = match body(s, area) {
        Body::Connection => return draw_connection(f, area, s, t),
        Body::Log => {
            if let Some(log) = &s.log {
                super::log::draw(f, area, s, t, log);
            }
            return;
        }
        Body::List { panel, list } => (panel, list),
    };
    match panel {
        Some((Panel::Trend { tall }, top)) => {
            if let crate::domain::BuildScope::Project { name, .. } = &s.builds_scope {
                trend_panel(f, top, s, t, name, tall);
            }
        }
        Some((Panel::Pipeline, top)) => super::releases::pipeline(f, top, s, t),
        None => {}
    }
    let area = list;
    match s.pane {
        Resource::Projects => pane(f, area, s, t, &s.lists.projects, Resource::Projects),
        Resource::Developers => pane(f, area, s, t, &s.lists.developers, Resource::Developers),
        Resource::Secrets => pane(f, area, s, t, &s.lists.secrets, Resource::Secrets),
        Resource::Builds => pane(f, area, s, t, &s.lists.builds, Resource::Builds),
        Resource::Releases => pane(f, area, s, t, &s.lists.releases, Resource::Releases),
        Resource::Audit => pane(f, area, s, t, &s.lists.audit, Resource::Audit),
        Resource::Overview => pane(f, area, s, t, &s.lists.overview, Resource::Overview),
    }
}

/// The top of a project's history: its results as a strip (oldest → newest, as many as fit),
/// the durations as a sparkline and the figures, from the rows already loaded.
fn trend_panel(f: &mut Frame, area: Rect, s: &State, t: &Theme, name: &str, tall: bool) {
    let blk = block(
        Line::styled(
            format!(" Trend of {} ", clean(name)),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        t,
    );
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    let builds = &s.lists.builds.rows;
    // Two columns a build when tall (larger than the Projects column), one otherwise.
    let cell = if tall { 2 } else { 1 };
    // One line when short: the strip leaves room for the figures.
    let room = if tall {
        inner.width as usize / cell
    } else {
        (inner.width as usize).saturating_sub(40)
    };
    let n = room.saturating_sub(2).clamp(1, 60);
    let trend = crate::domain::Trend::of(builds, n);
    let strip: Vec<Span<'static>> = trend
        .results
        .iter()
        .map(|st| {
            let sym = if tall {
                format!("{} ", st.symbol())
            } else {
                st.symbol().to_string()
            };
            Span::styled(sym, Style::new().fg(status_color(t, *st)))
        })
        .collect();
    let mut durations: Vec<i64> = trend.durations.iter().flatten().copied().collect();
    durations.sort_unstable();
    let mut facts = vec![match trend.success_rate {
        Some(r) => format!("{r}% passed"),
        None => "nothing finished yet".to_string(),
    }];
    let last = trend.results.len();
    facts.push(if tall {
        format!("last {last} builds, oldest → newest")
    } else {
        format!("last {last}")
    });
    match (durations.get(durations.len() / 2), durations.last()) {
        (Some(mid), Some(max)) if tall => facts.push(format!(
            "median {} · longest {}",
            duration(*mid),
            duration(*max)
        )),
        (Some(mid), _) => facts.push(format!("median {}", duration(*mid))),
        _ => {}
    }
    let mut facts_line = vec![Span::styled(facts.join(" · "), t.dim())];
    if trend.flaky {
        facts_line.push(Span::styled(
            " · flaky: results flip without a new commit",
            Style::new().fg(t.warn),
        ));
    }
    let lines = if tall {
        vec![
            Line::from(strip),
            Line::styled(
                crate::domain::sparkline(&trend.durations)
                    .chars()
                    .flat_map(|c| [c, c])
                    .collect::<String>(),
                Style::new().fg(t.accent),
            ),
            Line::from(facts_line),
        ]
    } else {
        let mut one = strip;
        one.push(Span::raw("  "));
        one.extend(facts_line);
        vec![Line::from(one)]
    };
    f.render_widget(Paragraph::new(lines), inner);
}

fn block<'a>(title: Line<'a>, t: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(t.border_focus))
        .title(title)
}

/// Before a session exists: connecting, login failed, unavailable, offline.
fn draw_connection(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let name = s
        .profile()
        .map(|p| clean(&p.name).into_owned())
        .unwrap_or_default();
    let url = s
        .profile()
        .map(|p| clean(&p.url).into_owned())
        .unwrap_or_default();
    let (title, color, lines): (&str, _, Vec<Line>) = match &s.conn {
        Conn::Connecting | Conn::Idle | Conn::Online => (
            "Connecting",
            t.running,
            vec![Line::from(format!(
                "{} logging in to {url} …",
                spinner(s.now)
            ))],
        ),
        Conn::AuthFailed(m) => (
            "Login failed",
            t.error,
            vec![
                Line::from(clean(m).into_owned()),
                Line::from(""),
                Line::styled(
                    "Check the profile's credentials (shipdeck profiles), then press r to try again.",
                    t.dim(),
                ),
            ],
        ),
        Conn::Unavailable(m) => (
            "Not available",
            t.warn,
            vec![
                Line::from(clean(m).into_owned()),
                Line::from(""),
                Line::styled("Switch profile with :profile <name>.", t.dim()),
            ],
        ),
        Conn::Offline {
            reason,
            retry_at,
            attempt,
        } => (
            "Offline",
            t.warn,
            vec![
                Line::from(clean(reason).into_owned()),
                Line::from(""),
                Line::styled(
                    format!(
                        "{attempt} failed login(s) · next try in {} · r to try now",
                        crate::api::login_gate::human(std::time::Duration::from_millis(
                            retry_at.saturating_sub(s.now)
                        ))
                    ),
                    t.dim(),
                ),
            ],
        ),
    };
    let title = Line::from(vec![
        Span::styled(
            format!(" {title} "),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("· {name} "), t.dim()),
    ]);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(block(title, t).padding(ratatui::widgets::Padding::uniform(1)));
    f.render_widget(p, area);
}

fn pane<T: Columns>(f: &mut Frame, area: Rect, s: &State, t: &Theme, l: &ListPane<T>, r: Resource) {
    if let Some(d) = &s.detail
        && let Some(row) = l.rows.iter().find(|x| x.id() == d.id)
    {
        return detail(f, area, s, t, row);
    }
    let title = title_line(s, t, l, r);
    let status = status_line(s, t, l);
    let mut blk = block(title, t);
    if let Some(st) = status {
        blk = blk.title_bottom(st);
    } else if l.stale && l.error.is_none() {
        blk = blk.title_bottom(Line::styled(
            " last seen rows (cache) · refreshing… ",
            t.dim(),
        ));
    }
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    if l.visible.is_empty() {
        let msg = if l.loading.is_some() {
            format!("{} loading {}…", spinner(s.now), r.as_str())
        } else if let Some(m) = l.filter_missing {
            crate::domain::missing_note(m, r.as_str())
        } else if !l.filter.is_empty() {
            format!("no {} match “{}”", r.as_str(), clean(&l.filter))
        } else if l.error.is_some() {
            String::new()
        } else if r == Resource::Releases {
            "no deployments to this environment yet".to_string()
        } else {
            format!("no {}", r.as_str())
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim())).centered(), inner);
        return;
    }
    // Only the rows on screen are built: frame time does not grow with the list.
    let height = inner.height.saturating_sub(1) as usize;
    let std::ops::Range { start: offset, end } = l.window(height);
    // The columns as the table will lay them out: a cell longer than its column ends in "…".
    let mut widths = T::widths(inner.width);
    if let Some(i) = T::optional()
        && !l.rows.iter().any(Columns::fills_optional)
        && let Some(w) = widths.get_mut(i)
    {
        *w = Constraint::Length(0);
    }
    let cols = ratatui::layout::Layout::horizontal(widths.clone())
        .flex(ratatui::layout::Flex::Start) // as `Table` lays out its columns
        .spacing(2)
        .split(Rect::new(0, 0, inner.width, 1));
    let rows: Vec<TRow> = l.visible[offset..end]
        .iter()
        .enumerate()
        .map(|(i, &idx)| {
            let cells = l.rows[idx].cells(s, t).into_iter().zip(cols.iter());
            let row = TRow::new(cells.enumerate().map(|(i, (line, w))| {
                let w = w.width as usize;
                Cell::from(if T::names().contains(&i) {
                    fit_name(line, w)
                } else {
                    fit(line, w)
                })
            }));
            if offset + i == l.selected {
                row.style(t.selection())
            } else {
                row
            }
        })
        .collect();
    let header = TRow::new(T::header().iter().map(|h| Cell::from(*h)))
        .style(Style::new().fg(t.accent).add_modifier(Modifier::BOLD));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(2)
        .style(if l.stale { t.dim() } else { Style::new() });
    f.render_widget(table, inner);
}

fn title_line<'a, T>(s: &State, t: &Theme, l: &ListPane<T>, r: Resource) -> Line<'a> {
    let title = match (&s.builds_scope, r) {
        (crate::domain::BuildScope::Project { name, .. }, Resource::Builds) => {
            format!(" Builds of {} ", clean(name))
        }
        (_, Resource::Builds) => " Builds · queued and running ".to_string(),
        (_, Resource::Releases) => match s.releases.selected() {
            Some((_, env)) => format!(" Deployments to {} ", clean(&env)),
            None => " Deployments ".to_string(),
        },
        _ => format!(" {} ", r.title()),
    };
    let mut spans = vec![Span::styled(
        title,
        Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
    )];
    let count = match (l.total, l.has_more) {
        (Some(total), _) if l.visible.len() != l.rows.len() => {
            format!(
                "{} of {} loaded · {} total",
                l.visible.len(),
                l.rows.len(),
                total
            )
        }
        (Some(total), true) => format!("{} of {total}", l.rows.len()),
        (Some(total), false) => format!("{total}"),
        (None, true) => format!("{}+", l.rows.len()),
        (None, false) => format!("{}", l.rows.len()),
    };
    spans.push(Span::styled(format!("· {count} "), t.dim()));
    if !l.marked.is_empty() {
        spans.push(Span::styled(
            format!("· {} marked (x/R: all, esc: clear) ", l.marked.len()),
            Style::new().fg(t.accent),
        ));
    }
    if let Some(sort) = &l.sort {
        spans.push(Span::styled(
            format!(
                "· sort {} {} ",
                sort.field,
                if sort.ascending { "↑" } else { "↓" }
            ),
            t.dim(),
        ));
    }
    if !l.filter.is_empty() {
        let how = if l.server_filter {
            "server"
        } else {
            "loaded rows only"
        };
        spans.push(Span::styled(
            format!("· filter “{}” ({how}) ", clean(&l.filter)),
            Style::new().fg(t.warn),
        ));
    }
    Line::from(spans)
}

fn status_line<'a, T>(s: &State, t: &Theme, l: &ListPane<T>) -> Option<Line<'a>> {
    if let Some(e) = &l.error {
        let retry = l
            .retry_at
            .map(|r| format!(" · retry in {}s", r.saturating_sub(s.now).div_ceil(1000)))
            .unwrap_or_else(|| " · r to retry".into());
        let stale = match (l.stale, l.fresh_at) {
            (true, Some(at)) => format!(
                "stale since {} · ",
                at.with_timezone(&chrono::Local).format("%H:%M:%S")
            ),
            (true, None) => "stale data · ".to_string(),
            _ => String::new(),
        };
        return Some(Line::from(Span::styled(
            format!(" ▲ {stale}{}{retry} ", clean(e)),
            Style::new().fg(t.error),
        )));
    }
    if l.loading.is_some() {
        return Some(Line::from(Span::styled(
            format!(" {} loading… ", spinner(s.now)),
            Style::new().fg(t.running),
        )));
    }
    if l.has_more {
        return Some(Line::from(Span::styled(" ↓ more on the server ", t.dim())));
    }
    None
}

fn detail<T: Columns>(f: &mut Frame, area: Rect, s: &State, t: &Theme, row: &T) {
    let title = Line::from(Span::styled(
        format!(" {} ", clean(row.display_name())),
        Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
    ));
    let lines: Vec<Line> = row
        .detail(s)
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>14}  "), t.dim()),
                Span::raw(clean(&v).into_owned()),
            ])
        })
        .collect();
    let p = Paragraph::new(lines).wrap(Wrap { trim: false }).block(
        block(title, t)
            .title_bottom(Line::styled(" esc back ", t.dim()))
            .padding(ratatui::widgets::Padding::horizontal(1)),
    );
    f.render_widget(p, area);
}

/// A cell's line cut to `width` columns, its last visible character replaced by "…" when it
/// did not fit (styles kept).
/// A name cell cut in the middle to `width` columns (`demo-fr…-alice`); the style of its
/// first span is kept.
fn fit_name(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let style = line.spans.first().map(|s| s.style).unwrap_or_default();
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    Line::from(Span::styled(middle_cut(&text, width), style)).style(line.style)
}

/// `text` in at most `width` columns: its start and end with "…" between (the end is what
/// tells names with a common prefix apart, so it gets the larger half).
pub(crate) fn middle_cut(text: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let head_room = room / 3;
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut tail_used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + tail_used + w > room {
            break;
        }
        tail_used += w;
        tail.push(c);
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn fit(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    if width == 0 {
        return Line::default();
    }
    let mut left = width - 1;
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let mut text = String::new();
        for c in span.content.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if w > left {
                left = 0;
                break;
            }
            left -= w;
            text.push(c);
        }
        spans.push(Span::styled(text, span.style));
    }
    let style = spans.last().map(|s| s.style).unwrap_or_default();
    spans.push(Span::styled("…", style));
    Line::from(spans).style(line.style)
}
