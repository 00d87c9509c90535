//! What flows into `update` (actions: from keys, the clock and finished tasks) and what flows
//! out of it (effects, executed by the task runner).

use crate::api::ApiError;
use crate::domain::{Developer, ListQuery, Page, Project, Resource, Secret, Session};
use crossterm::event::KeyEvent;

/// Everything `update` reacts to. Task results carry the epoch and request id they were issued
/// with, so answers for a profile that is no longer active are dropped.
#[derive(Clone, Debug)]
pub enum Action {
    Quit,
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
    SwitchProfile(String),
    SetTheme(String),
    /// First-run screen: start the built-in demo.
    StartDemo,
    /// A key while a text input (palette, filter) or popup has the focus.
    Input(KeyEvent),
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
}

/// One page of any list.
#[derive(Clone, Debug, PartialEq)]
pub enum Listing {
    Projects(Page<Project>),
    Developers(Page<Developer>),
    Secrets(Page<Secret>),
}

/// Work for the task runner. Pure data: `update` decides, the runner does.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Build the backend for `profile` (dropping all work for the previous one) and log in.
    Connect { epoch: u64, profile: String },
    /// Log in again with the current backend (after a network failure).
    Login { epoch: u64 },
    FetchList {
        epoch: u64,
        req: u64,
        resource: Resource,
        query: ListQuery,
    },
    /// Start the in-process simulator and offer its profiles (first-run screen).
    StartDemo,
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
        }
    }
}
