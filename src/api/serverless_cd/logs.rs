//! Per-step logs (`api/serverless-cd.md` §7): `task/get` gives the steps and their status,
//! `task/log?taskId=&stepCount=` the step's whole text so far. A running step is re-polled and
//! only new complete lines are emitted; when the step ends one more fetch is final.

use super::{ServerlessCd, build_status, step_status, wire};
use crate::api::ApiError;
use crate::domain::{Build, BuildStatus, LogEvent, StepStatus};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How often the web UI's rhythm is matched: task and running-step log every 2 s.
pub(super) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Fetches of a finished step's log while the reply looks cut (no final `\n`).
const FINAL_FETCH_TRIES: usize = 3;
/// Backoff after a failed poll grows up to this many poll intervals.
const MAX_BACKOFF_FACTOR: u32 = 8;

/// Prefix of the lines shipdeck itself writes into a log view (never server content).
pub const NOTE_PREFIX: &str = "shipdeck: ";

enum Stop {
    Closed,
    Err(ApiError),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Err(e)
    }
}

type Flow<T> = Result<T, Stop>;

fn emit(sink: &UnboundedSender<LogEvent>, ev: LogEvent) -> Flow<()> {
    sink.send(ev).map_err(|_| Stop::Closed)
}

async fn guarded<T>(sink: &UnboundedSender<LogEvent>, fut: impl Future<Output = T>) -> Flow<T> {
    tokio::select! {
        biased;
        () = sink.closed() => Err(Stop::Closed),
        v = fut => Ok(v),
    }
}

/// Worth retrying while following.
fn transient(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Network(_)
            | ApiError::Timeout(_)
            | ApiError::RateLimited
            | ApiError::Server { .. }
            | ApiError::Decode(_)
    )
}

/// The "log gone" reply (English and Chinese, §3).
fn is_log_missing(msg: &str) -> bool {
    msg.contains("no longer available") || msg.contains("expired") || msg.contains("已过期")
}

/// Where the tail is: the step being read and what of its text is shown.
struct Cursor {
    step: usize,
    /// Text of the current step already emitted (complete lines only, or everything once final).
    shown: String,
    /// Status sent with the current step's `Step` event (or a later `StepStatus`).
    announced: Option<StepStatus>,
}

/// Lines of `text` (which ends with `\n` or is final), without the line breaks.
fn lines_of(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    body.split('\n').map(str::to_string).collect()
}

/// The new complete lines of a running step's whole text, or `None` when the reply is not an
/// extension of what is shown (keep what is shown and poll again).
fn new_complete<'a>(shown: &str, text: &'a str) -> Option<&'a str> {
    let rest = text.strip_prefix(shown)?;
    let end = rest.rfind('\n').map_or(0, |i| i + 1);
    Some(&rest[..end])
}

/// What of a finished step's final text is not shown yet (by lines when the text was replaced).
fn final_rest(shown: &str, text: &str) -> Vec<String> {
    match text.strip_prefix(shown) {
        Some(rest) => lines_of(rest),
        None => {
            let done = shown.matches('\n').count();
            lines_of(text).into_iter().skip(done).collect()
        }
    }
}

impl ServerlessCd {
    pub(super) async fn tail(
        &self,
        build: &Build,
        follow: bool,
        sink: UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        match self.tail_task(build, follow, &sink).await {
            Ok(()) | Err(Stop::Closed) => Ok(()),
            Err(Stop::Err(e)) => Err(e),
        }
    }

    /// The step's whole text, `Err(message)` when the server has none (yet or any more).
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
            Err(ApiError::NotFound(m)) if is_log_missing(&m) => Ok(Err(m)),
            Err(e) => Err(e),
        }
    }

    /// A finished step's final text: fetched again (up to 3 times) while it looks cut short,
    /// keeping the longest answer.
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

    async fn tail_task(
        &self,
        build: &Build,
        follow: bool,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        let poll = self.poll_interval;
        let mut backoff = poll;
        let mut cur = Cursor {
            step: 0,
            shown: String::new(),
            announced: None,
        };
        loop {
            let pass = async {
                let task = guarded(sink, self.task(&build.id)).await??;
                self.walk(&task, follow, &mut cur, sink).await
            };
            match pass.await {
                Ok(Some(end)) => return emit(sink, LogEvent::End { status: end }),
                Ok(None) => backoff = poll,
                Err(Stop::Err(e)) if follow && transient(&e) => {
                    tracing::debug!(error = %e, ?backoff, "task poll failed; retrying");
                    guarded(sink, tokio::time::sleep(backoff)).await?;
                    backoff = (backoff * 2).min(poll * MAX_BACKOFF_FACTOR);
                    continue;
                }
                Err(stop) => return Err(stop),
            }
            guarded(sink, tokio::time::sleep(poll)).await?;
        }
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
        let active = matches!(raw_task, "pending" | "running");
        while let Some(step) = task.steps.get(cur.step) {
            let name = step.run.clone().unwrap_or_default();
            let count = step
                .step_count
                .clone()
                .unwrap_or_else(|| (cur.step + 1).to_string());
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
                    // `Err`: not uploaded yet; poll again.
                    if let Ok(text) = guarded(sink, self.step_log(&task.id, &count)).await??
                        && let Some(new) = new_complete(&cur.shown, &text)
                        && !new.is_empty()
                    {
                        emit(sink, LogEvent::Lines(lines_of(new)))?;
                        cur.shown.push_str(new);
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
                        match guarded(sink, self.final_log(&task.id, &count)).await?? {
                            Ok(text) => {
                                let rest = final_rest(&cur.shown, &text);
                                if !rest.is_empty() {
                                    emit(sink, LogEvent::Lines(rest))?;
                                }
                            }
                            Err(m) if raw != "cancelled" => {
                                emit(
                                    sink,
                                    LogEvent::Lines(vec![format!(
                                        "{NOTE_PREFIX}no log for step {name}: {m}"
                                    )]),
                                )?;
                            }
                            Err(_) => {}
                        }
                    }
                    if raw == "error-with-continue" {
                        emit(
                            sink,
                            LogEvent::Lines(vec![format!(
                                "{NOTE_PREFIX}⚠ step {name} failed; continue-on-error let the pipeline go on (error-with-continue)"
                            )]),
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

    /// The `Step` event of the current step, once.
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
        cur.step += 1;
        cur.shown.clear();
        cur.announced = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_new_lines_of_an_extension() {
        assert_eq!(new_complete("", "a\nb\npart"), Some("a\nb\n"));
        assert_eq!(new_complete("a\n", "a\nb\npart"), Some("b\n"));
        assert_eq!(new_complete("a\nb\n", "a\nb\npart"), Some(""));
        assert_eq!(new_complete("a\nb\n", "a\n"), None);
        assert_eq!(new_complete("x\n", "a\nb\n"), None);
    }

    #[test]
    fn final_text_emits_the_rest_including_a_partial_line() {
        assert_eq!(final_rest("a\n", "a\nb\nc"), ["b", "c"]);
        assert_eq!(final_rest("a\n", "a\nb\n"), ["b"]);
        assert!(final_rest("a\n", "a\n").is_empty());
        // Replaced text: by line count.
        assert_eq!(final_rest("x\n", "a\nb\n"), ["b"]);
        assert!(lines_of("").is_empty());
        assert_eq!(lines_of("\n"), [""]);
    }
}
