#!/bin/sh
# The `ftplimit` command line: exit statuses and outputs of check and
# simulate (and of ftplimitd -t), on inputs written to a temporary directory.
set -u
: "${top_srcdir:=..}" "${top_builddir:=..}"
cli="$top_builddir/src/cli/ftplimit"
work=$(mktemp -d "${TMPDIR:-/tmp}/ftplimit-cli-XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
failed=0

ok() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# expect NAME WANT_RC COMMAND...: run, keep stdout/stderr in $work/out, $work/err
expect() {
    name=$1 want=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else
        fail "$name: exit $rc, expected $want"; cat "$work/out" "$work/err"
    fi
}
contains() { # FILE TEXT NAME
    if grep -qF -- "$2" "$1"; then ok "$3"; else fail "$3: '$2' not in $1"; cat "$1"; fi
}

# Policies that name /var/lib/GeoIP databases get test databases instead.
mkdir "$work/GeoIP"
for db in GeoLite2-Country.mmdb GeoLite2-ASN.mmdb; do
    printf '192.0.2.0/24 country=DE continent=EU asn=64496 org=Test\n' |
        perl "$top_srcdir/tests/mkmmdb.pl" "$work/GeoIP/$db" || fail "write $db"
done
for p in "$top_srcdir"/policies/*.conf; do
    name=$(basename "$p")
    sed "s|/var/lib/GeoIP/|$work/GeoIP/|g" "$p" >"$work/$name"
    expect "check $name passes" 0 "$cli" check "$work/$name"
    contains "$work/out" ": OK" "check $name says OK"
done

# lookup: what the databases say, and the class
expect "lookup of a known address" 0 "$cli" lookup ::ffff:192.0.2.7 "$work/geo.conf"
contains "$work/out" "country    DE" "lookup shows the country"
contains "$work/out" "asn        AS64496 (Test)" "lookup shows the AS and its organisation"
contains "$work/out" "class        flooders" "lookup shows the class"
expect "lookup of an unknown address" 0 "$cli" lookup 203.0.113.1 "$work/geo.conf"
contains "$work/out" "class        world" "an unknown address falls to the catch-all class"
expect "lookup of a bad address is a usage error" 2 "$cli" lookup 300.1.1.1 "$work/geo.conf"
printf 'GeoIPDatabase %s/none.mmdb\n' "$work" >"$work/nodb.conf"
expect "check of a policy with a missing database exits 2" 2 "$cli" check "$work/nodb.conf"
contains "$work/err" "nodb.conf:1: GeoIPDatabase: cannot open" "check names the database line"

# --help and --version on every command: usage or version on standard
# output, status 0 (issue 25); a bad argument keeps status 2.
for c in check simulate lookup status metrics reload watch ban; do
    expect "$c --help succeeds" 0 "$cli" "$c" --help
    contains "$work/out" "usage: ftplimit $c" "$c --help prints its usage on standard output"
done
expect "status --version succeeds" 0 "$cli" status --version
contains "$work/out" "ftplimit " "status --version prints the version"
expect "ftplimitd --help succeeds" 0 "$top_builddir/src/daemon/ftplimitd" --help
contains "$work/out" "usage: ftplimitd" "ftplimitd --help prints its usage on standard output"
expect "ftplimitd --version succeeds" 0 "$top_builddir/src/daemon/ftplimitd" --version
contains "$work/out" "ftplimitd " "ftplimitd --version prints the version"
expect "a bad option still fails" 2 "$cli" status --bogus

# check shows mod_ifsession's blocks as written, <IfAuthenticated> with no
# expression.
expect "check of a policy with <IfGroup> and <IfAuthenticated>" 0 "$cli" check "$top_srcdir/tests/traces/groups.conf"
contains "$work/out" "  <IfAuthenticated>:" "check shows <IfAuthenticated> bare"
contains "$work/out" "  <IfGroup OR contractors,interns>:" "check shows an <IfGroup> expression"

printf 'MaxClientPerHost 3\nMaxClients 0\n<Class a>\nFrom 10.0.0.0/33\n' >"$work/bad.conf"
expect "check of a bad policy exits 2" 2 "$cli" check "$work/bad.conf"
contains "$work/err" "bad.conf:1: unknown directive 'MaxClientPerHost' (did you mean 'MaxClientsPerHost'?)" "check names file, line and the nearest directive"
contains "$work/err" "bad.conf:2: MaxClients: expected a number" "check reports every error (line 2)"
contains "$work/err" "bad.conf:4: From: bad CIDR" "check reports every error (line 4)"
contains "$work/err" "bad.conf:3: <Class a> is not closed" "check reports an unclosed block at its line"
contains "$work/err" "4 errors" "check counts the errors"

# ftplimitd -t: the check mod_ftplimit runs at `proftpd -t` and at a restart
daemon="$top_builddir/src/daemon/ftplimitd"
expect "ftplimitd -t of a bad policy exits 2" 2 "$daemon" -t -c "$work/bad.conf"
contains "$work/err" "bad.conf:1: unknown directive 'MaxClientPerHost'" "ftplimitd -t names file and line"
contains "$work/err" "bad.conf:4: From: bad CIDR" "ftplimitd -t reports every error"
expect "ftplimitd -t of a good policy exits 0" 0 "$daemon" -t -c "$work/geo.conf"
contains "$work/out" "geo.conf is valid" "ftplimitd -t says the policy is valid"
expect "ftplimitd -t of a missing database exits 2" 2 "$daemon" -t -c "$work/nodb.conf"
contains "$work/err" "nodb.conf:1: GeoIPDatabase: cannot open" "ftplimitd -t opens the databases"
# ftplimitd -l: a link planted as the log is not followed (issue 24, point 1)
printf 'keep\n' >"$work/precious"
ln -s "$work/precious" "$work/log-link"
expect "ftplimitd refuses a log that is a symbolic link" 2 \
    "$daemon" -f -c "$work/geo.conf" -s "$work/l.sock" -l "$work/log-link"
contains "$work/err" "cannot open the log" "ftplimitd says why it does not start"
contains "$work/precious" "keep" "the link's target is left alone"

expect "check of a missing policy exits 2" 2 "$cli" check "$work/missing.conf"
expect "check without a policy is a usage error" 2 "$cli" check
expect "an unknown command is a usage error" 2 "$cli" frobnicate

printf 'MaxClients 1\n' >"$work/p.conf"
printf '0 connect a 10.0.0.1\n0 user a alice\n0 pass a ok\n' >"$work/t.trace"
expect "simulate reads the trace from a file" 0 "$cli" simulate "$work/p.conf" "$work/t.trace"
contains "$work/out" '{"line":3,"op":"pass","sid":"a","verdict":"allow"}' "simulate prints the decision"
expect "simulate reads the trace from standard input" 0 sh -c "\"$cli\" simulate \"$work/p.conf\" < \"$work/t.trace\""
contains "$work/out" '{"line":0,"event":"core.shutdown"}' "simulate ends with core.shutdown"
expect "simulate of a missing trace exits 2" 2 "$cli" simulate "$work/p.conf" "$work/none.trace"
expect "simulate with a bad policy exits 2" 2 "$cli" simulate "$work/bad.conf" "$work/t.trace"
printf '0 connect a 10.0.0.1\n0 close b\n' >"$work/e.trace"
expect "simulate exits 1 when a line cannot apply" 1 "$cli" simulate "$work/p.conf" "$work/e.trace"

# Every output line is valid JSON, even for hostile bytes.
printf '0 connect a 10.0.0.1\n0 user a "\001\033[31m%%s%%n\377\376"\n0 pass a ok\n' >"$work/h.trace"
expect "simulate replays hostile names" 0 "$cli" simulate "$work/p.conf" "$work/h.trace"
if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$work/out"; then
    ok "simulate output is valid JSON for hostile bytes"
else
    fail "simulate output is not valid JSON"
fi

# Listeners: check describes them and touches nothing; simulate runs them
# only with --listeners.
cat >"$work/alerts.conf" <<EOF
MaxClientsPerHost 1
OnEvent mod_auth.* jsonl alerts.jsonl
OnEvent ftplimit.ban exec /bin/true %a
BanOnEvent MaxClientsPerHost 1/00:01:00 01:00:00
BanTable bans.state
EOF
expect "check of a policy with listeners" 0 "$cli" check "$work/alerts.conf"
contains "$work/out" "OnEvent mod_auth.* jsonl $work/alerts.jsonl" "check shows a jsonl listener with its full path"
contains "$work/out" "BanOnEvent MaxClientsPerHost (mod_auth.max-clients-per-host): after 1 within 00:01:00, ban the host for 01:00:00" "check explains a ban rule"
contains "$work/out" "ExecTimeout 10, ExecMaxRunning 8" "check shows the exec defaults"
if [ -e "$work/alerts.jsonl" ] || [ -e "$work/bans.state" ]; then
    fail "check created a listener's or the ban table's file"
else
    ok "check creates no file"
fi
printf '0 connect a 10.0.0.1\n0 user a x\n0 pass a ok\n1 connect b 10.0.0.1\n1 user b y\n1 pass b ok\n2 connect c 10.0.0.1\n' >"$work/a.trace"
expect "simulate without --listeners" 0 "$cli" simulate "$work/alerts.conf" "$work/a.trace"
contains "$work/out" '"event":"ftplimit.ban"' "simulate shows the ban"
contains "$work/out" '{"line":7,"op":"connect","sid":"c","verdict":"disconnect","limit":"Ban"' "simulate refuses the banned host"
if [ -e "$work/alerts.jsonl" ]; then fail "simulate ran listeners unasked"; else ok "simulate runs no listener unasked"; fi
expect "simulate --listeners" 0 "$cli" simulate --listeners "$work/alerts.conf" "$work/a.trace"
if [ "$(wc -l <"$work/alerts.jsonl")" -eq 1 ] && grep -q '"event":"mod_auth.max-clients-per-host"' "$work/alerts.jsonl"; then
    ok "simulate --listeners writes the jsonl alert"
else
    fail "simulate --listeners: alerts.jsonl is not one alert"; cat "$work/alerts.jsonl"
fi
if [ -e "$work/bans.state" ]; then fail "simulate wrote the ban table"; else ok "simulate leaves the ban table alone"; fi

# ban: arguments are checked before the daemon is asked.
expect "ban without arguments is a usage error" 2 "$cli" ban
expect "ban with a bad kind is a usage error" 2 "$cli" ban add planet x 1h
expect "ban with a bad duration is a usage error" 2 "$cli" ban add host 192.0.2.1 1y
expect "ban of a message on two lines is a usage error" 2 "$cli" ban add user x 60 "a
b"
expect "ban without a daemon exits 1" 1 "$cli" ban list -s "$work/none.sock"
contains "$work/err" "cannot reach ftplimitd" "ban says it cannot reach the daemon"

echo "cli: $failed failed"
[ "$failed" -eq 0 ]
