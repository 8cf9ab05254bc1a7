"""The Messages page on the real app and a real broker, fed by real confluent-kafka clients.

Each test runs the whole app (``app_shell``: broker thread, ticker), opens the browser on
it, produces with confluent-kafka and waits (``qtbot.waitUntil``) on the view's own state:
rows in its model, its detail pane, files it exported. Hostile records must come back
truncated or as hex: the test finishing is the proof that nothing hung.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from PySide6.QtCore import QDateTime, QItemSelectionModel, Qt
from PySide6.QtWidgets import QFileDialog
from streamscope.core.browse.batches import BrowsedRecord, TimestampType
from streamscope.core.browse.decode import Decoder
from streamscope.core.browse.export import read_csv, read_jsonl
from streamscope.core.browse.reader import Start
from streamscope.core.records import build_batch
from streamscope.desktop.models.records_model import KEY, VALUE, RecordsModel, make_rows
from streamscope.desktop.views.browser_view import BrowserView

from tests.core.test_browse import zstd_bomb
from tests.desktop.helpers import create_topic

pytestmark = pytest.mark.timeout(120)

BASE_TS = 1_700_000_000_000
ORDER = {"order": 42, "items": [{"sku": "A-1", "qty": 2}], "customer": "c-7", "paid": True}


@pytest.fixture
def browser(app_shell, qtbot) -> Iterator[BrowserView]:
    """The Messages view on the app's broker service, ticking with the app."""
    view = BrowserView(app_shell.commands, app_shell.themes.theme)
    qtbot.addWidget(view)
    view.resize(1084, 520)
    app_shell.ticker.tick.connect(view.on_tick)
    app_shell.ticker.slow_tick.connect(view.on_slow_tick)
    view.show()
    yield view
    view.set_tail(False)


def produce(shell, records, **conf) -> None:
    """``records``: dicts of confluent ``produce`` arguments; all acknowledged."""
    p = Producer({"bootstrap.servers": shell.service.bootstrap, "linger.ms": 5, **conf})
    for r in records:
        p.produce(**r)
    assert p.flush(30) == 0


def read(view: BrowserView, qtbot, start: Start | None = None) -> None:
    """Read a page (at ``start``, else the pickers') and wait until it is shown."""
    before = view.reads
    if start is not None:
        view.set_start(start)
    view.load()
    qtbot.waitUntil(lambda: view.reads > before and not view.busy, timeout=20_000)
    assert view.error == ""


def open_topic(view: BrowserView, qtbot, topic: str, partition: int | None = None,
               start: Start | None = None) -> None:
    qtbot.waitUntil(lambda: topic in view.topics(), timeout=10_000)  # a snapshot lists it
    view.set_topic(topic, partition)
    read(view, qtbot, start or Start.earliest())


def select(view: BrowserView, qtbot, row: int) -> None:
    """Select ``row`` and wait for its detail pane, decoded off the GUI thread."""
    view.table.setCurrentIndex(view.model.index(row, 0))
    record = view.model.row_at(row).record
    qtbot.waitUntil(lambda: view.detail is not None and view.detail.record == record,
                    timeout=20_000)


def test_a_real_clients_msgpack_record_shows_decoded_with_its_key_and_headers(
        app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "orders", partitions=2)
    produce(app_shell, [dict(topic="orders", partition=1, key=b"customer-7",
                             value=msgpack.packb(ORDER), timestamp=BASE_TS,
                             headers=[("trace-id", b"t-0001"), ("source", b"web")])])

    open_topic(browser, qtbot, "orders", 1)

    assert browser.model.rowCount() == 1
    select(browser, qtbot, 0)
    detail = browser.detail
    assert detail.value.kind == "msgpack"
    assert json.loads(browser.value_text.toPlainText()) == ORDER
    assert '  "items": [' in browser.value_text.toPlainText()  # pretty-printed
    assert browser.key_text.toPlainText() == "customer-7"
    assert browser.headers_text.toPlainText() == "trace-id: t-0001\nsource: web"
    assert browser.headers_title.text() == "Headers (2)"
    assert browser.decoded_as.text() == "msgpack"
    assert "partition 1 · offset 0" in browser.detail_title.text()
    cells = [browser.model.index(0, c).data() for c in range(browser.model.columnCount())]
    assert cells[:2] == ["1", "0"]
    assert cells[KEY] == "customer-7"
    assert cells[4] == "trace-id=t-0001, source=web"
    assert json.loads(cells[VALUE]) == ORDER  # the cell's one-line preview


