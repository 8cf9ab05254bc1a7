"""The server's SASL gate over raw sockets (asyncio's own loop; the interop tests run
uvloop): what an unauthenticated connection may send, SaslHandshake v0 (bare tokens) and
v1 (SaslAuthenticate), refusals that close the connection, users added while the broker
runs, the principal on the connection, and a TLS listener (asyncio's SSL transport
driving the server's BufferedProtocol)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import shutil
import ssl
import struct
import subprocess
from pathlib import Path

import pytest
from streamscope.core.auth import UserStore
from streamscope.core.config import BrokerConfig
from streamscope.core.node import Node
from streamscope.core.protocol import decode_response, encode_request

from tests.core.helpers import wait_until

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
API_VERSIONS, METADATA, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 3, 17, 36


class Raw:
    """One client connection speaking frames by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.cid = 0

    @classmethod
    async def connect(cls, node: Node, ssl_context: ssl.SSLContext | None = None) -> Raw:
        server = node.server
        r, w = await asyncio.open_connection(server.host, server.port, ssl=ssl_context,
                                             server_hostname="localhost" if ssl_context
                                             else None)
        return cls(r, w)

    async def request(self, key: int, version: int, body: dict) -> dict:
        self.cid += 1
        self.writer.write(encode_request(key, version, self.cid, "gate-test", body,
                                         size_prefix=True))
        cid, reply = decode_response(key, version, await self.frame())
        assert cid == self.cid
        return reply

    async def frame(self) -> bytes:
        size = struct.unpack(">i", await asyncio.wait_for(self.reader.readexactly(4), 15))[0]
        return await asyncio.wait_for(self.reader.readexactly(size), 15)

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), 15) == b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


def scram_client(mechanism: str, user: str, password: str):
    """A minimal RFC 5802 client: yields its messages, is sent the server's."""
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    bare = f"n={user},r=clientnonce123"
    server_first = (yield f"n,,{bare}".encode()).decode()
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth = f"{bare},{server_first},{without_proof}".encode()
    sig = hmac.new(hashlib.new(digest, client_key).digest(), auth, digest).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, sig, strict=True))).decode()
    server_final = yield f"{without_proof},p={proof}".encode()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth, digest).digest()).decode()
    assert server_final.decode() == f"v={expected}"
    yield b""


@pytest.fixture
async def node(tmp_path):
    UserStore(tmp_path / "users.json").add("alice", "pw-alice")
    n = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path,
                          sasl_mechanisms=MECHANISMS))
    await n.start()
    try:
        yield n
    finally:
        await n.close(grace_s=1)


async def authenticate(conn: Raw, mechanism: str, user: str, password: str) -> dict:
    hs = await conn.request(SASL_HANDSHAKE, 1, {"mechanism": mechanism})
    assert hs["error_code"] == 0 and hs["mechanisms"] == list(MECHANISMS)
    if mechanism == "PLAIN":
        return await conn.request(SASL_AUTHENTICATE, 2, {
            "auth_bytes": f"\0{user}\0{password}".encode()})
    client = scram_client(mechanism, user, password)
    reply = await conn.request(SASL_AUTHENTICATE, 1, {"auth_bytes": next(client)})
    assert reply["error_code"] == 0, reply
    reply = await conn.request(SASL_AUTHENTICATE, 1, {
        "auth_bytes": client.send(reply["auth_bytes"])})
    if reply["error_code"] == 0:
        client.send(reply["auth_bytes"])  # checks the server's signature
    return reply


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_authenticated_connection_is_served_and_shows_its_user(node, mechanism):
    conn = await Raw.connect(node)
    reply = await authenticate(conn, mechanism, "alice", "pw-alice")
    assert reply["error_code"] == 0 and reply["session_lifetime_ms"] == 0
    meta = await conn.request(METADATA, 1, {"topics": []})
    assert meta["brokers"][0]["port"] == node.server.port
    # the principal is on the connection the monitor lists
    assert [c.user for c in node.broker.connections.values()] == ["alice"]
    await conn.close()


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_wrong_password_answers_58_with_a_message_then_closes(node, mechanism, caplog):
    caplog.set_level("DEBUG")
    conn = await Raw.connect(node)
    reply = await authenticate(conn, mechanism, "alice", "wrong-pw-xyz")
    assert reply["error_code"] == 58
    assert "invalid credentials" in reply["error_message"]
    assert mechanism in reply["error_message"]
    assert await conn.closed()
    assert any(e.kind == "auth" for e in node.broker.events)
    assert not any("wrong-pw-xyz" in e.message for e in node.broker.events)
    assert "wrong-pw-xyz" not in caplog.text and "alice" in caplog.text


def test_unknown_mechanisms_are_refused_when_the_server_is_built(tmp_path):
    from streamscope.core.auth import Authenticator

    with pytest.raises(ValueError, match="GSSAPI"):
        Authenticator(("SCRAM-SHA-256", "GSSAPI"), tmp_path / "users.json")


