//! `[[views]]`: saved views (a name, a pane, optionally a profile, a filter and a sort),
//! checked like every other key: each problem with its line and how to fix it.

use super::{Ctx, string, type_problem, unknown};
use crate::config::{View, ViewSort};
use crate::domain::{Filter, Resource};
use std::ops::Range;
use toml::Spanned;
use toml::de::DeValue;

/// Qualifiers some backend's server takes itself (nullplatform's `repo:` and `path:`); whether
/// the view's does is only known after login.
const SERVER_QUALIFIERS: &[&str] = &["repo", "path"];
const VIEW_KEYS: &[&str] = &["name", "pane", "profile", "filter", "sort"];
/// Every column some backend sorts on (`ListSupport::sort_fields`); whether the view's
/// backend can is only known after login, and said then.
pub(crate) const SORT_FIELDS: &[&str] = &["name", "id", "last_build", "email", "role", "scope"];

/// The views in file order, each with the span of its `profile` to blame if no such profile
/// is defined (checked once every profile is read: [`check_profiles`]).
pub(super) fn views(cx: &mut Ctx, v: &Spanned<DeValue>) -> Vec<(View, Option<Range<usize>>)> {
    let DeValue::Array(items) = v.get_ref() else {
        type_problem(
            cx,
            v,
            "`[[views]]` sections, each with name = \"…\" and pane = \"…\"",
        );
        return Vec::new();
    };
    let mut out: Vec<(View, Option<Range<usize>>)> = Vec::new();
    // Every name seen, also of views with other problems (a duplicate is one more).
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        let DeValue::Table(t) = item.get_ref() else {
            type_problem(cx, item, "a [[views]] section");
            continue;
        };
        let line = cx.at(item.span()).0;
        let (mut name, mut pane, mut profile, mut filter, mut sort) =
            (None, None, None, None, None);
        let mut profile_span = None;
        for (k, val) in t {
            match k.get_ref().as_ref() {
                "name" => name = view_name(cx, val),
                "pane" => pane = view_pane(cx, val),
                "profile" => {
                    profile = string(cx, val, "a profile name");
                    profile_span = Some(val.span());
                }
                "filter" => {
                    filter = string(cx, val, "a filter such as \"status:failed since:1d\"")
                        .and_then(|f| match Filter::parse_for(&f, SERVER_QUALIFIERS) {
                            Ok(_) => Some(f),
                            Err(e) => {
                                cx.problem(val.span(), format!("filter: {e}"));
                                None
                            }
                        })
                }
                "sort" => sort = view_sort(cx, val),
                other => unknown(cx, k.span(), other, VIEW_KEYS, "in a view"),
            }
        }
        let Some(name) = name else {
            cx.problem(
                item.span(),
                "a view without `name`; add name = \"failing\" (shown in the tabs and `:view`)",
            );
            continue;
        };
        if seen.contains(&name) {
            cx.problem(
                item.span(),
                format!("view `{name}` is defined twice; give each view its own name"),
            );
            continue;
        }
        seen.push(name.clone());
        let Some(pane) = pane else {
            if !t.iter().any(|(k, _)| k.get_ref().as_ref() == "pane") {
                cx.problem(
                    item.span(),
                    format!(
                        "view `{name}` has no `pane`; add pane = \"…\" with one of: {}",
                        panes()
                    ),
                );
            }
            continue;
        };
        let view = View {
            name,
            pane,
            profile,
            filter: filter.unwrap_or_default(),
            sort,
            line,
        };
        out.push((view, profile_span));
    }
    out
}

/// A view's `profile` must be one the file defines.
pub(super) fn check_profiles(
    cx: &mut Ctx,
    views: Vec<(View, Option<Range<usize>>)>,
    profiles: &[crate::config::Profile],
) -> Vec<View> {
    let known = || {
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    views
        .into_iter()
        .map(|(v, span)| {
            if let (Some(p), Some(span)) = (&v.profile, span)
                && !profiles.iter().any(|x| &x.name == p)
            {
                let msg = format!(
                    "view `{}` names profile `{p}`, which is not defined; defined profiles: {}",
                    v.name,
                    known()
                );
                cx.problem(span, msg);
            }
            v
        })
        .collect()
}

fn panes() -> String {
    Resource::ALL.map(Resource::as_str).join(", ")
}

fn view_name(cx: &mut Ctx, v: &Spanned<DeValue>) -> Option<String> {
    let name = string(cx, v, "the view's name")?;
    if name.trim().is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        cx.problem(
            v.span(),
            format!(
                "view name `{name}` must be one word (it is typed after `:view`), e.g. \"failing\""
            ),
        );
        return None;
    }
    Some(name)
}

fn view_pane(cx: &mut Ctx, v: &Spanned<DeValue>) -> Option<Resource> {
    let s = string(cx, v, "a pane name")?;
    let r = Resource::parse(&s.to_ascii_lowercase());
    if r.is_none() {
        cx.problem(
            v.span(),
            format!("unknown pane `{s}` in a view; expected one of: {}", panes()),
        );
    }
    r
}

/// `"name"`, `"name desc"`, `"last_build asc"`.
fn view_sort(cx: &mut Ctx, v: &Spanned<DeValue>) -> Option<ViewSort> {
    let s = string(cx, v, "a sort such as \"name\" or \"last_build desc\"")?;
    let mut words = s.split_whitespace();
    let field = words.next().unwrap_or("");
    let order = words.next();
    let ascending = match order {
        None | Some("asc") => true,
        Some("desc") => false,
        Some(other) => {
            cx.problem(
                v.span(),
                format!("sort order `{other}` is not asc or desc; write e.g. \"name desc\""),
            );
            return None;
        }
    };
    let known = SORT_FIELDS.iter().find(|f| **f == field);
    match (known, words.next()) {
        (Some(f), None) => Some(ViewSort {
            field: f,
            ascending,
        }),
        (None, _) => {
            cx.problem(
                v.span(),
                format!(
                    "unknown sort column `{field}`; expected one of: {} (then optionally asc or desc)",
                    SORT_FIELDS.join(", ")
                ),
            );
            None
        }
        (Some(_), Some(_)) => {
            cx.problem(
                v.span(),
                format!("sort `{s}` has too many words; write e.g. \"name desc\""),
            );
            None
        }
    }
}
