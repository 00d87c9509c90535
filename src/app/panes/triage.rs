//! Triage modes of the log viewer (issue 12): the failure summary that a failed build's log
//! opens on, and the diff against another build's log (`d`: the last green build, `D`: one
//! picked). The comparison runs off the UI thread (`app::diffjob`); this module holds what
//! the view shows and answers its keys.

use super::logview::{LogView, TailState};
use crate::app::action::{Action, Effect};
use crate::app::diffjob::{DiffOutcome, DiffRequest};
use crate::app::messages::toast;
use crate::app::state::{Level, State};
use crate::domain::{Build, BuildStatus, StepStatus};
use crate::logdiff::{LogDiff, Tag, fetch};

/// What the log viewer shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogMode {
    #[default]
    Log,
    Summary,
    Diff,
}

/// One failed step (or the whole log, when the backend names no failed step) and its first
/// error lines.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedStep {
    /// Empty: the log as a whole.
    pub name: String,
    /// Its first line, when it is a step.
    pub line: Option<u64>,
    /// The step is only where the log stopped: the backend does not say it failed.
    pub guessed: bool,
    pub errors: Vec<(u64, String)>,
}

/// The first screen of a failed build's log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// The log is loaded and the summary made from it.
    pub ready: bool,
    pub steps: Vec<FailedStep>,
    /// Index into [`Summary::links`].
    pub cursor: usize,
}

/// Error lines per failed step in the summary.
const ERRORS_PER_STEP: usize = 3;

impl Summary {
    /// Lines one can jump to, in screen order: each step's start, then its error lines.
    pub fn links(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for s in &self.steps {
            out.extend(s.line);
            out.extend(s.errors.iter().map(|(n, _)| *n));
        }
        out
    }

    /// Read it from a loaded log.
    pub(crate) fn of(log: &LogView) -> Summary {
        let total = log.buf.len();
        let markers = log.buf.steps();
        let range = |i: usize| {
            let start = markers.get(i).map_or(0, |m| m.line);
            let end = markers.get(i + 1).map_or(total, |m| m.line);
            start..end
        };
        let mut steps: Vec<FailedStep> = markers
            .iter()
            .enumerate()
            .filter(|(_, m)| m.status == StepStatus::Failed)
            .map(|(i, m)| FailedStep {
                name: m.name.clone(),
                line: Some(m.line),
                guessed: false,
                errors: log.errors_in(range(i), ERRORS_PER_STEP + 1),
            })
            .collect();
        if steps.is_empty() {
            // No step says it failed: where the log stopped, or the log as a whole.
            steps.push(match markers.len().checked_sub(1) {
                Some(i) => FailedStep {
                    name: markers.get(i).map(|m| m.name.clone()).unwrap_or_default(),
                    line: markers.get(i).map(|m| m.line),
                    guessed: true,
                    errors: log.errors_in(0..total, ERRORS_PER_STEP + 2),
                },
                None => FailedStep {
                    name: String::new(),
                    line: None,
                    guessed: false,
                    errors: log.errors_in(0..total, ERRORS_PER_STEP + 2),
                },
            });
        }
        for s in &mut steps {
            // The step's own first line is linked already (it counts as an error line of a
            // failed step): listed again only when its text says something failed.
            s.errors
                .retain(|(n, t)| Some(*n) != s.line || super::logview::error_line(t));
            s.errors
                .truncate(ERRORS_PER_STEP + usize::from(s.line.is_none()) * 2);
        }
        Summary {
            ready: true,
            steps,
            cursor: 0,
        }
    }
}

/// What an exit code usually means (shells and container runtimes).
pub fn exit_meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "success",
        1 | 2 => "general failure",
        126 => "not executable (permission?)",
        127 => "command not found",
        130 => "interrupted (Ctrl-C)",
        134 => "aborted (SIGABRT)",
        137 => "killed (out of memory?)",
        139 => "segmentation fault",
        143 => "terminated (SIGTERM)",
        129..=159 => "killed by a signal",
        _ => return None,
    })
}

