"""The core tests' default fixtures: a broker, a serving node, a raw wire to one.

Contract: ``broker`` is a started broker with its group coordinator
(:func:`tests.core.helpers.make_broker`) and no listener, closed afterwards whatever the
test did. ``node`` is a whole serving :class:`~core.node.Node` on 127.0.0.1 (port 0),
for real clients (``node.bootstrap``); ``served`` is another such node as ``(broker,
server)``, and ``wire`` a raw Kafka connection to it (``tests.core.test_server.Wire``)
for tests that speak the protocol byte by byte. A test module that needs another
configuration defines its own fixture of the same name, which wins over these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.node import Node, start_node

from tests.core.helpers import make_broker


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    b = await make_broker(tmp_path / "data")
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data")).start()
    try:
        yield n
    finally:
        await n.close()


@pytest.fixture
async def served(tmp_path: Path):
    node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    try:
        yield node.broker, node.server
    finally:
        await node.close()


@pytest.fixture
async def wire(served):
    from tests.core.test_server import Wire  # the raw client lives with its own tests

    w = await Wire.connect(served[1])
    try:
        yield w
    finally:
        await w.close()
