//! Deterministic fixtures (§9 #7, #8) and run-plan generation (#10, #11).

use std::collections::BTreeMap;

use super::super::clock::{NS_PER_MS, NS_PER_SEC};
use super::engine::{
    Credential, Developer, Executor, FcState, Outcome, Plan, PlanStep, Profile, Project, Secret,
};

pub const PROJECT_NAMES: [&str; 47] = [
    "billing-api",
    "web-shop",
    "auth-service",
    "payment-gateway",
    "inventory-sync",
    "notification-hub",
    "user-profile",
    "order-pipeline",
    "catalog-api",
    "pricing-engine",
    "shipping-tracker",
    "recommendation-svc",
    "admin-portal",
    "analytics-etl",
    "email-renderer",
    "cart-service",
    "tax-calculator",
    "fraud-detector",
    "loyalty-points",
    "search-api",
    "media-transcoder",
    "invoice-generator",
    "feature-flags",
    "audit-log",
    "reporting-dashboard",
    "customer-support",
    "warehouse-robotics",
    "geo-locator",
    "identity-provider",
    "rate-limiter",
    "config-server",
    "event-bus",
    "ledger-core",
    "partner-api",
    "mobile-bff",
    "image-resizer",
    "subscription-manager",
    "review-moderation",
    "sms-gateway",
    "data-warehouse-loader",
    "legacy-erp-bridge",
    "docs-site",
    "status-page",
    "chaos-monkey",
    "huge-log",
    "mobile-gateway",
    "search-indexer",
];

/// Projects (ids) without any build in the fixtures.
const NO_BUILDS: [i64; 6] = [13, 27, 38, 43, 45, 46];
pub const HUGE_LOG_PROJECT_ID: i64 = 45;
/// Lines printed by `huge-log`'s `@build` step.
pub const HUGE_LOG_LINES: usize = 50_000;

fn profile_of(id: i64) -> Profile {
    if id == HUGE_LOG_PROJECT_ID {
        return Profile::HugeLog;
    }
    match id % 10 {
        3 | 8 => Profile::Flaky,
        6 => {
            if id % 20 == 6 {
                Profile::Broken
            } else {
                Profile::Slow
            }
        }
        9 => Profile::Serial,
        _ => Profile::Ok,
    }
}

const DEVELOPERS: [(&str, Option<&str>, Option<&str>); 20] = [
    ("admin", Some("admin"), None),
    ("alice", Some("alice-dev"), Some("alice")),
    ("bob", Some("bobbuilds"), None),
    ("opsonly", None, None),
    ("carol", Some("carol-k"), Some("carolk")),
    ("dave", None, Some("dave.m")),
    ("erin", Some("erin-codes"), None),
    ("frank", Some("frankv"), Some("frankv")),
    ("grace", Some("gracehopper42"), None),
    ("heidi", None, None),
    ("ivan", Some("ivan-p"), None),
    ("judy", Some("judyj"), Some("judy.j")),
    ("mallory", None, Some("mallory")),
    ("niaj", Some("niaj"), None),
    ("olivia", Some("olivia-ops"), Some("olivia")),
    ("peggy", None, None),
    ("rupert", Some("rupert-r"), None),
    ("sybil", Some("sybil"), Some("sybil")),
    ("trent", None, Some("trent")),
    ("victor", Some("victor-v"), None),
];

