#!/usr/bin/python3
"""An SSH client for the end-to-end tests, on Debian's python3-paramiko
(run by /usr/bin/python3, where Debian's packages are importable).

  sshclient.py PORT SOURCE_ADDRESS USER CREDENTIAL... [--hold]

Opens one SSH session to 127.0.0.1:PORT from SOURCE_ADDRESS and tries each
CREDENTIAL in turn as USER -- password:TEXT, or key:FILE (an RSA private
key, sent signed, as paramiko does) -- until one is accepted or the server
ends the session. Prints one JSON line:

  {"attempts": ["failed", "ok"], "disconnect": [12, "text"] or null,
   "error": null or "what went wrong"}

With --hold, a session that logged in stays open until standard input is
closed (the line is printed first).
"""
import json
import logging
import re
import socket
import sys

import paramiko


class Disconnects(logging.Handler):
    """paramiko logs the server's DISCONNECT: keep its reason and text."""

    def __init__(self):
        super().__init__()
        self.seen = None

    def emit(self, record):
        m = re.match(r"Disconnect \(code (\d+)\): (.*)", record.getMessage())
        if m and self.seen is None:
            self.seen = [int(m.group(1)), m.group(2)]


def main():
    port, source, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    hold = "--hold" in sys.argv
    credentials = [a for a in sys.argv[4:] if a != "--hold"]
    disconnects = Disconnects()
    log = logging.getLogger("paramiko.transport")
    log.setLevel(logging.INFO)
    log.addHandler(disconnects)
    out = {"attempts": [], "disconnect": None, "error": None}
    transport = None
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                        source_address=(source, 0))
        transport = paramiko.Transport(sock)
        transport.start_client(timeout=10)
        for cred in credentials:
            kind, _, value = cred.partition(":")
            try:
                if kind == "password":
                    transport.auth_password(user, value)
                else:
                    transport.auth_publickey(user, paramiko.RSAKey.from_private_key_file(value))
                out["attempts"].append("ok" if transport.is_authenticated() else "failed")
                break
            except paramiko.AuthenticationException:
                out["attempts"].append("failed")
            except paramiko.SSHException as e:
                out["attempts"].append("ended")
                out["error"] = str(e)
                break
            except EOFError:
                # The server ended the session while this request was on its
                # way: its DISCONNECT may still be in the reader's hands.
                out["attempts"].append("ended")
                transport.join(2)
                break
            if not transport.is_active():
                break
    except (OSError, paramiko.SSHException) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    if transport is not None and not transport.is_authenticated():
        transport.close()
    out["disconnect"] = disconnects.seen
    print(json.dumps(out), flush=True)
    if hold and transport is not None and transport.is_authenticated():
        sys.stdin.read()
    if transport is not None:
        transport.close()


if __name__ == "__main__":
    main()
