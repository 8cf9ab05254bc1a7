"""Old librdkafka (Debian's 2.0.x, through kcat) against the embedded broker.

librdkafka 2.0 parses ApiVersions strictly and enables features only when the advertised
ranges contain the exact versions it knows (Produce v0 for compression, Fetch 4 and 10,
ListOffsets 1 ...), so this is the client most likely to notice a wrong range or a
malformed answer. Metadata (-L -J), produce with keys (-P -K:), auto-creation on
produce, compression, and consume from the beginning (-C -e) must all work.
"""

from __future__ import annotations

import json
import re
import subprocess

import confluent_kafka
from streamscope.core.records import Compression, iter_batches

TIMEOUT = 30


def kcat(path: str, bootstrap: str, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [path, "-b", bootstrap, "-X", "api.version.request=true", *args],
        input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    assert result.returncode == 0, f"kcat {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def test_kcat_links_an_older_librdkafka_than_the_wheel(kcat_path):
    banner = subprocess.run([kcat_path, "-V"], capture_output=True, text=True,
                            timeout=TIMEOUT, check=False).stdout
    found = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", banner)
    assert found, banner
    system = tuple(int(n) for n in found.groups())
    wheel = tuple(int(n) for n in confluent_kafka.libversion()[0].split(".")[:3])
    # Otherwise these tests would not cover a second librdkafka generation.
    assert system < wheel, (system, wheel)


def test_kcat_metadata_lists_broker_and_topics(broker, kcat_path):
    broker.call(broker.broker.create_topic, "meta", 3)
    metadata = json.loads(kcat(kcat_path, broker.bootstrap, "-L", "-J"))
    assert metadata["controllerid"] == 0
    assert [(b["id"], b["name"]) for b in metadata["brokers"]] == [(0, broker.bootstrap)]
    (topic,) = [t for t in metadata["topics"] if t["topic"] == "meta"]
    assert [p["partition"] for p in topic["partitions"]] == [0, 1, 2]
    assert all(p["leader"] == 0 for p in topic["partitions"])


def test_kcat_produces_to_an_auto_created_topic_and_consumes_it_back(broker, kcat_path):
    lines = [f"key{i}:value {i}" for i in range(200)]
    kcat(kcat_path, broker.bootstrap, "-P", "-t", "kc-auto", "-K:", stdin="\n".join(lines) + "\n")
    assert broker.call(lambda: broker.broker.partition_offsets("kc-auto", 0)) == (0, 200)
    out = kcat(kcat_path, broker.bootstrap, "-C", "-t", "kc-auto", "-p", "0", "-o", "beginning",
               "-e", "-f", "%k:%s:%o\n")
    assert out.splitlines() == [f"key{i}:value {i}:{i}" for i in range(200)]


def test_kcat_compressed_produce_and_multi_partition_consume(broker, kcat_path):
    broker.call(broker.broker.create_topic, "kc-multi", 3)
    lines = [f"k{i % 10}:v{i}" for i in range(300)]
    kcat(kcat_path, broker.bootstrap, "-P", "-t", "kc-multi", "-K:", "-z", "snappy",
         "-X", "partitioner=murmur2_random", stdin="\n".join(lines) + "\n")

    def stored():
        """(log end offset, codec of every stored batch) per partition."""
        out = []
        for p in broker.broker.topics["kc-multi"].partitions:
            data = p.log.read(0, 1 << 30) if p.log.log_end_offset else b""
            out.append((p.log.log_end_offset, {h.compression for h, _ in iter_batches(data)}))
        return out

    facts = broker.call(stored)
    assert sum(end for end, _ in facts) == 300
    # Old librdkafka compresses only when Produce v0 is inside the advertised range. It
    # still sends a batch uncompressed when snappy would not shrink it (a batch of one or
    # two tiny records, which a loaded machine makes likely), so: snappy is used, and
    # nothing else is.
    codecs = set().union(*(found for _, found in facts))
    assert Compression.SNAPPY in codecs
    assert codecs <= {Compression.SNAPPY, Compression.NONE}
    got = []
    for partition in range(3):
        out = kcat(kcat_path, broker.bootstrap, "-C", "-t", "kc-multi", "-p", str(partition),
                   "-o", "beginning", "-e", "-f", "%k:%s:%o\n")
        rows = [line.split(":") for line in out.splitlines()]
        assert [int(o) for _, _, o in rows] == list(range(len(rows)))
        # One key always lands in one partition.
        got.extend((k, v, partition) for k, v, _ in rows)
    assert sorted(int(v[1:]) for _, v, _ in got) == list(range(300))
    key_partitions: dict[str, set[int]] = {}
    for k, _, partition in got:
        key_partitions.setdefault(k, set()).add(partition)
    assert all(len(parts) == 1 for parts in key_partitions.values())
