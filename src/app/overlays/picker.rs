//! Pick one of a list (a build's archived files); Enter chooses, Esc closes.

use crate::app::action::Action;
use crate::app::state::{Overlay, State};
use crate::domain::Build;

pub(crate) struct Pick {
    pub title: String,
    pub items: Vec<String>,
    pub selected: usize,
    pub build: Box<Build>,
}

impl Pick {
    fn shown(self) -> Overlay {
        Overlay::Pick {
            title: self.title,
            items: self.items,
            selected: self.selected,
            build: self.build,
        }
    }
}

pub(crate) fn handle(s: &mut State, mut p: Pick, a: Action) -> Overlay {
    match a {
        Action::Cancel => Overlay::None,
        Action::Down => {
            p.selected = (p.selected + 1).min(p.items.len().saturating_sub(1));
            p.shown()
        }
        Action::Up => {
            p.selected = p.selected.saturating_sub(1);
            p.shown()
        }
        Action::Accept => match p.items.get(p.selected) {
            Some(file) => super::form::download_form(s, p.build, file.clone()),
            None => Overlay::None,
        },
        _ => p.shown(),
    }
}
