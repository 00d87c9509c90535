//! Confirmations: what a change will do, on which profile; y sends it through the read-only
//! gate, n/Esc sends nothing; a protected environment takes its name typed instead of y.

use super::{opened, text, type_into};
use crate::app::action::{Action, Effect, Mutation};
use crate::app::gate;
use crate::app::messages::{CANCELLED, toast};
use crate::app::state::{Confirm, Level, Overlay, State, short_id};
use ratatui_textarea::TextArea;

/// What a confirmed change becomes when checked against the latest state at send time.
pub(crate) enum Recheck {
    Send(Mutation),
    /// The same target, changed since the question in a way that does not change the intent:
    /// sent as it is now, and said.
    SendChanged(Mutation, String),
    /// Nothing left to do; nothing is sent.
    Moot(String),
}

/// The operator confirmed what they saw; the state may have moved since (a refresh): a kill
/// of a run that meanwhile started or finished is asked again or not sent.
pub(crate) fn recheck(s: &State, op: Mutation) -> Recheck {
    let Mutation::Kill { build } = &op else {
        return Recheck::Send(op);
    };
    let latest = s
        .lists
        .builds
        .rows
        .iter()
        .chain(s.log.as_ref().map(|l| &l.build))
        .filter(|b| b.id == build.id)
        .find(|b| b.status != build.status);
    match latest {
        None => Recheck::Send(op),
        Some(now) if now.status.is_terminal() => Recheck::Moot(format!(
            "{} of {} has {} meanwhile; nothing was sent",
            short_id(&build.id),
            build.project,
            now.status.label()
        )),
        // Still the same run, only further along (queued → running): kill it as it is now
        // (the backend kills a running run another way than a queued one).
        Some(now) => Recheck::SendChanged(
            Mutation::Kill { build: now.clone() },
            format!(
                "{} was {} when you asked and is {} now: killing the {} run",
                short_id(&build.id),
                build.status.label(),
                now.status.label(),
                now.status.label()
            ),
        ),
    }
}

/// Keys in a confirmation.
pub(crate) fn handle(s: &mut State, mut c: Confirm, a: Action, fx: &mut Vec<Effect>) -> Overlay {
    match a {
        Action::Cancel => {
            toast(s, Level::Info, CANCELLED);
            Overlay::None
        }
        Action::Accept => {
            if let Some((expected, input)) = &c.typed {
                let typed = text(input);
                if typed.trim() != expected.as_str() {
                    c.error = Some(format!(
                        "type `{expected}` exactly to confirm; nothing was sent"
                    ));
                    return Overlay::Confirm(Box::new(c));
                }
            }
            if !c.bulk.is_empty() {
                crate::app::bulk::send(s, c.bulk, c.skipped, fx);
                return opened(s);
            }
            match recheck(s, c.pending) {
                Recheck::Send(op) => gate::send(s, op, fx),
                Recheck::SendChanged(op, why) => {
                    gate::send(s, op, fx);
                    toast(s, Level::Info, why);
                }
                Recheck::Moot(why) => toast(s, Level::Info, why),
            }
            opened(s)
        }
        // Rollback: force is a choice made here, explained in the dialog.
        Action::ToggleForce => {
            if let Mutation::Rollback { request, .. } = &mut c.pending {
                request.force = !request.force;
                let op = c.pending.clone();
                return confirm_for(s, op);
            }
            Overlay::Confirm(Box::new(c))
        }
        Action::Input(key) => {
            if let Some((_, input)) = &mut c.typed
                && type_into(input, key)
            {
                c.error = None;
            }
            Overlay::Confirm(Box::new(c))
        }
        _ => Overlay::Confirm(Box::new(c)),
    }
}

