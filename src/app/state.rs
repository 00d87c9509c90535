//! Everything the dashboard shows, as plain data. `update` is the only writer; `ui` only reads.

use super::action::ProfileInfo;
use super::keymap::{Ctx, Keymap};
use super::panes::logview::LogView;
use crate::domain::{
    Build, BuildScope, Capabilities, Developer, Kind, Project, Resource, Row, Secret, Session, Sort,
};
use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;
use std::path::PathBuf;

/// Rows per server page. Free Commit's default; small enough that the first answer is quick.
pub const PER_PAGE: u32 = 20;
/// A refresh reloads every loaded page in one request, up to this many rows.
pub const MAX_REFRESH_ROWS: u32 = 500;

/// Milliseconds on the app's monotonic clock (passed in, never read inside `update`).
pub type Millis = u64;

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

/// A message in the footer, gone at `until`.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub level: Level,
    pub text: String,
    pub until: Millis,
}

/// One server-paginated list: its rows and where the user is in it ([`ListMeta`], reached
/// through `Deref` so `l.selected` reads as before).
#[derive(Clone, Debug)]
pub struct ListPane<T> {
    pub rows: Vec<T>,
    pub meta: ListMeta,
}

/// Everything about a list that does not depend on its row type: what the app's list logic
/// works on for any pane without knowing the rows.
#[derive(Clone, Debug)]
pub struct ListMeta {
    /// Indices of `rows` that pass the local filter (all rows when filtering is server-side).
    pub visible: Vec<usize>,
    pub total: Option<u64>,
    /// Rows per page of the last request; the next page number is derived from it.
    pub has_more: bool,
    /// The request in flight and whether it replaces the rows (refresh) or appends (next page).
    pub loading: Option<(u64, LoadKind)>,
    pub error: Option<String>,
    /// Rows on screen are older than the last failed attempt.
    pub stale: bool,
    /// Position in `visible`.
    pub selected: usize,
    pub offset: usize,
    /// The filter applied (server-side when the backend filters, else on loaded rows).
    pub filter: String,
    /// The filter the rows on screen were fetched with (what Esc returns to).
    pub applied_filter: String,
    pub server_filter: bool,
    /// Pages of `PER_PAGE` rows covered by `rows` (the next page to ask for is `pages + 1`).
    pub pages: u32,
    pub sort: Option<Sort>,
    pub loaded_at: Option<Millis>,
    pub retry_at: Option<Millis>,
    pub failures: u32,
}

impl<T> std::ops::Deref for ListPane<T> {
    type Target = ListMeta;
    fn deref(&self) -> &ListMeta {
        &self.meta
    }
}

impl<T> std::ops::DerefMut for ListPane<T> {
    fn deref_mut(&mut self) -> &mut ListMeta {
        &mut self.meta
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// Replace the rows (first load, refresh, new filter or sort).
    Reload,
    /// Append the next page.
    More,
}

impl<T> Default for ListPane<T> {
    fn default() -> Self {
        ListPane {
            rows: Vec::new(),
            meta: ListMeta::default(),
        }
    }
}

impl Default for ListMeta {
    fn default() -> Self {
        ListMeta {
            visible: Vec::new(),
            total: None,
            has_more: false,
            loading: None,
            error: None,
            stale: false,
            selected: 0,
            offset: 0,
            filter: String::new(),
            applied_filter: String::new(),
            server_filter: true,
            pages: 0,
            sort: None,
            loaded_at: None,
            retry_at: None,
            failures: 0,
        }
    }
}

impl<T: Row> ListPane<T> {
    pub fn selected_row(&self) -> Option<&T> {
        self.visible
            .get(self.selected)
            .and_then(|&i| self.rows.get(i))
    }

