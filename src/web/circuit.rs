//! Step 1, continued: which Tor circuit a byte stream belongs to, so that
//! [`admission`](super::admission) can share the service fairly between
//! visitors. One Tor circuit is one visitor's path to us (Tor Browser keeps
//! one per site for about ten minutes).
//!
//! Three sources, one type:
//!
//! - **arti in-process**: every rendezvous request is one circuit; all the
//!   streams it opens share one [`Circuit::fresh`].
//! - **C tor in front**, with `HiddenServiceExportCircuitID haproxy` in its
//!   torrc and `proxy_protocol = true` in ours: every loopback connection
//!   starts with a PROXY protocol v1 line whose source address carries
//!   tor's global circuit number
//!   (`PROXY TCP6 fc00:dead:beef:4dad::ab:cdef ::1 52719 80`). It is parsed
//!   by the `ppp` crate ([`read_proxy_header`]); a connection without a
//!   valid line is refused.
//! - **plain loopback** (tests, the demo, C tor without the export): each
//!   connection counts as a circuit of its own. That never groups two
//!   reporters together; it only lets a client that reconnects start again,
//!   which is why the shipped torrc turns the export on.
//!
//! A [`Circuit`] holds a keyed hash (SipHash under a key drawn from the
//! operating system at start), never tor's number itself. It lives in
//! memory only: it has no `Display`, its `Debug` prints nothing of it, and
//! it is never logged or written anywhere.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// One visitor's Tor circuit, as an opaque, process-local value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Circuit(u64);

static_assertions::assert_not_impl_any!(Circuit: fmt::Display, serde::Serialize);

impl fmt::Debug for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Circuit([scrubbed])")
    }
}

/// The per-process key every circuit value is hashed under.
fn key() -> &'static RandomState {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    KEY.get_or_init(RandomState::new)
}

impl Circuit {
    /// A circuit nobody else has: one per arti rendezvous, one per plain
    /// loopback connection.
    pub fn fresh() -> Circuit {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Circuit(key().hash_one((0u8, n)))
    }

    /// The circuit a PROXY header names. C tor puts the circuit number in
    /// the source address (and its low half again in the source port), so
    /// the whole source is the key.
    fn from_proxy_source(source: SocketAddr) -> Circuit {
        Circuit(key().hash_one((1u8, source)))
    }

    /// The circuit a request arrived on ([`serve`](super::serve) attaches
    /// it). A request built elsewhere (unit tests) counts as a circuit of
    /// its own.
    pub fn of<B>(req: &hyper::Request<B>) -> Circuit {
        req.extensions()
            .get::<Circuit>()
            .copied()
            .unwrap_or_else(Circuit::fresh)
    }
}

/// The longest PROXY v1 line the protocol allows, `\r\n` included.
const MAX_V1_LINE: u64 = 107;

/// Why a loopback connection was refused when PROXY headers are required.
#[derive(Debug, PartialEq, Eq)]
pub enum ProxyRefusal {
    /// Nothing, or not a whole line, within the header timeout.
    Missing,
    /// A line that is not a TCP4/TCP6 PROXY v1 header.
    Invalid,
}

/// Read the PROXY v1 line C tor sends first on each connection and return
/// the circuit it names. Reads exactly that line: what follows (the HTTP
/// request) stays buffered in `io` for the HTTP server.
pub async fn read_proxy_header<I>(
    io: &mut BufReader<I>,
    timeout: Duration,
) -> Result<Circuit, ProxyRefusal>
where
    I: AsyncRead + Unpin,
{
    let mut line = Vec::with_capacity(MAX_V1_LINE as usize);
    let mut limited = (&mut *io).take(MAX_V1_LINE);
    let read = tokio::time::timeout(timeout, limited.read_until(b'\n', &mut line));
    match read.await {
        Ok(Ok(_)) if line.ends_with(b"\r\n") => {}
        Ok(Ok(_)) if line.len() as u64 >= MAX_V1_LINE => return Err(ProxyRefusal::Invalid),
        _ => return Err(ProxyRefusal::Missing),
    }
    parse_proxy_line(&line)
}

