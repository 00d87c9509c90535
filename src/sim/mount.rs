//! What every backend's set-up repeats: one catch-all route per mount (routing is by hand, so
//! that each server's own 404/405 rules are exact) and the backend state behind a lock that a
//! `POST /__sim/reset` rebuilds.

use std::sync::{Mutex, MutexGuard};

use axum::Router;
use axum::handler::Handler;
use axum::routing::any;

use super::Core;

/// `prefix`, `prefix/` and everything below it, all to `handler`.
pub(crate) fn catch_all<H, T, S>(prefix: &str, handler: H) -> Router<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(prefix, any(handler.clone()))
        .route(&format!("{prefix}/"), any(handler.clone()))
        .route(&format!("{prefix}/{{*rest}}"), any(handler))
}

/// A backend's state, built from the fixtures by `fresh` and rebuilt by [`Store::reset`].
pub(crate) struct Store<T> {
    state: Mutex<T>,
    fresh: fn(&Core) -> T,
}

impl<T> Store<T> {
    pub fn new(core: &Core, fresh: fn(&Core) -> T) -> Self {
        Store {
            state: Mutex::new(fresh(core)),
            fresh,
        }
    }

    /// The state; a handler that panicked while holding it does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Back to the fixtures.
    pub fn reset(&self, core: &Core) {
        let fresh = (self.fresh)(core);
        *self.lock() = fresh;
    }
}
