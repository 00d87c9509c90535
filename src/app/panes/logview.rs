//! The log viewer's state and the pure operations on it: ingest, follow, scroll, search,
//! filter to matches, steps, selection. The buffer behind it is bounded; what leaves memory
//! goes to a spill file, so save and search still cover the whole log. (That spill file is the
//! one piece of I/O reachable from `update`: it is part of the buffer as a data structure.)

use crate::app::action::LogItem;
use crate::domain::{Build, BuildStatus, StepStatus};
use crate::logtext::{LogBuffer, Needle};
use std::path::PathBuf;

/// Where the tail stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TailState {
    Loading,
    /// Following a running build.
    Live,
    /// The build finished: the archived log is loaded (or loading).
    Archived,
    Done(Option<BuildStatus>),
    Failed(String),
}

#[derive(Debug)]
pub struct LogView {
    pub build: Build,
    pub req: u64,
    pub buf: LogBuffer,
    /// The line the cursor is on (absolute line number).
    pub cursor: u64,
    /// First line on screen when not following.
    pub top: u64,
    pub follow: bool,
    pub wrap: bool,
    pub numbers: bool,
    pub hscroll: usize,
    /// The search term as typed (empty: none).
    pub search: String,
    /// It compiled: smart case, a regular expression or plain text (see `logtext::Needle`).
    pub needle: Option<Needle>,
    /// Show only the lines matching `search` (in-memory lines).
    pub only_matches: bool,
    /// Line numbers of in-memory matches, ascending (kept while `only_matches`).
    pub matches: Vec<u64>,
    /// Start of a selection (the other end is the cursor).
    pub mark: Option<u64>,
    pub state: TailState,
    pub steps_open: bool,
    /// Where a new buffer spills (recreated on restart).
    spill_path: PathBuf,
    capacity: usize,
    /// How many times the live text was replaced by the archived log.
    pub restarts: u32,
    /// Viewport height in lines, from the last resize.
    pub height: usize,
    /// What the view shows: the log, a failed build's summary, or the diff (issue 12).
    pub mode: super::triage::LogMode,
    /// The failure summary, once the log of a failed build is loaded.
    pub summary: Option<super::triage::Summary>,
    /// The comparison with another build's log.
    pub compare: super::triage::Compare,
}

impl Clone for LogView {
    /// State is cloned only by tests and snapshots; a clone gets an empty buffer of its own.
    fn clone(&self) -> Self {
        let mut path = self.spill_path.clone();
        path.set_extension("clone");
        LogView {
            build: self.build.clone(),
            req: self.req,
            buf: LogBuffer::new(self.capacity, path.clone()),
            cursor: 0,
            top: 0,
            follow: self.follow,
            wrap: self.wrap,
            numbers: self.numbers,
            hscroll: 0,
            search: self.search.clone(),
            needle: self.needle.clone(),
            only_matches: false,
            matches: Vec::new(),
            mark: None,
            state: self.state.clone(),
            steps_open: self.steps_open,
            spill_path: path,
            capacity: self.capacity,
            restarts: self.restarts,
            height: self.height,
            mode: self.mode,
            summary: self.summary.clone(),
            compare: self.compare.clone(),
        }
    }
}

impl LogView {
    pub fn new(
        build: Build,
        req: u64,
        capacity: usize,
        spill_path: PathBuf,
        height: usize,
    ) -> LogView {
        LogView {
            build,
            req,
            buf: LogBuffer::new(capacity, spill_path.clone()),
            cursor: 0,
            top: 0,
            follow: true,
            wrap: false,
            numbers: true,
            hscroll: 0,
            search: String::new(),
            needle: None,
            only_matches: false,
            matches: Vec::new(),
            mark: None,
            state: TailState::Loading,
            steps_open: false,
            spill_path,
            capacity,
            restarts: 0,
            height: height.max(1),
            mode: super::triage::LogMode::Log,
            summary: None,
            compare: Default::default(),
        }
    }

    /// First line still in memory (earlier ones are on disk only).
    pub fn first_in_memory(&self) -> u64 {
        self.buf.spilled()
    }

    pub(crate) fn last_line(&self) -> Option<u64> {
        self.buf.len().checked_sub(1)
    }

