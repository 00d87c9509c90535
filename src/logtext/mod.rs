//! Log-text core: turning hostile build-log bytes into safe, styled display
//! lines, and storing a bounded window of them with spill-to-disk.
//!
//! * [`sanitize`] — streaming sanitiser ([`Sanitizer`]) built on the `vte`
//!   escape-sequence state machine. Keeps ANSI SGR as [`ratatui`] styles,
//!   neutralises every other control sequence and control character.
//! * [`LogLine`] — one sanitised line: plain text plus compact style runs, with
//!   cheap windowed / wrapped / highlighted rendering to a ratatui `Line`.
//! * [`buffer`] — [`LogBuffer`], an append-only line store holding at most
//!   `capacity` lines in memory and spilling older ones to a file, plus step
//!   markers.
//!
//! # Guarantees
//! The text of every [`LogLine`] (and the output of
//! [`sanitize_to_string`]) contains no character in `U+0000..=U+001F`, no
//! `U+007F` and no `U+0080..=U+009F`; in particular no ESC, CR, LF or TAB;
//! bidi and zero-width characters appear only as visible `<U+XXXX>` markers.
//! [`sanitize_keep_sgr`] additionally contains only complete
//! `ESC [ <digits and ;> m` sequences plus `\n` line ends.

pub mod buffer;
pub(crate) mod line;
pub mod sanitize;
pub mod search;

pub use buffer::{LogBuffer, LogSnapshot, StepMarker, StepStatus};
pub use line::{LogLine, StyleRun};
pub use sanitize::{Sanitizer, sanitize_keep_sgr, sanitize_to_string};
pub use search::Needle;
