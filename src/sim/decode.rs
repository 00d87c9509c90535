//! Reading a request the way the simulated servers do: `%XX` decoding of a path segment,
//! query strings, the body, the content type and the `Authorization: Bearer` token.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

/// `%XX` decoding of one path segment or query value; an invalid escape is kept as it is and
/// the bytes are read as UTF-8, lossily.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let escaped = (c == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .filter(|hex| hex.bytes().all(|h| h.is_ascii_hexdigit()))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `application/x-www-form-urlencoded` pairs of a query string (`+` is a space).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the `Content-Type` contains `needle` (ASCII case-insensitive; `needle` lower case).
pub(crate) fn content_type_has(headers: &HeaderMap, needle: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
}

/// The whole request body, at most `limit` bytes (a larger or broken one reads as empty).
pub(crate) async fn body_bytes(body: Body, limit: usize) -> Bytes {
    axum::body::to_bytes(body, limit).await.unwrap_or_default()
}

/// The token of an `Authorization: Bearer <token>` header, the scheme in any case.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    bearer_of(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of an `Authorization` value `Bearer <token>`, the scheme in any case.
pub(crate) fn bearer_of(value: &str) -> Option<&str> {
    let (scheme, tok) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("data%20pipeline"), "data pipeline");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%"), "A%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%+1"), "%+1");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
        assert_eq!(percent_decode("é%"), "é%");
    }

    #[test]
    fn query_pairs_decode_plus_and_escapes() {
        assert_eq!(
            query_pairs(Some("a=1+2&b=%41&c")),
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "A".into()),
                ("c".into(), String::new())
            ]
        );
        assert!(query_pairs(None).is_empty());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_of(" bearer  abc "), Some("abc"));
        assert_eq!(bearer_of("Bearer abc"), Some("abc"));
        assert_eq!(bearer_of("Basic abc"), None);
        assert_eq!(bearer_of("Bearer"), None);
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "BEARER t1".parse().unwrap());
        assert_eq!(bearer(&h), Some("t1"));
    }

    #[test]
    fn content_type_match_ignores_case() {
        let mut h = HeaderMap::new();
        assert!(!content_type_has(&h, "json"));
        h.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(content_type_has(&h, "application/json"));
        assert!(!content_type_has(&h, "text/"));
    }
}
