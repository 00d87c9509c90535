//! The connection to the active profile: switching profile (a new epoch, so every answer for
//! the old one is dropped), the login result, and `r` when offline or refused.

use super::action::Effect;
use super::lists::load;
use super::messages::toast;
use super::state::{Conn, Level, LoadKind, Overlay, State};
use crate::api::ApiError;
use crate::domain::BuildScope;
use crate::domain::Resource;

pub(crate) fn switch_profile(s: &mut State, name: &str, fx: &mut Vec<Effect>) {
    let Some(idx) = s.profiles.iter().position(|p| p.name == name) else {
        let names: Vec<&str> = s.profiles.iter().map(|p| p.name.as_str()).collect();
        toast(
            s,
            Level::Error,
            format!("no profile `{name}`; profiles: {}", names.join(", ")),
        );
        return;
    };
    // Changes in flight are not aborted (the runner lets them finish and audits them); only
    // their answers for the old epoch are dropped. The runner logs the old backend out.
    s.epoch += 1;
    s.recent.forget_in_flight();
    s.active = Some(idx);
    s.session = None;
    s.conn = Conn::Connecting;
    s.login_failures = 0;
    s.lists = Default::default();
    s.releases = Default::default();
    s.log = None;
    s.open_after_login = None;
    s.watch.scope_after_login = None;
    s.view_after_login = None;
    s.active_view = None;
    // Nothing of the previous profile's screens stays (a project's history, a detail, a log).
    s.builds_scope = BuildScope::Active;
    s.detail = None;
    s.overlay = Overlay::None;
    // A message belongs to its profile: the next one starts with a clean footer.
    s.toast = None;
    s.pane = Resource::Projects;
    // Paint what this profile showed last time while the login is under way.
    fx.push(Effect::LoadCache {
        epoch: s.epoch,
        profile: name.to_string(),
    });
    fx.push(Effect::Connect {
        epoch: s.epoch,
        profile: name.to_string(),
    });
    s.dirty = true;
}

pub fn logged_in(
    s: &mut State,
    result: Result<crate::domain::Session, ApiError>,
    fx: &mut Vec<Effect>,
) {
    match result {
        Ok(session) => {
            s.login_failures = 0;
            s.session = Some(session);
            s.conn = Conn::Online;
            let panes = s.panes();
            if panes.is_empty() {
                let why = s
                    .caps()
                    .map(|c| c.why_not(Resource::Projects))
                    .unwrap_or_default();
                s.conn = Conn::Unavailable(why);
            } else {
                if !panes.contains(&s.pane) {
                    s.pane = panes[0];
                }
                match (s.view_after_login.take(), s.open_after_login.take()) {
                    (Some(view), _) => super::views::apply(s, view, fx),
                    (None, Some(to)) if panes.contains(&to.0) => super::panes::open_at(s, to, fx),
                    _ => load(s, s.pane, LoadKind::Reload, fx),
                }
            }
        }
        Err(e @ ApiError::Auth(_)) => s.conn = Conn::AuthFailed(capped(&e)),
        Err(e @ (ApiError::Unsupported(_) | ApiError::Config(_) | ApiError::Forbidden(_))) => {
            s.conn = Conn::Unavailable(capped(&e))
        }
        Err(e) => {
            // Counted across the `Connecting` in between (a retry that fails again).
            s.login_failures += 1;
            let attempt = s.login_failures;
            // The login's own backoff (1 s doubling to 5 min), as `api::login_gate` keeps it.
            let wait = crate::api::login_gate::delay(attempt).as_millis() as u64;
            s.conn = Conn::Offline {
                reason: capped(&e),
                retry_at: s.now + wait,
                attempt,
            };
        }
    }
}

/// An error for the screen: a server's long message cut to 2 KB (the whole in the log file).
fn capped(e: &ApiError) -> String {
    crate::api::errors::cap_message(&e.to_string()).into_owned()
}

pub fn refresh(s: &mut State, fx: &mut Vec<Effect>) {
    match &s.conn {
        Conn::AuthFailed(_) | Conn::Offline { .. } if s.session.is_none() => {
            if let Some(p) = s.profile().map(|p| p.name.clone()) {
                switch_profile(s, &p, fx);
            }
        }
        _ => {
            if s.pane == crate::domain::Resource::Projects
                && let Some(p) = s.profile().map(|p| p.name.clone())
            {
                s.recent.expire(&p);
            }
            load(s, s.pane, LoadKind::Reload, fx)
        }
    }
}
