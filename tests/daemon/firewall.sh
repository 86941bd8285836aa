#!/bin/sh
# BanFirewall nftables (issue 26), in a network namespace this test makes
# (`unshare -n`, loopback only): never the machine's own firewall. A ban
# reaches the kernel's set within 100 ms, a banned host's SYN is dropped
# (its connect times out, no banner), unban and expiry take it out, a
# restart puts the BanTable's bans back, an exempt host never gets in, a
# daemon that dropped root keeps CAP_NET_ADMIN for it, and one without the
# capability keeps its bans in-process and says the firewall is off.
#
# Skipped (77, with the reason) without root, unshare, nft, or a build
# with nftables; CI runs it.
set -u
: "${top_srcdir:=..}" "${top_builddir:=..}"
top_builddir=$(cd "$top_builddir" && pwd)
cli="$top_builddir/src/cli/ftplimit"
daemon="$top_builddir/src/daemon/ftplimitd"

if [ "${FTPLIMIT_IN_NETNS:-}" != 1 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (a network namespace of its own)"; exit 77; }
    for tool in unshare nft setpriv; do
        command -v "$tool" >/dev/null 2>&1 ||
            { echo "SKIP: $tool is missing (Debian: nftables, util-linux)"; exit 77; }
    done
    printf 'BanFirewall nftables\n' >"${TMPDIR:-/tmp}/ftplimit-fw-probe.$$"
    "$cli" check "${TMPDIR:-/tmp}/ftplimit-fw-probe.$$" >/dev/null 2>&1
    probe=$?
    rm -f "${TMPDIR:-/tmp}/ftplimit-fw-probe.$$"
    [ "$probe" -eq 0 ] || { echo "SKIP: this build has no nftables (libnftables-dev)"; exit 77; }
    unshare -n true 2>/dev/null || { echo "SKIP: cannot make a network namespace here"; exit 77; }
    FTPLIMIT_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ftplimit-fw-XXXXXX") || exit 99
chmod 755 "$work"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
failed=0
ok() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

ip link set lo up || { echo "FAIL: cannot bring up lo in the namespace"; exit 1; }
port=2121
sock="$work/d.sock"
cat >"$work/policy.conf" <<EOF
BanFirewall nftables fltest
BanFirewallPorts $port
BanExempt 127.0.0.1
BanTable $work/state/bans.state
EOF
chmod 644 "$work/policy.conf"
mkdir "$work/state" && chown nobody "$work/state"

# A listener on 127.0.0.1:$port that greets each connection.
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept(); c.sendall(b"220 hello\r\n"); c.close()' "$port" &
pids="$pids $!"

# connect FROM: "banner" if it got the greeting, "timeout" if its SYN went
# unanswered for a second.
connect() {
    python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1.0); s.bind((sys.argv[1], 0))
try:
    s.connect(("127.0.0.1", int(sys.argv[2]))); print("banner" if s.recv(64).startswith(b"220") else "other")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error", e)' "$1" "$port"
}

start_daemon() { # extra arguments; -u nobody by default
    "$@" "$daemon" -f -c "$work/policy.conf" -s "$sock" -u nobody >>"$work/d.log" 2>&1 &
    dpid=$!
    pids="$pids $dpid"
    for _ in $(seq 100); do "$cli" status -s "$sock" >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "FAIL: ftplimitd did not start"; cat "$work/d.log"; exit 1
}
stop_daemon() { # a clean stop: exit 0, and no sanitizer report (ASan builds)
    kill "$dpid"
    wait "$dpid" 2>/dev/null
    rc=$?
    [ "$rc" -eq 0 ] || fail "ftplimitd exited with status $rc"
    if grep -q 'Sanitizer\|runtime error:' "$work/d.log"; then
        fail "sanitizer report from ftplimitd"
        cat "$work/d.log"
    fi
}
in_set() { nft list set inet fltest banned4 2>/dev/null | grep -q "[ {]$1[ ,}]"; }
ms() { date +%s%3N; }

