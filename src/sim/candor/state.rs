//! Dashboard state (`candor.md` §5, §7, §9): users, sessions, fixture pipelines with their run
//! history, the pipelines' running flags, and the runner's runs. Time-driven changes (a run
//! finishing, the demo's periodic trigger) are applied lazily by [`State::advance`].

use std::collections::HashMap;

use serde_json::{Value, json};

use super::runner_engine::{self, Outcome, Plan, RunnerRun, StageResult};
use crate::sim::clock::{NS_PER_MS, NS_PER_SEC};
use crate::sim::rng_for;

/// Demo: a trigger on a random assigned pipeline every 45 s.
pub(crate) const DEMO_TRIGGER_EVERY_NS: i64 = 45 * NS_PER_SEC;
/// The runner's bearer token.
pub const RUNNER_TOKEN: &str = "runner-demo-token";
/// Login cookie lifetime without `token_ttl` (30 days).
pub(crate) const COOKIE_MAX_AGE_SECS: i64 = 2_592_000;
/// Pipeline whose second newest run's log was deleted on the runner.
pub const DELETED_LOG_PIPELINE: i64 = 1;

#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub name: &'static str,
    pub password: &'static str,
}

pub(crate) const USERS: &[User] = &[
    User {
        id: 1,
        name: "demouser",
        password: "demouser",
    },
    User {
        id: 2,
        name: "viewer",
        password: "viewer",
    },
];

#[derive(Clone, Debug)]
pub struct Run {
    pub id: String,
    pub start: i64,
    pub finish: i64,
    pub status: &'static str,
    /// Empty: the run failed inside the runner before any stage (§11 R3).
    pub stages: Vec<StageResult>,
    pub archived: Vec<String>,
}

impl Run {
    /// A `lastRuns` entry: `stages` and `archived` always present, `[]` when empty (§11 R3).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "start": self.start / NS_PER_MS,
            "finish": self.finish / NS_PER_MS,
            "status": self.status,
            "stages": self.stages.iter().map(StageResult::to_json).collect::<Vec<_>>(),
            "archived": self.archived,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Pipeline {
    pub id: i64,
    pub name: String,
    pub public: bool,
    /// User ids.
    pub assignees: Vec<i64>,
    /// The PipelineConfig as stored.
    pub config: Value,
    pub token: String,
    /// Oldest first.
    pub runs: Vec<Run>,
    /// Dashboard run in progress: `(run id, started)`; its record appears at the end.
    pub running: Option<(String, i64)>,
}

impl Pipeline {
    pub fn assigned(&self, user: Option<i64>) -> bool {
        user.is_some_and(|u| self.assignees.contains(&u))
    }

    pub(crate) fn can_inspect(&self, user: Option<i64>) -> bool {
        self.public || self.assigned(user)
    }

    /// The run `last` names: greatest `start`.
    pub(crate) fn find_run(&self, id: &str) -> Option<&Run> {
        if id == "last" {
            self.runs.iter().max_by_key(|r| r.start)
        } else {
            self.runs.iter().find(|r| r.id == id)
        }
    }

