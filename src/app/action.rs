//! What flows into `update` (actions: from keys, the clock and finished tasks) and what flows
//! out of it (effects, executed by the task runner).

pub use super::mutation::{AuditEntry, Mutation, Outcome};
use crate::api::ApiError;
use crate::domain::{
    Build, BuildScope, BuildStatus, Developer, ListQuery, Page, Project, Resource, Secret, Session,
    StepStatus,
};
use crate::logtext::LogLine;
use crossterm::event::KeyEvent;

/// Everything `update` reacts to. Task results carry the epoch and request id they were issued
/// with, so answers for a profile that is no longer active are dropped.
#[derive(Clone, Debug)]
pub enum Action {
    Quit,
    /// Ctrl-Z: stop like any terminal program; `fg` comes back to the same screen.
    Suspend,
    Up,
    Down,
    Top,
    Bottom,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    /// Enter: open the selected item.
    Open,
    /// Esc: back one level.
    Back,
    NextPane,
    PrevPane,
    Refresh,
    Help,
    OpenPalette,
    StartFilter,
    CycleSort,
    ToggleSortOrder,
    ShowPane(Resource),
    /// A saved view (`[[views]]`) by its position in the config: `8`, `9`, `0`.
    OpenView(usize),
    /// Details of the selected row.
    Inspect,
    /// Start a build of the selected project (opens the launch form).
    Launch,
    /// Cancel the selected queued or running build (asks first).
    Kill,
    // Log viewer.
    ToggleFollow,
    NextMatch,
    PrevMatch,
    ToggleMatchFilter,
    ToggleWrap,
    ToggleLineNumbers,
    JumpToError,
    /// `E`: the next error after the cursor.
    NextError,
    SaveLog,
    Copy,
    ToggleMark,
    /// Builds pane: mark / unmark the selected row for `x` / `R` on several.
    MarkRow,
    ToggleSteps,
    NextStep,
    PrevStep,
    ScrollLeft,
    ScrollRight,
    /// `d`: compare this log with the last green build's (again: back to the log).
    ToggleDiff,
    /// `D`: compare with a build picked from the project's builds.
    PickDiff,
    /// The failure summary of a failed build / the full log.
    ToggleSummary,
    // Releases pane.
    PrevEnv,
    NextEnv,
    NextProject,
    Promote,
    DeployCandidate,
    Rollback,
    SetStatus,
    CutRelease,
    /// Declare an asset of the selected build (nullplatform).
    CreateAsset,
    /// List the selected build's archived files to download one (Candor).
    Archives,
    // Popups (confirm, form, palette, filter, picker, help): their own keys, by name.
    /// Yes / submit / run / apply / choose.
    Accept,
    /// No / close; nothing is sent.
    Cancel,
    NextField,
    PrevField,
    /// A form's checklist: skip / keep the step under the cursor.
    ToggleItem,
    /// Clear the text field with the focus (Ctrl-U).
    ClearLine,
    /// Palette: complete the chosen command.
    Complete,
    /// Rollback confirmation: force on/off.
    ToggleForce,
    /// `w`: watch the selected build, run, task or deployment (or stop watching it).
    ToggleWatch,
    /// `o`: open the selected item in its system's web UI.
    OpenWeb,
    /// `Y`: copy the selected item's link (again: its id).
    CopyLink,
    SwitchProfile(String),
    SetTheme(String),
    /// First-run screen: start the built-in demo.
    StartDemo,
    /// A key while a text input (palette, filter) or popup has the focus.
    Input(KeyEvent),
    /// A click on the list row at this position of the visible rows (twice quickly: open it).
    ClickRow(usize),
    /// The mouse wheel: lines down (positive) or up.
    Wheel(i16),
    Resize {
        cols: u16,
        rows: u16,
    },
    /// The clock moved (spinner, refresh due, retry due, message expiry).
    Tick,
    /// The demo simulator is up: these are the profiles to offer.
    DemoReady {
        profiles: Vec<ProfileInfo>,
        open: String,
    },
    LoggedIn {
        epoch: u64,
        result: Result<Session, ApiError>,
    },
    ListLoaded {
        epoch: u64,
        req: u64,
        result: Result<Listing, ApiError>,
    },
    RecentLoaded {
        epoch: u64,
        profile: String,
        project_id: String,
        result: Result<Vec<Build>, ApiError>,
    },
    LaunchOptionsLoaded {
        epoch: u64,
        project_id: String,
        project: String,
        result: Result<crate::domain::LaunchOptions, ApiError>,
    },
    /// Rows last seen for this profile, read from the local cache at start.
    CacheLoaded {
        epoch: u64,
        cache: Box<ListCache>,
    },
    ArchivesLoaded {
        epoch: u64,
        build: Box<Build>,
        result: Result<Vec<String>, ApiError>,
    },
    DownloadProgress {
        file: String,
        done: u64,
        total: Option<u64>,
    },
    Downloaded {
        file: String,
        path: std::path::PathBuf,
        result: Result<u64, ApiError>,
        /// A directory the download had to create (said, never silent).
        created: Option<std::path::PathBuf>,
    },
    /// The download's path exists: nothing was written; ask before replacing it.
    DownloadExists {
        build: Box<Build>,
        file: String,
        path: std::path::PathBuf,
    },
    RunnerHealth {
        epoch: u64,
        result: Result<crate::api::RunnerHealth, ApiError>,
    },
    EnvironmentsLoaded {
        epoch: u64,
        result: Result<Vec<crate::domain::Environment>, ApiError>,
    },
    DeploymentsLoaded {
        epoch: u64,
        req: u64,
        result: Result<Page<crate::domain::Deployment>, ApiError>,
    },
    /// A change on the server finished (or failed), with its audit entry. Boxed: it is large.
    Mutated(Box<Mutated>),
    /// A log was saved to a file (lines written), or could not be.
    LogSaved {
        path: std::path::PathBuf,
        result: Result<u64, String>,
    },
    /// A search through the spilled (on-disk) part of a log found its first match there.
    SpillSearched {
        req: u64,
        needle: String,
        first: Option<u64>,
    },
    /// A batch of sanitised log events for the log view `req`.
    LogIngest {
        epoch: u64,
        req: u64,
        items: Vec<LogItem>,
    },
    /// Where the watched items are now (answer of `Effect::PollWatch`).
    WatchPolled {
        req: u64,
        seen: Vec<super::watch::Seen>,
    },
    /// The browser could not be started for a link.
    OpenFailed {
        url: String,
        why: String,
    },
    /// The log tail `req` stopped (finished, or failed).
    LogTailEnded {
        epoch: u64,
        req: u64,
        result: Result<(), ApiError>,
    },
    /// Where the comparison `job` of the log view `req` stands (a sentence).
    DiffProgress {
        epoch: u64,
        req: u64,
        job: u64,
        text: String,
    },
    /// The comparison `job` ended.
    DiffDone {
        epoch: u64,
        req: u64,
        job: u64,
        result: Result<Box<super::diffjob::DiffOutcome>, ApiError>,
    },
    /// The builds `D` may compare the log view `req` with.
    CompareCandidates {
        epoch: u64,
        req: u64,
        result: Result<Vec<Build>, ApiError>,
    },
}

