//! [`LogBuffer`]: bounded in-memory line store with append-only spill file.
//!
//! Lines get absolute numbers from 0. At most `capacity` lines are held in
//! memory as [`LogLine`]s; older lines are moved, as plain sanitised text
//! (one line per `\n`-terminated line, styles dropped), to a spill file that
//! is written in batches of [`DEFAULT_FLUSH_BYTES`]. A sparse index (one
//! offset per [`SPILL_BLOCK_LINES`] lines) lets reads seek into the file, so
//! search, iteration, save and random access of spilled lines stream from
//! disk and never load the spilled part as a whole.
//!
//! Lines are never reordered or dropped: if writing the spill file fails,
//! the unwritten batch stays in memory (readable as usual), the error is kept
//! in [`LogBuffer::spill_error`], and the write is retried later.
//!
//! The spill file is owned by the buffer: it is created (truncated) on the
//! first spill and deleted when the buffer is dropped.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::line::LogLine;

/// Lines per sparse-index block of the spill file.
pub(crate) const SPILL_BLOCK_LINES: u64 = 1024;
/// Default spill batch size in bytes.
pub(crate) const DEFAULT_FLUSH_BYTES: usize = 256 * 1024;

/// Step status is the domain's (one enum for the whole app).
pub use crate::domain::StepStatus;

/// A step start recorded with [`LogBuffer::mark_step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepMarker {
    /// Step name as given.
    pub name: String,
    /// Absolute number of the first line of the step.
    pub line: u64,
    /// Current status (updatable with [`LogBuffer::set_step_status`]).
    pub status: StepStatus,
}

/// The on-disk part of a [`LogBuffer`].
///
/// Logical content = file bytes `0..disk_len` followed by `pending`.
#[derive(Debug)]
struct Spill {
    path: PathBuf,
    file: Option<File>,
    disk_len: u64,
    pending: Vec<u8>,
    /// Logical byte offset of spilled line `k * SPILL_BLOCK_LINES`.
    index: Vec<u64>,
    flush_bytes: usize,
    /// Flush when `pending` reaches this size (raised after a failure).
    flush_at: usize,
    error: Option<io::Error>,
}

impl Spill {
    fn logical_len(&self) -> u64 {
        self.disk_len + self.pending.len() as u64
    }

    fn append(&mut self, line_no: u64, text: &str) {
        if line_no % SPILL_BLOCK_LINES == 0 {
            self.index.push(self.logical_len());
        }
        self.pending.extend_from_slice(text.as_bytes());
        self.pending.push(b'\n');
        if self.pending.len() >= self.flush_at {
            self.flush();
        }
    }

    /// Write `pending` to the file in one batch. On failure keep it in
    /// memory and back off.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.try_write() {
            Ok(()) => {
                self.disk_len += self.pending.len() as u64;
                self.pending.clear();
                self.flush_at = self.flush_bytes;
                self.error = None;
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "log spill write failed; keeping lines in memory");
                self.error = Some(e);
                self.flush_at = self.pending.len().saturating_mul(2).max(self.flush_bytes);
            }
        }
    }

    fn try_write(&mut self) -> io::Result<()> {
        let f = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&self.path)?,
            ),
        };
        // Seek explicitly: a previous failed write may have left garbage
        // after `disk_len`, which this overwrites.
        f.seek(SeekFrom::Start(self.disk_len))?;
        f.write_all(&self.pending)
    }

    /// Read logical bytes `a..b` into `out` (replacing its contents).
    /// `reader` caches a read handle across calls.
    fn read_range(
        &self,
        reader: &mut Option<File>,
        a: u64,
        b: u64,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        out.clear();
        if a < self.disk_len {
            let end = b.min(self.disk_len);
            let f = match reader {
                Some(f) => f,
                None => reader.insert(File::open(&self.path)?),
            };
            f.seek(SeekFrom::Start(a))?;
            f.take(end - a).read_to_end(out)?;
            if (out.len() as u64) != end - a {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "spill file shorter than expected",
                ));
            }
        }
        if b > self.disk_len {
            let pa = (a.max(self.disk_len) - self.disk_len) as usize;
            let pb = (b - self.disk_len) as usize;
            out.extend_from_slice(&self.pending[pa..pb]);
        }
        Ok(())
    }
}

/// Bounded, append-only store of sanitised log lines. See the
/// [module docs](self).
#[derive(Debug)]
pub struct LogBuffer {
    capacity: usize,
    mem: VecDeque<LogLine>,
    spilled: u64,
    spill: Spill,
    steps: Vec<StepMarker>,
}

