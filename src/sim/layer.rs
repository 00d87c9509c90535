//! The fault layer: an axum middleware applied to every backend router (never
//! to `/__sim/*`). Draws come from the core's fault PRNG, so a given seed and
//! request sequence produces the same faults. Delays (latency, jitter, hang)
//! are real time: they exist to exercise the client's timeouts.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Core;

/// How one backend renders the generic faults.
pub trait FaultStyle: Send + Sync + 'static {
    /// Backend kind, used to resolve scoped keys (`freecommit.error_rate`).
    fn kind(&self) -> &'static str;
    /// The `n`-th injected server error for a request to `path`.
    fn error_response(&self, n: u64, path: &str, now_ns: i64) -> Response;
    /// A rate-limit answer.
    fn rate_limited(&self, retry_after: u64) -> Response;
}

#[derive(Clone)]
pub struct FaultLayerState {
    pub core: Arc<Core>,
    pub style: Arc<dyn FaultStyle>,
}

/// A body that fails before producing any byte: hyper then drops the connection
/// without writing the response head, which the client sees as a reset.
fn reset_body() -> Body {
    Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    }))
}

pub async fn fault_middleware(
    State(st): State<FaultLayerState>,
    req: Request,
    next: Next,
) -> Response {
    let faults = st.core.faults_for(st.style.kind());
    let roll = |rate: Option<f64>| rate.is_some_and(|r| r > 0.0 && st.core.fault_draw() < r);

    if roll(faults.reset_rate) {
        // Read the request body first ("socket closed after the request is read").
        let _ = axum::body::to_bytes(req.into_body(), 16 << 20).await;
        return Response::new(reset_body());
    }
    if roll(faults.hang_rate) {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let mut delay = faults.latency.unwrap_or_default();
    if let Some(j) = faults.jitter.filter(|j| !j.is_zero()) {
        delay += j.mul_f64(st.core.fault_draw());
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if roll(faults.rate_limit) {
        return st.style.rate_limited(faults.retry_after.unwrap_or(2));
    }
    if roll(faults.error_rate) {
        let n = st.core.next_error_serial();
        let path = req.uri().path().to_string();
        return st.style.error_response(n, &path, st.core.clock.now_ns());
    }
    let malformed = roll(faults.malformed_rate);
    let resp = next.run(req).await;
    if !malformed || !resp.status().is_success() {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let cut = if bytes.len() > 1 {
        1 + (st.core.fault_draw() * (bytes.len() - 1) as f64) as usize
    } else {
        0
    };
    let cut = cut.min(bytes.len().saturating_sub(1));
    let body = bytes.slice(..cut);
    parts.status = StatusCode::OK;
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from_str(&body.len().to_string()).unwrap_or(HeaderValue::from_static("0")),
    );
    Response::from_parts(parts, Body::from(body))
}
