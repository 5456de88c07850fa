//! The server's side of the harness: an access hook that logs what the server saw and can hold
//! requests (a "gate") for parts or ranges past a point, which lets tests stop a transfer at an exact
//! place without timing guesses.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::{
    CopyObjectInput, CreateMultipartUploadInput, DeleteObjectsInput, GetObjectInput,
    HeadObjectInput, ListObjectsV2Input, PutObjectInput, Range, ServerSideEncryption, StorageClass,
    UploadPartCopyInput, UploadPartInput,
};
use s3s::{S3Request, S3Result};
use tokio::sync::watch;

/// The server-side encryption a request asked for: `x-amz-server-side-encryption` and its KMS key id.
pub type Encryption = (Option<String>, Option<String>);

/// What the server saw, and the gate that can hold requests.
pub struct Log {
    /// (key, part number) of every UploadPart request, in arrival order.
    pub upload_parts: Mutex<Vec<(String, i32)>>,
    /// (key, first byte of the range or None) of every GetObject request.
    pub gets: Mutex<Vec<(String, Option<u64>)>>,
    pub puts: Mutex<Vec<String>>,
    /// The destination key of every CopyObject request.
    pub copies: Mutex<Vec<String>>,
    /// (destination key, part number) of every UploadPartCopy request, in arrival order.
    pub part_copies: Mutex<Vec<(String, i32)>>,
    /// The number of keys in each DeleteObjects request, in arrival order.
    pub delete_batches: Mutex<Vec<usize>>,
    /// (key, `x-amz-server-side-encryption`, its KMS key id) of each request that makes an object
    /// (PutObject, CreateMultipartUpload, CopyObject), in arrival order.
    pub encryption: Mutex<Vec<(String, Encryption)>>,
    /// (key, `x-amz-storage-class`) of each request that makes an object (PutObject,
    /// CreateMultipartUpload), in arrival order.
    pub storage_classes: Mutex<Vec<(String, Option<String>)>>,
    /// The key of every HeadObject request.
    pub heads: Mutex<Vec<String>>,
    /// (key, part number) of every HeadObject request with a part number, in arrival order.
    pub part_heads: Mutex<Vec<(String, i32)>>,
    /// UploadPart and UploadPartCopy requests with a part number at or above this are held until
    /// the gate opens.
    pub hold_parts_from: AtomicI32,
    /// Ranged GETs starting at or past this offset wait for the gate to open.
    pub hold_ranges_from: AtomicU64,
    /// The continuation token of every ListObjectsV2 request (None for a first page), in order.
    pub lists: Mutex<Vec<Option<String>>>,
    /// The ListObjectsV2 requests from this one on (1 is the first) wait for the gate to open, then
    /// are answered.
    hold_lists_from: AtomicUsize,
    open: watch::Sender<bool>,
}

impl Log {
    pub(super) fn new() -> Log {
        let (open, _) = watch::channel(true);
        Log {
            upload_parts: Mutex::new(Vec::new()),
            gets: Mutex::new(Vec::new()),
            puts: Mutex::new(Vec::new()),
            copies: Mutex::new(Vec::new()),
            part_copies: Mutex::new(Vec::new()),
            delete_batches: Mutex::new(Vec::new()),
            encryption: Mutex::new(Vec::new()),
            storage_classes: Mutex::new(Vec::new()),
            heads: Mutex::new(Vec::new()),
            part_heads: Mutex::new(Vec::new()),
            hold_parts_from: AtomicI32::new(i32::MAX),
            hold_ranges_from: AtomicU64::new(u64::MAX),
            lists: Mutex::new(Vec::new()),
            hold_lists_from: AtomicUsize::new(usize::MAX),
            open,
        }
    }

    /// Holds parts numbered `from` and up until `release`.
    pub fn hold_parts_from(&self, from: i32) {
        self.open.send_replace(false);
        self.hold_parts_from.store(from, Ordering::SeqCst);
    }

