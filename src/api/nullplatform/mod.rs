//! nullplatform CI API client (`api/nullplatform.md`): `POST /login` with the API key, bearer
//! token with reactive re-login on 401 (once, replayed once) and proactive refresh when the
//! reply says when it expires; applications as projects, parameters as secrets (values of
//! secret parameters never leave this module), builds registered by an external CI, their
//! status reports and assets.

mod builds;
pub mod decode;
mod wire;

pub use builds::{Asset, AssetKind, AssetTarget, ReportStatus, status_of};

use super::http::{Http, Reply, Request};
use super::{ApiError, Backend};
use crate::config::{Credential, Profile};
use crate::domain::{
    Build, BuildScope, BuildSupport, Capabilities, Kind, LaunchOptions, LaunchRequest, ListQuery,
    LogEvent, Page, Project, Resource, Secret, Session, User,
};
use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Parallel requests when a list needs one request per application.
const FAN_OUT: usize = 4;

const NO_DEVELOPERS: &str = "nullplatform's CI API has no user or developer list";
const NO_BUILD_READS: &str = "this nullplatform host does not serve build reads \
     (GET /build answered 404/405: build history is a public-API route); builds can still be \
     registered and reported";
const NO_LOGS: &str = "nullplatform keeps no build logs: they are kept by the external CI \
     (GitHub Actions, GitLab, Azure DevOps) that ran the build";

/// A login's token (expiry in local-clock epoch seconds, when the reply said).
type Token = super::token::Token<()>;

pub struct Nullplatform {
    http: Http,
    api_key: Credential,
    token: super::token::TokenSlot<()>,
    /// Result of probing `GET /build` (`None`: not known yet).
    build_reads: std::sync::Mutex<Option<bool>>,
    /// Application names by id, from the last application list (names builds).
    names: std::sync::Mutex<HashMap<String, String>>,
}

impl Nullplatform {
    pub fn new(profile: &Profile) -> Result<Nullplatform, ApiError> {
        let api_key = profile
            .api_key
            .clone()
            .ok_or_else(|| ApiError::Config("profile has no api_key".into()))?;
        Ok(Nullplatform::with_http(Http::new(profile)?, api_key))
    }

