//! Listings as streams of pages: each ListObjectsV2 page is handed to the caller as it arrives,
//! never collected whole before the first is shown, and a cancellation token stops the listing
//! between pages and drops the request in flight (the app cancels when the user moves to another
//! folder). No HEAD per object: a page carries every field a row shows.
//!
//! Callers that need the whole listing (rm, copy, download of a folder) collect the stream with
//! [`Engine::list`], [`Engine::list_recursive`] or `list_all`.

use super::*;

#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Unix seconds.
    pub last_modified: Option<i64>,
    pub etag: Option<String>,
}

/// One level of a prefix (or one page of it): sub-prefixes and objects.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    /// Sub-prefixes ("folders"), each ending in `/`.
    pub prefixes: Vec<String>,
    pub objects: Vec<ObjectInfo>,
}

/// How deep a listing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// One level: the objects directly under the prefix, and its sub-prefixes ("folders").
    Level,
    /// Every object under the prefix, at all levels (no prefixes reported).
    All,
}

/// How a streamed listing ended: what it delivered, and whether it reached the last page.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub pages: u32,
    #[cfg_attr(test, ts(type = "number"))]
    pub objects: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub prefixes: u64,
    /// Bytes of the objects delivered.
    #[cfg_attr(test, ts(type = "number"))]
    pub bytes: u64,
    /// False when the listing was cancelled before its last page.
    pub complete: bool,
}

impl Engine {
    /// Lists `prefix` page by page, calling `on_page` with each page as soon as the server answers
    /// it. Cancelling `cancel` stops the listing: no further request is sent, the one in flight is
    /// dropped, and the result says `complete: false`.
    pub async fn list_pages(
        &self,
        conn: &Connection,
        bucket: &str,
        prefix: &str,
        depth: Depth,
        cancel: &CancellationToken,
        on_page: impl FnMut(Listing),
    ) -> Result<Listed> {
        let s3 = self.requests(conn).await?;
        stream_pages(&s3, bucket, prefix, depth, cancel, on_page).await
    }

    /// Counts the objects under `prefix` (every level; the whole bucket when empty) and their bytes,
    /// calling `on_progress` with the running totals after each page; `cancel` stops it like any
    /// listing (`complete: false`).
    pub async fn size_of(
        &self,
        conn: &Connection,
        bucket: &str,
        prefix: &str,
        cancel: &CancellationToken,
        mut on_progress: impl FnMut(&Listed),
    ) -> Result<Listed> {
        let mut so_far = Listed::default();
        self.list_pages(conn, bucket, prefix, Depth::All, cancel, |page| {
            so_far.count(page.objects.iter().map(|o| o.size), 0);
            on_progress(&so_far);
        })
        .await
    }

    /// Lists one level of a bucket whole: sub-prefixes and objects.
    pub async fn list(&self, conn: &Connection, bucket: &str, prefix: &str) -> Result<Listing> {
        let mut out = Listing::default();
        let never = CancellationToken::new();
        self.list_pages(conn, bucket, prefix, Depth::Level, &never, |page| {
            out.prefixes.extend(page.prefixes);
            out.objects.extend(page.objects);
        })
        .await?;
        Ok(out)
    }

    /// Every object under `prefix` (all levels), listed page by page.
    pub async fn list_recursive(
        &self,
        conn: &Connection,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>> {
        let s3 = self.requests(conn).await?;
        self.list_all(&s3, bucket, prefix).await
    }

    /// Every object under `prefix`, page by page.
    pub(super) async fn list_all(
        &self,
        s3: &s3::Requests,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let never = CancellationToken::new();
        stream_pages(s3, bucket, prefix, Depth::All, &never, |page| {
            out.extend(page.objects)
        })
        .await?;
        Ok(out)
    }
}

/// The loop behind every listing: one ListObjectsV2 request per page, each page handed on before
/// the next is asked for.
async fn stream_pages(
    s3: &s3::Requests,
    bucket: &str,
    prefix: &str,
    depth: Depth,
    cancel: &CancellationToken,
    mut on_page: impl FnMut(Listing),
) -> Result<Listed> {
    let delimiter = (depth == Depth::Level).then_some("/");
    let mut listed = Listed::default();
    listed.complete = follow_pages(
        cancel,
        |token: Option<String>| async move {
            let page = s3
                .list_page(bucket, prefix, delimiter, token.as_deref())
                .await?;
            let listing = Listing {
                prefixes: page
                    .output
                    .common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string))
                    .collect(),
                objects: page.output.contents().iter().map(object_info).collect(),
            };
            Ok((listing, page.next))
        },
        |listing: Listing| {
            listed.count(
                listing.objects.iter().map(|o| o.size),
                listing.prefixes.len(),
            );
            on_page(listing);
        },
    )
    .await?;
    Ok(listed)
}

/// Follows a paginated listing: `fetch` asks for the page that starts at a token (`None`: the
/// first) and gives it with the next page's token; each page goes to `on_page` before the next is
/// asked for. Cancelling `cancel` stops it between pages and drops the request in flight. Returns
/// whether the last page was reached.
pub(super) async fn follow_pages<T, P, Fut>(
    cancel: &CancellationToken,
    mut fetch: impl FnMut(Option<T>) -> Fut,
    mut on_page: impl FnMut(P),
) -> Result<bool>
where
    Fut: std::future::Future<Output = Result<(P, Option<T>)>>,
{
    let mut token = None;
    loop {
        let (page, next) = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(false),
            page = fetch(token.take()) => page?,
        };
        on_page(page);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(true),
        }
    }
}

impl Listed {
    /// Counts one page: its objects' sizes and how many prefixes it held.
    pub(super) fn count(&mut self, sizes: impl Iterator<Item = u64>, prefixes: usize) {
        self.pages += 1;
        self.prefixes += prefixes as u64;
        for size in sizes {
            self.objects += 1;
            self.bytes += size;
        }
    }
}

pub(super) fn object_info(o: &aws_sdk_s3::types::Object) -> ObjectInfo {
    ObjectInfo {
        key: o.key().unwrap_or_default().to_string(),
        size: o.size().unwrap_or(0).max(0) as u64,
        last_modified: o.last_modified().map(|t| t.secs()),
        etag: o.e_tag().map(str::to_string),
    }
}
