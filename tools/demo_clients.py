#!/usr/bin/env python3
"""The demo's burst of FTP clients (tools/demo.sh): usage demo_clients.py
PORT DIR. Each client comes from its own loopback address (127.0.0.N) to
stand for a host; sessions that get in are held until the end, so that the
limits fill up. Prints what each client got, the events ftplimit's jsonl
listener saw, and `ftplimit status`."""
import ftplib
import json
import os
import subprocess
import sys
import time

PASSWORD = "secret"


class Burst:
    def __init__(self, port, demo_dir, ftplimit):
        self.port = port
        self.dir = demo_dir
        self.ftplimit = ftplimit
        self.held = []
        self.rows = []

    def client(self, host):
        f = ftplib.FTP(source_address=(f"127.0.0.{host}", 0))
        try:
            f.connect("127.0.0.1", self.port, timeout=10)
        except BaseException:
            f.close()
            raise
        return f

    def row(self, who, what, reply):
        self.rows.append((who, what, reply.replace("\n", " ")))

    def login(self, what, host, user, *passwords):
        """Connect from 127.0.0.<host> and log in, trying each password."""
        who = f"{user}@127.0.0.{host}"
        try:
            f = self.client(host)
        except ftplib.all_errors as e:
            return self.row(who, what, str(e))
        reply = ""
        for password in passwords:
            try:
                f.sendcmd("USER " + user)
                reply = f.sendcmd("PASS " + password)
                self.held.append(f)
                return self.row(who, what, reply)
            except (EOFError, OSError):
                reply += " (connection closed)"
                break
            except ftplib.all_errors as e:
                reply = (reply + " / " if reply else "") + str(e)
        f.close()
        self.row(who, what, reply)

    def idle(self, what, host):
        who = f"(no login)@127.0.0.{host}"
        try:
            self.held.append(self.client(host))
            self.row(who, what, "220 connected")
        except ftplib.all_errors as e:
            self.row(who, what, str(e))

    def run(self):
        self.login("logs in", 2, "alice", PASSWORD)
        self.login("logs in from alice's host", 2, "bob", PASSWORD)
        self.login("a third session from that host", 2, "carol", PASSWORD)
        self.login("alice from a second host", 3, "alice", PASSWORD)
        self.login("alice from a third host: her third session", 4, "alice", PASSWORD)
        self.login("anonymous, no e-mail address as password", 5, "anonymous", "guest")
        self.login("anonymous with one", 5, "anonymous", "guest@example.com")
        self.login("guesses passwords", 6, "mallory", "123456", "letmein")
        self.login("guesses again: the host is banned", 6, "mallory", "qwerty", "admin")
        self.login("comes back, with the right password", 6, "mallory", PASSWORD)
        for n in range(3):
            self.idle(f"connects, does not log in ({n + 1})", 7)
        self.login("a fourth connection from that host", 7, "dave", PASSWORD)
        self.login("logs in", 8, "dave", PASSWORD)
        self.login("logs in: the sixth client", 9, "erin", PASSWORD)
        self.login("the seventh", 10, "carol", PASSWORD)

    def print_clients(self):
        print("== What each client got (a client is a loopback address)\n")
        w1 = max(len(r[0]) for r in self.rows)
        w2 = max(len(r[1]) for r in self.rows)
        print(f"{'CLIENT':<{w1}}  {'WHAT IT DID':<{w2}}  REPLY")
        for who, what, reply in self.rows:
            print(f"{who:<{w1}}  {what:<{w2}}  {reply}")

    def print_events(self):
        print("\n== What ftplimit's listeners saw (OnEvent * jsonl events.jsonl)\n")
        with open(os.path.join(self.dir, "events.jsonl")) as f:
            events = [json.loads(line) for line in f if line.strip()]
        exits = sum(1 for e in events if e["event"] == "core.exit" and "sid" in e)
        shown = [e for e in events if not e["event"].startswith("core.")]
        print(f"{'EVENT':<36} {'ADDRESS':<11} {'USER':<10} DETAIL")
        for e in shown:
            detail = e.get("limit", "")
            if "max" in e:
                detail += f" (max {e['max']}, count {e['count']})"
            if e["event"] == "ftplimit.ban":
                detail = f"{e['ban']} {e['target']} banned for {e['duration']} s by {e['limit']}"
            print(f"{e['event']:<36} {e.get('address', ''):<11} {e.get('user', ''):<10} {detail}")
        print(f"\n... and {exits} sessions ended (core.exit), each releasing its counts.")

    def print_status(self):
        print("\n== ftplimit status (the engine, while the sessions above are held)\n")
        sock = os.path.join(self.dir, "ftplimitd.sock")
        out = subprocess.run([self.ftplimit, "status", "-s", sock], capture_output=True,
                             text=True)
        print(out.stdout or out.stderr)

    def close(self):
        for f in self.held:
            try:
                f.quit()
            except ftplib.all_errors:
                f.close()


def main():
    port, demo_dir, ftplimit = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    b = Burst(port, demo_dir, ftplimit)
    b.run()
    time.sleep(0.3)  # the last events reach the file
    b.print_clients()
    b.print_events()
    b.print_status()
    b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
