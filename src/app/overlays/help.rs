//! `?`: the keys of the layer under it (a pane, the log viewer, a popup), generated from the
//! keymap, so help never disagrees with what the keys do.

use crate::app::action::Action;
use crate::app::keymap::Ctx;
use crate::app::state::{Overlay, State};

/// Help for the layer that has the keys now.
pub fn open(s: &State) -> Overlay {
    Overlay::Help {
        scroll: 0,
        ctx: s.key_context(),
    }
}

pub(crate) fn handle(scroll: u16, ctx: Ctx, a: Action) -> Overlay {
    match a {
        Action::Cancel | Action::Help => Overlay::None,
        Action::Down => Overlay::Help {
            scroll: scroll.saturating_add(1),
            ctx,
        },
        Action::Up => Overlay::Help {
            scroll: scroll.saturating_sub(1),
            ctx,
        },
        _ => Overlay::Help { scroll, ctx },
    }
}
