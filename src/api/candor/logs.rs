//! Run logs (`api/candor.md` §3, §7, §11 R5, R9): the dashboard's whole-run text (with its
//! three 200 sentinels) turned into steps (`logparse`), runs found by id beyond the last 5,
//! `last` falling back past runner-less runs, the wait for a pipeline's run in progress
//! (Candor serves no log until it ends), and the hand-off of runner runs to the byte-range
//! tail.

use super::logparse::{LogParser, text_lines};
use super::runs::{RUNNING_SUFFIX, runner_less, runner_less_stages, stage_status};
use super::{Candor, map_error, paths, server_words, wire};
use crate::api::ApiError;
use crate::api::http::Request;
use crate::api::tail::{self, Flow, Pace, Polled, Poller, Stop, emit, guarded, pause};
use crate::domain::{Build, BuildStatus, LogEvent, StepStatus};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Dashboard log, runner answered 404.
pub(crate) const LOG_DELETED: &str = "No log could be found (deleted on server)";
/// Dashboard log, any other runner failure.
pub(crate) const LOG_ERROR: &str = "An error occurred";
/// Dashboard log, no such run (with 404).
pub const LOG_NOT_FOUND: &str = "No log could be found";
/// Reads of the log route that answered `An error occurred` before giving up.
const SENTINEL_TRIES: u32 = 3;

/// Failed detail polls in a row after which the wait for a running pipeline gives up.
const MAX_DETAIL_FAILURES: u32 = 8;

/// The wait for a pipeline's run in progress to end: one detail poll.
struct RunEnd<'a> {
    candor: &'a Candor,
    pid: &'a str,
    detail: wire::PipelineDetail,
}

impl Poller for RunEnd<'_> {
    async fn poll(&mut self, sink: &UnboundedSender<LogEvent>) -> Flow<Polled> {
        self.detail = guarded(sink, self.candor.detail(self.pid)).await??;
        Ok(if self.detail.running {
            Polled::Wait
        } else {
            Polled::Done
        })
    }
}

