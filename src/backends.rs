//! The one table of backend kinds. A new backend is its client (`api/<kind>/`), its simulator
//! (`sim/<kind>/`, with a `demo.rs` for its demo profiles and printed config) and one row
//! here: its name in the config, its label, its config fields and their checks, how to connect,
//! and how its simulator mounts. Nothing in `ui/` or `app/` names a kind, and no other list of
//! kinds exists to keep in step.

use crate::api::{self, ApiError, Backend};
use crate::config::Profile;
use crate::sim::{self, SimHandle, SimOptions};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The backend kinds a profile can speak to (the rows of [`BACKENDS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Freecommit,
    Nullplatform,
    Aviator,
    ServerlessCd,
    Candor,
}

/// The config fields of a kind. Secret fields stand for `<f>`, `<f>_env`, `<f>_command`.
pub(crate) struct ConfigSchema {
    pub keys: &'static [&'static str],
    pub required: &'static [&'static str],
    /// The vendor's fixed host, when it has one (`url` may then be left out).
    pub default_url: Option<&'static str>,
    /// A problem with a URL that parses but cannot be right for this kind.
    pub url_problem: fn(&url::Url) -> Option<&'static str>,
    /// A problem with the profile as a whole (fields that go together), by profile name.
    pub profile_problem: fn(&str, &Profile) -> Option<String>,
}

/// A simulator's routes and the handle the control routes reset.
pub(crate) type Mounted = (axum::Router, Arc<dyn sim::Backend>);

/// How a kind's simulator joins the built-in simulator and the demo.
pub(crate) struct SimMount {
    /// Its routes, and the handle the control routes reset.
    pub mount: fn(Arc<sim::Core>, &SimOptions) -> Mounted,
    /// The lines `shipdeck simulate` prints for it (its URLs).
    pub describe: fn(&SimHandle) -> Vec<String>,
    /// Its profiles in `shipdeck demo`.
    pub demo: fn(&SimHandle) -> Vec<Profile>,
    /// Its part of the config `shipdeck simulate` prints (credentials as `_env` fields).
    pub printed: fn(&SimHandle) -> String,
}

pub(crate) struct Descriptor {
    pub kind: Kind,
    /// The spelling in the config file (`kind = "…"`).
    pub name: &'static str,
    /// The system's own name.
    pub label: &'static str,
    pub config: ConfigSchema,
    pub connect: fn(&Profile) -> Result<Arc<dyn Backend>, ApiError>,
    /// Where its web UI is and the paths of items there (`o`, `"url"` in `--json`); see
    /// `weblinks` for each kind's choice and where it comes from.
    pub web: crate::weblinks::WebUi,
    /// Reading the build queue costs a request per application and status (no cross-project
    /// list exists): the Builds pane then refreshes at the list pace, not every 1–2 s.
    pub queue_fans_out: bool,
    pub sim: SimMount,
}

fn no_url_problem(_: &url::Url) -> Option<&'static str> {
    None
}

fn no_profile_problem(_: &str, _: &Profile) -> Option<String> {
    None
}

/// Every backend, in the order the demo and `simulate` list them.
pub(crate) static BACKENDS: [Descriptor; 5] = [
    Descriptor {
        kind: Kind::Freecommit,
        name: "freecommit",
        label: "Free Commit",
        config: ConfigSchema {
            keys: &["username", "password"],
            required: &["url", "username", "password"],
            default_url: None,
            url_problem: no_url_problem,
            profile_problem: no_profile_problem,
        },
        connect: |p| Ok(Arc::new(api::freecommit::FreeCommit::new(p)?)),
        // Web UI: the host root without `/api-free-commit`; `free-commit/project/{id}[/build/{buildId}]`.
        queue_fans_out: false,
        web: crate::weblinks::WebUi {
            root: crate::weblinks::freecommit_root,
            path: crate::weblinks::freecommit_path,
        },
        sim: SimMount {
            mount: sim::freecommit::demo::mount,
            describe: sim::freecommit::demo::describe,
            demo: sim::freecommit::demo::profiles,
            printed: sim::freecommit::demo::printed,
        },
    },
    Descriptor {
        kind: Kind::Aviator,
        name: "aviator",
        label: "Aviator Releases",
        config: ConfigSchema {
            keys: &["token", "projects"],
            required: &["token"],
            default_url: Some("https://api.aviator.co"),
            url_problem: no_url_problem,
            profile_problem: |name, p| {
                p.projects.is_empty().then(|| {
                    format!("profile `{name}` (kind aviator) needs `projects`: Aviator cannot list them, e.g. projects = [ {{ name = \"web\", environments = [\"staging\", \"production\"] }} ]")
                })
            },
        },
        connect: |p| Ok(Arc::new(api::aviator::Aviator::new(p)?)),
        // Web UI: `app.aviator.co` for `api.aviator.co`; `releases/{project}?environment={env}`.
        queue_fans_out: false,
        web: crate::weblinks::WebUi {
            root: crate::weblinks::aviator_root,
            path: crate::weblinks::aviator_path,
        },
        sim: SimMount {
            mount: sim::aviator::demo::mount,
            describe: sim::aviator::demo::describe,
            demo: sim::aviator::demo::profiles,
            printed: sim::aviator::demo::printed,
        },
    },
    Descriptor {
        kind: Kind::ServerlessCd,
        name: "serverless-cd",
        label: "Serverless-cd",
        config: ConfigSchema {
            keys: &["token", "route_prefix"],
            required: &["url", "token"],
            default_url: None,
            url_problem: no_url_problem,
            profile_problem: no_profile_problem,
        },
        connect: |p| Ok(Arc::new(api::serverless_cd::ServerlessCd::new(p)?)),
        // Web UI: the API host without `/api/flow`; `application/{appId}/detail[/task/{taskId}]`.
        queue_fans_out: false,
        web: crate::weblinks::WebUi {
            root: crate::weblinks::serverless_cd_root,
            path: crate::weblinks::serverless_cd_path,
        },
        sim: SimMount {
            mount: sim::serverless_cd::demo::mount,
            describe: sim::serverless_cd::demo::describe,
            demo: sim::serverless_cd::demo::profiles,
            printed: sim::serverless_cd::demo::printed,
        },
    },
    Descriptor {
        kind: Kind::Nullplatform,
        name: "nullplatform",
        label: "nullplatform",
        config: ConfigSchema {
            keys: &["api_key"],
            required: &["api_key"],
            default_url: Some("https://ci.nullplatform.com"),
            url_problem: |u| {
                (u.host_str() == Some("api.nullplatform.com")).then_some(
                    "api.nullplatform.com is the public API, which has no /login; the CI API is https://ci.nullplatform.com",
                )
            },
            profile_problem: no_profile_problem,
        },
        connect: |p| Ok(Arc::new(api::nullplatform::Nullplatform::new(p)?)),
        // Web UI: `app.nullplatform.com` for the CI host; `application/{id}[/build/{buildId}]`.
        queue_fans_out: true,
        web: crate::weblinks::WebUi {
            root: crate::weblinks::nullplatform_root,
            path: crate::weblinks::nullplatform_path,
        },
        sim: SimMount {
            mount: sim::nullplatform::demo::mount,
            describe: sim::nullplatform::demo::describe,
            demo: sim::nullplatform::demo::profiles,
            printed: sim::nullplatform::demo::printed,
        },
    },
    Descriptor {
        kind: Kind::Candor,
        name: "candor",
        label: "Candor",
        config: ConfigSchema {
            keys: &["username", "password", "runner_url", "runner_token"],
            // No username: an anonymous profile, public pipelines only (`api/candor.md` §11 R12).
            required: &["url"],
            default_url: None,
            url_problem: no_url_problem,
            profile_problem: |name, p| match (p.username.is_some(), p.password.is_some()) {
                (true, false) => Some(format!(
                    "profile `{name}` (kind candor) sets username but no password: add `password_env` or `password_command`, or drop username for public pipelines only"
                )),
                (false, true) => Some(format!(
                    "profile `{name}` (kind candor) sets a password but no username: add `username = \"…\"`"
                )),
                _ => None,
            },
        },
        connect: |p| Ok(Arc::new(api::candor::Candor::new(p)?)),
        // Web UI: the dashboard's host; `pipeline/{id}[/run/{runId}]`.
        queue_fans_out: false,
        web: crate::weblinks::WebUi {
            root: crate::weblinks::candor_root,
            path: crate::weblinks::candor_path,
        },
        sim: SimMount {
            mount: sim::candor::demo::mount,
            describe: sim::candor::demo::describe,
            demo: sim::candor::demo::profiles,
            printed: sim::candor::demo::printed,
        },
    },
];