start_daemon
for _ in $(seq 100); do connect 127.0.0.9 | grep -q banner && break; sleep 0.05; done
[ "$(connect 127.0.0.2)" = banner ] && ok "a host not banned gets the banner" ||
    fail "the listener does not answer"
capeff=$(sed -n 's/^CapEff:\t*//p' "/proc/$dpid/status")
[ "$capeff" = 0000000000001000 ] && ok "ftplimitd as nobody keeps CAP_NET_ADMIN alone ($capeff)" ||
    fail "ftplimitd's effective capabilities are $capeff"

echo "=== a ban reaches the kernel"
t0=$(ms)
"$cli" ban add host 127.0.0.2 60 -s "$sock" >/dev/null || fail "ban add"
while ! in_set 127.0.0.2 && [ $(($(ms) - t0)) -lt 2000 ]; do sleep 0.005; done
elapsed=$(($(ms) - t0))
if in_set 127.0.0.2 && [ "$elapsed" -le 100 ]; then
    ok "in the kernel's set in $elapsed ms"
else
    fail "not in the kernel's set within 100 ms ($elapsed ms)"
fi
[ "$(connect 127.0.0.2)" = timeout ] && ok "the banned host's SYN is dropped: no banner" ||
    fail "the banned host still connects"
[ "$(connect 127.0.0.3)" = banner ] && ok "another host still connects" || fail "another host"
"$cli" ban list -s "$sock" >"$work/list"
grep -q '^host *127.0.0.2 .* yes ' "$work/list" && ok "ban list: in the kernel" ||
    { fail "ban list has no KERNEL yes"; cat "$work/list"; }
"$cli" status -s "$sock" | grep -q 'firewall: nftables table inet fltest: on, 1 host' &&
    ok "status: the firewall is on" || fail "status"
"$cli" metrics -s "$sock" | grep -q '^ftplimit_ban_firewall_up 1$' && ok "metrics: up 1" ||
    fail "metrics"

echo "=== unban, expiry"
"$cli" ban remove host 127.0.0.2 -s "$sock" >/dev/null || fail "ban remove"
for _ in $(seq 40); do in_set 127.0.0.2 || break; sleep 0.005; done
in_set 127.0.0.2 && fail "an unban leaves the element" || ok "an unban takes it out"
[ "$(connect 127.0.0.2)" = banner ] && ok "the host connects again" || fail "still dropped"
"$cli" ban add host 127.0.0.4 2 -s "$sock" >/dev/null
sleep 0.2
in_set 127.0.0.4 && ok "a 2 s ban is in the set" || fail "a 2 s ban is not in the set"
sleep 2.3
in_set 127.0.0.4 && fail "an expired ban stays in the set" || ok "its expiry takes it out"

echo "=== a network ban: the interval set"
in_nets() { nft list set inet fltest nets4 2>/dev/null | grep -q "[ {]$1[ ,}]"; }
t0=$(ms)
"$cli" ban add network 127.0.1.0/24 60 -s "$sock" >/dev/null || fail "ban add network"
while ! in_nets 127.0.1.0/24 && [ $(($(ms) - t0)) -lt 2000 ]; do sleep 0.005; done
elapsed=$(($(ms) - t0))
in_nets 127.0.1.0/24 && [ "$elapsed" -le 100 ] && ok "the network in nets4 in $elapsed ms" ||
    fail "the network not in nets4 within 100 ms ($elapsed ms)"
[ "$(connect 127.0.1.77)" = timeout ] && ok "a host in the network is dropped" ||
    fail "a host in the banned network connects"
[ "$(connect 127.0.2.1)" = banner ] && ok "a host outside it connects" || fail "outside"
"$cli" ban add network 127.0.1.128/25 60 -s "$sock" >/dev/null 2>&1 &&
    fail "an overlapping network was banned" || ok "an overlapping network is refused"
