//! Serverless-cd client (`api/serverless-cd.md`): the `cd_token` header on every request, the
//! `{success, data}` envelope with its three error generations (no code / numeric / string
//! code, all HTTP 200), applications → projects and secrets (names only), tasks → builds,
//! manual dispatch, redeploy (the rollback), cancel, and per-step logs re-polled whole.

mod logs;
mod wire;

use super::http::{Http, Reply, Request};
use super::{ApiError, Backend};
use crate::config::{Credential, Profile};
use crate::domain::{
    Build, BuildScope, BuildStatus, BuildSupport, Capabilities, Kind, LastBuild, LaunchField,
    LaunchOptions, LaunchRequest, ListQuery, ListSupport, LogEvent, Page, Project, Resource,
    Secret, Session, StepStatus, User,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// The documented era's route prefix (§1).
pub const DEFAULT_ROUTE_PREFIX: &str = "/api/flow";
/// Lower-case, underscore (§2).
const TOKEN_HEADER: &str = "cd_token";
/// Tasks per `task/list` request when walking an application's history.
const DEFAULT_PAGE_SIZE: u32 = 20;
/// A history walk stops after this many pages.
const MAX_PAGES: u32 = 50;

/// What every auth failure tells the operator (§2).
pub const AUTH_ADVICE: &str = "token unknown / expired — create a new one under settings → Tokens. \
If the token is set and valid, a reverse proxy may be dropping the `cd_token` header \
(nginx drops header names containing `_` unless `underscores_in_headers on`)";
/// The application-level refusal (code 401 too, but not a token problem).
const NO_PERMISSION: &str = "无权操作此应用";

pub struct ServerlessCd {
    http: Http,
    token: Credential,
    /// The resolved token; dropped after an auth failure so a new one is read.
    resolved: Mutex<Option<SecretString>>,
    prefix: String,
    poll_interval: Duration,
    page_size: u32,
    /// Whether any request has succeeded (a 404 `Cannot GET` before that = newer server).
    answered: AtomicBool,
}

impl ServerlessCd {
    pub fn new(profile: &Profile) -> Result<ServerlessCd, ApiError> {
        let token = profile
            .token
            .clone()
            .ok_or_else(|| ApiError::Config("profile has no token (cd_token)".into()))?;
        Ok(ServerlessCd::with_http(
            Http::new(profile)?,
            token,
            profile.route_prefix.as_deref(),
        ))
    }

    /// For tests: a client with a custom HTTP layer (e.g. fast retries).
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
        }
    }

    /// For tests: poll running tasks and step logs at this interval instead of every 2 s.
    pub fn with_poll_interval(mut self, interval: Duration) -> ServerlessCd {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Tasks per `task/list` page when walking an application's history.
    pub fn with_page_size(mut self, size: u32) -> ServerlessCd {
        self.page_size = size.max(1);
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
        let reply = self.http.send(&req).await?;
        let out = self.interpret(&req, &reply);
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
        if reply.status == 404
            && let Some(what) = express_cannot(reply)
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
        let env = serde_json::from_slice::<wire::Envelope>(&reply.body).ok();
        if !reply.is_success() {
            if let Some(env) = env.filter(|e| e.message.is_some() || e.code.is_some()) {
                return Err(classify(env.code.as_ref(), env.message.as_deref()));
            }
            let text = html_text(reply);
            return Err(match reply.status {
                401 | 403 => {
                    ApiError::Auth(format!("HTTP {}: {text} — {AUTH_ADVICE}", reply.status))
                }
                404 => ApiError::NotFound(format!("HTTP 404: {text}")),
                s @ 400..=499 => ApiError::Rejected {
                    status: s,
                    message: text,
                },
                s => ApiError::Server {
                    status: s,
                    message: format!("HTTP {s}: {text}"),
                },
            });
        }
        let env: wire::Envelope = match env {
            Some(e) => e,
            None => reply.json()?,
        };
        if env.success == Some(true) {
            return Ok(env.data.unwrap_or(Value::Null));
        }
        Err(classify(env.code.as_ref(), env.message.as_deref()))
    }

    fn decode<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, ApiError> {
        serde_json::from_value(v)
            .map_err(|e| ApiError::Decode(format!("{what} is not the expected JSON ({e})")))
    }

    async fn applications(&self) -> Result<Vec<wire::Application>, ApiError> {
        let v = self.get("application/list", &[]).await?;
        if v.is_null() {
            return Ok(Vec::new());
        }
        Self::decode("application/list data", v)
    }

    async fn application(&self, id: &str) -> Result<wire::Application, ApiError> {
        let v = self.get("application/detail", &[("id", id)]).await?;
        Self::decode("application/detail data", v)
    }

    async fn task(&self, id: &str) -> Result<wire::Task, ApiError> {
        let v = self.get("task/get", &[("taskId", id)]).await?;
        Self::decode("task/get data", v)
    }

    async fn task_rows(
        &self,
        app_id: &str,
        page: u32,
        size: u32,
    ) -> Result<wire::TaskPage, ApiError> {
        let (p, s) = (page.max(1).to_string(), size.max(1).to_string());
        let v = self
            .get(
                "task/list",
                &[("appId", app_id), ("currentPage", &p), ("pageSize", &s)],
            )
            .await?;
        Self::decode("task/list data", v)
    }

    /// One page of an application's tasks as the server orders them (`updated_time` desc).
    pub async fn tasks_page(
        &self,
        app_id: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Build>, ApiError> {
        let page = page.max(1);
        let per_page = per_page.max(1);
        let rows = self.task_rows(app_id, page, per_page).await?;
        let items: Vec<Build> = rows
            .result
            .into_iter()
            .map(|t| task_build(t, app_id))
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
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let rows = self.task_rows(app_id, page, size).await?;
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
                .latest_task
                .as_ref()
                .is_some_and(|t| t.completed == Some(false) || is_active(t.status.as_deref()));
            if !busy {
                continue;
            }
            let rows = self.task_rows(&app.id, 1, self.page_size).await?;
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
    async fn dispatched(&self, data: Value, app_id: Option<&str>) -> Result<Build, ApiError> {
        let d: wire::Dispatched = Self::decode("dispatch data", data)?;
        match self.task(&d.task_id).await {
            Ok(t) => {
                let mut b = task_build(t, app_id.unwrap_or_default());
                if b.project_id.is_none() {
                    b.project_id = app_id.map(str::to_string);
                }
                Ok(b)
            }
            Err(e) => {
                // The dispatch happened: never report it as failed because the read-back did.
                tracing::debug!(error = %e, "reading the new task back failed");
                Ok(Build {
                    id: d.task_id.clone(),
                    run_id: Some(d.task_id.clone()),
                    build_id: Some(d.task_id),
                    project_id: app_id.map(str::to_string),
                    project: app_id.unwrap_or_default().to_string(),
                    status: BuildStatus::Queued,
                    raw_status: "pending".into(),
                    exit_code: None,
                    message: None,
                    queued_at: Some(Utc::now()),
                    started_at: None,
                    finished_at: None,
                    trigger: None,
                })
            }
        }
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
        let items: Vec<Project> = self
            .applications()
            .await?
            .into_iter()
            .map(app_project)
            .collect();
        Ok(whole(items))
    }

    /// Names of every application's `secrets` (values are never read into memory).
    async fn secrets(&self, _q: &ListQuery) -> Result<Page<Secret>, ApiError> {
        let mut items = Vec::new();
        for app in self.applications().await? {
            let app = if app.secrets.is_some() {
                app
            } else {
                self.application(&app.id).await?
            };
            let name = app.name();
            for key in app.secrets.into_iter().flat_map(|m| m.into_keys()) {
                items.push(Secret {
                    id: format!("{}/{key}", app.id),
                    name: key,
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

    async fn launch_options(&self, project_id: &str) -> Result<LaunchOptions, ApiError> {
        let app = self.application(project_id).await?;
        let default_ref = app
            .latest_task
            .and_then(|t| t.git_ref)
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "refs/heads/main".to_string());
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
                    Some(default_ref),
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

    /// `POST dispatch/manual` `{"appId", "ref", "commitId"?, "message"?, "inputs"?}`.
    async fn launch(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        let body = dispatch_body(req)?;
        let data = self.post("dispatch/manual", body).await?;
        self.dispatched(data, Some(&req.project_id)).await
    }

    /// `POST dispatch/cancel` `{"taskId"}`; a finished task is an error (`任务运行已经被停止`).
    async fn kill(&self, build: &Build) -> Result<(), ApiError> {
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
        let mut b = self.dispatched(data, build.project_id.as_deref()).await?;
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
    let whole = ListSupport {
        paged: false,
        server_filter: false,
        sort_fields: &[],
    };
    Capabilities {
        lists: vec![
            (Resource::Projects, whole.clone()),
            (Resource::Secrets, whole),
        ],
        builds: BuildSupport {
            list: true,
            launch: true,
            skip_steps: false,
            kill: true,
            redeploy: true,
            logs: true,
            live_logs: true,
            report_statuses: Vec::new(),
            asset_kinds: Vec::new(),
            archives: false,
            direct_runs: false,
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

/// The dispatch body exactly as §4: `appId`, `ref`, then `commitId`, `message`, `inputs` when
/// given.
pub fn dispatch_body(req: &LaunchRequest) -> Result<Value, ApiError> {
    let param = |name: &str| {
        req.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let mut body = json!({
        "appId": req.project_id,
        "ref": param("ref").unwrap_or_default(),
    });
    if let Some(c) = param("commit") {
        body["commitId"] = json!(c);
    }
    if let Some(m) = param("message") {
        body["message"] = json!(m);
    }
    if let Some(raw) = param("inputs") {
        let mut inputs = serde_json::Map::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(ApiError::Rejected {
                    status: 0,
                    message: format!("input `{pair}` is not KEY=value"),
                });
            };
            let k = k.trim();
            if k.is_empty() {
                return Err(ApiError::Rejected {
                    status: 0,
                    message: format!("input `{pair}` has no key"),
                });
            }
            inputs.insert(k.to_string(), json!(v.trim()));
        }
        if !inputs.is_empty() {
            body["inputs"] = Value::Object(inputs);
        }
    }
    Ok(body)
}

/// Unified status of a task (`api/README.md`).
pub fn build_status(raw: &str) -> BuildStatus {
    match raw {
        "pending" => BuildStatus::Queued,
        "running" => BuildStatus::Running,
        "success" => BuildStatus::Succeeded,
        "failure" => BuildStatus::Failed,
        "cancelled" | "skipped" => BuildStatus::Cancelled,
        _ => BuildStatus::Unknown,
    }
}

/// Unified status of a step; `error-with-continue` passes (with a warning line in the log).
pub fn step_status(raw: &str) -> StepStatus {
    match raw {
        "pending" => StepStatus::Queued,
        "running" => StepStatus::Running,
        "success" | "error-with-continue" => StepStatus::Succeeded,
        "failure" => StepStatus::Failed,
        "skipped" => StepStatus::Skipped,
        "cancelled" => StepStatus::Cancelled,
        _ => StepStatus::Unknown,
    }
}

fn is_active(raw: Option<&str>) -> bool {
    matches!(raw, Some("pending" | "running"))
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms?)
}

fn app_project(app: wire::Application) -> Project {
    let name = app.name();
    let description = app
        .description
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| {
            app.owner
                .as_ref()
                .map(|o| format!("{o}/{name} ({})", app.provider.as_deref().unwrap_or("git")))
        });
    let last_build = app.latest_task.map(|t| {
        let raw = t.status.unwrap_or_default();
        LastBuild {
            status: build_status(&raw),
            raw,
            exit_code: None,
            message: None,
            at: None,
        }
    });
    Project {
        id: app.id,
        name,
        description,
        last_build,
    }
}

fn task_build(t: wire::Task, project: &str) -> Build {
    let raw = t.status.unwrap_or_default();
    let status = build_status(&raw);
    let trigger = match (&t.redelivery, &t.trigger_type) {
        (Some(old), _) => Some(format!("redeploy of {old}")),
        (None, Some(tt)) => Some(tt.clone()),
        (None, None) => None,
    };
    // `<message> (<ref> @ <commit>)`, with whatever of it the task carries.
    let mut place: Vec<String> = Vec::new();
    if let Some(r) = t.git_ref.as_deref().filter(|r| !r.is_empty()) {
        place.push(r.to_string());
    }
    if let Some(c) = t.commit.as_deref().filter(|c| !c.is_empty()) {
        place.push(c.chars().take(7).collect());
    }
    let place = place.join(" @ ");
    let message = match t.message.as_deref().filter(|m| !m.is_empty()) {
        Some(m) if place.is_empty() => Some(m.to_string()),
        Some(m) => Some(format!("{m} ({place})")),
        None => (!place.is_empty()).then_some(place),
    };
    Build {
        id: t.id.clone(),
        run_id: Some(t.id.clone()),
        build_id: Some(t.id),
        project_id: t.app_id,
        project: t
            .repo_name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| project.to_string()),
        status,
        raw_status: raw,
        exit_code: None,
        message,
        queued_at: millis(t.created_time),
        started_at: None,
        finished_at: if status.is_terminal() {
            millis(t.updated_time)
        } else {
            None
        },
        trigger,
    }
}

fn is_auth_message(msg: &str) -> bool {
    let lower = msg.to_ascii_lowercase();
    msg.contains("token 不存在")
        || msg.contains("token 已过期")
        || lower.contains("need login")
        || lower.contains("needlogin")
        || msg.contains("未登录")
        || msg.contains("请登录")
}

/// A failed envelope as an `ApiError`: by numeric or string `code`, else by the auth messages,
/// else a server error; the server's `message` verbatim (§3).
pub fn classify(code: Option<&Value>, message: Option<&str>) -> ApiError {
    let msg = message.unwrap_or("").trim();
    let shown = if msg.is_empty() {
        "(no message)".to_string()
    } else {
        msg.to_string()
    };
    enum C {
        Auth,
        NotFound,
        Input(u16),
        Server(u16),
        Limited,
    }
    let by_message = || {
        if is_auth_message(msg) {
            C::Auth
        } else {
            C::Server(500)
        }
    };
    let class = match code {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(401 | 403) => C::Auth,
            Some(400 | 404) => C::NotFound,
            Some(429) => C::Limited,
            Some(c @ 402..=499) => C::Input(c as u16),
            Some(c @ 500..=599) => C::Server(c as u16),
            _ => by_message(),
        },
        Some(Value::String(s)) => match s.as_str() {
            "NeedLogin" | "NoPermission" | "Forbidden" => C::Auth,
            "NotFound" => C::NotFound,
            "Invalid" | "ParamsInvalid" => C::Input(400),
            "SystemError" => C::Server(500),
            _ => by_message(),
        },
        _ => by_message(),
    };
    match class {
        // A refusal on one application is not a token problem (same code 401).
        C::Auth if msg == NO_PERMISSION => ApiError::Forbidden(shown),
        C::Auth => ApiError::Auth(format!("{shown} — {AUTH_ADVICE}")),
        C::NotFound => ApiError::NotFound(shown),
        C::Input(status) => ApiError::Rejected {
            status,
            message: shown,
        },
        C::Server(status) => ApiError::Server {
            status,
            message: shown,
        },
        C::Limited => ApiError::RateLimited,
    }
}

/// `Cannot GET /path` from Express's 404 page, if that is what this is.
fn express_cannot(reply: &Reply) -> Option<String> {
    let text = String::from_utf8_lossy(&reply.body);
    let start = text.find("Cannot ")?;
    let rest = &text[start..];
    let end = rest.find(['<', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_string())
}

/// The `<pre>` text of an HTML error page, else the body's first bytes.
fn html_text(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body);
    if let Some(a) = text.find("<pre>")
        && let Some(b) = text[a..].find("</pre>")
    {
        return text[a + 5..a + b].trim().to_string();
    }
    if let Some(a) = text.find("<title>")
        && let Some(b) = text[a..].find("</title>")
    {
        return text[a + 7..a + b].trim().to_string();
    }
    reply.snippet()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_classify() {
        assert!(matches!(
            classify(Some(&json!(401)), Some("token 不存在")),
            ApiError::Auth(m) if m.starts_with("token 不存在 — ") && m.contains("settings → Tokens")
        ));
        assert!(matches!(
            classify(None, Some("token 已过期")),
            ApiError::Auth(_)
        ));
        assert!(matches!(
            classify(Some(&json!("NeedLogin")), Some("please log in")),
            ApiError::Auth(m) if m.contains("underscores_in_headers")
        ));
        assert_eq!(
            classify(Some(&json!(401)), Some("无权操作此应用")),
            ApiError::Forbidden("无权操作此应用".into())
        );
        assert_eq!(
            classify(Some(&json!(400)), Some("没有查到部署信息")),
            ApiError::NotFound("没有查到部署信息".into())
        );
        assert_eq!(
            classify(Some(&json!("NotFound")), Some("x")),
            ApiError::NotFound("x".into())
        );
        assert_eq!(
            classify(Some(&json!(424)), Some("任务运行已经被停止")),
            ApiError::Rejected {
                status: 424,
                message: "任务运行已经被停止".into()
            }
        );
        assert_eq!(
            classify(Some(&json!("ParamsInvalid")), Some("ref 必填")),
            ApiError::Rejected {
                status: 400,
                message: "ref 必填".into()
            }
        );
        assert_eq!(
            classify(Some(&json!("SystemError")), Some("boom")),
            ApiError::Server {
                status: 500,
                message: "boom".into()
            }
        );
        assert_eq!(
            classify(None, Some("AppId is empty")),
            ApiError::Server {
                status: 500,
                message: "AppId is empty".into()
            }
        );
    }

    #[test]
    fn statuses_map() {
        assert_eq!(build_status("pending"), BuildStatus::Queued);
        assert_eq!(build_status("skipped"), BuildStatus::Cancelled);
        assert_eq!(build_status("weird"), BuildStatus::Unknown);
        assert_eq!(step_status("error-with-continue"), StepStatus::Succeeded);
        assert_eq!(step_status("skipped"), StepStatus::Skipped);
        assert_eq!(step_status("cancelled"), StepStatus::Cancelled);
    }

    #[test]
    fn dispatch_body_is_exact() {
        let req = LaunchRequest {
            project_id: "app1".into(),
            skip_steps: vec![],
            params: vec![
                ("ref".into(), "refs/heads/main".into()),
                ("commit".into(), "".into()),
                ("message".into(), "hi".into()),
                ("inputs".into(), "A=1, B = two".into()),
            ],
        };
        assert_eq!(
            dispatch_body(&req).unwrap(),
            json!({"appId": "app1", "ref": "refs/heads/main", "message": "hi",
                   "inputs": {"A": "1", "B": "two"}})
        );
        let bad = LaunchRequest {
            params: vec![("inputs".into(), "novalue".into())],
            ..req
        };
        assert!(dispatch_body(&bad).is_err());
    }
}
