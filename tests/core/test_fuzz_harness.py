"""The protocol fuzzer's parts, shared by the fuzz tests and benchmarks/fuzz_soak.py.

Contract:

* Inputs are request frames (without the 4-byte size prefix) of three kinds:
  ``corpus`` (frames real clients sent, tests/fuzz_corpus/frames, mutated by
  :class:`Mutator`), ``schema`` (each served API and version's defaults, made plausible,
  mutated likewise) and ``structured`` (:func:`request_frames`: hypothesis-drawn bodies
  for every API and version the broker serves, built from the declarative message
  definitions in core/protocol, encoded by the real codec).
* :class:`Mutator` does what AFL-style fuzzers do to bytes: flips, Kafka's boundary
  integers written over any position (array counts that claim 2^31 elements, lengths of
  -1), cuts, appends, repeats a slice, splices two frames, and moves the header's api
  key or version to another served one.
* :class:`InProcessWire` drives the broker's real connection protocol (the server's
  ``BufferedProtocol``: framing, header, decode, the API handler, encoding) through an
  in-memory transport, so 100,000 inputs fit the suite's budget; :class:`SocketWire`
  does the same over a real TCP connection. An input is handled when the answer with
  its correlation id comes back; a Produce (which acks=0 answers with silence) is
  followed by a probe (ApiVersions v0) whose answer says the same. A closed connection
  means the broker refused it; neither within ``park_s`` means a request that
  legitimately waits (a long poll, a join) and the fuzzer hangs up, which the broker
  must absorb too.
* :func:`framing_inputs` lie in the size prefix instead (negative, zero, huge, short,
  long), for the socket fuzz.
* :func:`run_inputs` runs inputs over ``workers`` connections at once, beside a
  sentinel connection that must never be closed (only offending connections close);
  :class:`Totals` counts by kind and outcome.
* :func:`kept_topic` / :func:`check_kept` store a topic before the fuzz and check it
  reads back byte for byte after; its name is one the generators never produce.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import struct
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from streamscope.core import server as server_module
from streamscope.core.api import load_handlers
from streamscope.core.broker import Broker
from streamscope.core.protocol import (
    SCHEMAS,
    codec_for,
    decode_response,
    encode_request,
    read_request_header,
)
from streamscope.core.protocol.schema import Field
from streamscope.core.records import Compression, build_batch

CORPUS = Path(__file__).resolve().parents[1] / "fuzz_corpus" / "frames"
KEPT_TOPIC = "kept-7f3a9c"  # never drawn by a generator, never a mutation's result
FUZZ_TOPICS = ("fuzz", "fuzz-2", "corpus")
GROUPS = ("fuzz-group", "corpus-ck", "corpus-kp", "corpus-ak")
PROBE = struct.pack(">hhih", 18, 0, 0, 5) + b"probe"  # ApiVersions v0, correlation patched
_I32 = struct.Struct(">i")
_HEAD = struct.Struct(">hxxi")  # api key, (version), correlation id
_BOUNDARY = (0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, -0x8000, 0xFFFF, 0x7FFFFFFF, -0x80000000,
             0x10000, 1 << 20)


# --- inputs ---------------------------------------------------------------------------


def served() -> dict[int, ModuleType]:
    return load_handlers()


def served_versions() -> list[tuple[int, int]]:
    return [(key, v) for key, m in sorted(served().items())
            for v in range(m.MIN_VERSION, m.MAX_VERSION + 1)]


def load_corpus() -> list[bytes]:
    """The captured client frames (see tests/fuzz_corpus/README.md), sorted by name."""
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.bin"))]


def schema_frames() -> list[bytes]:
    """One plausible frame per served (api key, version): the schema's defaults, with a
    topic, partition and records filled in where the API has them."""
    batch = build_batch([(b"k", b"v")])
    frames = []
    for key, version in served_versions():
        empty = encode_request(key, version, 0, "fuzzer", {})
        _header, pos = read_request_header(empty)
        body = codec_for(key, version, True).decode(memoryview(empty), pos)[0]
        if key == 0:
            body.update(acks=1, timeout_ms=1000, topic_data=[
                {"name": "fuzz", "partition_data": [{"index": 0, "records": batch}]}])
        elif key == 1:
            body.update(max_wait_ms=10, topics=[{"topic": "fuzz", "partitions": [
                {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 4096}]}])
        elif key == 2:
            body["topics"] = [{"name": "fuzz", "partitions": [
                {"partition_index": 0, "timestamp": 0}]}]
        elif key == 3:
            body["topics"] = [{"name": "fuzz"}]
        elif "group_id" in body:
            body["group_id"] = "fuzz-group"
        frames.append(encode_request(key, version, 7, "fuzzer", body))
    return frames


class ErrorRecords(logging.Handler):
    """Collects ERROR records (a handler that raised) while a fuzz runs; added to the root
    logger by the fuzz tests and the soak script."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Mutator:
    """Byte-level mutations of a request frame (module docstring); deterministic per seed."""

    def __init__(self, seed: int, pool: Sequence[bytes]) -> None:
        self.rng = random.Random(seed)
        self.pool = pool
        self.versions = served_versions()

    def mutate(self, frame: bytes) -> bytes:
        rng = self.rng
        out = bytearray(frame)
        # Mostly the body: a broken header is refused before decoding even starts.
        lo = 8 if rng.random() < 0.1 else _body_start(frame)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            how = rng.randrange(8)
            n = len(out)
            if how == 0 and n > lo:  # flip bytes
                for _ in range(rng.randint(1, 4)):
                    out[rng.randrange(lo, n)] ^= 1 << rng.randrange(8)
            elif how == 1 and n > lo + 4:  # a boundary int32 anywhere (counts, lengths)
                at = rng.randrange(lo, n - 3)
                out[at:at + 4] = struct.pack(">I", rng.choice(_BOUNDARY) & 0xFFFFFFFF)
            elif how == 2 and n > lo + 2:  # a boundary int16 / uvarint byte
                at = rng.randrange(lo, n - 1)
                if rng.random() < 0.5:
                    out[at:at + 2] = struct.pack(">H", rng.choice(_BOUNDARY) & 0xFFFF)
                else:
                    out[at] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0xFF))
            elif how == 3 and n > lo:  # cut
                del out[rng.randrange(lo, n):]
            elif how == 4:  # append junk
                out += rng.randbytes(rng.randint(1, 32))
            elif how == 5 and n > lo + 8:  # repeat a slice
                a = rng.randrange(lo, n)
                b = min(n, a + rng.randint(1, 64))
                out[a:a] = out[a:b] * rng.randint(1, 8)
            elif how == 6 and self.pool:  # splice another frame's tail
                other = rng.choice(self.pool)
                if len(other) > 8 and n > lo:
                    out = out[:rng.randrange(lo, n)] + other[rng.randrange(8, len(other)):]
            else:  # another served api key / version in the header
                key, version = rng.choice(self.versions)
                if rng.random() < 0.5:
                    out[0:2] = struct.pack(">h", key)
                out[2:4] = struct.pack(">h", version)
        return bytes(out)


