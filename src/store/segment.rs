//! The append-only segment log: the only place sealed blobs are written.
//!
//! `DATA/store/segments/NNNNNNNNNN.seg` (mode 0600), each a run of records:
//!
//! ```text
//! "SLM1" | id (16 bytes) | len (u32 LE) | CRC-32 of id‖len‖blob (u32 LE) | blob (an age v1 file)
//! ```
//!
//! Only the commit thread appends, one `pwrite` and one `fdatasync` for a
//! whole group of reports, so a record is durable before its reporter is
//! acknowledged. A torn write can only be at the end of the newest segment
//! (no later group was acknowledged), and recovery cuts it off there.
//! Purging punches a hole over a record (the bytes read back as zeros and
//! the blocks return to the filesystem) and deletes a segment once nothing
//! in it is live.
//!
//! Why not sled values: sled rewrote each 3.3 KB blob into its log 3–4
//! times, kept every value in its page cache, and cost ~0.1 ms of CPU per
//! report (bench/README.md). sled still holds the small index.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const MAGIC: [u8; 4] = *b"SLM1";
pub const HEADER: u64 = 28;
/// Start a new segment once the current one is this large.
pub const SEGMENT_BYTES: u64 = 64 << 20;
/// Far above the largest padded report (64 KiB + age overhead): a header
/// claiming more is damage, not a report.
const MAX_BLOB: u32 = 1 << 20;

/// Where one record is: its header starts at `offset` in segment `seg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub seg: u32,
    pub offset: u64,
    pub len: u32,
}

impl Location {
    fn span(&self) -> u64 {
        HEADER + u64::from(self.len)
    }
}

/// A point in the log: everything before it has been seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub seg: u32,
    pub offset: u64,
}

fn checksum(id: &[u8; 16], len: u32, blob: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(id);
    h.update(&len.to_le_bytes());
    h.update(blob);
    h.finalize()
}

fn segment_path(dir: &Path, seg: u32) -> PathBuf {
    dir.join(format!("{seg:010}.seg"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Segment numbers present in `dir`, ascending.
pub fn list(dir: &Path) -> io::Result<Vec<u32>> {
    let mut segs = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_suffix(".seg").and_then(|n| n.parse().ok()) {
            segs.push(n);
        }
    }
    segs.sort_unstable();
    Ok(segs)
}

/// The commit thread's end of the log.
pub struct Appender {
    dir: PathBuf,
    seg: u32,
    file: File,
    end: u64,
    buf: Vec<u8>,
    segment_bytes: u64,
    /// Set when a failed write could not be undone: appending after
    /// unknown bytes would hide them from recovery, so refuse instead.
    broken: Option<String>,
}

impl Appender {
    /// Continue the log at `end` of segment `seg` (created if missing),
    /// starting a new segment once one reaches `segment_bytes`.
    pub fn open(dir: &Path, seg: u32, end: u64, segment_bytes: u64) -> io::Result<Appender> {
        let file = open_segment(dir, seg)?;
        sync_dir(dir)?;
        Ok(Appender {
            dir: dir.to_owned(),
            seg,
            file,
            end,
            buf: Vec::new(),
            segment_bytes,
            broken: None,
        })
    }

    pub fn position(&self) -> Position {
        Position {
            seg: self.seg,
            offset: self.end,
        }
    }

    /// Write one group of records and make them durable; all of them or,
    /// on error, none. Every record of a group lands in one segment.
    pub fn commit(&mut self, records: &[([u8; 16], &[u8])]) -> io::Result<Vec<Location>> {
        if let Some(why) = &self.broken {
            return Err(io::Error::other(why.clone()));
        }
        if self.end >= self.segment_bytes {
            self.rotate()?;
        }
        self.buf.clear();
        let mut locations = Vec::with_capacity(records.len());
        let mut offset = self.end;
        for (id, blob) in records {
            let len = u32::try_from(blob.len())
                .ok()
                .filter(|&l| l <= MAX_BLOB)
                .ok_or_else(|| io::Error::other("a sealed blob over 1 MiB"))?;
            self.buf.extend_from_slice(&MAGIC);
            self.buf.extend_from_slice(id);
            self.buf.extend_from_slice(&len.to_le_bytes());
            self.buf
                .extend_from_slice(&checksum(id, len, blob).to_le_bytes());
            self.buf.extend_from_slice(blob);
            let loc = Location {
                seg: self.seg,
                offset,
                len,
            };
            offset += loc.span();
            locations.push(loc);
        }
        let written = self
            .file
            .write_all_at(&self.buf, self.end)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.end = offset;
                Ok(locations)
            }
            Err(e) => {
                self.undo_to(self.end);
                Err(e)
            }
        }
    }

    /// Take back the last group (its reporters were not acknowledged).
    pub fn undo(&mut self, first: Location) {
        if first.seg == self.seg {
            self.undo_to(first.offset);
        }
    }

    fn undo_to(&mut self, end: u64) {
        match self.file.set_len(end).and_then(|()| self.file.sync_data()) {
            Ok(()) => self.end = end,
            Err(e) => {
                self.broken = Some(format!(
                    "a failed write to {} could not be undone ({e}); restart salama, which recovers the log",
                    segment_path(&self.dir, self.seg).display()
                ))
            }
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        let file = open_segment(&self.dir, self.seg + 1)?;
        // The new name must survive a crash before anything in it counts.
        sync_dir(&self.dir)?;
        self.seg += 1;
        self.file = file;
        self.end = 0;
        Ok(())
    }
}

fn open_segment(dir: &Path, seg: u32) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(segment_path(dir, seg))
}

