//! Aviator state: release projects, their RCs and environments, and deployments.
//!
//! A deployment started by the simulator carries a [`Plan`]; its status at a
//! simulated instant is a pure function of the plan and the elapsed time.
//! [`AvState::advance`] applies plans and demo activity lazily, in order, before
//! every request.

use serde_json::{Value, json};

use crate::sim::clock::NS_PER_SEC;

/// `pending` → `in_progress` after this.
pub(crate) const PENDING_NS: i64 = 2 * NS_PER_SEC;
/// `in_progress` → terminal this long after the start.
pub(crate) const FINISH_NS: i64 = 12 * NS_PER_SEC;
/// `canceling` → `canceled` after this.
pub(crate) const CANCEL_NS: i64 = 2 * NS_PER_SEC;
/// `trigger_build_workflow: true` marks the RC's build done this long after the cut.
pub(crate) const BUILD_NS: i64 = 20 * NS_PER_SEC;
/// Demo mode: a new RC deployed to a first environment this often.
pub(crate) const DEMO_EVERY_NS: i64 = 150 * NS_PER_SEC;

pub const HEALTH_CHECK_FAILED: &str = "Health check failed: 3/5 pods not ready";

/// Every status the PATCH route accepts (current A1 enum).
pub const STATUSES: &[&str] = &[
    "pending",
    "in_progress",
    "success",
    "failure",
    "canceling",
    "canceled",
    "error",
    "unknown",
];

const TERMINAL: &[&str] = &["success", "failure", "canceled", "error"];
const ACTIVE: &[&str] = &["pending", "in_progress", "canceling"];

/// One fixture environment.
#[derive(Debug, Clone, Copy)]
pub struct EnvSpec {
    pub name: &'static str,
    pub frozen: bool,
    /// Fixture deployments.
    pub history: usize,
}

/// One fixture release project.
#[derive(Debug, Clone, Copy)]
pub struct ProjectSpec {
    pub name: &'static str,
    pub repo: &'static str,
    /// RC separator: `-rc` or `.rc`.
    pub separator: &'static str,
    pub environments: &'static [EnvSpec],
}

/// The fixture catalog (contract §9 #2, #3).
pub const CATALOG: &[ProjectSpec] = &[
    ProjectSpec {
        name: "payments-api",
        repo: "acme/payments-api",
        separator: "-rc",
        environments: &[
            EnvSpec {
                name: "staging",
                frozen: false,
                history: 25,
            },
            EnvSpec {
                name: "canary",
                frozen: false,
                history: 8,
            },
            EnvSpec {
                name: "production",
                frozen: false,
                history: 14,
            },
        ],
    },
    ProjectSpec {
        name: "web-frontend",
        repo: "acme/web-frontend",
        separator: ".rc",
        environments: &[
            EnvSpec {
                name: "dogfood",
                frozen: false,
                history: 11,
            },
            EnvSpec {
                name: "production",
                frozen: true,
                history: 6,
            },
        ],
    },
    ProjectSpec {
        name: "data pipeline",
        repo: "acme/data-pipeline",
        separator: "-rc",
        environments: &[
            EnvSpec {
                name: "staging",
                frozen: false,
                history: 3,
            },
            EnvSpec {
                name: "production",
                frozen: false,
                history: 0,
            },
        ],
    },
];

/// `^[A-Za-z0-9][A-Za-z0-9._-]*?(?:-rc|\.rc)[1-9][0-9]*$`; returns the release
/// version (the part before the suffix) and the RC number.
pub fn parse_rc(v: &str) -> Option<(&str, u64)> {
    let digits_at = v.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let digits = &v[digits_at..];
    if digits.is_empty() || digits.starts_with('0') {
        return None;
    }
    let head = &v[..digits_at];
    let release = head
        .strip_suffix("-rc")
        .or_else(|| head.strip_suffix(".rc"))?;
    let mut chars = release.chars();
    let first = chars.next()?;
    if !first.is_ascii_alphanumeric()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return None;
    }
    // Numbers beyond u64 still match the pattern; only divisibility by 4 matters.
    let n = digits.parse::<u64>().unwrap_or_else(|_| {
        digits[digits.len().saturating_sub(2)..]
            .parse()
            .unwrap_or(1)
    });
    Some((release, n))
}

