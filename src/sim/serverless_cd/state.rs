//! Serverless-cd state: tokens, applications, tasks and their plans (`serverless-cd.md` §9,
//! as measured in §11).
//!
//! A task's whole future (step durations, log lines, outcome) is drawn from the PRNG when it is
//! created; what a client observes at an instant is a pure function of that plan, the task's
//! cancel instant, the simulated clock and the era the JSON is rendered for.

use serde_json::{Map, Value, json};

use super::super::clock::{NS_PER_MS, NS_PER_SEC};
use super::Era;

pub const DEMO_TOKEN: &str = "SdDemoToken0123456789abcdefghijklmnopqrs";
pub const EXPIRED_TOKEN: &str = "SdExpiredToken0123456789abcdefghijklmnop";
pub const DEMO_USER: &str = "u-7fa3c1";
pub(crate) const OTHER_USER: &str = "u-3d90b2";

/// Dispatch → `pending`, `running` this much later (§9 #7).
pub(crate) const PENDING_NS: i64 = 3 * NS_PER_SEC;
/// A step's log is uploaded this long after the step ends; the step's status is written first
/// (§11 R9). The task's own status turns final once the last upload is done.
pub(crate) const LOG_UPLOAD_NS: i64 = NS_PER_SEC;
/// Two log lines per second.
pub(crate) const LINE_EVERY_NS: i64 = 500 * NS_PER_MS;
/// Demo: a webhook push task every 40 s (§9 #15).
pub(crate) const DEMO_EVERY_NS: i64 = 40 * NS_PER_SEC;
const DAY_NS: i64 = 86_400 * NS_PER_SEC;

/// The engine's own first step (`stepCount` `"0"`), then the pipeline's steps (§11 R10).
pub(crate) const SETUP_STEP: &str = "Set up task";
pub(crate) const STEP_NAMES: [&str; 6] = [
    SETUP_STEP, "Checkout", "Install", "Test", "Deploy", "Notify",
];
/// Where the `stepCount` counter starts; it continues across tasks (§11 R10).
const FIRST_STEP_COUNT: u64 = 101;
pub(crate) const REFS: [&str; 3] = ["refs/heads/main", "refs/heads/develop", "refs/tags/v1.4.0"];
/// The application with 37 tasks (4 pages of 10), three of them with expired logs.
pub(crate) const BUSY_APP: usize = 0;
/// Never deployed: no `latest_task`.
pub(crate) const NEVER_DEPLOYED_APP: usize = 12;
/// Owned by another user: hidden from lists and refused on writes (detail shows it, §11 R14).
pub(crate) const FOREIGN_APP: usize = 13;
/// The one application whose (Jan 2023) environment is not called `default`.
pub(crate) const PROD_ENV_APP: usize = 11;
/// The environment every other application has.
pub(crate) const DEFAULT_ENV: &str = "default";

const APP_NAMES: [&str; 14] = [
    "shop-api",
    "checkout-flaky",
    "search-tolerant",
    "web-portal",
    "order-service",
    "payment-gateway",
    "user-center",
    "notify-worker",
    "image-resizer",
    "report-builder",
    "auth-proxy",
    "docs-site",
    "legacy-cron",
    "partner-sync",
];

const MESSAGES: [&str; 8] = [
    "Bump express to 4.19",
    "Fix null check in order total",
    "Add retry to payment callback",
    "Refactor config loading",
    "Update README",
    "Pin Node.js to 18",
    "Speed up image resize",
    "Add health endpoint",
];

