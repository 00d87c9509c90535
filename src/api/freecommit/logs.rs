//! Free Commit logs (`api/freecommit.md` §7.2, §7.3): the live chunk protocol of a queued or
//! running run, the hand-over to the archived log when the run ends (correlating the run with
//! the Build row it produced), and the archived step walk of a finished build.

use super::builds::seg;
use super::{FreeCommit, error_message, map_error, parse_time, status_of_exit, wire};
use crate::api::ApiError;
use crate::api::errors::is_transient as transient;
use crate::api::http::{Reply, Request};
use crate::api::tail::{self, Flow, Pace, Polled, Poller, Stop, emit, guarded, pause};
use crate::domain::{Build, BuildStatus, LogEvent, StepStatus};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// The web UI's live-log poll interval (§1 "Real time").
pub(super) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Polls the hand-over waits for the finished Build row to be written: 30 s at the default
/// interval (`api/README.md`: Unknown when no Build matched within 30 s).
const CORRELATE_TRIES: u32 = 30;
/// The archived walk loops on duplicate step names (§7.3): a hard stop.
const MAX_ARCHIVED_STEPS: usize = 256;
/// Live polls in a row without the 1 s pause (a server that keeps switching steps is paced).
const MAX_EAGER_POLLS: usize = 256;
/// Candidates whose first step is fetched to tell concurrent runs of one project apart.
const MAX_PROBED_CANDIDATES: usize = 4;
/// Slack when comparing server times of a run and a Build.
const TIME_SLACK_SECS: i64 = 2;

/// Status of a step of a finished build (`api/README.md`, "Steps: Free Commit").
fn archived_step_status(step: &str, success: Option<bool>, skipped: Option<bool>) -> StepStatus {
    if skipped == Some(true) {
        StepStatus::Skipped
    } else if success == Some(false) {
        if step == "abort" {
            StepStatus::Cancelled
        } else {
            StepStatus::Failed
        }
    } else {
        StepStatus::Succeeded
    }
}

/// Status of a live step: running while `closed_at` is null.
fn live_step_status(step: &str, w: &wire::LogWrapper) -> StepStatus {
    if w.closed_at.is_none() {
        StepStatus::Running
    } else {
        archived_step_status(step, w.success, w.skipped)
    }
}

