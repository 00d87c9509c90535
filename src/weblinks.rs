//! Links into each system's own web UI (`o` in the dashboard, `"url"` in `--json`). Where the
//! UI lives and its paths are per kind, in the backend table (`backends::BACKENDS`, field
//! `web`); a profile's `web_url` replaces the root derived from its API URL.

use crate::api::http::seg;
use crate::domain::Kind;

/// What a link points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebItem<'a> {
    /// A project (application, pipeline).
    Project { id: &'a str },
    /// A build, run or task; `project_id` when known, `record` = the finished record's id.
    Build {
        project_id: Option<&'a str>,
        id: &'a str,
        record: Option<&'a str>,
    },
    /// A release project's environment (its deployments).
    Environment {
        project: &'a str,
        environment: &'a str,
    },
}

/// How a kind's web UI is reached.
pub(crate) struct WebUi {
    /// The UI's root, from the profile's API base URL.
    pub root: fn(&url::Url) -> String,
    /// The path of an item under the root (`None`: the root is the best there is).
    pub path: fn(&WebItem) -> Option<String>,
}

/// The link to `item` for a profile of `kind` whose API is at `api`; `web_url` overrides the
/// root.
pub fn url(kind: Kind, api: &url::Url, web_url: Option<&url::Url>, item: &WebItem) -> String {
    let ui = &kind.descriptor().web;
    // A user name or password in a configured URL never goes into a link.
    let root = match web_url {
        Some(u) => strip_suffix(u, &[]),
        None => (ui.root)(&without_credentials(api)),
    };
    let root = root.trim_end_matches('/');
    match (ui.path)(item) {
        Some(p) => format!("{root}/{}", p.trim_start_matches('/')),
        None => format!("{root}/"),
    }
}

fn without_credentials(u: &url::Url) -> url::Url {
    let mut u = u.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u
}

/// The API's URL with a path suffix removed (`/api-free-commit`, `/api`), no query.
fn strip_suffix(api: &url::Url, suffixes: &[&str]) -> String {
    let mut u = without_credentials(api);
    u.set_query(None);
    u.set_fragment(None);
    let path = u.path().trim_end_matches('/').to_string();
    let kept = suffixes
        .iter()
        .find_map(|s| path.strip_suffix(s))
        .unwrap_or(&path)
        .to_string();
    u.set_path(&kept);
    u.as_str().trim_end_matches('/').to_string()
}

/// A hosted vendor's API host mapped to its app host (`api.` / `ci.` → `app.`).
fn app_host(api: &url::Url, vendor: &str) -> String {
    match api.host_str() {
        Some(h) if h.ends_with(vendor) => {
            let sub = h.split('.').next().unwrap_or_default();
            if matches!(sub, "api" | "ci") {
                format!("{}://app.{vendor}", api.scheme())
            } else {
                strip_suffix(api, &[])
            }
        }
        _ => strip_suffix(api, &[]),
    }
}

// Free Commit: the React frontend is served at the host root, the API behind it at
// `/api-free-commit` (the contract's reference deployment); routes `/free-commit/project/{id}`
// and `/free-commit/project/{id}/build/{buildId}` (the frontend's router).
pub(crate) fn freecommit_root(api: &url::Url) -> String {
    strip_suffix(api, &["/api-free-commit"])
}

pub(crate) fn freecommit_path(item: &WebItem) -> Option<String> {
    Some(match *item {
        WebItem::Project { id } => format!("free-commit/project/{}", seg(id)),
        WebItem::Build {
            project_id: Some(p),
            record: Some(r),
            ..
        } => format!("free-commit/project/{}/build/{}", seg(p), seg(r)),
        // A run in progress has no page of its own: its project's page shows it.
        WebItem::Build {
            project_id: Some(p),
            ..
        } => format!("free-commit/project/{}", seg(p)),
        WebItem::Build { .. } | WebItem::Environment { .. } => "free-commit/project".into(),
    })
}

// nullplatform: the CI API host (`ci.`/`api.nullplatform.com`) has no UI; the console is
// `app.nullplatform.com` (chosen; the contract is silent on UI paths): `application/{id}`,
// `application/{id}/build/{buildId}`. A self-hosted URL is used as it is.
pub(crate) fn nullplatform_root(api: &url::Url) -> String {
    app_host(api, "nullplatform.com")
}

pub(crate) fn nullplatform_path(item: &WebItem) -> Option<String> {
    Some(match *item {
        WebItem::Project { id } => format!("application/{}", seg(id)),
        WebItem::Build {
            project_id: Some(p),
            id,
            record,
        } => format!("application/{}/build/{}", seg(p), seg(record.unwrap_or(id))),
        WebItem::Build { .. } | WebItem::Environment { .. } => return None,
    })
}

// Aviator: the API is `api.aviator.co`, the app `app.aviator.co` (the contract names app
// pages there); releases under `releases/{project}` (chosen), an environment as
// `?environment=`.
pub(crate) fn aviator_root(api: &url::Url) -> String {
    app_host(api, "aviator.co")
}

pub(crate) fn aviator_path(item: &WebItem) -> Option<String> {
    Some(match *item {
        WebItem::Project { id } => format!("releases/{}", seg(id)),
        WebItem::Environment {
            project,
            environment,
        } => format!("releases/{}?environment={}", seg(project), seg(environment)),
        WebItem::Build { .. } => "releases".into(),
    })
}