const SECRET_NAMES: [&str; 7] = [
    "ALIYUN_AK",
    "ALIYUN_SK",
    "DB_PASSWORD",
    "REDIS_URL",
    "DINGTALK_WEBHOOK",
    "NPM_TOKEN",
    "SENTRY_DSN",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `Test` fails every 3rd task → `Deploy` skipped, `Notify` runs, task `failure`.
    Flaky,
    /// `Test` fails with `continue-on-error` → `error-with-continue`, task `success`.
    Tolerant,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    pub secret: String,
    pub user: String,
    pub description: String,
    pub created: i64,
    /// `None` = never expires.
    pub expire: Option<i64>,
    pub active: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct GitRef {
    pub name: String,
    pub commit: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub owner: String,
    pub repo_name: String,
    pub repo_url: String,
    pub provider_repo_id: String,
    pub user_id: String,
    pub description: Option<String>,
    pub secrets: Vec<(String, String)>,
    /// Kept as the server keeps it (never sent: the open API omits it).
    pub _webhook_secret: String,
    pub trigger_spec: Value,
    pub outcome: Outcome,
    pub refs: Vec<GitRef>,
    /// Tasks created so far (1-based index of the next one − 1).
    pub tasks_made: u64,
    /// Its environment (rendered in the Jan 2023 era only).
    pub env: String,
}

impl App {
    /// The ref an empty `ref` dispatches: the trigger's branch (`refs/heads/main`).
    pub(crate) fn default_ref(&self) -> &GitRef {
        &self.refs[0]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepEnd {
    Success,
    Failure,
    Skipped,
    ErrorWithContinue,
}

impl StepEnd {
    fn as_str(self) -> &'static str {
        match self {
            StepEnd::Success => "success",
            StepEnd::Failure => "failure",
            StepEnd::Skipped => "skipped",
            StepEnd::ErrorWithContinue => "error-with-continue",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PlanStep {
    pub name: &'static str,
    /// The opaque `stepCount` (`"0"` for `Set up task`).
    pub count: String,
    /// Absolute simulated instants; `start == end` for a skipped step.
    pub start: i64,
    pub end: i64,
    /// (instant, text), instants non-decreasing within `start..=end`.
    pub lines: Vec<(i64, String)>,
    pub end_status: StepEnd,
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub owner: String,
    pub env: String,
    /// What it was made from (`spec.app` is the index of `app_id` then).
    pub spec: TaskSpec,
    pub steps: Vec<PlanStep>,
    pub failure: bool,
    pub cancelled_at: Option<i64>,
    pub logs_expired: bool,
}

impl Task {
    fn run_start(&self) -> i64 {
        self.spec.created + PENDING_NS
    }

    fn end(&self) -> i64 {
        self.steps.last().map_or(self.run_start(), |s| s.end) + LOG_UPLOAD_NS
    }

    /// `pending`, `running`, `success`, `failure` or `cancelled`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.cancelled_at.is_some() {
            "cancelled"
        } else if now < self.run_start() {
            "pending"
        } else if now < self.end() {
            "running"
        } else if self.failure {
            "failure"
        } else {
            "success"
        }
    }

    pub fn is_finished(&self, now: i64) -> bool {
        !matches!(self.status(now), "pending" | "running")
    }

    /// The instant the task ended, if it has.
    pub fn finished_at(&self, now: i64) -> Option<i64> {
        match self.cancelled_at {
            Some(c) => Some(c),
            None => (now >= self.end()).then(|| self.end()),
        }
    }

    /// Running tasks keep touching `updated_time` (§6).
    pub fn updated(&self, now: i64) -> i64 {
        match self.finished_at(now) {
            Some(t) => t,
            None if now < self.run_start() => self.spec.created,
            None => now,
        }
    }

    /// What the task looks like at `now`: the moment it froze (cancel) or now.
    fn view_at(&self, now: i64) -> i64 {
        self.cancelled_at.map_or(now, |c| c.min(now))
    }

    pub fn step_status(&self, i: usize, now: i64) -> &'static str {
        let s = &self.steps[i];
        let t = self.view_at(now);
        if t < s.start {
            "pending"
        } else if t < s.end {
            if self.cancelled_at.is_some() {
                "cancelled"
            } else {
                "running"
            }
        } else {
            s.end_status.as_str()
        }
    }

    /// `process_time`, a float with 2 decimals once the step has ended; `0` when skipped; gone
    /// from every step once the task was cancelled (§11 R10).
    pub fn process_time(&self, i: usize, now: i64) -> Option<f64> {
        let s = &self.steps[i];
        if self.cancelled_at.is_some() {
            return None;
        }
        match self.step_status(i, now) {
            "pending" | "running" => None,
            "skipped" => Some(0.0),
            _ => Some(((s.end - s.start).max(0) / (10 * NS_PER_MS)) as f64 / 100.0),
        }
    }

    /// Whether step `i` ran to its end (not skipped, not cut by a cancel) by `now`.
    fn step_completed(&self, i: usize, now: i64) -> bool {
        let s = &self.steps[i];
        s.end_status != StepEnd::Skipped && self.view_at(now) >= s.end
    }

    /// The step's log at `now`: only once the step has ended and its log was uploaded; never
    /// for a skipped step, a step cut by a cancel, or an old task (§11 R9).
    pub fn log(&self, i: usize, now: i64) -> Option<String> {
        let s = self.steps.get(i)?;
        if self.logs_expired || !self.step_completed(i, now) || now < s.end + LOG_UPLOAD_NS {
            return None;
        }
        let mut out = String::new();
        for (_, line) in &s.lines {
            out.push_str(line);
            out.push('\n');
        }
        Some(out)
    }

    /// The step with this `stepCount`.
    pub(crate) fn step_index(&self, count: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.count == count)
    }

    /// The task as `task/get` and `task/list` show it: no `trigger_type`, no `repo_name`;
    /// `env_name` from Jan 2023 (§11 R11).
    pub(crate) fn to_json(&self, now: i64, era: Era) -> Value {
        let steps: Vec<Value> = (0..self.steps.len())
            .map(|i| {
                let mut step = json!({
                    "run": self.steps[i].name,
                    "stepCount": self.steps[i].count,
                    "status": self.step_status(i, now),
                });
                if let Some(p) = self.process_time(i, now) {
                    step["process_time"] = if p == 0.0 { json!(0) } else { json!(p) };
                }
                step
            })
            .collect();
        let git_ref = &self.spec.git_ref;
        let branch = git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| git_ref.strip_prefix("refs/tags/"))
            .unwrap_or(git_ref);
        let mut v = json!({
            "id": self.id,
            "app_id": self.app_id,
            "user_id": self.user_id,
            "status": self.status(now),
            "steps": steps,
            "created_time": ms(self.spec.created),
            "updated_time": ms(self.updated(now)),
            "message": self.spec.message,
            "commit": self.spec.commit,
            "ref": git_ref,
            "branch": branch,
            "owner": self.owner,
        });
        if let Some(r) = &self.spec.redelivery {
            v["redelivery"] = json!(r);
        }
        if era == Era::Jan {
            v["env_name"] = json!(self.env);
        }
        v
    }
}

