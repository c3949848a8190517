//! Step 7–8: the bundle that carries sealed reports from the server to the
//! analysts' offline workstation on removable media.
//!
//! A bundle is a plain POSIX tar archive:
//!
//! ```text
//! reports/<id>.age   one age v1 file per report (id: 32 hex digits, random)
//! ...
//! manifest.json      {"format":"salama-bundle","version":2,"count":N,
//!                     "follow_up_salt":"<64 hex>",
//!                     "entries":[{"id":…,"sha256":…,"size":…}, …]}
//! ```
//!
//! Version 2 adds the deployment's follow-up salt, so the analysts can
//! write answers files for this server ([`crate::answers`]) from nothing
//! but the bundles they open. Version 1 manifests (no salt) still read.
//!
//! The manifest comes last so the server can stream a bundle of any size
//! in one pass. The bundle's digest is the SHA-256 of `manifest.json`: it
//! commits to every blob, and it is what the analyst confirms back so the
//! operator purges exactly this set. With only `tar` and `age` an analyst
//! can still open every report. Tar headers carry no time, owner or order
//! information (mtime 0, uid 0, entries in random-id order).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};

pub const MANIFEST_NAME: &str = "manifest.json";
pub const FORMAT: &str = "salama-bundle";
/// The version written when the bundle carries a follow-up salt (every
/// server's does); without one it is version 1.
pub const VERSION: u32 = 2;
/// A sealed report is at most 64 KiB plus headers; anything far larger in
/// a bundle is not ours, and is not read into memory.
pub const MAX_BLOB: u64 = 1 << 20;
const MAX_MANIFEST: u64 = 256 << 20;
/// Files a bundle may hold that are not ours before it is refused whole:
/// each is listed, and a list must not grow with the bundle's size.
pub const MAX_STRAYS: usize = 1000;

/// SHA-256 of a bundle's manifest, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BundleDigest(pub [u8; 32]);

impl fmt::Display for BundleDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BundleDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BundleDigest({self})")
    }
}

impl BundleDigest {
    pub fn of(manifest: &[u8]) -> BundleDigest {
        BundleDigest(Sha256::digest(manifest).into())
    }

    pub fn parse(s: &str) -> Option<BundleDigest> {
        let s = s.trim();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(BundleDigest(out))
    }
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub count: usize,
    /// The deployment's follow-up salt (version 2 on), 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_salt: Option<String>,
    pub entries: Vec<Entry>,
}

impl Manifest {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        v.push(b'\n');
        v
    }

    pub fn parse(bytes: &[u8]) -> Result<Manifest, BundleError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|_| BundleError::BadManifest)?;
        if m.format != FORMAT || !(1..=VERSION).contains(&m.version) {
            return Err(BundleError::UnknownVersion);
        }
        // Version 2 carries a salt in its one spelling; version 1 none.
        let salt_ok = match &m.follow_up_salt {
            None => m.version == 1,
            Some(s) => {
                m.version >= 2
                    && crate::answers::Salt::parse_hex(s).is_some_and(|x| x.to_hex() == *s)
            }
        };
        if !salt_ok {
            return Err(BundleError::BadManifest);
        }
        if m.count != m.entries.len() || m.entries.iter().any(|e| !is_id(&e.id)) {
            return Err(BundleError::BadManifest);
        }
        Ok(m)
    }

    /// The follow-up salt of the server that made this bundle (version 2).
    pub fn salt(&self) -> Option<crate::answers::Salt> {
        self.follow_up_salt
            .as_deref()
            .and_then(crate::answers::Salt::parse_hex)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.id.as_str())
    }
}

