"""The message browser's core (core/browse): reading pages, decoding, exporting.

Real parts: a broker with its listener on 127.0.0.1 port 0 (``BrokerThread``), records
produced by a real confluent-kafka producer, the reader's coroutines run on the broker's
own loop (as the desktop runs them), export files in a tmp dir. The decompression-bomb
test measures a child process's peak memory, so a decoder that inflates the whole bomb
fails it.
"""

from __future__ import annotations

import gc
import json
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import cramjam
import crc32c
import msgpack
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from streamscope.core.browse.batches import (
    BrowsedRecord,
    TimestampType,
    decode_batch,
    decompress_bounded,
)
from streamscope.core.browse.decode import (
    DETAIL,
    Decoder,
    decode,
    detect,
    json_depth,
    preview,
)
from streamscope.core.browse.export import read_csv, read_jsonl, write_csv, write_jsonl
from streamscope.core.browse.reader import (
    Page,
    RecordFilter,
    ScanProgress,
    Start,
    read_next,
    read_page,
    with_gaps,
)
from streamscope.core.config import BrokerConfig
from streamscope.core.protocol.primitives import uvarint_bytes
from streamscope.core.records import Compression, build_batch
from streamscope.core.runtime import BrokerThread

BASE_TS = 1_700_000_000_000
CODECS = ("gzip", "snappy", "lz4", "zstd")


@pytest.fixture
def bt(tmp_path) -> Iterator[BrokerThread]:
    thread = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def create_topic(bt: BrokerThread, name: str, partitions: int = 1, **configs: str) -> None:
    bt.call(bt.broker.create_topic, name, partitions, configs or None)


@pytest.fixture
def producers(bt) -> Iterator[list[Producer]]:
    """The producers a test makes (:func:`producer`), gone before the broker stops (a
    confluent-kafka producer has no close: it stops when collected)."""
    made: list[Producer] = []
    yield made
    made.clear()
    gc.collect()


def producer(bt: BrokerThread, made: list[Producer], **conf: object) -> Producer:
    p = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 5, **conf})
    made.append(p)
    return p


def flushed(p: Producer) -> None:
    assert p.flush(30) == 0, "records left unsent"


def page(bt: BrokerThread, *args: object, **kw: object) -> Page:
    """``read_page(broker, *args, **kw)`` run on the broker loop, as the desktop runs it."""
    return bt.submit(partial(read_page, bt.broker, *args, **kw)).result(60)


def next_page(bt: BrokerThread, *args: object, **kw: object) -> Page:
    return bt.submit(partial(read_next, bt.broker, *args, **kw)).result(60)


# --- reading what real clients wrote --------------------------------------------------


def test_a_real_clients_record_reads_back_with_msgpack_value_key_and_headers(bt, producers):
    create_topic(bt, "orders")
    value = msgpack.packb({"order": 42, "items": [{"sku": "A-1", "qty": 2}], "paid": True})
    p = producer(bt, producers)
    p.produce("orders", key=b"customer-7", value=value,
              headers=[("trace", b"t-1"), ("empty", None)], timestamp=BASE_TS)
    flushed(p)

    got = page(bt, "orders", 0, Start.earliest())

    (r,) = got.records
    assert (r.partition, r.offset, r.timestamp) == (0, 0, BASE_TS)
    assert (r.key, r.value) == (b"customer-7", value)
    assert r.headers == (("trace", b"t-1"), ("empty", None))
    assert r.size == len(b"customer-7") + len(value) + len("trace") + 3 + len("empty")
    assert not r.control and not r.placeholder
    shown = decode(r.value)
    assert shown.kind == "msgpack"
    assert json.loads(shown.text) == msgpack.unpackb(value)
    assert '  "items": [' in shown.text  # pretty-printed
    assert got.at_end and dict(got.positions) == {0: 1}


