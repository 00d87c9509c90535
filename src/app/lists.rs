//! The list logic every pane shares: asking for rows (reload or the next page), applying a
//! page (or an error: the rows stay, marked stale), refresh and retry timing, prefetch,
//! selection movement, the filter and the sort, and the per-profile cache of first pages.

use super::action::{Effect, ListCache, Listing};
use super::messages::toast;
use super::state::{
    Conn, Level, ListMeta, ListPane, LoadKind, MAX_REFRESH_ROWS, Millis, PER_PAGE, Screen, State,
    short_id,
};
use crate::api::ApiError;
use crate::domain::{ListQuery, Page, Resource, Row, Sort};

/// Spinner frame interval while something loads.
pub(crate) const SPINNER_MS: Millis = 120;
const MAX_BACKOFF_MS: Millis = 30_000;
/// Rows kept per list in the cache.
const CACHE_ROWS: usize = 200;

pub(crate) fn backoff(failures: u32) -> Millis {
    (1_000u64 << failures.saturating_sub(1).min(5)).min(MAX_BACKOFF_MS)
}

/// Ask for rows: `Reload` replaces them (every loaded page in one request), `More` appends the
/// next page. A newer request for the same list supersedes an older one.
pub fn load(s: &mut State, res: Resource, kind: LoadKind, fx: &mut Vec<Effect>) {
    let Some(support) = s.caps().and_then(|c| c.list(res)).cloned() else {
        return;
    };
    let epoch = s.epoch;
    {
        let l = s.lists.meta(res);
        if kind == LoadKind::More && (l.loading.is_some() || !l.has_more) {
            return;
        }
    }
    let req = s.take_req();
    let query = {
        let l = s.lists.meta_mut(res);
        l.filters_on_server = support.server_filter;
        l.server_qualifiers = support.server_qualifiers;
        // Only the free text goes to the server; the qualifiers are applied on the rows here.
        let filter = if support.server_filter && !l.query.text.is_empty() {
            Some(l.query.text.clone())
        } else {
            None
        };
        if support.server_filter {
            l.applied_filter = l.filter.clone();
        }
        let query = match kind {
            LoadKind::Reload => {
                let pages = l.pages.clamp(1, MAX_REFRESH_ROWS / PER_PAGE);
                ListQuery {
                    page: 1,
                    per_page: PER_PAGE * pages,
                    filter,
                    sort: l.sort.clone(),
                }
            }
            LoadKind::More => ListQuery {
                page: l.pages + 1,
                per_page: PER_PAGE,
                filter,
                sort: l.sort.clone(),
            },
        };
        l.loading = Some((req, kind));
        l.retry_at = None;
        query
    };
    fx.push(if res == Resource::Audit {
        // Local data: answered at once, through the same path as a server page.
        let items: Vec<_> = s.audit.iter().rev().cloned().collect();
        let page = crate::domain::Page::whole(items);
        fx.pop();
        list_loaded(s, req, Ok(Listing::Audit(page)), fx);
        return;
    } else if res == Resource::Overview {
        Effect::FetchOverview { epoch, req }
    } else if res == Resource::Releases {
        let Some((project, environment)) = s.releases.selected() else {
            s.lists.releases.loading = None;
            return;
        };
        Effect::FetchDeployments {
            epoch,
            req,
            project,
            environment,
            page: query.page,
            per_page: query.per_page,
        }
    } else if res == Resource::Builds {
        Effect::FetchBuilds {
            epoch,
            req,
            scope: s.builds_scope.clone(),
        }
    } else {
        Effect::FetchList {
            epoch,
            req,
            resource: res,
            query,
        }
    });
    s.dirty = true;
}

