#!/usr/bin/env bash
# End-to-end check of the scripts in this directory: start the network,
# serve a page on loopback, put a C tor onion service in front of it, fetch
# it through the network's client, stop everything. Prints timings.
#
# Usage: selftest.sh [TORRC]
#   TORRC: onion-service torrc to use (e.g. deploy/torrc); defaults to a
#          minimal HiddenServiceDir/HiddenServicePort fragment.
# Env:   KEEP_DIR=1 keeps the temporary network directory for inspection.
#        FETCH_TIMEOUT seconds of fetch retries (default 180).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

FETCH_TIMEOUT=${FETCH_TIMEOUT:-180}
command -v curl >/dev/null || die "curl not found"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/salama-tor-net.XXXXXX")
HTTP_PID=""
cleanup() {
    local status=$?
    if [[ -n $HTTP_PID ]]; then
        kill "$HTTP_PID" 2>/dev/null || true
    fi
    "$HERE/stop.sh" "$DIR" >&2 || status=1
    if [[ ${KEEP_DIR:-0} == 1 || $status -ne 0 ]]; then
        note "network directory kept: $DIR"
    else
        rm -rf "$DIR"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }

"$HERE/start.sh" "$DIR"
# shellcheck source=/dev/null
. "$DIR/env"

mkdir "$DIR/www"
TOKEN="salama-selftest-$RANDOM$RANDOM"
echo "$TOKEN" >"$DIR/www/index.html"
HTTP_PORT=$(free_port_block 1) || die "no free port for the HTTP server"
python3 -m http.server --bind 127.0.0.1 --directory "$DIR/www" "$HTTP_PORT" \
    >"$DIR/http.log" 2>&1 &
HTTP_PID=$!

if [[ $# -ge 1 ]]; then
    TORRC=$1
else
    TORRC=$DIR/example-torrc
    printf 'HiddenServiceDir /var/lib/tor/salama\nHiddenServicePort 80 127.0.0.1:8080\n' >"$TORRC"
fi
ONION=$("$HERE/onion-front.sh" "$DIR" "$TORRC" "$HTTP_PORT")
PUBLISHED_AT=$(elapsed)
# onion-front.sh appended FRONT_PID and FRONT_ONION.
# shellcheck source=/dev/null
. "$DIR/env"

# Retry: right after publication, and around each onion time-period
# rollover (every 8 min here), descriptors can briefly be missing.
attempts=0
FETCHED_AT=""
while ((attempts == 0 || $(elapsed) - PUBLISHED_AT < FETCH_TIMEOUT)); do
    attempts=$((attempts + 1))
    if body=$(curl -sS -m 30 --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://$ONION/" 2>"$DIR/curl.err") &&
        [[ $body == *"$TOKEN"* ]]; then
        FETCHED_AT=$(elapsed)
        break
    fi
    note "fetch attempt $attempts failed: $(tail -n 1 "$DIR/curl.err")"
    sleep 3
done
[[ -n $FETCHED_AT ]] || die "could not fetch http://$ONION/ within ${FETCH_TIMEOUT}s"

note "PASS: complete consensus ${CONSENSUS_SECONDS}s, client bootstrapped ${READY_SECONDS}s," \
    "onion published ${PUBLISHED_AT}s, first fetch ${FETCHED_AT}s (attempt $attempts), all from start"

# shellcheck disable=SC2153 # PIDS comes from $DIR/env
read -r -a pids <<<"$PIDS"

# Tells the client to forget onion descriptors and circuits, so the next
# fetch looks the service up afresh (as a new client would) instead of
# reusing a rendezvous circuit built in an earlier time period.
newnym() {
    python3 - "$CONTROL_PORT" "$CONTROL_COOKIE" <<'PY'
import socket, sys
port, cookie = int(sys.argv[1]), open(sys.argv[2], "rb").read().hex()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(f"AUTHENTICATE {cookie}\r\nSIGNAL NEWNYM\r\nQUIT\r\n".encode())
reply = b""
while chunk := s.recv(4096):
    reply += chunk
if reply.count(b"250 ") < 2:
    sys.exit(f"control port said: {reply!r}")
PY
}

# Optional soak: keep fetching to see how the service behaves across
# onion time-period rollovers (8 minutes apart on this network). Each fetch
# is preceded by NEWNYM (tor rate-limits it to one per 10 s), so every
# fetch does a fresh descriptor lookup.
SOAK_SECONDS=${SOAK_SECONDS:-0}
if ((SOAK_SECONDS > 0)); then
    soak_end=$(($(elapsed) + SOAK_SECONDS))
    ok=0 failed=0 outage_start="" longest=0
    while (($(elapsed) < soak_end)); do
        newnym || note "NEWNYM failed"
        if body=$(curl -sS -m 20 --socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://$ONION/" 2>"$DIR/curl.err") &&
            [[ $body == *"$TOKEN"* ]]; then
            ok=$((ok + 1))
            if [[ -n $outage_start ]]; then
                note "t=$(elapsed)s reachable again after $(($(elapsed) - outage_start))s"
                (($(elapsed) - outage_start > longest)) && longest=$(($(elapsed) - outage_start))
                outage_start=""
            fi
        else
            failed=$((failed + 1))
            [[ -z $outage_start ]] && outage_start=$(elapsed)
            note "t=$(elapsed)s soak fetch failed: $(tail -n 1 "$DIR/curl.err")"
        fi
        sleep 10
    done
    [[ -n $outage_start ]] && longest=$((longest > $(elapsed) - outage_start ? longest : $(elapsed) - outage_start))
    note "soak: $ok ok, $failed failed fetches over ${SOAK_SECONDS}s; longest outage ${longest}s"
fi
pids+=("$FRONT_PID")
"$HERE/stop.sh" "$DIR" >&2
for pid in "${pids[@]}"; do
    is_our_tor "$pid" && die "tor pid $pid survived stop.sh"
done
note "all ${#pids[@]} tor processes gone"
