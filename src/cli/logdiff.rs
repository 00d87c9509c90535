//! `shipdeck logs <build> --diff [<other>]`: the log of a build compared with the last green
//! build of its project (or `<other>`), as unified-diff-like text with step headers, for
//! scripts. Volatile parts are ignored by the `[diff]` rules of the config.

use super::builds::find_build;
use super::out::err;
use super::{EXIT_API, EXIT_OK, EXIT_USAGE, report};
use crate::api::follow::find_project;
use crate::api::{ApiError, Backend};
use crate::config::Config;
use crate::domain::{Build, ListQuery};
use crate::logdiff::{Normaliser, diff_logs, fetch, render_unified};

/// Projects walked at most to find which one a finished build belongs to.
const MAX_PROJECTS: u32 = 500;

pub(super) async fn run(
    cfg: &Config,
    b: &dyn Backend,
    wanted: &str,
    other: &str,
    project: Option<&str>,
    step: Option<usize>,
) -> i32 {
    let norm = match Normaliser::new(&cfg.diff.rules()) {
        Ok(n) => n,
        Err(e) => {
            err!("shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let (build, builds) = match locate(b, wanted, project).await {
        Ok(x) => x,
        Err(e) => return report(&e),
    };
    let base = if other.is_empty() {
        match fetch::last_green(&builds, &build) {
            Some(x) => x,
            None => {
                err!(
                    "shipdeck: no successful build of {} before {} to compare with; name one: --diff <build>",
                    crate::ui::clean(&build.project),
                    fetch::label(&build)
                );
                return EXIT_API;
            }
        }
    } else {
        let id = other.trim_start_matches('#');
        match builds
            .iter()
            .find(|x| x.id == id || x.build_id.as_deref() == Some(id))
        {
            Some(x) => x.clone(),
            None => {
                err!(
                    "shipdeck: no build `{other}` in the history of {}; `shipdeck get builds --project {}` lists them",
                    crate::ui::clean(&build.project),
                    crate::ui::clean(&build.project)
                );
                return EXIT_API;
            }
        }
    };
    let mut keep_going = |_: u64| true;
    let new = match fetch::collect_log(b, &build, &mut keep_going).await {
        Ok(Some(x)) => x,
        Ok(None) => return EXIT_OK,
        Err(e) => return report(&e),
    };
    let old = match fetch::collect_log(b, &base, &mut keep_going).await {
        Ok(Some(x)) => x,
        Ok(None) => return EXIT_OK,
        Err(e) => return report(&e),
    };
    // `--step N`: that step's hunks only (1 = the first step of this build's log).
    let only = match step {
        None => None,
        Some(n) => match n.checked_sub(1).and_then(|i| new.steps.get(i)) {
            Some((name, _)) => Some(name.clone()),
            None => {
                err!(
                    "shipdeck: this log has {} step(s); --step counts from 1",
                    new.steps.len()
                );
                return EXIT_USAGE;
            }
        },
    };
    let context = cfg.diff.context;
    let mut diff = tokio::task::spawn_blocking(move || {
        diff_logs(&new, &old, &norm, context, &mut |_| true).unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    if let Some(name) = only {
        diff = diff.only_step(&name);
    }
    let (new_label, old_label) = (label(&build), label(&base));
    err!(
        "── {} vs {}: {}",
        fetch::label(&build),
        fetch::label(&base),
        diff.size()
    );
    let mut out = super::out::Batch::new();
    for line in render_unified(&diff, &new_label, &old_label) {
        if !out.line(&line) {
            return EXIT_OK;
        }
    }
    out.flush();
    EXIT_OK
}

/// `#42 (failed)` in the diff header.
fn label(b: &Build) -> String {
    format!(
        "{} {} ({})",
        crate::ui::clean(&b.project),
        fetch::label(b),
        b.status.label()
    )
}

/// The build with its project and status, and its project's history: a queued or running
/// build names its project; a finished one is looked for in the history of `project`, else
/// of every project in turn.
async fn locate(
    b: &dyn Backend,
    wanted: &str,
    project: Option<&str>,
) -> Result<(Build, Vec<Build>), ApiError> {
    let id = wanted.trim_start_matches('#');
    let found = find_build(b, id).await?;
    let matches = |x: &Build| x.id == id || x.build_id.as_deref() == Some(id) || x.id == found.id;
    if found.project_id.as_deref().is_some_and(|p| !p.is_empty()) {
        let builds = fetch::project_builds(b, &found).await?;
        let this = builds.iter().find(|x| matches(x)).cloned().unwrap_or(found);
        return Ok((this, builds));
    }
    if let Some(p) = project {
        let (pid, name) = find_project(b, p).await?;
        let builds = b
            .builds(&crate::domain::BuildScope::Project { id: pid, name })
            .await?;
        return match builds.iter().find(|x| matches(x)).cloned() {
            Some(this) => Ok((this, builds)),
            None => Err(ApiError::NotFound(format!(
                "no build `{wanted}` in the history of {p}"
            ))),
        };
    }
    let mut seen = 0u32;
    for page in 1..=MAX_PROJECTS / 100 {
        let q = ListQuery {
            page,
            per_page: 100,
            filter: None,
            sort: None,
        };
        let projects = b.projects(&q).await?;
        for p in &projects.items {
            seen += 1;
            let scope = crate::domain::BuildScope::Project {
                id: p.id.clone(),
                name: p.name.clone(),
            };
            let Ok(builds) = b.builds(&scope).await else {
                continue;
            };
            if let Some(this) = builds.iter().find(|x| matches(x)).cloned() {
                return Ok((this, builds));
            }
        }
        if !projects.has_more {
            break;
        }
    }
    Err(ApiError::NotFound(format!(
        "build `{wanted}` is in none of the {seen} projects' histories; name its project: --project <name>"
    )))
}
