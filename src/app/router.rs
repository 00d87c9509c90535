//! Which layer gets a key, in the spirit of yazi's layers: only what is visible, top first —
//! a popup (modal: its own keymap layer, then its text field), else the log viewer (when it is
//! on screen), else the pane, then the global keys. A layer that is not drawn never sees a key.

use super::action::Action;
use super::keymap::{Ctx, Key};
use super::overlays;
use super::state::{Overlay, Screen, State};
use crossterm::event::KeyEvent;

/// The topmost visible layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    FirstRun,
    /// Something to read: any key closes it.
    Message,
    Popup {
        ctx: Ctx,
        typing: bool,
    },
    Log,
    Pane,
}

impl Layer {
    /// The keymap layer that describes it (help and footer).
    pub fn ctx(self) -> Ctx {
        match self {
            Layer::FirstRun => Ctx::FirstRun,
            Layer::Message => Ctx::Help,
            Layer::Popup { ctx, .. } => ctx,
            Layer::Log => Ctx::Log,
            Layer::Pane => Ctx::List,
        }
    }
}

pub fn top(s: &State) -> Layer {
    if s.screen == Screen::FirstRun {
        return Layer::FirstRun;
    }
    if let Overlay::Message { .. } = s.overlay {
        return Layer::Message;
    }
    if let Some((ctx, typing)) = overlays::layer(&s.overlay) {
        return Layer::Popup { ctx, typing };
    }
    if s.log_visible() {
        Layer::Log
    } else {
        Layer::Pane
    }
}

/// The action for a key, asked of the visible layers only. Ctrl-c quits and Ctrl-z suspends
/// from anywhere.
pub fn route(s: &State, ev: &KeyEvent) -> Option<Action> {
    if Key::parse("ctrl-c").is_ok_and(|k| k.matches(ev)) {
        return Some(Action::Quit);
    }
    if Key::parse("ctrl-z").is_ok_and(|k| k.matches(ev)) {
        return Some(Action::Suspend);
    }
    match top(s) {
        Layer::FirstRun => s.keymap.lookup(ev, Ctx::FirstRun, false),
        Layer::Message => Some(Action::Cancel),
        Layer::Popup { ctx, typing } => s
            .keymap
            .lookup(ev, ctx, typing)
            // A picker finds what is typed, after its own keys (j/k still move).
            .or_else(|| (typing || ctx == Ctx::Picker).then_some(Action::Input(*ev))),
        Layer::Log => s.keymap.action_for(ev, Ctx::Log),
        Layer::Pane => s.keymap.action_for(ev, Ctx::List),
    }
}
