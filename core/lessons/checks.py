"""The assertion kinds of a lesson: what each one looks at, and the figures it reports.

Contract:

* :func:`evaluate` looks once at the world (a :class:`CheckContext`: the scenario's view,
  the broker's logs, what the player recorded: kills, experiment results) and returns an
  :class:`Outcome`: whether the condition holds now, the figures behind the verdict
  (name, value text: shown by the GUI and printed by ``--check``) and a one-line summary.
  The player calls it repeatedly until it holds or the assertion's ``within`` runs out;
  ``memo`` is a dict kept across those calls (e.g. the peak lag seen while waiting).
* Nothing here waits for time or changes the world. Partition counts and reading a topic
  back (``ordered``, ``scattered``, ``compacted``) go through ``CheckContext.topics``, the
  scenario (:meth:`Scenario.read_topic` reads the embedded broker's log;
  ``ExternalScenario.read_topic`` reads a cluster with an assigned consumer), so those
  checks hold on an external cluster too. ``compacted`` also needs the embedded broker
  (``CheckContext.broker``: its segments); without it the check fails saying so.
* Conditions are chosen so they cannot hold by accident on the way: ``equal_counts``
  needs the partners to have stopped (their ``limit`` reached) and every group to have
  processed every update sent; ``delivery`` judges only once the
  partners stopped and the group caught up (lag 0, every live member stable, no crash
  still armed); ``reassigned`` needs every live member stable and owning the dead
  member's partitions between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from streamscope.core.broker import Broker
from streamscope.core.lessons.model import (
    AckDropCheck,
    Check,
    CompactedCheck,
    DbRaceCheck,
    DeliveryCheck,
    EqualCountsCheck,
    Expect,
    IdleConsumersCheck,
    LagAboveCheck,
    LagZeroCheck,
    OrderedCheck,
    ReassignedCheck,
    ScatteredCheck,
    TransformCheck,
)
from streamscope.core.sim.consumers import AppView, MemberView
from streamscope.core.sim.partners import decode_update
from streamscope.core.sim.scenario import ScenarioView

if TYPE_CHECKING:
    from streamscope.core.sim.database import DbRaceResult
    from streamscope.core.sim.eos import TransformResult
    from streamscope.core.sim.faults import AckDropResult

Figures = tuple[tuple[str, str], ...]
TopicPartition = tuple[str, int]
_GONE = ("dead", "closed")


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    figures: Figures
    summary: str


@dataclass(frozen=True, slots=True)
class KillRecord:
    """A member killed by the lesson, as the group was just before the kill."""

    client_id: str
    partitions: tuple[TopicPartition, ...]  # what it owned
    owners: dict[TopicPartition, str]  # every partition's owner (client id) before the kill
    at: float  # lesson clock time of the kill


class TopicReader(Protocol):
    """What the checks read from the target cluster (``Scenario`` and ``ExternalScenario``)."""

    async def partition_count(self, topic: str) -> int | None: ...

    async def read_topic(self, topic: str, *, offsets: bool = False) -> list[list[tuple]]: ...


@dataclass(slots=True)
class CheckContext:
    view: Callable[[], ScenarioView]
    topics: TopicReader  # the scenario: partition counts, records read back
    broker: Broker | None  # the embedded broker (None on an external cluster)
    now: Callable[[], float]  # the lesson clock, seconds
    kills: dict[str, KillRecord] = field(default_factory=dict)  # group -> the last kill
    crash_armed: Callable[[str], bool] = lambda group: False
    # Each partner's last update sent (partner id -> seq), for the compaction check.
    last_sent: Callable[[], dict[str, int]] = lambda: {}
    db_race: DbRaceResult | None = None
    ack_drop: dict[bool, AckDropResult] = field(default_factory=dict)  # by idempotent
    transform: dict[bool, TransformResult] = field(default_factory=dict)  # by exactly_once


async def evaluate(check: Check, ctx: CheckContext, memo: dict[str, int]) -> Outcome:
    if isinstance(check, EqualCountsCheck):
        return _equal_counts(check, ctx.view())
    if isinstance(check, IdleConsumersCheck):
        return await _idle(check, ctx)
    if isinstance(check, ReassignedCheck):
        return _reassigned(check, ctx)
    if isinstance(check, LagZeroCheck | LagAboveCheck):
        return _lag(check, ctx, memo)
    if isinstance(check, DeliveryCheck):
        return _delivery(check, ctx)
    if isinstance(check, OrderedCheck):
        return await _ordered(check, ctx.topics)
    if isinstance(check, ScatteredCheck):
        return await _scattered(check, ctx.topics)
    if isinstance(check, CompactedCheck):
        return await _compacted(check, ctx)
    if isinstance(check, DbRaceCheck):
        return _db_race(ctx.db_race)
    if isinstance(check, AckDropCheck):
        return _ack_drop(ctx.ack_drop)
    if isinstance(check, TransformCheck):
        return _transform(ctx.transform)
    raise TypeError(f"not a check: {check!r}")  # pragma: no cover - the model lists them


# --- the checks -------------------------------------------------------------------------


def _app(view: ScenarioView, group: str) -> AppView | None:
    for app in view.apps:
        if app.group == group:
            return app
    return None


def _missing(group: str) -> Outcome:
    return Outcome(False, (("group", group),), f"no app with group {group!r} is running")


def _live(app: AppView) -> list[MemberView]:
    return [m for m in app.members if m.status not in _GONE]


def _equal_counts(check: EqualCountsCheck, view: ScenarioView) -> Outcome:
    sent = view.partners.sent if view.partners is not None else 0
    running = view.partners is not None and view.partners.running
    figures: list[tuple[str, str]] = [
        ("updates sent", f"{sent}{' so far (partners still sending)' if running else ''}")]
    counts = []
    for group in check.groups:
        app = _app(view, group)
        if app is None:
            return _missing(group)
        unique = app.delivery.updates - app.delivery.duplicates
        counts.append(unique)
        figures.append((group, f"{unique} updates ({app.delivery.duplicates} duplicates)"))
    ok = sent > 0 and not running and all(c == sent for c in counts)
    summary = ("every group processed all " if ok else "not every group processed all ") + (
        f"{sent} updates: " + ", ".join(f"{g} {c}" for g, c in zip(check.groups, counts,
                                                                   strict=True)))
    return Outcome(ok, tuple(figures), summary)


async def _idle(check: IdleConsumersCheck, ctx: CheckContext) -> Outcome:
    app = _app(ctx.view(), check.group)
    if app is None:
        return _missing(check.group)
    live = _live(app)
    partitions = await ctx.topics.partition_count(app.topic) or 0
    owned = {tp for m in live for tp in m.assignment}
    idle = [m.client_id for m in live if m.idle]
    stable = bool(live) and all(m.status == "stable" for m in live)
    ok = stable and len(owned) == partitions and len(idle) == check.count
    figures = (
        ("consumers", str(len(live))), ("partitions", str(partitions)),
        ("idle", f"{len(idle)} ({', '.join(idle) or 'none'})"),
        ("group", "stable" if stable else "rebalancing"),
    )
    return Outcome(ok, figures, f"{check.group}: {len(live)} consumers, {partitions}"
                   f" partitions, {len(idle)} idle (expected {check.count})")


def _reassigned(check: ReassignedCheck, ctx: CheckContext) -> Outcome:
    group = check.group
    kill = ctx.kills.get(group)
    if kill is None:
        return Outcome(False, (), f"no consumer of {group} was killed before this check")
    app = _app(ctx.view(), group)
    if app is None:
        return _missing(group)
    live = [m for m in _live(app) if m.client_id != kill.client_id]
    owner = {tp: m.client_id for m in live for tp in m.assignment}
    stable = bool(live) and all(m.status == "stable" for m in live)
    taken = {tp: owner.get(tp) for tp in kill.partitions}
    moved = sorted(tp for tp, before in kill.owners.items()
                   if before != kill.client_id and tp in owner and owner[tp] != before)
    ok = stable and all(taken.values())
    if ok and check.max_moved is not None:
        ok = len(moved) <= check.max_moved
    figures = (
        ("killed", f"{kill.client_id} (owned {_tps(kill.partitions)})"),
        ("its partitions now", ", ".join(f"{p} -> {o or 'nobody'}" for (_t, p), o in sorted(
            taken.items())) or "-"),
        ("moved between survivors", f"{len(moved)}" + (f" ({_tps(moved)})" if moved else "")),
        ("since the kill", f"{ctx.now() - kill.at:.1f} s"),
    )
    what = "reassigned to live members" if ok else "not reassigned yet"
    return Outcome(ok, figures, f"{group}: {kill.client_id}'s partitions {what};"
                   f" {len(moved)} other partition{'' if len(moved) == 1 else 's'} moved")


def _tps(tps: Iterable[TopicPartition]) -> str:
    parts = sorted(p for _t, p in tps)
    if not parts:
        return "no partition"
    return ("partition " if len(parts) == 1 else "partitions ") + ", ".join(map(str, parts))


def _lag(check: LagZeroCheck | LagAboveCheck, ctx: CheckContext, memo: dict[str, int]) -> Outcome:
    app = _app(ctx.view(), check.group)
    if app is None:
        return _missing(check.group)
    memo["peak"] = max(memo.get("peak", 0), app.lag)
    figures = (("lag", f"{app.lag} records"), ("peak while waiting", f"{memo['peak']} records"),
               ("processed", str(app.processed)))
    if isinstance(check, LagZeroCheck):
        ok = app.lag == 0 and app.processed > 0
        return Outcome(ok, figures, f"{check.group}: lag {app.lag}"
                       + (" (caught up)" if ok else " (behind)"))
    ok = app.lag >= check.min
    return Outcome(ok, figures, f"{check.group}: lag {app.lag}, peak {memo['peak']}"
                   f" (expected at least {check.min})")


def _expect(expect: Expect | None, value: int) -> bool:
    return expect is None or (value > 0 if expect == ">0" else value == 0)


def _delivery(check: DeliveryCheck, ctx: CheckContext) -> Outcome:
    view = ctx.view()
    app = _app(view, check.group)
    if app is None:
        return _missing(check.group)
    live = _live(app)
    running = view.partners is not None and view.partners.running
    armed = ctx.crash_armed(check.group)
    settled = (not running and app.lag == 0 and not armed and bool(live)
               and all(m.status == "stable" for m in live))
    d = app.delivery
    ok = settled and _expect(check.duplicates, d.duplicates) and _expect(check.lost, d.lost)
    figures = (
        ("processed", f"{d.updates} updates"), ("duplicates", str(d.duplicates)),
        ("lost", str(d.lost)), ("commit", app.commit),
        ("state", "settled" if settled else "partners running" if running
         else "crash armed" if armed else "catching up"),
    )
    want = ", ".join(f"{name} {exp}" for name, exp in (("duplicates", check.duplicates),
                                                       ("lost", check.lost)) if exp)
    return Outcome(ok, figures, f"{check.group} (commit {app.commit}): duplicates"
                   f" {d.duplicates}, lost {d.lost} (expected {want or 'anything'})")


# --- reading a topic back -----------------------------------------------------------


async def _compacted(check: CompactedCheck, ctx: CheckContext) -> Outcome:
    broker = ctx.broker
    if broker is None:
        return Outcome(False, (), "compaction is checked on the embedded broker's log"
                       " segments: this lesson runs only there")
    partitions = await ctx.topics.read_topic(check.topic, offsets=True)
    sent = ctx.last_sent()
    count = broker.topic_partition_count(check.topic) or 0
    twice: set[str] = set()  # keys seen more than once below the active segment
    latest: dict[str, int] = {}  # partner -> newest seq in the log
    records = below = 0
    for p in range(count):
        active = _active_base(broker, check.topic, p)
        seen: set[bytes | None] = set()
        for offset, key, value in partitions[p] if p < len(partitions) else ():
            records += 1
            if offset < active:
                below += 1
                if key in seen:
                    twice.add(key.decode(errors="replace") if key else "(no key)")
                seen.add(key)
            for _k, partner, seq in _updates([(key, value)]):
                latest[partner] = max(seq, latest.get(partner, -1))
    stale = sorted((k for k, seq in sent.items() if latest.get(k) != seq), key=_partner_index)
    sent_total = sum(seq + 1 for seq in sent.values())
    ok = records > 0 and bool(sent) and not twice and not stale
    figures = (
        ("updates sent", str(sent_total)),
        ("records left in the log", str(records)),
        ("partners", f"{len(sent)} sent, {len(latest)} in the log"),
        ("keys twice in the cleanable part", str(len(twice))),
        ("partners whose latest update is missing", ", ".join(stale[:3]) or "none"),
    )
    return Outcome(ok, figures, f"{check.topic}: {records} records left of {sent_total} sent;"
                   f" keys twice below the active segment: {len(twice)};"
                   f" latest update of every partner kept: {'yes' if not stale else 'no'}")


def _active_base(broker: Broker, topic: str, partition: int) -> int:
    """The base offset of the partition's active segment (never compacted)."""
    infos = broker.partition(topic, partition).log.segment_infos()
    return infos[-1].base_offset if infos else 0


