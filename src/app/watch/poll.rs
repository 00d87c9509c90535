//! One poll of the watch list, run by the task runner: every profile concerned at once, each
//! asked in as few requests as its backend allows (builds: one read of the active list, plus a
//! project's history for builds that left it; deployments: one page per environment).

use super::{Now, Seen, WatchKind, Watched};
use crate::api::{ApiError, Backend};
use std::sync::Arc;
use std::time::Duration;

/// One profile's poll gives up after this long (its items are asked again next time).
const LIMIT: Duration = Duration::from_secs(20);

/// Ask one profile about its watched items.
pub async fn profile(b: Arc<dyn Backend>, items: Vec<Watched>) -> Vec<Seen> {
    match tokio::time::timeout(LIMIT, ask(b.as_ref(), &items)).await {
        Ok(seen) => seen,
        Err(_) => failed(&items, "no answer within 20 s"),
    }
}

/// Every item of a profile that could not be asked.
pub fn failed(items: &[Watched], why: &str) -> Vec<Seen> {
    items
        .iter()
        .map(|w| Seen {
            profile: w.profile.clone(),
            kind: w.kind,
            id: w.id.clone(),
            result: Err(why.to_string()),
        })
        .collect()
}

async fn ask(b: &dyn Backend, items: &[Watched]) -> Vec<Seen> {
    let mut out = Vec::new();
    let builds: Vec<&Watched> = items
        .iter()
        .filter(|w| w.kind == WatchKind::Build)
        .collect();
    if !builds.is_empty() {
        let wanted: Vec<(crate::domain::Build, Option<String>)> = builds
            .iter()
            .map(|w| (w.as_build(), w.baseline.clone()))
            .collect();
        match crate::api::follow::builds_now(b, &wanted).await {
            Ok(found) => {
                for (w, f) in builds.iter().zip(found) {
                    let baseline = f.baseline;
                    out.push(seen(
                        w,
                        Ok(f.now.map(|x| Now {
                            status: x.status,
                            raw_status: x.raw_status,
                            build_id: x.build_id,
                            project_id: x.project_id,
                            started_at: x.started_at,
                            message: x.message,
                            baseline,
                        })),
                    ));
                }
            }
            Err(e) => out.extend(builds.iter().map(|w| seen(w, Err(e.to_string())))),
        }
    }
    // Deployments: one page per environment, whatever the number watched there.
    let mut envs: Vec<(String, String)> = Vec::new();
    for w in items.iter().filter(|w| w.kind == WatchKind::Deployment) {
        let key = (w.project.clone(), w.environment.clone().unwrap_or_default());
        if !envs.contains(&key) {
            envs.push(key);
        }
    }
    for (project, env) in envs {
        let page: Result<_, ApiError> = b.deployments(&project, &env, 1, 10).await;
        for w in items.iter().filter(|w| {
            w.kind == WatchKind::Deployment
                && w.project == project
                && w.environment.as_deref().unwrap_or_default() == env
        }) {
            let result = match &page {
                Ok(p) => Ok(p.items.iter().find(|d| d.id == w.id).map(|d| Now {
                    status: d.status,
                    raw_status: d.raw_status.clone(),
                    build_id: None,
                    project_id: None,
                    started_at: d.started_at,
                    message: d.error.clone(),
                    baseline: None,
                })),
                Err(e) => Err(e.to_string()),
            };
            out.push(seen(w, result));
        }
    }
    out
}

fn seen(w: &Watched, result: Result<Option<Now>, String>) -> Seen {
    Seen {
        profile: w.profile.clone(),
        kind: w.kind,
        id: w.id.clone(),
        result,
    }
}
