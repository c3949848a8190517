//! Step 6 of the data path: a sealed blob is appended to the segment log,
//! and its reporter is acknowledged only once a group commit has made it
//! durable.
//!
//! Layout of `DATA/store/`, every byte of which is either a sealed blob or
//! bookkeeping about sealed blobs:
//! - `segments/*.seg`: the sealed blobs, appended in one log ([`segment`]);
//! - sled 0.34.7 (`db`, `conf`, `blobs/`, `snap.*`), the bookkeeping:
//!   - tree `meta`: one entry, [`META_KEY`]: how far the log goes, how far
//!     it has been exported, and the counters `salama status` shows;
//!   - tree `bundles`: bundle digest → where its reports are (for purge);
//!   - tree `purged`: bundle digest → how many reports its purge erased.
//!
//! Durability comes from the log alone: one committer thread writes every
//! waiting blob with one `pwrite`, `fdatasync`s, and acknowledges (group
//! commit). Nothing per report goes to sled: the counters are checkpointed
//! about once a second, and at start-up the log past the checkpoint is
//! walked and counted again. Export takes the log in order from where the
//! last confirmed export ended, so "pending" needs no per-report flag.

use crate::bundle::{BundleDigest, BundleWriter, hex};
use crate::seal::SealedReport;
use segment::{Location, Position};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
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
    /// Reports that could not be sealed since the server started (each a
    /// reporter told to try later): anything but 0 needs the operator.
    #[serde(default)]
    pub seal_failures: u64,
}

impl Status {
    /// `salama status`'s exit code: 0 when all is well, 2 while new reports
    /// are refused (quota or disk), 3 when reports failed to seal (worse: the
    /// service looks up but loses reports).
    pub fn exit_code(&self) -> u8 {
        if self.seal_failures > 0 {
            3
        } else if self.full.is_some() {
            2
        } else {
            0
        }
    }
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

/// The key of the one entry in sled tree `meta`.
const META_KEY: &[u8] = b"counters";

/// How far the log goes and what is in it. Exported reports are exactly
/// the live records before `exported_to`: export takes the log in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Meta {
    /// Every record before this position is durable and counted here.
    end: Position,
    /// Every record before this position has been exported.
    exported_to: Position,
    pending: u64,
    pending_bytes: u64,
    exported: u64,
}

impl Meta {
    const LEN: usize = 4 + 12 + 12 + 24;

    fn encode(&self) -> [u8; Meta::LEN] {
        let mut out = [0u8; Meta::LEN];
        let fields = [
            &1u32.to_be_bytes()[..],
            &self.end.seg.to_be_bytes(),
            &self.end.offset.to_be_bytes(),
            &self.exported_to.seg.to_be_bytes(),
            &self.exported_to.offset.to_be_bytes(),
            &self.pending.to_be_bytes(),
            &self.pending_bytes.to_be_bytes(),
            &self.exported.to_be_bytes(),
        ];
        let mut at = 0;
        for f in fields {
            out[at..at + f.len()].copy_from_slice(f);
            at += f.len();
        }
        out
    }

    fn decode(b: &[u8]) -> Option<Meta> {
        let u32_at = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
        let u64_at = |i: usize| Some(u64::from_be_bytes(b.get(i..i + 8)?.try_into().ok()?));
        if b.len() != Meta::LEN || u32_at(0)? != 1 {
            return None;
        }
        Some(Meta {
            end: Position {
                seg: u32_at(4)?,
                offset: u64_at(8)?,
            },
            exported_to: Position {
                seg: u32_at(16)?,
                offset: u64_at(20)?,
            },
            pending: u64_at(28)?,
            pending_bytes: u64_at(36)?,
            exported: u64_at(44)?,
        })
    }
}

/// The counters in memory, and their checkpoint in sled. A checkpoint that
/// is behind only means start-up walks a little more of the log.
struct Book {
    meta: Mutex<Meta>,
    tree: sled::Tree,
    /// `DATA/store`, whose files' times [`day_times_all`] blurs.
    dir: PathBuf,
    /// Serialises checkpoints, so the newest one is the last one written.
    checkpoint: Mutex<()>,
}

