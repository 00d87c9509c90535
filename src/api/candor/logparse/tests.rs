use super::*;

fn run(lines: &[&str], stages: Vec<(String, Option<StepStatus>)>, live: bool) -> Vec<LogEvent> {
    let mut p = LogParser::new(stages, live);
    let mut out = Vec::new();
    for l in lines {
        p.push(l.to_string(), &mut out);
    }
    p.end(&mut out);
    out
}

fn named(names: &[(&str, StepStatus)]) -> Vec<(String, Option<StepStatus>)> {
    names
        .iter()
        .map(|(n, s)| (n.to_string(), Some(*s)))
        .collect()
}

fn step(name: &str, status: StepStatus) -> LogEvent {
    LogEvent::Step {
        name: name.into(),
        status,
    }
}

fn lines(l: &[&str]) -> LogEvent {
    LogEvent::Lines(l.iter().map(|s| s.to_string()).collect())
}

#[test]
fn headers_become_named_steps_and_separators_go() {
    // The format §7 describes (a blank line before each later header) still parses.
    let out = run(
        &[
            "**************** [1/2] ****************",
            "npm ci",
            "Process exited with status code 0",
            "",
            "**************** [2/2] ****************",
            "FAIL test",
            "Process exited with status code 1",
        ],
        named(&[
            ("install", StepStatus::Succeeded),
            ("test", StepStatus::Failed),
        ]),
        false,
    );
    assert_eq!(
        out,
        vec![
            step("install", StepStatus::Succeeded),
            lines(&["npm ci", "Process exited with status code 0"]),
            step("test", StepStatus::Failed),
            lines(&["FAIL test", "Process exited with status code 1"]),
        ]
    );
}

#[test]
fn the_real_format_glues_output_to_the_closing_sentence() {
    // §11 R4: no blank line between stages, output without a final newline glued to the
    // closing sentence, stderr first, no newline at the end of the file.
    let text = "**************** [1/3] ****************\n\
                npm WARN deprecated glob@7\n\
                added 312 packages\n\
                doneProcess exited with status code 0\n\
                **************** [2/3] ****************\n\
                FAIL test/api.spec.js\n\
                Process exited with status code 1\n\
                **************** [3/3] ****************\n\
                Skipped";
    let mut p = LogParser::new(Vec::new(), false);
    let mut out = Vec::new();
    for l in text_lines(text) {
        p.push(l, &mut out);
    }
    p.end(&mut out);
    assert_eq!(
        out,
        vec![
            step("stage 1/3", StepStatus::Unknown),
            lines(&[
                "npm WARN deprecated glob@7",
                "added 312 packages",
                "done",
                "Process exited with status code 0"
            ]),
            LogEvent::StepStatus(StepStatus::Succeeded),
            step("stage 2/3", StepStatus::Unknown),
            lines(&["FAIL test/api.spec.js", "Process exited with status code 1"]),
            LogEvent::StepStatus(StepStatus::Failed),
            step("stage 3/3", StepStatus::Unknown),
            lines(&["Skipped"]),
            LogEvent::StepStatus(StepStatus::Skipped),
        ]
    );
    assert!(p.complete);
    assert_eq!(p.status(), Some(BuildStatus::Failed));
    // The time limit may be glued too; multi-byte output before it is cut on its boundary.
    let out = run(
        &[
            "**************** [1/1] ****************",
            "waiting… ✓Process exceeded stage execution time limit",
        ],
        Vec::new(),
        true,
    );
    assert_eq!(
        out[1],
        lines(&["waiting… ✓", "Process exceeded stage execution time limit"])
    );
    assert_eq!(out[2], LogEvent::StepStatus(StepStatus::Failed));
    // Not a closing sentence: the phrase in the middle of a line, or a number that is not one.
    let out = run(
        &[
            "**************** [1/1] ****************",
            "echo Process exited with status code 0 > x",
            "Process exited with status code soon-ish",
        ],
        Vec::new(),
        true,
    );
    assert!(!out.contains(&LogEvent::StepStatus(StepStatus::Succeeded)));
}

#[test]
fn live_steps_close_with_their_last_line() {
    let out = run(
        &["**************** [1/1] ****************", "", "Skipped"],
        vec![],
        true,
    );
    assert_eq!(out[0], step("stage 1/1", StepStatus::Running));
    // "Skipped" after an output line is output, not a result.
    assert!(!out.contains(&LogEvent::StepStatus(StepStatus::Skipped)));
    let out = run(
        &[
            "**************** [1/1] ****************",
            "Runtime unavailable",
        ],
        vec![],
        true,
    );
    assert_eq!(out.last(), Some(&LogEvent::StepStatus(StepStatus::Failed)));
    assert_eq!(
        stage_header("**************** [12/3] ****************"),
        Some((12, 3))
    );
    assert_eq!(stage_header("*************** [1/3] ****************"), None);
}

#[test]
fn the_outcome_sets_the_final_step_states() {
    let mut p = LogParser::new(vec![("a".into(), None), ("b".into(), None)], true);
    let mut out = Vec::new();
    for l in [
        "**************** [1/2] ****************",
        "ok",
        "Process exited with status code 0",
        "**************** [2/2] ****************",
        "pulling image…",
    ] {
        p.push(l.to_string(), &mut out);
    }
    assert_eq!(out.last(), Some(&step("b", StepStatus::Running)));
    assert!(!p.ends_run("pulling image…"));
    assert!(p.ends_run("doneProcess exited with status code 3"));
    // The runner's outcome: stage 2 errored (its closing sentence never came).
    p.set_outcome(
        named(&[("a", StepStatus::Succeeded), ("b", StepStatus::Failed)]),
        &mut out,
    );
    assert_eq!(out.last(), Some(&LogEvent::StepStatus(StepStatus::Failed)));
    // Said once: the same outcome again sends nothing.
    let n = out.len();
    p.set_outcome(
        named(&[("a", StepStatus::Succeeded), ("b", StepStatus::Failed)]),
        &mut out,
    );
    assert_eq!(out.len(), n);
    // Steps that start after the outcome take its results.
    let mut p = LogParser::new(Vec::new(), true);
    let mut out = Vec::new();
    p.set_outcome(named(&[("only", StepStatus::Skipped)]), &mut out);
    p.push("**************** [1/1] ****************".into(), &mut out);
    assert_eq!(out, vec![step("only", StepStatus::Skipped)]);
}

#[test]
fn text_lines_keep_an_unterminated_last_line() {
    assert_eq!(text_lines("a\nb"), ["a", "b"]);
    assert_eq!(text_lines("a\nb\n"), ["a", "b"]);
    assert!(text_lines("").is_empty());
}

#[test]
fn an_open_step_takes_the_run_result_at_the_end() {
    let mut p = LogParser::new(Vec::new(), true);
    let mut out = Vec::new();
    p.push("**************** [1/2] ****************".into(), &mut out);
    p.close_open(BuildStatus::Failed, &mut out);
    assert_eq!(out.last(), Some(&LogEvent::StepStatus(StepStatus::Failed)));
    // A closed step keeps its own result.
    let mut p = LogParser::new(Vec::new(), true);
    let mut out = Vec::new();
    p.push("**************** [1/1] ****************".into(), &mut out);
    p.push("Process exited with status code 0".into(), &mut out);
    let n = out.len();
    p.close_open(BuildStatus::Failed, &mut out);
    assert_eq!(out.len(), n);
}