    /// Recompute `visible` after rows or the filter changed, keeping the selection on the same
    /// row when it is still there.
    pub fn refilter(&mut self) {
        let keep = self.selected_row().map(|r| r.id().to_string());
        let needle = self.filter.to_lowercase();
        self.visible = if self.server_filter || needle.is_empty() {
            (0..self.rows.len()).collect()
        } else {
            self.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.haystack().to_lowercase().contains(&needle))
                .map(|(i, _)| i)
                .collect()
        };
        if let Some(id) = keep
            && let Some(pos) = self.visible.iter().position(|&i| self.rows[i].id() == id)
        {
            self.selected = pos;
        }
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }
}

/// A list pane whatever its row type: what the app's list logic needs.
pub trait AnyList {
    fn meta(&self) -> &ListMeta;
    fn meta_mut(&mut self) -> &mut ListMeta;
    fn refilter(&mut self);
    fn selected_id(&self) -> Option<String>;
    fn is_empty(&self) -> bool;
}

impl<T: Row> AnyList for ListPane<T> {
    fn meta(&self) -> &ListMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ListMeta {
        &mut self.meta
    }
    fn refilter(&mut self) {
        ListPane::refilter(self)
    }
    fn selected_id(&self) -> Option<String> {
        self.selected_row().map(|r| r.id().to_string())
    }
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl Lists {
    /// The list of a pane.
    pub fn get(&self, r: Resource) -> &dyn AnyList {
        match r {
            Resource::Projects => &self.projects,
            Resource::Developers => &self.developers,
            Resource::Secrets => &self.secrets,
            Resource::Builds => &self.builds,
            Resource::Releases => &self.releases,
            Resource::Audit => &self.audit,
            Resource::Overview => &self.overview,
        }
    }

    pub fn get_mut(&mut self, r: Resource) -> &mut dyn AnyList {
        match r {
            Resource::Projects => &mut self.projects,
            Resource::Developers => &mut self.developers,
            Resource::Secrets => &mut self.secrets,
            Resource::Builds => &mut self.builds,
            Resource::Releases => &mut self.releases,
            Resource::Audit => &mut self.audit,
            Resource::Overview => &mut self.overview,
        }
    }

    pub fn meta(&self, r: Resource) -> &ListMeta {
        self.get(r).meta()
    }

    pub fn meta_mut(&mut self, r: Resource) -> &mut ListMeta {
        self.get_mut(r).meta_mut()
    }
}

/// The lists, one per pane.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    pub projects: ListPane<Project>,
    pub developers: ListPane<Developer>,
    pub secrets: ListPane<Secret>,
    pub builds: ListPane<Build>,
    /// Deployment history of the selected environment (Releases pane).
    pub releases: ListPane<crate::domain::Deployment>,
    /// The audit trail, newest first (Audit pane).
    pub audit: ListPane<super::mutation::AuditEntry>,
    /// What needs a look across every profile (Overview pane).
    pub overview: ListPane<super::overview::OverviewItem>,
}

