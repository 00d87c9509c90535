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

/// Log in again this long before a known expiry (at most; see [`margin`]).
pub(crate) const EXPIRY_MARGIN_SECS: i64 = 60;

/// How long before expiry a token of `lifetime` seconds is renewed: a minute, or a quarter of
/// a short lifetime, so that a token of 60 s or less is still reused for most of its life
/// instead of one login per request.
pub(crate) fn margin(lifetime: i64) -> i64 {
    EXPIRY_MARGIN_SECS.min(lifetime.max(0) / 4)
}

/// What a login gave: the token, when it expires (local-clock epoch seconds, if known) and
/// whatever else the backend keeps from it.
pub struct Token<X> {
    pub value: SecretString,
    pub exp: Option<i64>,
    pub extra: X,
}

pub(crate) struct TokenSlot<X> {
    slot: Mutex<Held<X>>,
}

/// The token (with when it was issued, local epoch seconds) and the login backoff.
struct Held<X> {
    token: Option<(Token<X>, i64)>,
    gate: super::login_gate::LoginGate,
}

impl<X> Held<X> {
    fn fresh(&self, now: i64) -> Option<&Token<X>> {
        let (t, issued) = self.token.as_ref()?;
        let ok = t.exp.is_none_or(|exp| now < exp - margin(exp - issued));
        ok.then_some(t)
    }

    /// Log in through the backoff gate and keep the token.
    async fn login<F, Fut>(&mut self, login: F) -> Result<SecretString, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token<X>, ApiError>>,
    {
        let at = Utc::now().timestamp();
        let t = issued(self.gate.run(login()).await?);
        let value = t.value.clone();
        self.token = Some((t, at));
        Ok(value)
    }
}

impl<X> Default for TokenSlot<X> {
    fn default() -> Self {
        TokenSlot {
            slot: Mutex::new(Held {
                token: None,
                gate: Default::default(),
            }),
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
        if let Some(t) = guard.fresh(Utc::now().timestamp()) {
            return Ok(t.value.clone());
        }
        guard.login(login).await
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
        match guard.token.as_ref() {
            Some((t, _)) if t.value.expose_secret() != stale.expose_secret() => Ok(t.value.clone()),
            _ => {
                tracing::info!("token rejected (401); logging in again");
                guard.login(login).await
            }
        }
    }

    /// Read what the last login kept.
    pub async fn with<R>(&self, f: impl FnOnce(Option<&Token<X>>) -> R) -> R {
        f(self.slot.lock().await.token.as_ref().map(|(t, _)| t))
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
        let lr: LoginReply = crate::api::http::json_lossy(&reply.body).map_err(|e| {
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
    fn short_lifetimes_keep_most_of_their_life() {
        assert_eq!(margin(3600), 60);
        assert_eq!(margin(240), 60);
        assert_eq!(margin(60), 15);
        assert_eq!(margin(4), 1);
        assert_eq!(margin(-5), 0);
    }

    #[tokio::test]
    async fn a_sixty_second_token_is_reused() {
        let slot: TokenSlot<()> = TokenSlot::default();
        let logins = std::sync::atomic::AtomicU32::new(0);
        let login = || async {
            logins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Token {
                value: SecretString::from("t"),
                exp: Some(Utc::now().timestamp() + 60),
                extra: (),
            })
        };
        for _ in 0..20 {
            slot.current(login).await.unwrap();
        }
        assert_eq!(logins.load(std::sync::atomic::Ordering::SeqCst), 1);
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
