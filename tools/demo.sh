#!/bin/sh
# The main job, as far as it exists today: builds ftplimit, checks the
# default policy and replays a short burst of sessions through it with
# `ftplimit simulate`, showing which limits refuse whom. (A real ProFTPD with
# mod_ftplimit replaces the simulated clients once the module exists.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/install-deps.sh >/dev/null
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build && cd build
[ -f Makefile ] || ../configure -q
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

cli=src/cli/ftplimit
policy=../policies/default.conf
echo "== ftplimit check $policy"
$cli check "$policy"

trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
cat >"$trace" <<'TRACE'
# two logins from one address
0 connect a1 203.0.113.7
0 user a1 alice
0 pass a1 ok
0.2 connect a2 203.0.113.7
0.2 user a2 bob
0.2 pass a2 ok
# alice from a second host is fine, from a third MaxHostsPerUser 2 refuses her
1 connect b1 198.51.100.9
1 user b1 alice
1 pass b1 ok
1.5 connect b2 198.51.100.10
1.5 user b2 alice
1.5 pass b2 ok
# a password guesser: the third failure ends the session
2 connect g1 192.0.2.66
2 user g1 root
2 pass g1 bad 123456
3 pass g1 bad password
4 pass g1 bad letmein
# ... who comes back twice more: the third session's end bans the address
# for an hour (BanOnEvent MaxLoginAttempts), and the next connect is refused
6 connect g2 192.0.2.66
6 user g2 root
6 pass g2 bad 1
6 pass g2 bad 2
6 pass g2 bad 3
7 connect g3 192.0.2.66
7 user g3 admin
7 pass g3 bad 1
7 pass g3 bad 2
7 pass g3 bad 3
8 connect g4 192.0.2.66
# an anonymous crawler with a bogus password
9 connect x1 192.0.2.80
9 user x1 anonymous
9 pass x1 ok mozilla
TRACE
echo
echo "== ftplimit simulate (decisions that are not 'allow')"
$cli simulate "$policy" "$trace" | grep -v '"verdict":"allow"' | grep -v '"event":"core\.'
