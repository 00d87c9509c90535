//! Backoff for failed logins, shared by every backend that logs in (Free Commit and
//! nullplatform through `api::token`, Candor's cookie session): after a failure the next login
//! waits 1 s, then 2 s, 4 s … up to 5 min, and asking before then answers at once with the
//! last error and "next try in …" (no request). After [`MAX_AUTH_FAILURES`] refusals of the
//! credentials in a row no login is tried any more: the user fixes the profile and refreshes
//! (`r`) or reconnects, which builds a new backend and so a new gate.

use super::ApiError;
use std::future::Future;
use std::time::{Duration, Instant};

/// The first wait after a failed login.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two logins.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Refused logins in a row after which no more are tried.
pub const MAX_AUTH_FAILURES: u32 = 3;

/// The wait after `failures` failed logins in a row: 1 s, 2 s, 4 s … up to [`MAX_DELAY`].
pub fn delay(failures: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(MAX_DELAY)
}

#[derive(Default)]
pub(crate) struct LoginGate {
    failures: u32,
    auth_failures: u32,
    next_try: Option<Instant>,
    last: Option<ApiError>,
}

impl LoginGate {
    /// Run `login` unless the gate is closed; record how it went.
    pub async fn run<T>(
        &mut self,
        login: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        self.check(Instant::now())?;
        let result = login.await;
        self.record(result.as_ref().err(), Instant::now());
        result
    }

    /// `Err` (the last failure, annotated) while a login may not be tried: the caller asks
    /// nothing of the server then (no session probe either).
    pub fn ready(&self) -> Result<(), ApiError> {
        self.check(Instant::now())
    }

    /// `Err` (the last failure, annotated) while waiting or stopped.
    fn check(&self, now: Instant) -> Result<(), ApiError> {
        let Some(last) = &self.last else {
            return Ok(());
        };
        if self.auth_failures >= MAX_AUTH_FAILURES {
            return Err(annotate(
                last,
                &format!(
                    "; stopped after {} refused logins: fix the credentials, then press r",
                    self.auth_failures
                ),
            ));
        }
        match self.next_try {
            Some(at) if now < at => Err(annotate(
                last,
                &format!("; next try in {}", human(at - now)),
            )),
            _ => Ok(()),
        }
    }

    fn record(&mut self, err: Option<&ApiError>, now: Instant) {
        let Some(e) = err else {
            *self = LoginGate::default();
            return;
        };
        self.failures += 1;
        if matches!(e, ApiError::Auth(_)) {
            self.auth_failures += 1;
        } else {
            self.auth_failures = 0;
        }
        let delay = delay(self.failures);
        self.next_try = Some(now + delay);
        tracing::info!(failures = self.failures, ?delay, error = %e, "login failed; backing off");
        self.last = Some(e.clone());
    }
}

/// "4s", "2m 30s" (the dashboard says its own waits this way too).
pub fn human(d: Duration) -> String {
    let secs = d.as_millis().div_ceil(1000) as u64;
    if secs < 60 {
        format!("{secs}s")
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{}m {}s", secs / 60, secs % 60)
    }
}

/// The same kind of error with `note` added to its message.
fn annotate(e: &ApiError, note: &str) -> ApiError {
    let add = |m: &String| format!("{m}{note}");
    match e {
        ApiError::Auth(m) => ApiError::Auth(add(m)),
        ApiError::Forbidden(m) => ApiError::Forbidden(add(m)),
        ApiError::NotFound(m) => ApiError::NotFound(add(m)),
        ApiError::Rejected { status, message } => ApiError::Rejected {
            status: *status,
            message: add(message),
        },
        ApiError::Server { status, message } => ApiError::Server {
            status: *status,
            message: add(message),
        },
        ApiError::RateLimited => ApiError::Network(format!("the server limits the rate{note}")),
        ApiError::Network(m) => ApiError::Network(add(m)),
        ApiError::Timeout(s) => ApiError::Network(format!("no answer within {s}s{note}")),
        ApiError::Decode(m) => ApiError::Decode(add(m)),
        ApiError::Unsupported(m) => ApiError::Unsupported(add(m)),
        ApiError::Config(m) => ApiError::Config(add(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ApiError {
        ApiError::Server {
            status: 500,
            message: "boom".into(),
        }
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let mut g = LoginGate::default();
        let t0 = Instant::now();
        assert!(g.check(t0).is_ok());
        g.record(Some(&server()), t0);
        let e = g.check(t0).unwrap_err();
        assert!(e.to_string().contains("next try in 1s"), "{e}");
        assert!(g.check(t0 + Duration::from_secs(1)).is_ok());
        g.record(Some(&server()), t0);
        assert!(g.check(t0 + Duration::from_millis(1500)).is_err());
        assert!(g.check(t0 + Duration::from_secs(2)).is_ok());
        for _ in 0..20 {
            g.record(Some(&server()), t0);
        }
        let e = g.check(t0).unwrap_err();
        assert!(e.to_string().contains("next try in 5m"), "{e}");
        assert!(g.check(t0 + MAX_DELAY).is_ok());
        g.record(None, t0);
        assert!(g.check(t0).is_ok());
    }

    #[test]
    fn repeated_refusals_stop_until_a_new_gate() {
        let mut g = LoginGate::default();
        let t0 = Instant::now();
        let auth = ApiError::Auth("wrong password".into());
        for _ in 0..MAX_AUTH_FAILURES {
            g.record(Some(&auth), t0);
        }
        let later = t0 + MAX_DELAY * 10;
        let e = g.check(later).unwrap_err();
        assert!(
            matches!(&e, ApiError::Auth(m) if m.contains("stopped after 3 refused logins")),
            "{e:?}"
        );
        // A different failure in between resets the count of refusals.
        let mut g = LoginGate::default();
        g.record(Some(&auth), t0);
        g.record(Some(&auth), t0);
        g.record(Some(&server()), t0);
        g.record(Some(&auth), t0);
        assert!(g.check(later).is_ok());
    }
}
