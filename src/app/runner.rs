//! Executes effects on tokio and reports back as actions. Keeps at most one job per kind: a
//! newer fetch of a list aborts the older one (single-job coalescing), and switching profile
//! aborts everything of the previous one.

use super::action::{Action, Effect, Listing, ProfileInfo};
use crate::api::{self, ApiError, Backend};
use crate::config::Config;
use crate::domain::Resource;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum JobKey {
    Login,
    List(Resource),
    Demo,
}

pub struct Runner {
    config: Arc<Mutex<Config>>,
    tx: UnboundedSender<Action>,
    backend: Option<Arc<dyn Backend>>,
    jobs: HashMap<JobKey, AbortHandle>,
    /// The in-process simulator started from the first-run screen, kept alive with the runner.
    sim: Arc<Mutex<Option<crate::sim::SimHandle>>>,
}

impl Runner {
    pub fn new(config: Config, tx: UnboundedSender<Action>) -> Runner {
        Runner {
            config: Arc::new(Mutex::new(config)),
            tx,
            backend: None,
            jobs: HashMap::new(),
            sim: Arc::new(Mutex::new(None)),
        }
    }

    fn spawn<F>(&mut self, key: JobKey, fut: F)
    where
        F: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        if let Some(old) = self.jobs.remove(&key) {
            old.abort();
        }
        let tx = self.tx.clone();
        let handle = tokio::spawn(async move {
            if let Some(a) = fut.await {
                let _ = tx.send(a);
            }
        });
        self.jobs.insert(key, handle.abort_handle());
    }

    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Connect { epoch, profile } => {
                for (_, job) in self.jobs.drain() {
                    job.abort();
                }
                let made = {
                    let cfg = self.config.lock().expect("config lock");
                    match cfg.profile(&profile) {
                        Some(p) => api::connect(p),
                        None => Err(ApiError::Config(format!("no profile `{profile}`"))),
                    }
                };
                match made {
                    Ok(b) => {
                        self.backend = Some(b);
                        self.run(Effect::Login { epoch });
                    }
                    Err(e) => {
                        self.backend = None;
                        let _ = self.tx.send(Action::LoggedIn {
                            epoch,
                            result: Err(e),
                        });
                    }
                }
            }
            Effect::Login { epoch } => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                self.spawn(JobKey::Login, async move {
                    Some(Action::LoggedIn {
                        epoch,
                        result: b.login().await,
                    })
                });
            }
            Effect::FetchList {
                epoch,
                req,
                resource,
                query,
            } => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                self.spawn(JobKey::List(resource), async move {
                    let result = match resource {
                        Resource::Projects => b.projects(&query).await.map(Listing::Projects),
                        Resource::Developers => b.developers(&query).await.map(Listing::Developers),
                        Resource::Secrets => b.secrets(&query).await.map(Listing::Secrets),
                    };
                    Some(Action::ListLoaded { epoch, req, result })
                });
            }
            Effect::StartDemo => {
                let config = self.config.clone();
                let sim = self.sim.clone();
                self.spawn(JobKey::Demo, async move {
                    let (handle, demo_cfg) = crate::demo::start_sim().await.ok()?;
                    let profiles = demo_cfg
                        .profiles
                        .iter()
                        .map(ProfileInfo::from_profile)
                        .collect();
                    let open = demo_cfg.profiles.first()?.name.clone();
                    *config.lock().expect("config lock") = demo_cfg;
                    *sim.lock().expect("sim lock") = Some(handle);
                    Some(Action::DemoReady { profiles, open })
                });
            }
        }
    }
}
