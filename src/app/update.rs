//! `update(state, action, now) -> effects`: the only place state changes. Pure and synchronous:
//! no I/O, no clock reads, no `.await`. It only routes: replies of requests to `results`,
//! the clock to `lists::tick`, keys to the layer that is visible (a popup in `overlays`, else
//! the log viewer or the pane in `panes`, else the global keys here).

use super::action::{Action, Effect};
use super::messages::toast;
use super::state::{Level, Millis, Overlay, Screen, State};
use super::{gate, links, lists, overlays, panes, profile, results, router, watch};

pub fn update(s: &mut State, action: Action, now: Millis) -> Vec<Effect> {
    s.now = now;
    let mut fx = Vec::new();
    let action = match results::handle(s, action, &mut fx) {
        results::Handled::Reply { redraw } => {
            s.dirty |= redraw;
            // New rows on screen may want their recent builds.
            super::recent::want(s, &mut fx);
            return fx;
        }
        results::Handled::Other(action) => *action,
    };
    match action {
        Action::Tick => {
            lists::tick(s, &mut fx);
            return fx;
        }
        Action::Resize { cols, rows } => {
            s.cols = cols;
            // header, tabs, footer, block borders and the table header.
            s.page_rows = (rows as usize).saturating_sub(6).max(1);
            if let Some(log) = &mut s.log {
                log.height = s.page_rows + 1;
                log.clamp();
            }
            lists::prefetch(s, &mut fx);
        }
        Action::Quit => s.quit = true,
        Action::Suspend => fx.push(Effect::Suspend),
        Action::StartDemo => {
            fx.push(Effect::StartDemo);
            toast(s, Level::Info, "starting the built-in simulator…");
        }
        Action::DemoReady { profiles, open } => {
            s.profiles = profiles;
            s.screen = Screen::Dashboard;
            profile::switch_profile(s, &open, &mut fx);
        }
        Action::SwitchProfile(name) => profile::switch_profile(s, &name, &mut fx),
        // The wheel moves as the arrow keys would, in whatever is on top (list, log, popup).
        Action::Wheel(n) => {
            let step = if n > 0 { Action::Down } else { Action::Up };
            for _ in 0..n.unsigned_abs() {
                fx.extend(update(s, step.clone(), now));
            }
            return fx;
        }
        Action::ClickRow(pos) => {
            click_row(s, pos, now, &mut fx);
            return fx;
        }
        Action::WatchPolled { req, seen } => watch::polled(s, req, seen, &mut fx),
        Action::OpenFailed { url, why } => links::open_failed(s, &url, &why),
        Action::SetTheme(name) => set_theme(s, &name),
        // A raw key with no popup open (tests): route it as the terminal's keys are.
        Action::Input(key) if matches!(s.overlay, Overlay::None) => {
            if let Some(a) = router::route(s, &key).filter(|a| !matches!(a, Action::Input(_))) {
                fx.extend(update(s, a, now));
            }
            return fx;
        }
        _ if s.screen == Screen::FirstRun => {}
        a if !matches!(s.overlay, Overlay::None) => overlays::handle(s, a, &mut fx),
        // ⏎ while "… ended · ⏎ to jump there" shows: go to that item.
        Action::Open if watch::jump_ready(s) => watch::jump_to_notice(s, &mut fx),
        // Read-only shows itself before any form: change keys are refused (and audited) here.
        a if a
            .change_verb()
            .is_some_and(|verb| gate::refuse_early(s, verb, &mut fx)) => {}
        a if panes::handle(s, &a, &mut fx) => {}
        a => global(s, a, &mut fx),
    }
    // The rows on screen may have changed (a move, a page, a pane): ask for theirs.
    super::recent::want(s, &mut fx);
    s.dirty = true;
    fx
}

/// Two clicks on the same row within this long: open it (as Enter).
const DOUBLE_CLICK_MS: Millis = 400;

/// A click selects the row; a second click on it soon after opens it.
fn click_row(s: &mut State, pos: usize, now: Millis, fx: &mut Vec<Effect>) {
    if !matches!(s.overlay, Overlay::None) || s.log_visible() || s.detail.is_some() {
        return;
    }
    let res = s.pane;
    if pos >= s.lists.meta(res).visible.len() {
        return;
    }
    s.lists.meta_mut(res).selected = pos;
    s.lists.get_mut(res).sync_selection();
    s.dirty = true;
    let double = s
        .last_click
        .is_some_and(|(p, t)| p == pos && now.saturating_sub(t) <= DOUBLE_CLICK_MS);
    if double {
        s.last_click = None;
        fx.extend(update(s, Action::Open, now));
    } else {
        s.last_click = Some((pos, now));
        super::recent::want(s, fx);
    }
}

/// Keys that work in every pane.
fn global(s: &mut State, a: Action, fx: &mut Vec<Effect>) {
    match a {
        Action::Help => s.overlay = overlays::help::open(s),
        Action::OpenPalette => s.overlay = overlays::palette::open(""),
        Action::NextPane => panes::cycle_pane(s, 1, fx),
        Action::PrevPane => panes::cycle_pane(s, -1, fx),
        Action::ShowPane(r) => panes::show_tab(s, r, fx),
        Action::ToggleWatch => watch::toggle(s, fx),
        Action::OpenWeb => links::open(s, fx),
        Action::CopyLink => links::copy(s, fx),
        Action::OpenView(i) => super::views::open(s, i, fx),
        _ => {}
    }
}

/// `:theme <name>`.
pub(crate) fn set_theme(s: &mut State, name: &str) {
    if s.theme_names.iter().any(|t| t == name) {
        s.theme_override = Some(name.to_string());
    } else {
        let text = format!("no theme `{name}`; themes: {}", s.theme_names.join(", "));
        toast(s, Level::Error, text);
    }
}
