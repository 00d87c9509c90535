//! Tolerant-decoding properties (issue 9): a backend's fixture JSON mutated the ways real
//! servers differ (numbers as numeric strings; optional arrays dropped, `null` or `[]`; unknown
//! fields; enum values nobody documented; one garbage row in the list). A client must still
//! decode every valid row.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shipdeck::sim::SimHandle;

/// One draw of mutations for a list of rows.
#[derive(Debug, Clone)]
pub struct Mutations {
    /// One choice per (row, field), cycled.
    choices: Vec<u8>,
    /// Where the garbage row is inserted (modulo the row count + 1).
    garbage_at: usize,
    garbage: Value,
    /// The undocumented enum value.
    pub word: String,
}

pub fn mutations() -> impl Strategy<Value = Mutations> {
    (
        prop::collection::vec(any::<u8>(), 1..48),
        any::<usize>(),
        garbage(),
        "[a-z]{3,10}",
    )
        .prop_map(|(choices, garbage_at, garbage, w)| Mutations {
            choices,
            garbage_at,
            garbage,
            word: format!("zz_{w}"),
        })
}

fn garbage() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("junk")),
        Just(json!(42)),
        Just(json!([1, "two"])),
        Just(json!(true)),
        Just(Value::Null),
        Just(json!({})),
        Just(json!({"unrelated": {"x": [1]}})),
    ]
}

/// A mutated list.
#[derive(Debug)]
pub struct Mutated {
    /// The list as the server sends it (with the garbage row).
    pub list: Vec<Value>,
    /// The valid rows, as mutated, in order: decoding must yield exactly these.
    pub valid: Vec<Value>,
}

impl Mutations {
    /// Mutates every row (fields named in `enums` may get an undocumented value) and inserts
    /// one garbage row.
    pub fn apply(&self, rows: &[Value], enums: &[&str]) -> Mutated {
        let mut k = 0usize;
        let mut next = || {
            let c = self.choices[k % self.choices.len()];
            k += 1;
            c
        };
        let valid: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut v = mutate(r, enums, &mut next, &self.word);
                if let Value::Object(m) = &mut v {
                    m.insert(format!("x_unknown_{i}"), json!({"nested": [1, "a", null]}));
                }
                v
            })
            .collect();
        let mut list = valid.clone();
        list.insert(self.garbage_at % (valid.len() + 1), self.garbage.clone());
        Mutated { list, valid }
    }

    /// One object (not a list) mutated the same way.
    pub fn apply_one(&self, row: &Value, enums: &[&str]) -> Value {
        self.apply(std::slice::from_ref(row), enums).valid.remove(0)
    }
}

fn mutate(v: &Value, enums: &[&str], next: &mut impl FnMut() -> u8, word: &str) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let c = next();
        match v {
            Value::Number(n) if c % 2 == 0 => {
                out.insert(k.clone(), Value::String(n.to_string()));
            }
            Value::Array(_) => match c % 4 {
                0 => {}
                1 => {
                    out.insert(k.clone(), Value::Null);
                }
                2 => {
                    out.insert(k.clone(), json!([]));
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            },
            Value::String(_) if enums.contains(&k.as_str()) && c % 3 == 0 => {
                out.insert(k.clone(), Value::String(word.to_string()));
            }
            Value::Object(_) => {
                out.insert(k.clone(), mutate(v, enums, next, word));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// A scalar as text (a number or a string); `None` for `null`, absent and everything else.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number or numeric string as an integer.
pub fn int(v: &Value) -> Option<i64> {
    text(v).and_then(|s| s.parse().ok())
}

/// The strings of an optional array (absent, `null` and `[]` are empty).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `f` against a fresh simulator on a private runtime (the fixture JSON of a property is
/// read once, outside proptest's synchronous loop).
pub fn with_sim<T>(f: impl AsyncFnOnce(&SimHandle) -> T) -> T {
    shipdeck::api::http::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let h = super::start_sim("").await;
        let out = f(&h).await;
        h.shutdown().await;
        out
    })
}
