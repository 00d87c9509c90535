//! CORS as the backend configures it (§11 F2): any origin; a preflight `OPTIONS` is answered
//! before the token check, and every response to a request carrying `Origin` carries
//! `Access-Control-Allow-Origin: *`, so a browser client on another origin can log in.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

pub(crate) const ALLOW_METHODS: &str = "HEAD,GET,POST,PUT,DELETE,PATCH";
pub(crate) const ALLOW_HEADERS: &str = "Authorization, Cache-Control, Content-Type";
const MAX_AGE_SECS: &str = "1800";
const VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// Axum middleware for both Free Commit mounts.
pub(crate) async fn cors(req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        return preflight(&req);
    }
    let from_origin = req.headers().contains_key(header::ORIGIN);
    let mut resp = next.run(req).await;
    if from_origin {
        allow_origin(&mut resp);
    }
    resp
}

fn allow_origin(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::VARY, HeaderValue::from_static(VARY));
}

/// 200 with the allowed methods and headers; a method outside the list is refused like
/// Spring's `DefaultCorsProcessor` does (403 `Invalid CORS request`).
fn preflight(req: &Request) -> Response {
    let asked = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if let Some(m) = asked
        && !ALLOW_METHODS.split(',').any(|a| a.eq_ignore_ascii_case(m))
    {
        let mut r = Response::new(Body::from("Invalid CORS request"));
        *r.status_mut() = StatusCode::FORBIDDEN;
        r.headers_mut()
            .insert(header::VARY, HeaderValue::from_static(VARY));
        return r;
    }
    let mut r = Response::new(Body::empty());
    allow_origin(&mut r);
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECS),
    );
    r
}
