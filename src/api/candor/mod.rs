//! Candor client (`api/candor.md`): the dashboard through a per-profile cookie session (login
//! with username/password, re-login when the cookie silently expires), pipelines as projects,
//! their last runs as builds, the trigger as launch, whole run logs, archived files; and, when
//! the profile has a `runner_url`, one runner directly (bearer token) for ad-hoc runs with a
//! byte-range log tail.
//!
//! Candor limits that shape this client: no JSON errors (bare status phrases and three 200
//! sentinels on the log route), no pagination (the detail shows the last 5 runs; older ones are
//! only those this process has seen), no cancel, no queue, and a dashboard run is invisible
//! (no id, no log) until it finishes.

mod archive;
mod logparse;
mod logs;
mod paths;
mod reply;
mod runner;
mod runs;
mod wire;

pub use runner::RunnerJobState;

use paths::seg;
use reply::{is_route_miss, map_error, server_words};

use super::http::{Http, Reply, Request};
use super::{ApiError, Backend, RunnerHealth};
use crate::api::caps::WHOLE_LIST;
use crate::config::{Credential, Profile};
use crate::domain::{
    Build, BuildScope, BuildSupport, Capabilities, Developer, Kind, LaunchOptions, LaunchRequest,
    ListQuery, LogEvent, Page, Project, Resource, Session, User,
};
use async_trait::async_trait;
use reqwest::Method;
use secrecy::ExposeSecret;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a logout may take before it is given up (and only logged): it runs when a
/// command or the dashboard is about to end.
pub const LOGOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// How often the session is confirmed with `GET /me` while the profile is in use (§2.1: an
/// expired cookie hides private pipelines without any 401).
pub(crate) const ME_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// The login state of the cookie jar.
#[derive(Default)]
struct SessionState {
    /// A login succeeded (the jar holds a cookie the server accepted then).
    logged_in: bool,
    /// When `/me` (or a login) last confirmed the session.
    checked: Option<Instant>,
    /// Bumped by every login, so that concurrent requests log in once.
    generation: u64,
    user: Option<User>,
    /// Backoff of failed logins.
    gate: crate::api::login_gate::LoginGate,
}

/// What this process has seen of the dashboard, beyond what it can ask again.
#[derive(Default)]
struct Seen {
    /// Pipelines that were visible: a 403 on one of them may be an expired cookie.
    visible: HashSet<String>,
    /// Runs per pipeline id (run id → build), kept past the detail's last 5.
    runs: HashMap<String, BTreeMap<String, Build>>,
    /// `(pipeline, run)` → stages `(name, status, exit code)`, for the log's step names.
    stages: HashMap<(String, String), Vec<wire::Stage>>,
    /// `(pipeline, run)` → archived file names.
    archived: HashMap<(String, String), Vec<String>>,
}

pub struct Candor {
    http: Http,
    /// The session cookie's jar (also inside `http`): read after a login so the redactor
    /// learns the cookie.
    jar: Arc<reqwest::cookie::Jar>,
    /// `None`: anonymous (public pipelines only).
    username: Option<String>,
    password: Option<Credential>,
    session: Mutex<SessionState>,
    me_check: Duration,
    seen: std::sync::Mutex<Seen>,
    /// `archived` (code) or `archive` (wiki), once one has answered (§4.1 point 1).
    archive_route: std::sync::Mutex<&'static str>,
    runner: Option<runner::RunnerClient>,
    /// How often a running pipeline's detail is polled (the web UI: 2.5 s) and a runner log
    /// re-read (1 s, §7).
    detail_poll: Duration,
    log_poll: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for Candor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candor")
            .field("base", &self.http.base())
            .field("username", &self.username)
            .field(
                "runner",
                &self.runner.as_ref().map(|r| r.base().to_string()),
            )
            .finish_non_exhaustive()
    }
}

fn jar_http(
    base: &str,
    timeout: Duration,
    ca: Option<&std::path::Path>,
    insecure: bool,
) -> Result<(Http, Arc<reqwest::cookie::Jar>), ApiError> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    Ok((
        Http::with_cookies(base, timeout, ca, insecure, jar.clone())?,
        jar,
    ))
}

