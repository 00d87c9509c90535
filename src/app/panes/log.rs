//! The log viewer's keys (over the Builds pane): move, follow, search, steps, copy, save.
//! Saving and searching the on-disk part are effects: `update` stays pure.

use super::logview::LogView;
use crate::app::action::{Action, Effect};
use crate::app::messages::toast;
use crate::app::state::{Level, State, short_id};
use crate::domain::Build;

pub(crate) fn open_log(s: &mut State, build: Build, fx: &mut Vec<Effect>) {
    let req = s.take_req();
    let follow = !build.status.is_terminal();
    let file = format!("log-{}-{req}.spill", s.instance);
    let view = LogView::new(
        build.clone(),
        req,
        s.log_capacity,
        s.cache_dir.join(file),
        s.page_rows + 1,
    );
    let mut view = view;
    super::triage::on_open(&mut view);
    s.log = Some(view);
    fx.push(Effect::TailLog {
        epoch: s.epoch,
        req,
        build,
        follow,
    });
}

/// Keys while the log viewer is open. Returns false for actions it leaves to the rest.
pub(crate) fn handle(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    if s.log.is_none() {
        return false;
    }
    // The summary and diff modes first; their unhandled keys show the full log.
    if super::triage::handle(s, a, fx) {
        return true;
    }
    let page = s.page_rows.max(1) as i64;
    let Some(log) = s.log.as_mut() else {
        return false;
    };
    if super::triage::shows_log(a) {
        log.mode = super::triage::LogMode::Log;
    }
    match a {
        Action::Up => log.move_by(-1),
        Action::Down => log.move_by(1),
        Action::PageUp => log.move_by(-page),
        Action::PageDown => log.move_by(page),
        Action::HalfPageUp => log.move_by(-page / 2),
        Action::HalfPageDown => log.move_by(page / 2),
        Action::Top => log.go_top(),
        Action::Bottom => log.go_bottom_and_follow(),
        Action::ToggleFollow => {
            if log.follow {
                log.follow = false;
            } else {
                log.go_bottom_and_follow();
            }
        }
        Action::ToggleWrap => log.wrap = !log.wrap,
        Action::ToggleLineNumbers => log.numbers = !log.numbers,
        Action::ScrollLeft => log.hscroll = log.hscroll.saturating_sub(8),
        Action::ScrollRight => log.hscroll += 8,
        Action::ToggleSteps => log.steps_open = !log.steps_open,
        Action::ToggleMark => {
            log.mark = if log.mark.is_some() {
                None
            } else {
                Some(log.cursor)
            }
        }
        Action::NextMatch | Action::PrevMatch => {
            let forward = matches!(a, Action::NextMatch);
            if log.search.is_empty() {
                toast(s, Level::Info, "search first with /");
            } else if log.find(forward, false).is_none() {
                toast(s, Level::Info, "no more matches");
            }
        }
        Action::ToggleMatchFilter => {
            if log.search.is_empty() {
                toast(
                    s,
                    Level::Info,
                    "search first with /, then F shows only matching lines",
                );
            } else {
                log.only_matches = !log.only_matches;
                if log.only_matches {
                    log.recompute_matches();
                    log.only_matches = true;
                }
            }
        }
        Action::JumpToError | Action::NextError => {
            if log.jump_to_error(matches!(a, Action::NextError)).is_none() {
                toast(
                    s,
                    Level::Info,
                    "no error in this log: no failed step, non-zero exit or error line",
                );
            }
        }
        Action::NextStep | Action::PrevStep => {
            if log.jump_step(matches!(a, Action::NextStep)).is_none() {
                toast(s, Level::Info, "no further step");
            }
        }
        Action::Copy => {
            let text = log.selection_text();
            let n = text.lines().count().max(1);
            log.mark = None;
            fx.push(Effect::Copy(text));
            // "Copied" only where the terminal can take OSC 52; otherwise say how to enable it.
            match s.clipboard_hint.clone() {
                None => toast(
                    s,
                    Level::Info,
                    format!("copied {n} line(s) to the clipboard"),
                ),
                Some(hint) => toast(
                    s,
                    Level::Warn,
                    format!("{n} line(s) sent for the clipboard, but {hint}"),
                ),
            }
        }
        Action::SaveLog => save_log(s, fx),
        Action::Back => {
            s.log = None;
            fx.push(Effect::StopLog);
        }
        // The same keys as in lists: search, kill, help, palette, quit…
        _ => return false,
    }
    s.dirty = true;
    true
}

/// Save the whole log (spilled part included) in the data directory, and say where.
fn save_log(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(log) = &s.log else { return };
    let dir = &s.save_dir;
    let name = crate::domain::file_name_safe(&format!(
        "{}-{}.log",
        log.build.project,
        short_id(&log.build.id)
    ));
    let path = dir.join(name);
    let snapshot = log.buf.snapshot();
    fx.push(Effect::SaveLog { path, snapshot });
    toast(s, Level::Info, "saving the log…");
}
