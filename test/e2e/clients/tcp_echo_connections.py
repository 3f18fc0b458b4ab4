#!/usr/bin/env python3
"""Opens TCP connections one after another to a tcp-echo service and counts who answered, for
the TCP traffic-shifting task (test/e2e, docs/e2e.md); run inside a workload with `meshctl exec`.

usage: tcp_echo_connections.py HOST PORT COUNT

Each connection sends one line and reads the echo, whose first word is the answering version's
prefix ("one" for v1, "two" for v2). Prints one JSON object counting the prefixes, with "failed"
for connections that got no answer (each waits at most 5 s).
"""
import collections
import json
import socket
import sys


def echo_prefix(host, port, number):
    try:
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.sendall(f"connection {number}\n".encode())
            line = connection.makefile("rb").readline().decode(errors="replace")
    except OSError:
        return "failed"
    words = line.split()
    if len(words) != 3 or words[1:] != ["connection", str(number)]:
        return "failed"
    return words[0]


def main(argv):
    host, port, count = argv[1], int(argv[2]), int(argv[3])
    prefixes = collections.Counter(echo_prefix(host, port, n) for n in range(count))
    print(json.dumps(prefixes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
