//! Where a click lands, by the same layout the drawing uses (areas, tabs, footer hints, list
//! rows), turned into the action a key would have sent. The wheel scrolls what is under it.

use super::lists::{Body, body, rows_on_screen};
use crate::app::Action;
use crate::app::state::{Overlay, Screen, State};
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use unicode_width::UnicodeWidthStr;

/// Lines a wheel notch moves.
const WHEEL_LINES: i16 = 3;

/// The action for a mouse event on a terminal of `size`, if it means one.
pub fn action(s: &State, size: Rect, ev: &MouseEvent) -> Option<Action> {
    match ev.kind {
        MouseEventKind::ScrollDown => Some(Action::Wheel(WHEEL_LINES)),
        MouseEventKind::ScrollUp => Some(Action::Wheel(-WHEEL_LINES)),
        MouseEventKind::Down(MouseButton::Left) => click(s, size, ev.column, ev.row),
        _ => None,
    }
}

fn click(s: &State, size: Rect, col: u16, row: u16) -> Option<Action> {
    if size.width < super::MIN_WIDTH || size.height < super::MIN_HEIGHT {
        return None;
    }
    let [_, _, tabs, body_area, footer] = super::areas(s, size);
    // A popup takes keys only (a stray click must not act behind it).
    if !matches!(s.overlay, Overlay::None) {
        return None;
    }
    if row == footer.y {
        return footer_click(s, footer, col);
    }
    if s.screen == Screen::FirstRun {
        return None;
    }
    if row == tabs.y {
        return tab_click(s, tabs, col);
    }
    let Body::List { list, .. } = body(s, body_area) else {
        return None;
    };
    if s.detail.is_some() || !list.contains(Position::new(col, row)) {
        return None;
    }
    let (window, first) = rows_on_screen(s, list);
    let pos = window.start + usize::from(row.checked_sub(first)?);
    (pos < window.end).then_some(Action::ClickRow(pos))
}

fn tab_click(s: &State, area: Rect, col: u16) -> Option<Action> {
    let (tabs, compact) = super::tabs(s, area.width);
    let mut x = area.x + 1; // the line starts with a space
    for tab in tabs {
        let w: usize = super::tab_pieces(&tab, compact)
            .iter()
            .map(|(t, _)| t.width())
            .sum();
        let end = x.saturating_add(w as u16);
        if (x..end).contains(&col) {
            return Some(tab.action);
        }
        x = end;
    }
    None
}

fn footer_click(s: &State, area: Rect, col: u16) -> Option<Action> {
    if matches!(s.overlay, Overlay::Filter { .. }) {
        return None;
    }
    // The message comes first (" text " and a bar), then the hints.
    let toast = s
        .toast
        .as_ref()
        .map_or(0, |t| super::clean(&t.text).width() + 3);
    let mut x = area.x.saturating_add(toast as u16);
    for hint in super::footer_hints(s, (area.width as usize).saturating_sub(toast)) {
        let end = x.saturating_add(hint.width() as u16);
        if (x..end).contains(&col) {
            return (!hint.refused).then_some(hint.action);
        }
        x = end;
    }
    None
}
