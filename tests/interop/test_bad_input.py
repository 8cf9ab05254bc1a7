"""Bad input over a raw socket closes that connection only; real clients keep working.

Each case opens its own socket, sends something a broker must refuse (garbage, a truncated
frame, a frame over the size limit, an unknown API key, an unsupported version, a body
that does not parse) and expects the broker to close that socket, while a confluent-kafka
producer and consumer, connected the whole time, go on producing and consuming. ApiVersions
at an unsupported version is Kafka's exception: error 35 in a v0 body, connection kept.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from streamscope.core.errors import ErrorCode
from streamscope.core.protocol import decode_response, encode_request

from tests.interop.conftest import make_config

MAX_REQUEST_BYTES = 64 * 1024
TOPIC = "survivor"


@pytest.fixture
def broker_config(tmp_path):
    return make_config(tmp_path / "data", max_request_bytes=MAX_REQUEST_BYTES)


def connect(bootstrap: str) -> socket.socket:
    host, port = bootstrap.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.settimeout(5)
    return sock


def assert_closed_by_broker(sock: socket.socket) -> None:
    """The broker closed this socket: reads reach EOF (or a reset), never a reply."""
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            if sock.recv(65536) == b"":
                return
    except ConnectionResetError:
        return
    except TimeoutError:
        pass
    finally:
        sock.close()
    raise AssertionError("the broker kept the connection open")


def relabel(frame: bytes, *, api_key: int | None = None, version: int | None = None) -> bytes:
    """A size-prefixed request frame with its header's API key or version overwritten."""
    out = bytearray(frame)
    if api_key is not None:
        struct.pack_into(">h", out, 4, api_key)
    if version is not None:
        struct.pack_into(">h", out, 6, version)
    return bytes(out)


def frame_of(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def garbage(sock: socket.socket) -> None:
    sock.sendall(bytes(range(256)) * 4)  # size field 0x00010203, then nonsense


def well_framed_garbage(sock: socket.socket) -> None:
    # Plausible size; the header claims a client id far longer than the frame.
    sock.sendall(frame_of(struct.pack(">hhih", 3, 1, 7, 30000) + b"junk"))


def oversized_frame(sock: socket.socket) -> None:
    sock.sendall(struct.pack(">i", MAX_REQUEST_BYTES + 1) + b"\0" * 1024)


def unknown_api_key(sock: socket.socket) -> None:
    sock.sendall(relabel(encode_request(18, 0, 1, "bad", {}, size_prefix=True), api_key=999))


def unsupported_metadata_version(sock: socket.socket) -> None:
    frame = encode_request(3, 12, 1, "bad", {"topics": None}, size_prefix=True)
    sock.sendall(relabel(frame, version=14))


def unparseable_body(sock: socket.socket) -> None:
    # Metadata v1 claiming 5 topics and carrying none.
    header = struct.pack(">hhih", 3, 1, 9, 3) + b"bad"
    sock.sendall(frame_of(header + struct.pack(">i", 5)))


CASES = [garbage, well_framed_garbage, oversized_frame, unknown_api_key,
         unsupported_metadata_version, unparseable_body]


class LiveClients:
    """A producer and an assign()-ed consumer kept connected across every bad input."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0,
                                  "message.max.bytes": 32768})
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bad-input",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 100})
        self.consumer.assign([TopicPartition(TOPIC, 0, 0)])
        self.sent = 0

    def round_trip(self) -> None:
        value = f"message-{self.sent}".encode()
        self.producer.produce(TOPIC, value=value, partition=0)
        assert self.producer.flush(15) == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = self.consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            assert (msg.offset(), msg.value()) == (self.sent, value)
            self.sent += 1
            return
        raise AssertionError(f"message {self.sent} never came back")

    def close(self) -> None:
        self.consumer.close()
        self.producer.flush(5)


def test_bad_input_closes_only_that_connection_while_clients_keep_working(broker):
    broker.call(broker.broker.create_topic, TOPIC, 1)
    clients = LiveClients(broker.bootstrap)
    try:
        clients.round_trip()
        errors_before = broker.call(lambda: broker.broker.counters.errors)
        for case in CASES:
            sock = connect(broker.bootstrap)
            case(sock)
            assert_closed_by_broker(sock)
            clients.round_trip()
        assert broker.call(lambda: broker.broker.counters.errors) - errors_before == len(CASES)

        # A truncated frame and then the client hangs up: nothing to answer, nothing breaks.
        before = broker.call(lambda: len(broker.broker.connections))
        sock = connect(broker.bootstrap)
        sock.sendall(struct.pack(">i", 100) + b"only ten b")
        sock.close()
        deadline = time.monotonic() + 5
        while broker.call(lambda: len(broker.broker.connections)) > before:
            assert time.monotonic() < deadline, "the truncated connection was never dropped"
            time.sleep(0.05)
        clients.round_trip()
    finally:
        clients.close()
    assert clients.sent == len(CASES) + 2


def test_api_versions_at_an_unsupported_version_answers_error_35_and_stays_open(broker):
    sock = connect(broker.bootstrap)
    try:
        sock.sendall(relabel(encode_request(18, 3, 42, "probe", {
            "client_software_name": "probe", "client_software_version": "1"}, size_prefix=True),
            version=9))
        size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
        correlation, body = decode_response(18, 0, sock.recv(size, socket.MSG_WAITALL))
        assert correlation == 42
        assert body["error_code"] == ErrorCode.UNSUPPORTED_VERSION
        assert {"api_key": 18, "min_version": 0, "max_version": 4} in body["api_keys"]
        # Retrying in range works on the same connection.
        sock.sendall(encode_request(18, 3, 43, "probe", {
            "client_software_name": "probe", "client_software_version": "1"}, size_prefix=True))
        size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
        correlation, body = decode_response(18, 3, sock.recv(size, socket.MSG_WAITALL))
        assert (correlation, body["error_code"]) == (43, 0)
        assert len(body["api_keys"]) > 10
    finally:
        sock.close()