/// One loaded spill block: its bytes and the start offset of each line.
struct Block {
    k: u64,
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl Block {
    fn line(&self, i: usize) -> &[u8] {
        let s = self.starts[i];
        let e = self.starts.get(i + 1).map_or(self.bytes.len(), |&n| n);
        // Strip the terminating '\n'.
        &self.bytes[s..e.saturating_sub(1).max(s)]
    }
}

impl LogBuffer {
    /// A buffer keeping at most `capacity_lines` lines in memory and
    /// spilling older ones to `spill_path` (created lazily, deleted on drop).
    pub fn new(capacity_lines: usize, spill_path: PathBuf) -> LogBuffer {
        LogBuffer {
            capacity: capacity_lines,
            mem: VecDeque::new(),
            spilled: 0,
            spill: Spill {
                path: spill_path,
                file: None,
                disk_len: 0,
                pending: Vec::new(),
                index: Vec::new(),
                flush_bytes: DEFAULT_FLUSH_BYTES,
                flush_at: DEFAULT_FLUSH_BYTES,
                error: None,
            },
            steps: Vec::new(),
        }
    }

    /// Set the spill batch size in bytes (minimum 1). Mostly for tests.
    pub fn with_flush_bytes(mut self, bytes: usize) -> LogBuffer {
        self.spill.flush_bytes = bytes.max(1);
        self.spill.flush_at = self.spill.flush_bytes;
        self
    }

    /// Append a line; returns its absolute line number.
    pub fn push(&mut self, line: LogLine) -> u64 {
        let n = self.len();
        self.mem.push_back(line);
        while self.mem.len() > self.capacity {
            let Some(old) = self.mem.pop_front() else {
                break;
            };
            self.spill.append(self.spilled, old.plain());
            self.spilled += 1;
        }
        n
    }

    /// Total number of lines ever appended (spilled + in memory).
    pub fn len(&self) -> u64 {
        self.spilled + self.mem.len() as u64
    }

    /// True when no line was ever appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// In-memory line capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of lines moved out of memory (lines `0..spilled()`); equally
    /// the number of the first in-memory line.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// Path of the spill file.
    #[cfg(test)]
    pub(crate) fn spill_path(&self) -> &Path {
        &self.spill.path
    }

    /// The last spill write error, if the most recent write attempt failed
    /// (affected lines are still held in memory).
    #[cfg(test)]
    pub(crate) fn spill_error(&self) -> Option<&io::Error> {
        self.spill.error.as_ref()
    }

    /// An in-memory line by absolute number (`None` if spilled or beyond the
    /// end; use [`text_of`](Self::text_of) for spilled lines).
    pub fn get(&self, n: u64) -> Option<&LogLine> {
        let i = n.checked_sub(self.spilled)?;
        self.mem.get(usize::try_from(i).ok()?)
    }

    /// Iterate in-memory lines with their absolute numbers.
    pub(crate) fn iter_mem(&self) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> + '_ {
        let base = self.spilled;
        self.mem
            .iter()
            .enumerate()
            .map(move |(i, l)| (base + i as u64, l))
    }

