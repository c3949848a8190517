#!/usr/bin/env bash
# The one command that reproduces every performance figure in README.md:
# builds once (release, onion off), runs the load generator's phases
# against the real server binary over loopback, runs the criterion
# micro-benchmarks briefly, and prints (and writes) a Markdown summary.
#
#   bench/run.sh                      # ~8 minutes on 2 cores (after the build)
#   SALAMA_BENCH_1M=1 bench/run.sh    # also the 1M-stored growth step (+~2.5 min, ~4 GB disk)
#   SALAMA_BENCH_SECS=5 bench/run.sh  # shorter windows, rougher numbers
#   SALAMA_BENCH_PHASES=lookups bench/run.sh   # only ingest with and without a flood of lookups
#
# Everything runs on 127.0.0.1 with bounded loops; scratch data goes to
# target/bench-work (under CARGO_TARGET_DIR when set) and is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

features=(--no-default-features --features server)
secs=${SALAMA_BENCH_SECS:-15}
growth=0,100000
if [[ ${SALAMA_BENCH_1M:-0} == 1 ]]; then
    growth=0,100000,1000000
fi
# Cargo's output directory (CARGO_TARGET_DIR when set): binaries, criterion
# data, scratch stores and the results all go there.
tgt=${CARGO_TARGET_DIR:-target}
out=$tgt/bench
mkdir -p "$out"

echo "== build (release, no onion)" >&2
cargo build --release "${features[@]}" --bin salama --example loadgen

echo "== load generator: sweep, ceilings, growth, post-quantum keys (${secs} s per step)" >&2
need_gb=3
if [[ $growth == *1000000* ]]; then
    need_gb=6
fi
free_gb=$(df -Pk "$tgt" | awk 'NR==2 {print int($4/1024/1024)}')
if ((free_gb < need_gb)); then
    echo "bench/run.sh: only ${free_gb} GB free under $tgt/; this run needs ~${need_gb} GB (1M stored reports take ~3.5 GB)" >&2
    exit 1
fi
"$tgt/release/examples/loadgen" run \
    --bin "$tgt/release/salama" \
    --work "$tgt/bench-work" \
    --results "$out/results.json" \
    --secs "$secs" --warmup 2 \
    --levels 1,8,32,128 \
    --growth "$growth" \
    --phases "${SALAMA_BENCH_PHASES:-sweep,ceilings,growth,pq,lookups}"

echo "== criterion micro-benchmarks" >&2
rm -rf "$tgt/criterion"
cargo bench "${features[@]}" --bench seal -- --warm-up-time 1 --measurement-time 3 >&2

{
    echo "## Measured $(date -u +%Y-%m-%d) on $(nproc) cores"
    echo
    echo '```'
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Hypervisor vendor|L[23] cache)' || true
    free -h | head -2
    uname -srm
    rustc --version
    echo '```'
    echo
    "$tgt/release/examples/loadgen" summary --results "$out/results.json" --criterion "$tgt/criterion"
} | tee "$out/summary.md"
echo "bench/run.sh: summary in $out/summary.md, raw figures in $out/results.json" >&2
