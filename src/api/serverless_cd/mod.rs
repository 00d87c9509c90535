//! Serverless-cd client (`api/serverless-cd.md`, §11 supersedes the rest): the `cd_token`
//! header on every request, the `{success, data}` envelope and its error generations
//! (`errors`), applications → projects and secrets (names only) in both server eras (Nov 2022
//! top-level data, Jan 2023 `environment.<env>` data with `envName` on `task/list`), tasks →
//! builds, manual dispatch (never with an empty ref), redeploy (the rollback), cancel (only
//! of a task still running), and per-step logs fetched once each step has ended (`logs`).

mod convert;
mod errors;
mod logs;
mod wire;

#[cfg(test)]
mod props;

use super::http::{Http, Reply, Request};
use super::{ApiError, Backend};
use crate::api::caps::WHOLE_LIST;
use crate::config::{Credential, Profile};
use crate::domain::{
    Build, BuildScope, BuildStatus, BuildSupport, Capabilities, Kind, LaunchField, LaunchOptions,
    LaunchRequest, ListQuery, LogEvent, Page, Project, Resource, Secret, Session, User,
};
use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

pub use convert::{build_status, dispatch_body, step_status};
pub use errors::{AUTH_ADVICE, WEB_PAGE, classify};
pub use logs::NOTE_PREFIX;

use convert::{app_project, is_active, queued_build, task_build};

/// The documented era's route prefix (§1).
pub(crate) const DEFAULT_ROUTE_PREFIX: &str = "/api/flow";
/// Lower-case, underscore (§2).
const TOKEN_HEADER: &str = "cd_token";
/// Tasks per `task/list` request when walking an application's history.
const DEFAULT_PAGE_SIZE: u32 = 20;
/// `pageSize` above this fails on the real servers (a storage limit, §11 R16).
pub(crate) const MAX_PAGE_SIZE: u32 = 100;
/// A history walk stops after this many pages.
const MAX_PAGES: u32 = 50;

/// What shipdeck keeps of an application between calls.
#[derive(Clone, Debug, Default)]
struct AppInfo {
    name: String,
    /// Jan 2023: the environment `task/list` must name (§11 R2).
    env: Option<String>,
    /// `refs/heads/<branch>` of the trigger spec (§11 R12).
    default_ref: Option<String>,
}

pub struct ServerlessCd {
    http: Http,
    token: Credential,
    /// The resolved token; dropped after an auth failure so a new one is read.
    resolved: Mutex<Option<SecretString>>,
    prefix: String,
    poll_interval: Duration,
    page_size: u32,
    /// Whether any request has succeeded (before that, a 404 `Cannot GET` = newer server and a
    /// hang = an unknown token on a Jan 2023 server).
    answered: AtomicBool,
    apps: std::sync::Mutex<HashMap<String, AppInfo>>,
}

impl ServerlessCd {
    pub fn new(profile: &Profile) -> Result<ServerlessCd, ApiError> {
        let token = profile
            .token
            .clone()
            .ok_or_else(|| ApiError::Config("profile has no token (cd_token)".into()))?;
        Ok(ServerlessCd::with_http(
            Http::new_without_redirects(profile)?,
            token,
            profile.route_prefix.as_deref(),
        ))
    }

