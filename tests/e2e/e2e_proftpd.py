#!/usr/bin/env python3
"""End to end: a real ProFTPD with mod_ftplimit, on 127.0.0.1 and a free
port, driven by real FTP clients (Python's ftplib).

Each test writes its own proftpd.conf, AuthUserFile, policy and listener
files in a temporary directory, starts `proftpd -n` in a process group of its
own, and stops it (and so the ftplimitd it started) even when the test
fails. Clients come from several loopback addresses (127.0.0.2 ...) to stand
for several hosts.

Needs root (ProFTPD switches users) and Debian's proftpd-core; without
either the suite is skipped (exit 77) and says why.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # Python 3.11: deprecated, still there

import ftplib

BUILD = os.path.abspath(os.environ.get("top_builddir", ".."))
MODULE_DIR = os.path.join(BUILD, "src", "proftpd", ".libs")
FTPLIMITD = os.path.join(BUILD, "src", "daemon", "ftplimitd")
FTPLIMIT = os.path.join(BUILD, "src", "cli", "ftplimit")
PROFTPD = shutil.which("proftpd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
MOD_BAN = "/usr/lib/proftpd/mod_ban.so"
MOD_SFTP = "/usr/lib/proftpd/mod_sftp.so"  # Debian's proftpd-mod-crypto
MOD_IFSESSION = "/usr/lib/proftpd/mod_ifsession.so"
# The drop-in setup: the engine on, no policy file -- proftpd.conf's own
# limits are ftplimit's (doc/proftpd.md).
ENGINE_ONLY = ("FtpLimitEngine on\n"
               f"FtpLimitDaemon {FTPLIMITD}\n"
               "FtpLimitLog @DIR@/ftplimitd.log\n")
OWN_UID_BASE = 20001  # Server(own_uids=True): alice is 20001, bob 20002 ...
PASSWORD = "secret"
USERS = ["alice", "bob", "carol", "dave", "erin"]
TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_env():
    """A module built with --enable-sanitizers needs its runtimes loaded
    first into the (uninstrumented) proftpd."""
    so = os.path.join(MODULE_DIR, "mod_ftplimit.so")
    try:
        needed = subprocess.run(["readelf", "-d", so], capture_output=True, text=True).stdout
    except OSError:
        return {}
    libs = []
    for name in ("libasan.so", "libubsan.so"):
        if name in needed:
            path = subprocess.run(["gcc", "-print-file-name=" + name],
                                  capture_output=True, text=True).stdout.strip()
            libs.append(path)
    if not libs:
        return {}
    return {"LD_PRELOAD": ":".join(libs),
            "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1:abort_on_error=0",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}


class Server:
    """One ProFTPD with mod_ftplimit (or without, for the benchmark's stock
    runs), its files in a temporary directory."""

    def __init__(self, policy="", conf="", module=True, ftplimit_conf=None, hash_method=None,
                 own_uids=False, before_load=""):
        self.before_load = before_load
        self.hash_method = hash_method or crypt.METHOD_SHA512
        self.dir = tempfile.mkdtemp(prefix="ftplimit-e2e-")
        LIVE.add(self)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.proc = None
        self.nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True,
                                         text=True).stdout)
        self.nogroup = int(subprocess.run(["getent", "group", "nogroup"], capture_output=True,
                                          text=True).stdout.split(":")[2])
        self._write_users(own_uids)
        if "SFTPEngine" in conf:
            self._write_host_key()
        self.policy = self.path("policy.conf")
        self.write_policy(policy)
        self.events_path = self.path("events.jsonl")
        self._own(self.events_path)
        if ftplimit_conf is None:
            ftplimit_conf = (
                "FtpLimitEngine on\n"
                f"FtpLimitPolicy {self.policy}\n"
                f"FtpLimitDaemon {FTPLIMITD}\n"
                f"FtpLimitLog {self.path('ftplimitd.log')}\n")
        self.conf = self.path("proftpd.conf")
        self.module = module
        with open(self.conf, "w") as f:
            f.write(self._proftpd_conf(conf, module, ftplimit_conf))

    def path(self, name):
        return os.path.join(self.dir, name)

    def _own(self, path, text=""):
        with open(path, "a") as f:
            f.write(text)
        os.chown(path, self.nobody, self.nogroup)

    def uid_of(self, user):
        """The uid (and gid) a user logs in as: nobody's, or with own_uids
        one of its own, as on a real server."""
        return OWN_UID_BASE + USERS.index(user) if self.own_uids else self.nobody

    def _write_users(self, own_uids):
        self.own_uids = own_uids
        hashed = crypt.crypt(PASSWORD, crypt.mksalt(self.hash_method))
        # Two supplementary groups, for mod_ifsession's <IfGroup>.
        lines, groups = [], [f"nogroup:x:{self.nogroup}:", "staff:x:4242:alice,carol",
                             "devs:x:4243:bob"]
        for user in USERS:
            uid = self.uid_of(user)
            gid = uid if own_uids else self.nogroup
            if own_uids:
                groups.append(f"{user}:x:{gid}:")
            home = self.path("home/" + user)
            os.makedirs(home)
            os.chown(home, uid, gid)
            # erin's shell is in no /etc/shells: RequireValidShell refuses her
            # after her password checked out.
            shell = "/nonexistent/ftplimit-e2e-shell" if user == "erin" else "/bin/sh"
            lines.append(f"{user}:{hashed}:{uid}:{gid}::{home}:{shell}")
        anon = self.path("anon")
        os.makedirs(anon)
        lines.append(f"ftp:*:{self.nobody}:{self.nogroup}::{anon}:/bin/false")
        for name, text in (("passwd", "\n".join(lines) + "\n"),
                           ("group", "\n".join(groups) + "\n")):
            with open(self.path(name), "w") as f:
                f.write(text)
            os.chmod(self.path(name), 0o600)

    def _write_host_key(self):
        """An RSA host key for mod_sftp (PEM, which ProFTPD 1.3.8 reads)."""
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "",
                        "-f", self.path("ssh_host_rsa_key")], check=True)

    def write_policy(self, text):
        with open(self.policy, "w") as f:
            f.write(text)

    def _proftpd_conf(self, extra, module, ftplimit_conf):
        d = self.dir
        load = ""
        if "BanOnEvent" in extra:
            load += f"  ModulePath {os.path.dirname(MOD_BAN)}\n  LoadModule mod_ban.c\n"
        if "SFTPEngine" in extra:
            load += f"  ModulePath {os.path.dirname(MOD_SFTP)}\n  LoadModule mod_sftp.c\n"
        if module:
            load += f"  ModulePath {MODULE_DIR}\n  LoadModule mod_ftplimit.c\n"
        if "<If" in extra:  # mod_ifsession, loaded last, as it must be
            load += (f"  ModulePath {os.path.dirname(MOD_IFSESSION)}\n"
                     "  LoadModule mod_ifsession.c\n")
        text = f"""ServerName "ftplimit e2e"
