//! Aviator Releases client (`api/aviator.md`): a static Bearer token, names (not ids) in every
//! path, release projects and environments from the profile, deployments read from the one list
//! route, and `{"error": "…"}` bodies shown verbatim.

pub mod decode;
mod wire;

use super::http::{Http, Reply, Request, seg};
use super::{ApiError, Backend};
use crate::config::{Credential, Profile, ReleaseProject};
use crate::domain::{
    BuildStatus, Capabilities, DeployRequest, Deployment, Environment, Kind, ListQuery, Page,
    Project, ReleaseRequest, ReleaseSupport, Resource, RollbackRequest, Session, StatusRequest,
    User, split_candidate,
};
use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::sync::Mutex;

/// The deployment status enum (current A1), the words `set_deployment_status` sends.
pub const STATUSES: [&str; 8] = [
    "pending",
    "in_progress",
    "success",
    "failure",
    "canceling",
    "canceled",
    "error",
    "unknown",
];

/// Prefix of a user access token; the only part of a token ever shown.
const USER_TOKEN_PREFIX: &str = "av_uat_";
/// The list route's largest page.
const MAX_PER_PAGE: u32 = 100;
/// `current()` gives up after this many pages (a server that never sends a short page).
const MAX_PAGES: u32 = 1_000;

pub struct Aviator {
    http: Http,
    profile: String,
    token: Credential,
    /// The resolved token, cleared when the server rejects it so that a replaced token
    /// (`token_env`, `token_command`) is read again on the next request.
    cached: Mutex<Option<SecretString>>,
    projects: Vec<ReleaseProject>,
}

impl Aviator {
    pub fn new(profile: &Profile) -> Result<Aviator, ApiError> {
        Aviator::with_http(Http::new(profile)?, profile)
    }

    /// For tests: a client with a custom HTTP layer (e.g. fast retries).
    pub fn with_http(http: Http, profile: &Profile) -> Result<Aviator, ApiError> {
        let token = profile.token.clone().ok_or_else(|| {
            ApiError::Config(format!(
                "profile `{}` has no token: add `token_env` or `token_command`",
                profile.name
            ))
        })?;
        Ok(Aviator {
            http,
            profile: profile.name.clone(),
            token,
            cached: Mutex::new(None),
            projects: profile.projects.clone(),
        })
    }