    /// For tests: a client with a custom HTTP layer (e.g. fast retries).
    pub fn with_http(http: Http, api_key: Credential) -> Nullplatform {
        Nullplatform {
            http,
            api_key,
            token: Default::default(),
            build_reads: std::sync::Mutex::new(None),
            names: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// `POST /login {"api_key"}` (never with a bearer). Safe to retry like a read: it changes
    /// nothing on the server.
    async fn fetch_token(&self) -> Result<Token, ApiError> {
        let key = self
            .api_key
            .resolve()
            .await
            .map_err(|e| ApiError::Config(format!("api_key: {e}")))?;
        let body = serde_json::json!({ "api_key": key.expose_secret() });
        let mut req = Request::write(Method::POST, "/login", Some(body));
        req.idempotent = true;
        let reply = self.http.send(&req).await?;
        if !reply.is_success() {
            return Err(match reply.status {
                429 => ApiError::RateLimited,
                s if s >= 500 => map_error(&reply),
                _ => ApiError::Auth(format!(
                    "the server refused the API key: {}",
                    message_of(&reply)
                )),
            });
        }
        let lr = super::token::LoginReply::from_reply(&reply)?;
        let exp = lr.expiry(Utc::now().timestamp());
        Ok(Token {
            value: SecretString::from(lr.access_token),
            exp,
            extra: (),
        })
    }

    /// Send with the token; on 401 log in once and replay once (a 401 means the request was
    /// not processed, so replaying a POST is safe: contract §2).
    async fn send_authed(&self, req: Request) -> Result<Reply, ApiError> {
        let login = || self.fetch_token();
        let words = |r: &Reply| Some(message_of(r));
        self.token.send_checked(&self.http, req, login, words).await
    }

    async fn get_json<T: DeserializeOwned>(&self, req: Request) -> Result<T, ApiError> {
        self.send_authed(req).await?.json_or(map_error)
    }

    /// `GET /application` with the given filters, applied again to the reply (§11 C3: the
    /// server may ignore them); remembers the names.
    async fn applications(&self, f: &AppFilter<'_>) -> Result<Vec<wire::Application>, ApiError> {
        let mut req = Request::get("/application");
        for (k, v) in [
            ("name", f.name),
            ("repository_url", f.repository),
            // Only sent together with the URL, as the metadata action does.
            ("repository_app_path", f.repository.and(f.app_path)),
            ("status", f.status),
        ] {
            if let Some(v) = v {
                req = req.query(k, v);
            }
        }
        let v: serde_json::Value = self.get_json(req).await?;
        let (rows, _) = decode::listing::<wire::Application>(v, "application")?;
        let total = rows.len();
        let apps: Vec<wire::Application> = rows.into_iter().filter(|a| f.keeps(a)).collect();
        if apps.len() < total {
            tracing::debug!(
                left_out = total - apps.len(),
                "the server did not apply every application filter; filtered locally"
            );
        }
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        for a in &apps {
            names.insert(a.id.clone(), a.display_name());
        }
        Ok(apps)
    }

    /// Applications by exact repository (and app path within a mono repository), as the
    /// metadata action looks them up: `repository_app_path` is only sent with the URL.
    pub async fn applications_by_repository(
        &self,
        repository_url: &str,
        app_path: Option<&str>,
        status: &str,
    ) -> Result<Vec<Project>, ApiError> {
        let f = AppFilter {
            repository: Some(repository_url),
            app_path,
            status: Some(status),
            ..AppFilter::default()
        };
        Ok(self
            .applications(&f)
            .await?
            .iter()
            .map(decode::project)
            .collect())
    }

    fn app_name(&self, id: &str) -> Option<String> {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// `GET /application/{id}/parameter` as domain secrets. Secret values are dropped by
    /// `decode`; a body that does not parse is reported without quoting it (it holds secrets).
    async fn parameters(&self, app: &wire::Application) -> Result<Vec<Secret>, ApiError> {
        let reply = self
            .send_authed(Request::get(format!(
                "/application/{}/parameter",
                builds::seg(&app.id)
            )))
            .await?;
        if !reply.is_success() {
            return Err(map_error(&reply));
        }
        let name = app.display_name();
        let v: serde_json::Value = crate::api::http::json_lossy(&reply.body).map_err(|e| {
            ApiError::Decode(format!(
                "the parameter list of application `{name}` is not the expected JSON \
                 ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        decode::parameters(v, &app.id, &name)
    }

    /// Whether `GET /build` is served, probing once (with `app_id` when given).
    async fn probe_build_reads(&self, app_id: Option<&str>) -> Result<bool, ApiError> {
        if let Some(known) = *self.build_reads.lock().unwrap_or_else(|e| e.into_inner()) {
            return Ok(known);
        }
        let mut req = Request::get("/build").query("limit", "1");
        if let Some(id) = app_id {
            req = req.query("application_id", id);
        }
        let reply = self.send_authed(req).await?;
        let served = match reply.status {
            404 | 405 => false,
            _ if reply.is_success() => true,
            _ => return Err(map_error(&reply)),
        };
        *self.build_reads.lock().unwrap_or_else(|e| e.into_inner()) = Some(served);
        Ok(served)
    }

    fn build_reads_known(&self) -> Option<bool> {
        *self.build_reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_build_reads(&self, served: bool) {
        *self.build_reads.lock().unwrap_or_else(|e| e.into_inner()) = Some(served);
    }
}

/// What `GET /application` is asked to filter, checked again on every row of the reply
/// (§11 C3). A row that does not say (no `status`, no repository) is kept.
#[derive(Default)]
struct AppFilter<'a> {
    name: Option<&'a str>,
    /// One status or a comma-separated list.
    status: Option<&'a str>,
    repository: Option<&'a str>,
    app_path: Option<&'a str>,
}

impl AppFilter<'_> {
    fn active() -> Self {
        AppFilter {
            status: Some("active"),
            ..AppFilter::default()
        }
    }

    fn keeps(&self, a: &wire::Application) -> bool {
        let status = match (self.status, a.status.as_deref()) {
            (Some(want), Some(have)) => want
                .split(',')
                .any(|w| w.trim().eq_ignore_ascii_case(have.trim())),
            _ => true,
        };
        let name = self.name.is_none_or(|n| a.name.as_deref() == Some(n));
        let repo = match (self.repository, a.repository()) {
            (Some(want), Some(have)) => same_repository(want, have),
            _ => true,
        };
        let path = match (self.app_path, a.app_path()) {
            (Some(want), Some(have)) => want.trim_matches('/') == have.trim_matches('/'),
            _ => true,
        };
        status && name && repo && path
    }
}

/// Repository URLs compared without case, a trailing `/` or `.git`.
fn same_repository(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
        s.strip_suffix(".git").map(str::to_string).unwrap_or(s)
    };
    norm(a) == norm(b)
}

/// The whole list as page 1 (the CI API does not page: contract §6).
fn whole<T>(items: Vec<T>, q: &ListQuery) -> Page<T> {
    let page = q.page.max(1);
    let items = if page == 1 { items } else { Vec::new() };
    let n = items.len() as u32;
    Page {
        total: Some(u64::from(n)),
        items,
        page,
        per_page: q.per_page.max(n),
        has_more: false,
    }
}

fn capabilities(build_reads: bool) -> Capabilities {
    let mut missing = vec![(Resource::Developers, NO_DEVELOPERS.to_string())];
    if !build_reads {
        missing.push((Resource::Builds, NO_BUILD_READS.to_string()));
    }
    Capabilities {
        lists: vec![
            (
                Resource::Projects,
                crate::domain::ListSupport {
                    // `projects` below: the API's own filters.
                    server_qualifiers: &["repo", "path", "status"],
                    ..super::caps::WHOLE_FILTERED_LIST
                },
            ),
            (Resource::Secrets, super::caps::WHOLE_FILTERED_LIST),
        ],
        builds: BuildSupport {
            list: build_reads,
            launch: true,
            report_statuses: ["in_progress", "failed", "successful"]
                .map(String::from)
                .to_vec(),
            asset_kinds: ["docker-image", "lambda"].map(String::from).to_vec(),
            ..BuildSupport::default()
        },
        releases: Default::default(),
        missing,
    }
}

#[async_trait]
impl Backend for Nullplatform {
    fn kind(&self) -> Kind {
        Kind::Nullplatform
    }

    async fn report_build_status(&self, build: &Build, status: &str) -> Result<Build, ApiError> {
        let status = [ReportStatus::InProgress, ReportStatus::Failed, ReportStatus::Successful]
            .into_iter()
            .find(|s| s.as_str() == status)
            .ok_or_else(|| {
                ApiError::Unsupported(format!(
                    "`{status}` is not a build status nullplatform takes (in_progress, failed, successful); nothing was sent"
                ))
            })?;
        let id = build.build_id.as_deref().unwrap_or(&build.id);
        self.set_build_status(id, status).await
    }

    async fn create_asset(
        &self,
        build: &Build,
        kind: &str,
        name: Option<&str>,
        url: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        let kind = [AssetKind::DockerImage, AssetKind::Lambda]
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| {
                ApiError::Unsupported(format!(
                    "`{kind}` is not an asset kind nullplatform takes (docker-image, lambda); nothing was sent"
                ))
            })?;
        let id = build.build_id.as_deref().unwrap_or(&build.id);
        let asset = Nullplatform::create_asset(self, id, kind, name, url).await?;
        Ok(asset
            .targets
            .into_iter()
            .map(|t| format!("{}: {}", t.provider, t.url))
            .collect())
    }

    /// Logs in, checks the token on `GET /application`, and probes the build reads.
    async fn login(&self) -> Result<Session, ApiError> {
        let apps = self.applications(&AppFilter::active()).await?;
        let reads = match self.build_reads_known() {
            Some(known) => known,
            None => match self
                .probe_build_reads(apps.first().map(|a| a.id.as_str()))
                .await
            {
                Ok(served) => served,
                Err(ApiError::Auth(m)) => return Err(ApiError::Auth(m)),
                // Undecided (a fault): offer builds; the first list probes again.
                Err(e) => {
                    tracing::debug!(error = %e, "build-read probe failed; will retry");
                    true
                }
            },
        };
        Ok(Session {
            user: User {
                id: "api-key".into(),
                name: "CI API key".into(),
                roles: Vec::new(),
            },
            caps: capabilities(reads),
        })
    }

    /// Active applications. A filter is first sent as the server's exact `name` filter; when
    /// nothing has that exact name, the active list is filtered locally (substring of name,
    /// slug, repository).
    /// The `/` filter takes the API's filters too: a repository URL (or `repo:<url>`), with
    /// `path:<app path>` and `status:<status>`; other text is a name.
    async fn projects(&self, q: &ListQuery) -> Result<Page<Project>, ApiError> {
        let filter = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty());
        let projects =
            |apps: Vec<wire::Application>| apps.iter().map(decode::project).collect::<Vec<_>>();
        if let Some(f) = filter {
            let (mut repo, mut path, mut status) = (None, None, None);
            for tok in f.split_whitespace() {
                if let Some(v) = tok.strip_prefix("repo:") {
                    repo = Some(v);
                } else if let Some(v) = tok.strip_prefix("path:") {
                    path = Some(v);
                } else if let Some(v) = tok.strip_prefix("status:") {
                    status = Some(v);
                } else if tok.contains("://") || tok.starts_with("git@") {
                    repo = Some(tok);
                }
            }
            if let Some(r) = repo {
                let rows = self
                    .applications_by_repository(r, path, status.unwrap_or("active"))
                    .await?;
                return Ok(whole(rows, q));
            }
            if let Some(st) = status {
                let f = AppFilter {
                    status: Some(st),
                    ..AppFilter::default()
                };
                return Ok(whole(projects(self.applications(&f).await?), q));
            }
        }
        let Some(f) = filter else {
            return Ok(whole(
                projects(self.applications(&AppFilter::active()).await?),
                q,
            ));
        };
        let exact = self
            .applications(&AppFilter {
                name: Some(f),
                ..AppFilter::active()
            })
            .await?;
        if !exact.is_empty() {
            return Ok(whole(projects(exact), q));
        }
        let needle = f.to_lowercase();
        let rows: Vec<Project> = projects(self.applications(&AppFilter::active()).await?)
            .into_iter()
            .filter(|p| {
                p.name.to_lowercase().contains(&needle)
                    || p.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(&needle))
            })
            .collect();
        Ok(whole(rows, q))
    }

    /// Parameters are per application. When the filter is exactly an active application's
    /// name, slug or id, only its parameters are listed; otherwise every active
    /// application's, and a filter then matches parameter or application names locally.
    async fn secrets(&self, q: &ListQuery) -> Result<Page<Secret>, ApiError> {
        let filter = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty());
        let apps = self.applications(&AppFilter::active()).await?;
        if let Some(f) = filter
            && let Some(app) = apps
                .iter()
                .find(|a| a.name.as_deref() == Some(f) || a.slug.as_deref() == Some(f) || a.id == f)
        {
            return Ok(whole(self.parameters(app).await?, q));
        }
        let futs: Vec<_> = apps.iter().map(|a| self.parameters(a)).collect();
        let lists: Vec<Result<Vec<Secret>, ApiError>> = futures::stream::iter(futs)
            .buffered(FAN_OUT)
            .collect()
            .await;
        let mut rows = Vec::new();
        for l in lists {
            rows.extend(l?);
        }
        if let Some(f) = filter {
            let needle = f.to_lowercase();
            rows.retain(|s| {
                s.name.to_lowercase().contains(&needle)
                    || s.environment
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&needle))
            });
        }
        Ok(whole(rows, q))
    }

    async fn builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        self.list_builds(scope).await
    }

    async fn launch_options(&self, _project_id: &str) -> Result<LaunchOptions, ApiError> {
        Ok(builds::launch_options())
    }

    async fn launch(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        self.register_build(req).await
    }

    async fn kill(&self, _build: &Build) -> Result<(), ApiError> {
        Err(ApiError::Unsupported(
            "nullplatform cannot cancel a build: the external CI runs it (it can report it \
             failed)"
                .into(),
        ))
    }

    async fn tail_log(
        &self,
        _build: &Build,
        _follow: bool,
        _sink: tokio::sync::mpsc::UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        Err(ApiError::Unsupported(NO_LOGS.into()))
    }
}

