//! A loopback TCP proxy between the engine and the test server that breaks connections on command.
//!
//! It understands just enough HTTP/1.1 (request heads and `Content-Length` bodies; hyper never
//! pipelines) to aim a fault at one request: cut the connection after N bytes of a request body or of
//! a response, stall it (open, no bytes), throttle every byte, or refuse new connections for a while
//! (the listener is closed, so connects fail with "connection refused") while dropping the open ones.
//! Seeded random cuts serve the soak test. Every fault is counted so tests can report what happened,
//! and every request head is kept, so a test can check what the server was asked.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{ledger, Chance};

/// What a request looks like to the proxy.
#[derive(Debug, Clone)]
pub struct Head {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub content_length: u64,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's value as sent (still percent-encoded).
    pub fn query(&self, name: &str) -> Option<&str> {
        let q = self.target.split_once('?')?.1;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// Which request a fault is aimed at.
#[derive(Debug, Clone)]
pub enum Match {
    /// UploadPart of this part number (any key).
    UploadPart(i32),
    /// A ranged GET whose range starts at this byte.
    RangeFrom(u64),
}

impl Match {
    fn matches(&self, h: &Head) -> bool {
        match self {
            Match::UploadPart(n) => {
                h.method == "PUT" && h.query("partNumber") == Some(n.to_string().as_str())
            }
            Match::RangeFrom(first) => {
                h.method == "GET"
                    && h.header("range")
                        .is_some_and(|r| r.starts_with(&format!("bytes={first}-")))
            }
        }
    }
}

/// What happens to the matched request's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Forward this many bytes of the request body, then drop the connection.
    CutRequest(u64),
    /// Forward this many bytes of the response, then drop the connection.
    CutResponse(u64),
    /// Forward this many bytes of the request body, then keep the connection open and silent.
    StallRequest(u64),
    /// Forward this many bytes of the response, then keep the connection open and silent.
    StallResponse(u64),
}

struct Rule {
    when: Match,
    action: Action,
    times: usize,
}

struct Shared {
    upstream: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    /// Seeded random cuts of request bodies, for the soak test.
    random: Mutex<Option<Chance>>,
    /// Bytes per second in each direction of each connection; 0 for no limit.
    throttle: AtomicU64,
    refusing: watch::Sender<bool>,
    /// Cancelled to drop every open connection; replaced by a fresh one.
    open: Mutex<CancellationToken>,
    pub cuts: AtomicUsize,
    pub stalls: AtomicUsize,
    pub connections: AtomicUsize,
    /// Request bodies that went through whole.
    pub bytes_up: AtomicU64,
    /// Every request body byte handed to the server, those of bodies cut off or dropped included:
    /// what the client made the server receive.
    pub body_bytes: AtomicU64,
    /// Every request head that came through, in order.
    seen: Mutex<Vec<Head>>,
}

pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (refusing, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(Vec::new()),
            random: Mutex::new(None),
            throttle: AtomicU64::new(0),
            refusing,
            open: Mutex::new(CancellationToken::new()),
            cuts: AtomicUsize::new(0),
            stalls: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            bytes_up: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(accept_loop(listener, addr, shared.clone()));
        Proxy { addr, shared, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Applies `action` to the next `times` requests that match `when`.
    pub fn inject(&self, when: Match, action: Action, times: usize) {
        self.shared.rules.lock().unwrap().push(Rule {
            when,
            action,
            times,
        });
    }

    /// Drops the scripted faults not yet used up.
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// The heads of the requests that came through so far (what the server was asked).
    pub fn requests(&self) -> Vec<Head> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Cuts request bodies at a random point with probability `per_mille`/1000, at most `budget` times.
    pub fn random_cuts(&self, seed: u64, per_mille: u64, budget: usize) {
        *self.shared.random.lock().unwrap() = Some(Chance::new(seed, per_mille, budget));
    }

    /// Limits every connection to `bytes_per_sec` in each direction (`None`: no limit).
    pub fn throttle(&self, bytes_per_sec: Option<u64>) {
        self.shared
            .throttle
            .store(bytes_per_sec.unwrap_or(0), Ordering::SeqCst);
    }

    /// The server goes away: open connections are dropped and new ones refused until [`Proxy::restore`].
    pub fn outage(&self) {
        ledger::note("network outage (connections dropped and refused)", 1);
        self.shared.refusing.send_replace(true);
        let mut open = self.shared.open.lock().unwrap();
        open.cancel();
        *open = CancellationToken::new();
    }

    /// Lets connections through again after an outage.
    pub fn restore(&self) {
        self.shared.refusing.send_replace(false);
    }

    /// Connections dropped mid-request or mid-response.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    pub fn stalls(&self) -> usize {
        self.shared.stalls.load(Ordering::SeqCst)
    }

    /// Request body bytes the server received so far, bodies cut off or dropped included.
    pub fn body_bytes(&self) -> u64 {
        self.shared.body_bytes.load(Ordering::Relaxed)
    }

    /// Rules not yet used up (a test checks its faults really happened).
    pub fn pending_rules(&self) -> usize {
        self.shared
            .rules
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.times > 0)
            .count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        ledger::note("connection cut mid-request or mid-response", self.cuts());
        ledger::note("connection stalled", self.stalls());
        self.task.abort();
        self.shared.open.lock().unwrap().cancel();
    }
}

