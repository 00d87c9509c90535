//! The one HTTP client layer: per-call timeouts, retries with backoff for idempotent requests
//! only, `Retry-After` on 429, a user agent, and transport errors turned into `ApiError`s.
//! Backend modules build `Request`s and map `Reply`s (status + body) with their own error shapes.

use super::ApiError;
use crate::config::Profile;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

pub(crate) const USER_AGENT: &str = concat!("shipdeck/", env!("CARGO_PKG_VERSION"));

/// How reads are retried (`api/README.md`, client conventions).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub tries: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Upper bound for a server-provided `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            tries: 4,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A request, kept as data so it can be replayed (retry, re-login).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// Appended verbatim to the profile's base URL; segments already percent-encoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub json: Option<serde_json::Value>,
    /// `Authorization`-like headers; values are marked sensitive so they never appear in debug output.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Reads may be retried; writes only when the connection failed before sending.
    pub idempotent: bool,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            json: None,
            headers: Vec::new(),
            idempotent: true,
        }
    }

    pub fn write(
        method: Method,
        path: impl Into<String>,
        json: Option<serde_json::Value>,
    ) -> Request {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            json,
            headers: Vec::new(),
            idempotent: false,
        }
    }

    pub fn query(mut self, k: impl Into<String>, v: impl Into<String>) -> Request {
        self.query.push((k.into(), v.into()));
        self
    }

    /// Attach `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer(mut self, token: &SecretString) -> Request {
        self.headers
            .retain(|(n, _)| n != reqwest::header::AUTHORIZATION);
        if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
            v.set_sensitive(true);
            self.headers.push((reqwest::header::AUTHORIZATION, v));
        }
        self
    }
}

/// A complete answer: status and the whole body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn is_json(&self) -> bool {
        self.content_type.contains("json")
    }

    /// Decode the body; a bad body is a `Decode` error, never a panic.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::Decode(format!(
                "HTTP {} body is not the expected JSON ({e}); it starts with: {}",
                self.status,
                self.snippet()
            ))
        })
    }

    /// A success reply's JSON; any other answer as the backend's error (`map_error`).
    pub(crate) fn json_or<T: serde::de::DeserializeOwned>(
        &self,
        map_error: impl FnOnce(&Reply) -> ApiError,
    ) -> Result<T, ApiError> {
        if !self.is_success() {
            return Err(map_error(self));
        }
        self.json()
    }

    /// The first 200 bytes of the body as one line of text, for error messages.
    pub(crate) fn snippet(&self) -> String {
        let cut = self.body.get(..200).unwrap_or(&self.body);
        let text: String = String::from_utf8_lossy(cut)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            "(empty body)".to_string()
        } else {
            text
        }
    }
}

/// The shared HTTP client of one profile.
pub struct Http {
    client: reqwest::Client,
    base: String,
    timeout: Duration,
    policy: RetryPolicy,
}

