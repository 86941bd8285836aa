#!/usr/bin/env python3
"""End to end: mod_ftplimit behaves as ProFTPD's own limits do.

Each scenario runs against a real ProFTPD with mod_ftplimit and, where
ProFTPD's mod_auth has the same limit, against a stock ProFTPD enforcing it
itself: the client's transcript and the ExtendedLog lines must be the same.
Then what only ftplimit does: anonymous logins as ProFTPD resolves them,
SSH logins through mod_sftp (Debian's proftpd-mod-crypto; the client is
Debian's python3-paramiko, run by /usr/bin/python3, and OpenSSH's sftp),
and counts that survive the daemon's restart whoever the session
processes run as.

Servers, their files and their daemons live in temporary directories and
are stopped even when a test fails (the Server of e2e_proftpd.py). Needs
root; without ProFTPD the suite is skipped (exit 77), and so is each test
whose Debian package is missing, saying which.
"""
import ftplib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import e2e_proftpd as e2e
from e2e_proftpd import PASSWORD, Server, close_all, test_failed

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-paramiko
SSH_CLIENT = os.path.join(HERE, "sshclient.py")
EXTENDED_LOG = "ExtendedLog @DIR@/ext.log AUTH default\n"
SFTP = ("SFTPEngine on\nSFTPHostKey @DIR@/ssh_host_rsa_key\nSFTPLog @DIR@/sftp.log\n"
        "SFTPAuthorizedUserKeys file:@DIR@/keys/%u\n")


def have_paramiko():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import paramiko"],
                          capture_output=True).returncode == 0


def needs_sftp(test):
    """SSH tests need mod_sftp and paramiko; say which is missing."""
    if not os.path.exists(e2e.MOD_SFTP):
        return unittest.skip("mod_sftp is not installed (Debian package proftpd-mod-crypto)")(test)
    if not have_paramiko():
        return unittest.skip("paramiko is not importable by /usr/bin/python3 "
                             "(Debian package python3-paramiko)")(test)
    return test


def transcript(server, commands, host=2):
    """Each reply line of the server: its banner, then one per command, up
    to the end of the session (b"")."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=e2e.TIMEOUT,
                                  source_address=(f"127.0.0.{host}", 0)) as c:
        r = c.makefile("rb")
        out = [r.readline()]
        for command in commands:
            try:
                c.sendall(command.encode() + b"\r\n")
                line = r.readline()
            except OSError:  # the server closed with our command unread
                line = b""
            out.append(line)
            if not line:
                break
        return out


def extended_log(server, count):
    """The ExtendedLog's lines once there are count, without their times."""
    deadline = time.time() + 5
    lines = []
    while time.time() < deadline:
        try:
            with open(server.path("ext.log")) as f:
                lines = [re.sub(r"\[[^]]*\]", "[]", line.rstrip("\n")) for line in f]
        except OSError:
            lines = []
        if len(lines) >= count:
            break
        time.sleep(0.05)
    return lines


