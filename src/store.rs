//! Step 6 of the data path: a sealed blob is appended to the segment log,
//! and its reporter is acknowledged only once a group commit has made it
//! durable.
//!
//! Layout of `DATA/store/`, every byte of which is either a sealed blob or
//! bookkeeping about sealed blobs:
//! - `segments/*.seg`: the sealed blobs themselves, see [`segment`];
//! - sled 0.34.7 (`db`, `conf`, `blobs/`, `snap.*`), the small index:
//!   - tree `index`:   random 128-bit id → where its blob is + pending or
//!     exported; plus one key [`META_KEY`] with the counters and how far
//!     into the log the index reaches, updated in the same atomic batch;
//!   - tree `bundles`: bundle digest → that bundle's manifest;
//!   - tree `purged`:  bundle digest → how many reports its purge deleted.
//!
//! Durability comes from the log alone: one committer thread writes every
//! waiting blob with one `pwrite`, `fdatasync`s, indexes the group in sled
//! and acknowledges (group commit). sled flushes the index on its own
//! schedule; after a crash, whatever the log holds past the index's
//! recorded position is indexed again at start-up. Export and purge make
//! the index durable themselves before answering.

use crate::bundle::{BundleDigest, BundleWriter, Manifest, hex};
use crate::seal::SealedReport;
use segment::{Location, Position};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

mod segment;

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

/// One report on its way to the committer.
struct Put {
    id: [u8; 16],
    sealed: SealedReport,
    ack: Ack,
}

/// The index key that holds [`Meta`]. Ids are 16 bytes; this is not.
const META_KEY: &[u8] = b"salama:meta";

/// Counters and the log position the index reaches, persisted with every
/// index change so start-up never has to read the whole index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Meta {
    indexed_to: Position,
    pending: u64,
    pending_bytes: u64,
    exported: u64,
}

impl Meta {
    fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[..4].copy_from_slice(&1u32.to_be_bytes());
        out[4..8].copy_from_slice(&self.indexed_to.seg.to_be_bytes());
        out[8..16].copy_from_slice(&self.indexed_to.offset.to_be_bytes());
        out[16..24].copy_from_slice(&self.pending.to_be_bytes());
        out[24..32].copy_from_slice(&self.pending_bytes.to_be_bytes());
        out[32..40].copy_from_slice(&self.exported.to_be_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Meta> {
        let u64_at = |i: usize| Some(u64::from_be_bytes(b.get(i..i + 8)?.try_into().ok()?));
        if b.len() != 40 || b[..4] != 1u32.to_be_bytes() {
            return None;
        }
        Some(Meta {
            indexed_to: Position {
                seg: u32::from_be_bytes(b[4..8].try_into().ok()?),
                offset: u64_at(8)?,
            },
            pending: u64_at(16)?,
            pending_bytes: u64_at(24)?,
            exported: u64_at(32)?,
        })
    }
}

/// One index value: where the blob is, and whether it has been exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    at: Location,
    exported: bool,
}

impl Entry {
    fn encode(&self) -> [u8; 17] {
        let mut out = [0u8; 17];
        out[..4].copy_from_slice(&self.at.seg.to_be_bytes());
        out[4..12].copy_from_slice(&self.at.offset.to_be_bytes());
        out[12..16].copy_from_slice(&self.at.len.to_be_bytes());
        out[16] = u8::from(self.exported);
        out
    }

    fn decode(b: &[u8]) -> Option<Entry> {
        if b.len() != 17 || b[16] > 1 {
            return None;
        }
        Some(Entry {
            at: Location {
                seg: u32::from_be_bytes(b[..4].try_into().ok()?),
                offset: u64::from_be_bytes(b[4..12].try_into().ok()?),
                len: u32::from_be_bytes(b[12..16].try_into().ok()?),
            },
            exported: b[16] == 1,
        })
    }
}

/// Ids and entries of the index, skipping [`META_KEY`].
fn entries(index: &sled::Tree) -> impl Iterator<Item = sled::Result<([u8; 16], Option<Entry>)>> {
    index.iter().filter_map(|item| match item {
        Ok((k, v)) => {
            let id: [u8; 16] = k.as_ref().try_into().ok()?;
            Some(Ok((id, Entry::decode(&v))))
        }
        Err(e) => Some(Err(e)),
    })
}

/// The index and its counters. Every change to the index goes through
/// [`Index::apply`], which writes the counters into the same batch.
struct Index {
    tree: sled::Tree,
    meta: Mutex<Meta>,
}

