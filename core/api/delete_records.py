"""DeleteRecords (key 21), versions 0-2: move partitions' log start offsets forward.

Behaviour, per partition: ``offset`` is the new log start offset; -1 means the high
watermark (delete everything). Records before it become unreadable at once (Fetch below it
answers OFFSET_OUT_OF_RANGE, ListOffsets EARLIEST answers it) and whole segments below it
are removed. Answers carry the new ``low_watermark``. An offset below -1 or past the high
watermark gets OFFSET_OUT_OF_RANGE (1); an unknown topic or partition
UNKNOWN_TOPIC_OR_PARTITION (3); both with low watermark -1. An offset below the current
log start changes nothing and answers the current log start (as Kafka). A topic whose
``cleanup.policy`` lacks ``delete`` (``compact`` alone) gets POLICY_VIOLATION (44), as
Kafka answers.

Version notes: v1 is v0 with throttling after the answer; v2 is flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.api._answers import answer_each_partition
from streamscope.core.errors import KafkaError

API_KEY = 21
MIN_VERSION = 0
MAX_VERSION = 2


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker

    def answer(name: str, p: dict) -> dict:
        index = p["partition_index"]
        offset = p["offset"]
        log_start, hw = broker.partition_offsets(name, index)
        if offset == -1:
            offset = hw
        if 0 <= offset <= log_start:  # nothing to delete: the current log start (as Kafka)
            low = log_start
        else:  # the log checks the range: OFFSET_OUT_OF_RANGE below 0 or past the end
            low = broker.delete_records(name, index, offset)
        return {"partition_index": index, "low_watermark": low, "error_code": 0}

    def failed(index: int, exc: KafkaError) -> dict:
        return {"partition_index": index, "low_watermark": -1, "error_code": int(exc.code)}

    return {
        "throttle_time_ms": 0,
        "topics": answer_each_partition(request.get("topics"), answer, failed),
    }
