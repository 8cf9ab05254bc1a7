"""OffsetForLeaderEpoch (23) and DescribeLogDirs (35) over the wire, every version."""

from __future__ import annotations

import pytest
from streamscope.core.errors import ErrorCode
from streamscope.core.protocol.api_keys import ApiKey
from streamscope.core.records import build_batch


def epoch_request(*parts: tuple[str, int, int, int]) -> dict:
    topics: dict[str, list] = {}
    for topic, index, current, epoch in parts:
        topics.setdefault(topic, []).append(
            {"partition": index, "current_leader_epoch": current, "leader_epoch": epoch})
    return {"replica_id": -1, "topics": [{"topic": t, "partitions": p}
                                          for t, p in topics.items()]}


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
async def test_offset_for_leader_epoch_answers_epoch_zero_with_the_log_end(served, wire, version):
    broker, _ = served
    broker.create_topic("t", 2)
    broker.produce("t", 0, build_batch([(None, b"a"), (None, b"b"), (None, b"c")]))
    answer = await wire.call(ApiKey.OFFSET_FOR_LEADER_EPOCH, version, epoch_request(
        ("t", 0, 0, 0), ("t", 1, -1, 0), ("t", 0, -1, 3), ("t", 9, -1, 0), ("ghost", 0, -1, 0)))
    got = [(t["topic"], p["partition"], p["error_code"], p["leader_epoch"], p["end_offset"])
           for t in answer["topics"] for p in t["partitions"]]
    epoch0 = 0 if version >= 1 else -1  # v0 has no leader epoch in the answer
    assert got == [
        ("t", 0, 0, epoch0, 3), ("t", 1, 0, epoch0, 0), ("t", 0, 0, -1, -1),
        ("t", 9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1),
        ("ghost", 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)]


async def test_offset_for_leader_epoch_fences_epochs_as_kafka(served, wire):
    broker, _ = served
    broker.create_topic("t", 1)
    answer = await wire.call(ApiKey.OFFSET_FOR_LEADER_EPOCH, 4, epoch_request(
        ("t", 0, 5, 0), ("t", 0, -3, 0)))
    codes = [p["error_code"] for p in answer["topics"][0]["partitions"]]
    assert codes == [ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.FENCED_LEADER_EPOCH]


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
async def test_describe_log_dirs_reports_sizes_and_the_disk(served, wire, version):
    broker, _ = served
    broker.create_topic("a", 2)
    broker.create_topic("b", 1)
    broker.produce("a", 1, build_batch([(None, b"x" * 500)]))
    everything = await wire.call(ApiKey.DESCRIBE_LOG_DIRS, version, {"topics": None})
    (result,) = everything["results"]
    assert result["error_code"] == 0
    assert result["log_dir"] == str(broker.data_dir.absolute())
    sizes = {(t["name"], p["partition_index"]): (p["partition_size"], p["offset_lag"])
             for t in result["topics"] for p in t["partitions"]}
    assert sizes == {("a", 0): (0, 0), ("a", 1): (broker.topics["a"].partitions[1].log.size_bytes, 0),
                     ("b", 0): (0, 0)}
    assert sizes[("a", 1)][0] > 500
    if version >= 4:
        assert 0 < result["usable_bytes"] <= result["total_bytes"]
    else:
        assert result["total_bytes"] == result["usable_bytes"] == -1  # not on the wire
    some = await wire.call(ApiKey.DESCRIBE_LOG_DIRS, version, {"topics": [
        {"topic": "a", "partitions": [1, 7]}, {"topic": "ghost", "partitions": [0]}]})
    (result,) = some["results"]
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]])
            for t in result["topics"]] == [("a", [1])]