    /// Holds ranged GETs that start at `offset` or later until `release`.
    pub fn hold_ranges_from(&self, offset: u64) {
        self.open.send_replace(false);
        self.hold_ranges_from.store(offset, Ordering::SeqCst);
    }

    /// Holds the `nth` ListObjectsV2 request (1 is the first) and every later one until `release`.
    pub fn hold_lists_from(&self, nth: usize) {
        self.open.send_replace(false);
        self.hold_lists_from.store(nth, Ordering::SeqCst);
    }

    /// How many ListObjectsV2 requests the server has seen.
    pub fn list_count(&self) -> usize {
        self.lists.lock().unwrap().len()
    }

    pub fn release(&self) {
        self.hold_parts_from.store(i32::MAX, Ordering::SeqCst);
        self.hold_ranges_from.store(u64::MAX, Ordering::SeqCst);
        self.hold_lists_from.store(usize::MAX, Ordering::SeqCst);
        self.open.send_replace(true);
    }

    /// Holds a request until the gate opens, then refuses it: its client gave up on it long ago, and
    /// completing it late (its body may sit whole in the socket buffer) would make counts depend on timing.
    async fn hold(&self) -> S3Result<()> {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|open| *open).await;
        Err(s3s::s3_error!(
            InternalError,
            "a request held by the test gate"
        ))
    }

    /// Logs a part request (UploadPart or UploadPartCopy) in `log`, and holds it at the gate.
    async fn part_request(
        &self,
        log: &Mutex<Vec<(String, i32)>>,
        key: &str,
        n: i32,
    ) -> S3Result<()> {
        log.lock().unwrap().push((key.to_string(), n));
        if n >= self.hold_parts_from.load(Ordering::SeqCst) {
            return self.hold().await;
        }
        Ok(())
    }

    /// How many UploadPartCopy requests each part number of `key` (the destination) got.
    pub fn part_copy_counts(&self, key: &str) -> std::collections::BTreeMap<i32, usize> {
        counts(&self.part_copies, key)
    }

    /// How many UploadPart requests each part number of `key` got.
    pub fn part_counts(&self, key: &str) -> std::collections::BTreeMap<i32, usize> {
        counts(&self.upload_parts, key)
    }

    fn stored_as(&self, key: &str, class: &Option<StorageClass>) {
        let class = class.as_ref().map(|c| c.as_str().to_string());
        self.storage_classes
            .lock()
            .unwrap()
            .push((key.to_string(), class));
    }

    /// The storage class asked for `key` by its requests, in order.
    pub fn storage_class_of(&self, key: &str) -> Vec<Option<String>> {
        let all = self.storage_classes.lock().unwrap();
        all.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, c)| c.clone())
            .collect()
    }

    fn encrypted(&self, key: &str, sse: &Option<ServerSideEncryption>, kms: &Option<String>) {
        let sse = sse.as_ref().map(|s| s.as_str().to_string());
        let entry = (key.to_string(), (sse, kms.clone()));
        self.encryption.lock().unwrap().push(entry);
    }

    /// The encryption asked for `key` (mode, KMS key id) by its requests, in order.
    pub fn encryption_of(&self, key: &str) -> Vec<Encryption> {
        let all = self.encryption.lock().unwrap();
        all.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// How many PutObject requests `key` got.
    pub fn put_count(&self, key: &str) -> usize {
        self.puts
            .lock()
            .unwrap()
            .iter()
            .filter(|k| *k == key)
            .count()
    }

    /// How many HeadObject requests `key` got.
    pub fn head_count(&self, key: &str) -> usize {
        self.heads
            .lock()
            .unwrap()
            .iter()
            .filter(|k| *k == key)
            .count()
    }

    /// The part numbers HEAD requests of `key` asked for, in order.
    pub fn part_heads(&self, key: &str) -> Vec<i32> {
        self.part_heads
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .collect()
    }

    /// How many GETs `key` got, whole or ranged.
    pub fn get_count(&self, key: &str) -> usize {
        self.gets
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .count()
    }

    /// How many ranged GETs each starting offset of `key` got.
    pub fn range_counts(&self, key: &str) -> std::collections::BTreeMap<u64, usize> {
        let mut m = std::collections::BTreeMap::new();
        for (k, first) in self.gets.lock().unwrap().iter() {
            if let (true, Some(f)) = (k == key, first) {
                *m.entry(*f).or_insert(0) += 1;
            }
        }
        m
    }
}

