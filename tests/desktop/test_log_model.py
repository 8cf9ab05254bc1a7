"""The log view's model without a screen: lanes, cursors, windows, marks and their words.

Snapshots are hand-built (tests/desktop/snapshots.py) with an activity feed of the
monitor's own classes, so every number on a lane can be checked against what went in.
"""

from __future__ import annotations

import dataclasses

import pytest
from streamscope.core import monitor
from streamscope.core.monitor.activity import ActivitySnapshot, AppendSample, ReadPosition
from streamscope.desktop.models.log_explain import explain, hit, record_at
from streamscope.desktop.models.log_marks import TOKEN_MIN_PX, Kind, LaneBox, key_hue, lane_marks
from streamscope.desktop.models.log_model import TOKEN_SAMPLES, GroupCursor, Lane, LogModel
from streamscope.desktop.models.log_viewport import MIN_SPAN, TAIL_PAD, Mode, nice_span

from tests.desktop import snapshots as S

NOW = 1_700_000_000.0


def orders(hws=(10_240, 900, 5_000, 10_240), log_start=0, bases=None):
    """Topic ``orders`` with the given high watermarks (and optional segment bases)."""
    t = S.topic("orders", len(hws))
    parts = tuple(
        dataclasses.replace(
            p,
            high_watermark=hw,
            log_start_offset=log_start,
            segment_bases=bases if bases is not None else (0,),
            segment_count=len(bases) if bases else 1,
        )
        for p, hw in zip(t.partitions, hws, strict=True)
    )
    return dataclasses.replace(t, partitions=parts)


def committed_group(gid: str, topic: monitor.TopicSnapshot, committed: dict[int, int]):
    """A group with committed offsets on ``topic`` and lag as core.groups.lag has it."""
    hws = {p.index: p.high_watermark for p in topic.partitions}
    offsets = tuple(
        monitor.OffsetSnapshot(topic.name, p, c, hws[p], 0, hws[p] - c, None)
        for p, c in sorted(committed.items())
    )
    g = S.group(gid)
    return dataclasses.replace(g, offsets=offsets, total_lag=sum(o.lag for o in offsets))


def read(partition: int, offset: int, group: str | None, at: float = NOW, conn: int = 1):
    return ReadPosition(
        "orders", partition, offset, conn, f"client-{conn}", "127.0.0.1", at,
        group, f"m-{conn}" if group else None,
    )


def append(seq: int, partition: int, base: int, last: int, keys=None, at: float = NOW,
           topic: str = "orders"):
    return AppendSample(seq, topic, partition, base, last, 0, at, keys)


def snap(topics=(), groups=(), appends=(), reads=(), t=None, dropped=0):
    s = S.snapshot(topics=topics, groups=groups, t=t)
    activity = ActivitySnapshot(tuple(appends), (), tuple(reads), dropped)
    return dataclasses.replace(s, taken_at=NOW, activity=activity)


def model_for(s, topic: str = "orders") -> LogModel:
    m = LogModel()
    m.set_topic(topic)
    m.update(s)
    return m


# -- lanes ---------------------------------------------------------------------------


def test_each_partition_is_a_lane_with_its_log_start_segments_and_high_watermark():
    t = orders(hws=(10_240, 900), log_start=100, bases=(0, 400, 800))
    m = model_for(snap([t]))
    assert [(ln.partition, ln.log_start, ln.high_watermark) for ln in m.lanes] == [
        (0, 100, 10_240),
        (1, 100, 900),
    ]
    assert m.lanes[0].segment_bases == (0, 400, 800)
    assert m.lanes[0].retained == 10_140
    assert m.lanes[0].first_offset_on_disk == 0  # DeleteRecords moved log start inside


def test_every_group_with_committed_offsets_has_a_cursor_row_on_every_lane():
    t = orders(hws=(10_240, 900))
    groups = [
        committed_group("analytics", t, {0: 9_870, 1: 800}),
        committed_group("billing", t, {0: 10_000}),
        S.group("elsewhere", committed={("other", 0): 5}),
    ]
    m = model_for(snap([t], groups))
    assert m.group_ids == ("analytics", "billing")  # not the group of another topic
    lane0, lane1 = m.lanes
    a0 = lane0.group("analytics")
    assert (a0.committed, a0.high_watermark, a0.lag) == (9_870, 10_240, 370)
    assert lane1.group("billing").committed is None  # a row, but nothing committed there
    assert [g.group_id for g in lane1.groups] == ["analytics", "billing"]
    # Colour slots differ between groups and are the same on every lane.
    assert lane0.group("analytics").slot != lane0.group("billing").slot
    assert lane0.group("billing").slot == lane1.group("billing").slot


