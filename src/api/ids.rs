//! Ids arrive as numbers from some servers and strings from others (sometimes both from one):
//! the domain keeps every id as an opaque string. Shared `deserialize_with` helpers.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    N(serde_json::Number),
    S(String),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::N(n) => n.to_string(),
            Id::S(s) => s,
        }
    }
}

/// A number or a string, as a string.
pub(crate) fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Id::deserialize(d).map(Id::into_string)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Row {
        #[serde(deserialize_with = "super::id_string")]
        id: String,
        #[serde(default, deserialize_with = "crate::api::tolerant::opt_string")]
        parent: Option<String>,
    }

    #[test]
    fn numbers_and_strings_become_strings() {
        let r: Row = serde_json::from_str(r#"{"id": 42, "parent": "a1"}"#).unwrap();
        assert_eq!((r.id.as_str(), r.parent.as_deref()), ("42", Some("a1")));
        let r: Row = serde_json::from_str(r#"{"id": "x9", "parent": null}"#).unwrap();
        assert_eq!((r.id.as_str(), r.parent), ("x9", None));
        let r: Row = serde_json::from_str(r#"{"id": 1.5}"#).unwrap();
        assert_eq!(r.id, "1.5");
        assert!(serde_json::from_str::<Row>(r#"{"id": true}"#).is_err());
    }
}
