"""The asyncio Kafka listener: framing, per-connection ordering, limits and shutdown.

Contract:

* A frame is a 4-byte big-endian size and that many bytes. A size below 8 or above
  ``BrokerConfig.max_request_bytes``, a header or body that does not parse, an unknown
  API key or an unsupported version closes *that* connection only (after the answers to
  the requests before it); the broker goes on. ApiVersions is the exception Kafka makes:
  an unsupported ApiVersions version gets error 35 (UNSUPPORTED_VERSION) in a v0-format
  body listing what is supported.
* Requests on one connection are handled one at a time and answered in request order
  (clients may pipeline; Kafka mutes a connection until its reply is written). Reading
  ahead is bounded (:data:`READ_AHEAD_BYTES`, :data:`READ_AHEAD_FRAMES`): past that the
  connection stops reading and TCP pushes back on the client. Replies are written
  without waiting; a connection whose peer does not read stops handling requests until
  its write buffer drains. A long-polling Fetch waits without blocking other connections.
* A handler returning ``None`` (Produce with acks=0) sends nothing.
* Fault injection (lesson 8, :mod:`core.sim.faults`): while ``drop_produce_responses``
  is positive, the next Produce is handled (appended) but not answered, the counter
  drops by one, ``produce_responses_dropped`` rises, and the connection is closed.
* A connection with no request in hand that receives no whole request for
  ``BrokerConfig.connection_idle_ms`` is closed.
* ``close()`` stops accepting, answers parked requests (long-polling fetches with what
  they have; joins parked in a rebalance with NOT_COORDINATOR), lets requests in flight
  finish (bounded), then closes every connection.
* Bytes after a request body are ignored, as Kafka ignores them (see
  :func:`_decode_request_body`); a peer that hangs up while its answer is being written
  just ends its connection.

Memory: on Linux with glibc, :func:`tune_allocator` keeps freed buffers of up to 32 MiB in
the heap (trimmed back to the OS only past 64 MiB free) instead of mapping and unmapping
each. Every request and Fetch read here is a fresh buffer of up to a megabyte or more;
glibc's defaults hand most of them back to the kernel when freed, so each new one paid
page faults on every 4 KiB page -- on a 1 KiB-record consume that was over half the
broker's CPU time. Peak RSS is unchanged
(freed memory is reused, not added to). It changes the allocator of the whole process, so
the server never calls it: the program's entry point does, behind an option
(``streamscope broker --tune-allocator``, on by default, and the same option of the app).

Hot path (issue 6): frames are received straight into their own ``bytearray`` with an
``asyncio.BufferedProtocol`` (no StreamReader buffer, no ``readexactly`` copy), so a
Produce's record batches reach the log as writable memoryviews of the bytes the socket
delivered: patched in place and written with no copy in Python. Produce bodies are
decoded and Fetch responses encoded by ``core.protocol.hotpath`` (byte-for-byte what the
general codec does); a Fetch's record sets go to the socket uncopied in one
``writelines`` (a ``writev`` under uvloop).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import logging
import socket
import struct
import sys
import time
from collections import deque
from types import ModuleType

from streamscope.core.api import CloseConnection, RequestContext, load_handlers
from streamscope.core.broker import Broker
from streamscope.core.errors import ErrorCode
from streamscope.core.groups import GroupCoordinator
from streamscope.core.ports import ConnectionInfo, ServerStats
from streamscope.core.protocol import (
    ApiKey,
    ProtocolError,
    codec_for,
    encode_response,
    read_request_header,
)
from streamscope.core.protocol.hotpath import decode_produce_request, encode_fetch_response

log = logging.getLogger(__name__)

# Plain ints (not the enum members) for the per-request comparisons on the hot path.
PRODUCE_KEY = int(ApiKey.PRODUCE)
FETCH_KEY = int(ApiKey.FETCH)
API_VERSIONS_KEY = int(ApiKey.API_VERSIONS)
_SIZE = struct.Struct(">i")
_conn_ids = itertools.count(1)

#: Frames larger than this are received straight into a buffer of their own; smaller ones
#: are gathered in the connection's scratch buffer (several per ``recv``) and copied out.
DIRECT_FRAME_BYTES = 16 * 1024
#: A frame up to this size gets its whole buffer when its size is read (as Kafka does);
#: a larger one is received in chunks of LARGE_CHUNK_BYTES, each allocated only when the
#: one before is full, and joined at the end (one copy): a peer that announces a huge
#: frame and sends little commits the broker to little memory.
DIRECT_MAX_BYTES = 8 * 1024 * 1024
LARGE_CHUNK_BYTES = 1024 * 1024
#: The scratch buffer: several small frames per ``recv``, always room for one whole one;
#: small enough that hundreds of connections cost little memory (it is per connection).
SCRATCH_BYTES = 64 * 1024
#: Read-ahead bounds per connection (frames received but not yet handled).
READ_AHEAD_BYTES = 4 * 1024 * 1024
READ_AHEAD_FRAMES = 64

# glibc mallopt() parameters (malloc.h) and the values tune_allocator() sets.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest allowed on 64-bit
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
_allocator_tuned = False

_DECODE_ERRORS = (ProtocolError, ValueError, IndexError, UnicodeDecodeError, struct.error,
                  OverflowError)


class Server:
    """The listener of one node: ``Server(broker, groups)``, built by ``core.node.Node``.

    Connections, requests and errors are reported through ``stats`` (the broker's
    :class:`~core.ports.ServerStats` unless another is given); the server never writes
    broker attributes.
    """

    def __init__(
        self, broker: Broker, groups: GroupCoordinator, *, stats: ServerStats | None = None,
        advertised_host: str | None = None,
    ) -> None:
        self.broker = broker
        self.groups = groups
        self.stats: ServerStats = broker if stats is None else stats
        self.config = broker.config
        self.handlers: dict[int, ModuleType] = load_handlers()
        self._advertised_host = advertised_host
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[int, _Connection] = {}
        # Fault injection (core/sim/faults.py, lesson 8): while positive, each Produce
        # answer is withheld (the batches are appended) and its connection closed, so the
        # client retries. One attribute check per request when off.
        self.drop_produce_responses = 0
        self.produce_responses_dropped = 0
        self.host = self.config.host
        self.port = self.config.port

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind the listener (port 0 picks a free one) and start accepting."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.config.host, self.config.port,
            reuse_address=True, backlog=512,
        )
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        if self._advertised_host:
            self.host = self._advertised_host
        elif self.host in ("0.0.0.0", "::", ""):
            # A wildcard bind is reached by clients through a real address; advertise loopback
            # unless told otherwise (``advertised_host``).
            self.host = "127.0.0.1"
        self.stats.listener_changed((self.host, self.port))

    async def close(self, grace_s: float = 5.0) -> None:
        if self._server is None:
            return
        self._server.close()
        conns = list(self._connections.values())
        for conn in conns:
            conn.stopping = True
            if not conn.busy:
                conn.task.cancel()
        # Long-polling fetches and rebalance-parked joins are in flight too: answer them
        # now, not after max_wait_ms or the rebalance timeout.
        await self.broker.begin_shutdown()
        if conns:
            await asyncio.wait([c.task for c in conns], timeout=grace_s)
        for conn in list(self._connections.values()):
            conn.task.cancel()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None
        self.stats.listener_changed(None)


def tune_allocator() -> bool:
    """Keep freed large buffers for reuse (glibc only; see the module docstring).

    Returns whether the setting is in force. Runs once per process; elsewhere (macOS,
    Windows, musl) it does nothing. Process-wide: called by entry points only
    (:mod:`core.cli`, :mod:`desktop.app`, the benchmarks), never by the library.
    """
    global _allocator_tuned
    if _allocator_tuned or not sys.platform.startswith("linux"):
        return _allocator_tuned
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        version = libc.gnu_get_libc_version  # glibc only: musl's mallopt does nothing
    except (OSError, AttributeError):
        return False
    del version
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success. Setting either fixes both (glibc stops adapting them).
    _allocator_tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return _allocator_tuned


class _Connection(asyncio.BufferedProtocol):
    """One client connection: the protocol callbacks frame bytes, a task handles frames.

    The callbacks (``get_buffer``/``buffer_updated``) only cut the byte stream into
    frames and queue them; :meth:`run` (one task per connection) handles them in order.
    A framing error is queued too (as a ``str``), so the requests before it are still
    answered before the connection closes.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.info: ConnectionInfo | None = None
        self.task: asyncio.Task | None = None
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.stopping = False
        self._max_size = server.config.max_request_bytes
        self._scratch = bytearray(SCRATCH_BYTES)
        self._scratch_view = memoryview(self._scratch)
        self._start = 0  # unconsumed bytes in the scratch buffer: [_start, _end)
        self._end = 0
        # A large frame being received in place: the chunk being filled, how much of it is
        # filled, the chunks already filled, and the frame's size.
        self._frame: bytearray | None = None
        self._frame_view: memoryview | None = None
        self._frame_got = 0
        self._frame_chunks: list[bytearray] = []
        self._frame_size = 0
        self._frames: deque[bytearray | str] = deque()
        self._queued_bytes = 0
        self._reading_paused = False
        self._failed = False  # a framing error was queued: ignore what follows
        self._eof = False
        self._waiter: asyncio.Future | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future | None = None

    # --- protocol callbacks ------------------------------------------------------------

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername") or ("?", 0)
        info = ConnectionInfo(next(_conn_ids), str(peer[0]), int(peer[1]), time.time())
        self.info = info
        server = self.server
        server._connections[info.conn_id] = self
        server.stats.connection_opened(info)
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"conn-{info.conn_id}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def eof_received(self) -> bool:
        # Keep the transport open for writing: the requests already received still get
        # their answers (a client may half-close after its last request).
        self._eof = True
        self._wake()
        return True

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._frame_view is not None:
            return self._frame_view[self._frame_got:]
        if self._end == SCRATCH_BYTES or (self._start and SCRATCH_BYTES - self._end < 4096):
            self._compact()
        return self._scratch_view[self._end:]

    def buffer_updated(self, nbytes: int) -> None:
        if self._failed:
            self._start = self._end = 0
            return
        if self._frame is not None:
            self._frame_got += nbytes
            if self._frame_got == len(self._frame):
                self._chunk_filled()
            return
        self._end += nbytes
        self._split()

    # --- framing -----------------------------------------------------------------------

    def _compact(self) -> None:
        start, end = self._start, self._end
        if start:
            self._scratch[: end - start] = self._scratch_view[start:end]
            self._start, self._end = 0, end - start

    def _split(self) -> None:
        """Queue every whole frame in the scratch buffer; start receiving a large one."""
        buf = self._scratch
        start, end = self._start, self._end
        unpack = _SIZE.unpack_from
        while end - start >= 4:
            size = unpack(buf, start)[0]
            if size < 8 or size > self._max_size:
                self._start = self._end = 0
                self._fail(f"frame size {size} outside 8..{self._max_size}")
                return
            body = start + 4
            have = end - body
            if have >= size:
                self._queue(buf[body : body + size])
                start = body + size
                continue
            if size > DIRECT_FRAME_BYTES:
                # Receive the rest in place: the bytes already read are copied once, the
                # socket fills in the rest directly.
                self._frame_size = size
                self._new_chunk(size, at_least=have)
                self._frame[:have] = self._scratch_view[body:end]
                self._frame_got = have
                start = end = 0
                if have == len(self._frame):
                    self._chunk_filled()
            break
        if start == end:
            start = end = 0
        self._start, self._end = start, end

    def _new_chunk(self, left: int, at_least: int = 0) -> None:
        """Start filling a buffer for (part of) the ``left`` bytes of the large frame."""
        if self._frame_size <= DIRECT_MAX_BYTES:
            size = left
        else:
            size = min(left, max(LARGE_CHUNK_BYTES, at_least))
        chunk = bytearray(size)
        self._frame = chunk
        self._frame_view = memoryview(chunk)
        self._frame_got = 0

    def _chunk_filled(self) -> None:
        chunks = self._frame_chunks
        chunks.append(self._frame)
        self._frame = self._frame_view = None
        received = sum(map(len, chunks))
        if received < self._frame_size:
            self._new_chunk(self._frame_size - received)
            return
        frame = chunks[0] if len(chunks) == 1 else bytearray().join(chunks)
        self._frame_chunks = []
        self._queue(frame)

    def _queue(self, item: bytearray | str) -> None:
        self._frames.append(item)
        self._queued_bytes += len(item)
        if (self._queued_bytes > READ_AHEAD_BYTES or len(self._frames) >= READ_AHEAD_FRAMES) \
                and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            with contextlib.suppress(Exception):
                self.transport.pause_reading()
        self._wake()

    def _fail(self, why: str) -> None:
        self._failed = True
        self._frames.append(why)
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True  # nothing after a bad frame is read
            with contextlib.suppress(Exception):
                self.transport.pause_reading()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _next_frame(self) -> bytearray | str | None:
        """The next queued frame (or framing error); None at end of input or when idle."""
        while not self._frames:
            if self._eof or self.stopping:
                return None
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(self.server.config.connection_idle_ms / 1000,
                                    _set_idle, waiter)
            try:
                idle = await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if idle:
                return None
        item = self._frames.popleft()
        if type(item) is str:
            return item
        self._queued_bytes -= len(item)
        if self._reading_paused and not self._failed \
                and self._queued_bytes <= READ_AHEAD_BYTES // 2 \
                and len(self._frames) < READ_AHEAD_FRAMES // 2:
            self._reading_paused = False
            with contextlib.suppress(Exception):
                self.transport.resume_reading()
        return item

    # --- handling ----------------------------------------------------------------------

    async def run(self) -> None:
        server = self.server
        info = self.info
        try:
            while not self.stopping:
                frame = await self._next_frame()
                if frame is None:
                    return
                if type(frame) is str:
                    self._drop(frame)
                    return
                self.busy = True
                try:
                    keep = await self._handle(frame)
                finally:
                    self.busy = False
                if not keep:
                    return
                info.bytes_in += len(frame) + 4
                if self._write_paused:
                    await self._drain()
        except (asyncio.CancelledError, ConnectionError):
            # Cancelled by close(), or the peer went away while we wrote its answer
            # (e.g. a consumer closing during a long-poll): either way this connection ends.
            pass
        except Exception:
            # A bug here must not vanish in an unretrieved task exception.
            server.stats.request_failed()
            log.exception("connection %s failed", self._peer)
        finally:
            server._connections.pop(info.conn_id, None)
            server.stats.connection_closed(info.conn_id)
            if self.transport is not None:
                self.transport.close()

    async def _drain(self) -> None:
        while self._write_paused and not self.transport.is_closing():
            self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    async def _handle(self, frame: bytearray) -> bool:
        """Handle one request; False closes the connection."""
        server = self.server
        broker = server.broker
        try:
            header, pos = read_request_header(frame)
        except (ProtocolError, ValueError, IndexError) as exc:
            self._drop(f"unreadable request header: {exc}")
            return False
        key, version = header.api_key, header.api_version
        module = server.handlers.get(key)
        if module is None:
            self._drop(f"unknown API key {key}")
            return False
        if not module.MIN_VERSION <= version <= module.MAX_VERSION:
            if key == API_VERSIONS_KEY:
                body = {
                    "error_code": ErrorCode.UNSUPPORTED_VERSION,
                    "api_keys": [
                        {"api_key": API_VERSIONS_KEY, "min_version": module.MIN_VERSION,
                         "max_version": module.MAX_VERSION}
                    ],
                }
                return self._send(encode_response(
                    API_VERSIONS_KEY, 0, header.correlation_id, body, size_prefix=True))
            self._drop(f"unsupported version {version} of API {key}")
            return False
        try:
            request = _decode_request_body(key, version, frame, pos)
        except _DECODE_ERRORS as exc:
            self._drop(f"malformed API {key} v{version} request: {exc}")
            return False
        info = self.info
        if header.client_id is not None:
            info.client_id = header.client_id
        by_api = info.requests_by_api
        by_api[key] = by_api.get(key, 0) + 1
        server.stats.request_handled()
        ctx = RequestContext(
            broker, info, key, version, header.correlation_id, header.client_id,
            server.groups, server.host, server.port,
        )
        try:
            response = await module.handle(ctx, version, request)
        except CloseConnection as exc:
            self._drop(str(exc) or f"API {key} asked to close the connection")
            return False
        except Exception:
            server.stats.request_failed()
            log.exception("API %s v%s handler failed; closing %s", key, version, self._peer)
            broker.emit_event("error", f"API {key} v{version} handler failed for {self._peer}")
            return False
        if response is None:
            return True
        if server.drop_produce_responses and key == PRODUCE_KEY:
            server.drop_produce_responses -= 1
            server.produce_responses_dropped += 1
            broker.emit_event("fault", f"Produce answer to {self._peer} dropped (fault "
                              "injection); connection closed, the client will retry")
            return False
        if key == FETCH_KEY:
            return self._send_parts(encode_fetch_response(version, header.correlation_id,
                                                          response))
        return self._send(encode_response(key, version, header.correlation_id, response,
                                          size_prefix=True))

    def _send(self, data: bytes) -> bool:
        """Write one size-prefixed reply; False when the peer is gone."""
        transport = self.transport
        if transport.is_closing():
            return False
        transport.write(data)
        self.info.bytes_out += len(data)
        return True

    def _send_parts(self, parts: list) -> bool:
        transport = self.transport
        if transport.is_closing():
            return False
        if len(parts) == 1:
            transport.write(parts[0])
        else:
            transport.writelines(parts)
        self.info.bytes_out += sum(map(len, parts))
        return True

    @property
    def _peer(self) -> str:
        return f"{self.info.host}:{self.info.port}"

    def _drop(self, why: str) -> None:
        self.server.stats.request_failed()
        log.warning("closing connection %s: %s", self._peer, why)
        self.server.broker.emit_event("error", f"Closed connection {self._peer}: {why}")


def _set_idle(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(True)


def _decode_request_body(key: int, version: int, frame: bytearray, pos: int) -> dict:
    """The request body at ``pos``; bytes after it are ignored, as Kafka's broker does.

    ``core.protocol.decode_request`` refuses trailing bytes. Kafka never checks for them,
    and librdkafka 2.x relies on that: its all-topics Metadata request at v9+ carries
    three stray zero bytes (an unfinalized 4-byte array-count placeholder), so a strict
    decode would drop every confluent-kafka ``list_topics()`` connection.

    Produce goes through the hand-tuned decoder (the same dict, faster); its records are
    memoryviews of ``frame``, which the connection hands over and never reuses.
    """
    if key == PRODUCE_KEY:
        return decode_produce_request(version, memoryview(frame), pos)[0]
    body, _end = codec_for(key, version, True).decode(memoryview(frame), pos)
    return body
