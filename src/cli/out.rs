//! The one way the one-shot commands write. Each line reaches a pipe as soon as it is complete
//! (`shipdeck logs --follow | grep …` shows lines as they arrive), a reader that goes away
//! (`| head`, `| true`) ends the output quietly instead of a panic, and a closed stderr never
//! panics either. Use through the `out!` and `err!` macros (format arguments, nothing else).
//! Every line passes through the one sanitiser and redactor (`crate::safe::block`): server text
//! in a message can neither drive the terminal nor show a known secret. `--json` goes through
//! [`json`] (escaped, never altered), a log through [`Batch`] (sanitised by the log sanitiser).

use std::fmt::Arguments;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether the reader of stdout has gone: nothing more will be written, and the command ends
/// with exit 0 as far as its output is concerned.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// The text of a line, sanitised and redacted.
fn safe_text(args: Arguments<'_>) -> String {
    let text = std::fmt::format(args);
    match crate::safe::block(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(o) => o,
    }
}

/// Write a whole line to stdout and flush it. Returns false once the reader has gone.
pub fn line(args: Arguments<'_>) -> bool {
    if closed() {
        return false;
    }
    write_stdout(&safe_text(args))
}

/// Serialized JSON on stdout: C1 and bidi characters escaped, secrets redacted.
pub fn json(doc: &str) -> bool {
    if closed() {
        return false;
    }
    write_stdout(&crate::safe::json(doc))
}

fn write_stdout(text: &str) -> bool {
    let mut o = io::stdout().lock();
    let ok = o
        .write_all(text.as_bytes())
        .and_then(|()| o.write_all(b"\n"))
        .and_then(|()| o.flush());
    if ok.is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
    ok.is_ok()
}

/// Write a line to stderr; failures (a closed stderr) are ignored.
pub(crate) fn err_line(args: Arguments<'_>) {
    let text = safe_text(args);
    let mut e = io::stderr().lock();
    let _ = e
        .write_all(text.as_bytes())
        .and_then(|()| e.write_all(b"\n"));
}

/// Write to stderr without a newline (a question waiting for an answer on the same line).
pub(crate) fn err_prompt(args: Arguments<'_>) {
    let text = safe_text(args);
    let mut e = io::stderr().lock();
    let _ = e.write_all(text.as_bytes()).and_then(|()| e.flush());
}

/// Rewrite the progress line on a terminal's stderr: shipdeck's own "back to the start of the
/// line, erase it" (`\r` ESC[2K) before the text, which is sanitised like every other output.
pub(crate) fn err_progress(args: Arguments<'_>) {
    let text = safe_text(args);
    let mut e = io::stderr().lock();
    let _ = e
        .write_all(b"\r\x1b[2K")
        .and_then(|()| e.write_all(text.as_bytes()))
        .and_then(|()| e.flush());
}

/// A buffered stdout for many lines (a log): `flush` at the end of each batch so a follower sees
/// every batch at once without a syscall per line. Errors mark stdout closed.
pub(crate) struct Batch {
    w: io::BufWriter<io::StdoutLock<'static>>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            w: io::BufWriter::new(io::stdout().lock()),
        }
    }

    /// One line, already sanitised by the log sanitiser (or `--raw`); known secrets are
    /// redacted here. False once the reader has gone.
    pub fn line(&mut self, text: &str) -> bool {
        if closed() {
            return false;
        }
        let ok = self
            .w
            .write_all(crate::safe::redact(text).as_bytes())
            .and_then(|()| self.w.write_all(b"\n"));
        if ok.is_err() {
            CLOSED.store(true, Ordering::Relaxed);
        }
        ok.is_ok()
    }

    /// Push what is buffered to the reader; false once the reader has gone.
    pub fn flush(&mut self) -> bool {
        if closed() {
            return false;
        }
        if self.w.flush().is_err() {
            CLOSED.store(true, Ordering::Relaxed);
        }
        !closed()
    }
}

/// `out!("…", args)`: a line on stdout (see [`line`]; once the reader has gone, nothing).
macro_rules! out {
    ($($t:tt)*) => {{ $crate::cli::out::line(format_args!($($t)*)); }};
}

/// `err!("…", args)`: a line on stderr that never panics.
macro_rules! err {
    ($($t:tt)*) => { $crate::cli::out::err_line(format_args!($($t)*)) };
}

/// `ask!("…", args)`: a question on stderr, answer expected on the same line.
macro_rules! ask {
    ($($t:tt)*) => { $crate::cli::out::err_prompt(format_args!($($t)*)) };
}

pub(crate) use {ask, err, out};
