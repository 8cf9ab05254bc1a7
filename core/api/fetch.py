"""Fetch (key 1), versions 4-12: whole stored batches, long-polled, every partition listed.

Behaviour:

* For each requested partition: ``high_watermark`` (= log end offset), ``last_stable_offset``
  (the LSO: below the first offset of the oldest open transaction, the high watermark when
  none is open; librdkafka reads it for end-of-partition and lag under its default
  read_committed isolation), ``log_start_offset``, ``aborted_transactions``,
  ``preferred_read_replica`` -1, and ``records``: whole batches from the one containing
  ``fetch_offset``, as stored (never decoded), ``b""`` when there is nothing (never null:
  librdkafka 2.0 fails on "MessageSetSize -1").
* ``isolation_level`` 1 (read_committed): records only below the LSO (whole batches: a
  transaction's first batch is where the LSO stops, so none straddles it), and
  ``aborted_transactions`` lists (producer id, first offset) of every aborted
  transaction overlapping the returned offsets, so the client drops those producers'
  records up to their ABORT marker. 0 (read_uncommitted): everything up to the high
  watermark, aborted records included, ``aborted_transactions`` [] (never null).
  Commit/abort markers (control batches) are returned as stored in both; clients skip
  them.
* Every requested partition appears in the answer, in request order (kafka-python drops
  answers that leave partitions out). Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION
  (3), offsets -1. ``fetch_offset`` outside [log start, high watermark]: OFFSET_OUT_OF_RANGE
  (1), with the current offsets so the client can reset.
* Size limits: each partition gets at most ``partition_max_bytes`` and the answer at most
  ``max_bytes`` (v3+), counted in whole batches; but the first partition with data always
  gets at least its first whole batch, however big, or a consumer would stall on it (Kafka's
  KIP-74 rule). Later partitions get only batches that fit what is left.
* Broker caps (``core.config``): the answer's ``max_bytes`` is at most
  ``BrokerConfig.fetch_max_bytes`` whatever the client asked (Kafka's broker-side
  ``fetch.max.bytes``; the KIP-74 first batch still goes out whole). At most
  ``BrokerConfig.max_parked_fetches`` Fetches wait at once, broker-wide; past that a
  Fetch is answered at once with what there is (possibly nothing), as if its
  ``max_wait_ms`` were 0, and the client polls again.
* Long-poll: when fewer than ``min_bytes`` are ready, the handler waits on
  :meth:`Broker.wait_for_data` (woken at once by an append to any requested partition) and
  reads again, until ``min_bytes`` are ready or ``max_wait_ms`` has passed. Waiting does
  not block other connections. An answer with a partition error goes out at once, as Kafka
  does; so does one whose wait ended with nothing new (the broker shutting down wakes every
  long-poll, and in-flight fetches are answered with what they have).
* Fetch sessions (KIP-227) are declined: a full fetch (``session_epoch`` -1 or 0) is served
  sessionless and answered with ``session_id`` 0, which tells the client "no session", so it
  keeps sending full fetches (librdkafka never opens sessions; kafka-python and aiokafka
  fall back to full requests on session id 0). An incremental fetch (epoch > 0) names a
  session this broker never gave out: top-level FETCH_SESSION_ID_NOT_FOUND (70) and no
  partitions, after which clients start over with a full fetch.
* Read positions: the pass that is answered tells the broker's activity feed (if any),
  per partition in range, where this connection has now read to: the offset after the
  last whole batch returned (batch headers only, no record is decoded), or the fetch
  offset when nothing came back. So the monitor shows what each reader was handed, not
  only what it committed; the span between the two is what a crash would deliver again.
* ``current_leader_epoch`` is not checked (every epoch is accepted; Metadata says 0).
  ``replica_id`` is ignored (no followers). ``rack_id`` (v11) is ignored.

Version notes: v4 adds isolation level, last stable offset and aborted transactions; v5 log
start offset; v7 sessions (declined) and top-level error code; v9 current leader epoch;
v11 rack id and preferred read replica; v12 is flexible and adds last_fetched_epoch (not
checked: no divergence is possible on one node) and tagged fields left at their defaults.
Old librdkafka needs v4 and v10 inside the range; 4-12 contains both.
"""

from __future__ import annotations

import asyncio
import struct
import weakref
from typing import TYPE_CHECKING

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode, KafkaError

if TYPE_CHECKING:
    from streamscope.core.broker import Broker

API_KEY = 1
MIN_VERSION = 4
MAX_VERSION = 12

_INT32_MAX = 0x7FFFFFFF
_BATCH_LENGTH = struct.Struct(">i")  # at byte 8 of a batch: bytes after the first 12
_BASE_OFFSET = struct.Struct(">q")  # at byte 0 of a batch
_LAST_OFFSET_DELTA = struct.Struct(">i")  # at byte 23 of a batch
# Fetches waiting for data now, per broker (max_parked_fetches).
_parked: weakref.WeakKeyDictionary[Broker, int] = weakref.WeakKeyDictionary()


