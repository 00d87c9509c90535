//! Everything the dashboard shows, as plain data. `update` is the only writer; `ui` only reads.

mod forms;
mod lists;

pub use forms::{Confirm, FormPurpose, LaunchForm};
pub use lists::{AnyList, ListMeta, ListPane, Lists, LoadKind};

use super::action::ProfileInfo;
use super::keymap::{Ctx, Keymap};
use super::panes::logview::LogView;
use crate::domain::{BuildScope, Capabilities, Kind, Resource, Row, Session};
use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;
use std::path::PathBuf;

/// Rows per server page. Free Commit's default; small enough that the first answer is quick.
pub const PER_PAGE: u32 = 20;
/// A refresh reloads every loaded page in one request, up to this many rows.
pub(crate) const MAX_REFRESH_ROWS: u32 = 500;

/// Milliseconds on the app's monotonic clock (passed in, never read inside `update`).
pub(crate) type Millis = u64;

#[derive(Clone, Debug, PartialEq)]
pub enum Conn {
    /// No profile selected (first-run screen).
    Idle,
    Connecting,
    Online,
    /// The network failed; retrying at `retry_at`.
    Offline {
        reason: String,
        retry_at: Millis,
        attempt: u32,
    },
    /// Credentials rejected: no retry loop, the user must act.
    AuthFailed(String),
    /// The kind cannot be used (not built yet, or this account may see nothing).
    Unavailable(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A message in the footer, gone at `until` (never, for warnings and errors: they stay until
/// replaced or dismissed), shown only while its profile is the active one.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub level: Level,
    pub text: String,
    pub until: Millis,
    pub profile: String,
    /// A link in the text, made clickable (OSC 8) where it shows.
    pub link: Option<String>,
}

/// A text input overlay.
#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    Palette {
        input: TextArea<'static>,
        selected: usize,
    },
    Filter {
        input: TextArea<'static>,
    },
    Help {
        scroll: u16,
        /// The layer whose keys it lists (the one under it).
        ctx: Ctx,
    },
    Confirm(Box<Confirm>),
    /// Pick one of a list (archived files, a candidate to deploy); Enter chooses.
    Pick(Box<crate::app::overlays::picker::Pick>),
    /// Something to read (e.g. where to push an asset); any key closes it.
    Message {
        title: String,
        lines: Vec<String>,
    },
    Launch(Box<LaunchForm>),
    /// `:watching`: every watched item; ⏎ jumps there, w stops watching.
    Watching {
        selected: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// No config file: explain it and offer the demo.
    FirstRun,
    Dashboard,
}

/// Detail view of one row (Enter), closed by Esc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub resource: Resource,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct State {
    pub screen: Screen,
    pub profiles: Vec<ProfileInfo>,
    pub active: Option<usize>,
    /// Bumped on every profile switch: results carrying an older epoch are dropped.
    pub epoch: u64,
    pub conn: Conn,
    /// Failed logins in a row since the profile was opened (or `r`): the next wait grows
    /// with it, across the `Connecting` state in between.
    pub login_failures: u32,
    pub session: Option<Session>,
    pub pane: Resource,
    pub lists: Lists,
    pub detail: Option<Detail>,
    pub overlay: Overlay,
    pub toast: Option<Toast>,
    /// Changes sent together from one confirmation (marked rows): their results are summed
    /// up in one message once all are back.
    pub bulk: Option<crate::app::bulk::Tally>,
    /// Everything said, for `:messages` (bounded).
    pub messages: Vec<super::messages::Said>,
    pub keymap: Keymap,
    /// `--read-only` on the command line (a profile can also be read-only).
    pub cli_read_only: bool,
    /// Theme chosen by `--theme`/config/`:theme` (a profile's own theme wins over the config's).
    pub theme_override: Option<String>,
    pub config_theme: Option<String>,
    pub theme_names: Vec<String>,
    pub refresh_ms: Millis,
    pub now: Millis,
    /// Wall-clock time for "3 min ago" columns; set by the event loop, fixed in tests.
    pub wall: DateTime<Utc>,
    /// Body rows available to lists, from the last resize (paging and prefetch use it).
    pub page_rows: usize,
    /// Terminal width from the last resize (how much of a trend fits).
    pub cols: u16,
    pub config_path: Option<String>,
    /// Which builds the Builds pane shows (the queue, or one project's history).
    pub builds_scope: BuildScope,
    /// The open log viewer, if any (over the Builds pane).
    pub log: Option<LogView>,
    /// The Releases pane's pipeline: environments, their state, the selection, a watch.
    pub releases: super::releases::Releases,
    /// Each project's recent builds (last build, trend), per profile.
    pub recent: super::recent::Recent,
    /// After a switch from the Overview: the pane to open once logged in.
    pub open_after_login: Option<(Resource, Option<String>)>,
    /// Saved views from the config (`[[views]]`), in file order.
    pub views: Vec<crate::config::View>,
    /// The saved view (index in `views`) shown last: its tab is highlighted while its pane
    /// and filter are on screen.
    pub active_view: Option<usize>,
    /// A view to open once the login of its profile answers.
    pub view_after_login: Option<usize>,
    /// Lines a log keeps in memory before spilling to disk.
    pub log_capacity: usize,
    /// `[diff]` of the config: what the log diff ignores.
    pub diff: crate::config::DiffConfig,
    /// This session's audit trail (newest last), plus earlier entries read at start.
    pub audit: Vec<super::mutation::AuditEntry>,
    /// Where log spill files go.
    pub cache_dir: PathBuf,
    /// Where `s` in a log saves it.
    pub save_dir: PathBuf,
    pub next_req: u64,
    /// Why a copy may not reach the clipboard (tmux with `set-clipboard off`), found at start;
    /// `None`: the terminal takes OSC 52.
    pub clipboard_hint: Option<String>,
    /// Watched builds, runs, tasks and deployments of every profile.
    pub watch: super::watch::Watch,
    /// A browser can be started here (a display, or macOS): `o` opens links in it; otherwise
    /// the link is shown to click (OSC 8).
    pub display: bool,
    /// The link `Y` copied last (a second `Y` copies the id instead).
    pub link_copied: Option<String>,
    /// Names this process's temporary files (the process id, passed in: `update` reads no
    /// system state).
    pub instance: u32,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
    /// The last click on a list row (its position and when): a second one soon after opens it.
    pub last_click: Option<(usize, Millis)>,
}

