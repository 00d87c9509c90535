//! Walks the parsed TOML with spans and collects every problem, instead of stopping at the
//! first one as plain serde would: a user fixing a file wants the whole list at once.

use super::{
    Config, ConfigError, Credential, DEFAULT_LOG_BUFFER_LINES, DEFAULT_REFRESH_SECS,
    DEFAULT_TIMEOUT_SECS, KeyOverride, KeyringEntry, Problem, Profile, ReleaseProject, ThemeUse,
};
use crate::domain::Kind;
use secrecy::SecretString;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod diff;
mod views;

const TOP_KEYS: &[&str] = &[
    "default_profile",
    "theme",
    "refresh_secs",
    "log_buffer_lines",
    "mouse",
    "keys",
    "profiles",
    "diff",
    "views",
];
const COMMON_KEYS: &[&str] = &[
    "kind",
    "url",
    "theme",
    "read_only",
    "protected_environments",
    "ca_file",
    "insecure",
    "timeout_secs",
    "max_pages",
    "max_rows",
    "web_url",
    "notify",
];
const SECRET_FIELDS: &[&str] = &["password", "api_key", "token", "runner_token"];

struct Ctx<'a> {
    text: &'a str,
    /// Byte offset where each line starts (the first is 0), so that a position is found by a
    /// binary search instead of scanning the text: `config check` stays linear in the number
    /// of profiles.
    line_starts: Vec<usize>,
    private: bool,
    path: &'a Path,
    problems: Vec<Problem>,
    themes: Vec<ThemeUse>,
}

impl Ctx<'_> {
    fn at(&self, span: Range<usize>) -> (usize, usize) {
        let start = span.start.min(self.text.len());
        let idx = self.line_starts.partition_point(|&s| s <= start).max(1) - 1;
        let line_start = self.line_starts.get(idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(line_start..start)
            .map_or(0, |l| l.chars().count())
            + 1;
        (idx + 1, col)
    }

    /// Remember a `theme = "…"` and where it is.
    fn theme(&mut self, v: &Spanned<DeValue>, name: Option<String>) -> Option<String> {
        if let Some(n) = &name {
            let (line, column) = self.at(v.span());
            self.themes.push(ThemeUse {
                name: n.clone(),
                line,
                column,
            });
        }
        name
    }

    fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.at(span);
        self.problems.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }
}

pub(super) fn parse(text: &str, path: &Path, private: bool) -> Result<Config, ConfigError> {
    let line_starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut cx = Ctx {
        text,
        line_starts,
        themes: Vec::new(),
        private,
        path,
        problems: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.problem(span, format!("TOML syntax error: {}", e.message().trim()));
            return Err(ConfigError {
                path: path.to_path_buf(),
                problems: cx.problems,
            });
        }
    };
    let mut cfg = Config::empty(Some(path.to_path_buf()));
    let mut default_profile_span = None;
    let mut views = Vec::new();
    for (key, value) in doc.get_ref() {
        let name = key.get_ref().as_ref();
        match name {
            "default_profile" => {
                cfg.default_profile = string(&mut cx, value, "a profile name");
                default_profile_span = Some(value.span());
            }
            "theme" => {
                let name = string(&mut cx, value, "a theme name such as \"dark\"");
                cfg.theme = cx.theme(value, name);
            }
            "refresh_secs" => {
                cfg.refresh_secs = int_in(&mut cx, value, 1, 3600).unwrap_or(DEFAULT_REFRESH_SECS)
            }
            "log_buffer_lines" => {
                cfg.log_buffer_lines = int_in(&mut cx, value, 1_000, 10_000_000)
                    .map(|v| v as usize)
                    .unwrap_or(DEFAULT_LOG_BUFFER_LINES)
            }
            "mouse" => cfg.mouse = boolean(&mut cx, value).unwrap_or(true),
            "keys" => cfg.keys = keys(&mut cx, value),
            "diff" => cfg.diff = diff::diff(&mut cx, value),
            "views" => views = views::views(&mut cx, value),
            "profiles" => match value.get_ref() {
                DeValue::Table(t) => {
                    for (pname, pval) in t {
                        if let Some(p) = profile(&mut cx, pname, pval) {
                            cfg.profiles.push(p);
                        }
                    }
                }
                _ => cx.problem(
                    value.span(),
                    "`profiles` must be a table: write `[profiles.<name>]` sections",
                ),
            },
            other => unknown(&mut cx, key.span(), other, TOP_KEYS, "at the top level"),
        }
    }
    // Profiles in file order (the map is sorted by key).
    cfg.profiles.sort_by_key(|p| p.line);
    if let (Some(name), Some(span)) = (&cfg.default_profile, default_profile_span)
        && cfg.profile(name).is_none()
    {
        let known: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
        cx.problem(
            span,
            format!(
                "default_profile `{name}` is not defined; defined profiles: {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        );
    }
    cfg.views = views::check_profiles(&mut cx, views, &cfg.profiles);
    cx.problems.sort_by_key(|p| (p.line, p.column));
    cfg.theme_uses = std::mem::take(&mut cx.themes);
    if cx.problems.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError {
            path: path.to_path_buf(),
            problems: cx.problems,
        })
    }
}

