#!/usr/bin/env bash
# Builds and starts a private Tor network on 127.0.0.1 inside DIR:
# 3 directory authorities, 5 relays (exits, all HSDir), 1 client.
# Exits 0 once the authorities publish a consensus listing every router
# (HSDir + Stable, hsdir_interval=8) and the client has bootstrapped on it;
# the tor daemons keep running. Stop them with stop.sh DIR.
#
# Usage: start.sh DIR          (DIR: an existing, empty directory)
# Env:   TOR_NET_TIMEOUT       seconds to wait for readiness (default 180)
#        TOR_NET_BASE_PORT     force the first port of the 18-port block
#
# Outputs: DIR/socks-port, DIR/control-port, DIR/arti.toml, DIR/env,
#          DIR/network.torrc (lines any extra node needs to join),
#          DIR/<node>/{torrc,pid,notice.log,...}
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 DIR"
[[ -d $1 ]] || die "$1 is not a directory (the caller creates it)"
DIR=$(cd "$1" && pwd)
[[ -e $DIR/network.torrc ]] && die "$DIR already holds a network; use a fresh directory"
TIMEOUT=${TOR_NET_TIMEOUT:-180}

command -v tor >/dev/null || die "tor not found (apt-get install tor)"
command -v tor-gencert >/dev/null || die "tor-gencert not found (it ships with tor)"
command -v python3 >/dev/null || die "python3 not found (used to probe free ports)"

AUTHS=(auth0 auth1 auth2)
RELAYS=(relay0 relay1 relay2 relay3 relay4)
ROUTERS=("${AUTHS[@]}" "${RELAYS[@]}")
NODES=("${ROUTERS[@]}" client)

# Until we report success, any exit (error, Ctrl-C) tears down whatever
# has already been started so callers never inherit orphaned daemons.
STARTED_OK=0
cleanup_on_failure() {
    local status=$?
    if [[ $STARTED_OK -ne 1 ]]; then
        note "start failed (status $status); stopping the nodes started so far"
        "$HERE/stop.sh" "$DIR" >&2 || true
    fi
    exit "$status"
}
trap cleanup_on_failure EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }

