//! Tolerant decoding, the rule for every backend's wire types (`api/README.md`, issue 9):
//! a number may arrive as a numeric string, an optional array as absent, `null` or `[]`, an
//! unknown field is ignored (serde's default), an unknown enum value becomes `Unknown`
//! (`#[serde(other)]` on the enum), and one odd row or field never fails a whole list: the field
//! falls back to its default, the row is kept with what could be read, and the oddity goes to
//! the log file (never to the screen).
//!
//! Use as `#[serde(default, deserialize_with = "tolerant::…")]` on wire fields, and
//! [`rows`] for a list whose elements are decoded one by one.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Any field: decode `T`, or log the oddity and use `T::default()`.
pub(crate) fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(T::default());
    }
    Ok(from_value_or_log(v).unwrap_or_default())
}

/// Decode one value, logging (to the log file) what did not fit.
fn from_value_or_log<T: DeserializeOwned>(v: Value) -> Option<T> {
    match serde_json::from_value::<T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(
                target: "shipdeck::decode",
                "field of an unexpected shape ignored ({}): {e}",
                std::any::type_name::<T>()
            );
            None
        }
    }
}

/// A list whose odd elements are dropped one by one (each logged) instead of failing the list:
/// `null` and absent are empty, and a single object where a list was expected is a list of one.
pub fn rows<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(rows_of(Value::deserialize(d)?))
}

/// [`rows`] on a value already parsed.
pub(crate) fn rows_of<T: DeserializeOwned>(v: Value) -> Vec<T> {
    let items = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a,
        one @ Value::Object(_) => vec![one],
        other => {
            tracing::warn!(target: "shipdeck::decode", "a list was expected, got {}", kind_of(&other));
            Vec::new()
        }
    };
    let total = items.len();
    let kept: Vec<T> = items.into_iter().filter_map(from_value_or_log).collect();
    if kept.len() < total {
        tracing::warn!(
            target: "shipdeck::decode",
            "{} of {total} rows could not be read and were left out",
            total - kept.len()
        );
    }
    kept
}

/// [`rows`] for a list of records (structs): only JSON objects count as rows. serde would
/// otherwise read an array element such as `[1, "x"]` as a record, field by field.
pub fn records<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(records_of(Value::deserialize(d)?))
}

/// [`records`] on a value already parsed.
pub(crate) fn records_of<T: DeserializeOwned>(v: Value) -> Vec<T> {
    let v = match v {
        Value::Array(items) => {
            let total = items.len();
            let objects: Vec<Value> = items.into_iter().filter(Value::is_object).collect();
            if objects.len() < total {
                tracing::warn!(
                    target: "shipdeck::decode",
                    "{} of {total} rows are not records and were left out",
                    total - objects.len()
                );
            }
            Value::Array(objects)
        }
        other => other,
    };
    rows_of(v)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A number as JSON number or numeric string (`"23"`, `" 4.50 "`); anything else is `None`.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// An optional unsigned integer: number, numeric string, float with no fraction; else `None`
/// (logged when present but unreadable).
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(as_u64(&v))
}

/// An optional signed integer (an exit code, epoch millis): number, numeric string or float.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(as_i64(&v))
}

/// An optional string: a string, or a number/boolean written as text; objects and lists are
/// logged and dropped.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => {
            log_odd("string", &other);
            None
        }
    })
}

/// A string that defaults to empty when absent or unreadable (as [`opt_string`]).
pub(crate) fn string_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// A boolean that defaults to `false` when absent or unreadable (as [`opt_bool`]).
pub(crate) fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

/// An optional boolean: `true`/`false`, `"true"`/`"false"`, `1`/`0`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match &v {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => {
                log_odd("boolean", &v);
                None
            }
        },
        _ => {
            log_odd("boolean", &v);
            None
        }
    })
}

/// A value as an unsigned integer, when it is one in any spelling.
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    if let Some(u) = v.as_u64() {
        return Some(u);
    }
    let n = number(v);
    let r = n.filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64);
    if r.is_none() && !v.is_null() {
        log_odd("unsigned integer", v);
    }
    r.map(|f| f as u64)
}

/// A value as a signed integer (floats are truncated toward zero).
pub fn as_i64(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let r = number(v).filter(|f| *f >= i64::MIN as f64 && *f <= i64::MAX as f64);
    if r.is_none() && !v.is_null() {
        log_odd("integer", v);
    }
    r.map(|f| f as i64)
}

/// A timestamp as the RFC 3339-ish servers write them (Free Commit, nullplatform, Aviator):
/// any fraction (0–9 digits) or none, any offset (`Z`, `+00:00`, `+0000`) or none (taken as
/// UTC), `T` or a space between date and time (`2026-12-04T10:00:00`, `2026-12-04 10:00:00`).
/// Anything else is `None` (logged), never an error.
pub(crate) fn datetime(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let s = s.trim();
    let utc = |t: DateTime<chrono::FixedOffset>| t.with_timezone(&Utc);
    let parsed = DateTime::parse_from_rfc3339(s)
        .map(utc)
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"]
                .iter()
                .find_map(|f| DateTime::parse_from_str(s, f).ok().map(utc))
        })
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        });
    if parsed.is_none() && !s.is_empty() {
        tracing::warn!(target: "shipdeck::decode", "a timestamp could not be read ({} characters)", s.chars().count());
    }
    parsed
}

