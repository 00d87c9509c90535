//! Admin writes of §4.3 (and §11 F1): create (201, ADMIN encoding), one-field PATCH (200, the
//! whole entity back), delete (204) for projects, secrets and credentials; create and PATCH for
//! developers; PATCH of an executor's `name` and `variables`.
//!
//! Bodies are read as the server reads them: wrapped in the entity (`{"project":{"name":…}}`)
//! or flat (`{"project_name":…}`), only with a JSON content type. Project create takes what the
//! real web frontend sends: no `developers_id`/`secrets_id`, `keep_number_build: ""`.

mod body;
mod entities;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use self::body::{
    Body, Outcome, Refused, java_error, next_id, not_found, refuse, text, unprocessable,
};
use self::entities::{
    new_developer, new_project, new_secret, patch_developer, patch_project, patch_secret,
};
use super::engine::{Credential, FcState};
use super::entities as json;
use super::{Ctx, empty, json_response};

const PROJECT_FIELDS: [&str; 12] = [
    "name",
    "description",
    "repository",
    "branch",
    "spec_file_path",
    "keep_number_build",
    "allow_concurrent_execution",
    "developers",
    "secrets",
    "repository_credential",
    "executor",
    "signature_key",
];
const DEVELOPER_FIELDS: [&str; 9] = [
    "email",
    "enabled",
    "github_username",
    "gitlab_username",
    "username",
    "password",
    "role",
    "roles",
    "projects",
];
const SECRET_FIELDS: [&str; 5] = ["name", "value", "escape_char", "env", "projects"];
const CREDENTIAL_FIELDS: [&str; 2] = ["name", "ssh_key"];
const EXECUTOR_FIELDS: [&str; 2] = ["name", "variables"];

/// The write routes (method, pattern), in the route table's syntax. One PATCH route per field,
/// as in the backend's controllers: an unknown field is a 404.
pub(super) fn routes() -> Vec<(&'static str, String)> {
    let mut r: Vec<(&'static str, String)> = vec![
        ("POST", "/admin/projects".into()),
        ("DELETE", "/admin/projects/{id}".into()),
        ("POST", "/admin/developers".into()),
        ("POST", "/admin/secrets".into()),
        ("DELETE", "/admin/secrets/{id}".into()),
        ("POST", "/admin/credentials".into()),
        ("DELETE", "/admin/credentials/{id}".into()),
    ];
    let fields: [(&str, &[&str]); 5] = [
        ("projects", &PROJECT_FIELDS),
        ("developers", &DEVELOPER_FIELDS),
        ("secrets", &SECRET_FIELDS),
        ("credentials", &CREDENTIAL_FIELDS),
        ("executors", &EXECUTOR_FIELDS),
    ];
    for (entity, list) in fields {
        for f in list {
            r.push(("PATCH", format!("/admin/{entity}/{{id}}/{f}")));
        }
    }
    r
}

/// Handles `pattern` when it is an admin write; `None` for every other route.
pub(super) fn dispatch(
    st: &mut FcState,
    ctx: &Ctx,
    pattern: &str,
    params: &[String],
) -> Option<Response> {
    let rest = pattern.strip_prefix("/admin/")?;
    let mut parts = rest.split('/');
    let entity = parts.next()?;
    let has_id = parts.next().is_some();
    let field = parts.next();
    let id = params
        .first()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    let out = match (&ctx.method, has_id, field) {
        // `POST /admin/executors` (200, not 201) is an older route of the main table.
        (m, false, None) if m == Method::POST && entity != "executors" => create(st, ctx, entity),
        (m, true, None) if m == Method::DELETE => delete(st, entity, id),
        (m, true, Some(f)) if m == Method::PATCH => patch(st, ctx, entity, id, f),
        _ => return None,
    };
    Some(out.unwrap_or_else(|Refused(status, code)| ctx.error(status, &code)))
}

fn create(st: &mut FcState, ctx: &Ctx, entity: &str) -> Outcome {
    let b = Body::new(ctx, singular(entity));
    let v = match entity {
        "projects" => {
            let id = next_id(&st.projects);
            let p = new_project(st, &b, id)?;
            st.projects.insert(id, p);
            sync_project_secrets(st, id);
            project_json(st, id)
        }
        "developers" => {
            let d = new_developer(st, &b)?;
            let v = json::developer(st, &d);
            st.developers.insert(d.id, d);
            v
        }
        "secrets" => {
            let s = new_secret(st, &b)?;
            let id = s.id;
            st.secrets.insert(id, s);
            sync_secret_projects(st, id);
            secret_json(st, id)
        }
        "credentials" => {
            let name = match b.get("name") {
                None => return unprocessable("CREDENTIAL_NAME_REQUIRED"),
                Some(v) => text(v),
            };
            let ssh_key = b.required_str("ssh_key", "CREDENTIAL_SSH_KEY_REQUIRED")?;
            let id = next_id(&st.credentials);
            let c = Credential { id, name, ssh_key };
            let v = json::credential(&c, true);
            st.credentials.insert(id, c);
            v
        }
        _ => return not_found("No static resource"),
    };
    Ok(json_response(StatusCode::CREATED, &v))
}

