//! Serverless-cd wire rows as domain values: applications → projects, tasks → builds, the
//! status maps (`api/README.md`), and the manual dispatch body (§4, §11 R12).

use super::wire;
use crate::api::ApiError;
use crate::domain::{Build, BuildStatus, LastBuild, LaunchRequest, Project, StepStatus};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Unified status of a task (`api/README.md`).
pub fn build_status(raw: &str) -> BuildStatus {
    match raw {
        "pending" => BuildStatus::Queued,
        "running" => BuildStatus::Running,
        "success" => BuildStatus::Succeeded,
        "failure" => BuildStatus::Failed,
        "cancelled" | "skipped" => BuildStatus::Cancelled,
        _ => BuildStatus::Unknown,
    }
}

/// Unified status of a step; `error-with-continue` passes (with a warning line in the log).
pub fn step_status(raw: &str) -> StepStatus {
    match raw {
        "pending" => StepStatus::Queued,
        "running" => StepStatus::Running,
        "success" | "error-with-continue" => StepStatus::Succeeded,
        "failure" => StepStatus::Failed,
        "skipped" => StepStatus::Skipped,
        "cancelled" => StepStatus::Cancelled,
        _ => StepStatus::Unknown,
    }
}

pub(crate) fn is_active(raw: Option<&str>) -> bool {
    matches!(raw, Some("pending" | "running"))
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms?)
}

pub(crate) fn app_project(app: &wire::Application) -> Project {
    let name = app.name();
    let mut description = app
        .description
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| {
            app.owner
                .as_ref()
                .map(|o| format!("{o}/{name} ({})", app.provider.as_deref().unwrap_or("git")))
        });
    if let Some(env) = app.env_name() {
        let d = description.get_or_insert_with(String::new);
        if !d.is_empty() {
            d.push_str(" · ");
        }
        d.push_str("environment ");
        d.push_str(env);
    }
    let last_build = app.latest_task().map(|t| {
        let raw = t.status.clone().unwrap_or_default();
        LastBuild {
            status: build_status(&raw),
            raw,
            exit_code: None,
            message: None,
            at: None,
        }
    });
    Project {
        id: app.id.clone(),
        name,
        description,
        last_build,
    }
}

/// A task as a build; `project` is the application's name (tasks carry no `repo_name` in the
/// measured eras, §11 R11).
pub(crate) fn task_build(t: wire::Task, project: &str) -> Build {
    let raw = t.status.unwrap_or_default();
    let status = build_status(&raw);
    let trigger = match (&t.redelivery, &t.trigger_type) {
        (Some(old), _) => Some(format!("redeploy of {old}")),
        (None, Some(tt)) => Some(tt.clone()),
        (None, None) => None,
    };
    // The commit message, ref and SHA each have their own column.
    let message = t.message.filter(|m| !m.is_empty());
    let git_ref = t.git_ref.filter(|r| !r.is_empty());
    let commit = t.commit.filter(|c| !c.is_empty());
    Build {
        id: t.id.clone(),
        run_id: Some(t.id.clone()),
        build_id: Some(t.id),
        project_id: t.app_id,
        project: t
            .repo_name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| project.to_string()),
        status,
        raw_status: raw,
        exit_code: None,
        message,
        queued_at: millis(t.created_time),
        started_at: None,
        finished_at: if status.is_terminal() {
            millis(t.updated_time)
        } else {
            None
        },
        trigger,
        commit,
        git_ref,
    }
}

/// A just-dispatched task that could not be read back: queued, as far as we know.
pub(crate) fn queued_build(task_id: String, app_id: Option<&str>, project: &str) -> Build {
    Build {
        id: task_id.clone(),
        run_id: Some(task_id.clone()),
        build_id: Some(task_id),
        project_id: app_id.map(str::to_string),
        project: project.to_string(),
        status: BuildStatus::Queued,
        raw_status: "pending".into(),
        exit_code: None,
        message: None,
        queued_at: Some(Utc::now()),
        started_at: None,
        finished_at: None,
        trigger: None,
        commit: None,
        git_ref: None,
    }
}

fn refused(message: String) -> ApiError {
    ApiError::Rejected { status: 0, message }
}

/// The dispatch body as §4: `appId`, `ref`, then `commitId`, `message`, `inputs` when given.
/// An empty ref is never sent (§11 R12): `default_ref` (the application's trigger branch) is
/// used instead, else the operator is asked for one.
pub fn dispatch_body(req: &LaunchRequest, default_ref: Option<&str>) -> Result<Value, ApiError> {
    let param = |name: &str| {
        req.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let git_ref = param("ref")
        .or(default_ref.map(str::trim).filter(|r| !r.is_empty()))
        .ok_or_else(|| {
            refused(
                "no git ref given and the application's trigger names no branch: \
                 enter a ref (refs/heads/…, refs/tags/…)"
                    .into(),
            )
        })?;
    let mut body = json!({
        "appId": req.project_id,
        "ref": git_ref,
    });
    if let Some(c) = param("commit") {
        body["commitId"] = json!(c);
    }
    if let Some(m) = param("message") {
        body["message"] = json!(m);
    }
    if let Some(raw) = param("inputs") {
        let mut inputs = serde_json::Map::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(refused(format!("input `{pair}` is not KEY=value")));
            };
            let k = k.trim();
            if k.is_empty() {
                return Err(refused(format!("input `{pair}` has no key")));
            }
            inputs.insert(k.to_string(), json!(v.trim()));
        }
        if !inputs.is_empty() {
            body["inputs"] = Value::Object(inputs);
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map() {
        assert_eq!(build_status("pending"), BuildStatus::Queued);
        assert_eq!(build_status("skipped"), BuildStatus::Cancelled);
        assert_eq!(build_status("weird"), BuildStatus::Unknown);
        assert_eq!(step_status("error-with-continue"), StepStatus::Succeeded);
        assert_eq!(step_status("skipped"), StepStatus::Skipped);
        assert_eq!(step_status("cancelled"), StepStatus::Cancelled);
        assert_eq!(step_status("brand-new"), StepStatus::Unknown);
    }

    fn req(params: &[(&str, &str)]) -> LaunchRequest {
        LaunchRequest {
            project_id: "app1".into(),
            skip_steps: vec![],
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn dispatch_body_is_exact() {
        let r = req(&[
            ("ref", "refs/heads/main"),
            ("commit", ""),
            ("message", "hi"),
            ("inputs", "A=1, B = two"),
        ]);
        assert_eq!(
            dispatch_body(&r, Some("refs/heads/dev")).unwrap(),
            json!({"appId": "app1", "ref": "refs/heads/main", "message": "hi",
                   "inputs": {"A": "1", "B": "two"}})
        );
        assert!(dispatch_body(&req(&[("ref", "x"), ("inputs", "novalue")]), None).is_err());
    }

    #[test]
    fn an_empty_ref_is_never_sent() {
        assert_eq!(
            dispatch_body(&req(&[("ref", "  ")]), Some("refs/heads/main")).unwrap(),
            json!({"appId": "app1", "ref": "refs/heads/main"})
        );
        let e = dispatch_body(&req(&[]), None).unwrap_err();
        assert!(
            matches!(&e, ApiError::Rejected { status: 0, message } if message.contains("enter a ref")),
            "{e:?}"
        );
        assert!(dispatch_body(&req(&[]), Some("")).is_err());
    }
}