/// Read access to segments, one open file each.
pub struct Reader {
    dir: PathBuf,
    files: HashMap<u32, File>,
}

impl Reader {
    pub fn new(dir: &Path) -> Reader {
        Reader {
            dir: dir.to_owned(),
            files: HashMap::new(),
        }
    }

    fn file(&mut self, seg: u32) -> io::Result<&File> {
        if !self.files.contains_key(&seg) {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(segment_path(&self.dir, seg))?;
            self.files.insert(seg, f);
        }
        Ok(&self.files[&seg])
    }

    /// The blob of record `id` at `loc`, checked against its header.
    pub fn read(&mut self, id: &[u8; 16], loc: Location) -> io::Result<Vec<u8>> {
        let mut rec = vec![0u8; loc.span() as usize];
        self.file(loc.seg)?.read_exact_at(&mut rec, loc.offset)?;
        match parse_header(&rec[..HEADER as usize]) {
            Some((rid, len, sum))
                if rid == *id
                    && len == loc.len
                    && checksum(id, len, &rec[HEADER as usize..]) == sum =>
            {
                rec.drain(..HEADER as usize);
                Ok(rec)
            }
            _ => Err(io::Error::other(format!(
                "record {} in {} at offset {} is damaged or was erased by an interrupted purge \
                 (run the purge again)",
                crate::bundle::hex(id),
                segment_path(&self.dir, loc.seg).display(),
                loc.offset
            ))),
        }
    }

