"""SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS with real clients: confluent-kafka,
kafka-python and kcat against a broker started with ``sasl_mechanisms`` (and a TLS
certificate signed by a throwaway CA made with the ``openssl`` CLI).

Right credentials produce and consume with every mechanism and client; wrong ones get
SASL_AUTHENTICATION_FAILED as each client reports it; a raw socket that skips SASL is
cut off at its first Metadata; TLS works when the client trusts the CA and fails when it
does not. One broker per module (per listener kind) keeps the file inside its budget.
"""

from __future__ import annotations

import logging
import socket
import struct
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import kafka
import kafka.errors
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from streamscope.core.auth import UserStore
from streamscope.core.config import BrokerConfig
from streamscope.core.protocol import decode_response, encode_request
from streamscope.core.runtime import BrokerThread

from tests.certs import make_certs

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
USER, PASSWORD = "alice", "correct horse battery"
WRONG = "not the password"


def _start(tmp: Path, **config: object) -> BrokerThread:
    data = tmp / "data"
    UserStore(data / "users.json").add(USER, PASSWORD)
    return BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                     sasl_mechanisms=MECHANISMS, **config)).start()


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory) -> Iterator[BrokerThread]:
    bt = _start(tmp_path_factory.mktemp("sasl"))
    try:
        yield bt
    finally:
        bt.stop()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    """A throwaway CA, a server certificate it signed (127.0.0.1, localhost), and a second
    CA that signed nothing (what an untrusting client trusts)."""
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory, certs) -> Iterator[BrokerThread]:
    bt = _start(tmp_path_factory.mktemp("sasl_ssl"), tls_cert=certs["server"],
                tls_key=certs["server_key"])
    try:
        yield bt
    finally:
        bt.stop()


def _confluent_conf(bootstrap: str, mechanism: str, password: str, *,
                    ca: Path | None = None) -> dict:
    conf = {"bootstrap.servers": bootstrap, "sasl.mechanism": mechanism,
            "sasl.username": USER, "sasl.password": password,
            "security.protocol": "SASL_SSL" if ca else "SASL_PLAINTEXT"}
    if ca is not None:
        conf["ssl.ca.location"] = str(ca)
    return conf


