"""``streamscope sim --consumers ...``: consumer apps as real confluent-kafka consumer groups.

The CLI runs as a subprocess (``python -m streamscope.core.cli sim ...``) against a real
broker on 127.0.0.1 port 0 (``BrokerThread`` in the test process, so the test reads the
groups' committed offsets and members straight from the coordinator). Every wait has a
deadline, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamscope.core import cli
from streamscope.core.groups.model import GroupDescription
from streamscope.core.runtime import BrokerThread
from streamscope.core.sim.remote_consumers import AppSpec, parse_app_spec
from streamscope.core.sim.remote_partners import RemotePartners

from tests.core.helpers import broker_thread

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 120.0  # only a hang reaches it
PARTNERS_SUMMARY = re.compile(r"^summary: sent (\d+) acked (\d+) errors (\d+) in ", re.M)
APP_SUMMARY = re.compile(
    r"^app (\S+) \((\d+) consumers?\): consumed (\d+) unique (\d+) duplicates (\d+) "
    r"lost (\d+) lag (\S+) in ", re.M)


@pytest.fixture
def bt(tmp_path: Path) -> Iterator[BrokerThread]:
    with broker_thread(tmp_path) as thread:
        yield thread


def _sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "streamscope.core.cli", "sim", *args]


def _apps(stderr: str) -> dict[str, dict[str, int | str]]:
    out: dict[str, dict[str, int | str]] = {}
    for name, n, consumed, unique, dups, lost, lag in APP_SUMMARY.findall(stderr):
        out[name] = {"consumers": int(n), "consumed": int(consumed), "unique": int(unique),
                     "duplicates": int(dups), "lost": int(lost), "lag": lag}
    return out


def _group(bt: BrokerThread, group: str) -> GroupDescription:
    return bt.call(lambda: next(g for g in bt.node.groups.snapshot() if g.group_id == group))


def _committed(bt: BrokerThread, group: str) -> int:
    return sum(c.offset for c in _group(bt, group).offsets.values())


def test_two_groups_beside_the_partners_each_consume_every_update_and_exit_zero(bt):
    proc = subprocess.run(
        _sim("--bootstrap", bt.bootstrap, "--consumers", "map:g1:2",
             "--consumers", "analytics:g2:1", "--partners", "10", "--rate", "20",
             "--seconds", "2", "--topic", "deliveries"),
        cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    m = PARTNERS_SUMMARY.search(proc.stderr)
    assert m is not None, proc.stderr
    assert tuple(map(int, m.groups())) == (400, 400, 0)
    assert re.search(r"^partners: sent \d+ acked \d+ rate \S+/s errors 0 \| map/g1: consumed "
                     r"\d+ rate \S+/s dup \d+ lost \d+ lag \S+ \| analytics/g2: ", proc.stderr,
                     re.M), proc.stderr
    apps = _apps(proc.stderr)
    assert set(apps) == {"map/g1", "analytics/g2"}, proc.stderr
    for name, consumers in (("map/g1", 2), ("analytics/g2", 1)):
        app = apps[name]
        assert app["consumers"] == consumers
        assert app["unique"] == 400 and app["lost"] == 0 and app["lag"] == "0", proc.stderr
    assert "partners on the map" in proc.stderr and "busiest zone" in proc.stderr
    # Each group committed the whole log on the way out, and left it.
    for group in ("g1", "g2"):
        assert _committed(bt, group) == 400
        assert _group(bt, group).members == ()


def test_ctrl_c_stops_the_consumers_which_commit_and_leave_their_group(bt):
    partners = RemotePartners(bt.bootstrap, "deliveries", partners=6, rate=300, seed=2,
                              limit=300)
    partners.start()
    try:
        deadline = time.monotonic() + WAIT_S
        while not partners.finished or partners.running:
            assert time.monotonic() < deadline, "the partners did not finish"
            time.sleep(0.02)
    finally:
        partners.stop()
    assert partners.acked == 300

    proc = subprocess.Popen(
        _sim("--bootstrap", bt.bootstrap, "--consumers", "counter:watchers:2"),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + WAIT_S
        while not any("counter/watchers: consumed 300 " in line and " lag 0" in line
                      for line in seen[-1:]):
            assert time.monotonic() < deadline, f"never caught up: {seen[-3:]}"
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            assert line is not None, f"exited early: {''.join(seen)}"
            seen.append(line)
        assert len(_group(bt, "watchers").members) == 2
        proc.send_signal(signal.SIGINT)
        assert proc.wait(WAIT_S) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    stderr = "".join(seen)
    app = _apps(stderr)["counter/watchers"]
    assert (app["consumers"], app["consumed"], app["duplicates"], app["lost"]) == (2, 300, 0, 0)
    assert "(interrupted)" in stderr
    assert _group(bt, "watchers").members == ()
    assert _committed(bt, "watchers") == 300


def test_app_specs_name_the_app_its_group_and_its_consumers():
    assert parse_app_spec("map:customer-map:3") == AppSpec("map", "customer-map", 3)
    assert parse_app_spec("counter:team:a:1") == AppSpec("counter", "team:a", 1)
    for bad in ("map:g", "bogus:g:1", "map::1", "map:g:0", "map:g:x"):
        with pytest.raises(ValueError):
            parse_app_spec(bad)


@pytest.mark.parametrize("argv", [
    ["--bootstrap", "127.0.0.1:9092"],  # nothing to run
    ["--bootstrap", "127.0.0.1:9092", "--consumers", "bogus:g:1"],
    ["--bootstrap", "127.0.0.1:9092", "--consumers", "map:g:1", "--rate", "5"],  # no partners
])
def test_bad_sim_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["sim", *argv])
    assert exc.value.code == 2
