//! Saved views (`[[views]]` in the config): tabs after the panes (`8`, `9`, `0`) and
//! `:view <name>`. Opening one switches to its profile (if it names one) and pane, then applies
//! its filter and sort as `/` and `s` would.

use super::action::Effect;
use super::lists::{commit_filter, load};
use super::messages::toast;
use super::panes::show_tab;
use super::state::{Level, LoadKind, State};
use crate::domain::{BuildScope, Resource, Sort};

/// Keys of the first views, in order (the number row's keys the panes leave free).
pub const VIEW_KEYS: [&str; 3] = ["view_1", "view_2", "view_3"];

/// `:view <name>`.
pub(crate) fn open_named(s: &mut State, name: &str, fx: &mut Vec<Effect>) {
    match s.views.iter().position(|v| v.name == name) {
        Some(i) => open(s, i, fx),
        None if s.views.is_empty() => toast(
            s,
            Level::Warn,
            "no saved views; add [[views]] with name, pane and filter to the config",
        ),
        None => {
            let names: Vec<&str> = s.views.iter().map(|v| v.name.as_str()).collect();
            let text = format!("no view `{name}`; views: {}", names.join(", "));
            toast(s, Level::Error, text);
        }
    }
}

/// Open the view at `index` (a tab key or the palette).
pub(crate) fn open(s: &mut State, index: usize, fx: &mut Vec<Effect>) {
    let Some(view) = s.views.get(index).cloned() else {
        toast(
            s,
            Level::Info,
            format!(
                "no saved view {}; add [[views]] to the config (see the README)",
                index + 1
            ),
        );
        return;
    };
    if let Some(p) = &view.profile
        && s.profile().is_none_or(|c| &c.name != p)
    {
        super::profile::switch_profile(s, p, fx);
        if s.profile().is_some_and(|c| &c.name == p) {
            // Applied once the login answers (the panes the backend offers are known then).
            s.view_after_login = Some(index);
        }
        return;
    }
    if s.session.is_none() {
        s.view_after_login = Some(index);
        return;
    }
    apply(s, index, fx);
}

/// Show the view's pane with its filter and sort (the profile is the right one).
pub(crate) fn apply(s: &mut State, index: usize, fx: &mut Vec<Effect>) {
    let Some(view) = s.views.get(index).cloned() else {
        return;
    };
    let pane = view.pane;
    if s.caps().is_some_and(|c| c.list(pane).is_none()) {
        // Says why the pane is missing.
        show_tab(s, pane, fx);
        return;
    }
    s.active_view = Some(index);
    // The Builds tab is the queue, whatever project's history was on screen.
    if pane == Resource::Builds && s.builds_scope != BuildScope::Active {
        s.builds_scope = BuildScope::Active;
        s.lists.builds = Default::default();
    }
    let sort = view.sort.as_ref().and_then(|want| {
        let fields = s.caps().and_then(|c| c.list(pane)).map(|l| l.sort_fields)?;
        fields.iter().find(|f| **f == want.field).map(|f| Sort {
            field: f,
            ascending: want.ascending,
        })
    });
    if let Some(want) = &view.sort
        && sort.is_none()
    {
        let text = format!(
            "view `{}`: this backend cannot sort {} by {}; shown unsorted",
            view.name,
            pane.as_str(),
            want.field
        );
        toast(s, Level::Warn, text);
    }
    let wall = s.wall;
    let qualifiers = s
        .caps()
        .and_then(|c| c.list(pane))
        .map_or(&[][..], |l| l.server_qualifiers);
    let (was_loaded, sort_changed) = {
        let l = s.lists.meta_mut(pane);
        let changed = l.sort != sort;
        l.sort = sort;
        let loaded = l.loaded_at.is_some() || l.loading.is_some();
        l.server_qualifiers = qualifiers;
        if !loaded {
            // Rows never asked for: the first request carries the view's filter already.
            // A view's filter was checked when the config was read.
            if l.set_filter(&view.filter).is_ok() {
                l.applied_filter = view.filter.clone();
                l.wall = wall;
            }
        }
        (loaded, changed)
    };
    let before = s.lists.meta(pane).loading.map(|(r, _)| r);
    // The pane first (it asks for rows it has never loaded), then the filter on it.
    show_tab(s, pane, fx);
    if s.pane != pane {
        return;
    }
    if let Err(e) = commit_filter(s, view.filter.clone(), fx) {
        toast(s, Level::Error, format!("view `{}`: {e}", view.name));
    }
    let after = s.lists.meta(pane).loading.map(|(r, _)| r);
    // A new sort on rows already there needs them again (unless the filter just asked).
    if was_loaded && sort_changed && after == before {
        load(s, pane, LoadKind::Reload, fx);
    }
}

/// What a view shows, for the palette: `builds · status:failed since:1d · on prod`.
pub(crate) fn describe(v: &crate::config::View) -> String {
    let mut parts = vec![v.pane.as_str().to_string()];
    if !v.filter.is_empty() {
        parts.push(v.filter.clone());
    }
    if let Some(sort) = &v.sort {
        let order = if sort.ascending { "" } else { " desc" };
        parts.push(format!("sort {}{order}", sort.field));
    }
    if let Some(p) = &v.profile {
        parts.push(format!("on {p}"));
    }
    parts.join(" · ")
}

/// The view on screen: the one opened last, while its pane shows its filter.
pub fn current(s: &State) -> Option<usize> {
    let i = s.active_view?;
    let v = s.views.get(i)?;
    (s.pane == v.pane && s.lists.meta(v.pane).filter == v.filter).then_some(i)
}
