"""The app as users start it: `streamscope` in its own process, quit by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_app_without_a_display_serves_clients_and_quits_cleanly_on_a_signal(tmp_path, sig):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # the app must find out there is no display itself
    env["HOME"] = str(tmp_path)  # QSettings and data stay in the test's dir
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamscope.desktop.main", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        bootstrap = None
        deadline = time.monotonic() + 60
        lines = []
        while bootstrap is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "listening on " in line:
                bootstrap = line.split("listening on ")[1].split()[0]
        assert bootstrap, "".join(lines)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("t", 2)])["t"].result(10)
        assert "t" in admin.list_topics(timeout=10).topics
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        rest = proc.stderr.read()
        assert "received, quitting" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
