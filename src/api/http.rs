//! The one HTTP client layer: per-call timeouts, retries with backoff for idempotent requests
//! only, `Retry-After` on 429, a user agent, and transport errors turned into `ApiError`s.
//! Backend modules build `Request`s and map `Reply`s (status + body) with their own error shapes.
//!
//! Bounds against broken or hostile servers:
//! - `timeout_secs` is a deadline for one [`Http::send`], retries and their waits included; a
//!   timeout says how long was really waited.
//! - `Retry-After` is capped at [`RetryPolicy::max_retry_after`] and never waited past the
//!   deadline (the 429 is returned instead).
//! - A body larger than [`MAX_BODY_BYTES`] is not read further: "answer larger than 16 MB".
//! - Invalid UTF-8 in a JSON body is replaced per character (U+FFFD), never failing the whole
//!   answer ([`json_lossy`]); text bodies stay bytes (log chunks are read by byte offset) and are
//!   made text with `String::from_utf8_lossy`.
//!
//! Redirects: a redirect is followed only to the same origin (scheme, host and port) as the
//! request; one to another origin is refused with a message naming both ([`CrossOrigin`]).
//! reqwest alone would drop `Authorization` and `Cookie` on such a hop but keep custom headers
//! and re-send a 307/308 body, so per backend:
//! - Free Commit: the `POST /auth/token` body (username, password) and the bearer token.
//! - nullplatform: the `POST /login` body (`api_key`) and the bearer token.
//! - Aviator Releases: the `Authorization` API key.
//! - Serverless-cd: the `cd_token` header (its client does not follow redirects at all: a 302
//!   is its login page, read as an authentication failure).
//! - Candor: the `POST /login` body (password) and the session cookie.
//!
//! None of them needs a cross-origin redirect, so none is followed, authenticated or not.

use super::ApiError;
use crate::config::Profile;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};

/// Largest body read into memory; a larger answer is an error, not a slow death.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A redirect to another origin, refused (it would carry the credentials there).
#[derive(Debug)]
pub struct CrossOrigin {
    pub from: String,
    pub to: String,
}

impl std::fmt::Display for CrossOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server redirected the request to {} — refused: credentials are only sent to {}",
            self.to, self.from
        )
    }
}

impl std::error::Error for CrossOrigin {}

/// `scheme://host:port` of a URL, the port always written out.
pub fn origin(u: &url::Url) -> String {
    format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        u.port_or_known_default().unwrap_or(0)
    )
}

/// Follow same-origin redirects (up to 10); refuse any to another origin.
fn same_origin_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let from = attempt.previous().first().map(origin).unwrap_or_default();
        let to = origin(attempt.url());
        if from != to {
            attempt.error(CrossOrigin { from, to })
        } else if attempt.previous().len() > 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

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

/// JSON from a body, invalid UTF-8 replaced per character (U+FFFD) instead of failing the
/// whole body. Every JSON body of a server is read through this (log chunks read by byte
/// offset stay bytes: their text is made with `String::from_utf8_lossy`).
pub(crate) fn json_lossy<T: serde::de::DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    match serde_json::from_slice(body) {
        Err(_) if std::str::from_utf8(body).is_err() => {
            tracing::warn!("invalid UTF-8 in a JSON body, replaced");
            serde_json::from_str(&String::from_utf8_lossy(body))
        }
        r => r,
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

    /// Decode the body; a bad body is a `Decode` error, never a panic. Invalid UTF-8 is
    /// replaced per character (U+FFFD) rather than failing the whole body.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        json_lossy(&self.body).map_err(|e| {
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
        builder = builder.redirect(if follow_redirects {
            same_origin_policy()
        } else {
            reqwest::redirect::Policy::none()
        });
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

    /// Send with the retry policy, all attempts and waits within one deadline (`timeout`).
    /// HTTP error statuses are returned as `Reply`s for the backend to interpret; only
    /// transport failures (after retries), a timeout and an oversized body become errors here.
    pub async fn send(&self, req: &Request) -> Result<Reply, ApiError> {
        let url = format!("{}{}", self.base, req.path);
        let started = Instant::now();
        let deadline = started + self.timeout;
        let timed_out = || ApiError::Timeout(waited_secs(started.elapsed()));
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
                .headers(headers);
            if !req.query.is_empty() {
                rb = rb.query(&req.query);
            }
            if let Some(body) = &req.json {
                rb = rb.json(body);
            }
            let last = attempt >= self.policy.tries;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = match tokio::time::timeout(remaining, exchange(rb)).await {
                Ok(o) => o,
                Err(_) => return Err(timed_out()),
            };
            let wait = match outcome {
                Ok((reply, retry_after)) => {
                    if !(req.idempotent && !last && super::errors::retryable_status(reply.status)) {
                        return Ok(reply);
                    }
                    let wait = match retry_after {
                        Some(ra) if reply.status == 429 => ra.min(self.policy.max_retry_after),
                        _ => delay,
                    };
                    // A wait past the deadline is no use: the answer is the server's refusal.
                    if Instant::now() + wait >= deadline {
                        return Ok(reply);
                    }
                    tracing::debug!(status = reply.status, attempt, ?wait, path = %req.path, "retrying");
                    wait
                }
                Err(Failure::TooLarge) => {
                    return Err(ApiError::Decode(format!(
                        "answer larger than {} MB (stopped reading)",
                        MAX_BODY_BYTES / (1024 * 1024)
                    )));
                }
                Err(Failure::Transport(e)) => {
                    // A write is replayed only when it certainly never left this machine.
                    let retry = (req.idempotent || e.is_connect()) && !last && !e.is_redirect();
                    if !retry {
                        return Err(match cross_origin(&e) {
                            Some(c) => refused_redirect(req, c),
                            None => transport_error(&e, started.elapsed()),
                        });
                    }
                    if Instant::now() + delay >= deadline {
                        return Err(transport_error(&e, started.elapsed()));
                    }
                    tracing::debug!(attempt, error = %e, path = %req.path, "transport error, retrying");
                    delay
                }
            };
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(self.policy.max_delay);
            attempt += 1;
        }
    }
}