    /// Apply a batch from the tail. Returns whether anything visible changed.
    pub(crate) fn ingest(&mut self, items: Vec<LogItem>) -> bool {
        let mut changed = false;
        for item in items {
            changed = true;
            match item {
                LogItem::Step { name, status } => {
                    self.buf.mark_step(name, status);
                    if self.state == TailState::Loading {
                        self.state = if self.build.status.is_terminal() {
                            TailState::Archived
                        } else {
                            TailState::Live
                        };
                    }
                }
                LogItem::StepStatus(status) => {
                    let last = self.buf.steps().len().checked_sub(1);
                    if let Some(i) = last {
                        self.buf.set_step_status(i, status);
                    }
                }
                LogItem::Lines(lines) => {
                    // Matches are counted as lines arrive, so "3/17" stays true while following.
                    for line in lines {
                        let matched = self
                            .needle
                            .as_ref()
                            .is_some_and(|n| n.is_match(line.plain()));
                        let n = self.buf.push(line);
                        if matched {
                            self.matches.push(n);
                        }
                    }
                    if self.state == TailState::Loading {
                        self.state = TailState::Live;
                    }
                }
                LogItem::Restart => {
                    // The archived log replaces the live text: a fresh buffer (the old spill
                    // file is deleted with the old buffer).
                    self.restarts += 1;
                    let mut path = self.spill_path.clone();
                    path.set_extension(format!("{}", self.restarts));
                    self.buf = LogBuffer::new(self.capacity, path);
                    self.matches.clear();
                    self.mark = None;
                    if !self.follow {
                        self.cursor = self.cursor.min(self.buf.len());
                    }
                    self.state = TailState::Archived;
                }
                LogItem::End { status } => self.state = TailState::Done(status),
            }
        }
        if self.follow
            && let Some(last) = self.last_line()
        {
            self.cursor = last;
        }
        self.clamp();
        changed
    }

    /// Keep cursor and top inside the in-memory part.
    pub(crate) fn clamp(&mut self) {
        let first = self.first_in_memory();
        let last = self.last_line().unwrap_or(0);
        self.cursor = self.cursor.clamp(first, last.max(first));
        if self.top < first {
            self.top = first;
        }
        let h = self.height as u64;
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + h {
            self.top = self.cursor + 1 - h;
        }
    }

    /// Move the cursor by `delta` lines (in match-filter mode: by matches).
    pub(crate) fn move_by(&mut self, delta: i64) {
        if self.only_matches {
            if self.matches.is_empty() {
                return;
            }
            let pos = self.matches.partition_point(|&m| m < self.cursor) as i64;
            let i = (pos + delta).clamp(0, self.matches.len() as i64 - 1) as usize;
            self.cursor = self.matches[i];
        } else {
            let c = self.cursor as i64 + delta;
            self.cursor = c.max(0) as u64;
        }
        // Scrolling up pauses following; reaching the end does not resume it (G/f do).
        if delta < 0 {
            self.follow = false;
        }
        self.clamp();
    }

    pub(crate) fn go_top(&mut self) {
        self.follow = false;
        self.cursor = self.first_in_memory();
        self.clamp();
    }

    pub(crate) fn go_bottom_and_follow(&mut self) {
        self.follow = true;
        if let Some(l) = self.last_line() {
            self.cursor = l;
        }
        self.clamp();
    }

    /// Set the search term and jump to the first match at or after the cursor.
    pub fn set_search(&mut self, needle: String) -> Option<u64> {
        self.needle = Needle::new(&needle);
        self.search = needle;
        self.recompute_matches();
        if self.search.is_empty() {
            return None;
        }
        // From the cursor on; past the last match, around from the top (as `n` does in vim).
        self.find(true, true).or_else(|| {
            let first = *self.matches.first()?;
            self.follow = false;
            self.cursor = first;
            self.clamp();
            Some(first)
        })
    }

    pub(crate) fn recompute_matches(&mut self) {
        self.matches.clear();
        if self.search.is_empty() {
            self.only_matches = false;
            return;
        }
        let Some(needle) = &self.needle else {
            return;
        };
        self.matches = self
            .buf
            .iter_mem()
            .filter(|(_, l)| needle.is_match(l.plain()))
            .map(|(n, _)| n)
            .collect();
    }

    /// Next/previous match from the cursor (`inclusive`: the cursor line counts), among the
    /// lines in memory: `update` reads no file (the on-disk part is searched by an effect).
    pub fn find(&mut self, forward: bool, inclusive: bool) -> Option<u64> {
        if self.search.is_empty() {
            return None;
        }
        let from = match (forward, inclusive) {
            (true, true) => self.cursor,
            (true, false) => self.cursor + 1,
            (false, true) => self.cursor,
            (false, false) => self.cursor.checked_sub(1)?,
        };
        let needle = self.needle.clone()?;
        let hit = self.first_in_mem(from, forward, |t| needle.is_match(t))?;
        self.follow = false;
        self.cursor = hit;
        self.clamp();
        Some(hit)
    }

    /// `e`: the first error of the log; `E` (`after_cursor`): the next one after the cursor,
    /// from the top again after the last. An error is what the build itself signals: the
    /// first line of a failed step, a non-zero exit, an `error`/`fail`/`fatal` word.
    pub(crate) fn jump_to_error(&mut self, after_cursor: bool) -> Option<u64> {
        let is_error = self.error_test();
        let from = if after_cursor { self.cursor + 1 } else { 0 };
        let hit = self.first_error_in_mem(from, &is_error).or_else(|| {
            after_cursor
                .then(|| self.first_error_in_mem(0, &is_error))
                .flatten()
        })?;
        self.follow = false;
        self.cursor = hit;
        self.clamp();
        Some(hit)
    }