def test_a_group_keeps_its_colour_when_another_group_appears():
    t = orders(hws=(1000,))
    m = LogModel()
    m.set_topic("orders")
    m.update(snap([t], [committed_group("zeta", t, {0: 10})], t=1.0))
    slot = m.lanes[0].group("zeta").slot
    m.update(snap([t], [committed_group("alpha", t, {0: 5}),
                        committed_group("zeta", t, {0: 10})], t=2.0))
    assert m.lanes[0].group("zeta").slot == slot
    assert m.lanes[0].group("alpha").slot != slot


def test_a_groups_read_position_is_its_latest_fetch_and_ahead_of_commit_is_uncommitted():
    t = orders(hws=(10_240,))
    s = snap(
        [t],
        [committed_group("analytics", t, {0: 9_870})],
        reads=[
            read(0, 9_000, "analytics", at=NOW - 5, conn=1),  # a member before a rebalance
            read(0, 10_100, "analytics", at=NOW - 0.5, conn=2),
            read(0, 4_000, None, conn=3),  # kcat, no group
        ],
    )
    m = model_for(s)
    g = m.lanes[0].group("analytics")
    assert g.read == 10_100
    assert g.reader == "client-2 at 127.0.0.1"
    assert g.uncommitted == 230
    assert [r.offset for r in m.lanes[0].readers] == [4_000]


def test_a_group_that_reads_but_never_committed_still_gets_a_row():
    t = orders(hws=(500,))
    m = model_for(snap([t], reads=[read(0, 120, "fresh")]))
    assert m.group_ids == ("fresh",)
    g = m.lanes[0].group("fresh")
    assert g.committed is None and g.read == 120 and g.uncommitted == 0


def test_partition_rate_comes_from_records_in_deltas():
    t = orders(hws=(100,))

    def at(time_s: float, records_in: int):
        p = dataclasses.replace(t.partitions[0], records_in=records_in)
        return snap([dataclasses.replace(t, partitions=(p,))], t=time_s)

    m = LogModel()
    m.set_topic("orders")
    m.update(at(10.0, 1_000))
    m.update(at(10.5, 1_600))
    assert m.lanes[0].rate == pytest.approx(1_200.0)


def test_a_snapshot_already_taken_changes_nothing():
    t = orders(hws=(100,))
    s = snap([t], t=5.0)
    m = LogModel()
    m.set_topic("orders")
    assert m.update(s) is True
    assert m.update(s) is False


# -- tokens --------------------------------------------------------------------------


def test_recent_appends_are_kept_per_partition_bounded_and_only_for_this_topic():
    t = orders(hws=(1_000, 1_000))
    appends = [append(i + 1, 0, i, i) for i in range(TOKEN_SAMPLES + 10)]
    appends.append(append(500, 1, 990, 999))
    appends.append(append(501, 0, 5, 5, topic="payments"))
    m = model_for(snap([t], appends=appends))
    kept = m.lanes[0].appends
    assert len(kept) == TOKEN_SAMPLES
    assert kept[-1].seq == TOKEN_SAMPLES + 10  # the newest kept
    assert [a.seq for a in m.lanes[1].appends] == [500]


def test_appends_already_seen_are_not_taken_twice_but_key_hashes_filled_later_are():
    t = orders(hws=(100,))
    m = LogModel()
    m.set_topic("orders")
    m.update(snap([t], appends=[append(1, 0, 90, 94)], t=1.0))
    m.update(snap([t], appends=[append(1, 0, 90, 94, keys=(7, 7, None, 3, 7))], t=2.0))
    kept = m.lanes[0].appends
    assert len(kept) == 1
    assert kept[0].key_hashes == (7, 7, None, 3, 7)


