"""The message browser over the wire (core.browse.external) against the embedded broker
and Tansu: the same records read through the embedded reader (core.browse.reader, on the
broker loop) and through a confluent-kafka Consumer (assign + seek) agree on partition,
offset, key, value, headers and timestamp, page by page; the consumer never joins a
group and never commits."""

from __future__ import annotations

from functools import partial

import pytest
from confluent_kafka.admin import AdminClient
from streamscope.core.browse.external import read_next_external, read_page_external
from streamscope.core.browse.reader import (
    Page,
    RecordFilter,
    ScanProgress,
    Start,
    read_next,
    read_page,
)
from streamscope.core.monitor.external import ExternalError, ExternalSettings
from streamscope.core.monitor.external_admin import ExternalAdmin

T0 = 1_700_000_000_000
PARTS = 3
PER = 12


def _fill(bootstrap: str, topic: str = "browse") -> None:
    """PER records in each of PARTS partitions, acknowledged one by one (Tansu's high
    watermark is then right): keys k<i % 4>, a header, a null value every 5th record,
    timestamps interleaved across partitions."""
    with ExternalAdmin(ExternalSettings(bootstrap), timeout_s=15) as admin:
        admin.create_topic(topic, PARTS)
        for i in range(PER):
            for p in range(PARTS):
                value = None if i % 5 == 4 else b"value-%d-%d" % (p, i)
                headers = [("n", b"%d" % i)] + ([("colour", b"red")] if i % 3 == 0 else [])
                admin.produce(topic, value, key=b"k%d" % (i % 4), partition=p,
                              headers=headers, timestamp_ms=T0 + 10 * i + p)


def _rows(page: Page) -> list[tuple]:
    return [(r.partition, r.offset, r.key, r.value, r.headers, r.timestamp, r.gap)
            for r in page.records]


def _ext(bootstrap: str, *args, **kw) -> Page:
    return read_page_external(ExternalSettings(bootstrap), *args, timeout_s=15, **kw)


def test_pages_agree_with_the_embedded_reader(broker):
    _fill(broker.bootstrap)

    def emb(*args, **kw) -> Page:
        return broker.submit(partial(read_page, broker.broker, *args, **kw)).result(60)

    cases = [
        ("browse", None, Start.earliest(), {}),
        ("browse", 1, Start.earliest(), {}),
        ("browse", None, Start.latest(), {}),
        ("browse", 2, Start.latest(), {}),
        ("browse", 0, Start.at_offset(5), {}),
        ("browse", None, Start.at_offset(5), {}),
        ("browse", None, Start.at_time(T0 + 10 * 7), {}),
        ("browse", None, Start.earliest(), {"record_filter": RecordFilter(key="k1")}),
        ("browse", None, Start.latest(), {"record_filter": RecordFilter(header="colour=red")}),
        ("browse", 1, Start.earliest(), {"record_filter": RecordFilter(text="VALUE-1-1")}),
    ]
    for topic, partition, start, kw in cases:
        # (max_bytes is "about" in both: the embedded reader counts stored batch bytes
        # as it reads, the consumer payload bytes, so tight byte bounds are compared
        # below, not here.)
        for bounds in ({"max_records": 7, "max_bytes": 1 << 20},
                       {"max_records": 100, "max_bytes": 1 << 20}):
            e = emb(topic, partition, start, **bounds, **kw)
            x = _ext(broker.bootstrap, topic, partition, start, **bounds, **kw)
            what = (partition, start, kw, bounds)
            assert _rows(x) == _rows(e), what
            assert x.positions == e.positions, what
            assert x.ranges == e.ranges, what
            assert x.records, what
    # The next page continues where the first ended, through both paths alike.
    first = _ext(broker.bootstrap, "browse", None, Start.earliest(), max_records=10,
                 max_bytes=1 << 20)
    nxt = read_next_external(ExternalSettings(broker.bootstrap), "browse",
                             dict(first.positions), max_records=10, max_bytes=1 << 20)
    enxt = broker.submit(partial(read_next, broker.broker, "browse", dict(first.positions),
                                 max_records=10, max_bytes=1 << 20)).result(60)
    assert _rows(nxt) == _rows(enxt) and nxt.positions == enxt.positions
    # Bounded by payload bytes: what fits, and always at least one record.
    small = _ext(broker.bootstrap, "browse", 1, Start.earliest(), max_records=50,
                 max_bytes=40)
    assert [r.offset for r in small.records] == [0, 1] and small.positions == ((1, 2),)
    assert sum(r.size for r in small.records) <= 40
    one = _ext(broker.bootstrap, "browse", None, Start.latest(), max_records=50, max_bytes=1)
    assert len(one.records) == 1
    r = first.records[0]
    assert (r.compression, r.transactional, r.producer_id) == ("unknown", False, -1)
    assert r.size == len(r.key) + len(r.value or b"") + sum(
        len(n) + len(v or b"") for n, v in r.headers)


