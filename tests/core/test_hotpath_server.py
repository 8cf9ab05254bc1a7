"""The server's framing on the hot path: frames received in place, in order, bounded.

A real Broker and Server on 127.0.0.1 port 0; a raw asyncio client writes frames cut at
arbitrary places, pipelines past the read-ahead bound, half-closes or goes idle. Every
test runs on the stdlib loop and on uvloop (what the CLI uses), whose buffered reads
and ``writelines`` differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import random
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import streamscope.core.server as server_module
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.node import start_node
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.records import build_batch, iter_batches
from streamscope.core.server import DIRECT_FRAME_BYTES, Server

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(60)

PRODUCE, FETCH = 0, 1


LOOPS = ["asyncio"]
try:
    import uvloop
except ImportError:  # optional dependency (not on Windows)
    uvloop = None
else:
    LOOPS.append("uvloop")


@pytest.fixture(params=LOOPS)
def run(request):
    """Runs a coroutine function to completion on a fresh loop of the kind under test."""
    factory = uvloop.new_event_loop if request.param == "uvloop" else None

    def runner(fn, *args):
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(fn(*args))
    return runner


@contextlib.asynccontextmanager
async def serving(data_dir, **config):
    config.setdefault("connection_idle_ms", 60_000)
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir, **config))
    try:
        yield node.broker, node.server
    finally:
        await node.close(grace_s=1)


def produce(correlation: int, topic: str, batch: bytes, version: int = 9, acks: int = 1) -> bytes:
    body = {"acks": acks, "timeout_ms": 5000, "topic_data": [
        {"name": topic, "partition_data": [{"index": 0, "records": batch}]}]}
    frame = encode_request(PRODUCE, version, correlation, "framing", body)
    return struct.pack(">i", len(frame)) + frame


async def read_frame(reader: asyncio.StreamReader, timeout: float = 10) -> bytes:
    size = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), timeout))[0]
    return await asyncio.wait_for(reader.readexactly(size), timeout)


async def read_produce_answer(reader, version: int = 9) -> tuple[int, dict]:
    correlation, body = decode_response(PRODUCE, version, await read_frame(reader))
    part = body["responses"][0]["partition_responses"][0]
    return correlation, part


async def connect(server: Server):
    reader, writer = await asyncio.open_connection(server.host, server.port)
    return reader, writer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass


def stored_batches(broker: Broker, topic: str) -> list[bytes]:
    data = broker.fetch(topic, 0, 0, 1 << 30).records
    return [bytes(view) for _h, view in iter_batches(data)]


@pytest.mark.parametrize("chunked", [False, True], ids=["whole-buffer", "chunked"])
def test_frames_cut_anywhere_are_reassembled_and_answered_in_order(
        run, tmp_path, monkeypatch, chunked) -> None:
    if chunked:  # small first chunks: a large frame arrives in many, joined at the end
        monkeypatch.setattr(server_module, "MIN_CHUNK_BYTES", 4096)
    rng = random.Random(6)
    small = build_batch([(b"k", b"v" * 50)])
    large = build_batch([(None, bytes(rng.randrange(256) for _ in range(1000)))] * 200)
    assert len(large) > DIRECT_FRAME_BYTES
    batches = [small, large, small, large, large, small]
    counts = [1, 200, 1, 200, 200, 1]
    stream = b"".join(produce(i + 1, "cut", b) for i, b in enumerate(batches))

    async def scenario():
        async with serving(tmp_path / "data") as (broker, server):
            broker.create_topic("cut", 1, {"max.message.bytes": str(4 << 20)})
            reader, writer = await connect(server)
            try:
                pos = 0
                while pos < len(stream):  # pieces of 1 byte to 64 KiB: every cut shape
                    n = rng.choice([1, 3, 4, 5, 17, 4096, 65536])
                    writer.write(stream[pos:pos + n])
                    await writer.drain()
                    pos += n
                offsets = []
                for i in range(len(batches)):
                    correlation, part = await read_produce_answer(reader)
                    assert correlation == i + 1
                    assert part["error_code"] == 0
                    offsets.append(part["base_offset"])
            finally:
                await close(writer)
            return offsets, stored_batches(broker, "cut")

    offsets, stored = run(scenario)
    expected = [0]
    for c in counts[:-1]:
        expected.append(expected[-1] + c)
    assert offsets == expected
    assert len(stored) == len(batches)
    for got, sent, base in zip(stored, batches, expected, strict=True):
        assert got[8:12] == sent[8:12] and got[16:] == sent[16:]  # bytes kept as sent
        assert struct.unpack(">q", got[:8])[0] == base  # base offset patched in place


def test_pipelining_past_the_read_ahead_bound_answers_every_request(
        run, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(server_module, "READ_AHEAD_FRAMES", 8)
    monkeypatch.setattr(server_module, "READ_AHEAD_BYTES", 256 * 1024)
    batch = build_batch([(None, b"p" * 60_000)])  # ~60 KB: a few fill the byte bound
    n = 60

    async def scenario():
        async with serving(tmp_path / "data") as (broker, server):
            reader, writer = await connect(server)
            try:
                # Written in one go, read only afterwards: the broker must stop reading
                # ahead (TCP pushes back) and still answer all of them, in order.
                writer.write(b"".join(produce(i, "ahead", batch) for i in range(n)))
                answers = [await read_produce_answer(reader) for _ in range(n)]
                await writer.drain()
            finally:
                await close(writer)
            return answers, broker.partition_offsets("ahead", 0)

    answers, offsets = run(scenario)
    assert [c for c, _p in answers] == list(range(n))
    assert [p["base_offset"] for _c, p in answers] == list(range(n))
    assert all(p["error_code"] == 0 for _c, p in answers)
    assert offsets == (0, n)


def test_oversized_frame_after_good_requests_answers_them_then_closes(run, tmp_path) -> None:
    batch = build_batch([(b"k", b"v")])

    async def scenario():
        async with serving(tmp_path / "d", max_request_bytes=64 * 1024) as (broker, server):
            reader, writer = await connect(server)
            writer.write(produce(1, "limits", batch) + produce(2, "limits", batch)
                         + struct.pack(">i", 64 * 1024 + 1) + b"\0" * 100)
            first = (await read_produce_answer(reader))[0]
            second = (await read_produce_answer(reader))[0]
            rest = await asyncio.wait_for(reader.read(), 10)  # b"": then closed
            await close(writer)
            stored = broker.partition_offsets("limits", 0)
            # The broker goes on serving other connections.
            reader, writer = await connect(server)
            writer.write(produce(3, "limits", batch))
            later = (await read_produce_answer(reader))[1]["base_offset"]
            await close(writer)
            return first, second, rest, stored, later

    assert run(scenario) == (1, 2, b"", (0, 2), 2)


def test_half_closed_client_still_gets_its_answers(run, tmp_path) -> None:
    batch = build_batch([(b"k", b"half")])

    async def scenario():
        async with serving(tmp_path / "data") as (broker, server):
            sock = socket.create_connection((server.host, server.port))
            try:
                sock.sendall(produce(5, "half", batch) + produce(6, "half", batch))
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(10)
                data = b""
                while True:
                    chunk = await asyncio.to_thread(sock.recv, 65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                sock.close()
            return data, broker.partition_offsets("half", 0)

    data, offsets = run(scenario)
    answers = []
    pos = 0
    while pos < len(data):
        size = struct.unpack_from(">i", data, pos)[0]
        answers.append(decode_response(PRODUCE, 9, data[pos + 4:pos + 4 + size])[0])
        pos += 4 + size
    assert answers == [5, 6]
    assert offsets == (0, 2)


def test_idle_connection_is_closed_after_connection_idle_ms(run, tmp_path) -> None:
    async def scenario():
        async with serving(tmp_path / "d", connection_idle_ms=300) as (broker, server):
            reader, writer = await connect(server)
            # The server hangs up (EOF) on its own; the default idle time (minutes) would
            # outlast the timeout, so only connection_idle_ms can end this read.
            rest = await asyncio.wait_for(reader.read(), 60)
            await close(writer)
            async with asyncio.timeout(30):  # the broker forgets the connection too
                while broker.connections:
                    await asyncio.sleep(0.01)
            return rest

    assert run(scenario) == b""


def test_acks_zero_large_produce_is_appended_without_an_answer(run, tmp_path) -> None:
    batch = build_batch([(None, b"q" * 1000)] * 100)

    async def scenario():
        async with serving(tmp_path / "data") as (broker, server):
            broker.create_topic("quiet", 1, {"max.message.bytes": str(4 << 20)})
            reader, writer = await connect(server)
            try:
                writer.write(produce(1, "quiet", batch, acks=0) + produce(2, "quiet", batch))
                return await read_produce_answer(reader)
            finally:
                await close(writer)

    correlation, part = run(scenario)
    assert correlation == 2  # nothing came back for request 1
    assert part["base_offset"] == 100


def test_large_fetch_answer_arrives_whole_and_matches_the_log(run, tmp_path) -> None:
    batch = build_batch([(None, b"f" * 1000)] * 300)
    body = {"max_wait_ms": 0, "min_bytes": 1, "max_bytes": 64 << 20, "isolation_level": 0,
            "session_epoch": -1, "topics": [{"topic": "big", "partitions": [
                {"partition": p, "fetch_offset": 0, "partition_max_bytes": 8 << 20}
                for p in range(2)]}]}

    async def scenario():
        async with serving(tmp_path / "data") as (broker, server):
            broker.create_topic("big", 2, {"max.message.bytes": str(4 << 20)})
            for p in range(2):
                for _ in range(4):
                    broker.produce("big", p, bytearray(batch))
            stored = [broker.fetch("big", p, 0, 1 << 30).records for p in range(2)]
            reader, writer = await connect(server)
            answers = []
            try:
                for version in (11, 12):
                    frame = encode_request(FETCH, version, version, "framing", body)
                    writer.write(struct.pack(">i", len(frame)) + frame)
                    answers.append(decode_response(FETCH, version, await read_frame(reader)))
            finally:
                await close(writer)
            return stored, answers

    stored, answers = run(scenario)
    for version, (correlation, answer) in zip((11, 12), answers, strict=True):
        assert correlation == version
        parts = answer["responses"][0]["partitions"]
        for p in range(2):
            assert bytes(parts[p]["records"]) == stored[p]
            assert parts[p]["high_watermark"] == 1200


# Run in a fresh interpreter, so nothing earlier in the test session tuned the allocator:
# prints whether an 8 MiB malloc gets a mapping of its own (glibc's default for large
# blocks) after a Broker and Server started, then again after tune_allocator().
_ALLOCATOR_PROBE = """
import asyncio, ctypes, sys
from pathlib import Path
from streamscope.core.config import BrokerConfig
from streamscope.core.node import start_node
from streamscope.core.server import tune_allocator

libc = ctypes.CDLL(None)
fields = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in fields.split()]

libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)

def mapped_alone(size):
    before = libc.mallinfo2().hblks
    block = libc.malloc(size)
    after = libc.mallinfo2().hblks
    libc.free(block)
    return after > before

async def main():
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(sys.argv[1])))
    try:
        print(mapped_alone(8 << 20))  # once only: freeing it moves glibc's own threshold
    finally:
        await node.close()
    print(tune_allocator(), mapped_alone(9 << 20))

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning is Linux-only")
def test_a_started_server_leaves_the_process_allocator_alone_until_an_entry_point_tunes_it(
        tmp_path) -> None:
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallinfo2"):
        pytest.skip("not glibc 2.33+: nothing to tune or observe")
    out = subprocess.run(
        [sys.executable, "-c", _ALLOCATOR_PROBE, str(tmp_path / "data")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    # A library changes no process-wide setting: large blocks still get their own mapping.
    assert out[0] == "True"
    # The entry point's tune_allocator() keeps them in the heap for reuse.
    assert out[1:] == ["True", "False"]
