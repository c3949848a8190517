//! The analyst's desk, on the air-gapped workstation: every bundle in one
//! sealed ledger, each URL assessed once, exports in the terms hotlines
//! exchange. Both builds have it; it listens on 127.0.0.1 only and never
//! opens an outbound connection.
//!
//! | step | module | what happens there |
//! |------|--------|--------------------|
//! | 1 | [`import`] | a bundle is verified and decrypted as `open` does, then committed whole |
//! | 2 | [`disk`] | every change is sealed to the analysts' own keys and made durable first |
//! | 3 | [`ledger`] | reports, URLs (normalised, with first and last seen), assessments, answers |
//! | 4 | [`queue`] | URLs not yet assessed, most reported first, then oldest; filters |
//! | 5 | [`assess`] | one URL's assessment in ICCAM terms |
//! | 6 | [`export`] | ICCAM CSV, by-host list, answers file, JSON lines (new files, 0600) |
//! | 7 | [`serve`] / [`pages`] | the page on 127.0.0.1, a secret in the URL, no JavaScript |

pub mod assess;
pub mod disk;
pub mod export;
pub mod import;
pub mod ledger;
pub mod pages;
pub mod queue;
pub mod serve;

use crate::document::ReceivedDate;

/// Today, as the ledger records days (never finer).
pub fn today() -> String {
    ReceivedDate::today().as_str().to_owned()
}
