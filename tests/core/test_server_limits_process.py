"""Issue 13's server limits against ``streamscope broker`` as a real subprocess.

* 200 connections that each announce an ~8 MiB frame and send 20 bytes of it cost the
  broker little memory (today's main allocated every announced frame whole: +1.6 GiB),
  and the broker still answers a new connection.
* An idle connection costs the broker under 16 KiB (main: ~70 KiB, a 64 KiB scratch
  buffer each).
* ``--advertised-listener``, ``--max-connections``, ``--limit`` and the non-loopback warnings of the
  command line.
"""

from __future__ import annotations

import re
import signal
import socket
import struct
import uuid

import pytest
from streamscope.core import cli
from streamscope.core.protocol import decode_response, encode_request

from tests.core.test_cli import READY, BrokerProcess

pytestmark = pytest.mark.timeout(120)
API_VERSIONS, METADATA = 18, 3


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def read_frame(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the broker")
            data += chunk
        return data

    return exactly(struct.unpack(">i", exactly(4))[0])


def call(port: int, key: int, version: int, body: dict, sock: socket.socket | None = None
         ) -> dict:
    own = sock is None
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(encode_request(key, version, 9, "limits", body, size_prefix=True))
        correlation, response = decode_response(key, version, read_frame(s))
        assert correlation == 9
        return response
    finally:
        if own:
            s.close()


def api_versions_ok(port: int) -> bool:
    return call(port, API_VERSIONS, 0, {})["error_code"] == 0


def start(tmp_path, *args: str) -> tuple[BrokerProcess, int]:
    proc = BrokerProcess("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), *args)
    try:
        _, port = proc.wait_for_line(READY).groups()
    except BaseException:
        proc.kill()
        raise
    return proc, int(port)


def stop(proc: BrokerProcess) -> list[str]:
    proc.proc.send_signal(signal.SIGTERM)
    try:
        code, lines = proc.finish()
    finally:
        proc.kill()
    assert code == 0, lines
    return lines


def test_announced_huge_frames_commit_little_memory_and_the_broker_still_answers(tmp_path):
    proc, port = start(tmp_path)
    socks: list[socket.socket] = []
    try:
        assert api_versions_ok(port)
        before = rss_kib(proc.proc.pid)
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(struct.pack(">i", 8 * 1024 * 1024 - 16) + b"\x00\x00" * 10)
            socks.append(s)
        peak = before
        for _ in range(3):  # each answer comes after the broker read what came before it
            assert api_versions_ok(port)
            peak = max(peak, rss_kib(proc.proc.pid))
        grown_mib = (peak - before) / 1024
        assert grown_mib < 200, f"broker RSS grew {grown_mib:.0f} MiB"
    finally:
        for s in socks:
            s.close()
        stop(proc)


def test_an_idle_connection_costs_the_broker_under_16_kib(tmp_path):
    n = 250  # under the default per-address limit (300)
    proc, port = start(tmp_path)
    socks: list[socket.socket] = []
    request = encode_request(API_VERSIONS, 0, 9, "idle", {}, size_prefix=True)
    try:
        for _ in range(20):  # first-use costs (imports, caches) before the baseline
            assert api_versions_ok(port)
        before = rss_kib(proc.proc.pid)
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(request)
            socks.append(s)
        for s in socks:  # every connection set up and one request handled
            read_frame(s)
        per_connection = (rss_kib(proc.proc.pid) - before) * 1024 / n
        assert per_connection < 16 * 1024, f"{per_connection / 1024:.1f} KiB per connection"
    finally:
        for s in socks:
            s.close()
        stop(proc)


def test_the_broker_command_advertises_its_listener_and_caps_connections(tmp_path):
    proc, port = start(tmp_path, "--advertised-listener", "broker.example:19092",
                       "--max-connections", "2", "--limit", "max-partitions-per-request=40")
    held = []
    try:
        proc.wait_for_line(re.compile(r"advertising broker\.example:19092"))
        metadata = call(port, METADATA, 12, {"topics": None, "allow_auto_topic_creation": False})
        assert [(b["host"], b["port"]) for b in metadata["brokers"]] == [
            ("broker.example", 19092)]
        many = {"topics": [{"name": f"t{i}", "topic_id": uuid.UUID(int=0)} for i in range(41)],
                "allow_auto_topic_creation": False}
        with pytest.raises(ConnectionError):
            call(port, METADATA, 12, many)
        proc.wait_for_line(re.compile(r"over max_partitions_per_request \(40\)"))
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            assert call(port, API_VERSIONS, 0, {}, sock=s)["error_code"] == 0
            held.append(s)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as third:
            with pytest.raises((ConnectionError, OSError)):
                call(port, API_VERSIONS, 0, {}, sock=third)
        proc.wait_for_line(re.compile(r"Refused a connection from 127\.0\.0\.1: max_connections"))
    finally:
        for s in held:
            s.close()
        stop(proc)


def test_a_broker_listening_on_every_interface_warns_and_says_how_to_fix_it(tmp_path):
    proc = BrokerProcess("--listen", "0.0.0.0:0", "--data-dir", str(tmp_path / "data"))
    try:
        proc.wait_for_line(re.compile(r"0\.0\.0\.0, not loopback: .*without authentication"))
        proc.wait_for_line(re.compile(r"sent to their own 127\.0\.0\.1.*--advertised-listener"))
        proc.wait_for_line(READY)
    finally:
        stop(proc)


@pytest.mark.parametrize("args", [
    ["--advertised-listener", "0.0.0.0:9092"],
    ["--advertised-listener", "host.example:0"],
    ["--max-connections", "0"],
    ["--max-connections-per-ip", "x"],
    ["--limit", "max-partitions-per-request"],
    ["--limit", "max-partitions-per-request=0"],
    ["--limit", "no-such-limit=5"],
])
def test_bad_limit_and_listener_options_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["broker", *args])
    assert exc.value.code == 2


def test_every_limit_can_be_set_on_the_command_line():
    from streamscope.core.config import LIMITS

    args = cli._broker_parser().parse_args(
        ["--limit", "max-partitions-per-request=7", "--limit", "fetch.max.bytes=4096",
         "--limit", "max_parked_fetches=3"])
    assert dict(args.limit) == {"max_partitions_per_request": 7, "fetch_max_bytes": 4096,
                                "max_parked_fetches": 3}
    (option,) = [a for a in cli._broker_parser()._actions if a.dest == "limit"]
    assert all(name.replace("_", "-") in option.help for name in LIMITS)


def test_the_broker_raises_its_open_file_limit_to_the_hard_limit():
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if hard != resource.RLIM_INFINITY and soft == hard and hard > 64:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard // 2, hard))
        limit = cli.raise_open_file_limit()
        assert limit == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert hard == resource.RLIM_INFINITY or limit == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

