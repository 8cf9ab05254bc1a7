"""``streamscope --self-test`` checks an installation and says what it saw, or why not.

Run as users run it (the ``streamscope`` entry point of this environment, a process of
its own, offscreen): it passes every check and exits 0; a broker that cannot start (its
data dir is a file) makes it print the failed check with the reason and exit 1, promptly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECKS = ("resources", "qt", "passwords", "broker", "produce", "consume", "monitor", "window")


def self_test(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "streamscope.desktop.main", "--self-test", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_self_test_passes_each_check_and_exits_0(tmp_path):
    done = self_test(cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok   {c}" for c in CHECKS], lines
    assert lines[-1].startswith("self-test passed (8 checks")
    assert "listening on 127.0.0.1:" in done.stdout
    assert "1 record to streamscope-self-test[0] at offset 0" in done.stdout


def test_a_broker_that_cannot_start_fails_the_self_test_with_the_reason(tmp_path):
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file where the data dir should be")
    done = self_test("--data-dir", str(not_a_dir), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    fail = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and fail[0].startswith("FAIL broker: could not start: "), done.stdout
    assert str(not_a_dir) in fail[0]
    assert "self-test failed (3 checks passed before it)" in done.stdout
    assert "Traceback" not in done.stderr
