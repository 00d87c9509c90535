//! Cutting a list into the part a request asked for. How `page`, `per_page`, `offset` and
//! `limit` are read, defaulted and refused is each server's own (its wire rules); the slicing
//! is the same everywhere.

/// Rows `offset..offset + limit`.
pub fn window<T>(rows: impl IntoIterator<Item = T>, offset: usize, limit: usize) -> Vec<T> {
    rows.into_iter().skip(offset).take(limit).collect()
}

/// The first row of page `page` (1-based; 0 is read as 1) of `per_page` rows.
pub(crate) fn page_offset(page: usize, per_page: usize) -> usize {
    page.saturating_sub(1).saturating_mul(per_page)
}

/// Page `page` (1-based; 0 is read as 1) of `per_page` rows.
pub fn page<T>(rows: impl IntoIterator<Item = T>, page: usize, per_page: usize) -> Vec<T> {
    window(rows, page_offset(page, per_page), per_page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_windows() {
        let rows: Vec<u32> = (1..=25).collect();
        assert_eq!(page(rows.clone(), 1, 10), (1..=10).collect::<Vec<_>>());
        assert_eq!(page(rows.clone(), 3, 10), (21..=25).collect::<Vec<_>>());
        assert!(page(rows.clone(), 4, 10).is_empty());
        assert_eq!(page(rows.clone(), 0, 2), vec![1, 2]);
        assert!(page(rows.clone(), usize::MAX, usize::MAX).is_empty());
        assert_eq!(window(rows.clone(), 23, usize::MAX), vec![24, 25]);
        assert!(window(rows, 0, 0).is_empty());
        assert_eq!(page_offset(3, 10), 20);
    }
}
