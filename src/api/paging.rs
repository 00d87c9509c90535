//! Bounds for walking every page of a list: a server that ignores `page` (the same rows
//! again), one that pages past the total it declared, or one that never ends must not keep a
//! command paging for minutes. A walk stops at the first of: a page with the same ids as the
//! page before, a full page past the declared total, `max_pages` pages or `max_rows` rows
//! (profile keys, [`Limits`]). What was cut is said in one sentence ([`Cut::message`]).

/// Pages fetched for one list at most, unless the profile says otherwise (`max_pages`).
pub const DEFAULT_MAX_PAGES: u32 = 1_000;
/// Rows kept for one list at most, unless the profile says otherwise (`max_rows`).
pub const DEFAULT_MAX_ROWS: u64 = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_pages: u32,
    pub max_rows: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pages: DEFAULT_MAX_PAGES,
            max_rows: DEFAULT_MAX_ROWS,
        }
    }
}

/// Why a walk stopped before the server said the list ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Page `page` held the same rows as the one before (the server ignores `page`).
    Repeated { page: u32 },
    /// The server declared `total` rows but still had more after `pages` pages.
    PastTotal { pages: u32, total: u64 },
    /// `max_pages` reached.
    MaxPages(u32),
    /// `max_rows` reached.
    MaxRows(u64),
}

impl Cut {
    /// One sentence for the operator: what was cut, and what to do.
    pub fn message(&self, rows: usize) -> String {
        match self {
            Cut::Repeated { page } => format!(
                "stopped paging: page {page} repeated the rows of page {} (the server seems to \
                 ignore the page number); {rows} row(s) listed",
                page.saturating_sub(1)
            ),
            Cut::PastTotal { pages, total } => format!(
                "stopped paging after {pages} pages: the server declared {total} row(s) but \
                 kept sending more; {rows} row(s) listed"
            ),
            Cut::MaxPages(n) => format!(
                "list cut at {n} pages (max_pages); {rows} row(s) listed, more exist — \
                 raise max_pages in the profile to see them"
            ),
            Cut::MaxRows(n) => format!(
                "list cut at {n} rows (max_rows); more exist — raise max_rows in the profile \
                 to see them"
            ),
        }
    }

    /// Whether the rows listed are all the server has (it just does not page properly).
    pub fn complete(&self) -> bool {
        matches!(self, Cut::Repeated { .. } | Cut::PastTotal { .. })
    }
}

/// The state of one walk over pages.
pub struct Walk {
    limits: Limits,
    pages: u32,
    rows: u64,
    previous: Vec<String>,
}

impl Walk {
    pub fn new(limits: Limits) -> Walk {
        Walk {
            limits,
            pages: 0,
            rows: 0,
            previous: Vec::new(),
        }
    }

    /// Rows that may still be kept (the caller keeps no more than this of a page).
    pub fn room(&self) -> u64 {
        self.limits.max_rows.saturating_sub(self.rows)
    }

    /// Account for one more page (its ids in order, the total it declared, its size asked
    /// for, whether the server says more follow, the new rows kept of it); `Ok(true)` to fetch
    /// the next page, `Ok(false)` when the list ended, `Err` when the walk must stop.
    pub fn next(
        &mut self,
        ids: Vec<String>,
        total: Option<u64>,
        per_page: u32,
        has_more: bool,
        kept: u64,
    ) -> Result<bool, Cut> {
        self.pages += 1;
        self.rows += kept;
        if !ids.is_empty() && ids == self.previous {
            return Err(Cut::Repeated { page: self.pages });
        }
        self.previous = ids;
        if !has_more {
            return Ok(false);
        }
        if self.rows >= self.limits.max_rows {
            return Err(Cut::MaxRows(self.limits.max_rows));
        }
        if let Some(total) = total {
            // One whole page of slack: totals may lag behind a list that grows.
            let declared = total.div_ceil(u64::from(per_page.max(1)));
            if u64::from(self.pages) > declared {
                return Err(Cut::PastTotal {
                    pages: self.pages,
                    total,
                });
            }
        }
        if self.pages >= self.limits.max_pages {
            return Err(Cut::MaxPages(self.limits.max_pages));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(r: std::ops::Range<u32>) -> Vec<String> {
        r.map(|i| i.to_string()).collect()
    }

    #[test]
    fn a_repeated_page_stops_the_walk() {
        let mut w = Walk::new(Limits::default());
        assert_eq!(w.next(ids(0..10), None, 10, true, 10), Ok(true));
        assert_eq!(
            w.next(ids(0..10), None, 10, true, 0),
            Err(Cut::Repeated { page: 2 })
        );
    }

    #[test]
    fn limits_and_totals_stop_the_walk() {
        let mut w = Walk::new(Limits {
            max_pages: 3,
            max_rows: 1_000,
        });
        assert_eq!(w.next(ids(0..10), None, 10, true, 10), Ok(true));
        assert_eq!(w.next(ids(10..20), None, 10, true, 10), Ok(true));
        assert_eq!(
            w.next(ids(20..30), None, 10, true, 10),
            Err(Cut::MaxPages(3))
        );

        let mut w = Walk::new(Limits {
            max_pages: 100,
            max_rows: 25,
        });
        assert_eq!(w.next(ids(0..10), None, 10, true, 10), Ok(true));
        assert_eq!(w.room(), 15);
        assert_eq!(w.next(ids(10..20), None, 10, true, 10), Ok(true));
        assert_eq!(
            w.next(ids(20..30), None, 10, true, 5),
            Err(Cut::MaxRows(25))
        );

        let mut w = Walk::new(Limits::default());
        assert_eq!(w.next(ids(0..10), Some(15), 10, true, 10), Ok(true));
        assert_eq!(w.next(ids(10..20), Some(15), 10, true, 10), Ok(true));
        assert_eq!(
            w.next(ids(20..30), Some(15), 10, true, 10),
            Err(Cut::PastTotal {
                pages: 3,
                total: 15
            })
        );
        // A short last page ends the list normally.
        let mut w = Walk::new(Limits::default());
        assert_eq!(w.next(ids(0..3), Some(3), 10, false, 3), Ok(false));
        assert!(Cut::Repeated { page: 2 }.complete() && !Cut::MaxPages(1).complete());
        assert!(Cut::MaxPages(7).message(70).contains("max_pages"));
    }
}
