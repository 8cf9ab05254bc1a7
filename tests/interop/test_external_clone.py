"""Cloning into the sandbox (core.monitor.clone, ``streamscope clone``): Tansu -> the
embedded broker and embedded -> embedded (two BrokerThreads). Topics, partition counts,
the configs the sandbox accepts (the others listed with why), and the newest N records
of each partition (partition, key, value, headers, timestamp) are checked on the sandbox
with real clients."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from streamscope.core.cli import main as cli_main
from streamscope.core.monitor.clone import CloneProgress, clone_to_sandbox
from streamscope.core.monitor.external import ExternalError, ExternalObserver, ExternalSettings
from streamscope.core.monitor.external_admin import ExternalAdmin
from streamscope.core.runtime import BrokerThread

from tests.interop.conftest import make_config
from tests.interop.external_helpers import read_all

T0 = 1_700_000_000_000


@pytest.fixture
def sandbox(tmp_path) -> Iterator[BrokerThread]:
    """A second embedded broker: the sandbox a clone writes to."""
    bt = BrokerThread(make_config(tmp_path / "sandbox")).start()
    try:
        yield bt
    finally:
        bt.stop()


@pytest.fixture(params=["tansu", "embedded"])
def source(request) -> Iterator[tuple[str, str]]:
    if request.param == "embedded":
        yield "embedded", request.getfixturevalue("broker").bootstrap
    else:
        yield "tansu", request.getfixturevalue("tansu")


def _fill_source(bootstrap: str) -> None:
    with ExternalAdmin(ExternalSettings(bootstrap), timeout_s=15) as admin:
        admin.create_topic("orders", 3, configs={"retention.ms": "3600000",
                                                 "cleanup.policy": "delete"})
        admin.create_topic("audit", 1)
        admin.create_topic("taken", 2)
        for i in range(6):
            for p in range(3):
                admin.produce("orders", None if i == 5 else b"o-%d-%d" % (p, i),
                              key=b"k%d" % i, partition=p,
                              headers=[("i", b"%d" % i), ("p", b"%d" % p)],
                              timestamp_ms=T0 + 100 * i + p)
        admin.produce("audit", b"a0", timestamp_ms=T0)
        # After the produce: acks=all is refused on one broker with it above 1.
        admin.alter_topic_configs("audit", {"min.insync.replicas": "2"})


def _overrides(bootstrap: str) -> dict[str, dict[str, str]]:
    with ExternalObserver(ExternalSettings(bootstrap), timeout_s=15) as obs:
        snap = obs.snapshot(groups=())
    return {t.name: (t.partition_count, dict(t.configs)) for t in snap.topics}


def test_clone_topics_configs_and_last_records(source, sandbox):
    kind, src = source
    _fill_source(src)
    if kind == "tansu":
        # Tansu stores a config name Kafka does not know; the sandbox refuses it.
        with ExternalAdmin(ExternalSettings(src), timeout_s=15) as admin:
            admin.alter_topic_configs("orders", {"no.such.config": "1"})
    with ExternalAdmin(ExternalSettings(sandbox.bootstrap), timeout_s=15) as admin:
        admin.create_topic("taken", 1)
    seen: list[CloneProgress] = []
    report = clone_to_sandbox(ExternalSettings(src), sandbox.bootstrap, last_n=4,
                              progress=seen.append, timeout_s=15)
    assert report.topics == ("audit", "orders")
    assert report.skipped_topics == (("taken", "exists already in the sandbox"),)
    assert report.records == 3 * 4 + 1
    assert not report.cancelled
    skipped = {(t, k) for t, k, _ in report.skipped_configs}
    assert ("audit", "min.insync.replicas") in skipped
    if kind == "tansu":
        assert ("orders", "no.such.config") in skipped
        why = dict(((t, k), w) for t, k, w in report.skipped_configs)[
            ("orders", "no.such.config")]
        assert why.startswith("INVALID_CONFIG: ") and "no.such.config" in why
    assert len(skipped) == len(report.skipped_configs) == (2 if kind == "tansu" else 1)
    # Progress: per topic, and per partition copied; the last says all is done.
    assert seen[-1] == CloneProgress("taken", 3, 3, 13)
    assert [p.done_topics for p in seen] == sorted(p.done_topics for p in seen)

    got = _overrides(sandbox.bootstrap)
    assert got["orders"] == (3, {"retention.ms": "3600000", "cleanup.policy": "delete"})
    assert got["audit"] == (1, {})
    assert got["taken"][0] == 1  # left as it was
    for p in range(3):
        rows = read_all(sandbox.bootstrap, "orders", p, 0, 4)
        assert [(m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1])
                for m in rows] == [
            (p, j, b"k%d" % i, None if i == 5 else b"o-%d-%d" % (p, i),
             [("i", b"%d" % i), ("p", b"%d" % p)], T0 + 100 * i + p)
            for j, i in enumerate(range(2, 6))]
    (audit,) = read_all(sandbox.bootstrap, "audit", 0, 0, 1)
    assert (audit.value(), audit.timestamp()[1]) == (b"a0", T0)


def test_clone_named_topics_cancel_and_errors(broker, sandbox):
    _fill_source(broker.bootstrap)
    report = clone_to_sandbox(ExternalSettings(broker.bootstrap), sandbox.bootstrap,
                              topics=["orders", "missing"], timeout_s=15)
    assert report.topics == ("orders",) and report.records == 0
    assert report.skipped_topics == (("missing", "not on the source cluster"),)
    assert _overrides(sandbox.bootstrap)["orders"][0] == 3

    cancel = threading.Event()

    def stop_after_first(p: CloneProgress) -> None:
        cancel.set()

    report = clone_to_sandbox(ExternalSettings(broker.bootstrap), sandbox.bootstrap,
                              topics=["audit", "taken"], last_n=1,
                              progress=stop_after_first, cancel=cancel, timeout_s=15)
    assert report.cancelled and report.topics == ("audit",)
    assert "taken" not in _overrides(sandbox.bootstrap)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(ExternalError, match=f"sandbox at {closed}|cannot reach {closed}"):
        clone_to_sandbox(ExternalSettings(broker.bootstrap), closed, timeout_s=3)


def test_clone_command(tansu, sandbox, capsys):
    _fill_source(tansu)
    assert cli_main(["clone", "--bootstrap", tansu, "--to", sandbox.bootstrap,
                     "--topic", "orders", "--topic", "audit", "--records", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [f"[{d}/2] {t}: {n} records copied so far" for d, t, n in (
        (0, "orders", 2), (0, "orders", 4), (0, "orders", 6), (1, "orders", 6),
        (1, "audit", 7))]
    assert out[5] == "[2/2] audit: 7 records copied so far"
    assert f"cloned 2 topics and 7 records from {tansu} to {sandbox.bootstrap}" in out
    assert "  skipped config min.insync.replicas of audit: 2 on the one-broker sandbox " \
           "would refuse every acks=all produce" in out
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    assert cli_main(["clone", "--bootstrap", closed, "--to", sandbox.bootstrap,
                     "--timeout", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"streamscope: cannot reach {closed}") and "\n" not in err