fn unknown(cx: &mut Ctx, span: Range<usize>, key: &str, allowed: &[&str], place: &str) {
    let close = allowed
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = match close {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => format!("expected one of: {}", allowed.join(", ")),
    };
    cx.problem(span, format!("unknown key `{key}` {place}; {hint}"));
}

fn type_problem(cx: &mut Ctx, v: &Spanned<DeValue>, expected: &str) {
    cx.problem(
        v.span(),
        format!("expected {expected}, found a {}", v.get_ref().type_str()),
    );
}

fn string(cx: &mut Ctx, v: &Spanned<DeValue>, expected: &str) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        _ => {
            type_problem(cx, v, expected);
            None
        }
    }
}

fn boolean(cx: &mut Ctx, v: &Spanned<DeValue>) -> Option<bool> {
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        _ => {
            type_problem(cx, v, "true or false");
            None
        }
    }
}

fn int_in(cx: &mut Ctx, v: &Spanned<DeValue>, min: u64, max: u64) -> Option<u64> {
    let parsed = match v.get_ref() {
        DeValue::Integer(i) => u64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok(),
        _ => None,
    };
    match parsed {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            let found = match v.get_ref() {
                DeValue::Integer(i) => i.as_str().to_string(),
                other => format!("a {}", other.type_str()),
            };
            cx.problem(
                v.span(),
                format!("expected a whole number from {min} to {max}, found {found}"),
            );
            None
        }
    }
}

fn string_list(cx: &mut Ctx, v: &Spanned<DeValue>, what: &str) -> Vec<String> {
    match v.get_ref() {
        DeValue::Array(items) => items.iter().filter_map(|i| string(cx, i, what)).collect(),
        _ => {
            type_problem(cx, v, &format!("a list of {what}"));
            Vec::new()
        }
    }
}

fn url(cx: &mut Ctx, v: &Spanned<DeValue>) -> Option<url::Url> {
    let s = string(cx, v, "a URL such as \"https://ci.example.com\"")?;
    match url::Url::parse(&s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        Ok(u) => {
            cx.problem(
                v.span(),
                format!(
                    "URL scheme `{}` is not supported; use http or https",
                    u.scheme()
                ),
            );
            None
        }
        Err(e) => {
            cx.problem(v.span(), format!("`{s}` is not a valid URL ({e})"));
            None
        }
    }
}

fn keys(cx: &mut Ctx, v: &Spanned<DeValue>) -> Vec<KeyOverride> {
    let DeValue::Table(t) = v.get_ref() else {
        type_problem(cx, v, "a table of `action = \"key\"`");
        return Vec::new();
    };
    t.iter()
        .filter_map(|(k, val)| {
            let key = string(cx, val, "a key such as \"ctrl-d\" or \"G\"")?;
            Some(KeyOverride {
                action: k.get_ref().to_string(),
                key,
                line: cx.at(k.span()).0,
            })
        })
        .collect()
}

