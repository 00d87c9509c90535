use super::*;

fn line(s: &str) -> LogLine {
    LogLine::from_plain(s)
}

fn filled(dir: &tempfile::TempDir, cap: usize, n: u64, flush: usize) -> LogBuffer {
    let mut b = LogBuffer::new(cap, dir.path().join("spill.log")).with_flush_bytes(flush);
    for i in 0..n {
        assert_eq!(b.push(line(&format!("line {i}"))), i);
    }
    b
}

fn all_text(b: &LogBuffer) -> Vec<String> {
    b.iter_all_text()
        .map(|r| r.expect("read").into_owned())
        .collect()
}

#[test]
fn spills_oldest_and_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let b = filled(&dir, 100, 5000, 1000);
    assert_eq!(b.len(), 5000);
    assert_eq!(b.spilled(), 4900);
    assert!(b.get(4899).is_none());
    assert_eq!(b.get(4900).unwrap().plain(), "line 4900");
    assert_eq!(b.get(4999).unwrap().plain(), "line 4999");
    assert!(b.get(5000).is_none());
    let want: Vec<String> = (0..5000).map(|i| format!("line {i}")).collect();
    assert_eq!(all_text(&b), want);
    assert_eq!(b.text_of(1234).unwrap().unwrap(), "line 1234");
    assert_eq!(b.text_of(4950).unwrap().unwrap(), "line 4950");
    assert!(b.text_of(5000).unwrap().is_none());
    // The spill file really holds (a prefix of) the spilled text.
    let on_disk = std::fs::read_to_string(b.spill_path()).unwrap();
    assert!(on_disk.starts_with("line 0\nline 1\n"));
    assert!(b.spill_error().is_none());

    let out = dir.path().join("saved.log");
    b.save_to(&out).unwrap();
    let saved = std::fs::read_to_string(&out).unwrap();
    assert_eq!(saved, want.join("\n") + "\n");
}

#[test]
fn unflushed_pending_part_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    // Huge flush threshold: nothing reaches the disk.
    let b = filled(&dir, 3, 10, usize::MAX);
    assert!(!b.spill_path().exists());
    assert_eq!(all_text(&b).len(), 10);
    assert_eq!(b.search("line 2", 0, true), Some(2));
}

#[test]
fn search_both_directions_across_spill() {
    let dir = tempfile::tempdir().unwrap();
    let b = filled(&dir, 50, 3000, 4096);
    assert_eq!(b.search("line 7", 0, true), Some(7));
    assert_eq!(b.search("line 7", 8, true), Some(70));
    assert_eq!(b.search("line 2999", 0, true), Some(2999));
    assert_eq!(b.search("line 2960", 2961, true), None);
    assert_eq!(b.search("line 12", 2999, false), Some(1299));
    assert_eq!(b.search("line 12", 1200, false), Some(1200));
    assert_eq!(b.search("line 12", 1199, false), Some(129));
    assert_eq!(b.search("line 2970", u64::MAX, false), Some(2970));
    assert_eq!(b.search("line 0", 5000, false), Some(0));
    assert_eq!(b.search("nope", 0, true), None);
    assert_eq!(b.search("", 0, true), None);
    assert_eq!(
        b.search_by(0, true, |t| t.ends_with("1024")).unwrap(),
        Some(1024)
    );
}

#[test]
fn capacity_zero_spills_everything() {
    let dir = tempfile::tempdir().unwrap();
    let b = filled(&dir, 0, 10, 1);
    assert_eq!(b.spilled(), 10);
    assert_eq!(all_text(&b).len(), 10);
    assert_eq!(b.search("line 9", 0, true), Some(9));
}

#[test]
fn spill_write_failure_keeps_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Parent directory does not exist: every spill write fails.
    let path = dir.path().join("missing").join("spill.log");
    let mut b = LogBuffer::new(2, path).with_flush_bytes(1);
    for i in 0..20 {
        b.push(line(&format!("l{i}")));
    }
    assert!(b.spill_error().is_some());
    let want: Vec<String> = (0..20).map(|i| format!("l{i}")).collect();
    assert_eq!(all_text(&b), want);
    assert_eq!(b.search("l3", 0, true), Some(3));
}

#[test]
fn spill_file_removed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let b = filled(&dir, 1, 100, 1);
    let p = b.spill_path().to_owned();
    assert!(p.exists());
    drop(b);
    assert!(!p.exists());
}

#[test]
fn step_markers() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LogBuffer::new(10, dir.path().join("s"));
    let s0 = b.mark_step("checkout", StepStatus::Running);
    for i in 0..5 {
        b.push(line(&format!("{i}")));
    }
    b.set_step_status(s0, StepStatus::Succeeded);
    let s1 = b.mark_step("build", StepStatus::Running);
    b.push(line("x"));
    assert_eq!(b.steps()[s1].line, 5);
    assert_eq!(b.steps()[s0].status, StepStatus::Succeeded);
    assert_eq!(b.step_for_line(0), Some(s0));
    assert_eq!(b.step_for_line(4), Some(s0));
    assert_eq!(b.step_for_line(5), Some(s1));
    assert!(!b.set_step_status(7, StepStatus::Failed));
    let mut empty = LogBuffer::new(1, dir.path().join("t"));
    assert_eq!(empty.step_for_line(0), None);
    empty.push(line("a"));
    empty.mark_step("late", StepStatus::Queued);
    assert_eq!(empty.step_for_line(0), None);
}
