"""10,000 hostile inputs over real TCP connections to a broker on its own thread.

The same inputs as the in-process fuzz (mutated client frames, mutated schema defaults,
hypothesis-drawn requests; tests/core/test_fuzz_harness.py) plus frames whose size prefix
lies (negative, zero, past the frame limit, short, long), sent by 8 client connections
at once beside a sentinel connection. The broker (a real ``BrokerThread``: its own loop
and thread, a tmp data dir) answers every input or closes that connection only; the
sentinel is never closed; after the fuzz every fuzz connection is gone, a topic stored
before reads back byte for byte, no handler failed, and a fresh connection still gets
ApiVersions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from streamscope.core.runtime import BrokerThread

from tests.core import test_fuzz_harness as fz
from tests.core.helpers import wait_until
from tests.interop.conftest import make_config

pytestmark = pytest.mark.timeout(300)

INPUTS = 10_000
FRAMING_INPUTS = 200
FRAME_LIMIT = 1 << 20


def test_ten_thousand_fuzzed_inputs_over_sockets_close_only_their_own_connections(
    tmp_path,
):
    # Mutated partition counts ask for thousands of partitions: keep fuzz topics small.
    server_log = logging.getLogger("streamscope.core.server")
    level = server_log.level
    server_log.setLevel(logging.ERROR)  # every refused input logs a warning
    failures = fz.ErrorRecords()
    logging.getLogger().addHandler(failures)
    bt = BrokerThread(make_config(tmp_path / "data", max_request_bytes=FRAME_LIMIT,
                                  max_partitions_per_topic=16)).start()
    try:
        broker = bt.broker
        bt.call(fz.fuzz_topics, broker)
        kept = bt.call(fz.kept_topic, broker)
        host, port = bt.server.host, bt.server.port
        structured = list(fz.structured_frames()[::4])
        corpus, schema = fz.load_corpus(), fz.schema_frames()
        mutator = fz.Mutator(29, corpus + schema + structured)
        left = INPUTS - len(structured) - FRAMING_INPUTS
        inputs = fz.interleave(
            (("structured", f) for f in structured),
            fz.framing_inputs(corpus + schema, FRAMING_INPUTS, seed=29),
            fz.mutants("corpus", corpus, left // 2, mutator),
            fz.mutants("schema", schema, left // 4, mutator),
            fz.mutants("structured-mutant", structured, left - left // 2 - left // 4, mutator),
        )

        async def wire() -> fz.SocketWire:
            return await fz.SocketWire.open(host, port)

        totals = asyncio.run(fz.run_inputs(inputs, wire, workers=8, park_s=1.0))
        print(f"socket fuzz: {totals.line()}")
        assert totals.inputs == INPUTS
        assert totals.by_kind[fz.FRAMING] == FRAMING_INPUTS
        assert totals.outcomes[fz.Outcome.ANSWERED] > INPUTS // 5
        assert totals.outcomes[fz.Outcome.CLOSED] > INPUTS // 5
        assert not failures.records, [r.getMessage() for r in failures.records[:5]]
        _wait_on_loop(bt, lambda: not broker.connections, "fuzz connections to close")
        bt.call(fz.check_kept, broker, kept)
        assert asyncio.run(fz.api_versions_over_a_socket(host, port))["error_code"] == 0
    finally:
        logging.getLogger().removeHandler(failures)
        server_log.setLevel(level)
        bt.stop()


def _wait_on_loop(bt: BrokerThread, predicate: Callable[[], bool], what: str) -> None:
    async def on_loop() -> None:
        await wait_until(predicate, 60, what)

    bt.submit(on_loop).result(90)
