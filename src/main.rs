use clap::Parser;
use shipdeck::cli::{self, Cli, Command};
use std::time::Duration;

fn main() {
    let cli = Cli::parse();
    let log_guard = init_logging(&cli);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            // Never `eprintln!`: it panics when stderr is a closed pipe.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "shipdeck: cannot start the async runtime: {e}"
            );
            std::process::exit(cli::EXIT_API);
        }
    };
    // The dashboard, the demo and the simulator handle signals themselves; a one-shot
    // command ends on them (after ending any password command it started).
    let one_shot = !matches!(
        cli.command,
        None | Some(Command::Demo | Command::Simulate { .. })
    );
    let code = rt.block_on(async {
        #[cfg(unix)]
        tokio::spawn(end_password_commands_on_signal(one_shot));
        cli::main(cli).await
    });
    shipdeck::config::kill_running_commands();
    // Do not wait for in-flight requests or a hanging password command: leave promptly.
    rt.shutdown_timeout(Duration::from_millis(100));
    // `exit` runs no destructors: flush the log file first (its last lines say why).
    drop(log_guard);
    std::process::exit(code);
}

/// On SIGINT, SIGTERM or SIGHUP: kill the process groups of running password commands and,
/// for a one-shot command, leave as the signal would have (128 + its number).
#[cfg(unix)]
async fn end_password_commands_on_signal(exit: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    loop {
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
        };
        shipdeck::config::kill_running_commands();
        if exit {
            std::process::exit(code);
        }
    }
}

/// Logs go to a file in the state directory, never to the terminal. The demo writes nothing
/// unless SHIPDECK_LOG asks for it.
fn init_logging(cli: &Cli) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let wanted = std::env::var("SHIPDECK_LOG").ok();
    if matches!(cli.command, Some(Command::Demo)) && wanted.is_none() {
        return None;
    }
    let dir = shipdeck::config::state_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "shipdeck.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_new(wanted.as_deref().unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(shipdeck::safe::SafeMakeWriter(writer))
        .with_ansi(false)
        .init();
    Some(guard)
}
