//! nullplatform CI API JSON as the server sends it (`api/nullplatform.md` §5, §9, §11), decoded
//! tolerantly (`api::tolerant`, issue 9): ids as numbers or strings, numbers as numeric
//! strings, absent = `null`, optional arrays absent/`null`/`[]`, nested objects of an odd shape
//! dropped, unknown keys ignored. Only an `id` is required of an application, a build or an
//! asset. Parameter values are held in a type whose `Debug` never shows them.

use crate::api::ids::id_string;
use crate::api::tolerant::{opt_bool, opt_string, or_default, records};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorBody {
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CodeRepository {
    #[serde(default, deserialize_with = "opt_string")]
    pub url: Option<String>,
}

/// An application: only `id` is required (§5 asks for `id` and `name`; a nameless row is
/// shown by its slug or id rather than dropped).
#[derive(Debug, Deserialize)]
pub struct Application {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub code_repository: Option<CodeRepository>,
    #[serde(default, deserialize_with = "opt_string")]
    pub repository_url: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub code_repository_app_path: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub repository_app_path: Option<String>,
}

impl Application {
    /// `name`, else the slug, else `application <id>`.
    pub(crate) fn display_name(&self) -> String {
        self.name
            .as_deref()
            .or(self.slug.as_deref())
            .filter(|n| !n.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("application {}", self.id))
    }

    /// `code_repository.url`, else `repository_url` (§5).
    pub fn repository(&self) -> Option<&str> {
        self.code_repository
            .as_ref()
            .and_then(|c| c.url.as_deref())
            .or(self.repository_url.as_deref())
            .filter(|s| !s.is_empty())
    }

    pub(crate) fn app_path(&self) -> Option<&str> {
        self.code_repository_app_path
            .as_deref()
            .or(self.repository_app_path.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// A parameter value: never printed by `Debug`. A number or boolean value is kept as text.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub(crate) struct Masked(#[serde(deserialize_with = "masked")] pub Option<String>);

fn masked<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    // `opt_string` logs only the kind of an odd value, never the value.
    opt_string(d)
}

impl std::fmt::Debug for Masked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[value]")
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Parameter {
    /// A parameter without a name cannot be used (it is an environment-variable name).
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Masked,
    /// Absent means not marked secret; the client still treats a missing flag as secret.
    #[serde(default, deserialize_with = "opt_bool")]
    pub secret: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Commit {
    #[serde(default, deserialize_with = "opt_string")]
    pub id: Option<String>,
}

/// A build. Real clients read only `id`, `status` and `application_id` (§11 C4); the rest is
/// what the simulator (and maybe the server) adds, all optional.
#[derive(Debug, Deserialize)]
pub struct Build {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// An optional id: a number or a string, as a string (odd shapes are dropped).
    #[serde(default, deserialize_with = "opt_string")]
    pub application_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub branch: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub commit: Option<Commit>,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Target {
    #[serde(default, deserialize_with = "opt_string")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub provider: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Asset {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub build_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "opt_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "records")]
    pub targets: Vec<Target>,
}