/// Lines of an archived step (`\n`-joined, `null`/empty = none).
fn archived_lines(log: Option<String>) -> Vec<String> {
    match log {
        Some(text) if !text.is_empty() => text.split('\n').map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Lines of a live chunk: one leading `\n` stripped (missing lines come each preceded by one; a
/// whole next step comes without), then split. An empty chunk has no lines.
fn chunk_lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_prefix('\n').unwrap_or(text);
    body.split('\n').map(str::to_string).collect()
}

fn is_placeholder(w: &wire::LogWrapper) -> bool {
    w.line_number.unwrap_or(0) == 0 && w.start_at.is_none()
}

/// What one live poll brought.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    /// The run is queued or has no step yet.
    Waiting,
    /// Nothing new.
    Nothing,
    /// New lines or a new step; `more`: the server already holds more (ask again at once).
    New { more: bool },
}

/// The client side of the live protocol (§7.2).
struct LiveState {
    /// The step being read; `None` until the first real reply (ask for `-1`).
    step: Option<String>,
    /// Lines of that step actually received.
    n: usize,
    /// Last status sent for that step.
    status: StepStatus,
    /// Whether any line arrived (a 500 before it is the early window, not an error).
    saw_line: bool,
    /// Start of the run on the server's clock.
    started: Option<DateTime<Utc>>,
}

impl LiveState {
    fn path(&self, run_id: &str) -> String {
        format!(
            "/developer/logs/{}/{}/{}",
            seg(run_id),
            seg(self.step.as_deref().unwrap_or("-1")),
            self.n
        )
    }

    fn apply(&mut self, w: wire::LogWrapper, sink: &UnboundedSender<LogEvent>) -> Flow<Progress> {
        if is_placeholder(&w) {
            return Ok(Progress::Waiting);
        }
        let name = w.step.clone().unwrap_or_default();
        let total = usize::try_from(w.line_number.unwrap_or(0)).unwrap_or(0);
        let status = live_step_status(&name, &w);
        if self.step.as_deref() == Some(name.as_str()) {
            // Same step: append. `null` = the client claims more than the step holds.
            let lines = w.log.as_deref().map(chunk_lines).unwrap_or_default();
            let got = lines.len();
            if got > 0 {
                self.n += got;
                self.saw_line = true;
                emit(sink, LogEvent::Lines(lines))?;
            }
            let changed = status != self.status;
            if changed {
                self.status = status;
                emit(sink, LogEvent::StepStatus(status))?;
            }
            return Ok(if got == 0 && !changed {
                Progress::Nothing
            } else {
                Progress::New {
                    more: got > 0 && total > self.n,
                }
            });
        }
        // Another step (or the first reply to `-1`, which is always the first step).
        if self.step.is_none() && self.started.is_none() {
            self.started = w.start_at.as_deref().and_then(parse_time);
        }
        if self.step.is_some() && !is_closed(self.status) {
            // A later step exists, so the previous one closed; its failure would have ended
            // the run, so it passed (the archived log has the final word).
            emit(sink, LogEvent::StepStatus(StepStatus::Succeeded))?;
        }
        emit(
            sink,
            LogEvent::Step {
                name: name.clone(),
                status,
            },
        )?;
        let lines = w.log.as_deref().map(chunk_lines).unwrap_or_default();
        self.n = lines.len();
        self.step = Some(name);
        self.status = status;
        if !lines.is_empty() {
            self.saw_line = true;
            emit(sink, LogEvent::Lines(lines))?;
        }
        Ok(Progress::New { more: true })
    }
}

fn is_closed(s: StepStatus) -> bool {
    !matches!(s, StepStatus::Running | StepStatus::Queued)
}

fn is_code(reply: &Reply, status: u16, code: &str) -> bool {
    reply.status == status && error_message(reply).as_deref() == Some(code)
}

/// One poll of the live protocol (§7.2); on 404 `EXECUTOR_NOT_FOUND` the hand-over to the
/// archived log ends the tail.
struct LiveTail<'a> {
    fc: &'a FreeCommit,
    build: &'a Build,
    run_id: &'a str,
    follow: bool,
    live: LiveState,
    corr: Option<Correlation>,
    /// Polls in a row without a pause.
    eager: usize,
}

impl Poller for LiveTail<'_> {
    async fn poll(&mut self, sink: &UnboundedSender<LogEvent>) -> Flow<Polled> {
        let req = Request::get(self.live.path(self.run_id));
        let reply = guarded(sink, self.fc.send_authed(req)).await??;
        // Not followed: one look at what exists now, then the end.
        let paused = if self.follow {
            Polled::Wait
        } else {
            Polled::End(None)
        };
        if is_code(&reply, 404, "EXECUTOR_NOT_FOUND") {
            let corr = self.corr.take();
            self.fc
                .hand_over(self.build, corr, self.live.started, sink)
                .await?;
            return Ok(Polled::Done);
        }
        if reply.status == 500 && !self.live.saw_line {
            // The first step has no line yet (early git clone): expected, not a failure.
            return Ok(paused);
        }
        if !reply.is_success() {
            return Err(map_error(&reply).into());
        }
        let progress = self.live.apply(reply.json::<wire::LogWrapper>()?, sink)?;
        // Ask again at once while the server holds more (catching up on finished steps,
        // re-requesting a short chunk), within a bound.
        let again = match progress {
            Progress::New { more } => more || !self.follow,
            Progress::Waiting | Progress::Nothing => false,
        };
        if again && self.eager < MAX_EAGER_POLLS {
            self.eager += 1;
            return Ok(Polled::Again);
        }
        self.eager = 0;
        Ok(paused)
    }
}

/// How the hand-over finds the Build row of an ended run.
struct Correlation {
    /// Ids of the run's project (several when names repeat).
    projects: Vec<String>,
    /// Build ids that existed while the run was still queued (none of them is this run's).
    before: Option<HashSet<String>>,
}

