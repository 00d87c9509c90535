//! One module per pane (gitui's tabs): each handles the keys of its pane. The list panes
//! (Projects, Developers, Secrets, Audit, Overview) share the list keys below; the Builds pane
//! adds its actions (`builds`), the log viewer lives over it (`log`), and the Releases pane has
//! its pipeline (`releases`).

pub mod builds;
pub mod log;
pub mod logview;
pub mod overview;
pub mod releases;
pub mod triage;

use super::action::{Action, Effect};
use super::lists::{commit_filter, cycle_sort, load, move_by, prefetch, toggle_sort_order};
use super::messages::toast;
use super::state::{Detail, Level, LoadKind, Overlay, State};
use crate::domain::{BuildScope, Resource};
use ratatui_textarea::TextArea;

/// A key action for the pane on screen, the log viewer first when it is visible. Returns
/// false for what the panes leave to the global keys.
pub(crate) fn handle(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    if s.log_visible() && log::handle(s, a, fx) {
        return true;
    }
    if s.pane == Resource::Releases && s.detail.is_none() && releases::action(s, a, fx) {
        return true;
    }
    if builds::handle(s, a, fx) {
        return true;
    }
    let page = s.page_rows.max(1) as i64;
    match a {
        Action::Up => move_by(s, -1, fx),
        Action::Down => move_by(s, 1, fx),
        Action::HalfPageDown => move_by(s, (page / 2).max(1), fx),
        Action::HalfPageUp => move_by(s, -(page / 2).max(1), fx),
        Action::PageDown => move_by(s, page, fx),
        Action::PageUp => move_by(s, -page, fx),
        Action::Top => move_by(s, i64::MIN / 2, fx),
        Action::Bottom => super::lists::bottom(s, fx),
        Action::Open => open(s, fx),
        Action::Inspect => inspect(s),
        // Esc dismisses a message first, then goes back.
        Action::Back if s.toast.is_some() => s.toast = None,
        Action::Back => back(s, fx),
        Action::StartFilter => start_filter(s),
        Action::CycleSort => cycle_sort(s, fx),
        Action::ToggleSortOrder => toggle_sort_order(s, fx),
        Action::Refresh => super::profile::refresh(s, fx),
        _ => return false,
    }
    true
}

fn inspect(s: &mut State) {
    if s.detail.is_none()
        && let Some(id) = s.lists.get(s.pane).selected_id()
    {
        s.detail = Some(Detail {
            resource: s.pane,
            id,
        });
    }
}

/// `/`: filter the list (or search the log: the filter overlay serves both).
fn start_filter(s: &mut State) {
    if s.detail.is_none() {
        s.lists.meta_mut(s.pane).filter_error = None;
        let current = s.lists.meta(s.pane).filter.clone();
        let mut input = TextArea::new(vec![current]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        s.overlay = Overlay::Filter { input };
    }
}

/// Enter: a project opens its builds, a build opens its log, anything else its details.
pub fn open(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let builds = s.caps().map(|c| c.builds.clone()).unwrap_or_default();
    match s.pane {
        Resource::Projects if builds.list => {
            if let Some(p) = s.lists.projects.selected_row() {
                let scope = BuildScope::Project {
                    id: p.id.clone(),
                    name: p.name.clone(),
                };
                s.builds_scope = scope;
                s.lists.builds = Default::default();
                show_pane(s, Resource::Builds, fx);
            }
        }
        Resource::Builds if builds.logs => {
            if let Some(b) = s.lists.builds.selected_row().cloned() {
                log::open_log(s, b, fx);
            }
        }
        // An overview line opens its profile on the pane that shows it.
        Resource::Overview => {
            if let Some(item) = s.lists.overview.selected_row().cloned() {
                let to = (item.pane, item.target.clone());
                if s.profile().is_some_and(|p| p.name == item.profile) && s.session.is_some() {
                    open_at(s, to, fx);
                } else {
                    super::profile::switch_profile(s, &item.profile, fx);
                    s.open_after_login = Some(to);
                }
            }
        }
        _ => inspect(s),
    }
}

pub fn back(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.take().is_some() {
        return;
    }
    let had_filter = !s.lists.meta(s.pane).filter.is_empty();
    if had_filter {
        // The empty filter always parses.
        let _ = commit_filter(s, String::new(), fx);
        return;
    }
    // From a project's builds back to the projects.
    if s.pane == Resource::Builds && matches!(s.builds_scope, BuildScope::Project { .. }) {
        s.builds_scope = BuildScope::Active;
        s.lists.builds = Default::default();
        show_pane(s, Resource::Projects, fx);
    }
}

pub(crate) fn cycle_pane(s: &mut State, dir: i64, fx: &mut Vec<Effect>) {
    let panes = s.panes();
    if panes.is_empty() {
        return;
    }
    let pos = panes.iter().position(|p| *p == s.pane).unwrap_or(0) as i64;
    let next = panes[(pos + dir).rem_euclid(panes.len() as i64) as usize];
    show_pane(s, next, fx);
}

pub(crate) fn show_pane(s: &mut State, r: Resource, fx: &mut Vec<Effect>) {
    if let Some(caps) = s.caps()
        && caps.list(r).is_none()
    {
        let why = caps.why_not(r);
        toast(s, Level::Warn, format!("{} unavailable: {why}", r.title()));
        return;
    }
    s.pane = r;
    s.detail = None;
    if r == Resource::Releases {
        releases::open(s, fx);
        return;
    }
    let l = s.lists.meta(r);
    let needs = l.loaded_at.is_none() && l.loading.is_none();
    if needs || r == Resource::Audit {
        load(s, r, LoadKind::Reload, fx);
    } else {
        prefetch(s, fx);
    }
}

/// A pane with one row of it selected (the Overview's Enter): the selection follows that row
/// as the list arrives.
pub fn open_at(s: &mut State, (pane, row): (Resource, Option<String>), fx: &mut Vec<Effect>) {
    if pane == Resource::Builds {
        // The queue, whatever project's history was on screen (a finished watched build: its
        // project's history).
        s.builds_scope = s
            .watch
            .scope_after_login
            .take()
            .unwrap_or(BuildScope::Active);
        s.lists.builds = Default::default();
    }
    if let Some(id) = row {
        s.lists.meta_mut(pane).selected_id = Some(id);
    }
    show_pane(s, pane, fx);
}

/// `1`–`7`: a pane. The Builds tab is the queue; a project's builds are reached with Enter.
pub(crate) fn show_tab(s: &mut State, r: Resource, fx: &mut Vec<Effect>) {
    if r == Resource::Builds && s.builds_scope != BuildScope::Active {
        s.builds_scope = BuildScope::Active;
        s.lists.builds = Default::default();
    }
    show_pane(s, r, fx)
}
