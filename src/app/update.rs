//! `update(state, action, now) -> effects`: the only place state changes. Pure and synchronous:
//! no I/O, no clock reads, no `.await`. Unit-tested without a terminal or a network.

use super::action::{Action, Effect, Listing};
use super::state::{
    Conn, Detail, Level, ListPane, LoadKind, MAX_REFRESH_ROWS, Millis, Overlay, PER_PAGE, Screen,
    State, Toast,
};
use crate::api::ApiError;
use crate::domain::{ListQuery, Page, Resource, Row, Sort};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// Spinner frame interval while something loads.
pub const SPINNER_MS: Millis = 120;
const TOAST_MS: Millis = 5_000;
const MAX_BACKOFF_MS: Millis = 30_000;

/// Palette commands: name, description. Names ending in a space take an argument.
pub const COMMANDS: &[(&str, &str)] = &[
    ("projects", "Projects pane"),
    ("developers", "Developers pane"),
    ("secrets", "Secrets pane"),
    ("profiles", "list profiles and switch"),
    ("profile ", "switch to a profile: profile <name>"),
    ("theme ", "change theme: theme <name>"),
    ("refresh", "reload this pane"),
    ("help", "keys for this pane"),
    ("quit", "leave shipdeck"),
];

/// Panes of the SPEC that later versions add; named so the palette can say so instead of failing.
const NOT_YET: &[&str] = &[
    "builds",
    "queue",
    "logs",
    "releases",
    "deployments",
    "environments",
    "overview",
    "audit",
];

/// Apply `f` to the list pane of a resource (each has its own row type).
macro_rules! with_list {
    ($lists:expr, $res:expr, |$l:ident| $body:expr) => {
        match $res {
            Resource::Projects => {
                let $l = &mut $lists.projects;
                $body
            }
            Resource::Developers => {
                let $l = &mut $lists.developers;
                $body
            }
            Resource::Secrets => {
                let $l = &mut $lists.secrets;
                $body
            }
        }
    };
}

pub fn update(s: &mut State, action: Action, now: Millis) -> Vec<Effect> {
    s.now = now;
    let mut fx = Vec::new();
    match action {
        Action::Tick => {
            tick(s, &mut fx);
            return fx;
        }
        Action::LoggedIn { epoch, result } => {
            if epoch == s.epoch {
                logged_in(s, result, &mut fx);
            }
        }
        Action::ListLoaded { epoch, req, result } => {
            if epoch == s.epoch {
                list_loaded(s, req, result, &mut fx);
            }
            return fx;
        }
        Action::Resize { rows, .. } => {
            // header, tabs, footer, block borders and the table header.
            s.page_rows = (rows as usize).saturating_sub(6).max(1);
            prefetch(s, &mut fx);
        }
        Action::Quit => s.quit = true,
        Action::Input(key) => input(s, key, &mut fx),
        Action::StartDemo => {
            fx.push(Effect::StartDemo);
            toast(s, Level::Info, "starting the built-in simulator…");
        }
        Action::DemoReady { profiles, open } => {
            s.profiles = profiles;
            s.screen = Screen::Dashboard;
            switch_profile(s, &open, &mut fx);
        }
        Action::SwitchProfile(name) => switch_profile(s, &name, &mut fx),
        Action::SetTheme(name) => {
            if s.theme_names.contains(&name) {
                s.theme_override = Some(name);
            } else {
                let text = format!("no theme `{name}`; themes: {}", s.theme_names.join(", "));
                toast(s, Level::Error, text);
            }
        }
        _ if s.screen == Screen::FirstRun => {}
        Action::Help => {
            s.overlay = match s.overlay {
                Overlay::Help { .. } => Overlay::None,
                _ => Overlay::Help { scroll: 0 },
            }
        }
        Action::OpenPalette => s.overlay = palette(""),
        Action::StartFilter => {
            if s.detail.is_none() {
                let current = with_list!(s.lists, s.pane, |l| l.filter.clone());
                let mut input = TextArea::new(vec![current]);
                input.move_cursor(ratatui_textarea::CursorMove::End);
                s.overlay = Overlay::Filter { input };
            }
        }
        Action::Up => move_by(s, -1, &mut fx),
        Action::Down => move_by(s, 1, &mut fx),
        Action::HalfPageDown => move_by(s, (s.page_rows / 2).max(1) as i64, &mut fx),
        Action::HalfPageUp => move_by(s, -((s.page_rows / 2).max(1) as i64), &mut fx),
        Action::PageDown => move_by(s, s.page_rows.max(1) as i64, &mut fx),
        Action::PageUp => move_by(s, -(s.page_rows.max(1) as i64), &mut fx),
        Action::Top => move_by(s, i64::MIN / 2, &mut fx),
        Action::Bottom => {
            move_by(s, i64::MAX / 2, &mut fx);
        }
        Action::Open => {
            if s.detail.is_none() {
                let id = with_list!(s.lists, s.pane, |l| l
                    .selected_row()
                    .map(|r| r.id().to_string()));
                if let Some(id) = id {
                    s.detail = Some(Detail {
                        resource: s.pane,
                        id,
                    });
                }
            }
        }
        Action::Back => back(s, &mut fx),
        Action::NextPane => cycle_pane(s, 1, &mut fx),
        Action::PrevPane => cycle_pane(s, -1, &mut fx),
        Action::ShowPane(r) => show_pane(s, r, &mut fx),
        Action::Refresh => refresh(s, &mut fx),
        Action::CycleSort => cycle_sort(s, &mut fx),
        Action::ToggleSortOrder => {
            let changed = with_list!(s.lists, s.pane, |l| match &mut l.sort {
                Some(sort) => {
                    sort.ascending = !sort.ascending;
                    true
                }
                None => false,
            });
            if changed {
                load(s, s.pane, LoadKind::Reload, &mut fx);
            } else {
                toast(s, Level::Info, "press s to pick a sort column first");
            }
        }
    }
    s.dirty = true;
    fx
}