def test_each_codec_shows_the_same_records(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "codecs", partitions=4)
    for partition, codec in enumerate(("gzip", "snappy", "lz4", "zstd")):
        produce(app_shell, [dict(topic="codecs", partition=partition, key=b"k%d" % i,
                                 value=(b"%s record %d " % (codec.encode(), i)) * 30)
                            for i in range(50)], **{"compression.type": codec})
    open_topic(browser, qtbot, "codecs", None)
    records = browser.model.records()
    assert len(records) == 200
    by_codec = {r.compression: [] for r in records}
    for r in records:
        by_codec[r.compression].append(r)
    assert sorted(by_codec) == ["gzip", "lz4", "snappy", "zstd"]
    for codec, rows in by_codec.items():
        assert sorted(r.value for r in rows) == sorted(
            (b"%s record %d " % (codec.encode(), i)) * 30 for i in range(50))


def test_seek_by_time_lands_on_the_offset_a_real_clients_offsets_for_times_gives(
        app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "clock")
    produce(app_shell, [dict(topic="clock", value=b"t%d" % i, timestamp=BASE_TS + 1000 * i)
                        for i in range(40)])
    wanted = BASE_TS + 17_500  # between two records
    c = Consumer({"bootstrap.servers": app_shell.service.bootstrap, "group.id": "probe"})
    try:
        (theirs,) = c.offsets_for_times([TopicPartition("clock", 0, wanted)], timeout=10)
    finally:
        c.close()
    assert theirs.offset == 18

    qtbot.waitUntil(lambda: "clock" in browser.topics(), timeout=10_000)
    browser.set_topic("clock", 0)
    browser.start_combo.setCurrentIndex(browser.start_combo.findText("Time"))
    browser.start_combo.activated.emit(browser.start_combo.currentIndex())
    assert browser.time_edit.isVisibleTo(browser) and not browser.offset_edit.isVisibleTo(browser)
    browser.time_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(wanted))
    before = browser.reads
    browser.go_button.click()
    qtbot.waitUntil(lambda: browser.reads > before and not browser.busy, timeout=20_000)

    first = browser.model.row_at(0).record
    assert first.offset == theirs.offset and first.value == b"t18"
    assert browser.selected_record() == first