    /// For tests: a client with a custom HTTP layer (e.g. fast retries). Build it without
    /// redirects (`Http::with_base_without_redirects`) so the Nov 2022 `302 → /login` shows.
    pub fn with_http(http: Http, token: Credential, route_prefix: Option<&str>) -> ServerlessCd {
        let prefix = route_prefix
            .map(|p| p.trim().trim_end_matches('/'))
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_ROUTE_PREFIX);
        let prefix = if prefix.starts_with('/') {
            prefix.to_string()
        } else {
            format!("/{prefix}")
        };
        ServerlessCd {
            http,
            token,
            resolved: Mutex::new(None),
            prefix,
            poll_interval: logs::DEFAULT_POLL_INTERVAL,
            page_size: DEFAULT_PAGE_SIZE,
            answered: AtomicBool::new(false),
            apps: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// For tests: poll running tasks at this interval instead of every 2 s.
    pub fn with_poll_interval(mut self, interval: Duration) -> ServerlessCd {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Tasks per `task/list` page when walking an application's history (1..=100).
    pub fn with_page_size(mut self, size: u32) -> ServerlessCd {
        self.page_size = size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    pub fn route_prefix(&self) -> &str {
        &self.prefix
    }

    fn route(&self, r: &str) -> String {
        format!("{}/{r}", self.prefix)
    }

    async fn token(&self) -> Result<SecretString, ApiError> {
        let mut guard = self.resolved.lock().await;
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        let t = self
            .token
            .resolve()
            .await
            .map_err(|e| ApiError::Config(format!("token: {e}")))?;
        *guard = Some(t.clone());
        Ok(t)
    }

    /// Send with `cd_token`; `data` of a successful envelope, or the classified failure.
    async fn call(&self, mut req: Request) -> Result<Value, ApiError> {
        let token = self.token().await?;
        let mut v = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
            ApiError::Config("the token contains characters an HTTP header cannot carry".into())
        })?;
        v.set_sensitive(true);
        req.headers.push((HeaderName::from_static(TOKEN_HEADER), v));
        let write = !req.idempotent;
        let first = !self.answered.load(Ordering::Relaxed);
        if first {
            // A Jan 2023 server never answers an unknown token (§11 R5): one timeout says it,
            // not four in a row.
            req.idempotent = false;
        }
        let out = match self.http.send(&req).await {
            Ok(reply) => self.interpret(&req, &reply),
            Err(e) => Err(transport(e, write, first)),
        };
        match &out {
            Ok(_) => self.answered.store(true, Ordering::Relaxed),
            Err(ApiError::Auth(_)) => *self.resolved.lock().await = None,
            Err(_) => {}
        }
        out
    }

    async fn get(&self, r: &str, query: &[(&str, &str)]) -> Result<Value, ApiError> {
        let mut req = Request::get(self.route(r));
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        self.call(req).await
    }

    /// A write: never retried automatically (only when the connection failed before sending).
    async fn post(&self, r: &str, body: Value) -> Result<Value, ApiError> {
        self.call(Request::write(Method::POST, self.route(r), Some(body)))
            .await
    }

    fn interpret(&self, req: &Request, reply: &Reply) -> Result<Value, ApiError> {
        if (300..400).contains(&reply.status) {
            return Err(errors::redirected(reply));
        }
        if reply.status == 404
            && let Some(what) = errors::express_cannot(reply)
        {
            if !self.answered.load(Ordering::Relaxed) && self.prefix == DEFAULT_ROUTE_PREFIX {
                return Err(ApiError::Unsupported(format!(
                    "unsupported Serverless-cd version (routes under /api): the server answered \
                     404 `{what}`; shipdeck speaks the documented /api/flow API (Nov 2022 – Feb 2023)"
                )));
            }
            return Err(ApiError::NotFound(format!(
                "the server has no route {} (404 `{what}`); check the profile's route_prefix",
                req.path
            )));
        }
        if reply.status == 429 {
            return Err(ApiError::RateLimited);
        }
        let env = crate::api::http::json_lossy::<wire::Envelope>(&reply.body).ok();
        if !reply.is_success() {
            return Err(
                match env.filter(|e| e.message.is_some() || e.code.is_some()) {
                    Some(env) => classify(reply.status, env.code.as_ref(), env.message.as_deref()),
                    None => errors::page_error(reply),
                },
            );
        }
        let Some(env) = env else {
            if errors::is_web_page(reply) {
                return Err(ApiError::Unsupported(WEB_PAGE.to_string()));
            }
            return Err(reply.json::<Value>().err().unwrap_or_else(|| {
                ApiError::Decode("the answer is not a Serverless-cd envelope".into())
            }));
        };
        if env.success == Some(true) {
            return Ok(env.data.unwrap_or(Value::Null));
        }
        Err(classify(
            reply.status,
            env.code.as_ref(),
            env.message.as_deref(),
        ))
    }

    fn remember(&self, apps: &[wire::Application]) {
        let mut cache = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        for a in apps {
            cache.insert(
                a.id.clone(),
                AppInfo {
                    name: a.name(),
                    env: a.env_name().map(str::to_string),
                    default_ref: a.default_ref().map(str::to_string),
                },
            );
        }
    }

    fn cached(&self, id: &str) -> Option<AppInfo> {
        self.apps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    async fn applications(&self) -> Result<Vec<wire::Application>, ApiError> {
        let apps = wire::decode_applications(self.get("application/list", &[]).await?);
        self.remember(&apps);
        Ok(apps)
    }

    async fn application(&self, id: &str) -> Result<wire::Application, ApiError> {
        let v = self.get("application/detail", &[("id", id)]).await?;
        let app = wire::decode_application(v).map_err(ApiError::Decode)?;
        self.remember(std::slice::from_ref(&app));
        Ok(app)
    }

    /// What is known of an application, reading its detail when it is not cached yet.
    async fn app_info(&self, id: &str) -> Result<AppInfo, ApiError> {
        match self.cached(id) {
            Some(i) => Ok(i),
            None => {
                self.application(id).await?;
                Ok(self.cached(id).unwrap_or_default())
            }
        }
    }

    /// Like `app_info`, but a failed read is logged and the id stands in for the name.
    async fn app_info_or_id(&self, id: &str) -> AppInfo {
        self.app_info(id).await.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "application detail unavailable");
            AppInfo {
                name: id.to_string(),
                ..AppInfo::default()
            }
        })
    }

    async fn task(&self, id: &str) -> Result<wire::Task, ApiError> {
        let v = self.get("task/get", &[("taskId", id)]).await?;
        wire::decode_task(v).map_err(ApiError::Decode)
    }

    async fn task_rows(
        &self,
        app_id: &str,
        env: Option<&str>,
        page: u32,
        size: u32,
    ) -> Result<wire::TaskPage, ApiError> {
        let p = page.max(1).to_string();
        let s = size.clamp(1, MAX_PAGE_SIZE).to_string();
        let mut query = vec![("appId", app_id), ("currentPage", &p), ("pageSize", &s)];
        if let Some(env) = env {
            query.push(("envName", env));
        }
        let v = self.get("task/list", &query).await?;
        wire::decode_task_page(v).map_err(ApiError::Decode)
    }

    /// One page of an application's tasks as the server orders them (`updated_time` desc);
    /// `per_page` is at most 100 (§11 R16).
    pub async fn tasks_page(
        &self,
        app_id: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Build>, ApiError> {
        let page = page.max(1);
        let per_page = per_page.clamp(1, MAX_PAGE_SIZE);
        let info = self.app_info_or_id(app_id).await;
        let rows = self
            .task_rows(app_id, info.env.as_deref(), page, per_page)
            .await?;
        let items: Vec<Build> = rows
            .result
            .into_iter()
            .map(|t| {
                let mut b = task_build(t, &info.name);
                b.project_id.get_or_insert_with(|| app_id.to_string());
                b
            })
            .collect();
        let seen = u64::from(per_page) * u64::from(page - 1) + items.len() as u64;
        let has_more = items.len() as u32 == per_page && rows.total_count.is_none_or(|t| t > seen);
        Ok(Page {
            items,
            page,
            per_page,
            total: rows.total_count,
            has_more,
        })
    }

    /// Every task of an application, newest first: pages until ⌈totalCount / pageSize⌉ (or a
    /// short page), de-duplicated by id because running tasks move between pages (§6).
    async fn app_tasks(&self, app_id: &str, name: &str) -> Result<Vec<Build>, ApiError> {
        let size = self.page_size;
        let env = self.app_info_or_id(app_id).await.env;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let rows = self.task_rows(app_id, env.as_deref(), page, size).await?;
            let n = rows.result.len();
            for t in rows.result {
                if seen.insert(t.id.clone()) {
                    let mut b = task_build(t, name);
                    b.project_id.get_or_insert_with(|| app_id.to_string());
                    out.push(b);
                }
            }
            let pages = rows
                .total_count
                .map(|t| t.div_ceil(u64::from(size)))
                .unwrap_or(u64::MAX);
            if n < size as usize || u64::from(page) >= pages || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.queued_at));
        Ok(out)
    }

    /// Pending and running tasks of the applications whose latest task has not completed.
    async fn active_tasks(&self) -> Result<Vec<Build>, ApiError> {
        let apps = self.applications().await?;
        let mut out = Vec::new();
        for app in apps {
            let busy = app
                .latest_task()
                .is_some_and(|t| t.completed == Some(false) || is_active(t.status.as_deref()));
            if !busy {
                continue;
            }
            let rows = self
                .task_rows(&app.id, app.env_name(), 1, self.page_size)
                .await?;
            let name = app.name();
            out.extend(
                rows.result
                    .into_iter()
                    .filter(|t| is_active(t.status.as_deref()))
                    .map(|t| {
                        let mut b = task_build(t, &name);
                        b.project_id.get_or_insert_with(|| app.id.clone());
                        b
                    }),
            );
        }
        // Running before pending, newest first within each.
        out.sort_by_key(|b| {
            (
                b.status != BuildStatus::Running,
                std::cmp::Reverse(b.queued_at),
            )
        });
        Ok(out)
    }

    /// The new task of a dispatch, as a queued build (read back when possible).
    async fn dispatched(
        &self,
        data: Value,
        app_id: Option<&str>,
        trigger: &str,
    ) -> Result<Build, ApiError> {
        let d = wire::decode_dispatched(data).map_err(ApiError::Decode)?;
        let name = match app_id {
            Some(id) => self.app_info_or_id(id).await.name,
            None => String::new(),
        };
        let mut b = match self.task(&d.task_id).await {
            Ok(t) => task_build(t, &name),
            Err(e) => {
                // The dispatch happened: never report it as failed because the read-back did.
                tracing::debug!(error = %e, "reading the new task back failed");
                queued_build(d.task_id, app_id, &name)
            }
        };
        if b.project_id.is_none() {
            b.project_id = app_id.map(str::to_string);
        }
        b.trigger.get_or_insert_with(|| trigger.to_string());
        Ok(b)
    }
}

