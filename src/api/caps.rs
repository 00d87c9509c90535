//! How the backends serve lists, where they serve them alike.

use crate::domain::ListSupport;

/// A list that arrives whole; the dashboard filters and sorts the loaded rows.
pub(crate) const WHOLE_LIST: ListSupport = ListSupport {
    paged: false,
    server_filter: false,
    sort_fields: &[],
    server_qualifiers: &[],
};

/// A list that arrives whole, filtered by the server.
pub(crate) const WHOLE_FILTERED_LIST: ListSupport = ListSupport {
    server_filter: true,
    ..WHOLE_LIST
};
