//! Free Commit state: entities, run plans, the 5 s scheduler and persistence.
//!
//! A run's whole future (steps, lines with their offsets, outcome) is drawn
//! from the PRNG when it is launched (a [`Plan`]); what a client observes at a
//! simulated instant is a pure function of that plan and the elapsed time.
//! Scheduler ticks, process ends and demo launches are applied lazily, in
//! chronological order, by [`FcState::advance`] before every request.

use std::collections::BTreeMap;

use super::super::clock::{NS_PER_MS, NS_PER_SEC};

pub(crate) const TICK_NS: i64 = 5 * NS_PER_SEC;
pub(crate) const MAX_PARALLEL_EXECUTOR: usize = 2;
pub(crate) const START_SPACING_NS: i64 = 250 * NS_PER_MS;
pub(crate) const DEMO_LAUNCH_EVERY_NS: i64 = 25 * NS_PER_SEC;
/// Kill of a running build: the procedure takes 1.5 s before the 204.
pub(crate) const KILL_DELAY_NS: i64 = 1_500 * NS_PER_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Ok,
    Flaky,
    Broken,
    Slow,
    Serial,
    /// `@build` prints tens of thousands of lines quickly (log-viewer benchmark).
    HugeLog,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub repository: String,
    pub branch: String,
    pub spec_file_path: String,
    pub keep_number_build: Option<i64>,
    pub allow_concurrent_execution: bool,
    pub signature_key: String,
    pub available_steps: Vec<String>,
    pub repository_credential_id: Option<i64>,
    pub secrets_id: Vec<i64>,
    pub developers_id: Vec<i64>,
    pub executor_id: Option<i64>,
    pub profile: Profile,
    /// Spec steps without `@`, in order (`@cleanup` excluded).
    pub spec_steps: Vec<&'static str>,
    pub launches: u64,
}

