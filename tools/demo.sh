#!/bin/sh
# The main job: a real ProFTPD with mod_ftplimit and policies/demo.conf on
# 127.0.0.1, a burst of real FTP clients (some let in, some refused by
# different limits, one banned), and what happened. The server keeps
# running afterwards; `sh tools/demo.sh stop` stops it.
#
# Installs what is missing and builds first. Runs as root (through sudo when
# started as another user): ProFTPD switches users.
#
#   sh tools/demo.sh [--port PORT] [--dir DIR]   start (port: 2121 if free,
#                                                else any; dir: /tmp/ftplimit-demo)
#   sh tools/demo.sh [--dir DIR] stop            stop the demo's server
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
demo=/tmp/ftplimit-demo
want_port=
action=start

usage() {
    cat <<'EOF'
usage: sh tools/demo.sh [--port PORT] [--dir DIR] [stop]
  --port PORT  the port ProFTPD listens on, on 127.0.0.1 (default: 2121 if
               it is free, else any free port)
  --dir DIR    the demo's directory: configuration, logs, users' homes
               (default /tmp/ftplimit-demo; it is emptied at each start)
  stop         stop the demo's server (and its ftplimitd) in DIR
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --port) [ $# -ge 2 ] || { usage >&2; exit 2; }; want_port=$2; shift 2 ;;
    --port=*) want_port=${1#--port=}; shift ;;
    --dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; demo=$2; shift 2 ;;
    --dir=*) demo=${1#--dir=}; shift ;;
    stop) action=stop; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case $want_port in
'') ;;
*[!0-9]*) echo "demo: --port wants a number" >&2; exit 2 ;;
*) [ "$want_port" -ge 1 ] && [ "$want_port" -le 65535 ] ||
    { echo "demo: --port wants 1 to 65535" >&2; exit 2; } ;;