def test_old_appends_and_those_below_log_start_are_dropped():
    t = orders(hws=(100,), log_start=50)
    m = model_for(
        snap([t], appends=[append(1, 0, 10, 20), append(2, 0, 60, 61, at=NOW - 60),
                           append(3, 0, 95, 99)])
    )
    assert [a.seq for a in m.lanes[0].appends] == [3]


def test_tokens_are_one_per_record_when_wide_and_sampled_when_narrow():
    lane = Lane("orders", 0, 0, 1_000, (0,), 1, 0, 0.0, (),
                appends=(append(1, 0, 900, 999, keys=tuple(range(100))),), now=NOW)
    box = LaneBox(0, 100, 1100)
    wide = [m for m in lane_marks(lane, 0, (950.0, 1_000.0), box) if m.kind == Kind.TOKEN]
    assert [m.offset for m in wide] == list(range(950, 1_000))  # 20 px per record
    narrow = [m for m in lane_marks(lane, 0, (0.0, 1_000.0), box) if m.kind == Kind.TOKEN]
    step = narrow[1].offset - narrow[0].offset
    assert step == pytest.approx(TOKEN_MIN_PX, abs=1)  # 1 px per record: one per 7 px
    assert all(m.offset % step == 0 for m in narrow)  # on multiples: no shimmer
    assert len(narrow) <= 100 // step + 1
    assert narrow[0].key == narrow[0].offset - 900  # the record's own key hash


def test_key_colours_are_equal_for_equal_keys_and_neutral_for_null():
    assert key_hue(12345) == key_hue(12345)
    assert key_hue(1) != key_hue(2)
    assert key_hue(None) is None
    assert all(0 <= key_hue(h) < 360 for h in (0, 1, -5, 2**40, 2**31 - 1))


# -- windows -------------------------------------------------------------------------


def test_following_the_tail_each_lane_ends_after_its_high_watermark_with_every_cursor_in_view():
    t = orders(hws=(10_240, 900))
    m = model_for(snap([t], [committed_group("analytics", t, {0: 9_870, 1: 600})]))
    vp = m.viewport
    assert vp.mode == Mode.TAIL
    for lane in m.lanes:
        lo, hi = vp.window(lane.partition)
        assert hi == pytest.approx(lane.high_watermark + vp.span * TAIL_PAD)
        assert hi - lo == vp.span
        assert lo < lane.group("analytics").committed
    assert vp.span == nice_span(vp.span)  # a round number


def test_whole_log_shows_every_lane_from_its_first_segment_to_the_highest_watermark():
    t = orders(hws=(10_240, 900), log_start=2_000, bases=(1_000, 5_000))
    m = model_for(snap([t]))
    m.viewport.whole_log()
    m.viewport.fit(m.lanes)
    for lane in m.lanes:
        lo, hi = m.viewport.window(lane.partition)
        assert lo < 1_000 and hi > 10_240
        assert hi - lo < (10_240 - 1_000) * 1.1


def test_dragging_stops_following_and_new_records_do_not_move_the_window():
    t = orders(hws=(1_000,))
    m = model_for(snap([t], t=1.0))
    before = m.viewport.window(0)
    m.viewport.pan(0.5)  # dragged right: half a window towards older records
    m.viewport.fit(m.lanes)
    assert m.viewport.mode == Mode.FIXED
    lo, hi = m.viewport.window(0)
    assert lo == pytest.approx(before[0] - m.viewport.span / 2)
    m.update(snap([orders(hws=(5_000,))], t=2.0))
    assert m.viewport.window(0) == (lo, hi)
    m.viewport.follow_tail()
    m.viewport.fit(m.lanes)
    assert m.viewport.window(0)[1] > 5_000


def test_zoom_keeps_the_offset_under_the_pointer_in_place():
    t = orders(hws=(10_000,))
    m = model_for(snap([t]))
    m.viewport.whole_log()
    m.viewport.fit(m.lanes)
    lo, hi = m.viewport.window(0)
    under = lo + 0.25 * (hi - lo)
    m.viewport.zoom(0.5, at=0.25)
    m.viewport.fit(m.lanes)
    lo2, hi2 = m.viewport.window(0)
    assert hi2 - lo2 == pytest.approx((hi - lo) / 2)
    assert lo2 + 0.25 * (hi2 - lo2) == pytest.approx(under)
    m.viewport.zoom(1e-9)
    assert m.viewport.span == MIN_SPAN