/// A transport failure, said for people: a write that may have reached the server has an
/// unknown outcome (§11 R17); a first request that got no answer at all is most likely an
/// unknown token on a Jan 2023 server (§11 R5).
fn transport(e: ApiError, write: bool, first: bool) -> ApiError {
    let sent_but = match &e {
        ApiError::Timeout(s) => Some(format!("no answer within {s}s")),
        ApiError::Network(m) if !m.starts_with("connection failed") => Some(m.clone()),
        _ => None,
    };
    if write && let Some(what) = sent_but {
        return ApiError::Network(format!(
            "the request was sent but {what}: unknown outcome — check the task list before \
             trying again (shipdeck does not retry it)"
        ));
    }
    match e {
        ApiError::Timeout(s) if first => ApiError::Auth(format!(
            "no answer within {s}s to the first request: the token is probably wrong (a \
             Serverless-cd server of Jan 2023 never answers an unknown token) or the server \
             is down — {AUTH_ADVICE}"
        )),
        e => e,
    }
}

#[async_trait]
impl Backend for ServerlessCd {
    fn kind(&self) -> Kind {
        Kind::ServerlessCd
    }

    /// There is no user API: the token is checked with `application/list`.
    async fn login(&self) -> Result<Session, ApiError> {
        let apps = self.applications().await?;
        let id = apps
            .iter()
            .find_map(|a| a.user_id.clone())
            .unwrap_or_else(|| "cd_token".to_string());
        Ok(Session {
            user: User {
                id: id.clone(),
                name: id,
                roles: Vec::new(),
            },
            caps: capabilities(),
        })
    }