impl Index {
    fn meta(&self) -> Meta {
        *self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Apply `batch` and the counters `change` makes, atomically.
    fn apply(&self, mut batch: sled::Batch, change: impl FnOnce(&mut Meta)) -> sled::Result<()> {
        let mut meta = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = *meta;
        change(&mut next);
        batch.insert(META_KEY, next.encode().as_slice());
        self.tree.apply_batch(batch)?;
        *meta = next;
        Ok(())
    }

    fn get(&self, id: &[u8; 16]) -> sled::Result<Option<Entry>> {
        Ok(self.tree.get(id)?.as_deref().and_then(Entry::decode))
    }
}

pub struct Store {
    dir: PathBuf,
    segments: PathBuf,
    db: sled::Db,
    index: Arc<Index>,
    bundles: sled::Tree,
    purged: sled::Tree,
    commits: mpsc::Sender<Put>,
    quota: Quota,
    /// Export and purge change existing entries; one at a time.
    admin: Mutex<()>,
}

/// A bundle written but not yet confirmed: its reports become "exported"
/// only once the operator's copy is safely on disk.
pub struct PreparedExport {
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub digest: BundleDigest,
}

/// Entries changed per index batch in export and purge: each batch is
/// atomic with its counters, and the committer waits for none longer.
const ADMIN_BATCH: usize = 4096;

impl Store {
    /// Open (or create) the store in `data/store`.
    pub fn open(data: &Path, quota: Quota) -> Result<Arc<Store>, StoreError> {
        Store::open_with(data, quota, segment::SEGMENT_BYTES)
    }

    fn open_with(data: &Path, quota: Quota, segment_bytes: u64) -> Result<Arc<Store>, StoreError> {
        let dir = data.join("store");
        let segments = dir.join("segments");
        create_private_dir(data)?;
        let db = sled::Config::new()
            .path(&dir)
            // Only the small index lives in sled now; its default 1 GiB page
            // cache would just grow with the number of reports.
            .cache_capacity(16 << 20)
            .open()
            .map_err(|e| match e {
                // sled wraps a held file lock as ErrorKind::Other with this
                // text (sled 0.34 config.rs `try_lock`); nothing else tells.
                sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked(dir.clone(), data.join("admin.sock"))
                }
                e => StoreError::Sled(dir.clone(), e),
            })?;
        let sled_err = |e| StoreError::Sled(dir.clone(), e);
        // Stores from before the segment log kept blobs in a tree of this
        // name. Never guess about reports: say what to do.
        if db.tree_names().iter().any(|n| n.as_ref() == b"reports")
            && !db.open_tree("reports").map_err(sled_err)?.is_empty()
        {
            return Err(StoreError::Io(io::Error::other(format!(
                "{} was written by an older salama that kept reports inside sled: \
                 export and purge everything with that version first",
                dir.display()
            ))));
        }
        let tree = db.open_tree("index").map_err(sled_err)?;
        let bundles = db.open_tree("bundles").map_err(sled_err)?;
        let purged = db.open_tree("purged").map_err(sled_err)?;
        create_private_dir(&segments)?;

        let meta = match tree.get(META_KEY).map_err(sled_err)? {
            Some(m) => Meta::decode(&m).ok_or_else(|| {
                StoreError::Io(io::Error::other(format!(
                    "the index in {} has counters this salama cannot read",
                    dir.display()
                )))
            })?,
            None => Meta::default(),
        };
        let index = Arc::new(Index {
            tree,
            meta: Mutex::new(meta),
        });

        // Whatever reached the log after the index last reached disk.
        let recovered = segment::recover(&segments, meta.indexed_to)?;
        for w in &recovered.warnings {
            eprintln!("salama: store: {w}");
        }
        let mut batch = sled::Batch::default();
        let (mut n, mut bytes) = (0u64, 0u64);
        for (id, at) in &recovered.records {
            if index.get(id).map_err(sled_err)?.is_none() {
                let e = Entry {
                    at: *at,
                    exported: false,
                };
                batch.insert(id.as_slice(), e.encode().as_slice());
                n += 1;
                bytes += u64::from(at.len);
            }
        }
        let end = recovered.end;
        index
            .apply(batch, |m| {
                m.indexed_to = end;
                m.pending += n;
                m.pending_bytes += bytes;
            })
            .map_err(sled_err)?;

