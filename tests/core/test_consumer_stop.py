"""In-process consumers stop, and never starve the broker's loop: issue 9, items 1 and 1b.

Item 1: a consumer's poll task cancelled while records keep arriving must end (Python
3.11's ``asyncio.wait_for`` drops a cancel that lands as its future completes).
Item 1b: a deleted topic, a closed broker, or a consumer that is behind must never turn a
``getmany`` loop into a spin that keeps every other task (every client) off the loop.

"Did it suspend?" is asked without clocks: a callback scheduled with ``call_soon`` (or a
timer) before the call runs only if the call gave the loop back.

Issue 10: the consumer app (:mod:`core.clients.consumer_app`, moved out of the desktop)
never stops consuming unseen: a poll loop that fails, also while it is being closed, is
logged and leaves an ``error`` broker event; one that will not close is killed.
Every test stops what it started in a ``finally``.
"""

from __future__ import annotations

import asyncio

import pytest
from streamscope.core.broker import Broker
from streamscope.core.clients import Consumer
from streamscope.core.clients.consumer import attached_coordinator
from streamscope.core.clients.consumer_app import ConsumerApp, close_consumers
from streamscope.core.records import build_batch

from tests.core.helpers import (
    consumer,
    make_broker,
    produce_keyed,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)  # a regression would spin: fail instead of hanging


def append(broker: Broker, topic: str, partition: int, n: int = 1) -> None:
    broker.produce(topic, partition, build_batch([(None, b"x" * 20)] * n))


class Probe:
    """Scheduled now; ``ran`` tells whether the loop got control back since."""

    def __init__(self, delay: float = 0.0) -> None:
        self.ran = False
        loop = asyncio.get_running_loop()
        if delay:
            loop.call_later(delay, self._run)
        else:
            loop.call_soon(self._run)

    def _run(self) -> None:
        self.ran = True


async def stable(c: Consumer, tps: set[tuple[str, int]]) -> None:
    await wait_until(lambda: c.membership.status == "stable" and c.assignment() == tps,
                     what=f"{c.membership.client_id} to own {sorted(tps)}")


# --- item 1: a cancel is never lost ---------------------------------------------------------


async def test_a_wait_for_data_cancelled_as_data_arrives_is_cancelled(broker):
    broker.create_topic("t", 1)
    waiter = asyncio.create_task(broker.wait_for_data([("t", 0, 0)], 30))
    await asyncio.sleep(0)  # parked on the partition
    assert broker.partition("t", 0).waiters
    append(broker, "t", 0)  # completes the waiter's future...
    waiter.cancel()  # ...in the very step its task is cancelled
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert waiter.cancelled()


async def test_poll_tasks_cancelled_under_a_stream_of_appends_all_end(broker):
    broker.create_topic("t", 6)
    members = [consumer(broker, "g", f"c{i}", heartbeat_interval_ms=200) for i in range(3)]
    for c in members:
        await c.start()
    await wait_until(lambda: sum(len(c.assignment()) for c in members) == 6
                     and all(c.membership.status == "stable" for c in members),
                     what="a stable group")

    async def poll(c: Consumer) -> None:
        while True:
            await c.getmany(timeout_ms=500)

    async def stream() -> None:
        n = 0
        while True:
            append(broker, "t", n % 6, 5)
            n += 1
            await asyncio.sleep(0)

    producer = asyncio.create_task(stream())
    polls = [asyncio.create_task(poll(c)) for c in members]
    try:
        await wait_until(lambda: all(c.fetcher.records_consumed > 500 for c in members),
                         what="every member consuming")
        for task in polls:
            task.cancel()
            # asyncio.wait bounds the wait without relying on cancellation itself.
            done, _ = await asyncio.wait({task}, timeout=10)
            assert done, "a poll task swallowed its cancellation and kept polling"
            assert task.cancelled()
    finally:
        producer.cancel()
        for c, task in zip(members, polls, strict=True):
            if not task.done():
                c.kill()  # a poll loop that lost its cancel ends when getmany refuses
        await asyncio.wait({producer, *polls}, timeout=10)
        for c in members:
            await c.close()
    assert not broker.groups.snapshot()[0].members