/// Random nanosecond noise below `max_ns`, truncated to 0, 1–6 or 9 fraction
/// digits so that formatted datetimes vary in precision (§9 #6).
pub(crate) fn noise(rng: &mut fastrand::Rng, max_ns: i64) -> i64 {
    let digits = [0u32, 1, 2, 3, 4, 5, 6, 9][rng.usize(..8)];
    if digits == 0 {
        return 0;
    }
    let unit = 10i64.pow(9 - digits);
    let v = rng.i64(0..max_ns.max(1));
    (v / unit) * unit
}

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A PRNG that gives the same draws for the same line of the same step of a project in every
/// run, so that two runs' logs differ only in their volatile parts (times, hashes, sizes) and
/// where one run really did something else: what the log diff (issue 12) is for. The run's
/// own PRNG is still drawn from as before, so everything else about a run is unchanged.
fn stable_rng(project: &str, step: &str, i: usize) -> fastrand::Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in project.bytes().chain([0]).chain(step.bytes()).chain([0]) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    fastrand::Rng::with_seed(h ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Lines of a step in every run of a project (two a second of a usual length drawn once per
/// project and step, within the range run lengths are drawn from).
fn usual_lines(project: &str, step: &str, slow: bool) -> usize {
    let mut r = stable_rng(project, step, usize::MAX);
    let secs = if slow {
        r.usize(20..=40)
    } else {
        r.usize(3..=10)
    };
    secs * 2
}

fn colored(rng: &mut fastrand::Rng, stable: &mut fastrand::Rng, line: String) -> String {
    // ~10 % of lines carry ANSI SGR sequences (the same lines in every run); the run's PRNG
    // is drawn from as it always was.
    if rng.u32(0..10) == 0 {
        let _ = rng.u32(0..4);
    }
    if stable.u32(0..10) != 0 {
        return line;
    }
    match stable.u32(0..4) {
        0 => format!("\x1b[32m{line}\x1b[0m"),
        1 => format!("\x1b[1;33mWARN\x1b[0m {line}"),
        2 => format!("\x1b[36m[info]\x1b[0m {line}"),
        _ => format!("\x1b[1m{line}\x1b[22m"),
    }
}

/// One line of a step: its words from `stable` (the same in every run), its volatile parts
/// (durations, hashes, sizes) from the run's `rng`, drawn from in the same order as always.
fn step_line(
    rng: &mut fastrand::Rng,
    stable: &mut fastrand::Rng,
    project: &str,
    step: &str,
    i: usize,
) -> String {
    const FILES: [&str; 8] = [
        "cart", "tax", "invoice", "session", "router", "client", "schema", "handler",
    ];
    let _ = rng.usize(..FILES.len());
    let f = FILES[stable.usize(..FILES.len())];
    let ms = rng.u32(2..900);
    let mut same = |rng: &mut fastrand::Rng, r: std::ops::Range<u32>| {
        let _ = rng.u32(r.clone());
        stable.u32(r)
    };
    match step {
        "lint" => match i % 3 {
            0 => format!("Linting src/{f}.ts"),
            1 => format!("✔ src/{f}.ts: 0 problems ({ms} ms)"),
            _ => format!("checked {} files", same(rng, 20..400)),
        },
        "test" => match i % 4 {
            0 => format!("PASS unit/{f}.spec ({ms} ms)"),
            1 => format!("PASS integration/{f}_{}.spec", same(rng, 1..20)),
            2 => format!("  ✓ {f} handles edge case #{} ({ms} ms)", same(rng, 1..99)),
            _ => format!("Tests: {} passed, {} total", i + 3, i + 3),
        },
        "build" => match i % 3 {
            0 => {
                let a = same(rng, 1..20);
                let b = same(rng, 0..10);
                format!("Compiling {project}-{f} v0.{a}.{b}")
            }
            1 => format!("dist/{f}.{}.js  {} kB", hex(rng, 8), rng.u32(3..900)),
            _ => format!("[{}/{}] bundling modules", i + 1, i + 4),
        },
        "deploy" => match i % 3 {
            0 => format!(
                "Pushing registry.internal/{project}:{} layer {}",
                hex(rng, 7),
                hex(rng, 12)
            ),
            1 => format!("deployment.apps/{project} configured"),
            _ => format!(
                "Waiting for rollout: {} of 3 updated replicas are available...",
                same(rng, 0..4)
            ),
        },
        _ => format!("{step}: line {i}"),
    }
}

fn error_line(rng: &mut fastrand::Rng) -> String {
    const E: [&str; 5] = [
        "ERROR deprecated configuration key `cache.ttl` in pipeline.yaml (ignored)",
        "ERROR failed to upload coverage report: connection refused (non-fatal)",
        "ERROR npm ERR! peer dependency conflict resolved with --legacy-peer-deps",
        "ERROR could not reach metrics endpoint, continuing",
        "ERROR flaky test detected: retrying once",
    ];
    E[rng.usize(..E.len())].to_string()
}

/// Draws the whole future of one run of `project`.
pub(crate) fn gen_plan(
    rng: &mut fastrand::Rng,
    project: &Project,
    ignored: &[&'static str],
    outcome: Outcome,
) -> Plan {
    if project.profile == Profile::Broken && outcome == Outcome::Natural {
        return Plan {
            steps: Vec::new(),
            end: 2 * NS_PER_SEC + noise(rng, 900 * NS_PER_MS),
            exit_code: 1000,
            exit_message: Some("Spec file not found".into()),
            output: Some("Exit with code 1000 and message Spec file not found".into()),
        };
    }
    let name = project.name.as_str();
    let sha = hex(rng, 7);
    // init: opens at start, first line after 1 s, 6 lines in 4 s.
    let init_lines = [
        format!("Cloning into '/var/free-commit/{name}'..."),
        format!(
            "HEAD is now at {sha} Merge pull request #{}",
            rng.u32(10..2000)
        ),
        "Step 1/5 : FROM registry.internal/ci-base:3.2".to_string(),
        "Step 4/5 : COPY . /workspace".to_string(),
        format!("Successfully built {}", hex(rng, 12)),
        format!("Successfully tagged free-commit/{name}:{sha}"),
    ];
    let mut steps = vec![PlanStep {
        name: "init".into(),
        start: 0,
        end: 0,
        lines: init_lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let off = NS_PER_SEC + (i as i64) * 600 * NS_PER_MS + noise(rng, 100 * NS_PER_MS);
                (off, colored(rng, &mut stable_rng(name, "init", i), l))
            })
            .collect(),
        success: Some(true),
        skipped: Some(false),
    }];
    let mut t = 4 * NS_PER_SEC + 300 * NS_PER_MS + noise(rng, 200 * NS_PER_MS);
    steps[0].end = t;

    // Where the run stops early, if it does.
    let runnable: Vec<&'static str> = project
        .spec_steps
        .iter()
        .copied()
        .filter(|s| !ignored.contains(s))
        .collect();
    let stop_at: Option<&'static str> = match outcome {
        Outcome::FailAt(s) => runnable.contains(&s).then_some(s),
        Outcome::ShellOne | Outcome::Unknown | Outcome::Killed if !runnable.is_empty() => {
            Some(runnable[rng.usize(..runnable.len())])
        }
        _ => None,
    };
    let error_step = if runnable.is_empty() {
        None
    } else {
        Some(stop_at.unwrap_or(runnable[rng.usize(..runnable.len())]))
    };
    let mut stopped = false;
    for &s in &project.spec_steps {
        let start = t;
        if ignored.contains(&s) {
            let off = start + 20 * NS_PER_MS + noise(rng, 20 * NS_PER_MS);
            t = off + 30 * NS_PER_MS;
            steps.push(PlanStep {
                name: s.into(),
                start,
                end: t,
                lines: vec![(off, format!("Step @{s} skipped"))],
                success: Some(true),
                skipped: Some(true),
            });
            continue;
        }
        let (n, spacing) = if project.profile == Profile::HugeLog && s == "build" {
            (HUGE_LOG_LINES, NS_PER_SEC / 10_000)
        } else {
            let secs = if project.profile == Profile::Slow {
                rng.i64(20..=40)
            } else {
                rng.i64(3..=10)
            };
            ((secs * 2) as usize, 500 * NS_PER_MS)
        };
        let stops_here = stop_at == Some(s);
        let n = if stops_here { (n / 2).max(1) } else { n };
        // A run stopped in this step (kill) loses its second half: keep the
        // ERROR line in the first half so that every build prints one.
        let err_range = if stops_here { (n / 2).max(1) } else { n };
        let err_at = (error_step == Some(s)).then(|| rng.usize(..err_range));
        // The lines as drawn from the run's PRNG (it is drawn from as it always was, so ids,
        // outcomes and timings stay the same) …
        let mut lines = Vec::with_capacity(n + 1);
        for i in 0..n {
            let off = start + (i as i64 + 1) * spacing + noise(rng, spacing / 5);
            let text = if Some(i) == err_at {
                error_line(rng)
            } else {
                let mut stable = stable_rng(name, s, i);
                let l = step_line(rng, &mut stable, name, s, i);
                colored(rng, &mut stable, l)
            };
            lines.push((off, text));
        }
        // … but as many lines in every run of the project's step, spread over the same time,
        // with their volatile parts from a PRNG of this run: two runs' logs then differ where
        // the runs did (what the log diff compares), not in how long a step happened to take.
        if project.profile != Profile::HugeLog {
            let usual = usual_lines(name, s, project.profile == Profile::Slow);
            let m = if stops_here {
                (usual / 2).max(1)
            } else {
                usual
            };
            let err_at = err_at.map(|e| e * m / n.max(1));
            let span = (n as i64 + 1) * spacing;
            let mut own = fastrand::Rng::with_seed((start as u64) ^ stable_rng(name, s, 0).u64(..));
            lines = (0..m)
                .map(|i| {
                    let off = start + (i as i64 + 1) * span / (m as i64 + 1);
                    let text = if Some(i) == err_at {
                        error_line(&mut own)
                    } else {
                        let mut stable = stable_rng(name, s, i);
                        let l = step_line(&mut own, &mut stable, name, s, i);
                        colored(&mut own, &mut stable, l)
                    };
                    (off, text)
                })
                .collect();
        }
        t = start + (n as i64 + 1) * spacing + noise(rng, spacing / 2);
        let mut success = Some(true);
        if stops_here {
            match outcome {
                Outcome::FailAt(_) => lines.push((t, format!("Step @{s} failed"))),
                Outcome::ShellOne => {
                    lines.push((t, "/bin/sh: 1: make: exited with status 1".to_string()))
                }
                _ => {}
            }
            success = Some(false);
        }
        steps.push(PlanStep {
            name: s.into(),
            start,
            end: t,
            lines,
            success,
            skipped: Some(false),
        });
        if stops_here {
            stopped = true;
            break;
        }
    }
    let mut plan = Plan {
        end: t + 150 * NS_PER_MS + noise(rng, 100 * NS_PER_MS),
        steps,
        exit_code: 0,
        exit_message: None,
        output: None,
    };
    match (outcome, stopped) {
        (Outcome::FailAt(_), true) => plan.exit_code = 208,
        (Outcome::ShellOne, true) => plan.exit_code = 1,
        (Outcome::Unknown, true) => {
            plan.exit_code = -1;
            plan.exit_message = Some("Unknown error".into());
            plan.output = Some(
                "com.github.dockerjava.api.exception.DockerException: Status 500: \
                 {\"message\":\"OCI runtime exec failed\"}"
                    .into(),
            );
        }
        (Outcome::Killed, true) => {
            // Killed half-way through the chosen step.
            if let Some(last) = plan.steps.pop() {
                let at = last.start + (last.end - last.start) / 2;
                plan.steps.push(PlanStep {
                    success: Some(true),
                    ..last
                });
                plan.kill(at, 1_500 * NS_PER_MS);
            }
        }
        _ => {
            // Success: the last step keeps `success` null.
            if let Some(last) = plan.steps.last_mut() {
                last.success = None;
            }
        }
    }
    plan
}

