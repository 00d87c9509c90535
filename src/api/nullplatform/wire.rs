//! nullplatform CI API JSON as the server sends it (`api/nullplatform.md` §5, §9). Lenient:
//! ids as numbers or strings, absent = null, unknown keys ignored. Parameter values are held
//! in a type whose `Debug` never shows them.

use crate::api::ids::{id_string, opt_id_string};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LoginReply {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for LoginReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginReply")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Claims of a JWT access token (only what expiry needs).
#[derive(Debug, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub exp: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeRepository {
    #[serde(default)]
    pub url: Option<String>,
}

/// An application: only `id` and `name` are required (§5).
#[derive(Debug, Deserialize)]
pub struct Application {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub code_repository: Option<CodeRepository>,
    #[serde(default)]
    pub repository_url: Option<String>,
    #[serde(default)]
    pub code_repository_app_path: Option<String>,
    #[serde(default)]
    pub repository_app_path: Option<String>,
}

impl Application {
    /// `code_repository.url`, else `repository_url` (§5).
    pub fn repository(&self) -> Option<&str> {
        self.code_repository
            .as_ref()
            .and_then(|c| c.url.as_deref())
            .or(self.repository_url.as_deref())
            .filter(|s| !s.is_empty())
    }

    pub fn app_path(&self) -> Option<&str> {
        self.code_repository_app_path
            .as_deref()
            .or(self.repository_app_path.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// A parameter value: never printed by `Debug`.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct Masked(pub Option<String>);

impl std::fmt::Debug for Masked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[value]")
    }
}

#[derive(Debug, Deserialize)]
pub struct Parameter {
    pub name: String,
    #[serde(default)]
    pub value: Masked,
    /// Absent means not marked secret; the client still treats a missing flag as secret.
    #[serde(default)]
    pub secret: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Commit {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Build {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub application_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub commit: Option<Commit>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The public-API list envelope, or a bare array (§9 #6: clients accept both).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Listing<T> {
    Bare(Vec<T>),
    Paged {
        #[serde(default)]
        paging: Option<Paging>,
        results: Vec<T>,
    },
}

#[derive(Debug, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub total: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Asset {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub build_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub targets: Vec<Target>,
}
