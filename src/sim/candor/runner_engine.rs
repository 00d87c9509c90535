//! The runner's work (`candor.md` §5 Plan, §7 log format as measured, §11 R3, R4): a plan
//! becomes a timeline of log writes and an outcome, fixed when the run starts (deterministic
//! from the seed and the run id). What a reader sees at a given instant is the prefix of the
//! timeline up to that instant, so the log grows as the simulated clock moves.
//!
//! The real format: each header after the first starts with the newline that ends the previous
//! stage's closing sentence (no blank line between stages), the closing sentence has no newline
//! of its own, the file does not end with one, and a stage's last output line is sometimes
//! written without a newline, so that it is glued to the closing sentence
//! (`…doneProcess exited with status code 0`). An image whose name contains
//! [`UNPULLABLE`] cannot be pulled: the runner fails internally after the header and answers
//! `{"status": "Error"}` alone.

use serde_json::{Value, json};

use crate::sim::clock::NS_PER_SEC;
use crate::sim::rng_for;

/// `RUNNER_CONTAINER_TIMEOUT` of the simulated runner: a stage that would run longer is cut
/// here with exit code -3 (simulated seconds).
pub(crate) const STAGE_TIMEOUT_NS: i64 = 15 * NS_PER_SEC;
/// Docker runtimes the simulated runner has (`runtime` absent = the default one).
pub(crate) const RUNTIMES: &[&str] = &["runc", "sysbox"];
/// Output lines per second of a running stage.
const LINES_PER_SEC: i64 = 3;
/// An image whose name contains this cannot be pulled (an internal runner error, §11 R3).
pub(crate) const UNPULLABLE: &str = "does-not-exist";

#[derive(Clone, Debug, PartialEq)]
pub struct StagePlan {
    pub name: String,
    pub image: String,
    pub runtime: Option<String>,
    pub environment: Vec<String>,
    pub script: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub stages: Vec<StagePlan>,
    pub archive: Vec<String>,
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        None => Some(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>(),
        Some(_) => None,
    }
}

