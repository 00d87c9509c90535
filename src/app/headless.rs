//! Run effects to completion without a terminal or the task runner: for tests and for the
//! screenshot tool, which need real app states from a real backend, deterministically.

use super::action::{Action, Effect};
use super::exec;
use super::state::State;
use super::update::update;
use crate::api::Backend;

/// Execute `effects` against `backend`, feeding every result back through `update`, until no
/// effect is left. `Connect` uses `backend` as the profile's backend; log tails run to their
/// end (not following); `StartDemo`, `StopLog` and `Copy` are ignored.
pub async fn settle(state: &mut State, backend: &dyn Backend, mut effects: Vec<Effect>) {
    // Bounded: a backend that keeps saying "more" cannot loop a test forever.
    for _ in 0..1_000 {
        if effects.is_empty() {
            return;
        }
        let effect = effects.remove(0);
        let actions = match &effect {
            Effect::TailLog {
                epoch, req, build, ..
            } => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                exec::tail(backend, *epoch, *req, build, false, &tx).await;
                drop(tx);
                let mut out = Vec::new();
                while let Some(a) = rx.recv().await {
                    out.push(a);
                }
                out
            }
            Effect::FetchOverview { epoch, req } => {
                let items = super::overview::collect("current", backend).await;
                let page = crate::domain::Page::whole(items);
                vec![Action::ListLoaded {
                    epoch: *epoch,
                    req: *req,
                    result: Ok(super::action::Listing::Overview(page)),
                }]
            }
            Effect::DiffLog(request) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let done = super::diffjob::run(backend, (**request).clone(), &tx, cancel).await;
                drop(tx);
                let mut out = Vec::new();
                while let Some(a) = rx.recv().await {
                    out.push(a);
                }
                out.push(done);
                out
            }
            Effect::CompareCandidates { epoch, req, build } => {
                vec![super::diffjob::candidates(backend, *epoch, *req, build).await]
            }
            Effect::SaveLog { .. } | Effect::SearchSpill { .. } => {
                exec::file_work(&effect).into_iter().collect()
            }
            other => exec::call(backend, other).await.into_iter().collect(),
        };
        for action in actions {
            let now = state.now;
            effects.extend(update(state, action, now));
        }
    }
}

/// Apply one action and settle what it causes.
pub async fn act(state: &mut State, backend: &dyn Backend, action: Action) {
    let now = state.now;
    let fx = update(state, action, now);
    settle(state, backend, fx).await;
}
