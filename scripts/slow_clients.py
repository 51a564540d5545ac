"""Slow-connection attack for the load benchmark: N clients that each send a request's headers one
line at a time, a line every INTERVAL seconds, and never finish; a client whose connection the server
closes reconnects at once. Prints how long the server kept such connections open.

    python3 scripts/slow_clients.py HOST PORT CLIENTS SECONDS [INTERVAL] [SOURCE]

The clients connect from SOURCE (default 127.0.0.2), another address than the load generator's, as
an attacker's would be.
"""

import socket
import statistics
import sys
import time


def main() -> None:
    host, port, clients, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    interval = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    source = sys.argv[6] if len(sys.argv) > 6 else "127.0.0.2"
    end = time.monotonic() + seconds
    socks: dict[socket.socket, float] = {}
    lifetimes: list[float] = []
    opened = refused = 0

    def connect() -> None:
        nonlocal opened, refused
        s = socket.socket()
        s.settimeout(2)
        try:
            s.bind((source, 0))
            s.connect((host, port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n")
            s.setblocking(False)
            socks[s] = time.monotonic()
            opened += 1
        except OSError:
            refused += 1
            s.close()

    for _ in range(clients):
        connect()
    peak = len(socks)
    while time.monotonic() < end:
        time.sleep(interval)
        for s in list(socks):
            alive = True
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    alive = False
            except BlockingIOError:
                pass
            except OSError:
                alive = False
            if alive:
                try:
                    s.send(b"X-Slow: 1\r\n")
                except OSError:
                    alive = False
            if not alive:
                lifetimes.append(time.monotonic() - socks.pop(s))
                s.close()
        peak = max(peak, len(socks))
        while len(socks) < clients and time.monotonic() < end:
            before = refused
            connect()
            if refused > before:
                break
    for s in socks:
        s.close()
    held = f"median {statistics.median(lifetimes):.1f} s, longest {max(lifetimes):.1f} s" if lifetimes else "none closed"
    print(
        f"slow clients: {clients} at once, {opened} connections opened, {refused} refused at connect, "
        f"{len(lifetimes)} closed by the server ({held})"
    )


if __name__ == "__main__":
    main()
