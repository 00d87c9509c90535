//! Pick one of a list: a build's archived files, the release candidate to deploy (from the
//! deployments the server listed and the candidates cut here, never typed), or a build to
//! compare a log with. Enter chooses, Esc closes; typing finds.

use crate::app::action::{Action, Effect, Mutation};
use crate::app::state::{Overlay, State};
use crate::domain::{Build, DeployRequest};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Debug)]
pub struct Pick {
    pub title: String,
    /// What the rows say.
    pub items: Vec<String>,
    pub selected: usize,
    pub purpose: PickFor,
    /// Typed so far: the selection jumps to the first row that contains it.
    pub find: String,
}

/// What choosing a row does.
#[derive(Clone, Debug)]
pub enum PickFor {
    /// Download the chosen archived file of this build.
    Archive(Box<Build>),
    /// Deploy the chosen candidate (`candidates[i]` for row `i`) to `environment`.
    Candidate {
        project: String,
        environment: String,
        /// What the environment runs now.
        from: Option<String>,
        candidates: Vec<String>,
    },
    /// Compare the open log with the chosen build (`builds[i]` for row `i`).
    Compare(Vec<Build>),
}

/// `D` in a log of `build`: choose the build to compare with (newest first, the last green one
/// before it selected).
pub(crate) fn compare_picker(builds: Vec<Build>, build: &Build) -> Overlay {
    let green = crate::logdiff::fetch::last_green(&builds, build);
    let selected = builds
        .iter()
        .position(|b| green.as_ref().is_some_and(|g| g.id == b.id))
        .unwrap_or(0);
    Overlay::Pick(Box::new(Pick::new(
        "compare this log with".into(),
        builds
            .iter()
            .map(crate::app::panes::triage::build_item)
            .collect(),
        selected,
        PickFor::Compare(builds),
    )))
}

pub(crate) fn handle(s: &mut State, mut p: Pick, a: Action, fx: &mut Vec<Effect>) -> Overlay {
    match a {
        Action::Cancel => Overlay::None,
        Action::Down => {
            p.selected = (p.selected + 1).min(p.items.len().saturating_sub(1));
            Overlay::Pick(Box::new(p))
        }
        Action::Up => {
            p.selected = p.selected.saturating_sub(1);
            Overlay::Pick(Box::new(p))
        }
        Action::Accept => match p.purpose {
            PickFor::Archive(build) => match p.items.get(p.selected) {
                Some(file) => super::form::download_form(s, build, file.clone()),
                None => Overlay::None,
            },
            PickFor::Candidate {
                project,
                environment,
                from,
                candidates,
            } => match candidates.get(p.selected) {
                Some(candidate) => super::confirm::confirm_for(
                    s,
                    Mutation::Deploy {
                        request: DeployRequest {
                            project,
                            environment,
                            candidate: candidate.clone(),
                        },
                        from,
                    },
                ),
                None => Overlay::None,
            },
            PickFor::Compare(builds) => {
                if let Some(b) = builds.into_iter().nth(p.selected) {
                    crate::app::panes::triage::compare_with(s, b, fx);
                }
                Overlay::None
            }
        },
        // Typing finds (keys bound in the picker, like j/k, keep their meaning).
        Action::Input(KeyEvent {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::NONE | KeyModifiers::SHIFT,
            ..
        }) => {
            p.find.push(c);
            p.jump();
            Overlay::Pick(Box::new(p))
        }
        Action::Input(KeyEvent {
            code: KeyCode::Backspace,
            ..
        }) => {
            p.find.pop();
            p.jump();
            Overlay::Pick(Box::new(p))
        }
        _ => Overlay::Pick(Box::new(p)),
    }
}

impl Pick {
    pub fn new(title: String, items: Vec<String>, selected: usize, purpose: PickFor) -> Pick {
        Pick {
            title,
            items,
            selected,
            purpose,
            find: String::new(),
        }
    }

    /// Select the first row containing what was typed (case-insensitive); stay put when none
    /// does.
    fn jump(&mut self) {
        let needle = self.find.to_lowercase();
        if needle.is_empty() {
            return;
        }
        if let Some(i) = self
            .items
            .iter()
            .position(|it| it.to_lowercase().contains(&needle))
        {
            self.selected = i;
        }
    }
}
