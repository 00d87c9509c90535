//! The diff itself: two logs split by step, each step compared with the step of the same name
//! in the other log (line hashes of normalised text, Myers via `similar`), and the differences
//! grouped into hunks with a few lines of context. Pure and synchronous: callers run it off
//! the UI thread and may stop it through the progress callback.

use super::rules::Normaliser;
use similar::{Algorithm, DiffOp, capture_diff_slices};
use std::hash::{Hash, Hasher};

/// A log as plain text with its step starts (`(name, first line)`, ascending).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogText {
    pub lines: Vec<String>,
    pub steps: Vec<(String, u64)>,
}

impl LogText {
    /// Line ranges per step; lines before the first step form an unnamed section.
    fn sections(&self) -> Vec<(String, std::ops::Range<usize>)> {
        let total = self.lines.len();
        let mut out = Vec::new();
        let first = self
            .steps
            .first()
            .map_or(total, |(_, l)| (*l as usize).min(total));
        if first > 0 || self.steps.is_empty() {
            out.push((String::new(), 0..first));
        }
        for (i, (name, start)) in self.steps.iter().enumerate() {
            let start = (*start as usize).min(total);
            let end = self
                .steps
                .get(i + 1)
                .map_or(total, |(_, l)| (*l as usize).min(total))
                .max(start);
            out.push((name.clone(), start..end));
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Context,
    Added,
    Removed,
}

/// One line of a hunk: its text as logged (not normalised) and where it is in each log.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffLine {
    pub tag: Tag,
    pub text: String,
    /// Line number (from 0) in the log being looked at; `None` for a removed line.
    pub new_line: Option<u64>,
    /// Line number (from 0) in the log compared with; `None` for an added line.
    pub old_line: Option<u64>,
}

/// Changes close to each other in one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Hunk {
    /// The step it belongs to (empty: before any step, or a log without steps).
    pub step: String,
    /// Line numbers from 0, and lengths, as in a unified diff header.
    pub old_start: u64,
    pub old_len: u64,
    pub new_start: u64,
    pub new_len: u64,
    pub lines: Vec<DiffLine>,
    /// Instead of lines: a step that ran in only one of the logs.
    pub note: Option<String>,
}

