//! What `/` accepts: free text plus qualifiers (`status:failed`, `since:2h`, `author:ana`),
//! parsed once. The free text is what a server that filters is sent; the qualifiers are
//! applied here on the loaded rows ([`super::Row::status`], [`super::Row::time`],
//! [`super::Row::author`]).

use super::{BuildStatus, Row};
use chrono::{DateTime, Duration, Utc};

/// The qualifiers `/` knows, for messages.
const KNOWN: &str = "status:, since:, author: (or actor:)";

/// A parsed filter. The default is the empty filter (everything matches).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Free text, words joined by one space (matched as one substring, case-insensitive).
    pub text: String,
    /// `text` lower-cased once (matched against each row's lower-cased haystack).
    needle: String,
    /// `status:a,b`: any of these (empty: no status qualifier).
    pub statuses: Vec<BuildStatus>,
    /// `since:2h`: the row's time is at most this long ago.
    pub since: Option<Duration>,
    /// `author:` / `actor:`: a substring of who started it (lower-case).
    pub author: Option<String>,
}

/// Why a row type cannot answer a qualifier: said in the pane instead of matching nothing
/// silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Status,
    Time,
    Author,
}

impl Missing {
    pub fn qualifier(self) -> &'static str {
        match self {
            Missing::Status => "status:",
            Missing::Time => "since:",
            Missing::Author => "author:",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Missing::Status => "status",
            Missing::Time => "time",
            Missing::Author => "author",
        }
    }
}

impl Filter {
    /// Parse what was typed. Errors name the bad part and how to write it.
    pub fn parse(input: &str) -> Result<Filter, String> {
        Filter::parse_for(input, &[])
    }

    /// Parse for a list whose server understands the qualifiers `server` itself (they stay in
    /// the free text it is sent, e.g. nullplatform's `repo:`). A URL is always text.
    pub fn parse_for(input: &str, server: &[&str]) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut words: Vec<&str> = Vec::new();
        for token in input.split_whitespace() {
            // `"a:b"`: text, not a qualifier.
            if let Some(quoted) = token
                .strip_prefix('"')
                .map(|t| t.strip_suffix('"').unwrap_or(t))
            {
                if !quoted.is_empty() {
                    words.push(quoted);
                }
                continue;
            }
            let Some((key, value)) = token.split_once(':') else {
                words.push(token);
                continue;
            };
            if key.is_empty()
                || !key.chars().all(|c| c.is_ascii_alphabetic())
                || value.starts_with("//")
                || server.iter().any(|k| k.eq_ignore_ascii_case(key))
            {
                words.push(token);
                continue;
            }
            let key = key.to_ascii_lowercase();
            if value.is_empty() {
                return Err(format!("`{key}:` needs a value, e.g. {}", example(&key)));
            }
            match key.as_str() {
                "status" => {
                    for v in value.split(',').filter(|v| !v.is_empty()) {
                        let st = status(v)?;
                        if !f.statuses.contains(&st) {
                            f.statuses.push(st);
                        }
                    }
                }
                "since" => f.since = Some(duration(value)?),
                "author" | "actor" => f.author = Some(value.to_lowercase()),
                other => {
                    return Err(format!(
                        "unknown qualifier `{other}:`; use {KNOWN}, or put the word in quotes \
                         to search for it"
                    ));
                }
            }
        }
        f.text = words.join(" ");
        f.needle = f.text.to_lowercase();
        Ok(f)
    }

    /// Nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && !self.has_qualifiers()
    }

    pub fn has_qualifiers(&self) -> bool {
        !self.statuses.is_empty() || self.since.is_some() || self.author.is_some()
    }

    /// Whether a row passes. `text`: also match the free text (not when the server did).
    pub fn matches<T: Row>(&self, row: &T, text: bool, now: DateTime<Utc>) -> bool {
        if text && !self.needle.is_empty() && !row.haystack().to_lowercase().contains(&self.needle)
        {
            return false;
        }
        if !self.statuses.is_empty() && !row.status().is_some_and(|s| self.statuses.contains(&s)) {
            return false;
        }
        if let Some(d) = self.since {
            // A cutoff out of the calendar's range: everything is newer.
            let cutoff = now.checked_sub_signed(d);
            if row.time().is_none_or(|t| cutoff.is_some_and(|c| t < c)) {
                return false;
            }
        }
        if let Some(a) = &self.author
            && !row.author().is_some_and(|x| x.to_lowercase().contains(a))
        {
            return false;
        }
        true
    }

    /// The first qualifier none of `rows` can answer (no row has that field): the pane says
    /// so rather than showing an unexplained empty list. Empty rows: nothing to say yet.
    pub fn missing<T: Row>(&self, rows: &[T]) -> Option<Missing> {
        if rows.is_empty() {
            return None;
        }
        let none = |f: &dyn Fn(&T) -> bool| !rows.iter().any(f);
        if !self.statuses.is_empty() && none(&|r| r.status().is_some()) {
            return Some(Missing::Status);
        }
        if self.since.is_some() && none(&|r| r.time().is_some()) {
            return Some(Missing::Time);
        }
        if self.author.is_some() && none(&|r| r.author().is_some()) {
            return Some(Missing::Author);
        }
        None
    }
}

