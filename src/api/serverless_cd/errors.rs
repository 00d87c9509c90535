//! Serverless-cd failures as `ApiError`s (`api/serverless-cd.md` §3, §11 R4–R8): three
//! envelope generations (no code / numeric / string code), handled errors as HTTP 200, 422 or
//! 500 depending on the era, auth failures as an HTML error page, a redirect to `/login` or a
//! code-less JSON body, and the web UI's index page where a route is unknown. Messages are
//! classified first (the codes lie: Jan 2023 sends `code: 500` for validation and not-found),
//! then by code, then by HTTP status. No HTML, stack trace or server path ever reaches a message.

use crate::api::ApiError;
use crate::api::http::Reply;
use serde_json::Value;

/// What every auth failure tells the operator (§2).
pub const AUTH_ADVICE: &str = "token unknown / expired — create a new one under settings → Tokens. \
If the token is set and valid, a reverse proxy may be dropping the `cd_token` header \
(nginx drops header names containing `_` unless `underscores_in_headers on`)";

/// A 200 web page where JSON was expected (§11 R8).
pub const WEB_PAGE: &str = "not a Serverless-cd open API at this address (got a web page): \
check the profile's url and route_prefix (servers from Feb 2023 on serve their API under /api)";

/// The application-level refusal (code 401 too in Jan 2023, but not a token problem).
const NO_PERMISSION: &str = "无权操作此应用";

/// The auth phrases of every era (§2, §3, §11 R4/R5).
const AUTH_PHRASES: [&str; 6] = [
    "token 不存在",
    "token 已过期",
    "need login",
    "NeedLogin",
    "未登录",
    "请登录",
];

/// What a message says, whatever code came with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Auth,
    NoPermission,
    NotFound,
    Invalid,
}

/// The auth phrase in `text` (case-insensitive for the Latin ones), if any.
pub(crate) fn auth_phrase(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    AUTH_PHRASES
        .iter()
        .find(|p| lower.contains(&p.to_lowercase()))
        .copied()
}

/// The class of a known message (§3 table plus §11 R6/R7).
fn said(msg: &str) -> Option<Said> {
    let lower = msg.to_lowercase();
    if auth_phrase(msg).is_some() {
        return Some(Said::Auth);
    }
    if msg.contains(NO_PERMISSION) {
        return Some(Said::NoPermission);
    }
    let invalid = msg.trim_end().ends_with("必填")
        || lower.contains(" is empty")
        || lower.contains("provider access token not found")
        || msg.contains("任务运行已经被停止")
        || msg.contains("代码仓库已绑定");
    if invalid {
        return Some(Said::Invalid);
    }
    let missing = msg.contains("没有查到")
        || msg.contains("暂无应用信息")
        || msg.contains("不存在")
        || msg.contains("日志已过期")
        || lower.contains("no longer available")
        || lower.contains("specified key does not exist")
        || lower.contains("nosuchkey")
        || lower.contains("not found");
    missing.then_some(Said::NotFound)
}

/// A failed answer as an `ApiError`: by message first, then by numeric or string `code`, then
/// by HTTP status; the server's `message` verbatim (§3, §11 R7).
pub fn classify(http_status: u16, code: Option<&Value>, message: Option<&str>) -> ApiError {
    let msg = message.unwrap_or("").trim();
    let shown = if msg.is_empty() {
        "(no message)".to_string()
    } else {
        msg.to_string()
    };
    // A numeric code may come as a string too (`"500"`).
    let numeric = code
        .and_then(crate::api::tolerant::number)
        .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
        .map(|f| f as i64);
    // A 4xx that came with the answer (HTTP first, then a numeric code), else 400.
    let input_status = || {
        let code = numeric.and_then(|c| u64::try_from(c).ok()).unwrap_or(0);
        [u64::from(http_status), code]
            .into_iter()
            .find(|c| (400..500).contains(c))
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(400)
    };
    let by_code = match code {
        _ if numeric.is_some() => match numeric {
            Some(401 | 403) => Some(Said::Auth),
            Some(400 | 404) => Some(Said::NotFound),
            Some(429) => return ApiError::RateLimited,
            Some(402..=499) => Some(Said::Invalid),
            _ => None,
        },
        Some(Value::String(s)) => match s.as_str() {
            "NeedLogin" | "NoPermission" | "Forbidden" => Some(Said::Auth),
            "NotFound" => Some(Said::NotFound),
            "Invalid" | "ParamsInvalid" => Some(Said::Invalid),
            _ => None,
        },
        _ => None,
    };
    let by_status = match http_status {
        401 | 403 => Some(Said::Auth),
        404 => Some(Said::NotFound),
        429 => return ApiError::RateLimited,
        400..=499 => Some(Said::Invalid),
        _ => None,
    };
    match said(msg).or(by_code).or(by_status) {
        Some(Said::NoPermission) => ApiError::Forbidden(shown),
        Some(Said::Auth) => ApiError::Auth(format!("{shown} — {AUTH_ADVICE}")),
        Some(Said::NotFound) => ApiError::NotFound(shown),
        Some(Said::Invalid) => ApiError::Rejected {
            status: input_status(),
            message: shown,
        },
        None => ApiError::Server {
            status: numeric
                .filter(|c| (500..600).contains(c))
                .and_then(|c| u16::try_from(c).ok())
                .or(Some(http_status).filter(|s| *s >= 500))
                .unwrap_or(500),
            message: shown,
        },
    }
}

