//! What a log diff ignores: volatile parts of a line (times, durations, hashes, temp paths,
//! ports, pids, build numbers) are replaced by a placeholder before lines are compared. The
//! rules are data: a default list of (name, regex, replacement) that `[diff]` in the config
//! extends or overrides (see `config::DiffConfig`).

use regex::Regex;
use std::borrow::Cow;

/// One rule as written (built in, or from the config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: String,
    pub regex: String,
    /// What a match becomes (`$1` refers to a group, as in `regex::Regex::replace_all`).
    pub replace: String,
}

impl RuleSpec {
    pub fn new(name: &str, regex: &str, replace: &str) -> RuleSpec {
        RuleSpec {
            name: name.to_string(),
            regex: regex.to_string(),
            replace: replace.to_string(),
        }
    }
}

/// The built-in rules, applied in this order (UUIDs before hex hashes, timestamps before
/// durations).
pub fn default_rules() -> Vec<RuleSpec> {
    [
        (
            "timestamp",
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
            "<time>",
        ),
        (
            "uuid",
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            "<uuid>",
        ),
        ("hash", r"\b[0-9a-f]{7,}\b|\b[0-9A-F]{7,}\b", "<hash>"),
        (
            "temp_path",
            r"(/tmp|/var/tmp|/private/var/folders)/[^\s/:'\x22]+",
            "$1/<tmp>",
        ),
        (
            "duration",
            r"\b(?:\d+h)?\d+m\d+(?:\.\d+)?s\b|\b\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s|secs?|seconds?|mins?|minutes?|h)\b",
            "<duration>",
        ),
        (
            "size",
            r"\b\d+(?:\.\d+)?\s?(?:[kKMGT]i?B|bytes?)\b",
            "<size>",
        ),
        (
            "port",
            r"(?i)\b(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1?\]|port)([ :=]+)\d{2,5}\b",
            "$1$2<port>",
        ),
        ("pid", r"(?i)\b(pid|process)([ :=#]+)\d+\b", "$1$2<pid>"),
        (
            "build_number",
            r"(?i)#\d+\b|\b(build|run|job|task)([ :#]+)\d+\b",
            "$1$2#<n>",
        ),
        (
            "progress",
            r"\b\d+(?:\.\d+)?%|\[\d+/\d+\]|\(\d+/\d+\)",
            "<progress>",
        ),
    ]
    .into_iter()
    .map(|(n, r, s)| RuleSpec::new(n, r, s))
    .collect()
}

/// The rules in force: the defaults, with the config's rules replacing a default of the same
/// name or added after them.
pub fn merge(defaults: bool, extra: &[RuleSpec]) -> Vec<RuleSpec> {
    let mut rules = if defaults {
        default_rules()
    } else {
        Vec::new()
    };
    for r in extra {
        match rules.iter_mut().find(|d| d.name == r.name) {
            Some(d) => *d = r.clone(),
            None => rules.push(r.clone()),
        }
    }
    rules
}

struct Rule {
    re: Regex,
    replace: String,
}

/// Compiled rules.
pub struct Normaliser {
    rules: Vec<Rule>,
}

impl std::fmt::Debug for Normaliser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Normaliser({} rules)", self.rules.len())
    }
}

impl Normaliser {
    /// Compile the rules; the error names the rule whose regex is wrong.
    pub fn new(specs: &[RuleSpec]) -> Result<Normaliser, String> {
        let mut rules = Vec::with_capacity(specs.len());
        for s in specs {
            let re = Regex::new(&s.regex)
                .map_err(|e| format!("diff rule `{}`: not a regular expression: {e}", s.name))?;
            rules.push(Rule {
                re,
                replace: s.replace.clone(),
            });
        }
        Ok(Normaliser { rules })
    }

    /// The built-in rules (they compile: a unit test says so).
    pub fn defaults() -> Normaliser {
        Normaliser::new(&default_rules()).unwrap_or(Normaliser { rules: Vec::new() })
    }

