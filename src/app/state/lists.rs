//! The lists of the panes: rows plus where the user is in them ([`ListMeta`]), one per pane.

use super::Millis;
use crate::domain::{Build, Developer, Filter, Project, Resource, Row, Secret, Sort};

/// One server-paginated list: its rows and where the user is in it ([`ListMeta`], reached
/// through `Deref` so `l.selected` reads as before).
#[derive(Clone, Debug)]
pub struct ListPane<T> {
    pub rows: Vec<T>,
    pub meta: ListMeta,
}

/// Everything about a list that does not depend on its row type: what the app's list logic
/// works on for any pane without knowing the rows.
#[derive(Clone, Debug)]
pub struct ListMeta {
    /// Indices of `rows` that pass the local filter (all rows when filtering is server-side).
    pub visible: Vec<usize>,
    pub total: Option<u64>,
    /// Rows per page of the last request; the next page number is derived from it.
    pub has_more: bool,
    /// The request in flight and whether it replaces the rows (refresh) or appends (next page).
    pub loading: Option<(u64, LoadKind)>,
    pub error: Option<String>,
    /// Rows on screen are older than the last failed attempt.
    pub stale: bool,
    /// Position in `visible`.
    pub selected: usize,
    /// The item the user chose: the selection follows it across refreshes, re-sorts, new
    /// pages and filter changes (an index alone would land on another build).
    pub selected_id: Option<String>,
    /// The chosen item left the list (it finished, was deleted, or no longer matches): said
    /// once, then the selection stays at the same position.
    pub gone: Option<String>,
    /// The chosen item came back under a new id (old id, new id): said once.
    pub succeeded: Option<(String, String)>,
    pub offset: usize,
    /// The filter applied as typed (its free text server-side when the backend filters,
    /// its qualifiers always on the loaded rows).
    pub filter: String,
    /// `filter` parsed (set together with it by [`ListMeta::set_filter`]).
    pub query: Filter,
    /// What is wrong with the text being typed (shown in the filter line; not applied).
    pub filter_error: Option<String>,
    /// A qualifier these rows cannot answer (no author on this backend…): said in the pane.
    pub filter_missing: Option<crate::domain::Missing>,
    /// Wall-clock time `since:` is measured from (set when rows or the filter change).
    pub wall: chrono::DateTime<chrono::Utc>,
    /// The filter the rows on screen were fetched with (what Esc returns to).
    pub applied_filter: String,
    pub server_filter: bool,
    /// The backend filters this list (the rows of its answer are all shown as they come).
    pub filters_on_server: bool,
    /// `key:` words the server of this list takes itself (`ListSupport::server_qualifiers`).
    pub server_qualifiers: &'static [&'static str],
    /// Pages of `PER_PAGE` rows covered by `rows` (the next page to ask for is `pages + 1`).
    pub pages: u32,
    pub sort: Option<Sort>,
    pub loaded_at: Option<Millis>,
    /// Wall-clock time of the last good answer ("stale since 14:02:11" after a failure).
    pub fresh_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `G` was pressed: keep the selection on the last row while the next pages arrive.
    pub to_end: bool,
    pub retry_at: Option<Millis>,
    pub failures: u32,
    /// Paging stopped before the server said the list ended (a repeated page, too many
    /// rows): said once.
    pub cut: Option<String>,
    /// Rows marked for an action on several at once (Builds: Space), by id, in the order
    /// marked: they survive refreshes; a new scope or profile starts a new list without them.
    pub marked: Vec<String>,
}

impl ListMeta {
    /// Positions in `visible` on screen for a body `height` rows high: the window follows the
    /// selection (the drawing and the lazy per-row fetches agree on what is visible).
    pub fn window(&self, height: usize) -> std::ops::Range<usize> {
        let mut offset = self.offset.min(self.visible.len().saturating_sub(1));
        if self.selected < offset {
            offset = self.selected;
        } else if height > 0 && self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset..(offset + height).min(self.visible.len())
    }
}

impl ListMeta {
    /// Set the filter text; a text that does not parse leaves the filter as it was and says
    /// why (in `filter_error`, and as the error).
    pub fn set_filter(&mut self, text: &str) -> Result<(), String> {
        match Filter::parse_for(text, self.server_qualifiers) {
            Ok(q) => {
                self.filter = text.to_string();
                self.query = q;
                self.filter_error = None;
                Ok(())
            }
            Err(e) => {
                self.filter_error = Some(e.clone());
                Err(e)
            }
        }
    }
}

impl<T> std::ops::Deref for ListPane<T> {
    type Target = ListMeta;
    fn deref(&self) -> &ListMeta {
        &self.meta
    }
}

