"""A broker process SIGKILLed at random moments under a real idempotent producer (acks=all)
and a committing consumer group, 20 times per fsync mode: after every restart each
acknowledged record is present exactly once at its offset, the log reads back whole
(offsets dense from the log start, CRCs checked by the client), committed offsets and
topic metadata are intact, and the group resumes from its commits (issue 13, "Crash and
fault tests"; ``benchmarks/soak_kill.py`` is the harness and runs hundreds of cycles).

The two modes run side by side (two broker processes on two data dirs), so the whole
test costs about one mode's time. Every wait in the harness is for a condition (the
broker's ``listening on`` line, the first acknowledgement); its deadline only turns a hang
into a failure. The kill moments come from a seeded RNG.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import load_bench

CYCLES = 20
SEED = 13

bench = load_bench("soak_kill")


@pytest.fixture(scope="module")
def totals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Both modes' kill cycles, run concurrently once for the module's tests."""
    work = tmp_path_factory.mktemp("kill-cycles")

    def run(mode: str) -> object:
        started = time.monotonic()
        t = bench.run_cycles(work, mode, CYCLES, seed=SEED, rate=1000)
        print(f"\n{t.line(mode, time.monotonic() - started)}")
        return t

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {mode: pool.submit(run, mode) for mode in ("always", "interval")}
        return {mode: f.result() for mode, f in futures.items()}


def _assert_nothing_lost(t: object) -> None:
    assert t.problems == [], "\n".join(t.problems[:20])  # type: ignore[attr-defined]
    assert t.cycles == CYCLES  # type: ignore[attr-defined]
    assert (t.lost, t.duplicated, t.misplaced) == (0, 0, 0)  # type: ignore[attr-defined]
    # The checks had something to check: records acknowledged in most cycles, commits
    # made and resumed from.
    assert t.acked >= CYCLES * 20  # type: ignore[attr-defined]
    assert t.acked_checks > t.acked  # checked again after later restarts  # type: ignore[attr-defined]
    assert t.commits_checked > 0 and t.resumes_checked > 0  # type: ignore[attr-defined]


def test_sigkill_with_fsync_always_loses_no_acknowledged_record_commit_or_topic(
    totals: dict[str, object],
) -> None:
    _assert_nothing_lost(totals["always"])


def test_sigkill_with_fsync_interval_loses_no_acknowledged_record_commit_or_topic(
    totals: dict[str, object],
) -> None:
    _assert_nothing_lost(totals["interval"])
