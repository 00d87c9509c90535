//! A request counter for benchmarks and soaks: `GET /__sim/stats` answers how many requests
//! the backends received (total and per backend kind) since the simulator started. Control
//! routes are not counted; a reset does not clear it (compare two readings).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Core;
use super::faults::BACKEND_KINDS;

/// Counters: one per backend kind, plus requests under no known prefix.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    by_kind: [AtomicU64; BACKEND_KINDS.len()],
    other: AtomicU64,
}

impl Requests {
    /// Count one request to `path` (`/candor-runner/…` counts as Candor).
    pub fn count(&self, path: &str) {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let slot = BACKEND_KINDS
            .iter()
            .position(|k| first.starts_with(k))
            .and_then(|i| self.by_kind.get(i))
            .unwrap_or(&self.other);
        slot.fetch_add(1, Ordering::Relaxed);
    }

    /// `{"requests": total, "by_backend": {kind: n, …}, "other": n}`.
    pub fn to_json(&self) -> Value {
        let mut by = Map::new();
        let mut total = self.other.load(Ordering::Relaxed);
        for (k, n) in BACKEND_KINDS.iter().zip(&self.by_kind) {
            let n = n.load(Ordering::Relaxed);
            total += n;
            by.insert((*k).to_string(), json!(n));
        }
        json!({
            "requests": total,
            "by_backend": by,
            "other": self.other.load(Ordering::Relaxed),
        })
    }
}

/// Middleware on the backend routes: count, then pass on (before any fault is drawn).
pub(crate) async fn count(State(core): State<Arc<Core>>, req: Request, next: Next) -> Response {
    core.requests.count(req.uri().path());
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_first_path_segment() {
        let r = Requests::default();
        r.count("/freecommit/auth/token");
        r.count("/freecommit/api-free-commit/developer/projects");
        r.count("/candor-runner/runs");
        r.count("/serverless-cd/api/flow/applications");
        r.count("/nowhere");
        let v = r.to_json();
        assert_eq!(v["requests"], 5);
        assert_eq!(v["by_backend"]["freecommit"], 2);
        assert_eq!(v["by_backend"]["candor"], 1);
        assert_eq!(v["by_backend"]["serverless-cd"], 1);
        assert_eq!(v["by_backend"]["aviator"], 0);
        assert_eq!(v["other"], 1);
    }
}
