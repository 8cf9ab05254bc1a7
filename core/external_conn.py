"""How to reach an external Kafka-compatible cluster, and how its failures read (issue 15).

Contract:

* :class:`ExternalSettings` is the connection: bootstrap servers, security protocol
  (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), SASL mechanism (PLAIN, SCRAM-SHA-256,
  SCRAM-SHA-512), username, password, CA file; :meth:`ExternalSettings.client_config`
  maps it to librdkafka's settings. Bad combinations raise ``ValueError`` at once.
* :class:`ExternalError` is every failure of an external-cluster call; its ``reason`` is
  ONE line for a user. :func:`error_reason` renders a librdkafka/Kafka error the one way
  all callers use: a Kafka error the cluster answered as ``"CODE_NAME: message"``
  (``"TOPIC_ALREADY_EXISTS: Topic with this name already exists."``), an API the cluster
  does not serve (or drops the connection on) as a sentence that says so, naming it.
* :class:`ClientErrors` collects what librdkafka reports through ``error_cb`` (bounded)
  and tells a fatal one (authentication failed, TLS handshake failed, unreachable) as an
  :class:`ExternalError`.

This module sits below ``core.monitor`` and ``core.browse`` (both use it) and imports
nothing else of Streamscope; ``core.monitor.external`` re-exports its names.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException

__all__ = ["ClientErrors", "ExternalError", "ExternalSettings", "SASL_MECHANISMS",
           "SECURITY_PROTOCOLS", "AUTH_CODES", "UNREACHABLE_CODES", "UNSUPPORTED_CODES",
           "error_reason", "exception_reason", "one_line"]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

# librdkafka codes that mean "you cannot get in", not "try again".
AUTH_CODES = {KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED}
UNREACHABLE_CODES = {KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE}
# The cluster does not serve the request (librdkafka saw it missing from ApiVersions, or
# the cluster answered that the version is not supported).
UNSUPPORTED_CODES = {KafkaError._UNSUPPORTED_FEATURE, KafkaError.UNSUPPORTED_VERSION,
                     KafkaError.INVALID_REQUEST}


class ExternalError(Exception):
    """A call to an external cluster failed; ``reason`` is one line for a user."""

    def __init__(self, reason: str) -> None:
        reason = one_line(reason)
        super().__init__(reason)
        self.reason = reason


def one_line(text: str) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True, slots=True)
class ExternalSettings:
    """How to reach a cluster. The password is never shown in ``repr``."""

    bootstrap: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not self.bootstrap.strip():
            raise ValueError("bootstrap servers are empty")
        protocol = self.security_protocol.upper()
        if protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"security protocol {self.security_protocol!r} is not one of "
                             f"{', '.join(SECURITY_PROTOCOLS)}")
        sasl = protocol.startswith("SASL_")
        if sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError(f"{protocol} needs a SASL mechanism: "
                                 f"{', '.join(SASL_MECHANISMS)}")
            if not self.username or self.password is None:
                raise ValueError(f"{protocol} needs a username and a password")
        elif self.sasl_mechanism is not None:
            raise ValueError(f"a SASL mechanism needs SASL_PLAINTEXT or SASL_SSL, "
                             f"not {protocol}")
        if self.ca_file is not None and not protocol.endswith("SSL"):
            raise ValueError(f"a CA file needs SSL or SASL_SSL, not {protocol}")

    def client_config(self) -> dict[str, str]:
        """librdkafka's settings for this connection."""
        protocol = self.security_protocol.upper()
        conf = {"bootstrap.servers": self.bootstrap, "security.protocol": protocol}
        if protocol.startswith("SASL_"):
            conf["sasl.mechanism"] = str(self.sasl_mechanism)
            conf["sasl.username"] = str(self.username)
            conf["sasl.password"] = str(self.password)
        if self.ca_file is not None:
            conf["ssl.ca.location"] = self.ca_file
        return conf


def error_reason(err: KafkaError, what: str) -> str:
    """One line for a failed ``what`` (a Kafka API name, e.g. "CreatePartitions")."""
    code = err.code()
    text = one_line(err.str())
    if code in (KafkaError._UNSUPPORTED_FEATURE, KafkaError.UNSUPPORTED_VERSION):
        return f"the cluster does not serve {what}: {err.name()}: {text}"
    if code == KafkaError._TRANSPORT:
        # A broker that advertises a request but cannot handle it closes the connection
        # (Tansu 0.6.0 does so on DeleteRecords); a network failure looks the same.
        return (f"the cluster closed the connection on {what} instead of answering (it "
                f"does not serve it, or the network failed): {err.name()}: {text}")
    if code in AUTH_CODES:
        return f"authentication failed: {text}"
    if code == KafkaError._SSL:
        return f"TLS handshake failed: {text}"
    if code in (KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT):
        return f"{what} timed out: {text}"
    return f"{err.name()}: {text}"


def exception_reason(exc: BaseException, what: str) -> str:
    """:func:`error_reason` of a KafkaException's error, else the exception in words."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return error_reason(exc.args[0], what)
    return f"{what} failed: {exc}"


class ClientErrors:
    """What librdkafka reported through ``error_cb`` (the latest 16), for any thread."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._errors: list[KafkaError] = []
        self._lock = threading.Lock()

    def __call__(self, err: KafkaError) -> None:  # the error_cb
        with self._lock:
            self._errors.append(err)
            del self._errors[:-16]

    def clear(self) -> None:
        with self._lock:
            self._errors.clear()

    def fatal(self, *, unreachable: bool = True) -> ExternalError | None:
        """An error that means the client will not get in (authentication, TLS; and
        with ``unreachable``, no broker reached), or None."""
        with self._lock:
            errors = list(self._errors)
        for err in reversed(errors):
            code = err.code()
            if code in AUTH_CODES:
                return ExternalError(f"authentication failed: {err.str()}")
            if code == KafkaError._SSL:
                return ExternalError(f"TLS handshake failed: {err.str()}")
        for err in reversed(errors if unreachable else ()):
            if err.code() in UNREACHABLE_CODES:
                return ExternalError(f"cannot reach {self.bootstrap}: {err.str()}")
        return None