    /// The line with every volatile part replaced.
    pub fn normalise<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(line);
        for r in &self.rules {
            if let Cow::Owned(s) = r.re.replace_all(&out, r.replace.as_str()) {
                out = Cow::Owned(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(line: &str) -> String {
        Normaliser::defaults().normalise(line).into_owned()
    }

    #[test]
    fn defaults_compile() {
        assert!(Normaliser::new(&default_rules()).is_ok());
    }

    #[test]
    fn timestamps() {
        assert_eq!(n("2026-12-04T15:14:44.123Z start"), "<time> start");
        assert_eq!(n("[12:03:59] compiling"), "[<time>] compiling");
        assert_eq!(n("at 2026-12-04 15:14:44+01:00"), "at <time>");
    }

    #[test]
    fn uuids_before_hashes() {
        assert_eq!(
            n("executor 3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f60718 ready"),
            "executor <uuid> ready"
        );
    }

    #[test]
    fn hex_hashes_of_seven_or_more() {
        assert_eq!(
            n("HEAD is now at 4e1f9a7 Merge"),
            "HEAD is now at <hash> Merge"
        );
        assert_eq!(n("sha256:DEADBEEF00"), "sha256:<hash>");
        // Six characters are not a hash; words stay.
        assert_eq!(n("abc123 cafe"), "abc123 cafe");
    }

    #[test]
    fn temp_paths() {
        assert_eq!(n("wrote /tmp/xyz123/out.txt"), "wrote /tmp/<tmp>/out.txt");
        assert_eq!(n("cd /var/tmp/build-77"), "cd /var/tmp/<tmp>");
    }

    #[test]
    fn durations() {
        assert_eq!(n("done in 12.3s"), "done in <duration>");
        assert_eq!(n("took 1m02s"), "took <duration>");
        assert_eq!(n("(412 ms)"), "(<duration>)");
        assert_eq!(n("1h2m3s elapsed"), "<duration> elapsed");
        // A version is not a duration.
        assert_eq!(n("v0.12.3"), "v0.12.3");
    }

    #[test]
    fn sizes() {
        assert_eq!(n("dist/app.js  312 kB"), "dist/app.js  <size>");
        assert_eq!(n("sent 1024 bytes"), "sent <size>");
    }

    #[test]
    fn ports_and_pids() {
        assert_eq!(
            n("listening on 127.0.0.1:43121"),
            "listening on 127.0.0.1:<port>"
        );
        assert_eq!(n("port 8080 open"), "port <port> open");
        assert_eq!(n("worker pid=4242 exited"), "worker pid=<pid> exited");
    }

    #[test]
    fn build_numbers_and_counters() {
        assert_eq!(n("Merge pull request #1234"), "Merge pull request #<n>");
        assert_eq!(n("build 41 passed"), "build #<n> passed");
        assert_eq!(n("[3/7] bundling"), "<progress> bundling");
        assert_eq!(n("coverage 87.5%"), "coverage <progress>");
        assert_eq!(n("objects (310/1024)"), "objects <progress>");
    }

    #[test]
    fn changed_words_stay_different() {
        assert_ne!(n("test cart passed (12 ms)"), n("test cart failed (12 ms)"));
        assert_eq!(
            n("test cart passed (12 ms)"),
            n("test cart passed (940 ms)")
        );
    }

    #[test]
    fn config_rules_override_by_name_and_extend() {
        let rules = merge(
            true,
            &[
                RuleSpec::new("hash", r"\bZZZ\b", "<z>"),
                RuleSpec::new("seed", r"seed=\d+", "seed=<n>"),
            ],
        );
        assert_eq!(rules.len(), default_rules().len() + 1);
        let norm = Normaliser::new(&rules).unwrap();
        assert_eq!(
            norm.normalise("ZZZ 4e1f9a7 seed=99"),
            "<z> 4e1f9a7 seed=<n>"
        );
        assert!(merge(false, &[]).is_empty());
    }

    #[test]
    fn a_bad_regex_names_its_rule() {
        let e = Normaliser::new(&[RuleSpec::new("mine", "(", "")]).unwrap_err();
        assert!(e.contains("`mine`"), "{e}");
    }
}
