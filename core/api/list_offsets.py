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
* ``isolation_level`` (v2+) is ignored: without transactions the last stable offset is the
  high watermark, so read_committed and read_uncommitted get the same answer.

Version notes: v0 (several old-style offsets) is not served; old librdkafka needs v1 in the
range, which answers a single ``offset`` and ``timestamp``. v2 adds isolation level and
throttle time; v4 leader epochs; v6 is flexible; v7 allows MAX_TIMESTAMP.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import answer_each_partition
from streamscope.core.errors import ErrorCode, KafkaError

API_KEY = 2
MIN_VERSION = 1
MAX_VERSION = 7

MAX_TIMESTAMP = -3


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker

    def answer(name: str, p: dict) -> dict:
        index = p["partition_index"]
        timestamp = p["timestamp"]
        if timestamp == MAX_TIMESTAMP and version < 7:
            # A negative time other than -1/-2 means nothing before v7.
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION, "MAX_TIMESTAMP needs v7")
        offset, found_ts = broker.list_offsets(name, index, timestamp)
        return {
            "partition_index": index, "error_code": 0,
            "timestamp": found_ts, "offset": offset, "leader_epoch": 0,
        }

    def failed(index: int, exc: KafkaError) -> dict:
        return {
            "partition_index": index, "error_code": int(exc.code),
            "timestamp": -1, "offset": -1, "leader_epoch": -1,
        }

    return {
        "throttle_time_ms": 0,
        "topics": answer_each_partition(request.get("topics"), answer, failed),
    }
