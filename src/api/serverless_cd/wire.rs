//! Serverless-cd JSON as the server sends it (`api/serverless-cd.md` §3, §5, §11), in both
//! eras: Nov 2022 (application data at the top level) and Jan 2023 (per-environment data under
//! `environment.<env>`). Tolerant everywhere (`api::tolerant`): counts and ids may be numbers or
//! numeric strings, optional lists absent/null/[], unknown keys ignored, one odd row or field
//! never fails a list. Secret values are never kept: only their names.
//!
//! The `decode_*` functions take the envelope's `data` as a `serde_json::Value`.

use crate::api::ids::id_string;
use crate::api::tolerant::{self, opt_bool, opt_i64, opt_string, opt_u64, or_default};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// The environment a Jan 2023 application usually has (§11 R2).
pub(crate) const DEFAULT_ENV: &str = "default";

/// The envelope of every answer: `{"success", "code"?, "message"?, "data"?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    #[serde(default, deserialize_with = "opt_bool")]
    pub success: Option<bool>,
    /// Number (Jan 2023) or string (newest); absent in Nov 2022 (and on Jan's expired token).
    #[serde(default)]
    pub code: Option<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LatestTask {
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, rename = "ref", deserialize_with = "opt_string")]
    pub git_ref: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub completed: Option<bool>,
}

/// What an application holds per environment (Jan 2023 `environment.<env>`), or at the top
/// level (Nov 2022).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EnvData {
    #[serde(default, deserialize_with = "or_default")]
    pub latest_task: Option<LatestTask>,
    /// Names only: the values (clear text on the wire) are dropped while decoding.
    #[serde(default, deserialize_with = "secret_names")]
    pub secrets: Option<Vec<String>>,
    /// The branch the webhook trigger listens to, as `refs/heads/<branch>` (never the
    /// trigger spec itself: it carries the webhook secret).
    #[serde(default, rename = "trigger_spec", deserialize_with = "trigger_branch")]
    pub default_ref: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Application {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub repo_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub user_id: Option<String>,
    /// Nov 2022: the data at the top level.
    #[serde(flatten)]
    pub top: EnvData,
    /// Jan 2023: the data per environment (keys in the order `serde_json` keeps: sorted).
    #[serde(default, deserialize_with = "env_map")]
    pub environment: Option<BTreeMap<String, EnvData>>,
}

impl Application {
    pub fn name(&self) -> String {
        self.repo_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.id.clone())
    }

    /// The environment shipdeck works in: `default`, else the first one (Jan 2023 only).
    pub fn env_name(&self) -> Option<&str> {
        let envs = self.environment.as_ref()?;
        if envs.contains_key(DEFAULT_ENV) {
            return Some(DEFAULT_ENV);
        }
        envs.keys().next().map(String::as_str)
    }

    fn env(&self) -> Option<&EnvData> {
        self.environment.as_ref()?.get(self.env_name()?)
    }

    /// Top level (Nov) first, else the environment's (Jan).
    fn pick<'a, T: ?Sized>(&'a self, f: impl Fn(&'a EnvData) -> Option<&'a T>) -> Option<&'a T> {
        f(&self.top).or_else(|| self.env().and_then(f))
    }

    pub fn latest_task(&self) -> Option<&LatestTask> {
        self.pick(|e| e.latest_task.as_ref())
    }

    pub(crate) fn secret_names(&self) -> Option<&[String]> {
        self.pick(|e| e.secrets.as_deref())
    }

    /// `refs/heads/<branch>` from the trigger spec, if it names one.
    pub(crate) fn default_ref(&self) -> Option<&str> {
        self.pick(|e| e.default_ref.as_deref())
    }
}

#[derive(Debug, Deserialize)]
pub struct Step {
    #[serde(default, deserialize_with = "opt_string")]
    pub run: Option<String>,
    /// An opaque id (`"0"` for `Set up task`, then a counter that continues across tasks).
    #[serde(default, rename = "stepCount", deserialize_with = "opt_string")]
    pub step_count: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    // `process_time` (a float, `0` when skipped, removed by a cancel, §11 R10) is not read.
}

