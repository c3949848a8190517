//! Step 10, on the server: the analysts' answers, held until they expire,
//! and found again only by a reporter typing the receipt.
//!
//! - [`salt`]: the deployment's follow-up salt (`DATA/follow-up.salt`).
//! - [`store`]: the answers at rest (`DATA/answers/`), imported all or
//!   nothing, wiped when they expire.
//! - [`pool`]: the low-priority threads that run the one memory-hard
//!   derivation each lookup costs.
//!
//! [`FollowUp::import`] takes an answers file (from `salama answers
//! import`, over the admin socket while serving), checks it against the
//! signers in `keys/signers/` and the salt ([`crate::answers::read_file`])
//! and against the last sequence number of its signer, then stores it.
//! [`FollowUp::lookup`] derives a typed receipt's lookup and key on a pool
//! thread, reads the sealed answer if there is one, and opens it. Nothing
//! here logs or writes a receipt, a lookup or an answer's text; the only
//! thing it counts is how many answers are held.

pub mod pool;
pub mod salt;
pub mod store;

use crate::answers::{self, Answer, ReadError, Salt};
use crate::config::FollowUpConfig;
use crate::keys::signing::{Signers, SigningKeyError};
use crate::receipt::Receipt;
use pool::{Busy, Pool};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use store::{AnswerStore, StoreRefusal};

/// How often expired answers are looked for while serving.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

pub struct FollowUp {
    salt: Salt,
    store: RwLock<AnswerStore>,
    pool: Pool,
    signers_dir: Option<PathBuf>,
    config: FollowUpConfig,
}

/// What `salama status` shows about follow-up: counts and the salt's
/// fingerprint, nothing about any answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FollowUpStatus {
    pub answers_held: u64,
    pub salt: String,
    pub salt_fingerprint: String,
}

/// What an import did, for the operator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Imported {
    pub signer: String,
    pub seq: u64,
    #[serde(flatten)]
    pub applied: store::Applied,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the answers file is refused, nothing was imported: {0}")]
    File(#[from] ReadError),
    #[error("the answers file is refused, nothing was imported: {0}")]
    Store(#[from] StoreRefusal),
    #[error(
        "no signer keys in {0}: answers files cannot be checked. Copy each analyst's KEY.sign.pub (the public half only) into that directory, then import again"
    )]
    NoSigners(PathBuf),
    #[error("{0}")]
    Signers(#[from] SigningKeyError),
    #[error(
        "this salama was started without a keys directory, so it cannot check answers files; give --keys (the server's keys directory)"
    )]
    NoKeysDir,
}

impl FollowUp {
    /// Open follow-up for the data directory `data`: the salt (made at the
    /// first start), the answers store (an interrupted import finished,
    /// expired answers wiped). `keys` is the keys directory whose
    /// `signers/` are trusted for imports. `lookups`: start the lookup
    /// threads (the server does; offline commands do not).
    pub fn open(
        data: &Path,
        keys: Option<&Path>,
        config: &FollowUpConfig,
        lookups: bool,
    ) -> io::Result<Arc<FollowUp>> {
        let salt = salt::load_or_create(data)?;
        let mut store = AnswerStore::open(data, &salt)?;
        let wiped = store.sweep(store::today())?;
        if wiped > 0 {
            eprintln!("salama: answers: wiped {wiped} expired answer(s)");
        }
        let threads = if lookups {
            config.lookup_threads.max(1)
        } else {
            0
        };
        Ok(Arc::new(FollowUp {
            salt,
            store: RwLock::new(store),
            pool: Pool::start(
                threads,
                config.max_waiting_lookups.max(1),
                config.max_lookups_per_second,
            )?,
            signers_dir: keys.map(|k| k.join("signers")),
            config: config.clone(),
        }))
    }

    pub fn salt(&self) -> &Salt {
        &self.salt
    }

