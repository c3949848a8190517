# shellcheck shell=bash
# Helpers shared by start.sh, onion-front.sh and stop.sh. Sourced, not run.

die() {
    printf 'tor-network: error: %s\n' "$*" >&2
    exit 1
}

note() {
    printf 'tor-network: %s\n' "$*" >&2
}

# Finds COUNT consecutive TCP ports that can be bound on 127.0.0.1 and prints
# the first one. The block is picked at random below the kernel's ephemeral
# range (usually 32768+): ports handed out for outgoing connections between
# the nodes themselves would otherwise race with the listeners we configure.
# A bind test (without SO_REUSEADDR) is stricter than "nobody listens", so a
# port still in TIME_WAIT from a previous run is skipped too.
# TOR_NET_BASE_PORT forces a base (still checked).
free_port_block() {
    local count=$1
    python3 - "$count" "${TOR_NET_BASE_PORT:-}" <<'PY'
import random, socket, sys

count = int(sys.argv[1])
forced = sys.argv[2]

def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()

def block_free(base):
    return all(free(p) for p in range(base, base + count))

if forced:
    base = int(forced)
    if not block_free(base):
        sys.exit(1)
    print(base)
    sys.exit(0)
for _ in range(500):
    base = random.randrange(15000, 32000 - count)
    if block_free(base):
        print(base)
        sys.exit(0)
sys.exit(1)
PY
}

# True if PID is alive and is a tor process. Checking the command name keeps
# us from signalling an unrelated process that inherited a recycled PID from
# a long-dead network.
is_our_tor() {
    is_live_process "$1" tor
}

# True if PID is alive (not a zombie) and its command name is NAME.
is_live_process() {
    local pid=$1 name=$2 comm stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == "$name" ]] || return 1
    # A zombie is dead for our purposes (in containers whose PID 1 does not
    # reap, it would otherwise look alive forever).
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Prints the last lines of a node's log, for error messages.
log_tail() {
    local log=$1 lines=${2:-25}
    if [[ -f $log ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "$log" >&2
        tail -n "$lines" "$log" >&2
        printf -- '-----\n' >&2
    else
        printf -- '----- %s does not exist -----\n' "$log" >&2
    fi
}

# Starts one tor node from DIR/NODE/torrc and prints its PID. RunAsDaemon in
# the torrc makes tor fork; the parent only returns once the child has parsed
# its config and opened its listeners (non-zero exit otherwise), and the
# child writes PidFile.
start_tor_node() {
    local nodedir=$1
    # --defaults-torrc /dev/null: a distro /etc/tor/torrc-defaults (User,
    # Log syslog, ...) must not leak into the test network.
    if ! tor -f "$nodedir/torrc" --defaults-torrc /dev/null \
            >"$nodedir/stdout.log" 2>&1; then
        cat "$nodedir/stdout.log" >&2
        log_tail "$nodedir/notice.log"
        die "tor failed to start in $nodedir"
    fi
    local pid="" i
    for ((i = 0; i < 50; i++)); do
        pid=$(cat "$nodedir/pid" 2>/dev/null || true)
        [[ -n $pid ]] && break
        sleep 0.1
    done
    is_our_tor "$pid" || die "tor in $nodedir did not leave a live PID in $nodedir/pid"
    printf '%s\n' "$pid"
}