/// Report ids are 128 random bits as 32 lowercase hex digits.
pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase hex, as ids, digests and key ids are written everywhere.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The tar crate's errors can quote a header's bytes (a path, a size
    /// field), so they are shown escaped like every other text from a bundle.
    #[error(
        "reading or writing the bundle failed: {}",
        crate::escape::terminal(&.0.to_string())
    )]
    Io(#[from] io::Error),
    #[error(
        "the bundle has no manifest.json: it is truncated or not a Salama bundle; export it again"
    )]
    NoManifest,
    #[error("the bundle's manifest.json is malformed: the bundle is damaged; export it again")]
    BadManifest,
    #[error("this bundle was made by a newer salama; upgrade salama on this workstation")]
    UnknownVersion,
    #[error(
        "the bundle holds more than {MAX_STRAYS} files that are not reports: it was not made by salama export or was tampered with; do not purge, export it again"
    )]
    TooManyStrays,
}

/// Writes a bundle entry by entry; `finish` appends the manifest.
///
/// The manifest is streamed, not built: an entry is kept as 56 bytes until
/// then (not as strings in a `Manifest` and again as its JSON, ~450 bytes
/// a report, ~45 MB for 100k), and `finish` writes the same JSON as
/// [`Manifest::to_bytes`] straight into the archive, hashing as it goes.
pub struct BundleWriter<W: Write> {
    tar: tar::Builder<W>,
    entries: Vec<Listed>,
    salt: Option<crate::answers::Salt>,
}

/// What the manifest says of one entry, until it is written.
struct Listed {
    id: [u8; 16],
    sha256: [u8; 32],
    size: u64,
}

/// The manifest's JSON, field for field as [`Manifest`] serialises, with
/// each entry spelled out only as it is written.
#[derive(Serialize)]
struct ManifestView<'a> {
    format: &'a str,
    version: u32,
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    follow_up_salt: Option<String>,
    entries: ListedEntries<'a>,
}

struct ListedEntries<'a>(&'a [Listed]);

impl Serialize for ListedEntries<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|l| Entry {
            id: hex(&l.id),
            sha256: hex(&l.sha256),
            size: l.size,
        }))
    }
}

impl ManifestView<'_> {
    fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        out.write_all(b"\n")
    }
}

/// Counts what passes through it and hashes it (the manifest's digest).
struct Measured<W> {
    inner: W,
    len: u64,
    hash: Sha256,
}

