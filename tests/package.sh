#!/usr/bin/env bash
# Checks built Debian packages with Debian's own tools, without installing them:
#
#   tests/package.sh target/debian/salama_*.deb target/debian/salama-analyst_*.deb
#
# For each package: the control fields; the exact file list with every mode and owner
# (`dpkg-deb -c`); conffiles; maintainer scripts (syntax, and what they must do); the
# extracted binary's --version and commands. For the server, also the extracted unit through
# `systemd-analyze verify` and the same exposure ceiling as tests/deploy.rs, and the
# sysusers.d file through systemd-sysusers into a scratch root. With lintian installed,
# lintian must report no error (overrides: deploy/debian/*/lintian-overrides).
#
# Set SALAMA_EXPECT_COMMIT to the commit the packages must say they were built from.
# Ends with "N passed, N failed"; exits 1 if any check failed, 2 on bad usage.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
ok() {
    passed=$((passed + 1))
    echo "ok   $*"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

[ $# -gt 0 ] || { echo "usage: $0 PACKAGE.deb..." >&2; exit 2; }
for tool in dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install dpkg)" >&2; exit 2; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/salama-package-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The exact contents of each package: "MODE PATH" for files, directories are checked apart
# (every one 0755). Nothing may be missing and nothing else may be there.
expected_server() {
    cat <<'EOF'
-rwxr-xr-x ./usr/bin/salama
-rw-r--r-- ./etc/salama/salama.toml
-rw-r--r-- ./etc/salama/keys/README.md
-rw-r--r-- ./usr/lib/systemd/system/salama.service
-rw-r--r-- ./usr/lib/sysusers.d/salama.conf
-rw-r--r-- ./usr/share/lintian/overrides/salama
-rw-r--r-- ./usr/share/doc/salama/README.md
-rw-r--r-- ./usr/share/doc/salama/SECURITY.md
-rw-r--r-- ./usr/share/doc/salama/operator-guide.md
-rw-r--r-- ./usr/share/doc/salama/changelog.Debian.gz
-rw-r--r-- ./usr/share/doc/salama/copyright
-rw-r--r-- ./usr/share/doc/salama/examples/torrc
-rw-r--r-- ./usr/share/doc/salama/examples/onionbalance/README.md
-rw-r--r-- ./usr/share/doc/salama/examples/onionbalance/config.yaml
-rw-r--r-- ./usr/share/doc/salama/examples/onionbalance/salama-with-tor.conf
-rw-r--r-- ./usr/share/doc/salama/examples/onionbalance/tor-follows-salama.conf
-rw-r--r-- ./usr/share/doc/salama/examples/onionbalance/torrc-front
EOF
}
expected_analyst() {
    cat <<'EOF'
-rwxr-xr-x ./usr/bin/salama
-rw-r--r-- ./usr/share/lintian/overrides/salama-analyst
-rw-r--r-- ./usr/share/doc/salama-analyst/README.md
-rw-r--r-- ./usr/share/doc/salama-analyst/SECURITY.md
-rw-r--r-- ./usr/share/doc/salama-analyst/changelog.Debian.gz
-rw-r--r-- ./usr/share/doc/salama-analyst/copyright
EOF
}

# contents DEB: "MODE OWNER PATH" per entry of the data archive.
contents() {
    dpkg-deb -c "$1" | awk '{ path = $6; for (i = 7; i <= NF; i++) path = path " " $i; print $1, $2, path }'
}

check_contents() {
    local deb=$1 name=$2 expected=$3
    local listing=$scratch/$name.listing
    contents "$deb" >"$listing"
    if awk '$2 != "root/root" && $2 != "0/0" { print "  not root/root: " $0; bad = 1 } END { exit bad }' "$listing"; then
        ok "$name: every entry is owned by root/root"
    else
        bad "$name: every entry is owned by root/root"
    fi
    if awk '$1 ~ /^d/ && $1 != "drwxr-xr-x" { print "  directory mode: " $0; bad = 1 } END { exit bad }' "$listing"; then
        ok "$name: every directory is 0755"
    else
        bad "$name: every directory is 0755"
    fi
    if awk '$1 !~ /^[-d]/ { print "  not a file or directory: " $0; bad = 1 } END { exit bad }' "$listing"; then
        ok "$name: only regular files and directories (no links, devices)"
    else
        bad "$name: only regular files and directories (no links, devices)"
    fi
    local got=$scratch/$name.files want=$scratch/$name.want
    awk '$1 !~ /^d/ { print $1, $3 }' "$listing" | sort >"$got"
    "$expected" | sort >"$want"
    if diff -u "$want" "$got" >"$scratch/$name.diff"; then
        ok "$name: exactly the expected files, with the expected modes"
    else
        bad "$name: exactly the expected files, with the expected modes (- expected, + found):"
        sed 's/^/  /' "$scratch/$name.diff"
    fi
}

field() { dpkg-deb -f "$1" "$2"; }

check_version() {
    local bin=$1 name=$2 build=$3
    local line
    line=$("$bin" --version 2>&1)
    echo "  $name --version: $line"
    local pattern="^salama [0-9][^ ]* \(commit [0-9a-f]{40}, $build build\)$"
    check "$name: --version names a clean 40-hex commit and the $build build" \
        grep -Eq "$pattern" <<<"$line"
    if [ -n "${SALAMA_EXPECT_COMMIT:-}" ]; then
        check "$name: --version names commit $SALAMA_EXPECT_COMMIT" \
            grep -q "(commit $SALAMA_EXPECT_COMMIT, " <<<"$line"
    fi
}

run_lintian() {
    local deb=$1 name=$2
    if ! command -v lintian >/dev/null; then
        echo "SKIPPED: lintian $name: lintian not found (apt-get install lintian); NOT checked"
        return
    fi
    local out=$scratch/$name.lintian
    lintian --display-info "$deb" >"$out" 2>&1
    sed 's/^/  lintian: /' "$out"
    if grep -q '^E: ' "$out"; then
        bad "$name: lintian reports no error"
    else
        ok "$name: lintian reports no error"
    fi
}

unit_checks() {
    local root=$1
    local unit=$root/usr/lib/systemd/system/salama.service
    check "salama: the installed unit is deploy/salama.service unchanged" \
        cmp -s "$unit" "$here/deploy/salama.service"
    check "salama: the unit starts the packaged binary" \
        grep -qx 'ExecStart=/usr/bin/salama serve --config /etc/salama/salama.toml' "$unit"
    local version
    version=$(systemd-analyze --version 2>/dev/null | awk 'NR == 1 { print $2 }')
    if [ -z "$version" ] || [ "$version" -lt 250 ]; then
        echo "SKIPPED: systemd-analyze verify/security on the packaged unit: systemd-analyze >= 250 not found (apt-get install systemd); NOT checked"
        return
    fi
    # The unit as installed, pointed at the extracted binary (verify wants ExecStart to exist).
    local copy=$scratch/salama.service
    sed -e "s|^ExecStart=/usr/bin/salama |ExecStart=$root/usr/bin/salama |" \
        -e "s|^ExecPaths=/usr/bin/salama |ExecPaths=$root/usr/bin/salama |" "$unit" >"$copy"
    local out
    if out=$(SYSTEMD_COLORS=0 systemd-analyze verify --no-pager --man=no --recursive-errors=no "$copy" 2>&1) \
        && ! grep -q 'salama.service' <<<"$out"; then
        ok "salama: systemd-analyze verify accepts the packaged unit"
    else
        bad "salama: systemd-analyze verify accepts the packaged unit:"
        sed 's/^/  /' <<<"$out"
    fi
    out=$(SYSTEMD_COLORS=0 systemd-analyze security --no-pager --offline=true --threshold=20 "$copy" 2>&1)
    local status=$?
    local level
    level=$(grep 'Overall exposure level' <<<"$out" | sed -E 's/.*: ([0-9.]+).*/\1/')
    echo "  salama.service exposure level: ${level:-none}"
    if [ "$status" = 0 ] && [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
        ok "salama: the packaged unit's exposure level is at most 2.0"
    else
        bad "salama: the packaged unit's exposure level is at most 2.0:"
        sed 's/^/  /' <<<"$out"
    fi
}

sysusers_check() {
    local root=$1
    if ! command -v systemd-sysusers >/dev/null; then
        echo "SKIPPED: systemd-sysusers on the packaged sysusers.d file: not found; NOT checked"
        return
    fi
    # A scratch root with empty account files: the user the postinst would create.
    local fake=$scratch/sysroot
    mkdir -p "$fake/etc"
    : >"$fake/etc/passwd"
    : >"$fake/etc/group"
    : >"$fake/etc/shadow"
    : >"$fake/etc/gshadow"
    if systemd-sysusers --root="$fake" "$root/usr/lib/sysusers.d/salama.conf" >"$scratch/sysusers.out" 2>&1; then
        local entry
        entry=$(grep '^salama:' "$fake/etc/passwd")
        echo "  passwd entry: $entry"
        check "salama: sysusers.d creates a system user salama with home /var/lib/salama and no login shell" \
            awk -F: '$1 == "salama" && $3 < 1000 && $6 == "/var/lib/salama" && $7 ~ /nologin$/ { found = 1 } END { exit !found }' "$fake/etc/passwd"
        check "salama: sysusers.d creates the group salama" grep -q '^salama:' "$fake/etc/group"
    else
        bad "salama: systemd-sysusers accepts the packaged sysusers.d file:"
        sed 's/^/  /' "$scratch/sysusers.out"
    fi
}

server() {
    local deb=$1 name=salama
    check "$name: Package field" test "$(field "$deb" Package)" = salama
    check "$name: depends on systemd (the unit, systemd-sysusers)" grep -q 'systemd' <<<"$(field "$deb" Depends)"
    check_contents "$deb" "$name" expected_server
    local root=$scratch/root-$name ctl=$scratch/control-$name
    dpkg-deb -x "$deb" "$root"
    dpkg-deb -e "$deb" "$ctl"
    check "$name: conffiles are exactly salama.toml and keys/README.md" \
        diff <(sort "$ctl/conffiles") <(printf '/etc/salama/keys/README.md\n/etc/salama/salama.toml\n')
    check "$name: /etc/salama/salama.toml is deploy/salama.toml" cmp -s "$root/etc/salama/salama.toml" "$here/deploy/salama.toml"
    for script in postinst postrm prerm; do
        check "$name: $script exists and parses" sh -n "$ctl/$script"
    done
    check "$name: postinst creates the user (systemd-sysusers salama.conf)" grep -q 'systemd-sysusers.* salama.conf' "$ctl/postinst"
    check "$name: postinst creates /var/lib/salama 0700 salama:salama" \
        grep -q 'install -d -m 0700 -o salama -g salama /var/lib/salama' "$ctl/postinst"
    # Only an upgrade restarts it (try-restart: if it was running); only a unit the operator
    # had enabled is enabled again.
    # (Its advice to the operator, an echo, names `systemctl enable --now`: not a command.)
    check "$name: postinst never starts the unit" \
        bash -c '! grep -v "^ *echo " "$1" | grep -Eq "deb-systemd-invoke start|systemctl (start|enable)"' _ "$ctl/postinst"
    check "$name: postinst enables the unit only if the operator had enabled it" \
        awk '/was-enabled salama.service/ { w = NR } /deb-systemd-helper enable/ && NR - w > 2 { bad = 1 } END { exit bad }' "$ctl/postinst"
    check "$name: postinst registers the unit with deb-systemd-helper" grep -q 'deb-systemd-helper' "$ctl/postinst"
    check "$name: postrm on purge keeps /var/lib/salama and says why" \
        grep -q 'purge kept /var/lib/salama' "$ctl/postrm"
    check "$name: postrm never deletes the store" bash -c '! grep -Eq "rm -[a-z]*r[a-z]* +/var/lib/salama" "$1" || grep -Eq "^ +rm -rf /var/lib/salama$" "$1"' _ "$ctl/postrm"
    check_version "$root/usr/bin/salama" "$name" server
    check "$name: the binary has the server commands" bash -c '"$1" serve --help >/dev/null' _ "$root/usr/bin/salama"
    unit_checks "$root"
    sysusers_check "$root"
    run_lintian "$deb" "$name"
}

analyst() {
    local deb=$1 name=salama-analyst
    check "$name: Package field" test "$(field "$deb" Package)" = salama-analyst
    check "$name: conflicts with salama (same /usr/bin/salama)" grep -qw salama <<<"$(field "$deb" Conflicts)"
    check "$name: depends on nothing beyond the C library" \
        bash -c '[ -z "$(sed -E "s/libc6 \([^)]*\)//; s/[ ,]//g" <<<"$1")" ]' _ "$(field "$deb" Depends)"
    check_contents "$deb" "$name" expected_analyst
    local root=$scratch/root-$name ctl=$scratch/control-$name
    dpkg-deb -x "$deb" "$root"
    dpkg-deb -e "$deb" "$ctl"
    for script in preinst postinst prerm postrm conffiles; do
        check "$name: no $script (no user, no unit, no configuration)" test ! -e "$ctl/$script"
    done
    check_version "$root/usr/bin/salama" "$name" analyst
    check "$name: keygen and open are there" bash -c '"$1" keygen --help >/dev/null && "$1" open --help >/dev/null' _ "$root/usr/bin/salama"
    check "$name: there is no serve command (no network code)" bash -c '! "$1" serve --help >/dev/null 2>&1' _ "$root/usr/bin/salama"
    run_lintian "$deb" "$name"
}

for deb in "$@"; do
    [ -f "$deb" ] || { echo "$0: no such file: $deb" >&2; exit 2; }
    echo "== $(basename "$deb")"
    case "$(field "$deb" Package)" in
        salama) server "$deb" ;;
        salama-analyst) analyst "$deb" ;;
        *) bad "$deb: not a Salama package" ;;
    esac
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