@pytest.mark.parametrize("codec", CODECS)
def test_each_codec_a_real_client_compresses_with_reads_back(bt, producers, codec):
    create_topic(bt, "c")
    p = producer(bt, producers, **{"compression.type": codec, "linger.ms": 50})
    sent = [(b"k%d" % i, (b"value %d " % i) * 40, [("n", b"%d" % i)]) for i in range(300)]
    for key, value, headers in sent:
        p.produce("c", key=key, value=value, headers=headers)
    flushed(p)

    got = page(bt, "c", 0, Start.earliest(), max_records=1000)

    assert [(r.key, r.value, list(r.headers)) for r in got.records] == [
        (k, v, [(hk, hv) for hk, hv in h]) for k, v, h in sent
    ]
    assert {r.compression for r in got.records} == {codec}
    assert [r.offset for r in got.records] == list(range(300))


def test_seek_by_timestamp_lands_where_a_real_clients_offsets_for_times_does(bt, producers):
    create_topic(bt, "times", 2)
    p = producer(bt, producers)
    for i in range(60):
        # Partition 1's clock runs 5 ms behind partition 0's.
        p.produce("times", value=b"v%d" % i, partition=i % 2,
                  timestamp=BASE_TS + 10 * i + 5 * (i % 2))
        if i % 7 == 0:
            p.flush(10)  # several batches, so the time index is used, not one batch
    flushed(p)
    consumer = Consumer({"bootstrap.servers": bt.bootstrap, "group.id": "times-probe"})
    try:
        for delta in (-1, 0, 1, 253, 590, 10_000):
            ts = BASE_TS + delta
            theirs = consumer.offsets_for_times(
                [TopicPartition("times", part, ts) for part in (0, 1)], timeout=10
            )
            for tp in theirs:
                got = page(bt, "times", tp.partition, Start.at_time(ts), max_records=1)
                if tp.offset < 0:  # no record at or after ts: the browser is at the end
                    assert got.records == () and got.at_end
                else:
                    assert got.records[0].offset == tp.offset, (ts, tp.partition)
                    assert got.records[0].timestamp >= ts
            # All partitions at once: each starts where the client says.
            merged = page(bt, "times", None, Start.at_time(ts), max_records=100)
            firsts = {}
            for r in merged.records:
                firsts.setdefault(r.partition, r.offset)
            assert firsts == {tp.partition: tp.offset for tp in theirs if tp.offset >= 0}
    finally:
        consumer.close()


def test_all_partitions_merge_by_timestamp_and_pages_continue_where_they_ended(bt, producers):
    create_topic(bt, "m", 3)
    p = producer(bt, producers)
    for i in range(90):
        p.produce("m", value=b"%d" % i, partition=(i * 7) % 3, timestamp=BASE_TS + i)
    flushed(p)

    seen: list[BrowsedRecord] = []
    got = page(bt, "m", None, Start.earliest(), max_records=25)
    seen += got.records
    while not got.at_end:
        got = next_page(bt, "m", dict(got.positions), all_partitions=True, max_records=25)
        seen += got.records

    assert [r.value for r in seen] == [b"%d" % i for i in range(90)]  # time order, all once
    newest = page(bt, "m", None, Start.latest(), max_records=10)
    assert [r.value for r in newest.records] == [b"%d" % i for i in range(80, 90)]
    assert newest.at_end


def test_a_page_is_bounded_by_bytes_but_shows_at_least_one_record(bt, producers):
    create_topic(bt, "big", 1, **{"max.message.bytes": str(3 * 1024 * 1024)})
    p = producer(bt, producers, **{"message.max.bytes": 3 * 1024 * 1024, "linger.ms": 0})
    for i in range(4):
        p.produce("big", value=bytes([i]) * (2 * 1024 * 1024))
        p.flush(10)
    flushed(p)

    first = page(bt, "big", 0, Start.earliest(), max_bytes=1024 * 1024)
    assert [r.offset for r in first.records] == [0]
    two = page(bt, "big", 0, Start.earliest(), max_bytes=5 * 1024 * 1024)
    assert [r.offset for r in two.records] == [0, 1]
    assert dict(two.positions) == {0: 2}
    newest = page(bt, "big", 0, Start.latest(), max_bytes=1024 * 1024)
    assert [r.offset for r in newest.records] == [3]


