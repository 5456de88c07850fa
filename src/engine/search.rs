//! Search across a prefix: a recursive listing streamed through a filter (name by substring or
//! glob, size range, modification-time range), so matches reach the caller page by page with the
//! running count of what was looked at, and a cancellation token stops it like any listing.

use globset::{GlobBuilder, GlobMatcher};

use super::listing::Depth;
use super::*;

/// Which objects a search keeps. An empty filter keeps everything.
#[derive(Debug, Clone, Default)]
pub struct ObjectFilter {
    name: Option<NameMatch>,
    /// Inclusive bounds, in bytes.
    pub min_size: Option<u64>,
    pub max_size: Option<u64>,
    /// Inclusive bounds, in Unix seconds; an object without a time is outside any bound.
    pub modified_after: Option<i64>,
    pub modified_before: Option<i64>,
}

/// A name pattern: a glob when it has `*`, `?`, `[` or `{`, otherwise a substring. Both ignore case
/// and look at the object's name (the last segment of its key).
#[derive(Debug, Clone)]
enum NameMatch {
    Glob(GlobMatcher),
    Contains(String),
}

impl ObjectFilter {
    /// A filter on names (`*.jpg`, `report-202?`, or a plain substring such as `invoice`).
    pub fn name(pattern: &str) -> Result<ObjectFilter> {
        Ok(ObjectFilter {
            name: Some(NameMatch::new(pattern)?),
            ..ObjectFilter::default()
        })
    }

    /// Whether a key's (or prefix's) name matches the name pattern; the other bounds are not looked at.
    pub fn name_matches(&self, key_or_prefix: &str) -> bool {
        let name = key_or_prefix
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        match &self.name {
            None => true,
            Some(NameMatch::Glob(g)) => g.is_match(name),
            Some(NameMatch::Contains(s)) => name.to_lowercase().contains(s),
        }
    }

    pub fn matches(&self, o: &ObjectInfo) -> bool {
        let within = |v: Option<i64>| {
            (self.modified_after.is_none() && self.modified_before.is_none())
                || v.is_some_and(|t| {
                    self.modified_after.is_none_or(|a| t >= a)
                        && self.modified_before.is_none_or(|b| t <= b)
                })
        };
        self.min_size.is_none_or(|m| o.size >= m)
            && self.max_size.is_none_or(|m| o.size <= m)
            && within(o.last_modified)
            && self.name_matches(&o.key)
    }
}

impl NameMatch {
    fn new(pattern: &str) -> Result<NameMatch> {
        if pattern.is_empty() {
            return Err(Error::invalid("a name pattern cannot be empty"));
        }
        if !pattern.contains(['*', '?', '[', '{']) {
            return Ok(NameMatch::Contains(pattern.to_lowercase()));
        }
        let glob = GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::invalid(format!("the name pattern `{pattern}`: {e}")))?;
        Ok(NameMatch::Glob(glob.compile_matcher()))
    }
}

/// How a search ended: what was looked at and what matched.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Searched {
    /// The listing underneath (objects looked at, pages, whether it reached the end).
    pub listed: Listed,
    #[cfg_attr(test, ts(type = "number"))]
    pub matched: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub matched_bytes: u64,
}

/// One page's matches and the totals so far, as the app receives them.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub objects: Vec<ObjectInfo>,
    pub so_far: Searched,
}

impl Engine {
    /// Every object under `prefix` (all levels) that `filter` keeps, handed to `on_matches` a page
    /// at a time with the running totals, as the listing goes; `cancel` stops it.
    pub async fn search(
        &self,
        conn: &Connection,
        bucket: &str,
        prefix: &str,
        filter: &ObjectFilter,
        cancel: &CancellationToken,
        mut on_matches: impl FnMut(Vec<ObjectInfo>, &Searched),
    ) -> Result<Searched> {
        let mut found = Searched::default();
        let listed = self
            .list_pages(conn, bucket, prefix, Depth::All, cancel, |page| {
                found.listed.pages += 1;
                found.listed.objects += page.objects.len() as u64;
                let hits: Vec<ObjectInfo> = page
                    .objects
                    .into_iter()
                    .filter(|o| filter.matches(o))
                    .collect();
                found.matched += hits.len() as u64;
                found.matched_bytes += hits.iter().map(|o| o.size).sum::<u64>();
                on_matches(hits, &found);
            })
            .await?;
        found.listed = listed;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, size: u64, t: Option<i64>) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            size,
            last_modified: t,
            etag: None,
        }
    }

    #[test]
    fn a_name_is_matched_by_glob_or_substring_ignoring_case_on_the_last_segment() {
        let glob = ObjectFilter::name("*.JPG").unwrap();
        assert!(glob.name_matches("photos/2025/boat.jpg"));
        assert!(!glob.name_matches("photos.jpg/readme.txt"));
        assert!(
            glob.name_matches("album.jpg/"),
            "a folder is matched by its name"
        );
        let sub = ObjectFilter::name("Report").unwrap();
        assert!(sub.name_matches("a/quarterly-report.pdf"));
        assert!(!sub.name_matches("report/a.pdf"));
        assert!(ObjectFilter::name("[").is_err());
        assert!(ObjectFilter::name("").is_err());
    }

    #[test]
    fn size_and_time_bounds_are_inclusive_and_an_unknown_time_is_outside_them() {
        let f = ObjectFilter {
            min_size: Some(10),
            max_size: Some(20),
            modified_after: Some(100),
            ..ObjectFilter::default()
        };
        assert!(f.matches(&object("a", 10, Some(100))));
        assert!(f.matches(&object("a", 20, Some(500))));
        assert!(!f.matches(&object("a", 21, Some(500))));
        assert!(!f.matches(&object("a", 15, Some(99))));
        assert!(!f.matches(&object("a", 15, None)));
        assert!(ObjectFilter::default().matches(&object("a", 0, None)));
    }
}
