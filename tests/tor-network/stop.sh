#!/usr/bin/env bash
# Stops every tor process of the network in DIR (authorities, relays,
# client, onion fronts) and an Onionbalance daemon started by
# onionbalance.sh, using the PID files they wrote. SIGTERM first
# (tor exits promptly on TERM), SIGKILL for anything still alive after
# TOR_NET_STOP_GRACE seconds (default 5). Waits until all are gone.
# Safe to run twice, and on a half-started network.
#
# Usage: stop.sh DIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 DIR"
[[ -d $1 ]] || die "$1 is not a directory"
DIR=$(cd "$1" && pwd)
GRACE=${TOR_NET_STOP_GRACE:-5}

pids=()
shopt -s nullglob
# Onionbalance (onionbalance.sh) first: it talks to one of these tors.
for pidfile in "$DIR"/*/onionbalance.pid; do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if is_live_process "$pid" onionbalance; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            is_live_process "$pid" onionbalance || break
            sleep 0.2
        done
        is_live_process "$pid" onionbalance && kill -KILL "$pid" 2>/dev/null || true
        note "stopped onionbalance (pid $pid)"
    fi
done
for pidfile in "$DIR"/*/pid; do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    # A stale file may name a PID since reused by something else.
    if is_our_tor "$pid"; then
        pids+=("$pid")
    fi
done

if [[ ${#pids[@]} -eq 0 ]]; then
    note "no running tor process in $DIR"
    exit 0
fi

kill -TERM "${pids[@]}" 2>/dev/null || true

alive() {
    local pid
    for pid in "${pids[@]}"; do
        is_our_tor "$pid" && return 0
    done
    return 1
}

deadline=$((SECONDS + GRACE))
while alive && ((SECONDS < deadline)); do
    sleep 0.2
done

if alive; then
    for pid in "${pids[@]}"; do
        if is_our_tor "$pid"; then
            note "pid $pid ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    deadline=$((SECONDS + 5))
    while alive && ((SECONDS < deadline)); do
        sleep 0.2
    done
    alive && die "tor processes still alive: ${pids[*]}"
fi

note "stopped ${#pids[@]} tor processes in $DIR"
