//! Steps 1–2: byte streams in, HTTP/1.1 out. Tor only supplies streams:
//! [`serve`] takes any `AsyncRead + AsyncWrite`, and the loopback listener
//! ([`run_listener`]) and the onion service are two sources for it.

pub mod form;
pub mod pages;
pub mod routes;

use crate::config::{Limits, Site};
use crate::keys::Recipients;
use crate::store::{Store, StoreError};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Counts only: what an operator may see without learning about anyone.
#[derive(Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub invalid: AtomicU64,
    pub malformed: AtomicU64,
    pub busy: AtomicU64,
    pub refused_full: AtomicU64,
    pub store_errors: AtomicU64,
    pub connections_refused: AtomicU64,
}

/// Everything a request handler needs.
pub struct State {
    pub store: Arc<Store>,
    pub recipients: Recipients,
    pub site: Site,
    pub limits: Limits,
    /// Reports being read, sealed and committed at once.
    pub submissions: Semaphore,
    /// Open connections, across every stream source.
    pub connections: Arc<Semaphore>,
    /// Connections being told "busy" past the cap; past this too, they are
    /// simply closed, so a flood cannot pile up tasks.
    busy_writers: Arc<Semaphore>,
    pub counters: Counters,
    store_error_reported: AtomicBool,
}

impl State {
    pub fn new(store: Arc<Store>, recipients: Recipients, site: Site, limits: Limits) -> State {
        State {
            store,
            recipients,
            submissions: Semaphore::new(limits.max_inflight_submissions.max(1)),
            connections: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            busy_writers: Arc::new(Semaphore::new(64)),
            site,
            limits,
            counters: Counters::default(),
            store_error_reported: AtomicBool::new(false),
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
}

/// Serve HTTP/1.1 on one byte stream until the client is done or
/// `shutdown` fires (then in-flight requests finish first).
pub async fn serve<I>(io: I, state: Arc<State>, shutdown: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc_state = state.clone();
    let svc = service_fn(move |req| {
        let st = svc_state.clone();
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

/// Hand one accepted stream to [`serve`], within the connection cap.
pub fn dispatch<I>(
    io: I,
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
                serve(io, state, shutdown).await;
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

/// Accept loopback TCP connections until `shutdown`.
pub async fn run_listener(
    listener: TcpListener,
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
                dispatch(stream, &state, &busy, &tracker, &shutdown);
            }
            // Out of file descriptors and the like: back off briefly
            // instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
