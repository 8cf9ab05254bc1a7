"""Lesson 6's engines: the database sink, the direct writer and the race between them.

Transactions are counted on disk: every commit in WAL mode appends frames whose last
carries the database size (a "commit frame"), so the -wal file tells how many
transactions a writer made, whatever its counters say.
"""

from __future__ import annotations

import asyncio
import sqlite3
import struct
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from streamscope.core.broker import Broker
from streamscope.core.sim.city import generate_city
from streamscope.core.sim.database import (
    DatabaseSink,
    DbRaceSample,
    DirectWriter,
    run_db_race,
)
from streamscope.core.sim.partners import Fleet, LocationUpdate, encode_update

from tests.core.helpers import groups_of, wait_until

WALL_S = 1_800_000_000.0


def _updates(n: int, seed: int = 4) -> list[LocationUpdate]:
    fleet = Fleet(generate_city(seed), 5, seed=seed)
    return [fleet.next_update(WALL_S * 1000 + i * 10) for i in range(n)]


def _wal_commits(db: Path) -> int:
    """Commit frames in the current generation of ``db``'s write-ahead log."""
    data = Path(f"{db}-wal").read_bytes()
    if len(data) < 32:
        return 0
    page_size = struct.unpack_from(">I", data, 8)[0]
    salts = data[16:24]
    commits, pos = 0, 32
    while pos + 24 + page_size <= len(data):
        if data[pos + 8:pos + 16] != salts:
            break  # a frame left over from an earlier generation of the log
        if struct.unpack_from(">I", data, pos + 4)[0]:
            commits += 1
        pos += 24 + page_size
    return commits


@asynccontextmanager
async def open_sink(db: Path, **kw: object) -> AsyncIterator[DatabaseSink]:
    """A :class:`DatabaseSink` writing ``db``, closed on exit."""
    sink = DatabaseSink(db, **kw)  # type: ignore[arg-type]
    try:
        yield sink
    finally:
        await sink.close()


def _rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT partner, seq FROM locations ORDER BY rowid").fetchall()


async def test_sink_writes_each_batch_in_one_transaction(tmp_path: Path) -> None:
    db = tmp_path / "sink.db"
    updates = _updates(16)
    async with open_sink(db, wall=lambda: WALL_S + 2) as sink:
        await sink.process([(u, WALL_S * 1000) for u in updates[:5]])
        first = _wal_commits(db)  # the schema and the first batch
        await sink.process([(u, WALL_S * 1000) for u in updates[5:15]])
        await sink.process([(u, WALL_S * 1000) for u in updates[15:]])
        assert _wal_commits(db) - first == 2  # ten rows, then one row: a commit each
        view = sink.view()
        assert (view.rows, view.transactions, view.offered, view.backlog) == (16, 3, 16, 0)
        assert view.p99_ms == 2000.0  # committed at wall +2 s, produced at wall
        assert [(u.partner, u.seq) for u in updates] == await asyncio.to_thread(_rows, db)


