"""The asyncio Kafka listener: framing, per-connection ordering, limits and shutdown.

Contract:

* A frame is a 4-byte big-endian size and that many bytes. A size below 8 or above
  ``BrokerConfig.max_request_bytes``, a header or body that does not parse, an unknown
  API key, an unsupported version or more topic and partition entries than
  ``max_partitions_per_request`` closes *that* connection only (after the answers to
  the requests before it); the broker goes on. ApiVersions is the exception Kafka makes:
  an unsupported ApiVersions version gets error 35 (UNSUPPORTED_VERSION) in a v0-format
  body listing what is supported.
* Requests on one connection are handled one at a time, in arrival order, and answered
  strictly in request order (clients pipeline: Kafka's up to
  ``max.in.flight.requests.per.connection``, and they rely on in-order answers). Reading
  ahead is bounded (:data:`READ_AHEAD_BYTES`, :data:`READ_AHEAD_FRAMES`): past that the
  connection stops reading and TCP pushes back on the client. Replies are written
  without waiting; a connection whose peer does not read stops handling requests until
  its write buffer drains. A long-polling Fetch waits without blocking other connections.
* Durable Produce answers (``--fsync always``, acks=1/all) do not hold the connection:
  the Produce is appended when handled, and its answer (a
  :class:`core.api.produce.DurableAnswer`) waits for the sync in the connection's FIFO of
  pending answers while the connection goes on to its next requests, so one producer's
  pipelined requests share sync rounds. The FIFO writes each answer as soon as it and
  every answer before it are ready. Only Produce goes ahead: any other request waits
  until the answers before it are written, then is handled as before (it sees the state
  those answers promised). At most :data:`MAX_PENDING_ANSWERS` answers wait per
  connection; past that it handles nothing more (and, its read-ahead full, stops
  reading) until the oldest is written. A failed sync answers the produces it covered
  KAFKA_STORAGE_ERROR, in order. A connection that closes for any reason of its own
  (a bad frame, CloseConnection, fault injection, end of input, idle, ``close()``)
  first writes the answers already pending; a peer gone discards them.
* A handler returning ``None`` (Produce with acks=0) sends nothing.
* Fault injection (lesson 8, :mod:`core.sim.faults`): while ``drop_produce_responses``
  is positive, the next Produce is handled (appended) but not answered, the counter
  drops by one, ``produce_responses_dropped`` rises, and the connection is closed
  (after writing the answers pending before that Produce).
* A connection with no request in hand that receives no whole request for
  ``BrokerConfig.connection_idle_ms`` is closed; one whose current frame began arriving
  more than ``request_read_timeout_ms`` ago and is still not whole is closed too (time
  the server itself stopped reading it -- read-ahead, the request budget -- not counted).
* Limits (issue 13; names and defaults in :mod:`core.config`): a connection past
  ``max_connections``, or past ``max_connections_per_ip`` from one address (overrides
  per address in ``max_connections_per_ip_overrides``), is closed on accept before any
  request is read, counted (``ServerStats.connection_refused``, ``connections_refused``)
  and logged as a warning with a broker event -- at most once per
  :data:`REFUSAL_LOG_INTERVAL_S`, the rest summed up at its end, so a flood is a few
  lines. ``queued_max_request_bytes`` bounds the request bytes held by all connections
  (``buffered_bytes``: whole small frames queued or in hand, and the announced size of
  each large frame being received): a large frame starts only when there is room for
  it, and while over the budget a connection that has queued frames stops reading until
  they are handled (it then holds nothing and reads again); a connection holding
  nothing keeps reading, so new clients are still answered. Large frames waiting for
  room are let go in arrival order as room is given back.
* Listening: ``host``/``port`` are the advertised address (``advertised_host`` and
  ``advertised_port`` of the config, else the bound one, and 127.0.0.1 for a wildcard
  bind); ``bound_address`` the socket's. :func:`listen_warnings` (logged at start)
  says when a bind is not loopback and when a wildcard bind advertises 127.0.0.1.
* ``close()`` stops accepting, answers parked requests (long-polling fetches with what
  they have; joins parked in a rebalance with NOT_COORDINATOR), lets requests in flight
  finish and pending durable answers be written (bounded by ``grace_s``; what is still
  pending then is dropped unanswered), then closes every connection.
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

Memory per connection (issue 13): reads land in one scratch buffer shared by the
server's connections; only an unfinished frame gets a buffer of its own, so an idle
connection holds no buffer (about 5 KiB each in all, measured by
``benchmarks/connections.py``). A large frame's buffer grows as its bytes arrive (see
:data:`FULL_BUFFER_RATIO`): announcing 8 MiB and sending 20 bytes costs 64 KiB, not 8 MiB.

Hot path (issue 6): large frames are received straight into their own ``bytearray``
(once a sixteenth has arrived, that part copied in once) with an
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
import ipaddress
import itertools
import logging
import socket
import struct
import sys
import time
from collections import deque
from types import ModuleType

from streamscope.core.api import CloseConnection, RequestContext, load_handlers
from streamscope.core.api.produce import DurableAnswer
from streamscope.core.auth import (
    PRE_AUTH_API_KEYS,
    Authenticator,
    AuthFailed,
    SaslSession,
    tls_context,
)
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
from streamscope.core.txn import TransactionCoordinator

log = logging.getLogger(__name__)

# Plain ints (not the enum members) for the per-request comparisons on the hot path.
PRODUCE_KEY = int(ApiKey.PRODUCE)
FETCH_KEY = int(ApiKey.FETCH)
API_VERSIONS_KEY = int(ApiKey.API_VERSIONS)
_SIZE = struct.Struct(">i")
_conn_ids = itertools.count(1)

#: Frames larger than this are "large": received only with room in the request budget,
#: their buffers grown as their bytes arrive. Smaller ones are gathered in the server's
#: shared scratch buffer (several per ``recv``) and copied out, or, when a read ends
#: inside one, get a buffer of their size and the rest is received in place.
DIRECT_FRAME_BYTES = 16 * 1024
#: A large frame's memory grows as its bytes arrive. Until 1/FULL_BUFFER_RATIO of it has
#: arrived it is received into staging chunks (the first at least MIN_CHUNK_BYTES, each
#: next one at most the bytes received so far); then its whole buffer is allocated, the
#: staged bytes copied in (one copy of at most a sixteenth of the frame) and the rest
#: received in place. Memory committed is at most 16x what the peer sent plus
#: MIN_CHUNK_BYTES (and all large frames together at most ``queued_max_request_bytes``):
#: a peer that announces a huge frame and sends little commits little. A frame of up to
#: 1 MB whose first 64 KiB came in one read gets its whole buffer at once, as before.
MIN_CHUNK_BYTES = 64 * 1024
FULL_BUFFER_RATIO = 16
#: The scratch buffer, one per server (shared: reads are paired callbacks on one thread):
#: several small frames per ``recv``, always room for one whole small frame.
SCRATCH_BYTES = 64 * 1024
#: Refused connections are logged (and an event emitted) at most once per this interval;
#: the rest are summed up at its end.
REFUSAL_LOG_INTERVAL_S = 10.0
_WILDCARDS = ("0.0.0.0", "::", "")
# Why a connection's reading is paused (bits of _Connection._paused).
_READ_AHEAD = 1
_BUDGET = 2
_FAILED = 4
#: Read-ahead bounds per connection (frames received but not yet handled).
READ_AHEAD_BYTES = 4 * 1024 * 1024
READ_AHEAD_FRAMES = 64
#: Durable Produce answers waiting for their sync per connection (Kafka clients keep at
#: most 5 requests in flight by default; librdkafka without idempotence, more).
MAX_PENDING_ANSWERS = 16

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
    broker attributes. ``host``/``port`` are the advertised address (what Metadata and
    FindCoordinator tell clients, and what ``stats.listener_changed`` reports);
    ``bound_address`` is the socket's own.
    """

    def __init__(
        self, broker: Broker, groups: GroupCoordinator, *, stats: ServerStats | None = None,
        advertised_host: str | None = None, transactions: TransactionCoordinator | None = None,
    ) -> None:
        self.broker = broker
        self.groups = groups
        # The transaction coordinator handed to the transaction APIs (None: none).
        self.transactions = transactions
        self.stats: ServerStats = broker if stats is None else stats
        self.config = config = broker.config
        self.handlers: dict[int, ModuleType] = load_handlers()
        self.auth = Authenticator.for_config(config)  # None without SASL
        self._advertised_host = advertised_host or config.advertised_host
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[int, _Connection] = {}
        # Fault injection (core/sim/faults.py, lesson 8): while positive, each Produce
        # answer is withheld (the batches are appended) and its connection closed, so the
        # client retries. One attribute check per request when off.
        self.drop_produce_responses = 0
        self.produce_responses_dropped = 0
        self.host = config.host
        self.port = config.port
        self.bound_address: tuple[str, int] | None = None
        # One receive buffer for every connection: get_buffer/buffer_updated come in pairs
        # on the loop thread, so what a connection leaves unframed is copied out after
        # each read and an idle connection holds no buffer at all.
        self._scratch = bytearray(SCRATCH_BYTES)
        self._scratch_view = memoryview(self._scratch)
        # queued.max.request.bytes: bytes held by connections (whole small frames, and
        # the announced size of each large frame being received), and the connections
        # waiting for room, first come first served.
        self._budget = config.queued_max_request_bytes
        self._budget_low = self._budget * 3 // 4
        self.buffered_bytes = 0
        self._budget_waiters: deque[_Connection] = deque()
        # Connections in the middle of a frame, for request_read_timeout_ms.
        self._partial: set[_Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        # Connection limits.
        self._per_host: dict[str, int] = {}
        self._per_host_limits = dict(config.max_connections_per_ip_overrides)
        self.connections_refused = 0
        self._refusal_window_end = 0.0
        self._refusals_unlogged = 0
        self._refusal_timer: asyncio.TimerHandle | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind the listener (port 0 picks a free one) and start accepting."""
        loop = asyncio.get_running_loop()
        config = self.config
        self._server = await loop.create_server(
            lambda: _Connection(self), config.host, config.port,
            reuse_address=True, backlog=512,
            ssl=tls_context(config),  # TLS when a certificate is set
        )
        sock = self._server.sockets[0]
        bound_host, bound_port = sock.getsockname()[:2]
        self.bound_address = (bound_host, bound_port)
        self.host, self.port = bound_host, bound_port
        if self._advertised_host:
            self.host = self._advertised_host
        elif self.host in _WILDCARDS:
            # A wildcard bind is reached by clients through a real address; advertise
            # loopback unless told otherwise (``advertised_host``), and say so.
            self.host = "127.0.0.1"
        if config.advertised_port:
            self.port = config.advertised_port
        for warning in listen_warnings(bound_host, self._advertised_host,
                                       bool(config.sasl_mechanisms)):
            log.warning("%s", warning)
        self._schedule_sweep()
        self.stats.listener_changed((self.host, self.port))

    async def close(self, grace_s: float = 5.0) -> None:
        if self._server is None:
            return
        self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._refusal_timer is not None:  # say now what the window has not said yet
            self._refusal_timer.cancel()
            self._refusal_summary()
        conns = list(self._connections.values())
        for conn in conns:
            conn.stopping = True
            if not conn.busy and not conn._answers:
                conn.task.cancel()
            else:  # an idle one with answers pending writes them first, then ends
                conn._wake()
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

    # --- connection limits ---------------------------------------------------------------

    def _admit(self, host: str) -> str | None:
        """Why a new connection from ``host`` is refused, or None to admit it (counted)."""
        config = self.config
        if len(self._connections) >= config.max_connections:
            return f"max_connections ({config.max_connections}) reached"
        count = self._per_host.get(host, 0)
        limit = self._per_host_limits.get(host, config.max_connections_per_ip)
        if count >= limit:
            return f"max_connections_per_ip ({limit}) reached for {host}"
        self._per_host[host] = count + 1
        return None

    def _forget_host(self, host: str) -> None:
        count = self._per_host.get(host, 0) - 1
        if count > 0:
            self._per_host[host] = count
        else:
            self._per_host.pop(host, None)

    def _refused(self, host: str, why: str) -> None:
        """Count a refused connection; log and emit an event at most once per
        :data:`REFUSAL_LOG_INTERVAL_S` (a flood is summed up, not logged per socket)."""
        self.connections_refused += 1
        self.stats.connection_refused(host, why)
        now = time.monotonic()
        if now < self._refusal_window_end:
            self._refusals_unlogged += 1
            return
        self._refusal_window_end = now + REFUSAL_LOG_INTERVAL_S
        message = f"Refused a connection from {host}: {why}"
        log.warning("%s", message)
        self.broker.emit_event("connection", message, host=host)
        self._refusal_timer = asyncio.get_running_loop().call_later(
            REFUSAL_LOG_INTERVAL_S, self._refusal_summary)

    def _refusal_summary(self) -> None:
        self._refusal_timer = None
        n, self._refusals_unlogged = self._refusals_unlogged, 0
        if n:
            message = (f"Refused {n} more connection{'s' if n != 1 else ''} in the last "
                       f"{REFUSAL_LOG_INTERVAL_S:.0f} s (connection limits)")
            log.warning("%s", message)
            self.broker.emit_event("connection", message)

    # --- queued.max.request.bytes ------------------------------------------------------

    def _hold(self, conn: _Connection, n: int) -> None:
        conn._held += n
        self.buffered_bytes += n

    def _release(self, conn: _Connection, n: int) -> None:
        conn._held -= n
        self.buffered_bytes -= n
        if self._budget_waiters:
            if conn._held == conn._frame_size and conn._paused & _BUDGET \
                    and not conn._budget_need:
                # Its queue is handled (what it holds is the frame it is receiving, room
                # already given): it may read again, one read's worth at most before it
                # stops again, so connections stuck holding the budget -- peers that do
                # not read their answers -- cannot stall everyone else.
                with contextlib.suppress(ValueError):
                    self._budget_waiters.remove(conn)
                conn._budget_granted()
            self._grant()

    def _has_room(self, n: int) -> bool:
        return self.buffered_bytes + n <= self._budget or self.buffered_bytes == 0

    def _grant(self) -> None:
        """Let waiting connections read again, in arrival order, while there is room."""
        waiters = self._budget_waiters
        while waiters:
            conn = waiters[0]
            need = conn._budget_need
            if need:
                if not self._has_room(need):
                    return
            elif self.buffered_bytes > self._budget_low:
                return
            waiters.popleft()
            conn._budget_granted()

    # --- request_read_timeout_ms ---------------------------------------------------------

    def _schedule_sweep(self) -> None:
        interval = min(1.0, self.config.request_read_timeout_ms / 4000)
        self._sweeper = asyncio.get_running_loop().call_later(interval, self._sweep)

    def _sweep(self) -> None:
        """Close connections whose current frame has been arriving for too long."""
        if self._partial:
            deadline = time.monotonic() - self.config.request_read_timeout_ms / 1000
            for conn in [c for c in self._partial if c._partial_since < deadline]:
                conn._read_timed_out()
        self._schedule_sweep()


def listen_warnings(bound_host: str, advertised_host: str | None, auth: bool) -> list[str]:
    """What to warn about a listener bound to ``bound_host`` (logged by :meth:`Server.start`).

    A non-loopback bind lets other machines in: said plainly, with whether they must
    authenticate. A wildcard bind without an advertised host sends remote clients to
    127.0.0.1 (their own machine) after their first request: said, with the fix.
    """
    out: list[str] = []
    if _is_loopback(bound_host):
        return out
    who = ("clients must authenticate (SASL)" if auth else
           "any machine that can reach it may produce, consume and delete topics without "
           "authentication")
    out.append(f"listening on {bound_host}, not loopback: {who}")
    if bound_host in _WILDCARDS and not advertised_host:
        out.append(
            f"listening on every interface ({bound_host}) but advertising 127.0.0.1: clients "
            "on other machines will be sent to their own 127.0.0.1 after bootstrapping; "
            "give --advertised-listener HOST:PORT with this machine's LAN address")
    return out


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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

    Memory: reads land in the server's shared scratch buffer. The start of an unfinished
    frame is copied out into a buffer of its own and the rest received in place (only a
    size not yet whole waits in ``_pending``, 3 bytes at most). A small frame's buffer is
    its size (at most :data:`DIRECT_FRAME_BYTES`); a large one's grows as its bytes
    arrive (:data:`FULL_BUFFER_RATIO`), and it must first get room for its announced
    size in the server's ``queued_max_request_bytes`` budget, or the connection stops
    reading until room is granted.
    """

    __slots__ = (
        "server", "info", "task", "transport", "busy", "stopping", "_max_size", "_pending",
        "_pending_len", "_frame", "_frame_view", "_frame_got", "_frame_chunks",
        "_frame_size", "_frame_received", "_frames", "_queued_bytes", "_paused", "_failed",
        "_eof", "_waiter", "_write_paused", "_drain_waiter", "_held", "_budget_need",
        "_partial_since", "_answers", "_answers_waiter",
        "sasl",
    )

    def __init__(self, server: Server) -> None:
        self.server = server
        self.info: ConnectionInfo | None = None
        self.task: asyncio.Task | None = None
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.stopping = False
        # This connection's SASL state; None when the broker has no SASL.
        self.sasl: SaslSession | None = None if server.auth is None else server.auth.session()
        self._max_size = server.config.max_request_bytes
        self._pending: bytes | None = None  # the start of a frame size not yet whole
        self._pending_len = 0  # of it, copied to the front of the scratch buffer
        # A large frame being received in place: the chunk being filled, how much of it is
        # filled, the chunks already filled, the frame's size and bytes received so far.
        self._frame: bytearray | None = None
        self._frame_view: memoryview | None = None
        self._frame_got = 0
        self._frame_chunks: list[bytearray] = []
        self._frame_size = 0
        self._frame_received = 0
        self._frames: deque[bytearray | str] = deque()
        self._queued_bytes = 0
        self._paused = 0  # why reading is paused: _READ_AHEAD | _BUDGET | _FAILED bits
        self._failed = False  # a framing error was queued: ignore what follows
        self._eof = False
        self._waiter: asyncio.Future | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future | None = None
        self._held = 0  # bytes counted against the server's budget
        self._budget_need = 0  # announced size of the large frame waiting for room
        self._partial_since = 0.0  # monotonic time the unfinished frame began
        # Produce answers not yet written, in request order: (answer, version,
        # correlation id); the run loop waits on _answers_waiter for them to go out.
        self._answers: deque[tuple[DurableAnswer | dict, int, int]] = deque()
        self._answers_waiter: asyncio.Future | None = None

    # --- protocol callbacks ------------------------------------------------------------

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        server = self.server
        peer = transport.get_extra_info("peername") or ("?", 0)
        host = str(peer[0])
        why = server._admit(host)
        if why is not None:
            # Kafka's way: the socket is closed at once, before any request is read.
            transport.abort()
            server._refused(host, why)
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        info = ConnectionInfo(next(_conn_ids), host, int(peer[1]), time.time())
        self.info = info
        server._connections[info.conn_id] = self
        server.stats.connection_opened(info)
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"conn-{info.conn_id}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()
        self._answers_moved()
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def eof_received(self) -> bool:
        # Keep the transport open for writing: the requests already received still get
        # their answers (a client may half-close after its last request).
        self._eof = True
        self._wake()
        # A TLS transport cannot stay half-open (asyncio warns and closes).
        return self.transport is None or self.transport.get_extra_info("sslcontext") is None

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
        view = self.server._scratch_view
        pending = self._pending
        if pending is None:
            self._pending_len = 0
            return view
        n = self._pending_len = len(pending)
        view[:n] = pending
        return view[n:]

    def buffer_updated(self, nbytes: int) -> None:
        if self._failed:
            self._pending = None
            return
        if self._frame is not None:
            self._frame_got += nbytes
            self._frame_received += nbytes
            if self._frame_got == len(self._frame):
                self._chunk_filled()
            return
        self._pending = None
        self._split(self._pending_len + nbytes)

    # --- framing -----------------------------------------------------------------------

    def _split(self, end: int) -> None:
        """Queue every whole frame in the scratch buffer's ``[0, end)``; keep the rest."""
        buf = self.server._scratch
        start = 0
        unpack = _SIZE.unpack_from
        queued = False
        while end - start >= 4:
            size = unpack(buf, start)[0]
            if size < 8 or size > self._max_size:
                self._fail(f"frame size {size} outside 8..{self._max_size}")
                return
            body = start + 4
            if end - body >= size:
                self._queue(buf[body : body + size])
                queued = True
                start = body + size
                continue
            break
        if start == end:
            if queued:
                self._not_partial()
        else:
            # An unfinished frame: its start is copied out of the shared buffer, into a
            # buffer of its own once its size is known (the rest is received in place:
            # a peer trickling bytes costs no copying per byte), else to _pending.
            if queued or not self._partial_since:
                self._now_partial()
            start_view = self.server._scratch_view[start:end]
            if end - start >= 4:
                self._in_place(unpack(buf, start)[0], start_view)
            else:
                self._pending = bytes(start_view)
        if queued and self.server.buffered_bytes > self.server._budget \
                and not self._paused & _BUDGET:
            # Over queued.max.request.bytes: read no more until the queue is handled.
            self._wait_for_budget(0)

    def _in_place(self, size: int, start: memoryview | bytes) -> None:
        """Receive the rest of a frame (``start``: its first bytes, size included) in
        place; a large one (over :data:`DIRECT_FRAME_BYTES`) once the budget has room."""
        server = self.server
        if size > DIRECT_FRAME_BYTES and not server._has_room(size):
            if not self._paused & _BUDGET:
                self._pending = bytes(start)
                self._wait_for_budget(size)
                return
            # Bytes arrived although reading is paused (a transport may deliver what it
            # had buffered): take the frame over the budget rather than grow _pending.
            with contextlib.suppress(ValueError):
                server._budget_waiters.remove(self)
            self._budget_need = 0
            self._resume(_BUDGET)
        server._hold(self, size)
        self._frame_size = size
        self._pending = None
        pending = memoryview(start)
        have = len(pending) - 4
        self._frame_received = 0
        if have * FULL_BUFFER_RATIO >= size or size <= DIRECT_FRAME_BYTES:
            self._new_chunk(size)
        else:
            self._new_chunk(max(MIN_CHUNK_BYTES, 2 * have))
        self._frame[:have] = pending[4:]
        self._frame_got = self._frame_received = have

    def _wait_for_budget(self, need: int) -> None:
        self._budget_need = need
        if not self._paused & _BUDGET:
            self._pause(_BUDGET)
            self.server._budget_waiters.append(self)

    def _budget_granted(self) -> None:
        need, self._budget_need = self._budget_need, 0
        if self._failed or self.transport is None:
            return
        if need:
            self._in_place(need, self._pending or b"")
        self._resume(_BUDGET)

    def _new_chunk(self, size: int) -> None:
        """Start filling a chunk of at most ``size`` bytes of the large frame's rest."""
        size = min(size, self._frame_size - self._frame_received)
        chunk = bytearray(size)
        self._frame = chunk
        self._frame_view = memoryview(chunk)
        self._frame_got = 0

    def _chunk_filled(self) -> None:
        chunks = self._frame_chunks
        chunks.append(self._frame)
        self._frame = self._frame_view = None
        received = self._frame_received
        size = self._frame_size
        if received < size:
            if received * FULL_BUFFER_RATIO < size:
                # Grow as bytes arrive: the next chunk is at most what has arrived so far.
                self._new_chunk(max(MIN_CHUNK_BYTES, received))
                return
            # Enough has arrived: the whole buffer, the staged bytes copied in once.
            whole = bytearray(size)
            pos = 0
            for chunk in chunks:
                whole[pos:pos + len(chunk)] = chunk
                pos += len(chunk)
            self._frame_chunks = []
            self._frame = whole
            self._frame_view = memoryview(whole)
            self._frame_got = received
            return
        frame = chunks[0] if len(chunks) == 1 else bytearray().join(chunks)
        self._frame_chunks = []
        self._frame_size = 0
        self._queue(frame, held=True)
        self._not_partial()

    def _queue(self, item: bytearray | str, held: bool = False) -> None:
        self._frames.append(item)
        n = len(item)
        self._queued_bytes += n
        if not held:  # Server._hold, inlined: once per small frame
            self._held += n
            self.server.buffered_bytes += n
        if (self._queued_bytes > READ_AHEAD_BYTES or len(self._frames) >= READ_AHEAD_FRAMES) \
                and not self._paused & _READ_AHEAD:
            self._pause(_READ_AHEAD)
        self._wake()

    def _now_partial(self) -> None:
        self._partial_since = time.monotonic()
        self.server._partial.add(self)

    def _not_partial(self) -> None:
        if self._partial_since:
            self._partial_since = 0.0
            self.server._partial.discard(self)

    def _pause(self, why: int) -> None:
        if not self._paused and self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.pause_reading()
        self._paused |= why

    def _resume(self, why: int) -> None:
        if self._paused & why:
            self._paused &= ~why
            if not self._paused and self.transport is not None:
                if self._partial_since:  # the peer's time to finish starts again now
                    self._partial_since = time.monotonic()
                with contextlib.suppress(Exception):
                    self.transport.resume_reading()

    def _drop_partial(self) -> None:
        """Forget the unfinished frame (and its room in the budget)."""
        self._pending = None
        self._frame = self._frame_view = None
        self._frame_chunks = []
        self._not_partial()
        if self._frame_size:
            size, self._frame_size = self._frame_size, 0
            self.server._release(self, size)

    def _read_timed_out(self) -> None:
        if self._paused:
            return  # the server stopped reading (room, read-ahead): not the peer's delay
        timeout = self.server.config.request_read_timeout_ms
        self._drop_partial()
        self._fail(f"request not received whole within request_read_timeout_ms ({timeout})")

    def _fail(self, why: str) -> None:
        self._failed = True
        self._pending = None
        self._not_partial()
        self._frames.append(why)
        self._pause(_FAILED)  # nothing after a bad frame is read
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _closed(self) -> None:
        """The connection ended: give back its budget and its per-host slot."""
        server = self.server
        self._drop_partial()
        self._frames.clear()
        if self._budget_need or self._paused & _BUDGET:
            with contextlib.suppress(ValueError):
                server._budget_waiters.remove(self)
            self._budget_need = 0
        if self._held:
            server._release(self, self._held)
        server._forget_host(self.info.host)

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
            if idle and not self._answers:  # a peer waiting for its answers is not idle
                return None
        item = self._frames.popleft()
        if type(item) is str:
            return item
        self._queued_bytes -= len(item)
        if self._paused & _READ_AHEAD and self._queued_bytes <= READ_AHEAD_BYTES // 2 \
                and len(self._frames) < READ_AHEAD_FRAMES // 2:
            self._resume(_READ_AHEAD)
        return item

    # --- handling ----------------------------------------------------------------------

    async def run(self) -> None:
        server = self.server
        info = self.info
        try:
            while not self.stopping:
                frame = await self._next_frame()
                if frame is None:
                    break
                if type(frame) is str:
                    self._drop(frame)
                    break
                self.busy = True
                try:
                    keep = await self._handle(frame)
                finally:
                    self.busy = False
                    server._release(self, len(frame))
                if not keep:
                    break
                info.bytes_in += len(frame) + 4
                if self._write_paused:
                    await self._drain()
                if len(self._answers) >= MAX_PENDING_ANSWERS:
                    await self._answers_written(MAX_PENDING_ANSWERS - 1)
            # Closing for a reason of our own: the answers before it go out first.
            await self._answers_written(0)
        except (asyncio.CancelledError, ConnectionError):
            # Cancelled by close(), or the peer went away while we wrote its answer
            # (e.g. a consumer closing during a long-poll): either way this connection ends.
            pass
        except Exception:
            # A bug here must not vanish in an unretrieved task exception.
            server.stats.request_failed()
            log.exception("connection %s failed", self._peer)
        finally:
            self._discard_answers()
            self._closed()
            server._connections.pop(info.conn_id, None)
            server.stats.connection_closed(info.conn_id)
            if self.transport is not None:
                self.transport.close()

    # --- pending Produce answers (the FIFO) -----------------------------------------------

    def _defer(self, answer: DurableAnswer | dict, version: int, correlation_id: int) -> None:
        """Queue a Produce answer behind the pending ones; written when it is its turn."""
        self._answers.append((answer, version, correlation_id))
        if type(answer) is DurableAnswer:
            answer.when_ready(self._write_ready)
        else:
            self._write_ready()

    def _write_ready(self) -> None:
        """Write the answers at the head of the FIFO that are ready, in order (on the
        loop: called when an answer becomes ready, and when one is queued)."""
        answers = self._answers
        try:
            while answers:
                answer, version, correlation_id = answers[0]
                if type(answer) is DurableAnswer:
                    if not answer.ready:
                        break
                    body = answer.response
                else:
                    body = answer
                answers.popleft()
                if not self._send(encode_response(PRODUCE_KEY, version, correlation_id, body,
                                                  size_prefix=True)):
                    self._discard_answers()  # the peer is gone
                    break
        except Exception:
            # Called back from a future: a bug must not vanish, nor leave the run loop
            # waiting for answers that will never go out.
            self.server.stats.request_failed()
            log.exception("writing Produce answers to %s failed; closing", self._peer)
            self._discard_answers()
            if self.transport is not None:
                self.transport.close()
        self._answers_moved()

    def _answers_moved(self) -> None:
        waiter = self._answers_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _discard_answers(self) -> None:
        answers = self._answers
        while answers:
            answer = answers.popleft()[0]
            if type(answer) is DurableAnswer:
                answer.discard()
        self._answers_moved()

    async def _answers_written(self, limit: int) -> None:
        """Return once at most ``limit`` answers are pending (0: all written) or the peer
        is gone (what is pending is then discarded)."""
        while len(self._answers) > limit:
            transport = self.transport
            if transport is None or transport.is_closing():
                self._discard_answers()
                return
            self._answers_waiter = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._answers_waiter = None

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
        sasl = self.sasl  # after SaslHandshake v0, bare SASL tokens
        if sasl is not None and sasl.raw_tokens:
            if self._answers:
                await self._answers_written(0)
            try:
                reply = await sasl.step(bytes(frame), self.info)
            except AuthFailed as exc:
                self._drop(str(exc))
                return False
            return self._send(_SIZE.pack(len(reply)) + reply)
        try:
            header, pos = read_request_header(frame)
        except (ProtocolError, ValueError, IndexError) as exc:
            self._drop(f"unreadable request header: {exc}")
            return False
        key, version = header.api_key, header.api_version
        if self._answers and key != PRODUCE_KEY:
            # Only Produce goes ahead of pending answers (see the module docstring).
            await self._answers_written(0)
        # until authenticated, only ApiVersions and the SASL requests.
        if sasl is not None and not sasl.authenticated and key not in PRE_AUTH_API_KEYS:
            self._drop(f"API {key} v{version} before SASL authentication (only ApiVersions,"
                       " SaslHandshake and SaslAuthenticate are allowed)")
            return False
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
        # max_partitions_per_request: every entry takes at least one byte, so only a
        # frame longer than the cap can pass it and a small request is never walked.
        cap = server.config.max_partitions_per_request
        if len(frame) > cap and (entries := _entries(request)) > cap:
            self._drop(f"API {key} v{version} request names {entries} topic and partition "
                       f"entries, over max_partitions_per_request ({cap})")
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
            sasl=sasl, transactions=server.transactions,
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
        if key == PRODUCE_KEY:
            if server.drop_produce_responses:
                server.drop_produce_responses -= 1
                server.produce_responses_dropped += 1
                if type(response) is DurableAnswer:
                    response.discard()
                broker.emit_event("fault", f"Produce answer to {self._peer} dropped (fault "
                                  "injection); connection closed, the client will retry")
                return False
            if self._answers or type(response) is DurableAnswer:
                self._defer(response, version, header.correlation_id)
                return True
        if key == FETCH_KEY:
            return self._send_parts(encode_fetch_response(version, header.correlation_id,
                                                          response))
        sent = self._send(encode_response(key, version, header.correlation_id, response,
                                          size_prefix=True))
        if sent and sasl is not None and sasl.failed:  # refused; close soon
            await sasl.before_close()
            return False
        return sent

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


def _entries(body: dict, depth: int = 3) -> int:
    """The topic and partition entries a decoded request names: the lengths of its
    arrays down to ``depth`` levels (topics, their partitions, a group's topics' ...)."""
    total = 0
    for value in body.values():
        if type(value) is list:
            total += len(value)
            if depth > 1:
                for item in value:
                    if type(item) is dict:
                        total += _entries(item, depth - 1)
    return total


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