    /// What counts as an error line (`e`, `E` and the failure summary share it): the first
    /// line of a failed step, or a line that says something failed ([`error_line`]).
    pub(crate) fn error_test(&self) -> impl Fn(u64, &str) -> bool + use<> {
        let first = self.first_in_memory();
        let steps = self.buf.steps();
        // The backend's own verdict names the step too (Candor: "stage 2/3 `e2e` failed"),
        // where the log's step marks carry no status.
        let named = self.build.message.as_deref().and_then(failed_stage);
        let failed_steps: Vec<u64> = steps
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                let by_verdict = named.as_ref().is_some_and(|(n, name)| match name {
                    Some(name) => m.name == *name,
                    None => i + 1 == *n,
                });
                (m.status == StepStatus::Failed || by_verdict) && m.line >= first
            })
            .map(|(_, m)| m.line)
            .collect();
        move |n: u64, t: &str| failed_steps.contains(&n) || error_line(t)
    }

    /// Up to `limit` error lines (number, text) in `lines`, in memory, in order.
    pub(crate) fn errors_in(
        &self,
        lines: std::ops::Range<u64>,
        limit: usize,
    ) -> Vec<(u64, String)> {
        let is_error = self.error_test();
        self.buf
            .iter_mem()
            .filter(|(n, l)| lines.contains(n) && is_error(*n, l.plain()))
            .take(limit)
            .map(|(n, l)| (n, l.plain().to_string()))
            .collect()
    }

    fn first_error_in_mem(&self, from: u64, is_error: &dyn Fn(u64, &str) -> bool) -> Option<u64> {
        self.buf
            .iter_mem()
            .find(|(n, l)| *n >= from && is_error(*n, l.plain()))
            .map(|(n, _)| n)
    }

    /// The nearest line in memory from `from` (inclusive) whose text matches.
    fn first_in_mem(&self, from: u64, forward: bool, hit: impl Fn(&str) -> bool) -> Option<u64> {
        let mut lines = self.buf.iter_mem();
        if forward {
            lines
                .find(|(n, l)| *n >= from && hit(l.plain()))
                .map(|(n, _)| n)
        } else {
            lines
                .rev()
                .find(|(n, l)| *n <= from && hit(l.plain()))
                .map(|(n, _)| n)
        }
    }

    /// Jump to the next (or previous) step's first line.
    pub(crate) fn jump_step(&mut self, forward: bool) -> Option<String> {
        let steps = self.buf.steps();
        let cur = self.buf.step_for_line(self.cursor);
        let target = match (cur, forward) {
            (None, true) => 0,
            (None, false) => return None,
            (Some(i), true) => i + 1,
            (Some(i), false) => {
                // From inside a step, go to its start first.
                if steps.get(i).is_some_and(|s| s.line < self.cursor) {
                    i
                } else {
                    i.checked_sub(1)?
                }
            }
        };
        let step = steps.get(target)?;
        let (line, name) = (step.line, step.name.clone());
        self.follow = false;
        self.cursor = line;
        self.clamp();
        self.top = self.cursor.max(self.first_in_memory());
        Some(name)
    }

    /// Text of the selection (or the cursor line), in-memory lines only.
    pub(crate) fn selection_text(&self) -> String {
        let (a, b) = match self.mark {
            Some(m) => (m.min(self.cursor), m.max(self.cursor)),
            None => (self.cursor, self.cursor),
        };
        (a..=b)
            .filter_map(|n| self.buf.get(n).map(|l| l.plain().to_string()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Status of the step the cursor is in, for the header.
    pub(crate) fn current_step(&self) -> Option<(String, StepStatus)> {
        let i = self.buf.step_for_line(self.cursor)?;
        let s = self.buf.steps().get(i)?;
        Some((s.name.clone(), s.status))
    }
}

/// A line that says something failed: an error/fail/fatal word, or a non-zero exit status.
pub(crate) fn error_line(text: &str) -> bool {
    static EXIT: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let lower = text.to_ascii_lowercase();
    if ["error", "fail", "fatal", "panic"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return true;
    }
    EXIT.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\bexit(?:ed)?(?: with)?(?: status)?(?: code)?[ :=]+(-?[1-9][0-9]*)\b",
        )
        .ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(text))
}

/// "stage 2/3 `e2e` failed…" (or "step 2/3 …"): the failed step's number and name, when a
/// backend's exit meaning says which one failed.
fn failed_stage(message: &str) -> Option<(usize, Option<String>)> {
    let re = regex::Regex::new(r"(?:stage|step) (\d+)/\d+(?: `([^`]+)`)? (?:failed|error)").ok()?;
    let c = re.captures(message)?;
    let n = c.get(1)?.as_str().parse().ok()?;
    Some((n, c.get(2).map(|m| m.as_str().to_string())))
}

#[cfg(test)]
mod verdict_tests {
    use super::failed_stage;

    #[test]
    fn the_backends_verdict_names_the_failed_step() {
        assert_eq!(
            failed_stage("stage 2/2 `e2e` failed: stage timeout (-3)"),
            Some((2, Some("e2e".into())))
        );
        assert_eq!(failed_stage("step 3/5 failed"), Some((3, None)));
        assert_eq!(failed_stage("a step failed"), None);
    }
}