# ---------------------------------------------------------------- ports
# Per router i: ORPort base+2i, DirPort base+2i+1; then the client's
# SocksPort and ControlPort.
NPORTS=$((2 * ${#ROUTERS[@]} + 2))
BASE=$(free_port_block "$NPORTS") || die "no block of $NPORTS free ports found"
declare -A ORPORT DIRPORT
for i in "${!ROUTERS[@]}"; do
    ORPORT[${ROUTERS[$i]}]=$((BASE + 2 * i))
    DIRPORT[${ROUTERS[$i]}]=$((BASE + 2 * i + 1))
done
SOCKS_PORT=$((BASE + 2 * ${#ROUTERS[@]}))
CONTROL_PORT=$((SOCKS_PORT + 1))
note "using ports $BASE-$((BASE + NPORTS - 1)) in $DIR"

# ---------------------------------------------------------------- keys
declare -A RSA_FP ED_ID V3IDENT
for node in "${NODES[@]}"; do
    # tor refuses a DataDirectory readable by others.
    mkdir -m 700 "$DIR/$node"
done

for node in "${AUTHS[@]}"; do
    # Authority v3 identity + signing key; empty passphrase from stdin.
    mkdir -m 700 "$DIR/$node/keys"
    echo "" | tor-gencert --create-identity-key --passphrase-fd 0 \
        -i "$DIR/$node/keys/authority_identity_key" \
        -s "$DIR/$node/keys/authority_signing_key" \
        -c "$DIR/$node/keys/authority_certificate" \
        -m 12 -a "127.0.0.1:${DIRPORT[$node]}" \
        >"$DIR/$node/gencert.log" 2>&1 ||
        { cat "$DIR/$node/gencert.log" >&2; die "tor-gencert failed for $node"; }
    V3IDENT[$node]=$(awk '$1 == "fingerprint" { print $2 }' "$DIR/$node/keys/authority_certificate")
done

ed25519_identity() {
    local nodedir=$1 id=""
    # fingerprint-ed25519 holds "nickname base64-unpadded-key".
    [[ -f $nodedir/fingerprint-ed25519 ]] && id=$(awk '{ print $2 }' "$nodedir/fingerprint-ed25519")
    if [[ -z $id ]]; then
        # Older tors: the key file is a 32-byte header followed by the key.
        id=$(tail -c +33 "$nodedir/keys/ed25519_master_id_public_key" | head -c 32 | base64 -w0 | tr -d '=')
    fi
    printf '%s\n' "$id"
}

for node in "${ROUTERS[@]}"; do
    # Generate relay identity keys now: the DirAuthority lines every node
    # needs include the authorities' RSA fingerprints, and arti.toml needs
    # everyone's. The dummy --dirserver keeps tor from complaining about the
    # missing torrc's (public) authority set.
    tor --list-fingerprint --ignore-missing-torrc -f /dev/null \
        --defaults-torrc /dev/null --nickname "$node" --orport 1 \
        --dirserver "x 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff" \
        --datadirectory "$DIR/$node" >"$DIR/$node/list-fingerprint.log" 2>&1 ||
        { cat "$DIR/$node/list-fingerprint.log" >&2; die "tor --list-fingerprint failed for $node"; }
    RSA_FP[$node]=$(awk '{ print $2 }' "$DIR/$node/fingerprint")
    ED_ID[$node]=$(ed25519_identity "$DIR/$node")
    [[ ${RSA_FP[$node]} =~ ^[0-9A-F]{40}$ ]] || die "bad RSA fingerprint for $node: ${RSA_FP[$node]}"
    [[ ${#ED_ID[$node]} -eq 43 ]] || die "bad ed25519 identity for $node: ${ED_ID[$node]}"
done

# ---------------------------------------------------------------- torrcs
# Lines shared by every node of this network, including ones added later
# (onion-front.sh appends this file to its torrc).
{
    echo "# Private test network: settings every node must share."
    echo "TestingTorNetwork 1"
    # Reachability self-tests and slow flag assignment would add minutes.
    echo "AssumeReachable 1"
    echo "PathsNeededToBuildCircuits 0.67"
    echo "TestingDirAuthVoteExit *"
    echo "TestingDirAuthVoteGuard *"
    # Every relay is an HSDir: with only 8 relays, onion descriptors need
    # as many directories as possible.
    echo "TestingDirAuthVoteHSDir *"
    echo "TestingMinExitFlagThreshold 0"
    echo "V3AuthNIntervalsValid 2"
    echo "SafeLogging 0"
    echo "LogTimeGranularity 1"
    # SIGINT on a relay otherwise waits 30 s for circuits to drain.
    echo "ShutdownWaitLength 2"
    for node in "${AUTHS[@]}"; do
        echo "DirAuthority $node orport=${ORPORT[$node]} no-v2 v3ident=${V3IDENT[$node]} 127.0.0.1:${DIRPORT[$node]} ${RSA_FP[$node]}"
    done
} >"$DIR/network.torrc.tmp"

node_header() {
    local node=$1
    cat <<EOF
# Generated by tests/tor-network/start.sh
Nickname $node
DataDirectory $DIR/$node
PidFile $DIR/$node/pid
RunAsDaemon 1
Log notice file $DIR/$node/notice.log
EOF
    cat "$DIR/network.torrc.tmp"
}

router_torrc() {
    local node=$1
    node_header "$node"
    cat <<EOF
SocksPort 0
Address 127.0.0.1
ORPort 127.0.0.1:${ORPORT[$node]}
DirPort 127.0.0.1:${DIRPORT[$node]}
EOF
}

for node in "${AUTHS[@]}"; do
    {
        router_torrc "$node"
        cat <<EOF
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ContactInfo $node@salama.test
# Fastest stable voting schedule (chutney's values): a consensus every 20 s.
TestingV3AuthInitialVotingInterval 20
TestingV3AuthInitialVoteDelay 4
TestingV3AuthInitialDistDelay 4
V3AuthVotingInterval 20
V3AuthVoteDelay 4
V3AuthDistDelay 4
# C tor in testing mode derives an 8-minute onion-service time period from
# the 20 s voting interval; arti reads the period from this consensus
# parameter instead. Publishing it keeps both implementations on the same
# period (otherwise arti computes different HSDirs/blinded keys -> 404s).
ConsensusParams hsdir_interval=8
# Vote Stable for every router from the start. Otherwise only routers with
# above-median uptime are Stable in the first minutes, and C tor wants
# Stable hops for onion circuits. Before this was set, a C tor client kept
# building onion circuits that ended at its own guard (refused by the
# relay), and the first onion fetch took ~45 s in 2 of 5 runs.
AuthDirVoteStableGuaranteeMinUptime 0
AuthDirVoteStableGuaranteeMTBF 0
ExitRelay 0
ExitPolicy reject *:*
EOF
    } >"$DIR/$node/torrc"
done

for node in "${RELAYS[@]}"; do
    {
        router_torrc "$node"
        cat <<EOF
ExitRelay 1
# Exit to loopback for local test targets. "accept *:*" is needed too: the
# microdescriptor policy summary only advertises exits that allow the public
# internet, and clients want some exits before they call themselves
# bootstrapped. The network is reachable only from this machine.
ExitPolicy accept 127.0.0.0/8:*
ExitPolicy accept private:*
ExitPolicy accept *:*
EOF
    } >"$DIR/$node/torrc"
done

{
    node_header client
    cat <<EOF
SocksPort 127.0.0.1:$SOCKS_PORT
ControlPort 127.0.0.1:$CONTROL_PORT
CookieAuthentication 1
# Onion lookups (HSDir fetches, intro/rendezvous) are only logged at info.
Log info file $DIR/client/info.log
EOF
} >"$DIR/client/torrc"

mv "$DIR/network.torrc.tmp" "$DIR/network.torrc"

# ---------------------------------------------------------------- start
# A consensus is complete when it lists every router with the flags onion
# services need, and carries hsdir_interval=8. The first consensus often
# misses routers whose descriptors arrived late; a later one (every 20 s)
# has them.
n_routers=${#ROUTERS[@]}
consensus_complete() {
    local c=$1
    [[ -f $c ]] || return 1
    [[ $(grep -c '^r ' "$c") -eq $n_routers ]] || return 1
    [[ $(grep -c '^s .*HSDir.*Stable\|^s .*Stable.*HSDir' "$c") -eq $n_routers ]] || return 1
    grep -q '^params .*hsdir_interval=8' "$c" || return 1
}

consensus_summary() {
    local c=$1
    if [[ -f $c ]]; then
        echo "$(grep -c '^r ' "$c") routers, $(grep -c '^s .*HSDir' "$c") HSDir," \
            "$(grep -c '^s .*Stable' "$c") Stable; $(grep '^params' "$c" || echo 'no params line')"
    else
        echo "no consensus yet"
    fi
}

declare -A PID
check_alive() {
    local node
    for node in "$@"; do
        if ! is_our_tor "${PID[$node]}"; then
            log_tail "$DIR/$node/notice.log" 40
            die "$node (pid ${PID[$node]}) exited during bootstrap"
        fi
    done
}

# Polls CONDITION (a command) once a second until it succeeds, checking that
# the started nodes are alive, reporting progress every 15 s, and failing
# at the overall deadline with DIAGNOSE's output.
wait_for() {
    local what=$1 condition=$2 progress=$3 diagnose=$4 now last_report=-1
    while ! $condition; do
        check_alive "${!PID[@]}"
        now=$(elapsed)
        if ((now >= TIMEOUT)); then
            $diagnose
            die "timed out after ${TIMEOUT}s (TOR_NET_TIMEOUT) waiting for $what"
        fi
        if ((now / 15 != last_report)); then
            last_report=$((now / 15))
            note "t=${now}s waiting for $what: $($progress)"
        fi
        sleep 1
    done
}

AUTH_CONSENSUS=$DIR/auth0/cached-microdesc-consensus
CLIENT_CONSENSUS=$DIR/client/cached-microdesc-consensus
auth_consensus_complete() { consensus_complete "$AUTH_CONSENSUS"; }
auth_progress() { consensus_summary "$AUTH_CONSENSUS"; }
auth_diagnose() {
    log_tail "$DIR/auth0/notice.log" 40
    note "auth0 consensus: $(auth_progress)"
}
client_ready() {
    grep -q 'Bootstrapped 100%' "$DIR/client/notice.log" 2>/dev/null &&
        consensus_complete "$CLIENT_CONSENSUS"
}
client_progress() {
    local p
    p=$(grep -o 'Bootstrapped [0-9]*%[^"]*' "$DIR/client/notice.log" 2>/dev/null | tail -n 1 || true)
    echo "${p:-no bootstrap progress yet}; consensus: $(consensus_summary "$CLIENT_CONSENSUS")"
}
client_diagnose() {
    log_tail "$DIR/client/notice.log" 40
    note "client: $(client_progress)"
}

for node in "${ROUTERS[@]}"; do
    PID[$node]=$(start_tor_node "$DIR/$node")
done
note "started ${#ROUTERS[@]} routers after $(elapsed)s"

# The client starts only once the authorities publish a complete consensus,
# so it picks its guards and vanguard (layer-2) set from the whole network
# rather than from a partial first consensus, and "Bootstrapped 100%" means
# the same thing on every run.
wait_for "a complete consensus" auth_consensus_complete auth_progress auth_diagnose
CONSENSUS_AT=$(elapsed)
note "complete consensus after ${CONSENSUS_AT}s; starting the client"

PID[client]=$(start_tor_node "$DIR/client")
wait_for "the client to bootstrap" client_ready client_progress client_diagnose
READY_AT=$(elapsed)
BOOTSTRAP_AT=$READY_AT

# ---------------------------------------------------------------- outputs
# arti configuration for this network. Option names are arti-client 0.47's
# (tor-dircommon AuthorityContacts / FallbackDir, tor-circmgr PathConfig).
# No [storage]: the application picks its own state and cache directories.
{
    echo "# arti-client 0.47 configuration for the private Tor network in $DIR"
    echo "# Generated by tests/tor-network/start.sh; valid only while it runs."
    echo ""
    echo "[tor_network]"
    echo "# Every router is a directory cache; arti bootstraps from these."
    echo "fallback_caches = ["
    for node in "${ROUTERS[@]}"; do
        printf '    { rsa_identity = "%s", ed_identity = "%s", orports = ["127.0.0.1:%s"] },\n' \
            "${RSA_FP[$node]}" "${ED_ID[$node]}" "${ORPORT[$node]}"
    done
    echo "]"
    echo ""
    echo "[tor_network.authorities]"
    echo "# v3 identities (authority_certificate fingerprints), not relay fingerprints."
    echo "v3idents = ["
    for node in "${AUTHS[@]}"; do
        printf '    "%s",\n' "${V3IDENT[$node]}"
    done
    echo "]"
    echo "# Clients only use v3idents; these stop arti's built-in public"
    echo "# authority addresses from lingering in the merged configuration."
    for kind in uploads downloads votes; do
        printf '%s = [' "$kind"
        sep=""
        for node in "${AUTHS[@]}"; do
            printf '%s["127.0.0.1:%s"]' "$sep" "${DIRPORT[$node]}"
            sep=", "
        done
        echo "]"
    done
    echo ""
    echo "[path_rules]"
    echo "# All relays share 127.0.0.1; with the default /16 family rule arti"
    echo "# would find no two relays it may put in the same circuit."
    echo "ipv4_subnet_family_prefix = 33"
    echo "ipv6_subnet_family_prefix = 129"
} >"$DIR/arti.toml"

echo "$SOCKS_PORT" >"$DIR/socks-port"
echo "$CONTROL_PORT" >"$DIR/control-port"

pids=""
for node in "${NODES[@]}"; do
    pids+="${pids:+ }${PID[$node]}"
done
{
    printf 'TOR_NET_DIR=%q\n' "$DIR"
    printf 'SOCKS_PORT=%q\n' "$SOCKS_PORT"
    printf 'CONTROL_PORT=%q\n' "$CONTROL_PORT"
    printf 'CONTROL_COOKIE=%q\n' "$DIR/client/control_auth_cookie"
    printf 'ARTI_CONFIG=%q\n' "$DIR/arti.toml"
    printf 'PIDS=%q\n' "$pids"
    printf 'CONSENSUS_SECONDS=%q\n' "$CONSENSUS_AT"
    printf 'BOOTSTRAP_SECONDS=%q\n' "$BOOTSTRAP_AT"
    printf 'READY_SECONDS=%q\n' "$READY_AT"
} >"$DIR/env"

STARTED_OK=1
note "network ready after ${READY_AT}s (complete consensus at ${CONSENSUS_AT}s): SOCKS 127.0.0.1:$SOCKS_PORT, env in $DIR/env"