async def test_sink_serializes_batches_of_concurrent_members(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    updates = _updates(40)
    async with open_sink(db) as sink:
        await asyncio.gather(*(sink.process([(u, 0.0) for u in updates[i:i + 10]])
                               for i in range(0, 40, 10)))
        assert (sink.view().rows, sink.view().transactions) == (40, 4)
        assert sorted(await asyncio.to_thread(_rows, db)) == sorted(
            (u.partner, u.seq) for u in updates)


async def test_direct_writer_commits_every_update_on_its_own(tmp_path: Path) -> None:
    db = tmp_path / "direct.db"
    writer = DirectWriter(db)
    updates = _updates(20)
    writer.start()
    try:
        assert writer.offer(updates[0], WALL_S * 1000)
        await wait_until(lambda: writer.view().rows == 1, what="the first row")
        first = _wal_commits(db)
        for u in updates[1:10]:
            assert writer.offer(u, WALL_S * 1000)
        for u in updates[10:]:  # as the partner's app sent it: the writer decodes it
            assert writer.offer_encoded(encode_update(u), WALL_S * 1000)
        await wait_until(lambda: writer.view().rows == 20, what="twenty rows")
        assert _wal_commits(db) - first == 19
        view = writer.view()
        assert (view.transactions, view.offered, view.refused, view.backlog) == (20, 20, 0, 0)
        assert [(u.partner, u.seq) for u in updates] == await asyncio.to_thread(_rows, db)
    finally:
        await writer.close()
    assert writer.error is None


async def test_direct_writer_counts_backlog_and_refuses_past_its_queue(tmp_path: Path) -> None:
    writer = DirectWriter(tmp_path / "direct.db", queue_max=5)
    updates = _updates(8)
    try:
        # Not started yet: nothing is written, so the queue fills and then refuses.
        accepted = [writer.offer(u, 0.0) for u in updates]
        assert accepted == [True] * 5 + [False] * 3
        view = writer.view()
        assert (view.offered, view.rows, view.refused, view.backlog) == (8, 0, 3, 8)
        writer.start()
        await wait_until(lambda: writer.view().rows == 5, what="the queued rows")
        view = writer.view()
        # The refused updates were never written: they stay in the backlog, counted.
        assert (view.offered, view.rows, view.refused, view.backlog) == (8, 5, 3, 3)
    finally:
        await writer.close()


async def test_db_race_direct_path_falls_behind_the_broker_path_at_the_top_step(
    broker: Broker, tmp_path: Path,
) -> None:
    groups = groups_of(broker)
    samples: list[DbRaceSample] = []
    result = await run_db_race(
        broker, groups, data_dir=tmp_path / "race", steps=(200, 5000), step_s=2.0,
        drain_s=60.0, partners=20, on_sample=samples.append,
    )
    print("\n" + result.table())  # the figures, in the test's output (pytest -s)
    top = result.top
    assert [s.label for s in result.steps] == ["200/s", "5000/s", "drain"]
    assert top.direct.offered == top.broker.offered > 0  # one stream, both paths
    assert top.direct.writes_per_s < top.broker.writes_per_s, result.table()
    assert top.direct.backlog > top.broker.backlog, result.table()
    drain = result.steps[-1]
    # After the load, both paths catch up: everything produced is in both databases.
    assert drain.direct.backlog == 0 and drain.broker.backlog == 0, result.table()
    assert drain.direct.refused == 0
    assert top.direct.p99_ms is not None and top.broker.p99_ms is not None
    assert top.direct.p99_ms > top.broker.p99_ms, result.table()
    assert samples and samples[-1].label == "drain"
    assert samples[-1].direct.rows == samples[-1].broker.rows == samples[-1].direct.offered
    assert (tmp_path / "race" / "direct.db").exists()
    assert (tmp_path / "race" / "via-broker.db").exists()


async def test_sink_without_a_path_writes_to_a_temp_file_it_removes_on_close() -> None:
    sink = DatabaseSink()
    assert sink.view().path == ""
    await sink.process([(u, 0.0) for u in _updates(3)])
    db = Path(sink.view().path)
    assert len(await asyncio.to_thread(_rows, db)) == 3
    await sink.close()
    assert not db.parent.exists()


async def test_db_race_cancelled_midway_stops_everything_and_can_run_again(
    broker: Broker, tmp_path: Path,
) -> None:
    groups = groups_of(broker)
    samples: list[DbRaceSample] = []
    race = asyncio.create_task(run_db_race(
        broker, groups, data_dir=tmp_path / "race", steps=(300,), step_s=60.0, partners=5,
        on_sample=samples.append,
    ))
    await wait_until(lambda: bool(samples) and samples[-1].direct.rows > 0,
                     what="the race writing")
    assert any(c.client_id == "streamscope-db-writer" for c in broker.local_clients.values())
    assert any(t.name == "direct-db-writer" for t in threading.enumerate())
    race.cancel()
    try:
        await race
    except asyncio.CancelledError:
        pass
    assert race.cancelled()
    assert not any(t.name == "direct-db-writer" for t in threading.enumerate())
    assert not any(c.client_id == "streamscope-db-writer" for c in broker.local_clients.values())
    # A restart (as a lesson's) starts clean: a fresh topic, fresh files.
    again = await run_db_race(broker, groups, data_dir=tmp_path / "race", steps=(100,),
                              step_s=0.5, drain_s=30.0, partners=5)
    step, drain = again.steps
    assert step.direct.offered == step.broker.offered > 0
    assert drain.direct.backlog == drain.broker.backlog == 0
    total = await asyncio.to_thread(_rows, tmp_path / "race" / "via-broker.db")
    assert len(total) == step.broker.offered
