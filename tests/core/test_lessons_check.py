"""Every lesson runs headless to completion and its assertions hold:
``streamscope lesson NAME --check`` (core/lessons/cli.py) on an embedded broker.

The figures each assertion reports are printed (``pytest -s`` or ``-rP`` shows them):
equal counts across the fan-out groups, idle consumers, reassigned partitions, lag,
ordering, direct-database against broker-path throughput, duplicates and lost updates.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamscope.core import cli
from streamscope.core.lessons.model import Assert, find_lesson

pytestmark = pytest.mark.timeout(180)

LESSONS = ["fanout", "scale-out", "crash-rebalance", "lag", "ordering", "database",
           "delivery-guarantees", "idempotence", "compaction", "exactly-once"]
ENTRY_POINT = Path(sys.executable).parent / "streamscope"


def assertions(name: str) -> int:
    return sum(isinstance(a, Assert) for s in find_lesson(name).steps for a in s.actions)


@pytest.mark.parametrize("name", LESSONS)
def test_the_lesson_runs_to_completion_and_its_assertions_hold(name: str, tmp_path: Path,
                                                               capsys):
    code = cli.main(["lesson", name, "--check", "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    with capsys.disabled():
        print(f"\n{out}")
    lines = out.splitlines()
    passed = [line for line in lines if line.startswith("  PASS ")]
    assert code == 0, out
    assert not [line for line in lines if line.startswith("  FAIL ")]
    assert len(passed) == assertions(name)
    assert lines[-1].startswith(f"lesson {name}: {len(passed)} assertion")
    steps = len(find_lesson(name).steps)
    assert [line for line in lines if line.startswith("step ")] == [
        f"step {i}/{steps}" for i in range(1, steps + 1)]


def test_the_installed_command_checks_a_lesson_and_exits_1_when_an_assertion_fails(
        tmp_path: Path):
    failing = tmp_path / "never-lags.toml"
    failing.write_text("""
name = "never-lags"
title = "Nothing is sent, so nothing lags"
topics = ["t"]
[[steps]]
caption = "A reader with nothing to read."
actions = [
  { do = "create_topic", topic = "t", partitions = 2 },
  { do = "add_app", kind = "counter", group = "g", topic = "t" },
  { do = "assert", check = "lag_above", group = "g", min = 5, within = 1 },
]
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([str(ENTRY_POINT), "lesson", str(failing), "--check"],
                          capture_output=True, text=True, timeout=120, env=env)
    print(done.stdout)
    assert done.returncode == 1, done.stderr
    assert "  FAIL lag_above: g: lag 0, peak 0 (expected at least 5)" in done.stdout
    assert "lesson never-lags: an assertion failed at step 1" in done.stdout

    listed = subprocess.run([str(ENTRY_POINT), "lesson", "--list"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == LESSONS
