//! Aviator Releases wire types (`api/aviator.md` §5). Unknown keys are ignored; an absent key
//! and `null` mean the same.

use serde::Deserialize;
use serde_json::Value;

/// A deployment (list item and rollback reply). `id`, `release_candidate_version` and `status`
/// are required: a row without them is not a deployment (a `Decode` error).
#[derive(Debug, Deserialize)]
pub struct Deployment {
    /// Integer or string on the wire; kept as an opaque string.
    pub id: Value,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub deploy_start_at: Option<String>,
    #[serde(default)]
    pub deploy_end_at: Option<String>,
    #[serde(default)]
    pub environment_name: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub from_release_candidate_version: Option<String>,
    pub release_candidate_version: String,
    #[serde(default)]
    pub release_version: Option<String>,
    pub status: String,
}

/// `{"error": "<message>"}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: Option<Value>,
}
