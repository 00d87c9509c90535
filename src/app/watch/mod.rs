//! The watch list: `w` on a build, run, task or deployment of any profile adds it (or takes it
//! off again); `:watching` lists them all with their state. While something watched is queued
//! or running, one poll asks each profile concerned where its items are (one read of the
//! active list per profile, see `api::follow`), fast while something runs and not at all when
//! nothing does. When an item ends the operator is told wherever they are: a message with the
//! result and "⏎ to jump there", the bell and a desktop notification (per profile `notify`).
//! The list is kept per profile in the state directory (the runner writes it).

pub mod poll;
pub mod store;

use super::action::{Alert, Effect};
use super::messages::toast;
use super::state::{Level, Millis, Overlay, State, Toast};
use crate::domain::{Build, BuildScope, BuildStatus, Deployment, Resource};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Poll while something watched runs.
pub const BUSY_MS: Millis = 3_000;
/// Poll while watched work only waits in a queue.
pub const QUEUED_MS: Millis = 10_000;
/// Longest wait after failed polls.
const MAX_BACKOFF_MS: Millis = 60_000;
/// How long the "ended" message (and its ⏎ to jump) stays.
const NOTICE_MS: Millis = 15_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchKind {
    /// A build, run or task.
    Build,
    Deployment,
    #[serde(other)]
    Unknown,
}

/// One watched item, as persisted (`<state dir>/watch/<profile>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Watched {
    pub profile: String,
    pub kind: WatchKind,
    /// The id it was watched by (a run id while it runs, a deployment id).
    pub id: String,
    #[serde(default)]
    pub run_id: Option<String>,
    /// The finished record's id, once known (Free Commit gives a run a new id when it ends).
    #[serde(default)]
    pub build_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: BuildStatus,
    #[serde(default)]
    pub raw_status: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub message: Option<String>,
    /// For a run with neither a start time nor a record id (Candor): the newest record of its
    /// project while it ran; its own record is the first one after it.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Polls in a row that did not find it (not kept): after [`LOST_AFTER`] it is given up.
    #[serde(skip)]
    pub misses: u32,
    /// Not found any more (deleted, or its record could not be told): no longer asked about.
    #[serde(default)]
    pub lost: bool,
}

/// Polls in a row without finding an item before it is given up (a minute while busy).
pub const LOST_AFTER: u32 = 20;

impl Watched {
    pub fn from_build(profile: &str, b: &Build) -> Watched {
        Watched {
            profile: profile.to_string(),
            kind: WatchKind::Build,
            id: b.id.clone(),
            run_id: b.run_id.clone(),
            build_id: b.build_id.clone(),
            project_id: b.project_id.clone(),
            project: b.project.clone(),
            environment: None,
            title: format!("{} {}", b.project, super::state::short_id(&b.id)),
            status: b.status,
            raw_status: b.raw_status.clone(),
            started_at: b.started_at,
            message: b.message.clone(),
            baseline: None,
            misses: 0,
            lost: false,
        }
    }

    pub fn from_deployment(profile: &str, d: &Deployment) -> Watched {
        Watched {
            profile: profile.to_string(),
            kind: WatchKind::Deployment,
            id: d.id.clone(),
            run_id: None,
            build_id: None,
            project_id: None,
            project: d.project.clone(),
            environment: Some(d.environment.clone()),
            title: format!("{}/{} {}", d.project, d.environment, d.candidate),
            status: d.status,
            raw_status: d.raw_status.clone(),
            started_at: d.started_at,
            message: d.error.clone(),
            baseline: None,
            misses: 0,
            lost: false,
        }
    }

    /// The build this stands for, as the backend knows it (for `api::follow`).
    pub fn as_build(&self) -> Build {
        Build {
            id: self.id.clone(),
            run_id: self.run_id.clone(),
            build_id: self.build_id.clone(),
            project_id: self.project_id.clone(),
            project: self.project.clone(),
            status: self.status,
            raw_status: self.raw_status.clone(),
            started_at: self.started_at,
            ..Build::default()
        }
    }

    fn same(&self, other: &Watched) -> bool {
        self.profile == other.profile && self.kind == other.kind && self.id == other.id
    }

    /// Still queued or running (worth asking about).
    pub fn active(&self) -> bool {
        !self.status.is_terminal() && self.kind != WatchKind::Unknown && !self.lost
    }
}