impl Candor {
    pub fn new(profile: &Profile) -> Result<Candor, ApiError> {
        let timeout = Duration::from_secs(profile.timeout_secs);
        let (http, jar) = jar_http(
            profile.url.as_str(),
            timeout,
            profile.ca_file.as_deref(),
            profile.insecure,
        )?;
        let runner = match (&profile.runner_url, &profile.runner_token) {
            (Some(url), Some(token)) => Some(runner::RunnerClient::new(
                url.as_str(),
                token.clone(),
                timeout,
                profile.ca_file.as_deref(),
                profile.insecure,
                crate::api::http::RetryPolicy::default(),
            )?),
            (Some(_), None) => {
                return Err(ApiError::Config(
                    "the profile sets runner_url but no runner_token".into(),
                ));
            }
            _ => None,
        };
        if profile.username.is_some() != profile.password.is_some() {
            return Err(ApiError::Config(
                "a Candor profile needs both username and password (or neither, for public \
                 pipelines only)"
                    .into(),
            ));
        }
        Ok(Candor::assemble(
            (http, jar),
            profile.username.clone(),
            profile.password.clone(),
            runner,
            timeout,
        ))
    }

    /// A client from its parts, every other field at its start value.
    fn assemble(
        (http, jar): (Http, Arc<reqwest::cookie::Jar>),
        username: Option<String>,
        password: Option<Credential>,
        runner: Option<runner::RunnerClient>,
        timeout: Duration,
    ) -> Candor {
        Candor {
            http,
            jar,
            username,
            password,
            session: Mutex::new(SessionState::default()),
            me_check: ME_CHECK_INTERVAL,
            seen: std::sync::Mutex::new(Seen::default()),
            archive_route: std::sync::Mutex::new("archived"),
            runner,
            detail_poll: Duration::from_millis(2500),
            log_poll: Duration::from_secs(1),
            timeout,
        }
    }

    /// For tests: a dashboard client on `base` with this retry policy and a fresh cookie jar.
    /// `runner`: `(runner base URL, runner token)`.
    pub fn for_test(
        base: &str,
        user: Option<(&str, &str)>,
        runner: Option<(&str, &str)>,
        policy: crate::api::http::RetryPolicy,
    ) -> Result<Candor, ApiError> {
        let timeout = Duration::from_secs(10);
        let (http, jar) = jar_http(base, timeout, None, false)?;
        let http = http.with_policy(policy);
        let runner = match runner {
            Some((url, token)) => Some(runner::RunnerClient::new(
                url,
                Credential::Inline(secrecy::SecretString::from(token.to_string())),
                timeout,
                None,
                false,
                policy,
            )?),
            None => None,
        };
        Ok(Candor::assemble(
            (http, jar),
            user.map(|(u, _)| u.to_string()),
            user.map(|(_, p)| Credential::Inline(secrecy::SecretString::from(p.to_string()))),
            runner,
            timeout,
        ))
    }

    /// For tests: poll details and runner logs at this interval.
    pub fn with_poll_interval(mut self, d: Duration) -> Candor {
        let d = d.max(Duration::from_millis(1));
        self.detail_poll = d;
        self.log_poll = d;
        self
    }

