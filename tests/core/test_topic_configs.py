"""Kafka's whole topic config list, its validation, and dynamic broker configs.

Over the wire (CreateTopics, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs on
a real node on 127.0.0.1) and on the broker (restart of the same data dir).
"""

from __future__ import annotations

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.configdefs import LIST, LONG, TOPIC_CONFIGS
from streamscope.core.errors import ErrorCode
from streamscope.core.protocol.api_keys import ApiKey

from tests.core.helpers import make_broker
from tests.core.test_server import Wire

# A valid, non-default value for every topic config of a Kafka 3.x broker.
VALID = {
    "cleanup.policy": "delete",
    "compression.type": "lz4",
    "compression.gzip.level": "5",
    "compression.lz4.level": "12",
    "compression.zstd.level": "-5",
    "delete.retention.ms": "1000",
    "file.delete.delay.ms": "0",
    "flush.messages": "10",
    "flush.ms": "1000",
    "follower.replication.throttled.replicas": "0:0,1:0",
    "index.interval.bytes": "8192",
    "leader.replication.throttled.replicas": "*",
    "local.retention.bytes": "-2",
    "local.retention.ms": "60000",
    "max.compaction.lag.ms": "600000",
    "max.message.bytes": "2000000",
    "message.downconversion.enable": "false",
    "message.format.version": "2.8",
    "message.timestamp.after.max.ms": "3600000",
    "message.timestamp.before.max.ms": "3600000",
    "message.timestamp.difference.max.ms": "3600000",
    "message.timestamp.type": "LogAppendTime",
    "min.cleanable.dirty.ratio": "0.25",
    "min.compaction.lag.ms": "100",
    "min.insync.replicas": "1",
    "preallocate": "true",
    "remote.log.copy.disable": "false",
    "remote.log.delete.on.disable": "false",
    "remote.storage.enable": "false",
    "retention.bytes": "1000000",
    "retention.ms": "86400000",
    "segment.bytes": "1048576",
    "segment.index.bytes": "65536",
    "segment.jitter.ms": "10",
    "segment.ms": "3600000",
    "unclean.leader.election.enable": "true",
}

# (name, bad value, Kafka's message for it).
INVALID = [
    ("retention.ms", "-5", "Invalid value -5 for configuration retention.ms: Value must be at least -1"),
    ("retention.ms", "soon", "Invalid value soon for configuration retention.ms: Not a number of type LONG"),
    ("segment.bytes", "3000000000", "Not a number of type INT"),
    ("segment.bytes", "1_000_000", "Not a number of type INT"),
    ("segment.bytes", "13", "Value must be at least 14"),
    ("delete.retention.ms", "-1", "Value must be at least 0"),
    ("flush.ms", "never", "Not a number of type LONG"),
    ("compression.type", "brotli",
     "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"),
    ("message.timestamp.type", "logappendtime", "String must be one of: CreateTime, LogAppendTime"),
    ("preallocate", "yes", "Expected value to be either true or false"),
    ("min.cleanable.dirty.ratio", "1.5", "Value must be no more than 1"),
    ("min.cleanable.dirty.ratio", "half", "Not a number of type DOUBLE"),
    ("min.insync.replicas", "0", "Value must be at least 1"),
    ("compression.lz4.level", "18", "Value must be no more than 17"),
    ("message.format.version", "9.9", "Version `9.9` is not a valid version"),
    ("leader.replication.throttled.replicas", "p0", "must be the literal '*'"),
    ("leader.replication.throttled.replicas", "0:0," * 300_000, "Value is longer than"),
]


def creatable(name: str, configs: dict[str, str]) -> dict:
    return {"name": name, "num_partitions": 1, "replication_factor": 1, "assignments": [],
            "configs": [{"name": k, "value": v} for k, v in configs.items()]}


def test_the_list_is_kafkas_whole_3x_list():
    assert set(VALID) == set(TOPIC_CONFIGS)


