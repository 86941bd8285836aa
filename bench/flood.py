#!/usr/bin/env python3
"""A flood from banned hosts against a real ProFTPD, three ways.

Usage: bench/flood.py [SECONDS] [HOSTS]   (default 10 s, 50 banned hosts)

ProFTPD's master sleeps 2 x 200 ms after any signal interrupts it (src/
main.c): a SIGCHLD, or a timer's SIGALRM now and then, so an idle server
too has a login of about 400 ms every few seconds; a p99 over some 180
logins is about the second slowest. ">100ms" counts the logins under the
flood that took longer than 100 ms.

In a network namespace of its own (`unshare -n`: loopback only, never the
machine's firewall), for each of

  stock      ProFTPD with mod_ban, the hosts banned with `ftpdctl ban host`
  inprocess  ProFTPD with mod_ftplimit, the hosts banned with `ftplimit ban`
  firewall   the same with `BanFirewall nftables`: the bans in the kernel

HOSTS banned addresses (127.0.0.2 ...) open connections as fast as they can
for SECONDS (each closed once it is answered, or after 200 ms unanswered),
while one legitimate client (127.0.0.1) logs in again and again (connect,
USER, PASS, QUIT). Before the flood, the same client logs in on the idle
server for 5 s. Printed per server: the master's forks per second beyond
the legitimate logins' (from /proc/stat's process count: nothing else forks
meanwhile), the CPU seconds ProFTPD used (the master and the sessions it
reaped), the flood's connections and what became of them, and the
legitimate login's connect-to-230 p50/p99, idle and under the flood, and
their ratio. Target (issue 26): with BanFirewall, no fork for a banned
connection and a p99 within 1.2x of idle.

Needs root, proftpd, mod_ban, nft and a build with the module
(make bench-flood). Not part of make check.
"""
import ftplib
import multiprocessing
import os
import select
import socket
import statistics
import subprocess
import sys
import time

if os.environ.get("FTPLIMIT_FLOOD_NETNS") != "1":
    if os.geteuid() != 0:
        sys.exit("bench/flood.py: needs root (a network namespace, ProFTPD switching users)")
    env = dict(os.environ, FTPLIMIT_FLOOD_NETNS="1")
    os.execvpe("unshare", ["unshare", "-n", sys.executable, os.path.abspath(__file__)]
               + sys.argv[1:], env)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import e2e_proftpd as e2e  # noqa: E402  (the test suite's Server)

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
HOSTS = int(sys.argv[2]) if len(sys.argv) > 2 else 50
IDLE_SECONDS = 10.0
PAUSE = 0.05  # between two logins of the legitimate client
BANNED = [f"127.0.0.{2 + i}" for i in range(HOSTS)] if HOSTS <= 250 else sys.exit("HOSTS <= 250")
TICK = os.sysconf("SC_CLK_TCK")


def forks():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("processes "):
                return int(line.split()[1])
    return 0


def cpu(pid):
    """The process's CPU seconds with its reaped children's."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def flood(port, seconds, out):
    """Connections from the banned hosts as fast as they go; counts to out."""
    inflight = {}  # fd -> (socket, started)
    poller = select.poll()
    made = answered = unanswered = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        while len(inflight) < 512:
            s = socket.socket()
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.bind((BANNED[i % len(BANNED)], 0))
            i += 1
            s.connect_ex(("127.0.0.1", port))
            inflight[s.fileno()] = (s, time.monotonic())
            poller.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
            made += 1
        for fd, ev in poller.poll(5):
            s, _ = inflight.pop(fd)
            poller.unregister(fd)
            s.close()
            answered += 1
        now = time.monotonic()
        for fd in [fd for fd, (s, t) in inflight.items() if now - t > 0.2]:
            s, _ = inflight.pop(fd)
            poller.unregister(fd)
            s.close()
            unanswered += 1
    for s, _ in inflight.values():
        s.close()
    out.put((made, answered, unanswered + len(inflight)))


def logins(port, seconds):
    """connect-to-230 times of one client logging in again and again, every
    PAUSE. The sessions stay until the end: a session that ends sends the
    master a SIGCHLD, after which it sleeps 2 x 200 ms (src/main.c), and the
    next connect waits for it -- the legitimate client's own sessions would
    hide what the flood's do."""
    times, held = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        c = ftplib.FTP()
        try:
            c.connect("127.0.0.1", port, timeout=30)
            c.login("alice", e2e.PASSWORD)
            times.append((time.monotonic() - t0) * 1000)
            held.append(c)
        except (ftplib.all_errors) as err:
            print(f"  login failed: {err}", file=sys.stderr)
            c.close()
        time.sleep(PAUSE)
    for c in held:
        c.close()
    time.sleep(1.0)  # their ends, and the master's sleeps, before what follows
    return times


