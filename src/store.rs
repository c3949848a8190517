//! Step 6 of the data path: sealed blobs go into sled, and a reporter is
//! acknowledged only once a group commit has made the blob durable.
//!
//! Layout of `DATA/store/` (sled 0.34.7), every byte of which is either a
//! sealed blob or bookkeeping about sealed blobs:
//! - tree `reports`:  random 128-bit id → sealed report (age v1 file);
//! - tree `exported`: id → digest of the last bundle it went into;
//! - tree `bundles`:  bundle digest → that bundle's manifest;
//! - tree `purged`:   bundle digest → how many reports its purge deleted.
//!
//! Durability: sled's `flush()` ends in `sync_file_range`, which does not
//! flush the disk's write cache, so after it one committer thread also
//! `fdatasync`s the log file (and any blob file sled made). Every writer
//! waiting at that moment is acknowledged by the same flush (group commit):
//! one flush per request stalls sled and costs 5× the throughput.

use crate::bundle::{BundleDigest, BundleWriter, Manifest, hex};
use crate::seal::SealedReport;
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// Limits on what may wait for export. Reaching one turns the form into a
/// "try again later" page; nothing already stored is touched.
#[derive(Clone, Debug)]
pub struct Quota {
    pub max_pending_reports: u64,
    pub max_pending_bytes: u64,
    /// Refuse new reports while the filesystem has less free space than
    /// this: sled must never meet ENOSPC in the middle of a write.
    pub min_free_bytes: u64,
}

impl Default for Quota {
    fn default() -> Quota {
        Quota {
            max_pending_reports: 1_000_000,
            max_pending_bytes: 4 << 30,
            min_free_bytes: 256 << 20,
        }
    }
}

/// Why the store refuses new reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    PendingReports,
    PendingBytes,
    DiskSpace,
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Full::PendingReports => "the quota of pending reports is reached: export and purge",
            Full::PendingBytes => "the quota of pending bytes is reached: export and purge",
            Full::DiskSpace => "the disk is nearly full: export and purge, or free space",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not accepting reports: {0}")]
    Full(Full),
    #[error(
        "the store in {0} is in use by another process. If `salama serve` is running, export, purge and status go through it automatically; check that {1} exists and that you may open it"
    )]
    Locked(PathBuf, PathBuf),
    #[error("storage error in {0}: {1}")]
    Sled(PathBuf, sled::Error),
    #[error("I/O error on the store: {0}")]
    Io(#[from] io::Error),
    #[error("the durable commit failed ({0}); the report was not acknowledged")]
    Commit(CommitFailure),
    #[error(
        "no bundle with digest {0} was exported from this store: check the digest `salama open` printed"
    )]
    UnknownDigest(BundleDigest),
    #[error("the bundle {0} was already purged ({1} reports); nothing to do")]
    AlreadyPurged(BundleDigest, u64),
}

impl StoreError {
    /// Is this the store saying "no room now", as opposed to a fault?
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Full(_) => true,
            StoreError::Commit(f) => f.disk_full,
            StoreError::Io(e) => is_enospc(e),
            _ => false,
        }
    }
}

fn is_enospc(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(28) | Some(122)) // ENOSPC, EDQUOT
}

/// The counts `salama status` shows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Status {
    pub pending: u64,
    pub pending_bytes: u64,
    pub exported: u64,
    pub bundles_awaiting_purge: u64,
    pub disk_used_bytes: u64,
    pub disk_free_bytes: u64,
    /// Why new reports are refused right now, if they are.
    pub full: Option<String>,
}

/// Why a group commit failed, as every waiter of that commit sees it.
#[derive(Debug, Clone)]
pub struct CommitFailure {
    /// ENOSPC or EDQUOT: "try later", not a fault.
    pub disk_full: bool,
    message: String,
}

impl CommitFailure {
    fn io(e: &io::Error) -> CommitFailure {
        CommitFailure {
            disk_full: is_enospc(e),
            message: e.to_string(),
        }
    }

