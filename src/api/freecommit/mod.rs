//! Free Commit client (`api/freecommit.md`): JWT login with transparent re-login, the three
//! server-side paginations, and Spring's error shapes turned into sentences.

mod builds;
pub mod decode;
mod logs;
mod wire;

use super::http::{Http, Reply, Request};
use super::{ApiError, Backend};
use crate::config::{Credential, Profile};
use crate::domain::{
    Build, BuildScope, BuildStatus, BuildSupport, Capabilities, Developer, Kind, LastBuild,
    LaunchRequest, ListQuery, ListSupport, LogEvent, Page, Project, Resource, Secret, Session,
    User,
};
use async_trait::async_trait;
use chrono::Utc;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::time::Duration;

const ROLE_DEVELOPER: &str = "ROLE_DEVELOPER";
/// A login's token; it also keeps the roles of the JWT's claims.
type Token = super::token::Token<Vec<String>>;

pub struct FreeCommit {
    http: Http,
    username: String,
    password: Credential,
    token: super::token::TokenSlot<Vec<String>>,
    /// Live-log poll interval (1 s, like the web UI); also paces the hand-over's retries.
    poll_interval: Duration,
}

impl FreeCommit {
    pub fn new(profile: &Profile) -> Result<FreeCommit, ApiError> {
        let username = profile
            .username
            .clone()
            .ok_or_else(|| ApiError::Config("profile has no username".into()))?;
        let password = profile
            .password
            .clone()
            .ok_or_else(|| ApiError::Config("profile has no password".into()))?;
        Ok(FreeCommit {
            http: Http::new(profile)?,
            username,
            password,
            token: Default::default(),
            poll_interval: logs::DEFAULT_POLL_INTERVAL,
        })
    }

    /// For tests: a client with a custom HTTP layer (e.g. fast retries).
    pub fn with_http(http: Http, username: &str, password: Credential) -> FreeCommit {
        FreeCommit {
            http,
            username: username.to_string(),
            password,
            token: Default::default(),
            poll_interval: logs::DEFAULT_POLL_INTERVAL,
        }
    }

    /// For tests: poll live logs (and retry the run-to-build hand-over) at this interval
    /// instead of every second. Error backoff scales with it (up to 8 intervals).
    pub fn with_poll_interval(mut self, interval: Duration) -> FreeCommit {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// `POST /auth/token`, never with an `Authorization` header (a stale one makes it 401).
    async fn fetch_token(&self) -> Result<Token, ApiError> {
        let password = self
            .password
            .resolve_password(&self.username)
            .await
            .map_err(|e| ApiError::Config(format!("password: {e}")))?;
        let body = serde_json::json!({"auth": {
            "username": self.username,
            "password": password.expose_secret(),
        }});
        let reply = self
            .http
            .send(&Request::write(Method::POST, "/auth/token", Some(body)))
            .await?;
        if reply.status == 401 || reply.status == 403 {
            let msg = error_message(&reply);
            let text = match msg.as_deref() {
                Some("UNAUTHORIZED") | None => {
                    format!("wrong password for user `{}`", self.username)
                }
                Some(m) if m.contains("was not found") => m.to_string(),
                Some(m) => format!("the server refused the login: {m}"),
            };
            return Err(ApiError::Auth(text));
        }
        if !reply.is_success() {
            return Err(map_error(&reply));
        }
        let tr = super::token::LoginReply::from_reply(&reply)?;
        let exp = tr.expiry(Utc::now().timestamp());
        let roles = super::token::jwt_claims::<wire::Claims>(&tr.access_token)
            .map(|c| c.roles)
            .unwrap_or_default();
        Ok(Token {
            value: SecretString::from(tr.access_token),
            exp,
            extra: roles,
        })
    }

    /// Send with the token; on 401 log in once and replay once (`api::token`).
    async fn send_authed(&self, req: Request) -> Result<Reply, ApiError> {
        let login = || self.fetch_token();
        self.token
            .send_checked(&self.http, req, login, |_| None)
            .await
    }

    async fn get_json<T: DeserializeOwned>(&self, req: Request) -> Result<T, ApiError> {
        self.send_authed(req).await?.json_or(map_error)
    }

    async fn page<T>(
        &self,
        route: &str,
        q: &ListQuery,
        filter_keys: &[&str],
        sort_key: impl Fn(&str) -> Option<&'static str>,
        decode: fn(serde_json::Value) -> Result<decode::PageRows<T>, ApiError>,
    ) -> Result<Page<T>, ApiError> {
        let page = q.page.max(1);
        let per_page = if q.per_page == 0 { 20 } else { q.per_page };
        let mut req = Request::get(format!("/developer/paginations/{route}"))
            .query("page", page.to_string())
            .query("per_page", per_page.to_string());
        if let Some(sort) = &q.sort
            && let Some(key) = sort_key(sort.field)
        {
            req = req
                .query("sort_by", key)
                .query("order_by", if sort.ascending { "ASC" } else { "DESC" });
        }
        if let Some(f) = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            // The server splits the query string itself: these two characters break it.
            if f.contains(['=', '&']) {
                return Err(ApiError::Unsupported(
                    "Free Commit filters cannot contain `=` or `&`".into(),
                ));
            }
            for key in filter_keys {
                req = req.query(format!("{key}[contains]"), f);
            }
            if filter_keys.len() > 1 {
                req = req.query("mode", "include");
            }
        }
        let (items, env_total) = decode(self.get_json(req).await?)?;
        // Never trust `last_page`/`total` alone: a full page may be followed by an empty one.
        let has_more = items.len() as u32 == per_page;
        let total = if has_more {
            env_total
        } else {
            Some(u64::from(per_page) * u64::from(page - 1) + items.len() as u64)
        };
        Ok(Page {
            items,
            page,
            per_page,
            total,
            has_more,
        })
    }
}

