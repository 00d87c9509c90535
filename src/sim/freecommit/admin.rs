//! Admin writes of §4.3 (and §11 F1): create (201, ADMIN encoding), one-field PATCH (200, the
//! whole entity back), delete (204) for projects, secrets and credentials; create and PATCH for
//! developers; PATCH of an executor's `name` and `variables`.
//!
//! Bodies are read as the server reads them: wrapped in the entity (`{"project":{"name":…}}`)
//! or flat (`{"project_name":…}`), only with a JSON content type. Project create takes what the
//! real web frontend sends: no `developers_id`/`secrets_id`, `keep_number_build: ""`.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use super::engine::{Credential, Developer, FcState, Profile, Project, Secret};
use super::{Ctx, empty, entities, json_response};

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

/// A refusal: status and the Spring `message` (the error code).
struct Refused(StatusCode, String);

type Outcome = Result<Response, Refused>;

fn refuse<T>(status: StatusCode, code: &str) -> Result<T, Refused> {
    Err(Refused(status, code.to_string()))
}

fn unprocessable<T>(code: &str) -> Result<T, Refused> {
    refuse(StatusCode::UNPROCESSABLE_ENTITY, code)
}

fn not_found<T>(code: &str) -> Result<T, Refused> {
    refuse(StatusCode::NOT_FOUND, code)
}

/// What Java makes of an unusable value (a 500 with the exception text).
fn java_error<T>(text: &str) -> Result<T, Refused> {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, text)
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
            let v = entities::developer(st, &d);
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
            let v = entities::credential(&c, true);
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
                Some(d) => entities::developer(st, d),
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
            entities::credential(c, true)
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
            entities::executor(e)
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

/// The fields of one entity in a request body (`<entity>_<field>` after flattening).
struct Body<'a> {
    ctx: &'a Ctx,
    entity: &'static str,
}

impl<'a> Body<'a> {
    fn new(ctx: &'a Ctx, entity: &'static str) -> Self {
        Body { ctx, entity }
    }

    /// The field, `null` counting as absent.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.ctx.field(&format!("{}_{field}", self.entity))
    }

    /// A string that may be absent or `null`.
    fn opt_str(&self, field: &str) -> Option<String> {
        self.get(field).map(text)
    }

    /// A string that must be present and not blank (else 422 `code`).
    fn required_str(&self, field: &str, code: &str) -> Result<String, Refused> {
        match self.opt_str(field) {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => unprocessable(code),
        }
    }

    /// A boolean, also as `"true"`/`"false"` (else 422 `code`).
    fn required_bool(&self, field: &str, code: &str) -> Result<bool, Refused> {
        match self.get(field) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => unprocessable(code),
        }
    }

    /// An optional id: number or digits; `""` and `null` are none.
    fn opt_id(&self, field: &str) -> Result<Option<i64>, Refused> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => id_of(v).map(Some),
        }
    }

    /// A list of ids; absent or `null` is empty.
    fn ids(&self, field: &str) -> Result<Vec<i64>, Refused> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(id_of).collect(),
            Some(_) => java_error("class java.lang.String cannot be cast to class java.util.List"),
        }
    }
}

/// A value as Java's `toString` would give it.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn id_of(v: &Value) -> Result<i64, Refused> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) => Ok(n),
        None => java_error(&format!("For input string: \"{}\"", text(v))),
    }
}

/// `keep_number_build`: an int, a numeric string, or `""`/`null` (keep all).
fn keep_number(b: &Body<'_>) -> Result<Option<i64>, Refused> {
    match b.get("keep_number_build") {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => id_of(v).map(Some),
    }
}

fn next_id<V>(map: &BTreeMap<i64, V>) -> i64 {
    map.keys().next_back().copied().unwrap_or(0) + 1
}

fn check_all<V>(map: &BTreeMap<i64, V>, ids: &[i64], code: &str) -> Result<(), Refused> {
    match ids.iter().all(|i| map.contains_key(i)) {
        true => Ok(()),
        false => not_found(code),
    }
}

