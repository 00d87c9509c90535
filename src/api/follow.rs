//! Where watched work is now, for any backend, in as few requests as the backend allows: one
//! read of the queued/running list per profile, and a project's history only for the items
//! that left that list (they ended). Used by the dashboard's watch list.

use super::{ApiError, Backend};
use crate::domain::{Build, BuildScope, ListQuery};
use chrono::Duration;

/// Clock differences tolerated when a run is matched to its finished record by time.
const TIME_SLACK_SECS: i64 = 5;

/// A project by id or exact name (`(id, name)`).
pub async fn find_project(b: &dyn Backend, wanted: &str) -> Result<(String, String), ApiError> {
    let mut walk = crate::api::paging::Walk::new(Default::default());
    for page in 1.. {
        let q = ListQuery {
            page,
            per_page: 100,
            filter: Some(wanted.to_string()),
            sort: None,
        };
        let p = match b.projects(&q).await {
            Ok(p) => p,
            // A name with characters the server cannot filter on: walk unfiltered.
            Err(ApiError::Unsupported(_)) => b.projects(&ListQuery { filter: None, ..q }).await?,
            Err(e) => return Err(e),
        };
        if let Some(x) = p.items.iter().find(|x| x.id == wanted || x.name == wanted) {
            return Ok((x.id.clone(), x.name.clone()));
        }
        // A server that repeats pages or never ends is not followed forever.
        let ids: Vec<String> = p.items.iter().map(|x| x.id.clone()).collect();
        let kept = ids.len() as u64;
        match walk.next(ids, p.total, p.per_page.max(1), p.has_more, kept) {
            Ok(true) => {}
            Ok(false) => break,
            Err(cut) => {
                tracing::warn!(?cut, "project search stopped paging");
                break;
            }
        }
    }
    if wanted.chars().all(|c| c.is_ascii_digit()) {
        return Ok((wanted.to_string(), wanted.to_string()));
    }
    Err(ApiError::NotFound(format!(
        "no project named or numbered `{wanted}`"
    )))
}

/// Whether `row` is the work `w` stands for (by any of its ids).
fn same(row: &Build, w: &Build) -> bool {
    row.id == w.id
        || (w.run_id.is_some() && row.run_id == w.run_id)
        || (w.build_id.is_some() && row.build_id == w.build_id)
}

/// A run that ended and has a new id on its finished record (Free Commit's executor UUID,
/// Candor's `<pipeline>:running` row): the newest finished record queued before and completed
/// after the run's start.
fn successor<'a>(history: &'a [Build], w: &Build) -> Option<&'a Build> {
    if w.build_id.is_some() {
        return None;
    }
    let start = w.started_at?;
    let slack = Duration::seconds(TIME_SLACK_SECS);
    history
        .iter()
        .filter(|r| r.status.is_terminal())
        .filter(|r| r.queued_at.is_none_or(|q| q <= start + slack))
        .filter(|r| r.finished_at.is_some_and(|f| f + slack >= start))
        .max_by_key(|r| r.queued_at)
}

/// The finished record of a run with no times, from what the history held while it ran
/// (`baseline`: the newest row's id then, `""` for none): the oldest finished row newer than
/// that. Histories are newest first.
fn after_baseline<'a>(history: &'a [Build], baseline: &str) -> Option<&'a Build> {
    let newer = match history.iter().position(|r| r.id == baseline) {
        Some(i) => &history[..i],
        None if baseline.is_empty() => history,
        // The baseline row is gone (retention): the newest is the best guess.
        None => history.get(..1).unwrap_or_default(),
    };
    newer.iter().rev().find(|r| r.status.is_terminal())
}

/// A watched build's state now, and what to remember for the next poll.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    /// `None`: not found this time.
    pub now: Option<Build>,
    /// The newest history row while it runs, for a run with no times (see [`after_baseline`]).
    pub baseline: Option<String>,
}