pub(crate) fn list_loaded(
    s: &mut State,
    req: u64,
    result: Result<Listing, ApiError>,
    fx: &mut Vec<Effect>,
) {
    let now = s.now;
    let wall = s.wall;
    let (res, outcome) = match result {
        Ok(Listing::Projects(p)) => (
            Resource::Projects,
            apply(&mut s.lists.projects, req, Ok(p), (now, wall)),
        ),
        Ok(Listing::Builds(p)) => (
            Resource::Builds,
            apply(&mut s.lists.builds, req, Ok(p), (now, wall)),
        ),
        Ok(Listing::Deployments(p)) => (
            Resource::Releases,
            apply(&mut s.lists.releases, req, Ok(p), (now, wall)),
        ),
        Ok(Listing::Audit(p)) => (
            Resource::Audit,
            apply(&mut s.lists.audit, req, Ok(p), (now, wall)),
        ),
        Ok(Listing::Overview(p)) => (
            Resource::Overview,
            apply(&mut s.lists.overview, req, Ok(p), (now, wall)),
        ),
        Ok(Listing::Developers(p)) => (
            Resource::Developers,
            apply(&mut s.lists.developers, req, Ok(p), (now, wall)),
        ),
        Ok(Listing::Secrets(p)) => (
            Resource::Secrets,
            apply(&mut s.lists.secrets, req, Ok(p), (now, wall)),
        ),
        Err(e) => {
            // Find the list this request belongs to.
            let res = Resource::ALL
                .into_iter()
                .find(|r| s.lists.meta(*r).loading.is_some_and(|(id, _)| id == req));
            match res {
                Some(r) => {
                    let has_rows = !s.lists.get(r).is_empty();
                    (r, apply_err(s.lists.meta_mut(r), has_rows, e, now))
                }
                None => return,
            }
        }
    };
    match outcome {
        Applied::Ignored => {}
        Applied::Unchanged => {
            if s.conn != Conn::Online {
                s.conn = Conn::Online;
                s.dirty = true;
            }
        }
        Applied::Changed => {
            s.conn = Conn::Online;
            s.dirty = true;
            if let Some((old, new)) = s.lists.meta_mut(res).succeeded.take()
                && res == s.pane
            {
                toast(
                    s,
                    Level::Info,
                    format!(
                        "{} finished and is now {}: the selection followed it",
                        short_id(&old),
                        short_id(&new)
                    ),
                );
            }
            if let Some(cut) = s.lists.meta_mut(res).cut.take() {
                tracing::warn!(list = res.as_str(), "{cut}");
                toast(s, Level::Warn, cut);
            }
            // Said only when nothing else is being said (a kill's "killed" explains it better).
            if let Some(id) = s.lists.meta_mut(res).gone.take()
                && res == s.pane
                && s.toast.is_none()
            {
                toast(
                    s,
                    Level::Info,
                    format!(
                        "{} is no longer in the list; the selection moved",
                        short_id(&id)
                    ),
                );
            }
            if matches!(
                res,
                Resource::Projects | Resource::Developers | Resource::Secrets
            ) {
                save_cache(s, fx);
            }
            if res == s.pane && s.lists.meta(res).to_end {
                // `G` on a server-paged list: follow the end until the last page is in.
                bottom(s, fx);
            } else if res == s.pane {
                prefetch(s, fx);
            }
        }
        Applied::Failed(e) => {
            s.dirty = true;
            match e {
                ApiError::Auth(m) => {
                    s.conn = Conn::AuthFailed(crate::api::errors::cap_message(&m).into_owned())
                }
                e if e.is_connectivity() => {
                    let l = s.lists.meta(res);
                    let (retry_at, attempt) = (l.retry_at.unwrap_or(now), l.failures);
                    s.conn = Conn::Offline {
                        reason: crate::api::errors::cap_message(&e.to_string()).into_owned(),
                        retry_at,
                        attempt,
                    };
                }
                _ => {}
            }
        }
    }
}

enum Applied {
    Ignored,
    Unchanged,
    Changed,
    Failed(ApiError),
}

