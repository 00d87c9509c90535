//! JSON encodings of the entities (§5): snake_case, every annotated key
//! present (maybe `null`), relations as `<field>_id`.

use serde_json::{Map, Value, json};

use super::super::clock::fmt_ns;
use super::engine::{Build, Credential, Developer, Executor, FcState, Log, Project, Secret};

fn dt(ns: Option<i64>) -> Value {
    ns.map_or(Value::Null, |n| Value::String(fmt_ns(n)))
}

/// `clear_key`: the caller holds `ROLE_ADMIN` (or ADMIN encoding).
pub fn project(st: &FcState, p: &Project, clear_key: bool) -> Value {
    let builds: Vec<i64> = st.builds_of(p.id).map(|b| b.id).collect();
    let last = st.last_build(p.id);
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "repository": p.repository,
        "branch": p.branch,
        "spec_file_path": p.spec_file_path,
        "keep_number_build": p.keep_number_build,
        "allow_concurrent_execution": p.allow_concurrent_execution,
        "signature_key": if clear_key { p.signature_key.clone() } else { "*".repeat(15) },
        "available_steps": p.available_steps,
        "repository_credential_id": p.repository_credential_id,
        "secrets_id": p.secrets_id,
        "builds_id": builds,
        "developers_id": p.developers_id,
        "executor_id": p.executor_id,
        "last_build": {
            "exit_code": last.map(|b| b.exit_code),
            "exit_message": last.and_then(|b| b.exit_message.clone()),
            "created_at": dt(last.map(|b| b.created_at)),
        },
    })
}

pub fn developer(st: &FcState, d: &Developer) -> Value {
    let projects: Vec<i64> = st
        .projects
        .values()
        .filter(|p| p.developers_id.contains(&d.id))
        .map(|p| p.id)
        .collect();
    json!({
        "id": d.id,
        "username": d.username,
        "password": "*".repeat(11),
        "enabled": d.enabled,
        "roles": d.roles,
        "email": d.email,
        "github_username": d.github_username,
        "gitlab_username": d.gitlab_username,
        "projects_id": projects,
    })
}

pub fn secret(s: &Secret, with_value: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("name".into(), json!(s.name));
    if with_value {
        m.insert("value".into(), json!(s.value));
    }
    m.insert("escape_char".into(), json!(s.escape_char));
    m.insert("env".into(), json!(s.env));
    m.insert("projects_id".into(), json!(s.projects_id));
    Value::Object(m)
}

pub fn credential(c: &Credential, with_key: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("name".into(), json!(c.name));
    if with_key {
        m.insert("ssh_key".into(), json!(c.ssh_key));
    }
    Value::Object(m)
}

pub fn executor(e: &Executor) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "driver": e.driver,
        "variables": e.variables,
    })
}

pub fn build(b: &Build) -> Value {
    json!({
        "id": b.id,
        "output": b.output,
        "exit_code": b.exit_code,
        "exit_message": b.exit_message,
        "created_at": fmt_ns(b.created_at),
        "completed_at": fmt_ns(b.completed_at),
        "project_id": b.project_id,
    })
}

pub fn log(l: &Log) -> Value {
    json!({
        "id": l.id,
        "step": l.step,
        "log": l.log,
        "build_id": l.build_id,
        "start_at": fmt_ns(l.start_at),
        "closed_at": dt(l.closed_at),
        "success": l.success,
        "skipped": l.skipped,
    })
}

pub(crate) fn project_row(st: &FcState, p: &Project) -> Map<String, Value> {
    let last = st.last_build(p.id);
    let v = json!({
        "project_id": p.id,
        "project_name": p.name,
        "build_last_exit_code": last.map(|b| b.exit_code),
        "build_last_exit_message": last.and_then(|b| b.exit_message.clone()),
        "build_last_created_at": dt(last.map(|b| b.created_at)),
    });
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn developer_row(d: &Developer) -> Map<String, Value> {
    let role = if d.roles.iter().any(|r| r == "ROLE_ADMIN") {
        Some("ROLE_ADMIN")
    } else if d.roles.iter().any(|r| r == "ROLE_DEVELOPER") {
        Some("ROLE_DEVELOPER")
    } else {
        None
    };
    let v = json!({
        "developer_id": d.id,
        "user_username": d.username,
        "developer_email": d.email,
        "user_role": role,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn secret_row(s: &Secret) -> Map<String, Value> {
    let v = json!({
        "secret_id": s.id,
        "secret_name": s.name,
        "secret_env": s.env,
        "secret_scope": if s.projects_id.is_empty() { "PUBLIC" } else { "PRIVATE" },
    });
    v.as_object().cloned().unwrap_or_default()
}
