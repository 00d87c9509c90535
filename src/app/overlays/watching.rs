//! `:watching`: every watched item of every profile with its state; ⏎ jumps there, `w`
//! stops watching the line, Esc closes.

use crate::app::action::{Action, Effect};
use crate::app::state::{Overlay, State};
use crate::app::watch;

pub(crate) fn handle(s: &mut State, selected: usize, a: Action, fx: &mut Vec<Effect>) -> Overlay {
    let last = s.watch.items.len().saturating_sub(1);
    match a {
        Action::Cancel => Overlay::None,
        Action::Down => Overlay::Watching {
            selected: (selected + 1).min(last),
        },
        Action::Up => Overlay::Watching {
            selected: selected.saturating_sub(1),
        },
        Action::Accept => {
            if let Some(item) = s.watch.items.get(selected).cloned() {
                watch::jump(s, &item, fx);
            }
            // A jump to another profile closes every popup; here nothing is left open.
            Overlay::None
        }
        Action::ToggleWatch => {
            watch::remove(s, selected, fx);
            if s.watch.items.is_empty() {
                Overlay::None
            } else {
                Overlay::Watching {
                    selected: selected.min(s.watch.items.len().saturating_sub(1)),
                }
            }
        }
        _ => Overlay::Watching { selected },
    }
}