    /// Newest `finish` first, at most `n`.
    pub(crate) fn last_runs(&self, n: usize) -> Vec<&Run> {
        let mut v: Vec<&Run> = self.runs.iter().collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.finish));
        v.truncate(n);
        v
    }

    /// The detail (D7) as `user` sees it.
    pub(crate) fn detail_json(&self, user: Option<i64>) -> Value {
        let assigned = self.assigned(user);
        let params: Vec<String> = self
            .config
            .get("parameters")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let assignees: Vec<&str> = self
            .assignees
            .iter()
            .filter_map(|a| USERS.iter().find(|u| u.id == *a).map(|u| u.name))
            .collect();
        json!({
            "assigned": assigned,
            "id": self.id,
            "name": self.name,
            "running": self.running.is_some(),
            "public": self.public,
            "lastRuns": self.last_runs(5).into_iter().map(Run::to_json).collect::<Vec<_>>(),
            "trigger": if assigned { self.token.as_str() } else { "hidden" },
            "assignees": assignees,
            "requiredParameters": params,
        })
    }

    /// The list entry (D7): keys of the last finished run, absent when never run; `stages`
    /// absent for a run that failed before any stage (§11 R3).
    pub(crate) fn entry_json(&self) -> Value {
        let mut v = json!({"id": self.id, "name": self.name});
        if let Some(last) = self.runs.iter().max_by_key(|r| r.finish) {
            v["status"] = json!(last.status);
            if !last.stages.is_empty() {
                v["stages"] = json!(last.stages.iter().map(|s| s.status).collect::<Vec<_>>());
            }
        }
        let last_of = |status: &str| {
            self.runs
                .iter()
                .filter(|r| r.status == status)
                .map(|r| r.finish / NS_PER_MS)
                .max()
        };
        if let Some(t) = last_of("Passed") {
            v["lastSuccess"] = json!(t);
        }
        if let Some(t) = last_of("Failed") {
            v["lastFailure"] = json!(t);
        }
        v
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub user: i64,
    pub issued: i64,
}

/// Switches of the simulator (`PUT /__sim/candor/options`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// `"cookie"` (code behaviour, default) or `"token"` (the wiki's reading).
    pub trigger_auth_token_only: bool,
    /// Also serve `/archive` and `POST /logs/:runId`.
    pub wiki_routes: bool,
    /// The runner checks its bearer token (400 without one, 401 for a wrong one). Off by
    /// default: the real runner's check never matches (§11 R6).
    pub runner_checks_token: bool,
}

pub struct State {
    pub seed: u64,
    pub pipelines: Vec<Pipeline>,
    pub sessions: HashMap<String, Session>,
    pub runner: HashMap<String, RunnerRun>,
    pub rng: fastrand::Rng,
    pub demo: bool,
    pub next_demo: i64,
    pub options: Options,
}

fn stage(name: &str, image: &str, script: &[&str]) -> Value {
    json!({"name": name, "image": image, "script": script})
}

fn fixture_configs() -> Vec<(i64, &'static str, bool, bool, Value)> {
    // (id, name, public, assigned to demouser, config)
    vec![
        (
            1,
            "lint",
            true,
            false,
            json!({"stages": [stage("lint", "node:20-alpine", &["npm ci", "npm run lint"])]}),
        ),
        (
            2,
            "web-build",
            true,
            true,
            json!({
                "stages": [
                    stage("install", "node:20-alpine", &["npm ci"]),
                    stage("test", "node:20-alpine", &["npm test -- --coverage"]),
                    stage("package", "node:20-alpine", &["npm run build", "tar czf dist/dist.tar.gz build"]),
                ],
                "archive": ["dist/dist.tar.gz", "reports/coverage.xml"],
            }),
        ),
        (
            3,
            "integration",
            true,
            true,
            json!({"stages": [
                stage("setup", "postgres:16", &["./scripts/db-up.sh"]),
                stage("test", "node:20-alpine", &["npm run test:integration", "exit 1"]),
                stage("teardown", "postgres:16", &["./scripts/db-down.sh"]),
            ]}),
        ),
        (
            4,
            "hello-world",
            true,
            false,
            json!({"stages": [stage("hello", "alpine:3.20", &["echo hello world"])]}),
        ),
        (
            5,
            "deploy-prod",
            false,
            true,
            json!({
                "stages": [
                    stage("build", "golang:1.22", &["go build ./..."]),
                    stage("deploy", "alpine:3.20", &["./deploy.sh production"]),
                ],
                "constrainHeaders": {"X-Deploy-Key": "letmein"},
            }),
        ),
        (
            6,
            "release-notes",
            false,
            true,
            json!({
                "stages": [stage("notes %VERSION%", "alpine:3.20", &["echo building %BRANCH%"])],
                "parameters": {"BRANCH": ".ref", "VERSION": null},
            }),
        ),
        (
            7,
            "nightly-e2e",
            false,
            true,
            json!({"stages": [
                stage("build", "node:20-alpine", &["npm ci", "npm run build"]),
                stage("serve", "node:20-alpine", &["npm run serve:check"]),
                stage("e2e", "cypress/included:13", &["npx cypress run", "sleep 7200"]),
            ]}),
        ),
        (
            8,
            "gpu-bench",
            false,
            false,
            json!({"stages": [{"name": "bench", "image": "nvidia/cuda:12.4.1-base", "runtime": "nvidia", "script": ["./bench"]}]}),
        ),
        (
            9,
            "docs",
            false,
            false,
            json!({"stages": [stage("docs", "python:3.12", &["mkdocs build"])]}),
        ),
    ]
}

