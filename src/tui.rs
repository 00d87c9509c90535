//! The terminal side: set-up and restore, the event loop (drain all pending events, then draw
//! once), signals, and handing effects to the runner.

use crate::app::action::{Action, Effect, ProfileInfo};
use crate::app::runner::Runner;
use crate::app::state::{Screen, State};
use crate::app::{Keymap, update};
use crate::config::Config;
use crate::ui::{self, Themes};
use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

pub struct TuiOptions {
    pub config: Config,
    /// Profile to open (already validated against the config).
    pub profile: Option<String>,
    pub read_only: bool,
    pub theme: Option<String>,
    pub no_color: bool,
    /// Report clicks and the wheel (`--no-mouse` / `mouse = false`: off).
    pub mouse: bool,
    pub keymap: Keymap,
    /// Shown on the first-run screen.
    pub config_path: Option<String>,
    /// The audit trail file (`None`: nothing is written, e.g. the demo).
    pub audit_file: Option<std::path::PathBuf>,
}

/// Run the dashboard until the user quits, a signal arrives or the terminal goes away.
pub async fn run(opts: TuiOptions) -> std::io::Result<()> {
    let themes = Themes::load(
        crate::config::dirs()
            .map(|d| d.config_dir().join("themes"))
            .as_deref(),
    );
    let profiles: Vec<ProfileInfo> = opts
        .config
        .profiles
        .iter()
        .map(ProfileInfo::from_profile)
        .collect();
    let profile_names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let mut state = State::new(profiles, opts.keymap);
    state.instance = std::process::id();
    state.display = has_display();
    let term_env = crate::termseq::TermEnv::from_env();
    state.clipboard_hint = clipboard_hint();
    state.cli_read_only = opts.read_only;
    state.config_theme = opts.config.theme.clone();
    state.views = opts.config.views.clone();
    state.theme_override = if opts.no_color {
        Some("mono".into())
    } else {
        opts.theme
    };
    state.theme_names = themes.names();
    state.refresh_ms = opts.config.refresh_secs * 1000;
    state.log_capacity = opts.config.log_buffer_lines;
    state.diff = opts.config.diff.clone();
    if let Some(d) = crate::config::dirs() {
        state.cache_dir = d.cache_dir().to_path_buf();
        state.save_dir = d.data_dir().join("logs");
    }
    // Spill files of logs live here; create it once (a failure only disables spilling).
    let _ = std::fs::create_dir_all(&state.cache_dir);
    state.config_path = opts.config_path;
    if state.screen == Screen::FirstRun && opts.config.profiles.is_empty() {
        state.conn = crate::app::state::Conn::Idle;
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    if let Some(path) = &opts.audit_file {
        state.audit = crate::app::mutation::read_audit(path, 1_000);
    }
    // The demo (no audit file) writes nothing, not even the list cache.
    let cache = opts.audit_file.is_some().then(|| state.cache_dir.clone());
    // The watch list of each profile, kept in the state directory (the demo keeps none).
    let watch_dir = opts
        .audit_file
        .is_some()
        .then(crate::config::state_dir)
        .flatten()
        .map(|d| d.join("watch"));
    if let Some(dir) = &watch_dir {
        let items = crate::app::watch::store::load(dir, &profile_names);
        crate::app::watch::restore(&mut state, items);
    }
    let mut runner = Runner::new(opts.config, tx)
        .with_audit_file(opts.audit_file.clone())
        .with_cache_dir(cache)
        .with_watch_dir(watch_dir);
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;

    let mut terminal = ratatui::try_init()?;
    let mouse = opts.mouse;
    mouse_capture(mouse);
    // ratatui's hook restores the terminal and prints the panic; a panic in a background task
    // must not leave the dashboard running on a restored (cooked) terminal, so leave too.
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        mouse_capture(false);
        restore_and_print(info);
        std::process::exit(101);
    }));
    // Clipboard writes are terminal output: collected here and written by this loop.
    let out: std::cell::RefCell<Vec<Effect>> = Default::default();
    let dispatch = |state: &mut State, runner: &mut Runner, a: Action| {
        for effect in update(state, a, now()) {
            match effect {
                Effect::Copy(_) | Effect::Alert(_) | Effect::Suspend => {
                    out.borrow_mut().push(effect)
                }
                other => runner.run(other),
            }
        }
    };
    let size = terminal.size()?;
    dispatch(
        &mut state,
        &mut runner,
        Action::Resize {
            cols: size.width,
            rows: size.height,
        },
    );
    for p in &themes.problems {
        tracing::warn!("{p}");
    }
    // Paint before any network reply: the first frame does not wait for the login.
    if let Some(p) = opts.profile {
        dispatch(&mut state, &mut runner, Action::SwitchProfile(p));
    }

    let mut events = EventStream::new();
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let result = loop {
        for effect in out.borrow_mut().drain(..) {
            let w = terminal.backend_mut();
            let _ = match effect {
                Effect::Copy(text) => osc52(w, &text),
                Effect::Alert(a) => write_raw(w, &crate::termseq::alert(&a, term_env)),
                Effect::Suspend => {
                    suspend(&mut terminal, mouse)?;
                    state.dirty = true;
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        if state.dirty {
            state.wall = chrono::Utc::now();
            if let Err(e) = draw(&mut terminal, &state, &themes) {
                break Err(e); // the terminal is gone
            }
            let _ = link_in_footer(&mut terminal, &state);
            state.dirty = false;
        }
        if state.quit {
            break Ok(());
        }
        let wait = state
            .next_deadline()
            .map_or(Duration::from_secs(3600), |d| {
                Duration::from_millis(d.saturating_sub(now()))
            });
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    let size = terminal.size().map(|s| s.into()).unwrap_or_default();
                    if let Some(a) = action_for(&state, ev, size) {
                        dispatch(&mut state, &mut runner, a);
                    }
                }
                // End of input or a read error: the terminal was lost.
                other => {
                    tracing::info!(?other, "terminal input ended; leaving");
                    break Ok(());
                }
            },
            Some(a) = rx.recv() => dispatch(&mut state, &mut runner, a),
            _ = hup.recv() => {
                tracing::info!("SIGHUP; leaving");
                break Ok(());
            }
            _ = term.recv() => {
                tracing::info!("SIGTERM; leaving");
                break Ok(());
            }
            _ = int.recv() => {
                tracing::info!("SIGINT; leaving");
                break Ok(());
            }
            _ = tokio::time::sleep(wait) => dispatch(&mut state, &mut runner, Action::Tick),
        }
        // Drain whatever else is ready so a burst costs one frame.
        while let Ok(a) = rx.try_recv() {
            dispatch(&mut state, &mut runner, a);
        }
    };
    mouse_capture(false);
    ratatui::restore();
    // Changes in flight finish and are audited before shipdeck leaves (and the session ends).
    let pending = runner.writes_pending();
    if pending > 0 {
        crate::cli::out::err!("shipdeck: waiting for {pending} change(s) to be answered…");
    }
    runner.finish(Duration::from_secs(30)).await;
    result
}