def test_export_writes_the_shown_and_the_selected_records_exactly(
        app_shell, browser, qtbot, tmp_path: Path):
    create_topic(app_shell, qtbot, "exp")
    sent = [
        dict(key=b"\xff\xfe", value=b"\x00\x80\xc3\x28 not utf-8",
             headers=[("bin", b"\xc3\x28"), ("none", None)]),
        dict(key=None, value=None),
        dict(key=b"=1+2", value="ünïcode, \"q\",\r\nline".encode(), headers=[("h", b"x")]),
        dict(key=b"k", value=msgpack.packb(ORDER)),
    ]
    produce(app_shell, [dict(topic="exp", timestamp=BASE_TS + i, **r) for i, r in enumerate(sent)])
    open_topic(browser, qtbot, "exp", 0)
    shown = browser.model.records()
    assert [(r.key, r.value) for r in shown] == [(r["key"], r["value"]) for r in sent]

    # Through the file dialog, as a user does it.
    dialog = browser.open_export_dialog(selected_only=False)
    assert isinstance(dialog, QFileDialog) and browser.dialog is dialog
    target = tmp_path / "shown.jsonl"
    dialog.selectFile(str(target))
    dialog.accept()
    qtbot.waitUntil(lambda: target.exists() and "Exported 4 records" in browser.status.text(),
                    timeout=10_000)
    assert read_jsonl(target) == shown
    assert browser.dialog is None

    # The selection, as CSV.
    browser.table.selectRow(0)
    browser.table.selectionModel().select(
        browser.model.index(2, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert [r.offset for r in browser.selected_records()] == [0, 2]
    done = []
    browser.export_to(tmp_path / "picked.csv", "csv", browser.selected_records(),
                      lambda n, e: done.append((n, e)))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert done == [(2, None)]
    assert read_csv(tmp_path / "picked.csv") == [shown[0], shown[2]]


def test_hostile_records_are_shown_truncated_or_as_hex_without_hanging(
        app_shell, browser, qtbot):
    limit = str(16 * 1024 * 1024)
    create_topic(app_shell, qtbot, "hostile", configs={"max.message.bytes": limit})
    hostile = {
        "deep-json": b"[" * 10_000 + b"]" * 10_000,
        "msgpack-bomb": b"\xdd\xff\xff\xff\xff" + b"\xc0" * 16,
        "str-bomb": b"\xdb\x7f\xff\xff\xffabc",
        "bad-utf8": b"ok \xff\xfe\x80 then \xc3\x28",
        "ten-mb": b"A" * (10 * 1024 * 1024),
    }
    produce(app_shell, [dict(topic="hostile", key=k.encode(), value=v) for k, v in hostile.items()],
            **{"message.max.bytes": 16 * 1024 * 1024, "compression.type": "gzip"})
    # And a batch that inflates to 256 MiB, stored as a client could send it.
    bomb = zstd_bomb(256 * 1024 * 1024)
    app_shell.service.submit(lambda b: b.produce("hostile", 0, bytearray(bomb))).result(10)
    app_shell.service.submit(
        lambda b: b.produce("hostile", 0, bytearray(build_batch([(b"after", b"fine")])))
    ).result(10)

    open_topic(browser, qtbot, "hostile", 0)

    # Pages hold about 4 MiB of payload: the 10 MB record gets a page of its own.
    seen = {}
    while True:
        for i in range(browser.model.rowCount()):
            assert len(browser.model.index(i, VALUE).data()) <= 160  # cells stay short
            select(browser, qtbot, i)
            d = browser.detail
            seen[d.record.key] = (d.value.kind, d.value.truncated, browser.detail_note.text(),
                                  len(browser.value_text.toPlainText()),
                                  browser.model.index(i, VALUE).data())
        if not browser.next_button.isEnabled():
            break
        before = browser.reads
        browser.next_button.click()
        qtbot.waitUntil(lambda b=before: browser.reads > b and not browser.busy, timeout=20_000)
    assert set(seen) == {k.encode() for k in hostile} | {None, b"after"}
    expectations = {
        b"ten-mb": ("text", "Save… writes it whole"),
        b"deep-json": ("text", "nested 10,000 levels deep"),
        b"msgpack-bomb": ("hex", "not msgpack either"),
        b"str-bomb": ("hex", "not UTF-8"),
        b"bad-utf8": ("hex", "not UTF-8"),
    }
    for key, (kind, note) in expectations.items():
        assert seen[key][0] == kind, key
        assert note in seen[key][2], key
    assert seen[b"ten-mb"][1] and seen[b"ten-mb"][3] < 1_100_000  # cut, and folded
    assert "folded" in seen[b"ten-mb"][2]
    bomb_kind, _cut, _note, _len, bomb_cell = seen[None]
    assert bomb_kind == "note" and "inflates to more than" in bomb_cell
    assert seen[b"after"][0] == "text"


def test_live_tail_appends_new_records_as_they_arrive(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "live", partitions=2)
    produce(app_shell, [dict(topic="live", value=b"old %d" % i, partition=i % 2)
                        for i in range(6)])
    open_topic(browser, qtbot, "live", None, Start.latest())
    assert browser.model.rowCount() == 6

    browser.tail_button.click()
    assert browser.tail_button.isChecked()
    produce(app_shell, [dict(topic="live", value=b"new %d" % i, partition=i % 2)
                        for i in range(5)])
    qtbot.waitUntil(lambda: browser.model.rowCount() == 11, timeout=15_000)
    values = [r.value for r in browser.model.records()]
    assert sorted(values[6:]) == [b"new %d" % i for i in range(5)]
    assert sorted(values[:6]) == [b"old %d" % i for i in range(6)]

    browser.tail_button.click()
    qtbot.waitUntil(lambda: not browser.tail_busy, timeout=5_000)
    produce(app_shell, [dict(topic="live", value=b"unseen", partition=0)])
    read(browser, qtbot, Start.latest())  # only a new read shows it
    assert browser.model.records()[-1].value == b"unseen"


def test_a_filter_scans_for_matches_and_clearing_it_shows_every_record(
        app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "scan", partitions=3)
    produce(app_shell, [dict(topic="scan", key=b"user-%d" % (i % 10), value=b"event %d" % i,
                             partition=i % 3,
                             headers=[("kind", b"refund" if i % 50 == 0 else b"sale")])
                        for i in range(600)])
    open_topic(browser, qtbot, "scan", None)
    assert browser.model.rowCount() == 200 and not browser.page.at_end
    assert browser.next_button.isEnabled()

    browser.set_filter("key", "user-3")
    read(browser, qtbot)
    assert {r.key for r in browser.model.records()} == {b"user-3"}
    assert browser.model.rowCount() == 60
    assert "600 scanned" in browser.status.text()
    assert not browser.progress.isVisibleTo(browser)  # shown only while scanning

    browser.set_filter("header", "kind=refund")
    read(browser, qtbot)
    refunds = sorted(int(r.value.split()[1]) for r in browser.model.records())
    assert refunds == list(range(0, 600, 50))

    browser.set_filter("text", "EVENT 599")
    read(browser, qtbot)
    assert [r.value for r in browser.model.records()] == [b"event 599"]

    before = browser.reads
    browser.filter_edit.clear()  # back to the unfiltered page
    qtbot.waitUntil(lambda: browser.reads > before and not browser.busy, timeout=20_000)
    assert browser.model.rowCount() == 200


def test_next_page_continues_where_the_page_ended(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "pages")
    produce(app_shell, [dict(topic="pages", value=b"%d" % i) for i in range(450)])
    open_topic(browser, qtbot, "pages", 0)
    seen = [r.offset for r in browser.model.records()]
    while browser.next_button.isEnabled():
        before = browser.reads
        browser.next_button.click()
        qtbot.waitUntil(lambda b=before: browser.reads > b and not browser.busy, timeout=20_000)
        seen += [r.offset for r in browser.model.records()]
    assert seen == list(range(450))


def test_show_record_opens_that_record_selected_with_its_detail(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "open", partitions=3)
    produce(app_shell, [dict(topic="open", key=b"k%d" % i, value=json.dumps({"i": i}).encode(),
                             partition=2) for i in range(300)])
    browser.set_filter("text", "something else")
    before = browser.reads
    browser.show_record("open", 2, 234)
    qtbot.waitUntil(lambda: browser.reads > before and not browser.busy, timeout=20_000)
    record = browser.selected_record()
    assert (record.topic, record.partition, record.offset) == ("open", 2, 234)
    assert browser.filter_edit.text() == ""  # the record is shown, whatever the filter was
    qtbot.waitUntil(lambda: browser.detail is not None and browser.detail.record == record,
                    timeout=10_000)
    assert browser.detail.value.kind == "json"
    assert json.loads(browser.value_text.toPlainText()) == {"i": 234}
    assert browser.topic() == "open" and browser.partition() == 2


def test_the_decoder_override_applies_to_the_table_and_the_detail(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "dec")
    produce(app_shell, [dict(topic="dec", value=msgpack.packb({"a": 1}))])
    open_topic(browser, qtbot, "dec", 0)
    select(browser, qtbot, 0)
    assert browser.model.index(0, VALUE).data() == '{"a": 1}'

    browser.set_decoder(Decoder.HEX)
    qtbot.waitUntil(lambda: browser.model.index(0, VALUE).data() == "81 a1 61 01", timeout=10_000)
    qtbot.waitUntil(lambda: browser.detail is not None and browser.detail.value.kind == "hex",
                    timeout=10_000)
    assert browser.value_text.toPlainText().startswith("00000000  81 a1 61 01")
    assert browser.selected_record().offset == 0  # the selection survives


def test_a_deleted_topic_is_an_error_on_the_page_not_a_crash(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "gone")
    produce(app_shell, [dict(topic="gone", value=b"x")])
    open_topic(browser, qtbot, "gone", 0)
    app_shell.service.submit(lambda b: b.delete_topic("gone")).result(10)
    before = browser.reads
    browser.show_record("gone", 0, 0)  # as another view would, after the topic went
    qtbot.waitUntil(lambda: browser.reads > before and not browser.busy, timeout=10_000)
    assert browser.error.startswith("UNKNOWN_TOPIC_OR_PARTITION")
    assert browser.error_label.isVisibleTo(browser)


def test_save_value_writes_the_whole_value_byte_for_byte(app_shell, browser, qtbot, tmp_path):
    create_topic(app_shell, qtbot, "whole", configs={"max.message.bytes": str(8 << 20)})
    value = bytes(range(256)) * (12 * 1024)  # 3 MiB, not text: the pane shows part of it
    produce(app_shell, [dict(topic="whole", key=b"k", value=value)],
            **{"message.max.bytes": 8 << 20, "compression.type": "lz4"})
    open_topic(browser, qtbot, "whole", 0)
    select(browser, qtbot, 0)
    assert browser.detail.value.kind == "hex" and browser.detail.value.truncated
    assert "Save… writes it whole" in browser.detail_note.text()

    dialog = browser.open_save_value_dialog()
    target = tmp_path / "value.bin"
    dialog.selectFile(str(target))
    dialog.accept()
    qtbot.waitUntil(lambda: "Saved 3.0 MiB" in browser.status.text(), timeout=10_000)
    assert target.read_bytes() == value


def test_the_table_keeps_the_newest_rows_within_its_caps(qapp):
    def rows(first: int, n: int, size: int = 10):
        return make_rows([
            BrowsedRecord("t", 0, o, BASE_TS + o, TimestampType.CREATE_TIME, None,
                          b"x" * size, (), size, "none", False, False)
            for o in range(first, first + n)
        ])

    model = RecordsModel(max_rows=5, max_bytes=100)
    model.set_rows(rows(0, 8))
    assert [r.offset for r in model.records()] == [3, 4, 5, 6, 7]
    assert model.append_rows(rows(8, 2)) == 2
    assert [r.offset for r in model.records()] == [5, 6, 7, 8, 9]
    model.append_rows(rows(10, 1, size=60))  # 40 + 60 bytes fit; more would not
    assert [r.offset for r in model.records()] == [6, 7, 8, 9, 10]
    model.append_rows(rows(11, 1, size=500))  # bigger than the cap: kept alone
    assert [r.offset for r in model.records()] == [11]
    assert model.find(0, 11) == 0 and model.find(0, 5) == -1


def test_browse_messages_from_a_topic_and_a_log_click_open_the_messages_page(
        app_shell, qtbot, tmp_path):
    w = app_shell.window
    w.resize(1280, 720)
    create_topic(app_shell, qtbot, "orders", partitions=3)
    produce(app_shell, [dict(topic="orders", partition=i % 3, key=b"customer-%d" % (i % 7),
                             value=msgpack.packb({**ORDER, "order": i}),
                             headers=[("trace-id", b"t-%04d" % i)]) for i in range(60)])
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: w.select_topic("orders"), timeout=10_000)

    browse = next(a for a in w.topics.topic_menu().actions() if a.text() == "Browse messages")
    assert browse.isEnabled()
    browse.trigger()
    assert w.current_view() == "messages"
    view = w.browser
    qtbot.waitUntil(lambda: view.model.rowCount() == 60 and not view.busy
                    and view.detail is not None, timeout=20_000)
    assert (view.topic(), view.partition()) == ("orders", None)
    assert view.selected_record() == view.model.records()[-1]  # newest, at the bottom
    assert json.loads(view.value_text.toPlainText())["order"] in range(60)
    assert w.grab().save(str(tmp_path / "messages.png"))  # for a person to look at

    w.show_view("topics")
    by_partition = next(a for a in w.topics.partition_menu(2).actions()
                        if a.text() == "Browse messages of partition 2")
    by_partition.trigger()
    qtbot.waitUntil(lambda: view.partition() == 2 and not view.busy
                    and view.model.rowCount() == 20, timeout=20_000)
    assert {r.partition for r in view.model.records()} == {2}

    w.show_view("log")
    w.log.record_requested.emit("orders", 1, 5)  # a click on a position in the lanes
    assert w.current_view() == "messages"
    qtbot.waitUntil(lambda: view.selected_record() is not None
                    and (view.selected_record().partition, view.selected_record().offset)
                    == (1, 5), timeout=20_000)


def test_a_scan_shows_its_progress_and_cancel_stops_it(app_shell, browser, qtbot):
    create_topic(app_shell, qtbot, "slow")
    produce(app_shell, [dict(topic="slow", key=b"k%d" % i, value=b"v") for i in range(300)])
    open_topic(browser, qtbot, "slow", 0)
    assert not browser.progress.isVisibleTo(browser)  # no scan, no progress bar

    # Hold the broker loop so the scan is still queued when Cancel is pressed.
    gate = threading.Event()
    held = app_shell.service.submit(lambda b: gate.wait(10))
    browser.set_filter("key", "nobody")
    before = browser.reads
    browser.load()
    assert browser.busy
    assert browser.progress.isVisibleTo(browser) and browser.cancel_button.isVisibleTo(browser)
    browser.cancel_button.click()
    gate.set()
    held.result(10)
    qtbot.waitUntil(lambda: browser.reads > before and not browser.busy, timeout=10_000)

    assert browser.page.cancelled and "scan cancelled" in browser.status.text()
    assert not browser.progress.isVisibleTo(browser)
    assert browser.model.rowCount() == 0 and browser.empty.isVisibleTo(browser)


def test_columns_fit_their_widest_cell_without_asking_for_every_cell(browser, qtbot):
    # Qt's resizeColumnToContents asks the model for every role of every cell; under the
    # 200-connection load a page of records stalled the GUI for 200-361 ms. The view ranks
    # the texts in Python and has the delegate measure the widest: every cell fits.
    calls = [0]
    model = browser.model
    real_data = model.data

    def counted(index, role=0):  # noqa: ANN001, ANN202 - Qt's signature
        calls[0] += 1
        return real_data(index, role)

    records = [
        BrowsedRecord("t", p % 12, 10 ** (p % 9) + p, BASE_TS + 997 * p, TimestampType.CREATE_TIME,
                      b"k" * (p % 40) if p % 5 else None, b"v" * p, (), p * 37, "none", False, False)
        for p in range(300)
    ]
    model.set_rows(make_rows(records))
    model.data = counted
    fitted = {col: browser.content_width(col) for col in (0, 1, 2, 6, KEY)}
    assert calls[0] < 100, calls[0]
    model.data = real_data
    table, header = browser.table, browser.table.horizontalHeader()
    for col, width in fitted.items():
        # Every row measured (Qt's own fit looks at the rows in view first): the widest
        # cell anywhere, or the title, whichever is wider.
        cells = max(table.sizeHintForIndex(model.index(r, col)).width()
                    for r in range(model.rowCount()))
        assert width == max(cells, header.sectionSizeHint(col)), (col, width, cells)
        table.resizeColumnToContents(col)
        assert width >= table.columnWidth(col), col


def test_a_gap_row_shows_its_offset_range_and_note_muted_and_nothing_else(qapp):
    from streamscope.core.browse.reader import with_gaps
    from streamscope.desktop.models.records_model import OFFSET, SIZE, TIMESTAMP, batch_summary

    def rec(offset: int) -> BrowsedRecord:
        return BrowsedRecord("t", 0, offset, 1_000, TimestampType.CREATE_TIME, b"k", b"v", (),
                             10, "none", False, False)

    records = with_gaps([rec(0), rec(7)], {0: 0})
    model = RecordsModel()
    model.set_rows(make_rows(records, Decoder.AUTO))
    assert model.rowCount() == 3
    cell = lambda row, col: model.data(model.index(row, col))  # noqa: E731
    assert cell(1, OFFSET) == "1–6"
    assert cell(1, VALUE) == "offsets 1 to 6: not in the log (compaction removed them)"
    assert cell(1, KEY) == cell(1, TIMESTAMP) == cell(1, SIZE) == ""
    assert model.data(model.index(1, VALUE), Qt.ItemDataRole.ForegroundRole) == model.muted_color
    assert batch_summary(records[1]).startswith("a gap")
    # The record after the gap is an ordinary row.
    assert cell(2, OFFSET) == "7" and cell(2, VALUE) == "v"
