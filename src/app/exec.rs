//! Turning effects into backend calls and their results into actions. Shared by the task
//! runner (the dashboard) and the headless executor (tests, screenshots), so both behave alike.

use super::action::{Action, AuditEntry, Effect, Listing, LogItem, Mutated, Mutation, Outcome};
use crate::api::{ApiError, Backend};
use crate::domain::{LogEvent, Page, Resource};
use crate::logtext::Sanitizer;
use tokio::sync::mpsc;

/// Lines per ingest batch at most, so one huge burst still yields frames in between.
const MAX_BATCH_LINES: usize = 50_000;

/// Run a request/response effect. `None` for effects that are not calls (log tails, copy,
/// demo, stop).
pub async fn call(backend: &dyn Backend, effect: &Effect) -> Option<Action> {
    Some(match effect {
        Effect::Connect { epoch, .. } | Effect::Login { epoch } => Action::LoggedIn {
            epoch: *epoch,
            result: backend.login().await,
        },
        Effect::FetchList {
            epoch,
            req,
            resource,
            query,
        } => {
            let result = match resource {
                Resource::Projects => backend.projects(query).await.map(Listing::Projects),
                Resource::Developers => backend.developers(query).await.map(Listing::Developers),
                Resource::Secrets => backend.secrets(query).await.map(Listing::Secrets),
                Resource::Builds | Resource::Releases | Resource::Audit | Resource::Overview => {
                    Err(ApiError::Unsupported(format!(
                        "{} are not a server list",
                        resource.as_str()
                    )))
                }
            };
            Action::ListLoaded {
                epoch: *epoch,
                req: *req,
                result,
            }
        }
        Effect::FetchBuilds { epoch, req, scope } => {
            let result = backend
                .builds(scope)
                .await
                .map(|items| Listing::Builds(Page::whole(items)));
            Action::ListLoaded {
                epoch: *epoch,
                req: *req,
                result,
            }
        }
        Effect::FetchRecent {
            epoch,
            profile,
            project,
        } => Action::RecentLoaded {
            epoch: *epoch,
            profile: profile.clone(),
            project_id: project.id.clone(),
            result: backend
                .recent_builds(project, super::recent::RECENT_BUILDS)
                .await,
        },
        Effect::LaunchOptions {
            epoch,
            project_id,
            project,
        } => Action::LaunchOptionsLoaded {
            epoch: *epoch,
            project_id: project_id.clone(),
            project: project.clone(),
            result: backend.launch_options(project_id).await,
        },
        Effect::Mutate {
            epoch,
            op,
            profile,
            user,
        } => {
            let result = mutate(backend, op).await;
            let audit = AuditEntry {
                time: chrono::Utc::now(),
                profile: profile.clone(),
                user: user.clone(),
                action: op.verb().to_string(),
                target: op.target(),
                request: op.summary(),
                result: match &result {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("error: {e}"),
                },
                key: String::new(),
            };
            Action::Mutated(Box::new(Mutated {
                epoch: *epoch,
                op: op.clone(),
                result,
                audit,
            }))
        }
        Effect::ListArchives { epoch, build } => Action::ArchivesLoaded {
            epoch: *epoch,
            build: build.clone(),
            result: backend.archives(build).await,
        },
        Effect::RunnerHealth { epoch } => Action::RunnerHealth {
            epoch: *epoch,
            result: backend.runner_health().await,
        },
        Effect::FetchEnvironments { epoch } => Action::EnvironmentsLoaded {
            epoch: *epoch,
            result: backend.environments().await,
        },
        Effect::FetchDeployments {
            epoch,
            req,
            project,
            environment,
            page,
            per_page,
        } => Action::DeploymentsLoaded {
            epoch: *epoch,
            req: *req,
            result: backend
                .deployments(project, environment, *page, *per_page)
                .await,
        },
        Effect::TailLog { .. }
        | Effect::SaveLog { .. }
        | Effect::SearchSpill { .. }
        | Effect::Audit(_)
        | Effect::Download { .. }
        | Effect::FetchOverview { .. }
        | Effect::LoadCache { .. }
        | Effect::SaveCache { .. }
        | Effect::StopLog
        | Effect::Copy(_)
        | Effect::Suspend
        | Effect::Alert(_)
        | Effect::OpenUrl(_)
        | Effect::PollWatch { .. }
        | Effect::SaveWatch { .. }
        | Effect::DiffLog(_)
        | Effect::CancelDiff
        | Effect::CompareCandidates { .. }
        | Effect::StartDemo => {
            return None;
        }
    })
}

/// File work of the log viewer, run off the UI thread (blocking I/O: call it from
/// `spawn_blocking`). `None` for other effects.
pub(crate) fn file_work(effect: &Effect) -> Option<Action> {
    match effect {
        Effect::SaveLog { path, snapshot } => {
            let result = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| snapshot.save_to(path))
                .map_err(|e| e.to_string());
            Some(Action::LogSaved {
                path: path.clone(),
                result,
            })
        }
        Effect::SearchSpill {
            req,
            needle,
            snapshot,
        } => Some(Action::SpillSearched {
            req: *req,
            needle: needle.clone(),
            first: crate::logtext::Needle::new(needle)
                .and_then(|n| snapshot.first_spilled(|l| n.is_match(l)).ok().flatten()),
        }),
        _ => None,
    }
}

