//! The one mapping of a failed HTTP answer to an `ApiError`, and the one "worth another try"
//! decision. Each backend plugs in only what is its own: how its bodies carry a message, and
//! the odd status it reads differently (Aviator's 403 names the project, Serverless-cd's auth
//! pages carry advice).

use super::ApiError;
use super::http::Reply;

/// A failed answer by its HTTP status, with `message` (the server's words, as the backend
/// reads its bodies): 401 `Auth`, 403 `Forbidden`, 404 `NotFound`, 429 `RateLimited`, any other
/// 4xx (409 included) `Rejected`, anything else `Server`.
/// The message is sanitised and redacted here (`crate::safe::text`), where server words enter.
pub(crate) fn by_status(status: u16, message: String) -> ApiError {
    let message = cap_message(&crate::safe::text(&message)).into_owned();
    match status {
        401 => ApiError::Auth(message),
        403 => ApiError::Forbidden(message),
        404 => ApiError::NotFound(message),
        429 => ApiError::RateLimited,
        s @ 400..=499 => ApiError::Rejected { status: s, message },
        s => ApiError::Server { status: s, message },
    }
}

/// [`by_status`] for a reply, its message read by the backend's `words`.
pub(crate) fn map_reply(reply: &Reply, words: impl FnOnce(&Reply) -> String) -> ApiError {
    by_status(reply.status, words(reply))
}

/// How much of a message from a server is shown (screen, stderr); the rest goes to the log.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// `text` cut to [`MAX_MESSAGE_BYTES`] (on a character boundary) with "… (N more bytes in the
/// log file)"; the whole text is written to the tracing log once, when it is cut.
pub fn cap_message(text: &str) -> std::borrow::Cow<'_, str> {
    // Slack for words added around a message cut once already (its kind, the note itself),
    // so that cutting again is a no-op.
    if text.len() <= MAX_MESSAGE_BYTES + 256 {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut cut = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let (head, rest) = text.split_at(cut);
    tracing::warn!(bytes = text.len(), full = %text, "long message cut for display");
    std::borrow::Cow::Owned(format!(
        "{head}… ({} more bytes in the log file)",
        rest.len()
    ))
}

/// HTTP statuses a read is sent again after (with backoff; `Retry-After` on 429).
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Whether a failure is worth another poll or try (log tails, list refreshes): the
/// connection (`ApiError::is_connectivity`), any server error, or a cut or garbled body.
/// Never a refusal: auth, access, not found, rejected, config.
pub(crate) fn is_transient(e: &ApiError) -> bool {
    e.is_connectivity() || matches!(e, ApiError::Server { .. } | ApiError::Decode(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::http::test_reply;

    #[test]
    fn statuses_map_to_kinds() {
        let m = || "m".to_string();
        assert_eq!(by_status(401, m()), ApiError::Auth(m()));
        assert_eq!(by_status(403, m()), ApiError::Forbidden(m()));
        assert_eq!(by_status(404, m()), ApiError::NotFound(m()));
        assert_eq!(by_status(429, m()), ApiError::RateLimited);
        assert_eq!(
            by_status(409, m()),
            ApiError::Rejected {
                status: 409,
                message: m()
            }
        );
        assert_eq!(
            by_status(503, m()),
            ApiError::Server {
                status: 503,
                message: m()
            }
        );
        let r = test_reply(422, "text/plain", "bad input");
        assert_eq!(
            map_reply(&r, |r| r.snippet()),
            ApiError::Rejected {
                status: 422,
                message: "bad input".into()
            }
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        assert_eq!(cap_message("short"), "short");
        let long = "é".repeat(5_000); // 10,000 bytes
        let cut = cap_message(&long);
        assert!(cut.len() < MAX_MESSAGE_BYTES + 64, "{}", cut.len());
        assert!(
            cut.ends_with("… (7952 more bytes in the log file)"),
            "{cut}"
        );
        let again = format!("server error (500): {cut}");
        assert_eq!(
            cap_message(&again),
            again.as_str(),
            "cutting twice is a no-op"
        );
        match by_status(500, long) {
            ApiError::Server { message, .. } => assert!(message.len() < 2200),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn only_faults_are_transient() {
        for e in [
            ApiError::Network("x".into()),
            ApiError::Timeout(5),
            ApiError::RateLimited,
            ApiError::Server {
                status: 500,
                message: "x".into(),
            },
            ApiError::Decode("x".into()),
        ] {
            assert!(is_transient(&e), "{e:?}");
        }
        for e in [
            ApiError::Auth("x".into()),
            ApiError::Forbidden("x".into()),
            ApiError::NotFound("x".into()),
            ApiError::Rejected {
                status: 400,
                message: "x".into(),
            },
            ApiError::Unsupported("x".into()),
            ApiError::Config("x".into()),
        ] {
            assert!(!is_transient(&e), "{e:?}");
        }
        assert!(retryable_status(503) && retryable_status(429));
        assert!(!retryable_status(500) && !retryable_status(404));
    }
}