impl Action {
    /// The keys that start a change on a server (a read-only profile refuses them before any
    /// form opens), and the verb the audit trail records for them.
    pub(crate) fn change_verb(&self) -> Option<&'static str> {
        Some(match self {
            Action::Launch => "launch",
            Action::Kill => "kill",
            Action::Rollback => "rollback",
            Action::Promote | Action::DeployCandidate => "deploy",
            Action::SetStatus => "set_status",
            Action::CreateAsset => "create_asset",
            Action::CutRelease => "create_release",
            _ => return None,
        })
    }
}

/// First pages of the lists, kept on disk per profile so a restart paints at once.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListCache {
    #[serde(default)]
    pub projects: Vec<Project>,
    #[serde(default)]
    pub developers: Vec<Developer>,
    /// Names and scopes only: the domain has no secret values to cache.
    #[serde(default)]
    pub secrets: Vec<Secret>,
}

/// The result of an `Effect::Mutate`.
#[derive(Clone, Debug)]
pub struct Mutated {
    pub epoch: u64,
    pub op: Mutation,
    pub result: Result<Outcome, ApiError>,
    pub audit: AuditEntry,
}

/// A log event after sanitising: what the viewer stores.
#[derive(Clone, Debug, PartialEq)]
pub enum LogItem {
    Step {
        name: String,
        status: StepStatus,
    },
    StepStatus(StepStatus),
    Lines(Vec<LogLine>),
    /// The live log is replaced by the archived one.
    Restart,
    End {
        status: Option<BuildStatus>,
    },
}

/// One page of any list.
#[derive(Clone, Debug, PartialEq)]
pub enum Listing {
    Projects(Page<Project>),
    Developers(Page<Developer>),
    Secrets(Page<Secret>),
    Builds(Page<Build>),
    Deployments(Page<crate::domain::Deployment>),
    Audit(Page<AuditEntry>),
    Overview(Page<super::overview::OverviewItem>),
}

