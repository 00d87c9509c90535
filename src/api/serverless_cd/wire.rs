//! Serverless-cd JSON as the server sends it (`api/serverless-cd.md` §3, §5). Lenient: ids may
//! be numbers or strings, absent = null, unknown keys ignored. Secret values are never kept.

use crate::api::ids::{id_string, opt_id_string};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Epoch milliseconds as an integer, a float or a numeric string.
fn opt_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum T {
        I(i64),
        F(f64),
        S(String),
    }
    Ok(Option::<T>::deserialize(d)?.and_then(|t| match t {
        T::I(i) => Some(i),
        T::F(f) => f.is_finite().then_some(f as i64),
        T::S(s) => s.trim().parse().ok(),
    }))
}

/// The envelope of every answer: `{"success", "code"?, "message"?, "data"?}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub success: Option<bool>,
    /// Number (Jan 2023) or string (newest); absent in Nov 2022.
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct LatestTask {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub completed: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Application {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub latest_task: Option<LatestTask>,
    /// Names only: the values (clear text on the wire) are skipped while parsing.
    #[serde(default)]
    pub secrets: Option<BTreeMap<String, IgnoredAny>>,
}

impl Application {
    pub fn name(&self) -> String {
        self.repo_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.id.clone())
    }
}

#[derive(Debug, Deserialize)]
pub struct Step {
    #[serde(default)]
    pub run: Option<String>,
    #[serde(default, rename = "stepCount", deserialize_with = "opt_id_string")]
    pub step_count: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Task {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub app_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default, deserialize_with = "opt_millis")]
    pub created_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_millis")]
    pub updated_time: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(default)]
    pub trigger_type: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub redelivery: Option<String>,
}

/// `task/list`: `{"result": Task[], "totalCount"}`.
#[derive(Debug, Deserialize)]
pub struct TaskPage {
    #[serde(default)]
    pub result: Vec<Task>,
    #[serde(default, rename = "totalCount")]
    pub total_count: Option<u64>,
}

/// `dispatch/manual` and `dispatch/redeploy`.
#[derive(Debug, Deserialize)]
pub struct Dispatched {
    #[serde(rename = "taskId", deserialize_with = "id_string")]
    pub task_id: String,
}
