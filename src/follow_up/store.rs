//! The server's answers, at rest in `DATA/answers/`: fixed-size slots in
//! one file, an index in memory, and nothing a seized disk could turn back
//! into a receipt or an answer's text.
//!
//! - `answers.slots`: slot *n* at byte `n × SLOT_LEN`. A used slot is
//!   `"SLA1" | expiry day (u32 LE, days since 1970-01-01 UTC) | lookup (32)
//!   | sealed answer (4,124) | CRC-32 of the preceding bytes`; a free slot is
//!   all zeros. Every answer has the same size, so the file says how many
//!   answers there are and, for each, the day it expires; nothing else.
//! - `meta.json`: this store's salt and, per signer, the last sequence
//!   number imported (replaced atomically: written beside, synced, renamed).
//! - `journal`: present only while an import is being applied.
//! - `lock`: held (flock) by the one process that has the store open.
//!
//! **An import is all or nothing.** The slots it will write and the meta it
//! will leave are first written to `journal.new`, synced, and renamed to
//! `journal` (the commit point); then applied in place; then the journal is
//! wiped and removed. A crash before the rename leaves the store as it was;
//! after it, the next open applies the journal again (applying twice writes
//! the same bytes). Nothing is half-imported.
//!
//! **Expiry wipes.** An expired answer's slot is overwritten with zeros in
//! place and fdatasynced, at start and on every sweep, never just dropped
//! from the index; a replaced answer is overwritten by its successor; a
//! used journal is zeroed before it is unlinked. (On a copy-on-write or
//! log-structured filesystem, or an SSD's remapping, an overwrite cannot
//! reach older physical copies: SECURITY.md says so.)
//!
//! **Times.** Every file and the directory get day-resolution access and
//! modification times after each change, as the reports' store does, and
//! slots are read with `O_NOATIME`, so a lookup of an answered receipt
//! leaves no trace of when it happened.

use crate::answers::{Lookup, SEALED_LEN, Salt, SealedAnswer};
use crate::keys::signing::SignerKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 4] = b"SLA1";
/// Bytes in one slot.
pub const SLOT_LEN: usize = 4 + 4 + 32 + SEALED_LEN + 4;
const JOURNAL_MAGIC: &[u8; 4] = b"SLJ1";
const SLOTS: &str = "answers.slots";
const META: &str = "meta.json";
const JOURNAL: &str = "journal";
const JOURNAL_NEW: &str = "journal.new";

/// Today, as days since 1970-01-01 (UTC).
pub fn today() -> u32 {
    let days = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .div_euclid(86_400);
    u32::try_from(days).unwrap_or(0)
}

/// `YYYY-MM-DD` of a day number.
pub fn day_text(day: u32) -> String {
    let d = time::Date::from_julian_day(2_440_588 + day as i32).unwrap_or(time::Date::MIN);
    crate::document::ReceivedDate::from_date(d)
        .as_str()
        .to_owned()
}

/// Set `path`'s access and modification times to the start of today
/// (UTC). Best effort: a failure only leaves a finer time behind.
pub fn day_times(path: &Path) {
    let midnight = i64::from(today()) * 86_400;
    let t = rustix::fs::Timespec {
        tv_sec: midnight,
        tv_nsec: 0,
    };
    let times = rustix::fs::Timestamps {
        last_access: t,
        last_modification: t,
    };
    let _ = rustix::fs::utimensat(rustix::fs::CWD, path, &times, rustix::fs::AtFlags::empty());
}

/// Open for reading and writing without updating the access time (which
/// would record when a reporter last looked); falls back where the
/// kernel refuses `O_NOATIME` (a file owned by someone else).
fn open_noatime(path: &Path, create: bool) -> io::Result<File> {
    let open = |flags: i32| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .mode(0o600)
            .custom_flags(flags)
            .open(path)
    };
    match open(rustix::fs::OFlags::NOATIME.bits() as i32) {
        Err(e) if e.raw_os_error() == Some(1) => open(0), // EPERM
        other => other,
    }
}