/// The profile's credential for a secret field, from `<f>`, `<f>_env`, `<f>_command` or
/// `<f>_keyring`. One source, or `<f>_keyring` with one other source as its fallback.
/// `Err(())`: a source is given but could not be read (its problem is reported), so the field
/// is not also reported as missing.
fn credential(
    cx: &mut Ctx,
    table: &DeTable,
    field: &str,
    header: Range<usize>,
    pname: &str,
) -> Result<Option<Credential>, ()> {
    let mut found: Vec<(Range<usize>, Credential)> = Vec::new();
    let mut keyring: Option<KeyringEntry> = None;
    let mut unreadable = false;
    for (k, v) in table {
        let key = k.get_ref().as_ref();
        let make = if key == field {
            string(cx, v, "a string").map(|s| {
                if !cx.private {
                    cx.problem(
                        k.span(),
                        format!(
                            "inline `{field}` is refused because {} is readable by group or others; \
                             run `chmod 600 {}` or use `{field}_env` / `{field}_command` / `{field}_keyring`",
                            cx.path.display(),
                            cx.path.display()
                        ),
                    );
                }
                Credential::Inline(SecretString::from(s))
            })
        } else if key == format!("{field}_env") {
            string(cx, v, "an environment variable name").map(Credential::Env)
        } else if key == format!("{field}_command") {
            string(cx, v, "a shell command").map(Credential::Command)
        } else if key == format!("{field}_keyring") {
            let Some(text) = string(cx, v, "\"<service>/<account>\", e.g. \"shipdeck/alice\"")
            else {
                unreadable = true;
                continue;
            };
            match KeyringEntry::parse(&text) {
                Ok(e) => keyring = Some(e),
                Err(why) => {
                    cx.problem(v.span(), format!("{field}_keyring {why}"));
                    unreadable = true;
                }
            }
            continue;
        } else {
            continue;
        };
        if let Some(c) = make {
            found.push((k.span(), c));
        }
    }
    if found.len() > 1 {
        cx.problem(
            found[1].0.clone(),
            format!(
                "profile `{pname}` gives `{field}` more than once; keep one of `{field}`, `{field}_env`, \
                 `{field}_command` (`{field}_keyring` may be added as well: the keyring is tried first)"
            ),
        );
    }
    let _ = header;
    let other = found.into_iter().next().map(|(_, c)| c);
    match keyring {
        Some(entry) => Ok(Some(Credential::Keyring {
            entry,
            field: field.to_string(),
            fallback: other.map(Box::new),
        })),
        None if other.is_none() && unreadable => Err(()),
        None => Ok(other),
    }
}

fn is_secret_key(key: &str) -> Option<&'static str> {
    SECRET_FIELDS.iter().copied().find(|f| {
        key == *f
            || key == format!("{f}_env")
            || key == format!("{f}_command")
            || key == format!("{f}_keyring")
    })
}