fn apply<T: Row>(
    l: &mut ListPane<T>,
    req: u64,
    page: Result<Page<T>, ApiError>,
    (now, wall): (Millis, chrono::DateTime<chrono::Utc>),
) -> Applied {
    let Some((id, kind)) = l.loading else {
        return Applied::Ignored;
    };
    if id != req {
        return Applied::Ignored;
    }
    let page = match page {
        Ok(p) => p,
        Err(e) => return apply_err(&mut l.meta, !l.rows.is_empty(), e, now),
    };
    l.loading = None;
    l.server_filter = l.filters_on_server;
    l.wall = wall;
    let was_healthy = l.error.is_none() && !l.stale;
    l.error = None;
    l.stale = false;
    l.failures = 0;
    l.retry_at = None;
    l.loaded_at = Some(now);
    l.fresh_at = Some(wall);
    let mut changed = !was_healthy;
    // The chosen row and the ids before this answer: what it may have become.
    let chosen: Option<(T, std::collections::HashSet<String>)> = l
        .selected_id
        .as_ref()
        .and_then(|id| l.rows.iter().find(|r| r.id() == id))
        .map(|r| {
            (
                r.clone(),
                l.rows.iter().map(|r| r.id().to_string()).collect(),
            )
        });
    let mut has_more = page.has_more;
    match kind {
        LoadKind::Reload => {
            if l.rows != page.items {
                l.rows = page.items;
                changed = true;
            }
            l.pages = (page.per_page / PER_PAGE).max(1);
        }
        LoadKind::More => {
            let before = l.rows.len();
            let mut known: std::collections::HashSet<String> =
                l.rows.iter().map(|r| r.id().to_string()).collect();
            for item in page.items {
                // Rows shift between pages while the list changes: keep each id once.
                if known.insert(item.id().to_string()) {
                    l.rows.push(item);
                }
            }
            let added = l.rows.len() - before;
            changed |= added != 0;
            l.pages += 1;
            // A server that repeats a page (it ignores the page number) or never ends is not
            // followed further (`G` would fetch forever).
            let max = crate::api::paging::DEFAULT_MAX_ROWS;
            if has_more && added == 0 {
                has_more = false;
                l.cut = Some(format!(
                    "stopped paging: page {} brought no new rows (the server seems to ignore \
                     the page number)",
                    l.pages
                ));
            } else if has_more && l.rows.len() as u64 >= max {
                has_more = false;
                l.cut = Some(format!("list cut at {max} rows; filter to see others"));
            }
        }
    }
    if l.has_more != has_more || l.total != page.total {
        changed = true;
    }
    l.has_more = has_more;
    l.total = if has_more {
        page.total.map(|t| t.max(l.rows.len() as u64))
    } else {
        Some(l.rows.len() as u64)
    };
    let keep = l.selected_id.clone();
    l.refilter();
    if keep.is_some() && l.selected_id != keep {
        let successor = chosen.and_then(|(old, ids)| {
            l.rows
                .iter()
                .find(|r| !ids.contains(r.id()) && r.succeeds(&old))
                .map(|r| r.id().to_string())
        });
        match (successor, keep) {
            (Some(new), Some(old)) => {
                l.selected_id = Some(new.clone());
                l.refilter();
                l.succeeded = Some((old, new));
            }
            (None, keep) => l.gone = keep,
            (Some(_), None) => {}
        }
    }
    if changed {
        Applied::Changed
    } else {
        Applied::Unchanged
    }
}

fn apply_err(l: &mut ListMeta, has_rows: bool, e: ApiError, now: Millis) -> Applied {
    l.loading = None;
    l.failures += 1;
    l.error = Some(crate::api::errors::cap_message(&e.to_string()).into_owned());
    l.stale = has_rows;
    // Connectivity and server failures retry with backoff; a refusal waits for the user.
    let retry = crate::api::errors::is_transient(&e);
    l.retry_at = retry.then(|| now + backoff(l.failures));
    l.loaded_at = Some(now);
    Applied::Failed(e)
}

