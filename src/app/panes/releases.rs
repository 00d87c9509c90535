//! The Releases pane: a project's environments in promotion order with what each runs, the
//! selected environment's deployment history, and the promotion actions. After a deploy or a
//! rollback the pane follows the environment until the deployment settles, then notifies.

use crate::api::ApiError;
use crate::app::action::{Action, Effect, Mutation};
use crate::app::state::{FormPurpose, LaunchForm, Level, Millis, Overlay, State};
use crate::domain::{BuildStatus, Deployment, Environment, LaunchField, Page, Resource};
use ratatui_textarea::TextArea;
use std::collections::HashMap;

/// How often a watched environment is re-read.
const WATCH_MS: Millis = 2_000;
/// Deployments read per environment for the pipeline (current = newest success among them).
const SUMMARY_PAGE: u32 = 100;

/// What one environment runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvState {
    /// The newest deployment, whatever its status.
    pub latest: Option<Deployment>,
    /// The newest successful one: what the environment runs.
    pub current: Option<Deployment>,
    pub loading: bool,
    pub error: Option<String>,
    pub loaded_at: Option<Millis>,
}

/// A release candidate the server listed (in a deployment) or this session created.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownCandidate {
    pub project: String,
    pub candidate: String,
    /// Its newest deployment's start (or its creation here): the picker lists newest first.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Follow an environment after a change until its newest deployment is terminal.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    pub project: String,
    pub environment: String,
    /// The candidate expected (deploy), or any new deployment (rollback).
    pub candidate: Option<String>,
    pub next_at: Millis,
    /// Deployment ids seen before the change (a rollback's new row is the one not among them).
    pub before: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Releases {
    /// All configured environments, grouped by project in promotion order.
    pub envs: Vec<Environment>,
    pub loaded: bool,
    pub error: Option<String>,
    /// Index into `projects()`.
    pub project: usize,
    /// Position of the selected environment within the project.
    pub env: usize,
    pub state: HashMap<(String, String), EnvState>,
    /// Pipeline requests in flight: request id → (project, environment).
    pub reqs: HashMap<u64, (String, String)>,
    /// Candidates seen in deployment lists or created in this session, per project.
    pub candidates: Vec<KnownCandidate>,
    pub watch: Option<Watch>,
}

impl Releases {
    pub fn projects(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in &self.envs {
            if !out.contains(&e.project) {
                out.push(e.project.clone());
            }
        }
        out
    }

    pub fn project_name(&self) -> Option<String> {
        self.projects().get(self.project).cloned()
    }

    /// Environments of the selected project, in order.
    pub fn environments(&self) -> Vec<&Environment> {
        let p = self.project_name();
        let mut v: Vec<&Environment> = self
            .envs
            .iter()
            .filter(|e| Some(&e.project) == p.as_ref())
            .collect();
        v.sort_by_key(|e| e.position);
        v
    }

    pub fn selected(&self) -> Option<(String, String)> {
        let envs = self.environments();
        envs.get(self.env.min(envs.len().saturating_sub(1)))
            .map(|e| (e.project.clone(), e.name.clone()))
    }

    pub(crate) fn env_state(&self, project: &str, env: &str) -> Option<&EnvState> {
        self.state.get(&(project.to_string(), env.to_string()))
    }

    fn remember(
        &mut self,
        project: &str,
        candidate: &str,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        match self
            .candidates
            .iter_mut()
            .find(|c| c.project == project && c.candidate == candidate)
        {
            Some(known) => known.at = known.at.max(at),
            None => self.candidates.push(KnownCandidate {
                project: project.to_string(),
                candidate: candidate.to_string(),
                at,
            }),
        }
    }

    /// The project's known candidates, newest first.
    pub fn candidates_of(&self, project: &str) -> Vec<&KnownCandidate> {
        let mut v: Vec<&KnownCandidate> = self
            .candidates
            .iter()
            .filter(|c| c.project == project)
            .collect();
        v.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.candidate.cmp(&a.candidate)));
        v
    }
}

