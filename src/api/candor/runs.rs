//! Pipelines as projects, runs as builds (`api/candor.md` §5, §6), launch options and the
//! trigger (§4.1, §5 trigger details).

use super::{Candor, map_error, seg, server_words, wire};
use crate::api::ApiError;
use crate::api::http::Request;
use crate::domain::{
    Build, BuildScope, BuildStatus, LastBuild, LaunchField, LaunchOptions, LaunchRequest, Project,
    StepStatus,
};
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// Suffix of the synthetic row of a pipeline's run in progress (it has no id yet).
pub(super) const RUNNING_SUFFIX: &str = ":running";

/// Unified status of a run (`api/README.md`): `Passed`/`Success` → Succeeded, `Failed`/`Error`
/// → Failed.
pub(crate) fn run_status(s: &str) -> BuildStatus {
    match s {
        "Passed" | "Success" => BuildStatus::Succeeded,
        "Failed" | "Error" => BuildStatus::Failed,
        _ => BuildStatus::Unknown,
    }
}

pub(crate) fn stage_status(s: &str) -> StepStatus {
    match s {
        "Passed" | "Success" => StepStatus::Succeeded,
        "Failed" | "Error" => StepStatus::Failed,
        "Skipped" => StepStatus::Skipped,
        _ => StepStatus::Unknown,
    }
}

/// What a stage exit code means (§5 exitCode).
pub(crate) fn exit_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "passed",
        -1 => "skipped after an earlier failure, or a container/engine error",
        -2 => "runtime unavailable on the runner",
        -3 => "stage timeout",
        _ => return None,
    })
}

/// What a run that errored before any stage means (`status: "Error"`, `stages` absent or `[]`,
/// §11 R3): the runner itself failed, e.g. on an image it could not pull.
pub(super) const RUNNER_FAILED: &str = "the runner failed before any stage ran (an error inside the runner, e.g. an image it could not pull)";

/// Most time given to the dashboard to record a runner-less run after a trigger (§11 R8: it
/// does so within milliseconds).
const RUNNERLESS_GRACE: Duration = Duration::from_millis(500);

/// The synthetic one-stage runs the dashboard records when it could not run anything (D12).
fn synthetic_meaning(stage: &str) -> Option<&'static str> {
    Some(match stage {
        "Get Runner" => "no runner answered its health check",
        "Connect Runner" => "network error reaching the runner",
        "Error 400" => "the runner rejected the plan",
        "Auth Runner" => "the runner refused the dashboard's token",
        _ => return None,
    })
}

fn ms(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(DateTime::from_timestamp_millis)
}

/// The failing stage's exit code and a sentence about it.
pub(super) fn explain_stages(
    status: &str,
    stages: Option<&[wire::Stage]>,
) -> (Option<i64>, Option<String>) {
    let Some(stages) = stages.filter(|s| !s.is_empty()) else {
        return (None, (status == "Error").then(|| RUNNER_FAILED.to_string()));
    };
    if let [only] = stages
        && let Some(why) = synthetic_meaning(&only.name)
    {
        return (only.exit_code, Some(format!("{}: {why}", only.name)));
    }
    let bad = stages
        .iter()
        .enumerate()
        .find(|(_, s)| matches!(s.status.as_str(), "Failed" | "Error"));
    match bad {
        Some((i, s)) => {
            let code = s.exit_code;
            let what = match code {
                Some(c) => match exit_meaning(c) {
                    Some(m) if c < 0 => format!("{m} ({c})"),
                    _ => format!("exit {c}"),
                },
                None => s.status.to_lowercase(),
            };
            (
                code,
                Some(format!(
                    "stage {}/{} `{}` {}: {what}",
                    i + 1,
                    stages.len(),
                    s.name,
                    if s.status == "Error" {
                        "errored"
                    } else {
                        "failed"
                    }
                )),
            )
        }
        None => (stages.last().and_then(|s| s.exit_code), None),
    }
}

