//! The typed common model every backend maps its wire types into. The UI only ever sees these.

mod build;
mod filter;
mod release;
mod trend;

pub use build::{
    Build, BuildScope, LaunchField, LaunchOptions, LaunchRequest, LogEvent, StepStatus,
};
use chrono::{DateTime, Utc};
pub use filter::{Filter, Missing, missing_note};
pub use release::{
    DeployRequest, Deployment, Environment, ReleaseRequest, ReleaseSupport, RollbackRequest,
    StatusRequest, runs as environment_runs, split_candidate,
};
use serde::{Deserialize, Serialize};
pub use trend::{Trend, sparkline};

/// The backend kinds: one table in `crate::backends`.
pub use crate::backends::Kind;

/// Unified status of a build, run, task or deployment (`api/README.md`, "Unified build status").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    #[default]
    Unknown,
}

impl BuildStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BuildStatus::Succeeded | BuildStatus::Failed | BuildStatus::Cancelled
        )
    }

    /// A symbol so that status never depends on colour alone.
    pub fn symbol(self) -> &'static str {
        match self {
            BuildStatus::Queued => "◌",
            BuildStatus::Running => "●",
            BuildStatus::Succeeded => "✔",
            BuildStatus::Failed => "✘",
            BuildStatus::Cancelled => "⊘",
            BuildStatus::Unknown => "?",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            BuildStatus::Queued => "queued",
            BuildStatus::Running => "running",
            BuildStatus::Succeeded => "passed",
            BuildStatus::Failed => "failed",
            BuildStatus::Cancelled => "cancelled",
            BuildStatus::Unknown => "unknown",
        }
    }
}

/// The outcome of the most recent build of a project, as the list rows show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastBuild {
    pub status: BuildStatus,
    /// The backend's own status text (e.g. `exit 208`), shown in detail views.
    pub raw: String,
    pub exit_code: Option<i64>,
    /// What the exit code means, when the backend says or the code is a known one.
    pub message: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

impl LastBuild {
    /// A project's last build from its newest build (lists that do not carry it).
    pub fn of(b: &Build) -> LastBuild {
        LastBuild {
            status: b.status,
            raw: b.raw_status.clone(),
            exit_code: b.exit_code,
            message: b.message.clone(),
            at: b.finished_at.or(b.started_at).or(b.queued_at),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `None` = never built.
    pub last_build: Option<LastBuild>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Developer {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

/// A secret or parameter. Secret values never enter the domain, so they cannot reach the
/// screen, a log, a clipboard or `--json` output; only a parameter the backend marks as not
/// secret (nullplatform `secret: false`) carries its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub id: String,
    pub name: String,
    /// `PUBLIC` / `PRIVATE` (Free Commit), `secret` / `plain`, …
    pub scope: String,
    /// Environment or free label, when the backend has one.
    pub environment: Option<String>,
    /// The value of a NON-secret parameter; always `None` for anything secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Who the profile is logged in as.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub roles: Vec<String>,
}

/// One page of a server-side list.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based page number this is.
    pub page: u32,
    pub per_page: u32,
    /// Total the server reports, when it reports one (may lag or be approximate).
    pub total: Option<u64>,
    /// Whether another page may follow. Decided from the rows received, never from totals alone.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// A whole list delivered at once (no further pages; the total is what is there).
    pub fn whole(items: Vec<T>) -> Page<T> {
        let n = items.len() as u32;
        Page {
            items,
            page: 1,
            per_page: n.max(1),
            total: Some(u64::from(n)),
            has_more: false,
        }
    }
}

/// A name made safe to use as a file name (ASCII letters, digits, `-_.`; the rest `_`).
pub(crate) fn file_name_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a list request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListQuery {
    pub page: u32,
    pub per_page: u32,
    /// Free text the server filters on (when the backend can filter).
    pub filter: Option<String>,
    pub sort: Option<Sort>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    /// Domain field name: `name`, `id`, `last_build`, `email`, `role`, `scope`.
    pub field: &'static str,
    pub ascending: bool,
}

/// The lists a dashboard can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Projects,
    Developers,
    Secrets,
    Builds,
    Releases,
    /// This dashboard's own trail of changes (local, every backend has it).
    Audit,
    /// Every configured profile at once.
    Overview,
}

impl Resource {
    pub(crate) const ALL: [Resource; 7] = [
        Resource::Projects,
        Resource::Developers,
        Resource::Secrets,
        Resource::Builds,
        Resource::Releases,
        Resource::Audit,
        Resource::Overview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Projects => "projects",
            Resource::Developers => "developers",
            Resource::Secrets => "secrets",
            Resource::Builds => "builds",
            Resource::Releases => "releases",
            Resource::Audit => "audit",
            Resource::Overview => "overview",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Resource::Projects => "Projects",
            Resource::Developers => "Developers",
            Resource::Secrets => "Secrets",
            Resource::Builds => "Builds",
            Resource::Releases => "Releases",
            Resource::Audit => "Audit",
            Resource::Overview => "Overview",
        }
    }