#[derive(Debug, Clone)]
pub struct Developer {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub password: String,
    pub enabled: bool,
    pub roles: Vec<String>,
    pub email: Option<String>,
    pub github_username: Option<String>,
    pub gitlab_username: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub id: i64,
    pub name: String,
    pub value: String,
    pub escape_char: Option<String>,
    pub env: Option<String>,
    pub projects_id: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct Credential {
    pub id: i64,
    pub name: String,
    pub ssh_key: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Executor {
    pub id: i64,
    pub name: String,
    pub driver: String,
    pub variables: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct Log {
    pub id: i64,
    pub step: String,
    pub log: Option<String>,
    pub build_id: i64,
    pub start_at: i64,
    pub closed_at: Option<i64>,
    pub success: Option<bool>,
    pub skipped: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Build {
    pub id: i64,
    pub output: Option<String>,
    pub exit_code: i64,
    pub exit_message: Option<String>,
    pub created_at: i64,
    pub completed_at: i64,
    pub project_id: i64,
    pub logs: Vec<Log>,
}

/// One step of a plan; offsets are relative to the run start.
#[derive(Debug, Clone)]
pub(crate) struct PlanStep {
    pub name: String,
    pub start: i64,
    pub end: i64,
    /// (offset, text), offsets non-decreasing and within `start..=end`.
    pub lines: Vec<(i64, String)>,
    /// Value of `success` once closed.
    pub success: Option<bool>,
    /// Value of `skipped` once closed.
    pub skipped: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<PlanStep>,
    /// Process end, relative to the run start.
    pub end: i64,
    pub exit_code: i64,
    pub exit_message: Option<String>,
    pub output: Option<String>,
}

impl Plan {
    /// The container exists from the first spec step on (§9 #12).
    pub(crate) fn container_from(&self) -> Option<i64> {
        self.steps.get(1).map(|s| s.start)
    }

    /// Applies a kill at relative time `at`; the process ends at `at + delay`.
    pub fn kill(&mut self, at: i64, delay: i64) {
        self.steps.retain(|s| s.start <= at);
        for s in &mut self.steps {
            if s.end > at {
                s.end = at;
                s.success = Some(false);
                s.skipped = Some(false);
                let keep = s.lines.partition_point(|(o, _)| *o <= at);
                s.lines.truncate(keep);
            }
        }
        self.steps.push(PlanStep {
            name: "abort".into(),
            start: at,
            end: at + delay,
            lines: vec![(at, "[WARNING] Container killed".into())],
            success: Some(false),
            skipped: Some(false),
        });
        self.end = at + delay;
        self.exit_code = 143;
        self.exit_message = Some("Deployment aborted by user".into());
        self.output = Some("[WARNING] Container killed".into());
    }
}

/// What a step looks like at one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepView<'a> {
    pub step: &'a PlanStep,
    /// Lines printed so far.
    pub n: usize,
    pub start_at: i64,
    pub closed_at: Option<i64>,
    pub success: Option<bool>,
    pub skipped: Option<bool>,
}

impl<'a> StepView<'a> {
    pub fn lines(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.step.lines[..self.n].iter().map(|(_, l)| l.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Run {
    pub uuid: String,
    pub project_id: i64,
    pub project_name: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub plan: Plan,
    pub killed: bool,
    pub persisted: bool,
}

impl Run {
    /// Steps visible at absolute time `now` (empty before the start).
    pub(crate) fn view(&self, now: i64) -> Vec<StepView<'_>> {
        let Some(started) = self.started_at else {
            return Vec::new();
        };
        let rel = now - started;
        self.plan
            .steps
            .iter()
            .filter(|s| s.start <= rel)
            .map(|s| {
                let closed = s.end <= rel;
                StepView {
                    step: s,
                    n: s.lines.partition_point(|(o, _)| *o <= rel),
                    start_at: started + s.start,
                    closed_at: closed.then_some(started + s.end),
                    success: if closed { s.success } else { None },
                    skipped: if closed { s.skipped } else { None },
                }
            })
            .collect()
    }

    pub(crate) fn end_abs(&self) -> Option<i64> {
        self.started_at.map(|s| s + self.plan.end)
    }
}

#[derive(Debug)]
pub(crate) struct FcState {
    pub projects: BTreeMap<i64, Project>,
    pub developers: BTreeMap<i64, Developer>,
    pub secrets: BTreeMap<i64, Secret>,
    pub credentials: BTreeMap<i64, Credential>,
    pub executors: BTreeMap<i64, Executor>,
    pub builds: BTreeMap<i64, Build>,
    pub next_build_id: i64,
    pub next_log_id: i64,
    pub queue: Vec<Run>,
    pub running: Vec<Run>,
    /// Last scheduler tick applied (absolute ns).
    pub last_tick: i64,
    pub next_demo: i64,
    pub demo: bool,
    pub kill_delay: i64,
    pub rng: fastrand::Rng,
    /// Pagination COUNT cache: query text → (count, computed at).
    pub count_cache: BTreeMap<String, (usize, i64)>,
}

impl FcState {
    /// Member check for launch (admins bypass it).
    pub(crate) fn is_member(&self, project_id: i64, developer_id: i64) -> bool {
        self.projects
            .get(&project_id)
            .is_some_and(|p| p.developers_id.contains(&developer_id))
    }

    pub(crate) fn developer_by_username(&self, name: &str) -> Option<&Developer> {
        self.developers.values().find(|d| d.username == name)
    }

    pub(crate) fn developer_by_user_id(&self, user_id: i64) -> Option<&Developer> {
        self.developers.values().find(|d| d.user_id == user_id)
    }

    pub(crate) fn builds_of(&self, project_id: i64) -> impl Iterator<Item = &Build> {
        self.builds
            .values()
            .filter(move |b| b.project_id == project_id)
    }

    pub fn last_build(&self, project_id: i64) -> Option<&Build> {
        self.builds_of(project_id).last()
    }

    pub fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        for x in &mut b {
            *x = self.rng.u8(..);
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Queues a run of `project_id` at `now`; returns (project name, run UUID), `None` for an
    /// unknown project.
    pub fn launch(
        &mut self,
        project_id: i64,
        ignore_steps: &[String],
        now: i64,
    ) -> Option<(String, String)> {
        let uuid = self.uuid();
        let project = self.projects.get_mut(&project_id)?;
        project.launches += 1;
        let fail_test = project.profile == Profile::Flaky && project.launches % 3 == 0;
        let ignored: Vec<&'static str> = project
            .spec_steps
            .iter()
            .copied()
            .filter(|s| {
                let at = format!("@{s}");
                project.available_steps.contains(&at) && ignore_steps.contains(&at)
            })
            .collect();
        let project = project.clone();
        let outcome = if fail_test {
            Outcome::FailAt("test")
        } else {
            Outcome::Natural
        };
        let plan = super::fixtures::gen_plan(&mut self.rng, &project, &ignored, outcome);
        let name = project.name.clone();
        self.queue.push(Run {
            uuid: uuid.clone(),
            project_id,
            project_name: name.clone(),
            created_at: now,
            started_at: None,
            plan,
            killed: false,
            persisted: false,
        });
        Some((name, uuid))
    }

    /// Applies every event (process ends, scheduler ticks, demo launches) up to `now`.
    pub fn advance(&mut self, now: i64) {
        loop {
            let next_tick = self.last_tick + TICK_NS;
            let next_end = self
                .running
                .iter()
                .filter(|r| !r.persisted)
                .filter_map(|r| r.end_abs().map(|e| (e, r.uuid.clone())))
                .min_by_key(|(e, _)| *e);
            let next_demo = if self.demo { self.next_demo } else { i64::MAX };
            if let Some((end, uuid)) = next_end
                && end <= now
                && end <= next_tick
                && end <= next_demo
            {
                self.persist(&uuid);
                continue;
            }
            if next_demo <= now && next_demo <= next_tick {
                self.next_demo += DEMO_LAUNCH_EVERY_NS;
                self.demo_launch(next_demo);
                continue;
            }
            if next_tick <= now {
                self.last_tick = next_tick;
                self.tick(next_tick);
                continue;
            }
            break;
        }
    }

    fn demo_launch(&mut self, at: i64) {
        let candidates: Vec<i64> = self
            .projects
            .values()
            .filter(|p| p.profile != Profile::HugeLog)
            .map(|p| p.id)
            .collect();
        if candidates.is_empty() {
            return;
        }
        let id = candidates[self.rng.usize(..candidates.len())];
        let _ = self.launch(id, &[], at);
    }

    /// One scheduler tick (§7.1 #2).
    fn tick(&mut self, at: i64) {
        self.running.retain(|r| !r.persisted);
        let mut started = 0i64;
        let mut i = 0;
        while i < self.queue.len() && self.running.len() < MAX_PARALLEL_EXECUTOR {
            let pid = self.queue[i].project_id;
            let serial = self
                .projects
                .get(&pid)
                .is_some_and(|p| !p.allow_concurrent_execution);
            if serial && self.running.iter().any(|r| r.project_id == pid) {
                i += 1;
                continue;
            }
            let mut run = self.queue.remove(i);
            run.started_at = Some(at + started * START_SPACING_NS);
            started += 1;
            self.running.push(run);
        }
    }

    /// Writes the Build row and step Logs of a finished run.
    fn persist(&mut self, uuid: &str) {
        let Some(run) = self.running.iter_mut().find(|r| r.uuid == uuid) else {
            return;
        };
        run.persisted = true;
        let run = run.clone();
        let started = run.started_at.unwrap_or(run.created_at);
        self.store_build(run.project_id, &run.plan, run.created_at, started);
    }

    /// Writes the Build row and step Logs of a run of `plan` created at `created` and started
    /// at `started`, learns the project's steps from it and applies the retention.
    pub(super) fn store_build(&mut self, project_id: i64, plan: &Plan, created: i64, started: i64) {
        let id = self.next_build_id;
        self.next_build_id += 1;
        let mut logs = Vec::new();
        for s in &plan.steps {
            logs.push(Log {
                id: self.next_log_id,
                step: s.name.clone(),
                log: join_lines(s.lines.iter().map(|(_, l)| l.as_str())),
                build_id: id,
                start_at: started + s.start,
                closed_at: Some(started + s.end),
                success: s.success,
                skipped: s.skipped,
            });
            self.next_log_id += 1;
        }
        self.builds.insert(
            id,
            Build {
                id,
                output: plan.output.clone(),
                exit_code: plan.exit_code,
                exit_message: plan.exit_message.clone(),
                created_at: created,
                completed_at: started + plan.end,
                project_id,
                logs,
            },
        );
        if let Some(p) = self.projects.get_mut(&project_id) {
            // Known once a build has parsed the spec (broken builds never do).
            if p.available_steps.is_empty() && !plan.steps.is_empty() {
                p.available_steps = p
                    .spec_steps
                    .iter()
                    .map(|s| format!("@{s}"))
                    .chain(std::iter::once("@cleanup".to_string()))
                    .collect();
            }
            let keep = p.keep_number_build;
            self.apply_retention(project_id, keep);
        }
    }

    pub(crate) fn apply_retention(&mut self, project_id: i64, keep: Option<i64>) {
        let Some(keep) = keep else { return };
        let ids: Vec<i64> = self.builds_of(project_id).map(|b| b.id).collect();
        let excess = ids.len().saturating_sub(usize::try_from(keep).unwrap_or(0));
        for id in &ids[..excess] {
            self.builds.remove(id);
        }
    }
}

/// Lines joined by `\n`, blank lines dropped; `None` when nothing remains.
pub(crate) fn join_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Option<String> {
    let v: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    (!v.is_empty()).then(|| v.join("\n"))
}

/// Forced outcome of a generated plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// From the profile (ok / broken → 1000).
    Natural,
    /// The named spec step fails → exit 208.
    FailAt(&'static str),
    /// Raw shell status 1 in a random step.
    ShellOne,
    /// Unknown error (-1) in a random step.
    Unknown,
    /// Killed in a random spec step → 143.
    Killed,
}