def test_a_filtered_scan_finds_matches_across_pages_and_reports_progress(bt, producers):
    create_topic(bt, "scan", 2)
    p = producer(bt, producers)
    for i in range(2000):
        headers = [("kind", b"refund")] if i % 250 == 0 else [("kind", b"sale")]
        p.produce("scan", key=b"user-%d" % (i % 100), value=b"amount %d" % i,
                  partition=i % 2, headers=headers)
    flushed(p)

    progress = ScanProgress()
    got = page(bt, "scan", None, Start.earliest(), record_filter=RecordFilter(key="user-42"),
               max_records=100, max_bytes=4096, progress=progress)
    assert {r.key for r in got.records} == {b"user-42"}
    assert len(got.records) == 20
    assert progress.finished and progress.scanned == progress.total == 2000
    assert progress.fraction == 1.0 and progress.matched == 20

    refunds = page(bt, "scan", None, Start.latest(), record_filter=RecordFilter(header="kind=ref"),
                   max_records=3)
    assert [int(r.value.split()[1]) for r in refunds.records] == [1250, 1500, 1750]
    text = page(bt, "scan", 0, Start.earliest(), record_filter=RecordFilter(text="AMOUNT 1998"))
    assert [r.offset for r in text.records] == [999]


def test_a_scan_cancelled_midway_returns_what_it_matched_so_far(bt, producers):
    create_topic(bt, "long")
    p = producer(bt, producers)
    for i in range(3000):  # 3 MB: three scan steps of 1 MiB
        p.produce("long", key=b"k", value=b"%04d" % i + b"." * 1000)
    flushed(p)
    progress = ScanProgress()

    class CancelAt(RecordFilter):
        # Cancels from inside the scan (the worker thread) when it reaches offset 500,
        # as a user pressing Cancel mid-scan would.
        def matches(self, r: BrowsedRecord) -> bool:
            if r.offset == 500:
                progress.cancel()
            return r.offset % 100 == 0

    got = page(bt, "long", 0, Start.earliest(), record_filter=CancelAt(key="k"),
               max_records=1000, max_bytes=64 * 1024 * 1024, progress=progress)

    assert got.cancelled
    assert 500 <= progress.scanned < 3000
    assert [r.offset for r in got.records][:6] == [0, 100, 200, 300, 400, 500]
    assert not got.at_end


def test_a_live_tail_reads_only_new_records_and_skips_ahead_when_far_behind(bt, producers):
    create_topic(bt, "tail")
    p = producer(bt, producers)
    for i in range(10):
        p.produce("tail", value=b"old %d" % i)
    flushed(p)
    shown = page(bt, "tail", 0, Start.latest(), max_records=5)
    assert [r.offset for r in shown.records] == [5, 6, 7, 8, 9]

    nothing = next_page(bt, "tail", dict(shown.positions))
    assert nothing.records == () and nothing.at_end
    for i in range(3):
        p.produce("tail", value=b"new %d" % i)
    flushed(p)
    new = next_page(bt, "tail", dict(shown.positions), max_behind=50)
    assert [r.value for r in new.records] == [b"new 0", b"new 1", b"new 2"]
    assert new.skipped == 0

    for i in range(500):
        p.produce("tail", value=b"burst %d" % i)
    flushed(p)
    caught_up = next_page(bt, "tail", dict(new.positions), max_behind=50)
    assert [r.value for r in caught_up.records] == [b"burst %d" % i for i in range(450, 500)]
    assert caught_up.skipped == 450 and caught_up.at_end


def test_a_record_deleted_meanwhile_is_skipped_not_an_error(bt, producers):
    create_topic(bt, "del")
    p = producer(bt, producers)
    for i in range(20):
        p.produce("del", value=b"%d" % i)
        p.flush(10)
    flushed(p)
    first = page(bt, "del", 0, Start.earliest(), max_records=5)
    bt.call(bt.broker.delete_records, "del", 0, 12)
    rest = next_page(bt, "del", dict(first.positions))
    assert [r.offset for r in rest.records] == list(range(12, 20))
    assert page(bt, "del", 0, Start.at_offset(3)).records[0].offset == 12


