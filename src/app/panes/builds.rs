//! The Builds pane's actions: launch (from Projects too), kill, redeploy (rollback where
//! deploys are builds), status reports and assets (nullplatform), archived files (Candor).

use crate::app::action::{Action, Effect, Mutation};
use crate::app::messages::toast;
use crate::app::overlays::confirm::confirm_for;
use crate::app::state::{LaunchForm, Level, Overlay, State, short_id};
use crate::domain::{BuildScope, Resource};
use ratatui_textarea::TextArea;

/// The Builds pane's keys (and launch from Projects). Returns false for the rest.
pub(crate) fn handle(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    match a {
        // In the Builds pane, R rolls back the way build-based backends do: run an earlier
        // build again (Serverless-cd redeploy); T reports a status, A declares an asset.
        // Marked rows (Space): x and R act on all of them, with one confirmation.
        Action::MarkRow if s.pane == Resource::Builds => crate::app::bulk::toggle(s),
        Action::Back if crate::app::bulk::clear(s) => {}
        Action::Kill if crate::app::bulk::active(s) => {
            if can_kill(s) {
                crate::app::bulk::ask_kill(s);
            }
        }
        Action::Rollback if crate::app::bulk::active(s) => crate::app::bulk::ask_rerun(s),
        Action::Rollback if s.pane == Resource::Builds => ask_rerun(s),
        Action::SetStatus if s.pane == Resource::Builds => build_form(s, false),
        Action::CreateAsset if s.pane == Resource::Builds => build_form(s, true),
        Action::Archives => ask_archives(s, fx),
        Action::Launch => start_launch(s, fx),
        Action::Kill => ask_kill(s),
        // Keys of other panes (Releases) and of the log viewer do nothing here.
        Action::CreateAsset
        | Action::PrevEnv
        | Action::NextEnv
        | Action::NextProject
        | Action::Promote
        | Action::DeployCandidate
        | Action::Rollback
        | Action::SetStatus
        | Action::CutRelease
        | Action::ToggleFollow
        | Action::NextMatch
        | Action::PrevMatch
        | Action::ToggleMatchFilter
        | Action::ToggleWrap
        | Action::ToggleLineNumbers
        | Action::JumpToError
        | Action::NextError
        | Action::SaveLog
        | Action::Copy
        | Action::ToggleMark
        | Action::MarkRow
        | Action::ToggleSteps
        | Action::NextStep
        | Action::PrevStep
        | Action::ScrollLeft
        | Action::ScrollRight
        | Action::ToggleDiff
        | Action::PickDiff
        | Action::ToggleSummary => {}
        _ => return false,
    }
    true
}

fn start_launch(s: &mut State, fx: &mut Vec<Effect>) {
    let can = s.caps().is_some_and(|c| c.builds.launch);
    if !can {
        toast(s, Level::Warn, "this backend cannot launch builds");
        return;
    }
    let target = match (s.pane, &s.builds_scope) {
        (Resource::Projects, _) if s.detail.is_none() => s
            .lists
            .projects
            .selected_row()
            .map(|p| (p.id.clone(), p.name.clone())),
        (Resource::Builds, BuildScope::Project { id, name }) => Some((id.clone(), name.clone())),
        _ => None,
    };
    let Some((project_id, project)) = target else {
        toast(
            s,
            Level::Info,
            "select a project (Projects pane) to launch a build",
        );
        return;
    };
    // Always ask: besides steps to skip, backends have fields (commit, branch, ref, params).
    fx.push(Effect::LaunchOptions {
        epoch: s.epoch,
        project_id,
        project,
    });
}

/// Whether this backend kills builds (said when it does not).
fn can_kill(s: &mut State) -> bool {
    let can = s.caps().is_some_and(|c| c.builds.kill);
    if !can {
        toast(s, Level::Warn, "this backend cannot kill builds");
    }
    can
}

fn ask_kill(s: &mut State) {
    if !can_kill(s) {
        return;
    }
    let build = target(s);
    let Some(build) = build else {
        toast(
            s,
            Level::Info,
            "select a build in the Builds pane to kill it",
        );
        return;
    };
    if build.status.is_terminal() || build.run_id.is_none() {
        toast(
            s,
            Level::Info,
            format!("{} has already finished", short_id(&build.id)),
        );
        return;
    }
    s.overlay = confirm_for(s, Mutation::Kill { build });
}

/// Forms on the selected build: report its status, or declare an asset (nullplatform).
fn build_form(s: &mut State, asset: bool) {
    let support = s.caps().map(|c| c.builds.clone()).unwrap_or_default();
    let options = if asset {
        &support.asset_kinds
    } else {
        &support.report_statuses
    };
    if options.is_empty() {
        let what = if asset {
            "declare assets"
        } else {
            "report build statuses"
        };
        toast(s, Level::Warn, format!("this backend cannot {what}"));
        return;
    }
    let Some(build) = s.lists.builds.selected_row().cloned() else {
        toast(s, Level::Info, "select a build first");
        return;
    };
    let field = |name: &str, label: &str, default: Option<String>, required: bool| {
        let mut input = TextArea::new(vec![default.clone().unwrap_or_default()]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        (
            crate::domain::LaunchField {
                name: name.into(),
                label: label.into(),
                required,
                default,
                key_values: false,
            },
            input,
        )
    };
    let (purpose, fields) = if asset {
        (
            crate::app::state::FormPurpose::Asset {
                build: Box::new(build.clone()),
            },
            vec![
                field(
                    "kind",
                    &format!("kind ({})", options.join("|")),
                    options.first().cloned(),
                    true,
                ),
                field("name", "name", Some(build.project.clone()), false),
                field("url", "url (optional)", None, false),
            ],
        )
    } else {
        (
            crate::app::state::FormPurpose::ReportStatus {
                build: Box::new(build.clone()),
            },
            vec![field(
                "status",
                &format!("status ({})", options.join("|")),
                options.first().cloned(),
                true,
            )],
        )
    };
    s.overlay = Overlay::Launch(Box::new(LaunchForm::fields_only(
        purpose,
        build.id.clone(),
        build.project.clone(),
        options.clone(),
        fields,
    )));
}

fn ask_archives(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.caps().is_some_and(|c| c.builds.archives) {
        toast(s, Level::Warn, "this backend keeps no archived files");
        return;
    }
    let build = target(s);
    match build {
        Some(b) => fx.push(Effect::ListArchives {
            epoch: s.epoch,
            build: Box::new(b),
        }),
        None => toast(s, Level::Info, "select a build to see its archived files"),
    }
}

/// R on a build: run it again with its original parameters (`crate::app::rerun`).
fn ask_rerun(s: &mut State) {
    let Some(build) = target(s) else {
        toast(s, Level::Info, "select a build to run again");
        return;
    };
    match crate::app::rerun::plan(s, &build) {
        Ok(op) => s.overlay = confirm_for(s, op),
        Err(why) => toast(s, Level::Info, why),
    }
}

/// The build an action is about: the one whose log is on screen, else the Builds pane's
/// selected row (a hidden log is no target).
fn target(s: &State) -> Option<crate::domain::Build> {
    match &s.log {
        Some(l) if s.log_visible() => Some(l.build.clone()),
        _ if s.pane == Resource::Builds => s.lists.builds.selected_row().cloned(),
        _ => None,
    }
}