/// Where a watched item is now (an answer of a poll).
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub profile: String,
    pub kind: WatchKind,
    pub id: String,
    /// `Ok(None)`: not found this time; `Err`: the profile could not be asked.
    pub result: Result<Option<Now>, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Now {
    pub status: BuildStatus,
    pub raw_status: String,
    pub build_id: Option<String>,
    pub project_id: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub baseline: Option<String>,
}

/// The watch list and its polling.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// Every profile's watched items, in the order they were added.
    pub items: Vec<Watched>,
    /// The next poll (`None`: nothing to ask about).
    pub next_poll: Option<Millis>,
    /// The poll in flight.
    pub polling: Option<u64>,
    pub failures: u32,
    /// The item the last "ended" message is about: ⏎ jumps there while it shows.
    pub jump: Option<(String, Watched)>,
    /// After a switch to another profile to jump: the Builds scope to show.
    pub scope_after_login: Option<BuildScope>,
    /// Polls sent (the status line of `:watching` and tests read it).
    pub polls: u64,
}

impl Watch {
    /// Items of one profile (what its file holds).
    pub fn of(&self, profile: &str) -> Vec<Watched> {
        self.items
            .iter()
            .filter(|w| w.profile == profile)
            .cloned()
            .collect()
    }

    fn interval(&self) -> Option<Millis> {
        let active: Vec<&Watched> = self.items.iter().filter(|w| w.active()).collect();
        if active.is_empty() {
            None
        } else if active.iter().any(|w| w.status != BuildStatus::Queued) {
            Some(BUSY_MS)
        } else {
            Some(QUEUED_MS)
        }
    }
}

/// What `w` would watch on screen now: the open log's build, the selected build, deployment
/// or overview line.
fn selected(s: &State) -> Option<Watched> {
    let profile = s.profile()?.name.clone();
    if s.log_visible() {
        return s
            .log
            .as_ref()
            .map(|l| Watched::from_build(&profile, &l.build));
    }
    match s.pane {
        Resource::Builds => s
            .lists
            .builds
            .selected_row()
            .map(|b| Watched::from_build(&profile, b)),
        Resource::Releases => s
            .lists
            .releases
            .selected_row()
            .map(|d| Watched::from_deployment(&profile, d)),
        Resource::Overview => {
            let item = s.lists.overview.selected_row()?;
            let id = item.target.clone()?;
            let kind = match item.pane {
                Resource::Builds => WatchKind::Build,
                Resource::Releases => WatchKind::Deployment,
                _ => return None,
            };
            Some(Watched {
                profile: item.profile.clone(),
                kind,
                id: id.clone(),
                run_id: (kind == WatchKind::Build).then_some(id),
                build_id: None,
                project_id: None,
                project: item.project.clone(),
                environment: item.environment.clone(),
                title: item.title.clone(),
                status: item.what.status(),
                raw_status: item.detail.clone(),
                started_at: item.at,
                message: None,
                baseline: None,
                misses: 0,
                lost: false,
            })
        }
        _ => None,
    }
}

/// `w`: watch the selected item, or stop watching it.
pub fn toggle(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(item) = selected(s) else {
        toast(
            s,
            Level::Info,
            "w watches a build, run, task or deployment: select one in Builds, Releases or Overview",
        );
        return;
    };
    if let Some(pos) = s.watch.items.iter().position(|w| w.same(&item)) {
        let gone = s.watch.items.remove(pos);
        toast(s, Level::Info, format!("no longer watching {}", gone.title));
        save(s, &gone.profile, fx);
        schedule(s);
        return;
    }
    if item.status.is_terminal() {
        toast(
            s,
            Level::Info,
            format!(
                "{} has already ended ({}); nothing to watch",
                item.title,
                item.status.label()
            ),
        );
        return;
    }
    let text = format!(
        "watching {}: you will be told when it ends (:watching lists it)",
        item.title
    );
    let profile = item.profile.clone();
    s.watch.items.push(item);
    toast(s, Level::Info, text);
    save(s, &profile, fx);
    // Ask soon: the state shown in `:watching` should not wait a whole interval.
    s.watch.failures = 0;
    s.watch.next_poll = Some(s.now + BUSY_MS);
}