async def test_api_versions_is_allowed_and_metadata_is_not_before_authenticating(node):
    conn = await Raw.connect(node)
    versions = await conn.request(API_VERSIONS, 3, {"client_software_name": "raw",
                                                    "client_software_version": "1"})
    assert {17, 36} <= {k["api_key"] for k in versions["api_keys"]}
    conn.writer.write(encode_request(METADATA, 1, 9, "x", {"topics": []}, size_prefix=True))
    assert await conn.closed()
    assert any("before SASL authentication" in e.message for e in node.broker.events)


async def test_handshake_for_a_mechanism_not_enabled_lists_the_enabled_ones(tmp_path):
    n = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path,
                          sasl_mechanisms=("SCRAM-SHA-512",)))
    await n.start()
    try:
        conn = await Raw.connect(n)
        reply = await conn.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})
        assert reply == {"error_code": 33, "mechanisms": ["SCRAM-SHA-512"]}
        assert await conn.closed()
    finally:
        await n.close(grace_s=1)


async def test_second_handshake_after_authenticating_is_an_illegal_state(node):
    conn = await Raw.connect(node)
    await authenticate(conn, "PLAIN", "alice", "pw-alice")
    reply = await conn.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})
    assert reply["error_code"] == 34
    assert await conn.closed()


async def test_sasl_authenticate_without_a_handshake_is_an_illegal_state(node):
    conn = await Raw.connect(node)
    reply = await conn.request(SASL_AUTHENTICATE, 0, {"auth_bytes": b"\0alice\0pw-alice"})
    assert reply["error_code"] == 34
    assert await conn.closed()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_handshake_v0_then_bare_tokens_authenticates(node, mechanism):
    conn = await Raw.connect(node)
    hs = await conn.request(SASL_HANDSHAKE, 0, {"mechanism": mechanism})
    assert hs["error_code"] == 0

    async def token(data: bytes) -> bytes:
        conn.writer.write(struct.pack(">i", len(data)) + data)
        return await conn.frame()

    if mechanism == "PLAIN":
        assert await token(b"\0alice\0pw-alice") == b""
    else:
        client = scram_client(mechanism, "alice", "pw-alice")
        server_first = await token(next(client))
        server_final = await token(client.send(server_first))
        client.send(server_final)
    meta = await conn.request(METADATA, 1, {"topics": []})
    assert meta["brokers"]
    await conn.close()


async def test_bare_token_with_a_wrong_password_closes(node):
    conn = await Raw.connect(node)
    await conn.request(SASL_HANDSHAKE, 0, {"mechanism": "PLAIN"})
    data = b"\0alice\0not-it"
    conn.writer.write(struct.pack(">i", len(data)) + data)
    assert await conn.closed()


async def test_user_added_while_the_broker_runs_can_authenticate(node, tmp_path):
    UserStore(tmp_path / "users.json").add("bob", "pw-bob")
    conn = await Raw.connect(node)
    reply = await authenticate(conn, "SCRAM-SHA-512", "bob", "pw-bob")
    assert reply["error_code"] == 0
    await conn.close()
    assert UserStore(tmp_path / "users.json").remove("bob")
    conn = await Raw.connect(node)
    reply = await authenticate(conn, "PLAIN", "bob", "pw-bob")
    assert reply["error_code"] == 58
    await conn.close()


async def test_without_sasl_every_request_is_served_and_handshake_is_refused(tmp_path):
    n = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path))
    await n.start()
    try:
        conn = await Raw.connect(n)
        assert (await conn.request(METADATA, 1, {"topics": []}))["brokers"]
        reply = await conn.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})
        assert reply == {"error_code": 34, "mechanisms": []}
        await conn.close()
    finally:
        await n.close(grace_s=1)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (needed to make a test certificate)")
    d = tmp_path_factory.mktemp("cert")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
         "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        cwd=d, check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


async def test_tls_listener_serves_sasl_through_the_buffered_protocol(tmp_path, self_signed):
    cert, key = self_signed
    UserStore(tmp_path / "users.json").add("alice", "pw-alice")
    n = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path,
                          sasl_mechanisms=MECHANISMS, tls_cert=cert, tls_key=key))
    await n.start()
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        conn = await Raw.connect(n, trusting)
        assert (await authenticate(conn, "SCRAM-SHA-256", "alice", "pw-alice"))[
            "error_code"] == 0
        # A frame larger than one TLS record (16 KiB) arrives in pieces.
        names = [f"{i:03d}" + "t" * 200 for i in range(100)]
        meta = await conn.request(METADATA, 4, {"topics": [{"name": t} for t in names],
                                                "allow_auto_topic_creation": False})
        assert [t["error_code"] for t in meta["topics"]] == [3] * 100
        await conn.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await Raw.connect(n, ssl.create_default_context())
        await wait_until(lambda: not n.server._connections)
    finally:
        await n.close(grace_s=1)
