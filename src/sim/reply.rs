//! Building the simulated servers' answers: a body with its content type, JSON, an empty
//! answer, a dropped connection, `Retry-After`, and the two error pages several servers share
//! (nginx's gateway page, Express's default error page). Each backend keeps its own shapes
//! (which content type, which JSON) and calls these.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// `Content-Type` of a JSON answer without a charset (Spring, nginx-fronted APIs).
pub const JSON: &str = "application/json";
/// `Content-Type` of a JSON answer from Express (`res.json`).
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// `body` with `status` and `content_type`.
pub fn body(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

/// `v` serialised, with `status` and `content_type` (one of [`JSON`], [`JSON_UTF8`]).
pub fn json(status: StatusCode, content_type: &'static str, v: &Value) -> Response {
    body(status, content_type, v.to_string())
}

/// An answer without a body; `Content-Length: 0` except on a 204.
pub fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    if status != StatusCode::NO_CONTENT {
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    r
}

/// A body that fails before its first byte: hyper drops the connection without writing the
/// response head, which the client sees as a reset.
pub fn dropped() -> Response {
    Response::new(Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    })))
}

/// `r` with `Retry-After: <secs>`.
pub(crate) fn with_retry_after(mut r: Response, secs: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// nginx's error page for `title` (`502 Bad Gateway`), with an optional footer line.
pub(crate) fn gateway_page(title: &str, footer: Option<&str>) -> String {
    let footer = footer
        .map(|f| format!("<hr><center>{f}</center>\r\n"))
        .unwrap_or_default();
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n{footer}</body>\r\n</html>\r\n"
    )
}

/// Express's default error page with `pre` (already HTML) in its `<pre>`.
pub(crate) fn express_error_page(pre: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>{pre}</pre>\n</body>\n</html>\n"
    )
}

/// `parts` with a new body, `Content-Length` following it.
pub(crate) fn with_body(mut parts: axum::http::response::Parts, body: Bytes) -> Response {
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from_str(&body.len().to_string()).unwrap_or(HeaderValue::from_static("0")),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_page_with_and_without_footer() {
        assert_eq!(
            gateway_page("502 Bad Gateway", None),
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
        );
        assert_eq!(
            gateway_page("502 Bad Gateway", Some("Function Compute gateway")),
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Function Compute gateway</center>\r\n</body>\r\n</html>\r\n"
        );
    }

    #[test]
    fn empty_has_a_zero_length_except_on_204() {
        let r = empty(StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers().get(header::CONTENT_LENGTH).unwrap(), "0");
        assert!(
            empty(StatusCode::NO_CONTENT)
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none()
        );
        let r = with_retry_after(empty(StatusCode::TOO_MANY_REQUESTS), 7);
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "7");
    }
}
