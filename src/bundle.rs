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
}

/// Writes a bundle entry by entry; `finish` appends the manifest.
pub struct BundleWriter<W: Write> {
    tar: tar::Builder<W>,
    entries: Vec<Entry>,
    salt: Option<crate::answers::Salt>,
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
        debug_assert!(is_id(id));
        let mut h = header(sealed.len() as u64);
        self.tar
            .append_data(&mut h, format!("reports/{id}.age"), sealed)?;
        self.entries.push(Entry {
            id: id.to_owned(),
            sha256: hex(&Sha256::digest(sealed)),
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

    /// Append the manifest and end the archive. Returns the manifest (the
    /// server keeps it to know what a purge of this digest deletes).
    pub fn finish(mut self) -> io::Result<(Manifest, Vec<u8>, BundleDigest, W)> {
        let manifest = Manifest {
            format: FORMAT.into(),
            version: if self.salt.is_some() { VERSION } else { 1 },
            count: self.entries.len(),
            follow_up_salt: self.salt.map(|s| s.to_hex()),
            entries: std::mem::take(&mut self.entries),
        };
        let bytes = manifest.to_bytes();
        let mut h = header(bytes.len() as u64);
        self.tar.append_data(&mut h, MANIFEST_NAME, &bytes[..])?;
        let out = self.tar.into_inner()?;
        let digest = BundleDigest::of(&bytes);
        Ok((manifest, bytes, digest, out))
    }
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
    let mut manifest_bytes = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.header().size()?;
        if name == MANIFEST_NAME && entry.header().entry_type().is_file() {
            if size > MAX_MANIFEST || manifest_bytes.is_some() {
                return Err(BundleError::BadManifest);
            }
            let mut b = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut b)?;
            manifest_bytes = Some(b);
            continue;
        }
        let id = name
            .strip_prefix("reports/")
            .and_then(|n| n.strip_suffix(".age"))
            .filter(|id| is_id(id) && entry.header().entry_type().is_file());
        let Some(id) = id.map(str::to_owned) else {
            if !entry.header().entry_type().is_dir() {
                problems.insert(name.clone(), EntryProblem::Stray(name));
            }
            continue;
        };
        if size > MAX_BLOB {
            problems.insert(id, EntryProblem::TooLarge);
            continue;
        }
        let mut blob = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut blob)?;
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
        let (_, _, d, out) = w.finish().unwrap();
        (out, d)
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
        let (m, bytes, _, tar) = w.finish().unwrap();
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
