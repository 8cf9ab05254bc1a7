"""Fixtures for tests that drive the broker with real Kafka clients over 127.0.0.1.

``broker`` starts a real Broker + Server on a free port (port 0) with a fresh data dir
in a background thread, yields a :class:`core.runtime.BrokerThread` (``.bootstrap`` is
``"127.0.0.1:PORT"``; ``.call(fn, ...)`` runs on the broker loop) and stops it after
the test; ``cluster`` is parametrised over that broker and Tansu (``tansu``,
tests/conftest.py) and yields ``(kind, bootstrap)``; ``members`` is a list for the group members a test starts, each stopped
before the broker. ``restart_broker(bt)`` stops it and starts a new one on the same data
dir (and, if it is free again, the same port).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread


def make_config(data_dir, **overrides) -> BrokerConfig:
    return BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir, **overrides)


@pytest.fixture
def broker_config(tmp_path) -> BrokerConfig:
    return make_config(tmp_path / "data")


@pytest.fixture
def broker(broker_config):
    bt = BrokerThread(broker_config).start()
    try:
        yield bt
    finally:
        bt.stop()


@pytest.fixture
def bt(broker: BrokerThread) -> BrokerThread:
    """The same broker thread, under the name the monitor tests use."""
    return broker


@pytest.fixture
def members(broker) -> Iterator[list]:
    """The group members a test starts (anything with ``stop()``: a harness ``Member``, an
    in-process one): each is stopped after the test, before the broker is."""
    started: list = []
    yield started
    for m in started:
        m.stop()


def restart_broker(bt: BrokerThread) -> BrokerThread:
    """Stop ``bt`` and start a new broker on the same data dir, on the same port if free."""
    port = bt.server.port
    bt.stop()
    config = dataclasses.replace(bt.config, port=port)
    try:
        return BrokerThread(config).start()
    except OSError:
        return BrokerThread(dataclasses.replace(config, port=0)).start()


@pytest.fixture(scope="session")
def kcat_path() -> str:
    path = shutil.which("kcat") or shutil.which("kafkacat")
    if path is None:
        pytest.fail("kcat is not installed; .ci/setup installs it")
    return path


@pytest.fixture(params=["embedded", "tansu"])
def cluster(request) -> Iterator[tuple[str, str]]:
    """(kind, bootstrap): the embedded broker (a real BrokerThread) or Tansu."""
    if request.param == "embedded":
        yield "embedded", request.getfixturevalue("broker").bootstrap
    else:
        yield "tansu", request.getfixturevalue("tansu")