def _updates(pairs: list[tuple[bytes | None, bytes | None]]) -> list[tuple[bytes | None, str, int]]:
    out = []
    for key, value in pairs:
        if value is None:
            continue
        try:
            u = decode_update(value)
        except ValueError:
            continue
        out.append((key, u.partner, u.seq))
    return out


async def _ordered(check: OrderedCheck, topics: TopicReader) -> Outcome:
    partitions = await topics.read_topic(check.topic)
    homes: dict[str, set[int]] = {}
    out_of_order = 0
    wrong_key = 0
    records = 0
    for p, pairs in enumerate(partitions):
        last: dict[str, int] = {}
        for key, partner, seq in _updates(pairs):
            records += 1
            homes.setdefault(partner, set()).add(p)
            if key != partner.encode():
                wrong_key += 1
            if partner in last and seq <= last[partner]:
                out_of_order += 1
            last[partner] = seq
    spread = sorted(k for k, v in homes.items() if len(v) > 1)
    used = sorted({p for v in homes.values() for p in v})
    ok = (records > 0 and not spread and out_of_order == 0 and wrong_key == 0
          and check.records in (None, records))
    sample = sorted(homes, key=_partner_index)[:3]
    figures = (
        ("records", str(records)), ("partners", str(len(homes))),
        ("partitions used", f"{len(used)} of {len(partitions)}"),
        ("partners in more than one partition", str(len(spread))),
        ("out of order within a partition", str(out_of_order)),
        ("for example", "; ".join(f"{k} -> partition {min(homes[k])}" for k in sample) or "-"),
    )
    return Outcome(ok, figures, f"{check.topic}: {records} updates of {len(homes)} partners;"
                   f" each partner in one partition: {'yes' if not spread else 'no'};"
                   f" out of order: {out_of_order}")


