"""The broker's hot paths, in process and over one socket: Produce parse, append, Fetch build.

Usage (from the repo root)::

    .venv/bin/python benchmarks/hotpath.py            # ~1-2 minutes
    .venv/bin/python benchmarks/hotpath.py --quick    # ~20 s, fewer repeats

Every figure is the median of several timed repeats (each repeat runs the operation a
few times and takes the mean); alternatives are interleaved repeat by repeat so drift
on a shared machine hits them alike, and each comparison prints the ratio.

1. **Produce request decode**: the general codec (``codec_for(0, v, True).decode``)
   against the hand-tuned decoder (``core.protocol.hotpath.decode_produce_request``,
   skipped if it does not exist), for one partition carrying one batch of 100 B x
   10,000 records or 1 KiB x 1,000 records, and for 1,000 partitions x one 10-record
   1 KiB batch. Both return the same dict (the tests prove it).
2. **Produce handling in process**: header + body decode (as the server does it),
   ``core.api.produce.handle`` on a real broker (disk log in a temp dir, default interval
   fsync), response encode: the whole per-request work of the server minus the socket,
   in microseconds and MB/s.
3. **Fetch response building**: ``core.api.fetch.handle`` + encode for 1 partition x
   1 MiB, 6 partitions x 1 MiB and 1,000 partitions x ~10 KiB: general
   (``encode_response``, one contiguous buffer) against hand-tuned
   (``hotpath.encode_fetch_response``: a list of buffers, records not copied).
4. **Over a socket**: the broker's ``Server`` on this process's loop (uvloop when
   importable, as the CLI) and a raw-socket client in a child process: pipelined 1 MiB
   Produce requests (MB/s, and broker CPU ms per MB), sequential 6 x 1 MiB Fetches
   (MB/s), and a one-record Produce round trip (p50/p99 microseconds) -- the framing,
   scheduling and write path that (1)-(3) leave out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamscope.core.server as server_module  # noqa: E402
from streamscope.core.api import ConnectionInfo, RequestContext, load_handlers  # noqa: E402
from streamscope.core.broker import Broker  # noqa: E402
from streamscope.core.config import BrokerConfig  # noqa: E402
from streamscope.core.node import Node  # noqa: E402
from streamscope.core.protocol import (  # noqa: E402
    codec_for,
    encode_request,
    encode_response,
    read_request_header,
)
from streamscope.core.records import build_batch  # noqa: E402

try:
    from streamscope.core.protocol import hotpath  # noqa: E402
except ImportError:  # before the hand-tuned codec existed: general figures only
    hotpath = None

PRODUCE, FETCH = 0, 1
BIG_TOPIC_CONFIG = {"max.message.bytes": str(4 << 20), "retention.bytes": str(256 << 20),
                    "segment.bytes": str(64 << 20)}


# ----------------------------------------------------------------------------- timing

def bench(fn: Callable[[], object], repeats: int, inner: int) -> float:
    """Median over ``repeats`` of the mean seconds per call over ``inner`` calls."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, inner: int) -> dict:
    """Like :func:`bench` for several alternatives, interleaved repeat by repeat."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm caches (compiled codecs, page cache)
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - t0) / inner)
    return {k: statistics.median(v) for k, v in samples.items()}


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def mbps(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:,.0f} MB/s"


def row(*cells: object) -> None:
    widths = (44, 14, 14, 10, 12)
    print("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                    for i, (c, w) in enumerate(zip(cells, widths, strict=False))))


def drive(coro):
    """Run a coroutine that never really suspends (Produce/Fetch with nothing to wait for)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("handler suspended; the benchmark expects an immediate answer")


# ----------------------------------------------------------------------------- requests

def batch(size: int, count: int) -> bytes:
    value = os.urandom(size)
    return build_batch([(None, value)] * count)


def produce_frame(version: int, parts: dict[str, list[bytes]], acks: int = 1) -> bytes:
    body = {"transactional_id": None, "acks": acks, "timeout_ms": 30000, "topic_data": [
        {"name": t, "partition_data": [{"index": i, "records": r} for i, r in enumerate(rs)]}
        for t, rs in parts.items()]}
    return encode_request(PRODUCE, version, 1, "bench", body)


