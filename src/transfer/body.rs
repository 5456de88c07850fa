//! A request body over an in-memory part that counts bytes as moving as the connection takes them.
//!
//! The SDK may rebuild the body to retry a request; each rebuild takes back what the previous attempt
//! counted, so progress never counts a part twice. `--limit-rate` is applied here, chunk by chunk.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::progress::{Counter, RateLimiter};

const CHUNK: usize = 64 * 1024;

struct CountingBody {
    data: Bytes,
    pos: usize,
    counter: Arc<Counter>,
    counted: Arc<AtomicU64>,
    limiter: Option<Arc<RateLimiter>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    pending: Option<Bytes>,
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            if let Some(chunk) = this.pending.take() {
                let n = chunk.len() as u64;
                this.counter.sending(n);
                this.counted.fetch_add(n, Ordering::Relaxed);
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            if this.pos >= this.data.len() {
                return Poll::Ready(None);
            }
            let end = (this.pos + CHUNK).min(this.data.len());
            let chunk = this.data.slice(this.pos..end);
            this.pos = end;
            if let Some(l) = &this.limiter {
                let wait = l.reserve(chunk.len());
                if !wait.is_zero() {
                    this.sleep = Some(Box::pin(tokio::time::sleep(wait)));
                }
            }
            this.pending = Some(chunk);
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.data.len() && self.pending.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let left = (self.data.len() - self.pos) + self.pending.as_ref().map_or(0, |p| p.len());
        SizeHint::with_exact(left as u64)
    }
}

/// A retryable body over `data` that adds to `counter` as it is sent.
///
/// `counted` holds what the current attempt has counted, so a caller that gives up on the attempt can
/// take it back.
pub fn counting(
    data: Bytes,
    counter: Arc<Counter>,
    counted: Arc<AtomicU64>,
    limiter: Option<Arc<RateLimiter>>,
) -> ByteStream {
    let body = SdkBody::retryable(move || {
        let before = counted.swap(0, Ordering::Relaxed);
        counter.unsend(before);
        SdkBody::from_body_1_x(CountingBody {
            data: data.clone(),
            pos: 0,
            counter: counter.clone(),
            counted: counted.clone(),
            limiter: limiter.clone(),
            sleep: None,
            pending: None,
        })
    });
    ByteStream::new(body)
}
