#!/bin/sh
# The Debian packages, as an administrator meets them (issue 25): build
# them with dpkg-buildpackage, check them with lintian (no error), install
# them with apt-get into this machine's own Debian ProFTPD, enable the
# module through /etc/proftpd/conf.d/ftplimit.conf alone, log in with real
# clients against a limit of the stock configuration, ask `ftplimit status`
# with no -s, stop, purge, and find no file left behind.
#
# It changes the machine (packages, two users, /etc/proftpd/conf.d), so it
# runs only as root and only when asked: FTPLIMIT_SYSTEM_TESTS=1 (CI, on
# its throwaway machine). Everything it adds is removed, even on failure.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

if [ "${FTPLIMIT_SYSTEM_TESTS:-}" != 1 ]; then
    echo "SKIP: installs packages into this machine; set FTPLIMIT_SYSTEM_TESTS=1 (CI does)"
    exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: must run as root (it installs packages)" >&2
    exit 1
fi
for tool in dpkg-buildpackage lintian logrotate apt-get /usr/sbin/proftpd /usr/bin/python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is missing (tools/install-deps.sh --packaging installs it)" >&2
        exit 1
    fi
done
PACKAGES="ftplimit proftpd-mod-ftplimit libftplimit0 libftplimit-dev"
for p in $PACKAGES; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok'; then
        echo "FAIL: $p is already installed: this test installs and purges it" >&2
        exit 1
    fi
done
if [ -e /run/proftpd.pid ] && kill -0 "$(cat /run/proftpd.pid)" 2>/dev/null; then
    echo "FAIL: a ProFTPD runs already (/run/proftpd.pid)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/ftplimit-packages-XXXXXX) || exit 1
chmod 755 "$work"
failed=0
proftpd_pid=
ok() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# Every file of the system that a package may touch, but the package
# manager's own records and logs and ProFTPD's logs (proftpd-core's).
snapshot() {
    find /etc /usr /var /lib /opt /srv -xdev \
        \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
        -o -path /var/log/apt -o -path /var/log/proftpd -o -path /var/tmp \
        -o -path /var/lib/systemd/deb-systemd-helper-enabled \
        -o -path /var/lib/systemd/deb-systemd-helper-masked \) -prune -o -print |
        grep -v -x -e /var/log/dpkg.log -e /var/log/alternatives.log \
            -e /etc/ld.so.cache -e '/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-' |
        sort
}

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$proftpd_pid" ]; then
        kill "$proftpd_pid" 2>/dev/null
        wait "$proftpd_pid" 2>/dev/null
    fi
    rm -f /etc/proftpd/conf.d/zz-ftplimit-test.conf
    [ -f "$work/proftpd.conf.orig" ] && cp -p "$work/proftpd.conf.orig" /etc/proftpd/proftpd.conf
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PACKAGES >/dev/null 2>&1
    for u in flt1 flt2; do userdel "$u" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