/// `7`–`40` hex digits.
pub(crate) fn valid_commit(c: &str) -> bool {
    (7..=40).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit())
}

/// RFC 3339, microseconds, `+00:00`.
pub fn fmt_time(ns: i64) -> String {
    let secs = ns.div_euclid(NS_PER_SEC);
    let micros = ns.rem_euclid(NS_PER_SEC) / 1_000;
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
}

/// CalVer release version of a day: `2026.03.02`.
fn calver(ns: i64) -> String {
    chrono::DateTime::from_timestamp(ns.div_euclid(NS_PER_SEC), 0)
        .unwrap_or_default()
        .format("%Y.%m.%d")
        .to_string()
}

/// A release candidate. Nothing over REST reads one back (there is no RC list);
/// the commit and build time are kept as the real service would keep them.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct Rc {
    pub version: String,
    pub commit: String,
    /// When the triggered build finished (`None`: no build was triggered).
    pub build_done_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Env {
    pub name: String,
    pub frozen: bool,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub repo: String,
    pub separator: &'static str,
    pub envs: Vec<Env>,
    pub rcs: Vec<Rc>,
}

impl Project {
    pub fn env(&self, name: &str) -> Option<&Env> {
        self.envs.iter().find(|e| e.name == name)
    }

    pub(crate) fn has_rc(&self, v: &str) -> bool {
        self.rcs.iter().any(|r| r.version == v)
    }
}

/// How a deployment moves on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Never (fixtures, PATCHed rows, terminal rows).
    Fixed,
    /// Started by the simulator: pending, in_progress after 2 s, terminal after 12 s.
    Run { fail: bool },
    /// `canceling` since `at`, `canceled` 2 s later.
    Cancel { at: i64 },
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: i64,
    pub project: usize,
    pub env: String,
    pub rc: String,
    pub release: String,
    pub from_rc: Option<String>,
    pub from_release: Option<String>,
    pub status: String,
    pub actor: Option<String>,
    pub start: i64,
    pub end: Option<i64>,
    pub error: Option<String>,
    pub plan: Plan,
}

impl Deployment {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "actor": self.actor,
            "deploy_start_at": fmt_time(self.start),
            "deploy_end_at": self.end.map(fmt_time),
            "environment_name": self.env,
            "error_message": self.error,
            "from_release_candidate_version": self.from_rc,
            "from_release_version": self.from_release,
            "release_candidate_version": self.rc,
            "release_version": self.release,
            "status": self.status,
        })
    }

    fn is_active(&self) -> bool {
        ACTIVE.contains(&self.status.as_str())
    }

    /// Status at `t` from the plan.
    fn settle(&mut self, t: i64) {
        match self.plan {
            Plan::Fixed => {}
            Plan::Run { fail } => {
                if t >= self.start + FINISH_NS {
                    self.end = Some(self.start + FINISH_NS);
                    if fail {
                        self.status = "failure".into();
                        self.error = Some(HEALTH_CHECK_FAILED.into());
                    } else {
                        self.status = "success".into();
                    }
                    self.plan = Plan::Fixed;
                } else if t >= self.start + PENDING_NS {
                    self.status = "in_progress".into();
                } else {
                    self.status = "pending".into();
                }
            }
            Plan::Cancel { at } => {
                if t >= at + CANCEL_NS {
                    self.status = "canceled".into();
                    self.end = Some(at + CANCEL_NS);
                    self.plan = Plan::Fixed;
                } else {
                    self.status = "canceling".into();
                }
            }
        }
    }
}

