"""The simulation's external path with security: against the embedded broker's SASL
listener (a peer that checks passwords), ``streamscope sim`` takes ``streamscope
inspect``'s security options, and the partners and a consumer app of an
``ExternalScenario`` connect with an ``ExternalSettings``' SASL settings. A wrong password
is a clear failure, not a hang. Lesson 10 (exactly once) passes through the external
path with SASL, its transformer child processes included.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamscope.core.auth import UserStore
from streamscope.core.config import BrokerConfig
from streamscope.core.lessons.cli import check_lesson_external
from streamscope.core.lessons.model import find_lesson
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.runtime import BrokerThread, new_event_loop
from streamscope.core.sim.external import ExternalSimThread

USER, PASSWORD = "carol", "a sim password"
MECHANISM = "SCRAM-SHA-256"


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory) -> Iterator[BrokerThread]:
    data: Path = tmp_path_factory.mktemp("sim-sasl") / "data"
    UserStore(data / "users.json").add(USER, PASSWORD)
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=(MECHANISM,))).start()
    try:
        yield bt
    finally:
        bt.stop()


def sim_cli(bootstrap: str, password: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SIM_TEST_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "streamscope.core.cli", "sim", "--bootstrap", bootstrap,
         "--security-protocol", "SASL_PLAINTEXT", "--sasl-mechanism", MECHANISM,
         "--username", USER, "--password-env", "SIM_TEST_PASSWORD", *extra],
        capture_output=True, text=True, timeout=60, env=env)


def test_sim_cli_takes_the_security_options(sasl_broker):
    bootstrap = sasl_broker.server.bootstrap
    done = sim_cli(bootstrap, PASSWORD, "--partners", "2", "--rate", "20", "--seconds", "1",
                   "--topic", "sim-sasl")
    assert done.returncode == 0, done.stderr
    assert "summary: sent 40 acked 40 errors 0" in done.stderr

    # The consumer apps take them too.
    done = sim_cli(bootstrap, PASSWORD, "--consumers", "counter:sim-sasl-g:1",
                   "--partners", "2", "--rate", "20", "--seconds", "1", "--topic", "sim-sasl")
    assert done.returncode == 0, done.stderr
    assert "app counter/sim-sasl-g (1 consumer)" in done.stderr

    bad = sim_cli(bootstrap, "not it", "--partners", "1", "--rate", "1", "--seconds", "1",
                  "--connect-timeout", "5")
    assert bad.returncode == 1
    line = bad.stderr.strip().splitlines()[-1]
    assert line.startswith("streamscope: cannot reach broker") and "uthentication" in line


def test_external_scenario_partners_and_app_use_the_sasl_settings(sasl_broker):
    settings = ExternalSettings(sasl_broker.server.bootstrap, security_protocol="SASL_PLAINTEXT",
                                sasl_mechanism=MECHANISM, username=USER, password=PASSWORD)
    sim = ExternalSimThread(settings, seed=3)
    sim.start()
    try:
        sim.submit(lambda s: s.start_partners(topic="sim-sasl-ext", partitions=2, partners=4,
                                              rate=200, limit=100)).result(30)
        sim.submit(lambda s: s.add_app("map", "sim-sasl-map", topic="sim-sasl-ext")).result(30)
        deadline = time.monotonic() + 20
        while True:
            view = sim.submit(lambda s: s.view()).result(5)
            if view.apps[0].delivery.updates == 100 and not view.partners.running:
                break
            assert time.monotonic() < deadline, view
            time.sleep(0.05)  # polling the app's real counters with a deadline
        assert view.partners.errors == 0 and sum(view.partners.per_partition) == 100
        # The broker saw SASL-authenticated clients: the topic and group are there.
        broker = sasl_broker.node.broker
        assert broker.topic_partition_count("sim-sasl-ext") == 2
        assert sasl_broker.node.groups.state_of("sim-sasl-map") is not None
    finally:
        sim.stop()


def test_lesson_10_runs_through_the_external_path_with_sasl(sasl_broker):
    """The exactly-once lesson's clients, its transformer child processes included, reach
    the cluster with the profile's SASL settings (the child gets them by environment)."""
    settings = ExternalSettings(sasl_broker.server.bootstrap, security_protocol="SASL_PLAINTEXT",
                                sasl_mechanism=MECHANISM, username=USER, password=PASSWORD)
    out = io.StringIO()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        rc = runner.run(check_lesson_external(find_lesson("exactly-once"), settings, out=out))
    assert rc == 0, out.getvalue()
    assert "PASS transform: duplicates downstream: at least once" in out.getvalue()
    assert "exactly once 0" in out.getvalue()