impl Book {
    fn get(&self) -> Meta {
        *self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Meta)) {
        f(&mut self.meta.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Write the counters and have sled write them out now (sled's own
    /// timed flushing is off, see [`Store::open`]), then bring sled's files
    /// to day resolution: sled writes only here and in the admin paths,
    /// each followed by [`day_times_all`].
    fn checkpoint(&self) -> sled::Result<()> {
        let _one = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        let meta = self.get();
        self.tree.insert(META_KEY, meta.encode().as_slice())?;
        self.tree.flush()?;
        day_times_all(&self.dir);
        Ok(())
    }

    /// Lower the counters for a purge and record that they were lowered,
    /// in one sled batch: the checkpoint never holds the one without the
    /// other. Memory follows only once the batch is applied, and no other
    /// checkpoint can write an older copy in between.
    fn lower_for_purge(
        &self,
        marker: &[u8],
        count: u64,
        f: impl FnOnce(&mut Meta),
    ) -> sled::Result<()> {
        let _one = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        let mut meta = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = *meta;
        f(&mut next);
        let mut batch = sled::Batch::default();
        batch.insert(META_KEY, next.encode().as_slice());
        batch.insert(marker, &count.to_be_bytes());
        self.tree.apply_batch(batch)?;
        *meta = next;
        Ok(())
    }
}

/// In tree `meta`, beside the counters: `purging/` + a bundle digest marks
/// a purge whose counters are already lowered (its value: how many reports
/// it counted). A purge that stops anywhere after that, by an error or a
/// crash, and is run again finds the mark and does not count twice.
fn purging_key(digest: &BundleDigest) -> Vec<u8> {
    [&b"purging/"[..], &digest.0[..]].concat()
}

/// A bundle's records as sled keeps them for its purge:
/// id (16) | segment (u32 BE) | offset (u64 BE) | len (u32 BE), each.
fn pack(records: &[([u8; 16], Location)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * 32);
    for (id, at) in records {
        out.extend_from_slice(id);
        out.extend_from_slice(&at.seg.to_be_bytes());
        out.extend_from_slice(&at.offset.to_be_bytes());
        out.extend_from_slice(&at.len.to_be_bytes());
    }
    out
}

fn unpack(b: &[u8]) -> Option<Vec<([u8; 16], Location)>> {
    if !b.len().is_multiple_of(32) {
        return None;
    }
    b.chunks_exact(32)
        .map(|r| {
            Some((
                r[..16].try_into().ok()?,
                Location {
                    seg: u32::from_be_bytes(r[16..20].try_into().ok()?),
                    offset: u64::from_be_bytes(r[20..28].try_into().ok()?),
                    len: u32::from_be_bytes(r[28..32].try_into().ok()?),
                },
            ))
        })
        .collect()
}

pub struct Store {
    dir: PathBuf,
    segments: PathBuf,
    db: sled::Db,
    book: Arc<Book>,
    bundles: sled::Tree,
    purged: sled::Tree,
    commits: mpsc::Sender<Put>,
    quota: Quota,
    /// Export, its confirmation and purge: one at a time.
    admin: Mutex<()>,
    /// Carried in every bundle's manifest, so the analysts can answer.
    follow_up_salt: crate::answers::Salt,
    /// The purge step at which a test wants the purge to fail (0: none).
    #[cfg(test)]
    purge_fault: std::sync::atomic::AtomicU8,
}

/// A bundle written but not yet confirmed: its reports become "exported"
/// only once the operator's copy is safely on disk.
pub struct PreparedExport {
    /// Reports in the bundle.
    pub count: usize,
    pub digest: BundleDigest,
    records: Vec<([u8; 16], Location)>,
    /// The end of the log when the bundle was taken.
    end: Position,
}

/// How often the committer checkpoints the counters while reports arrive.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

impl Store {
    /// Open (or create) the store in `data/store`.
    pub fn open(data: &Path, quota: Quota) -> Result<Arc<Store>, StoreError> {
        Store::open_with(data, quota, segment::SEGMENT_BYTES)
    }

    fn open_with(data: &Path, quota: Quota, segment_bytes: u64) -> Result<Arc<Store>, StoreError> {
        let dir = data.join("store");
        let segments = dir.join("segments");
        create_private_dir(data)?;
        let follow_up_salt = crate::follow_up::salt::load_or_create(data)?;
        let db = sled::Config::new()
            .path(&dir)
            // sled holds only bookkeeping: a few entries, a small cache.
            .cache_capacity(8 << 20)
            // No timed background writes: sled writes when we flush, and
            // each flush is followed by bringing its files' times to the day.
            .flush_every_ms(None)
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
        let tree = db.open_tree("meta").map_err(sled_err)?;
        let bundles = db.open_tree("bundles").map_err(sled_err)?;
        let purged = db.open_tree("purged").map_err(sled_err)?;
        create_private_dir(&segments)?;

        let mut meta = match tree.get(META_KEY).map_err(sled_err)? {
            Some(m) => Meta::decode(&m).ok_or_else(|| {
                StoreError::Io(io::Error::other(format!(
                    "the counters in {} are unreadable by this salama",
                    dir.display()
                )))
            })?,
            None => Meta::default(),
        };
        // Whatever reached the log after the last checkpoint is pending.
        let scanned = segment::scan(&segments, meta.end, None, true, |f| {
            if !f.erased {
                meta.pending += 1;
                meta.pending_bytes += u64::from(f.at.len);
            }
        })?;
        for w in &scanned.warnings {
            eprintln!("salama: store: {w}");
        }
        meta.end = scanned.end;
        let book = Arc::new(Book {
            meta: Mutex::new(meta),
            tree,
            dir: dir.clone(),
            checkpoint: Mutex::new(()),
        });
        book.checkpoint().map_err(sled_err)?;

        let appender =
            segment::Appender::open(&segments, meta.end.seg, meta.end.offset, segment_bytes)?;
        let (tx, rx) = mpsc::channel::<Put>();
        let committer_book = book.clone();
        std::thread::Builder::new()
            .name("salama-commit".into())
            .spawn(move || group_commit(appender, committer_book, rx))?;

        Ok(Arc::new(Store {
            dir,
            segments,
            db,
            book,
            bundles,
            purged,
            commits: tx,
            quota,
            admin: Mutex::new(()),
            follow_up_salt,
            #[cfg(test)]
            purge_fault: Default::default(),
        }))
    }

    fn sled<T>(&self, r: sled::Result<T>) -> Result<T, StoreError> {
        r.map_err(|e| match e {
            sled::Error::Io(io) if is_enospc(&io) => StoreError::Full(Full::DiskSpace),
            e => StoreError::Sled(self.dir.clone(), e),
        })
    }

    /// Checkpoint the counters and make all of sled durable: its `flush`
    /// ends in `sync_file_range`, which does not flush the disk's cache.
    fn sync_book(&self) -> Result<(), StoreError> {
        self.sled(self.book.checkpoint())?;
        self.sync_sled()
    }

    fn sync_sled(&self) -> Result<(), StoreError> {
        self.sled(self.db.flush())?;
        // sled's large values (a big bundle's record list) live in files it
        // never syncs: make them durable before the log that points at them.
        sync_sled_blobs(&self.dir.join("blobs"))?;
        File::open(self.dir.join("db"))?.sync_data()?;
        day_times_all(&self.dir);
        Ok(())
    }

    /// Would a blob of `len` bytes be refused right now, and why?
    pub fn refusal(&self, len: u64) -> Option<Full> {
        let q = &self.quota;
        let meta = self.book.get();
        if meta.pending >= q.max_pending_reports {
            return Some(Full::PendingReports);
        }
        if meta.pending_bytes.saturating_add(len) > q.max_pending_bytes {
            return Some(Full::PendingBytes);
        }
        match free_bytes(&self.dir) {
            Ok(free) if free >= q.min_free_bytes.saturating_add(len) => None,
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
    /// exported one not yet purged) to `out`, in id order: random, so the
    /// bundle says nothing about the order of arrival. Nothing is marked
    /// until [`Store::confirm_export`].
    pub fn prepare_export<W: Write>(
        &self,
        all: bool,
        out: W,
    ) -> Result<(PreparedExport, W), StoreError> {
        // A purge running meanwhile could delete a segment under the walk.
        let _one = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let meta = self.book.get();
        let from = if all {
            Position::default()
        } else {
            meta.exported_to
        };
        let mut records = Vec::new();
        let scanned = segment::scan(&self.segments, from, Some(meta.end), false, |f| {
            if !f.erased {
                records.push((f.id, f.at));
            }
        })?;
        // A report skipped here would be marked exported without being in
        // the bundle: refuse the whole export instead.
        if !scanned.warnings.is_empty() {
            return Err(StoreError::Io(io::Error::other(format!(
                "{}; nothing was exported. If a purge was interrupted, run it again; otherwise keep a copy of the data directory and report this",
                scanned.warnings.join("; ")
            ))));
        }
        records.sort_unstable_by_key(|(id, _)| *id);
        let mut w = BundleWriter::new(out);
        w.follow_up_salt(&self.follow_up_salt);
        let mut log = segment::Reader::new(&self.segments);
        for (id, at) in &records {
            w.add(&hex(id), &log.read(id, *at)?)?;
        }
        let done = w.finish()?;
        let (count, digest, out) = (done.count, done.digest, done.out);
        Ok((
            PreparedExport {
                count,
                digest,
                records,
                end: meta.end,
            },
            out,
        ))
    }

    /// The operator's bundle is on disk: mark its reports exported.
    /// The bundle is recorded before the book moves, so a crash in between
    /// leaves its reports pending (exported again next time) but still
    /// purgeable with this digest: nothing is lost either way.
    pub fn confirm_export(&self, p: &PreparedExport) -> Result<(), StoreError> {
        let _one = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        self.sled(self.bundles.insert(p.digest.0, pack(&p.records)))?;
        // Durable before the book moves: reports marked exported must
        // always be purgeable by this digest.
        self.sync_sled()?;
        self.book.update(|m| {
            // Another bundle may have been confirmed since this one was
            // taken: count only what is still pending.
            let newly = p
                .records
                .iter()
                .filter(|(_, at)| at.position() >= m.exported_to);
            let (n, bytes) = newly.fold((0, 0), |(n, b), (_, at)| (n + 1, b + u64::from(at.len)));
            m.exported_to = m.exported_to.max(p.end);
            m.pending = m.pending.saturating_sub(n);
            m.pending_bytes = m.pending_bytes.saturating_sub(bytes);
            m.exported += n;
        });
        self.sync_book()
    }

    /// Delete exactly the reports of the bundle with this digest: each
    /// record is erased from the log, and emptied segments are deleted.
    pub fn purge(&self, digest: BundleDigest) -> Result<u64, StoreError> {
        let _one = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        let Some(packed) = self.sled(self.bundles.get(digest.0))? else {
            if let Some(n) = self.sled(self.purged.get(digest.0))? {
                let n = u64::from_be_bytes(n.as_ref().try_into().unwrap_or([0; 8]));
                return Err(StoreError::AlreadyPurged(digest, n));
            }
            return Err(StoreError::UnknownDigest(digest));
        };
        let records = unpack(&packed).ok_or_else(|| {
            StoreError::Io(io::Error::other(format!(
                "the record list of bundle {digest} is unreadable"
            )))
        })?;
        let mut log = segment::Reader::new(&self.segments);
        let mut live = Vec::new();
        for (id, at) in &records {
            if log.is_live(id, *at)? {
                live.push((*id, *at));
            }
        }
        // Count them gone, together with a mark saying so, durably, before
        // erasing: the checkpoint keeps start-up from walking over erased
        // records, and the mark keeps a purge that stopped after this point
        // (an error, a crash) from counting the same records again when it
        // is run again. A bundle confirmed just before a crash may hold
        // records still counted as pending.
        let marker = purging_key(&digest);
        let n = match self.sled(self.book.tree.get(&marker))? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
            None => {
                let n = live.len() as u64;
                let lowered = self.book.lower_for_purge(&marker, n, |m| {
                    for (_, at) in &live {
                        if at.position() >= m.exported_to {
                            m.pending = m.pending.saturating_sub(1);
                            m.pending_bytes = m.pending_bytes.saturating_sub(u64::from(at.len));
                        } else {
                            m.exported = m.exported.saturating_sub(1);
                        }
                    }
                });
                self.sled(lowered)?;
                self.sync_sled()?;
                n
            }
        };
        self.fault(1)?;
        // Blobs first, durably, then the marks: "erased" must never stand
        // over a blob that is still there. Already-marked records are wiped
        // again in case an earlier purge stopped between the two.
        for (id, at) in &records {
            log.wipe(id, *at)?;
        }
        log.sync()?;
        self.fault(2)?;
        for (_, at) in &live {
            log.mark_erased(*at)?;
        }
        log.sync()?;
        self.fault(3)?;
        self.sled(self.purged.insert(digest.0, &n.to_be_bytes()))?;
        self.sled(self.bundles.remove(digest.0))?;
        self.sled(self.book.tree.remove(&marker))?;
        self.sync_book()?;
        let touched: HashSet<u32> = records.iter().map(|(_, at)| at.seg).collect();
        self.delete_emptied_segments(&mut log, touched)?;
        Ok(n)
    }

    /// Fail here if a test asked for it: step 1, the counters are lowered;
    /// 2, the blobs are wiped; 3, the records are marked erased.
    #[cfg(test)]
    fn fault(&self, step: u8) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if self.purge_fault.load(Ordering::SeqCst) == step {
            return Err(StoreError::Io(io::Error::other(format!(
                "injected failure at purge step {step}"
            ))));
        }
        Ok(())
    }

    #[cfg(not(test))]
    #[inline(always)]
    fn fault(&self, _step: u8) -> Result<(), StoreError> {
        Ok(())
    }

    /// Delete the segments among `touched` with no live record left, if
    /// the committer is done with them.
    fn delete_emptied_segments(
        &self,
        log: &mut segment::Reader,
        touched: HashSet<u32>,
    ) -> Result<(), StoreError> {
        let writing = self.book.get().end.seg;
        for seg in touched.into_iter().filter(|&s| s < writing) {
            let (start, next) = (
                Position { seg, offset: 0 },
                Position {
                    seg: seg + 1,
                    offset: 0,
                },
            );
            let mut any_live = false;
            let scanned = segment::scan(&self.segments, start, Some(next), false, |f| {
                any_live |= !f.erased;
            })?;
            if !any_live && scanned.warnings.is_empty() {
                log.delete(seg)?;
            }
        }
        Ok(())
    }

    pub fn status(&self) -> Status {
        let meta = self.book.get();
        Status {
            pending: meta.pending,
            pending_bytes: meta.pending_bytes,
            exported: meta.exported,
            bundles_awaiting_purge: self.bundles.len() as u64,
            disk_used_bytes: disk_used(&self.dir),
            disk_free_bytes: free_bytes(&self.dir).unwrap_or(0),
            full: self.refusal(0).map(|f| f.to_string()),
            // Counted by this process: the server's own count when asked
            // through the admin socket, 0 when no server runs.
            seal_failures: crate::seal::failures(),
        }
    }

    /// Every live record in the log, counted by walking it (for tests and
    /// benchmarks that check the counters).
    pub fn count_all(&self) -> usize {
        let mut n = 0;
        let end = self.book.get().end;
        let _ = segment::scan(&self.segments, Position::default(), Some(end), false, |f| {
            n += usize::from(!f.erased)
        });
        n
    }

    /// Checkpoint before exit (every acknowledged report already is durable).
    pub fn close(&self) -> Result<(), StoreError> {
        self.sync_book()
    }
}

/// The committer: one write + fdatasync for every report waiting at that
/// moment, then the counters, then the acknowledgements.
fn group_commit(mut log: segment::Appender, book: Arc<Book>, rx: mpsc::Receiver<Put>) {
    let mut last_checkpoint = Instant::now();
    let mut last_tick = Instant::now();
    let mut checkpoint_due = false;
    loop {
        match rx.recv_timeout(CHECKPOINT_EVERY) {
            Ok(first) => {
                let mut group = vec![first];
                group.extend(rx.try_iter());
                let result = commit_group(&mut log, &book, &group);
                checkpoint_due |= result.is_ok();
                for p in group {
                    let _ = p.ack.send(result.clone());
                }
                // Acknowledged first: this only blurs the time the write
                // left on the segment (to the day), it adds no durability.
                log.day_times();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        // About once a second while reports arrive, and once after they
        // stop (a quiet second has passed since the last group then). A
        // failed checkpoint loses nothing: start-up walks further.
        if checkpoint_due && last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            checkpoint_due = book.checkpoint().is_err();
            last_checkpoint = Instant::now();
        }
        // No program can set a file's inode change time (ctime), and
        // setting the other times changes it: so set them every second,
        // reports or not. The ctime of every store file is then the last
        // such tick (while serving, within a second of now; after a stop,
        // the stop), never the arrival of the latest report.
        if last_tick.elapsed() >= CHECKPOINT_EVERY {
            log.day_times();
            day_times_all(&book.dir);
            last_tick = Instant::now();
        }
    }
}

/// Write one group durably and count it.
fn commit_group(
    log: &mut segment::Appender,
    book: &Book,
    group: &[Put],
) -> Result<(), CommitFailure> {
    let records: Vec<([u8; 16], &[u8])> =
        group.iter().map(|p| (p.id, p.sealed.as_bytes())).collect();
    let locations = log.commit(&records).map_err(|e| CommitFailure::io(&e))?;
    let bytes: u64 = locations.iter().map(|at| u64::from(at.len)).sum();
    let end = log.position();
    book.update(|m| {
        m.end = end;
        m.pending += locations.len() as u64;
        m.pending_bytes += bytes;
    });
    Ok(())
}

/// Set the access and modification times of `DATA/store`, every file in
/// it and in its subdirectories (segments, sled's blobs) to the start of
/// today (UTC), so that they say on which day the store was last written,
/// not when. (ctime cannot be set; SECURITY.md says what it shows.)
fn day_times_all(dir: &Path) {
    fn walk(dir: &Path, depth: u8) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let path = e.path();
                if depth > 0 && e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&path, depth - 1);
                }
                crate::follow_up::store::day_times(&path);
            }
        }
        crate::follow_up::store::day_times(dir);
    }
    walk(dir, 1);
}

