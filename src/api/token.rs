//! A bearer token obtained by logging in, shared by the requests of one profile: reused while
//! fresh, renewed once when it is about to expire or the server rejects it (and only once when
//! several requests hit the 401 together), replayed once. Free Commit and nullplatform both
//! follow this policy (their contracts, §2).

use super::ApiError;
use super::http::{Http, Reply, Request};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use tokio::sync::Mutex;

/// Log in again this long before a known expiry.
pub const EXPIRY_MARGIN_SECS: i64 = 60;

/// What a login gave: the token, when it expires (local-clock epoch seconds, if known) and
/// whatever else the backend keeps from it.
pub struct Token<X> {
    pub value: SecretString,
    pub exp: Option<i64>,
    pub extra: X,
}

pub struct TokenSlot<X> {
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
            _ => Ok(guard.insert(login().await?).value.clone()),
        }
    }

    /// After a 401 with `stale`: log in again unless another request already did.
    pub async fn renew<F, Fut>(
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
                Ok(guard.insert(login().await?).value.clone())
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
}
