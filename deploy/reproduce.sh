#!/usr/bin/env bash
# Build Salama's Debian package(s) twice, from two fresh clones in two different
# directories, one after the other, and check that the packages and the binaries in them are
# byte-identical. Prints the SHA-256 of each and writes them to OUT/SHA256SUMS; on any
# difference prints diffoscope's report (or cmp's, without diffoscope) and exits 1.
#
#   deploy/reproduce.sh [analyst|server|both] [--rev REV] [--out DIR] [--jobs N] [--keep]
#
# analyst (default): salama-analyst, the small --no-default-features build (CI runs this).
# server: salama, the full server (arti): ~15 min of CPU per build on two cores.
# REV (default HEAD) must be committed: the builds are of the commit, not of the working
# tree. OUT defaults to target/reproduce/ in this checkout; it receives the packages of the
# first build and SHA256SUMS, the sums to publish beside the source (README, "Verify").
#
# What makes the builds the same (deploy/debian/README.md explains each):
# - SOURCE_DATE_EPOCH = the commit's time: every timestamp in the .deb (cargo-deb honours it);
# - --remap-path-prefix for the checkout, the target dir and CARGO_HOME: no build path in
#   the binary (panic locations, file!() of dependencies);
# - the commit in `salama --version` comes from git (build.rs), never a clock or a host name;
# - Cargo.lock (--locked), the same rustc and the same cargo-deb (pinned below).
set -euo pipefail

CARGO_DEB_VERSION=3.8.0

die() {
    echo "reproduce.sh: $*" >&2
    exit 2
}

what=analyst
rev=HEAD
out=
jobs=${CARGO_BUILD_JOBS:-2}
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        analyst | server | both) what=$1 ;;
        --rev) rev=${2:?--rev needs a revision}; shift ;;
        --out) out=${2:?--out needs a directory}; shift ;;
        --jobs) jobs=${2:?--jobs needs a number}; shift ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done
case "$what" in
    both) variants="analyst server" ;;
    *) variants=$what ;;
esac

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || die "not inside a git checkout"
commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}") || die "no such revision: $rev"
epoch=$(git -C "$repo" log -1 --format=%ct "$commit")
out=${out:-$repo/target/reproduce}
if [ "$rev" = HEAD ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    echo "reproduce.sh: NOTE: uncommitted changes are NOT built; building commit $commit" >&2
fi

if [ "$(cargo deb --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DEB_VERSION" ]; then
    echo "reproduce.sh: installing cargo-deb $CARGO_DEB_VERSION (the version the published sums were made with)" >&2
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi
cargo_home=${CARGO_HOME:-$HOME/.cargo}
cargo_home=$(cd "$cargo_home" && pwd -P)

work=$(mktemp -d "${TMPDIR:-/tmp}/salama-reproduce.XXXXXX")
cleanup() {
    if [ "$keep" = 1 ]; then
        echo "reproduce.sh: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# Two checkout paths of different lengths and depths, so a leaked path changes the bytes.
roots=("$work/a" "$work/second-build/checkout-b")

# build ROOT VARIANT: clone the commit into ROOT/src, build the package into ROOT/deb.
build() {
    local root=$1 variant=$2
    local src=$root/src target=$root/target
    mkdir -p "$root"
    if [ ! -d "$src" ]; then
        git clone --quiet --no-checkout --no-hardlinks "$repo" "$src"
        git -C "$src" checkout --quiet --detach "$commit"
    fi
    echo "reproduce.sh: building $variant in $src (commit $commit)" >&2
    # Cargo's own environment from the caller (a target dir, flags) must not leak in.
    (
        cd "$src"
        env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u SALAMA_COMMIT \
            -u CARGO_PROFILE_RELEASE_DEBUG \
            SOURCE_DATE_EPOCH="$epoch" TZ=UTC LC_ALL=C \
            CARGO_TARGET_DIR="$target" CARGO_BUILD_JOBS="$jobs" CARGO_INCREMENTAL=0 \
            RUSTFLAGS="--remap-path-prefix=$src=/build/salama --remap-path-prefix=$target=/build/target --remap-path-prefix=$cargo_home=/cargo" \
            cargo deb --locked --variant "$variant" --output "$root/deb/" --quiet
    )
}

sha() { sha256sum "$1" | awk '{print $1}'; }

status=0
mkdir -p "$out"
sums=$out/SHA256SUMS
{
    echo "# Salama packages, commit $commit (SOURCE_DATE_EPOCH=$epoch)"
    echo "# $(rustc --version), cargo-deb $CARGO_DEB_VERSION, $(uname -m); rebuild: deploy/reproduce.sh $what --rev $commit"
} >"$sums.new"

for variant in $variants; do
    for root in "${roots[@]}"; do
        rm -rf "$root/deb"
        build "$root" "$variant"
    done
    debs=()
    for root in "${roots[@]}"; do
        shopt -s nullglob
        found=("$root"/deb/*.deb)
        shopt -u nullglob
        [ ${#found[@]} -eq 1 ] || die "expected one .deb in $root/deb, found ${#found[@]}"
        debs+=("${found[0]}")
        mkdir -p "$root/x-$variant"
        dpkg-deb -x "${found[0]}" "$root/x-$variant"
    done
    name=$(basename "${debs[0]}")
    [ "$name" = "$(basename "${debs[1]}")" ] || die "the two builds named their packages differently"
    one=$(sha "${debs[0]}")
    two=$(sha "${debs[1]}")
    bin_one=$(sha "${roots[0]}/x-$variant/usr/bin/salama")
    bin_two=$(sha "${roots[1]}/x-$variant/usr/bin/salama")
    echo "$variant: $name"
    echo "  package     build 1 $one"
    echo "              build 2 $two"
    echo "  usr/bin/salama build 1 $bin_one"
    echo "                 build 2 $bin_two"
    "${roots[0]}/x-$variant/usr/bin/salama" --version | sed 's/^/  --version: /'
    if [ "$one" = "$two" ] && [ "$bin_one" = "$bin_two" ]; then
        echo "  REPRODUCIBLE: byte-identical from two checkouts"
        cp "${debs[0]}" "$out/"
        echo "$one  $name" >>"$sums.new"
    else
        status=1
        echo "  NOT REPRODUCIBLE: the two builds differ"
        if command -v diffoscope >/dev/null; then
            diffoscope --no-progress "${debs[0]}" "${debs[1]}" || true
        else
            echo "  (diffoscope not installed: apt-get install diffoscope-minimal for the full report)"
            cmp -l "${roots[0]}/x-$variant/usr/bin/salama" "${roots[1]}/x-$variant/usr/bin/salama" | head -20 || true
            diff -r "${roots[0]}/x-$variant" "${roots[1]}/x-$variant" || true
        fi
    fi
done

if [ "$status" = 0 ]; then
    mv "$sums.new" "$sums"
    echo "reproduce.sh: sums in $sums"
else
    rm -f "$sums.new"
fi
exit "$status"