async def _scattered(check: ScatteredCheck, topics: TopicReader) -> Outcome:
    partitions = await topics.read_topic(check.topic)
    homes: dict[str, set[int]] = {}
    records = 0
    keyed = 0
    for p, pairs in enumerate(partitions):
        for key, partner, _seq in _updates(pairs):
            records += 1
            keyed += key is not None
            homes.setdefault(partner, set()).add(p)
    used = sorted({p for v in homes.values() for p in v})
    spread = [k for k, v in homes.items() if len(v) > 1]
    ok = (records > 0 and keyed == 0 and len(used) >= check.min_partitions and bool(spread)
          and check.records in (None, records))
    example = min(spread, key=_partner_index) if spread else None
    figures = (
        ("records without a key", str(records - keyed)),
        ("partitions used", f"{len(used)} of {len(partitions)} ({', '.join(map(str, used))})"),
        ("partners in more than one partition", f"{len(spread)} of {len(homes)}"),
        ("for example", f"{example} in partitions {', '.join(map(str, sorted(homes[example])))}"
         if example else "-"),
    )
    return Outcome(ok, figures, f"{check.topic}: {records} updates without a key over"
                   f" {len(used)} partitions; {len(spread)} partners split across partitions")


def _partner_index(partner: str) -> tuple[int, str]:
    _, _, n = partner.rpartition("-")
    return (int(n) if n.isdigit() else 1 << 30, partner)