/// One row of the diff view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffRow {
    /// `@@ step … @@` of hunk i.
    Header(usize),
    /// A step that ran in one log only (hunk i).
    Note(usize),
    /// Line j of hunk i.
    Line(usize, usize),
}

/// Where a comparison stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum CompareState {
    #[default]
    Idle,
    Running {
        /// The build compared with, when chosen (`D`).
        other: Option<String>,
        progress: String,
    },
    Ready {
        other: Box<Build>,
        diff: LogDiff,
    },
    NoBaseline(String),
    Failed(String),
    Cancelled,
}

/// The comparison of the log view with another build's log, and the diff view's cursor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compare {
    pub job: u64,
    pub state: CompareState,
    pub rows: Vec<DiffRow>,
    pub cursor: usize,
    pub top: usize,
    /// Where Esc / `d` go back to.
    pub back_to: LogMode,
}

impl Compare {
    /// "+12 −3 lines vs #41", once computed.
    pub fn size_line(&self) -> Option<String> {
        match &self.state {
            CompareState::Ready { other, diff } => {
                Some(format!("{} vs {}", diff.size(), fetch::label(other)))
            }
            _ => None,
        }
    }

    fn diff(&self) -> Option<&LogDiff> {
        match &self.state {
            CompareState::Ready { diff, .. } => Some(diff),
            _ => None,
        }
    }

    /// The line in the full log a row stands for: its own line, else the hunk's start.
    pub fn target(&self, row: usize) -> Option<u64> {
        let diff = self.diff()?;
        match *self.rows.get(row)? {
            DiffRow::Header(h) | DiffRow::Note(h) => diff.hunks.get(h).map(|x| x.new_start),
            DiffRow::Line(h, j) => {
                let hunk = diff.hunks.get(h)?;
                // A removed line has no place in this log: the nearest line after it.
                hunk.lines
                    .iter()
                    .skip(j)
                    .find_map(|l| l.new_line)
                    .or(Some(hunk.new_start + hunk.new_len.saturating_sub(1)))
            }
        }
    }

    fn set_ready(&mut self, other: Box<Build>, diff: LogDiff) {
        let mut rows = Vec::new();
        for (i, h) in diff.hunks.iter().enumerate() {
            rows.push(DiffRow::Header(i));
            if h.note.is_some() {
                rows.push(DiffRow::Note(i));
            }
            rows.extend((0..h.lines.len()).map(|j| DiffRow::Line(i, j)));
        }
        // The cursor starts on the first changed line.
        self.cursor = rows
            .iter()
            .position(|r| match r {
                DiffRow::Line(i, j) => diff
                    .hunks
                    .get(*i)
                    .and_then(|h| h.lines.get(*j))
                    .is_some_and(|l| l.tag != Tag::Context),
                DiffRow::Note(_) => true,
                DiffRow::Header(_) => false,
            })
            .unwrap_or(0);
        self.top = 0;
        self.rows = rows;
        self.state = CompareState::Ready { other, diff };
    }

    fn move_by(&mut self, delta: i64, height: usize) {
        let last = self.rows.len().saturating_sub(1) as i64;
        self.cursor = (self.cursor as i64 + delta).clamp(0, last.max(0)) as usize;
        self.scroll(height);
    }

    fn scroll(&mut self, height: usize) {
        let h = height.max(1);
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + h {
            self.top = self.cursor + 1 - h;
        }
    }

    /// The next (previous) hunk header; returns whether there was one.
    fn jump_hunk(&mut self, forward: bool, height: usize) -> bool {
        let is_header = |r: &DiffRow| matches!(r, DiffRow::Header(_));
        let hit = if forward {
            self.rows
                .iter()
                .enumerate()
                .skip(self.cursor + 1)
                .find(|(_, r)| is_header(r))
                .map(|(i, _)| i)
        } else {
            self.rows
                .iter()
                .enumerate()
                .take(self.cursor)
                .rev()
                .find(|(_, r)| is_header(r))
                .map(|(i, _)| i)
        };
        match hit {
            Some(i) => {
                self.cursor = i;
                // Show the hunk from its header down.
                self.top = i;
                self.scroll(height);
                true
            }
            None => false,
        }
    }
}

