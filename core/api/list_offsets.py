"""ListOffsets (key 2), versions 1-7: offsets by special timestamp or by time.

Behaviour, per requested partition:

* ``timestamp`` -2 (EARLIEST): the log start offset; -1 (LATEST): the high watermark (log end
  offset); -3 (MAX_TIMESTAMP, v7): the offset and time of the record with the largest
  timestamp; any other value: the first offset whose record timestamp is >= it. Answers for
  -2/-1 carry ``timestamp`` -1, as Kafka's do. When nothing matches (empty log, a time past
  every record) the answer is offset -1, timestamp -1 with no error, as in Kafka.
* ``leader_epoch`` 0 (v4+), matching Metadata; ``current_leader_epoch`` in the request is
  accepted whatever it is.
* Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION (3), offset and timestamp -1.
* ``isolation_level`` (v2+) 1 (read_committed): LATEST answers the last stable offset
  (below the first open transaction, the high watermark when none is open), as Kafka
  does; by time, an offset at or past it is not visible yet (offset -1).
  read_uncommitted answers the high watermark.
* By time, the log finds the candidate batches from their headers and reads them on the
  loop (``PartitionLog.timestamp_batches``); decoding them (decompression included) runs
  in a worker thread, one hop per request, so a decompression bomb never blocks the
  loop. Decompression is bounded (``core.records.uncompressed_limit`` of the topic's
  max.message.bytes): a batch inflating past it answers CORRUPT_MESSAGE (2) for its
  partition. A record found past the high watermark by the time the thread returns is
  not visible yet: offset -1.

Version notes: v0 (several old-style offsets) is not served; old librdkafka needs v1 in the
range, which answers a single ``offset`` and ``timestamp``. v2 adds isolation level and
throttle time; v4 leader epochs; v6 is flexible; v7 allows MAX_TIMESTAMP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import answer_each_partition
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.idempotence import PartitionTxns
from streamscope.core.log.partition_log import PartitionLog
from streamscope.core.records import first_record_at_time, uncompressed_limit

API_KEY = 2
MIN_VERSION = 1
MAX_VERSION = 7

MAX_TIMESTAMP = -3


@dataclass(slots=True)
class _ByTime:
    """One by-timestamp lookup whose candidate batches were read on the loop."""

    answer: dict
    log: PartitionLog
    batches: list[bytes]
    timestamp: int
    log_start: int
    max_uncompressed: int
    txns: PartitionTxns | None  # read_committed: its last stable offset bounds the answer

    def visible_end(self) -> int:
        hw = self.log.log_end_offset
        return hw if self.txns is None else self.txns.last_stable_offset(hw)


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    by_time: list[_ByTime] = []
    read_committed = version >= 2 and request.get("isolation_level", 0) == 1

    def answer(name: str, p: dict) -> dict:
        index = p["partition_index"]
        timestamp = p["timestamp"]
        if timestamp == MAX_TIMESTAMP and version < 7:
            # A negative time other than -1/-2 means nothing before v7.
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION, "MAX_TIMESTAMP needs v7")
        out = {"partition_index": index, "error_code": 0, "leader_epoch": 0}
        if timestamp >= 0:
            part = broker.partition(name, index)
            plog = part.log
            batches = plog.timestamp_batches(timestamp)
            out["timestamp"], out["offset"] = -1, -1
            if batches:
                by_time.append(_ByTime(
                    out, plog, batches, timestamp, plog.log_start_offset,
                    uncompressed_limit(plog.config.max_message_bytes),
                    part.txns if read_committed else None,
                ))
            return out
        out["offset"], out["timestamp"] = broker.list_offsets(name, index, timestamp)
        if read_committed and timestamp == -1:
            out["offset"] = _stable_end(name, index)
        return out

    def _stable_end(name: str, index: int) -> int:
        part = broker.partition(name, index)
        return part.txns.last_stable_offset(part.log.log_end_offset)

    def failed(index: int, exc: KafkaError) -> dict:
        return {
            "partition_index": index, "error_code": int(exc.code),
            "timestamp": -1, "offset": -1, "leader_epoch": -1,
        }

    topics = answer_each_partition(request.get("topics"), answer, failed)
    if by_time:
        found = await asyncio.to_thread(_decode_all, by_time)
        for job, result in zip(by_time, found, strict=True):
            if isinstance(result, KafkaError):
                job.answer.update(failed(job.answer["partition_index"], result))
            elif result is not None and result[0] < job.visible_end():
                job.answer["offset"], job.answer["timestamp"] = result
    return {"throttle_time_ms": 0, "topics": topics}


def _decode_all(jobs: Sequence[_ByTime]) -> list[tuple[int, int] | None | KafkaError]:
    """Worker thread: each lookup's (offset, timestamp), None, or why it failed."""
    out: list[tuple[int, int] | None | KafkaError] = []
    for job in jobs:
        try:
            out.append(first_record_at_time(
                job.batches, job.timestamp, job.log_start,
                max_uncompressed=job.max_uncompressed,
            ))
        except KafkaError as exc:
            out.append(exc)
    return out