/// A browser can be started: a graphical session (X11 or Wayland), or macOS.
fn has_display() -> bool {
    cfg!(target_os = "macos")
        || std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// A link in the message line becomes clickable (OSC 8) over the text the frame drew: the
/// footer's message starts at the second column.
fn link_in_footer(terminal: &mut DefaultTerminal, state: &State) -> std::io::Result<()> {
    use unicode_width::UnicodeWidthStr;
    let Some(toast) = state.toast.as_ref() else {
        return Ok(());
    };
    let Some(url) = toast.link.as_deref() else {
        return Ok(());
    };
    let Some(at) = toast.text.find(url) else {
        return Ok(());
    };
    let size = terminal.size()?;
    // Only where the footer shows the message: the dashboard at a usable size, no filter line.
    let footer_shows_it = state.screen == Screen::Dashboard
        && !matches!(state.overlay, crate::app::state::Overlay::Filter { .. })
        && size.width >= ui::MIN_WIDTH
        && size.height >= ui::MIN_HEIGHT;
    if !footer_shows_it {
        return Ok(());
    }
    let before = crate::ui::clean(&toast.text[..at]);
    let col = 1 + before.width();
    let shown = crate::ui::clean(url);
    // Only a link that is wholly on screen (a narrow terminal cuts the message).
    if col + shown.width() >= usize::from(size.width) || size.height == 0 {
        return Ok(());
    }
    let seq = crate::termseq::link_over(size.height - 1, col as u16, &shown, url);
    write_raw(terminal.backend_mut(), &seq)
}

/// Bytes straight to the terminal (sequences outside the drawn frame).
fn write_raw(out: &mut impl std::io::Write, bytes: &str) -> std::io::Result<()> {
    out.write_all(bytes.as_bytes())?;
    out.flush()
}

/// Terminal events become actions: keys through the router (only visible layers see them),
/// clicks and the wheel by where they land on the screen as drawn.
fn action_for(state: &State, ev: Event, size: ratatui::layout::Rect) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => crate::app::router::route(state, &k),
        Event::Resize(cols, rows) => Some(Action::Resize { cols, rows }),
        Event::Mouse(m) => crate::ui::mouse::action(state, size, &m),
        _ => None,
    }
}

/// Mouse reporting on or off (`mouse = false` / `--no-mouse` never turn it on, so the
/// terminal's own selection keeps working).
fn mouse_capture(on: bool) {
    use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    let _ = if on {
        crossterm::execute!(std::io::stdout(), EnableMouseCapture)
    } else {
        crossterm::execute!(std::io::stdout(), DisableMouseCapture)
    };
}

fn draw(terminal: &mut DefaultTerminal, state: &State, themes: &Themes) -> std::io::Result<()> {
    let theme = themes.get(state.theme_name());
    // Synchronized updates: terminals that support them show the frame at once, never half.
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| ui::draw(f, state, theme))?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

/// Inside tmux a copy (OSC 52) reaches the clipboard only with `set-clipboard` on (or
/// external): asked once at start, from tmux itself.
fn clipboard_hint() -> Option<String> {
    std::env::var_os("TMUX")?;
    let out = std::process::Command::new("tmux")
        .args(["show-options", "-gv", "set-clipboard"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (value == "off").then(|| {
        "tmux has set-clipboard off: add `set -g set-clipboard on` to ~/.tmux.conf".to_string()
    })
}

/// Ctrl-Z: give the terminal back, stop (SIGTSTP, so the shell's job control takes over), and
/// on `fg` take the terminal again and redraw everything.
fn suspend(terminal: &mut DefaultTerminal, mouse: bool) -> std::io::Result<()> {
    mouse_capture(false);
    ratatui::restore();
    // SAFETY: raising a signal on our own process has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    mouse_capture(mouse);
    terminal.clear()
}

/// Put text on the clipboard of the terminal the user sits at, also over SSH: OSC 52. Inside
/// tmux the sequence is sent both plainly (tmux `set-clipboard on`) and wrapped for passthrough
/// (`allow-passthrough on`), since either may be configured.
fn osc52(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    use base64::Engine;
    let text = crate::safe::redact(text);
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    write!(out, "\x1b]52;c;{b64}\x07")?;
    if std::env::var_os("TMUX").is_some() {
        write!(out, "\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\")?;
    }
    out.flush()
}
