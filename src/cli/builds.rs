//! One-shot build commands: `get builds`, `logs`, `launch`, `kill`.

use super::out::{ask, err};
use super::{Cli, EXIT_OK, EXIT_USAGE, report};
use crate::api::follow::find_project;
use crate::api::{self, ApiError, Backend};
use crate::app::mutation::{Mutation, Outcome};
use crate::config::{Config, Profile};
use crate::domain::{Build, BuildScope, LaunchRequest, LogEvent};
use crate::logtext;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

pub(crate) const EXIT_REFUSED: i32 = 4;

/// The profile, its backend (logged in) and the user name. Errors are reported and turned
/// into exit codes.
pub async fn session(cli: &Cli, cfg: &Config) -> Result<(Profile, Arc<dyn Backend>, String), i32> {
    let profile = match cfg.pick_profile(cli.profile.as_deref()) {
        Ok(Some(p)) => p.clone(),
        Ok(None) => {
            err!("shipdeck: the config defines no profiles");
            return Err(EXIT_USAGE);
        }
        Err(e) => {
            err!("shipdeck: {e}");
            return Err(EXIT_USAGE);
        }
    };
    let backend = api::connect(&profile).map_err(|e| report(&e))?;
    let session = backend.login().await.map_err(|e| report(&e))?;
    Ok((profile, backend, session.user.name))
}

/// Run a one-shot command against the picked profile's backend, logged in (`session`), and
/// end the server-side session before returning, whatever the command did: Candor keeps a
/// 30-day session per login. `logout` is bounded in time and only logs a failure.
pub(crate) async fn with_session(
    cli: &Cli,
    cfg: &Config,
    command: impl AsyncFnOnce(Profile, Arc<dyn Backend>, String) -> i32,
) -> i32 {
    let (profile, backend, user) = match session(cli, cfg).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let code = command(profile, backend.clone(), user).await;
    if let Err(e) = backend.logout().await {
        tracing::warn!(error = %e, "logout failed");
    }
    code
}

/// A build by run id (or a unique prefix of it) among queued/running work, else a build number.
pub(super) async fn find_build(b: &dyn Backend, wanted: &str) -> Result<Build, ApiError> {
    let active = b.builds(&BuildScope::Active).await?;
    let hits: Vec<&Build> = active
        .iter()
        .filter(|x| {
            x.id == wanted
                || x.run_id.as_deref() == Some(wanted)
                || (wanted.len() >= 6 && x.id.starts_with(wanted))
        })
        .collect();
    match hits.as_slice() {
        [one] => return Ok((*one).clone()),
        [] => {}
        _ => {
            return Err(ApiError::Unsupported(format!(
                "`{wanted}` matches {} runs; give more of the id",
                hits.len()
            )));
        }
    }
    // Not queued or running: a finished build, by the backend's own id (a Free Commit build
    // number, a Serverless-cd task id…). The backend says so if there is none.
    if wanted.is_empty() {
        return Err(ApiError::NotFound("no build id given".into()));
    }
    Ok(Build {
        id: wanted.to_string(),
        build_id: Some(wanted.to_string()),
        ..Build::default()
    })
}

pub async fn get(cli: &Cli, cfg: &Config, project: Option<&str>, json: bool) -> i32 {
    with_session(cli, cfg, async |p, b, _| {
        get_with(&p, b.as_ref(), project, json).await
    })
    .await
}

async fn get_with(profile: &Profile, b: &dyn Backend, project: Option<&str>, json: bool) -> i32 {
    let scope = match project {
        None => BuildScope::Active,
        Some(p) => match find_project(b, p).await {
            Ok((id, name)) => BuildScope::Project { id, name },
            Err(e) => return report(&e),
        },
    };
    match b.builds(&scope).await {
        Ok(builds) => {
            let url = |x: &Build| {
                crate::weblinks::build_url(profile.kind, &profile.url, profile.web_url.as_ref(), x)
            };
            super::get::print_linked(
                &builds,
                (json, url),
                &[
                    "ID", "PROJECT", "STATUS", "EXIT", "MEANING", "STARTED", "COMMIT",
                ],
                |x| {
                    vec![
                        x.id.clone(),
                        x.project.clone(),
                        x.status.label().to_string(),
                        x.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                        x.message.clone().unwrap_or_default(),
                        x.started_at
                            .or(x.queued_at)
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_default(),
                        x.commit_label().unwrap_or_default(),
                    ]
                },
            );
            EXIT_OK
        }
        Err(e) => report(&e),
    }
}

