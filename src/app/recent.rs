//! Each project's recent builds, asked lazily for the Projects rows on screen and kept per
//! profile: the LAST BUILD of backends whose project list does not carry it (nullplatform,
//! Aviator) and every project's TREND. One request per visible row at most (the backend's
//! `recent_builds`), a few at a time, answered from the cache for two minutes.

use super::action::Effect;
use super::state::{Millis, State};
use crate::api::ApiError;
use crate::domain::{Build, Resource};
use std::collections::HashMap;

/// Builds kept per project: the trend's length.
pub const RECENT_BUILDS: usize = 20;
/// Requests in flight at once: scrolling never starts a storm.
const MAX_IN_FLIGHT: usize = 4;
/// An answer is good for this long before a visible row asks again.
const FRESH_MS: Millis = 120_000;
/// After a failure, the row asks again after this long.
const RETRY_MS: Millis = 60_000;
/// Entries kept across profiles; the oldest answers go first.
const MAX_ENTRIES: usize = 4_000;

#[derive(Clone, Debug, Default)]
pub struct Recent {
    /// By (profile, project id).
    entries: HashMap<(String, String), Entry>,
    in_flight: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Entry {
    /// Newest first; kept when a later ask fails.
    pub builds: Vec<Build>,
    /// When the last answer came (or 0 before the first).
    pub at: Millis,
    pub loading: bool,
    pub answered: bool,
    /// The last ask failed with this (the builds, if any, are older).
    pub error: Option<String>,
    /// The backend has no build history for projects.
    pub unsupported: bool,
}

impl Recent {
    pub fn get(&self, profile: &str, project_id: &str) -> Option<&Entry> {
        self.entries
            .get(&(profile.to_string(), project_id.to_string()))
    }

    /// The profile was switched away from: its tasks were aborted with it.
    pub(crate) fn forget_in_flight(&mut self) {
        self.in_flight = 0;
        for e in self.entries.values_mut() {
            e.loading = false;
        }
    }

    /// `r` on the Projects pane: every row of `profile` asks again when it is on screen.
    pub(crate) fn expire(&mut self, profile: &str) {
        for ((p, _), e) in self.entries.iter_mut() {
            if p == profile {
                e.at = 0;
                e.unsupported = false;
            }
        }
    }
}

/// The active profile's entry for a project, for drawing.
pub fn of<'a>(s: &'a State, project_id: &str) -> Option<&'a Entry> {
    let profile = s.profile()?;
    s.recent.get(&profile.name, project_id)
}

/// Ask for the recent builds of the Projects rows on screen that have no fresh answer.
pub(crate) fn want(s: &mut State, fx: &mut Vec<Effect>) {
    // Called after every key and reply: cheap when there is nothing to ask.
    if s.pane != Resource::Projects
        || s.session.is_none()
        || s.log_visible()
        || s.recent.in_flight >= MAX_IN_FLIGHT
    {
        return;
    }
    let Some(profile) = s.profile().map(|p| p.name.clone()) else {
        return;
    };
    let now = s.now;
    let l = &s.lists.projects;
    for i in l.meta.window(s.page_rows) {
        if s.recent.in_flight >= MAX_IN_FLIGHT {
            break;
        }
        let Some(p) = l.meta.visible.get(i).and_then(|&r| l.rows.get(r)) else {
            break;
        };
        let key = (profile.clone(), p.id.clone());
        let due = match s.recent.entries.get(&key) {
            None => true,
            Some(e) if e.loading || e.unsupported => false,
            Some(e) if e.error.is_some() => e.at + RETRY_MS <= now,
            Some(e) => !e.answered || e.at + FRESH_MS <= now,
        };
        if !due {
            continue;
        }
        s.recent.entries.entry(key).or_default().loading = true;
        s.recent.in_flight += 1;
        fx.push(Effect::FetchRecent {
            epoch: s.epoch,
            profile: profile.clone(),
            project: Box::new(p.clone()),
        });
    }
    evict(&mut s.recent);
}

/// An answer of [`Effect::FetchRecent`] for the current profile.
pub(crate) fn loaded(
    s: &mut State,
    profile: String,
    project_id: String,
    result: Result<Vec<Build>, ApiError>,
) {
    s.recent.in_flight = s.recent.in_flight.saturating_sub(1);
    let e = s.recent.entries.entry((profile, project_id)).or_default();
    e.loading = false;
    e.at = s.now;
    match result {
        Ok(builds) => {
            e.builds = builds;
            e.answered = true;
            e.error = None;
        }
        Err(ApiError::Unsupported(_)) => {
            e.unsupported = true;
            e.answered = true;
        }
        Err(err) => e.error = Some(err.to_string()),
    }
    if s.pane == Resource::Projects {
        s.dirty = true;
    }
    // The next rows ask from `update`, which calls `want` after every reply.
}

fn evict(r: &mut Recent) {
    if r.entries.len() <= MAX_ENTRIES {
        return;
    }
    let mut ages: Vec<(Millis, (String, String))> = r
        .entries
        .iter()
        .filter(|(_, e)| !e.loading)
        .map(|(k, e)| (e.at, k.clone()))
        .collect();
    ages.sort();
    let extra = r.entries.len() - MAX_ENTRIES;
    for (_, k) in ages.into_iter().take(extra) {
        r.entries.remove(&k);
    }
}
