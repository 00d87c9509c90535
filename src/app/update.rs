//! `update(state, action, now) -> effects`: the only place state changes. Pure and synchronous:
//! no I/O, no clock reads, no `.await`. Unit-tested without a terminal or a network.

use super::action::{Action, Effect, ListCache, Listing, Mutation, Outcome};
use super::logview::{LogView, TailState};
use super::state::{
    Confirm, Conn, Detail, LaunchForm, Level, ListPane, LoadKind, MAX_REFRESH_ROWS, Millis,
    Overlay, PER_PAGE, Screen, State, Toast, short_id,
};
use crate::api::ApiError;
use crate::domain::{Build, BuildScope, LaunchOptions, ListQuery, Page, Resource, Row, Sort};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// Spinner frame interval while something loads.
pub const SPINNER_MS: Millis = 120;
const TOAST_MS: Millis = 5_000;
const MAX_BACKOFF_MS: Millis = 30_000;

/// Palette commands: name, description. Names ending in a space take an argument.
pub const COMMANDS: &[(&str, &str)] = &[
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
    ("refresh", "reload this pane"),
    ("help", "keys for this pane"),
    ("quit", "leave shipdeck"),
];

/// Panes of the SPEC that later versions add; named so the palette can say so instead of failing.
const NOT_YET: &[&str] = &[];

/// Apply `f` to the list pane of a resource (each has its own row type).
macro_rules! with_list {
    ($lists:expr, $res:expr, |$l:ident| $body:expr) => {
        match $res {
            Resource::Projects => {
                let $l = &mut $lists.projects;
                $body
            }
            Resource::Developers => {
                let $l = &mut $lists.developers;
                $body
            }
            Resource::Secrets => {
                let $l = &mut $lists.secrets;
                $body
            }
            Resource::Builds => {
                let $l = &mut $lists.builds;
                $body
            }
            Resource::Releases => {
                let $l = &mut $lists.releases;
                $body
            }
            Resource::Audit => {
                let $l = &mut $lists.audit;
                $body
            }
            Resource::Overview => {
                let $l = &mut $lists.overview;
                $body
            }
        }
    };
}

pub fn update(s: &mut State, action: Action, now: Millis) -> Vec<Effect> {
    s.now = now;
    let mut fx = Vec::new();
    match action {
        Action::Tick => {
            tick(s, &mut fx);
            return fx;
        }
        Action::LoggedIn { epoch, result } => {
            if epoch == s.epoch {
                logged_in(s, result, &mut fx);
            }
        }
        Action::ListLoaded { epoch, req, result } => {
            if epoch == s.epoch {
                list_loaded(s, req, result, &mut fx);
            }
            return fx;
        }
        Action::LaunchOptionsLoaded {
            epoch,
            project_id,
            project,
            result,
        } => {
            if epoch == s.epoch {
                launch_form(s, project_id, project, result);
            }
        }
        Action::CacheLoaded { epoch, cache } => {
            if epoch == s.epoch {
                let ListCache {
                    projects,
                    developers,
                    secrets,
                } = *cache;
                prefill(&mut s.lists.projects, projects);
                prefill(&mut s.lists.developers, developers);
                prefill(&mut s.lists.secrets, secrets);
            }
        }
        Action::ArchivesLoaded {
            epoch,
            build,
            result,
        } => {
            if epoch == s.epoch {
                match result {
                    Ok(files) if files.is_empty() => toast(
                        s,
                        Level::Info,
                        format!("{} archived no files", short_id(&build.id)),
                    ),
                    Ok(items) => {
                        s.overlay = Overlay::Pick {
                            title: format!("files of {} {}", build.project, short_id(&build.id)),
                            items,
                            selected: 0,
                            build,
                        }
                    }
                    Err(e) => toast(
                        s,
                        Level::Error,
                        format!("cannot list the archived files: {e}"),
                    ),
                }
            }
        }
        Action::DownloadProgress { file, done, total } => {
            let of = total
                .map(|t| format!(" of {}", bytes(t)))
                .unwrap_or_default();
            toast(
                s,
                Level::Info,
                format!("downloading {file}: {}{of}", bytes(done)),
            );
        }
        Action::Downloaded { file, path, result } => match result {
            Ok(n) => toast(
                s,
                Level::Info,
                format!("{file}: {} saved to {}", bytes(n), path.display()),
            ),
            Err(e) => toast(s, Level::Error, format!("download of {file} failed: {e}")),
        },
        Action::RunnerHealth { epoch, result } => {
            if epoch == s.epoch {
                match result {
                    Ok(h) => {
                        let level = if h.worrying() {
                            Level::Warn
                        } else {
                            Level::Info
                        };
                        toast(s, level, format!("runner: {}", h.summary()));
                    }
                    Err(e) => toast(s, Level::Error, format!("runner: {e}")),
                }
            }
        }
        Action::EnvironmentsLoaded { epoch, result } => {
            if epoch == s.epoch {
                super::releases::environments_loaded(s, result, &mut fx);
            }
        }
        Action::DeploymentsLoaded { epoch, req, result } => {
            if epoch == s.epoch && !super::releases::deployments_loaded(s, req, &result, &mut fx) {
                list_loaded(s, req, result.map(Listing::Deployments), &mut fx);
            }
            return fx;
        }
        Action::Mutated(done) => {
            let super::action::Mutated {
                epoch,
                op,
                result,
                audit,
            } = *done;
            // The trail keeps every change, also from a profile since switched away from.
            let mut audit = audit;
            audit.key = format!("session-{}", s.audit.len());
            s.audit.push(audit);
            if s.pane == Resource::Audit {
                load(s, Resource::Audit, LoadKind::Reload, &mut fx);
            }
            if epoch == s.epoch {
                mutated(s, op, result, &mut fx);
            }
        }
        Action::LogIngest { epoch, req, items } => {
            if epoch == s.epoch
                && let Some(log) = s.log.as_mut().filter(|l| l.req == req)
                && log.ingest(items)
            {
                s.dirty = true;
            }
            return fx;
        }
        Action::LogTailEnded { epoch, req, result } => {
            if epoch == s.epoch
                && let Some(log) = s.log.as_mut().filter(|l| l.req == req)
            {
                if let Err(e) = result {
                    log.state = TailState::Failed(e.to_string());
                } else if matches!(log.state, TailState::Live | TailState::Loading) {
                    log.state = TailState::Done(None);
                }
            }
        }
        Action::Resize { rows, .. } => {
            // header, tabs, footer, block borders and the table header.
            s.page_rows = (rows as usize).saturating_sub(6).max(1);
            if let Some(log) = &mut s.log {
                log.height = s.page_rows + 1;
                log.clamp();
            }
            prefetch(s, &mut fx);
        }
        Action::Quit => s.quit = true,
        Action::Input(key) => input(s, key, &mut fx),
        Action::StartDemo => {
            fx.push(Effect::StartDemo);
            toast(s, Level::Info, "starting the built-in simulator…");
        }
        Action::DemoReady { profiles, open } => {
            s.profiles = profiles;
            s.screen = Screen::Dashboard;
            switch_profile(s, &open, &mut fx);
        }
        Action::SwitchProfile(name) => switch_profile(s, &name, &mut fx),
        Action::SetTheme(name) => {
            if s.theme_names.contains(&name) {
                s.theme_override = Some(name);
            } else {
                let text = format!("no theme `{name}`; themes: {}", s.theme_names.join(", "));
                toast(s, Level::Error, text);
            }
        }
        _ if s.screen == Screen::FirstRun => {}
        a if s.log.is_some() && log_action(s, &a, &mut fx) => {}
        a if s.pane == Resource::Releases
            && s.detail.is_none()
            && super::releases::action(s, &a, &mut fx) => {}
        // In the Builds pane, R rolls back the way build-based backends do: run an earlier
        // build again (Serverless-cd redeploy); T reports a status, A declares an asset.
        Action::Rollback if s.pane == Resource::Builds => ask_redeploy(s),
        Action::SetStatus if s.pane == Resource::Builds => build_form(s, false),
        Action::CreateAsset if s.pane == Resource::Builds => build_form(s, true),
        Action::CreateAsset => {}
        Action::Archives => ask_archives(s, &mut fx),
        Action::PrevEnv
        | Action::NextEnv
        | Action::NextProject
        | Action::Promote
        | Action::DeployCandidate
        | Action::Rollback
        | Action::SetStatus
        | Action::CutRelease => {}
        Action::Help => {
            s.overlay = match s.overlay {
                Overlay::Help { .. } => Overlay::None,
                _ => Overlay::Help { scroll: 0 },
            }
        }
        Action::OpenPalette => s.overlay = palette(""),
        Action::StartFilter => {
            if s.detail.is_none() {
                let current = with_list!(s.lists, s.pane, |l| l.filter.clone());
                let mut input = TextArea::new(vec![current]);
                input.move_cursor(ratatui_textarea::CursorMove::End);
                s.overlay = Overlay::Filter { input };
            }
        }
        Action::Up => move_by(s, -1, &mut fx),
        Action::Down => move_by(s, 1, &mut fx),
        Action::HalfPageDown => move_by(s, (s.page_rows / 2).max(1) as i64, &mut fx),
        Action::HalfPageUp => move_by(s, -((s.page_rows / 2).max(1) as i64), &mut fx),
        Action::PageDown => move_by(s, s.page_rows.max(1) as i64, &mut fx),
        Action::PageUp => move_by(s, -(s.page_rows.max(1) as i64), &mut fx),
        Action::Top => move_by(s, i64::MIN / 2, &mut fx),
        Action::Bottom => {
            move_by(s, i64::MAX / 2, &mut fx);
        }
        Action::Open => open(s, &mut fx),
        Action::Inspect => {
            if s.detail.is_none() {
                let id = with_list!(s.lists, s.pane, |l| l
                    .selected_row()
                    .map(|r| r.id().to_string()));
                if let Some(id) = id {
                    s.detail = Some(Detail {
                        resource: s.pane,
                        id,
                    });
                }
            }
        }
        Action::Launch => start_launch(s, &mut fx),
        Action::Kill => ask_kill(s),
        // Log-viewer actions outside the viewer do nothing.
        Action::ToggleFollow
        | Action::NextMatch
        | Action::PrevMatch
        | Action::ToggleMatchFilter
        | Action::ToggleWrap
        | Action::ToggleLineNumbers
        | Action::JumpToError
        | Action::SaveLog
        | Action::Copy
        | Action::ToggleMark
        | Action::ToggleSteps
        | Action::NextStep
        | Action::PrevStep
        | Action::ScrollLeft
        | Action::ScrollRight => {}
        Action::Back => back(s, &mut fx),
        Action::NextPane => cycle_pane(s, 1, &mut fx),
        Action::PrevPane => cycle_pane(s, -1, &mut fx),
        Action::ShowPane(r) => {
            // The Builds tab is the queue; a project's builds are reached with Enter.
            if r == Resource::Builds && s.builds_scope != BuildScope::Active {
                s.builds_scope = BuildScope::Active;
                s.lists.builds = Default::default();
            }
            show_pane(s, r, &mut fx)
        }
        Action::Refresh => refresh(s, &mut fx),
        Action::CycleSort => cycle_sort(s, &mut fx),
        Action::ToggleSortOrder => {
            let changed = with_list!(s.lists, s.pane, |l| match &mut l.sort {
                Some(sort) => {
                    sort.ascending = !sort.ascending;
                    true
                }
                None => false,
            });
            if changed {
                load(s, s.pane, LoadKind::Reload, &mut fx);
            } else {
                toast(s, Level::Info, "press s to pick a sort column first");
            }
        }
    }
    s.dirty = true;
    fx
}

