//! A bearer token obtained by logging in, shared by the requests of one profile: reused while
//! fresh, renewed once when it is about to expire or the server rejects it (and only once when
//! several requests hit the 401 together), replayed once. Free Commit and nullplatform both
//! follow this policy (their contracts, §2).

use super::ApiError;
use super::http::{Http, Reply, Request};
use super::tolerant::opt_i64;
use base64::Engine;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use tokio::sync::Mutex;

/// Log in again this long before a known expiry.
pub(crate) const EXPIRY_MARGIN_SECS: i64 = 60;

/// What a login gave: the token, when it expires (local-clock epoch seconds, if known) and
/// whatever else the backend keeps from it.
pub struct Token<X> {
    pub value: SecretString,
    pub exp: Option<i64>,
    pub extra: X,
}

pub(crate) struct TokenSlot<X> {
    slot: Mutex<Option<Token<X>>>,
}

impl<X> Default for TokenSlot<X> {
    fn default() -> Self {
        TokenSlot {
            slot: Mutex::new(None),
        }
    }
}

impl<X> TokenSlot<X> {
    /// The current token, logging in with `login` when there is none or it is about to expire.
    pub async fn current<F, Fut>(&self, login: F) -> Result<SecretString, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token<X>, ApiError>>,
    {
        let mut guard = self.slot.lock().await;
        let now = Utc::now().timestamp();
        let fresh = guard
            .as_ref()
            .is_some_and(|t| t.exp.is_none_or(|exp| now < exp - EXPIRY_MARGIN_SECS));
        match guard.as_ref() {
            Some(t) if fresh => Ok(t.value.clone()),
            _ => Ok(guard.insert(issued(login().await?)).value.clone()),
        }
    }

    /// After a 401 with `stale`: log in again unless another request already did.
    pub(crate) async fn renew<F, Fut>(
        &self,
        stale: &SecretString,
        login: F,
    ) -> Result<SecretString, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token<X>, ApiError>>,
    {
        let mut guard = self.slot.lock().await;
        let same = guard
            .as_ref()
            .is_none_or(|t| t.value.expose_secret() == stale.expose_secret());
        match guard.as_ref() {
            Some(t) if !same => Ok(t.value.clone()),
            _ => {
                tracing::info!("token rejected (401); logging in again");
                Ok(guard.insert(issued(login().await?)).value.clone())
            }
        }
    }

    /// Read what the last login kept.
    pub async fn with<R>(&self, f: impl FnOnce(Option<&Token<X>>) -> R) -> R {
        f(self.slot.lock().await.as_ref())
    }

    /// Send `req` with the token; on a 401 log in once and replay once. The second reply is
    /// returned as it is (a second 401 is for the caller to report).
    pub async fn send<F, Fut>(&self, http: &Http, req: Request, login: F) -> Result<Reply, ApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Token<X>, ApiError>>,
    {
        let token = self.current(&login).await?;
        let reply = http.send(&req.clone().bearer(&token)).await?;
        if reply.status != 401 {
            return Ok(reply);
        }
        let token = self.renew(&token, &login).await?;
        http.send(&req.bearer(&token)).await
    }

    /// [`send`](Self::send), a second 401 (right after a fresh login) being an `Auth` error
    /// with the server's `words` where it gave some.
    pub(crate) async fn send_checked<F, Fut>(
        &self,
        http: &Http,
        req: Request,
        login: F,
        words: impl FnOnce(&Reply) -> Option<String>,
    ) -> Result<Reply, ApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Token<X>, ApiError>>,
    {
        let reply = self.send(http, req, login).await?;
        if reply.status != 401 {
            return Ok(reply);
        }
        let again = "the server rejected the session again right after a fresh login";
        Err(ApiError::Auth(match words(&reply) {
            Some(w) => format!("{again}: {w}"),
            None => again.to_string(),
        }))
    }
}

/// A token just issued: known to the redactor from now on (`crate::safe`).
fn issued<X>(t: Token<X>) -> Token<X> {
    crate::safe::register_issued(t.value.expose_secret());
    t
}