ServerType standalone
Port {self.port}
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
UseReverseDNS off
WtmpLog off
User nobody
Group nogroup
PidFile {d}/proftpd.pid
ScoreboardFile {d}/proftpd.scoreboard
SystemLog {d}/system.log
DelayEngine off
AuthOrder mod_auth_file.c
AuthUserFile {d}/passwd
AuthGroupFile {d}/group
{"" if "RequireValidShell" in extra else "RequireValidShell off"}
TimeoutIdle 600
{self.before_load}
<IfModule mod_dso.c>
{load}</IfModule>
{ftplimit_conf if module else ""}
<Anonymous {d}/anon>
  User ftp
  Group nogroup
  UserAlias anonymous ftp
</Anonymous>
{extra}
"""
        return text.replace("@DIR@", d)

    def start(self, engine=True):
        env = dict(os.environ)
        # The sanitizers' runtimes, for a module built with them; a stock
        # server runs as built (under ASan, ProFTPD 1.3.8's mod_ifsession
        # reads a freed session.group for <IfGroup> with AuthGroupFile).
        if self.module:
            env.update(sanitizer_env())
        self.stderr = open(self.path("proftpd.stderr"), "w")
        self.proc = subprocess.Popen([PROFTPD, "-n", "-q", "-c", self.conf],
                                     stdout=self.stderr, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        # Ready when the port listens and the engine answers; no test
        # connection is made (it would count toward the limits).
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("proftpd exited at start: " + self.logs())
            if self._listening() and (not engine or self.status() is not None):
                return self
            time.sleep(0.05)
        raise AssertionError("proftpd did not come up: " + self.logs())

    def _listening(self):
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.split(":")[1], 16) == self.port:
                    return True
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
            self.stderr.close()

    def cleanup(self):
        LIVE.discard(self)
        self.stop()
        # Under --enable-sanitizers, a report from the module in any ProFTPD
        # process fails the test.
        try:
            with open(self.path("proftpd.stderr"), errors="replace") as f:
                stderr = f.read()
        except OSError:
            stderr = ""
        shutil.rmtree(self.dir, ignore_errors=True)
        if "ERROR: AddressSanitizer" in stderr or "runtime error:" in stderr:
            raise AssertionError("sanitizer report from ProFTPD:\n" + stderr)

    def logs(self):
        out = []
        for name in ("proftpd.stderr", "system.log", "ftplimitd.log", "ext.log", "ban.log",
                     "sftp.log"):
            try:
                with open(self.path(name), errors="replace") as f:
                    out.append(f"--- {name}\n{f.read()}")
            except OSError:
                pass
        return "\n".join(out)

    # --- clients ------------------------------------------------------------

    def connect(self, host=2):
        """A connected client from 127.0.0.<host>."""
        f = ftplib.FTP(source_address=(f"127.0.0.{host}", 0))
        try:
            f.connect("127.0.0.1", self.port, timeout=TIMEOUT)
        except BaseException:
            f.close()
            raise
        return f

    def login(self, user, password=PASSWORD, host=2):
        """(client, reply): the reply to the connect or the login; the
        client is None when it was refused."""
        try:
            f = self.connect(host)
        except ftplib.all_errors as e:
            return None, str(e)
        try:
            return f, f.login(user, password)
        except ftplib.all_errors as e:
            f.close()
            return None, str(e)

    def events(self, name=None):
        with open(self.events_path) as f:
            evs = [json.loads(line) for line in f if line.strip()]
        return [e for e in evs if name is None or e["event"] == name]

    def wait_events(self, name, count, seconds=5):
        deadline = time.time() + seconds
        while time.time() < deadline:
            evs = self.events(name)
            if len(evs) >= count:
                return evs
            time.sleep(0.05)
        return self.events(name)

    def status(self):
        sock = getattr(self, "external_sock", None) or self.path("ftplimitd.sock")
        out = subprocess.run([FTPLIMIT, "status", "--json", "-s", sock],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)

    def wait_clients(self, want, seconds=10):
        deadline = time.time() + seconds
        got = None
        while time.time() < deadline:
            st = self.status()
            got = st["totals"]["clients"] if st else None
            if got == want:
                return got
            time.sleep(0.1)
        return got

    def sessions_of(self, user):
        """The pids of the session processes logged in as user."""
        pids = []
        for pid in subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("proftpd: " + user + " "):
                pids.append(int(pid))
        return pids

    def ftplimitd_pid(self):
        """The ftplimitd serving this server (a child of the module's helper)."""
        sock = self.path("ftplimitd.sock").encode()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"ftplimitd") and sock in args:
                return int(pid)
        return None