# --- item 1b: every path suspends ------------------------------------------------------------


async def test_wait_for_data_on_a_deleted_topic_sleeps_out_its_timeout(broker):
    broker.create_topic("doomed", 1)
    broker.delete_topic("doomed")
    later = Probe(delay=0.05)
    await broker.wait_for_data([("doomed", 0, 0)], 0.2)
    assert later.ran, "returned at once for a partition no append can ever wake"


async def test_wait_for_data_suspends_when_data_is_already_there(broker):
    broker.create_topic("t", 1)
    append(broker, "t", 0)
    probe = Probe()
    await broker.wait_for_data([("t", 0, 0)], 5)
    assert probe.ran


async def test_wait_for_data_on_a_closed_broker_sleeps_out_its_timeout(tmp_path):
    b = await make_broker(tmp_path / "data")
    try:
        b.create_topic("t", 1)
        append(b, "t", 0, 3)
    finally:
        await b.close()
    later = Probe(delay=0.05)
    await b.wait_for_data([("t", 0, 0)], 0.2)
    assert later.ran


async def test_getmany_gives_the_loop_back_while_the_consumer_is_behind(broker):
    broker.create_topic("t", 1)
    await produce_keyed(broker, "t", 2000)
    c = consumer(broker, "g", "behind", max_poll_records=10)
    await c.start()
    try:
        await stable(c, {("t", 0)})
        for _ in range(5):
            probe = Probe()
            got = await c.getmany(timeout_ms=1000)
            assert got, "records were ready"
            assert probe.ran, "getmany handed out records without ever suspending"
    finally:
        await c.close()


async def test_a_consumer_drops_a_deleted_topic_rejoins_and_reads_the_rest(broker):
    broker.create_topic("doomed", 2)
    broker.create_topic("kept", 2)
    await produce_keyed(broker, "doomed", 20)
    c = consumer(broker, "g", "reader", topics=("doomed", "kept"))
    await c.start()
    try:
        await stable(c, {("doomed", 0), ("doomed", 1), ("kept", 0), ("kept", 1)})
        await wait_until(lambda: c.position(("doomed", 0)) is not None, what="positions")
        while await c.getmany(timeout_ms=100):
            pass  # caught up: nothing is buffered, "kept" is empty
        generation = c.membership.generation
        broker.delete_topic("doomed")
        probe = Probe()
        got = await c.getmany(timeout_ms=300)
        assert probe.ran, "getmany spun on the deleted partitions without suspending"
        assert got == {}
        assert not {tp for tp in c.assignment() if tp[0] == "doomed"}
        await wait_until(lambda: c.membership.generation > generation
                         and c.membership.status == "stable",
                         what="the consumer to rejoin")
        member = broker.groups.snapshot()[0].members[0]
        assert set(member.assignment) == {"kept"}
        await produce_keyed(broker, "kept", 10)
        seen: list[int] = []

        async def read() -> bool:
            for records in (await c.getmany(timeout_ms=200)).values():
                seen.extend(r.offset for r in records)
            return len(seen) >= 10

        for _ in range(100):
            if await read():
                break
        assert len(seen) == 10
    finally:
        await c.close()


async def test_a_consumer_behind_stops_cleanly_when_the_broker_closes_under_it(tmp_path):
    b = await make_broker(tmp_path / "data")
    c = consumer(b, "g", "behind", max_poll_records=10)
    try:
        b.create_topic("t", 1)
        await produce_keyed(b, "t", 1000)
        await c.start()
        await stable(c, {("t", 0)})
        assert await c.getmany(timeout_ms=1000)
        c.seek(("t", 0), 500)  # behind, with nothing buffered: the next read hits the log
    finally:
        await b.close()
    task: asyncio.Task | None = None
    try:
        probe = Probe()
        got = await c.getmany(timeout_ms=300)
        assert probe.ran, "getmany spun on the closed logs without suspending"
        assert got == {}

        async def poll() -> None:  # the app's loop: poll until the consumer is gone
            while c.membership.status not in ("closed", "dead"):
                await c.getmany(timeout_ms=100)

        task = asyncio.create_task(poll())
        done, _ = await asyncio.wait({task}, timeout=15)
        assert done, "the poll loop did not end after the broker closed"
        assert task.exception() is None
        assert c.membership.status == "dead"
        assert c.membership.last_error and "coordinator" in c.membership.last_error
        await c.close()  # idempotent on a dead consumer: returns at once
        assert not b.local_clients
    finally:
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=15)
        c.kill()