pub async fn launch(
    cli: &Cli,
    cfg: &Config,
    project: &str,
    skip: &[String],
    params: &[(String, String)],
    wait: Option<Option<std::time::Duration>>,
) -> i32 {
    with_session(cli, cfg, async |profile, b, user| {
        let code = launch_with(cli, &profile, b.as_ref(), &user, project, skip, params).await;
        match (wait, code) {
            (Some(timeout), (EXIT_OK, Some(Outcome::Build(build)))) => {
                super::wait::follow_build(b, build, timeout).await
            }
            (_, (code, _)) => code,
        }
    })
    .await
}

/// `shipdeck wait <build>`: follow it to its end (see `cli::wait` for the exit codes).
pub async fn wait(
    cli: &Cli,
    cfg: &Config,
    wanted: &str,
    timeout: Option<std::time::Duration>,
) -> i32 {
    with_session(cli, cfg, async |_, b, _| {
        match find_build(b.as_ref(), wanted).await {
            Ok(build) => super::wait::follow_build(b, build, timeout).await,
            Err(e) => report(&e),
        }
    })
    .await
}

async fn launch_with(
    cli: &Cli,
    profile: &Profile,
    b: &dyn Backend,
    user: &str,
    project: &str,
    skip: &[String],
    params: &[(String, String)],
) -> (i32, Option<Outcome>) {
    let (project_id, name) = match find_project(b, project).await {
        Ok(x) => x,
        Err(e) => return (report(&e), None),
    };
    let skip_steps: Vec<String> = skip
        .iter()
        .map(|s| {
            if s.starts_with('@') {
                s.clone()
            } else {
                format!("@{s}")
            }
        })
        .collect();
    let op = Mutation::Launch {
        project: name,
        request: LaunchRequest {
            project_id,
            skip_steps,
            params: params.to_vec(),
        },
    };
    super::changes::apply_outcome(cli, profile, b, user, op).await
}

pub async fn kill(cli: &Cli, cfg: &Config, wanted: &str, yes: bool) -> i32 {
    with_session(cli, cfg, async |profile, b, user| {
        kill_with(cli, &profile, b.as_ref(), &user, wanted, yes).await
    })
    .await
}

async fn kill_with(
    cli: &Cli,
    profile: &Profile,
    b: &dyn Backend,
    user: &str,
    wanted: &str,
    yes: bool,
) -> i32 {
    let build = match find_build(b, wanted).await {
        Ok(x) if x.run_id.is_some() => x,
        Ok(x) => {
            err!(
                "shipdeck: build {} has already finished; nothing to kill",
                x.id
            );
            return EXIT_USAGE;
        }
        Err(e) => return report(&e),
    };
    let question = format!(
        "Kill run {} of {} ({})?",
        build.id,
        build.project,
        build.status.label()
    );
    if !yes {
        if !std::io::stdin().is_terminal() {
            err!("shipdeck: refusing without --yes (no terminal to ask): {question}");
            return EXIT_REFUSED;
        }
        ask!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            err!("shipdeck: not killed; nothing was sent");
            return EXIT_REFUSED;
        }
    }
    super::changes::apply(cli, profile, b, user, Mutation::Kill { build }).await
}

pub(crate) struct LogsArgs<'a> {
    pub build: &'a str,
    /// 1-based step to print alone.
    pub step: Option<usize>,
    pub follow: bool,
    pub raw: bool,
    /// `--diff [<other>]`: compare with another build (empty: the last green one).
    pub diff: Option<&'a str>,
    pub project: Option<&'a str>,
}

pub async fn logs(cli: &Cli, cfg: &Config, args: LogsArgs<'_>) -> i32 {
    with_session(cli, cfg, async |_, b, _| match args.diff {
        Some(other) => {
            super::logdiff::run(cfg, b.as_ref(), args.build, other, args.project, args.step).await
        }
        None => logs_with(cli, b, args).await,
    })
    .await
}

