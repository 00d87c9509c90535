//! Candor's JSON as the dashboard and runner send it (`api/candor.md` §5, §11), decoded
//! tolerantly (`api::tolerant`): a number may be a numeric string, an optional array absent,
//! `null` or `[]` (the real detail always sends `stages` and `archived`, `[]` when empty),
//! unknown keys are ignored, an unknown status stays a string the mapping calls `Unknown`, and
//! one odd row or field never fails a list (the row is kept with what could be read).

use crate::api::ApiError;
use crate::api::tolerant::{
    bool_lenient, opt_i64, opt_string, opt_u64, rows, rows_of, string_lenient,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A pipeline id as the server wrote it (an integer in any spelling) in canonical decimal;
/// `None` when it is not an integer (such a row is kept but never addressed, §11 R2).
fn pipeline_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(opt_u64(d)?.map(|n| n.to_string()))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Me {
    #[serde(default, deserialize_with = "string_lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "string_lenient")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineEntry {
    #[serde(default, deserialize_with = "pipeline_id")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "string_lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "rows")]
    pub stages: Vec<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub last_success: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub last_failure: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Stage {
    #[serde(default, deserialize_with = "string_lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "string_lenient")]
    pub status: String,
    #[serde(default, deserialize_with = "opt_i64")]
    pub exit_code: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Run {
    #[serde(default, deserialize_with = "string_lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub finish: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    /// Empty = absent: the run errored before any stage (§11 R3).
    #[serde(default, deserialize_with = "rows")]
    pub stages: Vec<Stage>,
    #[serde(default, deserialize_with = "rows")]
    pub archived: Vec<String>,
}

impl Run {
    /// The stages, `None` when there are none (`[]` and absent mean the same, §11 R3).
    pub fn stages(&self) -> Option<&[Stage]> {
        (!self.stages.is_empty()).then_some(self.stages.as_slice())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineDetail {
    #[serde(default, deserialize_with = "bool_lenient")]
    pub assigned: bool,
    #[serde(default, deserialize_with = "string_lenient")]
    pub name: String,
    #[serde(default, deserialize_with = "bool_lenient")]
    pub running: bool,
    #[serde(default, deserialize_with = "rows")]
    pub last_runs: Vec<Run>,
    /// The token when assigned, else the literal `"hidden"`.
    #[serde(default, deserialize_with = "opt_string")]
    pub trigger: Option<String>,
    #[serde(default, deserialize_with = "rows")]
    pub assignees: Vec<String>,
    #[serde(default, deserialize_with = "rows")]
    pub required_parameters: Vec<String>,
}

impl PipelineDetail {
    /// The trigger token, when this account may see it.
    pub fn token(&self) -> Option<&str> {
        self.trigger
            .as_deref()
            .filter(|t| !t.is_empty() && *t != "hidden")
    }
}

/// The runner's `/run` reply (its `archived` names are not used: the runner's uploads are
/// reachable only through the dashboard, which does not record ad-hoc runs).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RunOutcome {
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "rows")]
    pub stages: Vec<Stage>,
}

/// One object of a kind; anything but an object is a decode error.
fn object<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, ApiError> {
    if !v.is_object() {
        return Err(ApiError::Decode(format!("the {what} is not a JSON object")));
    }
    serde_json::from_value(v).map_err(|e| ApiError::Decode(format!("the {what}: {e}")))
}

/// `GET /api/pipelines`: every row that is an object, in the server's order.
pub fn pipelines(v: Value) -> Vec<PipelineEntry> {
    rows_of(v)
}

/// `GET /api/pipelines/:id`.
pub fn detail(v: Value) -> Result<PipelineDetail, ApiError> {
    object(v, "pipeline detail")
}

/// `GET /me`.
pub fn me(v: Value) -> Result<Me, ApiError> {
    object(v, "user of the session")
}

/// The runner's `POST /run` reply.
pub fn outcome(v: Value) -> Result<RunOutcome, ApiError> {
    object(v, "runner's outcome")
}

#[cfg(test)]
mod tests;
