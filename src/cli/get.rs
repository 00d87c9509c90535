//! `shipdeck get <list> [--json]`: every page of a list, de-duplicated, on stdout.

use super::out::{err, out};
use super::{Cli, EXIT_OK, GetWhat, report};
use crate::api::paging::{Cut, Limits, Walk};
use crate::api::{ApiError, Backend};
use crate::config::{Config, Profile};
use crate::domain::{ListQuery, Page, Row};
use crate::weblinks::WebItem;
use serde::Serialize;
use std::future::Future;

/// Rows per request for one-shot listing (no UI to fill, so fewer round trips).
const PER_PAGE: u32 = 100;

pub async fn run(cli: &Cli, cfg: &Config, what: GetWhat, json: bool) -> i32 {
    super::builds::with_session(cli, cfg, async |p, b, _| {
        list(&p, b.as_ref(), what, json, p.paging).await
    })
    .await
}

/// The link to an item of this profile's web UI (`"url"` in `--json`).
pub(super) fn link(p: &Profile, item: &WebItem) -> String {
    crate::weblinks::url(p.kind, &p.url, p.web_url.as_ref(), item)
}

async fn list(
    profile: &Profile,
    b: &dyn Backend,
    what: GetWhat,
    json: bool,
    limits: Limits,
) -> i32 {
    let mut cut = None;
    let cut = &mut cut;
    let result = match what {
        GetWhat::Projects => all(limits, cut, |q| async move { b.projects(&q).await })
            .await
            .map(|rows| {
                print_linked(
                    &rows,
                    (json, |p: &crate::domain::Project| {
                        link(profile, &WebItem::Project { id: &p.id })
                    }),
                    &["ID", "PROJECT", "LAST BUILD", "EXIT", "MEANING"],
                    |p| {
                        let lb = p.last_build.as_ref();
                        vec![
                            p.id.clone(),
                            p.name.clone(),
                            lb.map_or("never built".into(), |b| b.status.label().to_string()),
                            lb.and_then(|b| b.exit_code)
                                .map(|c| c.to_string())
                                .unwrap_or_default(),
                            lb.and_then(|b| b.message.clone()).unwrap_or_default(),
                        ]
                    },
                )
            }),
        GetWhat::Developers => all(limits, cut, |q| async move { b.developers(&q).await })
            .await
            .map(|rows| {
                print(&rows, json, &["ID", "USERNAME", "EMAIL", "ROLES"], |d| {
                    vec![
                        d.id.clone(),
                        d.username.clone(),
                        d.email.clone().unwrap_or_default(),
                        d.roles.join(","),
                    ]
                })
            }),
        // Listed by `cli::builds` and `cli::changes` (dispatched before this).
        GetWhat::Builds | GetWhat::Deployments | GetWhat::Environments => Ok(()),
        GetWhat::Secrets => all(limits, cut, |q| async move { b.secrets(&q).await })
            .await
            .map(|rows| {
                print(&rows, json, &["ID", "NAME", "SCOPE", "ENVIRONMENT"], |s| {
                    vec![
                        s.id.clone(),
                        s.name.clone(),
                        s.scope.clone(),
                        s.environment.clone().unwrap_or_default(),
                    ]
                })
            }),
    };
    match (result, cut.take()) {
        (Err(e), _) => report(&e),
        (Ok(()), None) => EXIT_OK,
        (Ok(()), Some((c, rows))) => {
            err!("shipdeck: {}", c.message(rows));
            // Rows the server still had were left out: a script must not take it as the list.
            if c.complete() { EXIT_OK } else { 1 }
        }
    }
}

/// Walk the pages until a short or empty one, within `limits` (a repeated page, a page past
/// the declared total, too many pages or rows stop it: `cut` says why and how many rows were
/// kept); keep each id once.
async fn all<T: Row, F, Fut>(
    limits: Limits,
    cut: &mut Option<(Cut, usize)>,
    fetch: F,
) -> Result<Vec<T>, ApiError>
where
    F: Fn(ListQuery) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut rows: Vec<T> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut walk = Walk::new(limits);
    for page in 1.. {
        let p = fetch(ListQuery {
            page,
            per_page: PER_PAGE,
            filter: None,
            sort: None,
        })
        .await?;
        let ids: Vec<String> = p.items.iter().map(|i| i.id().to_string()).collect();
        let before = rows.len();
        let room = usize::try_from(walk.room()).unwrap_or(usize::MAX);
        for item in p.items {
            if rows.len() - before >= room {
                break;
            }
            if seen.insert(item.id().to_string()) {
                rows.push(item);
            }
        }
        let kept = (rows.len() - before) as u64;
        match walk.next(ids, p.total, p.per_page.max(1), p.has_more, kept) {
            Ok(true) => {}
            Ok(false) => break,
            Err(c) => {
                *cut = Some((c, rows.len()));
                break;
            }
        }
    }
    Ok(rows)
}

/// [`print`], and in JSON each object also carries its `"url"` in the system's web UI.
pub(super) fn print_linked<T: Serialize>(
    rows: &[T],
    (json, url): (bool, impl Fn(&T) -> String),
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) {
    if !json {
        return print(rows, json, header, cells);
    }
    let linked: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("url".into(), serde_json::Value::String(url(r)));
            }
            v
        })
        .collect();
    print(&linked, json, header, |_| Vec::new());
}

pub(super) fn print<T: Serialize>(
    rows: &[T],
    json: bool,
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) {
    if json {
        match serde_json::to_string_pretty(rows) {
            Ok(s) => {
                super::out::json(&s);
            }
            Err(e) => err!("shipdeck: cannot encode JSON: {e}"),
        }
        return;
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cells(r)
                .into_iter()
                .map(|c| crate::ui::clean(&c).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    for row in table {
        out!("{}", line(row));
    }
    err!("{} row(s)", rows.len());
}