/// The confirmation for a change: what will happen, on which profile, and — for protected
/// environments — the name to type.
pub fn confirm_for(s: &State, op: Mutation) -> Overlay {
    let profile = s.profile().map(|p| p.name.clone()).unwrap_or_default();
    let protected = |env: &str| {
        s.profile()
            .is_some_and(|p| p.protected_environments.iter().any(|e| e == env))
    };
    let (title, mut lines, typed_env): (&str, Vec<String>, Option<String>) = match &op {
        Mutation::Launch { project, request } => {
            let mut what = if request.skip_steps.is_empty() {
                "no step skipped".to_string()
            } else {
                format!("skipping {}", request.skip_steps.join(", "))
            };
            for (k, v) in &request.params {
                what.push_str(&format!(" · {k} {v}"));
            }
            (
                "launch a build",
                vec![format!("Start a build of {project}"), what],
                None,
            )
        }
        Mutation::Kill { build } => (
            "kill a build",
            vec![
                format!("Kill run {} of {}", short_id(&build.id), build.project),
                format!("It is {} now; this cannot be undone.", build.status.label()),
            ],
            None,
        ),
        Mutation::Redeploy { build } => (
            "redeploy",
            vec![
                format!(
                    "Run {} of {} again, as it was",
                    short_id(&build.id),
                    build.project
                ),
                format!(
                    "{} (the server replays its trigger)",
                    crate::app::rerun::redeploy_words(build)
                ),
                "This deploys that version again (a rollback).".to_string(),
            ],
            None,
        ),
        Mutation::Rerun {
            build,
            request,
            unknown,
        } => {
            let mut lines = vec![format!(
                "Re-run {} {}: {}",
                build.project,
                crate::app::bulk::label(build),
                crate::app::rerun::words(build, request)
            )];
            lines.extend(unknown.iter().map(|u| format!("Not known: {u}.")));
            lines.push("This starts a new build of the project.".to_string());
            ("re-run a build", lines, None)
        }
        Mutation::CreateRelease { request } => (
            "cut a release candidate",
            vec![
                format!("Create {} in {}", request.candidate, request.project),
                format!("from {} at {}", request.repo, request.commit),
                if request.build {
                    "and start its build workflow"
                } else {
                    "without a build"
                }
                .to_string(),
            ],
            None,
        ),
        Mutation::Deploy { request, from } => (
            "promote",
            vec![
                format!(
                    "Deploy {} to {} of {}",
                    request.candidate, request.environment, request.project
                ),
                format!(
                    "{}: {} → {}",
                    request.environment,
                    from.as_deref().unwrap_or("nothing yet"),
                    request.candidate
                ),
                match crate::app::releases::skipped(
                    s,
                    &request.project,
                    &request.environment,
                    &request.candidate,
                )
                .as_slice()
                {
                    [] => "This starts the environment's deployment workflow.".to_string(),
                    skipped => format!(
                        "It skips {}, which {} not run {} (this starts the deployment workflow).",
                        skipped.join(", "),
                        if skipped.len() == 1 { "does" } else { "do" },
                        request.candidate
                    ),
                },
            ],
            protected(&request.environment).then(|| request.environment.clone()),
        ),
        Mutation::SetStatus { request } => (
            "set deployment status",
            vec![
                format!(
                    "Mark {} on {} of {} as {}",
                    request.candidate, request.environment, request.project, request.status
                ),
                "This records a status; it starts no workflow.".to_string(),
            ],
            protected(&request.environment).then(|| request.environment.clone()),
        ),
        Mutation::RunPlan { path } => (
            "run a plan on the runner",
            vec![
                format!("Run the plan in {path} directly on the runner"),
                "It starts at once; its log opens and follows it.".to_string(),
            ],
            None,
        ),
        Mutation::ReportStatus { build, status } => (
            "report build status",
            vec![
                format!(
                    "Report build {} of {} as {status}",
                    short_id(&build.id),
                    build.project
                ),
                format!("It is {} now.", build.raw_status),
            ],
            None,
        ),
        Mutation::CreateAsset {
            build,
            kind,
            name,
            url,
        } => (
            "declare an asset",
            vec![
                format!(
                    "Declare a {kind} asset of build {} of {}",
                    short_id(&build.id),
                    build.project
                ),
                format!(
                    "{}{}",
                    name.as_deref().unwrap_or("(no name)"),
                    url.as_deref()
                        .map(|u| format!(" at {u}"))
                        .unwrap_or_default()
                ),
                "The answer says where the CI should push it.".to_string(),
            ],
            None,
        ),
        Mutation::Rollback { request, from } => (
            "roll back",
            vec![
                format!("Roll back {} of {}", request.environment, request.project),
                match crate::app::releases::previous(
                    s,
                    &request.project,
                    &request.environment,
                    from.as_deref(),
                ) {
                    Some(to) => format!(
                        "{}: {} → {to} (active deployments are cancelled)",
                        request.environment,
                        from.as_deref().unwrap_or("current"),
                    ),
                    None => format!(
                        "{}: {} → the release before it (not in the history on screen)",
                        request.environment,
                        from.as_deref().unwrap_or("current"),
                    ),
                },
                if request.force {
                    "force: ON — also if the environment is frozen (f to turn off)".to_string()
                } else {
                    "force: off — a frozen environment refuses (f to force; a freeze is deliberate)"
                        .to_string()
                },
            ],
            protected(&request.environment).then(|| request.environment.clone()),
        ),
    };
    lines.push(format!("profile {profile}"));
    Overlay::Confirm(Box::new(Confirm {
        title: title.to_string(),
        lines,
        pending: op,
        typed: typed_env.map(|e| (e, TextArea::default())),
        error: None,
        bulk: Vec::new(),
        skipped: Vec::new(),
    }))
}
