//! Getting what a diff compares, through the same `Backend` trait that opens a log: the
//! project's builds (to find the last green one, or to offer a choice), and a finished
//! build's whole log as plain text with its steps (sanitised as the viewer does).

use super::LogText;
use crate::api::{ApiError, Backend};
use crate::domain::{Build, BuildScope, BuildStatus, LogEvent};
use crate::logtext::Sanitizer;

/// The project's builds, newest first, for a build that names its project.
pub async fn project_builds(b: &dyn Backend, build: &Build) -> Result<Vec<Build>, ApiError> {
    let id = build
        .project_id
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "build {} does not say which project it belongs to",
                build.id
            ))
        })?;
    b.builds(&BuildScope::Project {
        id,
        name: build.project.clone(),
    })
    .await
}

/// The builds one may compare `build` with: the project's other finished builds, newest first.
pub fn candidates(builds: &[Build], build: &Build) -> Vec<Build> {
    builds
        .iter()
        .filter(|x| x.id != build.id && x.status.is_terminal())
        .cloned()
        .collect()
}

/// The last successful build before `build` (by start time where both have one, else by
/// position in the newest-first list); any successful one when `build` is not in the list.
pub fn last_green(builds: &[Build], build: &Build) -> Option<Build> {
    let pos = builds.iter().position(|x| x.id == build.id);
    let started = build.started_at.or(build.queued_at);
    builds
        .iter()
        .enumerate()
        .filter(|(_, x)| x.status == BuildStatus::Succeeded && x.id != build.id)
        .find(|(i, x)| match (started, x.started_at.or(x.queued_at)) {
            (Some(a), Some(b)) => b <= a,
            _ => pos.is_none_or(|p| *i > p),
        })
        .map(|(_, x)| x.clone())
}

/// A finished build's whole log as plain text with its step starts. `lines_so_far` hears how
/// many lines have arrived (progress); returning false from it stops the fetch.
pub async fn collect_log(
    b: &dyn Backend,
    build: &Build,
    lines_so_far: &mut (dyn FnMut(u64) -> bool + Send),
) -> Result<Option<LogText>, ApiError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = b.tail_log(build, false, tx);
    tokio::pin!(run);
    let mut san = Sanitizer::new();
    let mut out = LogText::default();
    let mut result: Option<Result<(), ApiError>> = None;
    loop {
        tokio::select! {
            r = &mut run, if result.is_none() => result = Some(r),
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    LogEvent::Step { name, .. } => out
                        .steps
                        .push((crate::ui::clean(&name).into_owned(), out.lines.len() as u64)),
                    LogEvent::Lines(raw) => {
                        for line in raw {
                            let mut bytes = line.into_bytes();
                            bytes.push(b'\n');
                            out.lines.extend(san.push(&bytes).map(|l| l.plain().to_string()));
                        }
                        if !lines_so_far(out.lines.len() as u64) {
                            return Ok(None);
                        }
                    }
                    LogEvent::Restart => {
                        san.reset();
                        out = LogText::default();
                    }
                    LogEvent::StepStatus(_) => {}
                    LogEvent::End { .. } => {
                        out.lines.extend(san.finish().map(|l| l.plain().to_string()));
                    }
                }
            }
        }
    }
    match result {
        Some(r) => r?,
        None => run.await?,
    }
    Ok(Some(out))
}

/// A short name for a build in messages and diff headers: `#41` for a number, else the id.
pub fn label(build: &Build) -> String {
    let id = build.build_id.as_deref().unwrap_or(&build.id);
    if id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty() {
        format!("#{id}")
    } else {
        crate::app::state::short_id(id).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn b(id: &str, status: BuildStatus, minute: u32) -> Build {
        Build {
            id: id.into(),
            status,
            started_at: Utc.with_ymd_and_hms(2026, 1, 1, 10, minute, 0).single(),
            ..Build::default()
        }
    }

    #[test]
    fn the_last_green_build_is_older_than_the_failed_one() {
        let builds = vec![
            b("44", BuildStatus::Succeeded, 40),
            b("43", BuildStatus::Failed, 30),
            b("42", BuildStatus::Failed, 20),
            b("41", BuildStatus::Succeeded, 10),
            b("40", BuildStatus::Succeeded, 5),
        ];
        let green = last_green(&builds, &builds[1]).unwrap();
        assert_eq!(green.id, "41");
        assert!(last_green(&builds[1..3], &builds[1]).is_none());
        assert_eq!(candidates(&builds, &builds[1]).len(), 4);
    }
}