def test_transactional_and_control_batches_are_shown_not_hidden(bt):
    create_topic(bt, "tx")
    # A transactional batch is appended only inside an open transaction: open one.
    txns = bt.node.transactions
    _err, pid, epoch = bt.submit(txns.init_producer_id, "browse-tx", 60_000).result(30)
    bt.submit(txns.add_partitions, "browse-tx", pid, epoch, [("tx", 0)]).result(30)
    txn = build_batch([(b"k", b"in a transaction")], producer_id=pid, producer_epoch=epoch,
                      base_sequence=0, transactional=True)
    bt.call(bt.broker.produce, "tx", 0, bytearray(txn))
    got = page(bt, "tx", 0, Start.earliest())
    (r,) = got.records
    assert r.transactional and not r.control and r.producer_id == pid
    # The broker's own COMMIT marker is shown too, as the row after it.
    bt.submit(txns.end_txn, "browse-tx", pid, epoch, True).result(30)
    first, marker_row = page(bt, "tx", 0, Start.earliest()).records
    assert marker_row.control and marker_row.offset == 1
    assert marker_row.note == "control record: COMMIT marker (v0)"

    # A COMMIT marker as Kafka writes it (clients may not produce these, so the batch is
    # decoded directly): key = version 0, type 1; the row says what it is.
    marker = bytearray(build_batch([(struct.pack(">hh", 0, 1), struct.pack(">hi", 0, 0))],
                                   base_offset=1, producer_id=7, transactional=True))
    struct.pack_into(">h", marker, 21, 0x10 | 0x20)
    struct.pack_into(">I", marker, 17, crc32c.crc32c(memoryview(marker)[21:]))
    (row,) = decode_batch("tx", 0, marker)
    assert row.control and row.transactional and row.offset == 1
    assert row.note == "control record: COMMIT marker (v0)"
    assert not row.placeholder


# --- bounded decompression ------------------------------------------------------------


def _zigzag(n: int) -> bytes:
    """A record field's varint: zigzag, then unsigned varint."""
    return uvarint_bytes((n << 1) ^ (n >> 63))


def zstd_bomb(value_bytes: int, chunk: int = 1024 * 1024) -> bytes:
    """A valid batch of one record whose value is ``value_bytes`` zeros: the zstd body is
    frames back to back (legal zstd), so it is a few KB however large it inflates."""
    fields = b"\x00" + _zigzag(0) + _zigzag(0) + _zigzag(-1) + _zigzag(value_bytes)
    length = len(fields) + value_bytes + 1
    frame = bytes(cramjam.zstd.compress(b"\x00" * chunk))
    body = bytes(cramjam.zstd.compress(_zigzag(length) + fields))
    body += frame * (value_bytes // chunk) + bytes(cramjam.zstd.compress(b"\x00"))  # headers: 0
    batch = bytearray(build_batch([(None, b"x")]))[:61]
    struct.pack_into(">i", batch, 8, 49 + len(body))
    struct.pack_into(">h", batch, 21, Compression.ZSTD)
    batch += body
    struct.pack_into(">I", batch, 17, crc32c.crc32c(memoryview(batch)[21:]))
    return bytes(batch)


def test_a_batch_inflating_past_the_limit_is_shown_as_a_note_not_decoded(bt):
    create_topic(bt, "bomb")
    bomb = zstd_bomb(256 * 1024 * 1024)
    assert len(bomb) < 64 * 1024
    for batch in (build_batch([(b"a", b"before")]), bomb, build_batch([(b"b", b"after")])):
        bt.call(bt.broker.produce, "bomb", 0, bytearray(batch))

    got = page(bt, "bomb", 0, Start.earliest(), max_uncompressed=8 * 1024 * 1024)

    assert [(r.offset, r.value) for r in got.records] == [(0, b"before"), (1, None), (2, b"after")]
    note = got.records[1]
    assert note.placeholder and "inflates to more than 8 MiB" in note.note
    assert "record 1 is not decoded" in note.note
    # Under the limit the same kind of batch decodes whole.
    (whole,) = decode_batch("bomb", 0, zstd_bomb(3 * 1024 * 1024), max_uncompressed=4 << 20)
    assert whole.value == b"\x00" * (3 * 1024 * 1024)


def test_decoding_a_decompression_bomb_never_allocates_what_it_claims(tmp_path):
    # 1 GiB of zeros in a few KB of zstd; decoded in a child process whose peak memory
    # is measured: a decoder that inflates it whole needs more than a gigabyte.
    script = textwrap.dedent("""
        import resource, sys
        from tests.core.test_browse import zstd_bomb
        from streamscope.core.browse.batches import decode_batch
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        bomb = zstd_bomb(1024 * 1024 * 1024)
        rows = decode_batch("t", 0, bomb, max_uncompressed=16 * 1024 * 1024)
        assert len(rows) == 1 and rows[0].placeholder, rows
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
    """)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    grew_mib = int(out.stdout.strip())
    assert grew_mib < 200, f"decoding the bomb grew the process by {grew_mib} MiB"


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4,
                                   Compression.ZSTD])