impl FreeCommit {
    pub(super) async fn tail(
        &self,
        build: &Build,
        follow: bool,
        sink: UnboundedSender<LogEvent>,
    ) -> Result<(), ApiError> {
        let flow = if build.run_id.is_some() && !build.status.is_terminal() {
            self.tail_live(build, follow, &sink).await
        } else if let Some(id) = build.build_id.as_deref() {
            self.tail_archived(id, build.status, &sink).await
        } else {
            Err(Stop::Err(ApiError::Unsupported(format!(
                "build {} has no log to show",
                build.id
            ))))
        };
        tail::finish(flow)
    }

    async fn tail_archived(
        &self,
        build_id: &str,
        status: BuildStatus,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        self.walk_archived(build_id, sink).await?;
        emit(
            sink,
            LogEvent::End {
                status: Some(status),
            },
        )
    }

    /// §7.3: `-1`, then the returned step, until 404 `LOG_NOT_FOUND`; a repeated Log id or 256
    /// steps end the walk (duplicate step names loop).
    async fn walk_archived(&self, build_id: &str, sink: &UnboundedSender<LogEvent>) -> Flow<()> {
        let mut step = "-1".to_string();
        let mut seen: HashSet<String> = HashSet::new();
        for _ in 0..MAX_ARCHIVED_STEPS {
            let path = format!("/developer/logs/{}/{}", seg(build_id), seg(&step));
            let reply = guarded(sink, self.send_authed(Request::get(path))).await??;
            if is_code(&reply, 404, "LOG_NOT_FOUND") {
                return Ok(());
            }
            if !reply.is_success() {
                return Err(map_error(&reply).into());
            }
            let log: wire::LogRow = reply.json()?;
            if let Some(id) = &log.id
                && !seen.insert(id.clone())
            {
                tracing::debug!(build_id, step, "archived walk looped; stopping");
                return Ok(());
            }
            let name = log.step.unwrap_or_default();
            emit(
                sink,
                LogEvent::Step {
                    name: name.clone(),
                    status: archived_step_status(&name, log.success, log.skipped),
                },
            )?;
            let lines = archived_lines(log.log);
            if !lines.is_empty() {
                emit(sink, LogEvent::Lines(lines))?;
            }
            if name.is_empty() {
                // Nothing to name the next request with.
                return Ok(());
            }
            step = name;
        }
        tracing::debug!(
            build_id,
            "archived walk stopped after {MAX_ARCHIVED_STEPS} steps"
        );
        Ok(())
    }

    /// §7.2 from `step=-1`, `n=0`; on 404 `EXECUTOR_NOT_FOUND` hand over to the archived log.
    async fn tail_live(
        &self,
        build: &Build,
        follow: bool,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        let run_id = build.run_id.as_deref().unwrap_or_default();
        let live = LiveState {
            step: None,
            n: 0,
            status: StepStatus::Queued,
            saw_line: false,
            started: build.started_at,
        };
        // Without a start time, the Build row can only be recognised as a row that did not
        // exist while the run was queued: remember the rows of now.
        let mut corr: Option<Correlation> = None;
        if live.started.is_none() {
            match self.correlation(build, true, sink).await {
                Ok(c) => corr = Some(c),
                Err(Stop::Closed) => return Err(Stop::Closed),
                Err(Stop::Err(e)) => tracing::debug!(error = %e, "no build snapshot"),
            }
        }
        let mut poller = LiveTail {
            fc: self,
            build,
            run_id,
            follow,
            live,
            corr,
            eager: 0,
        };
        tail::run(&mut poller, sink, Pace::new(follow, self.poll_interval)).await
    }

