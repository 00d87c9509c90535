//! The fault layer: an axum middleware applied to every backend router (never
//! to `/__sim/*`). Draws come from the core's fault PRNG, so a given seed and
//! request sequence produces the same faults. Delays (latency, jitter, hang)
//! are real time: they exist to exercise the client's timeouts.
//!
//! The backends with their own fault table (Aviator, Candor, nullplatform) build it from the
//! same pieces: [`Dice`] for the draws and delays in the shared order, [`truncate`] and
//! [`rewrite_body`] for a malformed answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::reply::{dropped, with_body};
use super::{Core, FaultSet};

/// How one backend renders the generic faults.
pub(crate) trait FaultStyle: Send + Sync + 'static {
    /// Backend kind, used to resolve scoped keys (`freecommit.error_rate`).
    fn kind(&self) -> &'static str;
    /// The `n`-th injected server error for a request to `path`.
    fn error_response(&self, n: u64, path: &str, now_ns: i64) -> Response;
    /// A rate-limit answer.
    fn rate_limited(&self, retry_after: u64) -> Response;
}

#[derive(Clone)]
pub(crate) struct FaultLayerState {
    pub core: Arc<Core>,
    pub style: Arc<dyn FaultStyle>,
}

impl Core {
    /// The simulated instant from which `expire_tokens_at` revokes the tokens of `kind`.
    pub(crate) fn token_cut(&self, kind: &str) -> Option<i64> {
        self.faults_for(kind)
            .expire_tokens_at
            .map(|d| self.clock.start_ns() + d.as_nanos() as i64)
    }
}

/// One request's faults and draws, in the order every fault table uses.
pub(crate) struct Dice<'a> {
    core: &'a Core,
    pub faults: FaultSet,
}

impl<'a> Dice<'a> {
    pub fn new(core: &'a Core, kind: &str) -> Self {
        Dice {
            core,
            faults: core.faults_for(kind),
        }
    }

    /// One uniform draw in `[0, 1)`.
    pub fn draw(&self) -> f64 {
        self.core.fault_draw()
    }

    /// Whether a fault of `rate` happens (no draw when the rate is unset or zero).
    pub fn roll(&self, rate: Option<f64>) -> bool {
        rate.is_some_and(|r| r > 0.0 && self.draw() < r)
    }

    /// The hang (rolled only when `may_hang`), then latency plus jitter: real time.
    pub async fn wait(&self, may_hang: bool) {
        if may_hang && self.roll(self.faults.hang_rate) {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        let mut delay = self.faults.latency.unwrap_or_default();
        if let Some(j) = self.faults.jitter.filter(|j| !j.is_zero()) {
            delay += j.mul_f64(self.draw());
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// The `Retry-After` seconds of a rate-limit answer.
    pub fn retry_after(&self) -> u64 {
        self.faults.retry_after.unwrap_or(2)
    }
}

/// Whether an answer is a JSON document (by its `Content-Type`).
pub(crate) fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `bytes` cut somewhere inside (at least one byte kept, at least one dropped); `draw` is
/// called only when there is a place to cut. Empty for a body of at most one byte.
pub(crate) fn truncate(bytes: &Bytes, draw: impl FnOnce() -> f64) -> Bytes {
    let len = bytes.len();
    if len <= 1 {
        return Bytes::new();
    }
    let cut = (1 + (draw() * (len - 1) as f64) as usize).min(len - 1);
    bytes.slice(..cut)
}

/// `resp` with its body read and replaced by `bad(body)`; `None` when the body cannot be read.
pub(crate) async fn rewrite_body(
    resp: Response,
    bad: impl FnOnce(Bytes) -> Bytes,
) -> Option<Response> {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.ok()?;
    Some(with_body(parts, bad(bytes)))
}

/// Reads (and drops) a request's body: the server read the request before closing.
pub async fn drain(req: Request) {
    let _ = axum::body::to_bytes(req.into_body(), 16 << 20).await;
}

pub(crate) async fn fault_middleware(
    State(st): State<FaultLayerState>,
    req: Request,
    next: Next,
) -> Response {
    let dice = Dice::new(&st.core, st.style.kind());

    if dice.roll(dice.faults.reset_rate) {
        // Read the request body first ("socket closed after the request is read").
        drain(req).await;
        return dropped();
    }
    dice.wait(true).await;
    if dice.roll(dice.faults.rate_limit) {
        return st.style.rate_limited(dice.retry_after());
    }
    if dice.roll(dice.faults.error_rate) {
        let n = st.core.next_error_serial();
        let path = req.uri().path().to_string();
        return st.style.error_response(n, &path, st.core.clock.now_ns());
    }
    let malformed = dice.roll(dice.faults.malformed_rate);
    let resp = next.run(req).await;
    if !malformed || !resp.status().is_success() || !is_json(&resp) {
        return resp;
    }
    match rewrite_body(resp, |b| truncate(&b, || dice.draw())).await {
        Some(mut r) => {
            *r.status_mut() = StatusCode::OK;
            r
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_at_least_one_byte_and_drops_one() {
        let b = Bytes::from_static(b"{\"a\":1}");
        assert_eq!(truncate(&b, || 0.0), Bytes::from_static(b"{"));
        assert_eq!(truncate(&b, || 0.999_999), Bytes::from_static(b"{\"a\":1"));
        assert_eq!(truncate(&b, || 0.5), Bytes::from_static(b"{\"a\""));
        let mut drawn = false;
        assert!(
            truncate(&Bytes::from_static(b"x"), || {
                drawn = true;
                0.5
            })
            .is_empty()
        );
        assert!(!drawn, "no draw without a place to cut");
    }
}
