//! One Candor runner, used directly (`api/candor.md` §2.2, §4.2, §7 "Live run"): health,
//! ad-hoc runs (`POST /run` held for the whole run, on its own task, no client timeout) and the
//! byte-range log tail (`GET /logs/:runId` with `Range: bytes=N-`; POST when GET is a route
//! miss, the wiki's spelling).

use super::logparse::LogParser;
use super::runs::{explain_stages, run_status, stage_status};
use super::{Candor, is_route_miss, map_error, paths, server_words, wire};
use crate::api::errors::is_transient as transient;
use crate::api::http::{Http, Request, RetryPolicy};
use crate::api::tail::{Flow, Stop, emit, guarded};
use crate::api::{ApiError, RunnerHealth};
use crate::config::Credential;
use crate::domain::{Build, BuildStatus, LogEvent, StepStatus};
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{HeaderValue, RANGE};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

/// `POST /run` answers only when the run is over: far above stages × the runner's timeout.
const RUN_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How long `runner_run` waits for an early refusal before handing back the run id.
const EARLY_WINDOW: Duration = Duration::from_secs(3);
/// The run whose log the token probe asks for: no runner has it.
const PROBE_RUN_ID: &str = "shipdeck-token-probe";

/// Where an ad-hoc run started by this process stands.
#[derive(Clone, Debug, PartialEq)]
pub enum RunnerJobState {
    /// `POST /run` is in flight.
    Running,
    /// The runner's outcome, as a build.
    Finished(Box<Build>),
    /// The runner refused the run.
    Refused(ApiError),
    /// The `/run` connection broke: the runner keeps going (inferred); the log tells the rest.
    Lost(String),
}

/// Stage names with their results, as a log parser takes them.
type StageResults = Vec<(String, Option<StepStatus>)>;

struct Job {
    stages: Vec<String>,
    started: DateTime<Utc>,
    state: watch::Receiver<RunnerJobState>,
    /// The outcome's stages, set before the state turns `Finished`.
    outcome: Arc<OnceLock<StageResults>>,
}

pub(super) struct RunnerClient {
    http: Http,
    /// For `POST /run` only: its own task, a timeout far above any run.
    long: Arc<Http>,
    token: Credential,
    /// Logs are read with POST (GET was a route miss).
    post_logs: AtomicBool,
    jobs: std::sync::Mutex<HashMap<String, Job>>,
}

fn outcome_stages(o: &wire::RunOutcome) -> StageResults {
    o.stages
        .iter()
        .map(|s| {
            let st = stage_status(&s.status);
            (s.name.clone(), (st != StepStatus::Unknown).then_some(st))
        })
        .collect()
}

/// An ad-hoc runner run still going, as a build.
fn running_run(id: &str) -> Build {
    Build {
        id: id.to_string(),
        run_id: Some(id.to_string()),
        project: "runner (ad hoc)".into(),
        status: BuildStatus::Running,
        raw_status: "running on the runner".into(),
        ..Build::default()
    }
}

fn outcome_build(id: &str, o: &wire::RunOutcome, started: DateTime<Utc>) -> Build {
    let status = o.status.clone().unwrap_or_default();
    let (exit_code, message) = explain_stages(&status, Some(&o.stages));
    Build {
        status: run_status(&status),
        raw_status: status,
        exit_code,
        message,
        started_at: Some(started),
        finished_at: Some(Utc::now()),
        trigger: Some("shipdeck".into()),
        ..running_run(id)
    }
}