/// Epoch milliseconds of a simulated instant.
pub fn ms(ns: i64) -> i64 {
    ns.div_euclid(NS_PER_MS)
}

pub(crate) struct ScdState {
    pub rng: fastrand::Rng,
    pub apps: Vec<App>,
    pub tasks: Vec<Task>,
    pub tokens: Vec<Token>,
    pub demo: bool,
    pub next_demo: i64,
    /// The next opaque `stepCount` (continues across tasks).
    pub next_step_count: u64,
}

pub(crate) fn id16(rng: &mut fastrand::Rng) -> String {
    const ALPHA: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..16)
        .map(|_| char::from(ALPHA[rng.usize(..ALPHA.len())]))
        .collect()
}

pub fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..n).map(|_| char::from(HEX[rng.usize(..16)])).collect()
}

pub(crate) fn uuid_v4(rng: &mut fastrand::Rng) -> String {
    let h = hex(rng, 32);
    let variant = ['8', '9', 'a', 'b'][rng.usize(..4)];
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        &h[20..32]
    )
}

/// A 40-character token from `0-9a-zA-Z`.
pub(crate) fn token_secret(rng: &mut fastrand::Rng) -> String {
    const ALPHA: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..40)
        .map(|_| char::from(ALPHA[rng.usize(..ALPHA.len())]))
        .collect()
}

/// What a new task is about.
#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    pub app: usize,
    pub created: i64,
    pub commit: String,
    pub git_ref: String,
    pub message: String,
    pub redelivery: Option<String>,
    pub inputs: Map<String, Value>,
}

