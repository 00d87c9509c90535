//! Marked rows in the Builds pane (`Space`) and the changes made on all of them at once (`x`,
//! `R`): one confirmation lists every target and the rows left out; each target is then sent
//! as its own change through the read-only gate (each audited), checked again against the
//! latest rows at send time like a single kill, and the results come back as one summary.

use super::action::Effect;
use super::messages::toast;
use super::mutation::{Mutation, Outcome};
use super::overlays::confirm::{Recheck, recheck};
use super::state::{Confirm, Level, Overlay, State, short_id};
use crate::api::ApiError;
use crate::domain::{Build, Resource};

/// Changes of one bulk confirmation still on their way back.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    pub epoch: u64,
    /// `kill`, `rerun`, …: the verb of every change sent.
    pub verb: &'static str,
    /// Targets (`Mutation::target`) whose result has not come back yet.
    pub waiting: Vec<String>,
    /// Targets asked about: sent plus left out.
    pub total: usize,
    pub ok: usize,
    /// Left out, or failed, in words ("#12 had already finished").
    pub notes: Vec<String>,
}

/// A build as the operator reads it in a list of targets: `#41` for numeric ids.
pub(crate) fn label(b: &Build) -> String {
    if !b.id.is_empty() && b.id.chars().all(|c| c.is_ascii_digit()) {
        format!("#{}", b.id)
    } else {
        short_id(&b.id).to_string()
    }
}

/// Space in the Builds pane: mark or unmark the selected row.
pub(crate) fn toggle(s: &mut State) {
    let Some(id) = s.lists.builds.selected_row().map(|b| b.id.clone()) else {
        toast(s, Level::Info, "no build to mark here");
        return;
    };
    let marked = &mut s.lists.builds.marked;
    match marked.iter().position(|m| *m == id) {
        Some(i) => {
            marked.remove(i);
        }
        None => marked.push(id),
    }
}

/// Esc with marks: clear them (true), before Esc does anything else.
pub(crate) fn clear(s: &mut State) -> bool {
    if s.pane != Resource::Builds || s.lists.builds.marked.is_empty() {
        return false;
    }
    let n = s.lists.builds.marked.len();
    s.lists.builds.marked.clear();
    toast(s, Level::Info, format!("{n} marks cleared"));
    true
}

/// Whether `x` / `R` act on the marked rows rather than on the selected one.
pub(crate) fn active(s: &State) -> bool {
    s.pane == Resource::Builds && !s.log_visible() && !s.lists.builds.marked.is_empty()
}

/// The marked builds as the list has them now (marks whose row left the list are said).
fn targets(s: &State) -> (Vec<Build>, Vec<String>) {
    let l = &s.lists.builds;
    let mut found = Vec::new();
    let mut gone = Vec::new();
    for id in &l.marked {
        match l.rows.iter().find(|b| b.id == *id) {
            Some(b) => found.push(b.clone()),
            None => gone.push(format!("{} is no longer in the list", short_id(id))),
        }
    }
    (found, gone)
}

/// `x` on marked rows: one confirmation for every run that can still be killed.
pub(crate) fn ask_kill(s: &mut State) {
    let (builds, mut skipped) = targets(s);
    let mut ops = Vec::new();
    for b in builds {
        if b.status.is_terminal() || b.run_id.is_none() {
            skipped.push(format!("{} had already finished", label(&b)));
        } else {
            ops.push(Mutation::Kill { build: b });
        }
    }
    ask(s, "kill", ops, skipped);
}

/// `R` on marked rows: one confirmation for every finished build, each with its parameters.
pub(crate) fn ask_rerun(s: &mut State) {
    let (builds, mut skipped) = targets(s);
    let mut ops = Vec::new();
    for b in builds {
        match super::rerun::plan(s, &b) {
            Ok(op) => ops.push(op),
            // The reason names the build already when it is about that build.
            Err(why) if why.contains(short_id(&b.id)) => {
                skipped.push(why.replace(short_id(&b.id), &label(&b)))
            }
            Err(why) => skipped.push(format!("{}: {why}", label(&b))),
        }
    }
    ask(s, "re-run", ops, skipped);
}

