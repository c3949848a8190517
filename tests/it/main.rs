//! One integration-test binary (as ripgrep does): small helpers in
//! `util`, one module per area. Every test drives the `salama` binary
//! cargo built for it (`CARGO_BIN_EXE_salama`).

mod build;
mod core;
mod crash;
mod desk;
mod flood;
mod follow_up;
mod full;
mod hostile;
mod intake;
mod interop;
mod onion;
mod onionbalance;
mod package;
mod pq;
mod rawhttp;
mod tampered;
mod util;