/// How many requests of `log` each part number of `key` got.
fn counts(log: &Mutex<Vec<(String, i32)>>, key: &str) -> std::collections::BTreeMap<i32, usize> {
    let mut m = std::collections::BTreeMap::new();
    for (k, n) in log.lock().unwrap().iter() {
        if k == key {
            *m.entry(*n).or_insert(0) += 1;
        }
    }
    m
}

/// The access hook that fills a [`Log`] and holds requests at its gate.
pub(super) struct Hook(pub(super) Arc<Log>);

#[async_trait::async_trait]
impl S3Access for Hook {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        // The default rule: signed requests only.
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(s3s::s3_error!(AccessDenied, "Signature required")),
        }
    }

    async fn upload_part(&self, req: &mut S3Request<UploadPartInput>) -> S3Result<()> {
        let (key, n) = (&req.input.key, req.input.part_number);
        self.0.part_request(&self.0.upload_parts, key, n).await
    }

    async fn upload_part_copy(&self, req: &mut S3Request<UploadPartCopyInput>) -> S3Result<()> {
        let (key, n) = (&req.input.key, req.input.part_number);
        self.0.part_request(&self.0.part_copies, key, n).await
    }

    async fn get_object(&self, req: &mut S3Request<GetObjectInput>) -> S3Result<()> {
        let first = match req.input.range {
            Some(Range::Int { first, .. }) => Some(first),
            _ => None,
        };
        self.0
            .gets
            .lock()
            .unwrap()
            .push((req.input.key.clone(), first));
        if first.is_some_and(|f| f >= self.0.hold_ranges_from.load(Ordering::SeqCst)) {
            return self.0.hold().await;
        }
        Ok(())
    }

    async fn head_object(&self, req: &mut S3Request<HeadObjectInput>) -> S3Result<()> {
        self.0.heads.lock().unwrap().push(req.input.key.clone());
        if let Some(n) = req.input.part_number {
            self.0
                .part_heads
                .lock()
                .unwrap()
                .push((req.input.key.clone(), n));
        }
        Ok(())
    }

    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        let n = req.input.delete.objects.len();
        self.0.delete_batches.lock().unwrap().push(n);
        Ok(())
    }

    async fn list_objects_v2(&self, req: &mut S3Request<ListObjectsV2Input>) -> S3Result<()> {
        let nth = {
            let mut lists = self.0.lists.lock().unwrap();
            lists.push(req.input.continuation_token.clone());
            lists.len()
        };
        if nth >= self.0.hold_lists_from.load(Ordering::SeqCst) {
            let mut rx = self.0.open.subscribe();
            let _ = rx.wait_for(|open| *open).await;
        }
        Ok(())
    }

    async fn put_object(&self, req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        let i = &req.input;
        self.0.puts.lock().unwrap().push(i.key.clone());
        self.0
            .encrypted(&i.key, &i.server_side_encryption, &i.ssekms_key_id);
        self.0.stored_as(&i.key, &i.storage_class);
        Ok(())
    }

    async fn create_multipart_upload(
        &self,
        req: &mut S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<()> {
        let i = &req.input;
        self.0
            .encrypted(&i.key, &i.server_side_encryption, &i.ssekms_key_id);
        self.0.stored_as(&i.key, &i.storage_class);
        Ok(())
    }

    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        let i = &req.input;
        self.0.copies.lock().unwrap().push(i.key.clone());
        self.0
            .encrypted(&i.key, &i.server_side_encryption, &i.ssekms_key_id);
        Ok(())
    }
}