/// Why a run is one the dashboard recorded without a runner (a single `Get Runner`, `Connect
/// Runner`, `Auth Runner` or `Error 400` stage with exit -1, §11 R8), else `None`.
pub(super) fn runner_less(r: &wire::Run) -> Option<String> {
    runner_less_stages(&r.stages)
}

/// [`runner_less`] on a run's stages.
pub(super) fn runner_less_stages(stages: &[wire::Stage]) -> Option<String> {
    match stages {
        [only] if only.exit_code == Some(-1) => {
            synthetic_meaning(&only.name).map(|why| format!("{} ({why})", only.name))
        }
        _ => None,
    }
}

/// A list entry as a project (last build from `status`, `lastSuccess`, `lastFailure`).
pub(super) fn project(e: wire::PipelineEntry) -> Project {
    let last_build = e.status.as_deref().map(|status| {
        let at = match status {
            "Passed" | "Success" => e.last_success,
            "Failed" => e.last_failure,
            _ => None,
        };
        let stages = &e.stages;
        let message = stages
            .iter()
            .enumerate()
            .find(|(_, s)| *s == "Failed" || *s == "Error")
            .map(|(i, s)| format!("stage {}/{} {}", i + 1, stages.len(), s.to_lowercase()))
            .or_else(|| {
                (stages.is_empty() && status == "Error").then(|| RUNNER_FAILED.to_string())
            });
        LastBuild {
            status: run_status(status),
            raw: if stages.is_empty() {
                status.to_string()
            } else {
                format!("{status} ({})", stages.join(", "))
            },
            exit_code: None,
            message,
            at: ms(at),
        }
    });
    Project {
        id: e.id.unwrap_or_default(),
        name: e.name,
        description: None,
        last_build,
    }
}

/// A finished run of pipeline `pid`/`name` as a build.
pub(super) fn run_build(r: &wire::Run, pid: &str, name: &str) -> Build {
    let status = r.status.clone().unwrap_or_default();
    let (exit_code, message) = explain_stages(&status, r.stages());
    Build {
        id: r.id.clone(),
        run_id: None,
        build_id: Some(r.id.clone()),
        project_id: Some(pid.to_string()),
        project: name.to_string(),
        status: run_status(&status),
        raw_status: if status.is_empty() {
            "unknown".into()
        } else {
            status
        },
        exit_code,
        message,
        queued_at: None,
        started_at: ms(r.start),
        finished_at: ms(r.finish),
        trigger: None,
        commit: None,
        git_ref: None,
    }
}

/// The row of a pipeline's run in progress: Candor shows only `running: true`.
pub(super) fn running_build(pid: &str, name: &str) -> Build {
    Build {
        id: format!("{pid}{RUNNING_SUFFIX}"),
        run_id: None,
        build_id: None,
        project_id: Some(pid.to_string()),
        project: name.to_string(),
        status: BuildStatus::Running,
        raw_status: "running".into(),
        exit_code: None,
        message: Some("in progress; Candor shows its id and log once it has finished".into()),
        queued_at: None,
        started_at: None,
        finished_at: None,
        trigger: None,
        commit: None,
        git_ref: None,
    }
}

/// `k=v, k2=v2` (commas or newlines between pairs).
fn key_values(s: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for part in s
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| ApiError::Config(format!("`{part}` is not key=value")))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

impl Candor {
    /// Keep what the detail says about runs: builds, stages, archived files.
    pub(super) fn remember_runs(&self, pid: &str, d: &wire::PipelineDetail) {
        let mut seen = self.seen();
        for r in &d.last_runs {
            let b = run_build(r, pid, &d.name);
            seen.runs
                .entry(pid.to_string())
                .or_default()
                .insert(r.id.clone(), b);
            if let Some(st) = r.stages() {
                seen.stages
                    .insert((pid.to_string(), r.id.clone()), st.to_vec());
            }
            seen.archived
                .insert((pid.to_string(), r.id.clone()), r.archived.clone());
        }
    }