    /// The project ids of `build` (looked up by name when unknown) and, with `snapshot`, the
    /// build ids that exist now.
    async fn correlation(
        &self,
        build: &Build,
        snapshot: bool,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<Correlation> {
        let projects = match &build.project_id {
            Some(id) => vec![id.clone()],
            None => {
                let all: serde_json::Value =
                    guarded(sink, self.get_json(Request::get("/developer/projects"))).await??;
                super::decode::list::<wire::ProjectDetail>(all)
                    .into_iter()
                    .filter(|p| p.name.as_deref() == Some(build.project.as_str()))
                    .map(|p| p.id)
                    .collect()
            }
        };
        let before = if snapshot {
            let mut ids = HashSet::new();
            for p in &projects {
                let rows = guarded(sink, self.project_history(p)).await??;
                ids.extend(rows.into_iter().map(|r| r.id));
            }
            Some(ids)
        } else {
            None
        };
        Ok(Correlation { projects, before })
    }

    /// The run ended: find its Build (retrying while it is not yet written), then `Restart`,
    /// the archived log and `End`. No match within the tries → `End{Unknown}`.
    async fn hand_over(
        &self,
        build: &Build,
        mut corr: Option<Correlation>,
        started: Option<DateTime<Utc>>,
        sink: &UnboundedSender<LogEvent>,
    ) -> Flow<()> {
        for attempt in 0..CORRELATE_TRIES {
            if attempt > 0 {
                pause(sink, self.poll_interval).await?;
            }
            let c = match corr.take() {
                Some(c) => c,
                None => match self.correlation(build, false, sink).await {
                    Ok(c) => c,
                    Err(Stop::Err(e)) if transient(&e) => {
                        tracing::debug!(error = %e, "project lookup failed; retrying");
                        continue;
                    }
                    Err(stop) => return Err(stop),
                },
            };
            if c.projects.is_empty() || (started.is_none() && c.before.is_none()) {
                tracing::debug!("ended run cannot be matched to a build");
                break;
            }
            let found = guarded(sink, self.find_build(&c, started)).await?;
            corr = Some(c);
            match found {
                Ok(Match::Found(row)) => {
                    let status = match row.exit_code {
                        Some(code) => status_of_exit(code, row.output.as_deref()),
                        None => BuildStatus::Unknown,
                    };
                    emit(sink, LogEvent::Restart)?;
                    return self.tail_archived(&row.id, status, sink).await;
                }
                Ok(Match::Ambiguous) => break,
                Ok(Match::NotYet) => {}
                Err(e) if transient(&e) => {
                    tracing::debug!(error = %e, "build lookup failed; retrying");
                }
                Err(e) => return Err(e.into()),
            }
        }
        emit(
            sink,
            LogEvent::End {
                status: Some(BuildStatus::Unknown),
            },
        )
    }

    /// The Build of the run: with its start time, a Build queued before and completed after
    /// it (newest such; concurrent runs of one project are told apart by their first step's
    /// start); without, the only Build that did not exist while the run was queued.
    async fn find_build(
        &self,
        corr: &Correlation,
        started: Option<DateTime<Utc>>,
    ) -> Result<Match, ApiError> {
        let mut rows = Vec::new();
        for p in &corr.projects {
            rows.extend(self.project_history(p).await?);
        }
        super::builds::sort_newest_first(&mut rows);
        let slack = chrono::Duration::seconds(TIME_SLACK_SECS);
        let Some(start) = started else {
            let before = corr.before.as_ref();
            let fresh: Vec<wire::BuildRow> = rows
                .into_iter()
                .filter(|r| before.is_some_and(|b| !b.contains(&r.id)))
                .collect();
            return Ok(match fresh.len() {
                0 => Match::NotYet,
                1 => fresh.into_iter().next().map_or(Match::NotYet, Match::Found),
                _ => Match::Ambiguous,
            });
        };
        let mut fits: Vec<wire::BuildRow> = rows
            .into_iter()
            .filter(|r| {
                let created = r.created_at.as_deref().and_then(parse_time);
                let completed = r.completed_at.as_deref().and_then(parse_time);
                created.is_some_and(|c| c <= start + slack)
                    && completed.is_none_or(|c| c >= start - slack)
            })
            .collect();
        if fits.len() > 1 {
            // Concurrent runs of one project: the Build whose first step opened closest to
            // the run's start (both are the run's start on the server's clock).
            let mut best: Option<(usize, chrono::Duration)> = None;
            for (i, r) in fits.iter().enumerate().take(MAX_PROBED_CANDIDATES) {
                let path = format!("/developer/logs/{}/-1", seg(&r.id));
                let reply = self.send_authed(Request::get(path)).await?;
                if !reply.is_success() {
                    continue;
                }
                let Ok(first) = reply.json::<wire::LogRow>() else {
                    continue;
                };
                let Some(at) = first.start_at.as_deref().and_then(parse_time) else {
                    continue;
                };
                let diff = (at - start).abs();
                if diff <= slack && best.is_none_or(|(_, d)| diff < d) {
                    best = Some((i, diff));
                }
            }
            if let Some((i, _)) = best {
                return Ok(Match::Found(fits.swap_remove(i)));
            }
        }
        Ok(match fits.into_iter().next() {
            Some(r) => Match::Found(r),
            None => Match::NotYet,
        })
    }
}

enum Match {
    Found(wire::BuildRow),
    NotYet,
    /// Several new Builds and nothing to tell them apart.
    Ambiguous,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapper(step: &str, log: Option<&str>, n: i64, closed: bool) -> wire::LogWrapper {
        wire::LogWrapper {
            step: Some(step.into()),
            log: log.map(str::to_string),
            line_number: Some(n),
            start_at: Some("2026-01-01T10:00:00Z".into()),
            closed_at: closed.then(|| "2026-01-01T10:00:04Z".into()),
            success: closed.then_some(true),
            skipped: closed.then_some(false),
        }
    }

