#!/usr/bin/env python3
"""Cluster (issue 27): several ftplimitd nodes share their counts and bans
through a real redis-server.

Each test starts its own redis-server on 127.0.0.1 and a free port (no
persistence, its files in a temporary directory) and two or three
ftplimitd nodes, each with its own socket, policy and log there, and stops
them all even when the test fails. Sessions are driven through the daemons'
protocol, as mod_ftplimit drives them: CONNECT, USER, PASS on a connection
kept open for the session's life.

Without redis-server, or a build without hiredis, the suite is skipped
(exit 77) and says why; CI installs both and fails on a skip.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BUILD = os.path.abspath(os.environ.get("top_builddir", ".."))
FTPLIMITD = os.path.join(BUILD, "src", "daemon", "ftplimitd")
FTPLIMIT = os.path.join(BUILD, "src", "cli", "ftplimit")
REDIS = shutil.which("redis-server", path=os.environ.get("PATH", "") + ":/usr/bin:/usr/sbin")
TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=TIMEOUT, step=0.02):
    """pred() until it is true, or None after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


# --- Redis ---------------------------------------------------------------

def resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise RuntimeError("bad reply %r" % line)


class Redis:
    def __init__(self, work, password=None):
        self.work = work
        self.port = free_port()
        self.proc = None
        self.password = password

    def start(self):
        auth = ["--requirepass", self.password] if self.password else []
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.work, "--logfile",
             os.path.join(self.work, "redis.log")] + auth,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_for(self.ping, 10):
            raise RuntimeError("redis-server did not start")

    def ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except (OSError, RuntimeError, ConnectionError):
            return False

    def cmd(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            f = s.makefile("rb")
            if self.password:
                s.sendall(resp_encode(("AUTH", self.password)))
                resp_read(f)
            s.sendall(resp_encode(args))
            return resp_read(f)

    def total(self):
        """The farm's counts: {field: count}."""
        flat = self.cmd("HGETALL", "{ftplimit}:total") or []
        return {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)


# --- nodes -----------------------------------------------------------------

class Node:
    def __init__(self, work, name, policy_text):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "ftplimitd.sock")
        self.policy = os.path.join(self.dir, "ftplimit.conf")
        self.log = os.path.join(self.dir, "ftplimitd.log")
        with open(self.policy, "w") as f:
            f.write(f"ClusterNode {name}\n" + policy_text +
                    "AllowSessions all\nAllowStatus all\nAllowAdmin all\n")
        self.proc = None

    def start(self, wait_connected=True):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.stderr = open(os.path.join(self.dir, "stderr"), "ab")
        self.proc = subprocess.Popen(
            [FTPLIMITD, "-f", "-c", self.policy, "-s", self.sock, "-l", self.log],
            stdout=subprocess.DEVNULL, stderr=self.stderr, start_new_session=True)
        if not wait_for(lambda: os.path.exists(self.sock), 10):
            raise RuntimeError(f"node {self.name} did not start: {self.read_log()}")
        if wait_connected and not wait_for(lambda: self.cluster().get("up"), 10):
            raise RuntimeError(f"node {self.name} did not reach Redis: {self.read_log()}")

    def stop(self):
        """SIGTERM; the daemon must exit 0, and a sanitizer build must have
        reported nothing (the CI runs this suite under ASan and UBSan)."""
        if self.proc is None:
            return
        rc = self.proc.poll()
        if rc is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        self.proc = None
        self.stderr.close()
        with open(self.stderr.name, errors="replace") as f:
            err = f.read()
        if rc != 0 or "Sanitizer" in err or "runtime error" in err:
            raise AssertionError(f"node {self.name} exited {rc}:\n{err}\n{self.read_log()}")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.stderr.close()

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def cli(self, *args):
        return subprocess.run([FTPLIMIT, *args, "-s", self.sock], capture_output=True,
                              text=True, timeout=TIMEOUT)

    def status(self):
        r = self.cli("status", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def cluster(self):
        return self.status().get("cluster", {})

    def request(self, line):
        """One request on a connection of its own: its reply line (DATA's
        document for DATA)."""
        with Conn(self.sock) as c:
            return c.ask(line)


class Conn:
    """A connection to a node, as a session process holds one."""

    def __init__(self, sock):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(TIMEOUT)
        self.s.connect(sock)
        self.f = self.s.makefile("rb")
        self.ask("HELLO 1")

    def ask(self, line):
        self.s.sendall((line + "\n").encode())
        while True:
            reply = self.f.readline().decode().rstrip("\n")
            if not reply:
                raise ConnectionError("the node closed the connection")
            if reply.startswith("EVENT "):
                continue
            if reply.startswith("DATA "):
                return self.f.read(int(reply.split()[1])).decode()
            return reply

    def close(self):
        try:
            self.f.close()  # else the socket stays open behind it
            self.s.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Session:
    """CONNECT from address, then USER and PASS ok (user None: connect only).
    .connect and .login hold the replies; the session lives until close()."""

    def __init__(self, node, address, user=None):
        self.conn = Conn(node.sock)
        self.connect = self.conn.ask(f"CONNECT - {address}")
        self.login = None
        if user is not None and self.connect.startswith("ALLOW"):
            self.conn.ask(f"USER {user}")
            self.login = self.conn.ask("PASS ok")

    @property
    def in_(self):
        return self.connect.startswith("ALLOW") and (
            self.login is None or self.login.startswith("ALLOW"))

    def close(self):
        self.conn.close()


def probe(node, address, user=None):
    """Whether a session from address (logged in as user) is let in; it
    ends at once."""
    s = Session(node, address, user)
    s.close()
    return s.in_


class Farm(unittest.TestCase):
    """A test with a redis-server and nodes it stops at the end."""
    POLICY = "MaxClientsPerUser 2\n"
    NODES = ("a", "b")
    PASSWORD = None

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ftplimit-cluster-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.redis = Redis(self.work, self.PASSWORD)
        self.redis.start()
        self.addCleanup(self.redis.kill)
        self.sessions = []
        self.addCleanup(self.close_all)
        self.nodes = {}
        for name in self.NODES:
            self.nodes[name] = self.node(name, self.POLICY)

    def node(self, name, policy, start=True):
        text = f"Cluster redis://127.0.0.1:{self.redis.port}\n" + policy
        n = Node(self.work, name, text)
        self.addCleanup(n.stop)
        if start:
            n.start()
        return n

    def close_all(self):
        for s in self.sessions:
            s.close()

    def session(self, node, address, user=None):
        s = Session(node, address, user)
        self.sessions.append(s)
        return s

    def dump_logs(self):
        for n in self.nodes.values():
            sys.stderr.write(f"--- node {n.name} log\n{n.read_log()}\n")

    def farm_total(self, field):
        return self.redis.total().get(field, 0)

    def wait_total(self, field, want, timeout=TIMEOUT):
        got = wait_for(lambda: self.farm_total(field) == want or None, timeout)
        if got is None:
            self.dump_logs()
        self.assertEqual(self.farm_total(field), want, field)


class Limits(Farm):
    POLICY = "MaxClientsPerUser 2\nMaxClientsPerHost 2\nMaxHostsPerUser 3\n"

    def test_user_at_limit_on_a_is_refused_on_b(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.assertTrue(self.session(a, "10.0.0.1", "bob").in_)
        self.assertTrue(self.session(a, "10.0.0.2", "bob").in_)
        third = self.session(b, "10.0.0.3", "bob")
        self.assertEqual(third.login,
                         "DISCONNECT 530 MaxClientsPerUser Sorry, the maximum number of "
                         "clients (2) for this user are already connected.")
        # Another user on b is let in; one of bob's ends on a, and b lets him in.
        self.assertTrue(self.session(b, "10.0.0.3", "alice").in_)
        self.sessions[0].close()
        self.wait_total("Umain|bob", 1)
        self.assertTrue(self.session(b, "10.0.0.3", "bob").in_)
        self.assertEqual(self.farm_total("Umain|bob"), 2)
        self.assertEqual(self.farm_total("Smain"), 3)  # logged in: bob 2, alice
        # The refusal is b's, counted and said in its status and metrics.
        st = b.status()
        self.assertEqual(st["refusals"]["MaxClientsPerUser"]["refused"], 1)
        m = b.cli("metrics").stdout
        self.assertIn("ftplimit_cluster_refusals_total 1\n", m)
        self.assertIn("ftplimit_cluster_up 1\n", m)

    def test_host_limit_counts_the_farm(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.assertTrue(self.session(a, "10.1.0.1", "u1").in_)
        self.assertTrue(self.session(b, "10.1.0.1", "u2").in_)
        s = self.session(b, "10.1.0.1", "u3")
        self.assertEqual(s.login, "DISCONNECT 530 MaxClientsPerHost Sorry, the maximum "
                         "number of clients (2) from your host are already connected.")
        self.assertEqual(self.farm_total("Hmain|10.1.0.1"), 2)

    def test_status_shows_the_farm_beside_the_node(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.session(a, "10.3.0.1", "x")
        self.session(b, "10.3.0.2", "y")
        self.session(b, "10.3.0.3")
        # The totals come with the heartbeat (every quarter lease: 2.5 s).
        def farm_view():
            srv = b.cluster().get("servers", {}).get("main", {})
            return srv if srv.get("clients") == 2 else None
        view = wait_for(farm_view, 6)
        self.assertIsNotNone(view, b.cluster())
        self.assertEqual(view["node_clients"], 1)
        self.assertEqual(sorted(b.cluster()["nodes"]), ["a", "b"])
        text = b.cli("status").stdout
        self.assertIn(f"cluster redis://127.0.0.1:{self.redis.port}: node b, connected", text)
        self.assertIn("live nodes 2: a b", text)


class HostsPerUser(Farm):
    POLICY = "MaxHostsPerUser 2\n"

    def test_a_users_hosts_are_the_farms(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.assertTrue(self.session(a, "10.2.0.1", "carol").in_)
        self.assertTrue(self.session(b, "10.2.0.2", "carol").in_)
        s = self.session(a, "10.2.0.3", "carol")
        self.assertEqual(s.login, "DISCONNECT 530 MaxHostsPerUser Sorry, the maximum "
                         "number of hosts (2) for this user are already connected.")
        # A host she has is no new host, on either node.
        self.assertTrue(self.session(b, "10.2.0.1", "carol").in_)
        self.assertEqual(self.farm_total("Dmain|5|carol"), 2)
        self.assertEqual(self.farm_total("Pmain|5|carol|10.2.0.1"), 2)
        # Both of one host's sessions end: the host leaves her count.
        self.sessions[0].close()
        self.sessions[3].close()
        self.wait_total("Dmain|5|carol", 1)
        self.assertTrue(self.session(a, "10.2.0.3", "carol").in_)


class Race(Farm):
    POLICY = "MaxClientsPerUser 5\nMaxConnectionsPerHost 7\n"
    NODES = ("a", "b", "c")

    def attempt_all(self, tries, make):
        barrier = threading.Barrier(len(tries))
        results = [None] * len(tries)

        def one(i):
            node, addr, user = tries[i]
            barrier.wait()
            try:
                results[i] = make(node, addr, user)
            except Exception as e:  # a failure to talk is a failure of the test
                results[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(tries))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 2)
        for r in results:
            self.assertIsInstance(r, Session, r)
            self.sessions.append(r)
        return results

    def test_racing_for_the_last_slots_admits_exactly_the_limit(self):
        nodes = list(self.nodes.values())
        for rnd in range(3):
            user = f"racer{rnd}"
            tries = [(nodes[i % 3], f"10.{rnd}.{i}.1", user) for i in range(60)]
            results = self.attempt_all(tries, Session)
            admitted = [r for r in results if r.in_]
            self.assertEqual(len(admitted), 5, [r.login for r in results])
            refused = [r for r in results if not r.in_]
            self.assertTrue(all("MaxClientsPerUser" in r.login for r in refused))
            self.assertEqual(self.farm_total(f"Umain|{user}"), 5)
        # Connections from one host racing on three nodes.
        tries = [(nodes[i % 3], "10.9.9.9", None) for i in range(40)]
        results = self.attempt_all(tries, Session)
        admitted = [r for r in results if r.in_]
        self.assertEqual(len(admitted), 7, [r.connect for r in results])
        self.assertEqual(self.farm_total("Cmain|10.9.9.9"), 7)


class Bans(Farm):
    POLICY = "MaxClientsPerHost 5\n"

    def test_a_ban_on_a_refuses_the_host_on_b_within_100ms(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.assertTrue(self.session(b, "192.0.2.7").in_)
        with Conn(a.sock) as admin:
            reply = admin.ask("BAN ADD host 600 192.0.2.7 go away")
            made = time.monotonic()
            self.assertEqual(reply, "OK banned host for 600s")
        refused = wait_for(lambda: not probe(b, "192.0.2.7"), 2, 0.002)
        elapsed = time.monotonic() - made
        self.assertTrue(refused, b.read_log())
        self.assertLess(elapsed, 0.1, f"ban reached b after {elapsed * 1000:.1f} ms")
        sys.stderr.write(f"ban on a refused on b after {elapsed * 1000:.1f} ms\n")
        s = Session(b, "192.0.2.7")
        self.assertEqual(s.connect, "DISCONNECT 421 Ban go away")
        s.close()
        bans = json.loads(b.request("BAN LIST"))
        self.assertEqual([(x["kind"], x["target"]) for x in bans["bans"]],
                         [("host", "192.0.2.7")])
        # A node that starts later loads the farm's bans.
        c = self.node("c", self.POLICY)
        self.assertTrue(wait_for(lambda: not probe(c, "192.0.2.7"), 5))
        # Lifted on b: lifted on a and c.
        with Conn(b.sock) as admin:
            self.assertEqual(admin.ask("BAN REMOVE host 192.0.2.7"), "OK removed host")
        for n in (a, c):
            self.assertTrue(wait_for(lambda: probe(n, "192.0.2.7"), 2), n.name)
        self.assertEqual(self.redis.cmd("HGETALL", "{ftplimit}:bans"), [])
        self.assertEqual(self.redis.cmd("ZCARD", "{ftplimit}:ban-ends"), 0)

    def test_an_ended_ban_leaves_the_farms_table(self):
        a, b = self.nodes["a"], self.nodes["b"]
        with Conn(a.sock) as admin:
            self.assertEqual(admin.ask("BAN ADD host 1 192.0.2.99"), "OK banned host for 1s")
        self.assertTrue(wait_for(lambda: not probe(b, "192.0.2.99"), 2))
        self.assertEqual(len(self.redis.cmd("HGETALL", "{ftplimit}:bans")), 2)
        # Each node ends it by itself; a heartbeat (a quarter lease: 2.5 s)
        # drops it from the farm's table.
        self.assertTrue(wait_for(lambda: probe(b, "192.0.2.99"), 3))
        self.assertTrue(wait_for(
            lambda: self.redis.cmd("HGETALL", "{ftplimit}:bans") == [] and
            self.redis.cmd("ZCARD", "{ftplimit}:ban-ends") == 0, 6), 
            self.redis.cmd("HGETALL", "{ftplimit}:bans"))

    def test_a_rule_ban_spreads(self):
        a, b = self.nodes["a"], self.nodes["b"]
        for n in (a, b):
            with open(n.policy, "a") as f:
                f.write("BanOnEvent MaxClientsPerHost 1/00:01:00 00:10:00\n")
            self.assertTrue(n.cli("reload").returncode == 0)
        for i in range(5):
            self.session(a, "198.51.100.1", f"u{i}")
        s = self.session(b, "198.51.100.1", "u9")
        self.assertTrue(s.login.startswith("DISCONNECT 530 MaxClientsPerHost"), s.login)
        # b's refusal banned the host; a refuses it now.
        self.assertTrue(wait_for(lambda: not probe(a, "198.51.100.1"), 2))
        bans = json.loads(a.request("BAN LIST"))["bans"]
        self.assertEqual(bans[0]["reason"], "MaxClientsPerHost")


class Failures(Farm):
    POLICY = "ClusterLease 2\nClusterTimeout 150\nMaxClientsPerUser 2\nMaxClientsPerHost 2\n"

    def test_kill9_frees_the_sessions_within_one_lease(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.assertTrue(self.session(a, "10.0.0.1", "bob").in_)
        self.assertTrue(self.session(a, "10.0.0.2", "bob").in_)
        self.assertFalse(self.session(b, "10.0.0.3", "bob").in_)
        a.kill9()
        killed = time.monotonic()
        ok = wait_for(lambda: probe(b, "10.0.0.4", "bob"), 5, 0.05)
        elapsed = time.monotonic() - killed
        self.assertTrue(ok, b.read_log())
        sys.stderr.write(f"kill -9 of a: its sessions left the farm after {elapsed:.2f} s "
                         "(lease 2 s)\n")
        self.assertLess(elapsed, 2.0 + 0.3)
        self.assertEqual(self.redis.cmd("ZRANGE", "{ftplimit}:nodes", 0, -1), ["b"])

    def test_redis_killed_local_limits_hold_and_totals_are_exact_after(self):
        a, b = self.nodes["a"], self.nodes["b"]
        keep = [self.session(a, "10.5.0.1", "bob"), self.session(b, "10.5.0.2", "carol"),
                self.session(b, "10.5.0.2")]
        self.redis.kill()
        self.assertTrue(wait_for(lambda: not a.cluster().get("up"), 5))
        # Local limits hold: a third login from one host on a node.
        self.assertTrue(self.session(a, "10.5.0.9", "u1").in_)
        self.assertTrue(self.session(a, "10.5.0.9", "u2").in_)
        s = self.session(a, "10.5.0.9", "u3")
        self.assertTrue(s.login.startswith("DISCONNECT 530 MaxClientsPerHost"), s.login)
        # ClusterFailMode open: farm limits on the node's own counts.
        self.assertTrue(self.session(b, "10.5.0.3", "bob").in_)
        self.assertTrue(self.session(b, "10.5.0.4", "bob").in_)
        keep[0].close()  # sessions end while Redis is away
        st = a.cluster()
        self.assertFalse(st["up"])
        self.assertIn("connection lost", st.get("last_error", ""))
        self.assertIn("DISCONNECTED", a.cli("status").stdout)
        # Redis comes back empty; the nodes declare what they count.
        self.redis.start()
        for n in (a, b):
            self.assertTrue(wait_for(lambda: n.cluster().get("up"), 10), n.read_log())
        live = [s for s in self.sessions
                if s.in_ and s.login is not None and s.conn.s.fileno() >= 0]
        self.wait_total("Smain", len(live))
        self.assertEqual(self.farm_total("Umain|bob"), 2)
        self.assertEqual(self.farm_total("Hmain|10.5.0.9"), 2)
        # And the farm's limits are the farm's again: bob is at 2.
        self.assertFalse(self.session(a, "10.5.0.5", "bob").in_)

    def test_a_hung_redis_is_waited_for_no_longer_than_the_timeout(self):
        a = self.nodes["a"]
        self.assertTrue(self.session(a, "10.6.0.1", "dave").in_)
        self.redis.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            s = self.session(a, "10.6.0.2", "dave")
            took = time.monotonic() - t0
            self.assertTrue(s.in_)  # fail open
            # CONNECT and PASS, each at most ClusterTimeout (150 ms)
            self.assertLess(took, 2 * 0.15 + 0.25, took)
        finally:
            self.redis.signal(signal.SIGCONT)
        # The late replies count it; the totals are exact.
        self.wait_total("Umain|dave", 2)
        m = a.cli("metrics").stdout
        self.assertRegex(m, r"ftplimit_cluster_timeouts_total [1-9]")
        self.assertRegex(m, r'ftplimit_cluster_fail_mode_total\{mode="open"\} [1-9]')


class FailClosed(Farm):
    POLICY = ("ClusterLease 2\nClusterTimeout 100\nClusterFailMode closed\n"
              "MaxClientsPerUser 2\n")
    NODES = ("a",)

    def test_closed_refuses_while_the_farm_cannot_be_asked(self):
        a = self.nodes["a"]
        self.assertTrue(self.session(a, "10.7.0.1", "erin").in_)
        self.redis.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            s = self.session(a, "10.7.0.2", "erin")
            took = time.monotonic() - t0
        finally:
            self.redis.signal(signal.SIGCONT)
        # No connection limit: the CONNECT is this node's alone; the PASS
        # waits for the farm no longer than ClusterTimeout.
        self.assertTrue(s.connect.startswith("ALLOW"), s.connect)
        self.assertEqual(s.login, "DISCONNECT 421 ClusterUnavailable Sorry, the server "
                         "cannot check its limits right now; try again later.")
        self.assertLess(took, 0.1 + 0.25)
        # The PASS the farm counted late is taken back out.
        self.wait_total("Umain|erin", 1)
        time.sleep(0.3)
        self.assertEqual(self.farm_total("Umain|erin"), 1)
        self.redis.kill()
        self.assertTrue(wait_for(lambda: not a.cluster().get("up"), 5))
        s = self.session(a, "10.7.0.3", "erin")
        self.assertTrue(s.login.startswith("DISCONNECT 421 ClusterUnavailable"), s.login)


class Resume(Farm):
    POLICY = "MaxClientsPerUser 2\n"

    def test_a_restarted_node_redeclares_its_resumed_sessions(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.session(a, "10.8.0.1", "frank")
        self.session(a, "10.8.0.2", "frank")
        self.wait_total("Umain|frank", 2)
        # a restarts; its server re-declares the live sessions (RESUME), as
        # mod_ftplimit does after a daemon restart.
        self.close_all()
        self.sessions = []
        a.stop()
        self.wait_total("Umain|frank", 0)  # a left the farm cleanly
        a.start()
        for sid, addr in (("s1", "10.8.0.1"), ("s2", "10.8.0.2")):
            c = Conn(a.sock)
            self.assertTrue(c.ask(f"RESUME {sid} {addr} - 1 0 frank").startswith("OK resumed"))
            self.sessions.append(type("S", (), {"close": c.close})())
        self.wait_total("Umain|frank", 2)
        self.assertFalse(self.session(b, "10.8.0.3", "frank").in_)


class Reload(Farm):
    POLICY = "MaxClientsPerHost 10\n"

    def test_a_limit_added_by_a_reload_counts_the_live_sessions(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.assertTrue(self.session(a, "10.9.0.1", "gina").in_)
        self.assertTrue(self.session(a, "10.9.0.2", "gina").in_)
        self.assertEqual(self.farm_total("Umain|gina"), 0)  # no user limit: not counted
        for n in (a, b):
            with open(n.policy, "a") as f:
                f.write("MaxClientsPerUser 2\n")
            r = n.cli("reload")
            self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_total("Umain|gina", 2)
        s = self.session(b, "10.9.0.3", "gina")
        self.assertTrue(s.login.startswith("DISCONNECT 530 MaxClientsPerUser"), s.login)
        self.assertIn("the farm counts other limits now", a.read_log())


class Auth(Farm):
    PASSWORD = "s3cret farm"
    NODES = ()

    def password_file(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def test_the_password_file_authenticates_a_node_and_a_wrong_one_is_said(self):
        # requirepass: the file's line is the password (a space in it is
        # an ACL user's "USER PASSWORD", so the default user is named).
        good = self.password_file("good", "default " + self.PASSWORD)
        bad = self.password_file("bad", "default wrong")
        a = self.node("a", f"ClusterPasswordFile {good}\nMaxClientsPerUser 1\n")
        self.assertTrue(self.session(a, "10.4.0.1", "hal").in_)
        self.assertEqual(self.farm_total("Umain|hal"), 1)
        b = self.node("b", f"ClusterPasswordFile {bad}\nMaxClientsPerUser 1\n",
                      start=False)
        b.start(wait_connected=False)
        err = wait_for(lambda: "WRONGPASS" in b.cluster().get("last_error", "") and
                       b.cluster()["last_error"], 5)
        self.assertTrue(err, b.cluster())
        self.assertNotIn("wrong", b.read_log())  # the password is never logged
        # An ACL user of its own, limited to the farm's keys and channel.
        self.redis.cmd("ACL", "SETUSER", "ftplimit", "on", ">farm-pw", "~{ftplimit}*",
                       "&ftplimit:*", "+@all")
        acl = self.password_file("acl", "ftplimit farm-pw")
        c = self.node("c", f"ClusterPasswordFile {acl}\nMaxClientsPerUser 1\n")
        s = self.session(c, "10.4.0.2", "hal")
        self.assertTrue(s.login.startswith("DISCONNECT 530 MaxClientsPerUser"), s.login)


class Policy(unittest.TestCase):
    def check(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(text)
        try:
            return subprocess.run([FTPLIMIT, "check", f.name], capture_output=True,
                                  text=True)
        finally:
            os.unlink(f.name)

    def test_errors_name_the_line_and_what_was_expected(self):
        cases = [
            ("Cluster http://x\n", "expected redis://HOST[:PORT][/DB] or unix:///PATH"),
            ("Cluster redis://h:0\n", "PORT 1-65535"),
            ("Cluster redis://:pw@h\n", "put the password in ClusterPasswordFile"),
            ("Cluster rediss://h\n", "rediss:// (TLS) is not supported"),
            ("Cluster unix://relative\n", "an absolute path"),
            ("Cluster redis://h\nClusterLocal MaxInstances\n", "not a limit the farm counts"),
            ("Cluster redis://h\nClusterFailMode maybe\n", "expected open or closed"),
            ("Cluster redis://h\nClusterNode a/b\n", "ClusterNode: expected"),
            ("Cluster redis://h\nClusterLease 2\nClusterTimeout 3000\n",
             "must be at most a quarter of ClusterLease"),
        ]
        for text, want in cases:
            r = self.check(text)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(want, r.stderr, text)
            self.assertRegex(r.stderr, r"\.conf:\d+: ", text)

    def test_check_says_what_the_farm_counts(self):
        r = self.check("Cluster redis://127.0.0.1:6400/2\nClusterNode web1\n"
                       "ClusterLocal MaxClientsPerHost\nMaxClientsPerUser 3\n"
                       "MaxClientsPerHost 4\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Cluster redis://127.0.0.1:6400/2: node web1, lease 10 s, "
                      "timeout 250 ms, fail open", r.stdout)
        self.assertIn("farm-wide: MaxClientsPerUser", r.stdout)
        self.assertIn("ClusterLocal (this node's own): MaxClientsPerHost", r.stdout)


def main():
    if REDIS is None:
        print("SKIP: redis-server is missing (Debian: redis-server)")
        return 77
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("Cluster redis://127.0.0.1\n")
        f.flush()
        probe = subprocess.run([FTPLIMIT, "check", f.name], capture_output=True, text=True)
    if "no Redis client" in probe.stderr:
        print("SKIP: this build has no hiredis (libhiredis-dev)")
        return 77
    r = unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:], exit=False).result
    return 0 if r.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
