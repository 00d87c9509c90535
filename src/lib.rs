//! shipdeck: a keyboard-driven terminal dashboard for CI/CD operators.
pub mod logtext;
pub mod sim;