    pub fn status(&self) -> FollowUpStatus {
        FollowUpStatus {
            answers_held: self.read().held() as u64,
            salt: self.salt.to_hex(),
            salt_fingerprint: self.salt.fingerprint(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, AnswerStore> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, AnswerStore> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer to `receipt`, if the analysts have written one that has
    /// not expired. `Ok(None)` for a receipt never answered and for one
    /// that never existed alike: the server cannot tell them apart.
    pub async fn lookup(self: &Arc<Self>, receipt: Receipt) -> Result<Option<Answer>, Busy> {
        let me = self.clone();
        self.pool
            .run(move |deriver| {
                let derived = deriver.derive(&receipt, &me.salt);
                drop(receipt);
                let sealed = me.read().get(&derived.lookup);
                match sealed {
                    // A slot that does not open (damaged) or cannot be read
                    // is no answer; the reporter sees "no news".
                    Ok(Some(s)) => s.open(&derived).ok(),
                    _ => None,
                }
            })
            .await
    }

    /// Check and store an answers file. Nothing changes unless everything
    /// in it is accepted.
    pub fn import(&self, bytes: &[u8]) -> Result<Imported, ImportError> {
        let dir = self.signers_dir.as_ref().ok_or(ImportError::NoKeysDir)?;
        let signers = Signers::load_dir(dir)?;
        if signers.is_empty() {
            return Err(ImportError::NoSigners(dir.clone()));
        }
        let file = answers::read_file(bytes, &signers, &self.salt)?;
        let expires = store::today().saturating_add(self.config.answer_days.max(1));
        let batch = store::Batch {
            signer: &file.signer,
            seq: file.seq,
            entries: &file.entries,
            expires,
        };
        let applied = self.write().import(&batch, self.config.max_answers)?;
        Ok(Imported {
            signer: file.signer.id().to_string(),
            seq: file.seq,
            applied,
        })
    }

    /// Wipe the answers whose day has come.
    pub fn sweep(&self) -> io::Result<usize> {
        self.write().sweep(store::today())
    }

    /// Sweep every hour until `shutdown`.
    pub async fn run_sweeper(self: Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = shutdown.cancelled() => return,
            }
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.sweep()).await {
                Ok(Ok(n)) if n > 0 => eprintln!("salama: answers: wiped {n} expired answer(s)"),
                Ok(Err(e)) => eprintln!(
                    "salama: answers: ERROR: the expiry sweep failed ({e}); expired answers are not served but remain on disk until it succeeds: check the disk"
                ),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{Reply, Status};
    use crate::keys::signing::SigningKey;

    /// Imported, found by its receipt, and on its day wiped: the lookup
    /// then finds nothing and no byte of the answer is left in its slot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_is_found_by_its_receipt_until_it_expires_then_wiped() {
        let dir = tempfile::tempdir().unwrap();
        let (data, keys) = (dir.path().join("data"), dir.path().join("keys"));
        let signer = SigningKey::generate();
        std::fs::create_dir_all(keys.join("signers")).unwrap();
        std::fs::write(
            keys.join("signers/a.pub"),
            format!("{}\n", signer.public().as_str()),
        )
        .unwrap();
        let config = FollowUpConfig {
            answer_days: 3,
            ..FollowUpConfig::default()
        };
        let fu = FollowUp::open(&data, Some(&keys), &config, true).unwrap();
        let code = "7K3M-Q9TX-2D4F-HW8R";
        let answer = Answer::new(Status::ActionTaken, Some(Reply::Removed), "شكراً").unwrap();
        let file = answers::write_file(
            &[(Receipt::parse(code).unwrap(), answer)],
            &signer,
            1,
            fu.salt(),
        )
        .unwrap();
        let imported = fu.import(&file).unwrap();
        assert_eq!(imported.applied.added, 1);
        assert_eq!(
            imported.applied.expires,
            store::day_text(store::today() + 3)
        );
        assert_eq!(fu.status().answers_held, 1);

        let found = fu.lookup(Receipt::parse(code).unwrap()).await.unwrap();
        assert_eq!(found.map(|a| a.text().to_owned()).as_deref(), Some("شكراً"));
        let stranger = Receipt::parse("7K3M-Q9TX-2D4F-HW8S").unwrap();
        assert!(fu.lookup(stranger).await.unwrap().is_none());

        // Two days on, still there; on the third, wiped.
        let slots = data.join("answers/answers.slots");
        assert_eq!(fu.write().sweep(store::today() + 2).unwrap(), 0);
        assert!(std::fs::read(&slots).unwrap().iter().any(|&b| b != 0));
        assert_eq!(fu.write().sweep(store::today() + 3).unwrap(), 1);
        assert!(std::fs::read(&slots).unwrap().iter().all(|&b| b == 0));
        assert_eq!(fu.status().answers_held, 0);
        assert!(
            fu.lookup(Receipt::parse(code).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        // A file with no keys directory behind it is refused plainly.
        let keyless = FollowUp::open(&dir.path().join("other"), None, &config, false).unwrap();
        assert!(matches!(keyless.import(&file), Err(ImportError::NoKeysDir)));
    }
}