/// sled writes values too large for its log (a big bundle's record list)
/// as separate files that it never syncs; they must be as durable as the log.
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
        assert_eq!(p.count, 20);
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
        assert_eq!(p2.count, 1);
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

    /// After a report, every file of the store (segments, sled's files)
    /// and its directories carry the start of today as their times: the
    /// day is all they tell.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_file_times_are_days() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Quota::default()).unwrap();
        let midnight = i64::from(crate::follow_up::store::today()) * 86_400;
        let check = |when: &str| {
            // ctime cannot be set: it is at most about a second old,
            // whether a report came or not (the ticks).
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let seg = dir.path().join("store/segments");
            let ctime = std::fs::metadata(&seg).unwrap().ctime();
            assert!(
                now - ctime <= 3,
                "{when}: segments ctime {ctime}, now {now}"
            );
            let mut seen = 0;
            let mut stack = vec![dir.path().join("store")];
            while let Some(p) = stack.pop() {
                let m = std::fs::metadata(&p).unwrap();
                if m.is_dir() {
                    stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                }
                // The segment and sled's db at least, and the directories.
                seen += 1;
                assert_eq!(m.mtime(), midnight, "{when}: {} mtime", p.display());
                assert_eq!(m.mtime_nsec(), 0, "{when}: {} mtime", p.display());
                assert_eq!(m.atime(), midnight, "{when}: {} atime", p.display());
            }
            assert!(seen >= 4, "{when}: {seen} entries");
        };
        store.put(sealed(1)).await.unwrap();
        // The committer's checkpoint follows within about a second.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        check("after a report and its checkpoint");
        store.put(sealed(2)).await.unwrap();
        let (p, _) = export_confirmed(&store, false).await;
        store.purge(p.digest).unwrap();
        check("after export and purge");
        store.close().unwrap();
        check("after close");
    }

    #[test]
    fn status_fails_on_seal_failures_before_a_full_store() {
        let mut s = Status {
            pending: 0,
            pending_bytes: 0,
            exported: 0,
            bundles_awaiting_purge: 0,
            disk_used_bytes: 0,
            disk_free_bytes: 0,
            full: None,
            seal_failures: 0,
        };
        assert_eq!(s.exit_code(), 0);
        s.full = Some("disk".into());
        assert_eq!(s.exit_code(), 2);
        s.seal_failures = 1;
        assert_eq!(s.exit_code(), 3);
        // An older server's reply, without the field, still reads.
        let old: Status = serde_json::from_str(
            r#"{"pending":1,"pending_bytes":2,"exported":0,"bundles_awaiting_purge":0,"disk_used_bytes":0,"disk_free_bytes":0,"full":null}"#,
        )
        .unwrap();
        assert_eq!((old.pending, old.seal_failures), (1, 0));
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

    async fn export_confirmed(store: &Arc<Store>, all: bool) -> (PreparedExport, Vec<u8>) {
        let s2 = store.clone();
        tokio::task::spawn_blocking(move || {
            let (p, bytes) = s2.prepare_export(all, Vec::new())?;
            s2.confirm_export(&p)?;
            Ok::<_, StoreError>((p, bytes))
        })
        .await
        .unwrap()
        .unwrap()
    }

    async fn export_and_confirm(store: &Arc<Store>) -> (BundleDigest, Vec<u8>) {
        let (p, bytes) = export_confirmed(store, false).await;
        (p.digest, bytes)
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

    /// A crash can leave the log ahead of the last checkpoint: start-up
    /// must count what the log holds past it, and cut a torn tail.
    #[tokio::test]
    async fn start_up_counts_what_only_the_log_holds() {
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
        // came before the next checkpoint, plus half of a next record.
        let end = segment::scan(&segs, Position::default(), None, false, |_| {})
            .unwrap()
            .end;
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

    /// `export --all` bundles overlap earlier ones: each report is erased
    /// once, by whichever purge comes first, and counted once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapping_bundles_purge_cleanly_in_either_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(dir.path(), Quota::default(), 1).unwrap();
        for n in 0..4 {
            store.put(sealed(n)).await.unwrap();
        }
        let (first, _) = export_and_confirm(&store).await;
        for n in 4..6 {
            store.put(sealed(n)).await.unwrap();
        }
        let (everything, _) = export_confirmed(&store, true).await;
        assert_eq!(everything.count, 6);
        let st = store.status();
        assert_eq!(
            (st.pending, st.exported, st.bundles_awaiting_purge),
            (0, 6, 2)
        );

        let purge = |d| {
            let s2 = store.clone();
            async move {
                tokio::task::spawn_blocking(move || s2.purge(d))
                    .await
                    .unwrap()
            }
        };
        assert_eq!(purge(everything.digest).await.unwrap(), 6);
        assert_eq!(purge(first).await.unwrap(), 0);
        assert_eq!(store.count_all(), 0);
        assert_eq!(store.status().exported, 0);
        // Everything but the segment the committer may still write is gone.
        let left = segment::list(&dir.path().join("store/segments")).unwrap();
        assert_eq!(left.len(), 1, "{left:?}");
        // The store goes on: a new report, a new bundle of just that one.
        store.put(sealed(9)).await.unwrap();
        let s2 = store.clone();
        let p = tokio::task::spawn_blocking(move || s2.prepare_export(false, Vec::new()))
            .await
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(p.count, 1);
    }

    /// A purge that fails after lowering the counters, after wiping, or
    /// after marking, then is run again, in the same process or after a
    /// restart: every report is counted gone exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_purge_that_fails_half_way_and_runs_again_counts_once() {
        use std::sync::atomic::Ordering;
        for step in 1..=3u8 {
            for restart in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let mut store = Store::open(dir.path(), Quota::default()).unwrap();
                for n in 0..5 {
                    store.put(sealed(n)).await.unwrap();
                }
                let (p, _) = export_confirmed(&store, false).await;
                // Another bundle of three stays exported, and two more
                // reports stay pending: counting the purged five twice
                // would show in both.
                for n in 5..8 {
                    store.put(sealed(n)).await.unwrap();
                }
                export_confirmed(&store, false).await;
                store.put(sealed(8)).await.unwrap();
                store.put(sealed(9)).await.unwrap();
                let pending_bytes = store.status().pending_bytes;
                let before = store.status();
                assert_eq!((before.pending, before.exported), (2, 8));

                store.purge_fault.store(step, Ordering::SeqCst);
                let e = store.purge(p.digest).unwrap_err();
                assert!(e.to_string().contains("injected"), "{e}");
                store.purge_fault.store(0, Ordering::SeqCst);
                if restart {
                    store.close().unwrap();
                    drop(store);
                    store = reopen(dir.path(), segment::SEGMENT_BYTES).await;
                }
                let n = store.purge(p.digest).unwrap();
                let st = store.status();
                let case = format!("failed at step {step}, restart {restart}: {st:?}");
                assert_eq!(n, 5, "{case}");
                assert_eq!((st.pending, st.exported), (2, 3), "{case}");
                assert_eq!(st.pending_bytes, pending_bytes, "{case}");
                assert_eq!(st.bundles_awaiting_purge, 1, "{case}");
                assert_eq!(store.count_all(), 5, "{case}");
                // And it stays right across a restart, and the purge is done.
                store.close().unwrap();
                drop(store);
                let store = reopen(dir.path(), segment::SEGMENT_BYTES).await;
                let st = store.status();
                assert_eq!((st.pending, st.exported), (2, 3), "{case}");
                assert!(matches!(
                    store.purge(p.digest),
                    Err(StoreError::AlreadyPurged(_, 5))
                ));
                // No purge mark is left behind.
                assert!(store.book.tree.scan_prefix(b"purging/").next().is_none());
            }
        }
    }

    /// A purge cut short after wiping blobs but before marking them: the
    /// records read as damaged (export --all refuses, never skips), and
    /// purging again finishes the job.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_purge_interrupted_between_wipe_and_mark_is_finished_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Quota::default()).unwrap();
        for n in 0..3 {
            store.put(sealed(n)).await.unwrap();
        }
        let (p, _) = export_confirmed(&store, false).await;
        let mut log = segment::Reader::new(&store.segments);
        let (id, at) = p.records[0];
        log.wipe(&id, at).unwrap();
        log.sync().unwrap();

        let s2 = store.clone();
        let all =
            tokio::task::spawn_blocking(move || s2.prepare_export(true, Vec::new()).map(|_| ()))
                .await
                .unwrap();
        assert!(
            all.unwrap_err()
                .to_string()
                .contains("purge was interrupted")
        );
        let s2 = store.clone();
        let n = tokio::task::spawn_blocking(move || s2.purge(p.digest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(store.count_all(), 0);
        assert_eq!(store.status().exported, 0);
    }
}