pub fn tick(s: &mut State, fx: &mut Vec<Effect>) {
    let now = s.now;
    if s.toast.as_ref().is_some_and(|t| t.until <= now) {
        s.toast = None;
        s.dirty = true;
    }
    if s.conn == Conn::Connecting || s.lists.meta(s.pane).loading.is_some() {
        s.dirty = true; // spinner frame
    }
    // The watch list polls every profile concerned, whatever is on screen.
    super::watch::tick(s, fx);
    if let Conn::Offline { retry_at, .. } = s.conn
        && retry_at <= now
        && s.session.is_none()
    {
        s.conn = Conn::Connecting;
        fx.push(Effect::Login { epoch: s.epoch });
        s.dirty = true;
        return;
    }
    if s.session.is_none() || s.screen != Screen::Dashboard || s.log_visible() {
        return;
    }
    super::panes::releases::tick(s, fx);
    super::recent::want(s, fx);
    if s.pane == Resource::Builds && s.builds_active() {
        s.dirty = true; // live durations
    }
    let refresh_ms = s.refresh_interval();
    let l = s.lists.meta(s.pane);
    let due = l.loading.is_none()
        && match (l.retry_at, l.loaded_at) {
            (Some(r), _) => r <= now,
            (None, Some(t)) => t + refresh_ms <= now,
            (None, None) => false,
        };
    if due && s.pane == Resource::Audit {
        return;
    }
    if due {
        if s.pane == Resource::Releases {
            super::panes::releases::refresh_pipeline(s, fx);
        }
        load(s, s.pane, LoadKind::Reload, fx);
        // A background refresh shows nothing new until its answer differs.
        s.dirty = s.lists.get(s.pane).is_empty();
    }
}

/// Fetch the next page when the selection nears the end of the loaded rows, or when the loaded
/// rows do not fill the screen.
pub fn prefetch(s: &mut State, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let rows = s.page_rows;
    let l = s.lists.meta(s.pane);
    let want = l.has_more
        && l.loading.is_none()
        && l.error.is_none()
        && (l.selected + rows >= l.visible.len() || l.visible.len() < rows);
    if want {
        load(s, s.pane, LoadKind::More, fx);
    }
}

/// `G`: the last row, also of a list the server pages (the pages still missing are fetched,
/// one after another, with the selection on the end).
pub fn bottom(s: &mut State, fx: &mut Vec<Effect>) {
    move_by(s, i64::MAX / 2, fx);
    let l = s.lists.meta_mut(s.pane);
    l.to_end = l.has_more;
}

pub(crate) fn move_by(s: &mut State, delta: i64, fx: &mut Vec<Effect>) {
    if s.detail.is_some() {
        return;
    }
    let rows = s.page_rows;
    {
        let l = s.lists.meta_mut(s.pane);
        l.to_end = false;
        let len = l.visible.len();
        if len == 0 {
            return;
        }
        let target = (l.selected as i64)
            .saturating_add(delta)
            .clamp(0, len as i64 - 1);
        l.selected = target as usize;
        // Keep the selection on screen.
        if l.selected < l.offset {
            l.offset = l.selected;
        } else if l.selected >= l.offset + rows {
            l.offset = l.selected + 1 - rows;
        }
    }
    s.lists.get_mut(s.pane).sync_selection();
    prefetch(s, fx);
}

/// Whether the backend filters this pane's list itself.
pub(crate) fn server_filters(s: &State, pane: Resource) -> bool {
    s.caps()
        .and_then(|c| c.list(pane))
        .is_some_and(|l| l.server_filter)
}

