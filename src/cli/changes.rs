//! One-shot changes: `promote`, `rollback` (and the shared path `launch` and `kill` take):
//! read-only refusal, a question or `--yes`, the change itself, and an audit entry.

use super::builds::{EXIT_REFUSED, with_session};
use super::out::{ask, err};
use super::{Cli, EXIT_OK, EXIT_USAGE, report};
use crate::api::Backend;
use crate::app::action::{Action, Effect};
use crate::app::gate;
use crate::app::mutation::{Mutation, append_audit};
use crate::config::{Config, Profile};
use crate::domain::{BuildStatus, DeployRequest, RollbackRequest};
use std::io::{IsTerminal, Write};

/// Ask on the terminal, or refuse without `--yes` when there is none. A protected environment
/// needs its name typed.
fn confirm(question: &str, yes: bool, protected: Option<&str>) -> Result<(), i32> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        err!("shipdeck: refusing without --yes (no terminal to ask): {question}");
        return Err(EXIT_REFUSED);
    }
    match protected {
        Some(env) => ask!("{question}\n{env} is protected: type its name to confirm: "),
        None => ask!("{question} [y/N] "),
    }
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    let ok = match protected {
        Some(env) => answer.trim() == env,
        None => matches!(answer.trim(), "y" | "Y" | "yes"),
    };
    if ok {
        Ok(())
    } else {
        err!("shipdeck: not confirmed; nothing was sent");
        Err(EXIT_REFUSED)
    }
}

/// Run one change through the read-only gate, execute it, append the audit entry.
pub async fn apply(cli: &Cli, p: &Profile, b: &dyn Backend, user: &str, op: Mutation) -> i32 {
    apply_outcome(cli, p, b, user, op).await.0
}

/// [`apply`], also returning what the server answered (a launched build) when it succeeded.
pub(crate) async fn apply_outcome(
    cli: &Cli,
    p: &Profile,
    b: &dyn Backend,
    user: &str,
    op: Mutation,
) -> (i32, Option<crate::app::action::Outcome>) {
    if let Some(why) = gate::refusal(cli.read_only, &p.name, p.read_only) {
        err!("shipdeck: {}", gate::refused_message(&why, &op));
        let audit = gate::refused_audit(chrono::Utc::now(), &p.name, user, &why, &op);
        append_audit_file(&audit);
        return (EXIT_REFUSED, None);
    }
    let effect = Effect::Mutate {
        epoch: 0,
        op,
        profile: p.name.clone(),
        user: user.to_string(),
    };
    let Some(Action::Mutated(done)) = crate::app::exec::call(b, &effect).await else {
        return (EXIT_USAGE, None);
    };
    let crate::app::action::Mutated { result, audit, .. } = *done;
    append_audit_file(&audit);
    match result {
        Ok(outcome) => {
            err!("{} {}: ok", audit.action, audit.target);
            (EXIT_OK, Some(outcome))
        }
        Err(e) => (report(&e), None),
    }
}

/// The audit trail keeps every attempt from the command line too, refused ones included.
fn append_audit_file(audit: &crate::app::mutation::AuditEntry) {
    if let Some(path) = crate::config::dirs().map(|d| d.data_dir().join("audit.jsonl"))
        && let Err(e) = append_audit(&path, audit)
    {
        err!(
            "shipdeck: warning: cannot append to {}: {e}",
            path.display()
        );
    }
}

fn protected<'a>(p: &'a Profile, env: &str) -> Option<&'a str> {
    p.protected_environments
        .iter()
        .find(|e| *e == env)
        .map(String::as_str)
}

async fn current(b: &dyn Backend, project: &str, env: &str) -> Option<String> {
    let page = b.deployments(project, env, 1, 100).await.ok()?;
    page.items
        .into_iter()
        .find(|d| d.status == BuildStatus::Succeeded)
        .map(|d| d.candidate)
}