        let appender = segment::Appender::open(&segments, end.seg, end.offset, segment_bytes)?;
        let (tx, rx) = mpsc::channel::<Put>();
        let committer_index = index.clone();
        std::thread::Builder::new()
            .name("salama-commit".into())
            .spawn(move || group_commit(appender, committer_index, rx))?;

        Ok(Arc::new(Store {
            dir,
            segments,
            db,
            index,
            bundles,
            purged,
            commits: tx,
            quota,
            admin: Mutex::new(()),
        }))
    }

    fn sled<T>(&self, r: sled::Result<T>) -> Result<T, StoreError> {
        r.map_err(|e| match e {
            sled::Error::Io(io) if is_enospc(&io) => StoreError::Full(Full::DiskSpace),
            e => StoreError::Sled(self.dir.clone(), e),
        })
    }

    /// Make every index change so far durable: sled's `flush` ends in
    /// `sync_file_range`, which does not flush the disk's write cache.
    fn sync_index(&self) -> Result<(), StoreError> {
        self.sled(self.db.flush())?;
        File::open(self.dir.join("db"))?.sync_data()?;
        sync_sled_blobs(&self.dir.join("blobs"))?;
        Ok(())
    }

    /// Would a blob of `len` bytes be refused right now, and why?
    pub fn refusal(&self, len: u64) -> Option<Full> {
        let q = &self.quota;
        let meta = self.index.meta();
        if meta.pending >= q.max_pending_reports {
            return Some(Full::PendingReports);
        }
        if meta.pending_bytes + len > q.max_pending_bytes {
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
        let (ack, done) = oneshot::channel();
        let put = Put {
            id: new_id(),
            sealed,
            ack,
        };
        // If the committer is gone, `done` reports it.
        let _ = self.commits.send(put);
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Commit(e)),
            Err(_) => Err(StoreError::Commit(CommitFailure::stopped())),
        }
    }

    /// Write a bundle of every pending report (and, with `all`, every
    /// exported one not yet purged) to `out`, in id order (random: it says
    /// nothing about arrival). Nothing is marked until
    /// [`Store::confirm_export`].
    pub fn prepare_export<W: Write>(
        &self,
        all: bool,
        out: W,
    ) -> Result<(PreparedExport, W), StoreError> {
        let mut w = BundleWriter::new(out);
        let mut log = segment::Reader::new(&self.segments);
        for item in entries(&self.index.tree) {
            let (id, entry) = self.sled(item)?;
            let entry = entry.ok_or_else(|| damaged_entry(&id))?;
            if entry.exported && !all {
                continue;
            }
            let blob = log.read(&id, entry.at)?;
            w.add(&hex(&id), &blob)?;
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
        let _one = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        self.sled(self.bundles.insert(p.digest.0, p.manifest_bytes.as_slice()))?;
        for chunk in p.manifest.entries.chunks(ADMIN_BATCH) {
            let mut batch = sled::Batch::default();
            let (mut newly, mut newly_bytes) = (0u64, 0u64);
            for e in chunk {
                let id = unhex(&e.id);
                if let Some(mut entry) = self.sled(self.index.get(&id))?
                    && !entry.exported
                {
                    entry.exported = true;
                    batch.insert(id.as_slice(), entry.encode().as_slice());
                    newly += 1;
                    newly_bytes += u64::from(entry.at.len);
                }
            }
            self.sled(self.index.apply(batch, |m| {
                m.pending = m.pending.saturating_sub(newly);
                m.pending_bytes = m.pending_bytes.saturating_sub(newly_bytes);
                m.exported += newly;
            }))?;
        }
        self.sync_index()
    }

    /// Delete exactly the reports of the bundle with this digest: their
    /// bytes are erased from the log, then they leave the index.
    pub fn purge(&self, digest: BundleDigest) -> Result<u64, StoreError> {
        let _one = self.admin.lock().unwrap_or_else(|e| e.into_inner());
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
        // Recovery re-reads the log only past the index's durable position;
        // make that position cover every record we are about to erase.
        self.sync_index()?;
        let mut found = Vec::new();
        for id in manifest.ids() {
            let id = unhex(id);
            if let Some(entry) = self.sled(self.index.get(&id))? {
                found.push((id, entry));
            }
        }
        let deleted = found.len() as u64;
        // Record the purge first: if we crash half-way, purging again with
        // the same digest finishes the job instead of saying "unknown".
        self.sled(self.purged.insert(digest.0, &deleted.to_be_bytes()))?;
        let mut log = segment::Reader::new(&self.segments);
        for (_, entry) in &found {
            log.erase(entry.at)?;
        }
        log.sync()?;
        for chunk in found.chunks(ADMIN_BATCH) {
            let mut batch = sled::Batch::default();
            let (mut pending, mut pending_bytes, mut exported) = (0u64, 0u64, 0u64);
            for (id, entry) in chunk {
                batch.remove(id.as_slice());
                if entry.exported {
                    exported += 1;
                } else {
                    pending += 1;
                    pending_bytes += u64::from(entry.at.len);
                }
            }
            self.sled(self.index.apply(batch, |m| {
                m.pending = m.pending.saturating_sub(pending);
                m.pending_bytes = m.pending_bytes.saturating_sub(pending_bytes);
                m.exported = m.exported.saturating_sub(exported);
            }))?;
        }
        self.sled(self.bundles.remove(digest.0))?;
        self.sync_index()?;
        self.delete_dead_segments(&mut log, found.iter().map(|(_, e)| e.at.seg))?;
        Ok(deleted)
    }

    /// Delete the segments among `touched` that no index entry names and
    /// that the committer has left behind for good.
    fn delete_dead_segments(
        &self,
        log: &mut segment::Reader,
        touched: impl Iterator<Item = u32>,
    ) -> Result<(), StoreError> {
        let current = self.index.meta().indexed_to.seg;
        let mut candidates: HashSet<u32> = touched.filter(|&s| s < current).collect();
        if candidates.is_empty() {
            return Ok(());
        }
        for item in entries(&self.index.tree) {
            if let (_, Some(e)) = self.sled(item)? {
                candidates.remove(&e.at.seg);
            }
        }
        for seg in candidates {
            log.delete(seg)?;
        }
        Ok(())
    }

    pub fn status(&self) -> Status {
        let meta = self.index.meta();
        Status {
            pending: meta.pending,
            pending_bytes: meta.pending_bytes,
            exported: meta.exported,
            bundles_awaiting_purge: self.bundles.len() as u64,
            disk_used_bytes: disk_used(&self.dir),
            disk_free_bytes: free_bytes(&self.dir).unwrap_or(0),
            full: self.refusal(0).map(|f| f.to_string()),
        }
    }

    /// Every stored blob (for tests and benchmarks that check contents).
    pub fn count_all(&self) -> usize {
        entries(&self.index.tree).count()
    }

    /// Make the index durable before exit (the log already is).
    pub fn close(&self) -> Result<(), StoreError> {
        self.sync_index()
    }
}