    fn sled(e: &sled::Error) -> CommitFailure {
        match e {
            sled::Error::Io(io) => CommitFailure::io(io),
            e => CommitFailure {
                disk_full: false,
                message: e.to_string(),
            },
        }
    }

    fn stopped() -> CommitFailure {
        CommitFailure {
            disk_full: false,
            message: "the commit thread stopped".into(),
        }
    }
}

impl std::fmt::Display for CommitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

type Ack = oneshot::Sender<Result<(), CommitFailure>>;

pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    reports: sled::Tree,
    exported: sled::Tree,
    bundles: sled::Tree,
    purged: sled::Tree,
    commits: Mutex<mpsc::Sender<Ack>>,
    quota: Quota,
    pending: AtomicU64,
    pending_bytes: AtomicU64,
    exported_count: AtomicU64,
}

/// A bundle written but not yet confirmed: its reports become "exported"
/// only once the operator's copy is safely on disk.
pub struct PreparedExport {
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub digest: BundleDigest,
}

impl Store {
    /// Open (or create) the store in `data/store`.
    pub fn open(data: &Path, quota: Quota) -> Result<Arc<Store>, StoreError> {
        let dir = data.join("store");
        create_private_dir(data)?;
        let db = sled::Config::new()
            .path(&dir)
            // sled's default page cache is 1 GiB; reports are written once
            // and read back only at export, so a small cache costs nothing.
            .cache_capacity(64 << 20)
            .open()
            .map_err(|e| match e {
                // sled wraps a held file lock as ErrorKind::Other with this
                // text (sled 0.34 config.rs `try_lock`); nothing else tells.
                sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked(dir.clone(), data.join("admin.sock"))
                }
                e => StoreError::Sled(dir.clone(), e),
            })?;
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| StoreError::Sled(dir.clone(), e))
        };
        let reports = tree("reports")?;
        let exported = tree("exported")?;
        let bundles = tree("bundles")?;
        let purged = tree("purged")?;

        let (mut pending, mut pending_bytes) = (0u64, 0u64);
        for item in reports.iter() {
            let (k, v) = item.map_err(|e| StoreError::Sled(dir.clone(), e))?;
            if !exported
                .contains_key(&k)
                .map_err(|e| StoreError::Sled(dir.clone(), e))?
            {
                pending += 1;
                pending_bytes += v.len() as u64;
            }
        }
        let exported_count = exported.len() as u64;

        let (tx, rx) = mpsc::channel::<Ack>();
        let log = File::open(dir.join("db"))?;
        let committer_db = db.clone();
        let committer_dir = dir.clone();
        std::thread::Builder::new()
            .name("salama-commit".into())
            .spawn(move || group_commit(committer_db, log, committer_dir, rx))?;

        Ok(Arc::new(Store {
            dir,
            db,
            reports,
            exported,
            bundles,
            purged,
            commits: Mutex::new(tx),
            quota,
            pending: AtomicU64::new(pending),
            pending_bytes: AtomicU64::new(pending_bytes),
            exported_count: AtomicU64::new(exported_count),
        }))
    }

    fn sled<T>(&self, r: sled::Result<T>) -> Result<T, StoreError> {
        r.map_err(|e| match e {
            sled::Error::Io(io) if is_enospc(&io) => StoreError::Full(Full::DiskSpace),
            e => StoreError::Sled(self.dir.clone(), e),
        })
    }

    /// Ask the committer to make everything written so far durable.
    fn commit(&self) -> oneshot::Receiver<Result<(), CommitFailure>> {
        let (tx, rx) = oneshot::channel();
        let sender = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        // If the committer is gone, `rx` reports the error on await.
        let _ = sender.send(tx);
        rx
    }

    async fn commit_async(&self) -> Result<(), StoreError> {
        match self.commit().await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Commit(e)),
            Err(_) => Err(StoreError::Commit(CommitFailure::stopped())),
        }
    }

    /// For callers outside the async runtime (admin requests, the CLI).
    pub fn commit_blocking(&self) -> Result<(), StoreError> {
        match self.commit().blocking_recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Commit(e)),
            Err(_) => Err(StoreError::Commit(CommitFailure::stopped())),
        }
    }

    /// Would a blob of `len` bytes be refused right now, and why?
    pub fn refusal(&self, len: u64) -> Option<Full> {
        let q = &self.quota;
        if self.pending.load(Ordering::Relaxed) >= q.max_pending_reports {
            return Some(Full::PendingReports);
        }
        if self.pending_bytes.load(Ordering::Relaxed) + len > q.max_pending_bytes {
            return Some(Full::PendingBytes);
        }
        match free_bytes(&self.dir) {
            Ok(free) if free >= q.min_free_bytes + len => None,
            _ => Some(Full::DiskSpace),
        }
    }

    /// Store a sealed report and return once it is durable. Only then may
    /// the reporter be told it was received.
    pub async fn put(&self, sealed: SealedReport) -> Result<(), StoreError> {
        let len = sealed.as_bytes().len() as u64;
        if let Some(full) = self.refusal(len) {
            return Err(StoreError::Full(full));
        }
        let id = new_id();
        self.sled(self.reports.insert(id, sealed.into_bytes()))?;
        if let Err(e) = self.commit_async().await {
            // Not acknowledged: take it back if we can. If it survives
            // anyway it is simply one more report, never a lost one.
            let _ = self.reports.remove(id);
            return Err(e);
        }
        self.pending.fetch_add(1, Ordering::Relaxed);
        self.pending_bytes.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// Write a bundle of every pending report (and, with `all`, every
    /// exported one not yet purged) to `out`. Nothing is marked until
    /// [`Store::confirm_export`].
    pub fn prepare_export<W: Write>(
        &self,
        all: bool,
        out: W,
    ) -> Result<(PreparedExport, W), StoreError> {
        let mut w = BundleWriter::new(out);
        for item in self.reports.iter() {
            let (k, v) = self.sled(item)?;
            if !all && self.sled(self.exported.contains_key(&k))? {
                continue;
            }
            w.add(&hex(&k), &v)?;
        }
        let (manifest, manifest_bytes, digest, out) = w.finish()?;
        Ok((
            PreparedExport {
                manifest,
                manifest_bytes,
                digest,
            },
            out,
        ))
    }

    /// The operator's bundle is on disk: mark its reports exported.
    /// The bundle is recorded before its reports are marked, so a crash in
    /// between leaves them pending (exported again next time) but still
    /// purgeable with this digest: nothing is lost either way.
    pub fn confirm_export(&self, p: &PreparedExport) -> Result<(), StoreError> {
        self.sled(self.bundles.insert(p.digest.0, p.manifest_bytes.as_slice()))?;
        let mut batch = sled::Batch::default();
        let mut newly = 0u64;
        let mut newly_bytes = 0u64;
        for e in &p.manifest.entries {
            let id = unhex(&e.id);
            if !self.sled(self.exported.contains_key(id))? {
                newly += 1;
                newly_bytes += e.size;
            }
            batch.insert(&id, &p.digest.0);
        }
        self.sled(self.exported.apply_batch(batch))?;
        self.commit_blocking()?;
        self.pending.fetch_sub(
            newly.min(self.pending.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        self.pending_bytes.fetch_sub(
            newly_bytes.min(self.pending_bytes.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        self.exported_count.fetch_add(newly, Ordering::Relaxed);
        Ok(())
    }

    /// Delete exactly the reports of the bundle with this digest.
    pub fn purge(&self, digest: BundleDigest) -> Result<u64, StoreError> {
        let Some(manifest) = self.sled(self.bundles.get(digest.0))? else {
            if let Some(n) = self.sled(self.purged.get(digest.0))? {
                let n = u64::from_be_bytes(n.as_ref().try_into().unwrap_or([0; 8]));
                return Err(StoreError::AlreadyPurged(digest, n));
            }
            return Err(StoreError::UnknownDigest(digest));
        };
        let manifest = Manifest::parse(&manifest).map_err(|e| {
            StoreError::Commit(CommitFailure {
                disk_full: false,
                message: format!("stored manifest unreadable: {e}"),
            })
        })?;
        let mut deleted = 0u64;
        let mut del_reports = sled::Batch::default();
        let mut del_exported = sled::Batch::default();
        let mut was_pending = (0u64, 0u64);
        let mut was_exported = 0u64;
        for id in manifest.ids() {
            let id = unhex(id);
            if let Some(v) = self.sled(self.reports.get(id))? {
                deleted += 1;
                if self.sled(self.exported.contains_key(id))? {
                    was_exported += 1;
                } else {
                    was_pending.0 += 1;
                    was_pending.1 += v.len() as u64;
                }
            }
            del_reports.remove(&id);
            del_exported.remove(&id);
        }
        // Record the purge first: if we crash half-way, purging again with
        // the same digest finishes the job instead of saying "unknown".
        self.sled(self.purged.insert(digest.0, &deleted.to_be_bytes()))?;
        self.sled(self.reports.apply_batch(del_reports))?;
        self.sled(self.exported.apply_batch(del_exported))?;
        self.sled(self.bundles.remove(digest.0))?;
        self.commit_blocking()?;
        self.pending.fetch_sub(was_pending.0, Ordering::Relaxed);
        self.pending_bytes
            .fetch_sub(was_pending.1, Ordering::Relaxed);
        self.exported_count
            .fetch_sub(was_exported, Ordering::Relaxed);
        Ok(deleted)
    }

    pub fn status(&self) -> Status {
        let pending = self.pending.load(Ordering::Relaxed);
        Status {
            pending,
            pending_bytes: self.pending_bytes.load(Ordering::Relaxed),
            exported: self.exported_count.load(Ordering::Relaxed),
            bundles_awaiting_purge: self.bundles.len() as u64,
            disk_used_bytes: dir_size(&self.dir),
            disk_free_bytes: free_bytes(&self.dir).unwrap_or(0),
            full: self.refusal(0).map(|f| f.to_string()),
        }
    }

    /// Every stored blob (for tests and benchmarks that check contents).
    pub fn count_all(&self) -> usize {
        self.reports.len()
    }

    /// Flush everything before exit.
    pub fn close(&self) -> Result<(), StoreError> {
        self.sled(self.db.flush())?;
        Ok(())
    }
}

/// The committer: one flush + fdatasync for everyone waiting at that moment.
fn group_commit(db: sled::Db, log: File, dir: PathBuf, rx: mpsc::Receiver<Ack>) {
    let blobs = dir.join("blobs");
    let mut synced_blobs: HashSet<OsString> = HashSet::new();
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let result = db
            .flush()
            .map_err(|e| CommitFailure::sled(&e))
            .and_then(|_| log.sync_data().map_err(|e| CommitFailure::io(&e)))
            .and_then(|_| {
                sync_new_blobs(&blobs, &mut synced_blobs).map_err(|e| CommitFailure::io(&e))
            })
            .map(|_| ());
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }
}

/// sled writes values too large for its log as separate files that it
/// never syncs. Ours are far below that size, but if one ever appears it
/// must be as durable as the log before anyone is acknowledged.
fn sync_new_blobs(blobs: &Path, synced: &mut HashSet<OsString>) -> io::Result<()> {
    let entries = match std::fs::read_dir(blobs) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut any = false;
    for e in entries {
        let e = e?;
        if !synced.contains(&e.file_name()) {
            File::open(e.path())?.sync_data()?;
            synced.insert(e.file_name());
            any = true;
        }
    }
    if any {
        File::open(blobs)?.sync_all()?;
    }
    Ok(())
}

fn new_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).expect("the operating system's random source failed");
    id
}

fn unhex(s: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    out
}

pub fn create_private_dir(p: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(p)
}

fn free_bytes(p: &Path) -> io::Result<u64> {
    let s = rustix::fs::statvfs(p)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::test_keys;
    use crate::seal::encrypt;

    fn sealed(n: u8) -> SealedReport {
        let (r, _) = test_keys(1);
        encrypt(&[n; 100], &r).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn put_export_confirm_purge() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Quota::default()).unwrap();
        for n in 0..20 {
            store.put(sealed(n)).await.unwrap();
        }
        assert_eq!(store.status().pending, 20);
        let s2 = store.clone();
        let (p, bytes) = tokio::task::spawn_blocking(move || s2.prepare_export(false, Vec::new()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.manifest.count, 20);
        // Not yet confirmed: still pending.
        assert_eq!(store.status().pending, 20);
        let s2 = store.clone();
        let digest = p.digest;
        tokio::task::spawn_blocking(move || s2.confirm_export(&p))
            .await
            .unwrap()
            .unwrap();
        let st = store.status();
        assert_eq!(
            (st.pending, st.exported, st.bundles_awaiting_purge),
            (0, 20, 1)
        );
        // New arrivals go into the next bundle only.
        store.put(sealed(99)).await.unwrap();
        let s2 = store.clone();
        let (p2, _) = tokio::task::spawn_blocking(move || s2.prepare_export(false, Vec::new()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p2.manifest.count, 1);
        let v = crate::bundle::read(&bytes[..], |_, _| {}).unwrap();
        assert_eq!(v.digest, digest);
        let s2 = store.clone();
        let n = tokio::task::spawn_blocking(move || s2.purge(digest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 20);
        assert_eq!(store.count_all(), 1);
        let s2 = store.clone();
        let again = tokio::task::spawn_blocking(move || s2.purge(digest))
            .await
            .unwrap();
        assert!(matches!(again, Err(StoreError::AlreadyPurged(_, 20))));
        let s2 = store.clone();
        let unknown = tokio::task::spawn_blocking(move || s2.purge(BundleDigest([7; 32])))
            .await
            .unwrap();
        assert!(matches!(unknown, Err(StoreError::UnknownDigest(_))));
    }

    #[tokio::test]
    async fn quota_refuses_without_touching_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let quota = Quota {
            max_pending_reports: 3,
            ..Quota::default()
        };
        let store = Store::open(dir.path(), quota).unwrap();
        for n in 0..3 {
            store.put(sealed(n)).await.unwrap();
        }
        let err = store.put(sealed(3)).await.unwrap_err();
        assert!(err.is_full());
        assert_eq!(store.count_all(), 3);
        assert!(store.status().full.is_some());
    }

    #[test]
    fn a_store_in_use_says_so_and_names_the_admin_socket() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), Quota::default()).unwrap();
        match Store::open(dir.path(), Quota::default()) {
            Err(e @ StoreError::Locked(..)) => assert!(e.to_string().contains("admin.sock"), "{e}"),
            Err(e) => panic!("expected Locked, got {e}"),
            Ok(_) => panic!("a second open of a store in use must fail"),
        }
    }

    #[tokio::test]
    async fn reopening_keeps_counts() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), Quota::default()).unwrap();
            for n in 0..5 {
                store.put(sealed(n)).await.unwrap();
            }
        }
        // sled's lock is released once every handle (ours and the
        // committer's) is dropped; the committer exits when its channel
        // closes, which needs a moment.
        let mut tries = 0;
        let store = loop {
            match Store::open(dir.path(), Quota::default()) {
                Ok(s) => break s,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(store.status().pending, 5);
    }
}