    async fn token(&self) -> Result<SecretString, ApiError> {
        if let Some(t) = self
            .cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(t);
        }
        let t = self
            .token
            .resolve()
            .await
            .map_err(|e| ApiError::Auth(format!("cannot read the Aviator token: {e}")))?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.clone());
        Ok(t)
    }

    /// Send with the token. A 401 is final (tokens cannot be refreshed): it becomes
    /// `ApiError::Auth` saying how to replace the token, and the cached value is dropped.
    async fn send(&self, req: Request) -> Result<Reply, ApiError> {
        let token = self.token().await?;
        let write = !req.idempotent;
        let reply = match self.http.send(&req.bearer(&token)).await {
            Ok(r) => r,
            Err(ApiError::Network(m)) if write => {
                return Err(ApiError::Network(format!(
                    "{m}; the request may have reached Aviator: reload the deployments \
                     before trying again"
                )));
            }
            Err(e) => return Err(e),
        };
        if reply.status == 401 {
            *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
            return Err(ApiError::Auth(self.rejected(&token, &reply)));
        }
        Ok(reply)
    }

    /// "Token rejected" with what to do; only the `av_uat_` prefix of the token is shown.
    fn rejected(&self, token: &SecretString, reply: &Reply) -> String {
        let said = said(reply);
        let how = if token.expose_secret().starts_with(USER_TOKEN_PREFIX) {
            format!(
                "the user access token ({USER_TOKEN_PREFIX}…) is invalid or revoked; create a \
                 new one at https://app.aviator.co/settings/personal/api_token"
            )
        } else {
            "the account API token is invalid or revoked; create a new one in the Aviator app \
             under Settings → Workspace → Integrations"
                .to_string()
        };
        format!(
            "Aviator rejected the token of profile `{}` ({said}): {how}, then put it where the \
             profile reads it from ({}) and reconnect; tokens cannot be refreshed, so this \
             profile stops polling until then",
            self.profile,
            self.token.source()
        )
    }

    async fn write(&self, req: Request, project: &str) -> Result<Reply, ApiError> {
        let reply = self.send(req).await?;
        if !reply.is_success() {
            return Err(map_error(&reply, project));
        }
        Ok(reply)
    }

    /// The newest `success` deployment of an environment (its current RC), paging back until
    /// one is found or the history ends.
    pub async fn current(
        &self,
        project: &str,
        environment: &str,
    ) -> Result<Option<Deployment>, ApiError> {
        let mut previous: Vec<String> = Vec::new();
        for page in 1..=MAX_PAGES {
            let p = match self
                .deployments(project, environment, page, MAX_PER_PAGE)
                .await
            {
                Ok(p) => p,
                // A page past the end refused instead of `[]` (the 400 for a bad page is
                // not confirmed, §11): the history ends there.
                Err(ApiError::Rejected { status: 400, .. }) if page > 1 => break,
                Err(e) => return Err(e),
            };
            let ids: Vec<String> = p.items.iter().map(|d| d.id.clone()).collect();
            if let Some(d) = p.items.into_iter().find(|d| d.raw_status == "success") {
                return Ok(Some(d));
            }
            // A server that ignores `page` sends the same rows again: the history ends there.
            if !p.has_more || ids == previous {
                break;
            }
            previous = ids;
        }
        Ok(None)
    }
}

fn env_path(project: &str, env: &str, tail: &str) -> String {
    format!(
        "/api/releases/{}/environments/{}/{tail}",
        seg(project),
        seg(env)
    )
}

/// Unified status (`api/README.md`, Aviator row).
pub fn status_of(raw: &str) -> BuildStatus {
    match raw {
        "pending" => BuildStatus::Queued,
        "in_progress" | "canceling" => BuildStatus::Running,
        "success" => BuildStatus::Succeeded,
        "failure" | "error" => BuildStatus::Failed,
        "canceled" => BuildStatus::Cancelled,
        _ => BuildStatus::Unknown,
    }
}

/// Local check of a candidate version before anything is sent: says what is wrong.
fn check_candidate(v: &str) -> Result<(), ApiError> {
    let why = if v.trim().is_empty() {
        Some("it is empty")
    } else if v.chars().any(|c| c.is_whitespace() || c == '/') {
        Some("it cannot contain spaces or slashes")
    } else if split_candidate(v).is_some() {
        None
    } else {
        let lower = v.to_ascii_lowercase();
        match lower.rfind("-rc").or_else(|| lower.rfind(".rc")) {
            None => Some("it needs a -rcN or .rcN suffix"),
            Some(0) => Some("it needs a release version before the -rcN/.rcN suffix"),
            Some(_) => Some("the -rc/.rc suffix must end in a candidate number of 1 or more"),
        }
    };
    match why {
        None => Ok(()),
        Some(why) => Err(ApiError::Unsupported(format!(
            "`{v}` is not a release candidate version: {why} (e.g. 2026.03.02-rc1 or \
             2026.03.02.rc1); nothing was sent"
        ))),
    }
}

