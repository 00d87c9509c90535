//! Reading one entity's fields from a request body the way the backend's request parser
//! does, and the backend's refusals (Spring error codes, Java exception texts).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::super::Ctx;

/// A refusal: status and the Spring `message` (the error code).
pub(super) struct Refused(pub StatusCode, pub String);

pub(super) type Outcome = Result<Response, Refused>;

pub(super) fn refuse<T>(status: StatusCode, code: &str) -> Result<T, Refused> {
    Err(Refused(status, code.to_string()))
}

pub(super) fn unprocessable<T>(code: &str) -> Result<T, Refused> {
    refuse(StatusCode::UNPROCESSABLE_ENTITY, code)
}

pub(super) fn not_found<T>(code: &str) -> Result<T, Refused> {
    refuse(StatusCode::NOT_FOUND, code)
}

/// What Java makes of an unusable value (a 500 with the exception text).
pub(super) fn java_error<T>(text: &str) -> Result<T, Refused> {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, text)
}

/// The fields of one entity in a request body (`<entity>_<field>` after flattening).
pub(super) struct Body<'a> {
    ctx: &'a Ctx,
    entity: &'static str,
}

impl<'a> Body<'a> {
    pub(super) fn new(ctx: &'a Ctx, entity: &'static str) -> Self {
        Body { ctx, entity }
    }

    /// The field, `null` counting as absent.
    pub(super) fn get(&self, field: &str) -> Option<&'a Value> {
        self.ctx.field(&format!("{}_{field}", self.entity))
    }

    /// A string that may be absent or `null`.
    pub(super) fn opt_str(&self, field: &str) -> Option<String> {
        self.get(field).map(text)
    }

    /// A string that must be present and not blank (else 422 `code`).
    pub(super) fn required_str(&self, field: &str, code: &str) -> Result<String, Refused> {
        match self.opt_str(field) {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => unprocessable(code),
        }
    }

    /// A boolean, also as `"true"`/`"false"` (else 422 `code`).
    pub(super) fn required_bool(&self, field: &str, code: &str) -> Result<bool, Refused> {
        match self.get(field) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => unprocessable(code),
        }
    }

    /// An optional id: number or digits; `""` and `null` are none.
    pub(super) fn opt_id(&self, field: &str) -> Result<Option<i64>, Refused> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => id_of(v).map(Some),
        }
    }

    /// A list of ids; absent or `null` is empty.
    pub(super) fn ids(&self, field: &str) -> Result<Vec<i64>, Refused> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(id_of).collect(),
            Some(_) => java_error("class java.lang.String cannot be cast to class java.util.List"),
        }
    }
}

/// A value as Java's `toString` would give it.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn id_of(v: &Value) -> Result<i64, Refused> {
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
pub(super) fn keep_number(b: &Body<'_>) -> Result<Option<i64>, Refused> {
    match b.get("keep_number_build") {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => id_of(v).map(Some),
    }
}

pub(super) fn next_id<V>(map: &BTreeMap<i64, V>) -> i64 {
    map.keys().next_back().copied().unwrap_or(0) + 1
}

pub(super) fn check_all<V>(map: &BTreeMap<i64, V>, ids: &[i64], code: &str) -> Result<(), Refused> {
    match ids.iter().all(|i| map.contains_key(i)) {
        true => Ok(()),
        false => not_found(code),
    }
}
