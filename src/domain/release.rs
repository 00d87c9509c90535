//! Release promotion: environments in order, deployments of release candidates to them.

use super::BuildStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One environment of a release project, in promotion order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub project: String,
    pub name: String,
    /// 0 = first in the pipeline.
    pub position: usize,
}

/// A deployment of a release candidate to an environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deployment {
    /// Opaque id (integer or string on the wire).
    pub id: String,
    pub project: String,
    pub environment: String,
    /// Release version (`2026.03.02`), when known.
    pub release: Option<String>,
    /// Release candidate version (`2026.03.02-rc2`), exactly as the server printed it.
    pub candidate: String,
    /// The candidate the environment ran before this deployment.
    pub from_candidate: Option<String>,
    pub status: BuildStatus,
    /// The backend's own status word (`in_progress`, `canceling`…).
    pub raw_status: String,
    /// Who deployed (e-mail), when known.
    pub actor: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl Deployment {
    /// The deployment as a row of build history (Aviator has no builds: a project's recent
    /// deployments are its trend and last "build").
    pub fn as_build(&self) -> super::Build {
        let what = format!("{} → {}", self.candidate, self.environment);
        super::Build {
            id: self.id.clone(),
            run_id: None,
            build_id: Some(self.id.clone()),
            project_id: Some(self.project.clone()),
            project: self.project.clone(),
            status: self.status,
            raw_status: self.raw_status.clone(),
            exit_code: None,
            message: Some(match &self.error {
                Some(e) if !e.is_empty() => format!("{what}: {e}"),
                _ => what,
            }),
            queued_at: None,
            started_at: self.started_at,
            finished_at: self.finished_at,
            trigger: self.actor.clone(),
            commit: None,
            git_ref: None,
        }
    }
}

/// Cut a release candidate from a commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReleaseRequest {
    pub project: String,
    /// Release candidate version, e.g. `2026.03.02-rc1`.
    pub candidate: String,
    /// `org/repo`.
    pub repo: String,
    pub commit: String,
    /// Also start the project's build workflow.
    pub build: bool,
}

/// Deploy (promote) a release candidate to an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeployRequest {
    pub project: String,
    pub environment: String,
    pub candidate: String,
}

/// Report a deployment's status (external CD without a workflow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusRequest {
    pub project: String,
    pub environment: String,
    pub candidate: String,
    /// Backend spelling (`in_progress`, `success`, `failure`…).
    pub status: String,
}

/// Roll an environment back to what ran before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RollbackRequest {
    pub project: String,
    pub environment: String,
    /// Also on a frozen environment.
    pub force: bool,
}

/// What a backend can do with releases.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReleaseSupport {
    /// Environments and deployments can be listed.
    pub list: bool,
    pub create: bool,
    pub deploy: bool,
    pub set_status: bool,
    pub rollback: bool,
    /// Status words `set_status` accepts, in the backend's spelling.
    pub statuses: Vec<String>,
}

/// Split `2026.03.02-rc4` / `2024.06.20.rc1` into release version and candidate number.
pub fn split_candidate(v: &str) -> Option<(&str, u32)> {
    let lower = v.to_ascii_lowercase();
    let at = lower.rfind("-rc").or_else(|| lower.rfind(".rc"))?;
    let n: u32 = v[at + 3..].parse().ok()?;
    (at > 0 && n > 0).then(|| (&v[..at], n))
}

/// What an environment runs, read from its deployments newest first: the newest deployment
/// whatever its status (`latest`), and the newest successful one (`current`, what it runs).
/// One rule for the Releases pane and `get environments`.
pub fn runs(newest_first: &[Deployment]) -> (Option<&Deployment>, Option<&Deployment>) {
    let latest = newest_first.first();
    let current = newest_first
        .iter()
        .find(|d| d.status == super::BuildStatus::Succeeded);
    (latest, current)
}

#[cfg(test)]
mod tests {
    use super::split_candidate;

    #[test]
    fn both_separators_split() {
        assert_eq!(split_candidate("2026.03.02-rc4"), Some(("2026.03.02", 4)));
        assert_eq!(split_candidate("2024.06.20.rc1"), Some(("2024.06.20", 1)));
        assert_eq!(split_candidate("1.2.3"), None);
        assert_eq!(split_candidate("-rc1"), None);
        assert_eq!(split_candidate("2.4.0-rc0"), None);
    }
}