/// A listener whose connections have a small receive buffer, as on a real link: the engine's bytes
/// wait in its own send buffer, not megabytes deep in the proxy's, so a throttled link looks slow to
/// the engine rather than fast and then silent.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_recv_buffer_size(64 * 1024)?;
    socket.bind(addr)?;
    socket.listen(128)
}

async fn accept_loop(listener: TcpListener, addr: SocketAddr, shared: Arc<Shared>) {
    let mut refusing = shared.refusing.subscribe();
    let mut listener = Some(listener);
    loop {
        let Some(l) = listener.as_ref() else {
            let _ = refusing.wait_for(|r| !*r).await;
            // The same port again (SO_REUSEADDR), so the engine's endpoint stays valid.
            let mut bound = None;
            for _ in 0..100 {
                match listen(addr) {
                    Ok(l) => {
                        bound = Some(l);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
            listener = Some(bound.expect("the proxy could not listen on its port again"));
            continue;
        };
        tokio::select! {
            accepted = l.accept() => {
                let Ok((client, _)) = accepted else { continue };
                if *shared.refusing.borrow() {
                    continue;
                }
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let token = shared.open.lock().unwrap().clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = token.cancelled() => {}
                        _ = connection(client, shared) => {}
                    }
                });
            }
            _ = refusing.wait_for(|r| *r) => {
                listener = None;
            }
        }
    }
}

/// A response fault armed by the request it belongs to.
type Armed = Arc<Mutex<Option<Action>>>;

async fn connection(client: TcpStream, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let armed: Armed = Arc::new(Mutex::new(None));
    tokio::select! {
        _ = requests(cr, sw, shared.clone(), armed.clone()) => {}
        _ = responses(sr, cw, shared.clone(), armed) => {}
    }
}

fn find(buf: &[u8], pat: &[u8]) -> Option<usize> {
    buf.windows(pat.len()).position(|w| w == pat)
}

fn parse_head(bytes: &[u8]) -> Head {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut it = first.split(' ');
    let method = it.next().unwrap_or_default().to_string();
    let target = it.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let content_length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    Head {
        method,
        target,
        headers,
        content_length,
    }
}

impl Shared {
    /// The fault (if any) for this request: a scripted rule first, then a random cut.
    fn fault_for(&self, head: &Head) -> Option<Action> {
        let mut rules = self.rules.lock().unwrap();
        if let Some(r) = rules
            .iter_mut()
            .find(|r| r.times > 0 && r.when.matches(head))
        {
            r.times -= 1;
            return Some(r.action);
        }
        drop(rules);
        let mut random = self.random.lock().unwrap();
        if head.content_length < 2 {
            return None;
        }
        let roll = random.as_mut()?.strike()?;
        Some(Action::CutRequest((roll >> 20) % head.content_length))
    }

    async fn pace(&self, n: usize) {
        let rate = self.throttle.load(Ordering::Relaxed);
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
    }
}

/// Client to server: request heads and bodies, with request faults applied and response faults armed.
async fn requests(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: Arc<Shared>,
    armed: Armed,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            match from.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = parse_head(&buf[..head_end]);
        shared.seen.lock().unwrap().push(head.clone());
        let fault = shared.fault_for(&head);
        let (cut_at, stall_at) = match fault {
            Some(Action::CutRequest(n)) => (Some(n), None),
            Some(Action::StallRequest(n)) => (None, Some(n)),
            Some(other) => {
                *armed.lock().unwrap() = Some(other);
                (None, None)
            }
            None => (None, None),
        };
        if to.write_all(&buf[..head_end]).await.is_err() {
            return;
        }
        buf.drain(..head_end);
        let mut sent = 0u64;
        while sent < head.content_length {
            if buf.is_empty() {
                match from.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let mut n = (head.content_length - sent).min(buf.len() as u64) as usize;
            let limit = cut_at.or(stall_at);
            if let Some(l) = limit {
                n = n.min((l - sent.min(l)) as usize);
                if n == 0 {
                    if cut_at.is_some() {
                        shared.cuts.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    shared.stalls.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                }
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
            shared.body_bytes.fetch_add(n as u64, Ordering::Relaxed);
            shared.pace(n).await;
            buf.drain(..n);
            sent += n as u64;
        }
        shared.bytes_up.fetch_add(sent, Ordering::Relaxed);
    }
}

/// Server to client: bytes as they come, cut or stalled when a response fault is armed.
async fn responses(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: Arc<Shared>,
    armed: Armed,
) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut counted = 0u64;
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let fault = *armed.lock().unwrap();
        let mut take = n;
        if let Some(Action::CutResponse(l) | Action::StallResponse(l)) = fault {
            take = take.min((l - counted.min(l)) as usize);
            counted += take as u64;
            if take < n || counted >= l {
                let _ = to.write_all(&chunk[..take]).await;
                let _ = to.flush().await;
                if let Some(Action::CutResponse(_)) = fault {
                    shared.cuts.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                shared.stalls.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
        } else {
            counted = 0;
        }
        if to.write_all(&chunk[..take]).await.is_err() {
            return;
        }
        shared.pace(take).await;
    }
}