def test_failed(test):
    """Whether test has failed so far, from one of its cleanups. (Not
    _outcome.success: unittest sets it anew for each cleanup it runs.)"""
    result = getattr(getattr(test, "_outcome", None), "result", None)
    return result is not None and any(t is test for t, _ in result.failures + result.errors)


def close_all(*clients):
    for c in clients:
        if c is not None:
            try:
                c.quit()
            except ftplib.all_errors:
                c.close()


class E2E(unittest.TestCase):
    """Each test gets its own server, stopped and removed even on failure."""

    def serve(self, policy, conf="", **kw):
        s = Server(policy, conf, **kw)
        self.addCleanup(s.cleanup)
        s.start()
        self.addCleanup(self.dump_logs_on_failure, s)
        return s

    def dump_logs_on_failure(self, s):
        if test_failed(self):
            sys.stderr.write(s.logs())

    def assertRefused(self, reply, code, text=None):
        self.assertTrue(reply.startswith(code + " "), reply)
        if text is not None:
            self.assertIn(text, reply)

    # --- connect-time limits: 421 ------------------------------------------

    def test_max_instances_refuses_at_connect_with_421(self):
        s = self.serve("MaxInstances 2\nOnEvent * jsonl events.jsonl\n")
        a, b = s.connect(2), s.connect(3)
        c, reply = s.login("carol", host=4)
        self.assertIsNone(c)
        self.assertRefused(reply, "421", "maximum number of connections (2) to this server")
        self.assertEqual(len(s.wait_events("core.max-instances", 1)), 1)
        close_all(a, b)

    def test_max_connection_rate_refuses_at_connect_and_refusals_do_not_count(self):
        s = self.serve("MaxConnectionRate 2 60 \"Slow down, %a.\"\n")
        a, b = s.connect(2), s.connect(3)
        for host in (4, 5):
            c, reply = s.login("carol", host=host)
            self.assertIsNone(c)
            self.assertRefused(reply, "421", "Slow down, 127.0.0.")
        close_all(a, b)

    def test_max_connections_per_host_counts_unauthenticated_connections(self):
        s = self.serve("MaxConnectionsPerHost 2\nOnEvent mod_auth.* jsonl events.jsonl\n")
        a, b = s.connect(2), s.connect(2)
        c, reply = s.login("alice", host=2)
        self.assertIsNone(c)
        self.assertRefused(reply, "421", "maximum number of connections (2)")
        d, reply = s.login("alice", host=3)  # another host is fine
        self.assertIsNotNone(d, reply)
        ev = s.wait_events("mod_auth.max-connections-per-host", 1)
        self.assertEqual(ev[0]["address"], "127.0.0.2")
        close_all(a, b, d)

    # --- login-time limits: 530 after PASS --------------------------------

    def test_max_clients_per_host_refuses_after_pass_and_no_230_is_sent(self):
        s = self.serve("MaxClientsPerHost 2 \"Only %m from %a.\"\n"
                       "OnEvent mod_auth.* jsonl events.jsonl\n")
        a, _ = s.login("alice")
        b, _ = s.login("bob")
        c = s.connect(2)
        c.sendcmd("USER carol")
        with self.assertRaises(ftplib.error_perm) as refused:
            c.sendcmd("PASS " + PASSWORD)
        self.assertEqual(str(refused.exception), "530 Only 2 from 127.0.0.2.")
        # The session is over: the connection is closed, no 230 ever came.
        with self.assertRaises((EOFError, OSError, ftplib.all_errors[0])):
            c.sendcmd("PWD")
        c.close()
        ev = s.wait_events("mod_auth.max-clients-per-host", 1)
        self.assertEqual((ev[0]["user"], ev[0]["max"], ev[0]["count"]), ("carol", 2, 3))
        d, reply = s.login("dave", host=3)
        self.assertIsNotNone(d, reply)
        close_all(a, b, d)

    def test_max_clients_per_user_counts_the_user_everywhere(self):
        s = self.serve("MaxClientsPerUser 2 \"%u has %m sessions.\"\n")
        a, _ = s.login("alice", host=2)
        b, _ = s.login("alice", host=3)
        c, reply = s.login("alice", host=4)
        self.assertIsNone(c)
        self.assertRefused(reply, "530", "alice has 2 sessions.")
        d, reply = s.login("bob", host=4)
        self.assertIsNotNone(d, reply)
        close_all(a, b, d)

    def test_max_clients_per_class(self):
        s = self.serve("<Class lab>\n  From 127.0.0.2 127.0.0.3\n</Class>\n"
                       "MaxClientsPerClass lab 1\n")
        a, _ = s.login("alice", host=2)
        b, reply = s.login("bob", host=3)
        self.assertIsNone(b)
        self.assertRefused(reply, "530", "from your class")
        c, reply = s.login("carol", host=4)  # no class
        self.assertIsNotNone(c, reply)
        close_all(a, c)

    def test_max_clients_counts_every_authenticated_session(self):
        s = self.serve("MaxClients 2\n")
        idle = s.connect(5)  # not logged in: does not count
        a, _ = s.login("alice", host=2)
        b, _ = s.login("bob", host=3)
        c, reply = s.login("carol", host=4)
        self.assertIsNone(c)
        self.assertRefused(reply, "530", "maximum number of allowed clients (2)")
        close_all(a, b, idle)

    def test_max_hosts_per_user_counts_distinct_hosts(self):
        s = self.serve("MaxHostsPerUser 2\n")
        a, _ = s.login("alice", host=2)
        b, _ = s.login("alice", host=2)  # the same host again: still one host
        c, _ = s.login("alice", host=3)
        d, reply = s.login("alice", host=4)
        self.assertIsNone(d)
        self.assertRefused(reply, "530", "maximum number of hosts (2)")
        close_all(a, b, c)

    # --- logins ----------------------------------------------------------------

    def test_max_login_attempts_is_the_policys_not_mod_auths_default(self):
        s = self.serve("MaxLoginAttempts 5\nOnEvent mod_auth.* jsonl events.jsonl\n")
        c = s.connect()
        for attempt in range(1, 6):
            c.sendcmd("USER alice")
            with self.assertRaises(ftplib.error_perm) as failed:
                c.sendcmd("PASS wrong")
            self.assertEqual(str(failed.exception), "530 Login incorrect.")
            if attempt < 5:  # mod_auth alone would have ended it at 3
                self.assertTrue(c.sendcmd("NOOP").startswith("200"))
        with self.assertRaises((EOFError, OSError, ftplib.all_errors[0])):
            c.sendcmd("NOOP")
        c.close()
        ev = s.wait_events("mod_auth.max-login-attempts", 1)
        self.assertEqual((ev[0]["user"], ev[0]["count"]), ("alice", 5))

    def test_a_login_proftpd_refuses_after_the_password_is_undone_and_counts_as_failed(self):
        # The module tells the engine of erin's login as soon as her password
        # checks out; RequireValidShell then refuses her: the engine's count
        # is undone (LOGOUT), and the refusal is a failed attempt.
        s = self.serve("MaxClientsPerHost 1\nMaxLoginAttempts 2\n"
                       "OnEvent mod_auth.* jsonl events.jsonl\n",
                       conf="RequireValidShell on\n")
        c = s.connect(2)
        c.sendcmd("USER erin")
        with self.assertRaises(ftplib.error_perm) as refused:
            c.sendcmd("PASS " + PASSWORD)
        self.assertTrue(str(refused.exception).startswith("530 "), str(refused.exception))
        self.assertEqual(s.wait_clients(0), 0)
        a, reply = s.login("alice", host=2)  # the host's one client slot is free
        self.assertIsNotNone(a, reply)
        sock = s.path("ftplimitd.sock")
        metrics = subprocess.run([FTPLIMIT, "metrics", "-s", sock], capture_output=True,
                                 text=True, timeout=20).stdout
        self.assertIn("\nftplimit_daemon_logouts_total 1\n", metrics)
        close_all(a)
        self.assertEqual(s.wait_clients(0), 0)
        c.sendcmd("USER erin")
        with self.assertRaises(ftplib.error_perm):
            c.sendcmd("PASS " + PASSWORD)
        with self.assertRaises((EOFError, OSError, ftplib.all_errors[0])):
            c.sendcmd("NOOP")
        c.close()
        ev = s.wait_events("mod_auth.max-login-attempts", 1)
        self.assertEqual((ev[0]["user"], ev[0]["count"]), ("erin", 2))
        self.assertEqual(s.events("mod_auth.max-clients-per-host"), [])

    def test_anon_reject_passwords(self):
        s = self.serve("AnonRejectPasswords \"!@\"\nOnEvent mod_auth.* jsonl events.jsonl\n")
        c, reply = s.login("anonymous", "not-an-address")
        self.assertIsNone(c)
        self.assertRefused(reply, "530", "Login incorrect.")
        d, reply = s.login("anonymous", "me@example.com")
        self.assertIsNotNone(d, reply)
        self.assertTrue(reply.startswith("230"), reply)
        ev = s.wait_events("mod_auth.anon-reject-passwords", 1)
        self.assertEqual(ev[0]["user"], "anonymous")
        close_all(d)

    # --- listeners and mod_ban --------------------------------------------------

    def test_a_jsonl_listener_gets_the_events_with_hostile_names_intact(self):
        s = self.serve("MaxClientsPerHost 1\nOnEvent * jsonl events.jsonl\n")
        a, _ = s.login("alice")
        evil = "x$(touch pwned)\x1b[31m%n"
        c = s.connect()
        c.sendcmd("USER " + evil)
        with self.assertRaises(ftplib.error_perm):
            c.sendcmd("PASS wrong")
        c.close()
        b, _ = s.login("bob")
        evs = s.wait_events("core.exit", 2)
        users = {e.get("user") for e in evs}
        self.assertIn(evil, users)
        self.assertIn("bob", users)
        self.assertEqual(len(s.events("mod_auth.max-clients-per-host")), 1)
        self.assertFalse(os.path.exists(s.path("pwned")))
        close_all(a)

    def test_hostile_user_names_are_counted_and_never_interpreted(self):
        """Attacker strings as user names, sent raw (ftplib refuses CR):
        every reply stays one well-formed line, MaxLoginAttempts holds for
        each of them (no name makes the module fail open), events and exec
        arguments carry them literally, and logs carry them escaped."""
        s = Server("")
        self.addCleanup(s.cleanup)
        argv_sh = s.path("argv.sh")
        with open(argv_sh, "w") as f:
            f.write("#!/bin/sh\nprintf '%s\\000' \"$1\" >> \"$(dirname \"$0\")/argv.out\"\n")
        os.chmod(argv_sh, 0o755)
        s._own(s.path("argv.out"))
        s.write_policy("MaxLoginAttempts 2\n"
                       "OnEvent mod_auth.max-login-attempts jsonl events.jsonl\n"
                       f"OnEvent mod_auth.max-login-attempts exec {argv_sh} %u\n")
        s.start()
        self.addCleanup(self.dump_logs_on_failure, s)
        s_path = s.path("pwned")
        names = [b"%n%s%x%n%p", b"$(touch " + s_path.encode() + b")",
                 b"`touch " + s_path.encode() + b"`;x", b"a'b\"c\\d|&;<>",
                 b"\xc0\xaf\xfe\xed\xa0\x80\xf8", b"esc\x1b[31mred\x07", b"cr\rPASS x",
                 b"B" * 250]  # ProFTPD refuses longer names itself (501)
        for name in names:
            with socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT,
                                          source_address=("127.0.0.3", 0)) as c:
                r = c.makefile("rb")
                self.assertTrue(r.readline().startswith(b"220"))
                replies = []
                for _ in range(2):
                    c.sendall(b"USER " + name + b"\r\n")
                    replies.append(r.readline())
                    c.sendall(b"PASS wrong\r\n")
                    replies.append(r.readline())
                # ProFTPD's own 331 echoes the name as sent; no line may
                # hold a CR or LF before its end (another reply injected).
                for line in replies:
                    self.assertRegex(line, rb"^[0-9]{3} [^\r\n]*\r\n$", name)
                self.assertTrue(replies[-1].startswith(b"530"), (name, replies))
                self.assertEqual(r.readline(), b"", name)  # the session was ended
        evs = s.wait_events("mod_auth.max-login-attempts", len(names))
        self.assertEqual(len(evs), len(names))
        users = [e["user"] for e in evs]
        for name in names[:4]:
            self.assertIn(name.decode(), users)
        deadline = time.time() + 5
        while time.time() < deadline:
            with open(s.path("argv.out"), "rb") as f:
                args = f.read().split(b"\0")[:-1]
            if len(args) >= len(names):
                break
            time.sleep(0.05)
        self.assertEqual(len(args), len(names))
        for name in names[:4]:
            self.assertIn(name, args)
        self.assertFalse(os.path.exists(s_path))
        with open(s.path("ftplimitd.log"), "rb") as f:
            log = f.read()
        self.assertNotIn(b"\x1b", log)
        self.assertNotIn(b"\r", log)
        # The server is still whole: a good login works, and nothing is left.
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        close_all(a)
        self.assertEqual(s.wait_clients(0), 0)

    @unittest.skipUnless(os.path.exists(MOD_BAN), "Debian's mod_ban is not installed")
    def test_mod_ban_bans_a_host_on_ftplimit_events(self):
        s = self.serve("MaxClientsPerHost 1\n",
                       "<IfModule mod_ban.c>\n  BanEngine on\n"
                       "  BanTable @DIR@/ban.tab\n  BanLog @DIR@/ban.log\n"
                       "  BanOnEvent MaxClientsPerHost 2/00:01:00 00:05:00 \"Banned by mod_ban\"\n"
                       "</IfModule>\n")
        a, _ = s.login("alice")
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertRefused(reply, "530", "maximum number of clients (1)")
        # The second refusal reaches mod_ban's threshold: it bans the host
        # (and ends that session itself), once the 530 is sent.
        c, reply = s.login("carol")
        self.assertIsNone(c)
        self.assertRefused(reply, "530", "maximum number of clients (1)")
        deadline = time.time() + 5
        banned = "added MaxClientsPerHost-triggered autoban for host '127.0.0.2'"
        while time.time() < deadline and banned not in open(s.path("ban.log")).read():
            time.sleep(0.05)
        self.assertIn(banned, open(s.path("ban.log")).read())
        # The next connection from the host meets mod_ban's ban.
        d, reply = s.login("dave")
        self.assertIsNone(d)
        self.assertRefused(reply, "530", "Banned by mod_ban")
        e, reply = s.login("erin", host=3)  # another host is not banned
        self.assertIsNotNone(e, reply)
        close_all(a, e)

    # --- a farm (issue 27, doc/cluster.md) ---------------------------------------

    def redis(self):
        """A redis-server on 127.0.0.1 and a free port, stopped at the end:
        its port."""
        binary = shutil.which("redis-server", path=os.environ.get("PATH", "") + ":/usr/bin")
        if binary is None:
            self.fail("redis-server is missing (tools/install-deps.sh installs it)")
        work = tempfile.mkdtemp(prefix="ftplimit-e2e-redis-")
        port = free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", work],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(shutil.rmtree, work, True)
        self.addCleanup(lambda: (proc.kill(), proc.wait()))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.05)
        self.fail("redis-server did not start")

    def test_a_farm_of_two_servers_shares_a_users_limit_and_its_bans(self):
        port = self.redis()
        policy = (f"Cluster redis://127.0.0.1:{port}\nClusterNode @NODE@\n"
                  "MaxClientsPerUser 1\nOnEvent * jsonl events.jsonl\n")
        a = self.serve(policy.replace("@NODE@", "ftp-a"))
        b = self.serve(policy.replace("@NODE@", "ftp-b"))
        for s in (a, b):  # both nodes in the farm
            deadline = time.time() + 10
            while time.time() < deadline and not (s.status() or {}).get("cluster", {}).get("up"):
                time.sleep(0.1)
            self.assertTrue(s.status()["cluster"]["up"], s.logs())
        x, reply = a.login("alice", host=2)
        self.assertIsNotNone(x, reply)
        # alice's one session is on a: b refuses her, as ProFTPD would on one
        # server, after the PASS, with its 530 and its event.
        y, reply = b.login("alice", host=3)
        self.assertIsNone(y)
        self.assertRefused(reply, "530", "maximum number of clients (1) for this user")
        self.assertEqual(len(b.wait_events("mod_auth.max-clients-per-user", 1)), 1)
        z, reply = b.login("bob", host=3)
        self.assertIsNotNone(z, reply)
        # a ban on a: b refuses the host at its connect.
        out = subprocess.run([FTPLIMIT, "ban", "add", "host", "127.0.0.5", "600",
                              "farm says no", "-s", a.path("ftplimitd.sock")],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        deadline = time.time() + 2
        while time.time() < deadline and not any(
                x["target"] == "127.0.0.5" for x in json.loads(subprocess.run(
                    [FTPLIMIT, "ban", "list", "--json", "-s", b.path("ftplimitd.sock")],
                    capture_output=True, text=True, timeout=20).stdout)["bans"]):
            time.sleep(0.02)
        w, reply = b.login("carol", host=5)
        self.assertIsNone(w)
        self.assertRefused(reply, "421", "farm says no")
        # alice leaves a: b lets her in.
        x.quit()
        deadline = time.time() + 5
        y = None
        while time.time() < deadline and y is None:
            y, reply = b.login("alice", host=3)
            if y is None:
                time.sleep(0.1)
        self.assertIsNotNone(y, reply)
        close_all(y, z)

    # --- kill -9 -------------------------------------------------------------------

    def test_kill_9_of_session_processes_releases_their_counts(self):
        s = self.serve("MaxClientsPerHost 2\n")
        a, _ = s.login("alice")
        b, _ = s.login("bob")
        c, reply = s.login("carol")
        self.assertIsNone(c)
        for pid in s.sessions_of("alice") + s.sessions_of("bob"):
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(s.wait_clients(0), 0)
        d, reply = s.login("dave")
        e, reply2 = s.login("erin")
        self.assertIsNotNone(d, reply)
        self.assertIsNotNone(e, reply2)
        a.close()
        b.close()
        close_all(d, e)

    def test_kill_9_of_the_engine_restarts_it_and_the_live_sessions_count_again(self):
        s = self.serve("MaxClientsPerHost 2\n")
        a, _ = s.login("alice")
        b, _ = s.login("bob")
        first = s.ftplimitd_pid()
        self.assertIsNotNone(first)
        os.kill(first, signal.SIGKILL)
        self.assertEqual(s.wait_clients(2), 2)  # a new daemon, both sessions back
        self.assertNotEqual(s.ftplimitd_pid(), first)
        c, reply = s.login("carol")
        self.assertIsNone(c)
        self.assertRefused(reply, "530", "maximum number of clients (2)")
        self.assertEqual(a.sendcmd("NOOP")[:3], "200")  # live sessions untouched
        close_all(a, b)

    def external(self, fail_mode):
        """A server using an ftplimitd the test runs itself."""
        s = Server("MaxClientsPerHost 2\n", ftplimit_conf=None)
        self.addCleanup(s.cleanup)
        sock = s.path("external.sock")
        with open(s.conf) as f:
            conf = f.read().replace(
                f"FtpLimitPolicy {s.policy}\n",
                f"FtpLimitSocket {sock}\nFtpLimitFailMode {fail_mode}\n")
        with open(s.conf, "w") as f:
            f.write(conf)
        s.external_sock = sock
        return s

    def start_external(self, s):
        s._own(s.path("external.log"))  # it opens its log as nobody
        d = subprocess.Popen([FTPLIMITD, "-f", "-c", s.policy, "-s", s.external_sock,
                              "-u", "nobody", "-l", s.path("external.log")],
                             start_new_session=True)
        self.addCleanup(lambda: (d.poll() is None and d.kill(), d.wait()))
        deadline = time.time() + 10
        while not os.path.exists(s.external_sock) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        return d

    def test_fail_mode_closed_refuses_while_the_engine_is_away(self):
        s = self.external("closed")
        d = self.start_external(s)
        s.start()
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        d.kill()
        d.wait()
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertRefused(reply, "421", "Service not available")
        self.assertIn("FtpLimitFailMode closed", s.logs())
        # Back: alice's session is declared again and counts.
        d = self.start_external(s)
        self.assertEqual(s.wait_clients(1), 1)
        close_all(a)

    def test_fail_mode_open_allows_while_the_engine_is_away_and_declares_later(self):
        s = self.external("open")
        d = self.start_external(s)
        s.start()
        d.kill()
        d.wait()
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        b, reply = s.login("bob")
        self.assertIsNotNone(b, reply)
        d = self.start_external(s)
        # Sessions let in while it was away are declared when it is back.
        self.assertEqual(s.wait_clients(2), 2)
        c, reply = s.login("carol")
        self.assertIsNone(c)
        self.assertRefused(reply, "530", "maximum number of clients (2)")
        close_all(a, b)

    # --- SIGHUP ----------------------------------------------------------------

    def test_sighup_applies_a_changed_policy_and_keeps_live_sessions(self):
        s = self.serve("MaxClientsPerHost 2\n")
        a, _ = s.login("alice")
        b, _ = s.login("bob")
        s.write_policy("MaxClientsPerHost 3\n")
        os.kill(s.proc.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reloaded" not in s.logs():
            time.sleep(0.1)
        self.assertEqual(s.wait_clients(2), 2)
        c, reply = s.login("carol")
        self.assertIsNotNone(c, reply)
        d, reply = s.login("dave")
        self.assertIsNone(d)
        self.assertRefused(reply, "530", "maximum number of clients (3)")
        self.assertEqual(a.sendcmd("NOOP")[:3], "200")
        close_all(a, b, c)

    def test_sighup_with_a_new_ftplimitlog_restarts_the_daemon_and_keeps_the_counts(self):
        # Issue 24, point 11: a changed FtpLimitLog was ignored at a restart.
        s = self.serve("MaxClientsPerHost 1\n")
        a, _ = s.login("alice")
        new_log = s.path("ftplimitd-new.log")
        with open(s.conf) as f:
            conf = f.read()
        self.assertIn(s.path("ftplimitd.log"), conf)
        with open(s.conf, "w") as f:
            f.write(conf.replace(s.path("ftplimitd.log"), new_log))
        os.kill(s.proc.pid, signal.SIGHUP)
        deadline = time.time() + 15
        while time.time() < deadline and not (
                os.path.exists(new_log) and "listening on" in open(new_log).read()):
            time.sleep(0.1)
        self.assertIn("listening on", open(new_log).read())
        # The new daemon counts alice's session again: bob from her host is
        # refused.
        self.assertEqual(s.wait_clients(1), 1)
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertRefused(reply, "530", "maximum number of clients (1)")
        self.assertEqual(a.sendcmd("NOOP")[:3], "200")
        close_all(a)

    def test_a_clean_stop_removes_the_socket_key_and_policy_and_daemonuser_runs_it(self):
        # Issue 25: the socket was left behind (the daemon, no longer root,
        # may not remove it from a root's directory). FtpLimitDaemonUser
        # runs the daemon as a user of its own instead of ProFTPD's User.
        conf = ("FtpLimitEngine on\n"
                f"FtpLimitPolicy {{policy}}\n"
                f"FtpLimitDaemon {FTPLIMITD}\n"
                "FtpLimitDaemonUser daemon\n")
        s = Server("MaxClientsPerHost 1\n", ftplimit_conf=conf.replace("{policy}", "@DIR@/policy.conf"))
        self.addCleanup(s.cleanup)
        s.start()
        files = [s.path(n) for n in ("ftplimitd.sock", "ftplimitd.sock.key",
                                     "ftplimit-proftpd.conf")]
        for f in files:
            self.assertTrue(os.path.exists(f), f)
        with open(f"/proc/{s.ftplimitd_pid()}/status") as f:
            uid = [line.split()[1] for line in f if line.startswith("Uid:")][0]
        self.assertEqual(int(uid), pwd.getpwnam("daemon").pw_uid)
        a, _ = s.login("alice")
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertRefused(reply, "530", "maximum number of clients (1)")
        close_all(a)
        s.stop()
        self.assertEqual([f for f in files if os.path.lexists(f)], [])

    def test_master_limits_written_above_loadmodule_are_carried_not_lost(self):
        # Issue 25: Debian's proftpd.conf sets MaxInstances 30 above
        # conf.d/, where the package loads the module: it was neither noted
        # nor left to ProFTPD (the master's variable was emptied), so no
        # MaxInstances held at all.
        s = Server("OnEvent * jsonl events.jsonl\n",
                   before_load="MaxInstances 2\nMaxConnectionRate 50 2\n")
        self.addCleanup(s.cleanup)
        s.start()
        self.addCleanup(self.dump_logs_on_failure, s)
        limits = s.status()["limits"]
        self.assertEqual(limits.get("MaxInstances"), 2)
        a, b = s.connect(2), s.connect(3)
        c, reply = s.login("carol", host=4)
        self.assertIsNone(c)
        self.assertRefused(reply, "421", "maximum number of connections (2) to this server")
        self.assertEqual(len(s.wait_events("core.max-instances", 1)), 1)
        with open(s.path("ftplimit-proftpd.conf")) as f:
            policy = f.read()
        self.assertIn("MaxInstances 2\n", policy)
        self.assertIn("MaxConnectionRate 50 2\n", policy)
        close_all(a, b)

    def test_sighup_with_a_broken_policy_keeps_the_server_and_the_old_policy(self):
        s = self.serve("MaxClientsPerHost 1\n")
        a, _ = s.login("alice")
        s.write_policy("MaxClientsPerHost 5\nMaxClientsPerHots 3\n")
        os.kill(s.proc.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "the old policy stays" not in s.logs():
            time.sleep(0.1)
        self.assertIn("policy.conf:2: unknown directive 'MaxClientsPerHots'", s.logs())
        self.assertIsNone(s.proc.poll())  # ProFTPD runs on
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertRefused(reply, "530", "maximum number of clients (1)")
        close_all(a)

    # --- configuration -----------------------------------------------------------

    def test_a_bad_policy_is_reported_by_proftpd_t_with_its_file_and_line(self):
        s = Server("MaxClientsPerHost 2\nMaxClient 3\n")
        self.addCleanup(s.cleanup)
        out = subprocess.run([PROFTPD, "-t", "-c", s.conf], capture_output=True, text=True,
                             env=dict(os.environ, **sanitizer_env()))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(f"{s.policy}:2: unknown directive 'MaxClient'", out.stdout + out.stderr)

    def test_an_unknown_ftplimitdaemonuser_is_a_configuration_error(self):
        conf = ("FtpLimitEngine on\n"
                f"FtpLimitDaemon {FTPLIMITD}\n"
                "FtpLimitDaemonUser no-such-user-here\n")
        s = Server("", ftplimit_conf=conf)
        self.addCleanup(s.cleanup)
        out = subprocess.run([PROFTPD, "-t", "-c", s.conf], capture_output=True, text=True,
                             env=dict(os.environ, **sanitizer_env()))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("FtpLimitDaemonUser: no such user: no-such-user-here",
                      out.stdout + out.stderr)

    def test_a_policy_check_that_never_ends_is_stopped(self):
        """Issue 24, point 6: `ftplimitd -t` has a deadline in the module (a
        daemon stuck on the policy's files cannot hold ProFTPD's start)."""
        s = Server("MaxClients 3\n")
        self.addCleanup(s.cleanup)
        stuck = s.path("stuck-ftplimitd")
        with open(stuck, "w") as f:
            f.write("#!/bin/sh\nexec sleep 120\n")
        os.chmod(stuck, 0o755)
        with open(s.conf) as f:
            conf = f.read().replace(f"FtpLimitDaemon {FTPLIMITD}", f"FtpLimitDaemon {stuck}")
        with open(s.conf, "w") as f:
            f.write(conf)
        t0 = time.monotonic()
        out = subprocess.run([PROFTPD, "-t", "-c", s.conf], capture_output=True, text=True,
                             env=dict(os.environ, **sanitizer_env()), timeout=60)
        took = time.monotonic() - t0
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("-t did not finish within 10 s and was stopped", out.stdout + out.stderr)
        self.assertLess(took, 20)

    def test_the_engine_alone_is_a_setup_and_a_missing_daemon_is_fatal(self):
        # FtpLimitEngine on, no policy: proftpd.conf's limits are the policy.
        s = Server("", "MaxClientsPerHost 2\n",
                   ftplimit_conf=ENGINE_ONLY)
        self.addCleanup(s.cleanup)
        out = subprocess.run([PROFTPD, "-t", "-c", s.conf], capture_output=True, text=True,
                             env=dict(os.environ, **sanitizer_env()))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("enforces   MaxClientsPerHost 2", out.stdout + out.stderr)
        # Without the daemon to check and run it, ProFTPD does not start.
        s = Server("", ftplimit_conf="FtpLimitEngine on\nFtpLimitDaemon /nonexistent/ftplimitd\n")
        self.addCleanup(s.cleanup)
        out = subprocess.run([PROFTPD, "-t", "-c", s.conf], capture_output=True, text=True,
                             env=dict(os.environ, **sanitizer_env()))
        self.assertEqual(out.returncode, 1)
        self.assertIn("fatal: mod_ftplimit", out.stdout + out.stderr)
        self.assertIn("cannot run /nonexistent/ftplimitd", out.stdout + out.stderr)

    def test_the_module_loads_neither_jansson_nor_libmaxminddb(self):
        """Every session process maps what the module needs: only ftplimitd
        parses policies and reads GeoIP databases."""
        out = subprocess.run(["readelf", "-d", os.path.join(MODULE_DIR, "mod_ftplimit.so")],
                             capture_output=True, text=True, check=True).stdout
        needed = [line.split("[")[1].rstrip("]") for line in out.splitlines()
                  if "(NEEDED)" in line]
        self.assertIn("libc.so.6", needed)
        for lib in needed:
            self.assertFalse(lib.startswith(("libjansson", "libmaxminddb")), needed)

    def test_ftplimit_engine_off_leaves_proftpd_alone(self):
        s = Server("MaxClientsPerHost 1\n",
                   ftplimit_conf="FtpLimitEngine off\nFtpLimitPolicy @DIR@/policy.conf\n")
        self.addCleanup(s.cleanup)
        s.start(engine=False)
        a, _ = s.login("alice")
        b, reply = s.login("bob")
        self.assertIsNotNone(b, reply)
        self.assertIsNone(s.ftplimitd_pid())
        close_all(a, b)


LIVE = set()  # the Servers started and not yet cleaned up


def stop_on_sigterm():
    """A run that is killed (a CI timeout, kill) still stops its servers and
    removes their directories."""
    def stop(signum, frame):
        for s in list(LIVE):
            try:
                s.cleanup()
            except AssertionError:
                pass
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main():
    stop_on_sigterm()
    if os.geteuid() != 0:
        print("SKIP: the ProFTPD tests need root (ProFTPD switches users)")
        return 77
    if PROFTPD is None:
        print("SKIP: proftpd is not installed (Debian package proftpd-core)")
        return 77
    if not os.path.exists(os.path.join(MODULE_DIR, "mod_ftplimit.so")):
        print("SKIP: mod_ftplimit was not built (configure found no ProFTPD headers)")
        return 77
    # The tests of the script that was run (this one, or another suite that
    # imports this one's Server).
    result = unittest.main(module="__main__", argv=[sys.argv[0], "-v"] + sys.argv[1:],
                           exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
