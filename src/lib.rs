//! shipdeck: a keyboard-driven terminal dashboard for CI/CD operators.
//!
//! Data flows one way (see `shared/design/ARCHITECTURE.md`): terminal events and task results
//! become `app::Action`s, the pure `app::update` changes `app::State` and returns `app::Effect`s,
//! the `app::runner::Runner` executes them on tokio, and `ui::draw` paints the state.

pub mod api;
pub mod app;
pub mod backends;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod logdiff;
pub mod logtext;
pub mod safe;
pub mod sim;
pub mod termseq;
pub mod tui;
pub mod ui;
pub mod weblinks;
