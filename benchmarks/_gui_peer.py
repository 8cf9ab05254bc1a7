"""The "broker in a child process" variant of the GUI load benchmark: both ends of a
minimal snapshot transport.

This is benchmark scaffolding, not a product feature: the app has no way to show a broker
that runs in another process (``BrokerService`` owns a ``core.runtime.BrokerThread``), so
``benchmarks/gui_load.py`` builds the nearest honest stand-in to measure what that design
would cost and save.

Contract:

* ``python benchmarks/_gui_peer.py --data-dir DIR`` runs the headless broker exactly as
  ``streamscope broker`` assembles it (a ``core.node.Node`` on 127.0.0.1 port 0, default fsync
  policy, uvloop when importable, as ``core.cli`` does), plus a snapshot listener on another
  free loopback port. It logs ``listening on HOST:PORT`` and ``snapshots on HOST:PORT`` to
  stderr and runs until SIGTERM/SIGINT.
* Snapshot protocol: the client sends one byte; the peer builds a
  :class:`core.monitor.ClusterSnapshot` with :class:`core.monitor.EmbeddedObserver` on the
  broker's loop (where ``BrokerService`` builds it in the thread design) and replies with a
  4-byte big-endian length and the pickled snapshot. One request in flight per connection.
* :class:`RemoteSnapshots` (GUI side) fetches on a helper thread, so the GUI thread only
  swaps a reference: ``request()`` never blocks, at most one fetch is in flight (as in
  ``BrokerService.request_snapshot``), ``latest()`` returns the newest snapshot, and
  ``fetch_ms`` / ``unpickle_ms`` record what the transport cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import pickle
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

_LEN = struct.Struct(">I")


# --- the child process (broker + snapshot listener) -----------------------------------------


async def _serve(data_dir: Path) -> None:
    from streamscope.core.config import BrokerConfig
    from streamscope.core.node import Node
    from streamscope.core.server import tune_allocator

    tune_allocator()  # as `streamscope broker` does by default (--tune-allocator)
    node = await Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir)).start()
    server = node.server
    observer = node.observer()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readexactly(1)
                # Built on the broker loop with no await in between: the same consistency
                # rule as BrokerService._build_snapshot.
                data = pickle.dumps(observer.snapshot(), protocol=pickle.HIGHEST_PROTOCOL)
                writer.write(_LEN.pack(len(data)) + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    snaps = await asyncio.start_server(on_client, "127.0.0.1", 0)
    shost, sport = snaps.sockets[0].getsockname()[:2]
    print(f"listening on {server.bootstrap}", file=sys.stderr, flush=True)
    print(f"snapshots on {shost}:{sport}", file=sys.stderr, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    snaps.close()
    await node.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Headless broker + snapshot listener (benchmark).")
    p.add_argument("--data-dir", type=Path, required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(args.data_dir))
        return 0
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(args.data_dir))
    return 0


# --- the GUI side ----------------------------------------------------------------------------


class RemoteSnapshots:
    """Pulls snapshots from a peer on a helper thread; the GUI only reads ``latest()``."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port), timeout=10)
        self._sock.settimeout(None)
        self._latest: Any = None
        self._wanted = threading.Event()
        self._pending = False
        self._closed = False
        self.fetch_ms: deque[float] = deque(maxlen=100_000)
        self.unpickle_ms: deque[float] = deque(maxlen=100_000)
        self.bytes_last = 0
        self._thread = threading.Thread(target=self._run, name="snapshot-fetch", daemon=True)
        self._thread.start()

    def latest(self) -> Any:
        return self._latest

    def request(self) -> None:
        if self._pending or self._closed:
            return
        self._pending = True
        self._wanted.set()

    def _recv_exactly(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("snapshot peer closed the connection")
            buf += chunk
        return bytes(buf)

    def _run(self) -> None:
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._closed:
                    return
                t0 = time.perf_counter()
                self._sock.sendall(b"S")
                (size,) = _LEN.unpack(self._recv_exactly(_LEN.size))
                data = self._recv_exactly(size)
                t1 = time.perf_counter()
                snap = pickle.loads(data)
                t2 = time.perf_counter()
                self.fetch_ms.append((t2 - t0) * 1000)
                self.unpickle_ms.append((t2 - t1) * 1000)
                self.bytes_last = size
                self._latest = snap  # one reference assignment: atomic for the GUI thread
                self._pending = False
        except (OSError, ConnectionError):
            return  # the peer went away: latest() keeps the last snapshot

    def close(self) -> None:
        self._closed = True
        self._wanted.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
