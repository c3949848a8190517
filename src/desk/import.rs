//! Bundles into the ledger, verified as `salama open` verifies them. A
//! bundle goes in whole or not at all: one entry that cannot be trusted or
//! opened and nothing of it is imported, with every bad entry named. A
//! bundle already imported is recognised by its digest.

use super::disk::{Disk, DiskError};
use super::ledger::{Bundle, Ledger, Op, Report};
use crate::keys::Identity;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the bundle {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Bundle(PathBuf, crate::bundle::BundleError),
    #[error(
        "{path}: {} entries could not be opened, so nothing of this bundle was imported. Ask the operator to export it again; do not let them purge it",
        bad.len()
    )]
    Bad {
        path: PathBuf,
        bad: BTreeMap<String, String>,
    },
    #[error("{0}")]
    Disk(#[from] DiskError),
}

/// What one import did.
pub enum Imported {
    /// New: its digest (for the operator's purge), reports and additions
    /// added, those already held from an earlier bundle, and the URLs it
    /// names that were already assessed.
    New {
        digest: String,
        added: usize,
        duplicates: usize,
        already_assessed: Vec<String>,
    },
    /// Imported before, on this day.
    Again { digest: String, day: String },
}

/// Verify, decrypt and import the bundle at `path`; durable when this returns.
pub fn import(
    path: &Path,
    identities: &[Identity],
    disk: &mut Disk,
    ledger: &mut Ledger,
    today: &str,
) -> Result<Imported, ImportError> {
    let file = std::fs::File::open(path).map_err(|e| ImportError::Read(path.into(), e))?;
    let opened = crate::open::read_and_decrypt(std::io::BufReader::new(file), identities)
        .map_err(|e| ImportError::Bundle(path.into(), e))?;
    let digest = opened.digest.to_string();
    if let Some(b) = ledger.has_bundle(&digest) {
        return Ok(Imported::Again {
            digest,
            day: b.day.clone(),
        });
    }
    if !opened.bad.is_empty() {
        return Err(ImportError::Bad {
            path: path.into(),
            bad: opened.bad,
        });
    }
    let reports: Vec<Report> = opened
        .good
        .iter()
        .map(|(id, doc)| Report::from_document(id, &digest, doc))
        .collect();
    let duplicates = reports.iter().filter(|r| ledger.holds(r)).count();
    let mut already: Vec<String> = reports
        .iter()
        .flat_map(|r| r.urls.iter())
        .filter(|u| ledger.assessment(&u.url).is_some())
        .map(|u| ledger.url_id(&u.url))
        .collect();
    already.sort();
    already.dedup();
    let added = reports.len() - duplicates;
    disk.commit(
        ledger,
        Op::Import {
            bundle: Bundle {
                digest: digest.clone(),
                day: today.to_owned(),
                reports: reports.len(),
                duplicates,
                salt: opened.salt.map(|s| s.to_hex()),
            },
            reports,
        },
    )?;
    Ok(Imported::New {
        digest,
        added,
        duplicates,
        already_assessed: already,
    })
}
