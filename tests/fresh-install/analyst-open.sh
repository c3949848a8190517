#!/bin/sh
# Back on the analyst machine (still no network): open the bundle the server exported and find
# the report the server machine filed. Run by tests/fresh-install.sh.
set -eux
fail() { echo "FAILED: $*" >&2; exit 1; }
if getent hosts deb.debian.org >/dev/null 2>&1; then fail "this machine should have no network"; fi
SALAMA_PASSPHRASE='correct horse battery staple' \
    salama open /root/result/bundle.tar -i /root/keys/analyst --out /root/opened \
    >/root/result/open.txt 2>&1 || { cat /root/result/open.txt; fail "salama open"; }
cat /root/result/open.txt
grep -q 'all 1 reports opened' /root/result/open.txt
grep -q 'https://example.com/fresh-install-canary' /root/opened/reports.jsonl
grep -q 'fresh-install-canary' /root/opened/urls.csv
grep -q "$(cat /root/result/receipt.txt)" /root/opened/reports.jsonl
grep -q "$(cat /root/result/receipt.txt)" /root/opened/index.html
test "$(stat -c %a /root/opened/reports.jsonl)" = 600
echo "analyst machine: the report filed on the server machine opened, receipt and URL intact"
