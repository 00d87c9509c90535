//! Pure drawing from `State`: no I/O, no business rules. Every string that came from a server
//! passes through `clean` (`crate::safe::text`) so that nothing in a name can move the cursor,
//! change the terminal, hide or reorder text, or show a known secret.

mod lists;
mod log;
pub mod mouse;
mod popups;
mod releases;
pub mod theme;
mod triage;

use crate::app::state::{Conn, Level, Overlay, Screen, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
pub use theme::{Theme, Themes};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Every string that came from a server or a config passes through this before it is drawn:
/// the one sanitiser and redactor (`crate::safe::text`), under the name the panes know.
pub use crate::safe::text as clean;

pub fn spinner(now: u64) -> &'static str {
    SPINNER[(now / crate::app::lists::SPINNER_MS) as usize % SPINNER.len()]
}

/// Below this size panes cannot show a row of every column: a notice says what is needed.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

/// Header, insecure banner, tabs, body and footer: the drawing and the mouse agree on them.
pub(crate) fn areas(s: &State, area: Rect) -> [Rect; 5] {
    let insecure = s.profile().is_some_and(|p| p.insecure);
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(insecure)),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

pub fn draw(f: &mut Frame, s: &State, t: &Theme) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small ({}×{}): shipdeck needs {MIN_WIDTH}×{MIN_HEIGHT} — q quits",
            area.width, area.height
        );
        let [mid] = Layout::vertical([Constraint::Length(3)])
            .flex(ratatui::layout::Flex::Center)
            .areas(area);
        f.render_widget(
            Paragraph::new(text)
                .style(Style::new().fg(t.warn))
                .centered()
                .wrap(ratatui::widgets::Wrap { trim: true }),
            mid,
        );
        return;
    }
    let insecure = s.profile().is_some_and(|p| p.insecure);
    let [header, banner, tabs, body, footer] = areas(s, area);
    draw_header(f, header, s, t);
    if insecure {
        let style = t.badge(t.error);
        f.render_widget(
            Paragraph::new(" ⚠ TLS verification is OFF for this profile (insecure = true): anyone on the path can read and change this traffic ")
                .style(style),
            banner,
        );
    }
    match s.screen {
        Screen::FirstRun => {
            popups::first_run(f, area.inner(ratatui::layout::Margin::new(0, 1)), s, t);
            draw_footer(f, footer, s, t);
            return;
        }
        Screen::Dashboard => {}
    }
    draw_tabs(f, tabs, s, t);
    lists::draw_body(f, body, s, t);
    draw_footer(f, footer, s, t);
    match &s.overlay {
        Overlay::Palette { input, selected } => popups::palette(f, body, s, t, input, *selected),
        Overlay::Help { scroll, ctx } => popups::help(f, body, s, t, *scroll, *ctx),
        Overlay::Confirm(c) => popups::confirm(f, body, t, c),
        Overlay::Launch(form) => popups::launch(f, body, t, form),
        Overlay::Message { title, lines } => popups::message(f, body, t, title, lines),
        Overlay::Pick(p) => popups::pick(f, body, t, p),
        Overlay::Watching { selected } => {
            let lines = crate::app::watch::lines(s);
            popups::list_popup(
                f,
                body,
                t,
                ("watching", &lines, *selected),
                " ↑↓ choose · ⏎ jump there · w stop watching · esc close ".to_string(),
            )
        }
        Overlay::Filter { .. } | Overlay::None => {}
    }
}

fn draw_header(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let base = t.header();
    let mut left = vec![
        Span::styled(" shipdeck ", t.badge(t.accent)),
        Span::raw(" "),
    ];
    match s.profile() {
        Some(p) => {
            left.push(Span::styled(
                clean(&p.name).into_owned(),
                base.add_modifier(Modifier::BOLD),
            ));
            left.push(Span::styled(
                format!(" {} ", p.kind.as_str()),
                base.patch(t.dim()),
            ));
            if let Some(sess) = &s.session {
                left.push(Span::styled("│ ", base.patch(t.dim())));
                left.push(Span::styled(clean(&sess.user.name).into_owned(), base));
                left.push(Span::raw(" "));
            }
        }
        None => left.push(Span::styled("no profile", base.patch(t.dim()))),
    }
    if s.read_only() {
        left.push(Span::styled(" READ-ONLY ", t.badge(t.warn)));
    }
    let (conn_text, conn_color) = match &s.conn {
        Conn::Idle => (String::new(), t.dim),
        Conn::Connecting => (format!("{} connecting", spinner(s.now)), t.running),
        Conn::Online => ("● online".to_string(), t.ok),
        Conn::Offline { retry_at, .. } => {
            let wait = std::time::Duration::from_millis(retry_at.saturating_sub(s.now));
            let next = crate::api::login_gate::human(wait);
            (format!("▲ offline · next try in {next}"), t.warn)
        }
        Conn::AuthFailed(_) => ("✘ login failed".to_string(), t.error),
        Conn::Unavailable(_) => ("⊘ unavailable".to_string(), t.warn),
    };
    let right = Span::styled(format!("{conn_text} "), base.patch(t.fg(conn_color)));
    f.render_widget(Paragraph::new("").style(base), area);
    let rw = right.width() as u16;
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
    f.render_widget(Paragraph::new(Line::from(left)).style(base), l);
    f.render_widget(Paragraph::new(Line::from(right)).style(base), r);
}