fn damaged_entry(id: &[u8; 16]) -> StoreError {
    StoreError::Io(io::Error::other(format!(
        "the index entry for {} is unreadable",
        hex(id)
    )))
}

/// The committer: one write + fdatasync for everyone waiting at that moment,
/// then one index batch, then the acknowledgements.
fn group_commit(mut log: segment::Appender, index: Arc<Index>, rx: mpsc::Receiver<Put>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        group.extend(rx.try_iter());
        let records: Vec<([u8; 16], &[u8])> =
            group.iter().map(|p| (p.id, p.sealed.as_bytes())).collect();
        let result = match log.commit(&records) {
            Err(e) => Err(CommitFailure::io(&e)),
            Ok(locations) => {
                let mut batch = sled::Batch::default();
                let mut bytes = 0u64;
                for ((id, _), at) in records.iter().zip(&locations) {
                    let e = Entry {
                        at: *at,
                        exported: false,
                    };
                    batch.insert(id.as_slice(), e.encode().as_slice());
                    bytes += u64::from(at.len);
                }
                let end = log.position();
                let n = locations.len() as u64;
                let indexed = index.apply(batch, |m| {
                    m.indexed_to = end;
                    m.pending += n;
                    m.pending_bytes += bytes;
                });
                indexed.map_err(|e| {
                    // Unindexed, the group must not stay in the log either:
                    // the next group would move the index past it.
                    log.undo(locations[0]);
                    CommitFailure::sled(&e)
                })
            }
        };
        drop(records);
        for p in group {
            let _ = p.ack.send(result.clone());
        }
    }
}

/// sled writes values too large for its log (a big bundle manifest) as
/// separate files that it never syncs; they must be as durable as the log.
fn sync_sled_blobs(blobs: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(blobs) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        File::open(e?.path())?.sync_data()?;
    }
    File::open(blobs)?.sync_all()
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