impl Hunk {
    /// `@@ step test · -120,8 +118,9 @@` (1-based line numbers, as in a unified diff).
    pub fn header(&self) -> String {
        let step = if self.step.is_empty() {
            "log".to_string()
        } else {
            format!("step {}", self.step)
        };
        if self.note.is_some() {
            return format!("@@ {step} @@");
        }
        format!(
            "@@ {step} · -{},{} +{},{} @@",
            self.old_start + 1,
            self.old_len,
            self.new_start + 1,
            self.new_len
        )
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogDiff {
    pub hunks: Vec<Hunk>,
    /// Lines only in the log looked at / only in the other one (steps that ran in one log
    /// only are counted in `steps_only_old` / `steps_only_new`, not here).
    pub added: usize,
    pub removed: usize,
    pub steps_only_old: usize,
    pub steps_only_new: usize,
}

impl LogDiff {
    pub fn is_empty(&self) -> bool {
        self.hunks.is_empty()
    }

    /// The hunks of one step, counted again.
    pub fn only_step(self, step: &str) -> LogDiff {
        let hunks: Vec<Hunk> = self.hunks.into_iter().filter(|h| h.step == step).collect();
        let count = |tag: Tag| {
            hunks
                .iter()
                .flat_map(|h| h.lines.iter())
                .filter(|l| l.tag == tag)
                .count()
        };
        LogDiff {
            added: count(Tag::Added),
            removed: count(Tag::Removed),
            steps_only_old: 0,
            steps_only_new: usize::from(hunks.iter().any(|h| h.note.is_some())),
            hunks,
        }
    }

    /// "+12 −3 lines" (and the steps that ran in one log only).
    pub fn size(&self) -> String {
        let mut s = format!("+{} −{} lines", self.added, self.removed);
        if self.steps_only_old > 0 {
            s.push_str(&format!(", {} step(s) not run", self.steps_only_old));
        }
        if self.steps_only_new > 0 {
            s.push_str(&format!(", {} new step(s)", self.steps_only_new));
        }
        s
    }
}

/// How far the work is (lines normalised and compared, of the total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Lines between two progress reports (and cancellation checks).
const REPORT_EVERY: usize = 8192;

fn hash_lines(
    lines: &[String],
    norm: &Normaliser,
    progress: &mut dyn FnMut(Progress) -> bool,
    done: &mut u64,
    total: u64,
) -> Option<Vec<u64>> {
    let mut out = Vec::with_capacity(lines.len());
    for chunk in lines.chunks(REPORT_EVERY) {
        for l in chunk {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            norm.normalise(l).hash(&mut h);
            out.push(h.finish());
        }
        *done += chunk.len() as u64;
        if !progress(Progress { done: *done, total }) {
            return None;
        }
    }
    Some(out)
}

/// Compare `new` (the log looked at) with `old` (the one compared with), step by step.
/// `progress` is called now and then; returning false stops the work (`None`).
pub fn diff_logs(
    new: &LogText,
    old: &LogText,
    norm: &Normaliser,
    context: usize,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Option<LogDiff> {
    let total = (new.lines.len() + old.lines.len()) as u64;
    let mut done = 0u64;
    let new_hash = hash_lines(&new.lines, norm, progress, &mut done, total)?;
    let old_hash = hash_lines(&old.lines, norm, progress, &mut done, total)?;
    let new_secs = new.sections();
    let mut old_secs: Vec<Option<(String, std::ops::Range<usize>)>> =
        old.sections().into_iter().map(Some).collect();
    let mut out = LogDiff::default();
    for (name, nr) in &new_secs {
        // The first unused step of the same name in the other log.
        let pick = old_secs
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|(n, _)| n == name))
            .and_then(Option::take);
        let or = match pick {
            Some((_, r)) => r,
            None if name.is_empty() => 0..0,
            None => {
                out.steps_only_new += 1;
                out.hunks.push(Hunk {
                    step: name.clone(),
                    old_start: 0,
                    old_len: 0,
                    new_start: nr.start as u64,
                    new_len: nr.len() as u64,
                    lines: Vec::new(),
                    note: Some(format!(
                        "step {name} ran only in this build ({} lines)",
                        nr.len()
                    )),
                });
                continue;
            }
        };
        let (Some(nh), Some(oh)) = (new_hash.get(nr.clone()), old_hash.get(or.clone())) else {
            continue;
        };
        let ops = capture_diff_slices(Algorithm::Myers, oh, nh);
        for group in similar::group_diff_ops(ops, context) {
            let hunk = build_hunk(name, &group, new, old, nr.start, or.start, &mut out);
            out.hunks.push(hunk);
        }
        if !progress(Progress { done, total }) {
            return None;
        }
    }
    for (name, r) in old_secs.into_iter().flatten() {
        if name.is_empty() && r.is_empty() {
            continue;
        }
        out.steps_only_old += 1;
        out.hunks.push(Hunk {
            step: name.clone(),
            old_start: r.start as u64,
            old_len: r.len() as u64,
            new_start: 0,
            new_len: 0,
            lines: Vec::new(),
            note: Some(format!(
                "step {} did not run in this build ({} lines in the other)",
                if name.is_empty() { "(none)" } else { &name },
                r.len()
            )),
        });
    }
    Some(out)
}

fn build_hunk(
    step: &str,
    group: &[DiffOp],
    new: &LogText,
    old: &LogText,
    new_base: usize,
    old_base: usize,
    totals: &mut LogDiff,
) -> Hunk {
    let mut lines = Vec::new();
    let text = |log: &LogText, i: usize| log.lines.get(i).cloned().unwrap_or_default();
    let (mut old_start, mut new_start) = (None, None);
    let (mut old_len, mut new_len) = (0u64, 0u64);
    for op in group {
        let (o, n) = (
            old_base + op.old_range().start,
            new_base + op.new_range().start,
        );
        old_start.get_or_insert(o as u64);
        new_start.get_or_insert(n as u64);
        match *op {
            DiffOp::Equal { len, .. } => {
                for k in 0..len {
                    lines.push(DiffLine {
                        tag: Tag::Context,
                        text: text(new, n + k),
                        new_line: Some((n + k) as u64),
                        old_line: Some((o + k) as u64),
                    });
                }
                old_len += len as u64;
                new_len += len as u64;
            }
            DiffOp::Delete { old_len: ol, .. } => {
                push_removed(&mut lines, old, o, ol);
                old_len += ol as u64;
                totals.removed += ol;
            }
            DiffOp::Insert { new_len: nl, .. } => {
                push_added(&mut lines, new, n, nl);
                new_len += nl as u64;
                totals.added += nl;
            }
            DiffOp::Replace {
                old_len: ol,
                new_len: nl,
                ..
            } => {
                push_removed(&mut lines, old, o, ol);
                push_added(&mut lines, new, n, nl);
                old_len += ol as u64;
                new_len += nl as u64;
                totals.removed += ol;
                totals.added += nl;
            }
        }
    }
    Hunk {
        step: step.to_string(),
        old_start: old_start.unwrap_or(0),
        old_len,
        new_start: new_start.unwrap_or(0),
        new_len,
        lines,
        note: None,
    }
}

fn push_removed(lines: &mut Vec<DiffLine>, old: &LogText, from: usize, len: usize) {
    for k in from..from + len {
        lines.push(DiffLine {
            tag: Tag::Removed,
            text: old.lines.get(k).cloned().unwrap_or_default(),
            new_line: None,
            old_line: Some(k as u64),
        });
    }
}

fn push_added(lines: &mut Vec<DiffLine>, new: &LogText, from: usize, len: usize) {
    for k in from..from + len {
        lines.push(DiffLine {
            tag: Tag::Added,
            text: new.lines.get(k).cloned().unwrap_or_default(),
            new_line: Some(k as u64),
            old_line: None,
        });
    }
}

/// The diff as unified-diff-like text: a header naming both builds, then each hunk with its
/// `@@ step … @@` line and `+`/`-`/` ` lines.
pub fn render_unified(diff: &LogDiff, new_label: &str, old_label: &str) -> Vec<String> {
    let mut out = vec![format!("--- {old_label}"), format!("+++ {new_label}")];
    for h in &diff.hunks {
        out.push(h.header());
        if let Some(note) = &h.note {
            out.push(format!("# {note}"));
        }
        for l in &h.lines {
            let mark = match l.tag {
                Tag::Context => ' ',
                Tag::Added => '+',
                Tag::Removed => '-',
            };
            out.push(format!("{mark}{}", l.text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(steps: &[(&str, &[&str])]) -> LogText {
        let mut t = LogText::default();
        for (name, lines) in steps {
            t.steps.push((name.to_string(), t.lines.len() as u64));
            t.lines.extend(lines.iter().map(|s| s.to_string()));
        }
        t
    }

    fn run(new: &LogText, old: &LogText) -> LogDiff {
        diff_logs(new, old, &Normaliser::defaults(), 3, &mut |_| true).unwrap()
    }

    fn many(prefix: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{prefix} line {i} ({i}3 ms)"))
            .collect()
    }

    #[test]
    fn hunks_carry_their_step_and_only_real_changes() {
        let mut old_test = many("test", 40);
        let mut new_test: Vec<String> = old_test
            .iter()
            .map(|l| l.replace("3 ms", "9 ms")) // volatile only
            .collect();
        new_test[20] = "FAIL cart total is wrong".into();
        old_test.push("Tests: 40 passed".into());
        new_test.push("Tests: 39 passed, 1 failed".into());
        let lint: Vec<String> = many("lint", 10);
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let old = log(&[("lint", &refs(&lint)), ("test", &refs(&old_test))]);
        let new = log(&[("lint", &refs(&lint)), ("test", &refs(&new_test))]);
        let d = run(&new, &old);
        assert_eq!(d.hunks.len(), 2, "{d:#?}");
        assert!(d.hunks.iter().all(|h| h.step == "test"));
        assert_eq!((d.added, d.removed), (2, 2));
        let first = &d.hunks[0];
        // Three lines of context on each side.
        assert_eq!(first.lines.len(), 3 + 2 + 3);
        let added = first.lines.iter().find(|l| l.tag == Tag::Added).unwrap();
        assert_eq!(added.text, "FAIL cart total is wrong");
        // The line number is the line in the whole log (10 lint lines before the step).
        assert_eq!(added.new_line, Some(10 + 20));
        assert_eq!(first.header(), "@@ step test · -28,7 +28,7 @@");
    }

    #[test]
    fn identical_but_volatile_logs_have_no_hunks() {
        let old = log(&[("build", &["done in 12.3s", "HEAD at 4e1f9a7"])]);
        let new = log(&[("build", &["done in 1m02s", "HEAD at 0badc0de"])]);
        assert!(run(&new, &old).is_empty());
    }

    #[test]
    fn steps_that_ran_in_one_log_only_are_noted() {
        let old = log(&[("test", &["ok"]), ("deploy", &["pushing", "done"])]);
        let new = log(&[("test", &["ok"]), ("smoke", &["curl"])]);
        let d = run(&new, &old);
        assert_eq!((d.steps_only_new, d.steps_only_old), (1, 1));
        assert!(
            d.hunks.iter().any(|h| h.step == "deploy"
                && h.note.as_deref().is_some_and(|n| n.contains("did not run")))
        );
        assert_eq!(d.added + d.removed, 0);
    }

    #[test]
    fn a_log_without_steps_is_one_section() {
        let old = LogText {
            lines: vec!["a".into(), "b".into(), "c".into()],
            steps: vec![],
        };
        let new = LogText {
            lines: vec!["a".into(), "x".into(), "c".into()],
            steps: vec![],
        };
        let d = run(&new, &old);
        assert_eq!(d.hunks.len(), 1);
        assert_eq!(d.hunks[0].header(), "@@ log · -1,3 +1,3 @@");
        let text = render_unified(&d, "#42", "#41");
        assert_eq!(
            text,
            vec![
                "--- #41",
                "+++ #42",
                "@@ log · -1,3 +1,3 @@",
                " a",
                "-b",
                "+x",
                " c"
            ]
        );
    }

    #[test]
    fn one_steps_hunks_are_counted_again() {
        let old = log(&[("a", &["1", "2"]), ("b", &["x"]), ("c", &["gone"])]);
        let new = log(&[("a", &["1", "3"]), ("b", &["y", "z"])]);
        let all = run(&new, &old);
        assert_eq!((all.added, all.removed, all.steps_only_old), (3, 2, 1));
        let b = all.only_step("b");
        assert!(b.hunks.iter().all(|h| h.step == "b"));
        assert_eq!((b.added, b.removed, b.steps_only_old), (2, 1, 0));
    }

    #[test]
    fn stopping_returns_nothing() {
        let old = log(&[("s", &["a"])]);
        assert!(diff_logs(&old, &old, &Normaliser::defaults(), 3, &mut |_| false).is_none());
    }
}