async def test_every_kafka_topic_config_is_accepted_and_described_with_its_type(served, wire):
    broker, _ = served
    created = await wire.call(ApiKey.CREATE_TOPICS, 7, {"topics": [creatable("all", VALID)],
                                                         "timeout_ms": 1000})
    (topic,) = created["topics"]
    assert (topic["error_code"], topic["error_message"]) == (0, None)
    assert broker.topics["all"].configs == VALID
    described = await wire.call(ApiKey.DESCRIBE_CONFIGS, 4, {"resources": [
        {"resource_type": 2, "resource_name": "all", "configuration_keys": None}],
        "include_synonyms": True, "include_documentation": True})
    entries = {c["name"]: c for c in described["results"][0]["configs"]}
    assert set(entries) == set(TOPIC_CONFIGS)
    for name, value in VALID.items():
        assert (entries[name]["value"], entries[name]["config_source"]) == (value, 1), name
        assert entries[name]["config_type"] == TOPIC_CONFIGS[name].type
    assert entries["cleanup.policy"]["config_type"] == LIST
    assert entries["flush.ms"]["config_type"] == LONG
    # The documentation line says whether this broker acts on the config.
    assert "Honoured" in entries["retention.ms"]["documentation"]
    assert "no effect" in entries["flush.ms"]["documentation"]
    assert "Deprecated" in entries["message.format.version"]["documentation"]


@pytest.mark.parametrize(("name", "value", "message"), INVALID,
                         ids=[f"{n}-{i}" for i, (n, _v, _m) in enumerate(INVALID)])
async def test_bad_values_are_invalid_config_in_kafkas_words(broker, name, value, message):
    from streamscope.core.errors import KafkaError
    with pytest.raises(KafkaError) as err:
        broker.create_topic("bad", 1, {name: value})
    assert err.value.code == ErrorCode.INVALID_CONFIG
    assert message in err.value.message
    assert "bad" not in broker.topics


async def test_unknown_names_stay_invalid_config_and_nothing_changes(served, wire):
    broker, _ = served
    broker.create_topic("t", 1, {"retention.ms": "5000"})
    response = await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [
        {"resource_type": 2, "resource_name": "t", "configs": [
            {"name": "flush.ms", "config_operation": 0, "value": "100"},
            {"name": "no.such.config", "config_operation": 0, "value": "1"}]}],
        "validate_only": False})
    (res,) = response["responses"]
    assert res["error_code"] == ErrorCode.INVALID_CONFIG
    assert "no.such.config" in res["error_message"]
    assert broker.topics["t"].configs == {"retention.ms": "5000"}


async def test_throttled_replica_lists_take_append_and_subtract(served, wire):
    broker, _ = served
    broker.create_topic("t", 2)
    ops = [{"name": "leader.replication.throttled.replicas", "config_operation": 2,
            "value": "0:0,1:0"}]
    await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [
        {"resource_type": 2, "resource_name": "t", "configs": ops}], "validate_only": False})
    ops[0].update(config_operation=3, value="0:0")
    await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [
        {"resource_type": 2, "resource_name": "t", "configs": ops}], "validate_only": False})
    assert broker.topics["t"].configs == {"leader.replication.throttled.replicas": "1:0"}


# --- dynamic broker configs ---------------------------------------------------------------

def alter_broker(scope: str, *ops: tuple[str, int, str | None]) -> dict:
    return {"resources": [{"resource_type": 4, "resource_name": scope, "configs": [
        {"name": n, "config_operation": op, "value": v} for n, op, v in ops]}],
        "validate_only": False}


async def describe(wire: Wire, rtype: int, name: str, keys=None) -> dict[str, dict]:
    answer = await wire.call(ApiKey.DESCRIBE_CONFIGS, 4, {"resources": [
        {"resource_type": rtype, "resource_name": name, "configuration_keys": keys}],
        "include_synonyms": True, "include_documentation": False})
    (result,) = answer["results"]
    assert result["error_code"] == 0, result
    return {c["name"]: c for c in result["configs"]}


