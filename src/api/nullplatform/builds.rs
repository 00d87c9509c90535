//! nullplatform builds (`api/nullplatform.md` §4, §5, §7, §9 #6–#10): the optional build reads,
//! registering a build (`POST /build`), status reports (`PATCH /build/{id}`) and assets
//! (`POST /build/{id}/asset`). Writes are never retried.

use super::{AppFilter, NO_BUILD_READS, Nullplatform, decode, map_error, wire};
use crate::api::ApiError;
use crate::api::http::Request;
use crate::api::tolerant::datetime as parse_time;
use crate::domain::{Build, BuildScope, BuildStatus, LaunchField, LaunchOptions, LaunchRequest};
use futures::StreamExt;
use reqwest::Method;

/// Rows per `GET /build` page, and the most pages read for one application.
const PAGE: usize = 100;
const MAX_PAGES: usize = 10;
/// The non-terminal statuses the active list asks for.
const ACTIVE_STATUSES: &[&str] = &["pending", "in_progress"];

pub(super) use crate::api::http::seg;

/// Unified status (`api/README.md`): every vocabulary the sources use.
pub fn status_of(raw: &str) -> BuildStatus {
    match raw {
        "pending" | "creating" => BuildStatus::Queued,
        "in_progress" | "running" => BuildStatus::Running,
        "successful" | "success" => BuildStatus::Succeeded,
        "failed" => BuildStatus::Failed,
        "canceled" | "cancelled" => BuildStatus::Cancelled,
        _ => BuildStatus::Unknown,
    }
}

/// A status an external CI reports (`PATCH /build/{id}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportStatus {
    InProgress,
    Failed,
    Successful,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::InProgress => "in_progress",
            ReportStatus::Failed => "failed",
            ReportStatus::Successful => "successful",
        }
    }
}

/// The kind of artifact an asset declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetKind {
    DockerImage,
    Lambda,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::DockerImage => "docker-image",
            AssetKind::Lambda => "lambda",
        }
    }
}

/// Where the CI pushes an asset (`provider`: `aws-ecr`, `azure-container-registry`,
/// `aws-s3`, anything else a generic registry; for lambda the url is an upload URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetTarget {
    pub provider: String,
    pub url: String,
}

/// A declared asset and its push targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub id: String,
    pub build_id: String,
    pub name: String,
    pub kind: String,
    pub targets: Vec<AssetTarget>,
}

/// A build as the domain sees it; `project` names its application.
pub(super) fn to_build(w: wire::Build, project: &str) -> Build {
    let raw = w.status.unwrap_or_default();
    let status = status_of(&raw);
    let commit = w.commit.and_then(|c| c.id).filter(|s| !s.is_empty());
    let git_ref = w.branch.filter(|b| !b.is_empty());
    let updated = w.updated_at.as_deref().and_then(parse_time);
    Build {
        id: w.id.clone(),
        run_id: None,
        build_id: Some(w.id),
        project_id: w.application_id,
        project: project.to_string(),
        status,
        raw_status: raw,
        exit_code: None,
        message: w.description.as_deref().and_then(first_line),
        queued_at: w.created_at.as_deref().and_then(parse_time),
        started_at: None,
        finished_at: if status.is_terminal() { updated } else { None },
        trigger: None,
        commit,
        git_ref,
    }
}

/// The first line of a commit message, when there is one.
fn first_line(d: &str) -> Option<String> {
    d.lines()
        .next()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
}

/// The fields `POST /build` needs besides the application (contract §5).
pub(super) fn launch_options() -> LaunchOptions {
    let field = |name: &str, label: &str, required: bool, default: Option<&str>| LaunchField {
        name: name.into(),
        label: label.into(),
        required,
        default: default.map(str::to_string),
        key_values: false,
    };
    LaunchOptions {
        skippable_steps: Vec::new(),
        fields: vec![
            field("commit", "Commit SHA (7–40 hex)", true, None),
            field("branch", "Branch", true, Some("main")),
            field("description", "Description (commit message)", false, None),
            field("permalink", "Commit URL", false, None),
        ],
    }
}

impl Nullplatform {
    fn project_name(&self, app_id: Option<&str>, fallback: &str) -> String {
        app_id
            .and_then(|id| self.app_name(id))
            .unwrap_or_else(|| fallback.to_string())
    }

