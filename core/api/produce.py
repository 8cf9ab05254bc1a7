"""Produce (key 0), versions 0-9: validate and append record batches, answer per partition.

Behaviour:

* ``acks`` must be -1, 0 or 1, else every partition gets INVALID_REQUIRED_ACKS (21).
  All three append the same way (one node: "all replicas" is this one); acks=0 still
  appends but the handler returns ``None``, so no response is sent at all (the client
  does not read one). A refused acks=0 produce closes the connection, as Kafka does.
* Each partition's ``records`` (bytes/memoryview as decoded; one or more RecordBatch v2)
  goes to :meth:`Broker.produce`, which validates magic, length, CRC32C and base offset,
  checks idempotent sequences, patches offsets and appends the bytes verbatim. Records
  are never decoded here: this is the hot path, so the handler does per-partition work
  only. The one exception, per topic: :func:`core.produce_rewrite.prepare_records`
  first recompresses batches for topics whose ``compression.type`` names a codec and
  stamps LogAppendTime for topics with ``message.timestamp.type=LogAppendTime`` (the
  only cases where stored batches differ from what the client sent, besides up-converted
  old message sets: see the version notes), and refuses
  acks=-1 with NOT_ENOUGH_REPLICAS (19) when ``min.insync.replicas`` is above 1.
* Per-partition answers: ``base_offset`` (of the first appended batch), ``log_append_time_ms``
  (the append time on LogAppendTime topics, -1 otherwise), ``log_start_offset``,
  ``record_errors`` []. Refusals carry
  Kafka's codes from :class:`KafkaError` (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE,
  INVALID_RECORD, OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH ...), ``base_offset`` -1 and ``error_message`` (v8+).
* Durability (``BrokerConfig.fsync``): with ``"always"`` an acks=1/-1 answer waits until
  every partition it appended to is durable (the broker's flusher thread resolves
  :meth:`Broker.sync_waiter`; appends of many requests share one fsync); a failed sync
  answers that partition KAFKA_STORAGE_ERROR (56) with ``base_offset`` -1 (the records
  stay invisible to readers until a later sync succeeds; an idempotent retry is
  answered from the same wait). acks=0 never waits. ``"interval"`` answers at once.
  The wait is not done here: :func:`handle` appends at once (on the loop, in arrival
  order) and, when an answer must wait, returns a :class:`DurableAnswer` instead of the
  dict; the server keeps it in the connection's queue of answers and goes on reading
  that connection's next requests (so pipelined produces share sync rounds), writing
  the answers strictly in request order as each becomes ready (core/server.py).
* Compacted topics (``cleanup.policy`` with ``compact``): a record without a key is
  refused, the whole partition's batches with it: INVALID_RECORD (87) with one
  ``record_errors`` entry per keyless record (its index, counted across the request's
  batches for that partition) on v8+, CORRUPT_MESSAGE (2) on v3-7 (KIP-467: older
  clients do not know 87). Finding them decodes the records, for compacted topics only
  (core/broker.py ``_refuse_keyless``).
* A write that fails (full disk, I/O error) answers KAFKA_STORAGE_ERROR; the log keeps
  only whole batches and the partition's ``storage_error`` says why (the broker logs it).
* A topic that does not exist is auto-created when the broker allows it (kcat -P and
  librdkafka's own tests rely on it), else UNKNOWN_TOPIC_OR_PARTITION (3); an invalid
  name gets INVALID_TOPIC_EXCEPTION (17). Its files are created off the loop and the
  creation counts against the connection's auto-create budget (see metadata.py). A
  partition past the topic's count gets UNKNOWN_TOPIC_OR_PARTITION.
* Transactions: ``transactional_id`` (v3+) names the producer's transactional id; its
  batches carry the transactional attribute bit, and :meth:`Broker.produce` notes the
  first offset of each producer's open transaction per partition (the last stable
  offset stays below it until the commit or abort marker). The epoch check of
  idempotence fences a producer whose epoch the coordinator bumped (its batches get
  INVALID_PRODUCER_EPOCH, whether or not a marker with the newer epoch reached the
  partition yet: the coordinator is asked). A transactional batch whose producer has no
  open transaction including the partition (never added by AddPartitionsToTxn, or
  already ended) gets INVALID_TXN_STATE (48), as with KIP-890's verification: it would
  otherwise hold the last stable offset forever.
  Control batches from clients are refused (INVALID_RECORD).

Version notes: v0-2 carry the old message-set formats (magic 0/1): the log stores
RecordBatch v2 only, so :func:`core.produce_rewrite.prepare_records` up-converts such a
message set to one v2 batch first, as Kafka does (core/legacy_records.py: librdkafka
with ``api.version.request=false`` and a 0.9 ``broker.version.fallback`` sends magic 0);
v3+ carrying them gets INVALID_RECORD. The range also starts at 0 because old
librdkafka turns compression off unless Produce v0 is in the advertised range. v1 adds throttle time; v2 log append
time; v3 transactional id and record batches; v5 log start offset; v8 record errors and
error message; v9 is flexible.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from streamscope.core.api import CloseConnection, RequestContext
from streamscope.core.api.metadata import auto_create
from streamscope.core.errors import ErrorCode, InvalidRecords, KafkaError
from streamscope.core.produce_rewrite import prepare_records

API_KEY = 0
MIN_VERSION = 0
MAX_VERSION = 9


class DurableAnswer:
    """A Produce answer waiting for its appends to become durable (fsync "always").

    ``response`` is the answer body; each entry of it that waits on a sync future is
    filled in when the future settles: unchanged on success, KAFKA_STORAGE_ERROR (with
    ``base_offset`` -1) when the sync failed. :attr:`ready` once every future settled;
    :meth:`when_ready` registers the one callback told then (the server's writer).
    Every future's outcome is retrieved as it settles, so an answer nobody sends any
    more (its connection closed: :meth:`discard`) leaves no unretrieved exception.
    """

    __slots__ = ("response", "_left", "_on_ready")

    def __init__(self, response: dict, waits: list[tuple[dict, asyncio.Future[None]]]) -> None:
        self.response = response
        self._left = len(waits)
        self._on_ready: Callable[[], None] | None = None
        for entry, fut in waits:
            fut.add_done_callback(partial(self._settled, entry))

    @property
    def ready(self) -> bool:
        return self._left == 0

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the loop) once ready; at once if it already is."""
        if self._left == 0:
            callback()
        else:
            self._on_ready = callback

    def discard(self) -> None:
        """Nobody will send this answer: forget the callback."""
        self._on_ready = None

    async def wait(self) -> dict:
        """The answer body once ready (for callers that want to await it in place)."""
        if self._left:
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()
            self._on_ready = partial(_set_done, done)
            await done
        return self.response

    def _settled(self, entry: dict, fut: asyncio.Future[None]) -> None:
        if fut.cancelled():
            error: BaseException | None = KafkaError(
                ErrorCode.KAFKA_STORAGE_ERROR, "the sync was cancelled (shutdown)")
        else:
            error = fut.exception()
        if error is not None:
            code = error.code if isinstance(error, KafkaError) else ErrorCode.KAFKA_STORAGE_ERROR
            message = error.message if isinstance(error, KafkaError) else str(error)
            entry.update(error_code=int(code), base_offset=-1, log_start_offset=-1,
                         error_message=message or None)
        self._left -= 1
        if self._left == 0 and self._on_ready is not None:
            callback, self._on_ready = self._on_ready, None
            callback()


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def handle(ctx: RequestContext, version: int,
                 request: dict) -> dict | DurableAnswer | None:
    """Append and answer; a :class:`DurableAnswer` when the answer must wait for a sync."""
    broker = ctx.broker
    acks = request.get("acks", -1)
    topic_data = request.get("topic_data") or []
    fixed_error = 0
    if acks not in (-1, 0, 1):
        fixed_error = ErrorCode.INVALID_REQUIRED_ACKS

    responses = []
    # fsync "always", acks 1/-1: (answer entry, future resolved once durable).
    waits: list[tuple[dict, asyncio.Future[None]]] | None = (
        [] if acks != 0 and broker.config.fsync == "always" else None)
    for td in topic_data:
        name = td["name"]
        parts_in = td.get("partition_data") or []
        parts_out = []
        topic_error = fixed_error
        if not topic_error and name not in broker.topics:
            try:
                await auto_create(ctx, name)
            except KafkaError as exc:
                topic_error = exc.code
        for pd in parts_in:
            index = pd["index"]
            if topic_error:
                parts_out.append(_error(index, topic_error, None))
                continue
            records = pd.get("records")
            if not records:
                parts_out.append(
                    _error(index, ErrorCode.INVALID_RECORD, "Produce request carries no record batch")
                )
                continue
            try:
                records, append_time = await prepare_records(
                    broker, name, index, records, acks, version)
                base, log_start = broker.produce(name, index, records)
            except InvalidRecords as exc:
                parts_out.append(_invalid_records(index, exc, version))
                continue
            except KafkaError as exc:
                parts_out.append(_error(index, exc.code, exc.message or None))
                continue
            entry = {
                "index": index,
                "error_code": 0,
                "base_offset": base,
                "log_append_time_ms": append_time,
                "log_start_offset": log_start,
                "record_errors": [],
                "error_message": None,
            }
            parts_out.append(entry)
            if waits is not None:
                fut = broker.sync_waiter(name, index)
                if fut is not None:
                    waits.append((entry, fut))
        responses.append({"name": name, "partition_responses": parts_out})

    if acks == 0:
        # The client reads no reply to acks=0. On a refusal Kafka closes the connection,
        # so the client notices (it reconnects and refreshes metadata) instead of losing
        # records silently.
        for topic in responses:
            for part in topic["partition_responses"]:
                if part["error_code"]:
                    code = ErrorCode(part["error_code"]).name
                    raise CloseConnection(
                        f"acks=0 produce to {topic['name']}-{part['index']} refused: {code}"
                    )
        return None
    response = {"responses": responses, "throttle_time_ms": 0}
    if waits:
        # Not awaited here: the server goes on with the connection's next requests
        # while this one waits, and writes the answers in request order.
        return DurableAnswer(response, waits)
    return response


def _error(index: int, code: int, message: str | None) -> dict:
    return {
        "index": index,
        "error_code": int(code),
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": -1,
        "record_errors": [],
        "error_message": message,
    }


def _invalid_records(index: int, exc: InvalidRecords, version: int) -> dict:
    """KIP-467: v8+ names the culprit records; older versions, whose clients do not
    know INVALID_RECORD, get CORRUPT_MESSAGE as before it."""
    if version < 8:
        return _error(index, ErrorCode.CORRUPT_MESSAGE, exc.message or None)
    out = _error(index, exc.code, exc.message or None)
    out["record_errors"] = [
        {"batch_index": i, "batch_index_error_message": m} for i, m in exc.record_errors]
    return out
