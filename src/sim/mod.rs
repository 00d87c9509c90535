//! The built-in simulator of the five backends (see `shared/api/`).