fn parse_proxy_line(line: &[u8]) -> Result<Circuit, ProxyRefusal> {
    use ppp::v1::{Addresses, Header};
    let header = Header::try_from(line).map_err(|_| ProxyRefusal::Invalid)?;
    if header.header.len() != line.len() {
        return Err(ProxyRefusal::Invalid);
    }
    match header.addresses {
        Addresses::Tcp4(a) => Ok(Circuit::from_proxy_source(SocketAddr::from((
            a.source_address,
            a.source_port,
        )))),
        Addresses::Tcp6(a) => Ok(Circuit::from_proxy_source(SocketAddr::from((
            a.source_address,
            a.source_port,
        )))),
        // Says nothing about the circuit: C tor never sends it.
        Addresses::Unknown => Err(ProxyRefusal::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What C tor 0.4.x writes (connection_edge.c,
    /// export_hs_client_circuit_id) for global circuit number `gid`.
    fn tor_line(gid: u32) -> String {
        format!(
            "PROXY TCP6 fc00:dead:beef:4dad::{:x}:{:x} ::1 {} 80\r\n",
            gid >> 16,
            gid & 0xffff,
            gid & 0xffff
        )
    }

    async fn read(input: &[u8]) -> (Result<Circuit, ProxyRefusal>, Vec<u8>) {
        let mut io = BufReader::new(input);
        let c = read_proxy_header(&mut io, Duration::from_secs(1)).await;
        let mut rest = Vec::new();
        io.read_to_end(&mut rest).await.unwrap();
        (c, rest)
    }

    #[tokio::test]
    async fn tor_headers_name_their_circuit_and_leave_the_request_unread() {
        let mut input = tor_line(0x0001_e240).into_bytes();
        input.extend_from_slice(b"GET /en/ HTTP/1.1\r\n\r\n");
        let (a, rest) = read(&input).await;
        assert_eq!(rest, b"GET /en/ HTTP/1.1\r\n\r\n");
        let (again, _) = read(tor_line(0x0001_e240).as_bytes()).await;
        let (other, _) = read(tor_line(0x0001_e241).as_bytes()).await;
        assert_eq!(a, again, "one circuit, one key");
        assert_ne!(a, other, "two circuits, two keys");
        // Circuits past 65535 differ only in the address's high half.
        let (high, _) = read(tor_line(0x0002_e240).as_bytes()).await;
        assert_ne!(a, high);
        let (v4, _) = read(b"PROXY TCP4 127.0.0.1 127.0.0.1 4000 80\r\n").await;
        assert!(v4.is_ok());
    }

    #[tokio::test]
    async fn anything_else_is_refused() {
        for bad in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"PROXY UNKNOWN\r\n",
            b"PROXY TCP6 not-an-address ::1 1 80\r\n",
            b"PROXY TCP4 127.0.0.1 127.0.0.1 70000 80\r\n",
            b"PROXY TCP6 ::1 ::1 1 80\n",
            b"\r\n",
            // PROXY v2's binary signature.
            b"\r\n\r\n\x00\r\nQUIT\n",
        ] {
            let (c, _) = read(bad).await;
            assert!(
                c.is_err(),
                "{:?} was accepted",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("PROXY TCP6 {} ::1 1 80\r\n", "f".repeat(120));
        assert_eq!(read(long.as_bytes()).await.0, Err(ProxyRefusal::Invalid));
        assert_eq!(read(b"PROXY TCP6").await.0, Err(ProxyRefusal::Missing));
        assert_eq!(read(b"").await.0, Err(ProxyRefusal::Missing));
    }

    #[tokio::test]
    async fn a_silent_client_is_refused_after_the_timeout() {
        let (_keep, server) = tokio::io::duplex(64);
        let mut io = BufReader::new(server);
        let c = read_proxy_header(&mut io, Duration::from_millis(50)).await;
        assert_eq!(c, Err(ProxyRefusal::Missing));
    }

    #[test]
    fn circuits_print_nothing() {
        assert_eq!(format!("{:?}", Circuit::fresh()), "Circuit([scrubbed])");
        assert_ne!(Circuit::fresh(), Circuit::fresh());
    }
}
