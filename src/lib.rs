//! shipdeck: a keyboard-driven terminal dashboard for CI/CD operators.
pub mod sim;