def test_zooming_while_following_keeps_following():
    m = model_for(snap([orders(hws=(10_000,))]))
    m.viewport.zoom(0.5)
    assert m.viewport.mode == Mode.TAIL and not m.viewport.auto_span


# -- marks and words ---------------------------------------------------------------------


def lane_with(groups, hw=10_240, log_start=1_000, bases=(0, 5_000)):
    return Lane("orders", 3, log_start, hw, bases, len(bases), 1 << 20, 50.0, tuple(groups),
                now=NOW)


def analytics(committed=9_870, read=None, hw=10_240):
    return GroupCursor("analytics", 0, committed, hw, hw - committed, read,
                       "rdkafka at 127.0.0.1" if read is not None else "", 0.2)


def test_marks_sit_at_their_offsets_to_scale():
    lane = lane_with([analytics(read=10_100)])
    box = LaneBox(0, 100, 1_100)  # 1 px per offset over (9_500, 10_500)
    marks = lane_marks(lane, 0, (9_500.0, 10_500.0), box)
    by_kind = {m.kind: m for m in marks}
    assert by_kind[Kind.COMMITTED].cx == pytest.approx(100 + 370)
    assert by_kind[Kind.READ].cx == pytest.approx(100 + 600)
    assert by_kind[Kind.HIGH_WATERMARK].cx == pytest.approx(100 + 740)
    lag = by_kind[Kind.LAG]
    assert (lag.offset, lag.end, lag.x1 - lag.x0) == (9_870, 10_240, pytest.approx(370))
    unc = by_kind[Kind.UNCOMMITTED]
    assert (unc.offset, unc.end) == (9_870, 10_100)
    segments = [m.offset for m in marks if m.kind == Kind.SEGMENT]
    assert segments == []  # 5_000 is outside the window
    assert by_kind[Kind.LOG_START].clipped  # 1_000: left of the window, drawn at its edge


def test_a_cursor_outside_the_window_is_clipped_to_its_edge():
    lane = lane_with([analytics(committed=2_000)])
    box = LaneBox(0, 100, 1_100)
    cursor = next(m for m in lane_marks(lane, 0, (9_500.0, 10_500.0), box)
                  if m.kind == Kind.COMMITTED)
    assert cursor.clipped and cursor.cx == pytest.approx(100)
    assert cursor.offset == 2_000


def test_segment_boundaries_are_thinned_to_the_pixels_available():
    bases = tuple(range(0, 100_000, 10))  # 10,000 segments
    lane = lane_with([], hw=100_000, log_start=0, bases=bases)
    box = LaneBox(0, 100, 1_100)
    segments = [m for m in lane_marks(lane, 0, (0.0, 100_000.0), box) if m.kind == Kind.SEGMENT]
    assert 100 < len(segments) <= 1_000 / 4 + 1
    xs = [m.cx for m in segments]
    assert all(b - a >= 4 - 1e-6 for a, b in zip(xs, xs[1:], strict=False))


def test_the_lag_explanation_is_high_watermark_minus_committed():
    lane = lane_with([analytics()])
    lag = next(m for m in lane_marks(lane, 0, (9_500.0, 10_500.0), LaneBox(0, 100, 1_100))
               if m.kind == Kind.LAG)
    assert explain(lane, lag).startswith(
        "lag of analytics on orders-3 = high watermark 10,240 - committed 9,870 = 370 records"
    )


def test_explanations_give_the_live_numbers_of_every_mark():
    lane = lane_with([analytics(read=10_100)])
    marks = lane_marks(lane, 0, (0.0, 11_000.0), LaneBox(0, 100, 1_100))
    words = {m.kind: explain(lane, m, 4_321.7) for m in marks}
    said = {
        Kind.LOG_START: ["Log start offset of orders-3 = 1,000"],
        Kind.HIGH_WATERMARK: ["High watermark of orders-3 = 10,240", "9,240 records kept"],
        Kind.SEGMENT: ["Segment of orders-3 from offset 5,000 on", "00000000000000005000.log"],
        Kind.COMMITTED: ["Committed offset of analytics on orders-3 = 9,870"],
        Kind.READ: [
            "Read position of analytics on orders-3 = 10,100",
            "230 records ahead of its committed offset",
        ],
        Kind.UNCOMMITTED: [
            "fetched offsets 9,870 to 10,099 of orders-3 (230 records)", "delivered again"
        ],
        Kind.BODY: ["open offset 4,321"],
        Kind.DELETED: ["Offsets 0 to 999 of orders-3: deleted"],
        Kind.RATE: ["50 msg/s"],
    }
    for kind, phrases in said.items():
        for phrase in phrases:
            assert phrase in words[kind], (kind, phrase)


