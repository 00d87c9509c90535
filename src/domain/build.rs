//! Builds (runs, tasks) and their logs, common to every backend that runs work.

use super::BuildStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One unit of CI work: queued, running or finished.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Build {
    /// Stable key within a profile: the backend's run id while queued/running (when it has
    /// one), its build id once finished.
    pub id: String,
    /// Id of the run while it is queued or running (Free Commit: executor UUID).
    pub run_id: Option<String>,
    /// Id of the finished build record, once it exists.
    pub build_id: Option<String>,
    pub project_id: Option<String>,
    pub project: String,
    pub status: BuildStatus,
    /// The backend's own words for the status (`exit 208`, `in_progress`…).
    pub raw_status: String,
    pub exit_code: Option<i64>,
    /// What the exit code or status means.
    pub message: Option<String>,
    pub queued_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Who or what started it, when known.
    pub trigger: Option<String>,
    /// The commit it built, as the server wrote it (full or short SHA), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The branch, tag or ref it built, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

impl Build {
    /// `ref@sha7`, or whichever of the two is known: what the COMMIT column shows.
    pub fn commit_label(&self) -> Option<String> {
        match (self.short_ref(), self.short_commit()) {
            (Some(r), Some(s)) => Some(format!("{r}@{s}")),
            (Some(r), None) => Some(r.to_string()),
            (None, Some(s)) => Some(s),
            (None, None) => None,
        }
    }
}

impl Build {
    /// The commit's first 7 characters, as commits are usually shown.
    pub fn short_commit(&self) -> Option<String> {
        let c = self.commit.as_deref().filter(|c| !c.is_empty())?;
        Some(c.chars().take(7).collect())
    }

    /// The ref without `refs/heads/` (a branch reads as its name; tags keep `refs/tags/`
    /// shortened to `tag:`).
    pub fn short_ref(&self) -> Option<String> {
        let r = self.git_ref.as_deref().filter(|r| !r.is_empty())?;
        Some(
            match (r.strip_prefix("refs/heads/"), r.strip_prefix("refs/tags/")) {
                (Some(branch), _) => branch.to_string(),
                (None, Some(tag)) => format!("tag:{tag}"),
                (None, None) => r.to_string(),
            },
        )
    }
}

/// Which builds to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildScope {
    /// Queued and running work across all projects.
    Active,
    /// One project's history (newest first), with its queued/running work on top.
    Project { id: String, name: String },
}

/// Status of one step of a build. `Option<StepStatus>::None` = not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Skipped,
    Unknown,
}

impl StepStatus {
    pub fn symbol(self) -> &'static str {
        match self {
            StepStatus::Queued => "◌",
            StepStatus::Running => "●",
            StepStatus::Succeeded => "✔",
            StepStatus::Failed => "✘",
            StepStatus::Cancelled => "⊘",
            StepStatus::Skipped => "↷",
            StepStatus::Unknown => "?",
        }
    }
}

/// What starting a build asks for.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct LaunchRequest {
    pub project_id: String,
    /// Steps to skip, in the backend's spelling (Free Commit: `@test`).
    pub skip_steps: Vec<String>,
    /// Values of the backend's launch fields (`commit`, `branch`, `ref`, `message`, trigger
    /// parameters…), by field name, in form order.
    pub params: Vec<(String, String)>,
}

/// What a launch of one project can ask the operator for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LaunchOptions {
    /// Steps that may be skipped (backend spelling), in run order.
    pub skippable_steps: Vec<String>,
    /// Extra inputs, in form order.
    pub fields: Vec<LaunchField>,
}

/// One input of a launch form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchField {
    /// Key in `LaunchRequest::params`.
    pub name: String,
    pub label: String,
    pub required: bool,
    pub default: Option<String>,
    /// Free `key=value` pairs separated by commas (inputs, trigger parameters).
    pub key_values: bool,
}

/// What a log tail reports, in order. Lines are raw bytes-as-text from the server (ANSI and
/// all): the viewer sanitises them.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEvent {
    /// A step begins; the lines that follow belong to it.
    Step {
        name: String,
        status: StepStatus,
    },
    /// The current step's status changed (it closed, failed, was skipped).
    StepStatus(StepStatus),
    Lines(Vec<String>),
    /// The live log ended and the archived log follows: drop everything received so far.
    Restart,
    /// The build is over (or the archived log is complete): no more events.
    End {
        status: Option<BuildStatus>,
    },
}