impl State {
    pub fn new(profiles: Vec<ProfileInfo>, keymap: Keymap) -> State {
        State {
            screen: if profiles.is_empty() {
                Screen::FirstRun
            } else {
                Screen::Dashboard
            },
            profiles,
            active: None,
            epoch: 0,
            conn: Conn::Idle,
            login_failures: 0,
            session: None,
            pane: Resource::Projects,
            lists: Lists::default(),
            detail: None,
            overlay: Overlay::None,
            toast: None,
            bulk: None,
            messages: Vec::new(),
            keymap,
            cli_read_only: false,
            theme_override: None,
            config_theme: None,
            theme_names: Vec::new(),
            refresh_ms: crate::config::DEFAULT_REFRESH_SECS * 1000,
            now: 0,
            wall: DateTime::<Utc>::UNIX_EPOCH,
            page_rows: 20,
            cols: 120,
            config_path: None,
            builds_scope: BuildScope::Active,
            log: None,
            releases: Default::default(),
            recent: Default::default(),
            open_after_login: None,
            views: Vec::new(),
            active_view: None,
            view_after_login: None,
            log_capacity: crate::config::DEFAULT_LOG_BUFFER_LINES,
            diff: Default::default(),
            audit: Vec::new(),
            cache_dir: std::env::temp_dir().join("shipdeck"),
            save_dir: std::env::temp_dir().join("shipdeck").join("logs"),
            next_req: 1,
            instance: 0,
            clipboard_hint: None,
            watch: Default::default(),
            display: false,
            link_copied: None,
            dirty: true,
            quit: false,
            last_click: None,
        }
    }

