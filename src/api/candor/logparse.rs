//! A Candor run log as steps (`api/candor.md` §7, §11 R4). The real file: a header line
//! `**************** [i/N] ****************` per stage (preceded by a newline, not by a blank
//! line), the container output (stderr and stdout merged, in any order), then one closing
//! sentence with no newline of its own: the next header's newline ends it, and the file does
//! not end with one. Output that does not end in a newline is glued to the closing sentence
//! (`…doneProcess exited with status code 0`), so a closing sentence is recognised as a line
//! suffix and split off. Headers carry positions only: names come from the run's stages.

use crate::domain::{BuildStatus, LogEvent, StepStatus};

/// Closing sentence of a stage whose container ran; may be glued to output.
const EXITED: &str = "Process exited with status code ";
/// Closing sentence of a stage cut at the runner's time limit; may be glued to output.
const TIMED_OUT: &str = "Process exceeded stage execution time limit";
/// Closing sentences written right after the header (no container output before them).
const SKIPPED: &str = "Skipped";
const NO_RUNTIME: &str = "Runtime unavailable";

/// `**************** [i/N] ****************` → `(i, N)`.
pub(crate) fn stage_header(line: &str) -> Option<(usize, usize)> {
    let stars = "*".repeat(16);
    let inner = line
        .strip_prefix(stars.as_str())?
        .strip_suffix(stars.as_str())?
        .strip_prefix(" [")?
        .strip_suffix("] ")?;
    let (i, n) = inner.split_once('/')?;
    if i.is_empty() || n.is_empty() || !i.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// The closing sentence a line ends with: where it starts (the text before it is the stage's
/// output) and the stage result it says.
fn closing(line: &str, first_line_of_stage: bool) -> Option<(usize, StepStatus)> {
    if let Some(at) = line.rfind(EXITED) {
        let code = line[at + EXITED.len()..].trim();
        match code.parse::<i64>() {
            Ok(0) => return Some((at, StepStatus::Succeeded)),
            Ok(_) => return Some((at, StepStatus::Failed)),
            Err(_) if at == 0 => return Some((0, StepStatus::Unknown)),
            Err(_) => {}
        }
    }
    if let Some(head) = line.strip_suffix(TIMED_OUT) {
        return Some((head.len(), StepStatus::Failed));
    }
    if first_line_of_stage {
        match line {
            SKIPPED => return Some((0, StepStatus::Skipped)),
            NO_RUNTIME => return Some((0, StepStatus::Failed)),
            _ => {}
        }
    }
    None
}

/// The stage a parser is in.
struct Current {
    index: usize,
    count: usize,
    /// Its status as last sent.
    sent: StepStatus,
    /// A line followed the header.
    has_output: bool,
}

/// Turns whole log lines into events: stage headers become `Step`s named after the run's
/// stages (the header has only a position), closing sentences update the step's status.
pub(super) struct LogParser {
    /// Stage names and final statuses, when the run's record, plan or outcome gives them.
    stages: Vec<(String, Option<StepStatus>)>,
    /// Status given to a step whose result is not known yet.
    open_status: StepStatus,
    lines: Vec<String>,
    pending_blank: bool,
    current: Option<Current>,
    /// Stage results seen in the text.
    results: Vec<StepStatus>,
    /// The last stage's closing sentence has been read.
    pub complete: bool,
}

impl LogParser {
    pub fn new(stages: Vec<(String, Option<StepStatus>)>, live: bool) -> LogParser {
        LogParser {
            stages,
            open_status: if live {
                StepStatus::Running
            } else {
                StepStatus::Unknown
            },
            lines: Vec::new(),
            pending_blank: false,
            current: None,
            results: Vec::new(),
            complete: false,
        }
    }

    fn flush(&mut self, out: &mut Vec<LogEvent>) {
        if !self.lines.is_empty() {
            out.push(LogEvent::Lines(std::mem::take(&mut self.lines)));
        }
    }

    fn mark_output(&mut self) {
        if let Some(c) = self.current.as_mut() {
            c.has_output = true;
        }
    }

    /// Set the current step to `status` (lines so far go out first, so they stay in it).
    fn send_status(&mut self, status: StepStatus, out: &mut Vec<LogEvent>) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        if c.sent != status {
            c.sent = status;
            self.flush(out);
            out.push(LogEvent::StepStatus(status));
        }
    }

    pub fn push(&mut self, line: String, out: &mut Vec<LogEvent>) {
        if line.is_empty() && !self.pending_blank {
            // Maybe a separator before the next header (older runners): decide on the next line.
            self.pending_blank = true;
            return;
        }
        if let Some((index, count)) = stage_header(&line) {
            self.pending_blank = false;
            self.flush(out);
            let known = self.stages.get(index.saturating_sub(1));
            let name = known
                .map(|(name, _)| name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("stage {index}/{count}"));
            let status = known.and_then(|(_, s)| *s).unwrap_or(self.open_status);
            out.push(LogEvent::Step { name, status });
            self.current = Some(Current {
                index,
                count,
                sent: status,
                has_output: false,
            });
            return;
        }
        if std::mem::take(&mut self.pending_blank) {
            // A blank line that is content: the stage has output now.
            self.lines.push(String::new());
            self.mark_output();
            if line.is_empty() {
                self.pending_blank = true;
                return;
            }
        }
        let first = self.current.as_ref().is_some_and(|c| !c.has_output);
        let Some((at, status)) = closing(&line, first) else {
            self.lines.push(line);
            self.mark_output();
            return;
        };
        // Output glued to the closing sentence is a line of its own.
        if let (Some(output), Some(sentence)) = (line.get(..at), line.get(at..))
            && !output.is_empty()
        {
            self.lines.push(output.to_string());
            self.lines.push(sentence.to_string());
        } else {
            self.lines.push(line);
        }
        self.mark_output();
        if self.current.is_none() {
            return;
        }
        self.results.push(status);
        if self.current.as_ref().is_some_and(|c| c.index >= c.count) {
            self.complete = true;
        }
        // A result the run's record already gave stays (the record is the truth).
        let recorded = self
            .current
            .as_ref()
            .and_then(|c| self.stages.get(c.index.saturating_sub(1)))
            .and_then(|(_, s)| *s);
        self.send_status(recorded.unwrap_or(status), out);
    }

    /// Whether `tail`, the unterminated end of the text, closes the run's last stage (the file
    /// does not end with a newline, so the last closing sentence never gets one).
    pub(crate) fn ends_run(&self, tail: &str) -> bool {
        let Some(c) = &self.current else {
            return false;
        };
        let first = !c.has_output && !self.pending_blank;
        c.index >= c.count && closing(tail, first).is_some()
    }

    /// The run's outcome arrived: its stage names and results become the truth, for the step
    /// being shown and for those still to come (§11 R4).
    pub(crate) fn set_outcome(
        &mut self,
        stages: Vec<(String, Option<StepStatus>)>,
        out: &mut Vec<LogEvent>,
    ) {
        let current = self
            .current
            .as_ref()
            .and_then(|c| stages.get(c.index.saturating_sub(1)))
            .and_then(|(_, s)| *s);
        self.stages = stages;
        if let Some(status) = current {
            self.send_status(status, out);
        }
    }

    /// The run is over with `status`: a step still open (its closing sentence never came, e.g.
    /// the runner failed inside) takes the run's result.
    pub(crate) fn close_open(&mut self, status: BuildStatus, out: &mut Vec<LogEvent>) {
        let open = self
            .current
            .as_ref()
            .is_some_and(|c| c.sent == self.open_status);
        let step = match status {
            BuildStatus::Succeeded => StepStatus::Succeeded,
            BuildStatus::Failed => StepStatus::Failed,
            _ => return,
        };
        if open {
            self.send_status(step, out);
        }
    }

    /// End of input: pending lines out.
    pub fn end(&mut self, out: &mut Vec<LogEvent>) {
        if std::mem::take(&mut self.pending_blank) {
            self.lines.push(String::new());
        }
        self.flush(out);
    }

    /// The run's result as the text tells it (when complete).
    pub fn status(&self) -> Option<BuildStatus> {
        if self.results.contains(&StepStatus::Failed) {
            Some(BuildStatus::Failed)
        } else if self.complete {
            Some(BuildStatus::Succeeded)
        } else {
            None
        }
    }
}

/// Whole lines of a text; the last one too (a finished log does not end with `\n`).
pub(super) fn text_lines(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\n').map(str::to_string).collect()
}

#[cfg(test)]
mod tests;