fn signature_key(st: &mut FcState) -> String {
    (0..32)
        .map(|_| char::from_digit(st.rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

fn new_project(st: &mut FcState, b: &Body<'_>, id: i64) -> Result<Project, Refused> {
    let name = b.required_str("name", "PROJECT_NAME_REQUIRED")?;
    let repository = b.required_str("repository", "PROJECT_REPOSITORY_REQUIRED")?;
    let branch = b.required_str("branch", "PROJECT_BRANCH_REQUIRED")?;
    let spec_file_path = b.required_str("spec_file_path", "PROJECT_SPEC_FILE_PATH_REQUIRED")?;
    let allow = b.required_bool(
        "allow_concurrent_execution",
        "PROJECT_ALLOW_CONCURRENT_EXECUTION_REQUIRED",
    )?;
    let keep = keep_number(b)?;
    let developers = b.ids("developers_id")?;
    check_all(&st.developers, &developers, "DEVELOPER_NOT_FOUND")?;
    let secrets = b.ids("secrets_id")?;
    check_all(&st.secrets, &secrets, "SECRET_NOT_FOUND")?;
    let credential = b.opt_id("repository_credential_id")?;
    if credential.is_some_and(|c| !st.credentials.contains_key(&c)) {
        return not_found("CREDENTIAL_NOT_FOUND");
    }
    let executor = b.opt_id("executor_id")?;
    if !executor.is_some_and(|e| st.executors.contains_key(&e)) {
        return not_found("EXECUTOR_NOT_FOUND");
    }
    Ok(Project {
        id,
        name,
        description: b.opt_str("description"),
        repository,
        branch,
        spec_file_path,
        keep_number_build: keep,
        allow_concurrent_execution: allow,
        signature_key: signature_key(st),
        available_steps: Vec::new(),
        repository_credential_id: credential,
        secrets_id: secrets,
        developers_id: developers,
        executor_id: executor,
        profile: if allow { Profile::Ok } else { Profile::Serial },
        spec_steps: super::fixtures::spec_steps_for(id, Profile::Ok),
        launches: 0,
    })
}

fn patch_project(st: &mut FcState, b: &Body<'_>, id: i64, field: &str) -> Result<(), Refused> {
    if !st.projects.contains_key(&id) {
        return not_found("PROJECT_NOT_FOUND");
    }
    // Relations are checked before the entity is touched.
    let key = match field {
        "signature_key" => Some(signature_key(st)),
        _ => None,
    };
    let ids = match field {
        "developers" => {
            let v = b.ids("developers_id")?;
            check_all(&st.developers, &v, "DEVELOPER_NOT_FOUND")?;
            v
        }
        "secrets" => {
            let v = b.ids("secrets_id")?;
            check_all(&st.secrets, &v, "SECRET_NOT_FOUND")?;
            v
        }
        _ => Vec::new(),
    };
    let relation = match field {
        "repository_credential" => {
            let c = b.opt_id("repository_credential_id")?;
            if c.is_some_and(|c| !st.credentials.contains_key(&c)) {
                return not_found("CREDENTIAL_NOT_FOUND");
            }
            c
        }
        "executor" => {
            let e = b.opt_id("executor_id")?;
            if !e.is_some_and(|e| st.executors.contains_key(&e)) {
                return not_found("EXECUTOR_NOT_FOUND");
            }
            e
        }
        _ => None,
    };
    let Some(p) = st.projects.get_mut(&id) else {
        return not_found("PROJECT_NOT_FOUND");
    };
    match field {
        "name" => p.name = b.required_str("name", "PROJECT_NAME_REQUIRED")?,
        "description" => p.description = b.opt_str("description"),
        "repository" => {
            p.repository = b.required_str("repository", "PROJECT_REPOSITORY_REQUIRED")?
        }
        "branch" => p.branch = b.required_str("branch", "PROJECT_BRANCH_REQUIRED")?,
        "spec_file_path" => {
            p.spec_file_path =
                b.required_str("spec_file_path", "PROJECT_SPEC_FILE_PATH_REQUIRED")?
        }
        "keep_number_build" => p.keep_number_build = keep_number(b)?,
        "allow_concurrent_execution" => {
            p.allow_concurrent_execution = b.required_bool(
                "allow_concurrent_execution",
                "PROJECT_ALLOW_CONCURRENT_EXECUTION_REQUIRED",
            )?
        }
        "developers" => p.developers_id = ids,
        "secrets" => p.secrets_id = ids,
        "repository_credential" => p.repository_credential_id = relation,
        "executor" => p.executor_id = relation,
        _ => {
            if let Some(k) = key {
                p.signature_key = k;
            }
        }
    }
    if field == "secrets" {
        sync_project_secrets(st, id);
    }
    Ok(())
}

fn new_developer(st: &FcState, b: &Body<'_>) -> Result<Developer, Refused> {
    let Some(username) = b.opt_str("username") else {
        return java_error("not-null property references a null or transient value: username");
    };
    if st.developer_by_username(&username).is_some() {
        return java_error("could not execute statement; constraint [username]");
    }
    let Some(password) = b.opt_str("password") else {
        return java_error("rawPassword cannot be null");
    };
    let id = next_id(&st.developers);
    let user_id = st.developers.values().map(|d| d.user_id).max().unwrap_or(0) + 1;
    Ok(Developer {
        id,
        user_id,
        username,
        password,
        enabled: true,
        roles: roles(b)?,
        email: b.opt_str("email"),
        github_username: b.opt_str("github_username"),
        gitlab_username: b.opt_str("gitlab_username"),
    })
}

fn roles(b: &Body<'_>) -> Result<Vec<String>, Refused> {
    match b.get("roles") {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.iter().map(text).collect()),
        Some(_) => java_error("class java.lang.String cannot be cast to class java.util.List"),
    }
}

fn patch_developer(st: &mut FcState, b: &Body<'_>, id: i64, field: &str) -> Result<(), Refused> {
    if !st.developers.contains_key(&id) {
        return not_found("DEVELOPER_NOT_FOUND");
    }
    if field == "projects" {
        let projects = b.ids("projects_id")?;
        check_all(&st.projects, &projects, "PROJECT_NOT_FOUND")?;
        for p in st.projects.values_mut() {
            let member = projects.contains(&p.id);
            p.developers_id.retain(|d| *d != id);
            if member {
                p.developers_id.push(id);
                p.developers_id.sort_unstable();
            }
        }
        return Ok(());
    }
    if field == "username"
        && let Some(u) = b.opt_str("username")
        && st
            .developers
            .values()
            .any(|d| d.id != id && d.username == u)
    {
        return java_error("could not execute statement; constraint [username]");
    }
    let Some(d) = st.developers.get_mut(&id) else {
        return not_found("DEVELOPER_NOT_FOUND");
    };
    match field {
        "email" => d.email = b.opt_str("email"),
        "github_username" => d.github_username = b.opt_str("github_username"),
        "gitlab_username" => d.gitlab_username = b.opt_str("gitlab_username"),
        "enabled" => match b.get("enabled") {
            Some(Value::Bool(v)) => d.enabled = *v,
            Some(Value::String(s)) => d.enabled = s.eq_ignore_ascii_case("true"),
            _ => return java_error("Cannot invoke \"java.lang.Boolean.booleanValue()\""),
        },
        "username" => match b.opt_str("username") {
            Some(u) => d.username = u,
            None => {
                return java_error("not-null property references a null value: username");
            }
        },
        "password" => match b.opt_str("password") {
            Some(p) => d.password = p,
            None => return java_error("rawPassword cannot be null"),
        },
        // `role` and `roles` both replace the list from `roles`.
        _ => d.roles = roles(b)?,
    }
    Ok(())
}

fn new_secret(st: &FcState, b: &Body<'_>) -> Result<Secret, Refused> {
    let name = b.required_str("name", "SECRET_NAME_REQUIRED")?;
    let value = b.required_str("value", "SECRET_VALUE_REQUIRED")?;
    let projects = b.ids("projects_id")?;
    check_all(&st.projects, &projects, "PROJECT_NOT_FOUND")?;
    Ok(Secret {
        id: next_id(&st.secrets),
        name,
        value,
        escape_char: b.opt_str("escape_char"),
        env: b.opt_str("env"),
        projects_id: projects,
    })
}

fn patch_secret(st: &mut FcState, b: &Body<'_>, id: i64, field: &str) -> Result<(), Refused> {
    let projects = if field == "projects" {
        let v = b.ids("projects_id")?;
        check_all(&st.projects, &v, "PROJECT_NOT_FOUND")?;
        v
    } else {
        Vec::new()
    };
    let Some(s) = st.secrets.get_mut(&id) else {
        return not_found("SECRET_NOT_FOUND");
    };
    match field {
        "name" => s.name = b.required_str("name", "SECRET_NAME_REQUIRED")?,
        "value" => s.value = b.required_str("value", "SECRET_VALUE_REQUIRED")?,
        "escape_char" => match b.opt_str("escape_char") {
            Some(e) => s.escape_char = Some(e),
            None => {
                return java_error(
                    "Cannot invoke \"String.split(String)\" because \"escapeChar\" is null",
                );
            }
        },
        "env" => s.env = b.opt_str("env"),
        // `null` or `[]` makes the secret global (PUBLIC).
        _ => s.projects_id = projects,
    }
    if field == "projects" {
        sync_secret_projects(st, id);
    }
    Ok(())
}

/// After a project's `secrets_id` changed: each secret's `projects_id` follows.
fn sync_project_secrets(st: &mut FcState, project: i64) {
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
fn sync_secret_projects(st: &mut FcState, secret: i64) {
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
        .map(|p| entities::project(st, p, true))
        .unwrap_or(Value::Null)
}

/// ADMIN encoding: with the value.
fn secret_json(st: &FcState, id: i64) -> Value {
    st.secrets
        .get(&id)
        .map(|s| entities::secret(s, true))
        .unwrap_or(Value::Null)
}
