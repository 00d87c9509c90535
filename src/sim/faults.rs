//! Fault specification (`--faults`, `PUT /__sim/faults`) and the generic parts
//! of the fault layer. Each backend decides the *form* of a fault (its error
//! bodies, what a truncated log looks like); this module only parses the spec
//! and resolves backend-scoped keys (`freecommit.error_rate`) over global ones.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Backend kinds that may prefix a fault key.
pub(crate) const BACKEND_KINDS: &[&str] = &[
    "freecommit",
    "nullplatform",
    "aviator",
    "serverless-cd",
    "candor",
];

/// One set of fault values; `None` = not set (falls back to the global set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSet {
    pub latency: Option<Duration>,
    pub jitter: Option<Duration>,
    pub error_rate: Option<f64>,
    pub rate_limit: Option<f64>,
    pub retry_after: Option<u64>,
    pub malformed_rate: Option<f64>,
    pub reset_rate: Option<f64>,
    pub hang_rate: Option<f64>,
    pub truncate_rate: Option<f64>,
    pub token_ttl: Option<Duration>,
    pub expire_tokens_at: Option<Duration>,
    pub runner_down: Option<bool>,
}

impl FaultSet {
    /// Field-wise: `self` where set, else `fallback`.
    fn or(&self, fallback: &FaultSet) -> FaultSet {
        FaultSet {
            latency: self.latency.or(fallback.latency),
            jitter: self.jitter.or(fallback.jitter),
            error_rate: self.error_rate.or(fallback.error_rate),
            rate_limit: self.rate_limit.or(fallback.rate_limit),
            retry_after: self.retry_after.or(fallback.retry_after),
            malformed_rate: self.malformed_rate.or(fallback.malformed_rate),
            reset_rate: self.reset_rate.or(fallback.reset_rate),
            hang_rate: self.hang_rate.or(fallback.hang_rate),
            truncate_rate: self.truncate_rate.or(fallback.truncate_rate),
            token_ttl: self.token_ttl.or(fallback.token_ttl),
            expire_tokens_at: self.expire_tokens_at.or(fallback.expire_tokens_at),
            runner_down: self.runner_down.or(fallback.runner_down),
        }
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), FaultParseError> {
        let bad = |expected: &str| FaultParseError {
            key: key.to_string(),
            value: Some(value.to_string()),
            expected: expected.to_string(),
        };
        let rate = || -> Result<f64, FaultParseError> {
            value
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| bad("a number between 0 and 1"))
        };
        let dur = || parse_duration(value).ok_or_else(|| bad("a duration such as 200ms, 30s, 5m"));
        match key {
            "latency" => self.latency = Some(dur()?),
            "jitter" => self.jitter = Some(dur()?),
            "error_rate" => self.error_rate = Some(rate()?),
            "rate_limit" => self.rate_limit = Some(rate()?),
            "retry_after" => {
                let d = parse_duration(value).ok_or_else(|| bad("a number of seconds"))?;
                self.retry_after = Some(d.as_secs());
            }
            "malformed_rate" => self.malformed_rate = Some(rate()?),
            "reset_rate" => self.reset_rate = Some(rate()?),
            "hang_rate" => self.hang_rate = Some(rate()?),
            "truncate_rate" => self.truncate_rate = Some(rate()?),
            "token_ttl" => self.token_ttl = Some(dur()?),
            "expire_tokens_at" => self.expire_tokens_at = Some(dur()?),
            "runner_down" => {
                self.runner_down = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("true or false")),
                })
            }
            _ => {
                return Err(FaultParseError {
                    key: key.to_string(),
                    value: None,
                    expected: "one of latency, jitter, error_rate, rate_limit, retry_after, \
                               malformed_rate, reset_rate, hang_rate, truncate_rate, token_ttl, \
                               expire_tokens_at, runner_down (optionally prefixed by a backend \
                               kind, e.g. freecommit.error_rate)"
                        .to_string(),
                });
            }
        }
        Ok(())
    }

    fn write_pairs(&self, prefix: &str, out: &mut Vec<String>) {
        let mut push = |k: &str, v: String| out.push(format!("{prefix}{k}={v}"));
        let ms = |d: &Duration| format!("{}ms", d.as_millis());
        if let Some(v) = &self.latency {
            push("latency", ms(v));
        }
        if let Some(v) = &self.jitter {
            push("jitter", ms(v));
        }
        if let Some(v) = self.error_rate {
            push("error_rate", v.to_string());
        }
        if let Some(v) = self.rate_limit {
            push("rate_limit", v.to_string());
        }
        if let Some(v) = self.retry_after {
            push("retry_after", v.to_string());
        }
        if let Some(v) = self.malformed_rate {
            push("malformed_rate", v.to_string());
        }
        if let Some(v) = self.reset_rate {
            push("reset_rate", v.to_string());
        }
        if let Some(v) = self.hang_rate {
            push("hang_rate", v.to_string());
        }
        if let Some(v) = self.truncate_rate {
            push("truncate_rate", v.to_string());
        }
        if let Some(v) = &self.token_ttl {
            push("token_ttl", ms(v));
        }
        if let Some(v) = &self.expire_tokens_at {
            push("expire_tokens_at", ms(v));
        }
        if let Some(v) = self.runner_down {
            push("runner_down", v.to_string());
        }
    }
}