def wait_for(predicate, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def in_anonymous_block(server, lines):
    """Put directives inside the harness's <Anonymous> block."""
    with open(server.conf) as f:
        conf = f.read()
    conf = conf.replace("  UserAlias anonymous ftp\n", "  UserAlias anonymous ftp\n" + lines)
    with open(server.conf, "w") as f:
        f.write(conf)


class Fidelity(unittest.TestCase):

    def serve(self, policy, conf="", start=True, **kw):
        s = Server(policy, conf, **kw)
        self.addCleanup(s.cleanup)
        self.addCleanup(self.dump_logs_on_failure, s)
        if start:
            s.start(engine=kw.get("module", True))
        return s

    def dump_logs_on_failure(self, s):
        if test_failed(self):
            sys.stderr.write(s.logs())

    def both(self, policy, stock_conf, conf="", anon_block=""):
        """A server with mod_ftplimit and the policy, and a stock one with
        stock_conf's mod_auth directives instead; conf goes to both."""
        ours = self.serve(policy, conf, start=False)
        stock = self.serve("", conf + stock_conf, start=False, module=False)
        if anon_block:
            in_anonymous_block(ours, anon_block)
            in_anonymous_block(stock, anon_block)
        ours.start()
        stock.start(engine=False)
        return ours, stock

    def system_log(self, s):
        with open(s.path("system.log"), errors="replace") as f:
            return f.read()

    # --- the refusal sequence, as mod_auth's ---------------------------------

    def test_the_last_failed_attempt_is_answered_logged_and_ends_as_with_mod_auth(self):
        ours, stock = self.both("MaxLoginAttempts 3\nOnEvent * jsonl events.jsonl\n",
                                "MaxLoginAttempts 3\n", EXTENDED_LOG)
        commands = ["USER alice", "PASS wrong"] * 3 + ["NOOP"]
        got, want = transcript(ours, commands), transcript(stock, commands)
        self.assertEqual(got, want)
        self.assertEqual(got[-2:], [b"530 Login incorrect.\r\n", b""])
        # The refused PASS is in the ExtendedLog, with its 530 (bug 3811).
        self.assertEqual(extended_log(ours, 6), extended_log(stock, 6))
        self.assertEqual(extended_log(ours, 6)[-1],
                         '127.0.0.2 UNKNOWN - [] "PASS (hidden)" 530 -')
        for s in (ours, stock):
            self.assertIn("Maximum login attempts (3) exceeded, connection refused",
                          self.system_log(s))
        self.assertEqual(len(ours.wait_events("mod_auth.max-login-attempts", 1)), 1)

    def test_a_limit_refusal_after_pass_is_logged_with_its_530_as_with_mod_auth(self):
        ours, stock = self.both("MaxClientsPerHost 1 \"Only %m from here.\"\n",
                                "MaxClientsPerHost 1 \"Only %m from here.\"\n", EXTENDED_LOG)
        held = []
        for s in (ours, stock):
            a, reply = s.login("alice")
            self.assertIsNotNone(a, reply)
            held.append(a)
        commands = ["USER bob", "PASS " + PASSWORD, "PWD"]
        got, want = transcript(ours, commands), transcript(stock, commands)
        self.assertEqual(got, want)
        self.assertEqual(got[2:], [b"530 Only 1 from here.\r\n", b""])
        self.assertEqual(extended_log(ours, 4), extended_log(stock, 4))
        self.assertEqual(extended_log(ours, 4)[-1],
                         '127.0.0.2 UNKNOWN bob [] "PASS (hidden)" 530 -')
        self.assertIn("Connection refused (MaxClientsPerHost 1)", self.system_log(ours))
        close_all(*held)

    def test_a_pass_after_the_login_is_mod_auths_to_answer_and_no_attempt(self):
        # Were it an attempt the engine could not take, this fail mode would
        # end the session.
        ours, stock = self.both("MaxLoginAttempts 1\n", "MaxLoginAttempts 1\n",
                                "<IfModule mod_ftplimit.c>\n  FtpLimitFailMode closed\n"
                                "</IfModule>\n")
        commands = ["USER alice", "PASS " + PASSWORD, "PASS again", "NOOP"]
        got, want = transcript(ours, commands), transcript(stock, commands)
        self.assertEqual(got, want)
        self.assertEqual(got[3:], [b"503 You are already logged in\r\n",
                                   b"200 NOOP command successful\r\n"])

    @unittest.skipUnless(os.path.exists(e2e.MOD_BAN), "Debian's mod_ban is not installed")
    def test_mod_ban_bans_after_the_530_of_the_last_attempt_as_with_mod_auth(self):
        ban = ("<IfModule mod_ban.c>\n  BanEngine on\n  BanTable @DIR@/ban.tab\n"
               "  BanLog @DIR@/ban.log\n"
               "  BanOnEvent MaxLoginAttempts 1/00:01:00 00:05:00 \"Banned by mod_ban\"\n"
               "</IfModule>\n")
        ours, stock = self.both("MaxLoginAttempts 3\n", "MaxLoginAttempts 3\n", ban)
        commands = ["USER alice", "PASS wrong"] * 3
        for s in (ours, stock):
            self.assertEqual(transcript(s, commands)[-1], b"530 Login incorrect.\r\n")
            self.assertTrue(wait_for(lambda: "autoban for host '127.0.0.2'" in
                                     open(s.path("ban.log")).read()))
            # The next connection from the host meets mod_ban's ban.
            self.assertEqual(transcript(s, ["USER alice"])[0],
                             b"530 Banned by mod_ban\r\n")
            self.assertEqual(transcript(s, ["USER alice"], host=3)[0][:4], b"220 ")

    def test_access_deny_msg_is_the_text_of_a_refused_logins_530(self):
        ours, stock = self.both("MaxLoginAttempts 2\nAnonRejectPasswords ^nobody$\n",
                                "MaxLoginAttempts 2\n",
                                "AccessDenyMsg \"No entry for %u.\"\n",
                                anon_block="  AccessDenyMsg \"Anonymous: no.\"\n"
                                           "  AnonRejectPasswords ^nobody$\n")
        for commands in (["USER alice", "PASS wrong"] * 2,
                         ["USER anonymous", "PASS nobody", "USER anonymous",
                          "PASS me@example.org"]):
            got, want = transcript(ours, commands), transcript(stock, commands)
            self.assertEqual(got, want)
        self.assertEqual(transcript(ours, ["USER alice", "PASS wrong"] * 2)[2:],
                         [b"530 No entry for alice.\r\n", b"331 Password required for alice\r\n",
                          b"530 No entry for alice.\r\n"])
        got = transcript(ours, ["USER anonymous", "PASS nobody"])
        self.assertEqual(got[-1], b"530 Anonymous: no.\r\n")

    # --- anonymous logins, as ProFTPD resolves them ------------------------------

    def test_every_name_of_an_anonymous_block_is_anonymous_and_one_user(self):
        # The policy's AnonymousUsers names none of them: ProFTPD's block
        # decides, for AnonRejectPasswords and for counting.
        s = self.serve("AnonymousUsers nobody-at-all\nAnonRejectPasswords ^nobody$\n"
                       "MaxClientsPerUser 2\nOnEvent mod_auth.* jsonl events.jsonl\n",
                       start=False)
        in_anonymous_block(s, "  UserAlias guest ftp\n  UserAlias daemon ftp\n")
        s.start()
        # A rejected password is a failed attempt: the session goes on.
        got = transcript(s, ["USER daemon", "PASS nobody", "USER daemon",
                             "PASS me@example.org", "PWD"])
        self.assertEqual(got[2], b"530 Login incorrect.\r\n")
        self.assertTrue(got[4].startswith(b"230 "), got)
        ev = s.wait_events("mod_auth.anon-reject-passwords", 1)
        self.assertEqual(ev[0]["user"], "daemon")
        a, reply = s.login("guest", "me@example.org")
        self.assertTrue(reply.startswith("230"), reply)
        b, reply = s.login("anonymous", "me@example.org")
        self.assertTrue(reply.startswith("230"), reply)
        c, reply = s.login("daemon", "me@example.org")
        self.assertIsNone(c)
        self.assertIn("maximum number of clients (2) for this user", reply)
        ev = s.wait_events("mod_auth.max-clients-per-user", 1)
        self.assertEqual(ev[0]["user"], "ftp")  # the block's User, as mod_auth says
        users = {u["key"]: u["clients"] for u in s.status()["users"]}
        self.assertEqual(users, {"ftp": 2})
        close_all(a, b)

    def test_an_anonymous_login_proftpd_refuses_after_its_password_is_undone_cleanly(self):
        # The engine lets the login in when ProFTPD has checked the password;
        # ProFTPD then cannot chroot to the block's directory and refuses it:
        # the login is undone and reported as the failed attempt it is,
        # its password not checked again as if it were empty.
        s = self.serve("AnonRejectPasswords ^$\nMaxLoginAttempts 5\n"
                       "OnEvent * jsonl events.jsonl\n")
        os.rmdir(s.path("anon"))
        # ProFTPD's refusal is two lines; a line is read per command.
        got = transcript(s, ["USER anonymous", "PASS me@example.org", "NOOP", "NOOP"])
        self.assertEqual(got[2:4], [b"530-Unable to set anonymous privileges.\r\n",
                                    b"530 Login incorrect.\r\n"])
        self.assertEqual(got[4], b"200 NOOP command successful\r\n")  # it goes on
        self.assertEqual(s.events("mod_auth.anon-reject-passwords"), [])
        sock = s.path("ftplimitd.sock")
        metrics = subprocess.run([e2e.FTPLIMIT, "metrics", "-s", sock], capture_output=True,
                                 text=True, timeout=20).stdout
        self.assertIn("\nftplimit_daemon_logouts_total 1\n", metrics)
        self.assertEqual(s.status()["totals"]["clients"], 0)

    def test_a_name_in_anonymous_users_but_not_in_a_block_is_a_real_user(self):
        # By the list alone, bob would be anonymous: his password (which the
        # module never sends) would be refused, and he would count as "ftp".
        s = self.serve("AnonymousUsers ftp bob\nAnonRejectPasswords ^$\n"
                       "MaxClientsPerUser 5\n")
        b, reply = s.login("bob", PASSWORD)
        self.assertIsNotNone(b, reply)
        users = {u["key"]: u["clients"] for u in s.status()["users"]}
        self.assertEqual(users, {"bob": 1})
        close_all(b)

    def test_an_anonymous_password_longer_than_the_protocol_carries_is_refused(self):
        s = self.serve("AnonRejectPasswords \"!@\"\nMaxLoginAttempts 3\n")
        long_password = "me@example.org" + "x" * 1500  # its first 1024 bytes pass
        got = transcript(s, ["USER anonymous", "PASS " + long_password,
                             "USER anonymous", "PASS me@example.org"])
        self.assertEqual(got[2], b"530 Login incorrect.\r\n")
        self.assertTrue(got[4].startswith(b"230 "), got)
        self.assertIn("ANON anonymous: password longer than 1024 bytes refused",
                      self.system_log(s))

    # --- SSH (mod_sftp) -------------------------------------------------------------

    def ssh(self, s, user, *credentials, host=2, hold=False):
        """An SSH session of paramiko's: (its JSON result, the process when
        held)."""
        args = [SYSTEM_PYTHON, SSH_CLIENT, str(s.port), f"127.0.0.{host}", user,
                *credentials] + (["--hold"] if hold else [])
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        if hold:
            self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
            line, err = p.stdout.readline(), ""
        else:
            out, err = p.communicate(timeout=60)
            line = out.split("\n")[0]
        self.assertTrue(line, "sshclient printed nothing: " + err)
        return json.loads(line), p

    @needs_sftp
    def test_ssh_logins_meet_the_limits_with_mod_sftps_disconnect(self):
        s = self.serve("MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl events.jsonl\n",
                       SFTP + EXTENDED_LOG)
        held, _ = self.ssh(s, "alice", "password:" + PASSWORD, hold=True)
        self.assertEqual(held["attempts"], ["ok"], held)
        refused, _ = self.ssh(s, "bob", "password:" + PASSWORD)
        self.assertNotIn("ok", refused["attempts"], refused)
        self.assertEqual(refused["disconnect"], [12, "Maximum connections for host/user reached"])
        self.assertEqual(extended_log(s, 4)[-1], '127.0.0.2 UNKNOWN bob [] "PASS (hidden)" 530 -')
        ev = s.wait_events("mod_auth.max-clients-per-host", 1)
        self.assertEqual(ev[0]["user"], "bob")
        self.assertEqual(s.wait_clients(1), 1)
        ok, _ = self.ssh(s, "bob", "password:" + PASSWORD, host=3)  # another host
        self.assertEqual(ok["attempts"], ["ok"], ok)

    @needs_sftp
    def test_ssh_password_failures_count_toward_max_login_attempts_as_with_mod_sftp(self):
        ours, stock = self.both("MaxLoginAttempts 2\nOnEvent mod_auth.* jsonl events.jsonl\n",
                                "MaxLoginAttempts 2\n", SFTP + EXTENDED_LOG)
        results = []
        for s in (ours, stock):
            r, _ = self.ssh(s, "carol", "password:a", "password:b", "password:" + PASSWORD)
            results.append(r)
            self.assertNotIn("ok", r["attempts"], r)
            self.assertIn("Maximum login attempts (2) exceeded, connection refused",
                          self.system_log(s))
        self.assertEqual(results[0]["disconnect"], results[1]["disconnect"])
        # Each attempt's PASS logged with its 530, as mod_sftp logs them (the
        # last one twice).
        self.assertEqual(extended_log(ours, 5), extended_log(stock, 5))
        self.assertEqual(len(extended_log(ours, 5)), 5)
        ev = ours.wait_events("mod_auth.max-login-attempts", 1)
        self.assertEqual((ev[0]["user"], ev[0]["count"]), ("carol", 2))

    def write_key(self, s, user, authorized):
        """An RSA key pair in s's directory; authorized for user if asked."""
        key = s.path(f"id_{user}_{'ok' if authorized else 'no'}")
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "",
                        "-f", key], check=True)
        if authorized:
            os.makedirs(s.path("keys"), exist_ok=True)
            rfc4716 = subprocess.run(["ssh-keygen", "-e", "-f", key + ".pub"], check=True,
                                     capture_output=True, text=True).stdout
            with open(s.path("keys/" + user), "a") as f:
                f.write(rfc4716)
        return key

    @needs_sftp
    @unittest.skipUnless(shutil.which("sftp"), "OpenSSH's sftp is not installed "
                                               "(Debian package openssh-client)")
    def test_ssh_publickey_refusals_count_and_offers_mod_sftp_accepts_do_not(self):
        s = self.serve("MaxLoginAttempts 1\nOnEvent mod_auth.* jsonl events.jsonl\n",
                       SFTP + "SFTPAuthMethods publickey\n")
        good = self.write_key(s, "alice", True)
        bad = self.write_key(s, "alice", False)
        # OpenSSH offers the key before it signs with it; mod_sftp says yes
        # to the offer (PK_OK): that is no attempt, and the login succeeds
        # under MaxLoginAttempts 1.
        out = subprocess.run(
            ["sftp", "-b", "-", "-P", str(s.port), "-i", good, "-o", "IdentitiesOnly=yes",
             "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "BindAddress=127.0.0.2",
             "alice@127.0.0.1"], input="pwd\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Remote working directory", out.stdout)
        # A key that is not alice's is a refused attempt: the first ends it.
        r, _ = self.ssh(s, "alice", "key:" + bad, "key:" + good, host=3)
        self.assertEqual(r["attempts"][0], "failed", r)
        self.assertNotIn("ok", r["attempts"], r)
        ev = s.wait_events("mod_auth.max-login-attempts", 1)
        self.assertEqual(ev[0]["address"], "127.0.0.3")

    @needs_sftp
    def test_an_ssh_connection_refused_at_connect_gets_a_line_before_the_version(self):
        s = self.serve("MaxConnectionsPerHost 1 \"One SSH connection at a time, %a.\"\n"
                       "OnEvent mod_auth.* jsonl events.jsonl\n", SFTP)
        held, _ = self.ssh(s, "alice", "password:" + PASSWORD, hold=True)
        self.assertEqual(held["attempts"], ["ok"], held)
        with socket.create_connection(("127.0.0.1", s.port), timeout=e2e.TIMEOUT,
                                      source_address=("127.0.0.2", 0)) as c:
            r = c.makefile("rb")
            self.assertEqual(r.readline(), b"One SSH connection at a time, 127.0.0.2.\r\n")
            self.assertEqual(r.read(), b"")  # nothing after it, not even a packet
        self.assertEqual(len(s.wait_events("mod_auth.max-connections-per-host", 1)), 1)

    @needs_sftp
    def test_ssh_sessions_meet_bans_of_their_user_and_of_their_host(self):
        s = self.serve("OnEvent * jsonl events.jsonl\n", SFTP)
        sock = s.path("ftplimitd.sock")
        for args in (["user", "alice", "1h"], ["host", "127.0.0.3", "1h"]):
            subprocess.run([e2e.FTPLIMIT, "ban", "add", *args, "-s", sock], check=True,
                           capture_output=True, timeout=20)
        r, _ = self.ssh(s, "alice", "password:" + PASSWORD)
        self.assertNotIn("ok", r["attempts"], r)
        self.assertEqual(r["disconnect"], [11, "Banned"])
        with socket.create_connection(("127.0.0.1", s.port), timeout=e2e.TIMEOUT,
                                      source_address=("127.0.0.3", 0)) as c:
            r = c.makefile("rb")
            self.assertEqual(r.readline(), b"Sorry, your host (127.0.0.3) is banned from "
                                           b"this server for a while.\r\n")
            self.assertEqual(r.read(), b"")
        ok, _ = self.ssh(s, "bob", "password:" + PASSWORD)
        self.assertEqual(ok["attempts"], ["ok"], ok)

    # --- counts across restarts, whoever the sessions run as ----------------------

    def test_kill_9_of_the_daemon_keeps_exact_counts_of_sessions_under_three_uids(self):
        s = self.serve("MaxClientsPerUser 1\n", own_uids=True)
        held = []
        for user, host in (("alice", 2), ("bob", 3), ("carol", 4)):
            f, reply = s.login(user, host=host)
            self.assertIsNotNone(f, reply)
            held.append(f)
        idle = s.connect(5)  # connected, not logged in
        # Each session process runs as its user now.
        for user in ("alice", "bob", "carol"):
            pids = s.sessions_of(user)
            self.assertEqual(len(pids), 1)
            with open(f"/proc/{pids[0]}/status") as f:
                uids = [line for line in f if line.startswith("Uid:")][0].split()[1:]
            self.assertEqual(set(uids), {str(s.uid_of(user))})
        before = s.status()["totals"]
        first = s.ftplimitd_pid()
        os.kill(first, signal.SIGKILL)
        start = time.time()
        self.assertTrue(wait_for(lambda: (s.status() or {}).get("totals", {}).get("clients")
                                 == 3 and s.status()["totals"]["sessions"] == 4, 2),
                        s.status())
        self.assertLess(time.time() - start, 2)
        after = s.status()
        for key in ("sessions", "clients", "users", "hosts"):
            self.assertEqual(after["totals"][key], before[key], key)
        self.assertEqual({u["key"]: u["clients"] for u in after["users"]},
                         {"alice": 1, "bob": 1, "carol": 1})
        self.assertNotEqual(s.ftplimitd_pid(), first)
        g, reply = s.login("alice", host=6)  # and the limits hold
        self.assertIsNone(g)
        self.assertIn("maximum number of clients (1) for this user", reply)
        close_all(*held, idle)

    def test_a_daemon_on_ftplimitsocket_gets_sessions_of_other_uids_back_by_tokens(self):
        # FtpLimitSocket: a daemon run as ProFTPD's User, as the unit in
        # contrib/ runs it (-n -m 0666); its session key beside its socket.
        s = Server("MaxClientsPerUser 1\n", own_uids=True)
        self.addCleanup(s.cleanup)
        s.external_sock = s.path("external.sock")
        with open(s.conf) as f:
            conf = f.read().replace(f"FtpLimitPolicy {s.policy}\n",
                                    f"FtpLimitSocket {s.external_sock}\n")
        with open(s.conf, "w") as f:
            f.write(conf)

        def start_daemon():
            s._own(s.path("external.log"))  # it opens its log as nobody
            d = subprocess.Popen([e2e.FTPLIMITD, "-f", "-c", s.policy, "-s", s.external_sock,
                                  "-u", "nobody", "-n", "-m", "0666",
                                  "-l", s.path("external.log")], start_new_session=True)
            self.addCleanup(lambda: (d.poll() is None and d.kill(), d.wait()))
            self.assertTrue(wait_for(lambda: s.status() is not None, 10))
            return d

        d = start_daemon()
        s.start()
        held = []
        for user, host in (("alice", 2), ("bob", 3), ("carol", 4)):
            f, reply = s.login(user, host=host)
            self.assertIsNotNone(f, reply)
            held.append(f)
        d.kill()
        d.wait()
        start_daemon()
        self.assertEqual(s.wait_clients(3, 5), 3)
        users = {u["key"]: u["clients"] for u in s.status()["users"]}
        self.assertEqual(users, {"alice": 1, "bob": 1, "carol": 1})
        f, reply = s.login("bob", host=5)
        self.assertIsNone(f)
        self.assertIn("maximum number of clients (1) for this user", reply)
        close_all(*held)

    def test_the_master_survives_a_daemon_restart_before_any_session(self):
        s = self.serve("MaxClients 5\n")
        # What the helper sends the master when the daemon answers again,
        # for it to pass on to its sessions -- of which it has none yet.
        os.kill(s.proc.pid, signal.SIGUSR2)
        self.assertFalse(wait_for(lambda: s.proc.poll() is not None, 1),
                         "the ProFTPD master died")
        first = s.ftplimitd_pid()
        os.kill(first, signal.SIGKILL)
        self.assertTrue(wait_for(lambda: s.ftplimitd_pid() not in (None, first)
                                 and s.status() is not None))
        self.assertFalse(wait_for(lambda: s.proc.poll() is not None, 1),
                         "the ProFTPD master died")
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        self.assertEqual(s.wait_clients(1), 1)
        close_all(a)

    def test_a_stopped_daemon_learns_every_session_when_it_answers_again(self):
        s = self.serve("MaxClientsPerUser 2\n", ftplimit_conf=None, start=False)
        with open(s.conf, "a") as f:
            f.write("FtpLimitTimeout 300\n")
        s.start()
        daemon = s.ftplimitd_pid()
        os.kill(daemon, signal.SIGSTOP)
        try:
            held = []
            for host in (2, 3):  # FtpLimitFailMode open: let in, unknown to it
                f, reply = s.login("alice", host=host)
                self.assertIsNotNone(f, reply)
                held.append(f)
        finally:
            os.kill(daemon, signal.SIGCONT)
        self.assertEqual(s.wait_clients(2, 5), 2)
        self.assertIn("declared itself to ftplimitd", self.system_log(s))
        f, reply = s.login("alice", host=4)
        self.assertIsNone(f)
        self.assertIn("maximum number of clients (2) for this user", reply)
        close_all(*held)

    def test_the_daemon_dies_with_the_helper_that_started_it(self):
        s = self.serve("MaxClients 5\n")
        daemon = s.ftplimitd_pid()
        with open(f"/proc/{daemon}/stat") as f:
            helper = int(f.read().split(") ")[1].split()[1])
        with open(f"/proc/{helper}/cmdline", "rb") as f:
            self.assertIn(b"mod_ftplimit helper", f.read())
        os.kill(helper, signal.SIGKILL)
        self.assertTrue(wait_for(lambda: s.ftplimitd_pid() is None, 3),
                        "ftplimitd outlived its helper")

    def test_a_broken_policy_met_when_the_daemon_restarts_goes_to_the_system_log(self):
        s = self.serve("MaxClientsPerHost 1\n")
        s.write_policy("MaxClientsPerHost 1\nMaxClientsPerHots 3\n")  # no SIGHUP
        os.kill(s.ftplimitd_pid(), signal.SIGKILL)
        self.assertTrue(wait_for(lambda: "exited with status 2" in self.system_log(s)))
        log = self.system_log(s)
        self.assertIn(f"ftplimitd: {s.policy}:2: unknown directive 'MaxClientsPerHots'", log)
        self.assertIn("sessions get FtpLimitFailMode open (let in)", log)
        a, reply = s.login("alice")  # open: let in, and it says so
        self.assertIsNotNone(a, reply)
        self.assertTrue(wait_for(lambda: "cannot reach ftplimitd" in self.system_log(s)))
        close_all(a)

    def test_session_processes_cannot_administer_the_daemon(self):
        s = self.serve("MaxClients 5\n")
        sock = s.path("ftplimitd.sock")

        def as_nobody():
            os.setgid(s.nogroup)
            os.setuid(s.nobody)

        # ProFTPD's User, whose uid the daemon and every session share.
        for args in (["ban", "add", "host", "192.0.2.1", "60"], ["status"], ["reload"]):
            out = subprocess.run([e2e.FTPLIMIT, *args, "-s", sock], capture_output=True,
                                 text=True, preexec_fn=as_nobody, timeout=20)
            self.assertNotEqual(out.returncode, 0, args)
            self.assertIn("may not", out.stdout + out.stderr, args)
        # A session's own connection, whatever uid opened it (root here).
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(sock)
            c.sendall(b"HELLO 1\nTOKEN " + b"0" * 32 + b"\nBAN ADD host 60 192.0.2.1\n")
            r = c.makefile("rb")
            r.readline()
            self.assertEqual(r.readline(), b"OK token\n")
            self.assertEqual(r.readline(), b"ERR permission a session's connection may not "
                                           b"list or change bans\n")
        self.assertEqual(s.status()["totals"]["bans"], 0)

    # --- the configuration --------------------------------------------------------------

    # --- scopes: each virtual host its own counts and limits -------------------

    def test_a_virtual_host_counts_its_own_sessions_under_its_own_limits(self):
        vport = e2e.free_port()
        # A policy block for the main server and one for the virtual host;
        # the same client host has its own count on each server.
        s = self.serve("MaxClientsPerHost 1\n"
                       f"<VirtualHost 127.0.0.1:{vport}>\n"
                       "  MaxClientsPerHost 2 \"Only %m here.\"\n"
                       "</VirtualHost>\n"
                       "OnEvent mod_auth.* jsonl events.jsonl\n",
                       f"<VirtualHost 127.0.0.1>\n"
                       f"  Port {vport}\n"
                       "  AuthOrder mod_auth_file.c\n"
                       "  AuthUserFile @DIR@/passwd\n"
                       "  AuthGroupFile @DIR@/group\n"
                       "  RequireValidShell off\n"
                       "  WtmpLog off\n"
                       "</VirtualHost>\n")
        main_port = s.port
        held = []
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        held.append(a)
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertIn("530 Sorry, the maximum number of clients (1)", reply)
        s.port = vport  # the clients of s now reach the virtual host
        try:
            for user in ("bob", "carol"):
                c, reply = s.login(user)
                self.assertIsNotNone(c, f"{user}: {reply}")
                held.append(c)
            d, reply = s.login("dave")
            self.assertIsNone(d)
            self.assertIn("530 Only 2 here.", reply)
        finally:
            s.port = main_port
        evs = s.wait_events("mod_auth.max-clients-per-host", 2)
        self.assertEqual([(e["user"], e["max"], e["count"]) for e in evs],
                         [("bob", 1, 2), ("dave", 2, 3)])
        self.assertEqual(s.status()["totals"]["clients"], 3)
        close_all(*held)

    # --- proftpd.conf's own limits, enforced by ftplimit ------------------------

    def vhost(self, port, lines=""):
        """A <VirtualHost> on 127.0.0.1:port that logs users in as the main
        server does, with lines of its own."""
        return ("<VirtualHost 127.0.0.1>\n"
                f"  Port {port}\n"
                "  AuthOrder mod_auth_file.c\n"
                "  AuthUserFile @DIR@/passwd\n"
                "  AuthGroupFile @DIR@/group\n"
                "  RequireValidShell off\n"
                "  WtmpLog off\n"
                f"{lines}"
                "</VirtualHost>\n")

    def test_proftpd_conf_limits_in_every_scope_are_enforced_by_ftplimit(self):
        vport = e2e.free_port()
        # No policy file: FtpLimitEngine on, and limits where ProFTPD has them:
        # the main server, a virtual host, an <Anonymous> block in it.
        anon = ("  <Anonymous @DIR@/anon>\n    User ftp\n    Group nogroup\n"
                "    UserAlias anonymous ftp\n    MaxClients 1\n"
                "    AnonRejectPasswords ^bad@\n  </Anonymous>\n")
        s = self.serve("", "MaxClientsPerHost 1\n" + self.vhost(
            vport, "  MaxClientsPerHost 2 \"Only %m here.\"\n  MaxClients 3\n" + anon),
                       ftplimit_conf=e2e.ENGINE_ONLY)
        held = []
        # The main server: MaxClientsPerHost 1.
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        held.append(a)
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertIn("530 Sorry, the maximum number of clients (1) from your host are "
                      "already connected.", reply)
        main_port, s.port = s.port, vport
        try:
            # The block: its AnonRejectPasswords, then MaxClients 1 among
            # its own logins.
            f, reply = s.login("anonymous", "bad@example.org", host=3)
            self.assertIsNone(f)
            self.assertIn("530 Login incorrect.", reply)
            c, reply = s.login("anonymous", "guest@example.org", host=3)
            self.assertIsNotNone(c, reply)
            held.append(c)
            d, reply = s.login("ftp", "guest@example.org", host=4)
            self.assertIsNone(d)
            self.assertIn("530 Sorry, the maximum number of allowed clients (1) are "
                          "already connected.", reply)
            # The virtual host counts its own sessions (host 2 has one on the
            # main server) under its own limits, anonymous ones too.
            for user in ("bob", "dave"):
                g, reply = s.login(user)
                self.assertIsNotNone(g, f"{user}: {reply}")
                held.append(g)
            g, reply = s.login("erin")
            self.assertIsNone(g)
            self.assertIn("530 Only 2 here.", reply)
            g, reply = s.login("carol", host=4)
            self.assertIsNone(g)
            self.assertIn("530 Sorry, the maximum number of allowed clients (3) are "
                          "already connected.", reply)
        finally:
            s.port = main_port
        # ftplimit refused them: its counters say so, and it holds every
        # session (mod_auth no longer counts).
        status = s.status()
        refusals = {k: v["refused"] for k, v in status["refusals"].items()}
        self.assertEqual(refusals, {"MaxClientsPerHost": 2, "MaxClients": 2,
                                    "AnonRejectPasswords": 1})
        self.assertEqual(status["totals"]["clients"], 4)
        # What it enforces, server by server, is in the system log.
        log = self.system_log(s)
        for line in ("enforces Main server:", "enforces   MaxClientsPerHost 1",
                     f"enforces <VirtualHost 127.0.0.1:{vport}>:",
                     "enforces   MaxClientsPerHost 2 (custom message)",
                     "enforces   MaxClients 3",
                     f"enforces   <Anonymous {s.path('anon')}/>: User ftp, UserAlias "
                     "anonymous",
                     "enforces     MaxClients 1",
                     "enforces     AnonRejectPasswords ^bad@"):
            self.assertIn(line, log)
        close_all(*held)

    @unittest.skipUnless(os.path.exists(e2e.MOD_BAN), "Debian's mod_ban is not installed")
    def test_a_ban_is_the_virtual_hosts_its_events_came_from_as_mod_bans(self):
        # mod_ban counts a server's events and bans from that server; so do
        # ftplimit's BanOnEvent rules. The same scenario against both.
        vport_ours, vport_stock = e2e.free_port(), e2e.free_port()
        stock_ban = ("<IfModule mod_ban.c>\n  BanEngine on\n  BanTable @DIR@/ban.tab\n"
                     "  BanLog @DIR@/ban.log\n"
                     "  BanOnEvent MaxLoginAttempts 1/00:01:00 00:05:00 \"Banned here.\"\n"
                     "</IfModule>\n")
        ours = self.serve("BanOnEvent MaxLoginAttempts 1/00:01:00 00:05:00 \"Banned here.\"\n",
                          "MaxLoginAttempts 1\n" +
                          self.vhost(vport_ours, "  MaxLoginAttempts 1\n"), start=False)
        stock = self.serve("", "MaxLoginAttempts 1\n" + stock_ban + self.vhost(
            vport_stock, "  MaxLoginAttempts 1\n  <IfModule mod_ban.c>\n    BanEngine on\n"
            "  </IfModule>\n"), start=False, module=False)
        ours.start()
        stock.start(engine=False)
        for s, vport, refusal in ((ours, vport_ours, b"421 Banned here.\r\n"),
                                  (stock, vport_stock, b"530 Banned here.\r\n")):
            main_port = s.port
            s.port = vport
            try:
                self.assertEqual(transcript(s, ["USER alice", "PASS wrong"])[-1],
                                 b"530 Login incorrect.\r\n")
                # Banned from the virtual host: ftplimit refuses the
                # connection, mod_ban the USER after it.
                self.assertTrue(wait_for(lambda: refusal in transcript(s, ["USER alice"])),
                                transcript(s, ["USER alice"]))
            finally:
                s.port = main_port
            # ... and welcome on the main server.
            self.assertEqual(transcript(s, ["USER alice"])[1][:4], b"331 ")
        bans = json.loads(subprocess.run(
            [e2e.FTPLIMIT, "ban", "list", "--json", "-s", ours.path("ftplimitd.sock")],
            capture_output=True, text=True, timeout=20, check=True).stdout)["bans"]
        self.assertEqual([(b["target"], b["server"]) for b in bans],
                         [("127.0.0.2", f"127.0.0.1:{vport_ours}")])

    @needs_sftp
    def test_an_sftp_virtual_host_has_its_own_proftpd_conf_limits(self):
        vport = e2e.free_port()
        sftp = ("  SFTPEngine on\n  SFTPHostKey @DIR@/ssh_host_rsa_key\n"
                "  SFTPLog @DIR@/sftp.log\n  MaxClientsPerHost 1\n")
        s = self.serve("", "MaxClientsPerHost 2\n" + self.vhost(vport, sftp),
                       ftplimit_conf=e2e.ENGINE_ONLY)
        main_port, s.port = s.port, vport
        try:
            held, _ = self.ssh(s, "alice", "password:" + PASSWORD, hold=True)
            self.assertEqual(held["attempts"], ["ok"], held)
            refused, _ = self.ssh(s, "bob", "password:" + PASSWORD)
            self.assertNotIn("ok", refused["attempts"], refused)
            self.assertEqual(refused["disconnect"],
                             [12, "Maximum connections for host/user reached"])
        finally:
            s.port = main_port
        # The same host on the FTP main server: its own count, its own limit.
        ftp = []
        for user in ("carol", "dave"):
            f, reply = s.login(user)
            self.assertIsNotNone(f, f"{user}: {reply}")
            ftp.append(f)
        f, reply = s.login("erin")
        self.assertIsNone(f)
        self.assertIn("maximum number of clients (2) from your host", reply)
        status = s.status()
        self.assertEqual({k: v["refused"] for k, v in status["refusals"].items()},
                         {"MaxClientsPerHost": 2})
        self.assertEqual(status["totals"]["clients"], 3)
        close_all(*ftp)

    def test_a_limit_above_loadmodule_is_read_from_mod_auths_record(self):
        s = self.serve("", start=False,
                       ftplimit_conf=e2e.ENGINE_ONLY)
        with open(s.conf) as f:
            conf = f.read()
        with open(s.conf, "w") as f:  # before the module is loaded
            f.write('MaxClientsPerHost 1 "Only %m."\n' + conf)
        s.start()
        a, reply = s.login("alice")
        self.assertIsNotNone(a, reply)
        b, reply = s.login("bob")
        self.assertIsNone(b)
        self.assertIn("530 Only 1.", reply)
        self.assertEqual(s.status()["refusals"]["MaxClientsPerHost"]["refused"], 1)
        self.assertIn("enforces   MaxClientsPerHost 1 (custom message)",
                      self.system_log(s))
        close_all(a)

    def logins_on_both(self, conf, logins):
        """conf's limits on a ProFTPD with mod_ftplimit alone enforcing them,
        and on a stock one: the reply code of each (user, host) login, held
        until all are made, as {"ours": [...], "stock": [...]}; and ours."""
        ours = self.serve("", conf, ftplimit_conf=e2e.ENGINE_ONLY)
        stock = self.serve("", conf, module=False, start=False)
        stock.start(engine=False)
        replies = {}
        for name, s in (("ours", ours), ("stock", stock)):
            got, held = [], []
            for user, host in logins:
                f, reply = s.login(user, host=host)
                got.append(reply.split("\n")[0][:3] + " " + user)
                if f is not None:
                    held.append(f)
            replies[name] = got
            close_all(*held)
        return replies, ours

    def test_ifclass_and_ifuser_limits_of_proftpd_conf_as_with_mod_ifsession(self):
        # Clients from 127.0.0.3 are of class "near": one session per host
        # for them; bob may have three sessions, everyone else one.
        conf = ("<Class near>\n  From 127.0.0.3\n</Class>\n"
                "MaxClientsPerUser 1\n"
                "<IfClass near>\n  MaxClientsPerHost 1 \"near: %m\"\n</IfClass>\n"
                "<IfUser bob>\n  MaxClientsPerUser 3\n</IfUser>\n")
        replies, ours = self.logins_on_both(conf, (
            ("alice", 2), ("alice", 4), ("bob", 2), ("bob", 4), ("bob", 5), ("carol", 3),
            ("dave", 3)))
        # The same decisions as ProFTPD's mod_ifsession with mod_auth's limits.
        self.assertEqual(replies["ours"], replies["stock"])
        self.assertEqual(replies["ours"], ["230 alice", "530 alice", "230 bob", "230 bob",
                                           "230 bob", "230 carol", "530 dave"])
        status = ours.status()
        self.assertEqual({k: v["refused"] for k, v in status["refusals"].items()},
                         {"MaxClientsPerUser": 1, "MaxClientsPerHost": 1})
        log = self.system_log(ours)
        self.assertIn("enforces   <IfClass near>:", log)
        self.assertIn("enforces   <IfUser bob>:", log)

    def test_ifgroup_and_ifauthenticated_limits_as_with_mod_ifsession(self):
        # alice and carol are in staff, bob in devs (tests/e2e/e2e_proftpd.py's
        # group file). mod_ifsession merges <IfAuthenticated>, then <IfGroup>,
        # then <IfUser>, whatever their order in the file, and merging a
        # directive takes it out of the blocks merged after: the first that
        # sets a limit gives it.
        conf = ("<Class near>\n  From 127.0.0.12\n</Class>\n"
                "MaxClientsPerUser 4\n"
                "<IfAuthenticated>\n  MaxClientsPerHost 2\n</IfAuthenticated>\n"
                "<IfUser carol>\n  MaxClientsPerUser 3\n</IfUser>\n"
                "<IfUser dave>\n  MaxClientsPerUser 3\n</IfUser>\n"
                "<IfClass near>\n  MaxClientsPerUser 1\n</IfClass>\n"
                "<IfGroup staff>\n  MaxClientsPerUser 1 \"staff: %m\"\n</IfGroup>\n"
                "<IfGroup devs>\n  MaxClientsPerHost 1\n</IfGroup>\n")
        replies, ours = self.logins_on_both(conf, (
            ("alice", 2), ("alice", 3), ("bob", 4), ("bob", 4), ("bob", 4), ("carol", 5),
            ("carol", 6), ("dave", 9), ("dave", 9), ("dave", 9), ("dave", 12)))
        self.assertEqual(replies["ours"], replies["stock"])
        # staff: 1, carol too (her <IfUser> comes after); devs: the 2 per
        # host of <IfAuthenticated>, merged before <IfGroup devs>;
        # dave from the class near: its 1, merged at the connection, before
        # his own 3.
        self.assertEqual(replies["ours"], ["230 alice", "530 alice", "230 bob", "230 bob",
                                           "530 bob", "230 carol", "530 carol",
                                           "230 dave", "230 dave", "530 dave",
                                           "530 dave"])
        status = ours.status()
        self.assertEqual({k: v["refused"] for k, v in status["refusals"].items()},
                         {"MaxClientsPerUser": 3, "MaxClientsPerHost": 2})
        log = self.system_log(ours)
        for line in ("enforces   <IfAuthenticated>:", "enforces   <IfGroup staff>:",
                     "enforces     MaxClientsPerUser 1 (custom message)",
                     "enforces   <IfGroup devs>:"):
            self.assertIn(line, log)
        self.assertNotIn("left to ProFTPD's mod_auth", log)

    def test_two_virtual_hosts_one_left_to_mod_auth_with_ftplimitengine_off(self):
        ours_port, theirs_port = e2e.free_port(), e2e.free_port()
        # A third, disabled with Port 0, is no server of the policy's.
        s = self.serve("", self.vhost(ours_port, "  MaxClientsPerHost 1\n") +
                       self.vhost(theirs_port, "  FtpLimitEngine off\n"
                                  "  MaxClientsPerHost 1\n") +
                       "<VirtualHost 127.0.0.1>\n  Port 0\n  MaxClients 1\n"
                       "</VirtualHost>\n",
                       ftplimit_conf=e2e.ENGINE_ONLY)
        main_port, held = s.port, []
        try:
            for port in (ours_port, theirs_port):
                s.port = port
                a, reply = s.login("alice")
                self.assertIsNotNone(a, reply)
                held.append(a)
                b, reply = s.login("bob")
                self.assertIsNone(b)
                self.assertIn("530 Sorry, the maximum number of clients (1) from your "
                              "host", reply)
        finally:
            s.port = main_port
        # ftplimit refused on the first; mod_auth on the second, whose
        # sessions ftplimit never saw.
        status = s.status()
        self.assertEqual({k: v["refused"] for k, v in status["refusals"].items()},
                         {"MaxClientsPerHost": 1})
        self.assertEqual(status["totals"]["clients"], 1)
        log = self.system_log(s)
        self.assertIn(f"enforces <VirtualHost 127.0.0.1:{ours_port}>:", log)
        self.assertNotIn(f"<VirtualHost 127.0.0.1:{theirs_port}>", log)
        close_all(*held)

    def test_proftpd_t_shows_what_ftplimit_will_enforce_in_each_scope(self):
        vport = e2e.free_port()
        s = self.serve("", "MaxClientsPerHost 4\n<Global>\n  MaxClientsPerUser 3\n"
                       "</Global>\n" + self.vhost(vport, "  MaxClients 9\n"),
                       start=False,
                       ftplimit_conf=e2e.ENGINE_ONLY)
        out = subprocess.run([e2e.PROFTPD, "-t", "-c", s.conf], capture_output=True,
                             text=True, timeout=60, env=dict(os.environ, **e2e.sanitizer_env()))
        text = out.stdout + out.stderr
        self.assertEqual(out.returncode, 0, text)
        for line in ("enforces Main server:", "enforces   MaxClientsPerHost 4",
                     "enforces   MaxClientsPerUser 3",
                     f"enforces <VirtualHost 127.0.0.1:{vport}>:",
                     "enforces   MaxClients 9"):
            self.assertIn(line, text)
        # <Global>'s limit is the virtual host's too.
        vhost_part = text[text.index(f"<VirtualHost 127.0.0.1:{vport}>:"):]
        self.assertIn("MaxClientsPerUser 3", vhost_part)

    def test_a_limit_in_proftpd_conf_and_in_the_policy_for_one_scope_is_an_error(self):
        s = self.serve("MaxClientsPerHost 3\n", "MaxClientsPerHost 2\n", start=False)
        out = subprocess.run([e2e.PROFTPD, "-t", "-c", s.conf], capture_output=True,
                             text=True, timeout=60, env=dict(os.environ, **e2e.sanitizer_env()))
        text = out.stdout + out.stderr
        self.assertNotEqual(out.returncode, 0, text)
        self.assertRegex(text, r"MaxClientsPerHost is set for the main server at line "
                               r"\d+ of the ProFTPD configuration \(main server\) too")
        self.assertIn(s.policy + ":1:", text)

    def test_proftpd_conf_limits_are_taken_over_max_instances_too(self):
        s = self.serve("MaxClients 5\n", "MaxInstances 30\nMaxClientsPerHost 4\n")
        # Where ProFTPD says what it thinks of a configuration as it reads it
        # (standard error, and so `proftpd -t`), and the server's start.
        out = subprocess.run([e2e.PROFTPD, "-t", "-c", s.conf], capture_output=True,
                             text=True, env=dict(os.environ, **e2e.sanitizer_env()))
        for text in (out.stdout + out.stderr, s.logs()):
            self.assertIn("enforces MaxInstances 30", text)
            self.assertIn("enforces   MaxClientsPerHost 4", text)
            self.assertIn("enforces   MaxClients 5", text)  # the policy's
            self.assertNotIn("is set in the ProFTPD configuration", text)
        self.assertEqual(s.status()["limits"]["MaxInstances"], 30)

    def test_with_another_daemons_policy_proftpd_conf_limits_stay_proftpds(self):
        s = self.serve("", "MaxInstances 30\nMaxClientsPerHost 4\n", start=False,
                       ftplimit_conf="FtpLimitEngine on\nFtpLimitSocket @DIR@/other.sock\n")
        out = subprocess.run([e2e.PROFTPD, "-t", "-c", s.conf], capture_output=True,
                             text=True, env=dict(os.environ, **e2e.sanitizer_env()))
        for directive in ("MaxInstances", "MaxClientsPerHost"):
            self.assertIn(f"{directive} is set in the ProFTPD configuration",
                          out.stdout + out.stderr)

if __name__ == "__main__":
    sys.exit(e2e.main())