    /// Erase a record: punch a hole over it, or write zeros where the
    /// filesystem cannot punch. Durable only after [`Reader::sync`].
    pub fn erase(&mut self, loc: Location) -> io::Result<()> {
        use rustix::fs::{FallocateFlags, fallocate};
        let f = self.file(loc.seg)?;
        let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
        match fallocate(f, flags, loc.offset, loc.span()) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP => {
                f.write_all_at(&vec![0u8; loc.span() as usize], loc.offset)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// fdatasync every segment this reader touched.
    pub fn sync(&self) -> io::Result<()> {
        self.files.values().try_for_each(File::sync_data)
    }

    /// Delete a segment nothing refers to any more.
    pub fn delete(&mut self, seg: u32) -> io::Result<()> {
        self.files.remove(&seg);
        match std::fs::remove_file(segment_path(&self.dir, seg)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&self.dir)
    }
}

fn parse_header(h: &[u8]) -> Option<([u8; 16], u32, u32)> {
    if h.len() < HEADER as usize || h[..4] != MAGIC {
        return None;
    }
    let id: [u8; 16] = h[4..20].try_into().ok()?;
    let len = u32::from_le_bytes(h[20..24].try_into().ok()?);
    let sum = u32::from_le_bytes(h[24..28].try_into().ok()?);
    (len <= MAX_BLOB).then_some((id, len, sum))
}

/// What recovery found after the last indexed position.
pub struct Recovered {
    pub records: Vec<([u8; 16], Location)>,
    /// Where the next group goes.
    pub end: Position,
    /// Damage found before the newest segment's end (kept, never cut).
    pub warnings: Vec<String>,
}

/// Scan the log from `from` to its end: every whole record there was
/// written after the index last reached disk. A torn record at the end of
/// the newest segment was never acknowledged and is cut off.
pub fn recover(dir: &Path, from: Position) -> io::Result<Recovered> {
    let segs: Vec<u32> = list(dir)?.into_iter().filter(|&s| s >= from.seg).collect();
    let mut out = Recovered {
        records: Vec::new(),
        end: from,
        warnings: Vec::new(),
    };
    let Some(&newest) = segs.last() else {
        // A new log (or one whose files were removed by hand): start afresh
        // past anything the index may still name.
        out.end = Position {
            seg: from.seg + 1,
            offset: 0,
        };
        return Ok(out);
    };
    for &seg in &segs {
        let path = segment_path(dir, seg);
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let size = file.metadata()?.len();
        let mut offset = if seg == from.seg { from.offset } else { 0 };
        let mut header = [0u8; HEADER as usize];
        let mut blob = Vec::new();
        while offset < size {
            let whole = offset + HEADER <= size
                && file.read_exact_at(&mut header, offset).is_ok()
                && match parse_header(&header) {
                    Some((id, len, sum)) if offset + HEADER + u64::from(len) <= size => {
                        blob.resize(len as usize, 0);
                        let ok = file.read_exact_at(&mut blob, offset + HEADER).is_ok()
                            && checksum(&id, len, &blob) == sum;
                        if ok {
                            let loc = Location { seg, offset, len };
                            out.records.push((id, loc));
                            offset += loc.span();
                        }
                        ok
                    }
                    _ => false,
                };
            if !whole {
                if seg == newest {
                    file.set_len(offset)?;
                    file.sync_data()?;
                } else {
                    out.warnings.push(format!(
                        "{}: unreadable record at offset {offset}; the rest of this segment is skipped, not deleted",
                        path.display()
                    ));
                }
                break;
            }
        }
        out.end = Position {
            seg,
            offset: if seg == newest {
                offset.min(size)
            } else {
                size
            },
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> [u8; 16] {
        [n; 16]
    }

    #[test]
    fn append_read_recover_and_cut_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Appender::open(dir.path(), 1, 0, SEGMENT_BYTES).unwrap();
        let locs = a
            .commit(&[(id(1), b"first".as_slice()), (id(2), b"second")])
            .unwrap();
        let mut r = Reader::new(dir.path());
        assert_eq!(r.read(&id(2), locs[1]).unwrap(), b"second");
        // A wrong id or length is refused, not misread.
        assert!(r.read(&id(3), locs[1]).is_err());

        // Half a record at the end, as a crash mid-write leaves it.
        let end = a.position();
        let f = OpenOptions::new()
            .append(true)
            .open(segment_path(dir.path(), 1))
            .unwrap();
        f.write_all_at(b"SLM1\x03\x03\x03", end.offset).unwrap();
        let rec = recover(dir.path(), Position { seg: 1, offset: 0 }).unwrap();
        assert_eq!(rec.records, vec![(id(1), locs[0]), (id(2), locs[1])]);
        assert_eq!(rec.end, end);
        assert_eq!(
            std::fs::metadata(segment_path(dir.path(), 1))
                .unwrap()
                .len(),
            end.offset
        );
        // From the end, nothing is new.
        assert!(recover(dir.path(), end).unwrap().records.is_empty());
    }

    #[test]
    fn erase_leaves_zeros_and_read_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Appender::open(dir.path(), 1, 0, SEGMENT_BYTES).unwrap();
        let locs = a
            .commit(&[(id(1), [7u8; 5000].as_slice()), (id(2), b"kept")])
            .unwrap();
        let mut r = Reader::new(dir.path());
        r.erase(locs[0]).unwrap();
        r.sync().unwrap();
        let bytes = std::fs::read(segment_path(dir.path(), 1)).unwrap();
        assert!(bytes[..locs[0].span() as usize].iter().all(|&b| b == 0));
        assert!(r.read(&id(1), locs[0]).is_err());
        assert_eq!(r.read(&id(2), locs[1]).unwrap(), b"kept");
    }

    #[test]
    fn a_failed_group_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Appender::open(dir.path(), 1, 0, SEGMENT_BYTES).unwrap();
        a.commit(&[(id(1), b"one".as_slice())]).unwrap();
        let before = a.position();
        let huge = vec![0u8; MAX_BLOB as usize + 1];
        assert!(
            a.commit(&[(id(2), b"two".as_slice()), (id(3), &huge)])
                .is_err()
        );
        assert_eq!(a.position(), before);
        let locs = a.commit(&[(id(4), b"four".as_slice())]).unwrap();
        a.undo(locs[0]);
        assert_eq!(a.position(), before);
        let rec = recover(dir.path(), Position { seg: 1, offset: 0 }).unwrap();
        assert_eq!(rec.records.len(), 1);
    }
}
