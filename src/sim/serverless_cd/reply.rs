//! How the simulated server answers, per era (`serverless-cd.md` §11): success envelopes,
//! handled errors (Nov 2022: HTTP 422 / 500 / 200 without a code; Jan 2023: HTTP 200 with
//! `code: 500`), auth failures (Nov: HTML 500 error page or a 302 to `/login`; Jan: a hang, a
//! code-less JSON or `code: 401`), the web UI's index page for unknown routes, and requests
//! left unanswered.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Era, PREFIX};
use crate::sim::reply::{self, JSON_UTF8};

/// What a handler decided.
pub(crate) enum Answer {
    Now(Response),
    /// The real server never answers this request (§11 R5, R17).
    Hold,
}

/// A handled failure, rendered by era.
pub(crate) enum Fail {
    /// A thrown validation error (`AppId is empty`): Nov HTTP 422, Jan code 500 (§11 R6/R7).
    Invalid(String),
    /// A handler's early `res.json({success: false})`: Nov HTTP 200 without a code, Jan code 500.
    Early(String),
    /// Any other thrown error: Nov HTTP 500 JSON, Jan code 500.
    Thrown(String),
    /// No `cd_token` header.
    NoToken,
    UnknownToken,
    ExpiredToken,
    /// The request is never answered.
    Hold,
}

pub const NEED_LOGIN: &str = "need login";
pub const TOKEN_UNKNOWN: &str = "token 不存在";
pub const TOKEN_EXPIRED: &str = "token 已过期";

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    reply::json(status, JSON_UTF8, v)
}

pub(crate) fn html(status: StatusCode, body: &str) -> Response {
    reply::body(status, "text/html; charset=utf-8", body.to_string())
}

/// `{"success": true, "data": …}`; Jan 2023 adds `"code": 200` (§3, §11 R15).
pub(crate) fn ok(era: Era, data: Value) -> Response {
    let mut v = json!({"success": true, "data": data});
    if era == Era::Jan {
        v["code"] = json!(200);
    }
    json_response(StatusCode::OK, &v)
}

/// A handled error as the era sends it.
pub(crate) fn error_envelope(era: Era, status: StatusCode, message: &str) -> Response {
    match era {
        Era::Nov => json_response(status, &json!({"success": false, "message": message})),
        Era::Jan => json_response(
            StatusCode::OK,
            &json!({"code": 500, "success": false, "message": message}),
        ),
    }
}

/// Express's default error page; in development mode (as measured) it carries the stack.
pub(crate) fn express_error_page(message: &str) -> String {
    reply::express_error_page(&format!(
        "Error: {message}<br> &nbsp; &nbsp;at tokenAuth (/code/src/console/admin/middleware/token-auth.js:21:13)<br> &nbsp; &nbsp;at processTicksAndRejections (node:internal/process/task_queues:96:5)"
    ))
}

/// The web UI's index page: what any unknown route answers (§11 R8).
pub(crate) fn index_page() -> Response {
    html(
        StatusCode::OK,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\" />\n<title>Serverless CD</title>\n<link rel=\"stylesheet\" href=\"/umi.css\" />\n</head>\n<body>\n<div id=\"root\"></div>\n<script src=\"/umi.js\"></script>\n</body>\n</html>\n",
    )
}

/// Express's `res.redirect('/login')`.
fn to_login() -> Response {
    let location = format!("{PREFIX}/login");
    let mut r = reply::body(
        StatusCode::FOUND,
        "text/plain; charset=utf-8",
        format!("Found. Redirecting to {location}"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

impl Fail {
    pub fn render(self, era: Era) -> Answer {
        let r = match (self, era) {
            (Fail::Hold, _) | (Fail::UnknownToken, Era::Jan) => return Answer::Hold,
            (Fail::Invalid(m), Era::Nov) => {
                error_envelope(era, StatusCode::UNPROCESSABLE_ENTITY, &m)
            }
            (Fail::Early(m), Era::Nov) => error_envelope(era, StatusCode::OK, &m),
            (Fail::Thrown(m), Era::Nov) => {
                error_envelope(era, StatusCode::INTERNAL_SERVER_ERROR, &m)
            }
            (Fail::Invalid(m) | Fail::Early(m) | Fail::Thrown(m), Era::Jan) => {
                error_envelope(era, StatusCode::OK, &m)
            }
            (Fail::NoToken, Era::Nov) => to_login(),
            (Fail::NoToken, Era::Jan) => {
                json_response(StatusCode::OK, &json!({"code": 401, "message": NEED_LOGIN}))
            }
            (Fail::UnknownToken, Era::Nov) => html(
                StatusCode::INTERNAL_SERVER_ERROR,
                &express_error_page(TOKEN_UNKNOWN),
            ),
            (Fail::ExpiredToken, Era::Nov) => html(
                StatusCode::INTERNAL_SERVER_ERROR,
                &express_error_page(TOKEN_EXPIRED),
            ),
            (Fail::ExpiredToken, Era::Jan) => json_response(
                StatusCode::OK,
                &json!({"success": false, "message": TOKEN_EXPIRED}),
            ),
        };
        Answer::Now(r)
    }
}
