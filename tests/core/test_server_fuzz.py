"""Hostile bytes never take the broker down: for every API and version it serves, valid
requests with random bytes flipped, cut or appended get an answer or a closed connection,
and afterwards the broker still serves a fresh connection and its data is intact."""

from __future__ import annotations

import asyncio
import random
import struct

import pytest
from streamscope.core.api import load_handlers
from streamscope.core.config import BrokerConfig
from streamscope.core.node import start_node
from streamscope.core.protocol import (
    codec_for,
    decode_response,
    encode_request,
    read_request_header,
)
from streamscope.core.records import build_batch

pytestmark = pytest.mark.timeout(240)

MUTANTS_PER_VERSION = 6


def _default_body(key: int, version: int) -> dict:
    """The request schema's all-defaults body, filled to be a plausible request."""
    frame = encode_request(key, version, 0, "fuzzer", {})
    header, pos = read_request_header(frame)
    body = codec_for(key, version, True).decode(memoryview(frame), pos)[0]
    if key == 0:
        body["acks"] = 1
        body["topic_data"] = [
            {"name": "fuzz", "partition_data": [{"index": 0, "records": build_batch([(b"k", b"v")])}]}
        ]
    elif key == 1:
        body["max_wait_ms"] = 10
        body["topics"] = [
            {"topic": "fuzz", "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 4096}]}
        ]
    return body


async def _exchange(host: str, port: int, frame: bytes) -> bytes:
    """Send one frame; what came back before the broker answered or hung up (5 s at most)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack(">i", len(frame)) + frame)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(1 << 20), 5)
        except (TimeoutError, ConnectionError):
            return b""
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def test_mutated_requests_for_every_api_leave_the_broker_serving(tmp_path):
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                                         max_request_bytes=1 << 20))
    broker, server = node.broker, node.server
    rng = random.Random(20261124)
    broker.create_topic("fuzz", 1)
    broker.produce("fuzz", 0, build_batch([(b"k", b"kept")]))
    sent = 0
    try:
        for key, module in sorted(load_handlers().items()):
            for version in range(module.MIN_VERSION, module.MAX_VERSION + 1):
                frame = bytearray(
                    encode_request(key, version, 7, "fuzzer", _default_body(key, version))
                )
                for _ in range(MUTANTS_PER_VERSION):
                    mutant = bytearray(frame)
                    how = rng.randrange(3)
                    if how == 0:
                        for _ in range(rng.randint(1, 4)):
                            mutant[rng.randrange(8, len(mutant))] = rng.randrange(256)
                    elif how == 1:
                        del mutant[rng.randrange(8, len(mutant)):]
                    else:
                        mutant += rng.randbytes(rng.randint(1, 16))
                    await _exchange(server.host, server.port, bytes(mutant))
                    sent += 1
        # The broker is still up: a fresh connection is served, and stored data is intact.
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(encode_request(18, 3, 99, "after-fuzz", {}, size_prefix=True))
        await writer.drain()
        size = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), 5))[0]
        correlation, body = decode_response(18, 3, await reader.readexactly(size))
        writer.close()
        assert correlation == 99 and body["error_code"] == 0
        assert sent > 300
        start, end = broker.partition_offsets("fuzz", 0)
        assert start == 0 and end >= 1
        first = broker.fetch("fuzz", 0, 0, 1 << 16).records
        assert b"kept" in bytes(first)
    finally:
        await node.close()
