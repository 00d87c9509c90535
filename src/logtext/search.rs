//! What a log search looks for: smart case (a needle in lower case matches any case; one with
//! an upper-case letter matches exactly) and regular expressions (a needle that is not a valid
//! expression is searched as plain text). One matcher for finding lines, counting matches,
//! searching the on-disk part and highlighting.

use regex::{Regex, RegexBuilder};
use std::ops::Range;

#[derive(Clone, Debug)]
pub struct Needle {
    text: String,
    re: Regex,
    /// The needle was a valid regular expression (else it is matched as plain text).
    pub regex: bool,
    pub case_sensitive: bool,
}

/// Bounds the compiled size of an expression a user types (a pathological one is refused and
/// searched as text instead).
const SIZE_LIMIT: usize = 1 << 20;

impl Needle {
    /// A search as typed; `None` for an empty one.
    pub fn new(text: &str) -> Option<Needle> {
        if text.is_empty() {
            return None;
        }
        let case_sensitive = text.chars().any(char::is_uppercase);
        let build = |pattern: &str| {
            RegexBuilder::new(pattern)
                .case_insensitive(!case_sensitive)
                .size_limit(SIZE_LIMIT)
                .build()
        };
        let (re, regex) = match build(text) {
            Ok(re) => (re, true),
            Err(_) => (build(&regex::escape(text)).ok()?, false),
        };
        Some(Needle {
            text: text.to_string(),
            re,
            regex,
            case_sensitive,
        })
    }

    /// Exactly this text, case-sensitive.
    #[cfg(test)]
    pub(crate) fn literal(text: &str) -> Option<Needle> {
        let re = RegexBuilder::new(&regex::escape(text))
            .size_limit(SIZE_LIMIT)
            .build()
            .ok()?;
        (!text.is_empty()).then(|| Needle {
            text: text.to_string(),
            re,
            regex: false,
            case_sensitive: true,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn is_match(&self, line: &str) -> bool {
        self.re.is_match(line)
    }

    /// Byte ranges of the non-empty matches in `line`.
    pub fn ranges(&self, line: &str) -> Vec<Range<usize>> {
        self.re
            .find_iter(line)
            .map(|m| m.range())
            .filter(|r| !r.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case_regex_and_plain_text_fallback() {
        let n = Needle::new("error").unwrap();
        assert!(!n.case_sensitive && n.regex);
        assert!(n.is_match("ERROR: disk full") && n.is_match("an error"));
        let n = Needle::new("Error").unwrap();
        assert!(n.case_sensitive);
        assert!(n.is_match("Error: x") && !n.is_match("error: x"));
        let n = Needle::new(r"exit(ed)? \d+").unwrap();
        assert!(n.is_match("process exited 137") && n.is_match("exit 1"));
        assert_eq!(n.ranges("exit 1, exit 22"), vec![0..6, 8..15]);
        // Not a valid expression: plain text.
        let n = Needle::new("a(b").unwrap();
        assert!(!n.regex && n.is_match("xa(by") && !n.is_match("ab"));
        assert!(Needle::new("").is_none());
        let l = Needle::literal("A.b").unwrap();
        assert!(l.is_match("xA.by") && !l.is_match("AxB") && !l.is_match("a.b"));
    }
}
