//! `R` on a finished build: run it again with its original parameters. A backend with a native
//! re-run (Serverless-cd's redeploy replays the task's trigger payload) uses it; the others
//! launch the same project again with what the build row (or its log on screen) says it ran
//! with, and what cannot be known is said in the confirmation, never guessed.

use super::mutation::Mutation;
use super::panes::logview::TailState;
use super::state::{State, short_id};
use crate::domain::{Build, Kind, LaunchRequest, StepStatus};

/// The change that runs `build` again, or why it cannot be run again (for the operator).
pub(crate) fn plan(s: &State, build: &Build) -> Result<Mutation, String> {
    let caps = s.caps().map(|c| c.builds.clone()).unwrap_or_default();
    if !build.status.is_terminal() {
        return Err(format!("{} has not finished yet", short_id(&build.id)));
    }
    if caps.redeploy {
        return Ok(Mutation::Redeploy {
            build: build.clone(),
        });
    }
    if !caps.launch {
        return Err("this backend cannot run a build again".into());
    }
    let Some(project_id) = build.project_id.clone().filter(|p| !p.is_empty()) else {
        return Err(format!(
            "the project of {} is not known: launch it from its project (L)",
            short_id(&build.id)
        ));
    };
    let mut request = LaunchRequest {
        project_id,
        ..LaunchRequest::default()
    };
    let unknown = match s.kind() {
        Some(Kind::Freecommit) => match skipped_on_screen(s, build) {
            Some(steps) => {
                request.skip_steps = steps;
                None
            }
            None => Some(
                "Free Commit does not record skipped steps with a build: every step runs \
                 (open its log, then R, to skip the same steps)"
                    .to_string(),
            ),
        },
        Some(Kind::Nullplatform) => {
            let sha = build.commit.clone().filter(|c| !c.trim().is_empty());
            let branch = build.short_ref();
            match (sha, branch) {
                (Some(sha), Some(branch)) => {
                    request.params = vec![("commit".into(), sha), ("branch".into(), branch)];
                    None
                }
                _ => {
                    return Err(format!(
                        "the commit and branch of {} are not known: register it with L",
                        short_id(&build.id)
                    ));
                }
            }
        }
        Some(Kind::Candor) => Some(
            "Candor does not record a run's parameters: the pipeline is triggered again \
             without any (its own defaults apply)"
                .to_string(),
        ),
        _ => return Err("this backend cannot run a build again".into()),
    };
    Ok(Mutation::Rerun {
        build: build.clone(),
        request,
        unknown,
    })
}

/// Free Commit: the steps the build skipped, from its log when that log is the one loaded
/// and complete enough to tell (`None`: not known).
fn skipped_on_screen(s: &State, build: &Build) -> Option<Vec<String>> {
    let log = s
        .log
        .as_ref()
        .filter(|l| l.build.id == build.id && matches!(l.state, TailState::Done(_)))?;
    let steps = log.buf.steps();
    if steps.is_empty() {
        return None;
    }
    Some(
        steps
            .iter()
            .filter(|m| m.status == StepStatus::Skipped)
            // Logs name steps plainly; launches want the `@` (contract §7.1).
            .map(|m| format!("@{}", m.name.trim_start_matches('@')))
            .collect(),
    )
}

/// What a re-run sends, in words: "same commit 9f2c1e4 on main, skipping @test".
pub(crate) fn words(build: &Build, request: &LaunchRequest) -> String {
    let param = |k: &str| {
        request
            .params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let sha = param("commit")
        .or_else(|| build.commit.clone())
        .filter(|c| !c.is_empty())
        .map(|c| c.chars().take(7).collect::<String>());
    let branch = param("branch").or_else(|| build.short_ref());
    let mut out = match (sha, branch) {
        (Some(c), Some(b)) => format!("same commit {c} on {b}"),
        (Some(c), None) => format!("same commit {c}"),
        (None, Some(b)) => format!("same ref {b}"),
        (None, None) => "the project as configured now (no commit recorded)".to_string(),
    };
    if request.skip_steps.is_empty() {
        out.push_str(", no step skipped");
    } else {
        out.push_str(&format!(", skipping {}", request.skip_steps.join(", ")));
    }
    out
}

/// A native re-run (the server replays the build's own trigger), in words: "same commit
/// 9f2c1e4 on main".
pub(crate) fn redeploy_words(build: &Build) -> String {
    match build.commit_label() {
        Some(_) => words(build, &LaunchRequest::default())
            .trim_end_matches(", no step skipped")
            .to_string(),
        None => "the same trigger as before".to_string(),
    }
}