fn toast(s: &mut State, level: Level, text: impl Into<String>) {
    let ms = if level == Level::Error {
        TOAST_MS * 2
    } else {
        TOAST_MS
    };
    s.toast = Some(Toast {
        level,
        text: text.into(),
        until: s.now + ms,
    });
    s.dirty = true;
}

fn backoff(failures: u32) -> Millis {
    (1_000u64 << failures.saturating_sub(1).min(5)).min(MAX_BACKOFF_MS)
}

fn palette(text: &str) -> Overlay {
    let mut input = TextArea::new(vec![text.to_string()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    Overlay::Palette { input, selected: 0 }
}

/// Candidates for the palette's current text: `(completion, description)`.
pub fn palette_candidates(s: &State, text: &str) -> Vec<(String, String)> {
    let text = text.trim_start();
    if let Some(arg) = text.strip_prefix("profile ") {
        return s
            .profiles
            .iter()
            .filter(|p| p.name.starts_with(arg.trim()))
            .map(|p| {
                (
                    format!("profile {}", p.name),
                    format!("{} · {}", p.kind.as_str(), p.url),
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

fn input(s: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if s.screen == Screen::FirstRun {
        match key.code {
            KeyCode::Char('d') => {
                fx.push(Effect::StartDemo);
                toast(s, Level::Info, "starting the built-in simulator…");
            }
            KeyCode::Char('q') | KeyCode::Esc => s.quit = true,
            _ => {}
        }
        s.dirty = true;
        return;
    }
    let overlay = std::mem::replace(&mut s.overlay, Overlay::None);
    s.overlay = match overlay {
        Overlay::Palette {
            mut input,
            mut selected,
        } => {
            let text = input.lines().join("");
            let cands = palette_candidates(s, &text);
            match key.code {
                KeyCode::Esc => Overlay::None,
                KeyCode::Enter => {
                    let chosen = cands
                        .get(selected)
                        .map(|c| c.0.clone())
                        .filter(|c| !c.ends_with(' ') && c.starts_with(text.trim()))
                        .unwrap_or(text);
                    s.overlay = Overlay::None;
                    run_command(s, chosen.trim(), fx);
                    s.dirty = true;
                    return;
                }
                KeyCode::Tab => match cands.get(selected) {
                    Some((c, _)) => palette(c),
                    None => Overlay::Palette { input, selected },
                },
                KeyCode::Down => {
                    selected = (selected + 1).min(cands.len().saturating_sub(1));
                    Overlay::Palette { input, selected }
                }
                KeyCode::Up => {
                    selected = selected.saturating_sub(1);
                    Overlay::Palette { input, selected }
                }
                _ => {
                    input.input(key);
                    Overlay::Palette { input, selected: 0 }
                }
            }
        }
        Overlay::Filter { mut input } => match key.code {
            KeyCode::Esc if s.log.is_some() => Overlay::None,
            KeyCode::Esc => {
                // Back to the filter that was applied before typing.
                let pane = s.pane;
                let server = s
                    .caps()
                    .and_then(|c| c.list(pane))
                    .is_some_and(|l| l.server_filter);
                with_list!(s.lists, pane, |l| {
                    l.server_filter = server;
                    if server {
                        l.filter = l.applied_filter.clone();
                    }
                    l.refilter();
                });
                Overlay::None
            }
            KeyCode::Enter => {
                let text = input.lines().join("").trim().to_string();
                if let Some(log) = &mut s.log {
                    let needle = text.clone();
                    match log.set_search(text) {
                        Some(n) if n < log.first_in_memory() => toast(
                            s,
                            Level::Info,
                            format!(
                                "first match is line {} (on disk: save the log to see it)",
                                n + 1
                            ),
                        ),
                        None if !needle.is_empty() => {
                            toast(s, Level::Warn, format!("no line contains “{needle}”"))
                        }
                        _ => {}
                    }
                } else {
                    commit_filter(s, text, fx);
                }
                Overlay::None
            }
            _ if s.log.is_some() => {
                input.input(key);
                Overlay::Filter { input }
            }
            _ => {
                if !(key.modifiers.contains(KeyModifiers::CONTROL)
                    && matches!(key.code, KeyCode::Char('m')))
                {
                    input.input(key);
                }
                // Preview on loaded rows while typing; the server is asked on Enter.
                let text = input.lines().join("");
                with_list!(s.lists, s.pane, |l| {
                    l.server_filter = false;
                    l.filter = text;
                    l.selected = 0;
                    l.refilter();
                });
                Overlay::Filter { input }
            }
        },
        Overlay::Message { .. } => Overlay::None,
        Overlay::Pick {
            title,
            items,
            selected,
            build,
        } => match key.code {
            KeyCode::Esc | KeyCode::Char('q') => Overlay::None,
            KeyCode::Char('j') | KeyCode::Down => Overlay::Pick {
                selected: (selected + 1).min(items.len().saturating_sub(1)),
                title,
                items,
                build,
            },
            KeyCode::Char('k') | KeyCode::Up => Overlay::Pick {
                selected: selected.saturating_sub(1),
                title,
                items,
                build,
            },
            KeyCode::Enter => match items.get(selected) {
                Some(file) => download_form(s, build, file.clone()),
                None => Overlay::None,
            },
            _ => Overlay::Pick {
                title,
                items,
                selected,
                build,
            },
        },
        Overlay::Help { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => Overlay::None,
            KeyCode::Char('j') | KeyCode::Down => Overlay::Help {
                scroll: scroll.saturating_add(1),
            },
            KeyCode::Char('k') | KeyCode::Up => Overlay::Help {
                scroll: scroll.saturating_sub(1),
            },
            _ => Overlay::Help { scroll },
        },
        Overlay::Confirm(c) => confirm_key(s, *c, key, fx),
        Overlay::Launch(form) => match launch_key(form, key) {
            FormResult::Open(form) => Overlay::Launch(*form),
            FormResult::Cancel => {
                toast(s, Level::Info, "cancelled: nothing was sent");
                Overlay::None
            }
            FormResult::Submit(op) => confirm_for(s, *op),
            FormResult::Download(build, file, path) => {
                toast(s, Level::Info, format!("downloading {file}…"));
                fx.push(Effect::Download { build, file, path });
                Overlay::None
            }
        },
        Overlay::None => Overlay::None,
    };
    s.dirty = true;
}

/// Keys in a confirmation: y (or Enter) re-emits the change, n/Esc sends nothing. A protected
/// environment takes its name typed instead of y.
fn confirm_key(s: &mut State, mut c: Confirm, key: KeyEvent, fx: &mut Vec<Effect>) -> Overlay {
    let cancel = |s: &mut State| {
        toast(s, Level::Info, "cancelled: nothing was sent");
        Overlay::None
    };
    if let Some((expected, input)) = &mut c.typed {
        return match key.code {
            KeyCode::Esc => cancel(s),
            KeyCode::Enter => {
                let typed = input.lines().join("");
                if typed.trim() == expected.as_str() {
                    s.overlay = Overlay::None;
                    mutate(s, c.pending, fx);
                    s.overlay.clone()
                } else {
                    c.error = Some(format!(
                        "type `{expected}` exactly to confirm; nothing was sent"
                    ));
                    Overlay::Confirm(Box::new(c))
                }
            }
            _ => {
                input.input(key);
                c.error = None;
                Overlay::Confirm(Box::new(c))
            }
        };
    }
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
            s.overlay = Overlay::None;
            mutate(s, c.pending, fx);
            s.overlay.clone()
        }
        // Rollback: force is a choice made here, explained in the dialog.
        KeyCode::Char('f') => {
            if let Mutation::Rollback { request, .. } = &mut c.pending {
                request.force = !request.force;
                let op = c.pending.clone();
                return confirm_for(s, op);
            }
            Overlay::Confirm(Box::new(c))
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => cancel(s),
        _ => Overlay::Confirm(Box::new(c)),
    }
}

/// The confirmation for a change: what will happen, on which profile, and — for protected
/// environments — the name to type.
pub fn confirm_for(s: &State, op: Mutation) -> Overlay {
    let profile = s.profile().map(|p| p.name.clone()).unwrap_or_default();
    let protected = |env: &str| {
        s.profile()
            .is_some_and(|p| p.protected_environments.iter().any(|e| e == env))
    };
    let (title, mut lines, typed_env): (&str, Vec<String>, Option<String>) = match &op {
        Mutation::Launch { project, request } => {
            let mut what = if request.skip_steps.is_empty() {
                "no step skipped".to_string()
            } else {
                format!("skipping {}", request.skip_steps.join(", "))
            };
            for (k, v) in &request.params {
                what.push_str(&format!(" · {k} {v}"));
            }
            (
                "launch a build",
                vec![format!("Start a build of {project}"), what],
                None,
            )
        }
        Mutation::Kill { build } => (
            "kill a build",
            vec![
                format!("Kill run {} of {}", short_id(&build.id), build.project),
                format!("It is {} now; this cannot be undone.", build.status.label()),
            ],
            None,
        ),
        Mutation::Redeploy { build } => (
            "redeploy",
            vec![
                format!(
                    "Run {} of {} again, as it was",
                    short_id(&build.id),
                    build.project
                ),
                "This deploys that version again (a rollback).".to_string(),
            ],
            None,
        ),
        Mutation::CreateRelease { request } => (
            "cut a release candidate",
            vec![
                format!("Create {} in {}", request.candidate, request.project),
                format!("from {} at {}", request.repo, request.commit),
                if request.build {
                    "and start its build workflow"
                } else {
                    "without a build"
                }
                .to_string(),
            ],
            None,
        ),
        Mutation::Deploy { request, from } => (
            "promote",
            vec![
                format!(
                    "Deploy {} to {} of {}",
                    request.candidate, request.environment, request.project
                ),
                format!(
                    "{}: {} → {}",
                    request.environment,
                    from.as_deref().unwrap_or("nothing yet"),
                    request.candidate
                ),
                "This starts the environment's deployment workflow.".to_string(),
            ],
            protected(&request.environment).then(|| request.environment.clone()),
        ),
        Mutation::SetStatus { request } => (
            "set deployment status",
            vec![
                format!(
                    "Mark {} on {} of {} as {}",
                    request.candidate, request.environment, request.project, request.status
                ),
                "This records a status; it starts no workflow.".to_string(),
            ],
            protected(&request.environment).then(|| request.environment.clone()),
        ),
        Mutation::RunPlan { path } => (
            "run a plan on the runner",
            vec![
                format!("Run the plan in {path} directly on the runner"),
                "It starts at once; its log opens and follows it.".to_string(),
            ],
            None,
        ),
        Mutation::ReportStatus { build, status } => (
            "report build status",
            vec![
                format!(
                    "Report build {} of {} as {status}",
                    short_id(&build.id),
                    build.project
                ),
                format!("It is {} now.", build.raw_status),
            ],
            None,
        ),
        Mutation::CreateAsset {
            build,
            kind,
            name,
            url,
        } => (
            "declare an asset",
            vec![
                format!(
                    "Declare a {kind} asset of build {} of {}",
                    short_id(&build.id),
                    build.project
                ),
                format!(
                    "{}{}",
                    name.as_deref().unwrap_or("(no name)"),
                    url.as_deref()
                        .map(|u| format!(" at {u}"))
                        .unwrap_or_default()
                ),
                "The answer says where the CI should push it.".to_string(),
            ],
            None,
        ),
        Mutation::Rollback { request, from } => (
            "roll back",
            vec![
                format!("Roll back {} of {}", request.environment, request.project),
                format!(
                    "{}: {} → the release that ran before it (active deployments are cancelled)",
                    request.environment,
                    from.as_deref().unwrap_or("current")
                ),
                if request.force {
                    "force: ON — also if the environment is frozen (f to turn off)".to_string()
                } else {
                    "force: off — a frozen environment refuses (f to force; a freeze is deliberate)"
                        .to_string()
                },
            ],
            protected(&request.environment).then(|| request.environment.clone()),
        ),
    };
    lines.push(format!("profile {profile}"));
    Overlay::Confirm(Box::new(Confirm {
        title: title.to_string(),
        lines,
        pending: op,
        typed: typed_env.map(|e| (e, TextArea::default())),
        error: None,
    }))
}

/// The single gate every change on the server passes through: read-only profiles (and
/// `--read-only`) are refused here, before any effect exists.
pub fn mutate(s: &mut State, op: Mutation, fx: &mut Vec<Effect>) {
    if s.read_only() {
        let who = if s.cli_read_only {
            "--read-only is set".to_string()
        } else {
            format!(
                "profile {} is read-only",
                s.profile().map(|p| p.name.as_str()).unwrap_or("")
            )
        };
        toast(
            s,
            Level::Error,
            format!(
                "refused: {who}; the {} of {} was not sent",
                op.verb().replace('_', " "),
                op.target()
            ),
        );
        return;
    }
    toast(
        s,
        Level::Info,
        format!("{} {}…", op.verb().replace('_', " "), op.target()),
    );
    fx.push(Effect::Mutate {
        epoch: s.epoch,
        op,
        profile: s.profile().map(|p| p.name.clone()).unwrap_or_default(),
        user: s
            .session
            .as_ref()
            .map(|x| x.user.name.clone())
            .unwrap_or_default(),
    });
}

/// A change came back: record it, say so, and refresh what it touched.
fn mutated(s: &mut State, op: Mutation, result: Result<Outcome, ApiError>, fx: &mut Vec<Effect>) {
    let target = op.target();
    let verb = op.verb().replace('_', " ");
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            toast(s, Level::Error, format!("{verb} of {target} failed: {e}"));
            return;
        }
    };
    match (op, outcome) {
        (Mutation::Launch { project, .. }, Outcome::Build(build))
        | (
            Mutation::Redeploy {
                build: Build { project, .. },
            },
            Outcome::Build(build),
        ) => launched(s, project, build, fx),
        (Mutation::RunPlan { .. }, Outcome::Build(build)) => {
            s.pane = Resource::Builds;
            s.detail = None;
            open_log(s, build, fx);
        }
        (Mutation::CreateAsset { build, kind, .. }, Outcome::Targets(targets)) => {
            let mut lines = vec![format!(
                "{kind} asset of {} declared; push it to:",
                short_id(&build.id)
            )];
            lines.extend(targets.iter().map(|t| format!("  {t}")));
            if targets.is_empty() {
                lines.push("  (the server named no target)".into());
            }
            s.overlay = Overlay::Message {
                title: "asset targets".into(),
                lines,
            };
        }
        (Mutation::ReportStatus { build, status }, _) => {
            toast(
                s,
                Level::Info,
                format!("build {} reported {status}", short_id(&build.id)),
            );
            load(s, Resource::Builds, LoadKind::Reload, fx);
        }
        (Mutation::Kill { build }, _) => {
            toast(
                s,
                Level::Info,
                format!("killed {} of {}", short_id(&build.id), build.project),
            );
            load(s, Resource::Builds, LoadKind::Reload, fx);
        }
        (op, _) => super::releases::changed(s, op, fx),
    }
}

enum FormResult {
    Open(Box<LaunchForm>),
    Cancel,
    Submit(Box<Mutation>),
    /// Not a change: an archived file to fetch to a path.
    Download(Box<Build>, String, std::path::PathBuf),
}

/// Keys in the launch form: Tab moves between the checklist, the skip text and the fields.
fn launch_key(mut form: LaunchForm, key: KeyEvent) -> FormResult {
    let order = form.focus_order();
    match key.code {
        KeyCode::Esc => return FormResult::Cancel,
        KeyCode::Tab | KeyCode::BackTab if !order.is_empty() => {
            let pos = order.iter().position(|f| *f == form.focus).unwrap_or(0) as i64;
            let dir = if key.code == KeyCode::Tab { 1 } else { -1 };
            form.focus = order[(pos + dir).rem_euclid(order.len() as i64) as usize];
        }
        KeyCode::Enter => return submit_form(form),
        _ if form.focus == 1 => {
            form.input.input(key);
            let typed = skip_list(&form.input.lines().join(""));
            for (name, skip) in &mut form.steps {
                *skip = typed.contains(name);
            }
            form.error = None;
        }
        _ if form.focus >= 2 => {
            if let Some((_, input)) = form.fields.get_mut(form.focus - 2) {
                input.input(key);
            }
            form.error = None;
        }
        KeyCode::Char('j') | KeyCode::Down => {
            form.cursor = (form.cursor + 1).min(form.steps.len().saturating_sub(1))
        }
        KeyCode::Char('k') | KeyCode::Up => form.cursor = form.cursor.saturating_sub(1),
        KeyCode::Char(' ') | KeyCode::Char('x') => {
            if let Some((_, skip)) = form.steps.get_mut(form.cursor) {
                *skip = !*skip;
            }
            let text = form
                .steps
                .iter()
                .filter(|(_, s)| *s)
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            form.input = TextArea::new(vec![text]);
            form.input.move_cursor(ratatui_textarea::CursorMove::End);
            form.error = None;
        }
        _ => {}
    }
    FormResult::Open(Box::new(form))
}

/// Check the form and turn it into a request (or say what is missing).
fn submit_form(mut form: LaunchForm) -> FormResult {
    if let super::state::FormPurpose::Download { build, file } = &form.purpose {
        let path = form
            .fields
            .first()
            .map(|(_, i)| i.lines().join("").trim().to_string())
            .unwrap_or_default();
        if path.is_empty() {
            form.error = Some("where to save it?".into());
            return FormResult::Open(Box::new(form));
        }
        return FormResult::Download(build.clone(), file.clone(), std::path::PathBuf::from(path));
    }
    let typed = skip_list(&form.input.lines().join(""));
    let unknown: Vec<&String> = typed
        .iter()
        .filter(|t| !form.steps.iter().any(|(s, _)| s == *t))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = form.steps.iter().map(|(s, _)| s.as_str()).collect();
        form.error = Some(format!(
            "unknown step {}; this project has: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
        return FormResult::Open(Box::new(form));
    }
    let mut params = Vec::new();
    for (field, input) in &form.fields {
        let value = input.lines().join("").trim().to_string();
        if field.required && value.is_empty() {
            form.error = Some(format!("{} is required", field.label));
            form.focus = 2 + form
                .fields
                .iter()
                .position(|(f, _)| f.name == field.name)
                .unwrap_or(0);
            return FormResult::Open(Box::new(form));
        }
        if !value.is_empty() {
            params.push((field.name.clone(), value));
        }
    }
    match form.purpose.mutation(
        &form.project,
        &form.project_id,
        typed,
        params,
        &form.statuses,
    ) {
        Ok(op) => FormResult::Submit(Box::new(op)),
        Err(e) => {
            form.error = Some(e);
            FormResult::Open(Box::new(form))
        }
    }
}

/// `@lint, @test` → `["@lint", "@test"]`; a name typed without `@` gets one.
fn skip_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.starts_with('@') {
                t.to_string()
            } else {
                format!("@{t}")
            }
        })
        .collect()
}

fn launch_form(
    s: &mut State,
    project_id: String,
    project: String,
    result: Result<LaunchOptions, ApiError>,
) {
    match result {
        Ok(opts) => {
            let fields = opts
                .fields
                .into_iter()
                .map(|f| {
                    let mut input = TextArea::new(vec![f.default.clone().unwrap_or_default()]);
                    input.move_cursor(ratatui_textarea::CursorMove::End);
                    (f, input)
                })
                .collect::<Vec<_>>();
            let focus = if opts.skippable_steps.is_empty() && !fields.is_empty() {
                2
            } else {
                0
            };
            s.overlay = Overlay::Launch(LaunchForm {
                purpose: super::state::FormPurpose::Launch,
                statuses: Vec::new(),
                project_id,
                project,
                steps: opts
                    .skippable_steps
                    .into_iter()
                    .map(|n| (n, false))
                    .collect(),
                cursor: 0,
                input: TextArea::default(),
                fields,
                focus,
                error: None,
            });
        }
        Err(e) => toast(
            s,
            Level::Error,
            format!("cannot prepare the launch of {project}: {e}"),
        ),
    }
}

fn start_launch(s: &mut State, fx: &mut Vec<Effect>) {
    let can = s.caps().is_some_and(|c| c.builds.launch);
    if !can {
        toast(s, Level::Warn, "this backend cannot launch builds");
        return;
    }
    let target = match (s.pane, &s.builds_scope) {
        (Resource::Projects, _) if s.detail.is_none() => s
            .lists
            .projects
            .selected_row()
            .map(|p| (p.id.clone(), p.name.clone())),
        (Resource::Builds, BuildScope::Project { id, name }) => Some((id.clone(), name.clone())),
        _ => None,
    };
    let Some((project_id, project)) = target else {
        toast(
            s,
            Level::Info,
            "select a project (Projects pane) to launch a build",
        );
        return;
    };
    // Always ask: besides steps to skip, backends have fields (commit, branch, ref, params).
    fx.push(Effect::LaunchOptions {
        epoch: s.epoch,
        project_id,
        project,
    });
}

fn launched(s: &mut State, project: String, build: Build, fx: &mut Vec<Effect>) {
    toast(
        s,
        Level::Info,
        format!("{project}: run {} queued", short_id(&build.id)),
    );
    let shows = match &s.builds_scope {
        BuildScope::Active => true,
        BuildScope::Project { name, .. } => *name == build.project,
    };
    // The new run appears at once; the next refresh confirms it.
    if shows && !s.lists.builds.rows.iter().any(|b| b.id == build.id) {
        s.lists.builds.rows.insert(0, build);
        s.lists.builds.refilter();
    }
    if s.pane != Resource::Builds {
        s.builds_scope = BuildScope::Active;
        show_pane(s, Resource::Builds, fx);
    }
}

fn ask_kill(s: &mut State) {
    if !s.caps().is_some_and(|c| c.builds.kill) {
        toast(s, Level::Warn, "this backend cannot kill builds");
        return;
    }
    let build = match &s.log {
        Some(l) => Some(l.build.clone()),
        None if s.pane == Resource::Builds => s.lists.builds.selected_row().cloned(),
        None => None,
    };
    let Some(build) = build else {
        toast(
            s,
            Level::Info,
            "select a build in the Builds pane to kill it",
        );
        return;
    };
    if build.status.is_terminal() || build.run_id.is_none() {
        toast(
            s,
            Level::Info,
            format!("{} has already finished", short_id(&build.id)),
        );
        return;
    }
    s.overlay = confirm_for(s, Mutation::Kill { build });
}

/// Forms on the selected build: report its status, or declare an asset (nullplatform).
fn build_form(s: &mut State, asset: bool) {
    let support = s.caps().map(|c| c.builds.clone()).unwrap_or_default();
    let options = if asset {
        &support.asset_kinds
    } else {
        &support.report_statuses
    };
    if options.is_empty() {
        let what = if asset {
            "declare assets"
        } else {
            "report build statuses"
        };
        toast(s, Level::Warn, format!("this backend cannot {what}"));
        return;
    }
    let Some(build) = s.lists.builds.selected_row().cloned() else {
        toast(s, Level::Info, "select a build first");
        return;
    };
    let field = |name: &str, label: &str, default: Option<String>, required: bool| {
        let mut input = TextArea::new(vec![default.clone().unwrap_or_default()]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        (
            crate::domain::LaunchField {
                name: name.into(),
                label: label.into(),
                required,
                default,
                key_values: false,
            },
            input,
        )
    };
    let (purpose, fields) = if asset {
        (
            super::state::FormPurpose::Asset {
                build: Box::new(build.clone()),
            },
            vec![
                field(
                    "kind",
                    &format!("kind ({})", options.join("|")),
                    options.first().cloned(),
                    true,
                ),
                field("name", "name", Some(build.project.clone()), false),
                field("url", "url (optional)", None, false),
            ],
        )
    } else {
        (
            super::state::FormPurpose::ReportStatus {
                build: Box::new(build.clone()),
            },
            vec![field(
                "status",
                &format!("status ({})", options.join("|")),
                options.first().cloned(),
                true,
            )],
        )
    };
    s.overlay = Overlay::Launch(LaunchForm {
        purpose,
        statuses: options.clone(),
        project_id: build.id.clone(),
        project: build.project.clone(),
        steps: Vec::new(),
        cursor: 0,
        input: TextArea::default(),
        fields,
        focus: 2,
        error: None,
    });
}

/// "1.2 MB"
fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}

fn ask_archives(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.caps().is_some_and(|c| c.builds.archives) {
        toast(s, Level::Warn, "this backend keeps no archived files");
        return;
    }
    let build = match &s.log {
        Some(l) => Some(l.build.clone()),
        None if s.pane == Resource::Builds => s.lists.builds.selected_row().cloned(),
        None => None,
    };
    match build {
        Some(b) => fx.push(Effect::ListArchives {
            epoch: s.epoch,
            build: Box::new(b),
        }),
        None => toast(s, Level::Info, "select a build to see its archived files"),
    }
}

/// Where to save an archived file (default: the save directory).
fn download_form(s: &State, build: Box<Build>, file: String) -> Overlay {
    let default = s
        .save_dir
        .join(crate::domain::file_name_safe(&file))
        .display()
        .to_string();
    let mut input = TextArea::new(vec![default.clone()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    let field = crate::domain::LaunchField {
        name: "path".into(),
        label: "save to".into(),
        required: true,
        default: Some(default),
        key_values: false,
    };
    Overlay::Launch(LaunchForm {
        project_id: build.id.clone(),
        project: build.project.clone(),
        purpose: super::state::FormPurpose::Download { build, file },
        statuses: Vec::new(),
        steps: Vec::new(),
        cursor: 0,
        input: TextArea::default(),
        fields: vec![(field, input)],
        focus: 2,
        error: None,
    })
}

fn ask_redeploy(s: &mut State) {
    if !s.caps().is_some_and(|c| c.builds.redeploy) {
        toast(
            s,
            Level::Warn,
            "this backend cannot redeploy an earlier build",
        );
        return;
    }
    let Some(build) = s.lists.builds.selected_row().cloned() else {
        toast(s, Level::Info, "select a build to run again");
        return;
    };
    if !build.status.is_terminal() {
        toast(
            s,
            Level::Info,
            format!("{} has not finished yet", short_id(&build.id)),
        );
        return;
    }
    s.overlay = confirm_for(s, Mutation::Redeploy { build });
}

/// Enter: a project opens its builds, a build opens its log, anything else its details.
fn open(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let builds = s.caps().map(|c| c.builds.clone()).unwrap_or_default();
    match s.pane {
        Resource::Projects if builds.list => {
            if let Some(p) = s.lists.projects.selected_row() {
                let scope = BuildScope::Project {
                    id: p.id.clone(),
                    name: p.name.clone(),
                };
                s.builds_scope = scope;
                s.lists.builds = Default::default();
                show_pane(s, Resource::Builds, fx);
            }
        }
        Resource::Builds if builds.logs => {
            if let Some(b) = s.lists.builds.selected_row().cloned() {
                open_log(s, b, fx);
            }
        }
        // An overview line opens its profile on the pane that shows it.
        Resource::Overview => {
            if let Some(item) = s.lists.overview.selected_row().cloned() {
                if s.profile().is_some_and(|p| p.name == item.profile) && s.session.is_some() {
                    show_pane(s, item.pane, fx);
                } else {
                    switch_profile(s, &item.profile, fx);
                    s.open_after_login = Some(item.pane);
                }
            }
        }
        _ => {
            let _ = update(s, Action::Inspect, s.now);
        }
    }
}

fn open_log(s: &mut State, build: Build, fx: &mut Vec<Effect>) {
    let req = s.next_req;
    s.next_req += 1;
    let follow = !build.status.is_terminal();
    let file = format!("log-{}-{req}.spill", std::process::id());
    let view = LogView::new(
        build.clone(),
        req,
        s.log_capacity,
        s.cache_dir.join(file),
        s.page_rows + 1,
    );
    s.log = Some(view);
    fx.push(Effect::TailLog {
        epoch: s.epoch,
        req,
        build,
        follow,
    });
}

/// Keys while the log viewer is open. Returns false for actions it leaves to the rest.
fn log_action(s: &mut State, a: &Action, fx: &mut Vec<Effect>) -> bool {
    let page = s.page_rows.max(1) as i64;
    let Some(log) = s.log.as_mut() else {
        return false;
    };
    match a {
        Action::Up => log.move_by(-1),
        Action::Down => log.move_by(1),
        Action::PageUp => log.move_by(-page),
        Action::PageDown => log.move_by(page),
        Action::HalfPageUp => log.move_by(-page / 2),
        Action::HalfPageDown => log.move_by(page / 2),
        Action::Top => log.to_top(),
        Action::Bottom => log.to_bottom_and_follow(),
        Action::ToggleFollow => {
            if log.follow {
                log.follow = false;
            } else {
                log.to_bottom_and_follow();
            }
        }
        Action::ToggleWrap => log.wrap = !log.wrap,
        Action::ToggleLineNumbers => log.numbers = !log.numbers,
        Action::ScrollLeft => log.hscroll = log.hscroll.saturating_sub(8),
        Action::ScrollRight => log.hscroll += 8,
        Action::ToggleSteps => log.steps_open = !log.steps_open,
        Action::ToggleMark => {
            log.mark = if log.mark.is_some() {
                None
            } else {
                Some(log.cursor)
            }
        }
        Action::NextMatch | Action::PrevMatch => {
            let forward = matches!(a, Action::NextMatch);
            if log.search.is_empty() {
                toast(s, Level::Info, "search first with /");
            } else if log.find(forward, false).is_none() {
                toast(s, Level::Info, "no more matches");
            }
        }
        Action::ToggleMatchFilter => {
            if log.search.is_empty() {
                toast(
                    s,
                    Level::Info,
                    "search first with /, then F shows only matching lines",
                );
            } else {
                log.only_matches = !log.only_matches;
                if log.only_matches {
                    log.recompute_matches();
                    log.only_matches = true;
                }
            }
        }
        Action::JumpToError => match log.jump_to_error() {
            Some(n) if n < log.first_in_memory() => toast(
                s,
                Level::Info,
                format!("first error at line {} (on disk)", n + 1),
            ),
            Some(_) => {}
            None => toast(s, Level::Info, "no error line in this log"),
        },
        Action::NextStep | Action::PrevStep => {
            if log.jump_step(matches!(a, Action::NextStep)).is_none() {
                toast(s, Level::Info, "no further step");
            }
        }
        Action::Copy => {
            let text = log.selection_text();
            let n = text.lines().count().max(1);
            log.mark = None;
            fx.push(Effect::Copy(text));
            toast(
                s,
                Level::Info,
                format!("copied {n} line(s) to the clipboard"),
            );
        }
        Action::SaveLog => save_log(s),
        Action::Back => {
            s.log = None;
            fx.push(Effect::StopLog);
        }
        // The same keys as in lists: search, kill, help, palette, quit…
        _ => return false,
    }
    s.dirty = true;
    true
}

/// Save the whole log (spilled part included) in the data directory, and say where.
fn save_log(s: &mut State) {
    let Some(log) = &s.log else { return };
    let dir = s.save_dir.clone();
    let name = crate::domain::file_name_safe(&format!(
        "{}-{}.log",
        log.build.project,
        short_id(&log.build.id)
    ));
    let path = dir.join(name);
    let result = std::fs::create_dir_all(&dir).and_then(|_| log.buf.save_to(&path));
    let lines = log.buf.len();
    match result {
        Ok(()) => toast(
            s,
            Level::Info,
            format!("saved {lines} lines to {}", path.display()),
        ),
        Err(e) => toast(
            s,
            Level::Error,
            format!("cannot save to {}: {e}", path.display()),
        ),
    }
}

fn commit_filter(s: &mut State, text: String, fx: &mut Vec<Effect>) {
    let pane = s.pane;
    let server = s
        .caps()
        .and_then(|c| c.list(pane))
        .is_some_and(|l| l.server_filter);
    let reload = with_list!(s.lists, pane, |l| {
        l.server_filter = server;
        l.filter = text.clone();
        let changed = l.applied_filter != text;
        if !server {
            l.applied_filter = text.clone();
        }
        l.selected = 0;
        l.refilter();
        server && changed
    });
    if reload {
        load(s, pane, LoadKind::Reload, fx);
    }
}

fn run_command(s: &mut State, cmd: &str, fx: &mut Vec<Effect>) {
    let (name, arg) = match cmd.split_once(' ') {
        Some((n, a)) => (n, a.trim()),
        None => (cmd, ""),
    };
    match name {
        "" => {}
        "projects" | "developers" | "secrets" => {
            show_pane(s, Resource::parse(name).expect("listed above"), fx)
        }
        "builds" | "queue" => {
            let now = s.now;
            fx.extend(update(s, Action::ShowPane(Resource::Builds), now));
        }
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
        "profiles" => s.overlay = palette("profile "),
        "profile" if arg.is_empty() => s.overlay = palette("profile "),
        "profile" => switch_profile(s, arg, fx),
        "theme" if arg.is_empty() => s.overlay = palette("theme "),
        "theme" => {
            let _ = update(s, Action::SetTheme(arg.to_string()), s.now);
        }
        "refresh" => refresh(s, fx),
        "help" => s.overlay = Overlay::Help { scroll: 0 },
        "quit" | "q" => s.quit = true,
        n if NOT_YET.contains(&n) => toast(
            s,
            Level::Warn,
            format!("`{n}` is not available in this version of shipdeck yet"),
        ),
        other => toast(
            s,
            Level::Error,
            format!("unknown command `{other}`; press : and Tab to see the commands"),
        ),
    }
}

fn switch_profile(s: &mut State, name: &str, fx: &mut Vec<Effect>) {
    let Some(idx) = s.profiles.iter().position(|p| p.name == name) else {
        let names: Vec<&str> = s.profiles.iter().map(|p| p.name.as_str()).collect();
        toast(
            s,
            Level::Error,
            format!("no profile `{name}`; profiles: {}", names.join(", ")),
        );
        return;
    };
    s.epoch += 1;
    s.active = Some(idx);
    s.session = None;
    s.conn = Conn::Connecting;
    s.lists = Default::default();
    s.releases = Default::default();
    s.log = None;
    s.open_after_login = None;
    s.detail = None;
    s.overlay = Overlay::None;
    s.pane = Resource::Projects;
    // Paint what this profile showed last time while the login is under way.
    fx.push(Effect::LoadCache {
        epoch: s.epoch,
        profile: name.to_string(),
    });
    fx.push(Effect::Connect {
        epoch: s.epoch,
        profile: name.to_string(),
    });
    s.dirty = true;
}

fn logged_in(
    s: &mut State,
    result: Result<crate::domain::Session, ApiError>,
    fx: &mut Vec<Effect>,
) {
    match result {
        Ok(session) => {
            s.session = Some(session);
            s.conn = Conn::Online;
            let panes = s.panes();
            if panes.is_empty() {
                let why = s
                    .caps()
                    .map(|c| c.why_not(Resource::Projects))
                    .unwrap_or_default();
                s.conn = Conn::Unavailable(why);
            } else {
                if !panes.contains(&s.pane) {
                    s.pane = panes[0];
                }
                match s.open_after_login.take() {
                    Some(p) if panes.contains(&p) => show_pane(s, p, fx),
                    _ => load(s, s.pane, LoadKind::Reload, fx),
                }
            }
        }
        Err(e @ ApiError::Auth(_)) => s.conn = Conn::AuthFailed(e.to_string()),
        Err(e @ (ApiError::Unsupported(_) | ApiError::Config(_) | ApiError::Forbidden(_))) => {
            s.conn = Conn::Unavailable(e.to_string())
        }
        Err(e) => {
            let attempt = match &s.conn {
                Conn::Offline { attempt, .. } => attempt + 1,
                _ => 1,
            };
            s.conn = Conn::Offline {
                reason: e.to_string(),
                retry_at: s.now + backoff(attempt),
                attempt,
            };
        }
    }
}

/// Ask for rows: `Reload` replaces them (every loaded page in one request), `More` appends the
/// next page. A newer request for the same list supersedes an older one.
fn load(s: &mut State, res: Resource, kind: LoadKind, fx: &mut Vec<Effect>) {
    let Some(support) = s.caps().and_then(|c| c.list(res)).cloned() else {
        return;
    };
    let req = s.next_req;
    s.next_req += 1;
    let epoch = s.epoch;
    let query = with_list!(s.lists, res, |l| {
        if kind == LoadKind::More && (l.loading.is_some() || !l.has_more) {
            return;
        }
        l.server_filter = support.server_filter;
        let filter = if support.server_filter && !l.filter.is_empty() {
            Some(l.filter.clone())
        } else {
            None
        };
        if support.server_filter {
            l.applied_filter = l.filter.clone();
        }
        let query = match kind {
            LoadKind::Reload => {
                let pages = l.pages.clamp(1, MAX_REFRESH_ROWS / PER_PAGE);
                ListQuery {
                    page: 1,
                    per_page: PER_PAGE * pages,
                    filter,
                    sort: l.sort.clone(),
                }
            }
            LoadKind::More => ListQuery {
                page: l.pages + 1,
                per_page: PER_PAGE,
                filter,
                sort: l.sort.clone(),
            },
        };
        l.loading = Some((req, kind));
        l.retry_at = None;
        query
    });
    fx.push(if res == Resource::Audit {
        // Local data: answered at once, through the same path as a server page.
        let items: Vec<_> = s.audit.iter().rev().cloned().collect();
        let page = crate::domain::Page::whole(items);
        fx.pop();
        list_loaded(s, req, Ok(Listing::Audit(page)), fx);
        return;
    } else if res == Resource::Overview {
        Effect::FetchOverview { epoch, req }
    } else if res == Resource::Releases {
        let Some((project, environment)) = s.releases.selected() else {
            s.lists.releases.loading = None;
            return;
        };
        Effect::FetchDeployments {
            epoch,
            req,
            project,
            environment,
            page: query.page,
            per_page: query.per_page,
        }
    } else if res == Resource::Builds {
        Effect::FetchBuilds {
            epoch,
            req,
            scope: s.builds_scope.clone(),
        }
    } else {
        Effect::FetchList {
            epoch,
            req,
            resource: res,
            query,
        }
    });
    s.dirty = true;
}

fn list_loaded(s: &mut State, req: u64, result: Result<Listing, ApiError>, fx: &mut Vec<Effect>) {
    let now = s.now;
    let (res, outcome) = match result {
        Ok(Listing::Projects(p)) => (
            Resource::Projects,
            apply(&mut s.lists.projects, req, Ok(p), now),
        ),
        Ok(Listing::Builds(p)) => (
            Resource::Builds,
            apply(&mut s.lists.builds, req, Ok(p), now),
        ),
        Ok(Listing::Deployments(p)) => (
            Resource::Releases,
            apply(&mut s.lists.releases, req, Ok(p), now),
        ),
        Ok(Listing::Audit(p)) => (Resource::Audit, apply(&mut s.lists.audit, req, Ok(p), now)),
        Ok(Listing::Overview(p)) => (
            Resource::Overview,
            apply(&mut s.lists.overview, req, Ok(p), now),
        ),
        Ok(Listing::Developers(p)) => (
            Resource::Developers,
            apply(&mut s.lists.developers, req, Ok(p), now),
        ),
        Ok(Listing::Secrets(p)) => (
            Resource::Secrets,
            apply(&mut s.lists.secrets, req, Ok(p), now),
        ),
        Err(e) => {
            // Find the list this request belongs to.
            let res = Resource::ALL
                .into_iter()
                .find(|r| with_list!(s.lists, *r, |l| l.loading.is_some_and(|(id, _)| id == req)));
            match res {
                Some(r) => (r, with_list!(s.lists, r, |l| apply_err(l, e, now))),
                None => return,
            }
        }
    };
    match outcome {
        Applied::Ignored => {}
        Applied::Unchanged => {
            if s.conn != Conn::Online {
                s.conn = Conn::Online;
                s.dirty = true;
            }
        }
        Applied::Changed => {
            s.conn = Conn::Online;
            s.dirty = true;
            if matches!(
                res,
                Resource::Projects | Resource::Developers | Resource::Secrets
            ) {
                save_cache(s, fx);
            }
            if res == s.pane {
                prefetch(s, fx);
            }
        }
        Applied::Failed(e) => {
            s.dirty = true;
            match e {
                ApiError::Auth(m) => s.conn = Conn::AuthFailed(m),
                e if e.is_connectivity() => {
                    let (retry_at, attempt) =
                        with_list!(s.lists, res, |l| (l.retry_at.unwrap_or(now), l.failures));
                    s.conn = Conn::Offline {
                        reason: e.to_string(),
                        retry_at,
                        attempt,
                    };
                }
                _ => {}
            }
        }
    }
}

enum Applied {
    Ignored,
    Unchanged,
    Changed,
    Failed(ApiError),
}

fn apply<T: Row>(
    l: &mut ListPane<T>,
    req: u64,
    page: Result<Page<T>, ApiError>,
    now: Millis,
) -> Applied {
    let Some((id, kind)) = l.loading else {
        return Applied::Ignored;
    };
    if id != req {
        return Applied::Ignored;
    }
    let page = match page {
        Ok(p) => p,
        Err(e) => return apply_err(l, e, now),
    };
    l.loading = None;
    let was_healthy = l.error.is_none() && !l.stale;
    l.error = None;
    l.stale = false;
    l.failures = 0;
    l.retry_at = None;
    l.loaded_at = Some(now);
    let mut changed = !was_healthy;
    match kind {
        LoadKind::Reload => {
            if l.rows != page.items {
                l.rows = page.items;
                changed = true;
            }
            l.pages = (page.per_page / PER_PAGE).max(1);
        }
        LoadKind::More => {
            let before = l.rows.len();
            for item in page.items {
                // Rows shift between pages while the list changes: keep each id once.
                if !l.rows.iter().any(|r| r.id() == item.id()) {
                    l.rows.push(item);
                }
            }
            changed |= l.rows.len() != before;
            l.pages += 1;
        }
    }
    if l.has_more != page.has_more || l.total != page.total {
        changed = true;
    }
    l.has_more = page.has_more;
    l.total = if page.has_more {
        page.total.map(|t| t.max(l.rows.len() as u64))
    } else {
        Some(l.rows.len() as u64)
    };
    l.refilter();
    if changed {
        Applied::Changed
    } else {
        Applied::Unchanged
    }
}

fn apply_err<T>(l: &mut ListPane<T>, e: ApiError, now: Millis) -> Applied {
    l.loading = None;
    l.failures += 1;
    l.error = Some(e.to_string());
    l.stale = !l.rows.is_empty();
    // Connectivity and server failures retry with backoff; a refusal waits for the user.
    let retry = e.is_connectivity() || matches!(e, ApiError::Server { .. } | ApiError::Decode(_));
    l.retry_at = retry.then(|| now + backoff(l.failures));
    l.loaded_at = Some(now);
    Applied::Failed(e)
}

fn tick(s: &mut State, fx: &mut Vec<Effect>) {
    let now = s.now;
    if s.toast.as_ref().is_some_and(|t| t.until <= now) {
        s.toast = None;
        s.dirty = true;
    }
    if s.conn == Conn::Connecting || with_list!(s.lists, s.pane, |l| l.loading.is_some()) {
        s.dirty = true; // spinner frame
    }
    if let Conn::Offline { retry_at, .. } = s.conn
        && retry_at <= now
        && s.session.is_none()
    {
        s.conn = Conn::Connecting;
        fx.push(Effect::Login { epoch: s.epoch });
        s.dirty = true;
        return;
    }
    if s.session.is_none() || s.screen != Screen::Dashboard || s.log.is_some() {
        return;
    }
    super::releases::tick(s, fx);
    if s.pane == Resource::Builds && s.builds_active() {
        s.dirty = true; // live durations
    }
    let refresh_ms = s.refresh_interval();
    let due = with_list!(s.lists, s.pane, |l| {
        l.loading.is_none()
            && match (l.retry_at, l.loaded_at) {
                (Some(r), _) => r <= now,
                (None, Some(t)) => t + refresh_ms <= now,
                (None, None) => false,
            }
    });
    if due && s.pane == Resource::Audit {
        return;
    }
    if due {
        if s.pane == Resource::Releases {
            super::releases::refresh_pipeline(s, fx);
        }
        load(s, s.pane, LoadKind::Reload, fx);
        // A background refresh shows nothing new until its answer differs.
        s.dirty = with_list!(s.lists, s.pane, |l| l.rows.is_empty());
    }
}

/// Fetch the next page when the selection nears the end of the loaded rows, or when the loaded
/// rows do not fill the screen.
fn prefetch(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let rows = s.page_rows;
    let want = with_list!(s.lists, s.pane, |l| {
        l.has_more
            && l.loading.is_none()
            && l.error.is_none()
            && (l.selected + rows >= l.visible.len() || l.visible.len() < rows)
    });
    if want {
        load(s, s.pane, LoadKind::More, fx);
    }
}

fn move_by(s: &mut State, delta: i64, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let rows = s.page_rows;
    with_list!(s.lists, s.pane, |l| {
        let len = l.visible.len();
        if len == 0 {
            return;
        }
        let target = (l.selected as i64)
            .saturating_add(delta)
            .clamp(0, len as i64 - 1);
        l.selected = target as usize;
        // Keep the selection on screen.
        if l.selected < l.offset {
            l.offset = l.selected;
        } else if l.selected >= l.offset + rows {
            l.offset = l.selected + 1 - rows;
        }
    });
    prefetch(s, fx);
}

fn back(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.take().is_some() {
        return;
    }
    let had_filter = with_list!(s.lists, s.pane, |l| !l.filter.is_empty());
    if had_filter {
        commit_filter(s, String::new(), fx);
        return;
    }
    // From a project's builds back to the projects.
    if s.pane == Resource::Builds && matches!(s.builds_scope, BuildScope::Project { .. }) {
        s.builds_scope = BuildScope::Active;
        s.lists.builds = Default::default();
        show_pane(s, Resource::Projects, fx);
    }
}

fn cycle_pane(s: &mut State, dir: i64, fx: &mut Vec<Effect>) {
    let panes = s.panes();
    if panes.is_empty() {
        return;
    }
    let pos = panes.iter().position(|p| *p == s.pane).unwrap_or(0) as i64;
    let next = panes[(pos + dir).rem_euclid(panes.len() as i64) as usize];
    show_pane(s, next, fx);
}

fn show_pane(s: &mut State, r: Resource, fx: &mut Vec<Effect>) {
    if let Some(caps) = s.caps()
        && caps.list(r).is_none()
    {
        let why = caps.why_not(r);
        toast(s, Level::Warn, format!("{} unavailable: {why}", r.title()));
        return;
    }
    s.pane = r;
    s.detail = None;
    if r == Resource::Releases {
        super::releases::open(s, fx);
        return;
    }
    let needs = with_list!(s.lists, r, |l| l.loaded_at.is_none() && l.loading.is_none());
    if needs || r == Resource::Audit {
        load(s, r, LoadKind::Reload, fx);
    } else {
        prefetch(s, fx);
    }
}

fn refresh(s: &mut State, fx: &mut Vec<Effect>) {
    match &s.conn {
        Conn::AuthFailed(_) | Conn::Offline { .. } if s.session.is_none() => {
            if let Some(p) = s.profile().map(|p| p.name.clone()) {
                switch_profile(s, &p, fx);
            }
        }
        _ => load(s, s.pane, LoadKind::Reload, fx),
    }
}

fn cycle_sort(s: &mut State, fx: &mut Vec<Effect>) {
    let fields = s
        .caps()
        .and_then(|c| c.list(s.pane))
        .map(|l| l.sort_fields)
        .unwrap_or(&[]);
    if fields.is_empty() {
        toast(
            s,
            Level::Info,
            format!("the server cannot sort {}", s.pane.as_str()),
        );
        return;
    }
    with_list!(s.lists, s.pane, |l| {
        l.sort = match &l.sort {
            None => Some(Sort {
                field: fields[0],
                ascending: true,
            }),
            Some(cur) => {
                let i = fields.iter().position(|f| *f == cur.field).unwrap_or(0);
                fields.get(i + 1).map(|f| Sort {
                    field: f,
                    ascending: true,
                })
            }
        };
    });
    load(s, s.pane, LoadKind::Reload, fx);
}

/// Reload a list from its first page (used by other app modules).
pub fn reload(s: &mut State, res: Resource, fx: &mut Vec<Effect>) {
    load(s, res, LoadKind::Reload, fx);
}

/// Cached rows for a list nothing fresher has filled yet: shown dimmed as stale.
fn prefill<T: Row>(l: &mut ListPane<T>, rows: Vec<T>) {
    if l.loaded_at.is_some() || !l.rows.is_empty() || rows.is_empty() {
        return;
    }
    l.rows = rows;
    l.stale = true;
    l.refilter();
}

/// Rows kept per list in the cache.
const CACHE_ROWS: usize = 200;

/// After a fresh first page: keep what the lists show for the next start.
fn save_cache(s: &State, fx: &mut Vec<Effect>) {
    let Some(profile) = s.profile().map(|p| p.name.clone()) else {
        return;
    };
    let take = |n: usize| n.min(CACHE_ROWS);
    let l = &s.lists;
    // Only unfiltered lists describe the profile; a filtered one would mislead next time.
    let fresh = |f: &str, stale: bool| f.is_empty() && !stale;
    let cache = ListCache {
        projects: if fresh(&l.projects.applied_filter, l.projects.stale) {
            l.projects.rows[..take(l.projects.rows.len())].to_vec()
        } else {
            Vec::new()
        },
        developers: if fresh(&l.developers.applied_filter, l.developers.stale) {
            l.developers.rows[..take(l.developers.rows.len())].to_vec()
        } else {
            Vec::new()
        },
        secrets: if fresh(&l.secrets.applied_filter, l.secrets.stale) {
            l.secrets.rows[..take(l.secrets.rows.len())].to_vec()
        } else {
            Vec::new()
        },
    };
    fx.push(Effect::SaveCache {
        profile,
        cache: Box::new(cache),
    });
}
