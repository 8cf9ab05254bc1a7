"""A decompression bomb costs a bounded buffer, an error code, and never the broker loop.

A 32 KB zstd batch whose one record claims 1 GiB of zeros is produced through a real
socket (the broker accepts it: Produce checks CRCs, it does not inflate). ListOffsets by
timestamp then has to decode it: it answers CORRUPT_MESSAGE, the process's peak RSS
grows by a bounded amount (not the 1 GiB it once took), and while the batch is being
decoded another connection's ApiVersions is answered (the decode runs in a worker
thread: the test holds that thread at a gate and checks the order of answers).
In-process readers (``iter_records``, the browser) hit the same bound for every codec.
"""

from __future__ import annotations

import asyncio
import re
import struct
import threading
from pathlib import Path

import cramjam
import pytest
from streamscope.core import records
from streamscope.core.api import list_offsets
from streamscope.core.browse.batches import decode_batch
from streamscope.core.browse.reader import Start, read_page
from streamscope.core.config import BrokerConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.node import start_node
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.records import Compression, iter_records, seal_batch

pytestmark = pytest.mark.timeout(120)

GIB = 1 << 30
TS = 1_700_000_000_000
API_VERSIONS, PRODUCE, LIST_OFFSETS = 18, 0, 2


def _varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _record_around(value_size: int) -> tuple[bytes, bytes]:
    """The bytes before and after a ``value_size``-byte value of one whole record."""
    fields_head = b"\x00" + _varint(0) + _varint(0) + _varint(-1) + _varint(value_size)
    tail = _varint(0)
    return _varint(len(fields_head) + value_size + len(tail)) + fields_head, tail


def bomb_payload(codec: Compression, inflated: int) -> bytes:
    """One record of ``inflated`` zero bytes, compressed chunk by chunk (the test never
    holds the inflated bytes)."""
    head, tail = _record_around(inflated)
    chunk = bytes(1 << 20)
    if codec == Compression.SNAPPY:
        # xerial framing, one block per MiB (snappy inflates ~20x at most: no 1 GiB here).
        out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
        pieces = [head] + [chunk] * (inflated // len(chunk)) + [tail]
        for piece in pieces:
            block = bytes(cramjam.snappy.compress_raw(piece))
            out += struct.pack(">i", len(block)) + block
        return bytes(out)
    module = {Compression.GZIP: cramjam.gzip, Compression.LZ4: cramjam.lz4,
              Compression.ZSTD: cramjam.zstd}[codec]
    comp = module.Compressor()
    comp.compress(head)
    for _ in range(inflated // len(chunk)):
        comp.compress(chunk)
    comp.compress(tail)
    return bytes(comp.finish())


def bomb_batch(codec: Compression, inflated: int, timestamp: int = TS) -> bytes:
    return seal_batch(bomb_payload(codec, inflated), records_count=1, compression=codec,
                      base_timestamp=timestamp)


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4,
                                   Compression.ZSTD], ids=lambda c: c.name)
def test_a_batch_inflating_past_the_bound_is_corrupt_for_every_codec(codec):
    bound = 1 << 20
    batch = bomb_batch(codec, 4 << 20)
    with pytest.raises(KafkaError) as caught:
        list(iter_records(batch, max_uncompressed=bound))
    assert caught.value.code == ErrorCode.CORRUPT_MESSAGE
    assert "inflates past" in caught.value.message
    # Under a bound it fits, the same batch decodes whole.
    (record,) = list(iter_records(batch, max_uncompressed=8 << 20))
    assert record.value == bytes(4 << 20)
    # The message browser shows a note instead of the records, from the same bound.
    (row,) = decode_batch("t", 0, batch, max_uncompressed=bound)
    assert row.placeholder and "inflates to more than" in row.note


def test_the_bound_follows_the_topics_max_message_bytes():
    assert records.uncompressed_limit(1 << 20) == records.INFLATE_RATIO << 20
    assert records.uncompressed_limit(1) == records.MIN_UNCOMPRESSED
    assert records.MAX_UNCOMPRESSED == records.uncompressed_limit(
        records.DEFAULT_MAX_MESSAGE_BYTES)


def _peak_kib() -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(r"VmHWM:\s+(\d+)", fh.read()).group(1))