/// The text of a JSON error body: `error` (the documented key), else `message` or `detail`.
fn error_message(reply: &Reply) -> Option<String> {
    let body: serde_json::Value = crate::api::http::json_lossy(&reply.body).ok()?;
    if let serde_json::Value::String(s) = &body {
        return Some(s.clone()).filter(|s| !s.trim().is_empty());
    }
    ["error", "message", "detail"]
        .iter()
        .find_map(|k| match body.get(*k)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            serde_json::Value::String(_) | serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
}

/// What the server said, for people, whatever the body (§11: 401/403 bodies are not
/// documented): a JSON error text; a plain-text body as it is; an HTML page or an empty body
/// by the status alone.
fn said(reply: &Reply) -> String {
    let status = || {
        let reason = reqwest::StatusCode::from_u16(reply.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        format!("HTTP {}{reason}", reply.status)
    };
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        return status();
    }
    if let Some(m) = error_message(reply) {
        return m;
    }
    let looks_html = reply.content_type.contains("html")
        || reply
            .body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<');
    if looks_html {
        return format!("{} (an HTML page, probably from a gateway)", status());
    }
    if crate::api::http::json_lossy::<serde_json::Value>(&reply.body).is_ok() {
        return format!("{}: {}", status(), reply.snippet());
    }
    reply.snippet()
}

/// Any non-success reply (other than 401, handled by `send`) as an `ApiError`, with the
/// server's own message.
fn map_error(reply: &Reply, project: &str) -> ApiError {
    let message = said(reply);
    match reply.status {
        403 => ApiError::Forbidden(format!(
            "token lacks access to this project: {project} ({message})"
        )),
        s => super::errors::by_status(s, message),
    }
}

/// A refused `.rcN` version: acceptance of that separator is not confirmed by any real source
/// (§11), so the refusal says which form to try instead.
fn with_candidate_hint(e: ApiError, candidate: &str) -> ApiError {
    let ApiError::Rejected {
        status: 400,
        message,
    } = e
    else {
        return e;
    };
    let dotted = split_candidate(candidate).filter(|(release, _)| {
        candidate
            .get(release.len()..)
            .is_some_and(|rest| rest.to_ascii_lowercase().starts_with(".rc"))
    });
    match dotted {
        Some((release, n)) if message.contains("Invalid release candidate version") => {
            ApiError::Rejected {
                status: 400,
                message: format!(
                    "{message} (this server may take only the -rcN form: try `{release}-rc{n}`)"
                ),
            }
        }
        _ => ApiError::Rejected {
            status: 400,
            message,
        },
    }
}

fn capabilities() -> Capabilities {
    Capabilities {
        lists: vec![(Resource::Projects, super::caps::WHOLE_LIST)],
        builds: Default::default(),
        releases: ReleaseSupport {
            list: true,
            create: true,
            deploy: true,
            set_status: true,
            rollback: true,
            statuses: STATUSES.iter().map(|s| s.to_string()).collect(),
        },
        missing: vec![
            (
                Resource::Developers,
                "Aviator has no developer API (deployments carry only the actor's e-mail)".into(),
            ),
            (Resource::Secrets, "Aviator has no secret API".into()),
            (
                Resource::Builds,
                "Aviator has no build API: builds run in your CI (GitHub Actions, Buildkite); \
                 see the deployments of each environment instead"
                    .into(),
            ),
        ],
    }
}

#[async_trait]
impl Backend for Aviator {
    fn kind(&self) -> Kind {
        Kind::Aviator
    }

    /// There is no identity route: one cheap read of the first configured environment proves
    /// the token.
    async fn login(&self) -> Result<Session, ApiError> {
        let (project, env) = self
            .projects
            .iter()
            .find_map(|p| {
                p.environments
                    .first()
                    .map(|e| (p.name.as_str(), e.as_str()))
            })
            .ok_or_else(|| {
                ApiError::Config(format!(
                    "profile `{}` (kind aviator) needs `projects` with environments: Aviator \
                     cannot list them",
                    self.profile
                ))
            })?;
        let token = self.token().await?;
        let req = Request::get(env_path(project, env, "deployments"))
            .query("page", "1")
            .query("per_page", "1");
        let reply = self.send(req).await?;
        if reply.is_success() {
            decode::deployments(reply.json()?, project, env)?;
        } else {
            // A 404 naming a release project or environment comes after the token check: the
            // token is good, the profile's `projects` is what is off (the pane shows it).
            let known = matches!(
                error_message(&reply).as_deref(),
                Some("Release project not found" | "Release environment not found")
            );
            if !(reply.status == 404 && known) {
                return Err(match map_error(&reply, project) {
                    ApiError::NotFound(m) => ApiError::NotFound(format!(
                        "{m} (checking the token on {project}/{env}; is the profile's url the \
                         Aviator API, e.g. https://api.aviator.co?)"
                    )),
                    e => e,
                });
            }
            tracing::warn!(
                project,
                env,
                "token accepted, but Aviator does not know this environment"
            );
        }
        let name = if token.expose_secret().starts_with(USER_TOKEN_PREFIX) {
            "user token"
        } else {
            "account token"
        };
        Ok(Session {
            user: User {
                id: name.to_string(),
                name: name.to_string(),
                roles: Vec::new(),
            },
            caps: capabilities(),
        })
    }

    /// The configured release projects (Aviator cannot list them): one page, filtered locally.
    async fn projects(&self, q: &ListQuery) -> Result<Page<Project>, ApiError> {
        let needle = q
            .filter
            .as_deref()
            .map(|f| f.trim().to_lowercase())
            .filter(|f| !f.is_empty());
        let items: Vec<Project> = if q.page > 1 {
            Vec::new()
        } else {
            self.projects
                .iter()
                .filter(|p| {
                    needle
                        .as_deref()
                        .is_none_or(|n| p.name.to_lowercase().contains(n))
                })
                .map(|p| Project {
                    id: p.name.clone(),
                    name: p.name.clone(),
                    description: None,
                    last_build: None,
                })
                .collect()
        };
        Ok(Page {
            total: Some(items.len() as u64),
            per_page: items.len() as u32,
            items,
            page: q.page.max(1),
            has_more: false,
        })
    }

    /// The newest deployments of each of the project's environments (one request each, the
    /// first page), merged newest first: Aviator has no builds and no cross-environment list.
    async fn recent_builds(
        &self,
        project: &Project,
        n: usize,
    ) -> Result<Vec<crate::domain::Build>, ApiError> {
        let per_page = u32::try_from(n)
            .unwrap_or(MAX_PER_PAGE)
            .clamp(1, MAX_PER_PAGE);
        let envs: Vec<Environment> = self
            .environments()
            .await?
            .into_iter()
            .filter(|e| e.project == project.name)
            .collect();
        let pages = futures::future::join_all(
            envs.iter()
                .map(|e| self.deployments(&project.name, &e.name, 1, per_page)),
        )
        .await;
        let mut out = Vec::new();
        let mut failed = None;
        for page in pages {
            match page {
                Ok(p) => out.extend(p.items.iter().map(Deployment::as_build)),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        if let (true, Some(e)) = (out.is_empty(), failed) {
            return Err(e);
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.started_at.or(b.finished_at)));
        out.truncate(n);
        Ok(out)
    }

    async fn environments(&self) -> Result<Vec<Environment>, ApiError> {
        Ok(self
            .projects
            .iter()
            .flat_map(|p| {
                p.environments.iter().enumerate().map(|(i, e)| Environment {
                    project: p.name.clone(),
                    name: e.clone(),
                    position: i,
                })
            })
            .collect())
    }

    async fn deployments(
        &self,
        project: &str,
        environment: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Deployment>, ApiError> {
        let page = page.max(1);
        let per_page = if per_page == 0 {
            10
        } else {
            per_page.min(MAX_PER_PAGE)
        };
        let req = Request::get(env_path(project, environment, "deployments"))
            .query("page", page.to_string())
            .query("per_page", per_page.to_string());
        let reply = self.send(req).await?;
        let v: serde_json::Value = reply.json_or(|r| map_error(r, project))?;
        // A full page (odd rows included) may be followed by another.
        let rows = v.as_array().map_or(0, Vec::len);
        let items = decode::deployments(v, project, environment)?;
        Ok(Page {
            has_more: rows as u32 >= per_page,
            items,
            page,
            per_page,
            total: None,
        })
    }

    async fn create_release(&self, req: &ReleaseRequest) -> Result<(), ApiError> {
        check_candidate(&req.candidate)?;
        let path = format!(
            "/api/releases/{}/releases/{}",
            seg(&req.project),
            seg(&req.candidate)
        );
        let body = json!({
            "repo": req.repo,
            "commit": req.commit,
            "trigger_build_workflow": req.build,
        });
        self.write(Request::write(Method::POST, path, Some(body)), &req.project)
            .await
            .map(drop)
            .map_err(|e| with_candidate_hint(e, &req.candidate))
    }

    async fn deploy(&self, req: &DeployRequest) -> Result<(), ApiError> {
        check_candidate(&req.candidate)?;
        let body = json!({ "release_candidate_version": req.candidate });
        let path = env_path(&req.project, &req.environment, "deployments");
        self.write(Request::write(Method::POST, path, Some(body)), &req.project)
            .await
            .map(drop)
            .map_err(|e| with_candidate_hint(e, &req.candidate))
    }

    async fn set_deployment_status(&self, req: &StatusRequest) -> Result<(), ApiError> {
        check_candidate(&req.candidate)?;
        let body = json!({
            "release_candidate_version": req.candidate,
            "status": req.status,
        });
        let path = env_path(&req.project, &req.environment, "deployments");
        self.write(
            Request::write(Method::PATCH, path, Some(body)),
            &req.project,
        )
        .await
        .map(drop)
        .map_err(|e| with_candidate_hint(e, &req.candidate))
    }

    async fn rollback(&self, req: &RollbackRequest) -> Result<Option<Deployment>, ApiError> {
        let path = env_path(&req.project, &req.environment, "rollback");
        let body = json!({ "force": req.force });
        let reply = self
            .write(Request::write(Method::POST, path, Some(body)), &req.project)
            .await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        decode::created_deployment(reply.json()?, &req.project, &req.environment).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_unified_table() {
        assert_eq!(status_of("pending"), BuildStatus::Queued);
        assert_eq!(status_of("in_progress"), BuildStatus::Running);
        assert_eq!(status_of("canceling"), BuildStatus::Running);
        assert_eq!(status_of("success"), BuildStatus::Succeeded);
        assert_eq!(status_of("failure"), BuildStatus::Failed);
        assert_eq!(status_of("error"), BuildStatus::Failed);
        assert_eq!(status_of("canceled"), BuildStatus::Cancelled);
        assert_eq!(status_of("unknown"), BuildStatus::Unknown);
        assert_eq!(status_of("succeeded"), BuildStatus::Unknown);
    }

    #[test]
    fn candidates_are_checked_locally_with_a_reason() {
        assert!(check_candidate("2026.03.02-rc1").is_ok());
        assert!(check_candidate("2024.06.20.rc12").is_ok());
        for (bad, why) in [
            ("1.2.3", "suffix"),
            ("-rc1", "release version before"),
            ("1.2.3-rc0", "1 or more"),
            ("1.2.3-rcx", "1 or more"),
            ("1.2 3-rc1", "spaces"),
            ("", "empty"),
        ] {
            let e = check_candidate(bad).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("nothing was sent"),
                "{bad}: {e}"
            );
        }
    }

    fn one(row: serde_json::Value) -> Deployment {
        let mut v = decode::deployments(json!([row]), "p", "e").unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    #[test]
    fn ids_of_either_type_become_strings() {
        let d =
            one(json!({"id":"d-1","release_candidate_version":"2026.03.02.rc2","status":"weird"}));
        assert_eq!(d.id, "d-1");
        assert_eq!(d.release.as_deref(), Some("2026.03.02"));
        assert_eq!(d.environment, "e");
        assert_eq!(d.status, BuildStatus::Unknown);
        assert_eq!(d.raw_status, "weird");
        let d = one(
            json!({"id":9121,"release_candidate_version":"x-rc1","status":"success",
                          "deploy_start_at":"2026-03-02T10:15:04.512331+00:00"}),
        );
        assert_eq!(d.id, "9121");
        assert!(d.started_at.is_some());
    }

    /// §11: timestamps with or without fraction and offset, and bare date-times.
    #[test]
    fn timestamps_in_every_unconfirmed_format() {
        let want = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").unwrap();
        for at in [
            "2026-12-04T10:00:00Z",
            "2026-12-04T10:00:00+00:00",
            "2026-12-04T11:00:00+01:00",
            "2026-12-04T10:00:00.000000+00:00",
            "2026-12-04T10:00:00",
            "2026-12-04 10:00:00",
            "2026-12-04T10:00:00.0",
        ] {
            let d = one(json!({"id": 1, "release_candidate_version": "a-rc1",
                               "status": "success", "deploy_start_at": at, "deploy_end_at": at}));
            assert_eq!(d.started_at, Some(want.to_utc()), "{at}");
            assert_eq!(d.finished_at, Some(want.to_utc()), "{at}");
        }
        let d = one(json!({"id": 1, "deploy_start_at": "soon", "deploy_end_at": 5}));
        assert_eq!((d.started_at, d.finished_at), (None, None));
    }

    use crate::api::http::test_reply as reply;

    /// §11: 401/403 bodies are not documented: whatever text comes, or the status.
    #[test]
    fn error_bodies_of_any_shape_are_said_in_words() {
        for (r, want) in [
            (
                reply(401, "application/json", r#"{"error":"Unauthorized"}"#),
                "Unauthorized",
            ),
            (
                reply(401, "application/json", r#"{"message":"Bad credentials"}"#),
                "Bad credentials",
            ),
            (
                reply(403, "application/json", r#"{"detail":"No access"}"#),
                "No access",
            ),
            (
                reply(403, "text/plain", "Forbidden: token scope\n"),
                "Forbidden: token scope",
            ),
            (reply(401, "text/plain", ""), "HTTP 401 Unauthorized"),
            (reply(403, "application/json", "  "), "HTTP 403 Forbidden"),
            (
                reply(403, "text/html", "<html><body><h1>403</h1></body></html>"),
                "HTTP 403 Forbidden (an HTML page, probably from a gateway)",
            ),
            (
                reply(401, "application/json", r#"{"code":7}"#),
                "HTTP 401 Unauthorized: {\"code\":7}",
            ),
        ] {
            assert_eq!(said(&r), want);
        }
        let e = map_error(&reply(403, "text/plain", "nope"), "payments-api");
        assert_eq!(
            e,
            ApiError::Forbidden("token lacks access to this project: payments-api (nope)".into())
        );
    }

    /// §11: acceptance of `.rcN` is unconfirmed; a refusal of one says what to try.
    #[test]
    fn a_refused_dotted_candidate_suggests_the_dash_form() {
        let refused = || ApiError::Rejected {
            status: 400,
            message: "Invalid release candidate version".into(),
        };
        let e = with_candidate_hint(refused(), "2024.06.20.rc3");
        assert_eq!(
            e,
            ApiError::Rejected {
                status: 400,
                message: "Invalid release candidate version (this server may take only the \
                          -rcN form: try `2024.06.20-rc3`)"
                    .into()
            }
        );
        assert_eq!(with_candidate_hint(refused(), "2024.06.20-rc3"), refused());
        let other = ApiError::NotFound("Release not found".into());
        assert_eq!(with_candidate_hint(other.clone(), "1.rc1"), other);
    }
}