fn projects(cx: &mut Ctx, v: &Spanned<DeValue>) -> Vec<ReleaseProject> {
    let DeValue::Array(items) = v.get_ref() else {
        type_problem(
            cx,
            v,
            "a list like [ { name = \"web\", environments = [\"dev\", \"production\"] } ]",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let DeValue::Table(t) = item.get_ref() else {
            type_problem(cx, item, "{ name = \"…\", environments = [ … ] }");
            continue;
        };
        let mut name = None;
        let mut envs = Vec::new();
        for (k, val) in t {
            match k.get_ref().as_ref() {
                "name" => name = string(cx, val, "the release project's name"),
                "environments" => envs = string_list(cx, val, "environment names"),
                other => unknown(
                    cx,
                    k.span(),
                    other,
                    &["name", "environments"],
                    "in a release project",
                ),
            }
        }
        match name {
            Some(n) => {
                if envs.is_empty() {
                    cx.problem(
                        item.span(),
                        format!("release project `{n}` lists no environments; add environments = [\"staging\", \"production\"]"),
                    );
                }
                out.push(ReleaseProject {
                    name: n,
                    environments: envs,
                })
            }
            None => cx.problem(item.span(), "release project without `name`"),
        }
    }
    out
}

fn profile(
    cx: &mut Ctx,
    pname: &Spanned<toml::de::DeString>,
    pval: &Spanned<DeValue>,
) -> Option<Profile> {
    let name = pname.get_ref().to_string();
    let header = pname.span();
    let DeValue::Table(t) = pval.get_ref() else {
        cx.problem(
            pval.span(),
            format!("profile `{name}` must be a table: write `[profiles.{name}]`"),
        );
        return None;
    };
    let kind_val = t
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == "kind")
        .map(|(_, v)| v);
    let kinds: Vec<&str> = Kind::all().map(|k| k.as_str()).collect();
    let kind = match kind_val {
        None => {
            cx.problem(
                header.clone(),
                format!(
                    "profile `{name}` has no `kind`; add kind = \"…\" with one of: {}",
                    kinds.join(", ")
                ),
            );
            return None;
        }
        Some(v) => {
            let s = string(cx, v, "a backend kind")?;
            match Kind::parse(&s) {
                Some(k) => k,
                None => {
                    cx.problem(
                        v.span(),
                        format!(
                            "unknown kind `{s}` in profile `{name}`; expected one of: {}",
                            kinds.join(", ")
                        ),
                    );
                    return None;
                }
            }
        }
    };
    let sch = &kind.descriptor().config;
    let mut allowed: Vec<String> = COMMON_KEYS.iter().map(|s| s.to_string()).collect();
    for k in sch.keys {
        if SECRET_FIELDS.contains(k) {
            allowed.push(k.to_string());
            allowed.push(format!("{k}_env"));
            allowed.push(format!("{k}_command"));
            allowed.push(format!("{k}_keyring"));
        } else {
            allowed.push(k.to_string());
        }
    }
    let placeholder = url::Url::parse(sch.default_url.unwrap_or("http://127.0.0.1/")).ok()?;
    let mut p = Profile::new(&name, kind, placeholder);
    p.line = cx.at(header.clone()).0;
    let mut has_url = false;
    for (k, v) in t {
        let key = k.get_ref().as_ref();
        if !allowed.iter().any(|a| a == key) {
            let refs: Vec<&str> = allowed.iter().map(String::as_str).collect();
            let place = format!("in profile `{name}` (kind {})", kind.as_str());
            unknown(cx, k.span(), key, &refs, &place);
            continue;
        }
        match key {
            "kind" => {}
            "url" => {
                if let Some(u) = url(cx, v) {
                    if let Some(problem) = (sch.url_problem)(&u) {
                        cx.problem(v.span(), problem);
                    }
                    p.url = u;
                    has_url = true;
                }
            }
            "runner_url" => p.runner_url = url(cx, v),
            "username" => p.username = string(cx, v, "a user name"),
            "route_prefix" => {
                let prefix = string(cx, v, "a path such as \"/api/flow\"");
                if prefix.as_deref().is_some_and(|p| !p.starts_with('/')) {
                    cx.problem(
                        v.span(),
                        "route_prefix must start with `/`, e.g. \"/api/flow\"",
                    );
                }
                p.route_prefix = prefix;
            }
            "theme" => {
                let name = string(cx, v, "a theme name");
                p.theme = cx.theme(v, name);
            }
            "read_only" => p.read_only = boolean(cx, v).unwrap_or(false),
            "insecure" => p.insecure = boolean(cx, v).unwrap_or(false),
            "timeout_secs" => {
                p.timeout_secs = int_in(cx, v, 1, 600).unwrap_or(DEFAULT_TIMEOUT_SECS)
            }
            "max_pages" => {
                if let Some(n) = int_in(cx, v, 1, 1_000_000) {
                    p.paging.max_pages = n as u32;
                }
            }
            "max_rows" => {
                if let Some(n) = int_in(cx, v, 1, 100_000_000) {
                    p.paging.max_rows = n;
                }
            }
            "web_url" => p.web_url = url(cx, v),
            "notify" => {
                let word = string(cx, v, "one of \"bell\", \"desktop\", \"both\", \"none\"");
                match word.as_deref().map(|w| (w, super::Notify::parse(w))) {
                    Some((_, Some(n))) => p.notify = n,
                    Some((w, None)) => cx.problem(
                        v.span(),
                        format!(
                            "notify = \"{w}\" is not a choice; expected one of: {}",
                            super::Notify::NAMES.join(", ")
                        ),
                    ),
                    None => {}
                }
            }
            "ca_file" => p.ca_file = string(cx, v, "a path to a PEM file").map(PathBuf::from),
            "protected_environments" => {
                p.protected_environments = string_list(cx, v, "environment names")
            }
            "projects" => p.projects = projects(cx, v),
            _ => {
                // Secret fields are collected below, all spellings together.
                debug_assert!(is_secret_key(key).is_some());
            }
        }
    }
    if !has_url && sch.default_url.is_none() {
        cx.problem(
            header.clone(),
            format!(
                "profile `{name}` (kind {}) needs `url`, the complete base URL of the API",
                kind.as_str()
            ),
        );
    }
    // Secret fields given in a form that could not be read: reported already, not "missing".
    let mut unreadable = Vec::new();
    for field in sch.keys.iter().filter(|k| SECRET_FIELDS.contains(k)) {
        let c = credential(cx, t, field, header.clone(), &name).unwrap_or_else(|()| {
            unreadable.push(*field);
            None
        });
        match *field {
            "password" => p.password = c,
            "api_key" => p.api_key = c,
            "token" => p.token = c,
            "runner_token" => p.runner_token = c,
            _ => {}
        }
    }
    for req in sch.required {
        let missing = match *req {
            "username" => p.username.is_none(),
            "password" => p.password.is_none(),
            "api_key" => p.api_key.is_none(),
            "token" => p.token.is_none(),
            _ => false,
        };
        if missing && !unreadable.contains(req) {
            let fix = if SECRET_FIELDS.contains(req) {
                format!(
                    "add `{req}_env = \"VAR\"`, `{req}_command = \"…\"` or \
                     `{req}_keyring = \"<service>/<account>\"`"
                )
            } else {
                format!("add `{req} = \"…\"`")
            };
            cx.problem(
                header.clone(),
                format!(
                    "profile `{name}` (kind {}) needs `{req}`: {fix}",
                    kind.as_str()
                ),
            );
        }
    }
    if p.runner_url.is_some() && p.runner_token.is_none() && !unreadable.contains(&"runner_token") {
        cx.problem(
            header.clone(),
            format!("profile `{name}` sets runner_url but no runner token: add `runner_token_env`, `runner_token_command` or `runner_token_keyring`"),
        );
    }
    if let Some(problem) = (sch.profile_problem)(&name, &p) {
        cx.problem(header, problem);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<Config, ConfigError> {
        let text = format!(
            "[profiles.c]\nkind = \"candor\"\nurl = \"https://candor.example.com\"\n{body}"
        );
        parse(&text, Path::new("config.toml"), true)
    }

    #[test]
    fn positions_are_found_by_line_table() {
        let text = "a = 1\n# é—ü\nb = \"x\"\n";
        let cx = Ctx {
            text,
            line_starts: vec![0, 6, 16, 24],
            private: true,
            path: Path::new("c.toml"),
            problems: Vec::new(),
            themes: Vec::new(),
        };
        assert_eq!(cx.at(0..1), (1, 1));
        assert_eq!(cx.at(4..5), (1, 5));
        assert_eq!(cx.at(6..7), (2, 1));
        // Columns count characters, not bytes.
        assert_eq!(cx.at(16..17), (3, 1));
        assert_eq!(cx.at(20..21), (3, 5));
        assert_eq!(cx.at(999..1000), (4, 1));
    }

    #[test]
    fn thousands_of_profiles_keep_their_lines_and_themes() {
        let mut text = String::new();
        for i in 0..5_000 {
            text.push_str(&format!(
                "[profiles.p{i}]\nkind = \"nullplatform\"\napi_key_env = \"K\"\ntheme = \"t{i}\"\n"
            ));
        }
        let cfg = match parse(&text, Path::new("config.toml"), true) {
            Ok(c) => c,
            Err(e) => panic!(
                "{} problem(s), first: {:?}",
                e.problems.len(),
                e.problems.first()
            ),
        };
        assert_eq!(cfg.profiles.len(), 5_000);
        let last = &cfg.profiles[4_999];
        assert_eq!((last.name.as_str(), last.line), ("p4999", 4_999 * 4 + 1));
        assert_eq!(cfg.theme_uses.len(), 5_000);
        let t = cfg.theme_uses.iter().find(|t| t.name == "t4999").unwrap();
        assert_eq!((t.line, t.column), (4_999 * 4 + 4, 9));
    }

    #[test]
    fn an_anonymous_candor_profile_is_valid() {
        let cfg = check("").expect("no username: public pipelines only");
        let p = &cfg.profiles[0];
        assert_eq!((p.username.as_deref(), p.password.is_none()), (None, true));
        check("username = \"ops\"\npassword_env = \"CANDOR_PW\"\n").expect("with a login");
        let e = check("username = \"ops\"\n").unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert!(
            e.problems[0]
                .message
                .contains("sets username but no password"),
            "{e}"
        );
        let e = check("password_env = \"CANDOR_PW\"\n").unwrap_err();
        assert!(e.problems[0].message.contains("no username"), "{e}");
        // Other kinds still need their login.
        let text = "[profiles.f]\nkind = \"freecommit\"\nurl = \"https://ci.example.com\"\n";
        let e = parse(text, Path::new("config.toml"), true).unwrap_err();
        assert!(
            e.problems
                .iter()
                .any(|p| p.message.contains("needs `username`")),
            "{e}"
        );
    }

    #[test]
    fn notify_and_web_url_are_read_and_checked() {
        let base = "username = \"ops\"\npassword_env = \"P\"\n";
        let c = check(&format!(
            "{base}notify = \"bell\"\nweb_url = \"https://ui.example.com/\"\n"
        ))
        .unwrap();
        let p = &c.profiles[0];
        assert_eq!(p.notify, super::super::Notify::Bell);
        assert_eq!(
            p.web_url.as_ref().map(|u| u.as_str()),
            Some("https://ui.example.com/")
        );
        // The default is both.
        let c = check(base).unwrap();
        assert_eq!(c.profiles[0].notify, super::super::Notify::Both);
        // A wrong word names the choices and the line.
        let e = check(&format!("{base}notify = \"loud\"\n")).unwrap_err();
        let p = &e.problems[0];
        assert_eq!(p.line, 6);
        assert!(
            p.message.contains("bell, desktop, both, none"),
            "{}",
            p.message
        );
        let e = check(&format!("{base}web_url = \"ftp://x\"\n")).unwrap_err();
        assert!(e.problems[0].message.contains("scheme"), "{e}");
    }
}
