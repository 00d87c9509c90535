//! One-shot changes: `promote`, `rollback` (and the shared path `launch` and `kill` take):
//! read-only refusal, a question or `--yes`, the change itself, and an audit entry.

use super::builds::{EXIT_REFUSED, with_session};
use super::{Cli, EXIT_OK, EXIT_USAGE, report};
use crate::api::Backend;
use crate::app::action::{Action, Effect};
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
        eprintln!("shipdeck: refusing without --yes (no terminal to ask): {question}");
        return Err(EXIT_REFUSED);
    }
    match protected {
        Some(env) => eprint!("{question}\n{env} is protected: type its name to confirm: "),
        None => eprint!("{question} [y/N] "),
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
        eprintln!("shipdeck: not confirmed; nothing was sent");
        Err(EXIT_REFUSED)
    }
}

/// Run one change through the read-only gate, execute it, append the audit entry.
pub async fn apply(cli: &Cli, p: &Profile, b: &dyn Backend, user: &str, op: Mutation) -> i32 {
    if cli.read_only || p.read_only {
        let why = if cli.read_only {
            "--read-only is set".to_string()
        } else {
            format!("profile {} is read-only", p.name)
        };
        eprintln!(
            "shipdeck: refused: {why}; the {} of {} was not sent",
            op.verb().replace('_', " "),
            op.target()
        );
        return EXIT_REFUSED;
    }
    let effect = Effect::Mutate {
        epoch: 0,
        op,
        profile: p.name.clone(),
        user: user.to_string(),
    };
    let Some(Action::Mutated(done)) = crate::app::exec::call(b, &effect).await else {
        return EXIT_USAGE;
    };
    let crate::app::action::Mutated { result, audit, .. } = *done;
    if let Some(path) = crate::config::dirs().map(|d| d.data_dir().join("audit.jsonl"))
        && let Err(e) = append_audit(&path, &audit)
    {
        eprintln!(
            "shipdeck: warning: cannot append to {}: {e}",
            path.display()
        );
    }
    match result {
        Ok(_) => {
            eprintln!("{} {}: ok", audit.action, audit.target);
            EXIT_OK
        }
        Err(e) => report(&e),
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
) -> i32 {
    with_session(cli, cfg, async |p, b, user| {
        promote_with(cli, &p, b.as_ref(), &user, project, release, to, yes).await
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn promote_with(
    cli: &Cli,
    p: &Profile,
    b: &dyn Backend,
    user: &str,
    project: &str,
    release: &str,
    to: &str,
    yes: bool,
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
    apply(cli, p, b, user, op).await
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
    with_session(cli, cfg, async |_, b, _| {
        list_changes(b.as_ref(), deployments, project, json).await
    })
    .await
}

async fn list_changes(
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
    if !deployments {
        super::get::print(&envs, json, &["PROJECT", "ENVIRONMENT", "ORDER"], |e| {
            vec![
                e.project.clone(),
                e.name.clone(),
                (e.position + 1).to_string(),
            ]
        });
        return EXIT_OK;
    }
    let mut all = Vec::new();
    for e in &envs {
        match b.deployments(&e.project, &e.name, 1, 100).await {
            Ok(page) => all.extend(page.items),
            Err(err) => return report(&err),
        }
    }
    super::get::print(
        &all,
        json,
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