pub async fn promote(
    cli: &Cli,
    cfg: &Config,
    project: &str,
    release: &str,
    to: &str,
    yes: bool,
    wait: Option<Option<std::time::Duration>>,
) -> i32 {
    with_session(cli, cfg, async |p, b, user| {
        let asked = (project, release, to);
        promote_with(cli, &p, b.as_ref(), &user, asked, yes, wait).await
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn promote_with(
    cli: &Cli,
    p: &Profile,
    b: &dyn Backend,
    user: &str,
    (project, release, to): (&str, &str, &str),
    yes: bool,
    wait: Option<Option<std::time::Duration>>,
) -> i32 {
    let from = current(b, project, to).await;
    let question = format!(
        "Deploy {release} to {to} of {project} ({}: {} → {release})?",
        to,
        from.as_deref().unwrap_or("nothing yet")
    );
    if let Err(code) = confirm(&question, yes, protected(p, to)) {
        return code;
    }
    let op = Mutation::Deploy {
        request: DeployRequest {
            project: project.into(),
            environment: to.into(),
            candidate: release.into(),
        },
        from,
    };
    // The newest deployment before ours: an earlier one of the same candidate is not ours.
    let before = match wait {
        Some(_) => newest(b, project, to).await,
        None => None,
    };
    let code = apply(cli, p, b, user, op).await;
    match wait {
        Some(timeout) if code == EXIT_OK => {
            super::wait::follow_deployment(b, project, to, release, before, timeout).await
        }
        _ => code,
    }
}

async fn newest(b: &dyn Backend, project: &str, env: &str) -> Option<String> {
    let page = b.deployments(project, env, 1, 1).await.ok()?;
    page.items.into_iter().next().map(|d| d.id)
}

pub async fn rollback(
    cli: &Cli,
    cfg: &Config,
    project: &str,
    env: &str,
    force: bool,
    yes: bool,
) -> i32 {
    with_session(cli, cfg, async |p, b, user| {
        rollback_with(cli, &p, b.as_ref(), &user, project, env, force, yes).await
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn rollback_with(
    cli: &Cli,
    p: &Profile,
    b: &dyn Backend,
    user: &str,
    project: &str,
    env: &str,
    force: bool,
    yes: bool,
) -> i32 {
    let from = current(b, project, env).await;
    let question = format!(
        "Roll back {env} of {project} (now {}) to the release before it{}?",
        from.as_deref().unwrap_or("unknown"),
        if force {
            ", also if frozen (--force)"
        } else {
            ""
        }
    );
    if let Err(code) = confirm(&question, yes, protected(p, env)) {
        return code;
    }
    let op = Mutation::Rollback {
        request: RollbackRequest {
            project: project.into(),
            environment: env.into(),
            force,
        },
        from,
    };
    apply(cli, p, b, user, op).await
}

/// `get environments` / `get deployments` (newest first, first page of each environment).
pub async fn get(
    cli: &Cli,
    cfg: &Config,
    deployments: bool,
    project: Option<&str>,
    json: bool,
) -> i32 {
    with_session(cli, cfg, async |p, b, _| {
        list_changes(&p, b.as_ref(), deployments, project, json).await
    })
    .await
}

async fn list_changes(
    profile: &Profile,
    b: &dyn Backend,
    deployments: bool,
    project: Option<&str>,
    json: bool,
) -> i32 {
    let envs = match b.environments().await {
        Ok(e) => e,
        Err(e) => return report(&e),
    };
    let envs: Vec<_> = envs
        .into_iter()
        .filter(|e| project.is_none_or(|p| p == e.project))
        .collect();
    let mut all = Vec::new();
    let mut rows = Vec::new();
    for e in envs {
        let page = match b.deployments(&e.project, &e.name, 1, 100).await {
            Ok(page) => page.items,
            Err(err) => return report(&err),
        };
        if deployments {
            all.extend(page);
        } else {
            rows.push(EnvRow::new(e, &page));
        }
    }
    if !deployments {
        let header = ["PROJECT", "ENVIRONMENT", "ORDER", "RUNS", "SINCE", "LATEST"];
        let url = |r: &EnvRow| {
            let item = crate::weblinks::WebItem::Environment {
                project: &r.project,
                environment: &r.environment,
            };
            super::get::link(profile, &item)
        };
        super::get::print_linked(&rows, (json, url), &header, |r| {
            vec![
                r.project.clone(),
                r.environment.clone(),
                r.order.to_string(),
                r.release.clone().unwrap_or_else(|| "—".into()),
                r.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
                format!(
                    "{} {}",
                    r.latest_release.as_deref().unwrap_or(""),
                    r.status.as_deref().unwrap_or("")
                )
                .trim()
                .to_string(),
            ]
        });
        return EXIT_OK;
    }
    let url = |d: &crate::domain::Deployment| {
        let item = crate::weblinks::WebItem::Environment {
            project: &d.project,
            environment: &d.environment,
        };
        super::get::link(profile, &item)
    };
    super::get::print_linked(
        &all,
        (json, url),
        &[
            "ID",
            "PROJECT",
            "ENV",
            "CANDIDATE",
            "STATUS",
            "ACTOR",
            "STARTED",
        ],
        |d| {
            vec![
                d.id.clone(),
                d.project.clone(),
                d.environment.clone(),
                d.candidate.clone(),
                d.raw_status.clone(),
                d.actor.clone().unwrap_or_default(),
                d.started_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ]
        },
    );
    EXIT_OK
}

/// One environment as the Releases pane shows it: what it runs since when, and its newest
/// deployment's state (which may be a newer candidate still in progress or one that failed).
#[derive(serde::Serialize)]
struct EnvRow {
    project: String,
    environment: String,
    /// 1 = first in the pipeline.
    order: usize,
    /// The candidate it runs: its newest successful deployment.
    release: Option<String>,
    /// When that deployment finished (else started).
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// The newest deployment, whatever its status, and that status in the backend's words.
    latest_release: Option<String>,
    status: Option<String>,
}

impl EnvRow {
    fn new(e: crate::domain::Environment, newest_first: &[crate::domain::Deployment]) -> EnvRow {
        let (latest, current) = crate::domain::environment_runs(newest_first);
        EnvRow {
            project: e.project,
            environment: e.name,
            order: e.position + 1,
            release: current.map(|d| d.candidate.clone()),
            since: current.and_then(|d| d.finished_at.or(d.started_at)),
            latest_release: latest.map(|d| d.candidate.clone()),
            status: latest.map(|d| d.raw_status.clone()),
        }
    }
}
