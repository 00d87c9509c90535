//! What the popups that ask something hold: a confirmation and a form (its purpose decides
//! what the answers become).

use crate::domain::Build;
use ratatui_textarea::TextArea;

#[derive(Clone, Debug)]
pub struct Confirm {
    pub title: String,
    /// What will happen, line by line.
    pub lines: Vec<String>,
    /// The change the confirmation re-emits: destructive actions are data.
    pub pending: crate::app::mutation::Mutation,
    /// A protected environment: its name must be typed (expected name, the input).
    pub typed: Option<(String, TextArea<'static>)>,
    /// A wrong name was typed.
    pub error: Option<String>,
    /// Several changes asked at once (marked rows): each is sent as its own change; `pending`
    /// is then the first of them. Empty for a single change.
    pub bulk: Vec<crate::app::mutation::Mutation>,
    /// Marked rows left out of a bulk change, and why (said again in the summary).
    pub skipped: Vec<String>,
}

/// What a form's answers become.
#[derive(Clone, Debug, PartialEq)]
pub enum FormPurpose {
    /// Start a build (steps to skip, backend fields).
    Launch,
    /// Cut a release candidate: fields `candidate`, `repo`, `commit`, `build`.
    CutRelease,
    /// Report a deployment status: fields `candidate`, `status`.
    SetStatus { environment: String },
    /// Report a build's status (nullplatform): field `status`.
    ReportStatus { build: Box<Build> },
    /// Declare an asset of a build (nullplatform): fields `kind`, `name`, `url`.
    Asset { build: Box<Build> },
    /// Download an archived file (Candor): field `path`. A read, not a change.
    Download {
        build: Box<Build>,
        file: String,
        /// The path the operator agreed to replace (asked once when it already exists).
        replace: Option<std::path::PathBuf>,
    },
}

impl FormPurpose {
    /// The form's title: what submitting it does.
    pub fn title(&self, project: &str) -> String {
        match self {
            FormPurpose::Launch => format!("launch a build of {project}"),
            FormPurpose::CutRelease => format!("cut a release candidate of {project}"),
            FormPurpose::SetStatus { environment } => {
                format!("set the deployment status of {environment} ({project})")
            }
            FormPurpose::ReportStatus { .. } => format!("report a build status ({project})"),
            FormPurpose::Asset { .. } => format!("declare an asset ({project})"),
            FormPurpose::Download { file, .. } => format!("download {file}"),
        }
    }
}

impl FormPurpose {
    /// The change these answers ask for, or what is wrong with them.
    pub(crate) fn mutation(
        &self,
        project: &str,
        project_id: &str,
        skip_steps: Vec<String>,
        params: Vec<(String, String)>,
        statuses: &[String],
    ) -> Result<crate::app::mutation::Mutation, String> {
        use crate::app::mutation::Mutation;
        use crate::domain::{LaunchRequest, ReleaseRequest, StatusRequest};
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let candidate = || {
            let c = get("candidate");
            match crate::domain::split_candidate(&c) {
                Some(_) => Ok(c),
                None => Err(format!(
                    "`{c}` is not a release candidate version: write <release>-rcN or <release>.rcN, e.g. 2026.03.02-rc1"
                )),
            }
        };
        Ok(match self {
            FormPurpose::Launch => Mutation::Launch {
                project: project.to_string(),
                request: LaunchRequest {
                    project_id: project_id.to_string(),
                    skip_steps,
                    params,
                },
            },
            FormPurpose::CutRelease => {
                let commit = get("commit");
                if !(7..=40).contains(&commit.len())
                    || !commit.chars().all(|c| c.is_ascii_hexdigit())
                {
                    return Err(format!("commit `{commit}` is not a 7–40 digit hex SHA"));
                }
                Mutation::CreateRelease {
                    request: ReleaseRequest {
                        project: project.to_string(),
                        candidate: candidate()?,
                        repo: get("repo"),
                        commit,
                        build: matches!(
                            get("build").to_ascii_lowercase().as_str(),
                            "y" | "yes" | "true" | "1"
                        ),
                    },
                }
            }
            FormPurpose::ReportStatus { build } => {
                let status = get("status");
                if !statuses.contains(&status) {
                    return Err(format!(
                        "status `{status}` is not one of: {}",
                        statuses.join(", ")
                    ));
                }
                Mutation::ReportStatus {
                    build: (**build).clone(),
                    status,
                }
            }
            FormPurpose::Asset { build } => {
                let kind = get("kind");
                if !statuses.contains(&kind) {
                    return Err(format!(
                        "kind `{kind}` is not one of: {}",
                        statuses.join(", ")
                    ));
                }
                let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
                Mutation::CreateAsset {
                    build: (**build).clone(),
                    kind,
                    name: opt("name"),
                    url: opt("url"),
                }
            }
            FormPurpose::Download { .. } => {
                return Err("a download is not a change on the server".into());
            }
            FormPurpose::SetStatus { environment } => {
                let status = get("status");
                if !statuses.contains(&status) {
                    return Err(format!(
                        "status `{status}` is not one of: {}",
                        statuses.join(", ")
                    ));
                }
                Mutation::SetStatus {
                    request: StatusRequest {
                        project: project.to_string(),
                        environment: environment.clone(),
                        candidate: candidate()?,
                        status,
                    },
                }
            }
        })
    }
}

/// Choose the steps to skip before a launch, or fill any other change's fields.
#[derive(Clone, Debug)]
pub struct LaunchForm {
    pub purpose: FormPurpose,
    /// Status words a status report may use (from the backend's capabilities).
    pub statuses: Vec<String>,
    pub project_id: String,
    pub project: String,
    /// Available steps and whether each is skipped.
    pub steps: Vec<(String, bool)>,
    pub cursor: usize,
    /// The skip list as text (`@lint, @test`), editable; kept in step with the checklist.
    pub input: TextArea<'static>,
    /// The backend's other launch inputs (commit, branch, ref, parameters…).
    pub fields: Vec<(crate::domain::LaunchField, TextArea<'static>)>,
    /// Where keys go: 0 the checklist, 1 the skip text, 2.. the fields.
    pub focus: usize,
    pub error: Option<String>,
}

impl LaunchForm {
    /// A form of fields only (no step checklist), the focus on the first field.
    pub fn fields_only(
        purpose: FormPurpose,
        project_id: String,
        project: String,
        statuses: Vec<String>,
        fields: Vec<(crate::domain::LaunchField, TextArea<'static>)>,
    ) -> LaunchForm {
        LaunchForm {
            purpose,
            statuses,
            project_id,
            project,
            steps: Vec::new(),
            cursor: 0,
            input: TextArea::default(),
            fields,
            focus: 2,
            error: None,
        }
    }

    /// Focus positions that exist for this form, in Tab order.
    pub fn focus_order(&self) -> Vec<usize> {
        let mut order = Vec::new();
        if !self.steps.is_empty() {
            order.extend([0, 1]);
        }
        order.extend((0..self.fields.len()).map(|i| i + 2));
        order
    }
}