/// Open a failed build's log on its summary (follow mode of running builds is unchanged).
pub(crate) fn on_open(log: &mut LogView) {
    if log.build.status == BuildStatus::Failed {
        log.mode = LogMode::Summary;
        log.summary = Some(Summary::default());
    }
}

/// The log is loaded: make the summary, and compare with the last green build in the
/// background so the summary can say how much differs.
pub(crate) fn on_loaded(s: &mut State, req: u64, fx: &mut Vec<Effect>) {
    let Some(log) = s.log.as_mut().filter(|l| l.req == req) else {
        return;
    };
    if log.summary.is_none() || matches!(log.state, TailState::Failed(_)) {
        return;
    }
    let summary = Summary::of(log);
    log.summary = Some(summary);
    if log.compare.state == CompareState::Idle {
        start(s, None, fx);
    }
}

/// Start a comparison (`other`: `None` for the last green build).
fn start(s: &mut State, other: Option<Build>, fx: &mut Vec<Effect>) {
    let job = s.take_req();
    let (epoch, rules, context) = (s.epoch, s.diff.rules(), s.diff.context);
    let Some(log) = s.log.as_mut() else { return };
    log.compare.job = job;
    log.compare.rows.clear();
    log.compare.state = CompareState::Running {
        other: other.as_ref().map(fetch::label),
        progress: "starting…".into(),
    };
    fx.push(Effect::DiffLog(Box::new(DiffRequest {
        epoch,
        req: log.req,
        job,
        build: log.build.clone(),
        other,
        snapshot: log.buf.snapshot(),
        steps: log
            .buf
            .steps()
            .iter()
            .map(|m| (m.name.clone(), m.line))
            .collect(),
        rules,
        context,
    })));
}

/// Whether the log is complete enough to compare.
fn comparable(log: &LogView) -> Result<(), &'static str> {
    if !log.build.status.is_terminal() {
        return Err("the build is still running: compare its log once it has finished");
    }
    match log.state {
        TailState::Loading => Err("the log is still loading; press d again in a moment"),
        TailState::Failed(_) => Err("the log could not be read: nothing to compare"),
        _ => Ok(()),
    }
}

