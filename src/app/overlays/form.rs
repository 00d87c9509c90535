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
    Download(Box<Build>, String, std::path::PathBuf),
}

/// Keys in a form: Tab (and ↑/↓ in a text field) moves between the checklist, the skip text and
/// the fields.
pub(crate) fn handle(
    s: &mut State,
    mut form: LaunchForm,
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
                FormResult::Open(form) => Overlay::Launch(*form),
                FormResult::Submit(op) => confirm_for(s, *op),
                FormResult::Download(build, file, path) => {
                    toast(s, Level::Info, format!("downloading {file}…"));
                    fx.push(Effect::Download { build, file, path });
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
            form.error = None;
        }
        _ => {}
    }
    Overlay::Launch(form)
}

/// Check the form and turn it into a request (or say what is missing).
fn submit_form(mut form: LaunchForm) -> FormResult {
    if let FormPurpose::Download { build, file } = &form.purpose {
        let path = form
            .fields
            .first()
            .map(|(_, i)| i.lines().join("").trim().to_string())
            .unwrap_or_default();
        if path.is_empty() {
            form.error = Some("where to save it?".into());
            return FormResult::Open(Box::new(form));
        }
        return FormResult::Download(build.clone(), file.clone(), std::path::PathBuf::from(path));
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
        return FormResult::Open(Box::new(form));
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
            return FormResult::Open(Box::new(form));
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
            FormResult::Open(Box::new(form))
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
            s.overlay = Overlay::Launch(LaunchForm {
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
            });
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
    let default = s
        .save_dir
        .join(crate::domain::file_name_safe(&file))
        .display()
        .to_string();
    let mut input = TextArea::new(vec![default.clone()]);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    let field = crate::domain::LaunchField {
        name: "path".into(),
        label: "save to".into(),
        required: true,
        default: Some(default),
        key_values: false,
    };
    Overlay::Launch(LaunchForm {
        project_id: build.id.clone(),
        project: build.project.clone(),
        purpose: FormPurpose::Download { build, file },
        statuses: Vec::new(),
        steps: Vec::new(),
        cursor: 0,
        input: TextArea::default(),
        fields: vec![(field, input)],
        focus: 2,
        error: None,
    })
}
