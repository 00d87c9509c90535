//! Forms: a launch (steps to skip and the backend's fields), a status report, an asset, a
//! release candidate, a deploy, a download path. Enter checks the answers and opens the
//! confirmation; Esc closes the form and sends nothing.

use super::{clear, type_into};
use crate::api::ApiError;
use crate::app::action::{Action, Effect, Mutation};
use crate::app::messages::{CANCELLED, toast};
use crate::app::overlays::confirm::confirm_for;
use crate::app::state::{FormPurpose, LaunchForm, Level, Overlay, State};
use crate::domain::{Build, LaunchOptions};
use ratatui_textarea::TextArea;

enum FormResult {
    Open(Box<LaunchForm>),
    Submit(Box<Mutation>),
    /// Not a change: an archived file to fetch to a path.
    Download(Box<Build>, String, std::path::PathBuf, bool),
}

/// Keys in a form: Tab (and ↑/↓ in a text field) moves between the checklist, the skip text and
/// the fields.
pub(crate) fn handle(
    s: &mut State,
    mut form: Box<LaunchForm>,
    a: Action,
    fx: &mut Vec<Effect>,
) -> Overlay {
    let order = form.focus_order();
    let step = |form: &mut LaunchForm, dir: i64| {
        if !order.is_empty() {
            let pos = order.iter().position(|f| *f == form.focus).unwrap_or(0) as i64;
            form.focus = order[(pos + dir).rem_euclid(order.len() as i64) as usize];
        }
    };
    match a {
        Action::Cancel => {
            toast(s, Level::Info, CANCELLED);
            return Overlay::None;
        }
        Action::Accept => {
            return match submit_form(form) {
                FormResult::Open(form) => Overlay::Launch(form),
                FormResult::Submit(op) => confirm_for(s, *op),
                FormResult::Download(build, file, path, replace) => {
                    toast(s, Level::Info, format!("downloading {file}…"));
                    fx.push(Effect::Download {
                        build,
                        file,
                        path,
                        replace,
                    });
                    Overlay::None
                }
            };
        }
        Action::NextField => step(&mut form, 1),
        Action::PrevField => step(&mut form, -1),
        Action::Down if form.focus == 0 => {
            form.cursor = (form.cursor + 1).min(form.steps.len().saturating_sub(1))
        }
        Action::Up if form.focus == 0 => form.cursor = form.cursor.saturating_sub(1),
        Action::Down => step(&mut form, 1),
        Action::Up => step(&mut form, -1),
        Action::ToggleItem if form.focus == 0 => {
            if let Some((_, skip)) = form.steps.get_mut(form.cursor) {
                *skip = !*skip;
            }
            let text = form
                .steps
                .iter()
                .filter(|(_, s)| *s)
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            form.input = TextArea::new(vec![text]);
            form.input.move_cursor(ratatui_textarea::CursorMove::End);
            form.error = None;
        }
        Action::ClearLine | Action::Input(_) if form.focus == 1 => {
            match a {
                Action::Input(key) => {
                    type_into(&mut form.input, key);
                }
                _ => clear(&mut form.input),
            }
            let typed = skip_list(&form.input.lines().join(""));
            for (name, skip) in &mut form.steps {
                *skip = typed.contains(name);
            }
            form.error = None;
        }
        Action::ClearLine | Action::Input(_) if form.focus >= 2 => {
            if let Some((_, input)) = form.fields.get_mut(form.focus - 2) {
                match a {
                    Action::Input(key) => {
                        type_into(input, key);
                    }
                    _ => clear(input),
                }
            }
            // Checked as it is typed: a wrong value says so before the confirmation.
            form.error = live_check(&form);
        }
        _ => {}
    }
    Overlay::Launch(form)
}

