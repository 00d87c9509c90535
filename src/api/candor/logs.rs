//! Run logs (`api/candor.md` §3, §7): the dashboard's whole-run text (with its three 200
//! sentinels), stage headers `**************** [i/N] ****************` turned into steps, the
//! wait for a pipeline's run in progress (Candor serves no log until it ends), and the hand-off
//! of runner runs to the byte-range tail.

use super::runs::{RUNNING_SUFFIX, stage_status};
use super::{Candor, map_error, seg, server_words, wire};
use crate::api::ApiError;
use crate::api::http::Request;
use crate::domain::{Build, BuildStatus, LogEvent, StepStatus};
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Dashboard log, runner answered 404.
pub const LOG_DELETED: &str = "No log could be found (deleted on server)";
/// Dashboard log, any other runner failure.
pub const LOG_ERROR: &str = "An error occurred";
/// Dashboard log, no such run (with 404).
pub const LOG_NOT_FOUND: &str = "No log could be found";
/// Reads of the log route that answered `An error occurred` before giving up.
const SENTINEL_TRIES: u32 = 3;

/// Why a tail stopped early.
pub(super) enum Stop {
    /// The viewer went away: not an error.
    Closed,
    Err(ApiError),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Err(e)
    }
}

pub(super) type Flow<T> = Result<T, Stop>;

pub(super) fn emit(sink: &UnboundedSender<LogEvent>, ev: LogEvent) -> Flow<()> {
    sink.send(ev).map_err(|_| Stop::Closed)
}

/// Runs `fut` unless the viewer closes first.
pub(super) async fn guarded<T>(
    sink: &UnboundedSender<LogEvent>,
    fut: impl Future<Output = T>,
) -> Flow<T> {
    tokio::select! {
        biased;
        () = sink.closed() => Err(Stop::Closed),
        v = fut => Ok(v),
    }
}

pub(super) fn finish(flow: Flow<()>) -> Result<(), ApiError> {
    match flow {
        Ok(()) | Err(Stop::Closed) => Ok(()),
        Err(Stop::Err(e)) => Err(e),
    }
}

/// Errors worth another poll.
pub(super) fn transient(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Network(_)
            | ApiError::Timeout(_)
            | ApiError::RateLimited
            | ApiError::Server { .. }
            | ApiError::Decode(_)
    )
}