impl Kind {
    /// Every kind, in table order.
    pub fn all() -> impl Iterator<Item = Kind> {
        BACKENDS.iter().map(|d| d.kind)
    }

    /// This kind's row of the table.
    pub(crate) fn descriptor(self) -> &'static Descriptor {
        // Every variant has its row (a unit test checks); the first row is never reached.
        BACKENDS
            .iter()
            .find(|d| d.kind == self)
            .unwrap_or(&BACKENDS[0])
    }

    /// The spelling used in the config file (`kind = "…"`).
    pub fn as_str(self) -> &'static str {
        self.descriptor().name
    }

    pub fn parse(s: &str) -> Option<Kind> {
        BACKENDS.iter().find(|d| d.name == s).map(|d| d.kind)
    }

    /// Human name of the system.
    pub(crate) fn label(self) -> &'static str {
        self.descriptor().label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_its_name_round_trips() {
        for k in [
            Kind::Freecommit,
            Kind::Nullplatform,
            Kind::Aviator,
            Kind::ServerlessCd,
            Kind::Candor,
        ] {
            assert_eq!(BACKENDS.iter().filter(|d| d.kind == k).count(), 1, "{k:?}");
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            // The config spelling is serde's spelling.
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(Kind::all().count(), BACKENDS.len());
    }
}
