//! Step 7: the operator's export, purge and status, while the server runs.
//!
//! sled allows one process per database, so `salama export` cannot open
//! the store while `salama serve` has it. The server listens on a unix
//! socket, `DATA/admin.sock` (mode 0600: only the service's own user), and
//! the CLI talks to it; when no server answers, the CLI opens the store
//! itself. Both paths run the same [`Store`] methods.
//!
//! Protocol: the client sends one JSON line ([`Request`]). For `export`,
//! the server streams the bundle as length-prefixed frames (u32 BE, a zero
//! length ends it), then one JSON line ([`Reply`]); the client makes the
//! file durable and sends `{"op":"confirm"}`; only then are the reports
//! marked exported. A client that vanishes confirms nothing, so nothing is
//! marked exported without a bundle on the operator's disk.

use crate::bundle::BundleDigest;
use crate::follow_up::{FollowUp, Imported};
use crate::store::{Status, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const SOCKET: &str = "admin.sock";

#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    Export {
        all: bool,
    },
    Confirm,
    Purge {
        digest: String,
    },
    Status,
    /// An answers file of `len` bytes follows the request line.
    Import {
        len: u64,
    },
}

#[derive(Serialize, Deserialize, Debug, Default)]
pub struct Reply {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<Imported>,
}

impl Reply {
    fn error(e: impl ToString) -> Reply {
        Reply {
            error: Some(e.to_string()),
            ..Reply::default()
        }
    }
}

/// Writes each buffer as one length-prefixed frame.
struct Frames<W: Write>(W);

impl<W: Write> Write for Frames<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if b.is_empty() {
            return Ok(0);
        }
        let n = b.len().min(u32::MAX as usize);
        self.0.write_all(&(n as u32).to_be_bytes())?;
        self.0.write_all(&b[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn send(w: &mut impl Write, reply: &Reply) -> io::Result<()> {
    serde_json::to_writer(&mut *w, reply)?;
    w.write_all(b"\n")?;
    w.flush()
}

fn read_line<R: BufRead>(r: &mut R) -> io::Result<String> {
    let mut line = String::new();
    // A request is a few dozen bytes; refuse to buffer a flood.
    r.take(4096).read_line(&mut line)?;
    Ok(line)
}

/// How long the server waits on an admin client. Export holds the store's
/// admin lock while it streams the bundle, so a client that stops reading
/// (`salama export` suspended with Ctrl-Z, a hung terminal) must not hold
/// it, and every purge behind it, for ever: a write that makes no progress
/// for `write` fails, the export is abandoned (nothing is marked exported)
/// and the lock is released. `read` bounds the wait for a request and for
/// the client's confirmation, which comes after it has synced the bundle
/// to disk; no lock is held during that wait.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub read: Duration,
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            read: Duration::from_secs(300),
            write: Duration::from_secs(30),
        }
    }
}

/// Serve one admin connection (blocking; run it on a blocking thread).
pub fn handle_connection(
    stream: UnixStream,
    store: &Store,
    follow_up: &FollowUp,
) -> io::Result<()> {
    handle_connection_with(stream, store, follow_up, Timeouts::default())
}

/// [`handle_connection`] with other timeouts (for tests).
pub fn handle_connection_with(
    stream: UnixStream,
    store: &Store,
    follow_up: &FollowUp,
    timeouts: Timeouts,
) -> io::Result<()> {
    stream.set_read_timeout(Some(timeouts.read))?;
    stream.set_write_timeout(Some(timeouts.write))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = io::BufWriter::with_capacity(64 * 1024, stream);
    let req: Request = match serde_json::from_str(&read_line(&mut reader)?) {
        Ok(r) => r,
        Err(_) => return send(&mut out, &Reply::error("malformed admin request")),
    };
    match req {
        Request::Status => send(
            &mut out,
            &Reply {
                status: Some(store.status()),
                ..Reply::default()
            },
        ),
        Request::Purge { digest } => {
            let reply = match BundleDigest::parse(&digest) {
                None => Reply::error("that is not a bundle digest (64 hex digits)"),
                Some(d) => match store.purge(d) {
                    Ok(n) => Reply {
                        count: Some(n),
                        digest: Some(d.to_string()),
                        ..Reply::default()
                    },
                    Err(e) => Reply::error(e),
                },
            };
            send(&mut out, &reply)
        }
        Request::Confirm => send(&mut out, &Reply::error("nothing to confirm: export first")),
        Request::Import { len } => {
            let reply = match read_answers_file(&mut reader, len) {
                Ok(bytes) => match follow_up.import(&bytes) {
                    Ok(imported) => Reply {
                        imported: Some(imported),
                        ..Reply::default()
                    },
                    Err(e) => Reply::error(e),
                },
                Err(e) => Reply::error(e),
            };
            send(&mut out, &reply)
        }
        Request::Export { all } => {
            let prepared = store.prepare_export(all, Frames(&mut out));
            let prepared = match prepared {
                Ok((p, _)) => p,
                Err(e) => {
                    // The client sees a truncated stream: end it, then say why.
                    out.write_all(&0u32.to_be_bytes())?;
                    return send(&mut out, &Reply::error(e));
                }
            };
            out.write_all(&0u32.to_be_bytes())?;
            send(
                &mut out,
                &Reply {
                    count: Some(prepared.count as u64),
                    digest: Some(prepared.digest.to_string()),
                    ..Reply::default()
                },
            )?;
            match serde_json::from_str::<Request>(&read_line(&mut reader)?) {
                Ok(Request::Confirm) => {
                    let reply = match store.confirm_export(&prepared) {
                        Ok(()) => Reply::default(),
                        Err(e) => Reply::error(e),
                    };
                    send(&mut out, &reply)
                }
                _ => Ok(()),
            }
        }
    }
}