async def test_dynamic_broker_configs_apply_to_topics_without_overrides(served, wire):
    broker, _ = served
    broker.create_topic("plain", 1)
    broker.create_topic("own", 1, {"retention.ms": "5000"})
    answer = await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, alter_broker(
        "", ("log.retention.ms", 0, "60000"), ("log.segment.bytes", 0, "200000"),
        ("log.cleaner.threads", 0, "2")))
    assert answer["responses"][0]["error_code"] == 0
    assert broker.topics["plain"].log_config.retention_ms == 60000
    assert broker.topics["plain"].partitions[0].log.config.segment_bytes == 200000
    assert broker.topics["own"].log_config.retention_ms == 5000  # its override wins
    # The per-broker value beats the cluster-wide default.
    answer = await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, alter_broker(
        "0", ("log.retention.ms", 0, "90000")))
    assert answer["responses"][0]["error_code"] == 0
    assert broker.topics["plain"].log_config.retention_ms == 90000
    # A topic created now starts from the dynamic defaults too.
    broker.create_topic("later", 1)
    assert broker.topics["later"].log_config.segment_bytes == 200000

    topic = await describe(wire, 2, "plain", ["retention.ms", "segment.bytes"])
    retention = topic["retention.ms"]
    # Kafka's ConfigSource: DYNAMIC_BROKER_CONFIG 2, DYNAMIC_DEFAULT_BROKER_CONFIG 3.
    assert (retention["value"], retention["config_source"]) == ("90000", 2)
    assert [(s["name"], s["value"], s["source"]) for s in retention["synonyms"]] == [
        ("log.retention.ms", "90000", 2), ("log.retention.ms", "60000", 3),
        ("log.retention.ms", str(BrokerConfig().log.retention_ms), 5)]
    assert topic["segment.bytes"]["config_source"] == 3
    node = await describe(wire, 4, "0")
    entry = node["log.retention.ms"]
    assert (entry["value"], entry["config_source"], entry["read_only"]) == ("90000", 2, False)
    assert [s["source"] for s in entry["synonyms"]] == [2, 3, 4]
    assert node["log.cleaner.threads"]["value"] == "2"
    cluster = await describe(wire, 4, "")
    assert {k: (v["value"], v["config_source"]) for k, v in cluster.items()} == {
        "log.cleaner.threads": ("2", 3), "log.retention.ms": ("60000", 3),
        "log.segment.bytes": ("200000", 3)}

    # DELETE at the broker level falls back to the default scope.
    await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, alter_broker(
        "0", ("log.retention.ms", 1, None)))
    assert broker.topics["plain"].log_config.retention_ms == 60000
    # Legacy AlterConfigs replaces the whole scope.
    answer = await wire.call(ApiKey.ALTER_CONFIGS, 2, {"resources": [
        {"resource_type": 4, "resource_name": "", "configs": [
            {"name": "message.max.bytes", "value": "3000000"}]}], "validate_only": False})
    assert answer["responses"][0]["error_code"] == 0
    assert broker.dynamic_configs == {"": {"message.max.bytes": "3000000"}}
    assert broker.topics["plain"].log_config.retention_ms == BrokerConfig().log.retention_ms
    assert broker.topics["plain"].log_config.max_message_bytes == 3000000


async def test_read_only_unknown_and_bad_broker_configs_are_refused_as_kafka_does(served, wire):
    broker, _ = served
    broker.create_topic("t", 1)
    cases = [
        (("num.partitions", 0, "3"), "Cannot update these configs dynamically: Set(num.partitions)"),
        (("auto.create.topics.enable", 0, "false"), "Cannot update these configs dynamically"),
        (("no.such.thing", 0, "1"), "Unknown broker configs: no.such.thing"),
        (("log.retention.ms", 0, "-7"), "Invalid value -7 for configuration log.retention.ms"),
        (("compression.type", 0, "brotli"), "String must be one of"),
    ]
    for op, message in cases:
        answer = await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, alter_broker("", op))
        (res,) = answer["responses"]
        assert res["error_code"] == ErrorCode.INVALID_REQUEST, op
        assert message in res["error_message"]
    answer = await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, alter_broker(
        "7", ("log.retention.ms", 0, "1000")))
    assert answer["responses"][0]["error_code"] == ErrorCode.INVALID_REQUEST
    validate = alter_broker("", ("log.retention.ms", 0, "1000"))
    validate["validate_only"] = True
    assert (await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, validate))[
        "responses"][0]["error_code"] == 0
    assert broker.dynamic_configs == {}
    assert broker.topics["t"].log_config.retention_ms == BrokerConfig().log.retention_ms


