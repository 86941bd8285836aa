#!/usr/bin/env python3
"""Login latency of ProFTPD with mod_ftplimit against stock ProFTPD.

Usage: bench/proftpd.py [--quick] [SIZES...]   (default sizes 10 100 300)

For each size N, two servers run side by side on 127.0.0.1 and enforce
MaxClientsPerHost, MaxClientsPerUser and MaxClients (all 1000, so nothing
is refused): stock ProFTPD with mod_auth, which scans the scoreboard at each
login, and ProFTPD with mod_ftplimit and the same proftpd.conf (FtpLimitEngine
on, no policy file: ftplimit takes the limits over). Each holds
N authenticated sessions (from several loopback addresses and users); then
clients log in one after the other, alternating between the two servers so
that both meet the same machine noise, in batches of 5 per server that stay
logged in until the batch ends. Printed, per size and server: the median of
connect-to-230 and of USER-to-230 (the limit checks run after PASS), the
ratio stock / ftplimit, and the median of the paired differences (each
stock login against the ftplimit login next to it).

The users' passwords are MD5-crypt hashes: SHA-512 crypt costs about 3 ms a
login in both servers, and would hide what the limits cost. After each batch
the sessions QUIT and the bench waits 1 s: ProFTPD's master sleeps
2 x 200 ms whenever a signal (the SIGCHLD of a session that ended)
interrupts it, and a client connecting meanwhile waits for its banner.

Needs root, proftpd and a build with the module (make bench-proftpd).
"""
import concurrent.futures
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import e2e_proftpd as e2e  # noqa: E402  (the test suite's Server)

LIMITS = "MaxClientsPerHost 1000\nMaxClientsPerUser 1000\nMaxClients 1000\n"
BATCH = 5  # logins per server between two pauses (settle)


def hold(server, n):
    """N logged-in sessions, from 8 hosts and 5 users."""
    def one(i):
        f, reply = server.login(e2e.USERS[i % len(e2e.USERS)], host=10 + i % 8)
        if f is None:
            raise RuntimeError(f"session {i} refused: {reply}")
        return f
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


def login(server, i):
    """(connect-to-230, USER-to-230) in ms, and the session, still open."""
    t0 = time.perf_counter()
    f = server.connect(host=2 + i % 5)
    t1 = time.perf_counter()
    f.sendcmd("USER " + e2e.USERS[i % len(e2e.USERS)])
    reply = f.sendcmd("PASS " + e2e.PASSWORD)
    t2 = time.perf_counter()
    if not reply.startswith("230"):
        raise RuntimeError("login refused: " + reply)
    return ((t2 - t0) * 1000, (t2 - t1) * 1000), f


def settle(sessions):
    """End the measured sessions, and let both masters wake up: ProFTPD's
    master sleeps twice 200 ms whenever the SIGCHLD of a session that ended
    interrupts it, and a client connecting meanwhile waits for its banner."""
    for f in sessions:
        f.quit()
    sessions.clear()
    time.sleep(1.0)


def run(n, logins):
    """Medians (connect-230, USER-230) for stock and for mod_ftplimit."""
    fast = e2e.crypt.METHOD_MD5
    servers = [e2e.Server(conf=LIMITS, module=False, hash_method=fast),
               e2e.Server(conf=LIMITS, hash_method=fast,
                          ftplimit_conf=e2e.ENGINE_ONLY)]
    times = [[], []]
    held = []
    try:
        servers[0].start(engine=False)
        servers[1].start()
        measured = []
        for s in servers:
            held += hold(s, n)
            for i in range(BATCH):  # warm up
                measured.append(login(s, i)[1])
        settle(measured)
        for i in range(logins):
            for k in (0, 1) if i % 2 == 0 else (1, 0):
                t, f = login(servers[k], i)
                times[k].append(t)
                measured.append(f)
            if len(measured) >= 2 * BATCH:
                settle(measured)
        settle(measured)
        medians = [(statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
                   for ts in times]
        paired = statistics.median(s[0] - o[0] for s, o in zip(times[0], times[1]))
        return medians[0], medians[1], paired
    finally:
        for f in held:
            f.close()
        for s in servers:
            s.cleanup()


def main():
    e2e.stop_on_sigterm()
    args = [a for a in sys.argv[1:] if a != "--quick"]
    quick = "--quick" in sys.argv[1:]
    sizes = [int(a) for a in args] or [10, 100, 300]
    logins = 40 if quick else 200
    if os.geteuid() != 0 or e2e.PROFTPD is None or not os.path.exists(
            os.path.join(e2e.MODULE_DIR, "mod_ftplimit.so")):
        print("bench/proftpd: needs root, proftpd and mod_ftplimit built; skipped")
        return 0
    print(f"# {logins} logins per size and server, medians in ms")
    print(f"{'sessions':>8} {'stock connect-230':>18} {'ftplimit connect-230':>21} "
          f"{'ratio':>6} {'paired diff':>12} {'stock USER-230':>15} {'ftplimit USER-230':>18} "
          f"{'ratio':>6}")
    for n in sizes:
        stock, ours, paired = run(n, logins)
        print(f"{n:>8} {stock[0]:>18.2f} {ours[0]:>21.2f} {stock[0] / ours[0]:>6.2f} "
              f"{paired:>12.2f} {stock[1]:>15.2f} {ours[1]:>18.2f} {stock[1] / ours[1]:>6.2f}",
              flush=True)
        print(f"login_ms_paired_difference_stock_minus_ftplimit_{n} {paired:.2f} ms")
        print(f"login_ms_median_stock_{n} {stock[0]:.2f} ms")
        print(f"login_ms_median_ftplimit_{n} {ours[0]:.2f} ms")
        print(f"login_ratio_stock_over_ftplimit_{n} {stock[0] / ours[0]:.2f}")
        print(f"user_to_230_ms_median_stock_{n} {stock[1]:.2f} ms")
        print(f"user_to_230_ms_median_ftplimit_{n} {ours[1]:.2f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
