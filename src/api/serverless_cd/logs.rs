//! Per-step logs (`api/serverless-cd.md` §7, §11 R9/R10): `task/get` gives the steps, their
//! status and their opaque `stepCount`; `task/log?taskId=&stepCount=` a step's whole text. On
//! the real servers a step's log exists only once the step has ended (the worker uploads it
//! then, after writing the step's status), so following a task = polling `task/get` and
//! fetching each step's log once that step has ended; a running step is shown as running with
//! a note that its log appears when it ends.

use super::convert::{build_status, is_active, step_status};
use super::{ServerlessCd, wire};
use crate::api::ApiError;
use crate::api::tail::{self, Flow, Pace, Polled, Poller, emit, guarded};
use crate::domain::{Build, BuildStatus, LogEvent, StepStatus};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// The web UI's rhythm: the task every 2 s.
pub(super) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Fetches of a finished step's log while the reply looks cut (no final `\n`).
const FINAL_FETCH_TRIES: usize = 3;
/// How long an ended step's log may take to be uploaded before the tail says it has none.
const UPLOAD_WAIT: Duration = Duration::from_secs(15);

/// Prefix of the lines shipdeck itself writes into a log view (never server content).
pub const NOTE_PREFIX: &str = "shipdeck: ";

fn note(sink: &UnboundedSender<LogEvent>, text: String) -> Flow<()> {
    emit(sink, LogEvent::Lines(vec![format!("{NOTE_PREFIX}{text}")]))
}

/// Where the tail is.
#[derive(Default)]
struct Cursor {
    step: usize,
    /// Status sent with the current step's `Step` event (or a later `StepStatus`).
    announced: Option<StepStatus>,
    /// The "log appears when the step ends" note was shown for the current step.
    noted: bool,
    /// When the current (ended) step's log was first found not uploaded yet.
    missing_since: Option<tokio::time::Instant>,
    /// The task was seen pending or running by this tail: a missing log may still come.
    saw_active: bool,
}

/// Lines of `text`, without the line breaks (a final partial line included).
fn lines_of(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n').map(str::to_string).collect()
}

/// One poll of a task: `task/get`, then the steps from the cursor on.
struct TaskTail<'a> {
    cd: &'a ServerlessCd,
    task_id: &'a str,
    follow: bool,
    cur: Cursor,
}

impl Poller for TaskTail<'_> {
    async fn poll(&mut self, sink: &UnboundedSender<LogEvent>) -> Flow<Polled> {
        let task = guarded(sink, self.cd.task(self.task_id)).await??;
        Ok(
            match self
                .cd
                .walk(&task, self.follow, &mut self.cur, sink)
                .await?
            {
                Some(end) => Polled::End(end),
                None => Polled::Wait,
            },
        )
    }
}

impl ServerlessCd {
    pub(super) async fn tail(
        &self,
        build: &Build,
        follow: bool,
        sink: UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        let mut poller = TaskTail {
            cd: self,
            task_id: &build.id,
            follow,
            cur: Cursor::default(),
        };
        let pace = Pace::new(follow, self.poll_interval);
        tail::finish(tail::run(&mut poller, &sink, pace).await)
    }

    /// The step's whole text, `Err(message)` when the server has none (not yet, or any more).
    async fn step_log(
        &self,
        task_id: &str,
        count: &str,
    ) -> Result<Result<String, String>, ApiError> {
        match self
            .get("task/log", &[("taskId", task_id), ("stepCount", count)])
            .await
        {
            Ok(serde_json::Value::String(s)) => Ok(Ok(s)),
            Ok(serde_json::Value::Null) => Ok(Ok(String::new())),
            Ok(other) => Err(ApiError::Decode(format!(
                "task/log data is not a string but {}",
                match other {
                    serde_json::Value::Object(_) => "an object",
                    serde_json::Value::Array(_) => "an array",
                    _ => "a scalar",
                }
            ))),
            Err(ApiError::NotFound(m)) => Ok(Err(m)),
            Err(e) => Err(e),
        }
    }

