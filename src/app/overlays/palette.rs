//! The `:` command palette: commands with Tab completion (profiles and themes as arguments).

use super::{clear, opened, type_into};
use crate::app::action::{Action, Effect, Mutation};
use crate::app::messages::toast;
use crate::app::overlays::confirm::confirm_for;
use crate::app::panes::{show_pane, show_tab};
use crate::app::state::{Level, Overlay, State};
use crate::domain::Resource;
use ratatui_textarea::TextArea;

/// Palette commands: name, description. Names ending in a space take an argument.
pub(crate) const COMMANDS: &[(&str, &str)] = &[
    ("projects", "Projects pane"),
    ("developers", "Developers pane"),
    ("secrets", "Secrets pane"),
    ("builds", "Builds pane: queued and running work"),
    ("releases", "Releases pane: environments and promotion"),
    ("deployments", "Releases pane: deployment history"),
    ("environments", "Releases pane: the pipeline"),
    ("audit", "Audit pane: every change made from here"),
    (
        "overview",
        "every profile at once: failing, running, promoting",
    ),
    ("queue", "Builds pane: queued and running work"),
    ("profiles", "list profiles and switch"),
    ("profile ", "switch to a profile: profile <name>"),
    ("theme ", "change theme: theme <name>"),
    ("view ", "open a saved view ([[views]]): view <name>"),
    ("refresh", "reload this pane"),
    (
        "diff",
        "log: only what differs from the last green build (d; D picks the build)",
    ),
    ("summary", "log: why this failed build failed (i)"),
    (
        "messages",
        "every message of this session, with its time and profile",
    ),
    (
        "watching",
        "watched builds, runs and deployments of every profile (w adds one)",
    ),
    ("help", "keys for this pane"),
    ("quit", "leave shipdeck"),
];

/// The palette, opened with `text` typed.
pub fn open(text: &str) -> Overlay {
    let mut input = TextArea::new(vec![text.to_string()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    Overlay::Palette { input, selected: 0 }
}

/// Candidates for the palette's current text: `(completion, description)`.
pub fn candidates(s: &State, text: &str) -> Vec<(String, String)> {
    let text = text.trim_start();
    if let Some(arg) = text.strip_prefix("profile ") {
        return s
            .profiles
            .iter()
            .filter(|p| p.name.starts_with(arg.trim()))
            .map(|p| {
                let current = if s.profile().is_some_and(|c| c.name == p.name) {
                    "● current · "
                } else {
                    ""
                };
                let ro = if p.read_only { " · read-only" } else { "" };
                (
                    format!("profile {}", p.name),
                    format!("{current}{}{ro} · {}", p.kind.label(), p.url),
                )
            })
            .collect();
    }
    if let Some(arg) = text.strip_prefix("theme ") {
        return s
            .theme_names
            .iter()
            .filter(|t| t.starts_with(arg.trim()))
            .map(|t| (format!("theme {t}"), "theme".to_string()))
            .collect();
    }
    if let Some(arg) = text.strip_prefix("view ") {
        return s
            .views
            .iter()
            .filter(|v| v.name.starts_with(arg.trim()))
            .map(|v| (format!("view {}", v.name), crate::app::views::describe(v)))
            .collect();
    }
    let mut out: Vec<(String, String)> = COMMANDS
        .iter()
        .filter(|(c, _)| c.starts_with(text))
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect();
    if out.is_empty() && !text.is_empty() {
        out = COMMANDS
            .iter()
            .filter(|(c, _)| c.contains(text))
            .map(|(c, d)| (c.to_string(), d.to_string()))
            .collect();
    }
    out
}

/// Keys in the palette.
pub(crate) fn handle(
    s: &mut State,
    mut input: TextArea<'static>,
    mut selected: usize,
    a: Action,
    fx: &mut Vec<Effect>,
) -> Overlay {
    let text = input.lines().join("");
    let cands = candidates(s, &text);
    match a {
        Action::Cancel => Overlay::None,
        Action::Accept => {
            let chosen = cands
                .get(selected)
                .map(|c| c.0.clone())
                .filter(|c| !c.ends_with(' ') && c.starts_with(text.trim()))
                .unwrap_or(text);
            run_command(s, chosen.trim(), fx);
            opened(s)
        }
        Action::Complete => match cands.get(selected) {
            Some((c, _)) => open(c),
            None => Overlay::Palette { input, selected },
        },
        Action::Down => {
            selected = (selected + 1).min(cands.len().saturating_sub(1));
            Overlay::Palette { input, selected }
        }
        Action::Up => Overlay::Palette {
            input,
            selected: selected.saturating_sub(1),
        },
        Action::ClearLine => {
            clear(&mut input);
            Overlay::Palette { input, selected: 0 }
        }
        Action::Input(key) => {
            type_into(&mut input, key);
            Overlay::Palette { input, selected: 0 }
        }
        _ => Overlay::Palette { input, selected },
    }
}

fn run_command(s: &mut State, cmd: &str, fx: &mut Vec<Effect>) {
    let (name, arg) = match cmd.split_once(' ') {
        Some((n, a)) => (n, a.trim()),
        None => (cmd, ""),
    };
    match name {
        "" => {}
        "projects" => show_pane(s, Resource::Projects, fx),
        "developers" => show_pane(s, Resource::Developers, fx),
        "secrets" => show_pane(s, Resource::Secrets, fx),
        "builds" | "queue" => show_tab(s, Resource::Builds, fx),
        "releases" | "deployments" | "environments" => show_pane(s, Resource::Releases, fx),
        "audit" => show_pane(s, Resource::Audit, fx),
        "overview" => show_pane(s, Resource::Overview, fx),
        "run" | "runner" if !s.caps().is_some_and(|c| c.builds.direct_runs) => toast(
            s,
            Level::Warn,
            "this profile has no runner (Candor with runner_url) to run plans on",
        ),
        "run" if arg.is_empty() => toast(
            s,
            Level::Info,
            "run <plan file>: the plan (JSON) to run on the runner",
        ),
        "run" => {
            s.overlay = confirm_for(
                s,
                Mutation::RunPlan {
                    path: arg.to_string(),
                },
            )
        }
        "runner" => fx.push(Effect::RunnerHealth { epoch: s.epoch }),
        "profiles" => s.overlay = open("profile "),
        "profile" if arg.is_empty() => s.overlay = open("profile "),
        "profile" => crate::app::profile::switch_profile(s, arg, fx),
        "theme" if arg.is_empty() => s.overlay = open("theme "),
        "view" | "views" if arg.is_empty() => s.overlay = open("view "),
        "view" => crate::app::views::open_named(s, arg, fx),
        "theme" => crate::app::update::set_theme(s, arg),
        "refresh" => crate::app::profile::refresh(s, fx),
        "diff" | "summary" if !s.log_visible() => toast(
            s,
            Level::Info,
            "open a build's log first (Enter on a build), then compare or summarise it",
        ),
        "diff" => {
            crate::app::panes::triage::handle(s, &Action::ToggleDiff, fx);
        }
        "summary" => {
            crate::app::panes::triage::handle(s, &Action::ToggleSummary, fx);
        }
        "help" => s.overlay = super::help::open(s),
        "messages" => {
            s.overlay = Overlay::Message {
                title: "messages".into(),
                lines: crate::app::messages::history(s),
            }
        }
        "watching" | "watch" => crate::app::watch::open(s),
        "quit" | "q" => s.quit = true,
        other => toast(
            s,
            Level::Error,
            format!("unknown command `{other}`; press : and Tab to see the commands"),
        ),
    }
}