async fn logs_with(cli: &Cli, b: Arc<dyn Backend>, args: LogsArgs<'_>) -> i32 {
    let build = match find_build(b.as_ref(), args.build).await {
        Ok(x) => x,
        Err(e) => return report(&e),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let backend = b.clone();
    let follow = args.follow;
    let tail = tokio::spawn(async move { backend.tail_log(&build, follow, tx).await });
    // Colours only for a terminal; plain text for pipes and files.
    let colour = std::io::stdout().is_terminal() && !super::no_color(cli);
    let mut out = super::out::Batch::new();
    // One sanitiser for the stream (SGR state carries across lines as in the log viewer), its
    // lines redacted like the viewer's.
    let mut san = logtext::Sanitizer::new();
    let mut text = String::new();
    let mut printer = Printer {
        step: 0,
        only: args.step,
        printed: Vec::new(),
        replay: None,
    };
    while let Some(ev) = rx.recv().await {
        match ev {
            LogEvent::Step { name, status } => {
                printer.step += 1;
                if let Some(r) = &mut printer.replay {
                    r.0 = printer.step - 1;
                    r.1 = 0;
                } else {
                    printer.printed.push(0);
                }
                if printer.only.is_none_or(|n| n == printer.step) && printer.replay.is_none() {
                    out.flush();
                    err!("── step {} {} {}", printer.step, status.symbol(), name);
                }
            }
            LogEvent::Lines(lines) => {
                for line in lines {
                    if !printer.take_line() {
                        continue;
                    }
                    if args.raw {
                        if !out.line(&line) {
                            return EXIT_OK; // reader went away (e.g. `| head`)
                        }
                        continue;
                    }
                    let mut bytes = line.into_bytes();
                    bytes.push(b'\n');
                    for l in san.push(&bytes).map(crate::safe::redact_line) {
                        text.clear();
                        if colour {
                            logtext::sanitize::write_line_sgr(&mut text, &l);
                        } else {
                            text.push_str(l.plain());
                        }
                        if !out.line(&text) {
                            return EXIT_OK; // reader went away (e.g. `| head`)
                        }
                    }
                }
                // Each batch reaches a pipe as it arrives (`logs --follow | grep …`).
                if !out.flush() {
                    return EXIT_OK;
                }
            }
            // The archived log repeats what the live tail printed: skip what was shown.
            LogEvent::Restart => {
                san.reset();
                printer.replay = Some((0, 0));
                printer.step = 0;
            }
            LogEvent::StepStatus(_) => {}
            LogEvent::End { status } => {
                out.flush();
                if let Some(st) = status {
                    err!("── {} {}", st.symbol(), st.label());
                }
            }
        }
    }
    out.flush();
    match tail.await {
        Ok(Ok(())) => EXIT_OK,
        Ok(Err(e)) => report(&e),
        Err(e) => {
            err!("shipdeck: log tail failed: {e}");
            1
        }
    }
}

/// Which lines to print: the chosen step only, and after a live→archived restart only the
/// lines beyond those already printed for each step.
struct Printer {
    step: usize,
    only: Option<usize>,
    /// Lines printed per step (index = step - 1) before a restart.
    printed: Vec<usize>,
    /// After a restart: (step index, lines of it seen again).
    replay: Option<(usize, usize)>,
}

impl Printer {
    fn take_line(&mut self) -> bool {
        if self.only.is_some_and(|n| n != self.step) {
            return false;
        }
        match &mut self.replay {
            Some((idx, seen)) => {
                *seen += 1;
                let already = self.printed.get(*idx).copied().unwrap_or(0);
                if *seen <= already {
                    return false;
                }
                if let Some(p) = self.printed.get_mut(*idx) {
                    *p += 1;
                } else {
                    self.printed.push(1);
                }
                true
            }
            None => {
                if let Some(p) = self.printed.last_mut() {
                    *p += 1;
                } else {
                    self.printed.push(1);
                }
                true
            }
        }
    }
}