#[async_trait]
impl Backend for FreeCommit {
    fn kind(&self) -> Kind {
        Kind::Freecommit
    }

    async fn login(&self) -> Result<Session, ApiError> {
        let info: wire::UserInfo = self.get_json(Request::get("/user/info")).await?;
        let mut roles = info.roles;
        if roles.is_empty() {
            // Older servers: fall back to the token's claims.
            roles = self
                .token
                .with(|t| t.map(|t| t.extra.clone()).unwrap_or_default())
                .await;
        }
        let username = info.username.unwrap_or_default();
        let caps = capabilities(&roles, &username);
        Ok(Session {
            user: User {
                id: info.id.unwrap_or_default(),
                name: username,
                roles,
            },
            caps,
        })
    }

    async fn projects(&self, q: &ListQuery) -> Result<Page<Project>, ApiError> {
        self.page(
            "project",
            q,
            &["project_name"],
            |f| match f {
                "name" => Some("project_name"),
                "id" => Some("project_id"),
                "last_build" => Some("build_last_created_at"),
                _ => None,
            },
            decode::projects_page,
        )
        .await
    }

    async fn developers(&self, q: &ListQuery) -> Result<Page<Developer>, ApiError> {
        self.page(
            "developer",
            q,
            &["user_username", "developer_email"],
            |f| match f {
                "name" => Some("user_username"),
                "id" => Some("developer_id"),
                "email" => Some("developer_email"),
                "role" => Some("user_role"),
                _ => None,
            },
            decode::developers_page,
        )
        .await
    }

    async fn secrets(&self, q: &ListQuery) -> Result<Page<Secret>, ApiError> {
        // The secret pagination ignores sorting (contract §6): no sort key is sent.
        self.page(
            "secret",
            q,
            &["secret_name"],
            |_| None,
            decode::secrets_page,
        )
        .await
    }

    async fn builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        self.list_builds(scope).await
    }

    /// Finished builds only: one request (the queue is the Builds pane's business).
    async fn recent_builds(
        &self,
        project: &crate::domain::Project,
        n: usize,
    ) -> Result<Vec<Build>, ApiError> {
        let rows = self.project_history(&project.id).await?;
        Ok(rows
            .into_iter()
            .take(n)
            .map(|row| {
                let mut b = builds::finished_build(row, &project.name);
                b.project_id.get_or_insert_with(|| project.id.clone());
                b
            })
            .collect())
    }

    async fn launch_options(
        &self,
        project_id: &str,
    ) -> Result<crate::domain::LaunchOptions, ApiError> {
        Ok(crate::domain::LaunchOptions {
            skippable_steps: self.skippable_steps(project_id).await?,
            fields: Vec::new(),
        })
    }

    async fn launch(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        self.launch_build(req).await
    }

    async fn kill(&self, build: &Build) -> Result<(), ApiError> {
        self.kill_build(build).await
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

/// What this account may see: every `/developer/**` list needs `ROLE_DEVELOPER` (no hierarchy).
fn capabilities(roles: &[String], user: &str) -> Capabilities {
    if !roles.iter().any(|r| r == ROLE_DEVELOPER) {
        let why = format!(
            "user `{user}` lacks ROLE_DEVELOPER, which every Free Commit list needs (roles: {})",
            if roles.is_empty() {
                "none".to_string()
            } else {
                roles.join(", ")
            }
        );
        return Capabilities {
            lists: Vec::new(),
            builds: Default::default(),
            releases: Default::default(),
            missing: [
                Resource::Projects,
                Resource::Developers,
                Resource::Secrets,
                Resource::Builds,
            ]
            .iter()
            .map(|r| (*r, why.clone()))
            .collect(),
        };
    }
    Capabilities {
        lists: vec![
            (
                Resource::Projects,
                ListSupport {
                    paged: true,
                    server_filter: true,
                    sort_fields: &["id", "name", "last_build"],
                    server_qualifiers: &[],
                },
            ),
            (
                Resource::Developers,
                ListSupport {
                    paged: true,
                    server_filter: true,
                    sort_fields: &["id", "name", "email", "role"],
                    server_qualifiers: &[],
                },
            ),
            (
                Resource::Secrets,
                ListSupport {
                    paged: true,
                    server_filter: true,
                    sort_fields: &[],
                    server_qualifiers: &[],
                },
            ),
        ],
        builds: BuildSupport {
            list: true,
            launch: true,
            skip_steps: true,
            kill: true,
            logs: true,
            live_logs: true,
            ..BuildSupport::default()
        },
        releases: Default::default(),
        missing: vec![(
            Resource::Releases,
            "Free Commit has no release promotion API".to_string(),
        )],
    }
}

/// Unified status of a finished build from its exit code (`api/README.md`).
pub(crate) fn status_of_exit(code: i64, output: Option<&str>) -> BuildStatus {
    if code == 143 || output.is_some_and(|o| o.contains("Container killed")) {
        BuildStatus::Cancelled
    } else if code == 0 {
        BuildStatus::Succeeded
    } else {
        BuildStatus::Failed
    }
}

/// What an exit code means (`build/ExitMessageMapper.java` and the 8-bit truncation of 2000).
pub(crate) fn exit_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "success",
        -1 => "unknown error",
        1000 => "spec file not found",
        1001 => "spec file not readable",
        2000 | 208 => "a step failed",
        143 => "aborted by user",
        _ => return None,
    })
}