impl RunnerClient {
    pub fn new(
        base: &str,
        token: Credential,
        timeout: Duration,
        ca: Option<&std::path::Path>,
        insecure: bool,
        policy: RetryPolicy,
    ) -> Result<RunnerClient, ApiError> {
        Ok(RunnerClient {
            http: Http::with_base(base, timeout, ca, insecure)?.with_policy(policy),
            long: Arc::new(Http::with_base(base, RUN_TIMEOUT, ca, insecure)?.with_policy(policy)),
            token,
            post_logs: AtomicBool::new(false),
            jobs: std::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn base(&self) -> &str {
        self.http.base()
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn token(&self) -> Result<SecretString, ApiError> {
        self.token
            .resolve()
            .await
            .map_err(|e| ApiError::Config(format!("runner_token: {e}")))
    }

    fn auth_error(words: &str) -> ApiError {
        ApiError::Auth(format!(
            "the runner refused runner_token (HTTP 401: {words}); check the profile's runner_token"
        ))
    }

    pub(crate) fn job_state(&self, id: &str) -> Option<RunnerJobState> {
        self.jobs().get(id).map(|j| j.state.borrow().clone())
    }

    /// Runs in flight, as running builds.
    pub(crate) fn active_builds(&self) -> Vec<Build> {
        let jobs = self.jobs();
        let mut out: Vec<Build> = jobs
            .iter()
            .filter(|(_, j)| *j.state.borrow() == RunnerJobState::Running)
            .map(|(id, j)| Build {
                started_at: Some(j.started),
                trigger: Some("shipdeck".into()),
                ..running_run(id)
            })
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.started_at));
        out
    }

    /// `GET /` (no token), then, when healthy, one harmless request with a deliberately wrong
    /// token: the real runner checks no token at all (§11 R6), which the operator should know.
    pub async fn health(&self) -> Result<RunnerHealth, ApiError> {
        let reply = self.http.send(&Request::get("/")).await?;
        let healthy = reply.status == 200;
        if !healthy {
            return Ok(RunnerHealth {
                healthy,
                verifies_tokens: None,
            });
        }
        let wrong = {
            let mut rng = fastrand::Rng::new();
            let noise: String = (0..16).map(|_| format!("{:02x}", rng.u8(..))).collect();
            SecretString::from(format!("shipdeck-wrong-token-{noise}"))
        };
        let probe = Request::get(format!("/logs/{PROBE_RUN_ID}")).bearer(&wrong);
        let verifies_tokens = match self.http.send(&probe).await {
            Ok(r) if r.status == 401 => Some(true),
            // Past the token check: a log, no log, a route miss.
            Ok(r) if matches!(r.status, 200 | 206 | 404 | 416) => Some(false),
            Ok(r) => {
                tracing::info!(status = r.status, "runner token probe: no conclusion");
                None
            }
            Err(e) => {
                tracing::info!(error = %e, "runner token probe failed");
                None
            }
        };
        Ok(RunnerHealth {
            healthy,
            verifies_tokens,
        })
    }

    /// New bytes of the run's log from `offset` on (empty = nothing new). 404 (no file yet,
    /// or deleted) is `NotFound`.
    pub(crate) async fn log_since(&self, run_id: &str, offset: u64) -> Result<Vec<u8>, ApiError> {
        let path = format!("/logs/{}", paths::run(run_id)?);
        let token = self.token().await?;
        let mut retried = false;
        loop {
            let post = self.post_logs.load(Ordering::Relaxed);
            let mut req = Request::get(path.clone()).bearer(&token);
            if post {
                req.method = Method::POST;
            }
            if let Ok(v) = HeaderValue::from_str(&format!("bytes={offset}-")) {
                req.headers.push((RANGE, v));
            }
            let reply = self.http.send(&req).await?;
            let words = server_words(&reply);
            return match reply.status {
                206 => Ok(reply.body),
                200 => Ok(usize::try_from(offset)
                    .ok()
                    .and_then(|o| reply.body.get(o..))
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()),
                416 => Ok(Vec::new()),
                404 if is_route_miss(&reply) && !retried => {
                    // The wiki's `POST /logs/:runID` (or back to GET).
                    retried = true;
                    self.post_logs.store(!post, Ordering::Relaxed);
                    continue;
                }
                // The runner's page names its log file: not repeated (§11 R11).
                404 => Err(ApiError::NotFound(format!(
                    "the runner has no log for run {run_id} (yet)"
                ))),
                400 => Err(ApiError::Rejected {
                    status: 400,
                    message: format!(
                        "the runner refused the log request: a missing Authorization header or \
                         a run id that escapes its log directory (server: {words})"
                    ),
                }),
                401 => Err(Self::auth_error(&words)),
                _ => Err(map_error(&reply)),
            };
        }
    }

    /// Start an ad-hoc run; returns its run id once the runner has it (or after a short window
    /// without a refusal). The outcome arrives later (see `job_state`).
    pub async fn run(&self, plan_text: &str, poll: Duration) -> Result<String, ApiError> {
        let plan: serde_json::Value = serde_json::from_str(plan_text)
            .map_err(|e| ApiError::Config(format!("the plan is not JSON: {e}")))?;
        let stages: Vec<String> = plan
            .get("stages")
            .and_then(|s| s.as_array())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::Config("the plan has no `stages` list".into()))?
            .iter()
            .map(|s| {
                s.get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let id: String = {
            let mut rng = fastrand::Rng::new();
            (0..6).map(|_| format!("{:02x}", rng.u8(..))).collect()
        };
        let token = self.token().await?;
        let req = Request::write(
            Method::POST,
            "/run",
            Some(serde_json::json!({"runId": id, "plan": plan})),
        )
        .bearer(&token);
        let (tx, mut rx) = watch::channel(RunnerJobState::Running);
        let started = Utc::now();
        let outcome = Arc::new(OnceLock::new());
        self.jobs().insert(
            id.clone(),
            Job {
                stages,
                started,
                state: rx.clone(),
                outcome: outcome.clone(),
            },
        );
        let long = self.long.clone();
        let job_id = id.clone();
        tokio::spawn(async move {
            let state = match long.send(&req).await {
                Ok(reply) if reply.status == 200 => {
                    match super::reply::json(&reply).and_then(wire::outcome) {
                        Ok(o) => {
                            let _ = outcome.set(outcome_stages(&o));
                            RunnerJobState::Finished(Box::new(outcome_build(&job_id, &o, started)))
                        }
                        Err(e) => {
                            RunnerJobState::Lost(format!("the runner's outcome is unreadable: {e}"))
                        }
                    }
                }
                Ok(reply) => RunnerJobState::Refused(match reply.status {
                    401 => Self::auth_error(&server_words(&reply)),
                    s @ (400 | 415) => ApiError::Rejected {
                        status: s,
                        message: format!(
                            "the runner refused the plan (server: {})",
                            server_words(&reply)
                        ),
                    },
                    _ => map_error(&reply),
                }),
                Err(e) => RunnerJobState::Lost(format!(
                    "the /run connection broke ({e}); the runner keeps going and the log tells \
                     the result"
                )),
            };
            let _ = tx.send(state);
        });
        let deadline = tokio::time::Instant::now() + EARLY_WINDOW;
        loop {
            if let RunnerJobState::Refused(e) = rx.borrow().clone() {
                self.jobs().remove(&id);
                return Err(e);
            }
            if *rx.borrow() != RunnerJobState::Running {
                return Ok(id);
            }
            match self.log_since(&id, 0).await {
                Ok(_) => return Ok(id),
                Err(ApiError::Auth(m)) => {
                    self.jobs().remove(&id);
                    return Err(ApiError::Auth(m));
                }
                Err(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(id);
            }
            let _ = tokio::time::timeout(poll.min(Duration::from_millis(200)), rx.changed()).await;
        }
    }

    /// The outcome's stage results of a run of this process, once `/run` has answered.
    fn outcome_of(&self, id: &str) -> Option<StageResults> {
        self.jobs().get(id).and_then(|j| j.outcome.get().cloned())
    }

    /// Tail a runner log by byte ranges (§7 steps 3–6), emitting whole lines only. The file
    /// never ends with a newline (§11 R4): its unterminated end is taken as the last line when
    /// the run is over, or when it is the last stage's closing sentence and nothing more came.
    /// The `/run` outcome, once it arrives, sets the final step states.
    pub(super) async fn tail(
        &self,
        run_id: &str,
        follow: bool,
        sink: &UnboundedSender<LogEvent>,
        poll: Duration,
    ) -> Flow<()> {
        let stages: StageResults = self
            .jobs()
            .get(run_id)
            .map(|j| j.stages.iter().map(|s| (s.clone(), None)).collect())
            .unwrap_or_default();
        let mut parser = LogParser::new(stages, true);
        let mut held: u64 = 0;
        let mut partial: Vec<u8> = Vec::new();
        let mut failures = 0u32;
        let mut outcome_applied = false;
        loop {
            // The outcome known *before* this read means this read is the final one.
            let state = self.job_state(run_id);
            if let Some(RunnerJobState::Refused(e)) = &state {
                return Err(Stop::Err(e.clone()));
            }
            let over = matches!(state, Some(RunnerJobState::Finished(_)));
            if over
                && !outcome_applied
                && let Some(results) = self.outcome_of(run_id)
            {
                outcome_applied = true;
                let mut out = Vec::new();
                parser.set_outcome(results, &mut out);
                for ev in out {
                    emit(sink, ev)?;
                }
            }
            let mut got = 0;
            match guarded(sink, self.log_since(run_id, held)).await? {
                Ok(bytes) => {
                    failures = 0;
                    got = bytes.len();
                    held += bytes.len() as u64;
                    partial.extend_from_slice(&bytes);
                    let mut out = Vec::new();
                    if let Some(cut) = partial.iter().rposition(|b| *b == b'\n') {
                        let whole: Vec<u8> = partial.drain(..=cut).collect();
                        let text =
                            String::from_utf8_lossy(whole.get(..cut).unwrap_or(&[])).into_owned();
                        for line in text.split('\n') {
                            parser.push(line.to_string(), &mut out);
                        }
                    }
                    for ev in out {
                        emit(sink, ev)?;
                    }
                }
                Err(ApiError::NotFound(_)) if follow && !over => {}
                Err(e) if follow && transient(&e) && failures < 8 => failures += 1,
                Err(e) => return Err(Stop::Err(e)),
            }
            // A reply may be cut short (truncated): read on at once until nothing is new,
            // so that "what exists now" (or the final file) is complete.
            if got > 0 && (!follow || over || parser.complete) {
                continue;
            }
            let mut out = Vec::new();
            if got == 0 && !parser.complete && !partial.is_empty() {
                // Nothing new: an unterminated end that closes the last stage ends the run.
                let text = String::from_utf8_lossy(&partial).into_owned();
                if parser.ends_run(&text) {
                    parser.push(text, &mut out);
                    partial.clear();
                }
            }
            if !follow || over || parser.complete {
                if !partial.is_empty() && (!follow || over) {
                    let text = String::from_utf8_lossy(&partial).into_owned();
                    parser.push(text, &mut out);
                    partial.clear();
                }
                parser.end(&mut out);
                for ev in out.drain(..) {
                    emit(sink, ev)?;
                }
                if follow && !over && parser.complete {
                    // The text says it is over; give the outcome a moment, then stop.
                    if self.job_state(run_id) == Some(RunnerJobState::Running) {
                        guarded(sink, tokio::time::sleep(poll)).await?;
                        if self.job_state(run_id) == Some(RunnerJobState::Running) {
                            continue;
                        }
                    }
                    if !outcome_applied && let Some(results) = self.outcome_of(run_id) {
                        parser.set_outcome(results, &mut out);
                    }
                }
                let status = match self.job_state(run_id) {
                    Some(RunnerJobState::Finished(b)) => Some(b.status),
                    _ if follow => parser.status(),
                    _ => None,
                };
                if let Some(st) = status {
                    parser.close_open(st, &mut out);
                }
                for ev in out {
                    emit(sink, ev)?;
                }
                return emit(sink, LogEvent::End { status });
            }
            for ev in out {
                emit(sink, ev)?;
            }
            let wait = poll * (1 + failures.min(7));
            guarded(sink, tokio::time::sleep(wait)).await?;
        }
    }
}

impl Candor {
    fn runner(&self) -> Result<&RunnerClient, ApiError> {
        self.runner.as_ref().ok_or_else(|| {
            ApiError::Unsupported(
                "this profile has no runner_url: ad-hoc runner runs are off".into(),
            )
        })
    }

    /// `GET <runner>/`: whether the runner answers its health check with 200, and whether it
    /// refuses a deliberately wrong token (the real one does not, §11 R6).
    pub async fn runner_health(&self) -> Result<RunnerHealth, ApiError> {
        self.runner()?.health().await
    }

    /// Start an ad-hoc run of `plan_text` (a JSON Plan, §5) on the runner; returns its run id.
    /// Not recorded by the dashboard. Never retried.
    pub async fn runner_run(&self, plan_text: &str) -> Result<String, ApiError> {
        self.runner()?.run(plan_text, self.log_poll).await
    }

    /// Where an ad-hoc run of this process stands (`None`: not started here).
    pub fn runner_job(&self, run_id: &str) -> Option<RunnerJobState> {
        self.runner.as_ref()?.job_state(run_id)
    }

    /// New bytes of a runner log from byte `offset` on (`Range: bytes=N-`; 206 new bytes, 416
    /// none, 200 the whole file minus what is held).
    pub async fn runner_log_since(&self, run_id: &str, offset: u64) -> Result<Vec<u8>, ApiError> {
        self.runner()?.log_since(run_id, offset).await
    }

    /// A runner run as a build, for `tail_log` (running until its outcome is known).
    pub fn runner_build(&self, run_id: &str) -> Build {
        match self.runner_job(run_id) {
            Some(RunnerJobState::Finished(b)) => *b,
            _ => running_run(run_id),
        }
    }
}
