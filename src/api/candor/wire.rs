//! Candor's JSON exactly as the dashboard and runner send it (`api/candor.md` §5). Optional
//! keys are absent, not null; both are accepted. Ids may be numbers or strings.

use crate::api::ids::id_string;
use serde::{Deserialize, Deserializer};

/// Epoch milliseconds, integer or float (JavaScript numbers).
pub fn epoch_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<f64> = Option::deserialize(d)?;
    Ok(v.filter(|f| f.is_finite()).map(|f| f as i64))
}

#[derive(Debug, Deserialize)]
pub struct Me {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineEntry {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub stages: Option<Vec<String>>,
    #[serde(default, deserialize_with = "epoch_ms")]
    pub last_success: Option<i64>,
    #[serde(default, deserialize_with = "epoch_ms")]
    pub last_failure: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub exit_code: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "epoch_ms")]
    pub start: Option<i64>,
    #[serde(default, deserialize_with = "epoch_ms")]
    pub finish: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub stages: Option<Vec<Stage>>,
    #[serde(default)]
    pub archived: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineDetail {
    #[serde(default)]
    pub assigned: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub running: bool,
    #[serde(default)]
    pub last_runs: Vec<Run>,
    /// The token when assigned, else the literal `"hidden"`.
    #[serde(default)]
    pub trigger: Option<String>,
    #[serde(default)]
    pub assignees: Vec<String>,
    #[serde(default)]
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
#[derive(Debug, Clone, Deserialize)]
pub struct RunOutcome {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub stages: Option<Vec<Stage>>,
}
