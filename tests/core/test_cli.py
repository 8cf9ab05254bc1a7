"""``streamscope broker`` as a real subprocess: ready line, real clients, clean SIGTERM,
and one-line errors (exit 1, no traceback) for a port in use or a locked data dir."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from streamscope.core import cli
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread

from tests.core.helpers import LISTEN_CASES

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on (\S+):(\d+)$")

pytestmark = pytest.mark.timeout(120)


class BrokerProcess:
    """``python -m core.cli broker ...`` with its stderr read line by line in a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamscope.core.cli", "broker", *args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, pattern: re.Pattern, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            match = pattern.search(line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern.pattern!r}; stderr so far: {self.seen}")

    def finish(self, timeout: float = 30) -> tuple[int, list[str]]:
        code = self.proc.wait(timeout)
        while (line := self.lines.get(timeout=5)) is not None:
            self.seen.append(line)
        return code, self.seen

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_broker_command_serves_clients_and_stops_cleanly_on_sigterm(tmp_path):
    data = tmp_path / "data"
    proc = BrokerProcess("--listen", "127.0.0.1:0", "--data-dir", str(data),
                         "--default-partitions", "2")
    try:
        host, port = proc.wait_for_line(READY).groups()
        assert host == "127.0.0.1" and int(port) > 0
        producer = Producer({"bootstrap.servers": f"{host}:{port}"})
        delivered = []
        for i in range(50):
            producer.produce("cli-topic", value=f"v{i}".encode(),
                             on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
        assert producer.flush(20) == 0
        assert len(delivered) == 50 and all(err is None for err, _ in delivered)
        proc.proc.send_signal(signal.SIGTERM)
        code, lines = proc.finish()
    finally:
        proc.kill()
    assert code == 0, lines
    assert sum(1 for line in lines if READY.search(line)) == 1
    assert not any("Traceback" in line for line in lines)
    # Files were closed and the lock released: a new broker opens the same dir and has it all.
    with BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data)) as bt:
        offsets = bt.call(lambda: [bt.broker.partition_offsets("cli-topic", p) for p in (0, 1)])
    assert sum(end for _, end in offsets) == 50


def test_sigint_also_stops_the_broker_with_exit_code_0(tmp_path):
    proc = BrokerProcess("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"))
    try:
        proc.wait_for_line(READY)
        proc.proc.send_signal(signal.SIGINT)
        code, lines = proc.finish()
    finally:
        proc.kill()
    assert code == 0, lines


def test_port_in_use_is_one_line_error_and_exit_code_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = BrokerProcess("--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d"))
        try:
            code, lines = proc.finish()
        finally:
            proc.kill()
    assert code == 1
    assert lines[-1] == f"streamscope: cannot listen on 127.0.0.1:{port}: address already in use"
    assert not any("Traceback" in line for line in lines)


def test_locked_data_dir_is_one_line_error_and_exit_code_1(tmp_path):
    data = tmp_path / "shared"
    with BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data)):
        proc = BrokerProcess("--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(data))
        try:
            code, lines = proc.finish()
        finally:
            proc.kill()
    assert code == 1
    assert lines[-1].startswith("streamscope: ") and "in use" in lines[-1]
    assert not any("Traceback" in line for line in lines)


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["broker", "--fsync", "sometimes"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["broker", "--listen", "no-port-here"])
    assert exc.value.code == 2
    assert cli.main(["frobnicate"]) == 2


def test_version_flag_prints_the_version(capsys):
    assert cli.main(["--version"]) == 0
    assert re.fullmatch(r"streamscope \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_the_headless_cli_without_a_command_is_a_usage_error(capsys):
    # The desktop app is desktop.main's to start: core knows nothing of it.
    assert cli.main([]) == 2
    assert "streamscope broker" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", LISTEN_CASES)
def test_the_broker_reads_listen_and_an_empty_host_is_loopback(text, expected):
    # The app reads it with the same parser (tests/desktop/test_entry_point.py).
    assert cli._broker_parser().parse_args(["--listen", text]).listen == expected


@pytest.mark.parametrize("text", ["no-port-here", "host:", "127.0.0.1:65536", ":-1"])
def test_a_bad_listen_address_exits_2(text, capsys):
    with pytest.raises(SystemExit) as exc:
        cli._broker_parser().parse_args(["--listen", text])
    assert exc.value.code == 2


def test_allocator_tuning_is_an_option_of_the_broker_on_by_default(capsys):
    for parser in (cli._broker_parser(),):
        assert parser.parse_args([]).tune_allocator is True
        assert parser.parse_args(["--no-tune-allocator"]).tune_allocator is False
        help_text = " ".join(parser.format_help().split())
        assert "--tune-allocator, --no-tune-allocator" in help_text
        assert "whole process" in help_text  # --help says what it changes
