//! Replies of requests, in one place: the epoch is checked here once (answers for a profile
//! switched away from are dropped), then each reply goes to the module that owns it.

use super::action::{Action, Effect, ListCache, Listing, Mutation, Outcome};
use super::lists::{list_loaded, load, prefill};
use super::messages::{bytes, toast};
use super::panes::logview::TailState;
use super::panes::{log::open_log, releases, show_pane};
use super::state::{Level, LoadKind, Overlay, State, short_id};
use crate::api::ApiError;
use crate::domain::Resource;
use crate::domain::{Build, BuildScope};

/// What [`handle`] did with an action.
pub(crate) enum Handled {
    /// A reply, applied; whether the screen must be drawn again.
    Reply { redraw: bool },
    /// Not the answer of a request (a key or the clock): for the rest of `update`.
    Other(Box<Action>),
}

/// Apply a reply, or hand the action back.
pub(crate) fn handle(s: &mut State, action: Action, fx: &mut Vec<Effect>) -> Handled {
    // Every reply of the current profile carries its epoch; the trail and file results do not.
    let active = s.epoch;
    let current = |epoch: u64| epoch == active;
    match action {
        Action::LoggedIn { epoch, result } => {
            if current(epoch) {
                super::profile::logged_in(s, result, fx);
            }
        }
        Action::ListLoaded { epoch, req, result } => {
            if current(epoch) {
                list_loaded(s, req, result, fx);
            }
            return Handled::Reply { redraw: false };
        }
        Action::RecentLoaded {
            epoch,
            profile,
            project_id,
            result,
        } => {
            if current(epoch) {
                super::recent::loaded(s, profile, project_id, result);
            }
            return Handled::Reply { redraw: false };
        }
        Action::LaunchOptionsLoaded {
            epoch,
            project_id,
            project,
            result,
        } => {
            if current(epoch) {
                super::overlays::form::launch_form(s, project_id, project, result);
            }
        }
        Action::CacheLoaded { epoch, cache } => {
            if current(epoch) {
                let ListCache {
                    projects,
                    developers,
                    secrets,
                } = *cache;
                prefill(&mut s.lists.projects, projects);
                prefill(&mut s.lists.developers, developers);
                prefill(&mut s.lists.secrets, secrets);
            }
        }
        Action::ArchivesLoaded {
            epoch,
            build,
            result,
        } => {
            if current(epoch) {
                match result {
                    Ok(files) if files.is_empty() => toast(
                        s,
                        Level::Info,
                        format!("{} archived no files", short_id(&build.id)),
                    ),
                    Ok(items) => {
                        s.overlay = Overlay::Pick(Box::new(super::overlays::picker::Pick::new(
                            format!("files of {} {}", build.project, short_id(&build.id)),
                            items,
                            0,
                            super::overlays::picker::PickFor::Archive(build),
                        )))
                    }
                    Err(e) => toast(
                        s,
                        Level::Error,
                        format!("cannot list the archived files: {e}"),
                    ),
                }
            }
        }
        Action::DownloadProgress { file, done, total } => {
            let of = total
                .map(|t| format!(" of {}", bytes(t)))
                .unwrap_or_default();
            toast(
                s,
                Level::Info,
                format!("downloading {file}: {}{of}", bytes(done)),
            );
        }
        Action::DownloadExists { build, file, path } => {
            s.overlay = super::overlays::form::replace_form(build, file, path);
        }
        Action::Downloaded {
            file,
            path,
            result,
            created,
        } => match result {
            Ok(n) => {
                let made = created
                    .map(|d| format!(" (created {})", d.display()))
                    .unwrap_or_default();
                toast(
                    s,
                    Level::Info,
                    format!("{file}: {} saved to {}{made}", bytes(n), path.display()),
                )
            }
            Err(e) => toast(s, Level::Error, format!("download of {file} failed: {e}")),
        },
        Action::RunnerHealth { epoch, result } => {
            if current(epoch) {
                match result {
                    Ok(h) => {
                        let level = if h.worrying() {
                            Level::Warn
                        } else {
                            Level::Info
                        };
                        toast(s, level, format!("runner: {}", h.summary()))
                    }
                    Err(e) => toast(s, Level::Error, format!("runner: {e}")),
                }
            }
        }
        Action::EnvironmentsLoaded { epoch, result } => {
            if current(epoch) {
                releases::environments_loaded(s, result, fx);
            }
        }
        Action::DeploymentsLoaded { epoch, req, result } => {
            if current(epoch) && !releases::deployments_loaded(s, req, &result, fx) {
                list_loaded(s, req, result.map(Listing::Deployments), fx);
            }
            return Handled::Reply { redraw: false };
        }
        Action::Mutated(done) => {
            let super::action::Mutated {
                epoch,
                op,
                result,
                audit,
            } = *done;
            // The trail keeps every change, also from a profile since switched away from.
            let mut audit = audit;
            audit.key = format!("session-{}", s.audit.len());
            s.audit.push(audit);
            if s.pane == Resource::Audit {
                load(s, Resource::Audit, LoadKind::Reload, fx);
            }
            if current(epoch) {
                let (sent, back) = (op.clone(), result.clone());
                mutated(s, op, result, fx);
                // One of several sent together: summed up once all are back.
                super::bulk::on_result(s, &sent, &back);
            }
        }
        Action::LogIngest { epoch, req, items } => {
            if current(epoch)
                && let Some(log) = s.log.as_mut().filter(|l| l.req == req)
                && log.ingest(items)
            {
                s.dirty = true;
            }
            return Handled::Reply { redraw: false };
        }
        Action::LogTailEnded { epoch, req, result } => {
            if current(epoch)
                && let Some(log) = s.log.as_mut().filter(|l| l.req == req)
            {
                if let Err(e) = result {
                    log.state = TailState::Failed(
                        crate::api::errors::cap_message(&e.to_string()).into_owned(),
                    );
                } else if matches!(log.state, TailState::Live | TailState::Loading) {
                    log.state = TailState::Done(None);
                }
                super::panes::triage::on_loaded(s, req, fx);
            }
        }
        a @ (Action::DiffProgress { .. }
        | Action::DiffDone { .. }
        | Action::CompareCandidates { .. }) => {
            super::panes::triage::reply(s, &a, fx);
            return Handled::Reply { redraw: false };
        }
        Action::LogSaved { path, result } => match result {
            Ok(lines) => toast(
                s,
                Level::Info,
                format!("saved {lines} lines to {}", path.display()),
            ),
            Err(e) => toast(
                s,
                Level::Error,
                format!("cannot save to {}: {e}", path.display()),
            ),
        },
        Action::SpillSearched { req, needle, first } => {
            if s.log.as_ref().is_some_and(|l| l.req == req) {
                match first {
                    Some(n) => toast(
                        s,
                        Level::Info,
                        format!(
                            "first match is line {} (on disk: save the log to see it)",
                            n + 1
                        ),
                    ),
                    None => toast(s, Level::Warn, format!("no line contains “{needle}”")),
                }
            }
        }
        other => return Handled::Other(Box::new(other)),
    }
    Handled::Reply { redraw: true }
}

