//! The `Backend` trait every backend implements, the shared HTTP layer, and the typed errors.
//! Wire types never leave their backend's folder: callers see only `domain`.

pub mod aviator;
pub mod candor;
pub mod caps;
pub mod errors;
pub mod follow;
pub mod freecommit;
pub mod http;
pub mod ids;
pub mod login_gate;
pub mod nullplatform;
pub mod paging;
pub mod serverless_cd;
pub mod tail;
pub mod token;
pub mod tolerant;

use crate::config::Profile;
use crate::domain::{
    Build, BuildScope, DeployRequest, Deployment, Developer, Environment, Kind, LaunchOptions,
    LaunchRequest, ListQuery, LogEvent, Page, Project, ReleaseRequest, RollbackRequest, Secret,
    Session, StatusRequest,
};
use async_trait::async_trait;
use std::sync::Arc;

/// What can go wrong talking to a backend. Messages are for people: they carry the server's own
/// words where it gave some, and never a secret: every message that can quote a server passes
/// through the one sanitiser and redactor (`crate::safe::text`) when it is displayed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Credentials rejected, or a credential could not be read.
    #[error("authentication failed: {}", crate::safe::text(.0))]
    Auth(String),
    #[error("access denied: {}", crate::safe::text(.0))]
    Forbidden(String),
    #[error("not found: {}", crate::safe::text(.0))]
    NotFound(String),
    /// The server refused the request as given (4xx other than the above).
    #[error("rejected by the server ({status}): {}", crate::safe::text(.message))]
    Rejected { status: u16, message: String },
    #[error("server error ({status}): {}", crate::safe::text(.message))]
    Server { status: u16, message: String },
    #[error("rate limited by the server; retry later")]
    RateLimited,
    #[error("cannot reach the server: {}", crate::safe::text(.0))]
    Network(String),
    #[error("no answer within {0}s")]
    Timeout(u64),
    /// The server answered something that does not follow its contract.
    #[error("unexpected answer from the server: {}", crate::safe::text(.0))]
    Decode(String),
    /// The backend (or this account) cannot do this.
    #[error("{}", crate::safe::text(.0))]
    Unsupported(String),
    #[error("configuration: {}", crate::safe::text(.0))]
    Config(String),
}

impl ApiError {
    /// Exit code of the one-shot commands (SPEC §2).
    pub fn exit_code(&self) -> i32 {
        match self {
            ApiError::Auth(_) => 3,
            ApiError::Config(_) => 2,
            _ => 1,
        }
    }

    /// Whether the connection itself is the problem (the header shows "offline, retrying").
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            ApiError::Network(_) | ApiError::Timeout(_) | ApiError::RateLimited
        ) || matches!(self, ApiError::Server { status, .. } if *status >= 502)
    }

    /// What the operator can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            ApiError::Auth(_) => "check the profile's credentials, then press r",
            ApiError::Forbidden(_) => "this account lacks the role for it",
            ApiError::Network(_) | ApiError::Timeout(_) => {
                "retrying with backoff; check the url and the network"
            }
            ApiError::RateLimited => "retrying after the server's delay",
            ApiError::Server { .. } => "the server failed; press r to retry",
            ApiError::Config(_) => "fix the config file (shipdeck config check)",
            _ => "press r to retry",
        }
    }
}

/// What a runner's health check found (`:runner`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerHealth {
    /// The runner answered its health check (`GET /`) with 200.
    pub healthy: bool,
    /// Whether it refused a request carrying a deliberately wrong token: `Some(false)` means it
    /// accepted it, so it does not verify tokens at all; `None` when that could not be told.
    pub verifies_tokens: Option<bool>,
}

impl RunnerHealth {
    /// One sentence for the operator.
    pub fn summary(&self) -> String {
        match (self.healthy, self.verifies_tokens) {
            (false, _) => "not healthy (its health check failed)".into(),
            (true, Some(false)) => "healthy, but this runner does not verify tokens: it accepted \
                 a request with a deliberately wrong token, so anyone who reaches it can run plans"
                .into(),
            (true, Some(true)) => "healthy; it refuses a wrong token".into(),
            (true, None) => "healthy (whether it verifies tokens could not be told)".into(),
        }
    }

    /// Whether this is worth a warning rather than a note.
    pub fn worrying(&self) -> bool {
        !self.healthy || self.verifies_tokens == Some(false)
    }
}

/// One backend, logged in lazily. Every method may be called concurrently.
#[async_trait]
pub trait Backend: Send + Sync {
    fn kind(&self) -> Kind;

    /// Log in (or check the session) and say who we are and what we may do.
    async fn login(&self) -> Result<Session, ApiError>;

    async fn projects(&self, _q: &ListQuery) -> Result<Page<Project>, ApiError> {
        Err(ApiError::Unsupported(format!(
            "{} has no project list",
            self.kind().label()
        )))
    }

    async fn developers(&self, _q: &ListQuery) -> Result<Page<Developer>, ApiError> {
        Err(ApiError::Unsupported(format!(
            "{} has no developer list",
            self.kind().label()
        )))
    }

    async fn secrets(&self, _q: &ListQuery) -> Result<Page<Secret>, ApiError> {
        Err(ApiError::Unsupported(format!(
            "{} has no secret list",
            self.kind().label()
        )))
    }