/// What the store keeps besides the slots.
#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
struct Meta {
    version: u32,
    /// The salt every lookup held here was derived under.
    salt: String,
    /// Signer (`salamasign1…`) → last sequence number imported.
    signers: BTreeMap<String, u64>,
}

#[derive(Clone, Copy)]
struct Slot {
    index: u32,
    expires: u32,
}

/// One slot as written.
fn encode_slot(expires: u32, lookup: &Lookup, sealed: &SealedAnswer) -> Vec<u8> {
    let mut b = Vec::with_capacity(SLOT_LEN);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&expires.to_le_bytes());
    b.extend_from_slice(&lookup.0);
    b.extend_from_slice(sealed.as_bytes());
    b.extend_from_slice(&crc32fast::hash(&b).to_le_bytes());
    debug_assert_eq!(b.len(), SLOT_LEN);
    b
}

enum Decoded {
    Free,
    Used(u32, Lookup),
    /// Neither zeros nor a whole slot: a wipe or a write cut short by a
    /// crash, or damage. Wiped at open.
    Damaged,
}

fn decode_slot(b: &[u8]) -> Decoded {
    if b.iter().all(|&x| x == 0) {
        return Decoded::Free;
    }
    let crc = u32::from_le_bytes(b[SLOT_LEN - 4..].try_into().expect("4 bytes"));
    if &b[..4] != MAGIC || crc32fast::hash(&b[..SLOT_LEN - 4]) != crc {
        return Decoded::Damaged;
    }
    let expires = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
    Decoded::Used(expires, Lookup(b[8..40].try_into().expect("32 bytes")))
}

/// Answers from one verified file: `signer`'s file number `seq`, each to
/// be kept until the day `expires`.
#[derive(Clone, Copy)]
pub struct Batch<'a> {
    pub signer: &'a SignerKey,
    pub seq: u64,
    pub entries: &'a [(Lookup, SealedAnswer)],
    pub expires: u32,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub added: usize,
    pub replaced: usize,
    pub held: usize,
    /// The day the imported answers will be wiped (`YYYY-MM-DD`).
    pub expires: String,
}

/// Why an import was refused before anything changed.
#[derive(Debug, thiserror::Error)]
pub enum StoreRefusal {
    #[error(
        "this file has sequence number {seq}, but {last} was already imported from signer {signer}: it is a replay or an older file, and it could overwrite newer answers. Import only the newest file; if the workstation lost its sequence file, write {last} into KEY.sign.seq there and make the answers file again"
    )]
    Replay {
        seq: u64,
        last: u64,
        signer: crate::keys::KeyId,
    },
    #[error(
        "importing {incoming} new answers would hold {total}, more than [follow_up] max_answers = {max}; raise it in the config or wait for older answers to expire"
    )]
    Full {
        incoming: usize,
        total: usize,
        max: usize,
    },
    #[error("the answers store failed: {0}")]
    Io(#[from] io::Error),
}

/// Where a test stops an import, as a crash would.
#[cfg(test)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// `journal.new` written and synced, not yet renamed.
    BeforeCommit,
    /// Committed, and half of the slots written.
    HalfApplied,
}

pub struct AnswerStore {
    dir: PathBuf,
    slots: File,
    index: HashMap<Lookup, Slot>,
    /// Free slots below the end of the file, lowest first.
    free: BTreeSet<u32>,
    /// Slots in the file.
    count: u32,
    meta: Meta,
    /// Held for as long as the store is open: one process at a time.
    _lock: File,
}