/// The sentence the pane shows for a qualifier its rows cannot answer.
pub fn missing_note(m: Missing, rows: &str) -> String {
    format!(
        "this backend gives its {rows} no {}: `{}` cannot match here (esc clears the filter)",
        m.what(),
        m.qualifier()
    )
}

fn example(key: &str) -> &'static str {
    match key {
        "status" => "status:failed",
        "since" => "since:2h",
        "author" | "actor" => "author:ana",
        _ => "status:failed",
    }
}

fn status(v: &str) -> Result<BuildStatus, String> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "failed" | "failure" | "fail" | "red" => BuildStatus::Failed,
        "running" | "run" => BuildStatus::Running,
        "queued" | "pending" => BuildStatus::Queued,
        "passed" | "succeeded" | "success" | "ok" | "green" => BuildStatus::Succeeded,
        "cancelled" | "canceled" => BuildStatus::Cancelled,
        _ => {
            return Err(format!(
                "unknown status `{v}`; use failed, running, queued, passed (succeeded) or \
                 cancelled"
            ));
        }
    })
}

/// `30m`, `2h`, `1d`, `2w`.
fn duration(v: &str) -> Result<Duration, String> {
    let bad = || format!("`since:{v}` is not a duration; write e.g. since:30m, 2h, 1d or 2w");
    let unit = v.chars().last().ok_or_else(bad)?;
    let digits = &v[..v.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let minutes = match unit.to_ascii_lowercase() {
        'm' => Some(n),
        'h' => n.checked_mul(60),
        'd' => n.checked_mul(60 * 24),
        'w' => n.checked_mul(60 * 24 * 7),
        _ => return Err(bad()),
    };
    // Beyond ~100 years nothing is older anyway; keep the arithmetic in range.
    minutes
        .filter(|m| *m <= 100 * 365 * 24 * 60)
        .map(Duration::minutes)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_text() {
        let f = Filter::parse("  payments   api ").unwrap();
        assert_eq!(f.text, "payments api");
        assert!(!f.has_qualifiers());
        assert!(Filter::parse("").unwrap().is_empty());
    }

    #[test]
    fn each_qualifier() {
        let f = Filter::parse("status:failed").unwrap();
        assert_eq!(f.statuses, vec![BuildStatus::Failed]);
        assert_eq!(f.text, "");
        let f = Filter::parse("status:Running,queued").unwrap();
        assert_eq!(f.statuses, vec![BuildStatus::Running, BuildStatus::Queued]);
        assert_eq!(
            Filter::parse("status:passed").unwrap().statuses,
            Filter::parse("status:succeeded").unwrap().statuses
        );
        assert_eq!(
            Filter::parse("status:canceled").unwrap().statuses,
            vec![BuildStatus::Cancelled]
        );
        assert_eq!(
            Filter::parse("since:30m").unwrap().since,
            Some(Duration::minutes(30))
        );
        assert_eq!(
            Filter::parse("since:2h").unwrap().since,
            Some(Duration::hours(2))
        );
        assert_eq!(
            Filter::parse("since:1d").unwrap().since,
            Some(Duration::days(1))
        );
        assert_eq!(
            Filter::parse("since:2w").unwrap().since,
            Some(Duration::weeks(2))
        );
        assert_eq!(
            Filter::parse("author:Ana").unwrap().author.as_deref(),
            Some("ana")
        );
        assert_eq!(
            Filter::parse("actor:bob").unwrap().author.as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn combined_with_text() {
        let f = Filter::parse("status:failed since:1d payments").unwrap();
        assert_eq!(f.statuses, vec![BuildStatus::Failed]);
        assert_eq!(f.since, Some(Duration::days(1)));
        assert_eq!(f.text, "payments");
        // Text around qualifiers keeps its order; numbers with colons and URLs stay text.
        let f = Filter::parse("web status:failed 12:30 \"sha:abc\" https://git.x/a").unwrap();
        assert_eq!(f.text, "web 12:30 sha:abc https://git.x/a");
    }

    #[test]
    fn a_servers_own_qualifiers_go_to_it_as_text() {
        let f = Filter::parse_for(
            "repo:https://g/x path:/svc status:inactive since:1d",
            &["repo", "path", "status"],
        )
        .unwrap();
        assert_eq!(f.text, "repo:https://g/x path:/svc status:inactive");
        assert_eq!(f.since, Some(Duration::days(1)));
        assert!(f.statuses.is_empty());
        assert!(
            Filter::parse("path:/svc").is_err(),
            "elsewhere it is not a qualifier"
        );
    }

    fn deployment(id: &str, actor: Option<&str>, hours_ago: i64) -> super::super::Deployment {
        super::super::Deployment {
            id: id.into(),
            project: "web".into(),
            environment: "production".into(),
            release: None,
            candidate: format!("2.{id}.0"),
            from_candidate: None,
            status: BuildStatus::Failed,
            raw_status: "failed".into(),
            actor: actor.map(str::to_string),
            started_at: Some(now() - Duration::hours(hours_ago)),
            finished_at: None,
            error: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
    }

    #[test]
    fn deployments_answer_status_time_and_actor() {
        let rows = [
            deployment("1", Some("Ana"), 1),
            deployment("2", Some("bob"), 30),
        ];
        let f = Filter::parse("actor:ana status:failed since:2h").unwrap();
        let hits: Vec<&str> = rows
            .iter()
            .filter(|r| f.matches(*r, true, now()))
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(hits, ["1"]);
        assert_eq!(f.missing(&rows), None);
        // Nobody on record: the qualifier cannot match and the pane is told why.
        let anon = [deployment("3", None, 1)];
        assert_eq!(f.missing(&anon), Some(Missing::Author));
        assert!(!f.matches(&anon[0], true, now()));
        let note = missing_note(Missing::Author, "releases");
        assert!(
            note.contains("no author") && note.contains("author:"),
            "{note}"
        );
        // Nothing loaded yet: nothing to say.
        assert_eq!(f.missing::<super::super::Deployment>(&[]), None);
    }

    #[test]
    fn errors_say_what_to_write() {
        let e = Filter::parse("colour:red").unwrap_err();
        assert!(e.contains("unknown qualifier `colour:`"), "{e}");
        assert!(e.contains("status:") && e.contains("since:"), "{e}");
        let e = Filter::parse("since:2y").unwrap_err();
        assert!(e.contains("`since:2y` is not a duration"), "{e}");
        for bad in ["since:h", "since:-2h", "since:99999999999999w", "since:2é"] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
        let e = Filter::parse("status:broken").unwrap_err();
        assert!(e.contains("unknown status `broken`"), "{e}");
        let e = Filter::parse("status:").unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
    }
}
