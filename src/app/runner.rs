//! Executes effects on tokio and reports back as actions. Keeps at most one job per kind: a
//! newer fetch of a list aborts the older one (single-job coalescing), and switching profile
//! aborts every read of the previous one. Writes are never aborted: a profile switch or quit
//! lets an in-flight change finish, and its audit line is always written ([`Runner::finish`]).

use super::action::{Action, Effect, ListCache, ProfileInfo};
use super::exec;
use super::overview;
use crate::api::{self, ApiError, Backend};
use crate::config::Config;
use crate::domain::Resource;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

/// A profile's backend, or why it could not be built.
type Connected = Result<Arc<dyn Backend>, ApiError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum JobKey {
    Login,
    List(Resource),
    LaunchOptions,
    Overview,
    Download,
    Environments,
    Deployments(u64),
    Log,
    /// The log diff (one at a time).
    Diff,
    /// The builds a log may be compared with.
    CompareCandidates,
    /// One-off reads (archive list, runner health): aborted with their profile.
    Read(u64),
    Demo,
    /// A poll of the watch list.
    Watch,
}

pub struct Runner {
    config: Arc<Mutex<Config>>,
    tx: UnboundedSender<Action>,
    backend: Option<Arc<dyn Backend>>,
    jobs: HashMap<JobKey, AbortHandle>,
    /// Changes in flight (and their audit lines): never aborted, awaited on quit.
    writes_in_flight: Vec<tokio::task::JoinHandle<()>>,
    /// The in-process simulator started from the first-run screen, kept alive with the runner.
    sim: Arc<Mutex<Option<crate::sim::SimHandle>>>,
    writes: u64,
    /// Where the audit trail is appended (`None`: the demo writes nothing).
    audit_file: Option<std::path::PathBuf>,
    cache_dir: Option<std::path::PathBuf>,
    /// Backends of every profile, for the Overview (kept between refreshes).
    others: HashMap<String, Arc<dyn Backend>>,
    /// The profile `backend` belongs to.
    active: Option<String>,
    /// Where watch lists are kept (`None`: nothing is read or written, e.g. the demo).
    watch_dir: Option<std::path::PathBuf>,
    /// Stops the log diff in progress (its blocking part cannot be aborted).
    diff_cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Runner {
    pub fn new(config: Config, tx: UnboundedSender<Action>) -> Runner {
        Runner {
            config: Arc::new(Mutex::new(config)),
            tx,
            backend: None,
            jobs: HashMap::new(),
            writes_in_flight: Vec::new(),
            sim: Arc::new(Mutex::new(None)),
            writes: 0,
            audit_file: None,
            cache_dir: None,
            others: HashMap::new(),
            active: None,
            watch_dir: None,
            diff_cancel: None,
        }
    }

    /// Where each profile's watch list is kept (`None`: nowhere).
    pub fn with_watch_dir(mut self, dir: Option<std::path::PathBuf>) -> Runner {
        self.watch_dir = dir;
        self
    }

    /// A profile's backend: the active one's own (already logged in), else one kept for the
    /// Overview and the watch list (logged in once, its token reused).
    fn backend_for(&mut self, p: &crate::config::Profile) -> Connected {
        if self.active.as_deref() == Some(p.name.as_str())
            && let Some(b) = &self.backend
        {
            return Ok(b.clone());
        }
        let b = match self.others.get(&p.name) {
            Some(b) => Ok(b.clone()),
            None => api::connect(p),
        };
        if let Ok(b) = &b {
            self.others.insert(p.name.clone(), b.clone());
        }
        b
    }

    pub fn with_audit_file(mut self, path: Option<std::path::PathBuf>) -> Runner {
        self.audit_file = path;
        self
    }

    /// Where the lists of a profile are cached (`None`: nothing is read or written).
    pub(crate) fn with_cache_dir(mut self, dir: Option<std::path::PathBuf>) -> Runner {
        self.cache_dir = dir;
        self
    }

    fn cache_file(&self, profile: &str) -> Option<std::path::PathBuf> {
        let safe = crate::domain::file_name_safe(profile);
        self.cache_dir
            .as_ref()
            .map(|d| d.join("lists").join(format!("{safe}.json")))
    }

    fn next_write(&mut self) -> u64 {
        self.writes += 1;
        self.writes
    }

    fn spawn<F>(&mut self, key: JobKey, fut: F)
    where
        F: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        if let Some(old) = self.jobs.remove(&key) {
            old.abort();
        }
        // One-off reads get a key of their own (`Read(n)`): forget the finished ones, or the
        // map (and each task's memory, which a handle keeps) grows until the profile changes.
        self.jobs.retain(|_, h| !h.is_finished());
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
                // The watch list is about every profile: its poll survives a switch.
                let watch = self.jobs.remove(&JobKey::Watch);
                for (_, job) in self.jobs.drain() {
                    job.abort();
                }
                if let Some(w) = watch {
                    self.jobs.insert(JobKey::Watch, w);
                }
                // The old profile's session ends (Candor keeps a server-side row per login).
                if let Some(old) = self.backend.take() {
                    tokio::spawn(async move { logout(old.as_ref()).await });
                }
                self.active = Some(profile.clone());
                let made = {
                    let cfg = self.config.lock().unwrap_or_else(|e| e.into_inner());
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
            Effect::TailLog {
                epoch,
                req,
                build,
                follow,
            } => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                let tx = self.tx.clone();
                self.spawn(JobKey::Log, async move {
                    exec::tail(b.as_ref(), epoch, req, &build, follow, &tx).await;
                    None
                });
            }
            Effect::LoadCache { epoch, profile } => {
                let Some(path) = self.cache_file(&profile) else {
                    return;
                };
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let cache = std::fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<ListCache>(&b).ok());
                    if let Some(cache) = cache {
                        let _ = tx.send(Action::CacheLoaded {
                            epoch,
                            cache: Box::new(cache),
                        });
                    }
                });
            }
            Effect::SaveCache { profile, cache } => {
                let Some(path) = self.cache_file(&profile) else {
                    return;
                };
                tokio::task::spawn_blocking(move || {
                    let write = || -> std::io::Result<()> {
                        if let Some(dir) = path.parent() {
                            std::fs::create_dir_all(dir)?;
                        }
                        // Write then rename: a crash never leaves half a file.
                        let tmp = path.with_extension("tmp");
                        std::fs::write(
                            &tmp,
                            serde_json::to_vec(&cache).map_err(std::io::Error::other)?,
                        )?;
                        std::fs::rename(&tmp, &path)
                    };
                    if let Err(e) = write() {
                        tracing::debug!(error = %e, "cannot write the list cache");
                    }
                });
            }
            Effect::FetchOverview { epoch, req } => {
                let profiles = self.profiles();
                // Reuse each profile's backend (and its token) between overview refreshes.
                let backends: Vec<(String, crate::domain::Kind, Connected)> = profiles
                    .iter()
                    .map(|p| {
                        let b = match self.others.get(&p.name) {
                            Some(b) => Ok(b.clone()),
                            None => api::connect(p),
                        };
                        if let Ok(b) = &b {
                            self.others.insert(p.name.clone(), b.clone());
                        }
                        (p.name.clone(), p.kind, b)
                    })
                    .collect();
                self.spawn(JobKey::Overview, async move {
                    let asks = backends.into_iter().map(|(name, kind, b)| async move {
                        match b {
                            Ok(b) => {
                                let limit = std::time::Duration::from_secs(20);
                                match tokio::time::timeout(
                                    limit,
                                    overview::collect(&name, b.as_ref()),
                                )
                                .await
                                {
                                    Ok(items) => items,
                                    Err(_) => vec![overview::problem(
                                        &name,
                                        b.kind(),
                                        "no answer within 20 s",
                                    )],
                                }
                            }
                            Err(e) => vec![overview::problem(
                                &name,
                                kind,
                                &crate::api::errors::cap_message(&e.to_string()),
                            )],
                        }
                    });
                    let mut items: Vec<_> = futures::future::join_all(asks)
                        .await
                        .into_iter()
                        .flatten()
                        .collect();
                    // Problems first, then failing, running, promoting, queued; newest first within.
                    items.sort_by_key(|i| (overview::rank(i.what), std::cmp::Reverse(i.at)));
                    let page = crate::domain::Page::whole(items);
                    Some(Action::ListLoaded {
                        epoch,
                        req,
                        result: Ok(super::action::Listing::Overview(page)),
                    })
                });
            }
            Effect::Download {
                build,
                file,
                path,
                replace,
            } => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                let tx = self.tx.clone();
                self.spawn(JobKey::Download, async move {
                    let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel();
                    let fwd_tx = tx.clone();
                    let name = file.clone();
                    // Progress at most ten times a second: a fast download must not flood the UI.
                    let forward = tokio::spawn(async move {
                        let mut last =
                            std::time::Instant::now() - std::time::Duration::from_secs(1);
                        while let Some((done, total)) = prx.recv().await {
                            if last.elapsed() >= std::time::Duration::from_millis(100) {
                                last = std::time::Instant::now();
                                let _ = fwd_tx.send(Action::DownloadProgress {
                                    file: name.clone(),
                                    done,
                                    total,
                                });
                            }
                        }
                    });
                    if !replace && tokio::fs::try_exists(&path).await.unwrap_or(false) {
                        return Some(Action::DownloadExists { build, file, path });
                    }
                    // A missing directory is created, and the message says so.
                    let mut created = None;
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
                        && !tokio::fs::try_exists(dir).await.unwrap_or(false)
                        && tokio::fs::create_dir_all(dir).await.is_ok()
                    {
                        created = Some(dir.to_path_buf());
                    }
                    let result = b.download_archive(&build, &file, &path, ptx).await;
                    let _ = forward.await;
                    Some(Action::Downloaded {
                        file,
                        path,
                        result,
                        created,
                    })
                });
            }
            Effect::StopLog => {
                if let Some(job) = self.jobs.remove(&JobKey::Log) {
                    job.abort();
                }
                self.cancel_diff();
            }
            Effect::DiffLog(request) => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                self.cancel_diff();
                let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
                self.diff_cancel = Some(cancel.clone());
                let tx = self.tx.clone();
                self.spawn(JobKey::Diff, async move {
                    Some(super::diffjob::run(b.as_ref(), *request, &tx, cancel).await)
                });
            }
            Effect::CancelDiff => self.cancel_diff(),
            Effect::CompareCandidates { epoch, req, build } => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                self.spawn(JobKey::CompareCandidates, async move {
                    Some(super::diffjob::candidates(b.as_ref(), epoch, req, &build).await)
                });
            }
            // Terminal output is the event loop's business (see `tui`).
            Effect::Copy(_) | Effect::Alert(_) | Effect::Suspend => {}
            Effect::PollWatch { req, items } => self.poll_watch(req, items),
            Effect::SaveWatch { profile, items } => {
                let Some(dir) = self.watch_dir.clone() else {
                    return;
                };
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = super::watch::store::save(&dir, &profile, &items) {
                        tracing::warn!(error = %e, "cannot write the watch list");
                    }
                });
            }
            Effect::OpenUrl(url) => open_url(url, self.tx.clone()),
            Effect::SaveLog { .. } | Effect::SearchSpill { .. } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    if let Some(a) = exec::file_work(&effect) {
                        let _ = tx.send(a);
                    }
                });
            }
            Effect::Audit(entry) => {
                if let Some(path) = self.audit_file.clone() {
                    tokio::spawn(async move { append_audit(&path, &entry).await });
                }
            }
            Effect::Login { .. }
            | Effect::FetchList { .. }
            | Effect::FetchBuilds { .. }
            | Effect::FetchRecent { .. }
            | Effect::LaunchOptions { .. }
            | Effect::FetchEnvironments { .. }
            | Effect::ListArchives { .. }
            | Effect::RunnerHealth { .. }
            | Effect::FetchDeployments { .. }
            | Effect::Mutate { .. } => {
                let Some(b) = self.backend.clone() else {
                    return;
                };
                let key = match &effect {
                    Effect::Login { .. } => JobKey::Login,
                    Effect::FetchList { resource, .. } => JobKey::List(*resource),
                    Effect::FetchBuilds { .. } => JobKey::List(Resource::Builds),
                    Effect::LaunchOptions { .. } => JobKey::LaunchOptions,
                    Effect::FetchEnvironments { .. } => JobKey::Environments,
                    Effect::ListArchives { .. } | Effect::RunnerHealth { .. } => {
                        JobKey::Read(self.next_write())
                    }
                    // One pipeline read per request id; the app never asks twice for one env.
                    Effect::FetchDeployments { req, .. } => JobKey::Deployments(*req),
                    Effect::Mutate { .. } => {
                        self.write(b, effect);
                        return;
                    }
                    _ => JobKey::Read(self.next_write()),
                };
                self.spawn(key, async move { exec::call(b.as_ref(), &effect).await });
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
                    *config.lock().unwrap_or_else(|e| e.into_inner()) = demo_cfg;
                    *sim.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
                    Some(Action::DemoReady { profiles, open })
                });
            }
        }
    }
}

