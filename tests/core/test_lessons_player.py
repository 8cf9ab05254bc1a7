"""``LessonPlayer`` on a real broker: next, previous (clean restart and replay), restart,
hurrying a step, slow motion, failed assertions and actions (core/lessons/player.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from streamscope.core.broker import Broker
from streamscope.core.groups.clock import ManualClock
from streamscope.core.lessons import LessonPlayer, parse_lesson
from streamscope.core.lessons.checks import CheckContext, evaluate
from streamscope.core.lessons.model import CompactedCheck, LessonError
from streamscope.core.sim.scenario import Scenario

from tests.core.helpers import open_player, scenario_on, wait_until

pytestmark = pytest.mark.timeout(120)

TINY = """
name = "tiny"
title = "Tiny"
seed = 5
topics = ["t"]
intro = "Before anything."

[[steps]]
caption = "Partners send 200 updates; two groups read them all."
actions = [
  { do = "create_topic", topic = "t", partitions = 3 },
  { do = "start_partners", topic = "t", partners = 5, rate = 500, limit = 200 },
  { do = "add_app", kind = "counter", group = "a", topic = "t" },
  { do = "add_app", kind = "counter", group = "b", topic = "t" },
  { do = "assert", check = "equal_counts", groups = ["a", "b"], within = 60 },
]

[[steps]]
caption = "A second consumer joins a."
actions = [
  { do = "add_consumer", group = "a" },
  { do = "assert", check = "idle_consumers", group = "a", count = 0, within = 60 },
]

[[steps]]
caption = "A long pause, then a consumer of a leaves."
actions = [
  { do = "wait", seconds = 600 },
  { do = "remove_consumer", group = "a" },
]
"""


def lesson(text: str = TINY):
    return parse_lesson(text, "tiny.toml")


@pytest.fixture
async def scenario(broker: Broker) -> AsyncIterator[Scenario]:
    async with scenario_on(broker, seed=5, delete_topics=["t"]) as sc:
        yield sc


def live(scenario: Scenario, group: str) -> int:
    return len(scenario.app(group).live_members())


async def test_next_plays_the_steps_in_order_with_their_assertions_and_figures(scenario):
    async with open_player(scenario, lesson()) as player:
        view = player.view()
        assert (view.step, view.count, view.status, view.caption) == (-1, 3, "ready",
                                                                      "Before anything.")
        view = await player.next()
        assert (view.step, view.status) == (0, "done")
        assert view.caption.startswith("Partners send 200")
        (result,) = view.results
        assert result.ok and result.check == "equal_counts" and result.step == 0
        figures = dict(result.figures)
        assert figures["updates sent"] == "200"
        assert figures["a"].startswith("200 updates") and figures["b"].startswith("200 updates")
        print(result.line(), result.figures)

        view = await player.next()
        assert (view.step, view.status) == (1, "done") and view.results[0].ok
        assert dict(view.results[0].figures)["consumers"] == "2"
        assert live(scenario, "a") == 2


async def test_next_during_a_long_wait_hurries_the_step_to_its_end(scenario):
    async with open_player(scenario, lesson()) as player:
        await player.next()
        await player.next()
        third = asyncio.create_task(player.next())  # sits in its 600 s wait
        await wait_until(lambda: player.view().step == 2, what="the third step to start")
        assert not third.done()
        view = await player.next()  # hurries the wait; the step's last action still runs
        await third
        assert (view.step, view.status) == (2, "finished")
        assert live(scenario, "a") == 1
        assert (await player.next()).step == 2  # nothing after the last step


async def test_previous_restarts_clean_and_replays_to_the_same_counts(scenario):
    async with open_player(scenario, lesson()) as player:
        await player.next()
        first = scenario.view().partners
        assert first is not None and first.sent == 200
        await player.next()
        assert live(scenario, "a") == 2
        third = asyncio.create_task(player.next())  # sits in its 600 s wait
        await wait_until(lambda: player.view().step == 2, what="the third step to start")

        view = await player.previous()  # cancels step 3; back to step 2, replayed to it
        await third
        assert (view.step, view.status) == (1, "done")
        # Step 1 was replayed without its assertion; step 2 ran with its own.
        assert [r.check for r in view.results] == ["idle_consumers"]
        assert live(scenario, "a") == 2 and live(scenario, "b") == 1
        await wait_until(lambda: not scenario.partners_running, what="the partners' limit")
        again = scenario.view().partners
        assert again is not None
        # Same lesson, same seed: the same number of updates on the same partitions.
        assert (again.sent, again.per_partition) == (first.sent, first.per_partition)

        view = await player.previous()
        assert (view.step, view.status) == (0, "done") and view.results[0].ok
        assert live(scenario, "a") == 1
        view = await player.previous()
        assert (view.step, view.status) == (-1, "ready")


async def test_restart_returns_to_clean_state_before_the_first_step(scenario, broker):
    async with open_player(scenario, lesson()) as player:
        await player.next()
        assert broker.topic_partition_count("t") == 3
        view = await player.restart()
        assert (view.step, view.status, view.caption, view.results) == (
            -1, "ready", "Before anything.", ())
        assert scenario.view().apps == ()
        assert broker.topic_partition_count("t") is None  # the lesson's topics are deleted
        assert broker.groups.state_of("a") is None  # and its groups
        view = await player.next()
        assert view.step == 0 and view.results[0].ok


SLOW = """
name = "slow"
title = "Slow"
topics = ["t"]
[[steps]]
caption = "Partners start, then a pause."
actions = [
  { do = "start_partners", topic = "t", partitions = 2, partners = 2, rate = 100, limit = 400 },
  { do = "wait", seconds = 2 },
]
"""


async def test_slow_motion_stretches_waits_and_slows_the_partners(scenario):
    clock = ManualClock()
    async with open_player(scenario, lesson(SLOW), speed=0.5, clock=clock) as player:
        with pytest.raises(ValueError):
            player.set_speed(2.0)
        with pytest.raises(ValueError):
            LessonPlayer(scenario, lesson(), speed=0.1)
        step = asyncio.create_task(player.next())
        await wait_until(lambda: clock.pending == 1, what="the wait to be armed")
        partners = scenario.view().partners
        assert partners is not None and (partners.rate, partners.speed) == (100.0, 0.5)
        clock.advance(3.9)  # 2 s of lesson time at half speed is 4 s
        await asyncio.sleep(0.05)
        assert not step.done()
        clock.advance(0.2)
        view = await step
        assert (view.step, view.status, view.speed) == (0, "finished", 0.5)
        player.set_speed(1.0)
        partners = scenario.view().partners
        assert partners is not None and partners.speed == 1.0


async def test_a_failed_assertion_stops_the_step_and_keeps_its_figures(scenario):
    text = """