    /// The pipeline's runs: its running row, then the detail's last 5 and older ones this
    /// process has seen, newest finish first.
    async fn pipeline_builds(&self, pid: &str) -> Result<Vec<Build>, ApiError> {
        let pid = &self.pipeline_ref(pid).await?;
        let d = self.detail(pid).await?;
        let mut out = Vec::new();
        if d.running {
            out.push(running_build(pid, &d.name));
        }
        let mut finished: Vec<Build> = self
            .seen()
            .runs
            .get(pid)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        finished.sort_by(|a, b| {
            b.finished_at
                .cmp(&a.finished_at)
                .then_with(|| b.started_at.cmp(&a.started_at))
        });
        out.extend(finished);
        Ok(out)
    }

    /// Running pipelines (one detail per visible pipeline; the list has no `running` key),
    /// then runner runs this process started that are still going.
    async fn active_builds(&self) -> Result<Vec<Build>, ApiError> {
        let ids = self.pipeline_ids().await?;
        let details = futures::future::join_all(ids.iter().map(|id| self.detail(id))).await;
        let mut out = Vec::new();
        for (id, d) in ids.iter().zip(details) {
            match d {
                Ok(d) if d.running => out.push(running_build(id, &d.name)),
                Ok(_) | Err(ApiError::Forbidden(_) | ApiError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(r) = &self.runner {
            out.extend(r.active_builds());
        }
        Ok(out)
    }

    pub(super) async fn list_builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        match scope {
            BuildScope::Active => self.active_builds().await,
            BuildScope::Project { id, .. } => self.pipeline_builds(id).await,
        }
    }

    /// `params` (trigger parameters, `key_values`), and when the config says so `headers`
    /// (for `constrainHeaders`) and `body` (for `constrainBody` or JSPath parameters).
    pub(super) async fn options_for(&self, pid: &str) -> Result<LaunchOptions, ApiError> {
        let pid = &self.pipeline_ref(pid).await?;
        let d = self.detail(pid).await?;
        let mut fields = vec![LaunchField {
            name: "params".into(),
            label: if d.required_parameters.is_empty() {
                "Parameters".into()
            } else {
                format!("Parameters ({})", d.required_parameters.join(", "))
            },
            required: false,
            default: (!d.required_parameters.is_empty()).then(|| {
                d.required_parameters
                    .iter()
                    .map(|p| format!("{p}="))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            key_values: true,
        }];
        if d.assigned {
            // The config is readable by assignees only; without it no extra fields.
            let cfg: Option<Value> = self.config(pid).await.ok();
            if let Some(cfg) = cfg {
                if let Some(h) = cfg.get("constrainHeaders").and_then(Value::as_object)
                    && !h.is_empty()
                {
                    let names: Vec<&str> = h.keys().map(String::as_str).collect();
                    fields.push(LaunchField {
                        name: "headers".into(),
                        label: format!("Headers ({})", names.join(", ")),
                        required: true,
                        default: None,
                        key_values: true,
                    });
                }
                let body_paths = cfg
                    .get("parameters")
                    .and_then(Value::as_object)
                    .is_some_and(|p| p.values().any(Value::is_string));
                let body_constraints = cfg
                    .get("constrainBody")
                    .and_then(Value::as_object)
                    .is_some_and(|b| !b.is_empty());
                if body_paths || body_constraints {
                    fields.push(LaunchField {
                        name: "body".into(),
                        label: "JSON body".into(),
                        required: false,
                        default: Some(r#"{"source": "Web"}"#.into()),
                        key_values: false,
                    });
                }
            }
        }
        Ok(LaunchOptions {
            skippable_steps: Vec::new(),
            fields,
        })
    }

    /// `POST /trigger/:token` with the cookie (§4.1 point 2): 200 started, 204 constraints not
    /// met, 400 already running. Never retried.
    pub(super) async fn trigger(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        let pid = &self.pipeline_ref(&req.project_id).await?;
        let d = self.detail(pid).await?;
        let Some(token) = d.token().map(str::to_string) else {
            return Err(ApiError::Forbidden(format!(
                "only assignees of `{}` may trigger it, and this account is not one (the \
                 dashboard hides the trigger token)",
                d.name
            )));
        };
        let mut query: Vec<(String, String)> = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut body: Value = serde_json::json!({"source": "Web"});
        for (k, v) in &req.params {
            match k.as_str() {
                "params" => query.extend(key_values(v)?),
                "headers" => headers.extend(key_values(v)?),
                "body" => {
                    if !v.trim().is_empty() {
                        body = serde_json::from_str(v).map_err(|e| {
                            ApiError::Config(format!("the launch body is not JSON: {e}"))
                        })?;
                    }
                }
                _ => query.push((k.clone(), v.clone())),
            }
        }
        // An empty value would override the body's JSPath value: leave it out.
        query.retain(|(_, v)| !v.is_empty());
        let mut r = Request::write(
            Method::POST,
            format!("/trigger/{}", seg(&token)),
            Some(body),
        );
        r.query = query;
        for (name, value) in headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ApiError::Config(format!("`{name}` is not a header name")))?;
            let mut v = HeaderValue::from_str(&value)
                .map_err(|_| ApiError::Config(format!("bad value for header `{name}`")))?;
            v.set_sensitive(true);
            r.headers.push((n, v));
        }
        let before: HashSet<String> = d.last_runs.iter().map(|r| r.id.clone()).collect();
        let reply = self.send(&r, Some(pid)).await?;
        let words = server_words(&reply);
        match reply.status {
            200 => self.started(pid, &d.name, &before).await,
            204 => Err(ApiError::Rejected {
                status: 204,
                message: format!(
                    "constraints not met: `{}` did not start because the trigger's headers or \
                     body do not satisfy its constrainHeaders/constrainBody (HTTP 204, no body)",
                    d.name
                ),
            }),
            400 => Err(ApiError::Rejected {
                status: 400,
                message: format!(
                    "already running: `{}` cannot run again until its current run ends \
                     (Candor has no queue) (server: {words})",
                    d.name
                ),
            }),
            403 => Err(ApiError::Forbidden(format!(
                "the dashboard refused the trigger of `{}`: this account is not assigned \
                 (server: {words})",
                d.name
            ))),
            404 => Err(ApiError::NotFound(format!(
                "the trigger token of `{}` is unknown to the dashboard (server: {words})",
                d.name
            ))),
            _ => Err(map_error(&reply)),
        }
    }

    /// After a trigger's 200: read the detail once more. A dashboard with no usable runner
    /// still answers 200 and records a one-stage `Get Runner` (or `Connect Runner`, `Auth
    /// Runner`, `Error 400`) run within milliseconds (§11 R8): that is reported as such, not as
    /// a start.
    async fn started(
        &self,
        pid: &str,
        name: &str,
        before: &HashSet<String>,
    ) -> Result<Build, ApiError> {
        tokio::time::sleep(self.detail_poll.min(RUNNERLESS_GRACE)).await;
        let mut b = running_build(pid, name);
        b.queued_at = Some(Utc::now());
        b.trigger = Some("shipdeck".into());
        let d = match self.detail(pid).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "Candor: could not re-read the pipeline after a trigger");
                return Ok(b);
            }
        };
        let new = d
            .last_runs
            .iter()
            .filter(|r| !before.contains(&r.id))
            .max_by_key(|r| r.start);
        if let Some(run) = new
            && let Some(why) = runner_less(run)
        {
            return Err(ApiError::Server {
                status: 500,
                message: format!(
                    "the dashboard found no runner: it accepted the trigger of `{name}` but \
                     recorded run {} as failed at once with {why}; check the dashboard's \
                     runners, then trigger again",
                    run.id
                ),
            });
        }
        match new {
            Some(run) if !d.running => Ok(run_build(run, pid, &d.name)),
            _ => Ok(b),
        }
    }