    async fn projects(&self, _q: &ListQuery) -> Result<Page<Project>, ApiError> {
        let items: Vec<Project> = self.applications().await?.iter().map(app_project).collect();
        Ok(whole(items))
    }

    /// Names of every application's `secrets` (values are never kept).
    async fn secrets(&self, _q: &ListQuery) -> Result<Page<Secret>, ApiError> {
        let mut items = Vec::new();
        for app in self.applications().await? {
            let app = if app.secret_names().is_some() {
                app
            } else {
                self.application(&app.id).await?
            };
            let name = app.name();
            for key in app.secret_names().unwrap_or_default() {
                items.push(Secret {
                    id: format!("{}/{key}", app.id),
                    name: key.clone(),
                    scope: "application".into(),
                    environment: Some(name.clone()),
                    value: None,
                });
            }
        }
        Ok(whole(items))
    }

    async fn builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        match scope {
            BuildScope::Active => self.active_tasks().await,
            BuildScope::Project { id, name } => self.app_tasks(id, name).await,
        }
    }

    /// The first page of the task list (newest first, §6): one request.
    async fn recent_builds(&self, project: &Project, n: usize) -> Result<Vec<Build>, ApiError> {
        let size = u32::try_from(n)
            .unwrap_or(u32::MAX)
            .clamp(1, self.page_size);
        let env = self.app_info_or_id(&project.id).await.env;
        let rows = self.task_rows(&project.id, env.as_deref(), 1, size).await?;
        let mut out: Vec<Build> = rows
            .result
            .into_iter()
            .map(|t| {
                let mut b = task_build(t, &project.name);
                b.project_id.get_or_insert_with(|| project.id.clone());
                b
            })
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.queued_at));
        out.truncate(n);
        Ok(out)
    }

    async fn launch_options(&self, project_id: &str) -> Result<LaunchOptions, ApiError> {
        let app = self.application(project_id).await?;
        // The trigger's branch, else the ref last deployed; nothing invented.
        let default_ref = app
            .default_ref()
            .map(str::to_string)
            .or_else(|| app.latest_task().and_then(|t| t.git_ref.clone()))
            .filter(|r| !r.is_empty());
        let field = |name: &str, label: &str, required, default, key_values| LaunchField {
            name: name.into(),
            label: label.into(),
            required,
            default,
            key_values,
        };
        Ok(LaunchOptions {
            skippable_steps: Vec::new(),
            fields: vec![
                field(
                    "ref",
                    "Git ref (refs/heads/…, refs/tags/…)",
                    true,
                    default_ref,
                    false,
                ),
                field(
                    "commit",
                    "Commit (empty = head of the ref)",
                    false,
                    None,
                    false,
                ),
                field("message", "Message", false, None, false),
                field("inputs", "Inputs (KEY=value, …)", false, None, true),
            ],
        })
    }

    /// `POST dispatch/manual` `{"appId", "ref", "commitId"?, "message"?, "inputs"?}`; an empty
    /// ref becomes the trigger's branch (§11 R12).
    async fn launch(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        let has_ref = req
            .params
            .iter()
            .any(|(k, v)| k == "ref" && !v.trim().is_empty());
        let default_ref = if has_ref {
            None
        } else {
            self.app_info(&req.project_id).await?.default_ref
        };
        let body = dispatch_body(req, default_ref.as_deref())?;
        let data = self.post("dispatch/manual", body).await?;
        self.dispatched(data, Some(&req.project_id), "manual").await
    }

    /// `POST dispatch/cancel` `{"taskId"}`, only for a task that is still pending or running:
    /// the server cannot say "already stopped" reliably (§11 R13), so the status decides.
    async fn kill(&self, build: &Build) -> Result<(), ApiError> {
        let task = self.task(&build.id).await?;
        let raw = task.status.as_deref().unwrap_or("");
        if !is_active(Some(raw)) {
            return Err(ApiError::Rejected {
                status: 0,
                message: format!(
                    "task {} has already finished ({}): nothing to cancel",
                    build.id,
                    if raw.is_empty() { "no status" } else { raw }
                ),
            });
        }
        self.post("dispatch/cancel", json!({ "taskId": build.id }))
            .await
            .map(|_| ())
    }

    /// `POST dispatch/redeploy`: the task's trigger payload again as a new task (the rollback).
    async fn redeploy(&self, build: &Build) -> Result<Build, ApiError> {
        let mut body = json!({ "taskId": build.id });
        if let Some(app) = &build.project_id {
            body["appId"] = json!(app);
        }
        let data = self.post("dispatch/redeploy", body).await?;
        let trigger = format!("redeploy of {}", build.id);
        let mut b = self
            .dispatched(data, build.project_id.as_deref(), &trigger)
            .await?;
        if b.project.is_empty() || Some(&b.project) == build.project_id.as_ref() {
            b.project = build.project.clone();
        }
        Ok(b)
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

fn capabilities() -> Capabilities {
    Capabilities {
        lists: vec![
            (Resource::Projects, WHOLE_LIST),
            (Resource::Secrets, WHOLE_LIST),
        ],
        builds: BuildSupport {
            list: true,
            launch: true,
            kill: true,
            redeploy: true,
            logs: true,
            live_logs: true,
            ..BuildSupport::default()
        },
        releases: Default::default(),
        missing: vec![(
            Resource::Developers,
            "Serverless-cd has no user API".to_string(),
        )],
    }
}

fn whole<T>(items: Vec<T>) -> Page<T> {
    let n = items.len();
    Page {
        items,
        page: 1,
        per_page: u32::try_from(n).unwrap_or(u32::MAX).max(1),
        total: Some(n as u64),
        has_more: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_that_may_have_arrived_have_an_unknown_outcome() {
        let e = transport(ApiError::Timeout(15), true, false);
        assert!(
            matches!(&e, ApiError::Network(m) if m.contains("no answer within 15s") && m.contains("unknown outcome — check the task list")),
            "{e:?}"
        );
        let e = transport(
            ApiError::Network("the answer was cut off: reset".into()),
            true,
            true,
        );
        assert!(matches!(&e, ApiError::Network(m) if m.contains("unknown outcome")));
        // Never sent: said as it is.
        let never = ApiError::Network("connection failed: refused".into());
        assert_eq!(transport(never.clone(), true, true), never);
    }

    #[test]
    fn a_silent_first_request_is_a_token_problem_or_a_server_down() {
        let e = transport(ApiError::Timeout(15), false, true);
        assert!(
            matches!(&e, ApiError::Auth(m) if m.contains("token is probably wrong") && m.contains("server is down")),
            "{e:?}"
        );
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            transport(ApiError::Timeout(15), false, false),
            ApiError::Timeout(15)
        );
    }
}