/// The answers file that follows an import request: exactly `len` bytes,
/// and never more than an answers file can be.
fn read_answers_file<R: Read>(r: &mut R, len: u64) -> io::Result<Vec<u8>> {
    let max = crate::answers::file::MAX_FILE_BYTES as u64;
    if len > max {
        return Err(io::Error::other(format!(
            "the answers file is refused, nothing was imported: it is larger than any answers file can be ({max} bytes)"
        )));
    }
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Bind `DATA/admin.sock` for the server, replacing a stale socket file
/// left by a crash (but never one a live server still answers on).
pub fn bind(data: &Path) -> io::Result<tokio::net::UnixListener> {
    let path = data.join(SOCKET);
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            return Err(io::Error::other(format!(
                "another salama is already serving {} (its admin socket answers); stop it first",
                data.display()
            )));
        }
        std::fs::remove_file(&path)?;
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accept admin connections until the listener is dropped.
pub async fn run(
    listener: tokio::net::UnixListener,
    store: Arc<Store>,
    follow_up: Arc<FollowUp>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let store = store.clone();
        let follow_up = follow_up.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(std_stream) = stream.into_std() else {
                return;
            };
            if std_stream.set_nonblocking(false).is_ok() {
                let _ = handle_connection(std_stream, &store, &follow_up);
            }
        });
    }
}

/// How the CLI reaches the store: through a running server, or directly.
pub enum Access {
    Server(PathBuf),
    Direct(Arc<Store>),
}

impl Access {
    /// Prefer a running server; open the store only if none answers.
    pub fn connect(data: &Path, quota: crate::store::Quota) -> Result<Access, StoreError> {
        let sock = data.join(SOCKET);
        if UnixStream::connect(&sock).is_ok() {
            return Ok(Access::Server(sock));
        }
        if !data.join("store").exists() {
            return Err(StoreError::Io(io::Error::other(format!(
                "{} holds no Salama store: check --data (it must be the directory `salama serve` uses)",
                data.display()
            ))));
        }
        Ok(Access::Direct(Store::open(data, quota)?))
    }

    fn request(sock: &Path, req: &Request) -> io::Result<(BufReader<UnixStream>, UnixStream)> {
        let mut s = UnixStream::connect(sock)?;
        serde_json::to_writer(&mut s, req)?;
        s.write_all(b"\n")?;
        let r = BufReader::new(s.try_clone()?);
        Ok((r, s))
    }

    fn reply(r: &mut impl BufRead) -> io::Result<Reply> {
        let line = read_line(r)?;
        let reply: Reply = serde_json::from_str(&line)
            .map_err(|_| io::Error::other("the server closed the admin connection unexpectedly"))?;
        match reply.error {
            Some(e) => Err(io::Error::other(e)),
            None => Ok(reply),
        }
    }

    pub fn status(&self) -> io::Result<Status> {
        match self {
            Access::Direct(store) => Ok(store.status()),
            Access::Server(sock) => {
                let (mut r, _) = Self::request(sock, &Request::Status)?;
                Self::reply(&mut r)?
                    .status
                    .ok_or_else(|| io::Error::other("the server sent no status"))
            }
        }
    }

    /// Import an answers file through the running server. `None`: no
    /// server answers on `data`'s socket (open [`FollowUp`] directly).
    pub fn import_via_server(data: &Path, bytes: &[u8]) -> Option<io::Result<Imported>> {
        let sock = data.join(SOCKET);
        let mut s = UnixStream::connect(&sock).ok()?;
        let sent = (|| {
            serde_json::to_writer(
                &mut s,
                &Request::Import {
                    len: bytes.len() as u64,
                },
            )?;
            s.write_all(b"\n")?;
            s.write_all(bytes)?;
            s.flush()?;
            let mut r = BufReader::new(s.try_clone()?);
            Self::reply(&mut r)?
                .imported
                .ok_or_else(|| io::Error::other("the server sent no import result"))
        })();
        Some(sent)
    }

    pub fn purge(&self, digest: BundleDigest) -> io::Result<u64> {
        match self {
            Access::Direct(store) => store.purge(digest).map_err(io::Error::other),
            Access::Server(sock) => {
                let req = Request::Purge {
                    digest: digest.to_string(),
                };
                let (mut r, _) = Self::request(sock, &req)?;
                Ok(Self::reply(&mut r)?.count.unwrap_or(0))
            }
        }
    }