    /// Builds in a scope, newest first.
    async fn builds(&self, _scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        Err(self.no_builds())
    }

    /// The project's most recent builds (or deployments), newest first, at most `n`: its last
    /// build and trend in the Projects pane. Asked lazily for the rows on screen, so a backend
    /// answers it with as few requests as it can (ideally one).
    async fn recent_builds(&self, project: &Project, n: usize) -> Result<Vec<Build>, ApiError> {
        let scope = BuildScope::Project {
            id: project.id.clone(),
            name: project.name.clone(),
        };
        let mut builds = self.builds(&scope).await?;
        builds.truncate(n);
        Ok(builds)
    }

    /// What a launch of this project can ask for (steps to skip, extra fields).
    async fn launch_options(&self, _project_id: &str) -> Result<LaunchOptions, ApiError> {
        Ok(LaunchOptions::default())
    }

    /// Start a build; returns it as queued. Never retried automatically.
    async fn launch(&self, _req: &LaunchRequest) -> Result<Build, ApiError> {
        Err(self.no_builds())
    }

    /// Cancel queued or running work. Never retried automatically.
    async fn kill(&self, _build: &Build) -> Result<(), ApiError> {
        Err(self.no_builds())
    }

    /// Run an earlier build again as it was (a rollback where deploys are builds). Never
    /// retried automatically.
    async fn redeploy(&self, _build: &Build) -> Result<Build, ApiError> {
        Err(self.no_builds())
    }

    /// Stream a build's log into `sink` until it ends (`follow`: keep polling a running build;
    /// otherwise stop at what exists now). Returns when done or when the receiver is dropped.
    async fn tail_log(
        &self,
        _build: &Build,
        _follow: bool,
        _sink: tokio::sync::mpsc::UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        Err(self.no_builds())
    }

    /// End the server-side session, if the backend keeps one (Candor: a session row per
    /// login). Idempotent; callers bound it in time and only log a failure.
    async fn logout(&self) -> Result<(), ApiError> {
        Ok(())
    }

    /// Release projects' environments in promotion order.
    async fn environments(&self) -> Result<Vec<Environment>, ApiError> {
        Err(self.no_releases())
    }

    /// Deployments of one environment, newest first, one page (`has_more` from a short page).
    async fn deployments(
        &self,
        _project: &str,
        _environment: &str,
        _page: u32,
        _per_page: u32,
    ) -> Result<Page<Deployment>, ApiError> {
        Err(self.no_releases())
    }

    /// Cut a release candidate. Never retried automatically.
    async fn create_release(&self, _req: &ReleaseRequest) -> Result<(), ApiError> {
        Err(self.no_releases())
    }

    /// Deploy a candidate to an environment. Never retried automatically.
    async fn deploy(&self, _req: &DeployRequest) -> Result<(), ApiError> {
        Err(self.no_releases())
    }

    /// Report a deployment's status. Never retried automatically.
    async fn set_deployment_status(&self, _req: &StatusRequest) -> Result<(), ApiError> {
        Err(self.no_releases())
    }

    /// Roll an environment back; returns the new deployment when the server says. Never retried.
    async fn rollback(&self, _req: &RollbackRequest) -> Result<Option<Deployment>, ApiError> {
        Err(self.no_releases())
    }

    fn no_releases(&self) -> ApiError {
        ApiError::Unsupported(format!("{} has no release promotion", self.kind().label()))
    }

    /// Report the status of a build run elsewhere (nullplatform). Never retried automatically.
    async fn report_build_status(&self, _build: &Build, _status: &str) -> Result<Build, ApiError> {
        Err(self.no_builds())
    }

    /// Declare an asset of a build; returns where to push it (`provider: url`). Never retried.
    async fn create_asset(
        &self,
        _build: &Build,
        _kind: &str,
        _name: Option<&str>,
        _url: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        Err(self.no_builds())
    }

    /// Files archived by a finished build (Candor).
    async fn archives(&self, _build: &Build) -> Result<Vec<String>, ApiError> {
        Err(self.no_builds())
    }

    /// Download one archived file to `path`, reporting `(bytes so far, total)` on `progress`.
    async fn download_archive(
        &self,
        _build: &Build,
        _file: &str,
        _path: &std::path::Path,
        _progress: tokio::sync::mpsc::UnboundedSender<(u64, Option<u64>)>,
    ) -> Result<u64, ApiError> {
        Err(self.no_builds())
    }

    /// Run a plan directly on a runner; the returned build's log `tail_log` follows. Never
    /// retried automatically.
    async fn run_plan(&self, _plan: &str) -> Result<Build, ApiError> {
        Err(self.no_builds())
    }

    /// Whether the runner answers its health check, and whether it verifies tokens.
    async fn runner_health(&self) -> Result<RunnerHealth, ApiError> {
        Err(self.no_builds())
    }

    fn no_builds(&self) -> ApiError {
        ApiError::Unsupported(format!(
            "{} runs no builds shipdeck can see",
            self.kind().label()
        ))
    }
}

/// Build the backend for a profile (its row of `crate::backends::BACKENDS` says how).
pub fn connect(profile: &Profile) -> Result<Arc<dyn Backend>, ApiError> {
    (profile.kind.descriptor().connect)(profile)
}
