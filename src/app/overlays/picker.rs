//! Pick one of a list (a build's archived files, a build to compare a log with); Enter
//! chooses, Esc closes.

use crate::app::action::{Action, Effect};
use crate::app::state::{Overlay, State};
use crate::domain::Build;

pub(crate) struct Pick {
    pub title: String,
    pub items: Vec<String>,
    pub selected: usize,
    pub build: Box<Build>,
    /// Builds to compare the log with (`None`: archived files of `build`).
    pub compare: Option<Vec<Build>>,
}

impl Pick {
    fn shown(self) -> Overlay {
        Overlay::Pick {
            title: self.title,
            items: self.items,
            selected: self.selected,
            build: self.build,
            compare: self.compare,
        }
    }
}

/// `D` in a log of `build`: choose the build to compare with (newest first, the last green one
/// before it selected).
pub(crate) fn compare_picker(builds: Vec<Build>, build: &Build) -> Overlay {
    let green = crate::logdiff::fetch::last_green(&builds, build);
    let selected = builds
        .iter()
        .position(|b| green.as_ref().is_some_and(|g| g.id == b.id))
        .unwrap_or(0);
    Overlay::Pick {
        title: "compare this log with".into(),
        items: builds
            .iter()
            .map(crate::app::panes::triage::build_item)
            .collect(),
        selected,
        build: Box::default(),
        compare: Some(builds),
    }
}

pub(crate) fn handle(s: &mut State, mut p: Pick, a: Action, fx: &mut Vec<Effect>) -> Overlay {
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
        Action::Accept if p.compare.is_some() => {
            if let Some(b) = p.compare.and_then(|c| c.into_iter().nth(p.selected)) {
                crate::app::panes::triage::compare_with(s, b, fx);
            }
            Overlay::None
        }
        Action::Accept => match p.items.get(p.selected) {
            Some(file) => super::form::download_form(s, p.build, file.clone()),
            None => Overlay::None,
        },
        _ => p.shown(),
    }
}