#[derive(Clone, Debug)]
pub struct Confirm {
    pub title: String,
    /// What will happen, line by line.
    pub lines: Vec<String>,
    /// The change the confirmation re-emits: destructive actions are data.
    pub pending: super::mutation::Mutation,
    /// A protected environment: its name must be typed (expected name, the input).
    pub typed: Option<(String, TextArea<'static>)>,
    /// A wrong name was typed.
    pub error: Option<String>,
}

/// What a form's answers become.
#[derive(Clone, Debug, PartialEq)]
pub enum FormPurpose {
    /// Start a build (steps to skip, backend fields).
    Launch,
    /// Cut a release candidate: fields `candidate`, `repo`, `commit`, `build`.
    CutRelease,
    /// Deploy a chosen candidate to an environment: field `candidate`.
    Deploy {
        environment: String,
        from: Option<String>,
    },
    /// Report a deployment status: fields `candidate`, `status`.
    SetStatus { environment: String },
    /// Report a build's status (nullplatform): field `status`.
    ReportStatus { build: Box<Build> },
    /// Declare an asset of a build (nullplatform): fields `kind`, `name`, `url`.
    Asset { build: Box<Build> },
    /// Download an archived file (Candor): field `path`. A read, not a change.
    Download { build: Box<Build>, file: String },
}

impl FormPurpose {
    /// The change these answers ask for, or what is wrong with them.
    pub fn mutation(
        &self,
        project: &str,
        project_id: &str,
        skip_steps: Vec<String>,
        params: Vec<(String, String)>,
        statuses: &[String],
    ) -> Result<super::mutation::Mutation, String> {
        use super::mutation::Mutation;
        use crate::domain::{DeployRequest, LaunchRequest, ReleaseRequest, StatusRequest};
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let candidate = || {
            let c = get("candidate");
            match crate::domain::split_candidate(&c) {
                Some(_) => Ok(c),
                None => Err(format!(
                    "`{c}` is not a release candidate version: write <release>-rcN or <release>.rcN, e.g. 2026.03.02-rc1"
                )),
            }
        };
        Ok(match self {
            FormPurpose::Launch => Mutation::Launch {
                project: project.to_string(),
                request: LaunchRequest {
                    project_id: project_id.to_string(),
                    skip_steps,
                    params,
                },
            },
            FormPurpose::CutRelease => {
                let commit = get("commit");
                if !(7..=40).contains(&commit.len())
                    || !commit.chars().all(|c| c.is_ascii_hexdigit())
                {
                    return Err(format!("commit `{commit}` is not a 7–40 digit hex SHA"));
                }
                Mutation::CreateRelease {
                    request: ReleaseRequest {
                        project: project.to_string(),
                        candidate: candidate()?,
                        repo: get("repo"),
                        commit,
                        build: matches!(
                            get("build").to_ascii_lowercase().as_str(),
                            "y" | "yes" | "true" | "1"
                        ),
                    },
                }
            }
            FormPurpose::Deploy { environment, from } => Mutation::Deploy {
                request: DeployRequest {
                    project: project.to_string(),
                    environment: environment.clone(),
                    candidate: candidate()?,
                },
                from: from.clone(),
            },
            FormPurpose::ReportStatus { build } => {
                let status = get("status");
                if !statuses.contains(&status) {
                    return Err(format!(
                        "status `{status}` is not one of: {}",
                        statuses.join(", ")
                    ));
                }
                Mutation::ReportStatus {
                    build: (**build).clone(),
                    status,
                }
            }
            FormPurpose::Asset { build } => {
                let kind = get("kind");
                if !statuses.contains(&kind) {
                    return Err(format!(
                        "kind `{kind}` is not one of: {}",
                        statuses.join(", ")
                    ));
                }
                let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
                Mutation::CreateAsset {
                    build: (**build).clone(),
                    kind,
                    name: opt("name"),
                    url: opt("url"),
                }
            }
            FormPurpose::Download { .. } => {
                return Err("a download is not a change on the server".into());
            }
            FormPurpose::SetStatus { environment } => {
                let status = get("status");
                if !statuses.contains(&status) {
                    return Err(format!(
                        "status `{status}` is not one of: {}",
                        statuses.join(", ")
                    ));
                }
                Mutation::SetStatus {
                    request: StatusRequest {
                        project: project.to_string(),
                        environment: environment.clone(),
                        candidate: candidate()?,
                        status,
                    },
                }
            }
        })
    }
}

/// Choose the steps to skip before a launch, or fill any other change's fields.
#[derive(Clone, Debug)]
pub struct LaunchForm {
    pub purpose: FormPurpose,
    /// Status words a status report may use (from the backend's capabilities).
    pub statuses: Vec<String>,
    pub project_id: String,
    pub project: String,
    /// Available steps and whether each is skipped.
    pub steps: Vec<(String, bool)>,
    pub cursor: usize,
    /// The skip list as text (`@lint, @test`), editable; kept in step with the checklist.
    pub input: TextArea<'static>,
    /// The backend's other launch inputs (commit, branch, ref, parameters…).
    pub fields: Vec<(crate::domain::LaunchField, TextArea<'static>)>,
    /// Where keys go: 0 the checklist, 1 the skip text, 2.. the fields.
    pub focus: usize,
    pub error: Option<String>,
}

impl LaunchForm {
    /// Focus positions that exist for this form, in Tab order.
    pub fn focus_order(&self) -> Vec<usize> {
        let mut order = Vec::new();
        if !self.steps.is_empty() {
            order.extend([0, 1]);
        }
        order.extend((0..self.fields.len()).map(|i| i + 2));
        order
    }
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
    /// Pick one of a list (archived files); Enter chooses.
    Pick {
        title: String,
        items: Vec<String>,
        selected: usize,
        build: Box<Build>,
    },
    /// Something to read (e.g. where to push an asset); any key closes it.
    Message {
        title: String,
        lines: Vec<String>,
    },
    Launch(LaunchForm),
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
    pub session: Option<Session>,
    pub pane: Resource,
    pub lists: Lists,
    pub detail: Option<Detail>,
    pub overlay: Overlay,
    pub toast: Option<Toast>,
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
    pub config_path: Option<String>,
    /// Which builds the Builds pane shows (the queue, or one project's history).
    pub builds_scope: BuildScope,
    /// The open log viewer, if any (over the Builds pane).
    pub log: Option<LogView>,
    /// The Releases pane's pipeline: environments, their state, the selection, a watch.
    pub releases: super::releases::Releases,
    /// After a switch from the Overview: the pane to open once logged in.
    pub open_after_login: Option<Resource>,
    /// Lines a log keeps in memory before spilling to disk.
    pub log_capacity: usize,
    /// This session's audit trail (newest last), plus earlier entries read at start.
    pub audit: Vec<super::mutation::AuditEntry>,
    /// Where log spill files go.
    pub cache_dir: PathBuf,
    /// Where `s` in a log saves it.
    pub save_dir: PathBuf,
    pub next_req: u64,
    /// Names this process's temporary files (the process id, passed in: `update` reads no
    /// system state).
    pub instance: u32,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
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
            session: None,
            pane: Resource::Projects,
            lists: Lists::default(),
            detail: None,
            overlay: Overlay::None,
            toast: None,
            keymap,
            cli_read_only: false,
            theme_override: None,
            config_theme: None,
            theme_names: Vec::new(),
            refresh_ms: crate::config::DEFAULT_REFRESH_SECS * 1000,
            now: 0,
            wall: DateTime::<Utc>::UNIX_EPOCH,
            page_rows: 20,
            config_path: None,
            builds_scope: BuildScope::Active,
            log: None,
            releases: Default::default(),
            open_after_login: None,
            log_capacity: crate::config::DEFAULT_LOG_BUFFER_LINES,
            audit: Vec::new(),
            cache_dir: std::env::temp_dir().join("shipdeck"),
            save_dir: std::env::temp_dir().join("shipdeck").join("logs"),
            next_req: 1,
            instance: 0,
            dirty: true,
            quit: false,
        }
    }

    /// A fresh request id (results carry it back; a newer one supersedes an older one).
    pub fn take_req(&mut self) -> u64 {
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
    pub fn key_context(&self) -> Ctx {
        super::router::top(self).ctx()
    }

    /// Whether something in the Builds pane is queued or running (refresh often, tick the
    /// duration column every second).
    pub fn builds_active(&self) -> bool {
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
        if let Some(t) = &self.toast {
            at(t.until);
        }
        if let Conn::Offline { retry_at, .. } = self.conn {
            at(retry_at);
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
    pub fn refresh_interval(&self) -> Millis {
        if self.pane != Resource::Builds {
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
pub fn short_id(id: &str) -> &str {
    if id.chars().count() > 12 && id.contains('-') {
        id.char_indices().nth(8).map_or(id, |(i, _)| &id[..i])
    } else {
        id
    }
}
