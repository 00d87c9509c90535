//! nullplatform replies into domain rows, tolerantly (issue 9): every function takes the
//! parsed JSON, so it is testable without a server. One odd row is left out (and logged),
//! never the whole list; one odd field falls back to its default. Lists come as the CI API's
//! bare array or as the public API's `{paging, results}` page (§11 C1): both are read.

use super::builds::{Asset, AssetTarget, to_build};
use super::wire;
use crate::api::ApiError;
use crate::api::tolerant::{as_u64, records_of};
use crate::domain::{Build, Project, Secret};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A list: its rows and, for an envelope, `paging.total`. Anything else is a `Decode` error
/// naming `what` (never quoting the body: a parameter list holds secrets).
pub(super) fn listing<R: DeserializeOwned>(
    v: Value,
    what: &str,
) -> Result<(Vec<R>, Option<u64>), ApiError> {
    match v {
        Value::Array(_) => Ok((records_of(v), None)),
        Value::Object(mut m) if m.contains_key("results") => {
            let total = m
                .get("paging")
                .and_then(|p| p.get("total"))
                .and_then(as_u64);
            let rows = m.remove("results").unwrap_or(Value::Null);
            Ok((records_of(rows), total))
        }
        _ => Err(ApiError::Decode(format!(
            "the {what} list is neither a JSON array nor a {{paging, results}} page"
        ))),
    }
}

/// An application as a project: id as a string, the slug and repository in the description.
pub(super) fn project(a: &wire::Application) -> Project {
    let mut parts = Vec::new();
    if let Some(slug) = a.slug.as_deref().filter(|s| !s.is_empty()) {
        parts.push(slug.to_string());
    }
    if let Some(repo) = a.repository() {
        match a.app_path() {
            Some(p) => parts.push(format!("{repo} ({p})")),
            None => parts.push(repo.to_string()),
        }
    }
    if let Some(s) = a.status.as_deref().filter(|s| *s != "active") {
        parts.push(s.to_string());
    }
    Project {
        id: a.id.clone(),
        name: a.display_name(),
        description: (!parts.is_empty()).then(|| parts.join(" · ")),
        last_build: None,
    }
}

/// `GET /application`.
pub fn applications(v: Value) -> Result<Vec<Project>, ApiError> {
    let (rows, _) = listing::<wire::Application>(v, "application")?;
    Ok(rows.iter().map(project).collect())
}

/// `GET /application/{id}/parameter` as domain secrets of application `app_id`/`app_name`.
/// Values of secret parameters (and of parameters whose flag is missing) are dropped here.
pub fn parameters(v: Value, app_id: &str, app_name: &str) -> Result<Vec<Secret>, ApiError> {
    let what = format!("parameter (application `{app_name}`)");
    let (rows, _) = listing::<wire::Parameter>(v, &what)?;
    Ok(rows
        .into_iter()
        .filter_map(|p| {
            let name = p.name.filter(|n| !n.is_empty())?;
            // A missing flag counts as secret: showing a value needs an explicit `false`.
            let secret = p.secret != Some(false);
            if p.secret == Some(true)
                && let Some(v) = &p.value.0
            {
                // Never shown; and redacted wherever a server (or a build log) repeats it.
                // (Only values marked secret: a flagless `info` must not be redacted
                // from every line that says "info".)
                crate::safe::register_issued(v);
            }
            Some(Secret {
                id: format!("{app_id}:{name}"),
                name,
                scope: if secret { "secret" } else { "plain" }.into(),
                environment: Some(app_name.to_string()),
                value: if secret { None } else { p.value.0 },
            })
        })
        .collect())
}

/// `GET /build` rows of application `project` (either list shape), in server order.
pub fn builds(v: Value, project: &str) -> Result<Vec<Build>, ApiError> {
    let (rows, _) = listing::<wire::Build>(v, "build")?;
    Ok(rows.into_iter().map(|w| to_build(w, project)).collect())
}

/// One object (a build or an asset reply); anything else is a `Decode` error.
pub(super) fn object<R: DeserializeOwned>(v: Value, what: &str) -> Result<R, ApiError> {
    if !v.is_object() {
        return Err(ApiError::Decode(format!(
            "the {what} is not the expected JSON object"
        )));
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::Decode(format!("the {what} is unreadable ({e})")))
}

/// The reply of `POST /build/{id}/asset` for build `build_id` (its id when the reply has none).
pub fn asset(v: Value, build_id: &str) -> Result<Asset, ApiError> {
    let a: wire::Asset = object(v, "asset")?;
    Ok(Asset {
        id: a.id,
        build_id: a.build_id.unwrap_or_else(|| build_id.to_string()),
        name: a.name.unwrap_or_default(),
        kind: a.kind.unwrap_or_default(),
        targets: a
            .targets
            .into_iter()
            .filter_map(|t| {
                Some(AssetTarget {
                    url: t.url.filter(|u| !u.is_empty())?,
                    provider: t.provider.unwrap_or_else(|| "generic".into()),
                })
            })
            .collect(),
    })
}