async def test_dynamic_broker_configs_survive_a_restart(tmp_path):
    broker = await make_broker(tmp_path / "data")
    try:
        broker.create_topic("t", 1)
        broker.alter_broker_configs("", {"log.retention.bytes": "5000"})
        broker.alter_broker_configs("0", {"log.segment.bytes": "100000"})
    finally:
        await broker.close()
    broker = await make_broker(tmp_path / "data")
    try:
        assert broker.dynamic_configs == {"": {"log.retention.bytes": "5000"},
                                          "0": {"log.segment.bytes": "100000"}}
        log_config = broker.topics["t"].partitions[0].log.config
        assert (log_config.retention_bytes, log_config.segment_bytes) == (5000, 100000)
        assert broker.static_config.log.retention_bytes == -1
    finally:
        await broker.close()


async def test_create_topics_reports_the_source_of_inherited_values(served, wire):
    broker, _ = served
    broker.alter_broker_configs("", {"log.retention.ms": "70000"})
    for validate_only in (True, False):
        created = await wire.call(ApiKey.CREATE_TOPICS, 7, {
            "topics": [creatable("inherits", {"segment.ms": "60000"})],
            "timeout_ms": 1000, "validate_only": validate_only})
        configs = {c["name"]: (c["value"], c["config_source"])
                   for c in created["topics"][0]["configs"]}
        assert configs["retention.ms"] == ("70000", 3)  # DYNAMIC_DEFAULT_BROKER_CONFIG
        assert configs["segment.ms"] == ("60000", 1)
        assert configs["flush.ms"][1] == 5
    assert broker.topics["inherits"].log_config.retention_ms == 70000


async def test_a_stored_value_no_longer_accepted_is_ignored_at_start(tmp_path):
    broker = await make_broker(tmp_path / "data")
    try:
        broker.create_topic("t", 1)
        broker.alter_broker_configs("0", {"log.segment.bytes": "100000"})
        # As an older or newer version might have stored it.
        broker.meta.set_broker_configs("", {"log.retention.ms": "-9"})
    finally:
        await broker.close()
    broker = await make_broker(tmp_path / "data")
    try:
        assert broker.dynamic_configs == {"0": {"log.segment.bytes": "100000"}}
        assert broker.topics["t"].log_config.retention_ms == BrokerConfig().log.retention_ms
        assert broker.topics["t"].log_config.segment_bytes == 100000
    finally:
        await broker.close()


async def test_legacy_alter_configs_takes_the_last_of_a_repeated_config(served, wire):
    # librdkafka's AlterConfigs helper sends every described config back plus the one it
    # changes, so that one comes twice; Kafka's ZooKeeper-mode brokers keep the last.
    broker, _ = served
    broker.create_topic("t", 1, {"retention.ms": "5000"})
    response = await wire.call(ApiKey.ALTER_CONFIGS, 1, {"resources": [
        {"resource_type": 2, "resource_name": "t", "configs": [
            {"name": "retention.ms", "value": "5000"},
            {"name": "message.format.version", "value": "3.0-IV1"},
            {"name": "retention.ms", "value": "7000"}]}],
        "validate_only": False})
    (res,) = response["responses"]
    assert (res["error_code"], res["error_message"]) == (0, None)
    assert broker.topics["t"].configs == {"retention.ms": "7000",
                                          "message.format.version": "3.0-IV1"}
    # IncrementalAlterConfigs still refuses a repeated config, changing nothing.
    response = await wire.call(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [
        {"resource_type": 2, "resource_name": "t", "configs": [
            {"name": "retention.ms", "config_operation": 0, "value": "1"},
            {"name": "retention.ms", "config_operation": 0, "value": "2"}]}],
        "validate_only": False})
    (res,) = response["responses"]
    assert res["error_code"] == ErrorCode.INVALID_REQUEST
    assert broker.topics["t"].configs["retention.ms"] == "7000"
