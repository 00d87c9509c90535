//! Every id that goes into a Candor URL passes through here (`api/candor.md` §11 R1, R2, R7):
//! a pipeline id must be an integer (the dashboard answers `/api/pipelines/` with the list and
//! crashes on a non-numeric id), a run id plain letters and digits (or `last`), and an archive
//! file name is percent-encoded twice (the dashboard decodes the `file` value twice). A bad id
//! is a clear error before anything is sent.

use crate::api::ApiError;

pub(crate) use crate::api::http::seg;

/// The largest pipeline id: the dashboard's database column is a 32-bit integer, and a value
/// beyond it fails there like a non-numeric one.
const MAX_PIPELINE_ID: u64 = i32::MAX as u64;

/// Whether `s` is a pipeline id as the server writes them: an integer the dashboard can store.
pub(crate) fn is_pipeline_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u64>().is_ok_and(|n| n <= MAX_PIPELINE_ID)
}

/// The path segment of pipeline `pid`, or why there is none (nothing is sent).
pub fn pipeline(pid: &str) -> Result<String, ApiError> {
    if !is_pipeline_id(pid) {
        return Err(not_a_pipeline_id(pid));
    }
    // Canonical decimal: `007` is pipeline 7.
    pid.parse::<u64>()
        .map(|n| n.to_string())
        .map_err(|_| not_a_pipeline_id(pid))
}

pub(crate) fn not_a_pipeline_id(pid: &str) -> ApiError {
    if pid.trim().is_empty() {
        ApiError::NotFound(
            "no pipeline given: a Candor pipeline is addressed by its number; nothing was sent"
                .into(),
        )
    } else {
        ApiError::NotFound(format!(
            "`{}` is not a Candor pipeline number (and no visible pipeline has that name); \
             nothing was sent",
            shown(pid)
        ))
    }
}

/// Whether `s` can be a run id: 1 to 64 ASCII letters, digits, `-` or `_` (dashboard ids are
/// 8 hex characters, runner ids 12; `last` names the newest run).
pub(crate) fn is_run_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The path segment of run `rid`, or why there is none (nothing is sent).
pub fn run(rid: &str) -> Result<String, ApiError> {
    if is_run_id(rid) {
        Ok(rid.to_string())
    } else if rid.trim().is_empty() {
        Err(ApiError::NotFound(
            "no run id given; nothing was sent".into(),
        ))
    } else {
        Err(ApiError::NotFound(format!(
            "`{}` is not a Candor run id (letters and digits, e.g. 9f3a61c2); nothing was sent",
            shown(rid)
        )))
    }
}

/// `/api/runs/<pid>/<rid>/<what>`, both ids checked.
pub(crate) fn run_route(pid: &str, rid: &str, what: &str) -> Result<String, ApiError> {
    Ok(format!("/api/runs/{}/{}/{what}", pipeline(pid)?, run(rid)?))
}

/// The `file` query value of the archive route: the name percent-encoded twice, so that the
/// dashboard's two decodings give the name back for every name (a lone `%` decoded twice would
/// crash it; `50%25off` would become `50%off`).
pub(crate) fn archive_file(name: &str) -> String {
    seg(&seg(name))
}

/// A user-given id as it may appear in a message: at most 40 characters, no control ones.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_integers_and_plain_run_ids_reach_a_path() {
        assert_eq!(pipeline("2").unwrap(), "2");
        assert_eq!(pipeline("007").unwrap(), "7");
        for bad in [
            "",
            " ",
            "abc",
            "2 ",
            "-1",
            "1.0",
            "1/2",
            "٣",
            "2147483648",
            "99999999999999999999",
        ] {
            assert!(pipeline(bad).is_err(), "{bad:?}");
        }
        assert_eq!(run("9f3a61c2").unwrap(), "9f3a61c2");
        assert_eq!(run("last").unwrap(), "last");
        for bad in ["", "../etc", "a b", "a/b", "é", "%2F", &"a".repeat(65)] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
        assert_eq!(run_route("3", "abc", "log").unwrap(), "/api/runs/3/abc/log");
        let e = run_route("web", "abc", "log").unwrap_err();
        assert!(e.to_string().contains("nothing was sent"), "{e}");
    }

    #[test]
    fn archive_names_are_encoded_twice() {
        assert_eq!(archive_file("dist.tar.gz"), "dist.tar.gz");
        assert_eq!(archive_file("50%off"), "50%2525off");
        assert_eq!(archive_file("a b+c"), "a%2520b%252Bc");
        assert_eq!(archive_file("ü"), "%25C3%25BC");
    }
}
