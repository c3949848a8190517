#!/usr/bin/env bash
# The desk at scale: a ledger of 100k reports naming 200k URLs, sealed,
# opened, and a page of the queue served (filtered, ordered, rendered).
# Analyst build, release mode. Prints one JSON line.
#
#   bench/desk.sh                 # 100000 reports, 200000 URLs
#   bench/desk.sh 10000 20000     # smaller
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release --no-default-features --example desk -- "${1:-100000}" "${2:-200000}"
