#!/bin/sh
# On the fresh analyst machine (no network: only loopback): install salama-analyst with dpkg
# alone, as from a USB stick, and make the analyst's key pair. Run by tests/fresh-install.sh.
set -eux
fail() { echo "FAILED: $*" >&2; exit 1; }
if getent hosts deb.debian.org >/dev/null 2>&1; then fail "this machine should have no network"; fi
dpkg -i /root/pkgs/salama-analyst_*.deb
dpkg -s salama-analyst | grep -q '^Status: install ok installed'
salama --version
# No server in this build: serve is not one of its commands.
if salama serve --help >/dev/null 2>&1; then fail "the analyst build has serve"; fi
mkdir -m 0700 /root/keys
SALAMA_PASSPHRASE='correct horse battery staple' salama keygen --out /root/keys/analyst
test "$(stat -c %a /root/keys/analyst)" = 600
grep -q '^age1' /root/keys/analyst.pub
cp /root/keys/analyst.pub /root/result/analyst.pub
echo "analyst machine: salama-analyst installed with dpkg -i, key made"
