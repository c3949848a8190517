//! `DATA/follow-up.salt`: the deployment's follow-up salt, made once at
//! the first start (32 random bytes as 64 hex digits, mode 0600) and then
//! only read. Every Onionbalance backend of one onion address must hold
//! the same file: a receipt filed on one backend is looked up on any.

use crate::answers::Salt;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub const FILE: &str = "follow-up.salt";

pub fn path(data: &Path) -> PathBuf {
    data.join(FILE)
}

/// Read the salt, making it first if this data directory has none. Two
/// processes starting at once still end up with one salt: a new salt is
/// written to a private temporary file and linked into place, which fails
/// if another got there first (then theirs is read).
pub fn load_or_create(data: &Path) -> io::Result<Salt> {
    let path = path(data);
    match read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    crate::store::create_private_dir(data)?;
    let salt = Salt::random();
    let tmp = data.join(format!("{FILE}.new-{}", &Salt::random().to_hex()[..16]));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(format!("{}\n", salt.to_hex()).as_bytes())?;
    f.sync_all()?;
    drop(f);
    super::store::day_times(&tmp);
    let linked = std::fs::hard_link(&tmp, &path);
    std::fs::remove_file(&tmp)?;
    std::fs::File::open(data)?.sync_all()?;
    match linked {
        Ok(()) => Ok(salt),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e),
    }
}

fn read(path: &Path) -> io::Result<Salt> {
    let text = std::fs::read_to_string(path)?;
    Salt::parse_hex(&text).ok_or_else(|| {
        io::Error::other(format!(
            "{} is damaged (it must hold 64 hex digits). Restore it from a backup or from another backend of this onion address; \
             only if there is none, delete it: a new salt makes every answer already imported unreachable",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_private_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let a = load_or_create(&data).unwrap();
        assert_eq!(load_or_create(&data).unwrap(), a);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(&data)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Nothing left behind but the salt.
        let names: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE)]);
        // Another backend's salt, copied in by the operator, is what counts.
        let other = Salt::random();
        std::fs::write(path(&data), other.to_hex()).unwrap();
        assert_eq!(load_or_create(&data).unwrap(), other);
        std::fs::write(path(&data), "not a salt").unwrap();
        let e = load_or_create(&data).unwrap_err().to_string();
        assert!(
            e.contains("is damaged") && e.contains("another backend"),
            "{e}"
        );
    }

    #[test]
    fn racing_starts_agree_on_one_salt() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        let salts: Vec<Salt> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&data).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(salts.iter().all(|s| *s == salts[0]));
    }
}