    /// For tests: confirm the session with `/me` this often instead of every 60 s.
    pub fn with_me_check_interval(mut self, d: Duration) -> Candor {
        self.me_check = d;
        self
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_visible(&self, pid: &str) {
        self.seen().visible.insert(pid.to_string());
    }

    fn was_visible(&self, pid: &str) -> bool {
        self.seen().visible.contains(pid)
    }

    /// The session cookie is a credential: the redactor learns its value (as sent and
    /// percent-decoded), so a server that echoes it never gets it shown.
    fn register_cookies(&self) {
        use reqwest::cookie::CookieStore;
        let Ok(url) = url::Url::parse(self.http.base()) else {
            return;
        };
        let Some(header) = self.jar.cookies(&url) else {
            return;
        };
        for pair in header.to_str().unwrap_or("").split(';') {
            if let Some((_, value)) = pair.trim().split_once('=') {
                crate::safe::register_issued(value);
                let decoded: String = url::form_urlencoded::parse(format!("v={value}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .collect();
                crate::safe::register_issued(&decoded);
            }
        }
    }

    /// `POST /login`; the cookie lands in the jar.
    async fn post_login(&self) -> Result<(), ApiError> {
        let (Some(user), Some(cred)) = (&self.username, &self.password) else {
            return Ok(());
        };
        let password = cred
            .resolve_password(user)
            .await
            .map_err(|e| ApiError::Config(format!("password: {e}")))?;
        let body = serde_json::json!({"username": user, "password": password.expose_secret()});
        let reply = self
            .http
            .send(&Request::write(Method::POST, "/login", Some(body)))
            .await?;
        match reply.status {
            200..=299 => {
                self.register_cookies();
                Ok(())
            }
            401 => Err(ApiError::Auth(format!(
                "wrong username or password for user `{user}` (server: {})",
                server_words(&reply)
            ))),
            400 => Err(ApiError::Auth(format!(
                "the dashboard refused the login request as incomplete (server: {})",
                server_words(&reply)
            ))),
            _ => Err(map_error(&reply)),
        }
    }

    async fn get_me(&self) -> Result<Option<wire::Me>, ApiError> {
        let reply = self.http.send(&Request::get("/me")).await?;
        match reply.status {
            200 => Ok(Some(wire::me(reply::json(&reply)?)?)),
            401 => Ok(None),
            _ => Err(map_error(&reply)),
        }
    }

    fn user_of(me: wire::Me) -> User {
        User {
            id: me.id,
            name: me.name,
            roles: Vec::new(),
        }
    }

    /// Make sure the jar holds a live session: confirmed by `/me` at most `me_check` ago,
    /// else `/me` now and, on 401, one login. Returns the session generation.
    async fn ensure_session(&self) -> Result<u64, ApiError> {
        if self.username.is_none() {
            return Ok(0);
        }
        let mut s = self.session.lock().await;
        if s.logged_in && s.checked.is_some_and(|t| t.elapsed() < self.me_check) {
            return Ok(s.generation);
        }
        // After a failed login, nothing is asked until its backoff is over.
        s.gate.ready()?;
        match self.get_me().await? {
            Some(me) => {
                s.user = Some(Self::user_of(me));
            }
            None => {
                tracing::info!("Candor session not valid (GET /me 401); logging in");
                s.gate.run(self.post_login()).await?;
                s.generation += 1;
            }
        }
        s.logged_in = true;
        s.checked = Some(Instant::now());
        Ok(s.generation)
    }

    /// After a sign of an expired cookie (a 403 on a pipeline that was visible, a 401, a
    /// visible pipeline missing from the list): `GET /me`; on 401 log in once. Returns whether
    /// the request should be replayed (a new session exists since `generation`).
    async fn revalidate(&self, generation: u64) -> Result<bool, ApiError> {
        if self.username.is_none() {
            return Ok(false);
        }
        let mut s = self.session.lock().await;
        if s.generation != generation {
            return Ok(true);
        }
        if let Some(me) = self.get_me().await? {
            s.user = Some(Self::user_of(me));
            s.checked = Some(Instant::now());
            return Ok(false);
        }
        tracing::info!("Candor cookie expired (GET /me 401); logging in again");
        s.gate.run(self.post_login()).await?;
        s.generation += 1;
        s.logged_in = true;
        s.checked = Some(Instant::now());
        Ok(true)
    }

    /// Send on the dashboard with the session; re-login and replay once per §2.1. `pid`: the
    /// pipeline the route is about (a 403 on a pipeline visible before is suspicious).
    async fn send(&self, req: &Request, pid: Option<&str>) -> Result<Reply, ApiError> {
        let generation = self.ensure_session().await?;
        let reply = self.http.send(req).await?;
        let suspicious = reply.status == 401
            || (reply.status == 403 && pid.is_some_and(|p| self.was_visible(p)));
        let reply = if suspicious && self.revalidate(generation).await? {
            let again = self.http.send(req).await?;
            if again.status == 401 {
                return Err(ApiError::Auth(
                    "the dashboard refused the session again right after a fresh login".into(),
                ));
            }
            again
        } else {
            reply
        };
        if reply.is_success()
            && let Some(p) = pid
        {
            self.mark_visible(p);
        }
        Ok(reply)
    }

    /// `GET /api/pipelines` (every visible pipeline, in the server's storage order); when a
    /// pipeline seen before is missing, the cookie may have expired: confirm with `/me`, log in
    /// once and read again.
    async fn pipelines(&self) -> Result<Vec<wire::PipelineEntry>, ApiError> {
        let generation = self.ensure_session().await?;
        let req = Request::get("/api/pipelines");
        let read = async || -> Result<Vec<wire::PipelineEntry>, ApiError> {
            let reply = self.http.send(&req).await?;
            Ok(wire::pipelines(reply::ok_json(&reply)?))
        };
        let mut rows = read().await?;
        let missing = {
            let seen = self.seen();
            seen.visible
                .iter()
                .any(|v| !rows.iter().any(|r| r.id.as_ref() == Some(v)))
        };
        if missing && self.revalidate(generation).await? {
            rows = read().await?;
        }
        let mut seen = self.seen();
        for id in rows.iter().filter_map(|r| r.id.clone()) {
            seen.visible.insert(id);
        }
        Ok(rows)
    }

    /// The numbers of the visible pipelines (rows without one are left out).
    async fn pipeline_ids(&self) -> Result<Vec<String>, ApiError> {
        Ok(self
            .pipelines()
            .await?
            .into_iter()
            .filter_map(|r| r.id)
            .collect())
    }

    /// The pipeline id for `wanted`: a number as it is, else the id of the visible pipeline of
    /// that name (read from the list first, §11 R2). Only integers ever reach a URL.
    pub(super) async fn pipeline_ref(&self, wanted: &str) -> Result<String, ApiError> {
        if let Ok(id) = paths::pipeline(wanted) {
            return Ok(id);
        }
        if wanted.trim().is_empty() {
            return Err(paths::not_a_pipeline_id(wanted));
        }
        let rows = self.pipelines().await?;
        let by_name = |exact: bool| {
            rows.iter().find(|r| {
                if exact {
                    r.name == wanted
                } else {
                    r.name.eq_ignore_ascii_case(wanted.trim())
                }
            })
        };
        match by_name(true).or_else(|| by_name(false)) {
            Some(r) => match &r.id {
                Some(id) => paths::pipeline(id),
                None => Err(ApiError::Decode(format!(
                    "the dashboard lists pipeline `{}` without a readable number; it cannot be \
                     addressed",
                    r.name
                ))),
            },
            None => Err(paths::not_a_pipeline_id(wanted)),
        }
    }

    /// `GET /api/pipelines/:id`; `pid` must be a pipeline number (see `pipeline_ref`).
    async fn detail(&self, pid: &str) -> Result<wire::PipelineDetail, ApiError> {
        let path = format!("/api/pipelines/{}", paths::pipeline(pid)?);
        let reply = self.send(&Request::get(path), Some(pid)).await?;
        let d = wire::detail(reply::ok_json(&reply)?)?;
        self.remember_runs(pid, &d);
        Ok(d)
    }

    /// `GET /api/pipelines/:id/config` (assignees only), as JSON.
    async fn config(&self, pid: &str) -> Result<serde_json::Value, ApiError> {
        let path = format!("/api/pipelines/{}/config", paths::pipeline(pid)?);
        let reply = self.send(&Request::get(path), Some(pid)).await?;
        reply::ok_json(&reply)
    }

    /// `POST /logout`, so that the dashboard drops this login's server-side session (each
    /// login keeps one for 30 days, §11 R10). Idempotent (nothing is sent without a login),
    /// bounded by [`LOGOUT_TIMEOUT`], and a failure is only logged. The next request logs in
    /// again.
    pub async fn logout(&self) -> Result<(), ApiError> {
        if self.username.is_none() {
            return Ok(());
        }
        let mut s = self.session.lock().await;
        if !s.logged_in {
            return Ok(());
        }
        s.logged_in = false;
        s.checked = None;
        s.user = None;
        let req = Request::write(Method::POST, "/logout", None);
        match tokio::time::timeout(LOGOUT_TIMEOUT, self.http.send(&req)).await {
            Ok(Ok(reply)) if reply.is_success() => {
                tracing::debug!("Candor session closed (POST /logout)");
            }
            Ok(Ok(reply)) => {
                tracing::warn!(
                    status = reply.status,
                    "Candor logout refused; the session stays until it expires"
                );
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Candor logout failed; the session stays until it expires")
            }
            Err(_) => tracing::warn!(
                secs = LOGOUT_TIMEOUT.as_secs(),
                "Candor logout got no answer in time; the session stays until it expires"
            ),
        }
        Ok(())
    }

    /// The user of the session (`GET /me`), logging in if needed.
    pub async fn me(&self) -> Result<User, ApiError> {
        if self.username.is_none() {
            return Ok(User {
                id: String::new(),
                name: "anonymous (public pipelines only)".into(),
                roles: Vec::new(),
            });
        }
        let generation = self.ensure_session().await?;
        if let Some(me) = self.get_me().await? {
            return Ok(Self::user_of(me));
        }
        if self.revalidate(generation).await?
            && let Some(me) = self.get_me().await?
        {
            return Ok(Self::user_of(me));
        }
        Err(ApiError::Auth(
            "the dashboard does not accept the session right after a login (GET /me 401)".into(),
        ))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            lists: vec![
                (Resource::Projects, WHOLE_LIST),
                (Resource::Developers, WHOLE_LIST),
            ],
            builds: BuildSupport {
                list: true,
                launch: self.username.is_some(),
                logs: true,
                live_logs: self.runner.is_some(),
                archives: true,
                direct_runs: self.runner.is_some(),
                ..BuildSupport::default()
            },
            releases: Default::default(),
            missing: vec![(Resource::Secrets, "Candor has no secret API".to_string())],
        }
    }
}

#[async_trait]
impl Backend for Candor {
    fn kind(&self) -> Kind {
        Kind::Candor
    }

    async fn archives(&self, build: &Build) -> Result<Vec<String>, ApiError> {
        self.archived_files(build).await
    }

    async fn download_archive(
        &self,
        build: &Build,
        file: &str,
        path: &std::path::Path,
        progress: tokio::sync::mpsc::UnboundedSender<(u64, Option<u64>)>,
    ) -> Result<u64, ApiError> {
        Candor::download_archive(self, build, file, path, move |done, total| {
            let _ = progress.send((done, total));
        })
        .await
    }

    async fn run_plan(&self, plan: &str) -> Result<Build, ApiError> {
        let id = self.runner_run(plan).await?;
        Ok(self.runner_build(&id))
    }

    async fn runner_health(&self) -> Result<RunnerHealth, ApiError> {
        Candor::runner_health(self).await
    }

    async fn logout(&self) -> Result<(), ApiError> {
        Candor::logout(self).await
    }

    async fn login(&self) -> Result<Session, ApiError> {
        let user = self.me().await?;
        Ok(Session {
            user,
            caps: self.capabilities(),
        })
    }

    async fn projects(&self, q: &ListQuery) -> Result<Page<Project>, ApiError> {
        let items: Vec<Project> = if q.page > 1 {
            Vec::new()
        } else {
            // The list comes in storage order (a config change moves a pipeline to the end,
            // §11 R11): shown by number, so that rows stay put between refreshes.
            let mut rows = self.pipelines().await?;
            rows.sort_by_key(|r| {
                (
                    r.id.is_none(),
                    r.id.as_deref().and_then(|i| i.parse::<u64>().ok()),
                )
            });
            rows.into_iter().map(runs::project).collect()
        };
        let n = items.len() as u32;
        Ok(Page {
            items,
            page: q.page.max(1),
            per_page: n.max(1),
            total: Some(u64::from(n)),
            has_more: false,
        })
    }

    /// The assignees of the visible pipelines (names only; Candor has no user list), and the
    /// session's own user.
    async fn developers(&self, q: &ListQuery) -> Result<Page<Developer>, ApiError> {
        if q.page > 1 {
            return Ok(Page {
                items: Vec::new(),
                page: q.page,
                per_page: 1,
                total: None,
                has_more: false,
            });
        }
        let rows: Vec<(String, String)> = self
            .pipelines()
            .await?
            .into_iter()
            .filter_map(|r| Some((r.id?, r.name)))
            .collect();
        let details = futures::future::join_all(rows.iter().map(|(id, _)| self.detail(id))).await;
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((_, name), d) in rows.iter().zip(details) {
            match d {
                Ok(d) => {
                    for a in d.assignees {
                        by_name.entry(a).or_default().push(name.clone());
                    }
                }
                Err(ApiError::Forbidden(_) | ApiError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let me = self.me().await.ok().filter(|_| self.username.is_some());
        if let Some(me) = &me {
            by_name.entry(me.name.clone()).or_default();
        }
        let items: Vec<Developer> = by_name
            .into_iter()
            .map(|(name, pipelines)| Developer {
                id: match &me {
                    Some(m) if m.name == name && !m.id.is_empty() => m.id.clone(),
                    _ => name.clone(),
                },
                username: name,
                email: None,
                roles: pipelines,
            })
            .collect();
        let n = items.len() as u32;
        Ok(Page {
            items,
            page: 1,
            per_page: n.max(1),
            total: Some(u64::from(n)),
            has_more: false,
        })
    }

    async fn builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        self.list_builds(scope).await
    }

    async fn launch_options(&self, project_id: &str) -> Result<LaunchOptions, ApiError> {
        self.options_for(project_id).await
    }

    async fn launch(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        self.trigger(req).await
    }

    async fn tail_log(
        &self,
        build: &Build,
        follow: bool,
        sink: tokio::sync::mpsc::UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        self.tail(build, follow, sink).await
    }
}
