//! Changes on the server, as data. Whatever the backend — a Free Commit launch, an Aviator
//! promotion, a Serverless-cd redeploy — every change takes the same path: a confirmation that
//! says what will happen, the read-only gate in `update::mutate`, one effect, and an audit entry.

use crate::domain::{
    Build, DeployRequest, Deployment, LaunchRequest, ReleaseRequest, RollbackRequest, StatusRequest,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Mutation {
    Launch {
        project: String,
        request: LaunchRequest,
    },
    Kill {
        build: Build,
    },
    Redeploy {
        build: Build,
    },
    /// Start a finished build's project again with the build's own parameters, where the
    /// backend has no native re-run (`crate::app::rerun`).
    Rerun {
        build: Build,
        request: LaunchRequest,
        /// What the original run used that cannot be known, in words (said, not guessed).
        #[serde(skip_serializing_if = "Option::is_none")]
        unknown: Option<String>,
    },
    CreateRelease {
        request: ReleaseRequest,
    },
    Deploy {
        request: DeployRequest,
        /// What the environment ran before, for the confirmation and the audit.
        from: Option<String>,
    },
    SetStatus {
        request: StatusRequest,
    },
    Rollback {
        request: RollbackRequest,
        from: Option<String>,
    },
    /// Run a plan file directly on the runner (Candor).
    RunPlan {
        path: String,
    },
    /// Report the status of a build run elsewhere (nullplatform).
    ReportStatus {
        build: Build,
        status: String,
    },
    /// Declare an asset of a build and learn where to push it (nullplatform).
    CreateAsset {
        build: Build,
        kind: String,
        name: Option<String>,
        url: Option<String>,
    },
}

impl Mutation {
    pub(crate) fn verb(&self) -> &'static str {
        match self {
            Mutation::Launch { .. } => "launch",
            Mutation::Kill { .. } => "kill",
            Mutation::Redeploy { .. } => "redeploy",
            Mutation::Rerun { .. } => "rerun",
            Mutation::CreateRelease { .. } => "create_release",
            Mutation::Deploy { .. } => "deploy",
            Mutation::SetStatus { .. } => "set_status",
            Mutation::Rollback { .. } => "rollback",
            Mutation::ReportStatus { .. } => "report_status",
            Mutation::RunPlan { .. } => "run_plan",
            Mutation::CreateAsset { .. } => "create_asset",
        }
    }

    /// What it acts on, in words.
    pub fn target(&self) -> String {
        let short = |id: &str| super::state::short_id(id).to_string();
        match self {
            Mutation::Launch { project, .. } => project.clone(),
            Mutation::Kill { build }
            | Mutation::Redeploy { build }
            | Mutation::Rerun { build, .. }
            | Mutation::ReportStatus { build, .. }
            | Mutation::CreateAsset { build, .. } => {
                format!("{} {}", build.project, short(&build.id))
            }
            Mutation::CreateRelease { request } => request.project.clone(),
            Mutation::RunPlan { path } => format!("runner ← {path}"),
            Mutation::Deploy { request, .. } => {
                format!("{}/{}", request.project, request.environment)
            }
            Mutation::SetStatus { request } => {
                format!("{}/{}", request.project, request.environment)
            }
            Mutation::Rollback { request, .. } => {
                format!("{}/{}", request.project, request.environment)
            }
        }
    }

    /// The request in one line, without anything secret (no request here carries a secret).
    pub fn summary(&self) -> String {
        match self {
            Mutation::Launch { request, .. } => {
                let mut s = format!("skip [{}]", request.skip_steps.join(", "));
                for (k, v) in &request.params {
                    s.push_str(&format!(" {k}={v}"));
                }
                s
            }
            Mutation::Kill { build } => format!("{} (was {})", build.id, build.status.label()),
            Mutation::Redeploy { build } => format!("re-run {}", build.id),
            Mutation::Rerun { build, request, .. } => format!(
                "re-run {}: {}",
                build.id,
                crate::app::rerun::words(build, request)
            ),
            Mutation::RunPlan { path } => format!("plan {path}"),
            Mutation::CreateRelease { request } => format!(
                "{} from {}@{}{}",
                request.candidate,
                request.repo,
                request.commit,
                if request.build { " +build" } else { "" }
            ),
            Mutation::Deploy { request, from } => format!(
                "{} → {}",
                from.as_deref().unwrap_or("nothing"),
                request.candidate
            ),
            Mutation::SetStatus { request } => {
                format!("{} = {}", request.candidate, request.status)
            }
            Mutation::ReportStatus { build, status } => {
                format!("{} {} → {status}", build.id, build.raw_status)
            }
            Mutation::CreateAsset {
                kind, name, url, ..
            } => format!(
                "{kind} {}{}",
                name.as_deref().unwrap_or(""),
                url.as_deref()
                    .map(|u| format!(" at {u}"))
                    .unwrap_or_default()
            ),
            Mutation::Rollback { request, from } => format!(
                "from {}{}",
                from.as_deref().unwrap_or("current"),
                if request.force { " (force)" } else { "" }
            ),
        }
    }
}

/// What a change brought back.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Nothing to show beyond success.
    Done,
    /// A build was started (launch, redeploy).
    Build(Build),
    /// A deployment was created (rollback), when the server says which.
    Deployment(Option<Deployment>),
    /// Where to push a declared asset (`provider: url`).
    Targets(Vec<String>),
}

/// One line of the audit trail (`audit.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time: DateTime<Utc>,
    pub profile: String,
    pub user: String,
    pub action: String,
    pub target: String,
    pub request: String,
    /// `ok`, or `error: <message>`.
    pub result: String,
    /// Row key in the Audit pane (not written to the file).
    #[serde(skip)]
    pub key: String,
}

impl crate::domain::Row for AuditEntry {
    fn id(&self) -> &str {
        &self.key
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.profile, self.user, self.action, self.target, self.request, self.result
        )
    }
    fn display_name(&self) -> &str {
        &self.target
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        Some(self.time)
    }
    fn author(&self) -> Option<&str> {
        Some(&self.user)
    }
}

/// Read the last `max` entries of an audit file (missing file: none; bad lines skipped).
pub(crate) fn read_audit(path: &std::path::Path, max: usize) -> Vec<AuditEntry> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out: Vec<AuditEntry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let skip = out.len().saturating_sub(max);
    out.drain(..skip);
    for (i, e) in out.iter_mut().enumerate() {
        e.key = format!("file-{i}");
    }
    out
}

/// Append one entry to the audit file, creating it (and its directory) on first use.
pub(crate) fn append_audit(path: &std::path::Path, entry: &AuditEntry) -> std::io::Result<()> {
    use std::io::Write;
    let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    // Server words in `result`: escaped (never raw C1 or bidi in the file) and redacted.
    let mut line = crate::safe::json(&line).into_owned();
    line.push('\n');
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())
}