/// Parsed fault specification: global keys plus backend-scoped overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub global: FaultSet,
    pub scoped: BTreeMap<String, FaultSet>,
}

impl Faults {
    /// The effective fault values for one backend kind.
    pub(crate) fn for_backend(&self, kind: &str) -> FaultSet {
        match self.scoped.get(kind) {
            Some(s) => s.or(&self.global),
            None => self.global.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }

    /// Sets one `key` (possibly `backend.key`) to `value`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), FaultParseError> {
        let key = key.trim();
        let value = value.trim();
        if let Some((scope, rest)) = key.split_once('.') {
            if !BACKEND_KINDS.contains(&scope) {
                return Err(FaultParseError {
                    key: key.to_string(),
                    value: None,
                    expected: format!("a backend prefix among {}", BACKEND_KINDS.join(", ")),
                });
            }
            let mut set = self.scoped.get(scope).cloned().unwrap_or_default();
            set.set(rest, value).map_err(|mut e| {
                e.key = key.to_string();
                e
            })?;
            self.scoped.insert(scope.to_string(), set);
            Ok(())
        } else {
            self.global.set(key, value)
        }
    }

    /// Builds a fault spec from a JSON object (`PUT /__sim/faults`); values may
    /// be strings, numbers or booleans.
    pub(crate) fn from_json(v: &serde_json::Value) -> Result<Faults, FaultParseError> {
        let obj = v.as_object().ok_or_else(|| FaultParseError {
            key: "<body>".into(),
            value: None,
            expected: "a JSON object of fault keys".into(),
        })?;
        let mut f = Faults::default();
        for (k, v) in obj {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            f.set(k, &s)?;
        }
        Ok(f)
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.global.write_pairs("", &mut out);
        for (k, s) in &self.scoped {
            s.write_pairs(&format!("{k}."), &mut out);
        }
        f.write_str(&out.join(","))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultParseError {
    pub key: String,
    pub value: Option<String>,
    pub expected: String,
}

impl fmt::Display for FaultParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "invalid value `{v}` for fault key `{}`: expected {}",
                self.key, self.expected
            ),
            None => write!(
                f,
                "unknown fault key `{}`: expected {}",
                self.key, self.expected
            ),
        }
    }
}

impl std::error::Error for FaultParseError {}

impl FromStr for Faults {
    type Err = FaultParseError;

    /// `latency=200ms,error_rate=0.05,freecommit.token_ttl=30s`
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut f = Faults::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| FaultParseError {
                key: part.to_string(),
                value: None,
                expected: "`key=value`".into(),
            })?;
            f.set(k, v)?;
        }
        Ok(f)
    }
}

/// `200ms`, `1.5s`, `30s`, `5m`, `1h`; a bare number is seconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(v * mult))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grammar() {
        let f: Faults = "latency=200ms,error_rate=0.05,freecommit.token_ttl=30s"
            .parse()
            .unwrap();
        assert_eq!(f.global.latency, Some(Duration::from_millis(200)));
        assert_eq!(f.global.error_rate, Some(0.05));
        let fc = f.for_backend("freecommit");
        assert_eq!(fc.token_ttl, Some(Duration::from_secs(30)));
        assert_eq!(fc.error_rate, Some(0.05));
        assert_eq!(f.for_backend("candor").token_ttl, None);
        let back: Faults = f.to_string().parse().unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn names_bad_key_and_value() {
        let e = "latency=2xx".parse::<Faults>().unwrap_err().to_string();
        assert!(e.contains("`latency`") && e.contains("`2xx`"), "{e}");
        let e = "error_rate=1.5".parse::<Faults>().unwrap_err().to_string();
        assert!(e.contains("error_rate"), "{e}");
        let e = "bogus=1".parse::<Faults>().unwrap_err().to_string();
        assert!(e.contains("unknown fault key `bogus`"), "{e}");
        let e = "nope.latency=1s".parse::<Faults>().unwrap_err().to_string();
        assert!(e.contains("nope.latency"), "{e}");
    }
}