#[derive(Debug, Deserialize)]
pub(crate) struct Task {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub app_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "tolerant::rows")]
    pub steps: Vec<Step>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub created_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub updated_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub commit: Option<String>,
    #[serde(default, rename = "ref", deserialize_with = "opt_string")]
    pub git_ref: Option<String>,
    /// Newer servers only (neither measured era sends it, §11 R11).
    #[serde(default, deserialize_with = "opt_string")]
    pub repo_name: Option<String>,
    /// Newer servers only (§11 R11).
    #[serde(default, deserialize_with = "opt_string")]
    pub trigger_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub redelivery: Option<String>,
    // `env_name` (Jan 2023 on) is not read: the application's environment is used.
}

/// `task/list`: `{"result": Task[], "totalCount"}`; `totalCount` is a string on the real
/// servers (§11 R1).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TaskPage {
    #[serde(default, deserialize_with = "tolerant::rows")]
    pub result: Vec<Task>,
    #[serde(default, rename = "totalCount", deserialize_with = "opt_u64")]
    pub total_count: Option<u64>,
}

/// `dispatch/manual` and `dispatch/redeploy`.
#[derive(Debug, Deserialize)]
pub(crate) struct Dispatched {
    #[serde(rename = "taskId", deserialize_with = "id_string")]
    pub task_id: String,
}

/// `environment`: each entry decoded on its own, an odd one left out (logged).
fn env_map<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, EnvData>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => Some(
            m.into_iter()
                .filter_map(|(k, v)| match serde_json::from_value::<EnvData>(v) {
                    Ok(e) => Some((k, e)),
                    Err(e) => {
                        tracing::warn!(target: "shipdeck::decode", "environment entry ignored: {e}");
                        None
                    }
                })
                .collect(),
        ),
        Value::Null => None,
        _ => {
            tracing::warn!(target: "shipdeck::decode", "`environment` is not an object; ignored");
            None
        }
    })
}

/// The keys of the `secrets` object; anything else is no secrets (logged). The values are
/// registered with the redactor (`crate::safe`): shown nowhere even when a server echoes them.
fn secret_names<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::Object(m) => Some(
            m.into_iter()
                .map(|(k, v)| {
                    if let Value::String(s) = &v {
                        crate::safe::register_issued(s);
                    }
                    k
                })
                .collect(),
        ),
        _ => {
            tracing::warn!(target: "shipdeck::decode", "`secrets` is not an object; ignored");
            None
        }
    })
}

/// The first `refs/heads/<branch>` named in a trigger spec's event filters, e.g.
/// `body.ref in ["refs/heads/main"]`; a bare branch list (`"branches": ["main"]`) counts too.
fn trigger_branch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let spec = Value::deserialize(d)?;
    register_webhook_secrets(&spec);
    Ok(branch_in(&spec))
}

/// Every `secret` string of a trigger spec goes to the redactor (`crate::safe`), never further.
fn register_webhook_secrets(v: &Value) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| match (k.as_str(), v) {
            ("secret", Value::String(s)) => crate::safe::register_issued(s),
            _ => register_webhook_secrets(v),
        }),
        Value::Array(a) => a.iter().for_each(register_webhook_secrets),
        _ => {}
    }
}

fn branch_in(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| match (k.as_str(), v) {
            // The webhook secret is never looked at.
            ("secret", _) => None,
            ("branches" | "branch", Value::String(b)) => head_ref(b),
            ("branches" | "branch", Value::Array(a)) => {
                a.iter().find_map(|b| b.as_str().and_then(head_ref))
            }
            _ => branch_in(v),
        }),
        Value::Array(a) => a.iter().find_map(branch_in),
        Value::String(s) => ref_in_text(s),
        _ => None,
    }
}

/// `main` or `refs/heads/main` as `refs/heads/main`; patterns (`*`) are no default.
fn head_ref(b: &str) -> Option<String> {
    let b = b.trim();
    let name = b.strip_prefix("refs/heads/").unwrap_or(b);
    (!name.is_empty() && !name.contains(['*', '?', ' '])).then(|| format!("refs/heads/{name}"))
}

/// The first `refs/heads/<name>` inside a filter expression.
fn ref_in_text(s: &str) -> Option<String> {
    let at = s.find("refs/heads/")?;
    let rest = s.get(at..)?;
    let end = rest
        .find(|c: char| matches!(c, '"' | '\'' | '`' | ']' | ',' | ')') || c.is_whitespace())
        .unwrap_or(rest.len());
    head_ref(rest.get(..end)?)
}