/// Bytes the filesystem holds for `p`: allocated blocks, so erased
/// (hole-punched) records no longer count.
fn disk_used(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_used(&e.path()),
            Ok(m) => m.blocks() * 512,
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

    /// sled's lock is released once every handle (ours and the
    /// committer's) is dropped; the committer exits when its channel
    /// closes, which needs a moment.
    async fn reopen(data: &Path, segment_bytes: u64) -> Arc<Store> {
        let mut tries = 0;
        loop {
            match Store::open_with(data, Quota::default(), segment_bytes) {
                Ok(s) => return s,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    async fn export_and_confirm(store: &Arc<Store>) -> (BundleDigest, Vec<u8>) {
        let s2 = store.clone();
        tokio::task::spawn_blocking(move || {
            let (p, bytes) = s2.prepare_export(false, Vec::new())?;
            s2.confirm_export(&p)?;
            Ok::<_, StoreError>((p.digest, bytes))
        })
        .await
        .unwrap()
        .unwrap()
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
        let store = reopen(dir.path(), segment::SEGMENT_BYTES).await;
        assert_eq!(store.status().pending, 5);
    }

    /// A crash can leave the log ahead of the index on disk: start-up must
    /// index what the log holds past the index, and cut a torn tail.
    #[tokio::test]
    async fn start_up_indexes_what_only_the_log_holds() {
        let dir = tempfile::tempdir().unwrap();
        let segs = dir.path().join("store/segments");
        let kept = sealed(1);
        let kept_bytes = kept.as_bytes().to_vec();
        {
            let store = Store::open(dir.path(), Quota::default()).unwrap();
            store.put(sealed(0)).await.unwrap();
            store.close().unwrap();
        }
        // As the committer would have written it just before a crash that
        // came before sled flushed the index, plus half of a next record.
        let end = segment::recover(&segs, Position::default()).unwrap().end;
        let mut log = segment::Appender::open(&segs, end.seg, end.offset, u64::MAX).unwrap();
        log.commit(&[(new_id(), kept_bytes.as_slice())]).unwrap();
        let torn_at = log.position();
        let path = segs.join(format!("{:010}.seg", torn_at.seg));
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, b"SLM1 half a record", torn_at.offset)
            .unwrap();
        drop(log);

        let store = reopen(dir.path(), segment::SEGMENT_BYTES).await;
        assert_eq!(store.status().pending, 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), torn_at.offset);
        let (_, bundle) = export_and_confirm(&store).await;
        let mut blobs = Vec::new();
        crate::bundle::read(&bundle[..], |_, b| blobs.push(b.to_vec())).unwrap();
        assert!(blobs.contains(&kept_bytes));
        // And the next report goes after the cut, readable too.
        store.put(sealed(2)).await.unwrap();
        assert_eq!(store.count_all(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn purge_erases_the_bytes_and_deletes_dead_segments() {
        let dir = tempfile::tempdir().unwrap();
        let segs = dir.path().join("store/segments");
        // One record per segment: every put starts a new one.
        let store = Store::open_with(dir.path(), Quota::default(), 1).unwrap();
        let mut purged_blobs = Vec::new();
        for n in 0..10 {
            let s = sealed(n);
            purged_blobs.push(s.as_bytes().to_vec());
            store.put(s).await.unwrap();
        }
        let (digest, _) = export_and_confirm(&store).await;
        let survivor = sealed(10);
        let survivor_bytes = survivor.as_bytes().to_vec();
        store.put(survivor).await.unwrap();
        assert_eq!(segment::list(&segs).unwrap().len(), 11);
        let used_before = store.status().disk_used_bytes;

        let s2 = store.clone();
        let n = tokio::task::spawn_blocking(move || s2.purge(digest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 10);
        // Only the survivor's segment is left, and no purged byte anywhere.
        assert_eq!(segment::list(&segs).unwrap().len(), 1);
        let mut everything = Vec::new();
        for e in std::fs::read_dir(&segs).unwrap() {
            everything.extend(std::fs::read(e.unwrap().path()).unwrap());
        }
        let holds = |blob: &[u8]| everything.windows(blob.len()).any(|w| w == blob);
        assert!(purged_blobs.iter().all(|b| !holds(b)));
        assert!(holds(&survivor_bytes));
        let st = store.status();
        assert_eq!(
            (st.pending, st.exported, st.bundles_awaiting_purge),
            (1, 0, 0)
        );
        assert!(st.disk_used_bytes < used_before, "{st:?} vs {used_before}");
    }
}