STOCK_CONF = """BanEngine on
BanTable @DIR@/ban.tab
BanOnEvent MaxLoginAttempts 1000/00:00:01 00:00:01
ControlsEngine on
ControlsInterval 1
ControlsSocket @DIR@/ctrls.sock
ControlsACLs all allow user root
BanControlsACLs all allow user root
"""


def server(kind):
    if kind == "stock":
        s = e2e.Server("", STOCK_CONF, module=False)
    else:
        s = e2e.Server("BanExempt 127.0.0.1\n")
        if kind == "firewall":
            s.write_policy(f"BanExempt 127.0.0.1\nBanFirewall nftables flood\n"
                           f"BanFirewallPorts {s.port}\n")
    s.start(engine=kind != "stock")
    for i in range(0, len(BANNED), 10) if kind == "stock" else []:
        # ftpdctl takes a few names at a time; mod_ctrls reads every ControlsInterval.
        subprocess.run(["ftpdctl", "-s", s.path("ctrls.sock"), "ban", "host"]
                       + BANNED[i:i + 10], check=True, capture_output=True)
    for addr in BANNED if kind != "stock" else []:
        subprocess.run([e2e.FTPLIMIT, "ban", "add", "host", addr, "1h", "-s",
                        s.path("ftplimitd.sock")], check=True, capture_output=True)
    time.sleep(1.0)  # the bans in the kernel (firewall), the master settled
    return s


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def run(kind):
    t = time.monotonic()
    s = server(kind)
    print(f"  {kind}: up in {time.monotonic() - t:.1f} s", file=sys.stderr)
    try:
        idle = logins(s.port, IDLE_SECONDS)
        master = s.proc.pid
        out = multiprocessing.Queue()
        f0, c0 = forks(), cpu(master)
        flooder = multiprocessing.Process(target=flood, args=(s.port, SECONDS, out))
        flooder.start()
        busy = logins(s.port, SECONDS)
        made, answered, unanswered = out.get()
        flooder.join()
        f1, c1 = forks(), cpu(master)
        banned_forks = f1 - f0 - 1 - len(busy)  # the flooder itself: 1
        print(f"  {kind}: measured in {time.monotonic() - t:.1f} s", file=sys.stderr)
        return {
            "kind": kind, "forks_s": max(banned_forks, 0) / SECONDS, "cpu": c1 - c0,
            "made": made, "answered": answered, "unanswered": unanswered,
            "idle": idle, "busy": busy,
        }
    finally:
        s.cleanup()


def main():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    print(f"bench/flood: {HOSTS} banned hosts flood for {SECONDS:.0f} s while one client logs "
          f"in again and again; idle baseline {IDLE_SECONDS:.0f} s")
    results = [run(kind) for kind in ("stock", "inprocess", "firewall")]
    print(f"{'server':10} {'forks/s':>8} {'cpu s':>6} {'flood conns':>11} {'answered':>9} "
          f"{'dropped':>8} {'logins':>7} {'idle p50/p99 ms':>16} {'flood p50/p99 ms':>17} "
          f"{'p99 ratio':>9} {'>100ms':>7}")
    for r in results:
        i50, i99 = pct(r["idle"], 50), pct(r["idle"], 99)
        b50, b99 = pct(r["busy"], 50), pct(r["busy"], 99)
        slow = sum(1 for x in r["busy"] if x > 100)
        print(f"{r['kind']:10} {r['forks_s']:8.0f} {r['cpu']:6.2f} {r['made']:11d} "
              f"{r['answered']:9d} {r['unanswered']:8d} {len(r['busy']):7d} "
              f"{i50:7.2f}/{i99:<8.2f} {b50:8.2f}/{b99:<8.2f} {b99 / i99:9.2f} {slow:7d}")


if __name__ == "__main__":
    main()