fn ask(s: &mut State, what: &str, ops: Vec<Mutation>, skipped: Vec<String>) {
    let Some(first) = ops.first().cloned() else {
        toast(
            s,
            Level::Info,
            format!("nothing to {what}: {}", skipped.join("; ")),
        );
        return;
    };
    let mut lines: Vec<String> = ops.iter().map(line).collect();
    lines.extend(skipped.iter().map(|w| format!("left out: {w}")));
    lines.push("Each is sent as its own change.".into());
    lines.push(format!(
        "profile {}",
        s.profile().map(|p| p.name.as_str()).unwrap_or_default()
    ));
    let n = ops.len();
    s.overlay = Overlay::Confirm(Box::new(Confirm {
        title: format!("{what} {n} build{}", if n == 1 { "" } else { "s" }),
        lines,
        pending: first,
        typed: None,
        error: None,
        bulk: ops,
        skipped,
    }));
}

/// One target of the confirmation, in words.
fn line(op: &Mutation) -> String {
    match op {
        Mutation::Kill { build } => format!(
            "kill {} {} ({})",
            build.project,
            label(build),
            build.status.label()
        ),
        Mutation::Rerun {
            build,
            request,
            unknown,
        } => format!(
            "re-run {} {}: {}{}",
            build.project,
            label(build),
            super::rerun::words(build, request),
            unknown
                .as_deref()
                .map(|u| format!(" (not known: {u})"))
                .unwrap_or_default()
        ),
        Mutation::Redeploy { build } => format!(
            "re-run {} {}: {}",
            build.project,
            label(build),
            super::rerun::redeploy_words(build)
        ),
        other => format!("{} {}", other.verb(), other.target()),
    }
}

/// The operator said yes: each target checked against the latest rows and sent on its own.
pub(crate) fn send(
    s: &mut State,
    ops: Vec<Mutation>,
    mut skipped: Vec<String>,
    fx: &mut Vec<Effect>,
) {
    let total = ops.len() + skipped.len();
    let verb = ops.first().map_or("kill", Mutation::verb);
    let mut waiting = Vec::new();
    for op in ops {
        let label_now = match &op {
            Mutation::Kill { build } => label(build),
            other => other.target(),
        };
        let op = match recheck(s, op) {
            Recheck::Send(op) | Recheck::SendChanged(op, _) => op,
            Recheck::Moot(_) => {
                skipped.push(format!("{label_now} finished meanwhile"));
                continue;
            }
        };
        let before = fx.len();
        let target = op.target();
        super::gate::send(s, op, fx);
        if fx.len() > before {
            waiting.push(target);
        }
    }
    s.lists.builds.marked.clear();
    s.bulk = Some(Tally {
        epoch: s.epoch,
        verb,
        waiting,
        total,
        ok: 0,
        notes: skipped,
    });
    finish_if_done(s);
}

/// A change came back: counted when it belongs to the bulk on its way. Returns whether it did.
pub(crate) fn on_result(s: &mut State, op: &Mutation, result: &Result<Outcome, ApiError>) {
    let Some(t) = s.bulk.as_mut().filter(|t| t.epoch == s.epoch) else {
        return;
    };
    let target = op.target();
    let Some(i) = t.waiting.iter().position(|w| *w == target) else {
        return;
    };
    t.waiting.remove(i);
    match result {
        Ok(_) => t.ok += 1,
        Err(e) => {
            let who = match op {
                Mutation::Kill { build } | Mutation::Rerun { build, .. } => label(build),
                other => other.target(),
            };
            t.notes.push(format!("{who} failed: {e}"));
        }
    }
    finish_if_done(s);
}

/// All results are back: one message for all of them.
fn finish_if_done(s: &mut State) {
    let Some(t) = s.bulk.as_ref().filter(|t| t.waiting.is_empty()) else {
        return;
    };
    let done = match t.verb {
        "kill" => "killed",
        "rerun" | "redeploy" => "re-ran",
        other => other,
    };
    let mut text = format!("{done} {} of {}", t.ok, t.total);
    if !t.notes.is_empty() {
        text.push_str(&format!(": {}", t.notes.join("; ")));
    }
    let level = if t.ok == t.total {
        Level::Info
    } else {
        Level::Warn
    };
    s.bulk = None;
    toast(s, level, text);
}