/// What the log route answered about one run.
enum Fetched {
    Text(String),
    /// 404 (`No log could be found`): no such run under this pipeline, or a run without a
    /// runner log. The server's words.
    Missing(String),
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
            self.tail_finished(build, &sink).await
        };
        tail::finish(flow)
    }

    /// A finished dashboard run; a bare run id (e.g. from the command line) is looked for
    /// under the visible pipelines first.
    async fn tail_finished(&self, build: &Build, sink: &UnboundedSender<LogEvent>) -> Flow<()> {
        let rid = build.build_id.clone().unwrap_or_else(|| build.id.clone());
        let (pid, rid, text, status) = match &build.project_id {
            Some(pid) => {
                let (pid, rid, text) = guarded(sink, self.log_of(pid, &rid)).await??;
                (pid, rid, text, Some(build.status))
            }
            None => {
                let (pid, text) = guarded(sink, self.locate_run(&rid)).await??;
                let text = match text {
                    Some(t) => t,
                    None => guarded(sink, self.log_of(&pid, &rid)).await??.2,
                };
                (pid, rid, text, None)
            }
        };
        self.show_finished(&pid, &rid, status, &text, sink).await
    }

    /// `GET /api/runs/:pid/:rid/log` once (three reads while it says `An error occurred`).
    /// `pid` must be a pipeline number; a bad id is an error before anything is sent.
    async fn fetch_log(&self, pid: &str, rid: &str) -> Result<Fetched, ApiError> {
        let req = Request::get(paths::run_route(pid, rid, "log")?);
        let mut tries = 0;
        loop {
            tries += 1;
            let reply = self.send(&req, Some(pid)).await?;
            if reply.status == 404 {
                return Ok(Fetched::Missing(server_words(&reply)));
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
                LOG_NOT_FOUND => return Ok(Fetched::Missing(LOG_NOT_FOUND.into())),
                _ => return Ok(Fetched::Text(text)),
            }
        }
    }

    /// The log of run `rid` (or `last`) of pipeline `pid` (a number or a name): `(pipeline
    /// number, run id, text)`. `last` is 404 when the newest run ran without a runner (§11
    /// R9): then the newest run that has a log.
    async fn log_of(&self, pid: &str, rid: &str) -> Result<(String, String, String), ApiError> {
        let pid = self.pipeline_ref(pid).await?;
        match self.fetch_log(&pid, rid).await? {
            Fetched::Text(text) => Ok((pid, rid.to_string(), text)),
            Fetched::Missing(_) if rid == "last" => {
                let (rid, text) = self.newest_log(&pid).await?;
                Ok((pid, rid, text))
            }
            Fetched::Missing(words) => {
                let stages = self
                    .seen()
                    .stages
                    .get(&(pid.clone(), rid.to_string()))
                    .cloned();
                Err(ApiError::NotFound(
                    match stages.as_deref().and_then(runner_less_stages) {
                        Some(why) => format!(
                            "run {rid} of pipeline {pid} has no log: the dashboard found no \
                             runner for it ({why})"
                        ),
                        None => format!("run {rid} of pipeline {pid} has no log (server: {words})"),
                    },
                ))
            }
        }
    }

    /// The newest run of `pid` with a log, for `last` (runner-less runs have none).
    async fn newest_log(&self, pid: &str) -> Result<(String, String), ApiError> {
        let d = self.detail(pid).await?;
        let mut runs: Vec<&wire::Run> = d
            .last_runs
            .iter()
            .filter(|r| runner_less(r).is_none() && paths::is_run_id(&r.id))
            .collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.start));
        for r in runs {
            match self.fetch_log(pid, &r.id).await {
                Ok(Fetched::Text(text)) => return Ok((r.id.clone(), text)),
                Ok(Fetched::Missing(_)) | Err(ApiError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::NotFound(format!(
            "no recent run of pipeline {pid} has a log (the newest ran without a runner)"
        )))
    }

    /// `GET /api/runs/:pid/:rid/log`: the whole text, or the sentinel as an error. `pid` may
    /// be a pipeline's number or name, `rid` a run id or `last`.
    pub async fn run_log(&self, pid: &str, rid: &str) -> Result<String, ApiError> {
        Ok(self.log_of(pid, rid).await?.2)
    }

    /// The pipeline of a run id, and its log when that is how it was found: among runs seen,
    /// else among every visible pipeline's last 5, else (runs older than the last 5 are
    /// reachable by id, §11 R5) the log route under each visible pipeline, where a wrong
    /// pipeline answers `404 No log could be found`.
    pub async fn locate_run(&self, rid: &str) -> Result<(String, Option<String>), ApiError> {
        paths::run(rid)?;
        let known = self
            .seen()
            .runs
            .iter()
            .find(|(_, runs)| runs.contains_key(rid))
            .map(|(pid, _)| pid.clone());
        if let Some(pid) = known {
            return Ok((pid, None));
        }
        let ids = self.pipeline_ids().await?;
        for id in &ids {
            match self.detail(id).await {
                Ok(d) if d.last_runs.iter().any(|r| r.id == rid) => return Ok((id.clone(), None)),
                Ok(_) | Err(ApiError::Forbidden(_) | ApiError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for id in &ids {
            match self.fetch_log(id, rid).await {
                Ok(Fetched::Text(text)) => return Ok((id.clone(), Some(text))),
                Ok(Fetched::Missing(_)) | Err(ApiError::Forbidden(_)) => {}
                // A sentinel: the run is here, its log is not.
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::NotFound(format!(
            "no visible pipeline has run {rid} (its log was asked for under each of them)"
        )))
    }

    /// Stage names and results of a run, from what the detail said.
    async fn stages_of(&self, pid: &str, rid: &str) -> Vec<(String, Option<StepStatus>)> {
        let key = (pid.to_string(), rid.to_string());
        let cached = self.seen().stages.get(&key).cloned();
        let stages = match cached {
            Some(s) => s,
            None => {
                // Not seen yet (or older than the last 5): ask the detail once.
                match self.detail(pid).await {
                    Ok(d) => d
                        .last_runs
                        .iter()
                        .find(|r| r.id == rid)
                        .map(|r| r.stages.clone())
                        .unwrap_or_default(),
                    Err(_) => Vec::new(),
                }
            }
        };
        stages
            .into_iter()
            .map(|s: wire::Stage| {
                let st = stage_status(&s.status);
                (s.name, (st != StepStatus::Unknown).then_some(st))
            })
            .collect()
    }

    /// A finished run's whole text as steps, then the end.
    async fn show_finished(
        &self,
        pid: &str,
        rid: &str,
        status: Option<BuildStatus>,
        text: &str,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        let stages = guarded(sink, self.stages_of(pid, rid)).await?;
        let mut parser = LogParser::new(stages, false);
        let mut out = Vec::new();
        for line in text_lines(text) {
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
        let pid = guarded(sink, self.pipeline_ref(&pid)).await??;
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
        let mut detail = d;
        if detail.running {
            pause(sink, self.detail_poll).await?;
            let mut waiting = RunEnd {
                candor: self,
                pid: &pid,
                detail,
            };
            let pace = Pace {
                give_up_after: Some(MAX_DETAIL_FAILURES),
                ..Pace::new(true, self.detail_poll)
            };
            tail::run(&mut waiting, sink, pace).await?;
            detail = waiting.detail;
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
        if let Some(why) = runner_less(run) {
            // Recorded without a runner (§11 R8): there is no log to show.
            emit(
                sink,
                LogEvent::Lines(vec![format!(
                    "[shipdeck] the dashboard found no runner: run {} failed at once with {why}",
                    run.id
                )]),
            )?;
            return emit(
                sink,
                LogEvent::End {
                    status: Some(status),
                },
            );
        }
        emit(sink, LogEvent::Restart)?;
        let rid = run.id.clone();
        let text = guarded(sink, self.run_log(&pid, &rid)).await??;
        self.show_finished(&pid, &rid, Some(status), &text, sink)
            .await
    }
}
