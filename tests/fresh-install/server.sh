#!/bin/sh
# On the fresh server machine (booted systemd, network for apt): install the salama package as
# an operator would, start it with the analyst's key, file a report through the listener C tor
# forwards to, export it, then remove and purge the package. Run by tests/fresh-install.sh.
# dash has no pipefail: every command whose output is kept writes it to a file first, so its
# own exit status is the one checked.
set -eux
export DEBIAN_FRONTEND=noninteractive
fail() { echo "FAILED: $*" >&2; exit 1; }

apt-get update -qq
apt-get install -y /root/pkgs/salama_*.deb >/root/install.txt 2>&1 || { cat /root/install.txt; fail "apt install"; }
cat /root/install.txt
dpkg -s salama | grep -q '^Status: install ok installed'
salama --version
id salama
test "$(stat -c '%a %U' /var/lib/salama)" = '700 salama'
# Not started before the analysts' keys are there, and the package says so.
grep -q 'installed, not started' /root/install.txt
if systemctl is-enabled salama; then fail "enabled before any key was installed"; fi
if systemctl is-active salama; then fail "started before any key was installed"; fi

install -m 0644 /root/result/analyst.pub /etc/salama/keys/analyst.pub
# C tor in front (deploy/torrc: HiddenServicePort 80 127.0.0.1:8080): no in-process onion.
sed -i 's/^onion = true$/onion = false/' /etc/salama/salama.toml
grep -q '^onion = false$' /etc/salama/salama.toml
systemctl enable --now salama
for i in $(seq 60); do
    curl -sf -o /dev/null http://127.0.0.1:8080/en/report/abuse-imagery && break
    sleep 1
done
systemctl is-active salama
test "$(systemctl show -p User --value salama)" = salama

# The report, as a reporter's browser sends it through C tor.
code=$(curl -s -o /root/thanks.html -w '%{http_code}' \
    --data-urlencode 'urls=https://example.com/fresh-install-canary' \
    --data-urlencode 'category=abuse-imagery' --data-urlencode 'where_seen=website' \
    --data-urlencode 'description=filed on a fresh machine' \
    http://127.0.0.1:8080/en/report/abuse-imagery)
test "$code" = 200 || fail "the report POST answered $code"
receipt=$(grep -o '[0-9A-Z]\{4\}-[0-9A-Z]\{4\}-[0-9A-Z]\{4\}-[0-9A-Z]\{4\}' /root/thanks.html | head -1)
test -n "$receipt" || fail "no receipt on the thank-you page"
echo "$receipt" >/root/result/receipt.txt

salama status --data /var/lib/salama --config /etc/salama/salama.toml
salama status --data /var/lib/salama --json >/root/status.json
cat /root/status.json
grep -q '"pending":1,' /root/status.json || fail "status does not count 1 pending report"
salama export --data /var/lib/salama --out /root/bundle.tar
cp /root/bundle.tar /root/result/bundle.tar
# Nothing readable on the server: not the URL, not the receipt, in the store or the journal.
if grep -rqa 'fresh-install-canary' /var/lib/salama; then fail "the URL is readable in the store"; fi
if grep -rqa "$receipt" /var/lib/salama; then fail "the receipt is readable in the store"; fi
journalctl -u salama --no-pager >/root/journal.txt
if grep -q 'fresh-install-canary' /root/journal.txt; then fail "the URL is in the journal"; fi

# Remove keeps the data, the configuration and the user; purge says what it keeps and why.
apt-get remove -y salama
if systemctl is-active salama; then fail "still running after remove"; fi
test -d /var/lib/salama
test -e /etc/salama/salama.toml
id salama
apt-get purge -y salama >/root/purge.txt 2>&1 || { cat /root/purge.txt; fail "apt purge"; }
cat /root/purge.txt
if dpkg -s salama >/dev/null 2>&1; then fail "still known to dpkg after purge"; fi
test -d /var/lib/salama
test ! -e /etc/salama/salama.toml
grep -q 'salama: purge kept /var/lib/salama' /root/purge.txt
grep -q 'salama: purge kept the system user salama' /root/purge.txt
echo "server machine: installed with apt, started with the analyst's key, report filed and exported, removed, purged"
