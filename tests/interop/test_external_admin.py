"""ExternalAdmin (core.monitor.external_admin) against the embedded broker and Tansu.

Each action runs against both clusters through real confluent-kafka clients, and its
outcome is read back with other real clients (AdminClient, Consumer). Where a cluster
refuses an action or does not serve it, the test pins the cluster's own error as the
ExternalError's one-line reason. What Tansu 0.6.0 does not serve or does not enforce is
pinned too (so that a Tansu that does makes the test fail and it is tightened).
"""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
from streamscope.core.monitor.external import ExternalError, ExternalObserver, ExternalSettings
from streamscope.core.monitor.external_admin import ExternalAdmin

from tests.interop.external_helpers import join_group, read_all

T0 = 1_700_000_000_000


def _admin(bootstrap: str) -> ExternalAdmin:
    return ExternalAdmin(ExternalSettings(bootstrap), timeout_s=15)


def _partitions(bootstrap: str, topic: str) -> list[int]:
    # All topics: a Metadata request naming the topic would auto-create it.
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=15)
    t = md.topics.get(topic)
    return [] if t is None or t.error is not None else sorted(t.partitions)


def _committed(bootstrap: str, group: str, topic: str, parts: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(parts)], timeout=15)
        return {tp.partition: tp.offset for tp in got if tp.offset >= 0}
    finally:
        c.close()


def _fill(admin: ExternalAdmin, topic: str, parts: int, per: int) -> None:
    """``per`` records in each partition, one acknowledged at a time (so Tansu's high
    watermark, the last batch's base offset + 1, is right), timestamps T0 + offset."""
    for i in range(per):
        for p in range(parts):
            assert admin.produce(topic, b"v%d" % i, partition=p,
                                 timestamp_ms=T0 + i) == (p, i)