def test_bounded_decompression_returns_whole_data_under_the_limit_and_a_prefix_over_it(codec):
    data = bytes(range(256)) * 4096  # 1 MiB
    packed = build_batch([(None, data)], compression=codec)[61:]
    whole, cut = decompress_bounded(codec, packed, 4 * 1024 * 1024)
    assert not cut and data in whole
    part, cut = decompress_bounded(codec, packed, 100_000)
    assert cut and len(part) <= 100_000
    with pytest.raises(ValueError):
        decompress_bounded(codec, b"\x00not compressed at all\x00" * 3, 1 << 20)


# --- decoding keys and values ---------------------------------------------------------


def test_auto_decoding_tells_msgpack_json_text_and_binary_apart():
    assert detect(msgpack.packb({"a": [1, 2]})) is Decoder.MSGPACK
    assert detect(b'  {"a": [1, 2]}') is Decoder.JSON
    assert detect("plain text, ünïcode".encode()) is Decoder.TEXT
    assert detect(b"\xff\xfe\x00\x01") is Decoder.HEX
    assert detect(b"ctrl\x1b[31mred") is Decoder.HEX

    j = decode(b'{"b": [1, {"c": "x\\"]"}], "a": null}')
    assert j.kind == "json" and json.loads(j.text) == {"b": [1, {"c": 'x"]'}], "a": None}
    assert decode(None).kind == "null"
    assert decode(b"hello\nworld").text == "hello\nworld"
    assert preview(b"hello\n  world\t!") == "hello world !"
    binary = decode(b"\x00\x01\xfe")
    assert binary.kind == "hex" and binary.text.startswith("00000000  00 01 fe")
    assert "not UTF-8" in binary.note


def test_a_forced_decoder_that_cannot_read_the_bytes_says_so_and_shows_hex():
    forced = decode(b"just text", Decoder.MSGPACK)
    assert forced.kind == "hex" and forced.note.startswith("not msgpack")
    not_json = decode(b"{nope", Decoder.JSON)
    assert not_json.kind == "text" and "not JSON" in not_json.note
    as_text = decode(b"ok \xff", Decoder.TEXT)
    assert (as_text.kind, as_text.text) == ("text", "ok \ufffd")
    assert "invalid UTF-8" in as_text.note
    as_hex = decode(msgpack.packb([1]), Decoder.HEX)
    assert as_hex.kind == "hex" and as_hex.note == ""


def test_msgpack_that_is_not_utf8_inside_still_decodes_with_its_bytes_shown():
    value = msgpack.packb({b"k\xff": b"\x00\x01", "s": "ok"}, use_bin_type=False)
    shown = decode(value, Decoder.MSGPACK)
    assert shown.kind == "msgpack"
    assert "<2 bytes 6bff>" in shown.text and "<2 bytes 0001>" in shown.text