impl AnswerStore {
    /// Open (or create) `data/answers` for answers derived under `salt`:
    /// finish or drop an interrupted import, wipe damaged and expired slots.
    pub fn open(data: &Path, salt: &Salt) -> io::Result<AnswerStore> {
        let dir = data.join("answers");
        crate::store::create_private_dir(&dir)?;
        let lock = open_noatime(&dir.join("lock"), true)?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |_| {
                io::Error::other(format!(
                    "the answers store in {} is in use by another process. If `salama serve` is running, `salama answers import` goes through it: check that {} exists and that you may open it",
                    dir.display(),
                    data.join(crate::admin::SOCKET).display()
                ))
            },
        )?;
        let meta = match std::fs::read(dir.join(META)) {
            Ok(b) => serde_json::from_slice::<Meta>(&b)
                .ok()
                .filter(|m| m.version == 1)
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "{} is unreadable by this salama: restore it from a backup, or remove the directory {} to drop every answer it holds",
                        dir.join(META).display(),
                        dir.display()
                    ))
                })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Meta {
                version: 1,
                salt: salt.to_hex(),
                signers: BTreeMap::new(),
            },
            Err(e) => return Err(e),
        };
        let slots = open_noatime(&dir.join(SLOTS), true)?;
        let mut store = AnswerStore {
            dir,
            slots,
            index: HashMap::new(),
            free: BTreeSet::new(),
            count: 0,
            meta,
            _lock: lock,
        };
        store.recover()?;
        store.load_index()?;
        if store.meta.salt != salt.to_hex() {
            if !store.index.is_empty() {
                return Err(io::Error::other(format!(
                    "the follow-up salt changed since the {} answers held in {} were imported (DATA/follow-up.salt was replaced): they can no longer be found. Put the previous follow-up.salt back, or remove {} to drop them",
                    store.index.len(),
                    store.dir.display(),
                    store.dir.display()
                )));
            }
            store.meta.salt = salt.to_hex();
        }
        store.write_meta()?;
        Ok(store)
    }

    /// Answers held right now.
    pub fn held(&self) -> usize {
        self.index.len()
    }

    /// The last sequence number imported from `signer` (0: none yet).
    pub fn last_seq(&self, signer: &SignerKey) -> u64 {
        self.meta.signers.get(signer.as_str()).copied().unwrap_or(0)
    }

    /// The sealed answer filed under `lookup`, unless there is none or it
    /// has expired (and waits for the next sweep).
    pub fn get(&self, lookup: &Lookup) -> io::Result<Option<SealedAnswer>> {
        let Some(slot) = self.index.get(lookup) else {
            return Ok(None);
        };
        if slot.expires <= today() {
            return Ok(None);
        }
        let mut b = vec![0u8; SLOT_LEN];
        self.slots
            .read_exact_at(&mut b, u64::from(slot.index) * SLOT_LEN as u64)?;
        match decode_slot(&b) {
            Decoded::Used(_, l) if l == *lookup => {
                Ok(SealedAnswer::from_bytes(&b[40..40 + SEALED_LEN]))
            }
            _ => Err(io::Error::other("an answer slot changed under the index")),
        }
    }

    /// Import a verified batch, all or nothing, holding at most `max`
    /// answers afterwards.
    pub fn import(&mut self, batch: &Batch<'_>, max: usize) -> Result<Applied, StoreRefusal> {
        self.import_until(batch, max, None)
    }

    fn import_until(
        &mut self,
        batch: &Batch<'_>,
        max: usize,
        #[cfg(test)] stop: Option<Stop>,
        #[cfg(not(test))] _stop: Option<()>,
    ) -> Result<Applied, StoreRefusal> {
        let Batch {
            signer,
            seq,
            entries,
            expires,
        } = *batch;
        let last = self.last_seq(signer);
        if seq <= last {
            return Err(StoreRefusal::Replay {
                seq,
                last,
                signer: signer.id().clone(),
            });
        }
        let replaced = entries
            .iter()
            .filter(|(l, _)| self.index.contains_key(l))
            .count();
        let added = entries.len() - replaced;
        if self.index.len() + added > max {
            return Err(StoreRefusal::Full {
                incoming: added,
                total: self.index.len() + added,
                max,
            });
        }
        // Plan: the same slot for a lookup already held (its old answer is
        // overwritten), else the lowest free slot, else a new one at the end.
        let mut free = self.free.iter().copied();
        let mut next = self.count;
        let writes: Vec<(u32, Vec<u8>)> = entries
            .iter()
            .map(|(lookup, sealed)| {
                let index = match self.index.get(lookup) {
                    Some(s) => s.index,
                    None => free.next().unwrap_or_else(|| {
                        next += 1;
                        next - 1
                    }),
                };
                (index, encode_slot(expires, lookup, sealed))
            })
            .collect();
        let mut meta = self.meta.clone();
        meta.signers.insert(signer.as_str().to_owned(), seq);
        let meta_bytes = serde_json::to_vec(&meta).expect("serialising to memory cannot fail");

        let journal = encode_journal(&meta_bytes, &writes);
        write_synced(&self.dir.join(JOURNAL_NEW), &journal)?;
        #[cfg(test)]
        if stop == Some(Stop::BeforeCommit) {
            return Err(io::Error::other("test: stopped before the commit").into());
        }
        std::fs::rename(self.dir.join(JOURNAL_NEW), self.dir.join(JOURNAL))?;
        File::open(&self.dir)?.sync_all()?;
        #[cfg(test)]
        if stop == Some(Stop::HalfApplied) {
            for (index, bytes) in &writes[..writes.len() / 2] {
                self.slots
                    .write_all_at(bytes, u64::from(*index) * SLOT_LEN as u64)?;
            }
            return Err(io::Error::other("test: stopped half way").into());
        }
        self.apply(&meta_bytes, &writes)?;
        self.drop_journal(JOURNAL)?;
        for ((lookup, _), (index, _)) in entries.iter().zip(&writes) {
            self.index.insert(
                *lookup,
                Slot {
                    index: *index,
                    expires,
                },
            );
            self.free.remove(index);
            self.count = self.count.max(index + 1);
        }
        Ok(Applied {
            added,
            replaced,
            held: self.index.len(),
            expires: day_text(expires),
        })
    }

    /// Write the planned slots and meta in place, durably.
    fn apply(&mut self, meta_bytes: &[u8], writes: &[(u32, Vec<u8>)]) -> io::Result<()> {
        for (index, bytes) in writes {
            self.slots
                .write_all_at(bytes, u64::from(*index) * SLOT_LEN as u64)?;
        }
        self.slots.sync_data()?;
        self.meta = serde_json::from_slice(meta_bytes).map_err(io::Error::other)?;
        self.write_meta()?;
        day_times(&self.dir.join(SLOTS));
        Ok(())
    }

    fn write_meta(&self) -> io::Result<()> {
        let bytes = serde_json::to_vec(&self.meta).expect("serialising to memory cannot fail");
        let tmp = self.dir.join(format!("{META}.new"));
        write_synced(&tmp, &bytes)?;
        std::fs::rename(&tmp, self.dir.join(META))?;
        File::open(&self.dir)?.sync_all()?;
        day_times(&self.dir.join(META));
        day_times(&self.dir);
        Ok(())
    }

    /// Zero a journal (it holds sealed answers that may expire), then
    /// remove it.
    fn drop_journal(&self, name: &str) -> io::Result<()> {
        let path = self.dir.join(name);
        let f = match OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        let zeros = vec![0u8; 64 * 1024];
        let mut at = 0;
        while at < len {
            let n = (len - at).min(zeros.len() as u64) as usize;
            f.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        f.sync_data()?;
        drop(f);
        std::fs::remove_file(&path)?;
        File::open(&self.dir)?.sync_all()?;
        day_times(&self.dir);
        Ok(())
    }

    /// After a crash: a committed journal is applied again; one never
    /// committed is dropped (its import never happened).
    fn recover(&mut self) -> io::Result<()> {
        self.drop_journal(JOURNAL_NEW)?;
        let mut bytes = Vec::new();
        match File::open(self.dir.join(JOURNAL)) {
            Ok(mut f) => f.read_to_end(&mut bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        match decode_journal(&bytes) {
            Some((meta, writes)) => {
                self.apply(&meta, &writes)?;
                eprintln!("salama: answers: finished an import interrupted by a crash");
            }
            None => eprintln!(
                "salama: answers: WARNING: dropped a damaged import journal (the disk may be failing); import the newest answers file again"
            ),
        }
        self.drop_journal(JOURNAL)
    }

    /// Read every slot into the index; wipe damaged ones and duplicates.
    fn load_index(&mut self) -> io::Result<()> {
        let len = self.slots.metadata()?.len();
        let count = u32::try_from(len / SLOT_LEN as u64)
            .map_err(|_| io::Error::other("the answers file is impossibly large"))?;
        let (mut index, mut free, mut wipe) = (HashMap::new(), BTreeSet::new(), Vec::new());
        let mut buf = vec![0u8; SLOT_LEN];
        for i in 0..count {
            self.slots
                .read_exact_at(&mut buf, u64::from(i) * SLOT_LEN as u64)?;
            match decode_slot(&buf) {
                Decoded::Free => {
                    free.insert(i);
                }
                Decoded::Used(expires, lookup) if !index.contains_key(&lookup) => {
                    index.insert(lookup, Slot { index: i, expires });
                }
                Decoded::Used(..) | Decoded::Damaged => wipe.push(i),
            }
        }
        if len % SLOT_LEN as u64 != 0 {
            // A slot appended in part: never part of a finished import.
            self.slots.set_len(u64::from(count) * SLOT_LEN as u64)?;
        }
        self.index = index;
        self.free = free;
        self.count = count;
        if !wipe.is_empty() {
            eprintln!(
                "salama: answers: wiped {} damaged answer slot(s) (a crash during a wipe, or a failing disk)",
                wipe.len()
            );
            self.wipe(&wipe)?;
        }
        Ok(())
    }

    /// Overwrite `slots` with zeros, durably, and forget them.
    fn wipe(&mut self, slots: &[u32]) -> io::Result<()> {
        let zeros = vec![0u8; SLOT_LEN];
        for &i in slots {
            self.slots
                .write_all_at(&zeros, u64::from(i) * SLOT_LEN as u64)?;
        }
        self.slots.sync_data()?;
        let gone: BTreeSet<u32> = slots.iter().copied().collect();
        self.index.retain(|_, s| !gone.contains(&s.index));
        self.free.extend(gone);
        // Free slots at the end give their space back.
        while self.count > 0 && self.free.contains(&(self.count - 1)) {
            self.count -= 1;
            self.free.remove(&self.count);
        }
        self.slots
            .set_len(u64::from(self.count) * SLOT_LEN as u64)?;
        self.slots.sync_all()?;
        day_times(&self.dir.join(SLOTS));
        Ok(())
    }

    /// Wipe every answer whose day has come (`expires <= today`).
    /// Returns how many were wiped.
    pub fn sweep(&mut self, today: u32) -> io::Result<usize> {
        let due: Vec<u32> = self
            .index
            .values()
            .filter(|s| s.expires <= today)
            .map(|s| s.index)
            .collect();
        if !due.is_empty() {
            self.wipe(&due)?;
        }
        Ok(due.len())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    day_times(path);
    Ok(())
}

/// `"SLJ1" | meta length (u32 LE) | meta | count (u32 LE) | count × (slot
/// (u32 LE) | SLOT_LEN bytes) | CRC-32 of everything before`.
fn encode_journal(meta: &[u8], writes: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut j = Vec::with_capacity(16 + meta.len() + writes.len() * (4 + SLOT_LEN));
    j.extend_from_slice(JOURNAL_MAGIC);
    j.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    j.extend_from_slice(meta);
    j.extend_from_slice(&(writes.len() as u32).to_le_bytes());
    for (index, bytes) in writes {
        j.extend_from_slice(&index.to_le_bytes());
        j.extend_from_slice(bytes);
    }
    j.extend_from_slice(&crc32fast::hash(&j).to_le_bytes());
    j
}

type Journal = (Vec<u8>, Vec<(u32, Vec<u8>)>);

fn decode_journal(j: &[u8]) -> Option<Journal> {
    let (body, crc) = j.split_at_checked(j.len().checked_sub(4)?)?;
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let rest = body.strip_prefix(JOURNAL_MAGIC)?;
    let u32_at =
        |b: &[u8]| -> Option<u32> { Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?)) };
    let meta_len = u32_at(rest)? as usize;
    let meta = rest.get(4..4 + meta_len)?.to_vec();
    let mut rest = rest.get(4 + meta_len..)?;
    let n = u32_at(rest)? as usize;
    rest = &rest[4..];
    if rest.len() != n * (4 + SLOT_LEN) {
        return None;
    }
    let writes = rest
        .chunks_exact(4 + SLOT_LEN)
        .map(|c| (u32_at(c).expect("4 bytes"), c[4..].to_vec()))
        .collect();
    Some((meta, writes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{Answer, Status, kdf};
    use crate::keys::signing::SigningKey;
    use crate::receipt::Receipt;

    const MAX: usize = 1000;

    struct Fixture {
        _dir: tempfile::TempDir,
        data: PathBuf,
        salt: Salt,
        signer: SignerKey,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        Fixture {
            data: dir.path().join("data"),
            _dir: dir,
            salt: Salt::from_bytes([5; 32]),
            signer: SigningKey::generate().public(),
        }
    }

    /// `n` answers to distinct receipts, each with a text that marks it.
    fn answers(f: &Fixture, tag: &str, n: usize) -> Vec<(Receipt, Lookup, SealedAnswer)> {
        (0..n)
            .map(|i| {
                let r = Receipt::parse(&format!("{tag}00-0000-0000-{i:04}")).unwrap();
                let d = kdf::derive(&r, &f.salt);
                let a =
                    Answer::new(Status::BeingAssessed, None, &format!("{tag}-text-{i}")).unwrap();
                (r, d.lookup, a.seal(&d))
            })
            .collect()
    }

    fn batch<'a>(
        f: &'a Fixture,
        seq: u64,
        entries: &'a [(Lookup, SealedAnswer)],
        expires: u32,
    ) -> Batch<'a> {
        Batch {
            signer: &f.signer,
            seq,
            entries,
            expires,
        }
    }

    fn entries(a: &[(Receipt, Lookup, SealedAnswer)]) -> Vec<(Lookup, SealedAnswer)> {
        a.iter().map(|(_, l, s)| (*l, s.clone())).collect()
    }

    /// A store holding one answer, to the receipt `{tag}00-0000-0000-0000`.
    fn with_one(f: &Fixture, tag: &str) -> AnswerStore {
        let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
        s.import(
            &batch(f, 1, &entries(&answers(f, tag, 1)), today() + 9),
            MAX,
        )
        .unwrap();
        s
    }

    fn text_of(store: &AnswerStore, f: &Fixture, r: &Receipt) -> Option<String> {
        let d = kdf::derive(r, &f.salt);
        store
            .get(&d.lookup)
            .unwrap()
            .map(|s| s.open(&d).unwrap().text().to_owned())
    }

    fn disk_has(f: &Fixture, needle: &[u8]) -> bool {
        let dir = f.data.join("answers");
        std::fs::read_dir(&dir).unwrap().any(|e| {
            let b = std::fs::read(e.unwrap().path()).unwrap_or_default();
            b.windows(needle.len()).any(|w| w == needle)
        })
    }

    #[test]
    fn import_look_up_replace_and_reopen() {
        let f = fixture();
        let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
        let a = answers(&f, "AA", 3);
        let day = today() + 90;
        let got = s.import(&batch(&f, 1, &entries(&a), day), MAX).unwrap();
        assert_eq!((got.added, got.replaced, got.held), (3, 0, 3));
        assert_eq!(got.expires, day_text(day));
        assert_eq!(text_of(&s, &f, &a[1].0).as_deref(), Some("AA-text-1"));
        // A newer answer to the same receipt replaces the old one in place.
        let d = kdf::derive(&a[1].0, &f.salt);
        let newer = Answer::new(Status::ActionTaken, None, "newer")
            .unwrap()
            .seal(&d);
        let got = s
            .import(&batch(&f, 2, &[(d.lookup, newer)], day), MAX)
            .unwrap();
        assert_eq!((got.added, got.replaced, got.held), (0, 1, 3));
        assert_eq!(text_of(&s, &f, &a[1].0).as_deref(), Some("newer"));
        assert!(
            !disk_has(&f, a[1].2.as_bytes()),
            "the old answer is overwritten"
        );
        drop(s);
        let s = AnswerStore::open(&f.data, &f.salt).unwrap();
        assert_eq!(s.held(), 3);
        assert_eq!(s.last_seq(&f.signer), 2);
        assert_eq!(text_of(&s, &f, &a[0].0).as_deref(), Some("AA-text-0"));
        let stranger = Receipt::parse("ZZZZ-ZZZZ-ZZZZ-ZZZZ").unwrap();
        assert_eq!(text_of(&s, &f, &stranger), None);
    }

    #[test]
    fn replays_older_files_and_overflow_change_nothing() {
        let f = fixture();
        let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
        let a = answers(&f, "BB", 2);
        s.import(&batch(&f, 5, &entries(&a[..1]), today() + 9), MAX)
            .unwrap();
        let before = std::fs::read(f.data.join("answers").join(SLOTS)).unwrap();
        for seq in [5, 4] {
            assert!(matches!(
                s.import(&batch(&f, seq, &entries(&a), today() + 9), MAX),
                Err(StoreRefusal::Replay { last: 5, .. })
            ));
        }
        assert!(matches!(
            s.import(&batch(&f, 6, &entries(&a), today() + 9), 1),
            Err(StoreRefusal::Full {
                incoming: 1,
                total: 2,
                max: 1
            })
        ));
        assert_eq!(
            std::fs::read(f.data.join("answers").join(SLOTS)).unwrap(),
            before
        );
        assert_eq!(s.last_seq(&f.signer), 5);
        // Another signer keeps its own sequence.
        let other = SigningKey::generate().public();
        s.import(
            &Batch {
                signer: &other,
                seq: 1,
                entries: &entries(&a[1..]),
                expires: today() + 9,
            },
            MAX,
        )
        .unwrap();
        assert_eq!(s.held(), 2);
    }

    #[test]
    fn a_crash_before_the_commit_imports_nothing_and_after_it_everything() {
        let f = fixture();
        let a = answers(&f, "CC", 4);
        let crash_at = |stop| {
            let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
            let e = s.import_until(&batch(&f, 1, &entries(&a), today() + 9), MAX, Some(stop));
            assert!(e.is_err());
        };
        crash_at(Stop::BeforeCommit);
        {
            let s = AnswerStore::open(&f.data, &f.salt).unwrap();
            assert_eq!(s.held(), 0);
            assert_eq!(s.last_seq(&f.signer), 0);
            assert!(!f.data.join("answers").join(JOURNAL_NEW).exists());
        }
        crash_at(Stop::HalfApplied);
        let s = AnswerStore::open(&f.data, &f.salt).unwrap();
        assert_eq!(s.held(), 4);
        assert_eq!(s.last_seq(&f.signer), 1);
        for (r, _, _) in &a {
            assert!(text_of(&s, &f, r).is_some());
        }
        assert!(!f.data.join("answers").join(JOURNAL).exists());
    }

    #[test]
    fn expiry_wipes_the_bytes_and_frees_the_space() {
        let f = fixture();
        let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
        let old = answers(&f, "DD", 3);
        let new = answers(&f, "EE", 1);
        s.import(&batch(&f, 1, &entries(&new), today() + 10), MAX)
            .unwrap();
        s.import(&batch(&f, 2, &entries(&old), today() + 3), MAX)
            .unwrap();
        assert!(disk_has(&f, old[0].2.as_bytes()));
        assert_eq!(s.sweep(today() + 2).unwrap(), 0);
        assert_eq!(s.sweep(today() + 3).unwrap(), 3);
        for (_, lookup, sealed) in &old {
            assert!(
                !disk_has(&f, sealed.as_bytes()),
                "an expired answer's bytes remain"
            );
            assert!(
                !disk_has(&f, &lookup.0),
                "an expired answer's lookup remains"
            );
        }
        assert!(disk_has(&f, new[0].2.as_bytes()));
        assert_eq!(s.held(), 1);
        // The freed slots at the end gave their space back; the next
        // import reuses what is left.
        let len = std::fs::metadata(f.data.join("answers").join(SLOTS))
            .unwrap()
            .len();
        assert_eq!(len, SLOT_LEN as u64);
        // An answer expired but not yet swept is not served.
        s.import(&batch(&f, 3, &entries(&old[..1]), today()), MAX)
            .unwrap();
        assert_eq!(text_of(&s, &f, &old[0].0), None);
        // Start-up sweeps too (the server calls sweep right after open).
        drop(s);
        let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
        assert_eq!(s.sweep(today()).unwrap(), 1);
        assert!(!disk_has(&f, old[0].2.as_bytes()));
    }

    #[test]
    fn damaged_slots_are_wiped_and_one_process_holds_the_store() {
        let f = fixture();
        let mut s = AnswerStore::open(&f.data, &f.salt).unwrap();
        let a = answers(&f, "FF", 2);
        s.import(&batch(&f, 1, &entries(&a), today() + 9), MAX)
            .unwrap();
        let e = AnswerStore::open(&f.data, &f.salt)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("in use by another process"), "{e}");
        drop(s);
        // Half a wipe (a crash in the middle of zeroing a slot).
        let path = f.data.join("answers").join(SLOTS);
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&[0u8; 100], 0).unwrap();
        drop(file);
        let s = AnswerStore::open(&f.data, &f.salt).unwrap();
        assert_eq!(s.held(), 1);
        let raw = std::fs::read(&path).unwrap();
        assert!(raw[..SLOT_LEN].iter().all(|&b| b == 0));
        assert!(text_of(&s, &f, &a[1].0).is_some());
    }

    #[test]
    fn a_changed_salt_with_answers_held_is_refused() {
        let f = fixture();
        let s = with_one(&f, "GG");
        drop(s);
        let e = AnswerStore::open(&f.data, &Salt::from_bytes([6; 32]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("salt changed"), "{e}");
        // With nothing held, a new salt is simply adopted.
        let g = fixture();
        drop(AnswerStore::open(&g.data, &g.salt).unwrap());
        AnswerStore::open(&g.data, &Salt::from_bytes([6; 32])).unwrap();
    }

    #[test]
    fn file_times_are_days() {
        let f = fixture();
        let s = with_one(&f, "HH");
        use std::os::unix::fs::MetadataExt;
        for name in [SLOTS, META, ""] {
            let m = std::fs::metadata(f.data.join("answers").join(name)).unwrap();
            assert_eq!(m.mtime() % 86_400, 0, "{name} mtime");
            assert_eq!(m.atime() % 86_400, 0, "{name} atime");
        }
        // A lookup reads without touching the access time.
        let r = Receipt::parse("HH00-0000-0000-0000").unwrap();
        assert!(text_of(&s, &f, &r).is_some());
        let m = std::fs::metadata(f.data.join("answers").join(SLOTS)).unwrap();
        assert_eq!(m.atime() % 86_400, 0);
    }
}
