//! `/developer/paginations/*` and `/developer/statistics/sum/duration` (§6, §9 #14).

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::super::clock::NS_PER_SEC;
use super::super::paging;

/// Seconds the COUNT result of one query text stays cached.
pub(crate) const COUNT_CACHE_NS: i64 = 30 * NS_PER_SEC;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub page: usize,
    pub per_page: usize,
    pub sort_by: String,
    pub asc: bool,
    pub include: bool,
    pub dynamic_counting: bool,
    /// (key, op, value)
    pub filters: Vec<(String, String, String)>,
}

/// A 500 with this message (Java-ish text, as the server would answer).
#[derive(Debug)]
pub(crate) struct PageError(pub String);

const OPS: [&str; 10] = [
    "eq",
    "ne",
    "sup",
    "inf",
    "supeq",
    "infeq",
    "contains",
    "necontains",
    "startwith",
    "endwith",
];
const UNSUPPORTED_OPS: [&str; 4] = [
    "jsoncontains",
    "nejsoncontains",
    "distancesup",
    "distanceinf",
];

fn digits(v: &str, name: &str) -> Result<usize, PageError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PageError(format!("For input string: \"{v}\" ({name})")));
    }
    v.parse()
        .map_err(|_| PageError(format!("For input string: \"{v}\" ({name})")))
}

impl Query {
    /// Parses a raw query string (brackets may be percent-encoded).
    pub fn parse(raw: Option<&str>) -> Result<Query, PageError> {
        let mut q = Query {
            page: 1,
            per_page: 20,
            sort_by: "id".into(),
            asc: false,
            include: false,
            dynamic_counting: false,
            filters: Vec::new(),
        };
        let raw = raw.unwrap_or("");
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let (k, v) = (k.into_owned(), v.into_owned());
            match k.as_str() {
                "page" => q.page = digits(&v, "page")?.max(1),
                "per_page" | "perPage" => q.per_page = digits(&v, "per_page")?,
                "sort_by" | "sortBy" => q.sort_by = v,
                "order_by" | "orderBy" => q.asc = v.eq_ignore_ascii_case("asc"),
                "mode" => q.include = v.eq_ignore_ascii_case("include"),
                "dynamic_counting" => q.dynamic_counting = v == "true",
                _ => {
                    if let Some((key, rest)) = k.split_once('[')
                        && let Some(op) = rest.strip_suffix(']')
                    {
                        if UNSUPPORTED_OPS.contains(&op) {
                            return Err(PageError("Not supported operator".into()));
                        }
                        if !OPS.contains(&op) {
                            return Err(PageError(format!("Operator {op} not found")));
                        }
                        q.filters.push((key.to_string(), op.to_string(), v));
                    }
                }
            }
        }
        Ok(q)
    }

    /// The text that identifies the COUNT query (filters and mode only).
    pub(crate) fn count_key(&self, route: &str) -> String {
        let mut f: Vec<String> = self
            .filters
            .iter()
            .map(|(k, o, v)| format!("{k}[{o}]={v}"))
            .collect();
        f.sort();
        format!("{route}|{}|{}", self.include, f.join("&"))
    }
}

fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => text(a).to_lowercase().cmp(&text(b).to_lowercase()),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One condition; string comparisons are case-insensitive (MySQL collation).
fn matches(row_value: &Value, op: &str, v: &str) -> bool {
    if v == "null" && (op == "eq" || op == "ne") {
        return (op == "eq") == row_value.is_null();
    }
    if row_value.is_null() {
        return false;
    }
    let ord = match row_value {
        Value::Number(n) => match v.parse::<f64>() {
            Ok(x) => n.as_f64().unwrap_or(0.0).partial_cmp(&x),
            Err(_) => Some(text(row_value).to_lowercase().cmp(&v.to_lowercase())),
        },
        Value::Bool(b) => Some(b.to_string().cmp(&v.to_lowercase())),
        _ => Some(text(row_value).to_lowercase().cmp(&v.to_lowercase())),
    };
    let t = text(row_value).to_lowercase();
    let lv = v.to_lowercase();
    match op {
        "eq" => ord == Some(Ordering::Equal),
        "ne" => ord != Some(Ordering::Equal),
        "sup" => ord == Some(Ordering::Greater),
        "inf" => ord == Some(Ordering::Less),
        "supeq" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        "infeq" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        "contains" => t.contains(&lv),
        "necontains" => !t.contains(&lv),
        "startwith" => t.starts_with(&lv),
        "endwith" => t.ends_with(&lv),
        _ => false,
    }
}

