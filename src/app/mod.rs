//! The application core: state, actions, the pure `update`, the keymap and the task runner.

pub mod action;
pub mod exec;
pub mod headless;
pub mod keymap;
pub mod logview;
pub mod mutation;
pub mod overview;
pub mod releases;
pub mod runner;
pub mod state;
pub mod update;

pub use action::{Action, Effect, Listing, LogItem, ProfileInfo};
pub use keymap::Keymap;
pub use state::State;
pub use update::update;
