"""``Scenario.reseed`` and the player's use of it: a lesson's seed is the scenario's, so
the same lesson and seed give the same city, keys, partitions and counts whatever the
scenario was built with (core/sim/scenario.py, core/lessons/player.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from streamscope.core.broker import Broker
from streamscope.core.lessons import parse_lesson
from streamscope.core.sim.city import generate_city
from streamscope.core.sim.scenario import Scenario

from tests.core.helpers import open_player, scenario_on, wait_until

pytestmark = pytest.mark.timeout(120)

SEEDED = """
name = "seeded"
title = "Seeded"
seed = 17
topics = ["s"]

[[steps]]
caption = "Partners send 120 updates."
actions = [
  { do = "create_topic", topic = "s", partitions = 4 },
  { do = "start_partners", topic = "s", partners = 6, rate = 400, limit = 120 },
]
"""


@pytest.fixture
async def scenario(broker: Broker) -> AsyncIterator[Scenario]:
    async with scenario_on(broker, seed=1, delete_topics=["s", "other"]) as sc:
        yield sc


async def log_keys(scenario: Scenario, topic: str) -> list[list[bytes | None]]:
    """Every record's key, partition by partition, in log order."""
    return [[key for key, _value in part] for part in await scenario.read_topic(topic)]


async def test_reseed_changes_seed_and_city_only_while_the_partners_are_stopped(scenario):
    scenario.reseed(7)
    assert scenario.seed == 7 and scenario.city == generate_city(7)
    await scenario.start_partners(topic="other", partitions=2, partners=3, rate=5.0)
    assert scenario.partners_running
    with pytest.raises(RuntimeError, match="stop the partners"):
        scenario.reseed(8)
    assert scenario.seed == 7 and scenario.city == generate_city(7)
    await scenario.stop_partners()
    scenario.reseed(8)
    assert scenario.seed == 8 and scenario.city == generate_city(8)


async def test_the_player_gives_the_scenario_the_lessons_seed_even_over_running_partners(
    scenario, broker
):
    lesson = parse_lesson(SEEDED, "seeded.toml")
    # Partners from another seed still run when the lesson starts: its clean start
    # stops them, then reseeds.
    await scenario.start_partners(topic="other", partitions=2, partners=3, rate=5.0)
    async with open_player(scenario, lesson) as player:
        view = await player.next()
        assert view.status == "finished", view.error
        assert scenario.seed == 17 and scenario.city == generate_city(17)
        await wait_until(lambda: not scenario.partners_running, what="the partners' limit")
        first = await log_keys(scenario, "s")
        assert sum(map(len, first)) == 120

        # Reseeded elsewhere meanwhile: a restart brings the lesson's seed back, and the
        # same keys land on the same partitions in the same order.
        scenario.reseed(99)
        await player.restart()
        assert scenario.seed == 17
        await player.next()
        await wait_until(lambda: not scenario.partners_running, what="the partners' limit")
        assert await log_keys(scenario, "s") == first
