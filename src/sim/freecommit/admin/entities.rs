//! Create and one-field PATCH of projects, developers and secrets, with the relations kept
//! consistent on both sides (a project's `secrets_id` and each secret's `projects_id`).

use serde_json::Value;

use super::super::engine::{Developer, FcState, Profile, Project, Secret};
use super::body::{Body, Refused, check_all, java_error, keep_number, next_id, not_found, text};
use super::{sync_project_secrets, sync_secret_projects};

pub(super) fn signature_key(st: &mut FcState) -> String {
    (0..32)
        .map(|_| char::from_digit(st.rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(super) fn new_project(st: &mut FcState, b: &Body<'_>, id: i64) -> Result<Project, Refused> {
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
        spec_steps: super::super::fixtures::spec_steps_for(id, Profile::Ok),
        launches: 0,
    })
}

pub(super) fn patch_project(
    st: &mut FcState,
    b: &Body<'_>,
    id: i64,
    field: &str,
) -> Result<(), Refused> {
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

pub(super) fn new_developer(st: &FcState, b: &Body<'_>) -> Result<Developer, Refused> {
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

pub(super) fn patch_developer(
    st: &mut FcState,
    b: &Body<'_>,
    id: i64,
    field: &str,
) -> Result<(), Refused> {
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

pub(super) fn new_secret(st: &FcState, b: &Body<'_>) -> Result<Secret, Refused> {
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

pub(super) fn patch_secret(
    st: &mut FcState,
    b: &Body<'_>,
    id: i64,
    field: &str,
) -> Result<(), Refused> {
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
