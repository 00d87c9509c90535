//! Free Commit's JSON exactly as the server sends it (`api/freecommit.md` §5–§6). Lenient where
//! the contract says types vary: ids may come as numbers or strings, absent = null.

use crate::api::ids::{id_string, opt_id_string};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct TokenReply {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// Spring's error JSON, or the bare `{"message"}` of login failures.
#[derive(Debug, Deserialize, Default)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserInfo {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Claims of the HS512 JWT (only what the client reads).
#[derive(Debug, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The pagination envelope; `data` is the only key the client trusts.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub struct ProjectRow {
    #[serde(deserialize_with = "id_string")]
    pub project_id: String,
    pub project_name: String,
    #[serde(default)]
    pub build_last_exit_code: Option<i64>,
    #[serde(default)]
    pub build_last_exit_message: Option<String>,
    #[serde(default)]
    pub build_last_created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeveloperRow {
    #[serde(deserialize_with = "id_string")]
    pub developer_id: String,
    #[serde(default)]
    pub user_username: Option<String>,
    #[serde(default)]
    pub developer_email: Option<String>,
    #[serde(default)]
    pub user_role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SecretRow {
    #[serde(deserialize_with = "id_string")]
    pub secret_id: String,
    pub secret_name: String,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub secret_scope: Option<String>,
}

/// `GET /developer/projects/{id}` (only what builds need) and the rows of `/developer/projects`.
#[derive(Debug, Deserialize)]
pub struct ProjectDetail {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub available_steps: Option<Vec<String>>,
}

/// An entry of `GET /developer/builds/queueds` or `/executeds` (the latter with `at`), and the
/// launch reply (`{"project_name","executor_id"}`).
#[derive(Debug, Deserialize)]
pub struct Run {
    #[serde(default)]
    pub project_name: Option<String>,
    #[serde(deserialize_with = "id_string")]
    pub executor_id: String,
    #[serde(default)]
    pub at: Option<String>,
}

/// A finished Build (DEVELOPER encoding).
#[derive(Debug, Deserialize)]
pub struct BuildRow {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub exit_message: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub project_id: Option<String>,
}

/// One step of a finished build (`GET /developer/logs/{buildId}/{step}`).
#[derive(Debug, Deserialize)]
pub struct LogRow {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub log: Option<String>,
    #[serde(default)]
    pub start_at: Option<String>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub skipped: Option<bool>,
}

/// A live chunk (`GET /developer/logs/{executorId}/{step}/{lineNumber}`).
#[derive(Debug, Deserialize)]
pub struct LogWrapper {
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub log: Option<String>,
    #[serde(default)]
    pub line_number: Option<i64>,
    #[serde(default)]
    pub start_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub skipped: Option<bool>,
}