use crate::app::messages::toast;

/// Entering the pane: environments first, then the pipeline and the history.
pub fn open(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.releases.loaded {
        fx.push(Effect::FetchEnvironments { epoch: s.epoch });
        return;
    }
    refresh_pipeline(s, fx);
    if s.lists.releases.loaded_at.is_none() && s.lists.releases.loading.is_none() {
        crate::app::lists::reload(s, Resource::Releases, fx);
    }
}

/// Re-read every environment of the selected project (one request each, coalesced by id).
pub(crate) fn refresh_pipeline(s: &mut State, fx: &mut Vec<Effect>) {
    let envs: Vec<(String, String)> = s
        .releases
        .environments()
        .iter()
        .map(|e| (e.project.clone(), e.name.clone()))
        .collect();
    for (project, env) in envs {
        fetch_env(s, project, env, fx);
    }
}

fn fetch_env(s: &mut State, project: String, environment: String, fx: &mut Vec<Effect>) {
    let key = (project.clone(), environment.clone());
    if s.releases.reqs.values().any(|k| *k == key) {
        return; // already in flight
    }
    let req = s.take_req();
    s.releases.reqs.insert(req, key.clone());
    s.releases.state.entry(key).or_default().loading = true;
    fx.push(Effect::FetchDeployments {
        epoch: s.epoch,
        req,
        project,
        environment,
        page: 1,
        per_page: SUMMARY_PAGE,
    });
}

pub(crate) fn environments_loaded(
    s: &mut State,
    result: Result<Vec<Environment>, ApiError>,
    fx: &mut Vec<Effect>,
) {
    match result {
        Ok(envs) => {
            s.releases.envs = envs;
            s.releases.loaded = true;
            s.releases.error = None;
            refresh_pipeline(s, fx);
            crate::app::lists::reload(s, Resource::Releases, fx);
        }
        Err(e) => {
            s.releases.error = Some(e.to_string());
            toast(s, Level::Error, format!("cannot list environments: {e}"));
        }
    }
}

/// A pipeline read came back. Returns false when `req` was not one of ours (a history page).
pub(crate) fn deployments_loaded(
    s: &mut State,
    req: u64,
    result: &Result<Page<Deployment>, ApiError>,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(key) = s.releases.reqs.remove(&req) else {
        return false;
    };
    let now = s.now;
    let entry = s.releases.state.entry(key.clone()).or_default();
    entry.loading = false;
    entry.loaded_at = Some(now);
    match result {
        Ok(page) => {
            entry.error = None;
            let (latest, current) = crate::domain::environment_runs(&page.items);
            entry.latest = latest.cloned();
            entry.current = current.cloned();
            for d in &page.items {
                s.releases
                    .remember(&d.project, &d.candidate, d.started_at.or(d.finished_at));
            }
        }
        Err(e) => entry.error = Some(e.to_string()),
    }
    check_watch(s, &key, fx);
    s.dirty = true;
    true
}

/// Notify when the watched environment's deployment settled.
fn check_watch(s: &mut State, key: &(String, String), fx: &mut Vec<Effect>) {
    let Some(w) = &s.releases.watch else { return };
    if (w.project.clone(), w.environment.clone()) != *key {
        return;
    }
    let latest = s
        .releases
        .env_state(&key.0, &key.1)
        .and_then(|e| e.latest.clone());
    let Some(d) = latest else { return };
    let ours = match (&w.candidate, &w.before) {
        (Some(c), _) => d.candidate == *c,
        (None, Some(before)) => d.id != *before,
        (None, None) => true,
    };
    if ours && d.status.is_terminal() {
        let text = format!(
            "{}/{}: {} {} {}",
            d.project,
            d.environment,
            d.candidate,
            d.status.symbol(),
            d.raw_status
        );
        let level = if d.status == BuildStatus::Succeeded {
            Level::Info
        } else {
            Level::Error
        };
        toast(s, level, text.clone());
        // Bell and desktop notification as the profile's `notify` says (as for watched items).
        let notify = s.profile().map(|p| p.notify).unwrap_or_default();
        if notify.bell() || notify.desktop() {
            fx.push(Effect::Alert(crate::app::action::Alert {
                title: format!(
                    "shipdeck · {}",
                    s.profile().map(|p| p.name.as_str()).unwrap_or_default()
                ),
                body: text,
                bell: notify.bell(),
                desktop: notify.desktop(),
            }));
        }
        s.releases.watch = None;
        crate::app::lists::reload(s, Resource::Releases, fx);
    }
}