    /// One page of `GET /build`; a 404/405 means the host has no build reads (cached).
    async fn build_page(
        &self,
        app_id: &str,
        status: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<wire::Build>, Option<u64>), ApiError> {
        if self.build_reads_known() == Some(false) {
            return Err(ApiError::Unsupported(NO_BUILD_READS.into()));
        }
        let mut req = Request::get("/build").query("application_id", app_id);
        if let Some(s) = status {
            req = req.query("status", s);
        }
        let req = req
            .query("limit", limit.to_string())
            .query("offset", offset.to_string());
        let reply = self.send_authed(req).await?;
        if matches!(reply.status, 404 | 405) && self.build_reads_known() != Some(true) {
            self.set_build_reads(false);
            return Err(ApiError::Unsupported(NO_BUILD_READS.into()));
        }
        if !reply.is_success() {
            return Err(map_error(&reply));
        }
        self.set_build_reads(true);
        decode::listing(reply.json()?, "build")
    }

    /// Every build of one application (with one `status`, when given), newest first.
    ///
    /// Pages by `limit`/`offset` until a short page. The CI API answers bare arrays (§11 C1)
    /// and may ignore the window: rows are de-duplicated by id, and a page that brings
    /// nothing new ends the walk.
    async fn app_history(
        &self,
        app_id: &str,
        status: Option<&str>,
    ) -> Result<Vec<wire::Build>, ApiError> {
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for page in 0..MAX_PAGES {
            let (rows, total) = self.build_page(app_id, status, page * PAGE, PAGE).await?;
            let n = rows.len();
            let before = all.len();
            all.extend(rows.into_iter().filter(|r| seen.insert(r.id.clone())));
            if n < PAGE || all.len() == before || total.is_some_and(|t| all.len() as u64 >= t) {
                break;
            }
        }
        Ok(all)
    }

    pub(super) async fn list_builds(&self, scope: &BuildScope) -> Result<Vec<Build>, ApiError> {
        match scope {
            BuildScope::Project { id, name } => {
                let rows = self.app_history(id, None).await?;
                let mut out: Vec<Build> = rows.into_iter().map(|w| to_build(w, name)).collect();
                for b in &mut out {
                    b.project_id.get_or_insert_with(|| id.clone());
                }
                sort_newest_first(&mut out);
                Ok(out)
            }
            BuildScope::Active => {
                // Pending and in-progress builds of every active application, one status
                // filter at a time (no cross-application list exists, and whether the server
                // takes a list of statuses is not documented).
                if self.build_reads_known() == Some(false) {
                    return Err(ApiError::Unsupported(NO_BUILD_READS.into()));
                }
                let apps = self.applications(&AppFilter::active()).await?;
                let futs: Vec<_> = apps
                    .iter()
                    .flat_map(|a| ACTIVE_STATUSES.iter().map(move |s| (a, *s)))
                    .map(|(a, s)| async move { (a, self.app_history(&a.id, Some(s)).await) })
                    .collect();
                let lists: Vec<_> = futures::stream::iter(futs)
                    .buffered(super::FAN_OUT)
                    .collect()
                    .await;
                let mut out = Vec::new();
                for (app, rows) in lists {
                    let name = app.display_name();
                    for w in rows? {
                        let mut b = to_build(w, &name);
                        // Only what is still going, whatever the server made of the filter.
                        if matches!(b.status, BuildStatus::Queued | BuildStatus::Running) {
                            b.project_id.get_or_insert_with(|| app.id.clone());
                            out.push(b);
                        }
                    }
                }
                sort_newest_first(&mut out);
                Ok(out)
            }
        }
    }