enum Failure {
    Transport(reqwest::Error),
    TooLarge,
}

/// One request and its whole body (at most [`MAX_BODY_BYTES`]), with the `Retry-After` it
/// carried.
async fn exchange(rb: reqwest::RequestBuilder) -> Result<(Reply, Option<Duration>), Failure> {
    let mut resp = rb.send().await.map_err(Failure::Transport)?;
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Failure::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((
        Reply {
            status,
            content_type,
            body,
        },
        retry_after,
    ))
}

/// Seconds really waited, rounded, as said in a timeout message (at least 1).
fn waited_secs(d: Duration) -> u64 {
    (d.as_secs_f64().round() as u64).max(1)
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

/// The refused cross-origin redirect behind a transport error, if that is what it was.
fn cross_origin(e: &reqwest::Error) -> Option<&CrossOrigin> {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        if let Some(c) = next.downcast_ref::<CrossOrigin>() {
            return Some(c);
        }
        cause = next;
    }
    None
}

/// "the server redirected the login to https://other:443 — refused: …".
fn refused_redirect(req: &Request, c: &CrossOrigin) -> ApiError {
    let login = req
        .json
        .as_ref()
        .and_then(|j| j.as_object())
        .is_some_and(|o| {
            ["password", "api_key", "auth", "token"]
                .iter()
                .any(|k| o.contains_key(*k))
        });
    let what = if login { "the login" } else { "the request" };
    ApiError::Config(format!(
        "the server redirected {what} to {} — refused: credentials are only sent to {}; \
         if the server moved, change the profile's url",
        c.to, c.from
    ))
}

fn transport_error(e: &reqwest::Error, waited: Duration) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout(waited_secs(waited));
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
    fn waits_are_said_in_whole_seconds() {
        assert_eq!(waited_secs(Duration::from_millis(1004)), 1);
        assert_eq!(waited_secs(Duration::from_millis(200)), 1);
        assert_eq!(waited_secs(Duration::from_millis(5600)), 6);
    }

    #[test]
    fn origins_always_carry_the_port() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            origin(&u("https://ci.example.com/x")),
            "https://ci.example.com:443"
        );
        assert_eq!(
            origin(&u("http://127.0.0.1:8080/")),
            "http://127.0.0.1:8080"
        );
        assert_ne!(
            origin(&u("http://ci.example.com/")),
            origin(&u("https://ci.example.com/"))
        );
    }

    #[test]
    fn invalid_utf8_in_json_is_replaced_not_fatal() {
        let mut body = br#"{"name":"a"#.to_vec();
        body.push(0xff);
        body.extend_from_slice(br#"b"}"#);
        let r = Reply {
            status: 200,
            content_type: "application/octet-stream".into(),
            body,
        };
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["name"], "a\u{FFFD}b");
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