def test_browse_tansu_and_the_embedded_broker(cluster):
    kind, bootstrap = cluster
    _fill(bootstrap)
    page = _ext(bootstrap, "browse", 1, Start.earliest(), max_records=5, max_bytes=1 << 20)
    assert [(r.offset, r.key, r.value, r.timestamp) for r in page.records] == [
        (i, b"k%d" % (i % 4), None if i % 5 == 4 else b"value-1-%d" % i, T0 + 10 * i + 1)
        for i in range(5)]
    assert page.records[3].headers == (("n", b"3"), ("colour", b"red"))
    assert page.positions == ((1, 5),) and not page.at_end
    newest = _ext(bootstrap, "browse", None, Start.latest(), max_records=4,
                  max_bytes=1 << 20)
    assert [(r.partition, r.offset) for r in newest.records] == [
        (1, PER - 2), (2, PER - 2), (0, PER - 1), (1, PER - 1), (2, PER - 1)][-4:]
    assert newest.at_end
    progress = ScanProgress()
    found = _ext(bootstrap, "browse", None, Start.earliest(), max_records=100,
                 max_bytes=1 << 20, record_filter=RecordFilter(key="k2"), progress=progress)
    assert [(r.partition, r.offset) for r in found.records] == sorted(
        ((p, i) for p in range(PARTS) for i in range(2, PER, 4)),
        key=lambda po: (T0 + 10 * po[1] + po[0]))
    assert progress.finished and progress.scanned == progress.total == PARTS * PER
    at = _ext(bootstrap, "browse", 0, Start.at_time(T0 + 70), max_records=1,
              max_bytes=1 << 20)
    # Tansu 0.6.0 answers ListOffsets by time with offset 0 whatever the time.
    assert [r.offset for r in at.records] == [0 if kind == "tansu" else 7]
    nxt = read_next_external(ExternalSettings(bootstrap), "browse", {1: 5}, max_records=3,
                             max_bytes=1 << 20)
    assert [(r.partition, r.offset) for r in nxt.records] == [(1, 5), (1, 6), (1, 7)]
    # A cancelled scan returns at once with what it had.
    cancelled = ScanProgress()
    cancelled.cancel()
    got = _ext(bootstrap, "browse", None, Start.earliest(), max_records=10,
               max_bytes=1 << 20, progress=cancelled)
    assert got.cancelled and got.records == ()

    with pytest.raises(ExternalError, match="^UNKNOWN_TOPIC_OR_PART: .*'nope'"):
        _ext(bootstrap, "nope", None, Start.earliest(), max_records=5, max_bytes=100)
    with pytest.raises(ExternalError, match="^UNKNOWN_TOPIC_OR_PART: browse has no partition 9"):
        _ext(bootstrap, "browse", 9, Start.earliest(), max_records=5, max_bytes=100)
    # Browsing joined no group and committed nothing.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    listing = admin.list_consumer_groups(request_timeout=15).result(15)
    assert [g.group_id for g in listing.valid if "browse" in g.group_id] == []