def test_token_explanation_names_its_key():
    lane = Lane("orders", 0, 0, 10, (0,), 1, 0, 0.0, (),
                appends=(append(1, 0, 5, 9, keys=(None, 0xBEEF, 1, 1, 1)),
                         append(2, 0, 0, 4)), now=NOW)
    marks = {m.offset: m for m in lane_marks(lane, 0, (0.0, 10.0), LaneBox(0, 0, 100))
             if m.kind == Kind.TOKEN}
    assert "null key" in explain(lane, marks[5])
    assert "key hash 0x0000beef" in explain(lane, marks[6])
    assert "not sampled" in explain(lane, marks[0])
    assert "offset 6 of orders-0" in explain(lane, marks[6])


def test_hovering_prefers_the_cursor_to_the_band_under_it():
    lane = lane_with([analytics()])
    box = LaneBox(0, 100, 1_100)
    marks = lane_marks(lane, 0, (9_500.0, 10_500.0), box)
    row0, row1 = box.group_row(0)
    assert hit(marks, 100 + 370, (row0 + row1) / 2).kind == Kind.COMMITTED
    assert hit(marks, 100 + 500, (row0 + row1) / 2).kind == Kind.LAG
    assert hit(marks, 100 + 500, box.bar_top + 3).kind == Kind.BODY


def test_clicks_open_the_record_under_them_only_inside_the_log():
    lane = lane_with([analytics()])
    marks = lane_marks(lane, 0, (9_500.0, 10_500.0), LaneBox(0, 100, 1_100))
    body = next(m for m in marks if m.kind == Kind.BODY)
    cursor = next(m for m in marks if m.kind == Kind.COMMITTED)
    hw = next(m for m in marks if m.kind == Kind.HIGH_WATERMARK)
    assert record_at(lane, body, 10_000.6) == 10_000
    assert record_at(lane, cursor, 0) == 9_870  # the next record the group reads
    assert record_at(lane, body, 10_240.0) is None  # past the last record
    assert record_at(lane, hw, 10_239) is None


def test_a_read_position_behind_the_commit_is_explained_as_records_still_being_worked_on():
    lane = lane_with([analytics(read=9_500)])
    read_mark = next(m for m in lane_marks(lane, 0, (9_000.0, 10_500.0), LaneBox(0, 100, 1_100))
                     if m.kind == Kind.READ)
    words = explain(lane, read_mark)
    assert "Behind its committed offset 9,870" in words
    assert "from offset 9,500" in words
    assert lane.groups[0].uncommitted == 0


def test_a_record_produced_from_the_app_is_ringed_on_its_lane_for_a_while():
    t = orders(hws=(100, 100))
    m = LogModel()
    m.set_topic("orders")
    m.highlight("orders", 1, 42, at=NOW - 1)
    m.update(snap([t], t=1.0))
    assert [ln.produced for ln in m.lanes] == [None, 42]
    marks = lane_marks(m.lanes[1], 1, (0.0, 100.0), LaneBox(0, 100, 1_100))
    ring = next(mk for mk in marks if mk.kind == Kind.PRODUCED)
    assert ring.offset == 42 and record_at(m.lanes[1], ring, 0) == 42
    assert "offset 42 of orders-1" in explain(m.lanes[1], ring)
    m.highlight("orders", 1, 42, at=NOW - 120)  # long ago: no longer marked
    m.update(snap([t], t=2.0))
    assert m.lanes[1].produced is None


# -- compaction and transactions (issue 14) -------------------------------------------


def _with(t, **fields):
    return dataclasses.replace(
        t, partitions=tuple(dataclasses.replace(p, **fields) for p in t.partitions)
    )