/// What is wrong with the values typed so far (a value in the wrong form, a status that is not
/// offered); fields not filled in yet are not a problem until the form is sent.
fn live_check(form: &LaunchForm) -> Option<String> {
    if matches!(form.purpose, FormPurpose::Download { .. })
        || form
            .fields
            .iter()
            .any(|(f, i)| f.required && i.lines().join("").trim().is_empty())
    {
        return None;
    }
    let params = form
        .fields
        .iter()
        .map(|(f, i)| (f.name.clone(), i.lines().join("").trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let skip = skip_list(&form.input.lines().join(""));
    form.purpose
        .mutation(
            &form.project,
            &form.project_id,
            skip,
            params,
            &form.statuses,
        )
        .err()
}

/// Check the form and turn it into a request (or say what is missing).
fn submit_form(mut form: Box<LaunchForm>) -> FormResult {
    if let FormPurpose::Download {
        build,
        file,
        replace,
    } = &form.purpose
    {
        let path = form
            .fields
            .first()
            .map(|(_, i)| i.lines().join("").trim().to_string())
            .unwrap_or_default();
        if path.is_empty() {
            form.error = Some("where to save it?".into());
            return FormResult::Open(form);
        }
        let path = std::path::PathBuf::from(path);
        let agreed = replace.as_ref() == Some(&path);
        return FormResult::Download(build.clone(), file.clone(), path, agreed);
    }
    let typed = skip_list(&form.input.lines().join(""));
    let unknown: Vec<&String> = typed
        .iter()
        .filter(|t| !form.steps.iter().any(|(s, _)| s == *t))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = form.steps.iter().map(|(s, _)| s.as_str()).collect();
        form.error = Some(format!(
            "unknown step {}; this project has: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
        return FormResult::Open(form);
    }
    let mut params = Vec::new();
    for (field, input) in &form.fields {
        let value = input.lines().join("").trim().to_string();
        if field.required && value.is_empty() {
            form.error = Some(format!("{} is required", field.label));
            form.focus = 2 + form
                .fields
                .iter()
                .position(|(f, _)| f.name == field.name)
                .unwrap_or(0);
            return FormResult::Open(form);
        }
        if !value.is_empty() {
            params.push((field.name.clone(), value));
        }
    }
    match form.purpose.mutation(
        &form.project,
        &form.project_id,
        typed,
        params,
        &form.statuses,
    ) {
        Ok(op) => FormResult::Submit(Box::new(op)),
        Err(e) => {
            form.error = Some(e);
            FormResult::Open(form)
        }
    }
}

/// `@lint, @test` → `["@lint", "@test"]`; a name typed without `@` gets one.
fn skip_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.starts_with('@') {
                t.to_string()
            } else {
                format!("@{t}")
            }
        })
        .collect()
}

pub(crate) fn launch_form(
    s: &mut State,
    project_id: String,
    project: String,
    result: Result<LaunchOptions, ApiError>,
) {
    match result {
        Ok(opts) => {
            let fields = opts
                .fields
                .into_iter()
                .map(|f| {
                    let mut input = TextArea::new(vec![f.default.clone().unwrap_or_default()]);
                    input.move_cursor(ratatui_textarea::CursorMove::End);
                    (f, input)
                })
                .collect::<Vec<_>>();
            let focus = if opts.skippable_steps.is_empty() && !fields.is_empty() {
                2
            } else {
                0
            };
            s.overlay = Overlay::Launch(Box::new(LaunchForm {
                purpose: FormPurpose::Launch,
                statuses: Vec::new(),
                project_id,
                project,
                steps: opts
                    .skippable_steps
                    .into_iter()
                    .map(|n| (n, false))
                    .collect(),
                cursor: 0,
                input: TextArea::default(),
                fields,
                focus,
                error: None,
            }));
        }
        Err(e) => toast(
            s,
            Level::Error,
            format!("cannot prepare the launch of {project}: {e}"),
        ),
    }
}

/// Where to save an archived file (default: the save directory).
pub(crate) fn download_form(s: &State, build: Box<Build>, file: String) -> Overlay {
    let default = s.save_dir.join(crate::domain::file_name_safe(&file));
    download_form_at(build, file, default, None)
}

/// The download form again for a path that exists: a second ⏎ replaces it.
pub(crate) fn replace_form(build: Box<Build>, file: String, path: std::path::PathBuf) -> Overlay {
    let mut o = download_form_at(build, file, path.clone(), Some(path.clone()));
    if let Overlay::Launch(form) = &mut o {
        form.error = Some(format!(
            "{} exists: ⏎ again replaces it, or change the path",
            path.display()
        ));
    }
    o
}

fn download_form_at(
    build: Box<Build>,
    file: String,
    path: std::path::PathBuf,
    replace: Option<std::path::PathBuf>,
) -> Overlay {
    let default = path.display().to_string();
    let mut input = TextArea::new(vec![default.clone()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    let field = crate::domain::LaunchField {
        name: "path".into(),
        label: "save to".into(),
        required: true,
        default: Some(default),
        key_values: false,
    };
    Overlay::Launch(Box::new(LaunchForm {
        project_id: build.id.clone(),
        project: build.project.clone(),
        purpose: FormPurpose::Download {
            build,
            file,
            replace,
        },
        statuses: Vec::new(),
        steps: Vec::new(),
        cursor: 0,
        input: TextArea::default(),
        fields: vec![(field, input)],
        focus: 2,
        error: None,
    }))
}