// Serverless-cd: the admin function serves the API and the web UI on one host (contract
// §R8); the API prefix (`/api/flow`, `/api`) is not part of the profile URL. Applications
// `application/{appId}/detail`, a task `application/{appId}/detail/task/{taskId}` (chosen).
pub(crate) fn serverless_cd_root(api: &url::Url) -> String {
    strip_suffix(api, &["/api/flow", "/api"])
}

pub(crate) fn serverless_cd_path(item: &WebItem) -> Option<String> {
    Some(match *item {
        WebItem::Project { id } => format!("application/{}/detail", seg(id)),
        WebItem::Build {
            project_id: Some(p),
            id,
            ..
        } => format!("application/{}/detail/task/{}", seg(p), seg(id)),
        WebItem::Build { .. } | WebItem::Environment { .. } => return None,
    })
}

// Candor: the Svelte dashboard is served by the same host as its API; a pipeline
// `pipeline/{id}`, a run `pipeline/{id}/run/{runId}` (chosen; the contract is silent).
pub(crate) fn candor_root(api: &url::Url) -> String {
    strip_suffix(api, &["/api"])
}

pub(crate) fn candor_path(item: &WebItem) -> Option<String> {
    Some(match *item {
        WebItem::Project { id } => format!("pipeline/{}", seg(id)),
        WebItem::Build {
            project_id: Some(p),
            id,
            record,
        } => format!("pipeline/{}/run/{}", seg(p), seg(record.unwrap_or(id))),
        WebItem::Build { .. } | WebItem::Environment { .. } => return None,
    })
}

/// The link to a build of a profile.
pub fn build_url(
    kind: Kind,
    api: &url::Url,
    web_url: Option<&url::Url>,
    b: &crate::domain::Build,
) -> String {
    let item = WebItem::Build {
        project_id: b.project_id.as_deref(),
        id: &b.id,
        record: b.build_id.as_deref(),
    };
    url(kind, api, web_url, &item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn build<'a>(p: Option<&'a str>, id: &'a str, record: Option<&'a str>) -> WebItem<'a> {
        WebItem::Build {
            project_id: p,
            id,
            record,
        }
    }

    #[test]
    fn freecommit_links_go_to_the_frontend_at_the_host_root() {
        let api = u("https://ci.example.com/api-free-commit");
        let k = Kind::Freecommit;
        assert_eq!(
            url(k, &api, None, &WebItem::Project { id: "7" }),
            "https://ci.example.com/free-commit/project/7"
        );
        assert_eq!(
            url(k, &api, None, &build(Some("7"), "uuid", Some("140"))),
            "https://ci.example.com/free-commit/project/7/build/140"
        );
        assert_eq!(
            url(k, &api, None, &build(None, "uuid", None)),
            "https://ci.example.com/free-commit/project"
        );
    }

    #[test]
    fn nullplatform_links_go_to_the_console() {
        let api = u("https://ci.nullplatform.com");
        let k = Kind::Nullplatform;
        assert_eq!(
            url(k, &api, None, &build(Some("12"), "99", None)),
            "https://app.nullplatform.com/application/12/build/99"
        );
        // Self-hosted: the same host.
        let own = u("http://127.0.0.1:9000/nullplatform");
        assert_eq!(
            url(k, &own, None, &WebItem::Project { id: "3" }),
            "http://127.0.0.1:9000/nullplatform/application/3"
        );
    }

    #[test]
    fn aviator_links_go_to_the_app() {
        let api = u("https://api.aviator.co");
        let item = WebItem::Environment {
            project: "data pipeline",
            environment: "production",
        };
        assert_eq!(
            url(Kind::Aviator, &api, None, &item),
            "https://app.aviator.co/releases/data%20pipeline?environment=production"
        );
    }

    #[test]
    fn serverless_cd_links_drop_the_api_prefix() {
        let api = u("https://cd.example.net/api/flow");
        assert_eq!(
            url(
                Kind::ServerlessCd,
                &api,
                None,
                &build(Some("app-1"), "t-9", None)
            ),
            "https://cd.example.net/application/app-1/detail/task/t-9"
        );
    }

    #[test]
    fn candor_links_name_pipeline_and_run() {
        let api = u("https://candor.example.com");
        assert_eq!(
            url(Kind::Candor, &api, None, &build(Some("4"), "31", None)),
            "https://candor.example.com/pipeline/4/run/31"
        );
    }

    #[test]
    fn credentials_in_a_url_never_reach_a_link() {
        let api = u("https://alice:s3cret@ci.example.com/api-free-commit");
        let link = url(Kind::Freecommit, &api, None, &WebItem::Project { id: "7" });
        assert_eq!(link, "https://ci.example.com/free-commit/project/7");
        let web = u("https://bob:pw@ui.example.com/");
        let link = url(
            Kind::Freecommit,
            &api,
            Some(&web),
            &WebItem::Project { id: "7" },
        );
        assert!(!link.contains("pw") && !link.contains("bob"), "{link}");
    }

    #[test]
    fn web_url_replaces_the_root() {
        let api = u("https://ci.example.com/api-free-commit");
        let web = u("https://builds.example.com/ui/");
        assert_eq!(
            url(
                Kind::Freecommit,
                &api,
                Some(&web),
                &WebItem::Project { id: "7" }
            ),
            "https://builds.example.com/ui/free-commit/project/7"
        );
        // An item without a page of its own: the root.
        let api = u("https://cd.example.net");
        assert_eq!(
            url(
                Kind::ServerlessCd,
                &api,
                Some(&web),
                &build(None, "t", None)
            ),
            "https://builds.example.com/ui/"
        );
    }
}