def test_a_compacted_lane_is_drawn_clean_then_dirty_and_says_what_the_cleaner_did():
    cleaner = monitor.CompactionSnapshot(
        clean_offset=600, dirty_end_offset=900, dirty_ratio=0.42, state="idle", passes=3,
        bytes_read=10_240, bytes_written=6_144, last_run_ms=int(NOW * 1000) - 5_000,
    )
    t = _with(orders(hws=(1_000,), bases=(0, 300, 600, 900)), compaction=cleaner)
    m = model_for(snap(topics=(t,)))
    lane = m.lanes[0]
    assert lane.compaction == cleaner
    box = LaneBox(0, 100, 1100)
    marks = lane_marks(lane, 0, (0, 1_000), box)
    clean = next(k for k in marks if k.kind == Kind.CLEAN)
    dirty = next(k for k in marks if k.kind == Kind.DIRTY)
    # Offsets [0, 600) cleaned, [600, 900) dirty; the active segment [900, ...) neither.
    assert (clean.offset, clean.end) == (0, 600)
    assert (dirty.offset, dirty.end) == (600, 900)
    assert clean.x1 == pytest.approx(dirty.x0) == pytest.approx(box.left + 600)
    words = explain(lane, clean)
    assert "Cleaned (compacted) part of orders-0: offsets 0 to 599" in words
    assert "run 3 times" in words and "4.0 KiB" in words
    assert "dirty ratio 0.42" in explain(lane, dirty)
    # A click on either opens the record under the pointer, as on the body.
    assert record_at(lane, dirty, 700.4) == 700


def test_a_running_cleaner_says_so_and_a_failed_run_says_why():
    cleaner = monitor.CompactionSnapshot(
        clean_offset=0, dirty_end_offset=900, dirty_ratio=0.9, state="cleaning", passes=0,
        bytes_read=0, bytes_written=0, last_run_ms=0, last_error="disk full", progress=0.25,
    )
    t = _with(orders(hws=(1_000,)), compaction=cleaner)
    lane = model_for(snap(topics=(t,))).lanes[0]
    dirty = next(k for k in lane_marks(lane, 0, (0, 1_000), LaneBox(0, 100, 1100))
                 if k.kind == Kind.DIRTY)
    words = explain(lane, dirty)
    assert "compacting it now (25% read)" in words and "Its last run failed: disk full" in words


def test_an_open_transaction_shows_the_last_stable_offset_and_aborted_ranges_are_hatched():
    t = _with(
        orders(hws=(1_000,)), last_stable_offset=940,
        aborted=(monitor.AbortedRange(7, 100, 199), monitor.AbortedRange(8, 5_000, 5_001)),
    )
    lane = model_for(snap(topics=(t,))).lanes[0]
    assert lane.stable_offset == 940 and lane.aborted == ((100, 199), (5_000, 5_001))
    marks = lane_marks(lane, 0, (0, 1_000), LaneBox(0, 100, 1100))
    kinds = [k.kind for k in marks]
    # The LSO is laid out before the high watermark (axis labels go left to right).
    assert kinds.index(Kind.STABLE) < kinds.index(Kind.HIGH_WATERMARK)
    unstable = next(k for k in marks if k.kind == Kind.UNSTABLE)
    assert (unstable.offset, unstable.end) == (940, 1_000)
    aborted = [k for k in marks if k.kind == Kind.ABORTED]
    # The range beyond the high watermark is not drawn.
    assert [(k.offset, k.end) for k in aborted] == [(100, 200)]
    stable = next(k for k in marks if k.kind == Kind.STABLE)
    words = explain(lane, stable)
    assert "Last stable offset of orders-0 = 940" in words and "60 records" in words
    assert "aborted" in explain(lane, aborted[0]) and "read_committed" in explain(lane, aborted[0])
    assert hit(marks, stable.cx, stable.y0 + 2).kind == Kind.STABLE


def test_a_stable_offset_at_the_high_watermark_draws_nothing():
    t = _with(orders(hws=(1_000,)), last_stable_offset=1_000)
    lane = model_for(snap(topics=(t,))).lanes[0]
    assert lane.stable_offset is None
    kinds = {k.kind for k in lane_marks(lane, 0, (0, 1_000), LaneBox(0, 100, 1100))}
    assert not kinds & {Kind.STABLE, Kind.UNSTABLE, Kind.CLEAN, Kind.DIRTY, Kind.ABORTED}