    /// An ended step's text: fetched again (up to 3 times) while it looks cut short, keeping
    /// the longest answer.
    async fn final_log(
        &self,
        task_id: &str,
        count: &str,
    ) -> Result<Result<String, String>, ApiError> {
        let mut best: Option<String> = None;
        for _ in 0..FINAL_FETCH_TRIES {
            match self.step_log(task_id, count).await? {
                Ok(text) => {
                    let whole = text.is_empty() || text.ends_with('\n');
                    if best.as_ref().is_none_or(|b| text.len() > b.len()) {
                        best = Some(text);
                    }
                    if whole {
                        break;
                    }
                }
                Err(m) => return Ok(best.ok_or(m)),
            }
        }
        Ok(Ok(best.unwrap_or_default()))
    }

    /// One pass over the task's steps from the cursor. `Some(status)` = the tail is over.
    async fn walk(
        &self,
        task: &wire::Task,
        follow: bool,
        cur: &mut Cursor,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<Option<Option<BuildStatus>>> {
        let raw_task = task.status.as_deref().unwrap_or("");
        let active = is_active(Some(raw_task));
        cur.saw_active |= active;
        while let Some(step) = task.steps.get(cur.step) {
            let name = step.run.clone().unwrap_or_default();
            let raw = step.status.as_deref().unwrap_or("");
            let status = step_status(raw);
            match raw {
                "pending" if active && follow => return Ok(None),
                "pending" => {
                    // Never started (the task ended, or a snapshot): no log.
                    self.announce(cur, &name, status, sink)?;
                    self.next(cur);
                }
                "running" => {
                    self.announce(cur, &name, status, sink)?;
                    if !cur.noted {
                        note(
                            sink,
                            format!("step {name} is running; its log appears when the step ends"),
                        )?;
                        cur.noted = true;
                    }
                    if follow {
                        return Ok(None);
                    }
                    self.next(cur);
                }
                _ => {
                    if cur.announced.is_none() {
                        self.announce(cur, &name, status, sink)?;
                    }
                    if raw != "skipped" {
                        let wait = follow && cur.saw_active && raw != "cancelled";
                        match step.step_count.as_deref() {
                            None => note(sink, format!("step {name} has no log id (stepCount)"))?,
                            Some(count) => {
                                match guarded(sink, self.final_log(&task.id, count)).await?? {
                                    Ok(text) => {
                                        let lines = lines_of(&text);
                                        if !lines.is_empty() {
                                            emit(sink, LogEvent::Lines(lines))?;
                                        }
                                    }
                                    // Not uploaded yet: the worker writes the status first.
                                    Err(_)
                                        if wait
                                            && cur
                                                .missing_since
                                                .get_or_insert_with(tokio::time::Instant::now)
                                                .elapsed()
                                                < UPLOAD_WAIT =>
                                    {
                                        return Ok(None);
                                    }
                                    Err(m) if raw != "cancelled" => {
                                        note(sink, format!("no log for step {name}: {m}"))?;
                                    }
                                    Err(_) => {}
                                }
                            }
                        }
                    }
                    if raw == "error-with-continue" {
                        note(
                            sink,
                            format!(
                                "⚠ step {name} failed; continue-on-error let the pipeline go on (error-with-continue)"
                            ),
                        )?;
                    }
                    if cur.announced != Some(status) {
                        emit(sink, LogEvent::StepStatus(status))?;
                    }
                    self.next(cur);
                }
            }
        }
        if !active {
            return Ok(Some(Some(build_status(raw_task))));
        }
        if !follow {
            return Ok(Some(None));
        }
        Ok(None)
    }

    /// The `Step` event of the current step, once; later a `StepStatus` when it changed.
    fn announce(
        &self,
        cur: &mut Cursor,
        name: &str,
        status: StepStatus,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        match cur.announced {
            None => {
                emit(
                    sink,
                    LogEvent::Step {
                        name: name.to_string(),
                        status,
                    },
                )?;
                cur.announced = Some(status);
            }
            Some(s) if s != status => {
                emit(sink, LogEvent::StepStatus(status))?;
                cur.announced = Some(status);
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn next(&self, cur: &mut Cursor) {
        *cur = Cursor {
            step: cur.step + 1,
            saw_active: cur.saw_active,
            ..Cursor::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_a_final_partial_line() {
        assert_eq!(lines_of("a\nb\nc"), ["a", "b", "c"]);
        assert_eq!(lines_of("a\nb\n"), ["a", "b"]);
        assert!(lines_of("").is_empty());
        assert_eq!(lines_of("\n"), [""]);
    }
}