fn last_build(code: Option<i64>, message: Option<String>, at: Option<&str>) -> Option<LastBuild> {
    let code = code?;
    Some(LastBuild {
        status: status_of_exit(code, None),
        raw: format!("exit {code}"),
        exit_code: Some(code),
        message: message.or_else(|| exit_meaning(code).map(str::to_string)),
        at: at.and_then(parse_time),
    })
}

/// RFC 3339 with 0–9 fraction digits and any offset; an offset-less time is taken as UTC.
pub(crate) use super::tolerant::datetime as parse_time;

fn error_message(reply: &Reply) -> Option<String> {
    if !reply.is_json() && !reply.body.starts_with(b"{") {
        return None;
    }
    crate::api::http::json_lossy::<wire::ErrorBody>(&reply.body)
        .ok()
        .and_then(|b| b.message.or(b.error))
        .filter(|m| !m.is_empty())
}

/// Free Commit error codes in words; the code itself stays visible in brackets.
fn explain(code: &str) -> String {
    let text = match code {
        "PROJECT_NOT_FOUND" => "project not found",
        "DEVELOPER_NOT_FOUND" => "no developer matches this account or sender",
        "SECRET_NOT_FOUND" => "secret not found",
        "CREDENTIAL_NOT_FOUND" => "credential not found",
        "BUILD_NOT_FOUND" => "build not found",
        "EXECUTOR_NOT_FOUND" => "run not found (it may have just finished)",
        "LOG_NOT_FOUND" => "no more log steps",
        "LAUNCH_BUILD_NOT_ALLOWED" => "you are not a developer of this project",
        "CONTAINER_NOT_FOUND" => {
            "the build's container does not exist yet; try again in a few seconds"
        }
        "INTERNAL_SERVER_ERROR" => "internal server error",
        "Access Denied" => "no credentials were sent",
        "Forbidden" => "your roles do not allow this",
        "Not supported operator" => "the server does not support this filter",
        _ => return code.to_string(),
    };
    format!("{text} ({code})")
}

/// Any non-success reply as an `ApiError`, with the server's message.
fn map_error(reply: &Reply) -> ApiError {
    super::errors::map_reply(reply, |r| {
        error_message(r)
            .map(|m| explain(&m))
            .unwrap_or_else(|| format!("HTTP {}: {}", r.status, r.snippet()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_map_to_unified_status() {
        assert_eq!(status_of_exit(0, None), BuildStatus::Succeeded);
        assert_eq!(status_of_exit(143, None), BuildStatus::Cancelled);
        assert_eq!(status_of_exit(208, None), BuildStatus::Failed);
        assert_eq!(
            status_of_exit(1, Some("[WARNING] Container killed")),
            BuildStatus::Cancelled
        );
        assert_eq!(exit_meaning(1000), Some("spec file not found"));
        assert_eq!(exit_meaning(7), None);
    }

    #[test]
    fn times_with_any_fraction_parse() {
        for s in [
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:00:00.1Z",
            "2026-01-01T10:00:00.123456Z",
            "2026-01-01T10:00:00.123456789Z",
            "2026-01-01T10:00:00.000+00:00",
            "2026-01-01T10:00:00",
        ] {
            assert!(parse_time(s).is_some(), "{s}");
        }
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn errors_carry_the_servers_words() {
        let r = Reply {
            status: 404,
            content_type: "application/json".into(),
            body: br#"{"timestamp":"x","status":404,"error":"Not Found","message":"PROJECT_NOT_FOUND","path":"/p"}"#.to_vec(),
        };
        assert_eq!(
            map_error(&r),
            ApiError::NotFound("project not found (PROJECT_NOT_FOUND)".into())
        );
        let r = Reply {
            status: 502,
            content_type: "text/plain".into(),
            body: b"Bad Gateway".to_vec(),
        };
        assert_eq!(
            map_error(&r),
            ApiError::Server {
                status: 502,
                message: "HTTP 502: Bad Gateway".into()
            }
        );
    }
}