/// Work for the task runner. Pure data: `update` decides, the runner does.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Build the backend for `profile` (dropping all work for the previous one) and log in.
    Connect {
        epoch: u64,
        profile: String,
    },
    /// Log in again with the current backend (after a network failure).
    Login {
        epoch: u64,
    },
    FetchList {
        epoch: u64,
        req: u64,
        resource: Resource,
        query: ListQuery,
    },
    FetchBuilds {
        epoch: u64,
        req: u64,
        scope: BuildScope,
    },
    /// A project's recent builds (answered with `RecentLoaded`).
    FetchRecent {
        epoch: u64,
        profile: String,
        project: Box<crate::domain::Project>,
    },
    /// Ask which steps a launch may skip.
    LaunchOptions {
        epoch: u64,
        project_id: String,
        project: String,
    },
    /// Change something on the server. Only `gate::send` emits it, after the operator
    /// confirmed and the read-only gate passed; `profile`/`user` stamp the audit entry.
    Mutate {
        epoch: u64,
        op: Mutation,
        profile: String,
        user: String,
    },
    /// Stream a build's log (replaces any tail in progress).
    TailLog {
        epoch: u64,
        req: u64,
        build: Build,
        follow: bool,
    },
    StopLog,
    FetchEnvironments {
        epoch: u64,
    },
    /// Ask every profile what needs a look (answered as one `ListLoaded`).
    FetchOverview {
        epoch: u64,
        req: u64,
    },
    /// Read the profile's cached rows (answered with `CacheLoaded`).
    LoadCache {
        epoch: u64,
        profile: String,
    },
    /// Keep the first rows of the lists for the next start.
    SaveCache {
        profile: String,
        cache: Box<ListCache>,
    },
    FetchDeployments {
        epoch: u64,
        req: u64,
        project: String,
        environment: String,
        page: u32,
        per_page: u32,
    },
    ListArchives {
        epoch: u64,
        build: Box<Build>,
    },
    /// Download an archived file (a read: no confirmation, allowed read-only).
    Download {
        build: Box<Build>,
        file: String,
        path: std::path::PathBuf,
        /// The operator agreed to replace an existing file at `path`.
        replace: bool,
    },
    RunnerHealth {
        epoch: u64,
    },
    /// Tell the operator even when they look elsewhere (a watched item or a followed promotion
    /// ended): the bell and/or a desktop notification (OSC 9 / OSC 777), as the profile says.
    Alert(Alert),
    /// Put text on the system clipboard (OSC 52, works over SSH and in tmux).
    Copy(String),
    /// Open a link in the browser (`xdg-open` / `open`, detached, never waited for).
    OpenUrl(String),
    /// Ask where the watched items are (answered with `WatchPolled`).
    PollWatch {
        req: u64,
        items: Vec<super::watch::Watched>,
    },
    /// Keep a profile's watch list for the next start (written atomically).
    SaveWatch {
        profile: String,
        items: Vec<super::watch::Watched>,
    },
    /// Give the terminal back and stop the process (SIGTSTP); the event loop does it.
    Suspend,
    /// Start the in-process simulator and offer its profiles (first-run screen).
    StartDemo,
    /// Write a log to a file off the UI thread (answered with `LogSaved`).
    SaveLog {
        path: std::path::PathBuf,
        snapshot: crate::logtext::LogSnapshot,
    },
    /// Search the on-disk part of the log `req` (answered with `SpillSearched`).
    SearchSpill {
        req: u64,
        needle: String,
        snapshot: crate::logtext::LogSnapshot,
    },
    /// Append a line to the audit file (a refused attempt; sent changes are audited by the
    /// task that sends them).
    Audit(Box<AuditEntry>),
    /// Compare a log with another build's, off the UI thread (answered with `DiffProgress`
    /// and `DiffDone`); replaces a comparison in progress.
    DiffLog(Box<super::diffjob::DiffRequest>),
    /// Stop the comparison in progress (Esc).
    CancelDiff,
    /// List the builds a log may be compared with (answered with `CompareCandidates`).
    CompareCandidates {
        epoch: u64,
        req: u64,
        build: Box<Build>,
    },
}

impl Effect {}

/// How an ended watched item is announced outside the screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub title: String,
    pub body: String,
    /// The terminal bell.
    pub bell: bool,
    /// A desktop notification (OSC 9 or OSC 777).
    pub desktop: bool,
}

/// What the dashboard knows about a configured profile (no credentials).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileInfo {
    pub name: String,
    pub kind: crate::domain::Kind,
    pub url: String,
    pub read_only: bool,
    pub insecure: bool,
    pub theme: Option<String>,
    /// Environments that need their name typed before a change.
    pub protected_environments: Vec<String>,
    /// The web UI's root when set in the profile (`web_url`); else derived from `url`.
    pub web_url: Option<String>,
    /// How an ended watched item of this profile is announced.
    pub notify: crate::config::Notify,
}

impl ProfileInfo {
    pub fn from_profile(p: &crate::config::Profile) -> ProfileInfo {
        ProfileInfo {
            name: p.name.clone(),
            kind: p.kind,
            url: p.url.to_string(),
            read_only: p.read_only,
            insecure: p.insecure,
            theme: p.theme.clone(),
            protected_environments: p.protected_environments.clone(),
            web_url: p.web_url.as_ref().map(|u| u.to_string()),
            notify: p.notify,
        }
    }
}
