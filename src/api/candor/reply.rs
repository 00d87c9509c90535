//! Candor's error replies as messages for people (`api/candor.md` §3, §11 R11): no JSON
//! errors, only status phrases, sentinel texts and Express HTML pages, some of them with a
//! stack trace or a server file path (the runner's missing-log page names its log file). The
//! words shown are the first line of the page, with every server path left out.

use crate::api::ApiError;
use crate::api::http::Reply;

/// Longest server text repeated in a message (characters).
const MAX_WORDS: usize = 160;

/// The server's words, safe to show: the first line of an Express page's `<pre>` (a stack
/// trace's frames dropped), else the first line of the text body; never HTML, never a server
/// file path.
pub(super) fn server_words(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(8192)]);
    let inner = match text.find("<pre>") {
        Some(start) => {
            let rest = &text[start + "<pre>".len()..];
            rest.find("</pre>").map_or(rest, |end| &rest[..end])
        }
        None if looks_like_html(reply, &text) => "",
        None => &text,
    };
    let first = inner.split(['\n', '\r']).next().unwrap_or("");
    let first = first.split("<br").next().unwrap_or("");
    let first = decode_entities(first);
    let route_miss = is_route_miss_words(&first);
    let words: Vec<String> = first
        .split_whitespace()
        .map(|w| {
            if !route_miss && is_file_path(w) {
                "(a server path)".to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    let mut out = words.join(" ");
    if out.chars().count() > MAX_WORDS {
        out = out.chars().take(MAX_WORDS).collect::<String>() + "…";
    }
    if out.is_empty() {
        "(no text)".to_string()
    } else {
        out
    }
}

fn looks_like_html(reply: &Reply, text: &str) -> bool {
    let t = text.trim_start();
    (reply.content_type.contains("html") && t.starts_with('<'))
        || t.starts_with("<!DOCTYPE")
        || t.starts_with("<html")
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// `Cannot GET /path`: Express's page for a route nobody registered (the path is ours).
fn is_route_miss_words(words: &str) -> bool {
    words
        .strip_prefix("Cannot ")
        .and_then(|rest| rest.split_once(' '))
        .is_some_and(|(method, path)| {
            method.bytes().all(|b| b.is_ascii_uppercase()) && path.starts_with('/')
        })
}

/// A word that names a file on the server: `/srv/app/x.log`, `'C:\\app'`, `file:///…`.
fn is_file_path(word: &str) -> bool {
    let w = word.trim_matches(|c: char| "'\"`()[]{}<>,;:".contains(c));
    w.starts_with("file:")
        || w.contains('\\')
        || w.starts_with("~/")
        || (w.starts_with('/') && w.len() > 1)
        || (w.contains('/') && w.starts_with('.'))
}

/// A success reply's JSON body; anything else (an HTML page from a proxy, a cut body) is a
/// `Decode` error in the server's safe words, never the page itself.
pub(super) fn json(reply: &Reply) -> Result<serde_json::Value, ApiError> {
    crate::api::http::json_lossy(&reply.body).map_err(|e| {
        ApiError::Decode(format!(
            "HTTP {} body is not the expected JSON ({e}); it says: {}",
            reply.status,
            server_words(reply)
        ))
    })
}

/// A success reply's JSON ([`json`]); any other answer as [`map_error`].
pub(super) fn ok_json(reply: &Reply) -> Result<serde_json::Value, ApiError> {
    if !reply.is_success() {
        return Err(map_error(reply));
    }
    json(reply)
}

/// Whether a 404 is Express's "no such route" page (`Cannot GET /path`).
pub(super) fn is_route_miss(reply: &Reply) -> bool {
    reply.status == 404 && is_route_miss_words(&server_words(reply))
}

/// Any non-success reply as an `ApiError` with the server's words.
pub(super) fn map_error(reply: &Reply) -> ApiError {
    crate::api::errors::map_reply(reply, |r| format!("HTTP {}: {}", r.status, server_words(r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::api::http::test_reply as reply;

    #[test]
    fn express_pages_give_their_words() {
        let r = reply(
            404,
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><body>\n<pre>Cannot GET /api/x</pre>\n</body></html>",
        );
        assert!(is_route_miss(&r));
        assert_eq!(
            map_error(&r),
            ApiError::NotFound("HTTP 404: Cannot GET /api/x".into())
        );
        let r = reply(403, "text/plain", "Forbidden");
        assert!(!is_route_miss(&r));
        assert_eq!(
            map_error(&r),
            ApiError::Forbidden("HTTP 403: Forbidden".into())
        );
        // The §3 sentinels come as text/html but are plain sentences.
        let r = reply(404, "text/html; charset=utf-8", "No log could be found");
        assert_eq!(server_words(&r), "No log could be found");
    }

    #[test]
    fn stack_traces_html_and_server_paths_are_never_repeated() {
        let page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
            <title>Error</title>\n</head>\n<body>\n<pre>Error: ENOENT: no such file or \
            directory, stat &#39;/srv/candor/runner/logs/ffffffffffff&#39;</pre>\n</body>\n</html>\n";
        let w = server_words(&reply(404, "text/html; charset=utf-8", page));
        assert_eq!(
            w,
            "Error: ENOENT: no such file or directory, stat (a server path)"
        );
        let page = "<pre>SyntaxError: Unexpected token } in JSON at position 9<br> &nbsp; \
            &nbsp;at JSON.parse (&lt;anonymous&gt;)<br> &nbsp; &nbsp;at parse \
            (/app/node_modules/body-parser/lib/types/json.js:89:19)</pre>";
        let w = server_words(&reply(400, "text/html", page));
        assert_eq!(w, "SyntaxError: Unexpected token } in JSON at position 9");
        // An HTML page without <pre>: no markup comes through.
        let w = server_words(&reply(
            502,
            "text/html",
            "<html><body><h1>Bad Gateway</h1></body></html>",
        ));
        assert!(!w.contains('<'), "{w}");
        let w = server_words(&reply(
            500,
            "text/plain",
            "failed at C:\\candor\\x.js line 3",
        ));
        assert!(!w.contains("candor"), "{w}");
        let e = json(&reply(
            200,
            "text/html",
            "<html><body><pre>proxy login at /etc/portal</pre></body></html>",
        ))
        .unwrap_err();
        assert!(
            matches!(&e, ApiError::Decode(m) if !m.contains('<') && !m.contains("/etc")),
            "{e:?}"
        );
        let long = "x".repeat(500);
        assert!(
            server_words(&reply(500, "text/plain", &long))
                .chars()
                .count()
                <= MAX_WORDS + 1
        );
    }
}