/// `**************** [i/N] ****************` → `(i, N)`.
pub fn stage_header(line: &str) -> Option<(usize, usize)> {
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

/// The stage result a closing line says.
fn terminal_status(line: &str, first_line_of_stage: bool) -> Option<StepStatus> {
    if let Some(code) = line.strip_prefix("Process exited with status code ") {
        return Some(match code.trim().parse::<i64>() {
            Ok(0) => StepStatus::Succeeded,
            Ok(_) => StepStatus::Failed,
            Err(_) => StepStatus::Unknown,
        });
    }
    if line == "Process exceeded stage execution time limit" {
        return Some(StepStatus::Failed);
    }
    if first_line_of_stage {
        match line {
            "Skipped" => return Some(StepStatus::Skipped),
            "Runtime unavailable" => return Some(StepStatus::Failed),
            _ => {}
        }
    }
    None
}

/// Turns whole log lines into events: stage headers become `Step`s named after the run's
/// stages (the header has only a position), closing lines update the step's status.
pub(super) struct LogParser {
    /// Stage names and final statuses, when the run's record or plan gives them.
    stages: Vec<(String, Option<StepStatus>)>,
    /// Status given to a step whose result is not known yet.
    open_status: StepStatus,
    lines: Vec<String>,
    pending_blank: bool,
    /// Current stage `(i, N)`, its status as last sent, and whether a line followed the header.
    current: Option<(usize, usize, StepStatus, bool)>,
    /// Stage results seen in the text.
    results: Vec<StepStatus>,
    /// The last stage's closing line has been read.
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

    pub fn push(&mut self, line: String, out: &mut Vec<LogEvent>) {
        if line.is_empty() && !self.pending_blank {
            // Maybe the separator before the next header: decide on the next line.
            self.pending_blank = true;
            return;
        }
        if let Some((i, n)) = stage_header(&line) {
            self.pending_blank = false;
            self.flush(out);
            let known = self.stages.get(i.saturating_sub(1));
            let name = known
                .map(|(name, _)| name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("stage {i}/{n}"));
            let status = known.and_then(|(_, s)| *s).unwrap_or(self.open_status);
            out.push(LogEvent::Step { name, status });
            self.current = Some((i, n, status, false));
            return;
        }
        if std::mem::take(&mut self.pending_blank) {
            // A blank line that is content: the stage has output now.
            self.lines.push(String::new());
            if let Some(c) = self.current.as_mut() {
                c.3 = true;
            }
            if line.is_empty() {
                self.pending_blank = true;
                return;
            }
        }
        let first = self.current.as_ref().is_some_and(|c| !c.3);
        let closing = terminal_status(&line, first);
        self.lines.push(line);
        if let Some(c) = self.current.as_mut() {
            c.3 = true;
        }
        if let (Some(st), Some((i, n, sent, _))) = (closing, self.current.as_mut()) {
            self.results.push(st);
            if *i >= *n {
                self.complete = true;
            }
            if st != *sent {
                *sent = st;
                let lines = std::mem::take(&mut self.lines);
                out.push(LogEvent::Lines(lines));
                out.push(LogEvent::StepStatus(st));
            }
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

/// Whole lines of a text; the last one too (a finished log need not end with `\n`).
fn text_lines(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\n').map(str::to_string).collect()
}

impl Candor {
    pub(super) async fn tail(
        &self,
        build: &Build,
        follow: bool,
        sink: UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        let flow = if build.project_id.is_none()
            && let Some(run_id) = build.run_id.as_deref()
        {
            match &self.runner {
                Some(r) => r.tail(run_id, follow, &sink, self.log_poll).await,
                None => Err(Stop::Err(ApiError::Unsupported(
                    "runner runs need the profile's runner_url".into(),
                ))),
            }
        } else if build.id.ends_with(RUNNING_SUFFIX) {
            self.tail_running(build, follow, &sink).await
        } else {
            let rid = build.build_id.clone().unwrap_or_else(|| build.id.clone());
            match build.project_id.clone() {
                Some(pid) => {
                    self.tail_finished(&pid, &rid, Some(build.status), &sink)
                        .await
                }
                // A bare run id (e.g. from the command line): find its pipeline first.
                None => match guarded(&sink, self.locate_run(&rid)).await {
                    Ok(Ok(pid)) => self.tail_finished(&pid, &rid, None, &sink).await,
                    Ok(Err(e)) => Err(Stop::Err(e)),
                    Err(stop) => Err(stop),
                },
            }
        };
        finish(flow)
    }

    /// `GET /api/runs/:pid/:rid/log`: the whole text, or the sentinel as an error.
    pub async fn run_log(&self, pid: &str, rid: &str) -> Result<String, ApiError> {
        let req = Request::get(format!("/api/runs/{}/{}/log", seg(pid), seg(rid)));
        let mut tries = 0;
        loop {
            tries += 1;
            let reply = self.send(&req, Some(pid)).await?;
            if reply.status == 404 {
                return Err(ApiError::NotFound(format!(
                    "run {rid} of pipeline {pid} has no log (server: {})",
                    server_words(&reply)
                )));
            }
            if !reply.is_success() {
                return Err(map_error(&reply));
            }
            let text = String::from_utf8_lossy(&reply.body).into_owned();
            match text.trim_end() {
                LOG_DELETED => {
                    return Err(ApiError::NotFound(format!(
                        "the log of run {rid} was deleted on the runner (server: \"{LOG_DELETED}\")"
                    )));
                }
                LOG_ERROR if tries < SENTINEL_TRIES => {
                    tokio::time::sleep(self.log_poll.min(Duration::from_secs(2))).await;
                }
                LOG_ERROR => {
                    return Err(ApiError::Server {
                        status: 502,
                        message: format!(
                            "the dashboard could not get run {rid}'s log from its runner \
                             (server, with HTTP 200: \"{LOG_ERROR}\")"
                        ),
                    });
                }
                LOG_NOT_FOUND => {
                    return Err(ApiError::NotFound(format!(
                        "run {rid} of pipeline {pid} has no log (server: \"{LOG_NOT_FOUND}\")"
                    )));
                }
                _ => return Ok(text),
            }
        }
    }

    /// The pipeline of a run id: among runs seen, else among every visible pipeline's last 5.
    pub async fn locate_run(&self, rid: &str) -> Result<String, ApiError> {
        let known = self
            .seen()
            .runs
            .iter()
            .find(|(_, runs)| runs.contains_key(rid))
            .map(|(pid, _)| pid.clone());
        if let Some(pid) = known {
            return Ok(pid);
        }
        for row in self.pipelines().await? {
            match self.detail(&row.id).await {
                Ok(d) if d.last_runs.iter().any(|r| r.id == rid) => return Ok(row.id),
                Ok(_) | Err(ApiError::Forbidden(_) | ApiError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::NotFound(format!(
            "no visible pipeline has run {rid} among its last 5 runs (Candor has no route for \
             older runs)"
        )))
    }

    /// Stage names and results of a run, from what the detail said.
    async fn stages_of(&self, pid: &str, rid: &str) -> Vec<(String, Option<StepStatus>)> {
        let key = (pid.to_string(), rid.to_string());
        let cached = self.seen().stages.get(&key).cloned();
        let stages = match cached {
            Some(s) => Some(s),
            None => {
                // Not seen yet (or `last`): ask the detail once.
                match self.detail(pid).await {
                    Ok(d) => {
                        let run = if rid == "last" {
                            d.last_runs.iter().max_by_key(|r| r.start)
                        } else {
                            d.last_runs.iter().find(|r| r.id == rid)
                        };
                        run.and_then(|r| r.stages.clone())
                    }
                    Err(_) => None,
                }
            }
        };
        stages
            .unwrap_or_default()
            .into_iter()
            .map(|s: wire::Stage| {
                let st = stage_status(&s.status);
                (s.name, (st != StepStatus::Unknown).then_some(st))
            })
            .collect()
    }

    async fn tail_finished(
        &self,
        pid: &str,
        rid: &str,
        status: Option<BuildStatus>,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        let text = guarded(sink, self.run_log(pid, rid)).await??;
        let stages = guarded(sink, self.stages_of(pid, rid)).await?;
        let mut parser = LogParser::new(stages, false);
        let mut out = Vec::new();
        for line in text_lines(&text) {
            parser.push(line, &mut out);
        }
        parser.end(&mut out);
        for ev in out {
            emit(sink, ev)?;
        }
        let status = status
            .filter(|s| *s != BuildStatus::Unknown)
            .or(parser.status());
        emit(sink, LogEvent::End { status })
    }

    /// A pipeline's run in progress has no id and no log (§7): say so, wait for it to end
    /// (polling the detail like the web UI), then show the finished run's log.
    async fn tail_running(
        &self,
        build: &Build,
        follow: bool,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        let pid = build.project_id.clone().unwrap_or_default();
        let d = guarded(sink, self.detail(&pid)).await??;
        let mut known: HashSet<String> = d.last_runs.iter().map(|r| r.id.clone()).collect();
        known.extend(
            self.seen()
                .runs
                .get(&pid)
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        emit(
            sink,
            LogEvent::Lines(vec![format!(
                "[shipdeck] Candor serves a run's log only once the run has finished; waiting \
                 for `{}` to finish…",
                d.name
            )]),
        )?;
        if !follow {
            return emit(sink, LogEvent::End { status: None });
        }
        let mut running = d.running;
        let mut detail = d;
        let mut failures = 0u32;
        while running {
            guarded(sink, tokio::time::sleep(self.detail_poll)).await?;
            match guarded(sink, self.detail(&pid)).await? {
                Ok(d) => {
                    failures = 0;
                    running = d.running;
                    detail = d;
                }
                Err(e) if transient(&e) && failures < 8 => failures += 1,
                Err(e) => return Err(Stop::Err(e)),
            }
        }
        let run = detail
            .last_runs
            .iter()
            .filter(|r| !known.contains(&r.id))
            .max_by_key(|r| r.start)
            .or_else(|| detail.last_runs.iter().max_by_key(|r| r.start));
        let Some(run) = run else {
            return emit(sink, LogEvent::End { status: None });
        };
        let status = super::runs::run_status(run.status.as_deref().unwrap_or(""));
        emit(sink, LogEvent::Restart)?;
        let rid = run.id.clone();
        self.tail_finished(&pid, &rid, Some(status), sink).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str], stages: Vec<(String, Option<StepStatus>)>, live: bool) -> Vec<LogEvent> {
        let mut p = LogParser::new(stages, live);
        let mut out = Vec::new();
        for l in lines {
            p.push(l.to_string(), &mut out);
        }
        p.end(&mut out);
        out
    }

    #[test]
    fn headers_become_named_steps_and_separators_go() {
        let out = run(
            &[
                "**************** [1/2] ****************",
                "npm ci",
                "Process exited with status code 0",
                "",
                "**************** [2/2] ****************",
                "FAIL test",
                "Process exited with status code 1",
            ],
            vec![
                ("install".into(), Some(StepStatus::Succeeded)),
                ("test".into(), Some(StepStatus::Failed)),
            ],
            false,
        );
        assert_eq!(
            out,
            vec![
                LogEvent::Step {
                    name: "install".into(),
                    status: StepStatus::Succeeded
                },
                LogEvent::Lines(vec![
                    "npm ci".into(),
                    "Process exited with status code 0".into()
                ]),
                LogEvent::Step {
                    name: "test".into(),
                    status: StepStatus::Failed
                },
                LogEvent::Lines(vec![
                    "FAIL test".into(),
                    "Process exited with status code 1".into()
                ]),
            ]
        );
    }

    #[test]
    fn live_steps_close_with_their_last_line() {
        let out = run(
            &["**************** [1/1] ****************", "", "Skipped"],
            vec![],
            true,
        );
        assert_eq!(
            out[0],
            LogEvent::Step {
                name: "stage 1/1".into(),
                status: StepStatus::Running
            }
        );
        // "Skipped" after an output line is output, not a result.
        assert!(!out.contains(&LogEvent::StepStatus(StepStatus::Skipped)));
        let out = run(
            &[
                "**************** [1/1] ****************",
                "Runtime unavailable",
            ],
            vec![],
            true,
        );
        assert_eq!(out.last(), Some(&LogEvent::StepStatus(StepStatus::Failed)));
        assert_eq!(
            stage_header("**************** [12/3] ****************"),
            Some((12, 3))
        );
        assert_eq!(stage_header("*************** [1/3] ****************"), None);
    }
}