    /// Plain text of any line, reading the spill file if needed.
    pub fn text_of(&self, n: u64) -> io::Result<Option<Cow<'_, str>>> {
        if n >= self.spilled {
            return Ok(self.get(n).map(|l| Cow::Borrowed(l.plain())));
        }
        let mut reader = None;
        let block = self.load_block(&mut reader, n / SPILL_BLOCK_LINES, Vec::new())?;
        let line = block.line((n % SPILL_BLOCK_LINES) as usize);
        Ok(Some(Cow::Owned(String::from_utf8_lossy(line).into_owned())))
    }

    fn load_block(&self, reader: &mut Option<File>, k: u64, buf: Vec<u8>) -> io::Result<Block> {
        let a = self.spill.index[k as usize];
        let b = self
            .spill
            .index
            .get(k as usize + 1)
            .copied()
            .unwrap_or_else(|| self.spill.logical_len());
        let mut bytes = buf;
        self.spill.read_range(reader, a, b, &mut bytes)?;
        let mut starts = Vec::with_capacity(SPILL_BLOCK_LINES as usize);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', &bytes).map(|i| i + 1));
        starts.pop(); // position after the final '\n'
        let expected = (self.spilled - k * SPILL_BLOCK_LINES).min(SPILL_BLOCK_LINES) as usize;
        if starts.len() != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "spill file block has an unexpected number of lines",
            ));
        }
        Ok(Block { k, bytes, starts })
    }

    /// Plain text of every line, spilled and in memory, in order. The spilled
    /// part is streamed block by block. After an `Err` the iterator ends.
    pub fn iter_all_text(&self) -> AllText<'_> {
        AllText {
            buf: self,
            next: 0,
            reader: None,
            block: None,
        }
    }

    /// Write every line (plain text, `\n`-terminated) to `path`.
    pub fn save_to(&self, path: &Path) -> io::Result<()> {
        self.snapshot().save_to(path).map(|_| ())
    }

    /// What saving or searching the whole log needs, taken at once so the work can run off
    /// the UI thread: the spill file is append-only, so its first `spill_len` bytes stay valid.
    pub fn snapshot(&self) -> LogSnapshot {
        LogSnapshot {
            spill_path: self.spill.path.clone(),
            spill_len: self.spill.disk_len,
            pending: self.spill.pending.clone(),
            mem: self.mem.iter().map(|l| l.plain().to_string()).collect(),
        }
    }

    /// Find the nearest line containing `needle` (case-sensitive), starting
    /// at line `from` inclusive, searching towards the end (`forward`) or the
    /// start. Covers spilled and in-memory lines. An I/O error reading the
    /// spill file is logged and treated as "no match in the spilled part";
    /// use [`try_search`](Self::try_search) to see it.
    pub fn search(&self, needle: &str, from: u64, forward: bool) -> Option<u64> {
        match self.try_search(needle, from, forward) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "log search could not read the spill file");
                self.search_mem(from, forward, |t| t.contains(needle))
            }
        }
    }

    /// [`search`](Self::search) reporting I/O errors.
    pub(crate) fn try_search(
        &self,
        needle: &str,
        from: u64,
        forward: bool,
    ) -> io::Result<Option<u64>> {
        if needle.is_empty() || needle.contains('\n') {
            return Ok(None);
        }
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        self.search_impl(
            from,
            forward,
            |block| finder.find(block).is_some(),
            |t| finder.find(t.as_bytes()).is_some(),
        )
    }

    /// Search with an arbitrary line predicate (e.g. case-insensitive or
    /// regex matching supplied by the UI). Same semantics as
    /// [`try_search`](Self::try_search).
    #[cfg(test)]
    pub(crate) fn search_by(
        &self,
        from: u64,
        forward: bool,
        pred: impl Fn(&str) -> bool,
    ) -> io::Result<Option<u64>> {
        self.search_impl(from, forward, |_| true, pred)
    }

    fn search_mem(&self, from: u64, forward: bool, pred: impl Fn(&str) -> bool) -> Option<u64> {
        let total = self.len();
        if forward {
            let start = from.max(self.spilled);
            (start..total).find(|&n| self.get(n).is_some_and(|l| pred(l.plain())))
        } else {
            if total == 0 || from < self.spilled {
                return None;
            }
            let last = from.min(total - 1);
            (self.spilled..=last)
                .rev()
                .find(|&n| self.get(n).is_some_and(|l| pred(l.plain())))
        }
    }

    /// `block_may_match` is a cheap pre-filter over a whole spill block.
    fn search_impl(
        &self,
        from: u64,
        forward: bool,
        block_may_match: impl Fn(&[u8]) -> bool,
        pred: impl Fn(&str) -> bool,
    ) -> io::Result<Option<u64>> {
        let total = self.len();
        if total == 0 {
            return Ok(None);
        }
        let mut reader = None;
        let mut buf = Vec::new();
        let mut check_block = |k: u64, lines: &mut dyn Iterator<Item = u64>, buf: &mut Vec<u8>| {
            let block = self.load_block(&mut reader, k, std::mem::take(buf))?;
            let mut found = None;
            if block_may_match(&block.bytes) {
                for n in lines {
                    let text =
                        String::from_utf8_lossy(block.line((n - k * SPILL_BLOCK_LINES) as usize));
                    if pred(&text) {
                        found = Some(n);
                        break;
                    }
                }
            }
            *buf = block.bytes;
            io::Result::Ok(found)
        };
        if forward {
            let mut n = from;
            while n < self.spilled {
                let k = n / SPILL_BLOCK_LINES;
                let end = ((k + 1) * SPILL_BLOCK_LINES).min(self.spilled);
                if let Some(hit) = check_block(k, &mut (n..end), &mut buf)? {
                    return Ok(Some(hit));
                }
                n = end;
            }
            Ok(self.search_mem(n, true, &pred))
        } else {
            let from = from.min(total - 1);
            if let Some(hit) = self.search_mem(from, false, &pred) {
                return Ok(Some(hit));
            }
            if self.spilled == 0 {
                return Ok(None);
            }
            let mut n = from.min(self.spilled - 1) + 1; // exclusive upper bound
            while n > 0 {
                let k = (n - 1) / SPILL_BLOCK_LINES;
                let start = k * SPILL_BLOCK_LINES;
                if let Some(hit) = check_block(k, &mut (start..n).rev(), &mut buf)? {
                    return Ok(Some(hit));
                }
                n = start;
            }
            Ok(None)
        }
    }

    /// Record that a step named `name` starts at the next line to be
    /// appended. Returns the step's index.
    pub fn mark_step(&mut self, name: impl Into<String>, status: StepStatus) -> usize {
        self.steps.push(StepMarker {
            name: name.into(),
            line: self.len(),
            status,
        });
        self.steps.len() - 1
    }

    /// Update a step's status; false if `idx` is out of range.
    pub(crate) fn set_step_status(&mut self, idx: usize, status: StepStatus) -> bool {
        match self.steps.get_mut(idx) {
            Some(s) => {
                s.status = status;
                true
            }
            None => false,
        }
    }

    /// All step markers in order of their start line.
    pub fn steps(&self) -> &[StepMarker] {
        &self.steps
    }

    /// Index of the step containing line `n` (the last step starting at or
    /// before it).
    pub(crate) fn step_for_line(&self, n: u64) -> Option<usize> {
        self.steps.partition_point(|s| s.line <= n).checked_sub(1)
    }
}