esac
case $demo in
/*) ;;
*) demo=$(pwd)/$demo ;;
esac
case ${demo%/} in
'' | /tmp | /root | /home | /etc | /usr | /var | /run)
    echo "demo: --dir $demo would be emptied: name a directory of its own" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "demo: run as root (ProFTPD switches users)" >&2; exit 1; }
    exec sudo sh "$0" --dir "$demo" ${want_port:+--port "$want_port"} $action
fi

stop() {
    pid=$(cat "$demo/proftpd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        echo "demo: ProFTPD (and its ftplimitd) stopped"
    fi
}

if [ "$action" = stop ]; then
    stop
    exit 0
fi

cd "$top"
echo "== Building (tools/install-deps.sh, configure, make)"
sh tools/install-deps.sh >/dev/null
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
build=$(pwd)
[ -f "$build/src/proftpd/.libs/mod_ftplimit.so" ] ||
    { echo "demo: mod_ftplimit was not built (are ProFTPD's headers installed?)" >&2; exit 1; }

stop
rm -rf "$demo"
mkdir -p "$demo/anon"
chmod 755 "$demo"
uid=$(id -u nobody)
gid=$(getent group nogroup | cut -d: -f3)
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("secret", crypt.mksalt(crypt.METHOD_SHA512)))')
: >"$demo/passwd"
for user in alice bob carol dave erin mallory; do
    mkdir -p "$demo/home/$user"
    echo "$user:$hash:$uid:$gid::$demo/home/$user:/bin/sh" >>"$demo/passwd"
done
echo "ftp:*:$uid:$gid::$demo/anon:/bin/false" >>"$demo/passwd"
echo "nogroup:x:$gid:" >"$demo/group"
chmod 600 "$demo/passwd" "$demo/group"
chown -R nobody "$demo/home" "$demo/anon"
cp "$top/policies/demo.conf" "$demo/policy.conf"
: >"$demo/events.jsonl"
chown nobody "$demo/events.jsonl"

# --port, or 2121 if it is free, else any free one.
port=$(python3 -c 'import socket, sys
want = [int(sys.argv[1])] if sys.argv[1] else [2121, 0]
for p in want:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(s.getsockname()[1]); break
    except OSError: pass
    finally: s.close()' "$want_port")
[ -n "$port" ] || { echo "demo: port $want_port on 127.0.0.1 is taken" >&2; exit 1; }

cat >"$demo/proftpd.conf" <<EOF
# Two lines make ftplimit enforce the limits below: LoadModule, first (on
# Debian, in /etc/proftpd/modules.conf), and FtpLimitEngine on. The other
# FtpLimit lines are the demo's: its build's paths, and a policy of what
# only ftplimit has (bans, listeners).
<IfModule mod_dso.c>
  ModulePath $build/src/proftpd/.libs
  LoadModule mod_ftplimit.c
</IfModule>
FtpLimitEngine on
FtpLimitPolicy $demo/policy.conf
FtpLimitDaemon $build/src/daemon/ftplimitd
FtpLimitLog $demo/ftplimitd.log

ServerName "ftplimit demo"
ServerType standalone
Port $port
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
UseReverseDNS off
WtmpLog off
User nobody
Group nogroup
PidFile $demo/proftpd.pid
ScoreboardFile $demo/proftpd.scoreboard
SystemLog $demo/system.log
DelayEngine off
AuthOrder mod_auth_file.c
AuthUserFile $demo/passwd
AuthGroupFile $demo/group
RequireValidShell off

# The limits, where ProFTPD has them: small numbers, so that a burst of a
# dozen FTP clients meets each one once. ftplimit enforces them.
# At connect (421): at most 3 connections from one address, logged in or not.
MaxConnectionsPerHost 3
# After a good password (530, session ended).
MaxClientsPerHost 2 "Sorry, %a already has %m sessions."
MaxClientsPerUser 2 "Sorry, %u already has %m sessions."
MaxClients 6
# The second bad password ends the session.
MaxLoginAttempts 2

<Anonymous $demo/anon>
  User ftp
  Group nogroup
  UserAlias anonymous ftp
  # Anonymous users must give an e-mail address.
  AnonRejectPasswords "!^[^@[:space:]]+@[^@[:space:]]+\$"
</Anonymous>

EOF

echo "== ProFTPD with mod_ftplimit on 127.0.0.1:$port: the limits of $demo/proftpd.conf,"
echo "   and ftplimit's own directives from $demo/policy.conf"
sed -n '/^ *[A-Za-z]/p' "$demo/policy.conf" | sed 's/^/   /'
proftpd -c "$demo/proftpd.conf" >"$demo/proftpd.out" 2>&1 ||
    { cat "$demo/proftpd.out" "$demo/system.log" 2>/dev/null; exit 1; }
i=0
until "$build/src/cli/ftplimit" status -s "$demo/ftplimitd.sock" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "demo: the server did not come up"; cat "$demo/system.log"; exit 1; }
    sleep 0.1
done

echo
echo "== What ftplimit enforces, as mod_ftplimit logged it at the start ($demo/system.log)"
sed -n 's/.*mod_ftplimit[^:]*: enforces /   /p' "$demo/system.log"
echo
python3 "$top/tools/demo_clients.py" "$port" "$demo" "$build/src/cli/ftplimit"

demo_arg=
[ "$demo" = /tmp/ftplimit-demo ] || demo_arg=" --dir $demo"
cat <<EOF
== The server is still running

  connect:  lftp -u alice,secret -p $port 127.0.0.1     (users alice bob carol dave erin, password secret; or anonymous)
            python3 -c 'import ftplib; f = ftplib.FTP(); f.connect("127.0.0.1", $port); print(f.login("bob", "secret"))'
  watch:    $build/src/cli/ftplimit watch -s $demo/ftplimitd.sock
  status:   $build/src/cli/ftplimit status -s $demo/ftplimitd.sock
  bans:     $build/src/cli/ftplimit ban list -s $demo/ftplimitd.sock
  logs:     $demo/system.log, $demo/events.jsonl
  stop:     sh tools/demo.sh${demo_arg} stop
EOF