/// reqwest is built without a default crypto provider (ring instead of aws-lc keeps the build
/// fast); every process must install one before the first client.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Http {
    pub fn new(profile: &Profile) -> Result<Http, ApiError> {
        Http::with_base(
            profile.url.as_str(),
            Duration::from_secs(profile.timeout_secs),
            profile.ca_file.as_deref(),
            profile.insecure,
        )
    }

    pub fn with_base(
        base: &str,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
        insecure: bool,
    ) -> Result<Http, ApiError> {
        Http::build(base, timeout, ca_file, insecure, None, true)
    }

    /// Like [`Http::new`], but a 3xx answer comes back as it is instead of being followed
    /// (Serverless-cd answers a request without a usable token with a 302 to its login page).
    pub(crate) fn new_without_redirects(profile: &Profile) -> Result<Http, ApiError> {
        Http::build(
            profile.url.as_str(),
            Duration::from_secs(profile.timeout_secs),
            profile.ca_file.as_deref(),
            profile.insecure,
            None,
            false,
        )
    }

    /// Like [`Http::with_base`], without following redirects.
    pub fn with_base_without_redirects(
        base: &str,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
        insecure: bool,
    ) -> Result<Http, ApiError> {
        Http::build(base, timeout, ca_file, insecure, None, false)
    }

    /// Like `with_base`, with a cookie store: `Set-Cookie` answers are kept in `jar` and sent
    /// back on later requests (Candor's session cookie). One jar per profile.
    pub(crate) fn with_cookies(
        base: &str,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
        insecure: bool,
        jar: std::sync::Arc<reqwest::cookie::Jar>,
    ) -> Result<Http, ApiError> {
        Http::build(base, timeout, ca_file, insecure, Some(jar), true)
    }

    fn build(
        base: &str,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
        insecure: bool,
        jar: Option<std::sync::Arc<reqwest::cookie::Jar>>,
        follow_redirects: bool,
    ) -> Result<Http, ApiError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .danger_accept_invalid_certs(insecure);
        if !follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        if let Some(jar) = jar {
            builder = builder.cookie_provider(jar);
        }
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                ApiError::Config(format!("cannot read ca_file {}: {e}", path.display()))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                ApiError::Config(format!(
                    "ca_file {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| ApiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_string(),
            timeout,
            policy: RetryPolicy::default(),
        })
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Http {
        self.policy = policy;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The underlying client (same TLS settings and cookie store), for streaming a body to
    /// disk, which `send` (whole bodies) cannot do. No retries or timeouts are applied.
    pub(crate) fn raw_client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Send with the retry policy. HTTP error statuses are returned as `Reply`s for the backend
    /// to interpret; only transport failures (after retries) become errors here.
    pub async fn send(&self, req: &Request) -> Result<Reply, ApiError> {
        let url = format!("{}{}", self.base, req.path);
        let mut delay = self.policy.first_delay;
        let mut attempt = 1;
        loop {
            let mut headers = HeaderMap::new();
            for (n, v) in &req.headers {
                headers.insert(n.clone(), v.clone());
            }
            let mut rb = self
                .client
                .request(req.method.clone(), &url)
                .headers(headers)
                .timeout(self.timeout);
            if !req.query.is_empty() {
                rb = rb.query(&req.query);
            }
            if let Some(body) = &req.json {
                rb = rb.json(body);
            }
            let last = attempt >= self.policy.tries;
            match rb.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if req.idempotent && !last && super::errors::retryable_status(status) {
                        let wait = if status == 429 {
                            retry_after(resp.headers())
                                .unwrap_or(delay)
                                .min(self.policy.max_retry_after)
                        } else {
                            delay
                        };
                        tracing::debug!(%status, attempt, ?wait, path = %req.path, "retrying");
                        tokio::time::sleep(wait).await;
                        delay = (delay * 2).min(self.policy.max_delay);
                        attempt += 1;
                        continue;
                    }
                    let content_type = resp
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    match resp.bytes().await {
                        Ok(body) => {
                            return Ok(Reply {
                                status,
                                content_type,
                                body: body.to_vec(),
                            });
                        }
                        Err(e) if req.idempotent && !last => {
                            tracing::debug!(attempt, error = %e, "body read failed, retrying");
                        }
                        Err(e) => return Err(transport_error(&e, self.timeout)),
                    }
                }
                Err(e) => {
                    // A write is replayed only when it certainly never left this machine.
                    let retry = (req.idempotent || e.is_connect()) && !last;
                    if !retry {
                        return Err(transport_error(&e, self.timeout));
                    }
                    tracing::debug!(attempt, error = %e, path = %req.path, "transport error, retrying");
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.policy.max_delay);
            attempt += 1;
        }
    }
}

/// One path segment or query value, percent-encoded (everything but RFC 3986 unreserved
/// characters): `payments api` → `payments%20api`.
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout(timeout.as_secs());
    }
    // The innermost cause says what happened ("connection refused"), the outer one where.
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let root = cause.to_string();
    let what = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "request failed"
    };
    ApiError::Network(format!("{what}: {root}"))
}

/// For unit tests: a reply with this status, content type and body.
#[cfg(test)]
pub(crate) fn test_reply(status: u16, content_type: &str, body: &str) -> Reply {
    Reply {
        status,
        content_type: content_type.into(),
        body: body.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(seg("test"), "test");
        assert_eq!(seg("data pipeline"), "data%20pipeline");
        assert_eq!(seg("2026.03.02-rc1"), "2026.03.02-rc1");
        assert_eq!(seg("a/b%"), "a%2Fb%25");
        assert_eq!(seg("a b/c%"), "a%20b%2Fc%25");
        assert_eq!(seg("é"), "%C3%A9");
    }

    #[test]
    fn snippets_are_one_short_line() {
        let r = test_reply(500, "text/plain", &format!("a\n\tb {}", "x".repeat(300)));
        let s = r.snippet();
        assert!(s.starts_with("a b x"), "{s}");
        assert!(s.chars().count() <= 200, "{}", s.len());
        assert_eq!(test_reply(500, "text/plain", " ").snippet(), "(empty body)");
    }
}
