//! Free Commit's JSON exactly as the server sends it (`api/freecommit.md` §5–§6), decoded
//! tolerantly (`api::tolerant`, issue 9): ids as numbers or strings, numbers as numeric strings,
//! absent = `null`, optional arrays absent/`null`/`[]`, unknown keys ignored, and one odd field
//! falls back to its default instead of failing its row. Only a row's identity (`id`,
//! `project_id`, `executor_id`, …) is required: a row without one cannot be shown or acted on.

use crate::api::ids::id_string;
use crate::api::tolerant::{opt_bool, opt_i64, opt_string, opt_u64, records, rows};
use serde::Deserialize;

/// Spring's error JSON, or the bare `{"message"}` of login failures.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorBody {
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserInfo {
    #[serde(default, deserialize_with = "opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "rows")]
    pub roles: Vec<String>,
}

/// Claims of the HS512 JWT beyond its lifetime (`api::token::expiry` reads that).
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    #[serde(default, deserialize_with = "rows")]
    pub roles: Vec<String>,
}

/// The pagination envelope; `data` is the only key the client trusts.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
pub(crate) struct Envelope<T> {
    #[serde(default, deserialize_with = "opt_u64")]
    pub total: Option<u64>,
    #[serde(default = "Vec::new", deserialize_with = "records")]
    pub data: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProjectRow {
    #[serde(deserialize_with = "id_string")]
    pub project_id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub project_name: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub build_last_exit_code: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub build_last_exit_message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub build_last_created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeveloperRow {
    #[serde(deserialize_with = "id_string")]
    pub developer_id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub user_username: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub developer_email: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub user_role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SecretRow {
    #[serde(deserialize_with = "id_string")]
    pub secret_id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub secret_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub secret_env: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub secret_scope: Option<String>,
}

/// `GET /developer/projects/{id}` (only what builds need) and the rows of `/developer/projects`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProjectDetail {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "rows")]
    pub available_steps: Vec<String>,
}

/// An entry of `GET /developer/builds/queueds` or `/executeds` (the latter with `at`), and the
/// launch reply (`{"project_name","executor_id"}`).
#[derive(Debug, Deserialize)]
pub struct Run {
    #[serde(default, deserialize_with = "opt_string")]
    pub project_name: Option<String>,
    #[serde(deserialize_with = "id_string")]
    pub executor_id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub at: Option<String>,
}

/// A finished Build (DEVELOPER encoding).
#[derive(Debug, Deserialize)]
pub(crate) struct BuildRow {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub output: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub exit_code: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub exit_message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub completed_at: Option<String>,
    /// An optional id: a number or a string, as a string (odd shapes are dropped).
    #[serde(default, deserialize_with = "opt_string")]
    pub project_id: Option<String>,
}

/// One step of a finished build (`GET /developer/logs/{buildId}/{step}`).
#[derive(Debug, Deserialize)]
pub(crate) struct LogRow {
    #[serde(default, deserialize_with = "opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub step: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub log: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub start_at: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub success: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub skipped: Option<bool>,
}

/// A live chunk (`GET /developer/logs/{executorId}/{step}/{lineNumber}`).
#[derive(Debug, Deserialize)]
pub(crate) struct LogWrapper {
    #[serde(default, deserialize_with = "opt_string")]
    pub step: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub log: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub line_number: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub start_at: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub closed_at: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub success: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub skipped: Option<bool>,
}
