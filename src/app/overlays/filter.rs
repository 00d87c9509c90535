//! `/`: filter a list (previewed on the loaded rows while typing, asked of the server on
//! Enter where it filters) or search the visible log.

use super::{clear, text, type_into};
use crate::app::action::{Action, Effect};
use crate::app::lists::commit_filter;
use crate::app::messages::toast;
use crate::app::state::{Level, Overlay, State};
use ratatui_textarea::TextArea;

pub(crate) fn handle(
    s: &mut State,
    mut input: TextArea<'static>,
    a: Action,
    fx: &mut Vec<Effect>,
) -> Overlay {
    match a {
        Action::Cancel if s.log_visible() => Overlay::None,
        Action::Cancel => {
            // Back to the filter that was applied before typing.
            let pane = s.pane;
            let server = crate::app::lists::server_filters(s, pane);
            let list = s.lists.get_mut(pane);
            let l = list.meta_mut();
            l.server_filter = server;
            let applied = l.applied_filter.clone();
            // The applied filter parsed when it was applied.
            let _ = l.set_filter(&applied);
            l.filter_error = None;
            list.refilter();
            Overlay::None
        }
        Action::Accept => {
            let typed = text(&input).trim().to_string();
            if s.log_visible() {
                search_log(s, typed, fx);
            } else if commit_filter(s, typed, fx).is_err() {
                // The error stays in the filter line until the text is fixed.
                return Overlay::Filter { input };
            }
            Overlay::None
        }
        Action::ClearLine => {
            clear(&mut input);
            preview(s, &input);
            Overlay::Filter { input }
        }
        Action::Input(key) => {
            type_into(&mut input, key);
            preview(s, &input);
            Overlay::Filter { input }
        }
        _ => Overlay::Filter { input },
    }
}

/// While typing, filter the loaded rows; the server is asked on Enter.
fn preview(s: &mut State, input: &TextArea<'static>) {
    if s.log_visible() {
        return;
    }
    let wall = s.wall;
    let list = s.lists.get_mut(s.pane);
    let l = list.meta_mut();
    // A text that does not parse (yet) keeps the rows as they were; the line says why.
    if l.set_filter(&text(input)).is_err() {
        return;
    }
    l.server_filter = false;
    l.wall = wall;
    l.selected = 0;
    list.refilter();
}

/// Search the log: the lines in memory here; the on-disk part, if any, off the UI thread.
fn search_log(s: &mut State, needle: String, fx: &mut Vec<Effect>) {
    let Some(log) = &mut s.log else { return };
    let found = log.set_search(needle.clone());
    if found.is_some() || needle.is_empty() {
        return;
    }
    if log.buf.spilled() > 0 {
        fx.push(Effect::SearchSpill {
            req: log.req,
            needle,
            snapshot: log.buf.snapshot(),
        });
    } else {
        toast(s, Level::Warn, format!("no line contains “{needle}”"));
    }
}