# --- experiments --------------------------------------------------------------------


def _rate(x: float) -> str:
    return f"{x:,.0f}/s"


def _ms(x: float | None, lower_bound: bool = False) -> str:
    if x is None:
        return "-"
    return (">" if lower_bound else "") + f"{x:,.0f} ms"


def _db_race(result: DbRaceResult | None) -> Outcome:
    if result is None:
        return Outcome(False, (), "the database race has not run (a db_race action first)")
    figures = []
    for s in result.steps:
        d, b = s.direct, s.broker
        figures.append((
            f"load {s.label}",
            f"direct {_rate(d.writes_per_s)} p99 {_ms(d.p99_ms, d.p99_lower_bound)}"
            f" backlog {d.backlog} | broker {_rate(b.writes_per_s)}"
            f" p99 {_ms(b.p99_ms, b.p99_lower_bound)} lag {b.backlog}",
        ))
    top = result.top
    ok = top.direct.writes_per_s < top.broker.writes_per_s
    verdict = "below" if ok else "NOT below"
    return Outcome(ok, tuple(figures), f"at {top.label}: direct {_rate(top.direct.writes_per_s)}"
                   f" {verdict} the broker path's {_rate(top.broker.writes_per_s)}"
                   f" (direct backlog {top.direct.backlog}, broker lag {top.broker.backlog})")