fn delete(st: &mut FcState, entity: &str, id: i64) -> Outcome {
    match entity {
        "projects" => {
            if st.projects.remove(&id).is_none() {
                return not_found("PROJECT_NOT_FOUND");
            }
            // Detaches its secrets, deletes its builds (and their logs).
            for s in st.secrets.values_mut() {
                s.projects_id.retain(|p| *p != id);
            }
            st.builds.retain(|_, b| b.project_id != id);
        }
        "secrets" => {
            let Some(s) = st.secrets.get(&id) else {
                return not_found("SECRET_NOT_FOUND");
            };
            if !s.projects_id.is_empty() {
                return refuse(StatusCode::CONFLICT, "SECRET_PROJECTS_NOT_EMPTY");
            }
            st.secrets.remove(&id);
        }
        "credentials" => {
            // No reference check on the server; projects simply lose the credential here.
            if st.credentials.remove(&id).is_none() {
                return not_found("CREDENTIAL_NOT_FOUND");
            }
            for p in st.projects.values_mut() {
                if p.repository_credential_id == Some(id) {
                    p.repository_credential_id = None;
                }
            }
        }
        _ => return not_found("No static resource"),
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

fn patch(st: &mut FcState, ctx: &Ctx, entity: &str, id: i64, field: &str) -> Outcome {
    let b = Body::new(ctx, singular(entity));
    let v = match entity {
        "projects" => {
            patch_project(st, &b, id, field)?;
            project_json(st, id)
        }
        "developers" => {
            patch_developer(st, &b, id, field)?;
            match st.developers.get(&id) {
                Some(d) => json::developer(st, d),
                None => return not_found("DEVELOPER_NOT_FOUND"),
            }
        }
        "secrets" => {
            patch_secret(st, &b, id, field)?;
            secret_json(st, id)
        }
        "credentials" => {
            let Some(c) = st.credentials.get_mut(&id) else {
                return not_found("CREDENTIAL_NOT_FOUND");
            };
            match field {
                "name" => match b.get("name") {
                    None => return unprocessable("CREDENTIAL_NAME_REQUIRED"),
                    Some(v) => c.name = text(v),
                },
                _ => c.ssh_key = b.required_str("ssh_key", "CREDENTIAL_SSH_KEY_REQUIRED")?,
            }
            json::credential(c, true)
        }
        "executors" => {
            let Some(e) = st.executors.get_mut(&id) else {
                return not_found("EXECUTOR_NOT_FOUND");
            };
            match field {
                "name" => e.name = b.required_str("name", "EXECUTOR_NAME_REQUIRED")?,
                _ => {
                    e.variables = match b.get("variables") {
                        None => Map::new(),
                        Some(Value::Object(m)) => m.clone(),
                        Some(_) => {
                            return java_error(
                                "class java.lang.String cannot be cast to class java.util.Map",
                            );
                        }
                    }
                }
            }
            json::executor(e)
        }
        _ => return not_found("No static resource"),
    };
    Ok(json_response(StatusCode::OK, &v))
}

fn singular(entity: &str) -> &'static str {
    match entity {
        "projects" => "project",
        "developers" => "developer",
        "secrets" => "secret",
        "credentials" => "credential",
        _ => "executor",
    }
}

/// After a project's `secrets_id` changed: each secret's `projects_id` follows.
pub(super) fn sync_project_secrets(st: &mut FcState, project: i64) {
    let wanted = st
        .projects
        .get(&project)
        .map(|p| p.secrets_id.clone())
        .unwrap_or_default();
    for s in st.secrets.values_mut() {
        let has = s.projects_id.contains(&project);
        let want = wanted.contains(&s.id);
        if has && !want {
            s.projects_id.retain(|p| *p != project);
        } else if want && !has {
            s.projects_id.push(project);
            s.projects_id.sort_unstable();
        }
    }
}

/// After a secret's `projects_id` changed: each project's `secrets_id` follows.
pub(super) fn sync_secret_projects(st: &mut FcState, secret: i64) {
    let wanted = st
        .secrets
        .get(&secret)
        .map(|s| s.projects_id.clone())
        .unwrap_or_default();
    for p in st.projects.values_mut() {
        let has = p.secrets_id.contains(&secret);
        let want = wanted.contains(&p.id);
        if has && !want {
            p.secrets_id.retain(|s| *s != secret);
        } else if want && !has {
            p.secrets_id.push(secret);
            p.secrets_id.sort_unstable();
        }
    }
}

/// ADMIN encoding: the signature key in clear.
fn project_json(st: &FcState, id: i64) -> Value {
    st.projects
        .get(&id)
        .map(|p| json::project(st, p, true))
        .unwrap_or(Value::Null)
}

/// ADMIN encoding: with the value.
fn secret_json(st: &FcState, id: i64) -> Value {
    st.secrets
        .get(&id)
        .map(|s| json::secret(s, true))
        .unwrap_or(Value::Null)
}