/// Apply a filter typed with `/` (or a saved view's): the free text goes to a server that
/// filters, the qualifiers are applied on the loaded rows. A filter that does not parse is
/// not applied; the error says why.
pub(crate) fn commit_filter(
    s: &mut State,
    text: String,
    fx: &mut Vec<Effect>,
) -> Result<(), String> {
    let pane = s.pane;
    let server = server_filters(s, pane);
    let wall = s.wall;
    let list = s.lists.get_mut(pane);
    let l = list.meta_mut();
    let old_text = crate::domain::Filter::parse_for(&l.applied_filter, l.server_qualifiers)
        .map(|f| f.text)
        .unwrap_or_default();
    l.set_filter(&text)?;
    l.wall = wall;
    // Only a new free text needs the server; new qualifiers apply to the rows on screen.
    let changed = server && old_text != l.query.text;
    // Until the server's answer comes, the rows on screen are filtered here: Enter right
    // after a new filter never acts on a row the filter excludes.
    l.server_filter = server && !changed;
    l.applied_filter = text;
    l.selected = 0;
    list.refilter();
    if changed {
        load(s, pane, LoadKind::Reload, fx);
    }
    Ok(())
}

pub(crate) fn cycle_sort(s: &mut State, fx: &mut Vec<Effect>) {
    let fields = s
        .caps()
        .and_then(|c| c.list(s.pane))
        .map(|l| l.sort_fields)
        .unwrap_or(&[]);
    if fields.is_empty() {
        toast(
            s,
            Level::Info,
            format!("the server cannot sort {}", s.pane.as_str()),
        );
        return;
    }
    {
        let l = s.lists.meta_mut(s.pane);
        l.sort = match &l.sort {
            None => Some(Sort {
                field: fields[0],
                ascending: true,
            }),
            Some(cur) => {
                let i = fields.iter().position(|f| *f == cur.field).unwrap_or(0);
                fields.get(i + 1).map(|f| Sort {
                    field: f,
                    ascending: true,
                })
            }
        };
    }
    load(s, s.pane, LoadKind::Reload, fx);
}

/// Reverse the sort order (a sort column must be chosen first).
pub(crate) fn toggle_sort_order(s: &mut State, fx: &mut Vec<Effect>) {
    let changed = match &mut s.lists.meta_mut(s.pane).sort {
        Some(sort) => {
            sort.ascending = !sort.ascending;
            true
        }
        None => false,
    };
    if changed {
        load(s, s.pane, LoadKind::Reload, fx);
    } else {
        toast(s, Level::Info, "press s to pick a sort column first");
    }
}

/// Reload a list from its first page (used by other app modules).
pub fn reload(s: &mut State, res: Resource, fx: &mut Vec<Effect>) {
    load(s, res, LoadKind::Reload, fx);
}

/// Cached rows for a list nothing fresher has filled yet: shown dimmed as stale.
pub(crate) fn prefill<T: Row>(l: &mut ListPane<T>, rows: Vec<T>) {
    if l.loaded_at.is_some() || !l.rows.is_empty() || rows.is_empty() {
        return;
    }
    l.rows = rows;
    l.stale = true;
    l.refilter();
}

/// After a fresh first page: keep what the lists show for the next start.
pub(crate) fn save_cache(s: &State, fx: &mut Vec<Effect>) {
    let Some(profile) = s.profile().map(|p| p.name.clone()) else {
        return;
    };
    let take = |n: usize| n.min(CACHE_ROWS);
    let l = &s.lists;
    // Only unfiltered lists describe the profile; a filtered one would mislead next time.
    let fresh = |f: &str, stale: bool| f.is_empty() && !stale;
    let cache = ListCache {
        projects: if fresh(&l.projects.applied_filter, l.projects.stale) {
            l.projects.rows[..take(l.projects.rows.len())].to_vec()
        } else {
            Vec::new()
        },
        developers: if fresh(&l.developers.applied_filter, l.developers.stale) {
            l.developers.rows[..take(l.developers.rows.len())].to_vec()
        } else {
            Vec::new()
        },
        secrets: if fresh(&l.secrets.applied_filter, l.secrets.stale) {
            l.secrets.rows[..take(l.secrets.rows.len())].to_vec()
        } else {
            Vec::new()
        },
    };
    fx.push(Effect::SaveCache {
        profile,
        cache: Box::new(cache),
    });
}
