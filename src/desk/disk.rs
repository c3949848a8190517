//! The ledger at rest: only ever sealed (age) to the analysts' own keys.
//!
//! ```text
//! LEDGER/lock                 flock: one desk per ledger
//! LEDGER/ledger.age           snapshot: {"format":"salama-desk-ledger","version":1,"seq":N,"state":…}
//! LEDGER/journal/<seq>.age    one operation each, applied after the snapshot
//! ```
//!
//! Every file is written to a temporary name, fsynced, renamed into place,
//! and the directory fsynced: a SIGKILL leaves either the old file or the
//! new one, never half of one. An operation is confirmed (on screen, on the
//! terminal) only once its journal file is durable, so nothing confirmed is
//! lost. The journal is folded into a new snapshot when the desk opens and
//! every [`COMPACT_AFTER`] operations; journal files the snapshot already
//! covers are skipped, so a crash between the two steps is harmless.

use super::ledger::{Ledger, Op, State};
use crate::keys::{AnalystKey, Identity, Recipients};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const FORMAT: &str = "salama-desk-ledger";
pub const VERSION: u32 = 1;
const SNAPSHOT: &str = "ledger.age";
const JOURNAL: &str = "journal";
/// Operations kept in the journal before a new snapshot is written.
pub const COMPACT_AFTER: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot use the ledger directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(
        "another desk has the ledger {0} open; close it first (only one desk may use a ledger at a time)"
    )]
    Busy(PathBuf),
    #[error(
        "{0} cannot be opened with the given identities ({1}). Give every identity the ledger was sealed to with -i"
    )]
    Sealed(PathBuf, &'static str),
    #[error("{0} is not a desk ledger of a version this salama reads; use a newer salama")]
    Format(PathBuf),
    #[error("cannot seal the ledger to your keys: {0}")]
    Keys(String),
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: String,
    version: u32,
    seq: u64,
    state: State,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    format: String,
    version: u32,
    seq: u64,
    op: Op,
}

/// The ledger's directory, locked, with the keys it is sealed to.
pub struct Disk {
    dir: PathBuf,
    recipients: Recipients,
    journal_len: usize,
    _lock: File,
}

/// The analysts' own public keys, from their identities: post-quantum ones
/// if there are any (a ledger must not be sealed to both kinds).
pub fn recipients_of(identities: &[Identity]) -> Result<Recipients, DiskError> {
    let mut keys: Vec<AnalystKey> = identities.iter().map(|i| i.recipient().clone()).collect();
    if keys.iter().any(AnalystKey::is_post_quantum) {
        keys.retain(AnalystKey::is_post_quantum);
    }
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.id().to_string()));
    Recipients::new(keys).map_err(|e| DiskError::Keys(e.to_string()))
}

fn io(dir: &Path) -> impl Fn(std::io::Error) -> DiskError + '_ {
    move |e| DiskError::Io(dir.to_path_buf(), e)
}

/// Write `bytes` as `dir/name`: temporary file, fsync, rename, directory fsync.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

fn journal_name(seq: u64) -> String {
    format!("{seq:020}.age")
}