/// Why a request failed: status and the `error` text.
pub(crate) type Failure = (u16, &'static str);

pub const PROJECT_NOT_FOUND: Failure = (404, "Release project not found");
pub(crate) const ENV_NOT_FOUND: Failure = (404, "Release environment not found");
pub(crate) const RELEASE_NOT_FOUND: Failure = (404, "Release not found");
pub(crate) const INVALID_VERSION: Failure = (400, "Invalid release candidate version");
pub(crate) const INVALID_COMMIT: Failure = (400, "Invalid commit hash");
pub(crate) const REPO_NOT_FOUND: Failure = (404, "GitHub repository not found");
pub(crate) const RC_EXISTS: Failure = (400, "Release candidate already exists");
pub(crate) const FROZEN: Failure = (400, "Environment is frozen");
pub(crate) const NO_PREVIOUS: Failure = (404, "No previous deployment to roll back from");
pub(crate) const INVALID_STATUS: Failure = (400, "Invalid status");

#[derive(Debug)]
pub(crate) struct AvState {
    pub projects: Vec<Project>,
    pub deployments: Vec<Deployment>,
    next_id: i64,
    /// Time up to which plans and demo events have been applied.
    now: i64,
    demo: bool,
    next_demo: i64,
    demo_serial: usize,
    rng: fastrand::Rng,
}

impl AvState {
    /// Fixtures as of `start` (the simulator's start instant).
    pub fn new(seed: u64, start: i64, demo: bool) -> AvState {
        let mut rng = crate::sim::rng_for(seed, "aviator");
        let mut projects = Vec::new();
        let mut rows: Vec<Deployment> = Vec::new();
        for (pi, spec) in CATALOG.iter().enumerate() {
            let (project, mut deps) = fixture_project(&mut rng, pi, spec, start);
            projects.push(project);
            rows.append(&mut deps);
        }
        rows.sort_by_key(|d| d.start);
        let mut id = 9001;
        for d in &mut rows {
            d.id = id;
            id += 1 + i64::from(rng.u8(0..3));
        }
        AvState {
            projects,
            deployments: rows,
            next_id: id,
            now: start,
            demo,
            next_demo: start + DEMO_EVERY_NS,
            demo_serial: 0,
            rng,
        }
    }

    pub fn project(&self, name: &str) -> Result<usize, Failure> {
        self.projects
            .iter()
            .position(|p| p.name == name)
            .ok_or(PROJECT_NOT_FOUND)
    }

    pub fn env(&self, project: usize, name: &str) -> Result<&Env, Failure> {
        self.projects[project].env(name).ok_or(ENV_NOT_FOUND)
    }

    /// Applies plans and demo activity up to `now` (never backwards).
    pub fn advance(&mut self, now: i64) {
        if self.demo {
            // A long idle stretch (real clock) replays at most a few demo events.
            if now - self.next_demo > 4 * DEMO_EVERY_NS {
                let skip = (now - self.next_demo) / DEMO_EVERY_NS - 3;
                self.next_demo += skip * DEMO_EVERY_NS;
            }
            while self.next_demo <= now {
                let at = self.next_demo;
                self.next_demo += DEMO_EVERY_NS;
                self.settle(at);
                self.demo_event(at);
            }
        }
        self.settle(now);
    }

    fn settle(&mut self, t: i64) {
        let t = t.max(self.now);
        self.now = t;
        for d in &mut self.deployments {
            d.settle(t);
        }
    }

    /// Indices of one environment's deployments, newest `deploy_start_at` first
    /// (ties: newest id first).
    pub fn history(&self, project: usize, env: &str) -> Vec<usize> {
        let mut idx: Vec<usize> = self
            .deployments
            .iter()
            .enumerate()
            .filter(|(_, d)| d.project == project && d.env == env)
            .map(|(i, _)| i)
            .collect();
        idx.sort_by(|a, b| {
            let (a, b) = (&self.deployments[*a], &self.deployments[*b]);
            b.start.cmp(&a.start).then(b.id.cmp(&a.id))
        });
        idx
    }

    /// The environment's current RC: its newest `success`.
    fn current(&self, project: usize, env: &str) -> Option<(String, String)> {
        self.history(project, env)
            .into_iter()
            .map(|i| &self.deployments[i])
            .find(|d| d.status == "success")
            .map(|d| (d.rc.clone(), d.release.clone()))
    }

    fn push(
        &mut self,
        project: usize,
        env: &str,
        rc: &str,
        actor: Option<&str>,
        now: i64,
        plan: Plan,
    ) -> usize {
        let from = self.current(project, env);
        let release = parse_rc(rc).map(|(r, _)| r).unwrap_or(rc).to_string();
        let id = self.next_id;
        self.next_id += 1;
        let mut d = Deployment {
            id,
            project,
            env: env.to_string(),
            rc: rc.to_string(),
            release,
            from_rc: from.as_ref().map(|f| f.0.clone()),
            from_release: from.map(|f| f.1),
            status: "pending".to_string(),
            actor: actor.map(str::to_string),
            start: now,
            end: None,
            error: None,
            plan,
        };
        d.settle(now);
        self.deployments.push(d);
        self.deployments.len() - 1
    }

    /// `POST {P}/releases/<version>` (after the project lookup).
    pub fn create_release(
        &mut self,
        project: usize,
        version: &str,
        repo: Option<&str>,
        commit: Option<&str>,
        trigger_build: bool,
        now: i64,
    ) -> Result<(), Failure> {
        parse_rc(version).ok_or(INVALID_VERSION)?;
        let commit = commit.filter(|c| valid_commit(c)).ok_or(INVALID_COMMIT)?;
        let p = &mut self.projects[project];
        if repo != Some(p.repo.as_str()) {
            return Err(REPO_NOT_FOUND);
        }
        if p.has_rc(version) {
            return Err(RC_EXISTS);
        }
        p.rcs.push(Rc {
            version: version.to_string(),
            commit: commit.to_ascii_lowercase(),
            build_done_at: trigger_build.then_some(now + BUILD_NS),
        });
        Ok(())
    }

    /// `POST {E}/deployments` (after the project and environment lookups).
    pub fn deploy(
        &mut self,
        project: usize,
        env: &str,
        version: Option<&str>,
        actor: Option<&str>,
        now: i64,
    ) -> Result<(), Failure> {
        let version = version.ok_or(INVALID_VERSION)?;
        let (_, n) = parse_rc(version).ok_or(INVALID_VERSION)?;
        if !self.projects[project].has_rc(version) {
            return Err(RELEASE_NOT_FOUND);
        }
        if self.env(project, env)?.frozen {
            return Err(FROZEN);
        }
        for i in self.history(project, env) {
            let d = &mut self.deployments[i];
            if matches!(d.status.as_str(), "pending" | "in_progress") {
                d.plan = Plan::Cancel { at: now };
                d.status = "canceling".into();
                d.end = None;
            }
        }
        self.push(
            project,
            env,
            version,
            actor,
            now,
            Plan::Run { fail: n % 4 == 0 },
        );
        Ok(())
    }

    /// `PATCH {E}/deployments`: upsert the newest deployment of that RC.
    pub fn patch(
        &mut self,
        project: usize,
        env: &str,
        version: Option<&str>,
        status: Option<&str>,
        actor: Option<&str>,
        now: i64,
    ) -> Result<(), Failure> {
        let version = version.ok_or(INVALID_VERSION)?;
        parse_rc(version).ok_or(INVALID_VERSION)?;
        let status = status
            .and_then(|s| STATUSES.iter().find(|x| **x == s))
            .ok_or(INVALID_STATUS)?;
        if !self.projects[project].has_rc(version) {
            return Err(RELEASE_NOT_FOUND);
        }
        let existing = self
            .history(project, env)
            .into_iter()
            .find(|i| self.deployments[*i].rc == version);
        let i = match existing {
            Some(i) => i,
            // Created as reported; the status is set below.
            None => self.push(project, env, version, actor, now, Plan::Fixed),
        };
        let d = &mut self.deployments[i];
        d.plan = Plan::Fixed;
        d.status = (*status).to_string();
        d.end = TERMINAL.contains(status).then_some(now);
        Ok(())
    }

    /// `POST {E}/rollback` (contract §9 #9); returns the new row.
    pub fn rollback(
        &mut self,
        project: usize,
        env: &str,
        force: bool,
        actor: Option<&str>,
        now: i64,
    ) -> Result<Value, Failure> {
        if self.env(project, env)?.frozen && !force {
            return Err(FROZEN);
        }
        let hist = self.history(project, env);
        for &i in &hist {
            let d = &mut self.deployments[i];
            if d.is_active() {
                d.status = "canceled".into();
                d.end = Some(now);
                d.plan = Plan::Fixed;
            }
        }
        let last = hist
            .iter()
            .map(|i| &self.deployments[*i])
            .find(|d| matches!(d.status.as_str(), "success" | "failure" | "error"))
            .ok_or(NO_PREVIOUS)?;
        let target = if last.status == "success" {
            last.from_rc.clone().ok_or(NO_PREVIOUS)?
        } else {
            self.current(project, env).ok_or(NO_PREVIOUS)?.0
        };
        let fail = parse_rc(&target).is_some_and(|(_, n)| n % 4 == 0);
        let i = self.push(project, env, &target, actor, now, Plan::Run { fail });
        Ok(self.deployments[i].to_json())
    }

    /// Demo: the next RC of today's release of one project, deployed to its
    /// first environment by automation (`actor` null).
    fn demo_event(&mut self, at: i64) {
        let pi = self.demo_serial % self.projects.len();
        self.demo_serial += 1;
        let p = &self.projects[pi];
        let release = calver(at);
        let prefix = format!("{release}{}", p.separator);
        let n = p
            .rcs
            .iter()
            .filter_map(|r| r.version.strip_prefix(&prefix)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let version = format!("{prefix}{n}");
        let commit = hex(&mut self.rng, 40);
        let env = p.envs[0].name.clone();
        self.projects[pi].rcs.push(Rc {
            version: version.clone(),
            commit,
            build_done_at: Some(at),
        });
        let _ = self.deploy(pi, &env, Some(&version), None, at);
    }
}

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.usize(0..16)]))
        .collect()
}