def create_big_topics(broker: Broker, topics: dict[str, int]) -> None:
    """Topics (name: partition count) that take ~1 MB batches and keep a bounded log."""
    for name, partitions in topics.items():
        broker.create_topic(name, partitions, BIG_TOPIC_CONFIG)


def fill_for_fetch(broker: Broker, topic: str, partitions: int) -> None:
    """12 batches of 1,000 x 100 B per partition (~110 KB each, as a linger-5 producer
    makes them): over 1 MiB to fetch from each."""
    b100 = batch(100, 1000)
    for i in range(partitions):
        for _ in range(12):
            broker.produce(topic, i, bytearray(b100))


def fetch_request(topics: dict[str, int], max_partition: int, version: int = 11) -> dict:
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1, "max_bytes": 64 << 20,
            "isolation_level": 1, "session_id": 0, "session_epoch": -1, "topics": [
                {"topic": t, "partitions": [
                    {"partition": i, "current_leader_epoch": -1, "fetch_offset": 0,
                     "last_fetched_epoch": -1, "log_start_offset": -1,
                     "partition_max_bytes": max_partition} for i in range(n)]}
                for t, n in topics.items()],
            "forgotten_topics_data": [], "rack_id": ""}


# ----------------------------------------------------------------------------- sections

def section_decode(repeats: int) -> None:
    print("\n== 1. Produce request decode (general codec vs hand-tuned)")
    row("request", "general", "hand-tuned", "ratio", "MB/s (hand)")
    cases = [
        ("100 B x 10,000 records, 1 partition, v9", 9, {"t": [batch(100, 10_000)]}),
        ("100 B x 10,000 records, 1 partition, v7", 7, {"t": [batch(100, 10_000)]}),
        ("1 KiB x 1,000 records, 1 partition, v9", 9, {"t": [batch(1024, 1000)]}),
        ("1,000 partitions x 10 x 1 KiB, v9", 9, {"t": [batch(1024, 10)] * 1000}),
        ("1,000 partitions x 10 x 1 KiB, v7", 7, {"t": [batch(1024, 10)] * 1000}),
    ]
    for label, version, parts in cases:
        frame = produce_frame(version, parts)
        mv = memoryview(frame)
        _h, pos = read_request_header(frame)
        codec = codec_for(PRODUCE, version, True)
        fns = {"general": lambda c=codec, m=mv, p=pos: c.decode(m, p)}
        if hotpath is not None:
            fns["hand"] = lambda v=version, m=mv, p=pos: hotpath.decode_produce_request(v, m, p)
        inner = 20 if len(parts["t"]) > 1 else 2000
        t = interleaved(fns, repeats, inner)
        general_vs_hand_row(label, t, len(frame))


def general_vs_hand_row(label: str, t: dict[str, float], size: int) -> None:
    """A row of seconds per call, general and hand-tuned (``-`` when there is none), their
    ratio, and MB/s of ``size`` bytes (the hand-tuned path's when it exists)."""
    hand = t.get("hand")
    row(label, us(t["general"]), us(hand) if hand else "-",
        f"{t['general'] / hand:.2f}x" if hand else "-",
        mbps(size, hand) if hand else mbps(size, t["general"]))


@contextlib.asynccontextmanager
async def handler_node(data_dir: Path, api_key: int,
                       topics: dict[str, int]) -> AsyncIterator[tuple]:
    """A node that does not serve, with ``topics`` (:func:`create_big_topics`),
    ``api_key``'s handler module and a connection to call it as: ``(broker, groups,
    module, info)``; the broker is closed afterwards."""
    node = await Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir),
                      serve=False).start()
    info = ConnectionInfo(1, "127.0.0.1", 1, time.time())
    try:
        create_big_topics(node.broker, topics)
        yield node.broker, node.groups, load_handlers()[api_key], info
    finally:
        await node.broker.close()