def _ack_drop(results: dict[bool, AckDropResult]) -> Outcome:
    plain, idem = results.get(False), results.get(True)
    figures = []
    for r in (plain, idem):
        if r is not None:
            figures.append((
                "idempotent" if r.idempotent else "not idempotent",
                f"{r.records} sent, {r.dropped} acks dropped, {r.in_log} in the log,"
                f" {r.duplicates} duplicates, {r.missing} missing",
            ))
    if plain is None or idem is None:
        return Outcome(False, tuple(figures), "both ack_drop runs (idempotent false and true)"
                       " must run before this check")
    ok = plain.duplicates > 0 and idem.duplicates == 0 and idem.missing == 0
    return Outcome(ok, tuple(figures), f"duplicates without idempotence {plain.duplicates},"
                   f" with idempotence {idem.duplicates}")


def _transform(results: dict[bool, TransformResult]) -> Outcome:
    alo, eos = results.get(False), results.get(True)
    figures = []
    for r in (alo, eos):
        if r is not None:
            figures.append((
                "exactly once" if r.exactly_once else "at least once",
                f"{r.records} updates in, crash after {r.crashed_after} outputs;"
                f" read_committed sees {r.committed_view} ({r.duplicates} duplicates,"
                f" {r.missing} missing); {r.aborted} aborted in the log",
            ))
    if alo is None or eos is None:
        return Outcome(False, tuple(figures), "both transform runs (exactly_once false and"
                       " true) must run before this check")
    ok = (alo.duplicates > 0 and alo.missing == 0 and eos.duplicates == 0
          and eos.missing == 0 and eos.aborted > 0)
    return Outcome(ok, tuple(figures), f"duplicates downstream: at least once {alo.duplicates},"
                   f" exactly once {eos.duplicates}")