def _body_start(frame: bytes) -> int:
    """Where the body begins (after the header), or 8 when the header does not parse."""
    try:
        return read_request_header(frame)[1]
    except Exception:  # any refusal: mutate from just after the fixed header fields
        return 8


# --- structure-aware requests (hypothesis) --------------------------------------------


def _int(bits: int) -> st.SearchStrategy[int]:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    edges = [v for v in (0, 1, -1, 2, 3, 10, 100, 1000, 60000, lo, hi) if lo <= v <= hi]
    return st.sampled_from(edges) | st.integers(lo, hi)


_NAMES = st.sampled_from(FUZZ_TOPICS + GROUPS + ("", ".", "..", "a" * 250, "x/../y",
                                                "<b>x</b>", "orders\n", "Fuzz", "fuzz_2"))
_STRINGS = _NAMES | st.text(max_size=12)
_RECORDS = st.one_of(
    st.builds(
        lambda kvs, codec, ts: build_batch([(k, v, None, ts) for k, v in kvs],
                                           compression=codec),
        st.lists(st.tuples(st.none() | st.binary(max_size=16), st.binary(max_size=32)),
                 min_size=1, max_size=3),
        st.sampled_from(list(Compression)),
        st.sampled_from((0, 1_700_000_000_000, -1)),
    ),
    st.binary(max_size=80),
)
_PRIMITIVE: dict[str, st.SearchStrategy[Any]] = {
    "bool": st.booleans(), "int8": _int(8), "int16": _int(16), "int32": _int(32),
    "int64": _int(64), "uint16": st.integers(0, 0xFFFF),
    "float64": st.floats(allow_nan=True), "string": _STRINGS,
    "bytes": st.binary(max_size=48), "records": _RECORDS, "uuid": st.uuids(),
}