/// A fresh hex id of `bytes` random bytes.
pub(crate) fn hex_id(rng: &mut fastrand::Rng, bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rng.u8(..))).collect()
}

impl State {
    pub fn new(seed: u64, start: i64, demo: bool) -> State {
        let mut rng = rng_for(seed, "candor");
        let mut runner = HashMap::new();
        let mut pipelines = Vec::new();
        for (id, name, public, assigned, config) in fixture_configs() {
            let token = hex_id(&mut rng, 16);
            // A fixture that does not parse keeps no runs (`every_fixture_config_parses`).
            let plan = runner_engine::parse_plan(&config);
            let count = match id {
                4 => 0,
                1 => 15,
                _ => rng.usize(3..=12),
            };
            let flaky = matches!(id, 1 | 2);
            let mut runs = Vec::new();
            let mut at = start - rng.i64(10..120) * 60 * NS_PER_SEC;
            for (k, plan) in (0..count).filter_map(|k| Some((k, plan.as_ref()?))) {
                let run_id = hex_id(&mut rng, 4);
                // The newest run of a flaky pipeline passes; older ones fail 30 % of the time.
                let fail =
                    (flaky && k > 0 && rng.f64() < 0.3).then(|| rng.usize(..plan.stages.len()));
                let mut r = runner_engine::simulate(seed, &run_id, plan, at, fail);
                if id == DELETED_LOG_PIPELINE && k == 1 {
                    r.deleted = true;
                }
                runs.push(Run {
                    id: run_id.clone(),
                    start: r.start,
                    finish: r.end,
                    status: r.outcome.status,
                    stages: r.outcome.stages.clone(),
                    archived: r.outcome.archived.clone(),
                });
                runner.insert(run_id, r);
                at -= rng.i64(60..360) * 60 * NS_PER_SEC;
            }
            runs.reverse();
            pipelines.push(Pipeline {
                id,
                name: name.to_string(),
                public,
                assignees: if assigned { vec![1] } else { Vec::new() },
                config,
                token,
                runs,
                running: None,
            });
        }
        State {
            seed,
            pipelines,
            sessions: HashMap::new(),
            runner,
            rng: rng_for(seed, "candor.live"),
            demo,
            next_demo: start + DEMO_TRIGGER_EVERY_NS,
            options: Options::default(),
        }
    }