impl Drop for LogBuffer {
    fn drop(&mut self) {
        if self.spill.file.take().is_some() {
            let _ = std::fs::remove_file(&self.spill.path);
        }
    }
}

/// Iterator returned by [`LogBuffer::iter_all_text`].
pub struct AllText<'a> {
    buf: &'a LogBuffer,
    next: u64,
    reader: Option<File>,
    block: Option<Block>,
}

impl<'a> Iterator for AllText<'a> {
    type Item = io::Result<Cow<'a, str>>;

    fn next(&mut self) -> Option<Self::Item> {
        let n = self.next;
        let buf = self.buf;
        if n >= buf.len() {
            return None;
        }
        self.next += 1;
        if n >= buf.spilled {
            return buf.get(n).map(|l| Ok(Cow::Borrowed(l.plain())));
        }
        let k = n / SPILL_BLOCK_LINES;
        if self.block.as_ref().is_none_or(|b| b.k != k) {
            let recycled = self.block.take().map(|b| b.bytes).unwrap_or_default();
            match buf.load_block(&mut self.reader, k, recycled) {
                Ok(b) => self.block = Some(b),
                Err(e) => {
                    self.next = buf.len();
                    return Some(Err(e));
                }
            }
        }
        let block = self.block.as_ref()?;
        let line = block.line((n % SPILL_BLOCK_LINES) as usize);
        Some(Ok(Cow::Owned(String::from_utf8_lossy(line).into_owned())))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.buf.len() - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests;

/// A point-in-time copy of a [`LogBuffer`]'s content for work off the UI thread (saving,
/// searching the spilled part): the spill file's path and valid length, the unwritten batch,
/// and the plain text of the lines in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSnapshot {
    pub spill_path: PathBuf,
    pub spill_len: u64,
    pub pending: Vec<u8>,
    pub mem: Vec<String>,
}

impl LogSnapshot {
    /// Write every line to `path`; returns the number of lines written.
    pub fn save_to(&self, path: &Path) -> io::Result<u64> {
        if path == self.spill_path {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot save a log onto its own spill file",
            ));
        }
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        let mut lines = 0u64;
        if self.spill_len > 0 {
            let mut f = File::open(&self.spill_path)?;
            let mut buf = vec![0u8; 256 * 1024];
            let mut left = self.spill_len;
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let n = f.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "spill file shorter than expected",
                    ));
                }
                lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                out.write_all(&buf[..n])?;
                left -= n as u64;
            }
        }
        lines += memchr::memchr_iter(b'\n', &self.pending).count() as u64;
        out.write_all(&self.pending)?;
        for l in &self.mem {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        lines += self.mem.len() as u64;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(lines)
    }

    /// The first spilled line (number from 0) that `matches`, reading the spill file as a
    /// stream; lines in memory are not searched (the UI searches those itself).
    pub(crate) fn first_spilled(&self, matches: impl Fn(&str) -> bool) -> io::Result<Option<u64>> {
        use std::io::BufRead;
        let mut n = 0u64;
        if self.spill_len > 0 {
            let f = File::open(&self.spill_path)?;
            let mut r = io::BufReader::new(f.take(self.spill_len));
            let mut line = Vec::new();
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&line);
                if matches(text.trim_end_matches('\n')) {
                    return Ok(Some(n));
                }
                n += 1;
            }
        }
        for l in self.pending.split(|b| *b == b'\n') {
            if matches(&String::from_utf8_lossy(l)) {
                return Ok(Some(n));
            }
            n += 1;
        }
        Ok(None)
    }
}