/// A change came back: record it, say so, and refresh what it touched.
fn mutated(s: &mut State, op: Mutation, result: Result<Outcome, ApiError>, fx: &mut Vec<Effect>) {
    let target = op.target();
    let verb = op.verb().replace('_', " ");
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            toast(s, Level::Error, format!("{verb} of {target} failed: {e}"));
            return;
        }
    };
    match (op, outcome) {
        (Mutation::Launch { project, .. }, Outcome::Build(build))
        | (
            Mutation::Redeploy {
                build: Build { project, .. },
            }
            | Mutation::Rerun {
                build: Build { project, .. },
                ..
            },
            Outcome::Build(build),
        ) => launched(s, project, build, fx),
        (Mutation::RunPlan { .. }, Outcome::Build(build)) => {
            s.pane = Resource::Builds;
            s.detail = None;
            open_log(s, build, fx);
        }
        (Mutation::CreateAsset { build, kind, .. }, Outcome::Targets(targets)) => {
            let mut lines = vec![format!(
                "{kind} asset of {} declared; push it to:",
                short_id(&build.id)
            )];
            lines.extend(targets.iter().map(|t| format!("  {t}")));
            if targets.is_empty() {
                lines.push("  (the server named no target)".into());
            }
            s.overlay = Overlay::Message {
                title: "asset targets".into(),
                lines,
            };
        }
        (Mutation::ReportStatus { build, status }, _) => {
            toast(
                s,
                Level::Info,
                format!("build {} reported {status}", short_id(&build.id)),
            );
            load(s, Resource::Builds, LoadKind::Reload, fx);
        }
        (Mutation::Kill { build }, _) => {
            toast(
                s,
                Level::Info,
                format!("killed {} of {}", short_id(&build.id), build.project),
            );
            load(s, Resource::Builds, LoadKind::Reload, fx);
        }
        (op, _) => releases::changed(s, op, fx),
    }
}

fn launched(s: &mut State, project: String, build: Build, fx: &mut Vec<Effect>) {
    toast(
        s,
        Level::Info,
        format!("{project}: run {} queued", short_id(&build.id)),
    );
    let shows = match &s.builds_scope {
        BuildScope::Active => true,
        BuildScope::Project { name, .. } => *name == build.project,
    };
    // The new run appears at once; the next refresh confirms it.
    if shows && !s.lists.builds.rows.iter().any(|b| b.id == build.id) {
        // The new run is what the operator will look at next: select it.
        s.lists.builds.selected_id = Some(build.id.clone());
        s.lists.builds.rows.insert(0, build);
        s.lists.builds.refilter();
    }
    if s.pane != Resource::Builds {
        s.builds_scope = BuildScope::Active;
        show_pane(s, Resource::Builds, fx);
    }
}