/// Clock: re-read the watched environment.
pub fn tick(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(w) = s.releases.watch.clone() else {
        return;
    };
    if w.next_at > s.now {
        return;
    }
    if let Some(x) = s.releases.watch.as_mut() {
        x.next_at = s.now + WATCH_MS;
    }
    fetch_env(s, w.project, w.environment, fx);
}

pub fn next_deadline(s: &State) -> Option<Millis> {
    s.releases.watch.as_ref().map(|w| w.next_at)
}

/// The selected environment changed: the history follows it.
fn reselect(s: &mut State, fx: &mut Vec<Effect>) {
    s.lists.releases = Default::default();
    crate::app::lists::reload(s, Resource::Releases, fx);
}

/// Keys of the Releases pane. Returns false when the action is not one of its own.
pub fn action(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    let n_envs = s.releases.environments().len();
    match a {
        Action::PrevEnv => {
            s.releases.env = s.releases.env.saturating_sub(1);
            reselect(s, fx);
        }
        Action::NextEnv => {
            s.releases.env = (s.releases.env + 1).min(n_envs.saturating_sub(1));
            reselect(s, fx);
        }
        Action::NextProject => {
            let n = s.releases.projects().len().max(1);
            s.releases.project = (s.releases.project + 1) % n;
            s.releases.env = 0;
            refresh_pipeline(s, fx);
            reselect(s, fx);
        }
        Action::Promote => promote(s),
        Action::DeployCandidate => deploy_form(s),
        Action::Rollback => rollback(s),
        Action::SetStatus => status_form(s),
        Action::CutRelease => cut_form(s),
        _ => return false,
    }
    s.dirty = true;
    true
}

fn can(s: &State, what: fn(&crate::domain::ReleaseSupport) -> bool) -> bool {
    s.caps().is_some_and(|c| what(&c.releases))
}