/// Filters rows; unknown filter keys are an SQL error (500).
pub fn filter(
    rows: Vec<Map<String, Value>>,
    q: &Query,
    id_key: &str,
) -> Result<Vec<Map<String, Value>>, PageError> {
    let known = |k: &str| k == "id" || rows.first().is_none_or(|r| r.contains_key(k));
    for (k, _, _) in &q.filters {
        if !known(k) {
            return Err(PageError(format!("Unknown column '{k}' in 'where clause'")));
        }
    }
    if q.filters.is_empty() {
        return Ok(rows);
    }
    Ok(rows
        .into_iter()
        .filter(|r| {
            let get = |k: &str| {
                let k = if k == "id" { id_key } else { k };
                r.get(k).cloned().unwrap_or(Value::Null)
            };
            // Same key+op repeated → OR inside the group; groups AND (or OR in include mode).
            let mut groups: Vec<(&str, &str, Vec<&str>)> = Vec::new();
            for (k, o, v) in &q.filters {
                match groups.iter_mut().find(|g| g.0 == k && g.1 == o) {
                    Some(g) => g.2.push(v),
                    None => groups.push((k, o, vec![v])),
                }
            }
            let eval = |g: &(&str, &str, Vec<&str>)| g.2.iter().any(|v| matches(&get(g.0), g.1, v));
            if q.include {
                groups.iter().any(eval)
            } else {
                groups.iter().all(eval)
            }
        })
        .collect())
}

/// Sorts by `sort_by` (row alias or `id`); unknown or `NONE` → id ascending.
pub fn sort(rows: &mut [Map<String, Value>], q: &Query, id_key: &str) {
    let key = if q.sort_by == "id" {
        Some(id_key.to_string())
    } else if rows.first().is_some_and(|r| r.contains_key(&q.sort_by)) {
        Some(q.sort_by.clone())
    } else {
        None
    };
    let id = |r: &Map<String, Value>| r.get(id_key).and_then(Value::as_i64).unwrap_or(0);
    match key {
        Some(k) => rows.sort_by(|a, b| {
            let o = cmp_values(
                a.get(&k).unwrap_or(&Value::Null),
                b.get(&k).unwrap_or(&Value::Null),
            )
            .then_with(|| id(a).cmp(&id(b)));
            if q.asc { o } else { o.reverse() }
        }),
        None => rows.sort_by_key(id),
    }
}

/// The envelope arithmetic of §6. `count` is the (possibly cached) SQL count of
/// all matching rows; `rows` the sorted, filtered rows.
pub fn envelope(rows: Vec<Map<String, Value>>, q: &Query, count: usize) -> Value {
    let p = q.per_page;
    let n = q.page.max(1);
    let offset = paging::page_offset(n, p);
    let data: Vec<Value> = paging::window(rows, offset, p)
        .into_iter()
        .map(Value::Object)
        .collect();
    let r = data.len();
    let from = offset + 1;
    let (to, total, last_page) = if r < p {
        (offset + r, offset + r, n)
    } else {
        let t = if q.dynamic_counting {
            p.saturating_mul(n + 1)
        } else {
            count
        };
        let to = p.saturating_mul(n).min(t);
        let last = if q.dynamic_counting {
            n + 1
        } else if p == 0 {
            0
        } else {
            let ratio = t as f64 / p as f64;
            if ratio % p as f64 > 0.0 {
                t / p + 1
            } else {
                t / p
            }
        };
        (to, t, last)
    };
    json!({
        "current_page": n,
        "from": from,
        "to": to,
        "per_page": p,
        "total": total,
        "last_page": last_page,
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: i64) -> Vec<Map<String, Value>> {
        (1..=n)
            .map(|i| {
                let mut m = Map::new();
                m.insert("x_id".into(), json!(i));
                m
            })
            .collect()
    }

    fn q(page: usize, per_page: usize) -> Query {
        let mut q = Query::parse(None).unwrap();
        q.page = page;
        q.per_page = per_page;
        q
    }

    #[test]
    fn arithmetic() {
        let e = envelope(rows(47), &q(1, 20), 47);
        assert_eq!(
            (e["to"].clone(), e["total"].clone(), e["last_page"].clone()),
            (json!(20), json!(47), json!(3))
        );
        let e = envelope(rows(47), &q(3, 20), 47);
        assert_eq!(
            (
                e["from"].clone(),
                e["to"].clone(),
                e["total"].clone(),
                e["last_page"].clone()
            ),
            (json!(41), json!(47), json!(47), json!(3))
        );
        let e = envelope(rows(20), &q(1, 20), 20);
        assert_eq!(e["last_page"], json!(2));
        let e = envelope(rows(20), &q(2, 20), 20);
        assert_eq!(
            (
                e["from"].clone(),
                e["to"].clone(),
                e["total"].clone(),
                e["last_page"].clone()
            ),
            (json!(21), json!(20), json!(20), json!(2))
        );
        let e = envelope(rows(0), &q(1, 20), 0);
        assert_eq!(
            e,
            json!({"current_page":1,"from":1,"to":0,"per_page":20,"total":0,"last_page":1,"data":[]})
        );
        let e = envelope(rows(400), &q(1, 20), 400);
        assert_eq!(e["last_page"], json!(20));
    }

    #[test]
    fn parses_encoded_filters() {
        let q = Query::parse(Some("project_name%5Bcontains%5D=api&perPage=5&orderBy=asc")).unwrap();
        assert_eq!(
            q.filters,
            vec![("project_name".into(), "contains".into(), "api".into())]
        );
        assert_eq!(q.per_page, 5);
        assert!(q.asc);
        assert!(Query::parse(Some("a[jsoncontains]=1")).is_err());
        assert!(Query::parse(Some("a[bogus]=1")).is_err());
        assert!(Query::parse(Some("per_page=x")).is_err());
    }
}
