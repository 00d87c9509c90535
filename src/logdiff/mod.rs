//! Log diff against another build (issue 12): normalisation rules, the step-aware diff, and
//! fetching the other build's log through the `Backend` trait (shared by the dashboard and
//! `shipdeck logs --diff`).

pub mod fetch;
pub mod hunks;
pub mod rules;

pub use hunks::{DiffLine, Hunk, LogDiff, LogText, Progress, Tag, diff_logs, render_unified};
pub use rules::{Normaliser, RuleSpec, default_rules};

/// Lines of context around a change, unless the config says otherwise.
pub const DEFAULT_CONTEXT: usize = 3;
