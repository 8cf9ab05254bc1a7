"""A partition's storage state (issue 13): a failing write answers
KAFKA_STORAGE_ERROR, leaves the log valid, sets ``Partition.storage_error`` and is logged
and told once per episode, and clears when a write succeeds again; a partition that
cannot be opened at start-up goes offline alone while the others serve.

Faults come from core.log.files.FaultyFiles (the fault-injecting file layer);
tests/core/test_storage_faults*.py cover the file layer itself in depth.
"""

from __future__ import annotations

import errno
import logging

import pytest
from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log import files
from streamscope.core.records import iter_all_records

from tests.core.helpers import loopback_node
from tests.core.test_server import (
    FETCH,
    PRODUCE,
    Wire,
    batch,
    fetch_body,
    only_partition,
    produce_body,
)

pytestmark = pytest.mark.timeout(60)


def storage_events(broker) -> list:
    return [e for e in broker.events if e.kind == "storage"]


async def test_a_full_disk_answers_storage_error_once_logged_and_heals_by_itself(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    node = await loopback_node(tmp_path)
    wire = await Wire.connect(node.server)
    faulty = files.FaultyFiles()
    try:
        broker = node.broker
        broker.create_topic("disk", 1)
        p = broker.topics["disk"].partitions[0]
        assert only_partition(await wire.call(PRODUCE, 8, produce_body("disk", 0, batch(b"0"))),
                              "responses", "partition_responses")["error_code"] == 0
        with files.installed(faulty):
            faulty.fail_next("write", errno=errno.ENOSPC, times=None, path_contains="disk-0")
            for _ in range(3):
                part = only_partition(await wire.call(PRODUCE, 8, produce_body(
                    "disk", 0, batch(b"no room"))), "responses", "partition_responses")
                assert part["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
            assert p.storage_error is not None
            # One episode: one event, one error line, naming the partition and the reason.
            (event,) = storage_events(broker)
            assert event.data["topic"] == "disk" and event.data["partition"] == 0
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR
                      and "disk-0" in r.getMessage()]
            assert len(errors) == 1 and "space" in errors[0].getMessage().lower()
            faulty.heal()
            part = only_partition(await wire.call(PRODUCE, 8, produce_body(
                "disk", 0, batch(b"1"))), "responses", "partition_responses")
        assert part["error_code"] == 0 and part["base_offset"] == 1
        assert p.storage_error is None
        assert storage_events(broker)[-1].data["error"] is None  # "works again"
        # The log holds only what was acknowledged, with dense offsets.
        fetched = only_partition(await wire.call(FETCH, 11, fetch_body([("disk", 0, 0)])),
                                 "responses")
        assert [r.offset for r in iter_all_records(fetched["records"])] == [0, 1]
    finally:
        await wire.close()
        await node.close()


async def test_an_interval_fsync_failure_is_a_storage_error_until_a_flush_succeeds(tmp_path):
    node = await loopback_node(tmp_path, fsync_interval_ms=600_000)
    faulty = files.FaultyFiles()
    try:
        broker = node.broker
        broker.create_topic("synced", 1)
        p = broker.topics["synced"].partitions[0]
        broker.produce("synced", 0, batch(b"a"))
        with files.installed(faulty):
            faulty.fail_next("fsync", path_contains="synced-0")
            await broker.flush_dirty()
            assert p.storage_error is not None and "fsync" in p.storage_error
            broker.produce("synced", 0, batch(b"b"))  # a good write does not hide it
            assert p.storage_error is not None
            await broker.flush_dirty()  # the retry covers what the failed one missed
        assert p.storage_error is None
        assert p.synced_to == 2
    finally:
        await node.close()


async def test_a_corrupt_segment_at_start_takes_only_its_partition_offline(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    small = LogConfig(segment_bytes=300)
    node = await loopback_node(tmp_path, log=small)
    broker = node.broker
    broker.create_topic("split", 2)
    for i in range(12):
        for part in (0, 1):
            broker.produce("split", part, batch(b"record-%02d" % i * 4))
    assert broker.topics["split"].partitions[0].log.segment_count > 2
    await node.close()
    # Flip bytes inside the oldest segment of partition 0 (not its torn-tail case).
    oldest = sorted((tmp_path / "data" / "split-0").glob("*.log"))[0]
    data = bytearray(oldest.read_bytes())
    data[70:80] = b"\xff" * 10
    oldest.write_bytes(bytes(data))

    again = await loopback_node(tmp_path, log=small)
    wire = await Wire.connect(again.server)
    try:
        broker = again.broker
        p0, p1 = broker.topics["split"].partitions
        assert p0.offline and p1.offline is None
        assert any(e.data.get("offline") and e.data["partition"] == 0
                   for e in storage_events(broker))
        assert any("split-0" in r.getMessage() and "offline" in r.getMessage()
                   for r in caplog.records)
        part = only_partition(await wire.call(PRODUCE, 8, produce_body("split", 0, batch(b"x"))),
                              "responses", "partition_responses")
        assert part["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
        fetched = only_partition(await wire.call(FETCH, 11, fetch_body([("split", 0, 0)])),
                                 "responses")
        assert fetched["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
        with pytest.raises(KafkaError):
            broker.partition("split", 0)
        # The other partition serves, reads and writes.
        part = only_partition(await wire.call(PRODUCE, 8, produce_body("split", 1, batch(b"y"))),
                              "responses", "partition_responses")
        assert part["error_code"] == 0 and part["base_offset"] == 12
        assert oldest.read_bytes() == bytes(data)  # nothing on disk was touched
    finally:
        await wire.close()
        await again.close()