pub(super) fn spec_steps_for(id: i64, profile: Profile) -> Vec<&'static str> {
    match profile {
        Profile::HugeLog => vec!["build"],
        Profile::Flaky => vec!["lint", "test", "build"],
        _ => match id % 4 {
            0 => vec!["lint", "test", "build", "deploy"],
            1 => vec!["test", "build", "deploy"],
            2 => vec!["test", "build"],
            _ => vec!["lint", "test", "deploy"],
        },
    }
}

/// Builds the whole fixture state at simulated time `start` (nanoseconds).
pub(crate) fn build_state(seed: u64, start: i64, demo: bool, kill_delay: i64) -> FcState {
    let mut rng = super::super::rng_for(seed, "freecommit");

    let developers: BTreeMap<i64, Developer> = DEVELOPERS
        .iter()
        .enumerate()
        .map(|(i, (name, gh, gl))| {
            let id = i as i64 + 1;
            let roles: Vec<String> = match *name {
                "admin" => vec!["ROLE_ADMIN".into(), "ROLE_DEVELOPER".into()],
                "opsonly" => vec!["ROLE_ADMIN".into()],
                "olivia" | "trent" => vec!["ROLE_ADMIN".into(), "ROLE_DEVELOPER".into()],
                _ => vec!["ROLE_DEVELOPER".into()],
            };
            let dev = Developer {
                id,
                // `sub` differs from the developer id for everyone but admin.
                user_id: if id == 1 { 1 } else { id + 3 },
                username: (*name).to_string(),
                password: (*name).to_string(),
                enabled: *name != "bob",
                roles,
                email: (*name != "heidi").then(|| format!("{name}@acme.example")),
                github_username: gh.map(str::to_string),
                gitlab_username: gl.map(str::to_string),
            };
            (id, dev)
        })
        .collect();

    let mut executors = BTreeMap::new();
    executors.insert(
        1,
        Executor {
            id: 1,
            name: "default".into(),
            driver: "localDriver".into(),
            variables: serde_json::Map::new(),
        },
    );
    let mut vars = serde_json::Map::new();
    for (k, v) in [
        ("FLAVOR_NAME", "m1.large"),
        ("IMAGE_NAME", "ubuntu-24.04-docker"),
        ("SECURITY_GROUP_NAME", "ci-runners"),
        ("NETWORK_NAME", "ci-net"),
        ("VOLUME_ID", "8f14e45f-ceea-467f-a8c6-0bd9d5a1c2e3"),
    ] {
        vars.insert(k.into(), serde_json::Value::String(v.into()));
    }
    executors.insert(
        2,
        Executor {
            id: 2,
            name: "openstack-eu".into(),
            driver: "openStackDriver".into(),
            variables: vars,
        },
    );

    let credentials: BTreeMap<i64, Credential> = ["github-deploy-key", "gitlab-ci", "bitbucket-legacy"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let id = i as i64 + 1;
            let key = format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{}\n-----END OPENSSH PRIVATE KEY-----",
                hex(&mut rng, 48)
            );
            (
                id,
                Credential {
                    id,
                    name: (*n).to_string(),
                    ssh_key: key,
                },
            )
        })
        .collect();

    const SECRETS: [(&str, Option<&str>, bool); 12] = [
        ("DATABASE_URL", Some("prod"), false),
        ("STRIPE_API_KEY", Some("prod"), false),
        ("SENTRY_DSN", None, true),
        ("NPM_TOKEN", None, true),
        ("AWS_ACCESS_KEY_ID", Some("staging"), false),
        ("AWS_SECRET_ACCESS_KEY", Some("staging"), false),
        ("SLACK_WEBHOOK_URL", None, true),
        ("REDIS_PASSWORD", Some("prod"), false),
        ("DOCKER_REGISTRY_TOKEN", None, true),
        ("SMTP_PASSWORD", Some("prod"), false),
        ("GOOGLE_MAPS_KEY", Some("staging"), false),
        ("JWT_SIGNING_SECRET", Some("prod"), false),
    ];
    let mut secrets: BTreeMap<i64, Secret> = SECRETS
        .iter()
        .enumerate()
        .map(|(i, (n, env, _))| {
            let id = i as i64 + 1;
            (
                id,
                Secret {
                    id,
                    name: (*n).to_string(),
                    value: format!("sim-{}", hex(&mut rng, 24)),
                    escape_char: (i % 3 == 0).then(|| "$,\"".to_string()),
                    env: env.map(str::to_string),
                    projects_id: Vec::new(),
                },
            )
        })
        .collect();
    let private: Vec<i64> = SECRETS
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.2)
        .map(|(i, _)| i as i64 + 1)
        .collect();

    let mut projects = BTreeMap::new();
    for (i, name) in PROJECT_NAMES.iter().enumerate() {
        let id = i as i64 + 1;
        let profile = profile_of(id);
        let mut devs = vec![1];
        if id <= 30 {
            devs.push(2);
        }
        for d in 5..=20 {
            if rng.u32(0..5) == 0 {
                devs.push(d);
            }
        }
        let mut sec: Vec<i64> = private
            .iter()
            .copied()
            .filter(|_| rng.u32(0..4) == 0)
            .collect();
        sec.sort_unstable();
        for s in &sec {
            if let Some(x) = secrets.get_mut(s) {
                x.projects_id.push(id);
            }
        }
        let keep = match id % 3 {
            0 => None,
            1 => Some(10),
            _ => Some(3),
        };
        let host = if id % 5 == 0 {
            "gitlab.com"
        } else {
            "github.com"
        };
        projects.insert(
            id,
            Project {
                id,
                name: (*name).to_string(),
                description: (id % 4 != 0).then(|| format!("The {name} service")),
                repository: format!("git@{host}:acme/{name}.git"),
                branch: match id % 7 {
                    0 => "*".into(),
                    3 => "develop".into(),
                    _ => "main".into(),
                },
                spec_file_path: "/.free-commit/live/pipeline.yaml".into(),
                keep_number_build: keep,
                allow_concurrent_execution: profile != Profile::Serial,
                signature_key: hex(&mut rng, 32),
                available_steps: Vec::new(),
                repository_credential_id: (id % 6 != 0).then_some(1 + id % 3),
                secrets_id: sec,
                developers_id: devs,
                executor_id: Some(if id % 4 == 3 { 2 } else { 1 }),
                profile,
                spec_steps: spec_steps_for(id, profile),
                launches: 0,
            },
        );
    }

    // History: 5–15 builds per project (minus retention), over the 14 months
    // before `start`, ids in chronological order.
    let history_from = month_start_back(start, 14);
    let mut planned: Vec<(i64, i64)> = Vec::new(); // (created_at, project id)
    for id in 1..=PROJECT_NAMES.len() as i64 {
        if NO_BUILDS.contains(&id) {
            continue;
        }
        // 5 builds, one project in eight up to 15; retention trims to ~200.
        let extra = if rng.u32(0..8) == 0 {
            rng.u32(0..=10)
        } else {
            0
        };
        for _ in 0..5 + extra {
            let at = rng.i64(history_from..start - 3600 * NS_PER_SEC);
            planned.push((
                at - at.rem_euclid(NS_PER_SEC) + noise(&mut rng, NS_PER_SEC),
                id,
            ));
        }
    }
    planned.sort_unstable();
    let mut st = FcState {
        projects,
        developers,
        secrets,
        credentials,
        executors,
        builds: BTreeMap::new(),
        next_build_id: 1,
        next_log_id: 1,
        queue: Vec::new(),
        running: Vec::new(),
        last_tick: start,
        next_demo: start + super::engine::DEMO_LAUNCH_EVERY_NS,
        demo,
        kill_delay,
        rng: super::super::rng_for(seed, "freecommit.runs"),
        count_cache: BTreeMap::new(),
    };
    for (created, pid) in planned {
        let Some(project) = st.projects.get_mut(&pid) else {
            continue;
        };
        project.launches += 1;
        let project = project.clone();
        let outcome = match (project.profile, rng.u32(0..20)) {
            (Profile::Flaky, _) if project.launches % 3 == 0 => Outcome::FailAt("test"),
            (Profile::Broken, _) => Outcome::Natural,
            (_, 0) => Outcome::Unknown,
            (_, 1) => Outcome::ShellOne,
            (_, 2) => Outcome::Killed,
            (_, 3) => Outcome::FailAt("test"),
            _ => Outcome::Natural,
        };
        let plan = gen_plan(&mut rng, &project, &[], outcome);
        let started = created + rng.i64(0..8 * NS_PER_SEC);
        st.store_build(pid, &plan, created, started);
    }
    st
}

/// First instant of the month `months` before the month of `ns`.
fn month_start_back(ns: i64, months: i32) -> i64 {
    use chrono::Datelike;
    let dt = chrono::DateTime::from_timestamp(ns.div_euclid(NS_PER_SEC), 0).unwrap_or_default();
    let total = dt.year() * 12 + dt.month0() as i32 - months;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12));
    chrono::NaiveDate::from_ymd_opt(y, m0 as u32 + 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp() * NS_PER_SEC)
        .unwrap_or(ns)
}
