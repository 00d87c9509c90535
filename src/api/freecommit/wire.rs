//! Free Commit's JSON exactly as the server sends it (`api/freecommit.md` §5–§6). Lenient where
//! the contract says types vary: ids may come as numbers or strings, absent = null.

use serde::{Deserialize, Deserializer};

/// An id that may arrive as a number or a string; kept as an opaque string.
pub fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        N(i64),
        S(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::N(n) => n.to_string(),
        Id::S(s) => s,
    })
}

#[derive(Debug, Deserialize)]
pub struct TokenReply {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// Spring's error JSON, or the bare `{"message"}` of login failures.
#[derive(Debug, Deserialize, Default)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserInfo {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Claims of the HS512 JWT (only what the client reads).
#[derive(Debug, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The pagination envelope; `data` is the only key the client trusts.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub struct ProjectRow {
    #[serde(deserialize_with = "id_string")]
    pub project_id: String,
    pub project_name: String,
    #[serde(default)]
    pub build_last_exit_code: Option<i64>,
    #[serde(default)]
    pub build_last_exit_message: Option<String>,
    #[serde(default)]
    pub build_last_created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeveloperRow {
    #[serde(deserialize_with = "id_string")]
    pub developer_id: String,
    #[serde(default)]
    pub user_username: Option<String>,
    #[serde(default)]
    pub developer_email: Option<String>,
    #[serde(default)]
    pub user_role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SecretRow {
    #[serde(deserialize_with = "id_string")]
    pub secret_id: String,
    pub secret_name: String,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub secret_scope: Option<String>,
}