def _reset_peak() -> None:
    # Writing 5 resets the peak resident set size (VmHWM) to the current one (Linux 4.0+).
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


class _Wire:
    """One raw client connection: size-prefixed frames out, whole replies in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Wire:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, key: int, version: int, correlation: int, body: dict) -> None:
        self.writer.write(encode_request(key, version, correlation, "bomb-test", body,
                                         size_prefix=True))
        await self.writer.drain()

    async def recv(self, key: int, version: int) -> tuple[int, dict]:
        size = struct.unpack(">i", await asyncio.wait_for(self.reader.readexactly(4), 60))[0]
        return decode_response(key, version, await self.reader.readexactly(size))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def _list_offsets_body(topic: str, timestamp: int) -> dict:
    return {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": topic, "partitions": [{"partition_index": 0, "timestamp": timestamp}]}]}


async def test_a_zstd_bomb_answers_corrupt_message_with_bounded_memory_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "d"))
    host, port = node.server.host, node.server.port
    batch = bomb_batch(Compression.ZSTD, GIB)
    assert len(batch) < 64 * 1024  # tens of KB that claim a GiB
    # A worker-thread gate around the decode: it reports that decoding began and holds it
    # until released, so the test can check what the loop does meanwhile.
    started, release = threading.Event(), threading.Event()
    real = list_offsets.first_record_at_time

    def gated(*args, **kwargs):
        started.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(list_offsets, "first_record_at_time", gated)
    a = await _Wire.open(host, port)
    b = await _Wire.open(host, port)
    try:
        node.broker.create_topic("bomb", 1)
        await a.send(PRODUCE, 8, 1, {"acks": 1, "timeout_ms": 5000, "topic_data": [
            {"name": "bomb", "partition_data": [{"index": 0, "records": batch}]}]})
        _, produced = await a.recv(PRODUCE, 8)
        assert produced["responses"][0]["partition_responses"][0]["error_code"] == 0

        _reset_peak()
        before = _peak_kib()
        await a.send(LIST_OFFSETS, 7, 2, _list_offsets_body("bomb", TS))
        assert await asyncio.to_thread(started.wait, 60), "ListOffsets never began decoding"
        # The decode is held in its worker thread; the loop still answers others.
        await b.send(API_VERSIONS, 3, 3, {"client_software_name": "x",
                                          "client_software_version": "1"})
        correlation, versions = await b.recv(API_VERSIONS, 3)
        assert (correlation, versions["error_code"]) == (3, 0)
        release.set()
        correlation, answer = await a.recv(LIST_OFFSETS, 7)
        part = answer["topics"][0]["partitions"][0]
        assert correlation == 2
        assert (part["error_code"], part["offset"]) == (ErrorCode.CORRUPT_MESSAGE, -1)
        grown = (_peak_kib() - before) * 1024
        # At most the bound, plus its final copy and slack: never the GiB it claims.
        assert grown < 2 * records.MAX_UNCOMPRESSED, f"peak RSS grew {grown >> 20} MiB"
        # The broker is fine: the same connection still gets a valid by-time answer.
        node.broker.produce("bomb", 0, records.build_batch([(b"k", b"v", None, TS + 5)]))
        await a.send(LIST_OFFSETS, 7, 4, _list_offsets_body("bomb", TS + 1))
        _, later = await a.recv(LIST_OFFSETS, 7)
        part = later["topics"][0]["partitions"][0]
        assert (part["error_code"], part["offset"], part["timestamp"]) == (0, 1, TS + 5)
    finally:
        release.set()
        await a.close()
        await b.close()
        await node.close()


async def test_the_browser_seeking_by_time_to_a_bomb_shows_it_as_a_note(tmp_path: Path):
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "d"),
                            serve=False)
    try:
        node.broker.create_topic("bomb", 1)
        node.broker.produce("bomb", 0, records.build_batch([(b"k", b"before", None, TS - 5)]))
        node.broker.produce("bomb", 0, bomb_batch(Compression.ZSTD, GIB))
        page = await read_page(node.broker, "bomb", 0, Start.at_time(TS))
        (row,) = page.records
        assert (row.offset, row.placeholder) == (1, True)
        assert "inflates to more than" in row.note
    finally:
        await node.close()