fn toast(s: &mut State, level: Level, text: impl Into<String>) {
    let ms = if level == Level::Error {
        TOAST_MS * 2
    } else {
        TOAST_MS
    };
    s.toast = Some(Toast {
        level,
        text: text.into(),
        until: s.now + ms,
    });
    s.dirty = true;
}

fn backoff(failures: u32) -> Millis {
    (1_000u64 << failures.saturating_sub(1).min(5)).min(MAX_BACKOFF_MS)
}

fn palette(text: &str) -> Overlay {
    let mut input = TextArea::new(vec![text.to_string()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    Overlay::Palette { input, selected: 0 }
}

/// Candidates for the palette's current text: `(completion, description)`.
pub fn palette_candidates(s: &State, text: &str) -> Vec<(String, String)> {
    let text = text.trim_start();
    if let Some(arg) = text.strip_prefix("profile ") {
        return s
            .profiles
            .iter()
            .filter(|p| p.name.starts_with(arg.trim()))
            .map(|p| {
                (
                    format!("profile {}", p.name),
                    format!("{} · {}", p.kind.as_str(), p.url),
                )
            })
            .collect();
    }
    if let Some(arg) = text.strip_prefix("theme ") {
        return s
            .theme_names
            .iter()
            .filter(|t| t.starts_with(arg.trim()))
            .map(|t| (format!("theme {t}"), "theme".to_string()))
            .collect();
    }
    let mut out: Vec<(String, String)> = COMMANDS
        .iter()
        .filter(|(c, _)| c.starts_with(text))
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect();
    if out.is_empty() && !text.is_empty() {
        out = COMMANDS
            .iter()
            .filter(|(c, _)| c.contains(text))
            .map(|(c, d)| (c.to_string(), d.to_string()))
            .collect();
    }
    out
}

fn input(s: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if s.screen == Screen::FirstRun {
        match key.code {
            KeyCode::Char('d') => {
                fx.push(Effect::StartDemo);
                toast(s, Level::Info, "starting the built-in simulator…");
            }
            KeyCode::Char('q') | KeyCode::Esc => s.quit = true,
            _ => {}
        }
        s.dirty = true;
        return;
    }
    let overlay = std::mem::replace(&mut s.overlay, Overlay::None);
    s.overlay = match overlay {
        Overlay::Palette {
            mut input,
            mut selected,
        } => {
            let text = input.lines().join("");
            let cands = palette_candidates(s, &text);
            match key.code {
                KeyCode::Esc => Overlay::None,
                KeyCode::Enter => {
                    let chosen = cands
                        .get(selected)
                        .map(|c| c.0.clone())
                        .filter(|c| !c.ends_with(' ') && c.starts_with(text.trim()))
                        .unwrap_or(text);
                    s.overlay = Overlay::None;
                    run_command(s, chosen.trim(), fx);
                    s.dirty = true;
                    return;
                }
                KeyCode::Tab => match cands.get(selected) {
                    Some((c, _)) => palette(c),
                    None => Overlay::Palette { input, selected },
                },
                KeyCode::Down => {
                    selected = (selected + 1).min(cands.len().saturating_sub(1));
                    Overlay::Palette { input, selected }
                }
                KeyCode::Up => {
                    selected = selected.saturating_sub(1);
                    Overlay::Palette { input, selected }
                }
                _ => {
                    input.input(key);
                    Overlay::Palette { input, selected: 0 }
                }
            }
        }
        Overlay::Filter { mut input } => match key.code {
            KeyCode::Esc => {
                // Back to the filter that was applied before typing.
                let pane = s.pane;
                let server = s
                    .caps()
                    .and_then(|c| c.list(pane))
                    .is_some_and(|l| l.server_filter);
                with_list!(s.lists, pane, |l| {
                    l.server_filter = server;
                    if server {
                        l.filter = l.applied_filter.clone();
                    }
                    l.refilter();
                });
                Overlay::None
            }
            KeyCode::Enter => {
                let text = input.lines().join("").trim().to_string();
                commit_filter(s, text, fx);
                Overlay::None
            }
            _ => {
                if !(key.modifiers.contains(KeyModifiers::CONTROL)
                    && matches!(key.code, KeyCode::Char('m')))
                {
                    input.input(key);
                }
                // Preview on loaded rows while typing; the server is asked on Enter.
                let text = input.lines().join("");
                with_list!(s.lists, s.pane, |l| {
                    l.server_filter = false;
                    l.filter = text;
                    l.selected = 0;
                    l.refilter();
                });
                Overlay::Filter { input }
            }
        },
        Overlay::Help { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => Overlay::None,
            KeyCode::Char('j') | KeyCode::Down => Overlay::Help {
                scroll: scroll.saturating_add(1),
            },
            KeyCode::Char('k') | KeyCode::Up => Overlay::Help {
                scroll: scroll.saturating_sub(1),
            },
            _ => Overlay::Help { scroll },
        },
        Overlay::None => Overlay::None,
    };
    s.dirty = true;
}

fn commit_filter(s: &mut State, text: String, fx: &mut Vec<Effect>) {
    let pane = s.pane;
    let server = s
        .caps()
        .and_then(|c| c.list(pane))
        .is_some_and(|l| l.server_filter);
    let reload = with_list!(s.lists, pane, |l| {
        l.server_filter = server;
        l.filter = text.clone();
        let changed = l.applied_filter != text;
        if !server {
            l.applied_filter = text.clone();
        }
        l.selected = 0;
        l.refilter();
        server && changed
    });
    if reload {
        load(s, pane, LoadKind::Reload, fx);
    }
}

fn run_command(s: &mut State, cmd: &str, fx: &mut Vec<Effect>) {
    let (name, arg) = match cmd.split_once(' ') {
        Some((n, a)) => (n, a.trim()),
        None => (cmd, ""),
    };
    match name {
        "" => {}
        "projects" | "developers" | "secrets" => {
            show_pane(s, Resource::parse(name).expect("listed above"), fx)
        }
        "profiles" => s.overlay = palette("profile "),
        "profile" if arg.is_empty() => s.overlay = palette("profile "),
        "profile" => switch_profile(s, arg, fx),
        "theme" if arg.is_empty() => s.overlay = palette("theme "),
        "theme" => {
            let _ = update(s, Action::SetTheme(arg.to_string()), s.now);
        }
        "refresh" => refresh(s, fx),
        "help" => s.overlay = Overlay::Help { scroll: 0 },
        "quit" | "q" => s.quit = true,
        n if NOT_YET.contains(&n) => toast(
            s,
            Level::Warn,
            format!("`{n}` is not available in this version of shipdeck yet"),
        ),
        other => toast(
            s,
            Level::Error,
            format!("unknown command `{other}`; press : and Tab to see the commands"),
        ),
    }
}

fn switch_profile(s: &mut State, name: &str, fx: &mut Vec<Effect>) {
    let Some(idx) = s.profiles.iter().position(|p| p.name == name) else {
        let names: Vec<&str> = s.profiles.iter().map(|p| p.name.as_str()).collect();
        toast(
            s,
            Level::Error,
            format!("no profile `{name}`; profiles: {}", names.join(", ")),
        );
        return;
    };
    s.epoch += 1;
    s.active = Some(idx);
    s.session = None;
    s.conn = Conn::Connecting;
    s.lists = Default::default();
    s.detail = None;
    s.overlay = Overlay::None;
    s.pane = Resource::Projects;
    fx.push(Effect::Connect {
        epoch: s.epoch,
        profile: name.to_string(),
    });
    s.dirty = true;
}

fn logged_in(
    s: &mut State,
    result: Result<crate::domain::Session, ApiError>,
    fx: &mut Vec<Effect>,
) {
    match result {
        Ok(session) => {
            s.session = Some(session);
            s.conn = Conn::Online;
            let panes = s.panes();
            if panes.is_empty() {
                let why = s
                    .caps()
                    .map(|c| c.why_not(Resource::Projects))
                    .unwrap_or_default();
                s.conn = Conn::Unavailable(why);
            } else {
                if !panes.contains(&s.pane) {
                    s.pane = panes[0];
                }
                load(s, s.pane, LoadKind::Reload, fx);
            }
        }
        Err(e @ ApiError::Auth(_)) => s.conn = Conn::AuthFailed(e.to_string()),
        Err(e @ (ApiError::Unsupported(_) | ApiError::Config(_) | ApiError::Forbidden(_))) => {
            s.conn = Conn::Unavailable(e.to_string())
        }
        Err(e) => {
            let attempt = match &s.conn {
                Conn::Offline { attempt, .. } => attempt + 1,
                _ => 1,
            };
            s.conn = Conn::Offline {
                reason: e.to_string(),
                retry_at: s.now + backoff(attempt),
                attempt,
            };
        }
    }
}

/// Ask for rows: `Reload` replaces them (every loaded page in one request), `More` appends the
/// next page. A newer request for the same list supersedes an older one.
fn load(s: &mut State, res: Resource, kind: LoadKind, fx: &mut Vec<Effect>) {
    let Some(support) = s.caps().and_then(|c| c.list(res)).cloned() else {
        return;
    };
    let req = s.next_req;
    s.next_req += 1;
    let epoch = s.epoch;
    let query = with_list!(s.lists, res, |l| {
        if kind == LoadKind::More && (l.loading.is_some() || !l.has_more) {
            return;
        }
        l.server_filter = support.server_filter;
        let filter = if support.server_filter && !l.filter.is_empty() {
            Some(l.filter.clone())
        } else {
            None
        };
        if support.server_filter {
            l.applied_filter = l.filter.clone();
        }
        let query = match kind {
            LoadKind::Reload => {
                let pages = l.pages.clamp(1, MAX_REFRESH_ROWS / PER_PAGE);
                ListQuery {
                    page: 1,
                    per_page: PER_PAGE * pages,
                    filter,
                    sort: l.sort.clone(),
                }
            }
            LoadKind::More => ListQuery {
                page: l.pages + 1,
                per_page: PER_PAGE,
                filter,
                sort: l.sort.clone(),
            },
        };
        l.loading = Some((req, kind));
        l.retry_at = None;
        query
    });
    fx.push(Effect::FetchList {
        epoch,
        req,
        resource: res,
        query,
    });
    s.dirty = true;
}

fn list_loaded(s: &mut State, req: u64, result: Result<Listing, ApiError>, fx: &mut Vec<Effect>) {
    let now = s.now;
    let (res, outcome) = match result {
        Ok(Listing::Projects(p)) => (
            Resource::Projects,
            apply(&mut s.lists.projects, req, Ok(p), now),
        ),
        Ok(Listing::Developers(p)) => (
            Resource::Developers,
            apply(&mut s.lists.developers, req, Ok(p), now),
        ),
        Ok(Listing::Secrets(p)) => (
            Resource::Secrets,
            apply(&mut s.lists.secrets, req, Ok(p), now),
        ),
        Err(e) => {
            // Find the list this request belongs to.
            let res = Resource::ALL
                .into_iter()
                .find(|r| with_list!(s.lists, *r, |l| l.loading.is_some_and(|(id, _)| id == req)));
            match res {
                Some(r) => (r, with_list!(s.lists, r, |l| apply_err(l, e, now))),
                None => return,
            }
        }
    };
    match outcome {
        Outcome::Ignored => {}
        Outcome::Unchanged => {
            if s.conn != Conn::Online {
                s.conn = Conn::Online;
                s.dirty = true;
            }
        }
        Outcome::Changed => {
            s.conn = Conn::Online;
            s.dirty = true;
            if res == s.pane {
                prefetch(s, fx);
            }
        }
        Outcome::Failed(e) => {
            s.dirty = true;
            match e {
                ApiError::Auth(m) => s.conn = Conn::AuthFailed(m),
                e if e.is_connectivity() => {
                    let (retry_at, attempt) =
                        with_list!(s.lists, res, |l| (l.retry_at.unwrap_or(now), l.failures));
                    s.conn = Conn::Offline {
                        reason: e.to_string(),
                        retry_at,
                        attempt,
                    };
                }
                _ => {}
            }
        }
    }
}

enum Outcome {
    Ignored,
    Unchanged,
    Changed,
    Failed(ApiError),
}

fn apply<T: Row>(
    l: &mut ListPane<T>,
    req: u64,
    page: Result<Page<T>, ApiError>,
    now: Millis,
) -> Outcome {
    let Some((id, kind)) = l.loading else {
        return Outcome::Ignored;
    };
    if id != req {
        return Outcome::Ignored;
    }
    let page = match page {
        Ok(p) => p,
        Err(e) => return apply_err(l, e, now),
    };
    l.loading = None;
    let was_healthy = l.error.is_none() && !l.stale;
    l.error = None;
    l.stale = false;
    l.failures = 0;
    l.retry_at = None;
    l.loaded_at = Some(now);
    let mut changed = !was_healthy;
    match kind {
        LoadKind::Reload => {
            if l.rows != page.items {
                l.rows = page.items;
                changed = true;
            }
            l.pages = (page.per_page / PER_PAGE).max(1);
        }
        LoadKind::More => {
            let before = l.rows.len();
            for item in page.items {
                // Rows shift between pages while the list changes: keep each id once.
                if !l.rows.iter().any(|r| r.id() == item.id()) {
                    l.rows.push(item);
                }
            }
            changed |= l.rows.len() != before;
            l.pages += 1;
        }
    }
    if l.has_more != page.has_more || l.total != page.total {
        changed = true;
    }
    l.has_more = page.has_more;
    l.total = if page.has_more {
        page.total.map(|t| t.max(l.rows.len() as u64))
    } else {
        Some(l.rows.len() as u64)
    };
    l.refilter();
    if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    }
}

fn apply_err<T>(l: &mut ListPane<T>, e: ApiError, now: Millis) -> Outcome {
    l.loading = None;
    l.failures += 1;
    l.error = Some(e.to_string());
    l.stale = !l.rows.is_empty();
    // Connectivity and server failures retry with backoff; a refusal waits for the user.
    let retry = e.is_connectivity() || matches!(e, ApiError::Server { .. } | ApiError::Decode(_));
    l.retry_at = retry.then(|| now + backoff(l.failures));
    l.loaded_at = Some(now);
    Outcome::Failed(e)
}

fn tick(s: &mut State, fx: &mut Vec<Effect>) {
    let now = s.now;
    if s.toast.as_ref().is_some_and(|t| t.until <= now) {
        s.toast = None;
        s.dirty = true;
    }
    if s.conn == Conn::Connecting || with_list!(s.lists, s.pane, |l| l.loading.is_some()) {
        s.dirty = true; // spinner frame
    }
    if let Conn::Offline { retry_at, .. } = s.conn
        && retry_at <= now
        && s.session.is_none()
    {
        s.conn = Conn::Connecting;
        fx.push(Effect::Login { epoch: s.epoch });
        s.dirty = true;
        return;
    }
    if s.session.is_none() || s.screen != Screen::Dashboard {
        return;
    }
    let refresh_ms = s.refresh_ms;
    let due = with_list!(s.lists, s.pane, |l| {
        l.loading.is_none()
            && match (l.retry_at, l.loaded_at) {
                (Some(r), _) => r <= now,
                (None, Some(t)) => t + refresh_ms <= now,
                (None, None) => false,
            }
    });
    if due {
        load(s, s.pane, LoadKind::Reload, fx);
        // A background refresh shows nothing new until its answer differs.
        s.dirty = with_list!(s.lists, s.pane, |l| l.rows.is_empty());
    }
}

/// Fetch the next page when the selection nears the end of the loaded rows, or when the loaded
/// rows do not fill the screen.
fn prefetch(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let rows = s.page_rows;
    let want = with_list!(s.lists, s.pane, |l| {
        l.has_more
            && l.loading.is_none()
            && l.error.is_none()
            && (l.selected + rows >= l.visible.len() || l.visible.len() < rows)
    });
    if want {
        load(s, s.pane, LoadKind::More, fx);
    }
}

fn move_by(s: &mut State, delta: i64, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let rows = s.page_rows;
    with_list!(s.lists, s.pane, |l| {
        let len = l.visible.len();
        if len == 0 {
            return;
        }
        let target = (l.selected as i64)
            .saturating_add(delta)
            .clamp(0, len as i64 - 1);
        l.selected = target as usize;
        // Keep the selection on screen.
        if l.selected < l.offset {
            l.offset = l.selected;
        } else if l.selected >= l.offset + rows {
            l.offset = l.selected + 1 - rows;
        }
    });
    prefetch(s, fx);
}

fn back(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.take().is_some() {
        return;
    }
    let had_filter = with_list!(s.lists, s.pane, |l| !l.filter.is_empty());
    if had_filter {
        commit_filter(s, String::new(), fx);
    }
}

fn cycle_pane(s: &mut State, dir: i64, fx: &mut Vec<Effect>) {
    let panes = s.panes();
    if panes.is_empty() {
        return;
    }
    let pos = panes.iter().position(|p| *p == s.pane).unwrap_or(0) as i64;
    let next = panes[(pos + dir).rem_euclid(panes.len() as i64) as usize];
    show_pane(s, next, fx);
}

fn show_pane(s: &mut State, r: Resource, fx: &mut Vec<Effect>) {
    if let Some(caps) = s.caps()
        && caps.list(r).is_none()
    {
        let why = caps.why_not(r);
        toast(s, Level::Warn, format!("{} unavailable: {why}", r.title()));
        return;
    }
    s.pane = r;
    s.detail = None;
    let needs = with_list!(s.lists, r, |l| l.loaded_at.is_none() && l.loading.is_none());
    if needs {
        load(s, r, LoadKind::Reload, fx);
    } else {
        prefetch(s, fx);
    }
}

fn refresh(s: &mut State, fx: &mut Vec<Effect>) {
    match &s.conn {
        Conn::AuthFailed(_) | Conn::Offline { .. } if s.session.is_none() => {
            if let Some(p) = s.profile().map(|p| p.name.clone()) {
                switch_profile(s, &p, fx);
            }
        }
        _ => load(s, s.pane, LoadKind::Reload, fx),
    }
}

fn cycle_sort(s: &mut State, fx: &mut Vec<Effect>) {
    let fields = s
        .caps()
        .and_then(|c| c.list(s.pane))
        .map(|l| l.sort_fields)
        .unwrap_or(&[]);
    if fields.is_empty() {
        toast(
            s,
            Level::Info,
            format!("the server cannot sort {}", s.pane.as_str()),
        );
        return;
    }
    with_list!(s.lists, s.pane, |l| {
        l.sort = match &l.sort {
            None => Some(Sort {
                field: fields[0],
                ascending: true,
            }),
            Some(cur) => {
                let i = fields.iter().position(|f| *f == cur.field).unwrap_or(0);
                fields.get(i + 1).map(|f| Sort {
                    field: f,
                    ascending: true,
                })
            }
        };
    });
    load(s, s.pane, LoadKind::Reload, fx);
}
