#!/usr/bin/env bash
# Install the Debian packages on fresh Debian machines, as an operator and an analyst would,
# and use them end to end (issue 16, "How it will be checked"):
#
#   server machine (booted systemd, network for apt):  apt install ./salama_….deb, an analyst's
#     public key into /etc/salama/keys/, `onion = false` (C tor in front, as deploy/torrc),
#     systemctl enable --now salama, a report POSTed to the listener C tor forwards to,
#     salama status, salama export, then remove (data kept) and purge (what it says).
#   analyst machine (no network at all: --private-network):  dpkg -i salama-analyst_….deb alone,
#     salama keygen, then salama open on the bundle the server exported: the report comes back.
#
#   tests/fresh-install.sh DEB_DIR [WORK_DIR]
#
# DEB_DIR holds salama_*.deb and salama-analyst_*.deb. The machines are Debian 12 (bookworm)
# trees made by debootstrap (cached in WORK_DIR/base, default target/fresh-install) and run by
# systemd-nspawn; needs root, debootstrap, systemd-container and Debian's mirror (apt).
# Each machine runs its part from a one-shot unit at boot and powers off; what it printed is in
# WORK_DIR/result/. Exit 0 only if every check passed.
set -euo pipefail

die() {
    echo "fresh-install.sh: $*" >&2
    exit 1
}

debs=$(cd "${1:?usage: tests/fresh-install.sh DEB_DIR [WORK_DIR]}" && pwd)
work=${2:-$(cd "$(dirname "$0")/.." && pwd)/target/fresh-install}
# Exactly one of each: an old build left beside a new one must not be the one installed.
one() {
    local found=("$debs"/$1)
    [ -e "${found[0]}" ] || die "no $1 in $debs"
    [ ${#found[@]} = 1 ] || die "more than one $1 in $debs: ${found[*]}"
    echo "${found[0]}"
}
server_deb=$(one 'salama_*.deb')
analyst_deb=$(one 'salama-analyst_*.deb')
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, systemd-nspawn)"
command -v debootstrap >/dev/null || die "needs debootstrap: apt-get install -y debootstrap"
command -v systemd-nspawn >/dev/null || die "needs systemd-nspawn: apt-get install -y systemd-container"
# The server machine shares this host's network (apt needs it) and listens on 127.0.0.1:8080.
if command -v ss >/dev/null && ss -Hltn 'sport = :8080' | grep -q .; then
    die "something on this host already listens on port 8080, where the server machine's salama will"
fi

mkdir -p "$work"
base=$work/base
if [ ! -x "$base/usr/bin/apt-get" ] || [ ! -e "$base/.complete" ]; then
    rm -rf "$base"
    echo "== debootstrap bookworm (once; cached in $base)" >&2
    # curl: the operator's tool for the check below (C tor would be the client in production).
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,ca-certificates \
        bookworm "$base" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
        die "debootstrap failed; see $work/debootstrap.log"
    touch "$base/.complete"
fi

# Can this host run containers at all? (A CI sandbox without the privileges would fail every
# boot below with one cryptic line; say it once, loudly.)
if ! timeout -k 5 60 systemd-nspawn --quiet --register=no --keep-unit --directory "$base" \
    /bin/true >"$work/probe.log" 2>&1; then
    cat "$work/probe.log" >&2
    die "systemd-nspawn cannot start a container on this host (above); the packages were NOT installed"
fi

result=$work/result
rm -rf "$result" "$work/server" "$work/analyst"
mkdir -p "$result"

# A fresh machine from the cached tree: its own copy, a machine id, a boot-time unit that runs
# SCRIPT with /root/result bound to $result, then powers the machine off.
machine() {
    local name=$1 script=$2 root=$work/$1
    cp -a "$base" "$root"
    rm -f "$root/etc/machine-id"
    echo "salama-$name" >"$root/etc/hostname"
    mkdir -p "$root/root/pkgs" "$root/root/result"
    install -m 0755 "$script" "$root/root/check.sh"
    # The check's output goes to result/LABEL.log, its exit status to result/LABEL.rc.
    printf '%s\n' '#!/bin/sh' 'label=$(cat /root/label)' \
        '/root/check.sh >"/root/result/$label.log" 2>&1' \
        'echo $? >"/root/result/$label.rc"' >"$root/root/run-check"
    chmod 0755 "$root/root/run-check"
    printf '%s\n' '[Unit]' "Description=fresh-install check ($name)" 'After=multi-user.target' \
        '[Service]' 'Type=oneshot' 'ExecStart=/root/run-check' \
        'ExecStartPost=/bin/systemctl --no-block poweroff' \
        >"$root/etc/systemd/system/fresh-check.service"
    mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
    ln -s ../fresh-check.service "$root/etc/systemd/system/multi-user.target.wants/"
}

# boot NAME LABEL [nspawn options]: boot machine NAME until its check powers it off.
boot() {
    local name=$1 label=$2
    shift 2
    echo "$label" >"$work/$name/root/label"
    echo "== booting the $name machine ($label)" >&2
    # --register=no/--keep-unit: works without machined or a systemd PID 1 on the host.
    timeout -k 10 300 systemd-nspawn --quiet --register=no --keep-unit --boot \
        --directory "$work/$name" --bind "$result:/root/result" "$@" \
        >"$result/$label.console" 2>&1 </dev/null || true
    [ -e "$result/$label.rc" ] || die "the $name machine never ran its check; console: $result/$label.console"
    echo "-- $name machine said:" >&2
    sed 's/^/   /' "$result/$label.log" >&2
    [ "$(cat "$result/$label.rc")" = 0 ] || die "the $name machine's check failed (above)"
}

here=$(cd "$(dirname "$0")" && pwd)

# 1. The analyst's machine, first run: install with dpkg alone, make a key pair. No network.
machine analyst "$here/fresh-install/analyst.sh"
cp "$analyst_deb" "$work/analyst/root/pkgs/"
boot analyst analyst-keygen --private-network
[ -s "$result/analyst.pub" ] || die "the analyst machine wrote no public key"

# 2. The server: apt install, the analyst's public key, start, a report, export, remove, purge.
machine server "$here/fresh-install/server.sh"
cp "$server_deb" "$work/server/root/pkgs/"
boot server server

# 3. Back on the analyst's machine (same tree, still no network): open the bundle.
install -m 0755 "$here/fresh-install/analyst-open.sh" "$work/analyst/root/check.sh"
boot analyst analyst-open --private-network

echo "fresh-install.sh: PASS: both packages installed on fresh Debian 12 machines and used end to end" >&2