/// The runner's plan check (D18): `stages` required and non-empty, each with a non-empty
/// `name` and `image`; extra keys are ignored (the dashboard sends the whole config).
pub(crate) fn parse_plan(v: &Value) -> Option<Plan> {
    let stages = v.get("stages")?.as_array()?;
    if stages.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for s in stages {
        let name = s.get("name")?.as_str()?.to_string();
        let image = s.get("image")?.as_str()?.to_string();
        if name.is_empty() || image.is_empty() {
            return None;
        }
        let runtime = match s.get("runtime") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => return None,
        };
        out.push(StagePlan {
            name,
            image,
            runtime,
            environment: string_list(s.get("environment"))?,
            script: string_list(s.get("script"))?,
        });
    }
    Some(Plan {
        stages: out,
        archive: string_list(v.get("archive"))?,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct StageResult {
    pub name: String,
    pub status: &'static str,
    pub exit_code: i64,
}

impl StageResult {
    pub(crate) fn to_json(&self) -> Value {
        json!({"name": self.name, "status": self.status, "exitCode": self.exit_code})
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: &'static str,
    pub stages: Vec<StageResult>,
    pub archived: Vec<String>,
}

impl Outcome {
    /// The runner's `/run` reply: `archived` only when something was archived; a run that
    /// failed inside the runner (no stages) is `{"status": "Error"}` alone.
    pub(crate) fn to_json(&self) -> Value {
        if self.stages.is_empty() {
            return json!({"status": self.status});
        }
        let mut v = json!({
            "status": self.status,
            "stages": self.stages.iter().map(StageResult::to_json).collect::<Vec<_>>(),
        });
        if !self.archived.is_empty() {
            v["archived"] = json!(self.archived);
        }
        v
    }
}

/// One run on the runner: its log timeline and outcome.
#[derive(Clone, Debug)]
pub struct RunnerRun {
    pub start: i64,
    pub end: i64,
    /// `(instant, text)`: what the runner writes at that instant, newlines as they are.
    pub writes: Vec<(i64, String)>,
    /// The log file was deleted on the runner (→ 404; the dashboard says so with a 200).
    pub deleted: bool,
    pub outcome: Outcome,
}

impl RunnerRun {
    /// The log file as it is at `now`.
    pub(crate) fn log_at(&self, now: i64) -> Vec<u8> {
        let mut out = Vec::new();
        for (t, text) in &self.writes {
            if *t > now {
                break;
            }
            out.extend_from_slice(text.as_bytes());
        }
        out
    }

    pub fn finished(&self, now: i64) -> bool {
        now >= self.end
    }
}

/// `exit N` in a script sets the stage's exit code.
fn scripted_exit(script: &[String]) -> Option<i64> {
    script.iter().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("exit ")?.trim().parse::<i64>().ok()
    })
}

/// `sleep N` with N beyond the stage timeout makes the stage time out.
fn sleeps_past_timeout(script: &[String]) -> bool {
    script.iter().any(|l| {
        l.trim()
            .strip_prefix("sleep ")
            .and_then(|n| n.trim().parse::<i64>().ok())
            .is_some_and(|n| n.saturating_mul(NS_PER_SEC) >= STAGE_TIMEOUT_NS)
    })
}

const WORDS: &[&str] = &[
    "resolving",
    "compiling",
    "linking",
    "checking",
    "fetching",
    "bundling",
    "testing",
    "caching",
    "verifying",
    "optimising",
];
const THINGS: &[&str] = &[
    "core",
    "api",
    "ui/components",
    "utils",
    "auth",
    "db/migrations",
    "assets",
    "docs",
    "cli",
    "spec/api.spec.js",
];

fn output_line(rng: &mut fastrand::Rng, n: usize) -> String {
    let word = WORDS[rng.usize(..WORDS.len())];
    let thing = THINGS[rng.usize(..THINGS.len())];
    let plain = match rng.u8(..4) {
        0 => format!("{word} {thing} ✓ ({} ms)", rng.u32(3..900)),
        1 => format!("[{n:03}] {word} {thing}… done"),
        2 => format!("{word} {thing} — {} files", rng.u32(1..200)),
        _ => format!("{word} {thing} (café-ready, {}%)", rng.u32(1..100)),
    };
    // ~15 % of the lines carry ANSI SGR colours.
    if rng.f64() < 0.15 {
        let colour = [32, 33, 36, 35][rng.usize(..4)];
        format!("\x1b[{colour}m{plain}\x1b[0m")
    } else {
        plain
    }
}

/// Base name of an archive path (archives are flattened).
pub(crate) fn basename(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .to_string()
}

/// Run `plan` as run `id` starting at `start`. `fail_stage`: make that stage exit 1 (fixture
/// history of flaky pipelines).
pub fn simulate(
    seed: u64,
    id: &str,
    plan: &Plan,
    start: i64,
    fail_stage: Option<usize>,
) -> RunnerRun {
    let mut rng = rng_for(seed, &format!("candor.run.{id}"));
    let n = plan.stages.len();
    let mut t = start;
    let mut lines: Vec<(i64, String)> = Vec::new();
    let mut results = Vec::new();
    let mut broken = false;
    let step = NS_PER_SEC / LINES_PER_SEC;
    for (i, stage) in plan.stages.iter().enumerate() {
        // The newline before a later header ends the previous closing sentence.
        let newline = if i > 0 { "\n" } else { "" };
        lines.push((
            t,
            format!(
                "{newline}{} [{}/{}] {}\n",
                "*".repeat(16),
                i + 1,
                n,
                "*".repeat(16)
            ),
        ));
        if stage.image.contains(UNPULLABLE) {
            // Pulling fails inside the runner: no stage result at all.
            t += 2 * NS_PER_SEC;
            return RunnerRun {
                start,
                end: t,
                writes: lines,
                deleted: false,
                outcome: Outcome {
                    status: "Error",
                    stages: Vec::new(),
                    archived: Vec::new(),
                },
            };
        }
        if broken {
            lines.push((t, "Skipped".to_string()));
            results.push(StageResult {
                name: stage.name.clone(),
                status: "Skipped",
                exit_code: -1,
            });
            continue;
        }
        if let Some(rt) = &stage.runtime
            && !RUNTIMES.contains(&rt.as_str())
        {
            t += NS_PER_SEC;
            lines.push((t, "Runtime unavailable".to_string()));
            results.push(StageResult {
                name: stage.name.clone(),
                status: "Error",
                exit_code: -2,
            });
            broken = true;
            continue;
        }
        let timeout = sleeps_past_timeout(&stage.script);
        let duration = if timeout {
            STAGE_TIMEOUT_NS
        } else {
            rng.i64(4..=15) * NS_PER_SEC
        };
        let end = t + duration;
        let mut k = 1;
        let mut at = t + step;
        let mut script = stage.script.iter();
        let first_output = lines.len();
        while at < end {
            let line = match script.next() {
                Some(cmd) => format!("$ {cmd}"),
                None => output_line(&mut rng, k),
            };
            lines.push((at, line + "\n"));
            k += 1;
            at += step;
        }
        // An odd number of output lines: the last one ends without a newline (glued).
        let outputs = lines.len() - first_output;
        if outputs % 2 == 1
            && let Some((_, last)) = lines.last_mut()
        {
            last.pop();
        }
        t = end;
        if timeout {
            lines.push((t, "Process exceeded stage execution time limit".into()));
            results.push(StageResult {
                name: stage.name.clone(),
                status: "Failed",
                exit_code: -3,
            });
            broken = true;
            continue;
        }
        let code = if fail_stage == Some(i) {
            1
        } else {
            scripted_exit(&stage.script).unwrap_or(0)
        };
        lines.push((t, format!("Process exited with status code {code}")));
        broken = code != 0;
        results.push(StageResult {
            name: stage.name.clone(),
            status: if code == 0 { "Passed" } else { "Failed" },
            exit_code: code,
        });
    }
    let status = if results.iter().any(|r| r.status == "Error") {
        "Error"
    } else if results.iter().any(|r| r.status == "Failed") {
        "Failed"
    } else {
        "Passed"
    };
    let mut archived: Vec<String> = Vec::new();
    if status == "Passed" {
        for p in &plan.archive {
            let b = basename(p);
            if !b.is_empty() && !archived.contains(&b) {
                archived.push(b);
            }
        }
    }
    RunnerRun {
        start,
        end: t,
        writes: lines,
        deleted: false,
        outcome: Outcome {
            status,
            stages: results,
            archived,
        },
    }
}

/// The bytes of an archived file: small generated text (`.xml`, `.txt`, …) or tar-like bytes.
pub fn archive_bytes(seed: u64, run_id: &str, name: &str) -> Vec<u8> {
    let mut rng = rng_for(seed, &format!("candor.archive.{run_id}.{name}"));
    if name.ends_with(".xml") {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<coverage");
        s.push_str(&format!(
            " line-rate=\"0.{:02}\" run=\"{run_id}\">\n",
            rng.u32(50..99)
        ));
        for i in 0..rng.usize(20..60) {
            s.push_str(&format!(
                "  <class name=\"mod{i}\" hits=\"{}\" />\n",
                rng.u32(0..500)
            ));
        }
        s.push_str("</coverage>\n");
        return s.into_bytes();
    }
    // A ustar-like header block, then payload and some binary noise.
    let mut out = vec![0u8; 512];
    let inner = format!("{run_id}/{name}.contents");
    out[..inner.len().min(100)].copy_from_slice(&inner.as_bytes()[..inner.len().min(100)]);
    out[257..262].copy_from_slice(b"ustar");
    for i in 0..rng.usize(40..120) {
        out.extend_from_slice(format!("file-{i:03}.js {:08x}\n", rng.u32(..)).as_bytes());
    }
    let noise = rng.usize(256..2048);
    out.extend((0..noise).map(|_| rng.u8(..)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, script: &[&str]) -> StagePlan {
        StagePlan {
            name: name.into(),
            image: "alpine".into(),
            runtime: None,
            environment: vec![],
            script: script.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn failure_skips_the_rest_and_log_has_headers() {
        let plan = Plan {
            stages: vec![
                stage("a", &["echo"]),
                stage("b", &["exit 2"]),
                stage("c", &[]),
            ],
            archive: vec!["x/out.txt".into()],
        };
        let r = simulate(1, "abc", &plan, 0, None);
        assert_eq!(r.outcome.status, "Failed");
        let codes: Vec<i64> = r.outcome.stages.iter().map(|s| s.exit_code).collect();
        assert_eq!(codes, [0, 2, -1]);
        assert!(r.outcome.archived.is_empty());
        let text = String::from_utf8(r.log_at(r.end)).unwrap();
        assert!(text.starts_with("**************** [1/3] ****************\n"));
        // §11 R4: no blank line between stages, no newline at the end.
        assert!(!text.contains("\n\n"), "{text}");
        assert!(text.contains("status code 2\n**************** [3/3] ****************\nSkipped"));
        assert!(text.ends_with("Skipped"));
        assert!(r.log_at(r.start).len() < text.len());
    }

    #[test]
    fn odd_output_is_glued_to_the_closing_sentence() {
        let mut glued = 0;
        for id in ["a", "b", "c", "d", "e", "f"] {
            let plan = Plan {
                stages: vec![stage("a", &["make"])],
                archive: vec![],
            };
            let r = simulate(1, id, &plan, 0, None);
            let text = String::from_utf8(r.log_at(r.end)).unwrap();
            // Writes: the header, the output lines, the closing sentence.
            let outputs = r.writes.len() - 2;
            if outputs % 2 == 1 {
                glued += 1;
                assert!(!text.contains("\nProcess exited"), "{text}");
            } else {
                assert!(text.contains("\nProcess exited"), "{text}");
            }
            assert!(text.ends_with("Process exited with status code 0"));
        }
        assert!(glued > 0, "some stage glues its output");
    }

    #[test]
    fn an_unpullable_image_is_an_internal_runner_error() {
        let mut s = stage("a", &[]);
        s.image = format!("registry.example.com/{UNPULLABLE}:1");
        let plan = Plan {
            stages: vec![s, stage("b", &[])],
            archive: vec![],
        };
        let r = simulate(1, "z", &plan, 0, None);
        assert_eq!(r.outcome.to_json(), json!({"status": "Error"}));
        assert_eq!(
            String::from_utf8(r.log_at(r.end)).unwrap(),
            "**************** [1/2] ****************\n"
        );
    }

    #[test]
    fn timeout_and_runtime() {
        let mut s = stage("gpu", &[]);
        s.runtime = Some("nvidia".into());
        let r = simulate(
            1,
            "x",
            &Plan {
                stages: vec![s],
                archive: vec![],
            },
            0,
            None,
        );
        assert_eq!(r.outcome.status, "Error");
        assert_eq!(r.outcome.stages[0].exit_code, -2);
        let plan = Plan {
            stages: vec![stage("long", &["sleep 7200"])],
            archive: vec![],
        };
        let r = simulate(1, "y", &plan, 0, None);
        assert_eq!(r.outcome.stages[0].exit_code, -3);
        assert_eq!(r.end, STAGE_TIMEOUT_NS);
    }
}
