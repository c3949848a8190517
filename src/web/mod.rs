//! Steps 1–2: byte streams in, HTTP/1.1 out. Tor only supplies streams:
//! [`serve`] takes any `AsyncRead + AsyncWrite`, and the loopback listener
//! ([`run_listener`]) and the onion service are two sources for it. Each
//! stream comes with its Tor [`circuit`], which [`admission`] uses to
//! share the service fairly.

pub mod admission;
pub mod circuit;
pub mod follow_up;
pub mod form;
pub mod pages;
pub mod routes;

use crate::config::{Limits, Site};
use crate::follow_up::FollowUp;
use crate::keys::Recipients;
use crate::store::{Store, StoreError};
use admission::Admission;
use circuit::Circuit;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Counts only: what an operator may see without learning about anyone.
#[derive(Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    /// Information added to a report through the follow-up page.
    pub additions: AtomicU64,
    /// Receipts looked up (whatever the outcome), and lookups refused
    /// because every lookup thread was busy.
    pub lookups: AtomicU64,
    pub lookups_busy: AtomicU64,
    pub invalid: AtomicU64,
    pub malformed: AtomicU64,
    pub busy: AtomicU64,
    pub refused_full: AtomicU64,
    pub store_errors: AtomicU64,
    pub connections_refused: AtomicU64,
    /// Loopback connections closed for want of a valid PROXY header.
    pub proxy_refused: AtomicU64,
}

/// Everything a request handler needs.
pub struct State {
    pub store: Arc<Store>,
    /// The analysts' answers and the lookup threads.
    pub follow_up: Arc<FollowUp>,
    pub recipients: Recipients,
    pub site: Site,
    pub limits: Limits,
    /// Per-circuit token buckets.
    pub admission: Admission,
    /// Reports being read, sealed and committed at once.
    pub submissions: Semaphore,
    /// Open connections, across every stream source.
    pub connections: Arc<Semaphore>,
    /// Connections being told "busy" past the cap; past this too, they are
    /// simply closed, so a flood cannot pile up tasks.
    busy_writers: Arc<Semaphore>,
    pub counters: Counters,
    store_error_reported: AtomicBool,
    proxy_refusal_reported: AtomicBool,
    unexpected_proxy_reported: AtomicBool,
}

impl State {
    pub fn new(
        store: Arc<Store>,
        follow_up: Arc<FollowUp>,
        recipients: Recipients,
        site: Site,
        limits: Limits,
    ) -> State {
        State {
            store,
            follow_up,
            recipients,
            submissions: Semaphore::new(limits.max_inflight_submissions.max(1)),
            connections: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            busy_writers: Arc::new(Semaphore::new(64)),
            admission: Admission::new(&limits),
            site,
            limits,
            counters: Counters::default(),
            store_error_reported: AtomicBool::new(false),
            proxy_refusal_reported: AtomicBool::new(false),
            unexpected_proxy_reported: AtomicBool::new(false),
        }
    }

    /// Tell the operator once that the store is failing; the message
    /// carries the error, never anything about the request.
    pub fn report_store_error(&self, e: &StoreError) {
        if !self.store_error_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "salama: ERROR: the store refused a write: {e}. Reporters see 'try again later' until this is fixed; check the disk and `salama status`."
            );
        }
    }

    /// Tell the operator once that connections arrive without the PROXY
    /// header: most likely the torrc lacks the export, and every visitor
    /// is being turned away.
    fn report_proxy_refusal(&self) {
        if !self.proxy_refusal_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "salama: ERROR: a loopback connection came without a valid PROXY header and was closed (proxy_protocol = true). If C tor is in front, its torrc needs `HiddenServiceExportCircuitID haproxy` (deploy/torrc); otherwise set proxy_protocol = false. Further refusals are counted, not logged."
            );
        }
    }

    /// Tell the operator once that PROXY headers arrive although the
    /// config does not require them: they are used, but only the switch
    /// makes the listener refuse connections that bypass tor.
    fn report_unexpected_proxy(&self) {
        if !self.unexpected_proxy_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "salama: warning: connections start with C tor's PROXY header but proxy_protocol is off; they are understood, but set proxy_protocol = true in salama.toml so that connections without one are refused."
            );
        }
    }
}