/// The server's `message` when the body is JSON with one, else the status and the first
/// 200 bytes of the body (contract §3); an empty body (a `405` may come without one, §11 C7)
/// is reported by its status alone.
fn message_of(reply: &Reply) -> String {
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        let reason = reqwest::StatusCode::from_u16(reply.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        return format!("HTTP {}{reason} (no details in the answer)", reply.status);
    }
    crate::api::http::json_lossy::<wire::ErrorBody>(&reply.body)
        .ok()
        .and_then(|b| b.message)
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {}: {}", reply.status, reply.snippet()))
}

/// Any non-success reply as an `ApiError`, with the server's own words.
fn map_error(reply: &Reply) -> ApiError {
    super::errors::map_reply(reply, message_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_servers_words() {
        let r = Reply {
            status: 400,
            content_type: "application/json".into(),
            body: br#"{"id":400,"message":"Build must have at least one asset to be set as successful"}"#.to_vec(),
        };
        assert_eq!(
            map_error(&r),
            ApiError::Rejected {
                status: 400,
                message: "Build must have at least one asset to be set as successful".into()
            }
        );
        let r = Reply {
            status: 502,
            content_type: "text/html".into(),
            body: b"<html><title>502 Bad Gateway</title></html>".to_vec(),
        };
        assert!(
            matches!(map_error(&r), ApiError::Server { status: 502, message } if message.starts_with("HTTP 502: <html>"))
        );
    }

    #[test]
    fn masked_values_stay_out_of_debug() {
        let p: wire::Parameter =
            serde_json::from_str(r#"{"name":"K","value":"hunter2","secret":true}"#).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