const ACTORS: &[Option<&str>] = &[
    Some("alice@acme.test"),
    Some("bob@acme.test"),
    None,
    Some("carol@acme.test"),
    Some("alice@acme.test"),
];

/// One project's RCs and fixture deployments (ids assigned by the caller).
fn fixture_project(
    rng: &mut fastrand::Rng,
    pi: usize,
    spec: &ProjectSpec,
    start: i64,
) -> (Project, Vec<Deployment>) {
    const DAY: i64 = 86_400 * NS_PER_SEC;
    const HOUR: i64 = 3_600 * NS_PER_SEC;
    const MINUTE: i64 = 60 * NS_PER_SEC;
    let need_all = spec.environments.first().map_or(0, |e| e.history);
    let need_final = spec
        .environments
        .iter()
        .skip(1)
        .map(|e| e.history)
        .max()
        .unwrap_or(0);

    // Releases going back from four days before the start, 2–4 days apart.
    // Each: (cut instant of rc1, number of RCs); a release with rc4 fails in
    // the first environment and is followed by rc5.
    let mut releases: Vec<(i64, u64)> = Vec::new();
    let mut day = (start.div_euclid(DAY) - 4) * DAY;
    let (mut total, mut finals) = (0usize, 0usize);
    while total < need_all || finals < need_final || releases.is_empty() {
        let count = match rng.u8(0..10) {
            0..=3 => 1,
            4..=6 => 2,
            7 | 8 => 3,
            _ => 5,
        };
        let cut = day + 9 * HOUR + i64::from(rng.u16(0..120)) * MINUTE;
        releases.push((cut, count));
        total += count as usize;
        finals += 1;
        day -= i64::from(rng.u8(2..5)) * DAY;
    }
    releases.reverse();

    // (cut instant, version, number, final) in order.
    let mut rcs_t: Vec<(i64, String, u64, bool)> = Vec::new();
    for (cut, count) in &releases {
        let release = calver(*cut);
        for n in 1..=*count {
            let at = cut + (n as i64 - 1) * 3 * HOUR + i64::from(rng.u16(0..40)) * MINUTE;
            rcs_t.push((
                at,
                format!("{release}{}{n}", spec.separator),
                n,
                n == *count,
            ));
        }
    }
    let rcs: Vec<Rc> = rcs_t
        .iter()
        .map(|(at, v, _, _)| Rc {
            version: v.clone(),
            commit: hex(rng, 40),
            build_done_at: Some(at + BUILD_NS),
        })
        .collect();

    let micros = |rng: &mut fastrand::Rng| i64::from(rng.u32(0..1_000_000)) * 1_000;
    let mut deps = Vec::new();
    for (k, env) in spec.environments.iter().enumerate() {
        let chosen: Vec<&(i64, String, u64, bool)> = if k == 0 {
            let skip = rcs_t.len().saturating_sub(env.history);
            rcs_t.iter().skip(skip).collect()
        } else {
            let finals: Vec<_> = rcs_t.iter().filter(|r| r.3).collect();
            let skip = finals.len().saturating_sub(env.history);
            finals.into_iter().skip(skip).collect()
        };
        let mut current: Option<(String, String)> = None;
        for (at, version, n, _) in chosen {
            let delay = if k == 0 {
                i64::from(rng.u16(10..40)) * MINUTE
            } else {
                k as i64 * i64::from(rng.u8(4..20)) * HOUR
            };
            let begin = at + delay + micros(rng);
            let end = begin + i64::from(rng.u16(120..720)) * NS_PER_SEC + micros(rng);
            let fail = n % 4 == 0;
            let release = parse_rc(version).map_or(version.as_str(), |r| r.0);
            deps.push(Deployment {
                id: 0,
                project: pi,
                env: env.name.to_string(),
                rc: version.clone(),
                release: release.to_string(),
                from_rc: current.as_ref().map(|c| c.0.clone()),
                from_release: current.as_ref().map(|c| c.1.clone()),
                status: if fail { "failure" } else { "success" }.into(),
                actor: ACTORS[rng.usize(0..ACTORS.len())].map(str::to_string),
                start: begin,
                end: Some(end),
                error: fail.then(|| HEALTH_CHECK_FAILED.to_string()),
                plan: Plan::Fixed,
            });
            if !fail {
                current = Some((version.clone(), release.to_string()));
            }
        }
    }
    let project = Project {
        name: spec.name.to_string(),
        repo: spec.repo.to_string(),
        separator: spec.separator,
        envs: spec
            .environments
            .iter()
            .map(|e| Env {
                name: e.name.to_string(),
                frozen: e.frozen,
            })
            .collect(),
        rcs,
    };
    (project, deps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::MANUAL_EPOCH_NS;

    #[test]
    fn version_pattern() {
        assert_eq!(parse_rc("2026.03.02-rc4"), Some(("2026.03.02", 4)));
        assert_eq!(parse_rc("2024.06.20.rc1"), Some(("2024.06.20", 1)));
        assert_eq!(parse_rc("v1_2-x-rc10"), Some(("v1_2-x", 10)));
        for bad in [
            "1.2.3", "-rc1", ".rc1", "x-rc0", "x-rc01", "x-RC1", "a b-rc1", "_a-rc1", "x-rc",
        ] {
            assert_eq!(parse_rc(bad), None, "{bad}");
        }
    }

    #[test]
    fn commits_and_times() {
        assert!(valid_commit("4e1f9a7"));
        assert!(!valid_commit("4e1f9a"));
        assert!(!valid_commit("zzzzzzzz"));
        assert!(!valid_commit(&"a".repeat(41)));
        assert_eq!(
            fmt_time(MANUAL_EPOCH_NS + 512_331_000),
            "2026-01-01T10:00:00.512331+00:00"
        );
    }

    #[test]
    fn fixtures_have_the_documented_counts_and_consistent_from() {
        let st = AvState::new(1, MANUAL_EPOCH_NS, false);
        for (pi, spec) in CATALOG.iter().enumerate() {
            for env in spec.environments {
                let h = st.history(pi, env.name);
                assert_eq!(h.len(), env.history, "{} {}", spec.name, env.name);
                for i in h {
                    let d = &st.deployments[i];
                    assert!(d.start < MANUAL_EPOCH_NS);
                    assert!(st.projects[pi].has_rc(&d.rc));
                    assert!(d.rc.contains(spec.separator), "{}", d.rc);
                }
            }
        }
    }
}
