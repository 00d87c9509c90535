//! The application core: state, actions, the pure `update`, the key router and keymap, and the
//! task runner. Where things live (two hops to any behaviour):
//!
//! - `update` routes an action; `router` decides which visible layer gets a key; `keymap` is
//!   the table of keys per layer (help and footer are generated from it);
//! - `panes/`: one module per pane (`builds`, `log` + `logview`, `releases`, `overview`; the
//!   list panes share `lists`); `overlays/`: one module per popup (confirm, form, palette,
//!   filter, picker, help);
//! - `results`: replies of requests; `profile`: switching and login; `gate`: the read-only
//!   gate (the CLI uses it too); `messages`: what the app says;
//! - `runner` + `exec`: effects become tasks; writes are never aborted; `diffjob`: the log
//!   diff off the UI thread (its view is `panes/triage`).

pub mod action;
pub mod bulk;
pub mod diffjob;
pub(crate) mod exec;
pub(crate) mod gate;
pub mod headless;
pub mod keymap;
pub mod links;
pub mod lists;
pub mod messages;
pub(crate) mod mutation;
pub mod overlays;
pub mod panes;
pub mod profile;
pub mod recent;
pub(crate) mod rerun;
pub mod results;
pub mod router;
pub mod runner;
pub mod state;
pub mod update;
pub mod views;
pub mod watch;

pub use action::{Action, Effect, Listing, LogItem, ProfileInfo};
pub use keymap::Keymap;
pub use panes::{logview, overview, releases};
pub use state::State;
pub use update::update;