    pub fn parse(s: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How a backend serves one list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSupport {
    /// Pages come from the server (`false`: the whole list arrives at once).
    pub paged: bool,
    /// The server filters on free text; otherwise the dashboard filters loaded rows.
    pub server_filter: bool,
    /// Domain fields the server can sort on, in the order `s` cycles through them.
    pub sort_fields: &'static [&'static str],
    /// `key:value` words of `/` the server understands itself (nullplatform's `repo:`):
    /// sent with the free text instead of being taken as the dashboard's qualifiers.
    pub server_qualifiers: &'static [&'static str],
}

/// What the logged-in session can do. Panes and actions are offered from this, never from the kind.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub lists: Vec<(Resource, ListSupport)>,
    /// Build work the backend offers (all false when it runs no builds).
    pub builds: BuildSupport,
    /// Release promotion the backend offers.
    pub releases: ReleaseSupport,
    /// Why a list is missing, for `?` and the palette (`(resource, reason)`).
    pub missing: Vec<(Resource, String)>,
}

impl Capabilities {
    pub fn list(&self, r: Resource) -> Option<&ListSupport> {
        /// Builds come as whole lists (queue, a project's history) and filter locally.
        static BUILDS: ListSupport = ListSupport {
            paged: false,
            server_filter: false,
            sort_fields: &[],
            server_qualifiers: &[],
        };
        /// The deployment history of one environment: pages from the server, filtered locally.
        static RELEASES: ListSupport = ListSupport {
            paged: true,
            server_filter: false,
            sort_fields: &[],
            server_qualifiers: &[],
        };
        match r {
            Resource::Builds => return self.builds.list.then_some(&BUILDS),
            Resource::Releases => return self.releases.list.then_some(&RELEASES),
            Resource::Audit | Resource::Overview => return Some(&BUILDS),
            _ => {}
        }
        self.lists.iter().find(|(x, _)| *x == r).map(|(_, s)| s)
    }

    pub fn why_not(&self, r: Resource) -> String {
        self.missing
            .iter()
            .find(|(x, _)| *x == r)
            .map(|(_, why)| why.clone())
            .unwrap_or_else(|| format!("this backend has no {}", r.as_str()))
    }
}

/// What a backend can do with builds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BuildSupport {
    /// Queued/running work and project history can be listed.
    pub list: bool,
    pub launch: bool,
    /// Launch can skip named steps.
    pub skip_steps: bool,
    pub kill: bool,
    /// Re-run an earlier build as it was (Serverless-cd redeploy: its rollback).
    pub redeploy: bool,
    pub logs: bool,
    /// Logs can be followed while the build runs.
    pub live_logs: bool,
    /// Statuses an externally run build may be reported as (nullplatform); empty: none.
    pub report_statuses: Vec<String>,
    /// Kinds of asset a build may declare (nullplatform); empty: none.
    pub asset_kinds: Vec<String>,
    /// Finished builds keep files that can be listed and downloaded (Candor).
    pub archives: bool,
    /// A plan can be run directly on a runner, its log followed (Candor with `runner_url`).
    pub direct_runs: bool,
}

