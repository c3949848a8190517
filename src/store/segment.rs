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
//!
//! Purging erases a record: its magic becomes "SLMX" and a hole is punched
//! over its blob (the bytes read back as zeros and the blocks go back to
//! the filesystem). The 28-byte header stays so the log can still be
//! walked; it holds a random id and a padded size, nothing else. A segment
//! whose records are all erased is deleted.
//!
//! Why not sled values, or a sled entry per report: sled rewrote each
//! 3.3 KB blob into its log 3–4 times and kept values in its page cache;
//! even a 17-byte index entry per report cost ~0.07–0.1 ms of CPU, a third
//! of the budget (bench/README.md). sled keeps the bookkeeping instead.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const MAGIC: [u8; 4] = *b"SLM1";
const ERASED: [u8; 4] = *b"SLMX";
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

    pub fn position(&self) -> Position {
        Position {
            seg: self.seg,
            offset: self.offset,
        }
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
                self.undo();
                Err(e)
            }
        }
    }

    /// Cut off whatever a failed group left after the durable end.
    fn undo(&mut self) {
        match self
            .file
            .set_len(self.end)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {}
            Err(e) => {
                self.broken = Some(format!(
                    "a failed write to {} could not be undone ({e}); restart salama, which recovers the log",
                    segment_path(&self.dir, self.seg).display()
                ))
            }
        }
    }

    /// Bring the segment being written, and the directory (whose time a
    /// new segment changes), to the start of today (UTC): otherwise their
    /// modification time is the arrival time of the latest report.
    pub fn day_times(&self) {
        crate::follow_up::store::day_times(&segment_path(&self.dir, self.seg));
        crate::follow_up::store::day_times(&self.dir);
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
            Some(h)
                if !h.erased
                    && h.id == *id
                    && h.len == loc.len
                    && checksum(id, h.len, &rec[HEADER as usize..]) == h.sum =>
            {
                rec.drain(..HEADER as usize);
                Ok(rec)
            }
            _ => Err(self.damaged(loc)),
        }
    }

    fn damaged(&self, loc: Location) -> io::Error {
        io::Error::other(format!(
            "the record at offset {} of {} is damaged, or its purge was interrupted: run the \
             purge again if one was interrupted; otherwise keep a copy of the data directory and report this",
            loc.offset,
            segment_path(&self.dir, loc.seg).display()
        ))
    }

    /// Whether record `id` at `loc` is marked erased; `None` if its whole
    /// segment is gone (emptied by the purge of another bundle that held
    /// it too). Anything but record `id` there is damage.
    fn erased(&mut self, id: &[u8; 16], loc: Location) -> io::Result<Option<bool>> {
        let mut h = [0u8; HEADER as usize];
        match self.file(loc.seg) {
            Ok(f) => f.read_exact_at(&mut h, loc.offset)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        match parse_header(&h) {
            Some(h) if h.id == *id && h.len == loc.len => Ok(Some(h.erased)),
            _ => Err(self.damaged(loc)),
        }
    }

    /// Is record `id` at `loc` still there (true) or erased (false)?
    pub fn is_live(&mut self, id: &[u8; 16], loc: Location) -> io::Result<bool> {
        Ok(self.erased(id, loc)? == Some(false))
    }

    /// Destroy the blob of record `id` at `loc`, erased-marked or not:
    /// punch a hole over it (or write zeros where the filesystem cannot
    /// punch). The header stays as it is; see [`Reader::mark_erased`].
    /// Durable only after [`Reader::sync`].
    pub fn wipe(&mut self, id: &[u8; 16], loc: Location) -> io::Result<()> {
        use rustix::fs::{FallocateFlags, fallocate};
        if self.erased(id, loc)?.is_none() {
            return Ok(());
        }
        let f = self.file(loc.seg)?;
        let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
        let (at, len) = (loc.offset + HEADER, u64::from(loc.len));
        match fallocate(f, flags, at, len) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP => {
                f.write_all_at(&vec![0u8; loc.len as usize], at)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Mark a wiped record erased, so walks skip it. Only after the wipe
    /// is durable: a crash in between must leave "live but damaged" (the
    /// purge is run again), never "erased" over a blob still there.
    pub fn mark_erased(&mut self, loc: Location) -> io::Result<()> {
        self.file(loc.seg)?.write_all_at(&ERASED, loc.offset)
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

struct Header {
    id: [u8; 16],
    len: u32,
    sum: u32,
    erased: bool,
}

fn parse_header(h: &[u8]) -> Option<Header> {
    let erased = match h.get(..4)? {
        m if m == MAGIC => false,
        m if m == ERASED => true,
        _ => return None,
    };
    let len = u32::from_le_bytes(h.get(20..24)?.try_into().ok()?);
    (len <= MAX_BLOB).then_some(Header {
        id: h.get(4..20)?.try_into().ok()?,
        len,
        sum: u32::from_le_bytes(h.get(24..28)?.try_into().ok()?),
        erased,
    })
}

/// One whole record met by [`scan`].
pub struct Found {
    pub id: [u8; 16],
    pub at: Location,
    pub erased: bool,
}

/// The record at `offset`, or `None` if what is there is not a whole,
/// intact record (I/O errors are errors, never "not a record").
fn read_record(
    r: &mut BufReader<&File>,
    seg: u32,
    offset: u64,
    size: u64,
    header: &mut [u8; HEADER as usize],
    blob: &mut Vec<u8>,
) -> io::Result<Option<Found>> {
    if offset + HEADER > size {
        return Ok(None);
    }
    r.read_exact(header)?;
    let Some(h) = parse_header(header) else {
        return Ok(None);
    };
    let at = Location {
        seg,
        offset,
        len: h.len,
    };
    if offset + at.span() > size {
        return Ok(None);
    }
    if h.erased {
        r.seek_relative(i64::from(h.len))?;
    } else {
        blob.resize(h.len as usize, 0);
        r.read_exact(blob)?;
        if checksum(&h.id, h.len, blob) != h.sum {
            return Ok(None);
        }
    }
    Ok(Some(Found {
        id: h.id,
        at,
        erased: h.erased,
    }))
}

/// The offset of an intact live record that starts after `offset`, if any.
fn whole_record_after(file: &File, offset: u64, size: u64) -> io::Result<Option<u64>> {
    let mut rest = vec![0u8; (size - offset) as usize];
    file.read_exact_at(&mut rest, offset)?;
    for i in 1..rest.len() {
        if rest[i..].starts_with(&MAGIC)
            && let Some(h) = parse_header(&rest[i..])
            && let Some(blob) = rest.get(i + HEADER as usize..i + HEADER as usize + h.len as usize)
            && checksum(&h.id, h.len, blob) == h.sum
        {
            return Ok(Some(offset + i as u64));
        }
    }
    Ok(None)
}

/// What [`scan`] saw.
pub struct Scanned {
    /// Where the walk stopped: `until`, or the end of the log.
    pub end: Position,
    /// Damage found before the newest segment's end (kept, never cut).
    pub warnings: Vec<String>,
}

/// Walk the log in order from `from` to `until` (the end of the log if
/// `None`), checking every live record's checksum, and hand each whole
/// record to `each`. With `cut_torn_tail` (start-up only, before the
/// committer runs), a bad record at the end of the newest segment is a
/// write that was never acknowledged and is cut off there.
pub fn scan(
    dir: &Path,
    from: Position,
    until: Option<Position>,
    cut_torn_tail: bool,
    mut each: impl FnMut(Found),
) -> io::Result<Scanned> {
    let segs: Vec<u32> = list(dir)?
        .into_iter()
        .filter(|&s| s >= from.seg && until.is_none_or(|u| s <= u.seg))
        .collect();
    let mut out = Scanned {
        end: from,
        warnings: Vec::new(),
    };
    let Some(&newest) = segs.last() else {
        // A new log (or one whose files were removed by hand): start afresh
        // past anything the bookkeeping may still name.
        if until.is_none() {
            out.end = Position {
                seg: from.seg + 1,
                offset: 0,
            };
        }
        return Ok(out);
    };
    let mut blob = Vec::new();
    for &seg in &segs {
        let path = segment_path(dir, seg);
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let mut size = file.metadata()?.len();
        if let Some(u) = until.filter(|u| u.seg == seg) {
            size = size.min(u.offset);
        }
        let mut offset = if seg == from.seg { from.offset } else { 0 };
        let mut r = BufReader::with_capacity(1 << 20, &file);
        r.seek(SeekFrom::Start(offset))?;
        let mut header = [0u8; HEADER as usize];
        while offset < size {
            let found = read_record(&mut r, seg, offset, size, &mut header, &mut blob)?;
            let Some(found) = found else {
                if seg == newest && cut_torn_tail {
                    // Only the last group written can be torn, and nothing
                    // after it was acknowledged. A whole record further on
                    // means this is damage, not a torn tail: cutting would
                    // destroy acknowledged reports, so stop instead.
                    if let Some(later) = whole_record_after(&file, offset, size)? {
                        return Err(io::Error::other(format!(
                            "{}: unreadable record at offset {offset}, but a whole record follows at \
                             offset {later}: this is damage, not an interrupted write. Salama will not \
                             cut acknowledged reports: copy the data directory, then report this",
                            path.display()
                        )));
                    }
                    file.set_len(offset)?;
                    file.sync_data()?;
                    out.warnings.push(format!(
                        "{}: cut {} bytes at offset {offset}: a write interrupted by a crash, never acknowledged",
                        path.display(),
                        size - offset
                    ));
                    size = offset;
                } else {
                    out.warnings.push(format!(
                        "{}: unreadable record at offset {offset}; the rest of this segment is skipped, not deleted",
                        path.display()
                    ));
                }
                break;
            };
            offset += found.at.span();
            each(found);
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

    fn all(dir: &Path, from: Position) -> (Vec<([u8; 16], Location, bool)>, Scanned) {
        let mut v = Vec::new();
        let s = scan(dir, from, None, true, |f| v.push((f.id, f.at, f.erased))).unwrap();
        (v, s)
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
        // A wrong id is refused, not misread.
        assert!(r.read(&id(3), locs[1]).is_err());

        // Half a record at the end, as a crash mid-write leaves it.
        let end = a.position();
        let f = OpenOptions::new()
            .write(true)
            .open(segment_path(dir.path(), 1))
            .unwrap();
        f.write_all_at(b"SLM1\x03\x03\x03", end.offset).unwrap();
        let (found, s) = all(dir.path(), Position { seg: 1, offset: 0 });
        assert_eq!(
            found,
            vec![(id(1), locs[0], false), (id(2), locs[1], false)]
        );
        assert_eq!(s.end, end);
        assert_eq!(s.warnings.len(), 1, "the cut is reported");
        let len = std::fs::metadata(segment_path(dir.path(), 1))
            .unwrap()
            .len();
        assert_eq!(len, end.offset);
        // From the end, nothing is new.
        assert!(all(dir.path(), end).0.is_empty());
    }

    #[test]
    fn erase_keeps_the_walk_and_nothing_of_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Appender::open(dir.path(), 1, 0, SEGMENT_BYTES).unwrap();
        let locs = a
            .commit(&[(id(1), [7u8; 5000].as_slice()), (id(2), b"kept")])
            .unwrap();
        let mut r = Reader::new(dir.path());
        assert!(r.read(&id(1), locs[0]).is_ok());
        r.wipe(&id(1), locs[0]).unwrap();
        // Wiped but not yet marked: damaged, never silently live.
        assert!(r.read(&id(1), locs[0]).is_err());
        assert!(r.is_live(&id(1), locs[0]).unwrap());
        r.mark_erased(locs[0]).unwrap();
        assert!(!r.is_live(&id(1), locs[0]).unwrap());
        // Wiping again is harmless; the wrong id is refused.
        r.wipe(&id(1), locs[0]).unwrap();
        assert!(r.wipe(&id(9), locs[1]).is_err());
        r.sync().unwrap();
        let bytes = std::fs::read(segment_path(dir.path(), 1)).unwrap();
        assert_eq!(&bytes[..4], b"SLMX");
        assert!(!bytes.windows(64).any(|w| w == [7u8; 64]));
        assert!(r.read(&id(1), locs[0]).is_err());
        assert_eq!(r.read(&id(2), locs[1]).unwrap(), b"kept");
        let (found, s) = all(dir.path(), Position::default());
        assert_eq!(found, vec![(id(1), locs[0], true), (id(2), locs[1], false)]);
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn damage_in_an_older_segment_is_reported_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Appender::open(dir.path(), 1, 0, 1).unwrap();
        let l1 = a.commit(&[(id(1), b"one".as_slice())]).unwrap();
        a.commit(&[(id(2), b"two".as_slice())]).unwrap();
        let f = OpenOptions::new()
            .write(true)
            .open(segment_path(dir.path(), 1))
            .unwrap();
        f.write_all_at(b"X", l1[0].offset + HEADER).unwrap();
        let (found, s) = all(dir.path(), Position::default());
        assert_eq!(found.len(), 1);
        assert_eq!(s.warnings.len(), 1);
        let len = std::fs::metadata(segment_path(dir.path(), 1))
            .unwrap()
            .len();
        assert_eq!(len, l1[0].span());
    }

    /// Damage followed by a whole record is not a torn tail: start-up must
    /// refuse rather than cut acknowledged reports.
    #[test]
    fn damage_before_whole_records_is_never_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Appender::open(dir.path(), 1, 0, SEGMENT_BYTES).unwrap();
        let locs = a
            .commit(&[(id(1), b"one".as_slice()), (id(2), b"two")])
            .unwrap();
        let path = segment_path(dir.path(), 1);
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(b"X", locs[0].offset + HEADER).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let err = scan(dir.path(), Position::default(), None, true, |_| {})
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("not an interrupted write"),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
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
        assert_eq!(all(dir.path(), Position::default()).0.len(), 1);
    }
}