/// Remove the `n`th item (`:watching`, `w` on a line).
pub fn remove(s: &mut State, n: usize, fx: &mut Vec<Effect>) {
    if n < s.watch.items.len() {
        let gone = s.watch.items.remove(n);
        toast(s, Level::Info, format!("no longer watching {}", gone.title));
        save(s, &gone.profile, fx);
        schedule(s);
    }
}

fn save(s: &State, profile: &str, fx: &mut Vec<Effect>) {
    fx.push(Effect::SaveWatch {
        profile: profile.to_string(),
        items: s.watch.of(profile),
    });
}

/// Items read from the files at start.
pub fn restore(s: &mut State, items: Vec<Watched>) {
    for item in items {
        if !s.watch.items.iter().any(|w| w.same(&item)) {
            s.watch.items.push(item);
        }
    }
    schedule(s);
    if s.watch.next_poll.is_some() {
        // Watched work may have ended while shipdeck was closed: ask at once.
        s.watch.next_poll = Some(s.now);
    }
}

/// Set the next poll from what is still running (none when nothing is).
fn schedule(s: &mut State) {
    s.watch.next_poll = s.watch.interval().map(|ms| {
        let backoff = if s.watch.failures == 0 {
            0
        } else {
            (BUSY_MS << s.watch.failures.min(5)).min(MAX_BACKOFF_MS)
        };
        s.now + ms.max(backoff)
    });
}

/// The clock: poll when due.
pub fn tick(s: &mut State, fx: &mut Vec<Effect>) {
    if s.watch.polling.is_some() {
        return;
    }
    let Some(at) = s.watch.next_poll else { return };
    if at > s.now {
        return;
    }
    let items: Vec<Watched> = s
        .watch
        .items
        .iter()
        .filter(|w| w.active())
        .cloned()
        .collect();
    if items.is_empty() {
        s.watch.next_poll = None;
        return;
    }
    let req = s.take_req();
    s.watch.polling = Some(req);
    s.watch.polls += 1;
    fx.push(Effect::PollWatch { req, items });
}

pub fn next_deadline(s: &State) -> Option<Millis> {
    if s.watch.polling.is_some() {
        None
    } else {
        s.watch.next_poll
    }
}

/// A poll's answer: new states; the ones that ended are announced.
pub fn polled(s: &mut State, req: u64, seen: Vec<Seen>, fx: &mut Vec<Effect>) {
    if s.watch.polling != Some(req) {
        return;
    }
    s.watch.polling = None;
    let mut failed = false;
    let mut ended: Vec<Watched> = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    for seen in seen {
        let Some(item) = s
            .watch
            .items
            .iter_mut()
            .find(|w| w.profile == seen.profile && w.kind == seen.kind && w.id == seen.id)
        else {
            continue; // removed meanwhile
        };
        let now = match seen.result {
            Ok(Some(now)) => now,
            Ok(None) => {
                item.misses += 1;
                if item.misses >= LOST_AFTER {
                    item.lost = true;
                    item.message = Some("no longer found on the server".into());
                    changed.push(item.profile.clone());
                    ended.push(item.clone());
                }
                continue;
            }
            Err(e) => {
                tracing::debug!(profile = %seen.profile, error = %e, "watch poll failed");
                failed = true;
                continue;
            }
        };
        let was_active = item.active();
        item.misses = 0;
        let before = (
            item.status,
            item.raw_status.clone(),
            item.build_id.clone(),
            item.baseline.clone(),
        );
        item.status = now.status;
        item.raw_status = now.raw_status;
        item.build_id = now.build_id.or(item.build_id.take());
        item.project_id = now.project_id.or(item.project_id.take());
        item.started_at = now.started_at.or(item.started_at);
        item.message = now.message.or(item.message.take());
        item.baseline = now.baseline.or(item.baseline.take());
        let after = (
            item.status,
            item.raw_status.clone(),
            item.build_id.clone(),
            item.baseline.clone(),
        );
        if before != after {
            changed.push(item.profile.clone());
        }
        if was_active && item.status.is_terminal() {
            ended.push(item.clone());
        }
    }
    s.watch.failures = if failed { s.watch.failures + 1 } else { 0 };
    changed.sort();
    changed.dedup();
    for profile in changed {
        save(s, &profile, fx);
    }
    for item in ended {
        announce(s, item, fx);
    }
    schedule(s);
    s.dirty = true;
}