name = "fails"
title = "Fails"
topics = ["t"]
[[steps]]
caption = "Nothing is sent, so nothing lags."
actions = [
  { do = "create_topic", topic = "t", partitions = 2 },
  { do = "add_app", kind = "counter", group = "g", topic = "t" },
  { do = "assert", check = "lag_above", group = "g", min = 5, within = 0.5 },
  { do = "add_consumer", group = "g" },
]
"""
    async with open_player(scenario, lesson(text)) as player:
        view = await player.next()
        assert view.status == "failed"
        (result,) = view.results
        assert not result.ok and result.waited_s >= 0.5
        assert dict(result.figures)["lag"] == "0 records"
        assert "expected at least 5" in result.summary
        assert live(scenario, "g") == 1  # the action after the failure did not run


async def test_an_action_that_cannot_run_is_reported_with_its_step_and_action(scenario):
    text = """
name = "breaks"
title = "Breaks"
topics = ["t"]
[[steps]]
caption = "Kill a consumer that already left."
actions = [
  { do = "create_topic", topic = "t", partitions = 2 },
  { do = "add_app", kind = "counter", group = "g", topic = "t" },
  { do = "remove_consumer", group = "g" },
  { do = "kill_consumer", group = "g" },
]
"""
    async with open_player(scenario, lesson(text)) as player:
        view = await player.next()
        assert view.status == "error"
        assert view.error is not None
        assert view.error.startswith("step 1, action 4 (kill_consumer): IndexError")


async def test_play_runs_the_remaining_steps_to_the_end(scenario):
    short = lesson(TINY.replace("seconds = 600", "seconds = 0.1"))
    async with open_player(scenario, short) as player:
        playing = asyncio.create_task(player.play())
        await wait_until(lambda: player.view().playing, what="play to start")
        view = await playing
        assert (view.step, view.status, view.playing) == (2, "finished", False)
        assert live(scenario, "a") == 1  # the last step's remove_consumer ran


async def test_the_compacted_check_fails_on_a_log_that_keeps_every_update(scenario, broker):
    # cleanup.policy=delete with 1-byte segments: every batch rolls a segment, so nearly
    # all updates lie below the active segment, and each partner's key is there many
    # times. The check reads the log back and says so (issue 14's lesson relies on it).
    text = """
name = "not-compacted"
title = "Not compacted"
topics = ["t"]
[[steps]]
caption = "Partners send 60 updates to a topic that keeps them all."
actions = [
  { do = "create_topic", topic = "t", partitions = 1, configs = ["cleanup.policy=delete", "segment.bytes=1024"] },
  { do = "start_partners", topic = "t", partners = 3, rate = 500, limit = 60 },
]
"""
    parsed = lesson(text)
    create = parsed.steps[0].actions[0]
    assert create.config_map() == {"cleanup.policy": "delete", "segment.bytes": "1024"}
    async with open_player(scenario, parsed) as player:
        await player.next()
        assert broker.topic_config_values("t")["segment.bytes"][0] == "1024"
        # Sent is handed to the in-process producer; the check reads what is appended.
        await wait_until(lambda: broker.partition_offsets("t", 0)[1] == 60)
        ctx = CheckContext(view=scenario.view, topics=scenario, broker=broker, now=lambda: 0.0,
                           last_sent=player._last_sent)
        outcome = await evaluate(CompactedCheck("t"), ctx, {})
    figures = dict(outcome.figures)
    assert not outcome.ok
    assert figures["updates sent"] == "60" and figures["records left in the log"] == "60"
    assert figures["keys twice in the cleanable part"] == "3"
    assert figures["partners whose latest update is missing"] == "none"


def test_create_topic_configs_must_be_name_equals_value():
    with pytest.raises(LessonError, match='configs items must be "name=value"'):
        lesson(TINY.replace('partitions = 3 }', 'partitions = 3, configs = ["compact"] }', 1))
