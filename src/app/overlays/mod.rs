//! One module per popup (gitui's popups): confirm, form, palette, filter, picker, help. A
//! popup is modal: while it is open every key goes to it (see `app::router`), by the names of
//! its own keymap layer; what no binding claims is typed into its text field, if it has one.

pub mod confirm;
pub mod filter;
pub mod form;
pub mod help;
pub mod palette;
pub mod picker;
pub(crate) mod watching;

use crate::app::action::{Action, Effect};
use crate::app::keymap::Ctx;
use crate::app::state::{Overlay, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// The keymap layer of a popup, and whether a text field has the focus (plain characters are
/// then text, not commands). `None`: no popup, or one that any key closes.
pub(crate) fn layer(o: &Overlay) -> Option<(Ctx, bool)> {
    Some(match o {
        Overlay::None | Overlay::Message { .. } => return None,
        Overlay::Palette { .. } => (Ctx::Palette, true),
        Overlay::Filter { .. } => (Ctx::Filter, true),
        Overlay::Help { .. } => (Ctx::Help, false),
        Overlay::Confirm(c) => (Ctx::Confirm, c.typed.is_some()),
        Overlay::Pick(_) => (Ctx::Picker, false),
        Overlay::Launch(f) => (Ctx::Form, f.focus >= 1),
        Overlay::Watching { .. } => (Ctx::Watching, false),
    })
}

/// An action while a popup is open: only the popup sees it.
pub(crate) fn handle(s: &mut State, a: Action, fx: &mut Vec<Effect>) {
    if let Overlay::Message { .. } = s.overlay {
        s.overlay = Overlay::None; // something to read: any key closes it
        return;
    }
    // A raw key (from a test, or text the router passed on): a popup key by name first.
    let a = match a {
        Action::Input(key) => match layer(&s.overlay) {
            Some((ctx, typing)) => s
                .keymap
                .lookup(&key, ctx, typing)
                .unwrap_or(Action::Input(key)),
            None => return,
        },
        a => a,
    };
    let next = match std::mem::replace(&mut s.overlay, Overlay::None) {
        Overlay::Palette { input, selected } => palette::handle(s, input, selected, a, fx),
        Overlay::Filter { input } => filter::handle(s, input, a, fx),
        Overlay::Help { scroll, ctx } => help::handle(scroll, ctx, a),
        Overlay::Confirm(c) => confirm::handle(s, *c, a, fx),
        Overlay::Pick(p) => picker::handle(s, *p, a, fx),
        Overlay::Launch(form) => form::handle(s, form, a, fx),
        Overlay::Watching { selected } => watching::handle(s, selected, a, fx),
        Overlay::Message { .. } | Overlay::None => Overlay::None,
    };
    s.overlay = next;
}

/// What a handler returns after calling code that may itself have opened a popup (a command
/// that asks for confirmation): that popup, or none.
fn opened(s: &mut State) -> Overlay {
    std::mem::replace(&mut s.overlay, Overlay::None)
}

/// A key typed into a one-line field. Tab, Enter and Esc are never text (a popup binds them or
/// ignores them: Tab no longer types spaces into a name to confirm).
pub(crate) fn type_into(input: &mut TextArea<'static>, key: KeyEvent) -> bool {
    let named = matches!(
        key.code,
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Enter | KeyCode::Esc
    );
    let ctrl_newline = key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('m') | KeyCode::Char('j'));
    if named || ctrl_newline {
        return false;
    }
    input.input(key)
}

/// Ctrl-U: empty the field.
pub fn clear(input: &mut TextArea<'static>) {
    *input = TextArea::default();
}

/// The text of a one-line field.
pub fn text(input: &TextArea<'static>) -> String {
    input.lines().join("")
}