/// Tell the operator a watched item ended, wherever they are.
fn announce(s: &mut State, item: Watched, fx: &mut Vec<Effect>) {
    let why = item
        .message
        .as_deref()
        .filter(|m| !m.is_empty() && item.status != BuildStatus::Succeeded)
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let result = if item.lost {
        format!(
            "{} is no longer found on the server; stopped watching it",
            item.title
        )
    } else {
        format!(
            "{} {} {}{why}",
            item.title,
            item.status.symbol(),
            item.status.label()
        )
    };
    let text = format!("{}: {result} · ⏎ to jump there", item.profile);
    let level = if item.status == BuildStatus::Succeeded {
        Level::Info
    } else {
        Level::Warn
    };
    toast(s, level, text.clone());
    // Shown whatever profile is on screen, long enough to act on.
    let profile = s.profile().map(|p| p.name.clone()).unwrap_or_default();
    s.toast = Some(Toast {
        level,
        text: text.clone(),
        until: s.now + NOTICE_MS,
        profile,
        link: None,
    });
    let notify = s
        .profiles
        .iter()
        .find(|p| p.name == item.profile)
        .map(|p| p.notify)
        .unwrap_or_default();
    if notify.bell() || notify.desktop() {
        fx.push(Effect::Alert(Alert {
            title: format!("shipdeck · {}", item.profile),
            body: result,
            bell: notify.bell(),
            desktop: notify.desktop(),
        }));
    }
    s.watch.jump = Some((text, item));
}

/// Whether ⏎ now means "jump to the item that just ended" (its message is on screen).
pub fn jump_ready(s: &State) -> bool {
    matches!(s.overlay, Overlay::None)
        && match (&s.watch.jump, &s.toast) {
            (Some((text, _)), Some(t)) => t.text == *text && t.until > s.now,
            _ => false,
        }
}

/// ⏎ on the message: go to the item that ended.
pub fn jump_to_notice(s: &mut State, fx: &mut Vec<Effect>) {
    if let Some((_, item)) = s.watch.jump.take() {
        s.toast = None;
        jump(s, &item, fx);
    }
}

/// Open the item's profile on the pane that shows it, the item selected (a finished build in
/// its project's history).
pub fn jump(s: &mut State, item: &Watched, fx: &mut Vec<Effect>) {
    let (pane, row, scope) = match item.kind {
        WatchKind::Deployment => (Resource::Releases, item.id.clone(), None),
        _ => {
            let finished = item.status.is_terminal();
            match (&item.project_id, finished) {
                (Some(pid), true) => (
                    Resource::Builds,
                    item.build_id.clone().unwrap_or_else(|| item.id.clone()),
                    Some(BuildScope::Project {
                        id: pid.clone(),
                        name: item.project.clone(),
                    }),
                ),
                _ => (Resource::Builds, item.id.clone(), None),
            }
        }
    };
    s.overlay = Overlay::None;
    let here = s.profile().is_some_and(|p| p.name == item.profile) && s.session.is_some();
    if here {
        s.log = None;
        s.watch.scope_after_login = scope;
        super::panes::open_at(s, (pane, Some(row)), fx);
    } else {
        super::profile::switch_profile(s, &item.profile, fx);
        s.open_after_login = Some((pane, Some(row)));
        s.watch.scope_after_login = scope;
    }
}

/// `:watching`: one line per item.
pub fn lines(s: &State) -> Vec<String> {
    s.watch
        .items
        .iter()
        .map(|w| {
            let state = if w.lost {
                "not found".to_string()
            } else if w.raw_status.is_empty() || w.status.is_terminal() {
                w.status.label().to_string()
            } else {
                w.raw_status.clone()
            };
            format!(
                "{} {:<10} {:<18} {}",
                w.status.symbol(),
                crate::ui::clean(&state),
                crate::ui::clean(&w.profile),
                crate::ui::clean(&w.title)
            )
        })
        .collect()
}

/// `:watching`.
pub fn open(s: &mut State) {
    if s.watch.items.is_empty() {
        toast(
            s,
            Level::Info,
            "nothing watched: w on a build, run, task or deployment watches it",
        );
        return;
    }
    s.overlay = Overlay::Watching { selected: 0 };
}