fn decode_err(what: &str, e: serde_json::Error) -> String {
    format!("{what} is not the expected JSON ({e})")
}

/// `application/list` data: every readable row (odd rows are logged and left out).
pub(crate) fn decode_applications(v: Value) -> Vec<Application> {
    tolerant::rows_of(v)
}

/// `application/detail` data.
pub(crate) fn decode_application(v: Value) -> Result<Application, String> {
    serde_json::from_value(v).map_err(|e| decode_err("application/detail data", e))
}

/// `task/get` data.
pub(crate) fn decode_task(v: Value) -> Result<Task, String> {
    serde_json::from_value(v).map_err(|e| decode_err("task/get data", e))
}

/// `task/list` data; a `null` page is an empty one.
pub(crate) fn decode_task_page(v: Value) -> Result<TaskPage, String> {
    if v.is_null() {
        return Ok(TaskPage::default());
    }
    serde_json::from_value(v).map_err(|e| decode_err("task/list data", e))
}

/// `dispatch/*` data.
pub(crate) fn decode_dispatched(v: Value) -> Result<Dispatched, String> {
    serde_json::from_value(v).map_err(|e| decode_err("dispatch data", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_and_the_webhook_secret_are_redacted_never_kept() {
        let app: Application = serde_json::from_value(json!({"id": "a1", "repo_name": "shop",
            "secrets": {"DB_PASSWORD": "scd-value-5521"},
            "trigger_spec": {"github": {"secret": "whsec-scd-7788", "branches": ["main"]}}}))
        .unwrap();
        assert_eq!(app.secret_names(), Some(&["DB_PASSWORD".to_string()][..]));
        assert_eq!(
            crate::safe::text("echo scd-value-5521 and whsec-scd-7788"),
            "echo [redacted] and [redacted]"
        );
    }

    #[test]
    fn both_application_shapes() {
        let nov = json!({"id": "a1", "repo_name": "shop", "secrets": {"A": "x", "B": "y"},
            "latest_task": {"taskId": "t1", "status": "success", "completed": true},
            "trigger_spec": {"github": {"events": [{"eventName": "push",
                "filter": "body.ref in [\"refs/heads/main\"]"}], "secret": "refs/heads/nope"}}});
        let a = decode_application(nov).unwrap();
        assert_eq!(a.env_name(), None);
        assert_eq!(
            a.secret_names(),
            Some(&["A".to_string(), "B".to_string()][..])
        );
        assert_eq!(a.latest_task().unwrap().status.as_deref(), Some("success"));
        assert_eq!(a.default_ref(), Some("refs/heads/main"));
        let jan = json!({"id": 7, "repo_name": "shop", "environment": {
            "prod": {"secrets": {"P": "1"}, "trigger_spec": {"github": {"branches": ["release"]}}},
            "default": {"secrets": {"D": "1"}, "latest_task": {"taskId": 9, "completed": "false"},
                "trigger_spec": {"github": {"events": [{"filter": "body.ref in ['refs/heads/dev']"}]}}}}});
        let a = decode_application(jan).unwrap();
        assert_eq!(a.id, "7");
        assert_eq!(a.env_name(), Some("default"));
        assert_eq!(a.secret_names(), Some(&["D".to_string()][..]));
        let lt = a.latest_task().unwrap();
        assert_eq!(lt.completed, Some(false));
        assert_eq!(a.default_ref(), Some("refs/heads/dev"));
        let only = json!({"id": "b", "environment": {"staging": {"trigger_spec":
            {"github": {"branches": "release"}}}, "prod": {}}});
        let a = decode_application(only).unwrap();
        assert_eq!(a.env_name(), Some("prod"), "first key");
        assert_eq!(a.default_ref(), None);
    }

    #[test]
    fn branches_in_trigger_specs() {
        assert_eq!(
            branch_in(&json!({"x": "body.ref in [\"refs/heads/feat/a\", \"refs/heads/b\"]"})),
            Some("refs/heads/feat/a".into())
        );
        assert_eq!(branch_in(&json!({"branches": ["*"]})), None);
        assert_eq!(branch_in(&json!({"secret": "refs/heads/x"})), None);
        assert_eq!(branch_in(&json!({"filter": "refs/heads/"})), None);
    }
}