fn log_odd(expected: &str, v: &Value) {
    tracing::warn!(target: "shipdeck::decode", "expected a {expected}, got {}", kind_of(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Row {
        #[serde(default, deserialize_with = "opt_u64")]
        count: Option<u64>,
        #[serde(default, deserialize_with = "opt_i64")]
        exit: Option<i64>,
        #[serde(default, deserialize_with = "opt_string")]
        name: Option<String>,
        #[serde(default, deserialize_with = "rows")]
        tags: Vec<String>,
        #[serde(default, deserialize_with = "or_default")]
        kind: Kind,
        #[serde(default, deserialize_with = "opt_bool")]
        done: Option<bool>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        A,
        #[default]
        #[serde(other)]
        Unknown,
    }

    fn row(s: &str) -> Row {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn numbers_as_strings_floats_and_junk() {
        let r = row(r#"{"count":"23","exit":"-1","secs":"1.25","name":7,"done":"true"}"#);
        assert_eq!(r.count, Some(23));
        assert_eq!(r.exit, Some(-1));
        assert_eq!(r.name.as_deref(), Some("7"));
        assert_eq!(r.done, Some(true));
        let r = row(r#"{"count":4.0,"exit":2.9,"secs":null,"name":{"x":1},"done":[]}"#);
        assert_eq!(
            (r.count, r.exit, r.name, r.done),
            (Some(4), Some(2), None, None)
        );
        let r = row(r#"{"count":"lots","exit":true,"secs":"NaN"}"#);
        assert_eq!((r.count, r.exit), (None, None));
        assert_eq!(row(r#"{"count":-3}"#).count, None);
    }

    #[test]
    fn arrays_absent_null_empty_single_or_mixed() {
        assert!(row("{}").tags.is_empty());
        assert!(row(r#"{"tags":null}"#).tags.is_empty());
        assert!(row(r#"{"tags":[]}"#).tags.is_empty());
        assert_eq!(row(r#"{"tags":["a",3,"b",{}]}"#).tags, vec!["a", "b"]);
        assert!(row(r#"{"tags":"a"}"#).tags.is_empty());
    }

    #[test]
    fn unknown_enum_values_and_odd_shapes_fall_back() {
        assert_eq!(row(r#"{"kind":"a"}"#).kind, Kind::A);
        assert_eq!(row(r#"{"kind":"zeta"}"#).kind, Kind::Unknown);
        assert_eq!(row(r#"{"kind":42}"#).kind, Kind::Unknown);
        assert_eq!(
            row(r#"{"kind":null,"extra":{"y":[1]}}"#).kind,
            Kind::Unknown
        );
    }

    #[test]
    fn records_are_objects_only() {
        let v: Value =
            serde_json::from_str(r#"[{"count":1},[2,"x"],"junk",{"count":"3"}]"#).unwrap();
        let got: Vec<Row> = records_of(v.clone());
        assert_eq!(
            got.iter().map(|r| r.count).collect::<Vec<_>>(),
            vec![Some(1), Some(3)]
        );
        // Plain `rows_of` would take the array as a record.
        assert_eq!(rows_of::<Row>(v).len(), 3);
    }

    #[test]
    fn timestamps_with_or_without_fraction_and_offset() {
        let at = |s: &str| datetime(s).map(|t| t.to_rfc3339());
        let ten = Some("2026-12-04T10:00:00+00:00".to_string());
        for s in [
            "2026-12-04T10:00:00Z",
            "2026-12-04T10:00:00+00:00",
            "2026-12-04T12:00:00+02:00",
            "2026-12-04T10:00:00+0000",
            "2026-12-04T10:00:00",
            "2026-12-04 10:00:00",
            "2026-12-04 10:00:00Z",
            " 2026-12-04t10:00:00z ",
        ] {
            assert_eq!(at(s), ten, "{s}");
        }
        for s in [
            "2026-12-04T10:00:00.5Z",
            "2026-12-04T10:00:00.512331+00:00",
            "2026-12-04T10:00:00.123456789Z",
            "2026-12-04 10:00:00.25",
        ] {
            assert!(datetime(s).is_some(), "{s}");
        }
        assert_eq!(
            datetime("2026-03-02T10:15:04.512331+00:00").map(|t| t.timestamp_subsec_micros()),
            Some(512_331)
        );
        for s in [
            "",
            "yesterday",
            "2026-12-04",
            "1764842400000",
            "2026-13-04T10:00:00Z",
        ] {
            assert!(datetime(s).is_none(), "{s}");
        }
    }

    #[test]
    fn lenient_strings_and_booleans_default() {
        #[derive(Debug, Deserialize)]
        struct Lenient {
            #[serde(default, deserialize_with = "string_lenient")]
            name: String,
            #[serde(default, deserialize_with = "bool_lenient")]
            on: bool,
        }
        let l: Lenient = serde_json::from_str(r#"{"name": 42, "on": "true"}"#).unwrap();
        assert_eq!((l.name.as_str(), l.on), ("42", true));
        let l: Lenient = serde_json::from_str(r#"{"name": [1], "on": "maybe"}"#).unwrap();
        assert_eq!((l.name.as_str(), l.on), ("", false));
        let l: Lenient = serde_json::from_str("{}").unwrap();
        assert_eq!((l.name.as_str(), l.on), ("", false));
    }

    #[test]
    fn one_odd_row_never_fails_the_list() {
        let v: Value = serde_json::from_str(r#"[{"count":1},"junk",{"count":"2"},7]"#).unwrap();
        let got: Vec<Row> = rows_of(v);
        assert_eq!(
            got.iter().map(|r| r.count).collect::<Vec<_>>(),
            vec![Some(1), Some(2)]
        );
    }
}