def _confluent_round_trip(conf: dict, payload: bytes = b"secret-free payload") -> None:
    topic = f"auth-{uuid.uuid4().hex[:8]}"
    p = Producer(conf | {"linger.ms": 0})
    p.produce(topic, value=payload)
    assert p.flush(20) == 0
    c = Consumer(conf | {"group.id": topic, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        msg = None
        for _ in range(40):
            msg = c.poll(0.5)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None and msg.error() is None
        assert msg.value() == payload
    finally:
        c.close()


def _confluent_auth_error(conf: dict) -> KafkaError:
    """The first error a producer with ``conf`` reports (its error_cb)."""
    errors: list[KafkaError] = []
    p = Producer(conf | {"error_cb": errors.append})
    for _ in range(60):
        p.poll(0.25)
        if errors:
            break
    assert errors, "the client reported no error"
    return errors[0]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_produces_and_consumes_with_each_mechanism(sasl_broker, mechanism):
    _confluent_round_trip(_confluent_conf(sasl_broker.bootstrap, mechanism, PASSWORD))


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_produces_and_consumes_with_each_mechanism(sasl_broker, mechanism):
    topic = f"auth-kp-{uuid.uuid4().hex[:8]}"
    conf = {"bootstrap_servers": sasl_broker.bootstrap, "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": mechanism, "sasl_plain_username": USER,
            "sasl_plain_password": PASSWORD}
    producer = kafka.KafkaProducer(**conf)
    try:
        producer.send(topic, b"from kafka-python").get(timeout=20)
    finally:
        producer.close()
    consumer = kafka.KafkaConsumer(**conf, group_id=None, enable_auto_commit=False,
                                   consumer_timeout_ms=1000)
    try:
        tp = kafka.TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = []
        for _ in range(20):
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
            if values:
                break
        assert values == [b"from kafka-python"]
    finally:
        consumer.close()


def _kcat(kcat_path: str, bootstrap: str, mechanism: str, password: str, *args: str,
          stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [kcat_path, "-b", bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
         "-X", f"sasl.mechanism={mechanism}", "-X", f"sasl.username={USER}",
         "-X", f"sasl.password={password}", *args],
        input=stdin, capture_output=True, timeout=60)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kcat_produces_and_consumes_with_each_mechanism(sasl_broker, kcat_path, mechanism):
    topic = f"auth-kcat-{uuid.uuid4().hex[:8]}"
    out = _kcat(kcat_path, sasl_broker.bootstrap, mechanism, PASSWORD, "-P", "-t", topic,
                stdin=b"one\ntwo\n")
    assert out.returncode == 0, out.stderr.decode()
    out = _kcat(kcat_path, sasl_broker.bootstrap, mechanism, PASSWORD, "-C", "-t", topic,
                "-o", "beginning", "-e", "-q")
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.split() == [b"one", b"two"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_gets_sasl_authentication_failed_in_confluent_kafka(
        sasl_broker, mechanism):
    err = _confluent_auth_error(_confluent_conf(sasl_broker.bootstrap, mechanism, WRONG))
    assert err.code() == KafkaError._AUTHENTICATION
    assert "Authentication failed" in err.str() and mechanism in err.str()


def test_unknown_user_is_refused_like_a_wrong_password(sasl_broker):
    conf = _confluent_conf(sasl_broker.bootstrap, "SCRAM-SHA-512", PASSWORD)
    err = _confluent_auth_error(conf | {"sasl.username": "mallory"})
    assert err.code() == KafkaError._AUTHENTICATION
    assert "invalid credentials" in err.str()


def test_wrong_password_gets_sasl_authentication_failed_in_kafka_python(sasl_broker, caplog):
    mechanism = "SCRAM-SHA-256"
    caplog.set_level(logging.ERROR, logger="kafka")
    with pytest.raises(kafka.errors.KafkaTimeoutError):
        kafka.KafkaProducer(
            bootstrap_servers=sasl_broker.bootstrap, security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=mechanism, sasl_plain_username=USER, sasl_plain_password=WRONG,
            bootstrap_timeout_ms=3000)  # retries until then
    failures = [a for r in caplog.records for a in (r.args or ())
                if isinstance(a, kafka.errors.SaslAuthenticationFailedError)]
    assert failures, [r.getMessage() for r in caplog.records]
    # kafka-python names the broker's error code 58 and quotes its message
    assert "SaslAuthenticationFailedError" in str(failures[0])
    assert "invalid credentials" in str(failures[0])


def test_wrong_password_gets_sasl_authentication_failed_in_kcat(sasl_broker, kcat_path):
    # kcat -P gives up at once when every broker refused it (-L would wait out -m)
    out = _kcat(kcat_path, sasl_broker.bootstrap, "SCRAM-SHA-256", WRONG, "-P", "-t",
                "never-written", stdin=b"x\n")
    assert out.returncode != 0
    assert b"SASL authentication error: Authentication failed" in out.stderr


def _frame(api_key: int, version: int, body: dict) -> bytes:
    return encode_request(api_key, version, 7, "raw-socket", body, size_prefix=True)


def _read_frame(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    return exactly(struct.unpack(">i", exactly(4))[0])


def test_unauthenticated_metadata_on_a_raw_socket_closes_the_connection(sasl_broker):
    host, port = sasl_broker.bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        # ApiVersions is allowed before authenticating, and advertises the SASL APIs.
        sock.sendall(_frame(18, 0, {}))
        _cid, body = decode_response(18, 0, _read_frame(sock))
        keys = {k["api_key"]: (k["min_version"], k["max_version"]) for k in body["api_keys"]}
        assert keys[17] == (0, 1) and keys[36] == (0, 2)
        sock.sendall(_frame(3, 1, {"topics": None}))
        assert sock.recv(4096) == b""  # closed, no answer
    assert any("before SASL authentication" in e.message
               for e in sasl_broker.call(lambda: list(sasl_broker.broker.events)))


def test_tls_with_a_trusted_ca_authenticates_and_round_trips(tls_broker, certs):
    # 200 KB: frames span many TLS records both ways (uvloop's SSL transport feeding the
    # server's BufferedProtocol, and the Fetch answer's writelines)
    _confluent_round_trip(
        _confluent_conf(tls_broker.bootstrap, "SCRAM-SHA-256", PASSWORD, ca=certs["ca"]),
        payload=bytes(range(256)) * 800)


def test_tls_is_refused_by_a_client_that_does_not_trust_the_ca(tls_broker, certs):
    err = _confluent_auth_error(
        _confluent_conf(tls_broker.bootstrap, "SCRAM-SHA-256", PASSWORD, ca=certs["other"]))
    assert err.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)
    assert "certificate verify failed" in err.str()


def test_kafka_python_over_tls_with_the_ca_produces(tls_broker, certs):
    producer = kafka.KafkaProducer(
        bootstrap_servers=tls_broker.bootstrap, security_protocol="SASL_SSL",
        ssl_cafile=str(certs["ca"]), sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=USER, sasl_plain_password=PASSWORD)
    try:
        meta = producer.send("auth-tls-kp", b"over tls").get(timeout=20)
        assert meta.offset >= 0
    finally:
        producer.close()


def test_kcat_over_tls_works_trusting_the_ca_and_fails_trusting_another(tls_broker, certs, kcat_path):
    base = [kcat_path, "-b", tls_broker.bootstrap, "-X", "security.protocol=SASL_SSL",
            "-X", "sasl.mechanism=PLAIN", "-X", f"sasl.username={USER}",
            "-X", f"sasl.password={PASSWORD}"]
    ok = subprocess.run([*base, "-X", f"ssl.ca.location={certs['ca']}", "-L", "-m", "10"],
                        capture_output=True, timeout=60)
    assert ok.returncode == 0, ok.stderr.decode()
    assert f"{USER}".encode() not in ok.stdout  # metadata, not credentials
    bad = subprocess.run([*base, "-X", f"ssl.ca.location={certs['other']}", "-P", "-t",
                          "never-written"], input=b"x\n", capture_output=True, timeout=60)
    assert bad.returncode != 0
    assert b"certificate verify failed" in bad.stderr


def test_tls_without_sasl_serves_the_ssl_protocol(tmp_path, certs):
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                                   tls_cert=certs["server"], tls_key=certs["server_key"])
                      ).start()
    try:
        _confluent_round_trip({"bootstrap.servers": bt.bootstrap, "security.protocol": "SSL",
                               "ssl.ca.location": str(certs["ca"])})
    finally:
        bt.stop()