"$cli" ban remove network 127.0.1.0/24 -s "$sock" >/dev/null || fail "ban remove network"
for _ in $(seq 40); do in_nets 127.0.1.0/24 || break; sleep 0.005; done
in_nets 127.0.1.0/24 && fail "the network stays in nets4" || ok "lifted: out of nets4"
[ "$(connect 127.0.1.77)" = banner ] && ok "the network's hosts connect again" ||
    fail "still dropped"

echo "=== an exempt host never gets in"
if "$cli" ban add host 127.0.0.1 60 -s "$sock" >/dev/null 2>&1; then
    fail "an exempt host was banned"
else
    ok "an exempt host cannot be banned"
fi
in_set 127.0.0.1 && fail "an exempt host is in the set" || ok "nor put in the kernel"

echo "=== a restart puts the BanTable's bans back"
"$cli" ban add host 127.0.0.5 1h -s "$sock" >/dev/null
"$cli" ban add network 127.0.3.0/24 1h -s "$sock" >/dev/null
sleep 0.2
stop_daemon
nft flush set inet fltest banned4 # what a reboot would leave: nothing
nft flush set inet fltest nets4
in_set 127.0.0.5 && fail "flush" || true
start_daemon
for _ in $(seq 100); do in_set 127.0.0.5 && break; sleep 0.01; done
in_set 127.0.0.5 && ok "after a restart, the table's ban is in the kernel again" ||
    fail "not re-synced after a restart"
for _ in $(seq 100); do in_nets 127.0.3.0/24 && break; sleep 0.01; done
in_nets 127.0.3.0/24 && ok "and its network ban" || fail "the network ban not re-synced"
[ "$(connect 127.0.0.5)" = timeout ] && ok "and the host is dropped" || fail "not dropped after restart"
stop_daemon

echo "=== check and simulate never touch the firewall"
nft delete table inet fltest
printf '0 ban host 127.0.0.8 60\n1 tick\n2 tick\n' >"$work/t.trace"
"$cli" simulate "$work/policy.conf" "$work/t.trace" >"$work/sim.out" 2>&1 ||
    { fail "simulate"; cat "$work/sim.out"; }
grep -q '"op":"ban"' "$work/sim.out" && ok "simulate bans in its engine" || fail "simulate's ban"
"$cli" check "$work/policy.conf" >/dev/null 2>&1 || fail "check"
"$cli" lookup 127.0.0.8 "$work/policy.conf" >/dev/null 2>&1
sleep 0.3
[ -z "$(nft list tables)" ] && ok "no table made by check, simulate or lookup" ||
    { fail "a table was made"; nft list tables; }

echo "=== without CAP_NET_ADMIN: bans in-process, the firewall off"
: >"$work/d.log"
start_daemon setpriv --inh-caps=-all --bounding-set=-net_admin
"$cli" ban add host 127.0.0.6 60 -s "$sock" >/dev/null || fail "ban add without the capability"
sleep 0.5
"$cli" ban list -s "$sock" | grep -q '^host *127.0.0.6 .* no ' && ok "ban list: not in the kernel" ||
    fail "ban list"
"$cli" status -s "$sock" >"$work/status"
grep -q 'firewall: nftables table inet fltest: OFF' "$work/status" &&
    ok "status says the firewall is off" || { fail "status"; cat "$work/status"; }
"$cli" metrics -s "$sock" | grep -q '^ftplimit_ban_firewall_up 0$' && ok "metrics: up 0" ||
    fail "metrics: up"
"$cli" ban add host 127.0.0.7 60 -s "$sock" >/dev/null
sleep 0.5
n=$(grep -c 'BanFirewall nftables (table inet fltest):' "$work/d.log")
[ "$n" -eq 1 ] && ok "the failure is logged once" || { fail "logged $n times"; cat "$work/d.log"; }
stop_daemon

if [ "$failed" -ne 0 ]; then
    echo "$failed check(s) failed"
    cat "$work/d.log"
    exit 1
fi
echo "all checks passed"