    fn state() -> LiveState {
        LiveState {
            step: None,
            n: 0,
            status: StepStatus::Queued,
            saw_line: false,
            started: None,
        }
    }

    #[test]
    fn chunks_strip_one_leading_newline() {
        assert_eq!(chunk_lines("\na\nb"), ["a", "b"]);
        assert_eq!(chunk_lines("\n\nb"), ["", "b"]);
        assert!(chunk_lines("").is_empty());
        // A whole next step comes without the leading `\n`.
        assert_eq!(chunk_lines("a\nb"), ["a", "b"]);
    }

    #[test]
    fn live_protocol_appends_switches_and_rerequests_short_chunks() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = state();
        let placeholder = wire::LogWrapper {
            step: Some("init".into()),
            log: Some("Waiting for first byte".into()),
            line_number: Some(0),
            start_at: None,
            closed_at: None,
            success: None,
            skipped: None,
        };
        assert!(matches!(s.apply(placeholder, &tx), Ok(Progress::Waiting)));
        assert_eq!(s.path("u"), "/developer/logs/u/-1/0");
        // First reply: 3 lines announced, 2 sent (truncated).
        assert!(matches!(
            s.apply(wrapper("init", Some("\na\nb"), 3, false), &tx),
            Ok(Progress::New { more: true })
        ));
        assert_eq!(s.path("u"), "/developer/logs/u/init/2");
        assert!(matches!(
            s.apply(wrapper("init", Some("\nc"), 3, false), &tx),
            Ok(Progress::New { more: false })
        ));
        assert!(matches!(
            s.apply(wrapper("init", Some(""), 3, false), &tx),
            Ok(Progress::Nothing)
        ));
        assert!(matches!(
            s.apply(wrapper("init", None, 3, false), &tx),
            Ok(Progress::Nothing)
        ));
        assert!(matches!(
            s.apply(wrapper("my step", Some("x"), 1, false), &tx),
            Ok(Progress::New { more: true })
        ));
        assert_eq!(s.path("u"), "/developer/logs/u/my%20step/1");
        drop(tx);
        let mut evs = Vec::new();
        while let Ok(e) = rx.try_recv() {
            evs.push(e);
        }
        assert_eq!(
            evs,
            vec![
                LogEvent::Step {
                    name: "init".into(),
                    status: StepStatus::Running
                },
                LogEvent::Lines(vec!["a".into(), "b".into()]),
                LogEvent::Lines(vec!["c".into()]),
                LogEvent::StepStatus(StepStatus::Succeeded),
                LogEvent::Step {
                    name: "my step".into(),
                    status: StepStatus::Running
                },
                LogEvent::Lines(vec!["x".into()]),
            ]
        );
    }

    #[test]
    fn archived_step_statuses() {
        assert_eq!(
            archived_step_status("test", Some(true), Some(true)),
            StepStatus::Skipped
        );
        assert_eq!(
            archived_step_status("test", Some(false), Some(false)),
            StepStatus::Failed
        );
        assert_eq!(
            archived_step_status("abort", Some(false), Some(false)),
            StepStatus::Cancelled
        );
        assert_eq!(
            archived_step_status("deploy", None, Some(false)),
            StepStatus::Succeeded
        );
    }
}