    /// A fresh request id (results carry it back; a newer one supersedes an older one).
    pub(crate) fn take_req(&mut self) -> u64 {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    /// The log viewer is on screen: it lives over the Builds pane, and another pane hides it
    /// (a hidden log gets no keys; `4` shows it again).
    pub fn log_visible(&self) -> bool {
        self.log.is_some() && self.pane == Resource::Builds
    }

    pub fn profile(&self) -> Option<&ProfileInfo> {
        self.active.and_then(|i| self.profiles.get(i))
    }

    pub fn kind(&self) -> Option<Kind> {
        self.profile().map(|p| p.kind)
    }

    pub fn read_only(&self) -> bool {
        self.cli_read_only || self.profile().is_some_and(|p| p.read_only)
    }

    pub fn caps(&self) -> Option<&Capabilities> {
        self.session.as_ref().map(|s| &s.caps)
    }

    /// The theme to draw with: `:theme`/`--theme`, else the profile's, else the config's.
    pub fn theme_name(&self) -> &str {
        self.theme_override
            .as_deref()
            .or(self.profile().and_then(|p| p.theme.as_deref()))
            .or(self.config_theme.as_deref())
            .unwrap_or("dark")
    }

    /// Panes offered right now, in tab order.
    pub fn panes(&self) -> Vec<Resource> {
        match self.caps() {
            Some(c) => Resource::ALL
                .into_iter()
                .filter(|r| c.list(*r).is_some())
                .collect(),
            None => Resource::ALL.to_vec(),
        }
    }

    pub fn breadcrumbs(&self) -> Vec<String> {
        let mut crumbs = Vec::new();
        if self.pane == Resource::Builds
            && let BuildScope::Project { name, .. } = &self.builds_scope
        {
            crumbs.push("Projects".to_string());
            crumbs.push(name.clone());
        }
        crumbs.push(self.pane.title().to_string());
        if let Some(d) = &self.detail {
            let name = match d.resource {
                Resource::Projects => find(&self.lists.projects.rows, &d.id),
                Resource::Developers => find(&self.lists.developers.rows, &d.id),
                Resource::Secrets => find(&self.lists.secrets.rows, &d.id),
                Resource::Builds => find(&self.lists.builds.rows, &d.id),
                Resource::Releases => find(&self.lists.releases.rows, &d.id),
                Resource::Audit => find(&self.lists.audit.rows, &d.id),
                Resource::Overview => find(&self.lists.overview.rows, &d.id),
            };
            crumbs.push(name.unwrap_or_else(|| d.id.clone()));
        }
        if let Some(l) = &self.log {
            crumbs.push(format!("log {}", short_id(&l.build.id)));
        }
        crumbs
    }

    /// The layer that gets keys now (see `app::router`): help and the footer describe it.
    pub(crate) fn key_context(&self) -> Ctx {
        super::router::top(self).ctx()
    }

    /// Whether something in the Builds pane is queued or running (refresh often, tick the
    /// duration column every second).
    pub(crate) fn builds_active(&self) -> bool {
        self.lists
            .builds
            .rows
            .iter()
            .any(|b| !b.status.is_terminal() && b.status != crate::domain::BuildStatus::Unknown)
    }

    /// The next moment `update` needs a `Tick`, if any. Nothing ticks when nothing happens.
    pub fn next_deadline(&self) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut at = |t: Millis| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(t) = self.toast.as_ref().filter(|t| t.until != Millis::MAX) {
            at(t.until);
        }
        if let Conn::Offline { retry_at, .. } = self.conn {
            at(retry_at);
        }
        // Watched items of every profile, whatever is on screen.
        if let Some(w) = super::watch::next_deadline(self) {
            at(w);
        }
        if self.conn == Conn::Connecting || self.any_loading() {
            // Spinner frames while waiting.
            at(self.now + super::lists::SPINNER_MS);
        }
        if self.conn == Conn::Online && self.screen == Screen::Dashboard {
            let (loaded_at, retry_at, loading) = self.pane_timing(self.pane);
            if let Some(r) = retry_at {
                at(r);
            } else if let Some(l) = loaded_at
                && !loading
            {
                at(l + self.refresh_interval());
            }
            if let Some(w) = super::releases::next_deadline(self) {
                at(w);
            }
            if self.pane == Resource::Builds && !self.log_visible() && self.builds_active() {
                // The duration column of running builds moves every second.
                at(self.now + 1000 - self.now % 1000);
            }
        }
        next
    }

    /// Polling interval of the pane on screen: often while builds run, rarely when idle.
    pub(crate) fn refresh_interval(&self) -> Millis {
        let fans_out = self.kind().is_some_and(|k| k.descriptor().queue_fans_out)
            && self.builds_scope == BuildScope::Active;
        if self.pane != Resource::Builds || fans_out {
            self.refresh_ms
        } else if self.builds_active() {
            (self.refresh_ms / 2).clamp(1_000, 2_000)
        } else {
            self.refresh_ms * 3
        }
    }

    fn any_loading(&self) -> bool {
        [
            Resource::Projects,
            Resource::Developers,
            Resource::Secrets,
            Resource::Builds,
            Resource::Releases,
        ]
        .into_iter()
        .any(|r| self.lists.meta(r).loading.is_some())
    }

    fn pane_timing(&self, r: Resource) -> (Option<Millis>, Option<Millis>, bool) {
        let l = self.lists.meta(r);
        (l.loaded_at, l.retry_at, l.loading.is_some())
    }
}

fn find<T: Row>(rows: &[T], id: &str) -> Option<String> {
    rows.iter()
        .find(|r| r.id() == id)
        .map(|r| r.display_name().to_string())
}

/// Run ids are UUIDs: the first 8 characters are enough on screen.
/// Cut on a character boundary: an id is server-supplied text and may hold any character.
pub(crate) fn short_id(id: &str) -> &str {
    if id.chars().count() > 12 && id.contains('-') {
        id.char_indices().nth(8).map_or(id, |(i, _)| &id[..i])
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Build, BuildStatus};

    fn on_builds(kind: Kind) -> State {
        let p = ProfileInfo {
            name: "p".into(),
            kind,
            url: "http://127.0.0.1/".into(),
            read_only: false,
            insecure: false,
            theme: None,
            protected_environments: vec![],
            web_url: None,
            notify: Default::default(),
        };
        let mut s = State::new(vec![p], Keymap::default());
        s.active = Some(0);
        s.pane = Resource::Builds;
        s.lists.builds.rows = vec![Build {
            status: BuildStatus::Running,
            ..Build::default()
        }];
        s
    }

    #[test]
    fn a_queue_that_fans_out_is_read_at_the_list_pace() {
        let s = on_builds(Kind::Freecommit);
        assert!(
            s.refresh_interval() <= 2_000,
            "one request: fast while running"
        );
        let mut s = on_builds(Kind::Nullplatform);
        assert_eq!(
            s.refresh_interval(),
            s.refresh_ms,
            "a request per application"
        );
        // One project's history is a single request: fast again.
        s.builds_scope = BuildScope::Project {
            id: "1".into(),
            name: "payments".into(),
        };
        assert!(s.refresh_interval() <= 2_000);
    }
}
