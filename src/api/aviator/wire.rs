//! Aviator Releases wire types (`api/aviator.md` §5), decoded tolerantly (`api::tolerant`,
//! issue 9): unknown keys are ignored, an absent key and `null` mean the same, numbers may come
//! as strings, and an odd field falls back to `None` instead of failing its row.

use crate::api::ids::id_string;
use crate::api::tolerant::opt_string;
use serde::Deserialize;

/// A deployment (list item and rollback reply). Only `id` is required (integer or string on
/// the wire, kept as an opaque string): a row without one is not a deployment. A missing
/// `status` reads as an unknown status, a missing version as an empty one.
#[derive(Debug, Deserialize)]
pub struct Deployment {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub actor: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub deploy_start_at: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub deploy_end_at: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub environment_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub error_message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub from_release_candidate_version: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub release_candidate_version: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub release_version: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
}