/// One tab of the tab line: its key, its title, whether it is open, and what a click does.
pub(crate) struct Tab {
    pub key: Option<String>,
    pub title: String,
    pub current: bool,
    pub action: crate::app::Action,
}

/// The tab line's tabs, and whether they are compact (only their key) to fit `width`.
pub(crate) fn tabs(s: &State, width: u16) -> (Vec<Tab>, bool) {
    let view = crate::app::views::current(s);
    // Only the panes this profile offers (`?` says why the others are missing); each keeps its
    // number key.
    let offered = s.panes();
    let mut tabs: Vec<Tab> = crate::domain::Resource::ALL
        .into_iter()
        .enumerate()
        .filter(|(_, r)| offered.contains(r) || *r == s.pane)
        .map(|(i, r)| Tab {
            key: Some(format!("{}", i + 1)),
            title: r.title().to_string(),
            current: r == s.pane && view.is_none(),
            action: crate::app::Action::ShowPane(r),
        })
        .collect();
    // Saved views after the panes, like gh-dash's sections: `8`, `9`, `0`, the rest by name.
    for (i, v) in s.views.iter().enumerate() {
        let key = crate::app::views::VIEW_KEYS
            .get(i)
            .map(|name| s.keymap.keys_of(name))
            .filter(|k| !k.is_empty());
        tabs.push(Tab {
            key,
            title: format!("◇{}", clean(&v.name)),
            current: view == Some(i),
            action: crate::app::Action::OpenView(i),
        });
    }
    let full: usize = tabs
        .iter()
        .map(|t| t.key.as_ref().map_or(0, |k| k.chars().count() + 1) + t.title.chars().count() + 2)
        .sum::<usize>()
        + 1;
    // With views the line may not fit: the tabs not on screen keep only their key.
    let compact = !s.views.is_empty() && full > width as usize;
    (tabs, compact)
}

/// A tab's text pieces as drawn: (text, is the title). The mouse measures the same pieces.
pub(crate) fn tab_pieces(tab: &Tab, compact: bool) -> Vec<(String, bool)> {
    match &tab.key {
        Some(k) if compact && !tab.current => vec![(k.clone(), false), (" ".into(), false)],
        key => {
            let mut v = Vec::new();
            if let Some(k) = key {
                v.push((format!("{k} "), false));
            }
            v.push((tab.title.clone(), true));
            v.push((if compact { " " } else { "  " }.into(), false));
            v
        }
    }
}

fn draw_tabs(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let (tabs, compact) = tabs(s, area.width);
    let mut spans = vec![Span::raw(" ")];
    for tab in &tabs {
        let style = if tab.current {
            if t.mono {
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else {
                Style::new()
                    .fg(t.accent)
                    .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            }
        } else {
            Style::new().fg(t.text)
        };
        for (text, title) in tab_pieces(tab, compact) {
            let piece = if title {
                style
            } else if compact && !tab.current {
                Style::new().fg(t.text)
            } else {
                t.dim()
            };
            spans.push(Span::styled(text, piece));
        }
    }
    let crumbs = s.breadcrumbs();
    let crumb_text = crumbs
        .iter()
        .map(|c| clean(c).into_owned())
        .collect::<Vec<_>>()
        .join(" › ");
    // The tabs come first; the breadcrumb gets what is left, cut from its start with "…"
    // (its end names where the user is), and never overwrites a tab.
    let tabs = Line::from(spans);
    let room = (area.width as usize).saturating_sub(tabs.width() + 1);
    let crumb = tail_ellipsis(&crumb_text, room.saturating_sub(1));
    f.render_widget(Paragraph::new(tabs), area);
    if room >= 8 {
        let rw = (crumb.chars().count() + 1) as u16;
        let [_, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(format!("{crumb} "), t.dim()))),
            r,
        );
    }
}

/// The end of `text` in at most `max` columns, with "…" where its start was cut.
fn tail_ellipsis(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let tail: String = text.chars().skip(n - keep).collect();
    format!("…{tail}")
}

