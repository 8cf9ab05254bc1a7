"""The machine's ceilings for the broker's work, measured in the same run as the broker.

A broker that receives bytes over loopback TCP and appends them to a file cannot go
faster than this machine moves bytes between two processes or onto its disk, so the
broker figures in ``throughput.py`` are read as a fraction of these:

* loopback TCP bandwidth between two Python processes, 1 MiB sends;
* one asyncio server receiving 1 MiB chunks and appending them to a file (no sync, and
  an fdatasync every 64 MiB): the shape of a Python broker's produce path with nothing
  else in it;
* sequential file writes of 1 MiB chunks in the benchmark's temp dir, without any sync
  (page cache) and with fdatasync every 64 MiB;
* small (1 KiB) write + fdatasync per second: the bound on ``--fsync always`` appends.

Run alone: ``python benchmarks/ceilings.py [--quick] [--dir DIR]``. Every measurement has
a deadline; the sender process is killed if it outlives it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the line above makes the sibling module importable
    LOOPBACK,
    PYTHON,
    BenchError,
    install_cleanup,
    print_table,
    spawn,
    stop,
)

MiB = 1024 * 1024
CHUNK = MiB
SYNC_EVERY = 64 * MiB


def _sender(port: int, total: int) -> None:
    """Child process: connect and send ``total`` bytes in 1 MiB sends."""
    buf = os.urandom(CHUNK)
    with socket.create_connection((LOOPBACK, port), timeout=30) as s:
        sent = 0
        while sent < total:
            s.sendall(buf)
            sent += CHUNK
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # wait for the receiver to close: all was consumed


def _start_sender(port: int, total: int):
    return spawn([PYTHON, __file__, "_send", str(port), str(total)])


def tcp_loopback(total: int, timeout_s: float = 30.0) -> float:
    """MiB/s received by this process from a sender process over loopback TCP."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(1)
        listener.settimeout(timeout_s)
        proc = _start_sender(listener.getsockname()[1], total)
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(timeout_s)
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                got = 0
                t0 = None
                deadline = time.monotonic() + timeout_s
                while got < total:
                    n = conn.recv_into(view)
                    if n == 0:
                        raise BenchError("sender closed early")
                    if t0 is None:
                        t0 = time.perf_counter()
                    got += n
                    if time.monotonic() > deadline:
                        raise BenchError("loopback TCP measurement ran out of time")
                elapsed = time.perf_counter() - t0
        finally:
            stop(proc, grace_s=2.0)
    return total / MiB / elapsed


def asyncio_append(total: int, path: Path, sync_every: int | None,
                   timeout_s: float = 60.0) -> float:
    """MiB/s of an asyncio server appending what a sender process sends to ``path``."""

    async def run() -> float:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            try:
                got = 0
                unsynced = 0
                t0 = None
                while got < total:
                    data = await reader.read(CHUNK)
                    if not data:
                        break
                    if t0 is None:
                        t0 = time.perf_counter()
                    os.write(fd, data)
                    got += len(data)
                    unsynced += len(data)
                    if sync_every and unsynced >= sync_every:
                        os.fdatasync(fd)
                        unsynced = 0
                if sync_every:
                    os.fdatasync(fd)
                if got < total or t0 is None:
                    done.set_exception(BenchError("sender closed early"))
                else:
                    done.set_result(total / MiB / (time.perf_counter() - t0))
            except Exception as exc:  # the measurement fails, not the event loop
                if not done.done():
                    done.set_exception(exc)
            finally:
                os.close(fd)
                writer.close()

        server = await asyncio.start_server(handle, LOOPBACK, 0)
        proc = _start_sender(server.sockets[0].getsockname()[1], total)
        try:
            return await asyncio.wait_for(done, timeout_s)
        finally:
            stop(proc, grace_s=2.0)
            server.close()

    try:
        return asyncio.run(run())
    finally:
        path.unlink(missing_ok=True)


def file_write(total: int, path: Path, sync_every: int | None) -> float:
    """MiB/s of sequential 1 MiB writes (fdatasync every ``sync_every`` bytes, and at the end)."""
    buf = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        t0 = time.perf_counter()
        written = 0
        unsynced = 0
        while written < total:
            written += os.write(fd, buf)
            unsynced += CHUNK
            if sync_every and unsynced >= sync_every:
                os.fdatasync(fd)
                unsynced = 0
        if sync_every:
            os.fdatasync(fd)
        elapsed = time.perf_counter() - t0
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return total / MiB / elapsed


def small_fsyncs(path: Path, seconds: float = 1.0, size: int = 1024) -> float:
    """Appends of ``size`` bytes, each followed by fdatasync, per second."""
    buf = os.urandom(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    try:
        n = 0
        t0 = time.perf_counter()
        end = t0 + seconds
        while True:
            os.write(fd, buf)
            os.fdatasync(fd)
            n += 1
            now = time.perf_counter()
            if now >= end:
                break
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return n / (now - t0)


def measure_ceilings(workdir: Path, quick: bool = False) -> list[tuple[str, str, str]]:
    """Each ceiling as (what, value, unit); a failed one reads 'failed: why'."""
    tcp_total = (512 if quick else 2048) * MiB
    file_total = (256 if quick else 1024) * MiB
    reps = 1 if quick else 3
    rows: list[tuple[str, str, str]] = []

    def attempt(label: str, unit: str, fn, repeat: int = reps) -> None:
        try:
            values = [fn() for _ in range(repeat)]
            rows.append((label, f"{statistics.median(values):,.0f}", unit))
        except Exception as exc:  # report and go on: a ceiling is context, not the result
            rows.append((label, f"failed: {exc}", ""))

    attempt(f"loopback TCP, 2 Python processes, 1 MiB sends ({tcp_total // MiB} MiB)",
            "MiB/s", lambda: tcp_loopback(tcp_total))
    attempt("asyncio server: recv 1 MiB chunks + append to file", "MiB/s",
            lambda: asyncio_append(tcp_total // 2, workdir / "ceiling-append", None))
    attempt("asyncio server: recv + append, fdatasync every 64 MiB", "MiB/s",
            lambda: asyncio_append(tcp_total // 2, workdir / "ceiling-append", SYNC_EVERY))
    attempt(f"file write 1 MiB chunks, fdatasync every 64 MiB ({file_total // MiB} MiB)",
            "MiB/s", lambda: file_write(file_total, workdir / "ceiling-file", SYNC_EVERY))
    attempt(f"file write 1 MiB chunks, no sync (page cache, {file_total // MiB} MiB)",
            "MiB/s", lambda: file_write(file_total, workdir / "ceiling-file", None))
    attempt("1 KiB write + fdatasync", "ops/s",
            lambda: small_fsyncs(workdir / "ceiling-fsync", 0.5 if quick else 1.0), repeat=1)
    return rows


def print_ceilings(rows: list[tuple[str, str, str]]) -> None:
    print_table(["machine ceiling", "value", "unit"], [list(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_send":
        _sender(int(argv[1]), int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller volumes, one repetition")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to write the test files (default: a temp dir)")
    args = parser.parse_args(argv)
    install_cleanup()
    with tempfile.TemporaryDirectory(prefix="streamscope-ceil-", dir=args.dir) as tmp:
        print_ceilings(measure_ceilings(Path(tmp), args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