/// The current state of each watched build (with the baseline each carries, if any). One
/// read of the active list; a project's history only for builds that left it, or once for a
/// running build that has neither a start time nor a record id (its baseline).
pub async fn builds_now(
    b: &dyn Backend,
    watched: &[(Build, Option<String>)],
) -> Result<Vec<Found>, ApiError> {
    let active = b.builds(&BuildScope::Active).await?;
    let mut out: Vec<Found> = watched
        .iter()
        .map(|(w, baseline)| Found {
            now: active.iter().find(|x| same(x, w)).cloned(),
            baseline: baseline.clone(),
        })
        .collect();
    // Projects whose history must be read: one request each, whatever the number of builds.
    let mut projects: Vec<(Option<String>, String)> = Vec::new();
    for ((w, _), f) in watched.iter().zip(&out) {
        let key = (w.project_id.clone(), w.project.clone());
        let needs_baseline = f.now.is_some()
            && f.baseline.is_none()
            && w.build_id.is_none()
            && w.started_at.is_none();
        if (f.now.is_none() || needs_baseline) && !projects.contains(&key) {
            projects.push(key);
        }
    }
    for (id, name) in projects {
        let id = match id {
            Some(id) => id,
            None => match find_project(b, &name).await {
                Ok((id, _)) => id,
                Err(e) => {
                    tracing::debug!(error = %e, project = %name, "watched build's project not found");
                    continue;
                }
            },
        };
        let scope = BuildScope::Project {
            id: id.clone(),
            name: name.clone(),
        };
        let history = match b.builds(&scope).await {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, project = %name, "history of a watched build unread");
                continue;
            }
        };
        for ((w, _), f) in watched.iter().zip(out.iter_mut()) {
            if w.project != name {
                continue;
            }
            if f.now.is_some() {
                if f.baseline.is_none() && w.build_id.is_none() && w.started_at.is_none() {
                    let newest = history
                        .iter()
                        .find(|r| !same(r, w) && r.status.is_terminal());
                    f.baseline = Some(newest.map(|r| r.id.clone()).unwrap_or_default());
                }
                continue;
            }
            f.now = history
                .iter()
                .find(|r| same(r, w))
                .or_else(|| successor(&history, w))
                .or_else(|| {
                    f.baseline
                        .as_deref()
                        .filter(|_| w.build_id.is_none())
                        .and_then(|base| after_baseline(&history, base))
                })
                .cloned()
                .map(|mut r| {
                    r.project_id.get_or_insert_with(|| id.clone());
                    r
                });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BuildStatus;
    use chrono::{DateTime, Utc};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default()
    }

    fn row(id: &str, queued: i64, finished: i64) -> Build {
        Build {
            id: id.into(),
            build_id: Some(id.into()),
            status: BuildStatus::Failed,
            queued_at: Some(t(queued)),
            finished_at: Some(t(finished)),
            ..Build::default()
        }
    }

    #[test]
    fn an_ended_run_is_matched_to_the_record_that_spans_its_start() {
        let run = Build {
            id: "uuid-1".into(),
            run_id: Some("uuid-1".into()),
            status: BuildStatus::Running,
            started_at: Some(t(100)),
            ..Build::default()
        };
        let history = [row("12", 95, 160), row("11", 10, 50), row("13", 300, 320)];
        assert_eq!(successor(&history, &run).map(|b| b.id.as_str()), Some("12"));
        // Without a start time nothing is guessed.
        let unknown = Build {
            started_at: None,
            ..run.clone()
        };
        assert!(successor(&history, &unknown).is_none());
        // A build whose record id is known is only matched by it.
        let known = Build {
            build_id: Some("99".into()),
            ..run
        };
        assert!(successor(&history, &known).is_none());
    }

    #[test]
    fn a_run_without_times_is_the_first_record_after_its_baseline() {
        // Newest first.
        let history = [row("14", 0, 0), row("13", 0, 0), row("12", 0, 0)];
        assert_eq!(
            after_baseline(&history, "12").map(|b| b.id.as_str()),
            Some("13")
        );
        assert_eq!(after_baseline(&history, "14"), None, "nothing newer yet");
        assert_eq!(
            after_baseline(&history, "").map(|b| b.id.as_str()),
            Some("12")
        );
        assert_eq!(
            after_baseline(&history, "9").map(|b| b.id.as_str()),
            Some("14")
        );
    }
}