/// A login reply: the token and, when the server says, its lifetime in seconds (Free Commit's
/// `/auth/token`, nullplatform's `/login`). `Debug` never shows the token.
#[derive(Deserialize)]
pub(crate) struct LoginReply {
    pub access_token: String,
    #[serde(default, deserialize_with = "opt_i64")]
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

impl LoginReply {
    /// Decode a successful login reply; a bad one is a `Decode` error that never quotes the
    /// body (it may hold a token).
    pub(crate) fn from_reply(reply: &Reply) -> Result<LoginReply, ApiError> {
        let lr: LoginReply = serde_json::from_slice(&reply.body).map_err(|e| {
            ApiError::Decode(format!("the login reply is not the expected JSON ({e})"))
        })?;
        if lr.access_token.is_empty() {
            return Err(ApiError::Decode(
                "the login reply has an empty access_token".into(),
            ));
        }
        Ok(lr)
    }

    /// When the token expires, on this machine's clock (see [`expiry`]).
    pub fn expiry(&self, now: i64) -> Option<i64> {
        expiry(&self.access_token, self.expires_in, now)
    }
}

/// The claims of a JWT's payload (`header.payload.signature`); `None` for an opaque token.
pub(crate) fn jwt_claims<T: DeserializeOwned>(jwt: &str) -> Option<T> {
    let mut parts = jwt.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The lifetime claims of a JWT.
#[derive(Debug, Deserialize)]
struct Lifetime {
    #[serde(default, deserialize_with = "opt_i64")]
    iat: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    exp: Option<i64>,
}

/// Expiry on this machine's clock (epoch seconds): `now + expires_in`, else `now +` the JWT's
/// lifetime (`exp - iat`), else its absolute `exp`; `None` when the token says nothing (opaque
/// tokens). Comparing the server's `exp` with the local clock would treat every token as stale
/// whenever the two clocks disagree, so the lifetime is preferred.
pub fn expiry(token: &str, expires_in: Option<i64>, now: i64) -> Option<i64> {
    if let Some(s) = expires_in {
        return Some(now + s);
    }
    let claims: Lifetime = jwt_claims(token)?;
    match (claims.iat, claims.exp) {
        (Some(iat), Some(exp)) => Some(now + (exp - iat)),
        (None, Some(exp)) => Some(exp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"HS256"}"#), b(claims))
    }

    #[test]
    fn expiry_from_expires_in_or_jwt() {
        assert_eq!(expiry("npat_opaque", None, 1000), None);
        assert_eq!(expiry("npat_opaque", Some(300), 1000), Some(1300));
        assert_eq!(
            expiry(&jwt(r#"{"iat":50,"exp":150}"#), None, 1000),
            Some(1100)
        );
        assert_eq!(expiry(&jwt(r#"{"exp":5000}"#), None, 1000), Some(5000));
        assert_eq!(expiry(&jwt(r#"{"exp":"5000"}"#), None, 1000), Some(5000));
        assert_eq!(expiry("a.!!!.c", None, 1000), None);
    }

    #[test]
    fn login_replies_never_show_the_token() {
        let r = crate::api::http::test_reply(
            200,
            "application/json",
            r#"{"access_token":"s3cret","expires_in":"60"}"#,
        );
        let lr = LoginReply::from_reply(&r).unwrap();
        assert_eq!(lr.expires_in, Some(60));
        assert!(!format!("{lr:?}").contains("s3cret"));
        let r = crate::api::http::test_reply(
            200,
            "application/json",
            r#"{"access_token":7,"x":"s3cret"}"#,
        );
        let e = LoginReply::from_reply(&r).unwrap_err();
        assert!(
            matches!(&e, ApiError::Decode(m) if !m.contains("s3cret")),
            "{e:?}"
        );
        let r = crate::api::http::test_reply(200, "application/json", r#"{"access_token":""}"#);
        assert!(LoginReply::from_reply(&r).is_err());
    }
}