/// Promote: what the selected environment runs goes to the next one.
/// Names of the selected project's environments, in promotion order.
fn env_names(s: &State) -> Vec<String> {
    s.releases
        .environments()
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

fn promote(s: &mut State) {
    if !can(s, |r| r.deploy) {
        return toast(s, Level::Warn, "this backend cannot deploy");
    }
    let envs = env_names(s);
    let Some((project, env)) = s.releases.selected() else {
        return;
    };
    let i = envs.iter().position(|e| *e == env).unwrap_or(0);
    let Some(next) = envs.get(i + 1).cloned() else {
        return toast(
            s,
            Level::Info,
            format!("{env} is the last environment; D deploys a chosen candidate"),
        );
    };
    let Some(candidate) = s
        .releases
        .env_state(&project, &env)
        .and_then(|e| e.current.clone())
        .map(|d| d.candidate)
    else {
        return toast(
            s,
            Level::Info,
            format!("{env} runs no successful release yet to promote"),
        );
    };
    let from = s
        .releases
        .env_state(&project, &next)
        .and_then(|e| e.current.clone())
        .map(|d| d.candidate);
    // Nothing would change: say so, ask nothing, send nothing.
    if from.as_deref() == Some(candidate.as_str()) {
        return toast(
            s,
            Level::Info,
            format!("{next} already runs {candidate}: nothing to promote"),
        );
    }
    let op = Mutation::Deploy {
        request: crate::domain::DeployRequest {
            project,
            environment: next,
            candidate,
        },
        from,
    };
    s.overlay = crate::app::overlays::confirm::confirm_for(s, op);
}

/// The environments before `env` in promotion order that do not run `candidate`: a deploy
/// of it to `env` skips them.
pub fn skipped(s: &State, project: &str, env: &str, candidate: &str) -> Vec<String> {
    let mut envs: Vec<&Environment> = s
        .releases
        .envs
        .iter()
        .filter(|e| e.project == project)
        .collect();
    envs.sort_by_key(|e| e.position);
    envs.iter()
        .take_while(|e| e.name != env)
        .filter(|e| {
            s.releases
                .env_state(project, &e.name)
                .and_then(|st| st.current.as_ref())
                .is_none_or(|d| d.candidate != candidate)
        })
        .map(|e| e.name.clone())
        .collect()
}

/// What a rollback of `env` goes back to: the newest successful deployment in its history that
/// is not what it runs now (the history on screen is the selected environment's).
pub fn previous(s: &State, project: &str, env: &str, current: Option<&str>) -> Option<String> {
    if s.releases
        .selected()
        .as_ref()
        .map(|(p, e)| (p.as_str(), e.as_str()))
        != Some((project, env))
    {
        return None;
    }
    s.lists
        .releases
        .rows
        .iter()
        .filter(|d| d.status == BuildStatus::Succeeded)
        .map(|d| d.candidate.clone())
        .find(|c| Some(c.as_str()) != current)
}

fn rollback(s: &mut State) {
    if !can(s, |r| r.rollback) {
        return toast(s, Level::Warn, "this backend cannot roll back");
    }
    let Some((project, env)) = s.releases.selected() else {
        return;
    };
    let from = s
        .releases
        .env_state(&project, &env)
        .and_then(|e| e.current.clone())
        .map(|d| d.candidate);
    let op = Mutation::Rollback {
        request: crate::domain::RollbackRequest {
            project,
            environment: env,
            force: false,
        },
        from,
    };
    s.overlay = crate::app::overlays::confirm::confirm_for(s, op);
}

fn field(name: &str, label: &str, default: Option<String>) -> (LaunchField, TextArea<'static>) {
    let f = LaunchField {
        name: name.into(),
        label: label.into(),
        required: true,
        default: default.clone(),
        key_values: false,
    };
    let mut input = TextArea::new(vec![default.unwrap_or_default()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    (f, input)
}

fn form(
    project: String,
    purpose: FormPurpose,
    fields: Vec<(LaunchField, TextArea<'static>)>,
) -> Overlay {
    Overlay::Launch(Box::new(LaunchForm::fields_only(
        purpose,
        project.clone(),
        project,
        Vec::new(),
        fields,
    )))
}

/// Deploy a chosen candidate to the selected environment: picked from the candidates the
/// server listed (and those cut here), newest first, each with where it runs; the cursor
/// starts on what the previous environment runs (a promotion by hand).
fn deploy_form(s: &mut State) {
    if !can(s, |r| r.deploy) {
        return toast(s, Level::Warn, "this backend cannot deploy");
    }
    let Some((project, env)) = s.releases.selected() else {
        return;
    };
    let envs = env_names(s);
    let runs = |cand: &str| -> Vec<String> {
        envs.iter()
            .filter(|e| {
                s.releases
                    .env_state(&project, e)
                    .and_then(|st| st.current.as_ref())
                    .is_some_and(|d| d.candidate == cand)
            })
            .cloned()
            .collect()
    };
    let known: Vec<String> = s
        .releases
        .candidates_of(&project)
        .into_iter()
        .map(|c| c.candidate.clone())
        .collect();
    if known.is_empty() {
        return toast(
            s,
            Level::Warn,
            format!(
                "no candidates of {project} known yet: they come from the deployment lists \
                 (wait for the pipeline to load) or C cuts one"
            ),
        );
    }
    let from = s
        .releases
        .env_state(&project, &env)
        .and_then(|e| e.current.clone())
        .map(|d| d.candidate);
    let i = envs.iter().position(|e| *e == env).unwrap_or(0);
    let prev_runs = i
        .checked_sub(1)
        .and_then(|p| envs.get(p))
        .and_then(|p| s.releases.env_state(&project, p))
        .and_then(|e| e.current.as_ref())
        .map(|d| d.candidate.clone());
    let selected = prev_runs
        .and_then(|c| known.iter().position(|k| *k == c))
        .unwrap_or(0);
    let items = known
        .iter()
        .map(|c| {
            let here = if from.as_deref() == Some(c.as_str()) {
                " · runs here now"
            } else {
                ""
            };
            match runs(c) {
                r if r.is_empty() => format!("{c}{here}"),
                r => format!("{c}  (on {}){here}", r.join(", ")),
            }
        })
        .collect();
    s.overlay = Overlay::Pick(Box::new(crate::app::overlays::picker::Pick::new(
        format!("deploy to {env}: which candidate of {project}?"),
        items,
        selected,
        crate::app::overlays::picker::PickFor::Candidate {
            project,
            environment: env,
            from,
            candidates: known,
        },
    )));
}

fn status_form(s: &mut State) {
    if !can(s, |r| r.set_status) {
        return toast(
            s,
            Level::Warn,
            "this backend cannot set deployment statuses",
        );
    }
    let Some((project, env)) = s.releases.selected() else {
        return;
    };
    let candidate = s
        .lists
        .releases
        .selected_row()
        .map(|d| d.candidate.clone())
        .or_else(|| {
            s.releases
                .env_state(&project, &env)
                .and_then(|e| e.latest.clone())
                .map(|d| d.candidate)
        });
    let statuses = s
        .caps()
        .map(|c| c.releases.statuses.clone())
        .unwrap_or_default();
    let mut overlay = form(
        project,
        FormPurpose::SetStatus { environment: env },
        vec![
            field("candidate", "candidate", candidate),
            field(
                "status",
                &format!("status ({})", statuses.join("|")),
                Some("success".into()),
            ),
        ],
    );
    if let Overlay::Launch(f) = &mut overlay {
        f.statuses = statuses;
    }
    s.overlay = overlay;
}

fn cut_form(s: &mut State) {
    if !can(s, |r| r.create) {
        return toast(s, Level::Warn, "this backend cannot create releases");
    }
    let Some(project) = s.releases.project_name() else {
        return;
    };
    s.overlay = form(
        project,
        FormPurpose::CutRelease,
        vec![
            field("candidate", "version", None),
            field("repo", "repo (org/name)", None),
            field("commit", "commit", None),
            field("build", "start build (y/n)", Some("y".into())),
        ],
    );
}

/// A release change came back fine: show it, refresh, and follow deploys and rollbacks.
pub fn changed(s: &mut State, op: Mutation, fx: &mut Vec<Effect>) {
    match op {
        Mutation::CreateRelease { request } => {
            s.releases.remember(
                &request.project,
                &request.candidate,
                Some(chrono::Utc::now()),
            );
            toast(
                s,
                Level::Info,
                format!("{}: {} created", request.project, request.candidate),
            );
        }
        Mutation::Deploy { request, .. } => {
            s.releases.watch = Some(Watch {
                project: request.project.clone(),
                environment: request.environment.clone(),
                candidate: Some(request.candidate.clone()),
                next_at: s.now,
                before: None,
            });
            fetch_env(s, request.project, request.environment, fx);
        }
        Mutation::Rollback { request, .. } => {
            let before = s
                .releases
                .env_state(&request.project, &request.environment)
                .and_then(|e| e.latest.as_ref().map(|d| d.id.clone()));
            s.releases.watch = Some(Watch {
                project: request.project.clone(),
                environment: request.environment.clone(),
                candidate: None,
                next_at: s.now,
                before,
            });
            fetch_env(s, request.project, request.environment, fx);
        }
        Mutation::SetStatus { request } => {
            toast(
                s,
                Level::Info,
                format!(
                    "{} on {}: {}",
                    request.candidate, request.environment, request.status
                ),
            );
            fetch_env(s, request.project, request.environment, fx);
        }
        _ => {}
    }
    crate::app::lists::reload(s, Resource::Releases, fx);
}