impl Runner {
    /// The configured profiles as they are now.
    fn profiles(&self) -> Vec<crate::config::Profile> {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .profiles
            .clone()
    }

    /// Ask every profile concerned where its watched items are, all at once; one answer.
    fn poll_watch(&mut self, req: u64, items: Vec<super::watch::Watched>) {
        let profiles = self.profiles();
        let mut names: Vec<String> = items.iter().map(|w| w.profile.clone()).collect();
        names.sort();
        names.dedup();
        let mut asks = Vec::new();
        let mut seen = Vec::new();
        for name in names {
            let mine: Vec<_> = items
                .iter()
                .filter(|w| w.profile == name)
                .cloned()
                .collect();
            match profiles.iter().find(|p| p.name == name) {
                Some(p) => match self.backend_for(p) {
                    Ok(b) => asks.push(super::watch::poll::profile(b, mine)),
                    Err(e) => seen.extend(super::watch::poll::failed(&mine, &e.to_string())),
                },
                None => seen.extend(super::watch::poll::failed(&mine, "no such profile")),
            }
        }
        self.spawn(JobKey::Watch, async move {
            seen.extend(futures::future::join_all(asks).await.into_iter().flatten());
            Some(Action::WatchPolled { req, seen })
        });
    }

    /// Stop the log diff in progress: its task is aborted and its blocking part told to stop.
    fn cancel_diff(&mut self) {
        if let Some(flag) = self.diff_cancel.take() {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(job) = self.jobs.remove(&JobKey::Diff) {
            job.abort();
        }
    }

    /// A change: never coalesced, never aborted (not by a newer request, a profile switch or
    /// quit); its audit line is appended before its answer is reported.
    fn write(&mut self, b: Arc<dyn Backend>, effect: Effect) {
        let tx = self.tx.clone();
        let audit = self.audit_file.clone();
        self.writes_in_flight.retain(|h| !h.is_finished());
        self.writes_in_flight.push(tokio::spawn(async move {
            let action = exec::call(b.as_ref(), &effect).await;
            if let (Some(Action::Mutated(done)), Some(path)) = (&action, audit) {
                append_audit(&path, &done.audit).await;
            }
            if let Some(a) = action {
                let _ = tx.send(a);
            }
        }));
    }

    /// Reads this runner still holds a handle to (finished ones are let go on the next spawn).
    pub fn reads_held(&self) -> usize {
        self.jobs.len()
    }

    /// Changes sent and not answered yet.
    pub fn writes_pending(&self) -> usize {
        self.writes_in_flight
            .iter()
            .filter(|h| !h.is_finished())
            .count()
    }

    /// On quit: let changes in flight finish (each bounded by its request timeout, all by
    /// `limit`), then end the session. Reads are simply dropped.
    pub async fn finish(mut self, limit: std::time::Duration) {
        for (_, job) in self.jobs.drain() {
            job.abort();
        }
        let writes = std::mem::take(&mut self.writes_in_flight);
        if tokio::time::timeout(limit, futures::future::join_all(writes))
            .await
            .is_err()
        {
            tracing::warn!("quit with a change still unanswered after {limit:?}");
        }
        if let Some(b) = self.backend.take() {
            logout(b.as_ref()).await;
        }
    }
}

/// Start the browser on a link, detached: nothing waits for it but a reaper task, which
/// reports a failure (no browser found) so the link is shown instead.
fn open_url(url: String, tx: UnboundedSender<Action>) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = tokio::process::Command::new(opener)
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            tokio::spawn(async move {
                if let Ok(status) = child.wait().await
                    && !status.success()
                {
                    let why = format!("{opener} found no browser");
                    let _ = tx.send(Action::OpenFailed { url, why });
                }
            });
        }
        Err(e) => {
            let why = format!("{opener}: {e}");
            let _ = tx.send(Action::OpenFailed { url, why });
        }
    }
}

/// End a backend's session, bounded; a failure is only logged.
async fn logout(b: &dyn Backend) {
    match tokio::time::timeout(std::time::Duration::from_secs(3), b.logout()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "logout failed"),
        Err(_) => tracing::debug!("logout unanswered within 3 s"),
    }
}

/// Append to the audit file off the event loop. A failure is logged, never fatal: the entry
/// is still shown in the Audit pane.
async fn append_audit(path: &std::path::Path, entry: &super::action::AuditEntry) {
    let (path, entry) = (path.to_path_buf(), entry.clone());
    let done = tokio::task::spawn_blocking(move || {
        super::mutation::append_audit(&path, &entry).map_err(|e| (e, path))
    })
    .await;
    if let Ok(Err((e, path))) = done {
        tracing::warn!(error = %e, path = %path.display(), "cannot append to the audit file");
    }
}