/// Whether the body is a web page rather than JSON.
pub(crate) fn is_web_page(reply: &Reply) -> bool {
    let text = String::from_utf8_lossy(reply.body.get(..512).unwrap_or(&reply.body));
    reply.content_type.contains("html") || text.trim_start().starts_with('<')
}

/// A 3xx answer: the era-Nov server sends a request without a usable token to `/login`.
pub fn redirected(reply: &Reply) -> ApiError {
    let text = String::from_utf8_lossy(&reply.body);
    if text.contains("login") {
        ApiError::Auth(format!(
            "the server redirects to its login page (HTTP {}): it saw no valid `cd_token` — {AUTH_ADVICE}",
            reply.status
        ))
    } else {
        ApiError::Unsupported(format!(
            "the server redirected the request (HTTP {}); check the profile's url",
            reply.status
        ))
    }
}

/// A non-2xx answer that is not a JSON envelope (an HTML error page, a gateway page).
pub(crate) fn page_error(reply: &Reply) -> ApiError {
    let body = String::from_utf8_lossy(&reply.body);
    // Nov 2022: an unknown or expired token is an Express error page (§11 R4).
    if let Some(phrase) = auth_phrase(&body) {
        return ApiError::Auth(format!("{phrase} — {AUTH_ADVICE}"));
    }
    let text = page_text(reply);
    match reply.status {
        401 | 403 => ApiError::Auth(format!("HTTP {}: {text} — {AUTH_ADVICE}", reply.status)),
        404 => ApiError::NotFound(format!("HTTP 404: {text}")),
        s @ 400..=499 => ApiError::Rejected {
            status: s,
            message: text,
        },
        s => ApiError::Server {
            status: s,
            message: format!("HTTP {s}: {text}"),
        },
    }
}

/// `Cannot GET /path` from Express's 404 page, if that is what this is.
pub(crate) fn express_cannot(reply: &Reply) -> Option<String> {
    let text = String::from_utf8_lossy(&reply.body);
    let start = text.find("Cannot ")?;
    let rest = text.get(start..)?;
    let end = rest.find(['<', '\n']).unwrap_or(rest.len());
    Some(rest.get(..end)?.trim().to_string())
}

