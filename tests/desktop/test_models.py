"""Qt models over snapshots: valid models (qtmodeltester), updated by diffing, never reset."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from streamscope.desktop.models.api_requests_model import ApiRequestsModel
from streamscope.desktop.models.clients_model import ClientsModel
from streamscope.desktop.models.events_model import EventFilterModel, EventsModel
from streamscope.desktop.models.groups_model import GroupsModel, lag_level
from streamscope.desktop.models.lag_model import LagModel
from streamscope.desktop.models.members_model import MembersModel
from streamscope.desktop.models.partitions_model import PartitionsModel
from streamscope.desktop.models.topics_model import TopicsModel
from streamscope.desktop.theme import LIGHT

from tests.desktop.snapshots import connection, event, group, snapshot, topic


class SignalLog:
    """Counts the structural signals a model emits."""

    def __init__(self, model) -> None:
        self.events: list[tuple] = []
        model.modelReset.connect(lambda: self.events.append(("reset",)))
        model.rowsInserted.connect(lambda _p, a, b: self.events.append(("insert", a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.events.append(("remove", a, b)))
        model.dataChanged.connect(
            lambda tl, br, _roles=(): self.events.append(
                ("changed", tl.row(), tl.column(), br.row(), br.column())
            )
        )

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


def rich_snapshot():
    g = group(
        "map-app",
        members={"m-1": [("orders", 0), ("orders", 1)], "m-2": [("orders", 2)]},
        committed={("orders", 0): 90, ("orders", 1): 50},
    )
    empty = group("billing", committed={("payments", 0): 10})
    return snapshot(
        topics=[topic("orders", 3), topic("payments", 1)],
        groups=[g, empty],
        connections=[connection(1), connection(2, 40, "kcat")],
        events=[event(1), event(2, "member_joined", "m-1 joined map-app")],
    )


@pytest.mark.parametrize(
    "make, feed",
    [
        (TopicsModel, lambda m, s: m.update(s, {"orders": (10.0, 5.0, 1000.0, 500.0)})),
        (PartitionsModel, lambda m, s: m.update(s.topic("orders"))),
        (GroupsModel, lambda m, s: m.update(s)),
        (MembersModel, lambda m, s: m.update(s.group("map-app"))),
        (LagModel, lambda m, s: m.update(s.group("map-app"))),
        (ClientsModel, lambda m, s: m.update(s, {1: (3.0, 10.0, 20.0)})),
        (ApiRequestsModel, lambda m, s: m.update(s.connections[1])),
        (EventsModel, lambda m, s: m.update(s)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_every_model_passes_qt_model_tester(qtmodeltester, make, feed):
    model = make()
    feed(model, rich_snapshot())
    assert model.rowCount() > 0
    qtmodeltester.check(model, force_py=True)


def test_event_filter_proxy_passes_qt_model_tester(qtmodeltester):
    model = EventsModel()
    model.update(rich_snapshot())
    proxy = EventFilterModel()
    proxy.setSourceModel(model)
    proxy.set_kind("member_joined")
    assert proxy.rowCount() == 1
    qtmodeltester.check(proxy, force_py=True)


def test_topics_model_changes_cells_in_place_and_never_resets():
    model = TopicsModel()
    model.update(snapshot(topics=[topic("a"), topic("b")]))
    log = SignalLog(model)

    model.update(snapshot(topics=[topic("a"), topic("b", per_partition=200)]))
    assert log.kinds() == ["changed"]
    _, top, left, bottom, right = log.events[0]
    assert (top, bottom) == (1, 1)  # only b's row
    assert left == right == TopicsModel.MESSAGES or left <= TopicsModel.MESSAGES <= right
    assert model.index(1, TopicsModel.MESSAGES).data() == "600"

    log.events.clear()
    model.update(snapshot(topics=[topic("a"), topic("b", per_partition=200)]))
    assert log.events == []  # nothing changed: nothing emitted


def test_topics_model_inserts_and_removes_rows_by_key():
    model = TopicsModel()
    model.update(snapshot(topics=[topic("a"), topic("b"), topic("c")]))
    log = SignalLog(model)
    model.update(snapshot(topics=[topic("a"), topic("c"), topic("d")]))
    assert ("remove", 1, 1) in log.events
    assert ("insert", 2, 2) in log.events
    assert "reset" not in log.kinds()
    names = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert sorted(names) == ["a", "c", "d"]


def test_removing_scattered_rows_keeps_the_rest_in_order():
    model = TopicsModel()
    model.update(snapshot(topics=[topic(n) for n in "abcdefg"]))
    model.update(snapshot(topics=[topic(n) for n in "bdeg"]))
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == list("bdeg")
    assert [model.row_of(n) for n in "bdeg"] == [0, 1, 2, 3]


def test_raw_values_sort_numerically_while_display_is_formatted():
    from streamscope.desktop.models.table_model import SORT_ROLE

    model = TopicsModel()
    model.update(snapshot(topics=[topic("big", per_partition=1_000_000)]))
    cell = model.index(0, TopicsModel.MESSAGES)
    assert cell.data() == "3,000,000"
    assert cell.data(SORT_ROLE) == 3_000_000


def test_groups_model_judges_health_by_the_lag_trend_not_its_size():
    assert lag_level(0) == "ok"
    assert lag_level(5_000) == "warn"
    assert lag_level(50_000) == "bad"
    model = GroupsModel()
    model.set_theme(LIGHT)
    groups = [
        # A fast consumer at 5,000 msg/s trails by thousands: steady is keeping up.
        group("fast", {"m1": [("t", 0)]}, committed={("t", 0): 0}, hw=5_000),
        group("slow", {"m2": [("t", 0)]}, committed={("t", 0): 0}, hw=2_000),
        group("swamped", {"m3": [("t", 0)]}, committed={("t", 0): 0}, hw=50_000),
        group("draining", {"m4": [("t", 0)]}, committed={("t", 0): 0}, hw=50_000),
        group("new", {"m5": [("t", 0)]}, committed={("t", 0): 0}, hw=10),
    ]
    trends = {"fast": "steady", "slow": "growing", "swamped": "growing", "draining": "shrinking"}
    model.update(snapshot(groups=groups), trends)
    deco = Qt.ItemDataRole.DecorationRole
    fg = Qt.ItemDataRole.ForegroundRole

    def health(gid: str) -> str:
        return model.index(model.row_of(gid), GroupsModel.HEALTH).data()

    assert [health(g) for g in ("fast", "slow", "swamped", "draining", "new")] == [
        "keeping up", "falling behind", "far behind", "catching up", "measuring…"
    ]
    fast, slow, swamped = (model.row_of(g) for g in ("fast", "slow", "swamped"))
    assert model.index(fast, GroupsModel.LAG).data(fg) is None  # 5,000 behind, yet fine
    assert model.index(slow, GroupsModel.LAG).data(fg).name() == LIGHT.warn
    assert model.index(swamped, GroupsModel.LAG).data(fg).name() == LIGHT.bad
    # The dot lives in the Health column, under its own header, with words beside it.
    assert model.index(swamped, GroupsModel.LAG).data(deco) is None
    dots = {model.index(r, GroupsModel.HEALTH).data(deco).cacheKey() for r in (fast, slow, swamped)}
    assert len(dots) == 3
    assert "grown" in model.index(slow, GroupsModel.HEALTH).data(Qt.ItemDataRole.ToolTipRole)


def test_members_and_lag_models_agree_on_member_colours():
    g = rich_snapshot().group("map-app")
    members = MembersModel()
    members.set_theme(LIGHT)
    members.update(g)
    lag = LagModel()
    lag.set_theme(LIGHT)
    lag.update(g)
    deco = Qt.ItemDataRole.DecorationRole
    member_swatch = {
        members.key_at(r): members.index(r, 0).data(deco).pixmap(8, 8).toImage().pixel(4, 4)
        for r in range(members.rowCount())
    }
    assert len(set(member_swatch.values())) == len(member_swatch) > 1  # one colour each
    checked = 0
    for r in range(lag.rowCount()):
        cell = lag.values_at(r)[LagModel.MEMBER]
        if cell is None:
            continue
        swatch = lag.index(r, LagModel.MEMBER).data(deco).pixmap(8, 8).toImage().pixel(4, 4)
        assert swatch == member_swatch[cell[1]], f"partition row {r} coloured unlike its member"
        checked += 1
    assert checked == sum(len(m.assignment) for m in g.members)


def test_a_group_with_no_members_is_not_said_to_keep_up():
    model = GroupsModel()
    model.set_theme(LIGHT)
    model.update(snapshot(groups=[group("orphan", committed={("t", 0): 10}, hw=500)]))
    row = model.row_of("orphan")
    assert model.index(row, GroupsModel.HEALTH).data() == "no members"
    assert "No member is consuming" in model.index(row, GroupsModel.HEALTH).data(
        Qt.ItemDataRole.ToolTipRole
    )
    assert model.index(row, GroupsModel.HEALTH).data(Qt.ItemDataRole.ForegroundRole).name() == (
        LIGHT.muted
    )


def test_events_model_appends_only_new_events_and_stays_bounded():
    model = EventsModel(max_rows=5)
    log = SignalLog(model)
    model.update(snapshot(events=[event(1), event(2)]))
    model.update(snapshot(events=[event(1), event(2)]))  # the same: nothing new
    assert model.rowCount() == 2
    assert log.kinds() == ["insert"]
    model.update(snapshot(events=[event(i) for i in range(1, 10)]))
    assert model.rowCount() == 5
    assert [model.event_at(r).seq for r in range(5)] == [5, 6, 7, 8, 9]
    assert "reset" not in log.kinds()


def test_event_filter_by_text_and_kind():
    model = EventsModel()
    model.update(
        snapshot(
            events=[
                event(1, "topic_created", "Topic orders created"),
                event(2, "topic_created", "Topic gps created"),
                event(3, "error", "disk full"),
            ]
        )
    )
    proxy = EventFilterModel()
    proxy.setSourceModel(model)
    proxy.set_text("GPS")
    assert proxy.rowCount() == 1
    proxy.set_text("")
    proxy.set_kind("error")
    assert proxy.rowCount() == 1
    proxy.set_kind(None)
    assert proxy.rowCount() == 3