impl ScdState {
    pub fn new(seed: u64, start: i64, demo: bool) -> ScdState {
        let mut st = ScdState {
            rng: crate::sim::rng_for(seed, "serverless-cd"),
            apps: Vec::new(),
            tasks: Vec::new(),
            tokens: vec![
                Token {
                    id: "1".into(),
                    secret: DEMO_TOKEN.into(),
                    user: DEMO_USER.into(),
                    description: "shipdeck demo".into(),
                    created: start - 10 * DAY_NS,
                    expire: None,
                    active: None,
                },
                Token {
                    id: "2".into(),
                    secret: EXPIRED_TOKEN.into(),
                    user: DEMO_USER.into(),
                    description: "old laptop".into(),
                    created: start - 40 * DAY_NS,
                    expire: Some(start - DAY_NS),
                    active: None,
                },
            ],
            demo,
            next_demo: start + DEMO_EVERY_NS,
            next_step_count: FIRST_STEP_COUNT,
        };
        for (i, name) in APP_NAMES.iter().enumerate() {
            let app = st.fixture_app(i, name, start);
            st.apps.push(app);
        }
        for i in 0..st.apps.len() {
            let count: usize = match i {
                BUSY_APP => 37,
                NEVER_DEPLOYED_APP => 0,
                _ => st.rng.usize(1..=12),
            };
            for j in 0..count {
                let created = if i == BUSY_APP && j < 3 {
                    // Older than 30 days: logs expired.
                    start - (35 - 2 * j as i64) * DAY_NS
                } else {
                    let span = 24 * DAY_NS;
                    let slot = span / count as i64;
                    start - span + slot * j as i64 + st.rng.i64(0..slot / 2)
                };
                let r = if st.rng.u8(..4) == 0 { 1 } else { 0 };
                let spec = TaskSpec {
                    app: i,
                    created,
                    commit: hex(&mut st.rng, 40),
                    git_ref: REFS[r].into(),
                    message: MESSAGES[st.rng.usize(..MESSAGES.len())].into(),
                    redelivery: None,
                    inputs: Map::new(),
                };
                let id = st.create_task(spec);
                if i == BUSY_APP
                    && j < 3
                    && let Some(t) = st.task_mut(&id)
                {
                    t.logs_expired = true;
                }
            }
        }
        st
    }