fn draw_footer(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    if let Overlay::Filter { input } = &s.overlay {
        let text = input.lines().join("");
        let server = s
            .caps()
            .and_then(|c| c.list(s.pane))
            .is_some_and(|l| l.server_filter);
        let how = match (s.log_visible(), server) {
            (true, _) => "⏎ search · esc cancel",
            (false, true) => "⏎ ask the server · esc cancel · status:failed since:2h author:",
            (false, false) => {
                "⏎ keep · esc cancel · filters loaded rows · status:failed since:2h author:"
            }
        };
        let error = (!s.log_visible())
            .then(|| s.lists.meta(s.pane).filter_error.clone())
            .flatten();
        let tail = match &error {
            Some(e) => Span::styled(format!("   ✘ {}", clean(e)), Style::new().fg(t.error)),
            None => Span::styled(format!("   {how}"), t.dim()),
        };
        let line = Line::from(vec![
            Span::styled(" / ", t.badge(t.accent)),
            Span::raw(" "),
            Span::styled(clean(&text).into_owned(), Style::new().fg(t.text)),
            Span::styled("▏", Style::new().fg(t.accent)),
            tail,
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans: Vec<Span> = Vec::new();
    if let Some(toast) = &s.toast {
        let c = match toast.level {
            Level::Info => t.accent,
            Level::Warn => t.warn,
            Level::Error => t.error,
        };
        spans.push(Span::styled(
            format!(" {} ", clean(&toast.text)),
            Style::new().fg(c),
        ));
        spans.push(Span::styled("│", t.dim()));
    }
    let used: usize = spans.iter().map(|sp| sp.width()).sum();
    let hints = footer_hints(s, (area.width as usize).saturating_sub(used));
    for Hint {
        keys: k,
        word: h,
        refused,
        ..
    } in hints
    {
        // A change a read-only profile would refuse: shown, struck through.
        let (key_style, word_style) = if refused {
            (
                t.dim().add_modifier(Modifier::CROSSED_OUT),
                t.dim().add_modifier(Modifier::CROSSED_OUT),
            )
        } else {
            (
                Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
                t.dim(),
            )
        };
        spans.push(Span::styled(format!(" {k}"), key_style));
        spans.push(Span::styled(format!(" {h}"), word_style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A key hint of the footer: its keys, its word, whether a read-only profile refuses it, and
/// what a click on it does.
pub(crate) struct Hint {
    pub keys: String,
    pub word: &'static str,
    pub refused: bool,
    pub action: crate::app::Action,
}

impl Hint {
    fn new(keys: &str, word: &'static str, refused: bool, action: crate::app::Action) -> Hint {
        Hint {
            keys: keys.to_string(),
            word,
            refused,
            action,
        }
    }

    /// Columns it takes: " {keys} {word}".
    pub(crate) fn width(&self) -> usize {
        self.keys.chars().count() + self.word.chars().count() + 2
    }
}

/// The footer's key hints that fit in `room` columns (the least important dropped first).
pub(crate) fn footer_hints(s: &State, room: usize) -> Vec<Hint> {
    let mut hints: Vec<Hint> = if s.screen == Screen::FirstRun {
        vec![
            Hint::new("d", "demo", false, crate::app::Action::StartDemo),
            Hint::new("q", "quit", false, crate::app::Action::Quit),
        ]
    } else {
        // The visible layer's keys; a pane or the log also shows the global ones.
        let ctx = s.key_context();
        let read_only = crate::app::gate::why_not(s).is_some();
        s.keymap
            .bindings
            .iter()
            .filter(|b| {
                b.footer
                    && (b.ctx == ctx
                        || (ctx.falls_through() && b.ctx == crate::app::keymap::Ctx::Any))
            })
            .filter(|b| {
                // Launch/kill only where they apply.
                let builds = s.caps().map(|c| c.builds.clone()).unwrap_or_default();
                match b.name {
                    "launch" => {
                        builds.launch
                            && matches!(
                                s.pane,
                                crate::domain::Resource::Projects | crate::domain::Resource::Builds
                            )
                    }
                    "kill" => builds.kill && s.pane == crate::domain::Resource::Builds,
                    "rollback" if s.pane == crate::domain::Resource::Builds => builds.redeploy,
                    "promote" | "deploy" | "rollback" | "cut" => {
                        s.pane == crate::domain::Resource::Releases
                    }
                    "sort" => s
                        .caps()
                        .and_then(|c| c.list(s.pane))
                        .is_some_and(|l| !l.sort_fields.is_empty()),
                    "next_pane" => !s.log_visible(),
                    // Watch and links: only where there is an item to watch or open.
                    "watch" => matches!(
                        s.pane,
                        crate::domain::Resource::Builds
                            | crate::domain::Resource::Releases
                            | crate::domain::Resource::Overview
                    ),
                    "web" => !matches!(
                        s.pane,
                        crate::domain::Resource::Developers
                            | crate::domain::Resource::Secrets
                            | crate::domain::Resource::Audit
                    ),
                    _ => true,
                }
            })
            .map(|b| {
                let refused = read_only && b.action.change_verb().is_some();
                Hint::new(
                    &s.keymap.keys_of(b.name),
                    b.short,
                    refused,
                    b.action.clone(),
                )
            })
            .collect()
    };
    // Narrow terminals: drop the least important hints first; `? help` always stays.
    let width = |h: &[Hint]| -> usize { h.iter().map(Hint::width).sum() };
    while width(&hints) > room {
        // Watch and links go before the pane's own actions.
        let Some(drop) = hints
            .iter()
            .rposition(|h| matches!(h.word, "web" | "watch"))
            .or_else(|| {
                hints
                    .iter()
                    .rposition(|h| !matches!(h.word, "help" | "quit"))
            })
        else {
            break;
        };
        hints.remove(drop);
    }
    hints
}