    /// The pipeline's config as a runner plan, `%param%` substituted (§7 live run, step 1).
    pub async fn pipeline_plan(
        &self,
        pid: &str,
        params: &[(String, String)],
    ) -> Result<String, ApiError> {
        let pid = &self.pipeline_ref(pid).await?;
        let mut cfg: Value = self.config(pid).await?;
        let sub = |s: &str| {
            let mut out = s.to_string();
            for (k, v) in params {
                out = out.replace(&format!("%{k}%"), v);
            }
            out
        };
        if let Some(stages) = cfg.get_mut("stages").and_then(Value::as_array_mut) {
            for st in stages {
                for key in ["name", "image", "runtime"] {
                    if let Some(Value::String(s)) = st.get_mut(key) {
                        *s = sub(s);
                    }
                }
                for key in ["environment", "script"] {
                    if let Some(Value::Array(a)) = st.get_mut(key) {
                        for x in a.iter_mut() {
                            if let Value::String(s) = x {
                                *s = sub(s);
                            }
                        }
                    }
                }
            }
        }
        Ok(cfg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, status: &str, code: i64) -> wire::Stage {
        wire::Stage {
            name: name.into(),
            status: status.into(),
            exit_code: Some(code),
        }
    }

    fn run(status: &str, stages: Vec<wire::Stage>) -> wire::Run {
        wire::Run {
            id: "0badc0de".into(),
            status: Some(status.into()),
            stages,
            ..Default::default()
        }
    }

    #[test]
    fn a_run_without_stages_is_a_runner_failure() {
        // §11 R3: `stages: []` in the detail, absent in the list.
        for json in [
            r#"{"id": "0badc0de", "status": "Error", "stages": [], "archived": []}"#,
            r#"{"id": "0badc0de", "status": "Error"}"#,
            r#"{"id": "0badc0de", "status": "Error", "stages": null}"#,
        ] {
            let r: wire::Run = serde_json::from_str(json).unwrap();
            let b = run_build(&r, "8", "gpu-bench");
            assert_eq!(b.status, BuildStatus::Failed);
            assert_eq!(b.message.as_deref(), Some(RUNNER_FAILED));
            assert!(
                b.message
                    .unwrap()
                    .contains("the runner failed before any stage ran")
            );
        }
        let p = project(wire::PipelineEntry {
            id: Some("8".into()),
            name: "gpu-bench".into(),
            status: Some("Error".into()),
            ..Default::default()
        });
        let lb = p.last_build.unwrap();
        assert_eq!(lb.message.as_deref(), Some(RUNNER_FAILED));
        assert_eq!(lb.raw, "Error");
        // A passed run without stages is not a failure.
        assert_eq!(run_build(&run("Passed", vec![]), "1", "x").message, None);
        assert!(run("Error", vec![]).stages().is_none());
    }

    #[test]
    fn runner_less_runs_are_recognised() {
        for name in ["Get Runner", "Connect Runner", "Auth Runner", "Error 400"] {
            let r = run("Failed", vec![stage(name, "Failed", -1)]);
            assert!(runner_less(&r).unwrap().starts_with(name), "{name}");
        }
        assert_eq!(
            runner_less(&run("Failed", vec![stage("build", "Failed", -1)])),
            None
        );
        assert_eq!(
            runner_less(&run("Failed", vec![stage("Get Runner", "Failed", 1)])),
            None
        );
        assert_eq!(
            runner_less(&run(
                "Failed",
                vec![stage("Get Runner", "Failed", -1), stage("b", "Skipped", -1)]
            )),
            None
        );
    }

    #[test]
    fn statuses_and_exit_codes() {
        assert_eq!(run_status("Success"), BuildStatus::Succeeded);
        assert_eq!(run_status("Error"), BuildStatus::Failed);
        assert_eq!(run_status("Weird"), BuildStatus::Unknown);
        assert_eq!(stage_status("Skipped"), StepStatus::Skipped);
        let (code, msg) = explain_stages(
            "Failed",
            Some(&[stage("a", "Passed", 0), stage("e2e", "Failed", -3)]),
        );
        assert_eq!(code, Some(-3));
        assert_eq!(msg.unwrap(), "stage 2/2 `e2e` failed: stage timeout (-3)");
        let (_, msg) = explain_stages("Failed", Some(&[stage("Get Runner", "Failed", -1)]));
        assert!(msg.unwrap().contains("no runner answered"));
        assert_eq!(key_values("A=1, B = x=y").unwrap().len(), 2);
        assert!(key_values("nope").is_err());
    }
}