async fn mutate(b: &dyn Backend, op: &Mutation) -> Result<Outcome, ApiError> {
    Ok(match op {
        Mutation::Launch { request, .. } => Outcome::Build(b.launch(request).await?),
        Mutation::Kill { build } => {
            b.kill(build).await?;
            Outcome::Done
        }
        Mutation::Redeploy { build } => Outcome::Build(b.redeploy(build).await?),
        Mutation::Rerun { request, .. } => Outcome::Build(b.launch(request).await?),
        Mutation::CreateRelease { request } => {
            b.create_release(request).await?;
            Outcome::Done
        }
        Mutation::Deploy { request, .. } => {
            b.deploy(request).await?;
            Outcome::Done
        }
        Mutation::SetStatus { request } => {
            b.set_deployment_status(request).await?;
            Outcome::Done
        }
        Mutation::Rollback { request, .. } => Outcome::Deployment(b.rollback(request).await?),
        Mutation::RunPlan { path } => {
            let plan = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| ApiError::Config(format!("cannot read the plan {path}: {e}")))?;
            Outcome::Build(b.run_plan(&plan).await?)
        }
        Mutation::ReportStatus { build, status } => {
            Outcome::Build(b.report_build_status(build, status).await?)
        }
        Mutation::CreateAsset {
            build,
            kind,
            name,
            url,
        } => Outcome::Targets(
            b.create_asset(build, kind, name.as_deref(), url.as_deref())
                .await?,
        ),
    })
}

/// Stream a build's log: the backend's raw events are sanitised here, off the UI thread, and
/// sent in batches (everything ready at once becomes one action, so a burst costs one frame).
pub async fn tail(
    backend: &dyn Backend,
    epoch: u64,
    req: u64,
    build: &crate::domain::Build,
    follow: bool,
    out: &mpsc::UnboundedSender<Action>,
) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let run = backend.tail_log(build, follow, ev_tx);
    tokio::pin!(run);
    let mut san = Sanitizer::new();
    let mut result: Option<Result<(), ApiError>> = None;
    loop {
        tokio::select! {
            r = &mut run, if result.is_none() => result = Some(r),
            ev = ev_rx.recv() => {
                let Some(first) = ev else { break };
                let mut items = Vec::new();
                let mut lines = 0;
                push_item(&mut san, first, &mut items, &mut lines);
                while lines < MAX_BATCH_LINES {
                    match ev_rx.try_recv() {
                        Ok(ev) => push_item(&mut san, ev, &mut items, &mut lines),
                        Err(_) => break,
                    }
                }
                if out.send(Action::LogIngest { epoch, req, items }).is_err() {
                    return;
                }
            }
        }
    }
    let result = match result {
        Some(r) => r,
        None => run.await,
    };
    let _ = out.send(Action::LogTailEnded { epoch, req, result });
}

fn push_item(san: &mut Sanitizer, ev: LogEvent, items: &mut Vec<LogItem>, lines: &mut usize) {
    match ev {
        LogEvent::Step { name, status } => items.push(LogItem::Step {
            name: crate::ui::clean(&name).into_owned(),
            status,
        }),
        LogEvent::StepStatus(st) => items.push(LogItem::StepStatus(st)),
        LogEvent::Lines(raw) => {
            let mut out = Vec::with_capacity(raw.len());
            for line in raw {
                let mut bytes = line.into_bytes();
                bytes.push(b'\n');
                out.extend(san.push(&bytes).map(crate::safe::redact_line));
            }
            *lines += out.len();
            // Consecutive line batches merge into one item.
            match items.last_mut() {
                Some(LogItem::Lines(prev)) => prev.extend(out),
                _ => items.push(LogItem::Lines(out)),
            }
        }
        LogEvent::Restart => {
            san.reset();
            items.push(LogItem::Restart);
        }
        LogEvent::End { status } => {
            items.extend(
                san.finish()
                    .map(|l| LogItem::Lines(vec![crate::safe::redact_line(l)])),
            );
            items.push(LogItem::End { status });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard's log tail: hostile bytes are parsed away, bidi marked, secrets redacted,
    /// before a line reaches the log buffer (and so the viewer, a search or a saved file).
    #[test]
    fn tail_lines_are_sanitised_and_redacted_before_the_buffer() {
        crate::safe::register("CANARY-tail-2718");
        let mut san = Sanitizer::new();
        let mut items = Vec::new();
        let mut lines = 0;
        let raw = vec![
            "ok \u{1b}]52;c;aGFja2Vk\u{7}\u{1b}[?1000h\u{9b}6nstep \u{202e}done".to_string(),
            "\u{1b}[31mtoken=CANARY-tail-2718\u{1b}[0m".to_string(),
        ];
        push_item(&mut san, LogEvent::Lines(raw), &mut items, &mut lines);
        push_item(
            &mut san,
            LogEvent::Step {
                name: "build\u{1b}]0;t\u{7}".into(),
                status: crate::domain::StepStatus::Running,
            },
            &mut items,
            &mut lines,
        );
        let texts: Vec<String> = items
            .iter()
            .flat_map(|i| match i {
                LogItem::Lines(ls) => ls.iter().map(|l| l.plain().to_string()).collect(),
                LogItem::Step { name, .. } => vec![name.clone()],
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(texts, ["ok step <U+202E>done", "token=[redacted]", "build"]);
    }
}