impl<W: Write> Write for Measured<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.len += n as u64;
        self.hash.update(&b[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// A bundle once written: what the server keeps to know what a purge of
/// this digest deletes.
pub struct Finished<W> {
    pub count: usize,
    pub digest: BundleDigest,
    pub out: W,
}

impl<W: Write> BundleWriter<W> {
    pub fn new(out: W) -> BundleWriter<W> {
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Deterministic);
        BundleWriter {
            tar,
            entries: Vec::new(),
            salt: None,
        }
    }

    /// Carry the server's follow-up salt (and so write a version 2 manifest).
    pub fn follow_up_salt(&mut self, salt: &crate::answers::Salt) {
        self.salt = Some(*salt);
    }

    pub fn add(&mut self, id: &str, sealed: &[u8]) -> io::Result<()> {
        let id_bytes = is_id(id)
            .then(|| u128::from_str_radix(id, 16).ok())
            .flatten()
            .ok_or_else(|| io::Error::other(format!("{id:?} is not a report id")))?
            .to_be_bytes();
        let mut h = header(sealed.len() as u64);
        self.tar
            .append_data(&mut h, format!("reports/{id}.age"), sealed)?;
        self.entries.push(Listed {
            id: id_bytes,
            sha256: Sha256::digest(sealed).into(),
            size: sealed.len() as u64,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Append the manifest and end the archive.
    pub fn finish(mut self) -> io::Result<Finished<W>> {
        let view = ManifestView {
            format: FORMAT,
            version: if self.salt.is_some() { VERSION } else { 1 },
            count: self.entries.len(),
            follow_up_salt: self.salt.map(|s| s.to_hex()),
            entries: ListedEntries(&self.entries),
        };
        // A tar header states the size first: measure, then write.
        let mut sized = Measured {
            inner: io::sink(),
            len: 0,
            hash: Sha256::new(),
        };
        view.write_to(&mut sized)?;
        let mut h = header(sized.len);
        h.set_path(MANIFEST_NAME)?;
        h.set_cksum();
        let out = self.tar.get_mut();
        out.write_all(h.as_bytes())?;
        let (len, hash) = {
            let mut written = Measured {
                inner: io::BufWriter::with_capacity(64 << 10, &mut *out),
                len: 0,
                hash: Sha256::new(),
            };
            view.write_to(&mut written)?;
            written.flush()?;
            (written.len, written.hash)
        };
        if len != sized.len {
            return Err(io::Error::other(
                "the manifest changed while it was written; this is a bug in salama",
            ));
        }
        let padding = (512 - len % 512) % 512;
        out.write_all(&[0u8; 512][..padding as usize])?;
        let count = self.entries.len();
        let out = self.tar.into_inner()?;
        Ok(Finished {
            count,
            digest: BundleDigest(hash.finalize().into()),
            out,
        })
    }
}

/// An entry's contents, if its header's `size` and what it holds are both
/// within `limit`; never reads more than `limit + 1` bytes, whatever the
/// header or the archive says.
fn read_at_most(entry: &mut impl Read, size: u64, limit: u64) -> io::Result<Option<Vec<u8>>> {
    if size > limit {
        return Ok(None);
    }
    // Capacity from the header only up to a sealed report's size: the
    // header may promise more than the archive holds.
    let mut b = Vec::with_capacity(size.min(MAX_BLOB) as usize);
    entry.take(limit + 1).read_to_end(&mut b)?;
    Ok((b.len() as u64 <= limit).then_some(b))
}

/// Why one entry of a bundle cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProblem {
    /// Its bytes do not match the manifest's SHA-256.
    HashMismatch,
    /// Listed in the manifest but absent from the archive.
    Missing,
    /// In the archive but not in the manifest.
    NotInManifest,
    /// Present twice in the archive.
    Duplicate,
    /// Larger than any sealed report can be.
    TooLarge,
    /// Some other file that has no place in a bundle (its name, as found:
    /// shown escaped).
    Stray(String),
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryProblem::HashMismatch => {
                f.write_str("its contents do not match the manifest (altered or damaged)")
            }
            EntryProblem::Missing => {
                f.write_str("listed in the manifest but missing from the bundle")
            }
            EntryProblem::NotInManifest => {
                f.write_str("present in the bundle but not in the manifest")
            }
            EntryProblem::Duplicate => f.write_str("present more than once"),
            EntryProblem::TooLarge => f.write_str("far larger than any sealed report"),
            EntryProblem::Stray(name) => write!(
                f,
                "unexpected file \"{}\" in the bundle",
                crate::escape::terminal(name)
            ),
        }
    }
}

/// The result of reading a bundle: the verified manifest and its digest,
/// and what was wrong with which entry (empty when all is well).
pub struct Verified {
    pub manifest: Manifest,
    pub digest: BundleDigest,
    pub problems: BTreeMap<String, EntryProblem>,
}

/// Read a bundle, handing each report blob to `each(id, bytes)` as it is
/// read (so a large bundle is never held in memory twice), then check
/// every blob against the manifest. Entries with problems are listed in
/// `problems`; `each` may already have seen them, and the caller must not
/// trust what it made of them.
pub fn read<R: Read>(input: R, mut each: impl FnMut(&str, &[u8])) -> Result<Verified, BundleError> {
    let mut archive = tar::Archive::new(input);
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut problems = BTreeMap::new();
    let mut strays = 0usize;
    let mut manifest_bytes = None;
    // Raw entries: otherwise the tar crate reads a GNU long name or a PAX
    // extension of any size into memory, and a PAX `size=` record makes it
    // read more than the entry's header says. A server writes neither
    // (plain ustar, short names), so here they are stray entries, and each
    // entry is exactly as long as its own header says.
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.header().size()?;
        if name == MANIFEST_NAME && entry.header().entry_type().is_file() {
            if manifest_bytes.is_some() {
                return Err(BundleError::BadManifest);
            }
            let b = read_at_most(&mut entry, size, MAX_MANIFEST)?;
            manifest_bytes = Some(b.ok_or(BundleError::BadManifest)?);
            continue;
        }
        let id = name
            .strip_prefix("reports/")
            .and_then(|n| n.strip_suffix(".age"))
            .filter(|id| is_id(id) && entry.header().entry_type().is_file());
        let Some(id) = id.map(str::to_owned) else {
            if !entry.header().entry_type().is_dir() {
                strays += 1;
                if strays > MAX_STRAYS {
                    return Err(BundleError::TooManyStrays);
                }
                problems.insert(name.clone(), EntryProblem::Stray(name));
            }
            continue;
        };
        let Some(blob) = read_at_most(&mut entry, size, MAX_BLOB)? else {
            problems.insert(id, EntryProblem::TooLarge);
            continue;
        };
        if seen.contains_key(&id) {
            problems.insert(id, EntryProblem::Duplicate);
            continue;
        }
        seen.insert(id.clone(), hex(&Sha256::digest(&blob)));
        each(&id, &blob);
    }
    let manifest_bytes = manifest_bytes.ok_or(BundleError::NoManifest)?;
    let manifest = Manifest::parse(&manifest_bytes)?;
    let digest = BundleDigest::of(&manifest_bytes);
    let mut listed = BTreeMap::new();
    for e in &manifest.entries {
        listed.insert(e.id.as_str(), e.sha256.as_str());
        match seen.get(&e.id) {
            None => {
                problems
                    .entry(e.id.clone())
                    .or_insert(EntryProblem::Missing);
            }
            Some(h) if h != &e.sha256 => {
                problems.insert(e.id.clone(), EntryProblem::HashMismatch);
            }
            Some(_) => {}
        }
    }
    for id in seen.keys() {
        if !listed.contains_key(id.as_str()) {
            problems.insert(id.clone(), EntryProblem::NotInManifest);
        }
    }
    Ok(Verified {
        manifest,
        digest,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> String {
        format!("{:032x}", n as u128 * 0x1111)
    }

    fn bundle(blobs: &[(String, Vec<u8>)]) -> (Vec<u8>, BundleDigest) {
        let mut w = BundleWriter::new(Vec::new());
        for (i, b) in blobs {
            w.add(i, b).unwrap();
        }
        let f = w.finish().unwrap();
        (f.out, f.digest)
    }

    /// The bytes of a bundle's manifest.json, as any tar reader finds them.
    fn manifest_of(bundle: &[u8]) -> Vec<u8> {
        let mut a = tar::Archive::new(bundle);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            if &*e.path_bytes() == MANIFEST_NAME.as_bytes() {
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                return b;
            }
        }
        panic!("no manifest");
    }

    #[test]
    fn round_trip_and_digest() {
        let blobs: Vec<_> = (1..=5)
            .map(|n| (id(n), vec![n; 100 * n as usize]))
            .collect();
        let (bytes, digest) = bundle(&blobs);
        let mut got = Vec::new();
        let v = read(&bytes[..], |i, b| got.push((i.to_owned(), b.to_vec()))).unwrap();
        assert!(v.problems.is_empty());
        assert_eq!(v.digest, digest);
        assert_eq!(got, blobs);
        assert_eq!(BundleDigest::parse(&digest.to_string()), Some(digest));
        assert_eq!(v.manifest.count, 5);
    }

    #[test]
    fn version_2_carries_the_follow_up_salt_and_version_1_still_reads() {
        let salt = crate::answers::Salt::random();
        let mut w = BundleWriter::new(Vec::new());
        w.add(&id(1), b"abc").unwrap();
        w.follow_up_salt(&salt);
        let tar = w.finish().unwrap().out;
        let bytes = manifest_of(&tar);
        let m = Manifest::parse(&bytes).unwrap();
        assert_eq!(m.version, 2);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(&format!("\"follow_up_salt\": \"{}\"", salt.to_hex())));
        let v = read(&tar[..], |_, _| {}).unwrap();
        assert_eq!(v.manifest.salt(), Some(salt));
        // Without a salt: version 1, as before.
        let (old, _) = bundle(&[(id(1), b"abc".to_vec())]);
        let v1 = read(&old[..], |_, _| {}).unwrap();
        assert_eq!((v1.manifest.version, v1.manifest.salt()), (1, None));
        // A salt in a version 1 manifest, none in version 2, or a salt
        // spelled another way: not from a server.
        let swap = |from: &str, to: &str| Manifest::parse(text.replace(from, to).as_bytes()).err();
        assert!(matches!(
            swap("\"version\": 2", "\"version\": 1"),
            Some(BundleError::BadManifest)
        ));
        let upper = salt.to_hex().to_uppercase();
        if upper != salt.to_hex() {
            assert!(matches!(
                swap(&salt.to_hex(), &upper),
                Some(BundleError::BadManifest)
            ));
        }
        let no_salt = text.replace(
            &format!("  \"follow_up_salt\": \"{}\",\n", salt.to_hex()),
            "",
        );
        assert!(matches!(
            Manifest::parse(no_salt.as_bytes()),
            Err(BundleError::BadManifest)
        ));
        assert!(matches!(
            swap("\"version\": 2", "\"version\": 3"),
            Some(BundleError::UnknownVersion)
        ));
    }

    /// Issue 13, item 9: the manifest is streamed from 56 bytes an entry,
    /// and comes out byte for byte as a `Manifest` serialises (so every
    /// `open` reads it, and its digest is what the archive holds).
    #[test]
    fn the_streamed_manifest_is_the_manifest_as_it_always_was() {
        for (n, salt) in [
            (0u8, None),
            (1, None),
            (7, Some(crate::answers::Salt::random())),
        ] {
            let mut w = BundleWriter::new(Vec::new());
            if let Some(s) = &salt {
                w.follow_up_salt(s);
            }
            let mut want = Vec::new();
            for k in 1..=n {
                let blob = vec![k; 1000 + 37 * k as usize];
                w.add(&id(k), &blob).unwrap();
                want.push(Entry {
                    id: id(k),
                    sha256: hex(&Sha256::digest(&blob)),
                    size: blob.len() as u64,
                });
            }
            let f = w.finish().unwrap();
            let want = Manifest {
                format: FORMAT.into(),
                version: if salt.is_some() { 2 } else { 1 },
                count: n as usize,
                follow_up_salt: salt.map(|s| s.to_hex()),
                entries: want,
            }
            .to_bytes();
            assert_eq!(manifest_of(&f.out), want);
            assert_eq!(f.digest, BundleDigest::of(&want));
            assert_eq!(f.count, n as usize);
            // A well-formed archive: GNU tar's reader and ours agree.
            let v = read(&f.out[..], |_, _| {}).unwrap();
            assert!(v.problems.is_empty());
            assert_eq!(v.digest, f.digest);
            assert_eq!(f.out.len() % 512, 0);
        }
        let mut w = BundleWriter::new(Vec::new());
        assert!(w.add("../../etc/passwd", b"x").is_err());
        assert!(
            w.add(&id(1).to_uppercase().replace('0', "A"), b"x")
                .is_err()
        );
    }

    /// A PAX extended header (`x`) whose one record is `size=N`.
    fn pax_size(n: u64) -> Vec<u8> {
        let body = format!(" size={n}\n");
        // The record's length counts its own digits.
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        let record = format!("{len}{body}");
        let mut h = tar::Header::new_ustar();
        h.set_path("PaxHeaders.0/report").unwrap();
        h.set_size(record.len() as u64);
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(record.as_bytes());
        out.resize(1024, 0);
        out
    }

    /// Counts the bytes read through it.
    struct Counted<R>(R, std::rc::Rc<std::cell::Cell<u64>>);

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(b)?;
            self.1.set(self.1.get() + n as u64);
            Ok(n)
        }
    }

    /// Issue 13, item 4: the tar crate lets a PAX `size=` record override
    /// the header's size; a hostile bundle used it to make `open` read
    /// any amount into memory. Each entry is now as long as its header.
    #[test]
    fn a_pax_size_record_cannot_make_the_reader_read_more() {
        let claimed = 1u64 << 30;
        for name in [format!("reports/{}.age", id(1)), MANIFEST_NAME.to_owned()] {
            let mut prefix = pax_size(claimed);
            let mut h = header(100);
            h.set_path(&name).unwrap();
            h.set_cksum();
            prefix.extend_from_slice(h.as_bytes());
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let input = Counted(
                (&prefix[..]).chain(io::repeat(b'7').take(claimed)),
                count.clone(),
            );
            let mut largest = 0;
            let got = read(input, |_, b| largest = largest.max(b.len()));
            assert!(got.is_err(), "{name}: not a bundle to trust");
            assert!(largest <= 100, "{name}: a blob of {largest} bytes");
            assert!(count.get() < 64 << 10, "{name}: read {} bytes", count.get());
        }
        // A bundle a server wrote, with PAX headers slipped in: the
        // headers are named, so it is never reported complete.
        let (good, _) = bundle(&[(id(1), vec![1; 300])]);
        let mut tampered = pax_size(300);
        tampered.extend_from_slice(&good);
        let v = read(&tampered[..], |_, _| {}).unwrap();
        assert_eq!(
            v.problems.values().collect::<Vec<_>>(),
            vec![&EntryProblem::Stray("PaxHeaders.0/report".into())]
        );
        // A header claiming more than a sealed report is never read.
        let mut big = tar::Builder::new(Vec::new());
        let mut h = header(MAX_BLOB + 1);
        big.append_data(
            &mut h,
            format!("reports/{}.age", id(2)),
            io::repeat(0).take(MAX_BLOB + 1),
        )
        .unwrap();
        let big = big.into_inner().unwrap();
        let mut seen = 0;
        let _ = read(&big[..], |_, _| seen += 1);
        assert_eq!(seen, 0);
    }

    #[test]
    fn a_bundle_of_strays_is_refused_whole() {
        let mut t = tar::Builder::new(Vec::new());
        for n in 0..=MAX_STRAYS {
            let mut h = header(0);
            t.append_data(&mut h, format!("junk/{n}"), io::empty())
                .unwrap();
        }
        let bytes = t.into_inner().unwrap();
        assert!(matches!(
            read(&bytes[..], |_, _| {}),
            Err(BundleError::TooManyStrays)
        ));
    }

    #[test]
    fn tampered_entries_are_named() {
        let blobs: Vec<_> = (1..=3).map(|n| (id(n), vec![n; 600])).collect();
        let (mut bytes, _) = bundle(&blobs);
        // The second entry's data starts after header(512) + data(1024 padded) + header(512).
        bytes[512 + 1024 + 512 + 10] ^= 0xff;
        let v = read(&bytes[..], |_, _| {}).unwrap();
        assert_eq!(v.problems.len(), 1);
        assert_eq!(v.problems.get(&id(2)), Some(&EntryProblem::HashMismatch));
    }

    #[test]
    fn missing_manifest_is_an_error() {
        let mut t = tar::Builder::new(Vec::new());
        let mut h = header(3);
        t.append_data(&mut h, format!("reports/{}.age", id(1)), &b"abc"[..])
            .unwrap();
        let bytes = t.into_inner().unwrap();
        assert!(matches!(
            read(&bytes[..], |_, _| {}),
            Err(BundleError::NoManifest)
        ));
    }

    #[test]
    fn headers_carry_no_time_or_owner() {
        let (bytes, _) = bundle(&[(id(1), vec![1; 10])]);
        let mut a = tar::Archive::new(&bytes[..]);
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            assert_eq!(e.header().mtime().unwrap(), 0);
            assert_eq!(e.header().uid().unwrap(), 0);
            assert_eq!(e.header().username().unwrap(), Some(""));
        }
    }
}
