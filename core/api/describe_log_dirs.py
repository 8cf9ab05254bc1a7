"""DescribeLogDirs (key 35), versions 0-4: the data dir, its partitions' sizes, its disk.

Behaviour: one log dir, the broker's data dir (absolute path), error 0. ``topics`` null
means every topic; otherwise the named topics and partitions that exist (unknown ones
are left out, as Kafka leaves out what a log dir does not hold). Per partition: its
size in bytes (every segment of its log), offset lag 0 (no replica lags here: the log
is the leader's), is_future_key false (no AlterReplicaLogDirs). A partition offline
since start-up is left out (its files could not be read). v4: the disk's total and
usable bytes (``shutil.disk_usage`` of the data dir, read in a worker thread). The
answer is bounded by the topics the broker holds.

Version notes: v1 is v0 with throttling after the answer; v2 is flexible; v3 adds the
top-level error code; v4 adds total_bytes and usable_bytes (-1 before).
"""

from __future__ import annotations

import asyncio
import shutil

from streamscope.core.api import RequestContext

API_KEY = 35
MIN_VERSION = 0
MAX_VERSION = 4


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    wanted = request.get("topics")
    if wanted is None:
        selection = [(name, None) for name in sorted(broker.topics)]
    else:
        selection = [(t["topic"], set(t.get("partitions") or [])) for t in wanted]
    total = usable = -1
    if version >= 4:
        usage = await asyncio.to_thread(shutil.disk_usage, broker.data_dir)
        total, usable = usage.total, usage.free
    topics = []
    seen = set()
    for name, indexes in selection:
        topic = broker.topics.get(name)  # read after the await: the state of now
        if topic is None or name in seen:
            continue
        seen.add(name)
        parts = [
            {"partition_index": p.index, "partition_size": p.log.size_bytes,
             "offset_lag": 0, "is_future_key": False}
            for p in topic.partitions
            if p.offline is None and (indexes is None or p.index in indexes)
        ]
        if parts:
            topics.append({"name": name, "partitions": parts})
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "results": [{"error_code": 0, "log_dir": str(broker.data_dir.absolute()),
                     "topics": topics, "total_bytes": total, "usable_bytes": usable}],
    }
