"""Idle connections against a real broker: memory per connection, and the connection cap.

Usage (from the repo root)::

    .venv/bin/python benchmarks/connections.py                      # 5,000 connections
    .venv/bin/python benchmarks/connections.py --connections 2000 --cap 500

Two runs, each against a fresh ``streamscope broker`` subprocess (``--listen
127.0.0.1:0``, a temp data dir), with N client sockets from this process (its open-file
limit, RLIMIT_NOFILE, is raised to the hard limit first; N must fit under it):

1. **Memory**: the broker's connection limits set above N. Every socket connects, sends
   one ApiVersions request and reads its answer (so the broker has set the connection up
   and handled a request), then stays open and idle. Prints the broker's RSS
   (``/proc/PID/status`` VmRSS) before and after, the difference per connection, the
   broker's open descriptors (``/proc/PID/fd``), and how many connections were held.
2. **Cap**: the broker run with ``--max-connections CAP`` (default 1000, the broker's
   default); the same N sockets. Prints how many were held (answered) and how many
   refused (closed by the broker before any answer), the broker's RSS and fds, and how
   many refusal warnings it logged (rate limited: a few, not one per socket).

Linux only (``/proc``). Every wait has a deadline; the broker is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"listening on (\S+):(\d+)")
# ApiVersions v0, correlation id 7, client id "conn-bench": header only, empty body.
_CLIENT_ID = b"conn-bench"
_REQUEST = struct.pack(">hhih", 18, 0, 7, len(_CLIENT_ID)) + _CLIENT_ID
API_VERSIONS = struct.pack(">i", len(_REQUEST)) + _REQUEST


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Broker:
    """``python -m streamscope.core.cli broker`` with stderr in a log file."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.log_path = data_dir.with_suffix(".log")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamscope.core.cli", "broker", "--listen",
             "127.0.0.1:0", "--data-dir", str(data_dir), *args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            match = READY.search(self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(2))
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"broker did not start: {self.log_path.read_text()}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def open_connections(port: int, n: int, timeout_s: float = 120) -> tuple[list[socket.socket], int]:
    """N sockets that each sent ApiVersions: (those answered, number refused)."""
    sel = selectors.DefaultSelector()
    pending: dict[socket.socket, bytearray] = {}
    held: list[socket.socket] = []
    refused = 0
    deadline = time.monotonic() + timeout_s
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            s.sendall(API_VERSIONS)
        except OSError:
            refused += 1
            s.close()
            continue
        s.setblocking(False)
        pending[s] = bytearray()
        sel.register(s, selectors.EVENT_READ)
        if i % 200 == 199:  # read what has come so far: the accept queue stays short
            refused += _collect(sel, pending, held, 0)
    while pending and time.monotonic() < deadline:
        refused += _collect(sel, pending, held, 1.0)
    if pending:
        raise RuntimeError(f"{len(pending)} connections neither answered nor closed")
    sel.close()
    return held, refused


def _collect(sel: selectors.BaseSelector, pending: dict[socket.socket, bytearray],
             held: list[socket.socket], timeout: float) -> int:
    refused = 0
    for key, _ in sel.select(timeout):
        s = key.fileobj
        assert isinstance(s, socket.socket)
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        buf = pending[s]
        if not data:
            sel.unregister(s)
            del pending[s]
            s.close()
            refused += 1
            continue
        buf += data
        if len(buf) >= 4 and len(buf) >= 4 + struct.unpack_from(">i", buf)[0]:
            sel.unregister(s)
            del pending[s]
            held.append(s)
    return refused


def settle(pid: int) -> int:
    """The broker's RSS once it stops moving (a few samples apart)."""
    last = rss_kib(pid)
    for _ in range(20):
        time.sleep(0.25)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


def run(n: int, broker_args: list[str], tmp: Path, name: str) -> dict:
    broker = Broker(tmp / name, *broker_args)
    try:
        # Warm up: the first connections pay for imports and first-use caches.
        warm, _ = open_connections(broker.port, 20)
        for s in warm:
            s.close()
        time.sleep(0.5)
        before, fds_before = settle(broker.pid), fds(broker.pid)
        t0 = time.monotonic()
        held, refused = open_connections(broker.port, n)
        elapsed = time.monotonic() - t0
        after, fds_after = settle(broker.pid), fds(broker.pid)
        for s in held:
            s.close()
        result = {"held": len(held), "refused": refused, "rss_before_kib": before,
                  "rss_after_kib": after, "fds_before": fds_before, "fds_after": fds_after,
                  "seconds": elapsed}
    finally:
        broker.stop()
    log_text = broker.log_path.read_text(errors="replace")
    result["refusal_log_lines"] = log_text.count("Refused ")
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=5000, help="client sockets (5000)")
    p.add_argument("--cap", type=int, default=1000,
                   help="--max-connections of the second run (default 1000, the default)")
    p.add_argument("--old-broker", action="store_true",
                   help="run 1 only, without limit options: for a broker from before they"
                        " existed (e.g. PYTHONPATH pointing at an older checkout)")
    args = p.parse_args()
    limit = raise_fd_limit()
    print(f"open-file limit of this process: {limit}")
    if args.connections + 100 > limit:
        print(f"--connections {args.connections} does not fit under the fd limit {limit}")
        return 2
    n = args.connections
    with tempfile.TemporaryDirectory(prefix="conn-bench-") as tmp_name:
        tmp = Path(tmp_name)
        big = str(n + 100)
        limits = [] if args.old_broker else ["--max-connections", big,
                                             "--max-connections-per-ip", big]
        m = run(n, limits, tmp, "memory")
        per = (m["rss_after_kib"] - m["rss_before_kib"]) * 1024 / max(1, m["held"])
        print(f"\n== 1. {n} idle connections (limits above N), each after one ApiVersions")
        print(f"held {m['held']}  refused {m['refused']}  (opened in {m['seconds']:.1f} s)")
        print(f"broker RSS {m['rss_before_kib'] / 1024:.1f} MiB -> "
              f"{m['rss_after_kib'] / 1024:.1f} MiB: {per / 1024:.1f} KiB per connection")
        print(f"broker fds {m['fds_before']} -> {m['fds_after']}")
        if args.old_broker:
            return 0
        c = run(n, ["--max-connections", str(args.cap), "--max-connections-per-ip", big],
                tmp, "cap")
        print(f"\n== 2. {n} connections against --max-connections {args.cap}")
        print(f"held {c['held']}  refused {c['refused']}  (broker log: "
              f"{c['refusal_log_lines']} refusal warning lines)")
        print(f"broker RSS {c['rss_before_kib'] / 1024:.1f} MiB -> "
              f"{c['rss_after_kib'] / 1024:.1f} MiB; fds {c['fds_before']} -> {c['fds_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
