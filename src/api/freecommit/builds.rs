//! Free Commit builds (`api/freecommit.md` §4.2, §5, §7.1): the queue and running lists, a
//! project's finished history, launch options, launch and kill.

use super::{FreeCommit, decode, exit_meaning, map_error, parse_time, status_of_exit, wire};
use crate::api::ApiError;
use crate::api::http::Request;
use crate::domain::{Build, BuildScope, BuildStatus, LaunchRequest};
use reqwest::Method;
use serde_json::Value;

pub(super) use crate::api::http::seg;

/// A queued (`running` false) or running entry of the in-memory lists.
pub(super) fn run_build(run: wire::Run, running: bool) -> Build {
    let (status, raw) = if running {
        (BuildStatus::Running, "running")
    } else {
        (BuildStatus::Queued, "queued")
    };
    Build {
        id: run.executor_id.clone(),
        run_id: Some(run.executor_id),
        build_id: None,
        project_id: None,
        project: run.project_name.unwrap_or_default(),
        status,
        raw_status: raw.to_string(),
        exit_code: None,
        message: None,
        queued_at: None,
        started_at: if running {
            run.at.as_deref().and_then(parse_time)
        } else {
            None
        },
        finished_at: None,
        trigger: None,
        commit: None,
        git_ref: None,
    }
}

/// A finished Build row of project `project`.
pub(super) fn finished_build(row: wire::BuildRow, project: &str) -> Build {
    let (status, raw) = match row.exit_code {
        Some(code) => (
            status_of_exit(code, row.output.as_deref()),
            format!("exit {code}"),
        ),
        None => (BuildStatus::Unknown, "no exit code".to_string()),
    };
    let message = row
        .exit_message
        .filter(|m| !m.trim().is_empty())
        .or_else(|| row.exit_code.and_then(exit_meaning).map(str::to_string));
    Build {
        id: row.id.clone(),
        run_id: None,
        build_id: Some(row.id),
        project_id: row.project_id,
        project: project.to_string(),
        status,
        raw_status: raw,
        exit_code: row.exit_code,
        message,
        queued_at: row.created_at.as_deref().and_then(parse_time),
        started_at: None,
        finished_at: row.completed_at.as_deref().and_then(parse_time),
        trigger: None,
        commit: None,
        git_ref: None,
    }
}

/// Newest first by numeric id (ids that are not numbers sort last, by text).
pub(super) fn sort_newest_first(rows: &mut [wire::BuildRow]) {
    rows.sort_by(|a, b| {
        let (na, nb) = (a.id.parse::<i64>().ok(), b.id.parse::<i64>().ok());
        match (na, nb) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => b.id.cmp(&a.id),
        }
    });
}

impl FreeCommit {
    /// Running first (newest start first), then queued in queue order.
    async fn active_builds(&self) -> Result<Vec<Build>, ApiError> {
        let (queued, running) = tokio::try_join!(
            self.get_json::<Value>(Request::get("/developer/builds/queueds")),
            self.get_json::<Value>(Request::get("/developer/builds/executeds")),
        )?;
        let mut out = decode::runs(running, true);
        // Stable: runs without a start time keep their server order, after the dated ones.
        out.sort_by_key(|b| std::cmp::Reverse(b.started_at));
        out.extend(decode::runs(queued, false));
        Ok(out)
    }

    /// The finished builds of one project, newest first (the server does not sort them).
    pub(super) async fn project_history(&self, id: &str) -> Result<Vec<wire::BuildRow>, ApiError> {
        let v: Value = self
            .get_json(Request::get(format!(
                "/developer/builds/by/project/{}",
                seg(id)
            )))
            .await?;
        let mut rows: Vec<wire::BuildRow> = decode::list(v);
        sort_newest_first(&mut rows);
        Ok(rows)
    }

    pub(super) async fn list_builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        match scope {
            BuildScope::Active => self.active_builds().await,
            BuildScope::Project { id, name } => {
                let (active, history) =
                    tokio::try_join!(self.active_builds(), self.project_history(id))?;
                let mut out: Vec<Build> =
                    active.into_iter().filter(|b| &b.project == name).collect();
                out.extend(history.into_iter().map(|row| {
                    let mut b = finished_build(row, name);
                    b.project_id.get_or_insert_with(|| id.clone());
                    b
                }));
                Ok(out)
            }
        }
    }

    pub(super) async fn skippable_steps(&self, project_id: &str) -> Result<Vec<String>, ApiError> {
        let v: Value = self
            .get_json(Request::get(format!(
                "/developer/projects/{}",
                seg(project_id)
            )))
            .await?;
        decode::skippable_steps(v)
    }

    /// `POST /developer/builds/{projectId}`: never retried (a write), `ignore_steps` always sent.
    pub(super) async fn launch_build(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        let ignore: Vec<String> = req
            .skip_steps
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                // The server compares with `available_steps`, which keep the `@`.
                if s.starts_with('@') {
                    s.to_string()
                } else {
                    format!("@{s}")
                }
            })
            .collect();
        let body = serde_json::json!({"build": {"ignore_steps": ignore}});
        let reply = self
            .send_authed(Request::write(
                Method::POST,
                format!("/developer/builds/{}", seg(&req.project_id)),
                Some(body),
            ))
            .await?;
        let run: wire::Run = reply.json_or(map_error)?;
        let mut b = run_build(run, false);
        b.project_id = Some(req.project_id.clone());
        b.queued_at = Some(chrono::Utc::now());
        Ok(b)
    }

    /// Kill a queued or running run; finished builds cannot be killed. Never retried.
    pub(super) async fn kill_build(&self, build: &Build) -> Result<(), ApiError> {
        let Some(run_id) = build.run_id.as_deref() else {
            return Err(ApiError::Unsupported(format!(
                "build {} has already finished",
                build.id
            )));
        };
        let list = if build.status == BuildStatus::Queued {
            "queued"
        } else {
            "executed"
        };
        let reply = self
            .send_authed(Request::write(
                Method::DELETE,
                format!("/developer/builds/kill/{list}/{}", seg(run_id)),
                None,
            ))
            .await?;
        if !reply.is_success() {
            return Err(map_error(&reply));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_sorts_by_numeric_id() {
        let row = |id: &str| wire::BuildRow {
            id: id.into(),
            output: None,
            exit_code: Some(0),
            exit_message: None,
            created_at: None,
            completed_at: None,
            project_id: None,
        };
        let mut rows = vec![row("9"), row("10"), row("x"), row("100")];
        sort_newest_first(&mut rows);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["100", "10", "9", "x"]);
    }
}
