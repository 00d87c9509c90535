//! Scriptable waits: `shipdeck wait <build>`, `launch --wait`, `promote --wait`. Each follows
//! its item to the end with progress on stderr (one updating line on a terminal, a plain line
//! per change on a pipe) and turns the result into an exit code a script can test.
//!
//! Exit codes beyond SPEC §2's 0–4: 5 the build (or deployment) failed, 6 it was cancelled,
//! 124 `--timeout` passed first (as `timeout(1)` says it).

use super::out::err;
use super::{EXIT_API, EXIT_OK, report};
use crate::api::Backend;
use crate::domain::{Build, BuildStatus, LogEvent};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub(crate) const EXIT_FAILED: i32 = 5;
pub(crate) const EXIT_CANCELLED: i32 = 6;
pub(crate) const EXIT_TIMEOUT: i32 = 124;

/// How often a deployment is asked for while it settles.
const DEPLOY_POLL: Duration = Duration::from_secs(2);

/// `--timeout 30m`, `90s`, `1h`, `45` (seconds).
pub(crate) fn parse_timeout(s: &str) -> Result<Duration, String> {
    crate::sim::faults::parse_duration(s)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a duration; write e.g. 90s, 30m, 1h"))
}

/// The exit code of an ended item.
pub(crate) fn exit_for(status: Option<BuildStatus>) -> i32 {
    match status {
        Some(BuildStatus::Succeeded) => EXIT_OK,
        Some(BuildStatus::Failed) => EXIT_FAILED,
        Some(BuildStatus::Cancelled) => EXIT_CANCELLED,
        _ => EXIT_API,
    }
}

/// The progress line: rewritten in place on a terminal, a new line per change on a pipe (the
/// elapsed time alone is not a change there).
pub(crate) struct Progress {
    tty: bool,
    started: Instant,
    last: String,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: String::new(),
        }
    }

    pub(crate) fn show(&mut self, text: &str) {
        let text = crate::ui::clean(text).into_owned();
        if self.tty {
            let secs = self.started.elapsed().as_secs();
            super::out::err_progress(format_args!("{text} · {}m{:02}s", secs / 60, secs % 60));
        } else if text != self.last {
            err!("{text}");
        }
        self.last = text;
    }

    /// The last word, on its own line.
    pub(crate) fn done(&mut self, text: &str) {
        if self.tty && !self.last.is_empty() {
            super::out::err_progress(format_args!(""));
        }
        err!("{}", crate::ui::clean(text));
        self.last.clear();
    }

    fn tick(&mut self) {
        if self.tty && !self.last.is_empty() {
            let last = self.last.clone();
            self.show(&last);
        }
    }
}

/// Follow a build to its end through its log (the log tail already knows how each backend
/// hands a run over to its finished record), printing where it is.
pub(crate) async fn follow_build(
    b: std::sync::Arc<dyn Backend>,
    build: Build,
    timeout: Option<Duration>,
) -> i32 {
    let mut progress = Progress::new();
    let name = format!(
        "{} {}",
        build.project,
        crate::app::state::short_id(&build.id)
    );
    if build.status.is_terminal() && build.run_id.is_none() {
        progress.done(&format!(
            "{name}: {} {}",
            build.status.symbol(),
            build.status.label()
        ));
        return exit_for(Some(build.status));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tail = {
        let (b, build) = (b.clone(), build.clone());
        tokio::spawn(async move { b.tail_log(&build, true, tx).await })
    };
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut state = build.status;
    progress.show(&format!("{name}: {}", state.label()));
    let mut second = tokio::time::interval(Duration::from_secs(1));
    let end = loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(LogEvent::Step { name: step, .. }) => {
                    state = BuildStatus::Running;
                    progress.show(&format!("{name}: {} · step {step}", state.label()));
                }
                Some(LogEvent::End { status }) => break Ok(status),
                Some(_) => {}
                None => break Ok(None),
            },
            _ = second.tick() => progress.tick(),
            _ = until_deadline => break Err(()),
        }
    };
    match end {
        Err(()) => {
            tail.abort();
            progress.done(&format!(
                "{name}: still {} after the timeout; it goes on (shipdeck kill {} stops it)",
                state.label(),
                build.id
            ));
            EXIT_TIMEOUT
        }
        Ok(status) => {
            let result = tail.await;
            if let Ok(Err(e)) = result
                && status.is_none()
            {
                progress.done(&format!("{name}: could not be followed"));
                return report(&e);
            }
            match status {
                Some(st) => progress.done(&format!("{name}: {} {}", st.symbol(), st.label())),
                None => progress.done(&format!("{name}: ended, but the server did not say how")),
            }
            exit_for(status)
        }
    }
}

/// Follow the deployment of `candidate` to `env` until it settles (`before`: the id of the
/// newest deployment before ours, so an older one of the same candidate is not taken).
pub(crate) async fn follow_deployment(
    b: &dyn Backend,
    project: &str,
    env: &str,
    candidate: &str,
    before: Option<String>,
    timeout: Option<Duration>,
) -> i32 {
    let mut progress = Progress::new();
    let name = format!("{project}/{env} {candidate}");
    let started = tokio::time::Instant::now();
    let mut failures = 0u32;
    loop {
        match b.deployments(project, env, 1, 5).await {
            Ok(page) => {
                failures = 0;
                let ours = page
                    .items
                    .iter()
                    .find(|d| d.candidate == candidate && before.as_deref() != Some(d.id.as_str()));
                match ours {
                    Some(d) if d.status.is_terminal() => {
                        let why = d
                            .error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default();
                        progress.done(&format!(
                            "{name}: {} {}{why}",
                            d.status.symbol(),
                            d.status.label()
                        ));
                        return exit_for(Some(d.status));
                    }
                    Some(d) => progress.show(&format!("{name}: {}", d.raw_status)),
                    None => progress.show(&format!("{name}: waiting for the deployment")),
                }
            }
            Err(e) if failures < 3 && crate::api::errors::is_transient(&e) => {
                failures += 1;
                progress.show(&format!("{name}: {e}; asking again"));
            }
            Err(e) => {
                progress.done(&format!("{name}: could not be followed"));
                return report(&e);
            }
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            progress.done(&format!(
                "{name}: not settled after the timeout; it goes on"
            ));
            return EXIT_TIMEOUT;
        }
        let nap = timeout.map_or(DEPLOY_POLL, |t| {
            DEPLOY_POLL.min(t.saturating_sub(started.elapsed()))
        });
        tokio::time::sleep(nap).await;
        progress.tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_by_outcome() {
        assert_eq!(exit_for(Some(BuildStatus::Succeeded)), 0);
        assert_eq!(exit_for(Some(BuildStatus::Failed)), 5);
        assert_eq!(exit_for(Some(BuildStatus::Cancelled)), 6);
        assert_eq!(exit_for(None), 1);
        assert_eq!(exit_for(Some(BuildStatus::Unknown)), 1);
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("5"), Ok(Duration::from_secs(5)));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("0").is_err());
    }
}