# --- issue 10: the consumer app never stops consuming unseen ------------------------------


def app(broker: Broker, client_id: str) -> ConsumerApp:
    return ConsumerApp(broker, attached_coordinator(broker), "g", ["t"],
                       client_id=client_id, assignor="range", offset_reset="earliest",
                       processing_delay_s=0.0)


def error_events(broker: Broker, client_id: str) -> list[str]:
    return [e.message for e in broker.events
            if e.kind == "error" and e.data.get("client_id") == client_id]


async def test_a_failing_membership_task_leaves_the_consumer_dead_and_says_so(broker):
    broker.create_topic("t", 1)
    failure = RuntimeError("an on_assigned callback failed")

    def on_assigned(_tps: set[tuple[str, int]]) -> None:
        raise failure

    c = consumer(broker, "g", "fragile", on_assigned=on_assigned)
    await c.start()
    try:
        await wait_until(lambda: c.membership.status == "dead", what="the consumer to die")
        assert c.membership.last_error == repr(failure)
        assert error_events(broker, "fragile") == [
            f"Consumer fragile of group g stopped: {failure!r}"]
        assert not broker.local_clients  # no longer listed as a live client
    finally:
        c.kill()


async def test_a_poll_loop_that_fails_is_logged_and_leaves_an_error_event(broker, caplog):
    broker.create_topic("t", 1)
    a = app(broker, "app-1")
    failure = RuntimeError("boom in the poll loop")

    async def broken(*_args: object, **_kwargs: object) -> dict:
        raise failure

    a.consumer.getmany = broken  # fault injection: the next poll raises
    await a.start()
    try:
        await wait_until(lambda: a.poll_error is not None, what="the poll loop to fail")
        assert a.poll_error is failure
        assert error_events(broker, "app-1") == [
            f"Consumer app-1 of group g stopped consuming: {failure!r}"]
        assert any(r.levelname == "ERROR" and r.exc_info and r.exc_info[1] is failure
                   for r in caplog.records)
    finally:
        await a.close()
    assert a.consumer.membership.status == "closed"


async def test_a_poll_loop_failing_as_close_stops_it_is_reported_and_the_member_still_leaves(
    broker,
):
    broker.create_topic("t", 1)
    a = app(broker, "app-2")

    async def fails_when_cancelled(*_args: object, **_kwargs: object) -> dict:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None
        return {}

    a.consumer.getmany = fails_when_cancelled
    await a.start()
    try:
        await stable(a.consumer, {("t", 0)})
        await a.close()
        assert isinstance(a.poll_error, RuntimeError)
        assert error_events(broker, "app-2") == [
            "Consumer app-2 of group g stopped consuming: RuntimeError('cleanup failed')"]
        assert a.consumer.membership.status == "closed"
        assert not broker.groups.group_info("g").members  # it still left (LeaveGroup)
    finally:
        a.kill()


async def test_close_consumers_kills_one_that_will_not_close_and_closes_the_rest(broker):
    broker.create_topic("t", 2)
    apps = [app(broker, "app-3"), app(broker, "app-4")]
    try:
        for a in apps:
            await a.start()
        await wait_until(lambda: all(a.consumer.membership.status == "stable"
                                     and len(a.consumer.assignment()) == 1 for a in apps),
                         what="one partition each")

        async def never() -> None:
            await asyncio.Event().wait()

        apps[0].consumer.close = never  # fault injection: this close never returns
        assert await close_consumers(apps, timeout_s=2.0) == ["app-3"]
        assert [a.consumer.membership.status for a in apps] == ["dead", "closed"]
        assert error_events(broker, "app-3") == [
            "Consumer app-3 did not leave group g gracefully and was killed"]
        assert error_events(broker, "app-4") == []
    finally:
        for a in apps:
            a.kill()