impl Disk {
    /// Open (or make) the ledger in `dir` and read it back.
    pub fn open(dir: &Path, identities: &[Identity]) -> Result<(Disk, Ledger), DiskError> {
        let recipients = recipients_of(identities)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join(JOURNAL))
            .map_err(io(dir))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("lock"))
            .map_err(io(dir))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| DiskError::Busy(dir.to_path_buf()))?;

        let snap_path = dir.join(SNAPSHOT);
        let mut journal_len = 0;
        let mut ledger = match fs::read(&snap_path) {
            Ok(sealed) => {
                let plain = unseal(&sealed, identities, &snap_path)?;
                let s: Snapshot = serde_json::from_slice(&plain)
                    .map_err(|_| DiskError::Format(snap_path.clone()))?;
                if s.format != FORMAT || s.version != VERSION {
                    return Err(DiskError::Format(snap_path));
                }
                Ledger::new(s.state, s.seq)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A new ledger: its snapshot is written at once, so the id
                // key (and every page address) is the same after a restart.
                journal_len = 1;
                Ledger::new(State::fresh(), 0)
            }
            Err(e) => return Err(DiskError::Io(snap_path, e)),
        };

        let jdir = dir.join(JOURNAL);
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for e in fs::read_dir(&jdir).map_err(io(dir))? {
            let e = e.map_err(io(dir))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                // A temporary file a crash left behind: never confirmed.
                let _ = fs::remove_file(e.path());
                continue;
            }
            if let Some(seq) = name
                .strip_suffix(".age")
                .and_then(|s| s.parse::<u64>().ok())
            {
                names.push((seq, e.path()));
            }
        }
        names.sort();
        for (seq, path) in names {
            if seq <= ledger.seq {
                continue;
            }
            let sealed = fs::read(&path).map_err(io(dir))?;
            let plain = unseal(&sealed, identities, &path)?;
            let entry: Entry =
                serde_json::from_slice(&plain).map_err(|_| DiskError::Format(path.clone()))?;
            if entry.format != FORMAT || entry.version != VERSION || entry.seq != seq {
                return Err(DiskError::Format(path));
            }
            ledger.apply(seq, entry.op);
            journal_len += 1;
        }
        let mut disk = Disk {
            dir: dir.to_path_buf(),
            recipients,
            journal_len,
            _lock: lock,
        };
        if journal_len > 0 {
            disk.compact(&ledger)?;
        }
        Ok((disk, ledger))
    }

    /// Make `op` durable, then apply it. Once this returns, the operation
    /// survives a SIGKILL.
    pub fn commit(&mut self, ledger: &mut Ledger, op: Op) -> Result<(), DiskError> {
        let seq = ledger.seq + 1;
        let entry = Entry {
            format: FORMAT.into(),
            version: VERSION,
            seq,
            op,
        };
        let plain = Zeroizing::new(serde_json::to_vec(&entry).expect("the ledger serialises"));
        let sealed = crate::seal::encrypt(&plain, &self.recipients)
            .map_err(|e| DiskError::Keys(e.to_string()))?;
        let jdir = self.dir.join(JOURNAL);
        write_atomic(&jdir, &journal_name(seq), sealed.as_bytes()).map_err(io(&self.dir))?;
        drop(plain);
        ledger.apply(seq, entry.op);
        self.journal_len += 1;
        if self.journal_len >= COMPACT_AFTER {
            self.compact(ledger)?;
        }
        Ok(())
    }

    /// Fold the journal into a new snapshot.
    pub fn compact(&mut self, ledger: &Ledger) -> Result<(), DiskError> {
        #[derive(Serialize)]
        struct SnapshotRef<'a> {
            format: &'a str,
            version: u32,
            seq: u64,
            state: &'a State,
        }
        let plain = Zeroizing::new(
            serde_json::to_vec(&SnapshotRef {
                format: FORMAT,
                version: VERSION,
                seq: ledger.seq,
                state: &ledger.state,
            })
            .expect("the ledger serialises"),
        );
        let sealed = crate::seal::encrypt(&plain, &self.recipients)
            .map_err(|e| DiskError::Keys(e.to_string()))?;
        drop(plain);
        write_atomic(&self.dir, SNAPSHOT, sealed.as_bytes()).map_err(io(&self.dir))?;
        let jdir = self.dir.join(JOURNAL);
        for e in fs::read_dir(&jdir).map_err(io(&self.dir))? {
            let e = e.map_err(io(&self.dir))?;
            let done = e
                .file_name()
                .to_string_lossy()
                .strip_suffix(".age")
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|s| s <= ledger.seq);
            if done {
                fs::remove_file(e.path()).map_err(io(&self.dir))?;
            }
        }
        File::open(&jdir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        self.journal_len = 0;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn unseal(
    sealed: &[u8],
    identities: &[Identity],
    path: &Path,
) -> Result<Zeroizing<Vec<u8>>, DiskError> {
    let d = age::Decryptor::new_buffered(sealed)
        .map_err(|_| DiskError::Sealed(path.into(), "not an age file"))?;
    let mut r = d
        .decrypt(identities.iter().map(|i| i.as_age()))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                DiskError::Sealed(path.into(), "sealed to other keys")
            }
            _ => DiskError::Sealed(path.into(), "damaged or altered"),
        })?;
    let mut plain = Zeroizing::new(Vec::with_capacity(sealed.len()));
    r.read_to_end(&mut plain)
        .map_err(|_| DiskError::Sealed(path.into(), "damaged or altered"))?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::super::ledger::tests::{bundle, report};
    use super::*;

    fn identity() -> Vec<Identity> {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let f = tempfile::NamedTempFile::new().unwrap();
        fs::write(f.path(), id.to_string().expose_secret()).unwrap();
        crate::keys::load_identities(f.path(), || unreachable!()).unwrap()
    }

    #[test]
    fn what_is_committed_is_read_back_and_the_files_hold_no_plaintext() {
        let tmp = tempfile::tempdir().unwrap();
        let ids = identity();
        {
            let (mut disk, mut l) = Disk::open(tmp.path(), &ids).unwrap();
            disk.commit(
                &mut l,
                Op::Import {
                    bundle: bundle("b1", 1),
                    reports: vec![report(
                        "CANARYRECEIPT",
                        "2026-11-02",
                        &["http://canary.example.com/"],
                    )],
                },
            )
            .unwrap();
            // A second desk on the same ledger is refused while this one runs.
            assert!(matches!(
                Disk::open(tmp.path(), &ids),
                Err(DiskError::Busy(_))
            ));
        }
        for entry in walk(tmp.path()) {
            let b = fs::read(&entry).unwrap();
            assert!(!b.windows(6).any(|w| w == b"CANARY"), "{entry:?}");
            assert!(!b.windows(7).any(|w| w == b"example"), "{entry:?}");
        }
        let (_, l) = Disk::open(tmp.path(), &ids).unwrap();
        assert_eq!(l.state.reports.len(), 1);
        // Page addresses stay the same across restarts.
        let id = l.url_id("http://canary.example.com/");
        drop(l);
        let (_, l) = Disk::open(tmp.path(), &ids).unwrap();
        assert_eq!(l.url_id("http://canary.example.com/"), id);
        assert!(l.url("http://canary.example.com/").is_some());
        // Other keys open nothing.
        assert!(matches!(
            Disk::open(tmp.path(), &identity()).err(),
            Some(DiskError::Sealed(..))
        ));
    }

    #[test]
    fn journal_after_a_snapshot_is_replayed_and_leftover_temporaries_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let ids = identity();
        let (mut disk, mut l) = Disk::open(tmp.path(), &ids).unwrap();
        for i in 0..3 {
            disk.commit(
                &mut l,
                Op::Import {
                    bundle: bundle(&format!("b{i}"), 1),
                    reports: vec![report(
                        &format!("R{i}"),
                        "2026-11-02",
                        &["http://a.example.com/"],
                    )],
                },
            )
            .unwrap();
        }
        disk.compact(&l).unwrap();
        disk.commit(
            &mut l,
            Op::Import {
                bundle: bundle("b9", 1),
                reports: vec![report("R9", "2026-11-03", &["http://a.example.com/"])],
            },
        )
        .unwrap();
        // As a SIGKILL in the middle of the next write would leave it.
        fs::write(
            tmp.path().join("journal/.00000000000000000006.age.tmp"),
            b"half",
        )
        .unwrap();
        drop(disk);
        drop(l);
        let (_, l) = Disk::open(tmp.path(), &ids).unwrap();
        assert_eq!(l.seq, 4);
        assert_eq!(l.url("http://a.example.com/").unwrap().reports.len(), 4);
        assert_eq!(walk(&tmp.path().join("journal")).len(), 0);
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
