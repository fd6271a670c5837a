//! Keyset pagination by id. Ids are UUIDv7 text, so `id > cursor ORDER BY id`
//! walks rows in creation order and stays stable under concurrent inserts.

use crate::wire::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: DEFAULT_PAGE_LIMIT,
        }
    }
}

impl PageRequest {
    /// `limit` clamped to the maximum; `after` must be an id (checked by the caller).
    pub fn new(after: Option<String>, limit: Option<u32>) -> Self {
        Self {
            after,
            limit: limit.unwrap_or(DEFAULT_PAGE_LIMIT).clamp(1, MAX_PAGE_LIMIT),
        }
    }

    /// How many rows to fetch: one more than the page, to know if another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Cuts the over-fetched rows down to a page and sets `next_cursor`.
    pub fn finish<R, T>(
        &self,
        mut rows: Vec<R>,
        id_of: impl Fn(&R) -> String,
        map: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(&id_of) } else { None };
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}
