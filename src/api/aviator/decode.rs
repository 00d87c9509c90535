//! Aviator replies into domain rows, tolerantly (issue 9): every function takes the parsed
//! JSON, so it is testable without a server. One odd row is left out (and logged), never the
//! whole list; one odd field falls back to its default. Timestamps are read with or without
//! fraction and offset, and as bare date-times (§11).

use super::{status_of, wire};
use crate::api::ApiError;
use crate::api::tolerant::{datetime, records_of};
use crate::domain::{Deployment, split_candidate};
use serde_json::Value;

pub(super) fn deployment(w: wire::Deployment, project: &str, env: &str) -> Deployment {
    let candidate = w.release_candidate_version.unwrap_or_default();
    let release = w
        .release_version
        .filter(|r| !r.is_empty())
        .or_else(|| split_candidate(&candidate).map(|(r, _)| r.to_string()));
    let raw = w.status.unwrap_or_default();
    Deployment {
        id: w.id,
        project: project.to_string(),
        environment: w
            .environment_name
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| env.to_string()),
        release,
        candidate,
        from_candidate: w.from_release_candidate_version,
        status: status_of(&raw),
        raw_status: raw,
        actor: w.actor,
        started_at: w.deploy_start_at.as_deref().and_then(datetime),
        finished_at: w.deploy_end_at.as_deref().and_then(datetime),
        error: w.error_message,
    }
}

/// `GET {E}/deployments` of `project`/`env`: a bare array (anything else is a `Decode` error).
pub fn deployments(v: Value, project: &str, env: &str) -> Result<Vec<Deployment>, ApiError> {
    if !v.is_array() {
        return Err(ApiError::Decode(
            "the deployment list is not a JSON array".into(),
        ));
    }
    Ok(records_of::<wire::Deployment>(v)
        .into_iter()
        .map(|w| deployment(w, project, env))
        .collect())
}

/// The deployment a rollback created (`POST {E}/rollback`).
pub fn created_deployment(v: Value, project: &str, env: &str) -> Result<Deployment, ApiError> {
    if !v.is_object() {
        return Err(ApiError::Decode(
            "the rollback reply is not the expected JSON object".into(),
        ));
    }
    let w: wire::Deployment = serde_json::from_value(v)
        .map_err(|e| ApiError::Decode(format!("the rollback reply is not a deployment ({e})")))?;
    Ok(deployment(w, project, env))
}
