//! `[diff]`: what the log diff ignores (issue 12). Every regex is compiled here so that a wrong
//! one is reported with its line, like every other key.

use super::{Ctx, boolean, int_in, string, type_problem, unknown};
use crate::config::DiffConfig;
use crate::logdiff::RuleSpec;
use toml::Spanned;
use toml::de::DeValue;

const DIFF_KEYS: &[&str] = &["context", "defaults", "ignore", "rules"];
const RULE_KEYS: &[&str] = &["name", "regex", "replace"];

pub(super) fn diff(cx: &mut Ctx, v: &Spanned<DeValue>) -> DiffConfig {
    let mut out = DiffConfig::default();
    let DeValue::Table(t) = v.get_ref() else {
        type_problem(cx, v, "a table: write a `[diff]` section");
        return out;
    };
    for (k, val) in t {
        match k.get_ref().as_ref() {
            "context" => {
                if let Some(n) = int_in(cx, val, 0, 50) {
                    out.context = n as usize;
                }
            }
            "defaults" => out.defaults = boolean(cx, val).unwrap_or(true),
            "ignore" => match val.get_ref() {
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let Some(re) = string(cx, item, "a regular expression") else {
                            continue;
                        };
                        if checked(cx, item, &re) {
                            out.rules
                                .push(RuleSpec::new(&format!("ignore-{}", i + 1), &re, "…"));
                        }
                    }
                }
                _ => type_problem(cx, val, "a list of regular expressions"),
            },
            "rules" => match val.get_ref() {
                DeValue::Array(items) => {
                    for item in items {
                        if let Some(r) = rule(cx, item) {
                            out.rules.push(r);
                        }
                    }
                }
                _ => type_problem(
                    cx,
                    val,
                    "a list of `{ name = \"…\", regex = \"…\", replace = \"…\" }`",
                ),
            },
            other => unknown(cx, k.span(), other, DIFF_KEYS, "in [diff]"),
        }
    }
    out
}

fn rule(cx: &mut Ctx, v: &Spanned<DeValue>) -> Option<RuleSpec> {
    let DeValue::Table(t) = v.get_ref() else {
        type_problem(
            cx,
            v,
            "a table `{ name = \"…\", regex = \"…\", replace = \"…\" }`",
        );
        return None;
    };
    let (mut name, mut regex, mut replace) = (None, None, String::from("…"));
    for (k, val) in t {
        match k.get_ref().as_ref() {
            "name" => name = string(cx, val, "a rule name"),
            "regex" => {
                regex = string(cx, val, "a regular expression").filter(|re| checked(cx, val, re))
            }
            "replace" => {
                if let Some(s) = string(cx, val, "the replacement text") {
                    replace = s;
                }
            }
            other => unknown(cx, k.span(), other, RULE_KEYS, "in a [diff] rule"),
        }
    }
    let Some(name) = name else {
        cx.problem(
            v.span(),
            "a [diff] rule needs a `name` (the same name as a built-in rule replaces it)",
        );
        return None;
    };
    let Some(regex) = regex else {
        if !t.iter().any(|(k, _)| k.get_ref() == "regex") {
            cx.problem(
                v.span(),
                format!("the [diff] rule `{name}` needs a `regex`"),
            );
        }
        return None;
    };
    Some(RuleSpec::new(&name, &regex, &replace))
}

/// Whether the regex compiles; if not, the problem is reported at its line.
fn checked(cx: &mut Ctx, v: &Spanned<DeValue>, re: &str) -> bool {
    match regex::Regex::new(re) {
        Ok(_) => true,
        Err(e) => {
            let why = e.to_string();
            let last = why.lines().last().unwrap_or("").trim().to_string();
            cx.problem(
                v.span(),
                format!("`{re}` is not a regular expression ({last})"),
            );
            false
        }
    }
}