def _field_strategy(fld: Field, version: int) -> st.SearchStrategy[Any]:
    if fld.is_struct:
        elem: st.SearchStrategy[Any] = _struct_strategy(fld.fields, version)
    else:
        elem = _PRIMITIVE[fld.elem_type]
    s = st.lists(elem, max_size=3) if fld.is_array else elem
    if fld.nullable_in(version):
        s = st.none() | s
    return s


def _struct_strategy(fields: Iterable[Field], version: int) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {fld.key: _field_strategy(fld, version) for fld in fields if fld.valid_in(version)})


def request_strategy(key: int, version: int) -> st.SearchStrategy[bytes]:
    """Encoded frames of (key, version) with hypothesis-drawn bodies."""
    body = _struct_strategy(SCHEMAS[key].request, version)
    return st.builds(lambda b, c: encode_request(key, version, c, "hyp", b),
                     body, st.integers(0, 0x7FFFFFFF))


def any_request() -> st.SearchStrategy[bytes]:
    return st.one_of([request_strategy(k, v) for k, v in served_versions()])


def request_frames(n_examples: int, per_example: int, seed: int) -> list[bytes]:
    """``n_examples * per_example`` structure-aware frames, every served API and version
    represented, reproducible for a seed."""
    # Every (key, version) in each of two examples, then draws across all of them. The
    # versions are drawn in chunks: one tuple of every strategy outgrew hypothesis's
    # buffer once the transaction APIs joined (examples were cut short).
    versions = served_versions()
    frames = []
    for i in range(0, len(versions), 40):
        every = st.tuples(*(request_strategy(k, v) for k, v in versions[i:i + 40])).map(list)
        frames.extend(f for example in _draw(every, 2, 1, seed) for f in example)
    frames.extend(_draw(any_request(), n_examples, per_example, seed))
    return frames


@functools.cache
def structured_frames() -> tuple[bytes, ...]:
    """The suite's structure-aware frames: every served API and version twice, then
    1,000 drawn across them; drawn once per test session (hypothesis takes seconds)."""
    return tuple(request_frames(20, 50, seed=13))