/// A logged-in session: who, and what they may do.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub user: User,
    pub caps: Capabilities,
}

/// Something a list row can be keyed and filtered by.
pub trait Row: Clone + PartialEq + Send + 'static {
    fn id(&self) -> &str;
    /// Text the local filter matches against (lower-cased by the caller).
    fn haystack(&self) -> String;
    /// A short name for breadcrumbs and confirmations.
    fn display_name(&self) -> &str;
    /// `self` is what `old` became under another id (a queued run that finished as a build
    /// record): the selection follows it instead of landing on another row.
    fn succeeds(&self, _old: &Self) -> bool {
        false
    }
    /// The row's unified status, for `status:` (none: the row has no status).
    fn status(&self) -> Option<BuildStatus> {
        None
    }
    /// The row's time for `since:` (a build's start or queue time, a project's last build).
    fn time(&self) -> Option<DateTime<Utc>> {
        None
    }
    /// Who started it, for `author:` / `actor:`, where the backend says.
    fn author(&self) -> Option<&str> {
        None
    }
}

impl Row for Project {
    fn id(&self) -> &str {
        &self.id
    }
    fn haystack(&self) -> String {
        format!(
            "{} {}",
            self.name,
            self.description.as_deref().unwrap_or("")
        )
    }
    fn display_name(&self) -> &str {
        &self.name
    }
    fn status(&self) -> Option<BuildStatus> {
        self.last_build.as_ref().map(|b| b.status)
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        self.last_build.as_ref().and_then(|b| b.at)
    }
}

impl Row for Developer {
    fn id(&self) -> &str {
        &self.id
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {}",
            self.username,
            self.email.as_deref().unwrap_or(""),
            self.roles.join(" ")
        )
    }
    fn display_name(&self) -> &str {
        &self.username
    }
}

/// How far apart a run's start and its build record's may be (clocks, queue time).
const SUCCESSOR_SLACK_SECS: i64 = 120;

impl Row for Build {
    fn id(&self) -> &str {
        &self.id
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.project,
            self.id,
            self.status.label(),
            self.message.as_deref().unwrap_or("")
        )
    }
    fn display_name(&self) -> &str {
        &self.id
    }
    fn status(&self) -> Option<BuildStatus> {
        Some(self.status)
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        self.started_at.or(self.queued_at)
    }
    fn author(&self) -> Option<&str> {
        self.trigger.as_deref().filter(|t| !t.is_empty())
    }
    /// Free Commit's run (executor UUID) finishes as a numbered build, Candor's running row
    /// as a run with an id: same project, started about when the run did (or no time known).
    fn succeeds(&self, old: &Build) -> bool {
        let same_project = match (&self.project_id, &old.project_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.project == old.project,
        };
        let close = match (
            old.started_at.or(old.queued_at),
            self.started_at.or(self.queued_at),
        ) {
            (Some(a), Some(b)) => (b - a).num_seconds().abs() <= SUCCESSOR_SLACK_SECS,
            _ => true,
        };
        !old.status.is_terminal() && self.id != old.id && same_project && close
    }
}

impl Row for Deployment {
    fn id(&self) -> &str {
        &self.id
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.candidate,
            self.raw_status,
            self.actor.as_deref().unwrap_or(""),
            self.error.as_deref().unwrap_or("")
        )
    }
    fn display_name(&self) -> &str {
        &self.candidate
    }
    fn status(&self) -> Option<BuildStatus> {
        Some(self.status)
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        self.started_at
    }
    fn author(&self) -> Option<&str> {
        self.actor.as_deref().filter(|a| !a.is_empty())
    }
}

impl Row for Secret {
    fn id(&self) -> &str {
        &self.id
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {}",
            self.name,
            self.scope,
            self.environment.as_deref().unwrap_or("")
        )
    }
    fn display_name(&self) -> &str {
        &self.name
    }
}