async def section_produce(repeats: int, tmp: Path) -> None:
    print("\n== 2. Produce handling in process (header+decode, handle, append to disk, encode)")
    row("request", "per request", "throughput", "", "")
    async with handler_node(tmp / "produce", PRODUCE, {"p1": 1, "p1000": 1000}) as (
        broker, groups, module, info
    ):
        cases = [
            ("100 B x 10,000 records, 1 partition, v9", 9, {"p1": [batch(100, 10_000)]}, 20),
            ("1 KiB x 1,000 records, 1 partition, v9", 9, {"p1": [batch(1024, 1000)]}, 20),
            ("1,000 partitions x 10 x 1 KiB, v9", 9, {"p1000": [batch(1024, 10)] * 1000}, 2),
            ("1 x 100 B record, 1 partition, v9", 9, {"p1": [batch(100, 1)]}, 2000),
        ]
        for label, version, parts, inner in cases:
            frame = produce_frame(version, parts)

            def one(frame=frame):
                # A fresh copy per request, as the server hands each frame over once.
                buf = bytearray(frame)
                header, pos = read_request_header(buf)
                # What the server does (the hand-tuned decoder once it exists).
                request = server_module._decode_request_body(PRODUCE, header.api_version,
                                                             buf, pos)
                ctx = RequestContext(broker, info, PRODUCE, header.api_version,
                                     header.correlation_id, header.client_id, groups)
                response = drive(module.handle(ctx, header.api_version, request))
                return encode_response(PRODUCE, header.api_version, header.correlation_id,
                                       response)

            t = bench(one, repeats, inner)
            row(label, us(t), mbps(len(frame), t))
            broker.enforce_retention()


async def section_fetch(repeats: int, tmp: Path) -> None:
    print("\n== 3. Fetch response building (handle + encode; general vs hand-tuned)")
    row("response", "general", "hand-tuned", "ratio", "MB/s (hand)")
    async with handler_node(tmp / "fetch", FETCH, {"f6": 6, "f1000": 1000}) as (
        broker, groups, module, info
    ):
        fill_for_fetch(broker, "f6", 6)
        small = batch(1024, 10)
        for i in range(1000):
            broker.produce("f1000", i, bytearray(small))
        cases = [
            ("1 partition x 1 MiB, v11", {"f6": 1}, 1 << 20, 11, 200),
            ("6 partitions x 1 MiB, v11", {"f6": 6}, 1 << 20, 11, 40),
            ("6 partitions x 1 MiB, v12", {"f6": 6}, 1 << 20, 12, 40),
            ("1,000 partitions x ~10 KiB, v11", {"f1000": 1000}, 1 << 20, 11, 4),
        ]
        for label, topics, pmax, version, inner in cases:
            request = fetch_request(topics, pmax, version)
            ctx = RequestContext(broker, info, FETCH, version, 7, "bench", groups)

            def general(request=request, ctx=ctx, version=version):
                body = drive(module.handle(ctx, version, request))
                return encode_response(FETCH, version, 7, body, size_prefix=True)

            fns = {"general": general}
            if hotpath is not None:
                def hand(request=request, ctx=ctx, version=version):
                    body = drive(module.handle(ctx, version, request))
                    return hotpath.encode_fetch_response(version, 7, body)
                fns["hand"] = hand
            size = len(general())
            t = interleaved(fns, repeats, inner)
            general_vs_hand_row(label, t, size)


# ----------------------------------------------------------------------------- socket

_CLIENT = r'''
import socket, struct, sys, time, json
host, port, mode, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
frame = sys.stdin.buffer.read()
s = socket.create_connection((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = bytearray(64 << 20)
view = memoryview(buf)
def recv_frame():
    got = 0
    while got < 4:
        got += s.recv_into(view[got:4])
    size = struct.unpack_from(">i", buf)[0]
    got = 0
    while got < size:
        k = s.recv_into(view[got:size])
        if not k:
            raise EOFError
        got += k
    return size
out = {}
if mode == "pipelined":
    import threading
    def sender():
        for _ in range(n):
            s.sendall(frame)
    t0 = time.perf_counter()
    th = threading.Thread(target=sender); th.start()
    for _ in range(n):
        recv_frame()
    out["seconds"] = time.perf_counter() - t0
    th.join()
elif mode == "sequential":
    lat = []
    total = 0
    t0 = time.perf_counter()
    for _ in range(n):
        a = time.perf_counter()
        s.sendall(frame)
        total += recv_frame()
        lat.append(time.perf_counter() - a)
    out["seconds"] = time.perf_counter() - t0
    out["bytes"] = total
    lat.sort()
    out["p50"] = lat[len(lat) // 2]
    out["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
s.close()
print(json.dumps(out))
'''