def _draw(strategy: st.SearchStrategy[Any], n_examples: int, per_example: int,
          seed: int) -> list[Any]:
    out: list[Any] = []

    @fixed_seed(seed)
    @settings(max_examples=n_examples, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(st.lists(strategy, min_size=per_example, max_size=per_example))
    def collect(drawn: list[Any]) -> None:
        out.extend(drawn)

    collect()
    return out



# --- driving the broker ---------------------------------------------------------------


class _Transport(asyncio.Transport):
    """An in-memory transport: records writes, reports close, honours read pauses."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self._peer = ("127.0.0.1", port)
        self.closed = False
        self.reading = asyncio.Event()
        self.reading.set()
        self.waiter: asyncio.Future[None] | None = None  # woken by a write or the close
        self.out = bytearray()
        self.protocol: asyncio.BaseProtocol | None = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._peer if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self.out += data
            self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.wake()
            self.reading.set()
            if self.protocol is not None:
                asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()

    def is_reading(self) -> bool:
        return self.reading.is_set()

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False


class Outcome:
    ANSWERED = "answered"  # the probe after it was answered: the input was handled
    CLOSED = "closed"  # the broker closed the connection: the input was refused
    PARKED = "parked"  # no answer in park_s: a waiting request; the fuzzer hung up


class InProcessWire:
    """One connection to ``server`` through the server's own protocol class, in memory."""

    _ports = iter(range(20000, 1 << 30))

    def __init__(self, server: server_module.Server) -> None:
        self.transport = _Transport(next(self._ports))
        self.protocol = server_module._Connection(server)
        self.transport.protocol = self.protocol
        self.protocol.connection_made(self.transport)
        self._read = 0

    @property
    def closed(self) -> bool:
        return self.transport.closed

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.transport.closed:
            await self.transport.reading.wait()
            if self.transport.closed:
                return
            buf = self.protocol.get_buffer(len(view))
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            self.protocol.buffer_updated(n)
            view = view[n:]

    async def until(self, correlation: int, timeout: float) -> str:
        """Wait for the answer with ``correlation`` (the probe's) or the close."""
        t = self.transport
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                if _find_answer(t.out, self, correlation):
                    return Outcome.ANSWERED
                if t.closed:
                    return Outcome.CLOSED
                if loop.time() >= deadline:
                    return Outcome.PARKED
                t.waiter = loop.create_future()
                if timer is None:  # one timer per wait, not one per wake-up
                    timer = loop.call_at(deadline, t.wake)
                await t.waiter
        finally:
            t.waiter = None
            if timer is not None:
                timer.cancel()

    async def close(self) -> None:
        self.transport.close()


def _find_answer(out: bytearray, wire: Any, correlation: int) -> bool:
    """Consume whole reply frames from ``out``; True once ``correlation`` was answered."""
    pos = wire._read
    found = False
    while len(out) - pos >= 8:
        size = _I32.unpack_from(out, pos)[0]
        if len(out) - pos - 4 < size:
            break
        if _I32.unpack_from(out, pos + 4)[0] == correlation:
            found = True
        pos += 4 + size
    wire._read = pos
    if pos > 1 << 20:  # keep the buffer small over a long run
        del out[:pos]
        wire._read = 0
    return found


class SocketWire:
    """One real TCP connection to the broker, driven like :class:`InProcessWire`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.out = bytearray()
        self._read = 0
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int) -> SocketWire:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, data: bytes) -> None:
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError:
            self.closed = True

    async def until(self, correlation: int, timeout: float) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if _find_answer(self.out, self, correlation):
                return Outcome.ANSWERED
            if self.closed:
                return Outcome.CLOSED
            left = deadline - loop.time()
            if left <= 0:
                return Outcome.PARKED
            try:
                data = await asyncio.wait_for(self.reader.read(1 << 16), left)
            except TimeoutError:
                continue
            except ConnectionError:
                data = b""
            if not data:
                self.closed = True
            self.out += data

    async def close(self) -> None:
        self.closed = True
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


Wire = InProcessWire | SocketWire


@dataclass
class Totals:
    inputs: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    sentinel_checks: int = 0

    def line(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        outs = ", ".join(f"{k} {n}" for k, n in sorted(self.outcomes.items()))
        return f"inputs {self.inputs} ({kinds}); {outs}"


def framed(frame: bytes) -> bytes:
    return _I32.pack(len(frame)) + frame


async def run_inputs(
    inputs: Iterator[tuple[str, bytes]],
    open_wire: Callable[[], Awaitable[Wire]],
    *,
    workers: int = 16,
    park_s: float = 2.0,
    totals: Totals | None = None,
    progress: Callable[[Totals], None] | None = None,
    progress_every: int = 0,
) -> Totals:
    """Send every (kind, frame) of ``inputs``, each followed by a probe, over ``workers``
    connections (a new one when the broker closes one), beside a sentinel connection
    that must stay open and answer a probe between inputs. Raises AssertionError when
    the sentinel is closed or stops answering."""
    totals = totals if totals is not None else Totals()
    sentinel = await open_wire()
    sentinel_ids = iter(range(-2, -(1 << 31), -1))
    lock = asyncio.Lock()
    correlations = iter(range(1 << 24, 1 << 31))

    async def check_sentinel() -> None:
        async with lock:
            cid = next(sentinel_ids)
            await sentinel.send(framed(probe(cid)))
            outcome = await sentinel.until(cid, 60)
            assert outcome == Outcome.ANSWERED, f"sentinel connection {outcome}"
            totals.sentinel_checks += 1

    async def worker() -> None:
        wire = await open_wire()
        try:
            for kind, frame in inputs:
                key, own = _HEAD.unpack_from(frame) if len(frame) >= 8 else (0, 0)
                if kind == FRAMING:  # raw bytes, size prefix included (and lying)
                    cid = next(correlations)
                    await wire.send(frame + framed(probe(cid)))
                elif key == 0:  # a Produce may be answered by silence (acks=0): probe it
                    cid = next(correlations)
                    await wire.send(framed(frame) + framed(probe(cid)))
                else:  # every other request is answered (or its connection closed)
                    cid = own
                    await wire.send(framed(frame))
                outcome = await wire.until(cid, park_s)
                totals.inputs += 1
                done = totals.inputs
                totals.by_kind[kind] += 1
                totals.outcomes[outcome] += 1
                if outcome != Outcome.ANSWERED:
                    await wire.close()
                    wire = await open_wire()
                if progress is not None and progress_every and done % progress_every == 0:
                    progress(totals)
                    await check_sentinel()
        finally:
            await wire.close()

    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
        await check_sentinel()
    finally:
        await sentinel.close()
    return totals


def probe(correlation: int) -> bytes:
    """An ApiVersions v0 request frame with this correlation id."""
    return PROBE[:4] + _I32.pack(correlation) + PROBE[8:]


def interleave(*sources: Iterable[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    """Round-robin over the sources until all are exhausted."""
    its = [iter(s) for s in sources]
    while its:
        for it in list(its):
            try:
                yield next(it)
            except StopIteration:
                its.remove(it)


FRAMING = "framing"


def framing_inputs(seeds: Sequence[bytes], count: int, seed: int
                   ) -> Iterator[tuple[str, bytes]]:
    """Frames whose 4-byte size lies: negative, zero, past the frame limit, shorter than
    the frame (the rest reads as another frame) or longer (the broker waits for bytes
    that never come, until the fuzzer hangs up)."""
    rng = random.Random(seed)
    for _ in range(count):
        frame = rng.choice(seeds)
        size = rng.choice((-1, -0x80000000, 0, 3, 0x7FFFFFFF, 200 << 20,
                           rng.randrange(0, len(frame)), len(frame) + rng.randint(1, 64)))
        yield FRAMING, _I32.pack(size) + frame


def mutants(kind: str, seeds: Sequence[bytes], count: int, mutator: Mutator
            ) -> Iterator[tuple[str, bytes]]:
    rng = mutator.rng
    for _ in range(count):
        yield kind, mutator.mutate(rng.choice(seeds))


# --- stored data ----------------------------------------------------------------------


def kept_topic(broker: Broker) -> bytes:
    """Create and fill :data:`KEPT_TOPIC`; its stored bytes, to compare after the fuzz."""
    broker.create_topic(KEPT_TOPIC, 2)
    for i in range(20):
        codec = list(Compression)[i % 5]
        broker.produce(KEPT_TOPIC, i % 2, build_batch(
            [(b"key-%d" % i, b"value-%d" % i * 10, [("h", b"x")])], compression=codec))
    return _stored(broker)


def _stored(broker: Broker) -> bytes:
    parts = []
    for p in (0, 1):
        start, end = broker.partition_offsets(KEPT_TOPIC, p)
        parts.append(struct.pack(">qq", start, end))
        parts.append(bytes(broker.fetch(KEPT_TOPIC, p, 0, 1 << 22).records))
    return b"".join(parts)


def check_kept(broker: Broker, before: bytes) -> None:
    assert KEPT_TOPIC in broker.topics, "the kept topic was deleted by the fuzz"
    assert _stored(broker) == before, "the kept topic's stored bytes changed"


def fuzz_topics(broker: Broker) -> None:
    for name in FUZZ_TOPICS:
        if name not in broker.topics:
            broker.create_topic(name, 2)
    broker.produce("fuzz", 0, build_batch([(b"k", b"v", None, 1_700_000_000_000)]))


# --- the harness's own checks ---------------------------------------------------------


def test_the_corpus_holds_frames_from_all_three_clients_for_the_common_apis():
    names = [p.name for p in CORPUS.glob("*.bin")]
    for client in ("confluent", "kafkapython", "aiokafka"):
        keys = {int(n.split("-k")[1].split("-")[0]) for n in names if n.startswith(client)}
        assert {0, 1, 2, 3, 8, 10, 11, 18} <= keys, (client, sorted(keys))
    for frame in load_corpus():
        header, _pos = read_request_header(frame)
        assert header.api_key in served()


def test_mutations_are_reproducible_and_change_the_frame():
    corpus = load_corpus()
    a = [Mutator(5, corpus).mutate(f) for f in corpus]
    b = [Mutator(5, corpus).mutate(f) for f in corpus]
    assert a == b
    assert sum(x != y for x, y in zip(a, corpus, strict=True)) > len(corpus) * 0.9


def test_structured_requests_cover_every_served_api_and_version():
    frames = structured_frames()
    assert len(frames) == 2 * len(served_versions()) + 1000
    seen = {struct.unpack_from(">hh", f) for f in frames}
    assert set(served_versions()) <= seen


async def api_versions_over_a_socket(host: str, port: int) -> dict:
    """ApiVersions v3 on a fresh connection: the broker still answers after a fuzz."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(encode_request(18, 3, 99, "after-fuzz", {}, size_prefix=True))
        await writer.drain()
        size = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), 30))[0]
        correlation, body = decode_response(18, 3, await reader.readexactly(size))
        assert correlation == 99
        return body
    finally:
        writer.close()