def test_hostile_values_come_back_truncated_or_as_hex():
    ten_mb = b"x" * (10 * 1024 * 1024)
    big = decode(ten_mb)
    assert big.kind == "text" and big.truncated and len(big.text) < DETAIL.max_bytes + 100
    assert len(preview(ten_mb)) <= 120

    deep = b"[" * 10_000 + b"]" * 10_000
    assert json_depth(deep) == 10_000
    shown = decode(deep)
    assert shown.kind == "text" and "nested 10,000 levels deep" in shown.note
    forced = decode(deep, Decoder.JSON)
    assert forced.kind == "text" and "nested" in forced.note

    for bomb in (b"\xdd\xff\xff\xff\xff" + b"\xc0" * 8, b"\xdb\xff\xff\xff\xffabc",
                 b"\xdf\x7f\xff\xff\xff\x01\x02"):
        for decoder in (Decoder.AUTO, Decoder.MSGPACK):
            out = decode(bomb, decoder)
            assert out.kind == "hex", (bomb, decoder)
        assert preview(bomb).startswith(bomb[:3].hex(" "))

    # Deep msgpack (within msgpack's own limits) renders to a bounded depth.
    nested: object = 1
    for _ in range(500):
        nested = [nested]
    deep_pack = decode(msgpack.packb(nested))
    assert deep_pack.kind == "msgpack" and deep_pack.truncated
    assert "[…]" in deep_pack.text and "nested deeper than 100" in deep_pack.note

    wide = msgpack.packb(list(range(300_000)))
    assert len(decode(wide).text) <= DETAIL.max_chars + 1
    assert preview(b"\xff" * 10_000_000).endswith("…")


# --- export -----------------------------------------------------------------------------


def test_export_to_jsonl_and_csv_round_trips_every_byte(bt, producers, tmp_path):
    create_topic(bt, "exp", 2)
    awkward = [
        (b"\xff\xfe", b"\x00\x80 not utf-8", [("bin", b"\xc3\x28"), ("none", None)]),
        (None, None, []),
        (b"=SUM(A1:A9)", "ünïcode, \"quoted\",\r\nnew line".encode(), [("h", "✓".encode())]),
        (b"", b"", [("", b"")]),
        (b"k", msgpack.packb({"a": 1}), []),
    ]
    p = producer(bt, producers)
    for i, (key, value, headers) in enumerate(awkward):
        p.produce("exp", key=key, value=value, headers=headers, partition=i % 2,
                  timestamp=BASE_TS + i)
    flushed(p)
    records = page(bt, "exp", None, Start.earliest()).records
    assert [(r.key, r.value) for r in records] == [(k, v) for k, v, _h in awkward]

    assert write_jsonl(records, tmp_path / "out.jsonl") == 5
    assert write_csv(records, tmp_path / "out.csv") == 5

    assert read_jsonl(tmp_path / "out.jsonl") == list(records)
    assert read_csv(tmp_path / "out.csv") == list(records)
    first = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert first["key"] == {"base64": "//4="}
    assert first["headers"] == [["bin", {"base64": "wyg="}], ["none", None]]
    csv_text = (tmp_path / "out.csv").read_text()
    assert "=SUM" not in csv_text  # a spreadsheet would run it: written as base64
    assert not list(tmp_path.glob("*.part"))


# -- gaps (issue 14: a compacted log keeps offsets, so it has holes) --------------------


def _rec(partition: int, offset: int, ts: int = 1_000, note: str = "") -> BrowsedRecord:
    return BrowsedRecord("t", partition, offset, ts, TimestampType.CREATE_TIME, b"k", b"v", (),
                         10, "none", False, False, note=note)


def test_offsets_missing_inside_a_page_get_a_gap_row_before_the_record_after_them():
    records = [_rec(0, 0), _rec(0, 1), _rec(0, 5), _rec(1, 3), _rec(0, 6), _rec(1, 4)]
    out = with_gaps(records, {0: 0, 1: 2})
    gaps = [(r.partition, r.offset, r.gap, r.note) for r in out if r.gap]
    assert gaps == [
        (0, 2, 3, "offsets 2 to 4: not in the log (compaction removed them)"),
        (1, 2, 1, "offset 2: not in the log (compaction removed it)"),
    ]
    # Each gap row sits just before the record after it, and is a placeholder row.
    assert [(r.partition, r.offset) for r in out] == [
        (0, 0), (0, 1), (0, 2), (0, 5), (1, 2), (1, 3), (0, 6), (1, 4)
    ]
    assert all(r.placeholder and r.size == 0 for r in out if r.gap)
    # Running it again over its own output adds nothing.
    assert with_gaps(out, {0: 0, 1: 2}) == out


def test_an_undecodable_batch_row_is_not_followed_by_a_false_gap():
    out = with_gaps([_rec(0, 0), _rec(0, 1, note="corrupt batch"), _rec(0, 9)], {0: 0})
    assert not any(r.gap for r in out)
