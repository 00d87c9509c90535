//! The one log-tail skeleton of the backends' `tail_log`: events go to a sink until the
//! viewer drops its receiver (never an error), every wait and request gives way to that, a
//! followed log is polled at the backend's interval, a transient failure is retried with
//! backoff (up to [`MAX_BACKOFF_FACTOR`] intervals) while following, and the tail ends with
//! `End` or the backend's own ending. Each backend plugs in one poll ([`Poller`]).

use super::ApiError;
use super::errors::is_transient;
use crate::domain::{BuildStatus, LogEvent};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Backoff after failed polls grows up to this many poll intervals.
pub(crate) const MAX_BACKOFF_FACTOR: u32 = 8;

/// Why a tail stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The viewer went away: not an error.
    Closed,
    Err(ApiError),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Err(e)
    }
}

pub(crate) type Flow<T> = Result<T, Stop>;

/// Send one event; a dropped receiver stops the tail.
pub fn emit(sink: &UnboundedSender<LogEvent>, ev: LogEvent) -> Flow<()> {
    sink.send(ev).map_err(|_| Stop::Closed)
}

/// Runs `fut` unless the viewer closes first.
pub(crate) async fn guarded<T>(
    sink: &UnboundedSender<LogEvent>,
    fut: impl Future<Output = T>,
) -> Flow<T> {
    tokio::select! {
        biased;
        () = sink.closed() => Err(Stop::Closed),
        v = fut => Ok(v),
    }
}

/// Wait `d` unless the viewer closes first.
pub async fn pause(sink: &UnboundedSender<LogEvent>, d: Duration) -> Flow<()> {
    guarded(sink, tokio::time::sleep(d)).await
}

/// A tail's outcome for `tail_log`: a closed viewer is a normal end.
pub fn finish(flow: Flow<()>) -> Result<(), ApiError> {
    match flow {
        Ok(()) | Err(Stop::Closed) => Ok(()),
        Err(Stop::Err(e)) => Err(e),
    }
}

/// What one poll found.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled {
    /// The server holds more: poll again at once.
    Again,
    /// Nothing more for now: poll again after the interval.
    Wait,
    /// The log is over: send `End` with this status.
    End(Option<BuildStatus>),
    /// The poll ended the tail itself (it sent its own `End`).
    Done,
}

/// One backend's poll of a log (with whatever state it keeps between polls).
pub trait Poller {
    fn poll(
        &mut self,
        sink: &UnboundedSender<LogEvent>,
    ) -> impl Future<Output = Flow<Polled>> + Send;
}

/// How a tail is paced.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Keep polling a live log (otherwise a failure ends the tail at once).
    pub follow: bool,
    pub interval: Duration,
    /// Failed polls in a row after which the tail gives up (`None`: never while following).
    pub give_up_after: Option<u32>,
}

impl Pace {
    pub fn new(follow: bool, interval: Duration) -> Pace {
        Pace {
            follow,
            interval,
            give_up_after: None,
        }
    }
}

/// Poll until the log is over or the viewer goes away.
pub async fn run<P: Poller + Send>(
    poller: &mut P,
    sink: &UnboundedSender<LogEvent>,
    pace: Pace,
) -> Flow<()> {
    let mut backoff = pace.interval;
    let mut failures = 0u32;
    loop {
        match poller.poll(sink).await {
            Ok(Polled::Again) => {}
            Ok(Polled::Wait) => pause(sink, pace.interval).await?,
            Ok(Polled::End(status)) => return emit(sink, LogEvent::End { status }),
            Ok(Polled::Done) => return Ok(()),
            Err(Stop::Err(e))
                if pace.follow
                    && is_transient(&e)
                    && pace.give_up_after.is_none_or(|n| failures < n) =>
            {
                failures += 1;
                tracing::debug!(error = %e, ?backoff, "log poll failed; retrying");
                pause(sink, backoff).await?;
                backoff = (backoff * 2).min(pace.interval * MAX_BACKOFF_FACTOR);
                continue;
            }
            Err(stop) => return Err(stop),
        }
        backoff = pace.interval;
        failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    /// Answers from a script, then `End`.
    struct Script(Vec<Flow<Polled>>, u32);

    impl Poller for Script {
        async fn poll(&mut self, _sink: &UnboundedSender<LogEvent>) -> Flow<Polled> {
            self.1 += 1;
            if self.0.is_empty() {
                return Ok(Polled::End(Some(BuildStatus::Succeeded)));
            }
            self.0.remove(0)
        }
    }

    fn server() -> Flow<Polled> {
        Err(Stop::Err(ApiError::Server {
            status: 500,
            message: "x".into(),
        }))
    }

    #[tokio::test]
    async fn follows_through_faults_and_ends() {
        let (tx, mut rx) = unbounded_channel();
        let mut p = Script(vec![Ok(Polled::Again), server(), Ok(Polled::Wait)], 0);
        let flow = run(&mut p, &tx, Pace::new(true, Duration::from_millis(10))).await;
        assert!(flow.is_ok());
        assert_eq!(p.1, 4);
        assert_eq!(
            rx.try_recv().ok(),
            Some(LogEvent::End {
                status: Some(BuildStatus::Succeeded)
            })
        );
    }

    #[tokio::test]
    async fn a_fault_ends_an_unfollowed_tail_and_a_refusal_any_tail() {
        let (tx, _rx) = unbounded_channel();
        let mut p = Script(vec![server()], 0);
        let flow = run(&mut p, &tx, Pace::new(false, Duration::from_millis(10))).await;
        assert!(matches!(finish(flow), Err(ApiError::Server { .. })));
        let mut p = Script(vec![Err(Stop::Err(ApiError::NotFound("x".into())))], 0);
        let flow = run(&mut p, &tx, Pace::new(true, Duration::from_millis(10))).await;
        assert!(matches!(finish(flow), Err(ApiError::NotFound(_))));
    }

    #[tokio::test]
    async fn gives_up_after_the_limit() {
        let (tx, _rx) = unbounded_channel();
        let mut p = Script((0..5).map(|_| server()).collect(), 0);
        let pace = Pace {
            give_up_after: Some(2),
            ..Pace::new(true, Duration::from_millis(10))
        };
        assert!(matches!(
            finish(run(&mut p, &tx, pace).await),
            Err(ApiError::Server { .. })
        ));
        assert_eq!(p.1, 3);
    }

    #[tokio::test]
    async fn a_dropped_viewer_is_a_normal_end() {
        let (tx, rx) = unbounded_channel();
        drop(rx);
        let mut p = Script(vec![Ok(Polled::Wait)], 0);
        let flow = run(&mut p, &tx, Pace::new(true, Duration::from_secs(60))).await;
        assert!(matches!(flow, Err(Stop::Closed)));
        assert!(finish(flow).is_ok());
    }
}
