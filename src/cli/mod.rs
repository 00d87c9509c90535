//! Command line: clap definitions, picking the mode, and the one-shot commands.
//! Exit codes (SPEC §2): 0 ok · 1 API or network error · 2 usage or config error ·
//! 3 authentication failed · 4 refused; waits (`wait`, `--wait`) add 5 failed · 6 cancelled ·
//! 124 timed out.

mod builds;
mod changes;
mod get;
mod logdiff;
pub(crate) mod out;
mod profiles;
mod wait;

use crate::api::ApiError;
use crate::app::Keymap;
use crate::config::{self, Config};
use clap::{CommandFactory, Parser, Subcommand};
use out::{err, out};
use std::path::PathBuf;

pub(crate) const EXIT_OK: i32 = 0;
pub const EXIT_API: i32 = 1;
pub(crate) const EXIT_USAGE: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "shipdeck",
    version,
    about = "Keyboard-driven terminal dashboard for CI/CD operators",
    after_help = "Without a command, opens the dashboard on the default profile.\n\
                  Keys: : palette · / filter · j/k move · ⏎ open · esc back · tab pane · r refresh · ? help · q quit\n\n\
                  Exit codes: 0 ok · 1 API or network error · 2 usage or config error · 3 authentication failed ·\n\
                  4 refused · with wait/--wait: 5 the build or deployment failed · 6 it was cancelled · 124 --timeout passed"
)]
pub struct Cli {
    /// Profile to use (default: default_profile of the config, else the first one)
    #[arg(long, global = true, env = "SHIPDECK_PROFILE")]
    pub profile: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/shipdeck/config.toml)
    #[arg(long, global = true, env = "SHIPDECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Refuse every action that changes something
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Theme: dark, light, high-contrast, mono, red-prod, or a file in <config dir>/themes/
    #[arg(long, global = true)]
    pub theme: Option<String>,
    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// No mouse: the terminal's own text selection works (also `mouse = false`)
    #[arg(long, global = true)]
    pub no_mouse: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the built-in simulator and open the dashboard on it (no config, no network)
    Demo,
    /// Run only the simulator; print its URLs and a ready config
    Simulate {
        /// Port on 127.0.0.1 (default: any free port)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Faults to inject, e.g. latency=200ms,error_rate=0.05,freecommit.token_ttl=60s
        #[arg(long)]
        faults: Option<String>,
        /// Seed of the simulator's random choices
        #[arg(long, default_value_t = 1)]
        sim_rng: u64,
        /// Which real Serverless-cd server to imitate: nov (Nov 2022, the published page's
        /// shapes) or jan (Jan 2023: environments, envName, code-500 errors)
        #[arg(long, default_value = "nov", value_parser = clap::builder::PossibleValuesParser::new(crate::sim::serverless_cd::Era::NAMES))]
        serverless_cd_era: String,
    },
    /// Print a list: projects, developers, secrets or builds (secret values are never printed)
    Get {
        #[arg(value_enum)]
        resource: GetWhat,
        /// One JSON document (an array of typed objects) on stdout
        #[arg(long)]
        json: bool,
        /// builds: this project's history (id or name) instead of the queue;
        /// deployments/environments: only this release project
        #[arg(long)]
        project: Option<String>,
    },
    /// Print a build's log (sanitised; colours only on a terminal)
    Logs {
        /// Run id (or a unique prefix) of queued/running work, or a finished build's number
        build: String,
        /// Only this step (1 = the first); with --diff, that step's hunks
        #[arg(long)]
        step: Option<usize>,
        /// Keep following a running build until it ends
        #[arg(long, short)]
        follow: bool,
        /// The bytes as the server sent them, escape sequences and all
        #[arg(long)]
        raw: bool,
        /// Only what differs from the last successful build of the project (or from <OTHER>),
        /// as a unified diff with step headers; times, hashes and counters are ignored
        #[arg(long, value_name = "OTHER", num_args = 0..=1, default_missing_value = "")]
        diff: Option<String>,
        /// With --diff: the build's project (saves looking for it in every project's history)
        #[arg(long, requires = "diff")]
        project: Option<String>,
    },
    /// Start a build of a project (id or name)
    Launch {
        project: String,
        /// A step to skip (repeatable), e.g. --skip-step @test
        #[arg(long = "skip-step")]
        skip_step: Vec<String>,
        /// A launch field (repeatable): --param commit=4e1f9a7 --param branch=main
        #[arg(long = "param", value_parser = parse_param)]
        param: Vec<(String, String)>,
        /// Follow the build to its end: exit 0 succeeded, 5 failed, 6 cancelled
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this long (90s, 30m, 1h) with exit 124
        #[arg(long, value_parser = wait::parse_timeout, requires = "wait")]
        timeout: Option<std::time::Duration>,
    },
    /// Follow a build to its end, progress on stderr: exit 0 succeeded, 5 failed, 6 cancelled,
    /// 124 timed out
    Wait {
        /// Run id (or a unique prefix) of queued/running work, or a finished build's number
        build: String,
        /// Give up after this long (90s, 30m, 1h) with exit 124; the build goes on
        #[arg(long, value_parser = wait::parse_timeout)]
        timeout: Option<std::time::Duration>,
    },
    /// Deploy a release candidate to an environment (asks first; protected ones need the name)
    Promote {
        project: String,
        /// Release candidate version, e.g. 2026.03.02-rc2
        release: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        yes: bool,
        /// Follow the deployment until it settles: exit 0 succeeded, 5 failed, 6 cancelled
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this long (90s, 30m, 1h) with exit 124
        #[arg(long, value_parser = wait::parse_timeout, requires = "wait")]
        timeout: Option<std::time::Duration>,
    },
    /// Roll an environment back to the release before the current one
    Rollback {
        project: String,
        #[arg(long)]
        env: String,
        /// Also when the environment is frozen
        #[arg(long)]
        force: bool,
        #[arg(long)]
        yes: bool,
    },
    /// Cancel queued or running work (asks first; --yes to skip the question)
    Kill {
        build: String,
        #[arg(long)]
        yes: bool,
    },
    /// List profiles and whether each can log in
    Profiles,
    /// Config file commands
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print shell completions
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate the config; print every problem with its line
    Check,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GetWhat {
    Projects,
    Developers,
    Secrets,
    Builds,
    Deployments,
    Environments,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` is not name=value"))
}

/// The config path in force: `--config`, `SHIPDECK_CONFIG`, else the platform default.
pub fn config_path(cli: &Cli) -> Option<PathBuf> {
    cli.config.clone().or_else(config::default_path)
}

/// Load the config for a command that needs one; problems are printed, the exit code returned.
pub(crate) fn load_config(cli: &Cli) -> Result<Config, i32> {
    let Some(path) = config_path(cli) else {
        err!("shipdeck: no config directory on this system; pass --config PATH");
        return Err(EXIT_USAGE);
    };
    match Config::load(&path) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => {
            err!(
                "shipdeck: no config file at {}; create one (see README) or try `shipdeck demo`",
                path.display()
            );
            Err(EXIT_USAGE)
        }
        Err(e) => {
            err!("{e}");
            err!("shipdeck: {} problem(s) in the config", e.problems.len());
            Err(EXIT_USAGE)
        }
    }
}

/// Report an API error on stderr and give its exit code.
pub fn report(e: &ApiError) -> i32 {
    tracing::warn!(error = %e, "command failed");
    // A server's message may be megabytes: 2 KB here, the whole in the log file.
    err!(
        "shipdeck: {}",
        crate::api::errors::cap_message(&e.to_string())
    );
    e.exit_code()
}

fn keymap(cfg: &Config) -> Result<Keymap, i32> {
    let (km, problems) = Keymap::with_overrides(&cfg.keys);
    if problems.is_empty() {
        return Ok(km);
    }
    let path = cfg
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for p in problems {
        err!("{path}: {p}");
    }
    Err(EXIT_USAGE)
}

fn no_color(cli: &Cli) -> bool {
    cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Run the command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match &cli.command {
        None => dashboard(&cli).await,
        Some(Command::Demo) => demo(&cli).await,
        Some(Command::Simulate {
            port,
            faults,
            sim_rng,
            serverless_cd_era,
        }) => simulate(*port, faults.as_deref(), *sim_rng, serverless_cd_era).await,
        Some(Command::Get {
            resource: GetWhat::Builds,
            json,
            project,
        }) => match load_config(&cli) {
            Ok(cfg) => builds::get(&cli, &cfg, project.as_deref(), *json).await,
            Err(code) => code,
        },
        Some(Command::Get {
            resource: what @ (GetWhat::Deployments | GetWhat::Environments),
            json,
            project,
        }) => match load_config(&cli) {
            Ok(cfg) => {
                let deployments = matches!(what, GetWhat::Deployments);
                changes::get(&cli, &cfg, deployments, project.as_deref(), *json).await
            }
            Err(code) => code,
        },
        Some(Command::Promote {
            project,
            release,
            to,
            yes,
            wait,
            timeout,
        }) => match load_config(&cli) {
            Ok(cfg) => {
                let wait = wait.then_some(*timeout);
                changes::promote(&cli, &cfg, project, release, to, *yes, wait).await
            }
            Err(code) => code,
        },
        Some(Command::Rollback {
            project,
            env,
            force,
            yes,
        }) => match load_config(&cli) {
            Ok(cfg) => changes::rollback(&cli, &cfg, project, env, *force, *yes).await,
            Err(code) => code,
        },
        Some(Command::Get { resource, json, .. }) => match load_config(&cli) {
            Ok(cfg) => get::run(&cli, &cfg, *resource, *json).await,
            Err(code) => code,
        },
        Some(Command::Logs {
            build,
            step,
            follow,
            raw,
            diff,
            project,
        }) => match load_config(&cli) {
            Ok(cfg) => {
                let args = builds::LogsArgs {
                    build,
                    step: *step,
                    follow: *follow,
                    raw: *raw,
                    diff: diff.as_deref(),
                    project: project.as_deref(),
                };
                builds::logs(&cli, &cfg, args).await
            }
            Err(code) => code,
        },
        Some(Command::Launch {
            project,
            skip_step,
            param,
            wait,
            timeout,
        }) => match load_config(&cli) {
            Ok(cfg) => {
                let wait = wait.then_some(*timeout);
                builds::launch(&cli, &cfg, project, skip_step, param, wait).await
            }
            Err(code) => code,
        },
        Some(Command::Wait { build, timeout }) => match load_config(&cli) {
            Ok(cfg) => builds::wait(&cli, &cfg, build, *timeout).await,
            Err(code) => code,
        },
        Some(Command::Kill { build, yes }) => match load_config(&cli) {
            Ok(cfg) => builds::kill(&cli, &cfg, build, *yes).await,
            Err(code) => code,
        },
        Some(Command::Profiles) => match load_config(&cli) {
            Ok(cfg) => profiles::run(&cfg).await,
            Err(code) => code,
        },
        Some(Command::Config {
            command: ConfigCommand::Check,
        }) => config_check(&cli),
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            // Into a buffer first: `generate` panics when it cannot write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "shipdeck", &mut script);
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(&script).and_then(|()| o.flush());
            EXIT_OK
        }
    }
}

async fn dashboard(cli: &Cli) -> i32 {
    let path = config_path(cli);
    let cfg = match path.as_deref().map(Config::load) {
        Some(Ok(Some(c))) => c,
        Some(Ok(None)) | None => Config::empty(path.clone()),
        Some(Err(e)) => {
            err!("{e}");
            err!("shipdeck: fix the config (shipdeck config check), or try `shipdeck demo`");
            return EXIT_USAGE;
        }
    };
    let profile = match cfg.pick_profile(cli.profile.as_deref()) {
        Ok(p) => p.map(|p| p.name.clone()),
        Err(e) => {
            err!("shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let keymap = match keymap(&cfg) {
        Ok(k) => k,
        Err(code) => return code,
    };
    run_tui(
        cli,
        cfg,
        profile,
        keymap,
        path.map(|p| p.display().to_string()),
    )
    .await
}

async fn run_tui(
    cli: &Cli,
    cfg: Config,
    profile: Option<String>,
    keymap: Keymap,
    path: Option<String>,
) -> i32 {
    // The demo writes nothing; a real dashboard keeps its trail in the data directory.
    let audit_file = match cli.command {
        Some(Command::Demo) => None,
        _ => config::dirs().map(|d| d.data_dir().join("audit.jsonl")),
    };
    let mouse = !cli.no_mouse && cfg.mouse;
    let opts = crate::tui::TuiOptions {
        config: cfg,
        profile,
        read_only: cli.read_only,
        theme: cli.theme.clone(),
        no_color: no_color(cli),
        mouse,
        keymap,
        config_path: path,
        audit_file,
    };
    match crate::tui::run(opts).await {
        Ok(()) => EXIT_OK,
        Err(e) => {
            err!("shipdeck: terminal error: {e}");
            EXIT_API
        }
    }
}

async fn demo(cli: &Cli) -> i32 {
    let (handle, cfg) = match crate::demo::start_sim().await {
        Ok(x) => x,
        Err(e) => {
            err!("shipdeck: cannot start the simulator: {e}");
            return EXIT_API;
        }
    };
    let profile = match cfg.pick_profile(cli.profile.as_deref()) {
        Ok(p) => p.map(|p| p.name.clone()),
        Err(e) => {
            err!("shipdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let code = run_tui(cli, cfg, profile, Keymap::default(), None).await;
    drop(handle);
    code
}

async fn simulate(port: u16, faults: Option<&str>, seed: u64, era: &str) -> i32 {
    let faults = match faults.map(str::parse::<crate::sim::Faults>).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => {
            err!("shipdeck: --faults: {e}");
            return EXIT_USAGE;
        }
    };
    let serverless_cd_era = match era.parse::<crate::sim::serverless_cd::Era>() {
        Ok(e) => e,
        Err(e) => {
            err!("shipdeck: --serverless-cd-era: {e}");
            return EXIT_USAGE;
        }
    };
    let opts = crate::sim::SimOptions {
        port,
        seed,
        clock: crate::sim::ClockMode::Real,
        demo: false,
        faults,
        serverless_cd_era,
    };
    let handle = match crate::sim::start(opts).await {
        Ok(h) => h,
        Err(e) => {
            err!("shipdeck: cannot start the simulator: {e}");
            return EXIT_API;
        }
    };
    out!("shipdeck simulator listening on http://{}", handle.addr);
    for d in &crate::backends::BACKENDS {
        for line in (d.sim.describe)(&handle) {
            out!("{line}");
        }
    }
    out!("");
    out!("# A ready config (save as config.toml, then: shipdeck --config config.toml):");
    out!("{}", crate::demo::printable_config(&handle));
    out!("# Ctrl-c stops the simulator.");
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    EXIT_OK
}

/// Name every `theme = "…"` that is neither built in nor a file in `<config dir>/themes/`,
/// with its line and the known names; how many there were.
fn unknown_themes(cfg: &Config, path: &std::path::Path) -> usize {
    let themes = crate::ui::theme::Themes::load(
        config::dirs()
            .map(|d| d.config_dir().join("themes"))
            .as_deref(),
    );
    let names = themes.names();
    let known: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
    let unknown: Vec<_> = cfg
        .theme_uses
        .iter()
        .filter(|t| !known.contains(t.name.as_str()))
        .collect();
    for t in &unknown {
        out!(
            "{}:{}:{}: unknown theme `{}`; known themes: {}",
            path.display(),
            t.line,
            t.column,
            t.name,
            names.join(", ")
        );
    }
    if !unknown.is_empty() {
        out!("{} problem(s) in {}", unknown.len(), path.display());
    }
    unknown.len()
}

fn config_check(cli: &Cli) -> i32 {
    let Some(path) = config_path(cli) else {
        err!("shipdeck: no config directory on this system; pass --config PATH");
        return EXIT_USAGE;
    };
    match Config::load(&path) {
        Ok(None) => {
            err!("shipdeck: no config file at {}", path.display());
            EXIT_USAGE
        }
        Err(e) => {
            out!("{e}");
            out!("{} problem(s) in {}", e.problems.len(), path.display());
            EXIT_USAGE
        }
        Ok(Some(cfg)) => {
            if keymap(&cfg).is_err() {
                return EXIT_USAGE;
            }
            if unknown_themes(&cfg, &path) > 0 {
                return EXIT_USAGE;
            }
            for p in &cfg.profiles {
                for (field, cred) in [
                    ("password", &p.password),
                    ("api_key", &p.api_key),
                    ("token", &p.token),
                    ("runner_token", &p.runner_token),
                ] {
                    if let Some(e) = cred.as_ref().and_then(|c| c.keyring_unreachable()) {
                        out!(
                            "{}:{}: warning: profile `{}`: {field}_keyring: {e}",
                            path.display(),
                            p.line,
                            p.name
                        );
                    }
                    if let Some(var) = cred.as_ref().and_then(|c| c.env_var())
                        && std::env::var_os(var).is_none_or(|v| v.is_empty())
                    {
                        out!(
                            "{}:{}: warning: profile `{}`: {field}_env names {var}, which is not set in this shell",
                            path.display(),
                            p.line,
                            p.name
                        );
                    }
                }
            }
            out!("{}: ok, {} profile(s)", path.display(), cfg.profiles.len());
            EXIT_OK
        }
    }
}
