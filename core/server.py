"""The asyncio Kafka listener: framing, per-connection ordering, limits and shutdown.

Contract:

* A frame is a 4-byte big-endian size and that many bytes. A size below 8 or above
  ``BrokerConfig.max_request_bytes``, a header or body that does not parse, an unknown
  API key or an unsupported version closes *that* connection only; the broker goes on.
  ApiVersions is the exception Kafka makes: an unsupported ApiVersions version gets
  error 35 (UNSUPPORTED_VERSION) in a v0-format body listing what is supported.
* Requests on one connection are handled one at a time and answered in request order
  (clients may pipeline; Kafka mutes a connection until its reply is written).
  A long-polling Fetch waits without blocking other connections.
* A handler returning ``None`` (Produce with acks=0) sends nothing.
* ``close()`` stops accepting, answers parked requests (long-polling fetches with what they
  have; joins parked in a rebalance with NOT_COORDINATOR), lets requests in flight
  finish (bounded), then closes every connection.
* Bytes after a request body are ignored, as Kafka ignores them (see
  :func:`_decode_request_body`); a peer that hangs up while its answer is being written
  just ends its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
import time
from types import ModuleType

from core.api import CloseConnection, ConnectionInfo, RequestContext, load_handlers
from core.broker import Broker
from core.errors import ErrorCode
from core.protocol import ProtocolError, codec_for, encode_response, read_request_header

log = logging.getLogger(__name__)

API_VERSIONS_KEY = 18
_SIZE = struct.Struct(">i")
_conn_ids = itertools.count(1)


class Server:
    def __init__(self, broker: Broker, *, advertised_host: str | None = None) -> None:
        self.broker = broker
        self.config = broker.config
        self.handlers: dict[int, ModuleType] = load_handlers()
        self._advertised_host = advertised_host
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[int, _Connection] = {}
        self.host = self.config.host
        self.port = self.config.port

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind the listener (port 0 picks a free one) and start accepting."""
        self._server = await asyncio.start_server(
            self._accept, self.config.host, self.config.port, reuse_address=True, backlog=512
        )
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        if self._advertised_host:
            self.host = self._advertised_host
        elif self.host in ("0.0.0.0", "::", ""):
            # A wildcard bind is reached by clients through a real address; advertise loopback
            # unless told otherwise (``advertised_host``).
            self.host = "127.0.0.1"
        self.broker.listener = (self.host, self.port)

    async def serve_forever(self, shutdown: asyncio.Event) -> None:
        await shutdown.wait()
        await self.close()

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
        self.broker.listener = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        info = ConnectionInfo(next(_conn_ids), str(peer[0]), int(peer[1]), time.time())
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(self, info, reader, writer, asyncio.current_task())
        self._connections[info.conn_id] = conn
        self.broker.connections[info.conn_id] = info
        self.broker.counters.connections_total += 1
        try:
            await conn.run()
        except (asyncio.CancelledError, ConnectionError):
            # Cancelled by close(), or the peer went away while we wrote its answer
            # (e.g. a consumer closing during a long-poll): either way this connection ends.
            pass
        finally:
            self._connections.pop(info.conn_id, None)
            self.broker.connections.pop(info.conn_id, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _Connection:
    def __init__(self, server: Server, info: ConnectionInfo, reader, writer, task) -> None:
        self.server = server
        self.info = info
        self.reader = reader
        self.writer = writer
        self.task = task
        self.busy = False
        self.stopping = False

    async def run(self) -> None:
        server = self.server
        max_size = server.config.max_request_bytes
        idle_s = server.config.connection_idle_ms / 1000
        reader = self.reader
        info = self.info
        while not self.stopping:
            try:
                head = await asyncio.wait_for(reader.readexactly(4), idle_s)
            except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                return
            size = _SIZE.unpack(head)[0]
            if size < 8 or size > max_size:
                self._drop(f"frame size {size} outside 8..{max_size}")
                return
            try:
                frame = await reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            self.busy = True
            try:
                keep = await self._handle(frame)
            finally:
                self.busy = False
            if not keep:
                return
            info.bytes_in += size + 4

    async def _handle(self, frame: bytes) -> bool:
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
                await self._send(encode_response(API_VERSIONS_KEY, 0, header.correlation_id, body))
                return True
            self._drop(f"unsupported version {version} of API {key}")
            return False
        try:
            request = _decode_request_body(key, version, frame, pos)
        except (ProtocolError, ValueError, IndexError, UnicodeDecodeError, struct.error,
                OverflowError) as exc:
            self._drop(f"malformed API {key} v{version} request: {exc}")
            return False
        info = self.info
        if header.client_id is not None:
            info.client_id = header.client_id
        info.requests_by_api[key] = info.requests_by_api.get(key, 0) + 1
        broker.counters.requests += 1
        ctx = RequestContext(
            broker, info, key, version, header.correlation_id, header.client_id,
            server.host, server.port,
        )
        try:
            response = await module.handle(ctx, version, request)
        except CloseConnection as exc:
            self._drop(str(exc) or f"API {key} asked to close the connection")
            return False
        except Exception:
            broker.counters.errors += 1
            log.exception("API %s v%s handler failed; closing %s", key, version, self._peer)
            broker.emit_event("error", f"API {key} v{version} handler failed for {self._peer}")
            return False
        if response is None:
            return True
        await self._send(encode_response(key, version, header.correlation_id, response))
        return True

    async def _send(self, payload: bytes | bytearray) -> None:
        writer = self.writer
        writer.write(_SIZE.pack(len(payload)))
        writer.write(payload)
        self.info.bytes_out += len(payload) + 4
        await writer.drain()

    @property
    def _peer(self) -> str:
        return f"{self.info.host}:{self.info.port}"

    def _drop(self, why: str) -> None:
        self.server.broker.counters.errors += 1
        log.warning("closing connection %s: %s", self._peer, why)
        self.server.broker.emit_event("error", f"Closed connection {self._peer}: {why}")


def _decode_request_body(key: int, version: int, frame: bytes, pos: int) -> dict:
    """The request body at ``pos``; bytes after it are ignored, as Kafka's broker does.

    ``core.protocol.decode_request`` refuses trailing bytes. Kafka never checks for them,
    and librdkafka 2.x relies on that: its all-topics Metadata request at v9+ carries
    three stray zero bytes (an unfinalized 4-byte array-count placeholder), so a strict
    decode would drop every confluent-kafka ``list_topics()`` connection.
    """
    body, _end = codec_for(key, version, True).decode(memoryview(frame), pos)
    return body
