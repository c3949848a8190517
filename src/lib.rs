//! Salama: an onion service where anyone can anonymously report online child
//! sexual abuse material. Every report is sealed to the analysts' keys in
//! memory, on arrival; the server never holds a readable report.
//!
//! Modules in data-path order:
//!
//! | step | module | what happens there |
//! |------|--------|--------------------|
//! | 1 | [`onion`] / `web::run` | byte streams arrive (onion service or loopback listener) |
//! | 2 | [`web`] | HTTP, routes, pages, the size-capped form body |
//! | 3 | [`report`] | the form is parsed, then validated into a [`report::Report`] |
//! | 4 | [`document`] | the report is encoded as padded, versioned JSON ([`receipt`]: the reporter's code) |
//! | 5 | [`seal`] | the padded plaintext is sealed (age v1) to every key in [`keys`] |
//! | 6 | [`store`] | the sealed blob is written and group-committed (flush + fdatasync) |
//! | 7 | [`admin`] | the operator exports a [`bundle`] and purges it, while serving |
//! | 8 | [`open`] | the analyst verifies and decrypts a bundle offline |
//! | 9 | [`answers`] | the analysts' answers, sealed per receipt, signed ([`keys::signing`]) |
//! | 10 | `follow_up` / `web::follow_up` | the server imports answers; a reporter reads theirs, adds information |
//!
//! [`ui`] (translations, stylesheet, page frame) is shared by the reporter
//! pages and the analysts' desk. [`hygiene`] keeps plaintext out of core
//! dumps and debuggers in both builds.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod admin;
pub mod answers;
pub mod bundle;
#[cfg(feature = "server")]
pub mod config;
pub mod desk;
pub mod document;
pub mod escape;
#[cfg(feature = "server")]
pub mod follow_up;
pub mod hygiene;
pub mod keys;
#[cfg(feature = "onion")]
pub mod onion;
pub mod open;
pub mod passphrase;
pub mod receipt;
pub mod report;
pub mod seal;
#[cfg(feature = "server")]
pub mod store;
pub mod ui;
#[cfg(feature = "server")]
pub mod web;
