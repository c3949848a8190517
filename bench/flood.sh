#!/usr/bin/env bash
# The flood figures in SECURITY.md ("A flood"): builds the server once
# (release, onion off) and bench/flood.rs, then runs its three phases
# against the real binary on 127.0.0.1 with PROXY lines standing in for Tor
# circuits (~2 minutes). Prints a Markdown summary, also written to
# $CARGO_TARGET_DIR/bench/flood.md.
#
#   bench/flood.sh                  # 30 s per timed phase
#   SALAMA_FLOOD_SECS=10 bench/flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
features=(--no-default-features --features server)
cargo build --release "${features[@]}" --bin salama --example flood
mkdir -p "$target/bench"
{
    echo "# Flood, measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -srm))"
    echo
    "$target/release/examples/flood" --bin "$target/release/salama" \
        --work "$target/bench-work/flood" --secs "${SALAMA_FLOOD_SECS:-30}"
} | tee "$target/bench/flood.md"
