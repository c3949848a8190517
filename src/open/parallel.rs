//! Step 8's hot loop, on every core: the bundle is read on the calling
//! thread while worker threads decrypt the blobs it hands them. Opening a
//! report sealed to a post-quantum key costs ~3× an X25519 one (the X-Wing
//! decapsulation re-derives the ML-KEM key from its seed each time), and
//! reports are independent, so this is where an analyst's cores pay off.

use crate::bundle::{self, BundleError, Verified};
use crate::keys::Identity;
use crate::report::Document;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Mutex, mpsc};

/// `bundle::read`, with `decrypt` run on each blob by
/// `available_parallelism()` workers. Returns what `bundle::read` returned
/// and every blob's outcome by id.
pub(super) fn read_and_decrypt_all<R: Read>(
    input: R,
    identities: &[Identity],
    decrypt: fn(&[u8], &[Identity]) -> Result<Document, String>,
) -> (
    Result<Verified, BundleError>,
    BTreeMap<String, Result<Document, String>>,
) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Bounded, so a large bundle is never read far ahead of the workers.
    let (blobs, queue) = mpsc::sync_channel::<(String, Vec<u8>)>(workers * 4);
    let queue = Mutex::new(queue);
    let (done, results) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (queue, done) = (&queue, done.clone());
            s.spawn(move || {
                loop {
                    // The lock is held only to take the next blob.
                    let next = queue.lock().map(|q| q.recv());
                    let Ok(Ok((id, blob))) = next else { break };
                    if done.send((id, decrypt(&blob, identities))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let verified = bundle::read(input, |id, blob| {
            // Only fails if every worker is gone, which only a panic does,
            // and the scope re-raises that panic.
            let _ = blobs.send((id.to_owned(), blob.to_vec()));
        });
        drop(blobs);
        (verified, results.iter().collect())
    })
}