    /// Export into `out`: written to `out.partial`, synced, renamed, and
    /// only then confirmed. Returns (count, digest).
    pub fn export(&self, all: bool, out: &Path) -> io::Result<(u64, BundleDigest)> {
        // An earlier bundle under this name may be the only copy of its
        // reports (they are marked exported): never replace it.
        if out.exists() {
            return Err(io::Error::other(format!(
                "{} already exists: it may be the only copy of the reports it holds; choose another name",
                out.display()
            )));
        }
        let partial = partial_path(out);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        let result = self.export_into(all, file, &partial, out);
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }

    fn export_into(
        &self,
        all: bool,
        file: File,
        partial: &Path,
        out: &Path,
    ) -> io::Result<(u64, BundleDigest)> {
        let durable = |mut w: io::BufWriter<File>| -> io::Result<()> {
            w.flush()?;
            w.get_ref().sync_all()?;
            // A link fails if `out` appeared meanwhile, where rename would
            // silently replace it.
            std::fs::hard_link(partial, out)?;
            std::fs::remove_file(partial)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        match self {
            Access::Direct(store) => {
                let (p, w) = store
                    .prepare_export(all, io::BufWriter::new(file))
                    .map_err(io::Error::other)?;
                durable(w)?;
                store
                    .confirm_export(&p)
                    .map_err(|e| kept(out, &p.digest, e))?;
                Ok((p.count as u64, p.digest))
            }
            Access::Server(sock) => {
                let (mut r, mut s) = Self::request(sock, &Request::Export { all })?;
                let mut w = io::BufWriter::new(file);
                let mut len = [0u8; 4];
                let mut buf = Vec::new();
                loop {
                    r.read_exact(&mut len)?;
                    let n = u32::from_be_bytes(len) as usize;
                    if n == 0 {
                        break;
                    }
                    buf.resize(n, 0);
                    r.read_exact(&mut buf)?;
                    w.write_all(&buf)?;
                }
                let reply = Self::reply(&mut r)?;
                let digest = reply
                    .digest
                    .as_deref()
                    .and_then(BundleDigest::parse)
                    .ok_or_else(|| io::Error::other("the server sent no bundle digest"))?;
                durable(w)?;
                let confirmed = serde_json::to_writer(&mut s, &Request::Confirm)
                    .map_err(io::Error::from)
                    .and_then(|()| s.write_all(b"\n"))
                    .and_then(|()| Self::reply(&mut r));
                confirmed.map_err(|e| kept(out, &digest, e))?;
                Ok((reply.count.unwrap_or(0), digest))
            }
        }
    }
}

/// The bundle is safely on disk but the confirmation failed: it may or may
/// not have taken effect, so the operator must keep the file either way.
fn kept(out: &Path, digest: &BundleDigest, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!(
        "the bundle was written to {} (digest {digest}) but confirming it failed ({e}); \
         its reports may already be marked exported: keep this bundle and open it",
        out.display()
    ))
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Quota;

    /// An export whose client stops reading (Ctrl-Z) gives up after the
    /// write timeout, so a purge waiting for the store is not blocked for
    /// ever, and nothing is marked exported.
    #[test]
    fn a_stalled_export_does_not_block_purges() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Quota::default()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (keys, _) = crate::keys::test_keys(1);
        // More than a unix socket's buffer holds (about 200 KiB).
        rt.block_on(async {
            for n in 0..100u8 {
                let blob = crate::seal::encrypt(&[n; 8000], &keys).unwrap();
                store.put(blob).await.unwrap();
            }
        });
        let (server, mut client) = UnixStream::pair().unwrap();
        let timeouts = Timeouts {
            read: Duration::from_secs(5),
            write: Duration::from_millis(500),
        };
        let s2 = store.clone();
        let follow_up = FollowUp::open(
            dir.path(),
            None,
            &crate::config::FollowUpConfig::default(),
            false,
        )
        .unwrap();
        let handler =
            std::thread::spawn(move || handle_connection_with(server, &s2, &follow_up, timeouts));
        client
            .write_all(b"{\"op\":\"export\",\"all\":false}\n")
            .unwrap();
        // The client reads nothing from here on; the handler fills the
        // socket and stalls inside the export.
        std::thread::sleep(Duration::from_millis(200));
        let (tx, rx) = std::sync::mpsc::channel();
        let s3 = store.clone();
        std::thread::spawn(move || {
            let _ = tx.send(s3.purge(BundleDigest([7; 32])));
        });
        let purged = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a purge waited for ever behind a stalled export");
        assert!(matches!(purged, Err(StoreError::UnknownDigest(_))));
        let e = handler.join().unwrap().unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e}"
        );
        assert_eq!(store.status().pending, 100);
        assert_eq!(store.status().exported, 0);
        drop(client);
    }
}