    pub fn pipeline(&self, id: i64) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id)
    }

    /// Apply every run end and demo trigger up to `now`, in time order.
    pub fn advance(&mut self, now: i64, runner_down: bool) {
        if self.demo {
            while self.next_demo <= now {
                let at = self.next_demo;
                self.next_demo += DEMO_TRIGGER_EVERY_NS;
                self.settle(at);
                let candidates: Vec<i64> = self
                    .pipelines
                    .iter()
                    .filter(|p| p.assignees.contains(&1) && p.running.is_none())
                    .map(|p| p.id)
                    .collect();
                if !candidates.is_empty() {
                    let pick = candidates[self.rng.usize(..candidates.len())];
                    self.start_run(pick, &HashMap::new(), at, runner_down);
                }
            }
        }
        self.settle(now);
    }

    /// Record the runs that ended by `now` and clear their running flags.
    fn settle(&mut self, now: i64) {
        for p in &mut self.pipelines {
            let Some((run_id, started)) = p.running.clone() else {
                continue;
            };
            let Some(r) = self.runner.get(&run_id) else {
                p.running = None;
                continue;
            };
            if !r.finished(now) {
                continue;
            }
            p.runs.push(Run {
                id: run_id,
                start: started,
                finish: r.end,
                status: r.outcome.status,
                stages: r.outcome.stages.clone(),
                archived: r.outcome.archived.clone(),
            });
            p.running = None;
        }
    }

    /// The trigger's "start" (D12): a run id, the running flag, the runner's run. With the
    /// runner down a synthetic `Get Runner` failure is recorded at once (§11 R8): such a run
    /// has no runner log.
    pub(crate) fn start_run(
        &mut self,
        pid: i64,
        params: &HashMap<String, String>,
        now: i64,
        runner_down: bool,
    ) {
        let run_id = loop {
            let id = hex_id(&mut self.rng, 4);
            if !self.runner.contains_key(&id) {
                break id;
            }
        };
        let seed = self.seed;
        let Some(p) = self.pipelines.iter_mut().find(|p| p.id == pid) else {
            return;
        };
        if runner_down {
            p.runs.push(Run {
                id: run_id,
                start: now,
                finish: now,
                status: "Failed",
                stages: vec![StageResult {
                    name: "Get Runner".into(),
                    status: "Failed",
                    exit_code: -1,
                }],
                archived: Vec::new(),
            });
            return;
        }
        let config = substitute(&p.config, params);
        let Some(plan) = runner_engine::parse_plan(&config) else {
            p.runs.push(Run {
                id: run_id,
                start: now,
                finish: now,
                status: "Failed",
                stages: vec![StageResult {
                    name: "Error 400".into(),
                    status: "Failed",
                    exit_code: -1,
                }],
                archived: Vec::new(),
            });
            return;
        };
        let r = runner_engine::simulate(seed, &run_id, &plan, now, None);
        p.running = Some((run_id.clone(), now));
        self.runner.insert(run_id, r);
    }

    /// An ad-hoc run on the runner (`POST /run`).
    pub fn runner_run(&mut self, id: Option<String>, plan: &Plan, now: i64) -> (String, i64) {
        let id = id.unwrap_or_else(|| {
            loop {
                let id = hex_id(&mut self.rng, 6);
                if !self.runner.contains_key(&id) {
                    break id;
                }
            }
        });
        let r = runner_engine::simulate(self.seed, &id, plan, now, None);
        let end = r.end;
        self.runner.insert(id.clone(), r);
        (id, end)
    }

    pub fn outcome(&self, id: &str) -> Option<Outcome> {
        self.runner.get(id).map(|r| r.outcome.clone())
    }
}

/// `%name%` substituted into every stage's `name`, `image`, `runtime`, `environment[]`,
/// `script[]` (§5 trigger details).
pub(crate) fn substitute(config: &Value, params: &HashMap<String, String>) -> Value {
    let sub = |s: &str| -> String {
        let mut out = s.to_string();
        for (k, v) in params {
            out = out.replace(&format!("%{k}%"), v);
        }
        out
    };
    let mut c = config.clone();
    if let Some(stages) = c.get_mut("stages").and_then(Value::as_array_mut) {
        for st in stages {
            for key in ["name", "image", "runtime"] {
                if let Some(Value::String(s)) = st.get_mut(key) {
                    *s = sub(s);
                }
            }
            for key in ["environment", "script"] {
                if let Some(Value::Array(a)) = st.get_mut(key) {
                    for x in a {
                        if let Value::String(s) = x {
                            *s = sub(s);
                        }
                    }
                }
            }
        }
    }
    c
}

