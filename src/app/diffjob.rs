//! The log diff as a job off the UI thread (issue 12): find the build to compare with (the
//! last green one unless chosen), fetch its log through the backend, then normalise and diff
//! on a blocking thread. It reports progress as actions and stops when its flag is set
//! (Esc) — shared by the task runner and the headless executor.

use super::action::Action;
use crate::api::{ApiError, Backend};
use crate::domain::Build;
use crate::logdiff::{self, LogDiff, LogText, Normaliser, RuleSpec, fetch};
use crate::logtext::LogSnapshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// What a diff needs, taken from the log view at once.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffRequest {
    pub epoch: u64,
    /// The log view's request id.
    pub req: u64,
    /// This comparison's id (a newer one replaces it).
    pub job: u64,
    pub build: Build,
    /// The build to compare with; `None`: the last successful one before `build`.
    pub other: Option<Build>,
    /// The log on screen (its spilled part included) and its step starts.
    pub snapshot: LogSnapshot,
    pub steps: Vec<(String, u64)>,
    pub rules: Vec<RuleSpec>,
    pub context: usize,
}

/// How a comparison ended.
#[derive(Clone, Debug)]
pub enum DiffOutcome {
    Diff {
        other: Box<Build>,
        diff: LogDiff,
    },
    /// Nothing to compare with (said in this sentence).
    NoBaseline(String),
    /// Stopped by the operator.
    Cancelled,
}

/// Progress reports at most this often.
const REPORT: Duration = Duration::from_millis(100);

/// Run one comparison; the answer is the `DiffDone` action (progress goes to `out` meanwhile).
pub async fn run(
    b: &dyn Backend,
    r: DiffRequest,
    out: &UnboundedSender<Action>,
    cancel: Arc<AtomicBool>,
) -> Action {
    let (epoch, req, job) = (r.epoch, r.req, r.job);
    let result = compare(b, r, out, cancel).await.map(Box::new);
    Action::DiffDone {
        epoch,
        req,
        job,
        result,
    }
}

async fn compare(
    b: &dyn Backend,
    r: DiffRequest,
    out: &UnboundedSender<Action>,
    cancel: Arc<AtomicBool>,
) -> Result<DiffOutcome, ApiError> {
    let say = |text: String| {
        let _ = out.send(Action::DiffProgress {
            epoch: r.epoch,
            req: r.req,
            job: r.job,
            text,
        });
    };
    let other = match r.other.clone() {
        Some(o) => o,
        None => {
            say("finding the last successful build…".into());
            let builds = fetch::project_builds(b, &r.build).await?;
            match fetch::last_green(&builds, &r.build) {
                Some(o) => o,
                None => {
                    return Ok(DiffOutcome::NoBaseline(format!(
                        "no successful build of {} before this one to compare with; D picks another build",
                        crate::ui::clean(&r.build.project)
                    )));
                }
            }
        }
    };
    let label = fetch::label(&other);
    say(format!("fetching the log of {label}…"));
    let mut last = Instant::now();
    let flag = cancel.clone();
    let mut heard = |n: u64| {
        if last.elapsed() >= REPORT {
            last = Instant::now();
            say(format!("fetching the log of {label}: {n} lines"));
        }
        !flag.load(Ordering::Relaxed)
    };
    let Some(old) = fetch::collect_log(b, &other, &mut heard).await? else {
        return Ok(DiffOutcome::Cancelled);
    };
    let tx = out.clone();
    let (epoch, req, job) = (r.epoch, r.req, r.job);
    let work = tokio::task::spawn_blocking(move || -> Result<Option<LogDiff>, ApiError> {
        let norm = Normaliser::new(&r.rules).map_err(ApiError::Config)?;
        let new = LogText {
            lines: snapshot_lines(&r.snapshot)
                .map_err(|e| ApiError::Config(format!("cannot read this log back: {e}")))?,
            steps: r.steps,
        };
        let mut last = Instant::now();
        let mut progress = |p: logdiff::Progress| {
            if last.elapsed() >= REPORT {
                last = Instant::now();
                let pct = p.done * 100 / p.total.max(1);
                let _ = tx.send(Action::DiffProgress {
                    epoch,
                    req,
                    job,
                    text: format!("comparing {} lines: {pct}%", p.total),
                });
            }
            !cancel.load(Ordering::Relaxed)
        };
        Ok(logdiff::diff_logs(
            &new,
            &old,
            &norm,
            r.context,
            &mut progress,
        ))
    });
    match work.await {
        Ok(Ok(Some(diff))) => Ok(DiffOutcome::Diff {
            other: Box::new(other),
            diff,
        }),
        Ok(Ok(None)) => Ok(DiffOutcome::Cancelled),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(ApiError::Config(format!("the comparison stopped: {e}"))),
    }
}

/// Every line of a snapshot (spilled part first), as plain text.
pub(crate) fn snapshot_lines(s: &LogSnapshot) -> std::io::Result<Vec<String>> {
    use std::io::{BufRead, Read};
    let mut lines = Vec::new();
    if s.spill_len > 0 {
        let f = std::fs::File::open(&s.spill_path)?;
        let mut r = std::io::BufReader::new(f.take(s.spill_len));
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if r.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            lines.push(String::from_utf8_lossy(&buf).into_owned());
        }
    }
    let pending = s.pending.strip_suffix(b"\n").unwrap_or(&s.pending);
    if !pending.is_empty() {
        lines.extend(
            pending
                .split(|b| *b == b'\n')
                .map(|l| String::from_utf8_lossy(l).into_owned()),
        );
    }
    lines.extend(s.mem.iter().cloned());
    Ok(lines)
}

/// The builds `D` offers (the project's other finished builds), as a reply action.
pub async fn candidates(b: &dyn Backend, epoch: u64, req: u64, build: &Build) -> Action {
    let result = fetch::project_builds(b, build)
        .await
        .map(|all| fetch::candidates(&all, build));
    Action::CompareCandidates { epoch, req, result }
}
