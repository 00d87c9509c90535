//! `o` and `Y`: the selected item in its system's web UI. `o` opens the link in the browser
//! where one can be started (a display, or macOS), otherwise shows it in the message line to
//! click (OSC 8, drawn by the terminal side); `Y` copies the link, a second `Y` the id.

use super::action::Effect;
use super::messages::toast;
use super::state::{Level, Millis, State};
use crate::domain::Resource;
use crate::weblinks::{self, WebItem};

/// How long a link to click stays in the message line.
const LINK_MS: Millis = 30_000;

/// The selected item's link and id, and what it is (for the message).
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub url: String,
    pub id: String,
    pub what: String,
}

fn link(s: &State, profile: &str, item: &WebItem) -> Option<String> {
    let p = s.profiles.iter().find(|p| p.name == profile)?;
    let api = url::Url::parse(&p.url).ok()?;
    let web = p.web_url.as_deref().and_then(|u| url::Url::parse(u).ok());
    Some(weblinks::url(p.kind, &api, web.as_ref(), item))
}

/// What `o` and `Y` act on now: the open log's build, else the selected row.
pub fn target(s: &State) -> Option<Target> {
    let profile = s.profile()?.name.clone();
    let build = |b: &crate::domain::Build| {
        let item = WebItem::Build {
            project_id: b.project_id.as_deref(),
            id: &b.id,
            record: b.build_id.as_deref(),
        };
        Some(Target {
            url: link(s, &profile, &item)?,
            id: b.build_id.clone().unwrap_or_else(|| b.id.clone()),
            what: format!("{} {}", b.project, super::state::short_id(&b.id)),
        })
    };
    if s.log_visible() {
        return s.log.as_ref().and_then(|l| build(&l.build));
    }
    match s.pane {
        Resource::Builds => s.lists.builds.selected_row().and_then(build),
        Resource::Projects => {
            let p = s.lists.projects.selected_row()?;
            Some(Target {
                url: link(s, &profile, &WebItem::Project { id: &p.id })?,
                id: p.id.clone(),
                what: p.name.clone(),
            })
        }
        Resource::Releases => {
            let (project, environment) = match s.lists.releases.selected_row() {
                Some(d) => (d.project.clone(), d.environment.clone()),
                None => s.releases.selected()?,
            };
            let item = WebItem::Environment {
                project: &project,
                environment: &environment,
            };
            let id = s
                .lists
                .releases
                .selected_row()
                .map_or_else(|| format!("{project}/{environment}"), |d| d.id.clone());
            Some(Target {
                url: link(s, &profile, &item)?,
                id,
                what: format!("{project}/{environment}"),
            })
        }
        Resource::Overview => {
            let o = s.lists.overview.selected_row()?;
            let target = o.target.clone().unwrap_or_default();
            let item = match o.pane {
                Resource::Builds => WebItem::Build {
                    project_id: None,
                    id: &target,
                    record: None,
                },
                Resource::Releases => WebItem::Environment {
                    project: &o.project,
                    environment: o.environment.as_deref().unwrap_or_default(),
                },
                _ => WebItem::Project { id: &target },
            };
            Some(Target {
                url: link(s, &o.profile, &item)?,
                id: if target.is_empty() {
                    o.title.clone()
                } else {
                    target.clone()
                },
                what: o.title.clone(),
            })
        }
        Resource::Developers | Resource::Secrets | Resource::Audit => None,
    }
}

/// The text of a clickable link (OSC 8) as the terminal side writes it.
pub fn osc8(url: &str) -> String {
    let url = crate::ui::clean(url);
    format!("\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\")
}

fn nothing(s: &mut State, key: &str) {
    toast(
        s,
        Level::Info,
        format!("{key} needs a project, build, run, task or deployment selected"),
    );
}

/// `o`.
pub fn open(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(t) = target(s) else {
        return nothing(s, "o");
    };
    if s.display {
        fx.push(Effect::OpenUrl(t.url.clone()));
        toast(
            s,
            Level::Info,
            format!("opening {} in the browser: {}", t.what, t.url),
        );
    } else {
        show_link(
            s,
            &format!("{} (no display to open a browser):", t.what),
            &t.url,
        );
    }
}

/// A link in the message line, to click (the terminal side makes it an OSC 8 link).
pub fn show_link(s: &mut State, words: &str, url: &str) {
    toast(s, Level::Info, format!("{words} {url}"));
    if let Some(t) = s.toast.as_mut() {
        t.until = s.now + LINK_MS;
        t.link = Some(url.to_string());
    }
}

/// The browser could not be started: show the link instead.
pub fn open_failed(s: &mut State, url: &str, why: &str) {
    show_link(s, &format!("could not start a browser ({why}):"), url);
}

/// `Y`: the link, or the id when the link was just copied.
pub fn copy(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(t) = target(s) else {
        return nothing(s, "Y");
    };
    let again = s.link_copied.as_deref() == Some(t.url.as_str())
        && s.toast.as_ref().is_some_and(|x| x.until > s.now);
    let (text, what) = if again {
        s.link_copied = None;
        (t.id.clone(), format!("the id {}", t.id))
    } else {
        s.link_copied = Some(t.url.clone());
        (
            t.url.clone(),
            format!("the link {} (Y again: the id)", t.url),
        )
    };
    fx.push(Effect::Copy(text));
    match s.clipboard_hint.clone() {
        None => toast(s, Level::Info, format!("copied {what}")),
        Some(hint) => toast(
            s,
            Level::Warn,
            format!("{what} sent for the clipboard, but {hint}"),
        ),
    }
}
