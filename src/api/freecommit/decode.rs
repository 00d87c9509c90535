//! Free Commit replies into domain rows, tolerantly (issue 9): every function takes the parsed
//! JSON, so it is testable without a server. One odd row is left out (and logged), never the
//! whole list; one odd field falls back to its default.

use super::builds::{finished_build, run_build};
use super::{last_build, wire};
use crate::api::ApiError;
use crate::api::tolerant::records_of;
use crate::domain::{Build, Developer, Project, Secret};
use serde::de::DeserializeOwned;
use serde_json::Value;

const CLEANUP_STEP: &str = "@cleanup";

/// One page: its rows and the server's `total` (when it sent a readable one).
pub(crate) type PageRows<T> = (Vec<T>, Option<u64>);

/// A pagination envelope (§6): its rows and `total`. Anything but a JSON object is a `Decode`
/// error (it is not a page); odd rows inside are dropped.
pub(super) fn envelope<R: DeserializeOwned>(v: Value) -> Result<PageRows<R>, ApiError> {
    if !v.is_object() {
        return Err(ApiError::Decode(
            "a page of the list is not the expected JSON object".into(),
        ));
    }
    let env: wire::Envelope<R> = serde_json::from_value(v)
        .map_err(|e| ApiError::Decode(format!("a page of the list is unreadable ({e})")))?;
    Ok((env.data, env.total))
}

/// A bare list (every non-paginated route); odd rows are dropped.
pub(super) fn list<R: DeserializeOwned>(v: Value) -> Vec<R> {
    records_of(v)
}

pub(super) fn project(r: wire::ProjectRow) -> Project {
    Project {
        id: r.project_id,
        name: r.project_name.unwrap_or_default(),
        description: None,
        last_build: last_build(
            r.build_last_exit_code,
            r.build_last_exit_message,
            r.build_last_created_at.as_deref(),
        ),
    }
}

pub(super) fn developer(r: wire::DeveloperRow) -> Developer {
    Developer {
        id: r.developer_id,
        username: r.user_username.unwrap_or_default(),
        email: r.developer_email,
        roles: r.user_role.into_iter().collect(),
    }
}

pub(super) fn secret(r: wire::SecretRow) -> Secret {
    Secret {
        id: r.secret_id,
        name: r.secret_name.unwrap_or_default(),
        scope: r.secret_scope.unwrap_or_else(|| "PRIVATE".into()),
        environment: r.secret_env,
        value: None,
    }
}

/// `GET /developer/paginations/project`: projects and the page's `total`.
pub fn projects_page(v: Value) -> Result<PageRows<Project>, ApiError> {
    let (rows, total) = envelope(v)?;
    Ok((rows.into_iter().map(project).collect(), total))
}

/// `GET /developer/paginations/developer`.
pub fn developers_page(v: Value) -> Result<PageRows<Developer>, ApiError> {
    let (rows, total) = envelope(v)?;
    Ok((rows.into_iter().map(developer).collect(), total))
}

/// `GET /developer/paginations/secret` (values are never part of a row).
pub fn secrets_page(v: Value) -> Result<PageRows<Secret>, ApiError> {
    let (rows, total) = envelope(v)?;
    Ok((rows.into_iter().map(secret).collect(), total))
}

/// `GET /developer/builds/queueds` (`running` false) or `/executeds` (`running` true).
pub fn runs(v: Value, running: bool) -> Vec<Build> {
    list::<wire::Run>(v)
        .into_iter()
        .map(|r| run_build(r, running))
        .collect()
}

/// `GET /developer/builds/by/project/{id}` of project `project`, in server order.
pub fn finished_builds(v: Value, project: &str) -> Vec<Build> {
    list::<wire::BuildRow>(v)
        .into_iter()
        .map(|r| finished_build(r, project))
        .collect()
}

/// `GET /developer/projects/{id}`: the steps a launch may skip, with their `@` (`@cleanup`
/// runs after every build and on kill, never as a normal step).
pub fn skippable_steps(v: Value) -> Result<Vec<String>, ApiError> {
    if !v.is_object() {
        return Err(ApiError::Decode(
            "the project is not the expected JSON object".into(),
        ));
    }
    let p: wire::ProjectDetail = serde_json::from_value(v)
        .map_err(|e| ApiError::Decode(format!("the project is unreadable ({e})")))?;
    Ok(p.available_steps
        .into_iter()
        .filter(|s| s != CLEANUP_STEP)
        .collect())
}
