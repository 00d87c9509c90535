//! Run effects to completion without a terminal or the task runner: for tests and for the
//! screenshot tool, which need real app states from a real backend, deterministically.

use super::action::{Action, Effect, Listing};
use super::state::State;
use super::update::update;
use crate::api::{ApiError, Backend};
use crate::domain::Resource;

/// Execute `effects` against `backend`, feeding every result back through `update`, until no
/// effect is left. `Connect` uses `backend` as the profile's backend; `StartDemo` is ignored.
pub async fn settle(state: &mut State, backend: &dyn Backend, mut effects: Vec<Effect>) {
    // Bounded: a backend that keeps saying "more" cannot loop a test forever.
    for _ in 0..1_000 {
        let Some(effect) = (!effects.is_empty()).then(|| effects.remove(0)) else {
            return;
        };
        let action = match effect {
            Effect::Connect { epoch, .. } | Effect::Login { epoch } => Action::LoggedIn {
                epoch,
                result: backend.login().await,
            },
            Effect::FetchList {
                epoch,
                req,
                resource,
                query,
            } => {
                let result: Result<Listing, ApiError> = match resource {
                    Resource::Projects => backend.projects(&query).await.map(Listing::Projects),
                    Resource::Developers => {
                        backend.developers(&query).await.map(Listing::Developers)
                    }
                    Resource::Secrets => backend.secrets(&query).await.map(Listing::Secrets),
                };
                Action::ListLoaded { epoch, req, result }
            }
            Effect::StartDemo => continue,
        };
        let now = state.now;
        effects.extend(update(state, action, now));
    }
}

/// Apply one action and settle what it causes.
pub async fn act(state: &mut State, backend: &dyn Backend, action: Action) {
    let now = state.now;
    let fx = update(state, action, now);
    settle(state, backend, fx).await;
}