/// One line for people from an HTML page: the first line of its `<pre>` (an Express error
/// page's message, never its stack trace) or its `<title>`, else the body's first bytes.
fn page_text(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body);
    let inner = |open: &str, close: &str| {
        let a = text.find(open)? + open.len();
        let rest = text.get(a..)?;
        let b = rest.find(close)?;
        rest.get(..b).map(str::to_string)
    };
    let Some(found) = inner("<pre>", "</pre>").or_else(|| inner("<title>", "</title>")) else {
        return reply.snippet();
    };
    let first = found
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    let first = strip_tags(&first)
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    // `Error: boom` → `boom` (the JavaScript class name says nothing to people).
    let first = first.trim();
    let first: String = first
        .strip_prefix("Error: ")
        .unwrap_or(first)
        .chars()
        .take(200)
        .collect();
    if first.is_empty() {
        reply.snippet()
    } else {
        first
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn html(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8".into(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn codes_and_messages_classify() {
        assert!(matches!(
            classify(200, Some(&json!(401)), Some("token 不存在")),
            ApiError::Auth(m) if m.starts_with("token 不存在 — ") && m.contains("settings → Tokens")
        ));
        assert!(matches!(
            classify(200, None, Some("token 已过期")),
            ApiError::Auth(_)
        ));
        assert!(matches!(
            classify(200, Some(&json!("NeedLogin")), Some("please log in")),
            ApiError::Auth(m) if m.contains("underscores_in_headers")
        ));
        assert_eq!(
            classify(200, Some(&json!(401)), Some("无权操作此应用")),
            ApiError::Forbidden("无权操作此应用".into())
        );
        assert_eq!(
            classify(200, Some(&json!(400)), Some("没有查到部署信息")),
            ApiError::NotFound("没有查到部署信息".into())
        );
        assert_eq!(
            classify(200, Some(&json!("NotFound")), Some("x")),
            ApiError::NotFound("x".into())
        );
        assert_eq!(
            classify(200, Some(&json!(424)), Some("任务运行已经被停止")),
            ApiError::Rejected {
                status: 424,
                message: "任务运行已经被停止".into()
            }
        );
        assert_eq!(
            classify(200, Some(&json!("ParamsInvalid")), Some("ref 必填")),
            ApiError::Rejected {
                status: 400,
                message: "ref 必填".into()
            }
        );
        assert_eq!(
            classify(200, Some(&json!("SystemError")), Some("boom")),
            ApiError::Server {
                status: 500,
                message: "boom".into()
            }
        );
        // §11 R6: Nov validation is HTTP 422 without a code (was: a server error).
        assert_eq!(
            classify(422, None, Some("AppId is empty")),
            ApiError::Rejected {
                status: 422,
                message: "AppId is empty".into()
            }
        );
        assert!(matches!(
            classify(200, Some(&json!("401")), Some("nope")),
            ApiError::Auth(_)
        ));
        assert_eq!(
            classify(200, None, Some("AppId is empty")),
            ApiError::Rejected {
                status: 400,
                message: "AppId is empty".into()
            }
        );
    }

    #[test]
    fn jan_code_500_is_classified_by_its_message() {
        let c = Some(json!(500));
        for (msg, want) in [
            ("ref 必填", "rejected"),
            ("envName is empty", "rejected"),
            ("没有查到应用信息", "not found"),
            ("暂无应用信息", "not found"),
            ("The specified key does not exist.", "not found"),
            (
                "The logs for this run have expired and are no longer available.",
                "not found",
            ),
            ("无权操作此应用", "forbidden"),
            ("token 已过期", "auth"),
            ("Tablestore busy", "server"),
        ] {
            let got = match classify(200, c.as_ref(), Some(msg)) {
                ApiError::Rejected { status: 400, .. } => "rejected",
                ApiError::NotFound(m) if m == msg => "not found",
                ApiError::Forbidden(_) => "forbidden",
                ApiError::Auth(_) => "auth",
                ApiError::Server { status: 500, .. } => "server",
                e => panic!("{msg}: {e:?}"),
            };
            assert_eq!(got, want, "{msg}");
        }
    }

    #[test]
    fn html_pages_never_reach_the_message() {
        let page = "<!DOCTYPE html>\n<html><head><title>Error</title></head><body><pre>Error: token 不存在<br> &nbsp; &nbsp;at tokenAuth (/code/src/middleware/token-auth.js:23:11)</pre></body></html>";
        let e = page_error(&html(500, page));
        let ApiError::Auth(m) = &e else {
            panic!("{e:?}")
        };
        assert!(m.starts_with("token 不存在 — "), "{m}");
        assert!(!m.contains('<') && !m.contains("/code/"), "{m}");
        let page = "<html><body><pre>TypeError: x is undefined<br> &nbsp;at f (/srv/app/x.js:1:2)</pre></body></html>";
        assert_eq!(
            page_error(&html(500, page)),
            ApiError::Server {
                status: 500,
                message: "HTTP 500: TypeError: x is undefined".into()
            }
        );
        assert!(is_web_page(&html(
            200,
            "<!doctype html><div id=root></div>"
        )));
        assert!(matches!(
            redirected(&Reply {
                status: 302,
                content_type: "text/plain".into(),
                body: b"Found. Redirecting to /login".to_vec()
            }),
            ApiError::Auth(m) if m.contains("login page") && m.contains("settings → Tokens")
        ));
    }
}