impl<T> std::ops::DerefMut for ListPane<T> {
    fn deref_mut(&mut self) -> &mut ListMeta {
        &mut self.meta
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// Replace the rows (first load, refresh, new filter or sort).
    Reload,
    /// Append the next page.
    More,
}

impl<T> Default for ListPane<T> {
    fn default() -> Self {
        ListPane {
            rows: Vec::new(),
            meta: ListMeta::default(),
        }
    }
}

impl Default for ListMeta {
    fn default() -> Self {
        ListMeta {
            visible: Vec::new(),
            total: None,
            has_more: false,
            loading: None,
            error: None,
            stale: false,
            selected: 0,
            selected_id: None,
            gone: None,
            succeeded: None,
            offset: 0,
            filter: String::new(),
            query: Filter::default(),
            filter_error: None,
            filter_missing: None,
            wall: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            applied_filter: String::new(),
            server_filter: true,
            filters_on_server: true,
            server_qualifiers: &[],
            pages: 0,
            sort: None,
            loaded_at: None,
            fresh_at: None,
            to_end: false,
            retry_at: None,
            failures: 0,
            cut: None,
            marked: Vec::new(),
        }
    }
}

impl<T: Row> ListPane<T> {
    pub fn selected_row(&self) -> Option<&T> {
        self.visible
            .get(self.selected)
            .and_then(|&i| self.rows.get(i))
    }

    /// Recompute `visible` after rows or the filter changed, keeping the selection on the same
    /// row when it is still there.
    pub fn refilter(&mut self) {
        let keep = self
            .meta
            .selected_id
            .clone()
            .or_else(|| self.selected_row().map(|r| r.id().to_string()));
        let q = &self.meta.query;
        // A server that filters matched the free text; the qualifiers are always ours.
        let text = !self.meta.server_filter;
        self.meta.visible = if q.is_empty() || (!text && !q.has_qualifiers()) {
            (0..self.rows.len()).collect()
        } else {
            let wall = self.meta.wall;
            self.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| q.matches(*r, text, wall))
                .map(|(i, _)| i)
                .collect()
        };
        self.meta.filter_missing = q.missing(&self.rows);
        if let Some(id) = keep
            && let Some(pos) = self.visible.iter().position(|&i| self.rows[i].id() == id)
        {
            self.selected = pos;
        }
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
        // An empty list keeps the item to follow (it is selected when the rows arrive).
        if !self.visible.is_empty() {
            self.sync_selection();
        }
    }

    /// The user moved: the item under the cursor is now the one to follow.
    pub(crate) fn sync_selection(&mut self) {
        self.meta.selected_id = self.selected_row().map(|r| r.id().to_string());
    }
}

/// A list pane whatever its row type: what the app's list logic needs.
pub trait AnyList {
    fn meta(&self) -> &ListMeta;
    fn meta_mut(&mut self) -> &mut ListMeta;
    fn refilter(&mut self);
    fn sync_selection(&mut self);
    fn selected_id(&self) -> Option<String>;
    fn is_empty(&self) -> bool;
}

impl<T: Row> AnyList for ListPane<T> {
    fn meta(&self) -> &ListMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ListMeta {
        &mut self.meta
    }
    fn refilter(&mut self) {
        ListPane::refilter(self)
    }
    fn sync_selection(&mut self) {
        ListPane::sync_selection(self)
    }
    fn selected_id(&self) -> Option<String> {
        self.selected_row().map(|r| r.id().to_string())
    }
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl Lists {
    /// The list of a pane.
    pub fn get(&self, r: Resource) -> &dyn AnyList {
        match r {
            Resource::Projects => &self.projects,
            Resource::Developers => &self.developers,
            Resource::Secrets => &self.secrets,
            Resource::Builds => &self.builds,
            Resource::Releases => &self.releases,
            Resource::Audit => &self.audit,
            Resource::Overview => &self.overview,
        }
    }

    pub(crate) fn get_mut(&mut self, r: Resource) -> &mut dyn AnyList {
        match r {
            Resource::Projects => &mut self.projects,
            Resource::Developers => &mut self.developers,
            Resource::Secrets => &mut self.secrets,
            Resource::Builds => &mut self.builds,
            Resource::Releases => &mut self.releases,
            Resource::Audit => &mut self.audit,
            Resource::Overview => &mut self.overview,
        }
    }

    pub fn meta(&self, r: Resource) -> &ListMeta {
        self.get(r).meta()
    }

    pub(crate) fn meta_mut(&mut self, r: Resource) -> &mut ListMeta {
        self.get_mut(r).meta_mut()
    }
}

/// The lists, one per pane.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    pub projects: ListPane<Project>,
    pub developers: ListPane<Developer>,
    pub secrets: ListPane<Secret>,
    pub builds: ListPane<Build>,
    /// Deployment history of the selected environment (Releases pane).
    pub releases: ListPane<crate::domain::Deployment>,
    /// The audit trail, newest first (Audit pane).
    pub audit: ListPane<crate::app::mutation::AuditEntry>,
    /// What needs a look across every profile (Overview pane).
    pub overview: ListPane<crate::app::overview::OverviewItem>,
}
