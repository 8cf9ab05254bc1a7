"""100,000 hostile requests through the broker's real decode-and-handle path, in process.

Inputs (tests/core/test_fuzz_harness.py): frames real clients sent (tests/fuzz_corpus),
mutated; each served API and version's defaults, mutated; hypothesis-drawn requests for
every API and version the broker serves, as drawn and mutated. They go through the
server's own connection protocol (framing, header, decode, the API handler, encoding)
over an in-memory transport, against a real Broker with a tmp data dir. The broker must
answer every input or close that connection (a request that waits is hung up on, and
the broker must let it go), never close a bystander connection (a sentinel), keep a
topic stored before the fuzz byte for byte, log no handler failure, still answer a
fresh connection's ApiVersions over a real socket afterwards, and never let one request
allocate more than the frame limit.
"""

from __future__ import annotations

import logging
import struct
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.node import Node, start_node

from tests.core import test_fuzz_harness as fz
from tests.core.helpers import wait_until

pytestmark = pytest.mark.timeout(300)

FRAME_LIMIT = 1 << 20
INPUTS = 100_000
# Topics the fuzz creates stay small: creating thousands of partitions is slow by nature
# (their cost is the topic tests' business), and mutated counts ask for them often.
FUZZ_MAX_PARTITIONS = 16


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                                      max_request_bytes=FRAME_LIMIT,
                                      max_partitions_per_topic=FUZZ_MAX_PARTITIONS))
    # Every refused input logs a warning: quiet them, but keep errors to check.
    quiet = logging.getLogger("streamscope.core.server")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        yield n
    finally:
        quiet.setLevel(level)
        await n.close()


async def test_a_hundred_thousand_fuzzed_requests_leave_the_broker_serving_and_data_intact(
    node: Node,
):
    broker, server = node.broker, node.server
    fz.fuzz_topics(broker)
    kept = fz.kept_topic(broker)
    failures = fz.ErrorRecords()
    logging.getLogger().addHandler(failures)
    structured = list(fz.structured_frames())
    corpus, schema = fz.load_corpus(), fz.schema_frames()
    mutator = fz.Mutator(13, corpus + schema + structured)
    left = INPUTS - len(structured)
    inputs = fz.interleave(
        (("structured", f) for f in structured),
        fz.mutants("corpus", corpus, left * 45 // 100, mutator),
        fz.mutants("schema", schema, left * 25 // 100, mutator),
        fz.mutants("structured-mutant", structured,
                   left - left * 45 // 100 - left * 25 // 100, mutator),
    )

    async def wire() -> fz.InProcessWire:
        return fz.InProcessWire(server)

    try:
        totals = await fz.run_inputs(inputs, wire, workers=16, park_s=1.0)
        print(f"in-process fuzz: {totals.line()}")
    finally:
        logging.getLogger().removeHandler(failures)
    assert totals.inputs == INPUTS
    assert set(totals.by_kind) == {"structured", "corpus", "schema", "structured-mutant"}
    # Both outcomes are common: most inputs are refused or answered, few wait.
    assert totals.outcomes[fz.Outcome.ANSWERED] > INPUTS // 5
    assert totals.outcomes[fz.Outcome.CLOSED] > INPUTS // 5
    assert totals.sentinel_checks >= 1
    assert not failures.records, [r.getMessage() for r in failures.records[:5]]
    # Every connection the fuzz opened is gone (hung-up waits included): nothing hangs.
    await wait_until(lambda: not broker.connections, 60, "fuzz connections to close")
    fz.check_kept(broker, kept)
    assert (await fz.api_versions_over_a_socket(server.host, server.port))["error_code"] == 0


async def test_boundary_counts_and_lengths_never_allocate_more_than_the_frame_limit(
    node: Node,
):
    """Every int32 / uvarint position of real frames set to a boundary (2^31-1 elements,
    -1, 0xFFFF...), one request at a time with tracemalloc: no request's peak
    allocation reaches the frame limit (arrays are never pre-sized from a count)."""
    broker, server = node.broker, node.server
    fz.fuzz_topics(broker)
    frames = fz.load_corpus()[::3] + fz.schema_frames()[::6]
    bombs: list[bytes] = []
    for frame in frames:
        for at in range(8, len(frame) - 3, 3):
            value = (0x7FFFFFFF, 0xFFFFFFFF, 0x00FFFFFF)[at % 3]
            bombs.append(frame[:at] + struct.pack(">I", value) + frame[at + 4:])
        for at in range(8, len(frame), 7):
            bombs.append(frame[:at] + b"\xff\xff\xff\xff\x0f" + frame[at + 1:])
    wire = fz.InProcessWire(server)
    worst = 0
    tracemalloc.start()
    try:
        for i, frame in enumerate(bombs):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            await wire.send(fz.framed(frame) + fz.framed(fz.probe(i)))
            if await wire.until(i, 2.0) != fz.Outcome.ANSWERED:
                await wire.close()
                wire = fz.InProcessWire(server)
            worst = max(worst, tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
        await wire.close()
    print(f"boundary inputs: {len(bombs)}, worst peak allocation of one request: {worst} bytes")
    assert len(bombs) > 1000
    assert worst < FRAME_LIMIT, f"one request allocated {worst} bytes"
