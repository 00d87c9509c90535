//! The tracing log file's writer: every formatted event passes through [`super::block`], so
//! server text quoted in a log line is as inert, and as free of secrets, as on screen.

use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

/// Wraps a `MakeWriter` (the log file's non-blocking appender).
pub struct SafeMakeWriter<M>(pub M);

/// One event's writer.
pub struct SafeWriter<W>(W);

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(super::block(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for SafeMakeWriter<M> {
    type Writer = SafeWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        SafeWriter(self.0.make_writer())
    }
}