/// The JSPath subset of the simulator: `.a.b`, `.a[0]`, `.` (the whole body). Returns the
/// matches (0 or 1).
pub(crate) fn jspath(body: &Value, path: &str) -> Vec<Value> {
    let mut cur = body;
    let mut rest = path.trim();
    if !rest.starts_with('.') {
        return Vec::new();
    }
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            rest = &r[end..];
            if key.is_empty() {
                continue;
            }
            match cur.get(key) {
                Some(v) => cur = v,
                None => return Vec::new(),
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.find(']') else {
                return Vec::new();
            };
            let Ok(i) = r[..close].trim().parse::<usize>() else {
                return Vec::new();
            };
            rest = &r[close + 1..];
            match cur.get(i) {
                Some(v) => cur = v,
                None => return Vec::new(),
            }
        } else {
            return Vec::new();
        }
    }
    vec![cur.clone()]
}

/// JSPath match → parameter value (strings as they are, anything else as JSON).
pub(crate) fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
}

/// The PipelineConfig schema (D14, §5).
pub(crate) fn valid_config(v: &Value) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    let allowed = [
        "stages",
        "archive",
        "parameters",
        "constrainHeaders",
        "constrainBody",
    ];
    if obj.keys().any(|k| !allowed.contains(&k.as_str())) {
        return false;
    }
    let Some(stages) = obj.get("stages").and_then(Value::as_array) else {
        return false;
    };
    let stage_keys = ["name", "image", "runtime", "environment", "script"];
    for s in stages {
        let Some(so) = s.as_object() else {
            return false;
        };
        if so.keys().any(|k| !stage_keys.contains(&k.as_str())) {
            return false;
        }
    }
    if runner_engine::parse_plan(v).is_none() {
        return false;
    }
    let strings = |x: &Value| x.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    if let Some(a) = obj.get("archive")
        && !strings(a)
    {
        return false;
    }
    if let Some(p) = obj.get("parameters") {
        let Some(p) = p.as_object() else { return false };
        if p.iter()
            .any(|(k, v)| !name_ok(k) || !(v.is_null() || v.is_string()))
        {
            return false;
        }
    }
    if let Some(h) = obj.get("constrainHeaders") {
        let Some(h) = h.as_object() else { return false };
        if h.iter()
            .any(|(k, v)| !name_ok(k) || !(v.is_string() || strings(v)))
        {
            return false;
        }
    }
    if let Some(b) = obj.get("constrainBody") {
        let Some(b) = b.as_object() else { return false };
        if b.values().any(|v| !v.is_array()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jspath_subset() {
        let b = json!({"ref": "main", "a": {"b": [1, {"c": "x"}]}});
        assert_eq!(jspath(&b, ".ref"), vec![json!("main")]);
        assert_eq!(jspath(&b, ".a.b[1].c"), vec![json!("x")]);
        assert_eq!(jspath(&b, ".a.b[0]"), vec![json!(1)]);
        assert!(jspath(&b, ".nope").is_empty());
    }

    #[test]
    fn every_fixture_config_parses() {
        for (id, name, _, _, config) in fixture_configs() {
            assert!(
                runner_engine::parse_plan(&config).is_some(),
                "pipeline {id} {name}"
            );
        }
    }

    #[test]
    fn fixtures_follow_the_decisions() {
        let st = State::new(1, 1_000 * NS_PER_SEC * 1_000_000, false);
        assert_eq!(st.pipelines.len(), 9);
        assert!(st.pipeline(4).unwrap().runs.is_empty());
        for p in &st.pipelines {
            assert!(valid_config(&p.config), "{}", p.name);
        }
        let e2e = st.pipeline(7).unwrap();
        assert!(e2e.runs.iter().all(|r| r.stages[2].exit_code == -3));
        let gpu = st.pipeline(8).unwrap();
        assert!(gpu.runs.iter().all(|r| r.status == "Error"));
    }
}