/// Serve HTTP/1.1 on one byte stream of `circuit` until the client is
/// done or `shutdown` fires (then in-flight requests finish first).
pub async fn serve<I>(io: I, circuit: Circuit, state: Arc<State>, shutdown: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc_state = state.clone();
    let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let st = svc_state.clone();
        req.extensions_mut().insert(circuit);
        async move { Ok::<_, std::convert::Infallible>(routes::handle(req, &st).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.limits.header_timeout())
        .max_buf_size(64 * 1024)
        .max_headers(64)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    // Errors here are the client's (reset, timeout, malformed HTTP): hyper
    // has already answered what could be answered; nothing to log.
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Past the connection cap: a short translated 503 and close, written
/// without parsing anything the client sent.
pub fn busy_response(state: &State) -> Vec<u8> {
    let body = pages::message(state.site.default_language, &state.site, "busy").into_string();
    let mut h = hyper::HeaderMap::new();
    routes::secure_headers(&mut h);
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 60\r\n",
        body.len()
    );
    for (k, v) in &h {
        out.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap_or("")));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

/// Where a stream came from, which says how to learn its circuit.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// A stream of a circuit we already know (arti's rendezvous).
    Circuit(Circuit),
    /// A loopback connection that must start with C tor's PROXY header.
    Proxied,
    /// A plain loopback connection: a circuit of its own.
    Plain,
}

/// The circuit of a loopback connection: from C tor's PROXY line, which
/// is read off `io` (required, or seen first anyway), or a fresh one.
/// `None`: close the connection without a word.
async fn loopback_circuit<I>(
    io: &mut BufReader<I>,
    required: bool,
    state: &State,
) -> Option<Circuit>
where
    I: AsyncRead + Unpin,
{
    let timeout = state.limits.header_timeout();
    if !required {
        // C tor with the export on but `proxy_protocol` off (an upgrade
        // half done): understand its line rather than answer visitors 400.
        match tokio::time::timeout(timeout, io.fill_buf()).await {
            Ok(Ok(first)) if first.starts_with(b"PROXY ") => state.report_unexpected_proxy(),
            Ok(Ok(first)) if !first.is_empty() => return Some(Circuit::fresh()),
            // Silent for the whole header timeout, or gone: hyper would
            // close it too.
            _ => return None,
        }
    }
    match circuit::read_proxy_header(io, timeout).await {
        Ok(c) => Some(c),
        Err(_) => {
            // Not from our tor, or a tor without the export.
            state.counters.proxy_refused.fetch_add(1, Ordering::Relaxed);
            if required {
                state.report_proxy_refusal();
            }
            None
        }
    }
}

/// Hand one accepted stream to [`serve`], within the connection cap.
pub fn dispatch<I>(
    io: I,
    source: Source,
    state: &Arc<State>,
    busy: &Arc<Vec<u8>>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match state.connections.clone().try_acquire_owned() {
        Ok(permit) => {
            let (state, shutdown) = (state.clone(), shutdown.clone());
            tracker.spawn(async move {
                match source {
                    Source::Circuit(c) => serve(io, c, state, shutdown).await,
                    Source::Proxied | Source::Plain => {
                        let mut io = BufReader::new(io);
                        let required = matches!(source, Source::Proxied);
                        if let Some(c) = loopback_circuit(&mut io, required, &state).await {
                            serve(io, c, state, shutdown).await;
                        }
                    }
                }
                drop(permit);
            });
        }
        Err(_) => {
            state
                .counters
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            let Ok(writer) = state.busy_writers.clone().try_acquire_owned() else {
                return; // dropping `io` closes it
            };
            let busy = busy.clone();
            tracker.spawn(async move {
                let mut io = io;
                let _ = tokio::time::timeout(Duration::from_secs(5), async {
                    io.write_all(&busy).await?;
                    io.shutdown().await
                })
                .await;
                drop(writer);
            });
        }
    }
}

/// Accept loopback TCP connections until `shutdown`; with `proxy`, each
/// must start with C tor's PROXY header ([`Source::Proxied`]).
pub async fn run_listener(
    listener: TcpListener,
    proxy: bool,
    state: Arc<State>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let busy = Arc::new(busy_response(&state));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let _ = stream.set_nodelay(true);
                let source = if proxy {
                    Source::Proxied
                } else {
                    Source::Plain
                };
                dispatch(stream, source, &state, &busy, &tracker, &shutdown);
            }
            // Out of file descriptors and the like: back off briefly
            // instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