/// Keys of the summary and diff modes, and `d`/`D`/`i` in every mode. Returns false for what
/// the log viewer itself handles (the caller shows the full log for those).
pub(crate) fn handle(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    let page = s.page_rows.max(1) as i64;
    let height = s.page_rows.max(1);
    let Some(log) = s.log.as_mut() else {
        return false;
    };
    match (log.mode, a) {
        (LogMode::Diff, Action::ToggleDiff | Action::Back) => {
            if matches!(log.compare.state, CompareState::Running { .. }) {
                log.compare.state = CompareState::Cancelled;
                fx.push(Effect::CancelDiff);
                log.mode = log.compare.back_to;
                toast(s, Level::Info, "comparison stopped");
            } else {
                log.mode = log.compare.back_to;
            }
        }
        (_, Action::ToggleDiff) => {
            if let Err(why) = comparable(log) {
                toast(s, Level::Info, why);
                return true;
            }
            log.compare.back_to = log.mode;
            log.mode = LogMode::Diff;
            match &log.compare.state {
                CompareState::Running { .. } | CompareState::Ready { .. } => {}
                CompareState::NoBaseline(msg) => {
                    let msg = msg.clone();
                    start(s, None, fx);
                    toast(s, Level::Info, format!("{msg} (asking again)"));
                }
                _ => start(s, None, fx),
            }
        }
        (_, Action::PickDiff) => {
            if let Err(why) = comparable(log) {
                toast(s, Level::Info, why);
                return true;
            }
            fx.push(Effect::CompareCandidates {
                epoch: s.epoch,
                req: log.req,
                build: Box::new(log.build.clone()),
            });
            toast(s, Level::Info, "listing the project's builds…");
        }
        (LogMode::Log, Action::ToggleSummary) => {
            if log.summary.is_some() {
                log.mode = LogMode::Summary;
            } else {
                toast(s, Level::Info, "the summary is for failed builds");
            }
        }
        (LogMode::Summary | LogMode::Diff, Action::ToggleSummary)
        | (LogMode::Summary, Action::Back) => log.mode = LogMode::Log,
        (LogMode::Summary, Action::Up | Action::Down) => {
            if let Some(sum) = log.summary.as_mut() {
                let n = sum.links().len();
                sum.cursor = if matches!(a, Action::Up) {
                    sum.cursor.saturating_sub(1)
                } else {
                    (sum.cursor + 1).min(n.saturating_sub(1))
                };
            }
        }
        (LogMode::Summary, Action::Open) => {
            let target = log
                .summary
                .as_ref()
                .and_then(|sum| sum.links().get(sum.cursor).copied());
            match target {
                Some(line) => jump_to(s, line),
                None => {
                    log.mode = LogMode::Log;
                }
            }
        }
        (LogMode::Diff, Action::Open) => match log.compare.target(log.compare.cursor) {
            Some(line) => jump_to(s, line),
            None => toast(s, Level::Info, "nothing to jump to here"),
        },
        (LogMode::Diff, Action::Up) => log.compare.move_by(-1, height),
        (LogMode::Diff, Action::Down) => log.compare.move_by(1, height),
        (LogMode::Diff, Action::PageUp) => log.compare.move_by(-page, height),
        (LogMode::Diff, Action::PageDown) => log.compare.move_by(page, height),
        (LogMode::Diff, Action::HalfPageUp) => log.compare.move_by(-page / 2, height),
        (LogMode::Diff, Action::HalfPageDown) => log.compare.move_by(page / 2, height),
        (LogMode::Diff, Action::ScrollLeft) => log.hscroll = log.hscroll.saturating_sub(8),
        (LogMode::Diff, Action::ScrollRight) => log.hscroll += 8,
        (LogMode::Diff, Action::Top) => log.compare.move_by(i64::MIN / 2, height),
        (LogMode::Diff, Action::Bottom) => log.compare.move_by(i64::MAX / 2, height),
        (
            LogMode::Diff,
            Action::NextMatch | Action::PrevMatch | Action::NextStep | Action::PrevStep,
        ) => {
            let forward = matches!(a, Action::NextMatch | Action::NextStep);
            if !log.compare.jump_hunk(forward, height) {
                let msg = if log.compare.rows.is_empty() {
                    "no hunks"
                } else if forward {
                    "no further hunk"
                } else {
                    "no earlier hunk"
                };
                toast(s, Level::Info, msg);
            }
        }
        _ => return false,
    }
    s.dirty = true;
    true
}

/// Show the full log at `line` (Enter on a summary or diff line).
fn jump_to(s: &mut State, line: u64) {
    let Some(log) = s.log.as_mut() else { return };
    log.mode = LogMode::Log;
    if line < log.first_in_memory() {
        toast(
            s,
            Level::Info,
            format!("line {} is on disk only; / search finds it", line + 1),
        );
        return;
    }
    log.follow = false;
    log.cursor = line;
    log.clamp();
    // The line a little below the top, so its context shows.
    log.top = line.saturating_sub(3).max(log.first_in_memory());
    log.clamp();
}

/// Whether an action, unhandled by the summary or diff, shows the full log first (the log
/// viewer's own keys: search, follow, wrap…) rather than leaving the mode (help, panes).
pub(crate) fn shows_log(a: &Action) -> bool {
    !matches!(
        a,
        Action::Help
            | Action::Quit
            | Action::Suspend
            | Action::OpenPalette
            | Action::NextPane
            | Action::PrevPane
            | Action::ShowPane(_)
            | Action::Kill
            | Action::Archives
            | Action::Refresh
            | Action::Tick
            | Action::Resize { .. }
    )
}