snapshot >"$work/before.files"
sha256sum /etc/proftpd/* /etc/proftpd/conf.d/* 2>/dev/null >"$work/before.sums"

echo "=== build (dpkg-buildpackage -b -us -uc)"
src="$work/src/ftplimit-0.1.0"
mkdir -p "$src"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top_srcdir" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src")
else
    (cd "$top_srcdir" && tar cf - --exclude='./build*' --exclude=./debian/tmp .) | (cd "$src" && tar xf -)
fi
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1); then
    ok "dpkg-buildpackage built the packages"
else
    fail "dpkg-buildpackage"
    tail -40 "$work/build.log"
    exit 1
fi
ls "$work/src"/*.deb

echo "=== lintian"
lintian --tag-display-limit 0 "$work/src"/ftplimit_*.changes >"$work/lintian.log" 2>&1
cat "$work/lintian.log"
if grep -q '^E: ' "$work/lintian.log"; then
    fail "lintian reports errors"
else
    ok "lintian: no error"
fi

echo "=== install (apt-get install ./*.deb)"
cd "$work/src" || exit 1
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./ftplimit_*.deb \
    ./proftpd-mod-ftplimit_*.deb ./libftplimit0_*.deb ./libftplimit-dev_*.deb \
    >"$work/install.log" 2>&1; then
    ok "apt-get install"
else
    fail "apt-get install"
    cat "$work/install.log"
    exit 1
fi
cd / || exit 1
getent passwd ftplimit >/dev/null && ok "the user ftplimit exists" || fail "no user ftplimit"
[ "$(stat -c %U /var/lib/ftplimit 2>/dev/null)" = ftplimit ] &&
    ok "/var/lib/ftplimit is ftplimit's" || fail "/var/lib/ftplimit is not ftplimit's"
[ "$(stat -c %U /var/log/ftplimit 2>/dev/null)" = ftplimit ] &&
    ok "/var/log/ftplimit is ftplimit's" || fail "/var/log/ftplimit is not ftplimit's"
pkg-config --exists ftplimit && ok "pkg-config finds ftplimit" || fail "pkg-config ftplimit"
ftplimit --version >/dev/null && ftplimitd --version >/dev/null &&
    ok "ftplimit and ftplimitd --version" || fail "--version"
ftplimit check -u ftplimit /etc/ftplimit/ftplimit.conf >"$work/check.out" 2>&1 &&
    ok "the installed policy checks as ftplimit" || { fail "ftplimit check"; cat "$work/check.out"; }
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify /lib/systemd/system/ftplimitd.service >"$work/verify.out" 2>&1 &&
        ok "systemd-analyze verify ftplimitd.service" ||
        { fail "systemd-analyze verify"; cat "$work/verify.out"; }
    systemd-analyze security --offline=yes /lib/systemd/system/ftplimitd.service 2>/dev/null |
        tail -1
fi
grep -q "ExecStart=/usr/sbin/ftplimitd .*-s /run/ftplimit/ftplimitd.sock" \
    /lib/systemd/system/ftplimitd.service && ok "the unit runs /usr/sbin/ftplimitd on the socket" ||
    fail "the unit's ExecStart"

echo "=== enable the module in Debian's stock /etc/proftpd"
snippet=/etc/proftpd/conf.d/ftplimit.conf
grep -q '^#LoadModule mod_ftplimit.c$' "$snippet" && ok "the snippet has LoadModule commented" ||
    fail "no commented LoadModule line in $snippet"
sed -i 's/^#LoadModule mod_ftplimit.c$/LoadModule mod_ftplimit.c/' "$snippet"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The test's own: a free port on loopback (in proftpd.conf's Port line:
# ProFTPD takes the first Port; the file is put back as it was), a limit
# of ProFTPD's, an <IfUser> block of mod_ifsession (loaded before this
# file by modules.conf).
cp -p /etc/proftpd/proftpd.conf "$work/proftpd.conf.orig"
sed -i "s/^Port[[:space:]]*21\$/Port $port/" /etc/proftpd/proftpd.conf
grep -q "^Port $port\$" /etc/proftpd/proftpd.conf || fail "no Port 21 line in proftpd.conf to change"
cat >/etc/proftpd/conf.d/zz-ftplimit-test.conf <<EOF
DefaultAddress 127.0.0.1
SocketBindTight on
MaxClientsPerHost 2
<IfUser flt2>
  MaxClientsPerUser 1
</IfUser>
EOF
for u in flt1 flt2; do
    mkdir -p "$work/home/$u"
    useradd -M -d "$work/home/$u" -s /bin/sh "$u" && chown "$u" "$work/home/$u"
    echo "$u:secret-$u" | chpasswd
done
if proftpd -t >"$work/proftpd-t.log" 2>&1; then
    ok "proftpd -t accepts the configuration"
    grep 'enforces' "$work/proftpd-t.log"
    # Debian's own MaxInstances 30, read before conf.d/ loads the module.
    grep -q 'enforces MaxInstances 30$' "$work/proftpd-t.log" &&
        ok "Debian's MaxInstances 30 is enforced by ftplimit" ||
        fail "MaxInstances 30 of Debian's proftpd.conf is not in the policy"
else
    fail "proftpd -t"
    cat "$work/proftpd-t.log"
fi
proftpd -n >"$work/proftpd.out" 2>&1 &
proftpd_pid=$!
# Up when the port listens and the engine answers (no test connection:
# it would count).
listening() {
    hex=$(printf '%04X' "$port")
    grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp
}
for _ in $(seq 150); do
    listening && ftplimit status >/dev/null 2>&1 && break
    sleep 0.1
done
listening && ok "ProFTPD listens on 127.0.0.1:$port" ||
    { fail "ProFTPD does not listen"; cat "$work/proftpd.out"; tail -20 /var/log/proftpd/proftpd.log; }

echo "=== logins against the limits"
/usr/bin/python3 - "$port" >"$work/logins.out" 2>&1 <<'EOF'
import ftplib, sys
port = int(sys.argv[1])
def login(user, source="127.0.0.1"):
    c = ftplib.FTP()
    c.connect("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        c.login(user, "secret-" + user)
        return c, "230"
    except ftplib.error_perm as e:
        c.close()
        return None, str(e)
a, ra = login("flt1")
b, rb = login("flt2")
print("first", ra)
print("second", rb)
c, rc = login("flt1")
print("third", rc)
# flt2 from another host: its <IfUser> block's MaxClientsPerUser 1.
d, rd = login("flt2", "127.0.0.2")
print("fourth", rd)
for x in (a, b):
    if x is not None:
        x.quit()
EOF
cat "$work/logins.out"
grep -q '^first 230$' "$work/logins.out" && grep -q '^second 230$' "$work/logins.out" &&
    ok "two logins from 127.0.0.1 let in" || fail "the first two logins"
grep -q '^third 530 .*(2)' "$work/logins.out" &&
    ok "the third refused by MaxClientsPerHost 2 with 530" || fail "the third login was not refused"
grep -q '^fourth 530 .*(1)' "$work/logins.out" &&
    ok "flt2's second session refused by its <IfUser> MaxClientsPerUser 1" ||
    fail "the <IfUser> limit did not refuse"

echo "=== ftplimit status, with no -s"
/usr/bin/python3 - "$port" >"$work/hold.out" 2>&1 <<'EOF' &
import ftplib, sys, time
c = ftplib.FTP()
c.connect("127.0.0.1", int(sys.argv[1]), timeout=10)
c.login("flt1", "secret-flt1")
print("in", flush=True)
time.sleep(3)
c.quit()
EOF
hold=$!
for _ in $(seq 50); do grep -q in "$work/hold.out" && break; sleep 0.1; done
ftplimit status >"$work/status.out" 2>&1
status_rc=$?
cat "$work/status.out"
[ "$status_rc" -eq 0 ] && grep -q 'flt1' "$work/status.out" &&
    ok "ftplimit status reaches ProFTPD's daemon on /run/ftplimit/ftplimitd.sock" ||
    fail "ftplimit status (rc $status_rc)"
ftplimit metrics | grep -q '^ftplimit_sessions 1$' && ok "ftplimit metrics" || fail "ftplimit metrics"
daemon_user=$(ps -o user= -C ftplimitd | sort -u)
[ "$daemon_user" = ftplimit ] && ok "ftplimitd runs as ftplimit" || fail "ftplimitd runs as '$daemon_user'"
wait "$hold"

echo "=== logrotate: rotated files, and ftplimitd told to open its own again"
echo "a line" >/var/log/ftplimit/rotated.log
chown ftplimit /var/log/ftplimit/rotated.log
# ProFTPD -n logs to its standard error, the daemon's lines with it.
reopened() { grep -c 'log files opened again' "$work/proftpd.out" 2>/dev/null; }
before=$(reopened)
if logrotate -f -s "$work/logrotate.state" /etc/logrotate.d/ftplimit >"$work/logrotate.out" 2>&1 &&
    [ -s /var/log/ftplimit/rotated.log.1 ]; then
    ok "logrotate rotates /var/log/ftplimit/*.log"
else
    fail "logrotate"
    cat "$work/logrotate.out"
fi
for _ in $(seq 50); do [ "$(reopened)" -gt "${before:-0}" ] && break; sleep 0.1; done
[ "$(reopened)" -gt "${before:-0}" ] && ok "ftplimitd opened its files again (SIGUSR1)" ||
    fail "ftplimitd did not say it opened its files again"

echo "=== stop ProFTPD"
kill "$proftpd_pid"
wait "$proftpd_pid"
proftpd_pid=
for f in /run/ftplimit/ftplimitd.sock /run/ftplimit/ftplimitd.sock.key /run/ftplimit/ftplimit-proftpd.conf; do
    [ -e "$f" ] && fail "$f is left after ProFTPD stopped" || ok "$f removed at stop"
done
grep 'ftplimit' "$work/proftpd.out" | grep -v enforces

echo "=== purge"
rm -f /etc/proftpd/conf.d/zz-ftplimit-test.conf
cp -p "$work/proftpd.conf.orig" /etc/proftpd/proftpd.conf
for u in flt1 flt2; do userdel "$u"; done
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PACKAGES >"$work/purge.log" 2>&1; then
    ok "apt-get purge"
else
    fail "apt-get purge"
    cat "$work/purge.log"
fi
snapshot >"$work/after.files"
if diff "$work/before.files" "$work/after.files" >"$work/files.diff"; then
    ok "no file left behind, none removed"
else
    fail "the file lists differ"
    cat "$work/files.diff"
fi
sha256sum /etc/proftpd/* /etc/proftpd/conf.d/* 2>/dev/null >"$work/after.sums"
if cmp -s "$work/before.sums" "$work/after.sums"; then
    ok "/etc/proftpd is as it was"
else
    fail "/etc/proftpd changed"
    diff "$work/before.sums" "$work/after.sums"
fi

if [ "$failed" -ne 0 ]; then
    echo "$failed check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