    fn fixture_app(&mut self, i: usize, name: &str, start: i64) -> App {
        let owner = if i == FOREIGN_APP { "globex" } else { "acme" };
        let user = if i == FOREIGN_APP {
            OTHER_USER
        } else {
            DEMO_USER
        };
        let outcome = match name {
            n if n.ends_with("flaky") => Outcome::Flaky,
            n if n.ends_with("tolerant") => Outcome::Tolerant,
            _ if i % 4 == 3 => Outcome::Flaky,
            _ => Outcome::Ok,
        };
        let n_secrets = self.rng.usize(2..=5);
        let mut pool: Vec<&str> = SECRET_NAMES.to_vec();
        self.rng.shuffle(&mut pool);
        let mut secrets: Vec<(String, String)> = pool[..n_secrets]
            .iter()
            .map(|k| (k.to_string(), format!("sv-{}", hex(&mut self.rng, 12))))
            .collect();
        secrets.sort();
        let created = start - (60 + self.rng.i64(0..30)) * DAY_NS;
        let mut app = self.new_app(
            owner,
            name,
            &(584_120_377 + i as u64 * 7).to_string(),
            user,
            created,
            secrets,
            outcome,
            None,
        );
        if i == PROD_ENV_APP {
            app.env = "prod".into();
        }
        app
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_app(
        &mut self,
        owner: &str,
        repo: &str,
        provider_repo_id: &str,
        user: &str,
        created: i64,
        secrets: Vec<(String, String)>,
        outcome: Outcome,
        trigger_spec: Option<Value>,
    ) -> App {
        let webhook_secret = format!("whsec-{}", hex(&mut self.rng, 10));
        let trigger_spec = trigger_spec.unwrap_or_else(|| {
            json!({"github": {"events": [{"eventName": "push",
                "filter": "body.ref in [\"refs/heads/main\"]",
                "template": "serverless-pipeline.yaml"}],
                "secret": webhook_secret}})
        });
        let refs = REFS
            .iter()
            .map(|r| GitRef {
                name: r.to_string(),
                commit: hex(&mut self.rng, 40),
                message: MESSAGES[self.rng.usize(..MESSAGES.len())].to_string(),
            })
            .collect();
        App {
            id: id16(&mut self.rng),
            created,
            updated: created,
            owner: owner.into(),
            repo_name: repo.into(),
            repo_url: format!("https://github.com/{owner}/{repo}.git"),
            provider_repo_id: provider_repo_id.into(),
            user_id: user.into(),
            description: Some(format!("{repo} on Function Compute")),
            secrets,
            _webhook_secret: webhook_secret,
            trigger_spec,
            outcome,
            refs,
            tasks_made: 0,
            env: DEFAULT_ENV.into(),
        }
    }

    pub(crate) fn app_index(&self, id: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.id == id)
    }

    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    pub(crate) fn task_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.id == id)
    }

    /// Creates a task (pending at once) with its whole plan; returns its id.
    pub(crate) fn create_task(&mut self, spec: TaskSpec) -> String {
        let app = &mut self.apps[spec.app];
        app.tasks_made += 1;
        app.updated = app.updated.max(spec.created);
        let n = app.tasks_made;
        let outcome = app.outcome;
        let (app_id, user, owner, repo, repo_url, env) = (
            app.id.clone(),
            app.user_id.clone(),
            app.owner.clone(),
            app.repo_name.clone(),
            app.repo_url.clone(),
            app.env.clone(),
        );
        let test_fails = outcome == Outcome::Flaky && n % 3 == 0;
        let ctx = LineCtx {
            repo: &repo,
            repo_url: &repo_url,
            commit: &spec.commit,
            message: &spec.message,
            git_ref: &spec.git_ref,
            inputs: &spec.inputs,
            test_fails,
            tolerant: outcome == Outcome::Tolerant,
        };
        let mut t = spec.created + PENDING_NS;
        let mut steps = Vec::new();
        for name in STEP_NAMES {
            let count = if name == SETUP_STEP {
                "0".to_string()
            } else {
                self.next_step_count += 1;
                (self.next_step_count - 1).to_string()
            };
            if name == "Deploy" && test_fails {
                steps.push(PlanStep {
                    name,
                    count,
                    start: t,
                    end: t,
                    lines: Vec::new(),
                    end_status: StepEnd::Skipped,
                });
                continue;
            }
            // Durations to the 10 ms: `process_time` is a float (§11 R10).
            let dur = if name == SETUP_STEP {
                self.rng.i64(100..=300) * 10 * NS_PER_MS
            } else {
                self.rng.i64(300..=1500) * 10 * NS_PER_MS
            };
            // As many lines in every task of an app (two a second of the step's usual length),
            // spread over this run's duration: two runs' logs differ where the runs did (what
            // the log diff compares), not in how long each step happened to take.
            // The task's PRNG is drawn from as it always was (ids and timings stay the same);
            // the lines' own volatile parts come from a PRNG of this task and step.
            let _ = step_lines(
                &mut self.rng,
                name,
                (dur / LINE_EVERY_NS).max(1) as usize,
                &ctx,
            );
            let n_lines = usual_lines(&repo, name);
            let every = (dur / (n_lines as i64 + 1)).max(1);
            let mut own = fastrand::Rng::with_seed(
                (usual_lines(&repo, name) as u64)
                    ^ (spec.created as u64)
                    ^ (t as u64).rotate_left(17),
            );
            let texts = step_lines(&mut own, name, n_lines, &ctx);
            let lines = texts
                .into_iter()
                .enumerate()
                .map(|(k, text)| (t + (k as i64 + 1) * every, text))
                .collect();
            let end_status = match name {
                "Test" if test_fails => StepEnd::Failure,
                "Test" if ctx.tolerant => StepEnd::ErrorWithContinue,
                _ => StepEnd::Success,
            };
            steps.push(PlanStep {
                name,
                count,
                start: t,
                end: t + dur,
                lines,
                end_status,
            });
            t += dur;
        }
        let id = id16(&mut self.rng);
        self.tasks.push(Task {
            id: id.clone(),
            app_id,
            user_id: user,
            owner,
            env,
            spec,
            steps,
            failure: test_fails,
            cancelled_at: None,
            logs_expired: false,
        });
        id
    }

    /// Applies background activity up to `now` (demo only).
    pub fn advance(&mut self, now: i64) {
        if !self.demo {
            return;
        }
        while self.next_demo <= now {
            let at = self.next_demo;
            self.next_demo += DEMO_EVERY_NS;
            let candidates: Vec<usize> = (0..self.apps.len())
                .filter(|i| *i != NEVER_DEPLOYED_APP)
                .collect();
            let app = candidates[self.rng.usize(..candidates.len())];
            let head = self.apps[app].refs[0].clone();
            let spec = TaskSpec {
                app,
                created: at,
                commit: hex(&mut self.rng, 40),
                git_ref: head.name,
                message: MESSAGES[self.rng.usize(..MESSAGES.len())].into(),
                redelivery: None,
                inputs: Map::new(),
            };
            self.create_task(spec);
        }
    }

    /// The application as `application/list` and `detail` show it: its data at the top level
    /// (Nov 2022) or under `environment.<env>` (Jan 2023, §11 R3); `webhook_secret` never.
    pub(crate) fn app_json(&self, i: usize, now: i64, era: Era) -> Value {
        let a = &self.apps[i];
        let secrets: Map<String, Value> = a
            .secrets
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut v = json!({
            "id": a.id,
            "created_time": ms(a.created),
            "updated_time": ms(a.updated),
            "owner": a.owner,
            "repo_name": a.repo_name,
            "repo_url": a.repo_url,
            "provider_repo_id": a.provider_repo_id,
            "user_id": a.user_id,
            "provider": "github",
        });
        if let Some(d) = &a.description {
            v["description"] = json!(d);
        }
        let mut data = json!({
            "secrets": secrets,
            "trigger_spec": a.trigger_spec,
        });
        let latest = self
            .tasks
            .iter()
            .filter(|t| t.app_id == a.id)
            .max_by_key(|t| (t.spec.created, t.id.clone()));
        if let Some(t) = latest {
            data["latest_task"] = json!({
                "taskId": t.id,
                "commit": t.spec.commit,
                "message": t.spec.message,
                "ref": t.spec.git_ref,
                "completed": t.is_finished(now),
                "status": t.status(now),
            });
        }
        match era {
            Era::Nov => {
                if let (Some(out), Value::Object(d)) = (v.as_object_mut(), data) {
                    out.extend(d);
                }
            }
            Era::Jan => {
                data["type"] = json!("testing");
                data["cd_pipeline_yaml"] = json!("serverless-pipeline.yaml");
                v["environment"] = json!({ a.env.clone(): data });
            }
        }
        v
    }
}