/// Replies of the comparison job and of the build list for `D`. Returns false for other
/// actions.
pub(crate) fn reply(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    let _ = fx;
    match a {
        Action::DiffProgress {
            epoch,
            req,
            job,
            text,
        } => {
            if let Some(log) = current_log(s, *epoch, *req)
                && log.compare.job == *job
                && let CompareState::Running { progress, .. } = &mut log.compare.state
            {
                *progress = text.clone();
                s.dirty = true;
            }
        }
        Action::DiffDone {
            epoch,
            req,
            job,
            result,
        } => {
            let Some(log) = current_log(s, *epoch, *req).filter(|l| l.compare.job == *job) else {
                return true;
            };
            if log.compare.state == CompareState::Cancelled {
                return true;
            }
            let asked = log.mode == LogMode::Diff;
            let said = match result.as_deref() {
                Ok(DiffOutcome::Diff { other, diff }) => {
                    let msg = diff.is_empty().then(|| {
                        format!(
                            "no difference from {} once times, hashes and counters are ignored",
                            fetch::label(other)
                        )
                    });
                    log.compare.set_ready(other.clone(), diff.clone());
                    msg.map(|m| (Level::Info, m))
                }
                Ok(DiffOutcome::NoBaseline(msg)) => {
                    log.compare.state = CompareState::NoBaseline(msg.clone());
                    Some((Level::Warn, msg.clone()))
                }
                Ok(DiffOutcome::Cancelled) => {
                    log.compare.state = CompareState::Cancelled;
                    None
                }
                Err(e) => {
                    let msg = format!("cannot compare: {e}; {}", e.hint());
                    log.compare.state = CompareState::Failed(msg.clone());
                    Some((Level::Error, msg))
                }
            };
            if let Some((level, msg)) = said.filter(|_| asked) {
                toast(s, level, msg);
            }
            s.dirty = true;
        }
        Action::CompareCandidates { epoch, req, result } => {
            let Some(build) = current_log(s, *epoch, *req).map(|l| l.build.clone()) else {
                return true;
            };
            match result {
                Ok(builds) if builds.is_empty() => toast(
                    s,
                    Level::Warn,
                    "no other finished build of this project to compare with",
                ),
                Ok(builds) => {
                    s.overlay =
                        crate::app::overlays::picker::compare_picker(builds.clone(), &build);
                    s.dirty = true;
                }
                Err(e) => toast(
                    s,
                    Level::Error,
                    format!("cannot list the builds: {e}; {}", e.hint()),
                ),
            }
        }
        _ => return false,
    }
    true
}

fn current_log(s: &mut State, epoch: u64, req: u64) -> Option<&mut LogView> {
    if epoch != s.epoch {
        return None;
    }
    s.log.as_mut().filter(|l| l.req == req)
}

/// The picker chose a build to compare with.
pub(crate) fn compare_with(s: &mut State, other: Build, fx: &mut Vec<Effect>) {
    let Some(log) = s.log.as_mut() else { return };
    if log.mode != LogMode::Diff {
        log.compare.back_to = log.mode;
        log.mode = LogMode::Diff;
    }
    start(s, Some(other), fx);
}

/// How the picker lists a build: `#41 ✔ passed · 2026-12-04 14:02 · alice`.
pub(crate) fn build_item(b: &Build) -> String {
    let mut s = format!(
        "{} {} {}",
        fetch::label(b),
        b.status.symbol(),
        b.status.label()
    );
    if let Some(t) = b.started_at.or(b.queued_at) {
        s.push_str(&format!(" · {}", t.format("%Y-%m-%d %H:%M")));
    }
    if let Some(who) = &b.trigger {
        s.push_str(&format!(" · {}", crate::ui::clean(who)));
    }
    s
}