def parked_fetches(broker: Broker) -> int:
    """How many Fetches are waiting for data on ``broker`` now."""
    return _parked.get(broker, 0)


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    if version >= 7 and request.get("session_epoch", -1) > 0:
        return {
            "throttle_time_ms": 0,
            "error_code": int(ErrorCode.FETCH_SESSION_ID_NOT_FOUND),
            "session_id": 0,
            "responses": [],
        }
    broker = ctx.broker
    loop = asyncio.get_running_loop()
    min_bytes = request.get("min_bytes", 1)
    max_wait_s = max(0, request.get("max_wait_ms", 0)) / 1000
    max_bytes = request.get("max_bytes", _INT32_MAX)
    if max_bytes <= 0:
        max_bytes = _INT32_MAX
    config = broker.config
    max_bytes = min(max_bytes, config.fetch_max_bytes)
    topics = request.get("topics") or []
    deadline = loop.time() + max_wait_s
    before_wait = -1
    feed = broker.activity
    read_committed = request.get("isolation_level", 0) == 1
    while True:
        reads: list[tuple[str, int, int]] | None = [] if feed is not None else None
        responses, total, positions, errored = _read(broker, topics, max_bytes, reads,
                                                     read_committed)
        # Answer when min_bytes are there, on any partition error, or when a wait brought
        # nothing new: it timed out, or the wake-up was not an append (shutdown, a deleted
        # topic), and either way the client is better served now than after max_wait_ms.
        if total >= min_bytes or errored or not positions or total == before_wait:
            break
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        parked = _parked.get(broker, 0)
        if parked >= config.max_parked_fetches:
            break  # too many waiting already: answer now with what there is
        before_wait = total
        _parked[broker] = parked + 1
        try:
            await broker.wait_for_data(positions, remaining)
        finally:
            _parked[broker] -= 1
    if feed is not None and reads is not None:
        conn = ctx.connection
        feed.fetched(conn.conn_id, conn.client_id or "", conn.host, reads)
    return {"throttle_time_ms": 0, "error_code": 0, "session_id": 0, "responses": responses}


def _read(broker, topics: list[dict], max_bytes: int,
          reads: list[tuple[str, int, int]] | None = None, read_committed: bool = False):
    """One pass over the request: (responses, bytes, wait positions, any partition error);
    ``reads`` (if given) gets (topic, partition, read-to offset) of each partition in
    range: past the last whole batch returned, else the fetch offset."""
    responses = []
    total = 0
    positions: list[tuple[str, int, int]] = []
    errored = False
    for t in topics:
        name = t["topic"]
        parts_out = []
        for p in t.get("partitions") or []:
            index = p["partition"]
            offset = p["fetch_offset"]
            try:
                part = broker.partition(name, index)
            except KafkaError as exc:
                errored = True
                parts_out.append(_entry(index, exc.code, -1, -1))
                continue
            plog = part.log
            log_start = plog.log_start_offset
            hw = plog.log_end_offset
            if offset < log_start or offset > hw:
                errored = True
                parts_out.append(_entry(index, ErrorCode.OFFSET_OUT_OF_RANGE, hw, log_start))
                continue
            records = b""
            read_to = offset
            txns = part.txns
            lso = txns.last_stable_offset(hw)
            end = lso if read_committed else hw
            limit = min(p.get("partition_max_bytes", _INT32_MAX), max_bytes - total)
            if offset < end and (limit > 0 or total == 0):
                result = broker.fetch(name, index, offset, max(limit, 1))
                records = result.records
                hw = result.high_watermark
                log_start = result.log_start_offset
                read_to = max(offset, result.next_offset)
                if read_committed and read_to > end:
                    # Nothing at or past the LSO: those transactions are still open.
                    records = _batches_below(records, end)
                    read_to = max(offset, _end_offset(records))
                if total > 0 and len(records) > limit:
                    # Only the first partition with data may exceed the limits.
                    records = _whole_batches_within(records, limit)
                    read_to = max(offset, _end_offset(records))
                total += len(records)
            aborted = []
            if read_committed and records and txns.aborted:
                aborted = [{"producer_id": a.producer_id, "first_offset": a.first_offset}
                           for a in txns.aborted_between(offset, read_to)]
            if reads is not None:
                reads.append((name, index, read_to))
            # Wake on anything past what this read saw, not past the fetch offset, or a
            # partition with a little data (< min_bytes) would wake the waiter at once.
            positions.append((name, index, max(offset, hw)))
            parts_out.append(_entry(index, 0, hw, log_start, records, lso, aborted))
        responses.append({"topic": name, "partitions": parts_out})
    return responses, total, positions, errored


def _end_offset(data) -> int:
    """The offset after the last whole batch in ``data`` (stored batches), -1 if none:
    walks the batch headers (base offset, length, last offset delta), never a record."""
    pos = 0
    end = len(data)
    last = -1
    while pos + 27 <= end:
        size = 12 + _BATCH_LENGTH.unpack_from(data, pos + 8)[0]
        if pos + size > end:
            break
        base = _BASE_OFFSET.unpack_from(data, pos)[0]
        last = base + _LAST_OFFSET_DELTA.unpack_from(data, pos + 23)[0] + 1
        pos += size
    return last


def _whole_batches_within(data, limit: int):
    """The longest prefix of ``data`` (stored batches) made of whole batches, <= ``limit``."""
    pos = 0
    end = len(data)
    while pos + 12 <= end:
        size = 12 + _BATCH_LENGTH.unpack_from(data, pos + 8)[0]
        if pos + size > limit:
            break
        pos += size
    return data[:pos] if pos else b""


def _batches_below(data, offset: int):
    """The whole batches of ``data`` (stored batches) whose base offset is below ``offset``."""
    pos = 0
    end = len(data)
    while pos + 12 <= end:
        if _BASE_OFFSET.unpack_from(data, pos)[0] >= offset:
            break
        pos += 12 + _BATCH_LENGTH.unpack_from(data, pos + 8)[0]
    return data[:min(pos, end)] if pos else b""


def _entry(index: int, code: int, hw: int, log_start: int, records=b"",
           lso: int | None = None, aborted: list[dict] | None = None) -> dict:
    return {
        "partition_index": index,
        "error_code": int(code),
        "high_watermark": hw,
        "last_stable_offset": hw if lso is None else lso,
        "log_start_offset": log_start,
        "aborted_transactions": aborted if aborted is not None else [],
        "preferred_read_replica": -1,
        "records": records,
    }
