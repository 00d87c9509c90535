//! The read-only gate: the one place that decides whether a change may reach a server, for
//! the dashboard (`send`) and the one-shot commands (`refusal`) alike. A refused attempt is
//! recorded in the audit trail like any other.

use super::action::Effect;
use super::messages::toast;
use super::mutation::{AuditEntry, Mutation};
use super::state::{Level, State};

/// Why no change may be sent (`--read-only`, or a read-only profile), or `None`.
pub fn refusal(cli_read_only: bool, profile: &str, profile_read_only: bool) -> Option<String> {
    if cli_read_only {
        Some("--read-only is set".to_string())
    } else if profile_read_only {
        Some(format!("profile {profile} is read-only"))
    } else {
        None
    }
}

/// What the operator reads when a change was refused.
pub(crate) fn refused_message(why: &str, op: &Mutation) -> String {
    format!(
        "refused: {why}; the {} of {} was not sent",
        op.verb().replace('_', " "),
        op.target()
    )
}

/// The audit line of a refused attempt: nothing was sent, and the trail says so.
pub(crate) fn refused_audit(
    time: chrono::DateTime<chrono::Utc>,
    profile: &str,
    user: &str,
    why: &str,
    op: &Mutation,
) -> AuditEntry {
    AuditEntry {
        time,
        profile: profile.to_string(),
        user: user.to_string(),
        action: op.verb().to_string(),
        target: op.target(),
        request: op.summary(),
        result: format!("refused: {why}"),
        key: String::new(),
    }
}

/// Whether this state may send changes at all (the footer, help and palette show what a
/// read-only profile cannot do before any form opens).
pub fn why_not(s: &State) -> Option<String> {
    refusal(
        s.cli_read_only,
        s.profile().map(|p| p.name.as_str()).unwrap_or(""),
        s.profile().is_some_and(|p| p.read_only),
    )
}

/// The single gate every change on the server passes through in the dashboard: refused here,
/// before any effect exists, when the profile is read-only (and the refusal is audited).
pub fn send(s: &mut State, op: Mutation, fx: &mut Vec<Effect>) {
    let profile = s.profile().map(|p| p.name.clone()).unwrap_or_default();
    let user = s
        .session
        .as_ref()
        .map(|x| x.user.name.clone())
        .unwrap_or_default();
    if let Some(why) = why_not(s) {
        toast(s, Level::Error, refused_message(&why, &op));
        refused(s, refused_audit(s.wall, &profile, &user, &why, &op), fx);
        return;
    }
    toast(
        s,
        Level::Info,
        format!("{} {}…", op.verb().replace('_', " "), op.target()),
    );
    fx.push(Effect::Mutate {
        epoch: s.epoch,
        op,
        profile,
        user,
    });
}

/// A change key on a read-only profile: refused before any form or question, said, and
/// audited. Returns false when the profile may change things (the key goes on as usual).
pub(crate) fn refuse_early(s: &mut State, verb: &str, fx: &mut Vec<Effect>) -> bool {
    let Some(why) = why_not(s) else {
        return false;
    };
    let target = match (s.pane, s.releases.selected()) {
        (crate::domain::Resource::Releases, Some((project, env))) => format!("{project}/{env}"),
        _ => s
            .lists
            .get(s.pane)
            .selected_id()
            .unwrap_or_else(|| s.pane.as_str().to_string()),
    };
    let what = verb.replace('_', " ");
    toast(
        s,
        Level::Error,
        format!("refused: {why}; no {what} of {target} can be sent from here"),
    );
    let audit = AuditEntry {
        time: s.wall,
        profile: s.profile().map(|p| p.name.clone()).unwrap_or_default(),
        user: s
            .session
            .as_ref()
            .map(|x| x.user.name.clone())
            .unwrap_or_default(),
        action: verb.to_string(),
        target,
        request: String::new(),
        result: format!("refused: {why}"),
        key: String::new(),
    };
    refused(s, audit, fx);
    true
}

/// Record a refused attempt: in the Audit pane at once, and in the audit file by the runner.
pub fn refused(s: &mut State, mut audit: AuditEntry, fx: &mut Vec<Effect>) {
    audit.key = format!("session-{}", s.audit.len());
    s.audit.push(audit.clone());
    fx.push(Effect::Audit(Box::new(audit)));
}