    /// `POST /build`: registers a build run by an external CI. Never retried; after a
    /// connection failure the build may exist, so the error says to re-read first.
    pub(super) async fn register_build(&self, req: &LaunchRequest) -> Result<Build, ApiError> {
        let param = |k: &str| {
            req.params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let sha = param("commit").unwrap_or("");
        let branch = param("branch").unwrap_or("");
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        // `application_id` is emitted as a number when it is one (quirk 4).
        let app_id = match req.project_id.parse::<i64>() {
            Ok(n) => serde_json::json!(n),
            Err(_) => serde_json::json!(req.project_id),
        };
        let mut commit = serde_json::json!({ "id": sha });
        if let Some(p) = param("permalink") {
            commit["permalink"] = serde_json::json!(p);
        }
        let mut body = serde_json::json!({
            "application_id": app_id,
            "commit": commit,
            "branch": branch,
        });
        if let Some(d) = param("description") {
            // The GitHub action truncates to 2000 characters.
            body["description"] = serde_json::json!(d.chars().take(2000).collect::<String>());
        }
        let reply = self
            .send_authed(Request::write(Method::POST, "/build", Some(body)))
            .await
            .map_err(|e| match e {
                ApiError::Network(m) => ApiError::Network(format!(
                    "{m}; the build may or may not have been registered: refresh the builds \
                     list before registering it again"
                )),
                other => other,
            })?;
        if !reply.is_success() {
            return Err(map_error(&reply));
        }
        // §11 C4: only `id`, `status` and `application_id` of the reply are confirmed; the
        // rest of the build is what was sent.
        let w: wire::Build = decode::object(reply.json()?, "registered build")?;
        let name = self.project_name(Some(&req.project_id), &req.project_id);
        let mut b = to_build(w, &name);
        b.project_id.get_or_insert_with(|| req.project_id.clone());
        if b.commit.is_none() {
            b.commit = Some(sha.to_string());
        }
        if b.git_ref.is_none() {
            b.git_ref = Some(branch.to_string());
        }
        if b.message.is_none() {
            b.message = param("description").and_then(first_line);
        }
        b.queued_at.get_or_insert_with(chrono::Utc::now);
        Ok(b)
    }

    /// `PATCH /build/{id}` with `{"status"}`: what an external CI reports. The server's
    /// refusals (e.g. `successful` without an asset) come back verbatim as `Rejected`.
    pub async fn set_build_status(
        &self,
        build_id: &str,
        status: ReportStatus,
    ) -> Result<Build, ApiError> {
        let body = serde_json::json!({ "status": status.as_str() });
        let reply = self
            .send_authed(Request::write(
                Method::PATCH,
                format!("/build/{}", seg(build_id)),
                Some(body),
            ))
            .await?;
        if !reply.is_success() {
            return Err(map_error(&reply));
        }
        let w: wire::Build = decode::object(reply.json()?, "updated build")?;
        let name = self.project_name(w.application_id.as_deref(), "");
        let name = if name.is_empty() {
            w.application_id
                .as_deref()
                .map(|id| format!("application {id}"))
                .unwrap_or_default()
        } else {
            name
        };
        Ok(to_build(w, &name))
    }

    /// `POST /build/{id}/asset`: declares an artifact and returns where to push it. `name`
    /// defaults to `main`; `url` (advanced) pins the target.
    pub async fn create_asset(
        &self,
        build_id: &str,
        kind: AssetKind,
        name: Option<&str>,
        url: Option<&str>,
    ) -> Result<Asset, ApiError> {
        let mut body = serde_json::json!({
            "type": kind.as_str(),
            "name": name.filter(|n| !n.is_empty()).unwrap_or("main"),
            "metadata": {},
        });
        if let Ok(n) = build_id.parse::<i64>() {
            body["build_id"] = serde_json::json!(n);
        }
        if let Some(u) = url.filter(|u| !u.is_empty()) {
            body["url"] = serde_json::json!(u);
        }
        let reply = self
            .send_authed(Request::write(
                Method::POST,
                format!("/build/{}/asset", seg(build_id)),
                Some(body),
            ))
            .await?;
        decode::asset(reply.json_or(map_error)?, build_id)
    }
}

/// Newest first by creation time, then by numeric id.
fn sort_newest_first(builds: &mut [Build]) {
    builds.sort_by(|a, b| {
        b.queued_at.cmp(&a.queued_at).then_with(|| {
            let n = |s: &str| s.parse::<i64>().unwrap_or(i64::MIN);
            n(&b.id).cmp(&n(&a.id))
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_maps() {
        for (raw, want) in [
            ("pending", BuildStatus::Queued),
            ("creating", BuildStatus::Queued),
            ("in_progress", BuildStatus::Running),
            ("running", BuildStatus::Running),
            ("successful", BuildStatus::Succeeded),
            ("success", BuildStatus::Succeeded),
            ("failed", BuildStatus::Failed),
            ("canceled", BuildStatus::Cancelled),
            ("cancelled", BuildStatus::Cancelled),
            ("weird", BuildStatus::Unknown),
        ] {
            assert_eq!(status_of(raw), want, "{raw}");
        }
    }

    #[test]
    fn bare_and_paged_listings_decode() {
        let bare = serde_json::json!([{"id":1,"status":"pending"}]);
        let (rows, total) = decode::listing::<wire::Build>(bare, "build").unwrap();
        assert_eq!((rows.len(), total), (1, None));
        let paged = serde_json::json!(
            {"paging":{"offset":0,"limit":30,"total":"7"},"results":[{"id":"2"}, "junk"]}
        );
        let (rows, total) = decode::listing::<wire::Build>(paged, "build").unwrap();
        assert_eq!((rows.len(), total), (1, Some(7)));
        assert_eq!(rows[0].id, "2");
        let e = decode::listing::<wire::Build>(serde_json::json!({"id": 1}), "build");
        assert!(matches!(e, Err(ApiError::Decode(_))), "{e:?}");
    }
}