def test_create_and_delete_a_topic_and_create_an_existing_one(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("made", 3, configs={"retention.ms": "3600000"})
        assert _partitions(bootstrap, "made") == [0, 1, 2]
        with pytest.raises(ExternalError) as info:
            admin.create_topic("made", 1)
        assert info.value.reason.startswith("TOPIC_ALREADY_EXISTS: ")
        assert "\n" not in info.value.reason
        admin.delete_topic("made")
        assert _partitions(bootstrap, "made") == []
        with pytest.raises(ExternalError, match="^UNKNOWN_TOPIC_OR_PART"):
            admin.delete_topic("made")
        with pytest.raises(ValueError):
            admin.create_topic("", 1)


def test_add_partitions(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("grow", 2)
        if kind == "tansu":
            # Tansu 0.6.0 does not advertise CreatePartitions.
            with pytest.raises(ExternalError) as info:
                admin.add_partitions("grow", 4)
            assert info.value.reason.startswith(
                "the cluster does not serve CreatePartitions: _UNSUPPORTED_FEATURE")
            assert _partitions(bootstrap, "grow") == [0, 1]
            return
        admin.add_partitions("grow", 4)
        assert _partitions(bootstrap, "grow") == [0, 1, 2, 3]
        with pytest.raises(ExternalError, match="^INVALID_PARTITIONS: "):
            admin.add_partitions("grow", 2)


def test_alter_topic_configs_incrementally(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("conf", 1, configs={"retention.ms": "3600000",
                                               "segment.bytes": "1048576"})
        admin.alter_topic_configs("conf", {"retention.ms": "60000"}, delete=["segment.bytes"])
        resource = ConfigResource(ConfigResource.Type.TOPIC, "conf")
        reader = AdminClient({"bootstrap.servers": bootstrap})
        entries = reader.describe_configs([resource], request_timeout=15)[resource].result(15)
        assert entries["retention.ms"].value == "60000"
        # The observer shows the override on both (Tansu lists it as a default).
        with ExternalObserver(ExternalSettings(bootstrap), timeout_s=15) as observer:
            assert observer.snapshot(groups=()).topic("conf").configs == (
                ("retention.ms", "60000"),)
        if kind == "tansu":
            # Tansu 0.6.0 keeps only what was set: a deleted override is gone, and it
            # accepts a name Kafka does not know without an error.
            assert "segment.bytes" not in entries
            admin.alter_topic_configs("conf", {"no.such.config": "1"})
            return
        assert entries["segment.bytes"].value != "1048576"  # back to the default
        with pytest.raises(ExternalError, match="^INVALID_CONFIG: .*no.such.config"):
            admin.alter_topic_configs("conf", {"no.such.config": "1"})


def test_reset_offsets_every_way_and_refused_while_the_group_has_members(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("reset", 2)
        _fill(admin, "reset", 2, 5)
        # A group whose committed offsets are 1 and 2 (an admin commit: no members).
        assert admin.reset_offsets("g", 1, [("reset", 0), ("reset", 1)]) == {
            ("reset", 0): 1, ("reset", 1): 1}
        assert admin.reset_offsets("g", 2, [("reset", 1)]) == {("reset", 1): 2}
        # None: every partition the group has committed.
        assert admin.reset_offsets("g", "latest") == {("reset", 0): 5, ("reset", 1): 5}
        assert _committed(bootstrap, "g", "reset", 2) == {0: 5, 1: 5}
        assert admin.reset_offsets("g", "earliest") == {("reset", 0): 0, ("reset", 1): 0}
        # An absolute offset is clamped to [log start, high watermark].
        assert admin.reset_offsets("g", 99) == {("reset", 0): 5, ("reset", 1): 5}
        if kind == "tansu":
            # Tansu 0.6.0 answers ListOffsets by timestamp with offset 0 whatever the
            # time: a reset to a time goes where the cluster says.
            assert admin.reset_offsets("g", f"ts:{T0 + 3}") == {
                ("reset", 0): 0, ("reset", 1): 0}
        else:
            assert admin.reset_offsets("g", f"ts:{T0 + 3}") == {
                ("reset", 0): 3, ("reset", 1): 3}
            # A time after every record: the high watermark.
            assert admin.reset_offsets("g", f"ts:{T0 + 99}") == {
                ("reset", 0): 5, ("reset", 1): 5}
            assert _committed(bootstrap, "g", "reset", 2) == {0: 5, 1: 5}
        with pytest.raises(ValueError):
            admin.reset_offsets("g", "yesterday")
        with pytest.raises(ExternalError, match="no committed offsets"):
            admin.reset_offsets("never-committed", "earliest")

        member = join_group(bootstrap, "busy", "reset", short=kind == "tansu")
        try:
            with pytest.raises(ExternalError) as info:
                admin.reset_offsets("busy", "earliest", [("reset", 0)])
        finally:
            member.close()
        # Kafka's rule, as both clusters answer it: a commit without a member id is
        # refused while the group has members.
        assert info.value.reason.startswith("reset-0: UNKNOWN_MEMBER_ID: ")
        assert info.value.reason.endswith(
            "(offsets can be reset only while the group has no members)")


def test_delete_a_group(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("dg", 1)
        admin.reset_offsets("gone", 0, [("dg", 0)])
        assert _committed(bootstrap, "gone", "dg", 1) == {0: 0}
        admin.delete_group("gone")
        assert _committed(bootstrap, "gone", "dg", 1) == {}
        if kind == "tansu":
            # Tansu 0.6.0 answers success for a group it does not know, and deletes a
            # group that has members (Kafka refuses: NON_EMPTY_GROUP).
            admin.delete_group("never-there")
            member = join_group(bootstrap, "alive", "dg", short=True)
            try:
                admin.delete_group("alive")
            finally:
                member.close()
            return
        with pytest.raises(ExternalError, match="^GROUP_ID_NOT_FOUND: "):
            admin.delete_group("never-there")
        member = join_group(bootstrap, "alive", "dg", short=False)
        try:
            with pytest.raises(ExternalError, match="^NON_EMPTY_GROUP: "):
                admin.delete_group("alive")
        finally:
            member.close()


def test_delete_records(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("dr", 2)
        _fill(admin, "dr", 2, 4)
        if kind == "tansu":
            # Tansu 0.6.0 advertises DeleteRecords but closes the connection on it.
            with pytest.raises(ExternalError) as info:
                admin.delete_records("dr", {0: 2})
            assert info.value.reason.startswith(
                "dr-0: the cluster closed the connection on DeleteRecords")
            return
        assert admin.delete_records("dr", {0: 2, 1: -1}) == {0: 2, 1: 4}
        assert read_all(bootstrap, "dr", 0, 0, 2)[0].offset() == 2
        with pytest.raises(ExternalError, match="^dr-0: OFFSET_OUT_OF_RANGE: "):
            admin.delete_records("dr", {0: 50})


def test_produce_with_key_headers_and_timestamp(cluster):
    kind, bootstrap = cluster
    with _admin(bootstrap) as admin:
        admin.create_topic("prod", 2)
        first = admin.produce("prod", b"hello", key=b"k1", partition=1,
                              headers=[("trace", b"abc"), ("empty", b"")],
                              timestamp_ms=T0)
        second = admin.produce("prod", None, key=b"k2", partition=1)
        assert first == (1, 0) and second == (1, 1)
        got = read_all(bootstrap, "prod", 1, 0, 2)
        assert [(m.key(), m.value(), m.timestamp()[1]) for m in got[:1]] == [
            (b"k1", b"hello", T0)]
        assert got[0].headers() == [("trace", b"abc"), ("empty", b"")]
        assert (got[1].key(), got[1].value()) == (b"k2", None)
        with pytest.raises(ExternalError):
            admin.produce("prod", b"x", partition=7)


def test_an_unreachable_cluster_is_a_clear_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ExternalAdmin(ExternalSettings(f"127.0.0.1:{port}"), timeout_s=3) as admin:
        with pytest.raises(ExternalError) as info:
            admin.create_topic("x", 1)
    assert "\n" not in info.value.reason
    assert f"127.0.0.1:{port}" in info.value.reason or "timed out" in info.value.reason
    from streamscope.core.browse.external import read_page_external
    from streamscope.core.browse.reader import Start

    with pytest.raises(ExternalError) as info:
        read_page_external(ExternalSettings(f"127.0.0.1:{port}"), "t", None,
                           Start.earliest(), max_records=5, max_bytes=100, timeout_s=3)
    assert info.value.reason.startswith(f"cannot reach 127.0.0.1:{port}")
    assert "\n" not in info.value.reason


def test_a_wrong_password_is_a_clear_error_for_every_external_path(tmp_path, broker):
    """Admin, browse and clone against the embedded broker's SASL listener."""
    from streamscope.core.auth import UserStore
    from streamscope.core.browse.external import read_page_external
    from streamscope.core.browse.reader import Start
    from streamscope.core.config import BrokerConfig
    from streamscope.core.monitor.clone import clone_to_sandbox
    from streamscope.core.runtime import BrokerThread

    data = tmp_path / "sasl"
    UserStore(data / "users.json").add("alice", "right password")
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=("SCRAM-SHA-256",))).start()
    try:
        right = ExternalSettings(bt.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice",
                                 "right password")
        wrong = ExternalSettings(bt.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice",
                                 "wrong password")
        with ExternalAdmin(right, timeout_s=15) as admin:
            admin.create_topic("secret", 1)
            assert admin.produce("secret", b"x") == (0, 0)
        page = read_page_external(right, "secret", None, Start.earliest(), max_records=5,
                                  max_bytes=1 << 20, timeout_s=15)
        assert [r.value for r in page.records] == [b"x"]
        with ExternalAdmin(wrong, timeout_s=15) as admin:
            with pytest.raises(ExternalError, match="^authentication failed"):
                admin.create_topic("other", 1)
            with pytest.raises(ExternalError, match="^authentication failed"):
                admin.produce("secret", b"y")
        with pytest.raises(ExternalError, match="^authentication failed"):
            read_page_external(wrong, "secret", None, Start.earliest(), max_records=5,
                               max_bytes=1 << 20, timeout_s=15)
        with pytest.raises(ExternalError, match="^authentication failed"):
            clone_to_sandbox(wrong, broker.bootstrap, timeout_s=15)
        report = clone_to_sandbox(right, broker.bootstrap, last_n=1, timeout_s=15)
        assert report.topics == ("secret",) and report.records == 1
    finally:
        bt.stop()