struct LineCtx<'a> {
    repo: &'a str,
    repo_url: &'a str,
    commit: &'a str,
    message: &'a str,
    git_ref: &'a str,
    inputs: &'a Map<String, Value>,
    test_fails: bool,
    tolerant: bool,
}

/// Lines of a step in every task of an app: two a second of a usual length drawn once per
/// (app, step), within the range step durations are drawn from.
fn usual_lines(repo: &str, step: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in repo.bytes().chain([0]).chain(step.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let secs = if step == SETUP_STEP {
        1 + h % 3
    } else {
        3 + h % 13
    };
    (secs * (NS_PER_SEC as u64) / LINE_EVERY_NS as u64).max(1) as usize
}

fn sgr(rng: &mut fastrand::Rng, text: String) -> String {
    // ~15 % of lines carry colour.
    if rng.u8(..100) < 15 {
        let colour = [31, 32, 33, 36][rng.usize(..4)];
        format!("\u{1b}[{colour}m{text}\u{1b}[0m")
    } else {
        text
    }
}

/// Produces the `k`-th middle line of a step.
type Filler = Box<dyn Fn(&mut fastrand::Rng, usize) -> String>;

/// `count` lines of one step (the last few are the step's verdict).
fn step_lines(rng: &mut fastrand::Rng, name: &str, count: usize, c: &LineCtx) -> Vec<String> {
    let short: String = c.commit.chars().take(7).collect();
    let mut head: Vec<String> = Vec::new();
    let mut tail: Vec<String> = Vec::new();
    let filler: Filler = match name {
        SETUP_STEP => {
            head.push("[INFO] Preparing the task environment".into());
            tail.push("[INFO] Loaded serverless-pipeline.yaml".into());
            Box::new(|rng, k| format!("[DEBUG] runtime check {k}: ok ({} ms)", rng.usize(1..40)))
        }
        "Checkout" => {
            head.push(format!(
                "[INFO] @serverless-cd/checkout: cloning {}",
                c.repo_url
            ));
            head.push(format!("Cloning into '/tmp/{}'...", c.repo));
            tail.push(format!("Switched to {}", c.git_ref));
            tail.push(format!("HEAD is now at {short} {}", c.message));
            Box::new(|rng, k| {
                format!(
                    "remote: Receiving objects: {:>3}% ({}/{})",
                    (k * 7 + 3).min(100),
                    k * 31 + rng.usize(0..30),
                    1024
                )
            })
        }
        "Install" => {
            head.push("$ npm install".into());
            for (k, v) in c.inputs {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                head.push(format!("input {k}={v}"));
            }
            head.push(
                "[1/4] Resolving packages...\r[2/4] Fetching packages...\r[3/4] Linking dependencies...\r[4/4] Building fresh packages..."
                    .into(),
            );
            tail.push(format!(
                "added {} packages in {}s",
                200 + rng.usize(0..60),
                rng.usize(3..9)
            ));
            Box::new(|rng, k| {
                // The same packages in every task (what the log diff compares); the PRNG is
                // drawn from as before.
                let _ = rng.usize(0..9);
                format!(
                    "npm http fetch GET 200 https://registry.npmjs.org/pkg-{k}-{} {}ms",
                    k * 7 % 9,
                    rng.usize(5..300)
                )
            })
        }
        "Test" => {
            head.push("$ npm test".into());
            if c.test_fails || c.tolerant {
                tail.push("FAIL src/orders.test.js".into());
                tail.push("  ● orders › rejects an empty cart".into());
                tail.push("Tests: 1 failed, 41 passed, 42 total".into());
                tail.push("npm ERR! Test failed.  See above for more details.".into());
            } else {
                tail.push("Tests: 42 passed, 42 total".into());
            }
            Box::new(|rng, k| format!("PASS src/module{k}.test.js ({} ms)", rng.usize(4..400)))
        }
        "Deploy" => {
            head.push("$ s deploy --use-local -y".into());
            tail.push(format!("✔ {} deployed (fc.{})", c.repo, short));
            Box::new(|rng, k| {
                format!(
                    "[INFO] [S-CORE] - [{k}] uploading code package ... {}%",
                    rng.usize(0..100)
                )
            })
        }
        _ => {
            head.push("[INFO] @serverless-cd/ding-talk: preparing notification".into());
            tail.push(format!(
                "notification sent (task {})",
                if c.test_fails { "failure" } else { "success" }
            ));
            Box::new(|_, k| format!("[DEBUG] ding-talk retry window {k}"))
        }
    };
    let mut out = Vec::with_capacity(count);
    let fixed = head.len() + tail.len();
    let head_n = head.len().min(count);
    out.extend(head.into_iter().take(head_n));
    let fill = count.saturating_sub(fixed);
    for k in 0..fill {
        out.push(filler(rng, k));
    }
    let room = count - out.len();
    let skip = tail.len().saturating_sub(room);
    out.extend(tail.into_iter().skip(skip));
    out.into_iter().map(|l| sgr(rng, l)).collect()
}