async def run_client(host: str, port: int, mode: str, n: int, frame: bytes) -> dict:
    import json

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CLIENT, host, str(port), mode, str(n),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(frame), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode:
        raise RuntimeError(f"client failed: {err.decode(errors='replace')[-500:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def section_socket(repeats: int, tmp: Path, quick: bool) -> None:
    print("\n== 4. Over a socket (Server on this loop, raw-socket client process)")
    row("workload", "median", "broker CPU", "", "")
    node = await Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp / "socket")).start()
    broker, server = node.broker, node.server
    try:
        create_big_topics(broker, {"s1": 1, "s6": 6})
        results: dict[str, list] = {}
        big = {"100 B": batch(100, 9000), "1 KiB": batch(1024, 1000)}
        fill_for_fetch(broker, "s6", 6)
        fetch6 = encode_request(FETCH, 11, 1, "bench", fetch_request({"s6": 6}, 1 << 20))
        tiny = produce_frame(9, {"s1": [batch(100, 1)]})
        n_big = 100 if quick else 200
        n_tiny = 2000 if quick else 5000
        n_fetch = 50 if quick else 150
        for _ in range(repeats):
            # First, while the disk is quiet: writeback of the bulk runs below slows
            # small appends for a few seconds, which is the disk's doing, not the server's.
            framed = len(tiny).to_bytes(4, "big") + tiny
            await broker.flush_dirty()
            r = await run_client(server.host, server.port, "sequential", n_tiny, framed)
            results.setdefault("produce 1 x 100 B, round trip p50", []).append(
                (r["p50"], None))
            results.setdefault("produce 1 x 100 B, round trip p99", []).append(
                (r["p99"], None))
            for label, b in big.items():
                # Each workload starts with nothing left to write back (as after a quiet
                # second): dirty pages from the last one would slow this one's writes.
                await broker.flush_dirty()
                frame = produce_frame(9, {"s1": [b]})
                framed = len(frame).to_bytes(4, "big") + frame
                c0 = time.process_time()
                r = await run_client(server.host, server.port, "pipelined", n_big, framed)
                cpu = time.process_time() - c0
                mb = len(frame) * n_big / 1e6
                results.setdefault(f"produce {label} batches ~1 MB, pipelined", []).append(
                    (mb / r["seconds"], cpu * 1000 / mb))
                broker.enforce_retention()
            framed = len(fetch6).to_bytes(4, "big") + fetch6
            await broker.flush_dirty()
            c0 = time.process_time()
            r = await run_client(server.host, server.port, "sequential", n_fetch, framed)
            cpu = time.process_time() - c0
            mb = r["bytes"] / 1e6
            results.setdefault("fetch 6 x 1 MiB, sequential", []).append(
                (mb / r["seconds"], cpu * 1000 / mb))
        for label, vals in results.items():
            main = statistics.median(v[0] for v in vals)
            cpus = [v[1] for v in vals if v[1] is not None]
            cpu_s = f"{statistics.median(cpus):.2f} ms/MB" if cpus else ""
            row(label, us(main) if "round trip" in label else f"{main:,.0f} MB/s", cpu_s)
    finally:
        await node.close(grace_s=1)


async def main_async(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="streamscope-hotpath-", dir=args.tmp))
    try:
        section_decode(args.repeats)
        await section_produce(args.repeats, tmp)
        await section_fetch(args.repeats, tmp)
        await section_socket(max(3, args.repeats // 3), tmp, args.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (~20 s)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per figure")
    parser.add_argument("--tmp", default=None, help="parent dir for the temp data dirs")
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 5 if args.quick else 15
    loop_name = "asyncio"
    try:
        import uvloop
    except ImportError:
        runner = asyncio.Runner()
    else:
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        loop_name = "uvloop"
    # `streamscope broker` tunes the allocator by default (before the tuning moved to the
    # entry point, Server.start() did); do it first so every section measures the broker
    # as it runs (absent before the tuning existed).
    tune = getattr(server_module, "tune_allocator", None)
    tuned = tune() if tune is not None else False
    print(f"hotpath benchmark: Python {sys.version.split()[0]}, loop {loop_name}, "
          f"hand-tuned codec {'present' if hotpath is not None else 'absent'}, "
          f"allocator tuning {'on' if tuned else 'off'}, {os.cpu_count()} CPUs")
    t0 = time.monotonic()
    with runner:
        runner.run(main_async(args))
    print(f"\ntotal {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
