"""Runs librdkafka's own test suite (``tests/test-runner``) against ``streamscope broker``.

Contract:

* :func:`find_build` locates the build ``.ci/build-librdkafka`` makes from Debian's
  source package (``${XDG_CACHE_HOME:-~/.cache}/streamscope/librdkafka-<version>/``, the
  version being that of the installed ``librdkafka1`` kcat links; the environment
  variable ``STREAMSCOPE_LIBRDKAFKA_SRC`` names another source tree). It returns
  ``None`` plus the reason when there is none, so callers can skip saying why.
* :func:`load_list` reads ``tests.txt`` beside this module: one line per numbered test
  that talks to a broker, ``NAME MODE [reason or options]``. MODE ``fast``: in the
  pytest subset and the whole list; ``run``: the whole list only; ``skip``: left out,
  the reason required. A run entry may carry ``subtests=TEXT`` (only its sub-tests
  whose name contains TEXT run; test-runner selects by number, so this also idles the
  other tests of that number it starts) and ``sasl=MECHANISM`` (against a broker that
  requires SASL with it, :func:`sasl_setup`). Unknown modes or options, a skip without
  a reason and duplicates are errors.
* :class:`CliBroker` is a fresh ``streamscope broker`` process (the project's CLI) on
  127.0.0.1 port 0 with its own data dir and auto-created topics of 4 partitions, its
  port read from its ``listening on`` line; ``close()`` stops it (SIGTERM, then
  SIGKILL after a grace period).
* :func:`run_tests` runs test-runner once for the given tests, in full mode and without
  local-only tests (``-L``), with a generated ``test.conf`` (``bootstrap.servers``,
  ``test.timeout.multiplier``, random topic names) and the environment librdkafka's
  ``run-test.sh`` sets (``TEST_KAFKA_VERSION``, ``TESTS``, ``TEST_MODE=bare``,
  ``TEST_SCENARIO``, ``LD_LIBRARY_PATH`` to the built libraries, a ``TEST_REPORT``
  file; ``KAFKA_PATH`` and ``BROKERS`` for the tests that run Kafka's
  ``bin/kafka-topics.sh``, which get the stand-in in ``kafka_path/``). It returns a
  :class:`Result` per requested test from that report. A run that exceeds its
  deadline is killed: its tests that had printed their end line keep that result, the
  unfinished ones count as failed (``TIMED_OUT``), so nothing here waits without bound.
* :func:`kill_started` kills every broker and test-runner started here that still runs
  (for a harness interrupted mid-run).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LIST_PATH = Path(__file__).with_name("tests.txt")
KAFKA_PATH = Path(__file__).with_name("kafka_path")
REPO_ROOT = Path(__file__).resolve().parents[3]
MODES = ("fast", "run", "skip")
# The broker version the test-runner assumes: the one librdkafka 2.0's own Makefile
# runs its broker suites against (KAFKA_VERSION in tests/Makefile). Tests gated on a
# newer version are skipped by test-runner itself, so this sets which ones may run.
KAFKA_VERSION = "3.1.0"
# test.timeout.multiplier: librdkafka's per-test timeouts are tuned for a dedicated
# machine; ours has two cores shared with other jobs.
TIMEOUT_MULTIPLIER = 3.0
_REPORT_RE = re.compile(
    r'"name": "(?P<name>[^"]+)", "state": "(?P<state>[A-Z_]+)",.*?'
    r'"duration": (?P<duration>[0-9.]+)')
_LISTENING_RE = re.compile(r"listening on (\S+):(\d+)")


_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def _track(proc: subprocess.Popen) -> subprocess.Popen:
    with _live_lock:
        _live.add(proc)
    return proc


def _untrack(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live.discard(proc)


def kill_started() -> None:
    """SIGKILL the process group of every broker and test-runner started here and still
    running (for a harness interrupted mid-run); nothing else is touched."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@dataclass(frozen=True)
class Entry:
    name: str
    mode: str
    reason: str = ""
    subtests: str = ""  # SUBTESTS for its run: only sub-tests whose name contains it
    sasl: str = ""  # a SASL mechanism: run it against a broker requiring SASL with it

    @property
    def number(self) -> str:
        return self.name[:4]


@dataclass
class Result:
    name: str
    state: str  # PASSED, FAILED, SKIPPED, NOT_STARTED, RUNNING, TIMED_OUT, MISSING
    seconds: float
    output_tail: str = ""

    @property
    def passed(self) -> bool:
        return self.state == "PASSED"


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamscope"


def installed_version() -> str | None:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${source:Upstream-Version}", "librdkafka1"],
            capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def find_build() -> tuple[Path | None, str]:
    """The built source tree (holding tests/test-runner), or None and why not."""
    override = os.environ.get("STREAMSCOPE_LIBRDKAFKA_SRC")
    if override:
        src = Path(override)
    else:
        version = installed_version()
        if version is None:
            return None, "librdkafka1 is not installed (kcat brings it; .ci/setup)"
        cache = _cache_root() / f"librdkafka-{version}"
        if not (cache / ".built").exists():
            return None, (f"librdkafka {version}'s test suite is not built in {cache} "
                          "(.ci/setup runs .ci/build-librdkafka; see its logs there)")
        src = cache / f"librdkafka-{version}"
    for needed in ("tests/test-runner", "examples/rdkafka_performance", "src/librdkafka.so.1"):
        if not (src / needed).exists():
            return None, f"{src / needed} is missing (rerun .ci/build-librdkafka)"
    return src, ""


def load_list(path: Path = LIST_PATH) -> list[Entry]:
    entries: list[Entry] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[1] not in MODES:
            raise ValueError(f"{path}:{lineno}: expected 'NAME {'|'.join(MODES)} [reason]'")
        name, mode = parts[0], parts[1]
        reason = parts[2].strip() if len(parts) > 2 else ""
        options: dict[str, str] = {}
        if mode != "skip":
            for token in reason.split():
                key, eq, value = token.partition("=")
                if key not in ("subtests", "sasl") or not eq or not value:
                    raise ValueError(f"{path}:{lineno}: {name}: unexpected {token!r}")
                options[key] = value
        if mode == "skip" and not reason:
            raise ValueError(f"{path}:{lineno}: {name} is left out without a reason")
        if name in seen:
            raise ValueError(f"{path}:{lineno}: {name} is listed twice")
        seen.add(name)
        entries.append(Entry(name, mode, reason, **options))
    return entries


def _test_table(src: Path) -> list[tuple[str, str]]:
    """(name, declaration text) of every entry of test-runner's table in tests/test.c."""
    text = (src / "tests" / "test.c").read_text(errors="replace")
    table = text[text.index("struct test tests[] = {"):]
    table = table[:table.index("{NULL}}")]
    starts = [m for m in re.finditer(r"_TEST\((\w+),", table)]
    return [(m.group(1), table[m.end():(starts[i + 1].start() if i + 1 < len(starts)
                                         else len(table))])
            for i, m in enumerate(starts)]


def broker_tests(src: Path) -> list[str]:
    """The numbered tests of this test-runner that talk to a broker: every entry of its
    table not flagged local-only or manual."""
    return [name for name, decl in _test_table(src)
            if "TEST_F_LOCAL" not in decl.split(")", 1)[0]
            and "TEST_F_MANUAL" not in decl.split(")", 1)[0]]


def scenario_of(src: Path, name: str) -> str:
    """The scenario a test requires (``noautocreate``: a broker that does not create
    topics on first use), or "default"."""
    for entry, decl in _test_table(src):
        if entry == name:
            match = re.search(r'\.scenario\s*=\s*"([^"]+)"', decl)
            if match and "default" not in match.group(1).split(","):
                return match.group(1).split(",")[0]
    return "default"


class CliBroker:
    """A fresh ``streamscope broker`` on 127.0.0.1 (port 0) with ``data_dir``."""

    def __init__(self, data_dir: Path, log_path: Path, start_timeout_s: float = 60.0,
                 extra_args: tuple[str, ...] = ()) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = _track(subprocess.Popen(
            [sys.executable, "-m", "streamscope.core.cli", "broker", "--listen",
             "127.0.0.1:0", "--data-dir", str(data_dir),
             # librdkafka's suite runs on trivup clusters, whose brokers create topics
             # with num.partitions=4; its tests produce to partitions 0..3 of topics
             # they let the broker auto-create.
             "--default-partitions", "4", *extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True))
        self.bootstrap = ""
        deadline = time.monotonic() + start_timeout_s
        ready = threading.Event()
        while not ready.is_set():
            match = _LISTENING_RE.search(log_path.read_text(errors="replace"))
            if match:
                self.bootstrap = f"{match.group(1)}:{match.group(2)}"
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"streamscope broker did not start: {tail(log_path, 20)}")
            # Polling its log file (rather than a pipe) keeps a chatty broker from ever
            # blocking on a full pipe; the wait is bounded by the deadline above.
            ready.wait(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, grace_s: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace_s)
        _untrack(self.proc)
        self._log.close()

    def __enter__(self) -> CliBroker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


SASL_USER, SASL_PASSWORD = "rdktest", "rdktest-secret"


def sasl_setup(data_dir: Path, mechanism: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """Add the test user to ``data_dir`` (``streamscope users add``); return the broker
    options that require SASL with ``mechanism`` and the test.conf lines that log in."""
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "streamscope.core.cli", "users", "add", "--data-dir",
         str(data_dir), "--password-stdin", SASL_USER],
        input=SASL_PASSWORD + "\n", text=True, capture_output=True, timeout=60, check=True)
    conf = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": SASL_USER, "sasl.password": SASL_PASSWORD}
    return ("--sasl-mechanisms", mechanism), conf


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no output)"
    return "\n".join(text[-lines:])


def _test_output_tail(output: str, name: str, lines: int = 30) -> str:
    """The lines test-runner printed about ``name`` (its lines carry ``[NAME ...]``)."""
    mine = [line for line in output.splitlines() if name in line or name[:4] in line]
    return "\n".join((mine or output.splitlines())[-lines:])


def run_tests(src: Path, names: list[str], bootstrap: str, workdir: Path,
              timeout_s: float, parallel: int = 1, scenario: str = "default",
              subtests: str = "",
              extra_conf: dict[str, str] | None = None) -> dict[str, Result]:
    """Run ``names`` in one test-runner process against ``bootstrap``, in full (not
    test-runner's ``-Q`` quick mode, which skips most sub-tests and so would let a test
    pass having checked little), and without the local-only tests that share a number
    with a broker test (``-L``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = {"bootstrap.servers": bootstrap,
            "test.timeout.multiplier": str(TIMEOUT_MULTIPLIER),
            # Unique topic names per run, so one broker can serve several runs.
            "test.topic.random": "true",
            **(extra_conf or {})}
    conf_path = workdir / "test.conf"
    conf_path.write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    tests_dir = src / "tests"
    libs = f"{src / 'src'}:{src / 'src-cpp'}"
    env = dict(os.environ,
               RDKAFKA_TEST_CONF=str(conf_path),
               TESTS=",".join(n[:4] for n in names),
               TEST_KAFKA_VERSION=KAFKA_VERSION,
               TEST_MODE="bare",
               TEST_SCENARIO=scenario,
               **({"SUBTESTS": subtests} if subtests else {}),
               TEST_REPORT=str(report),
               # Tests that run Kafka's kafka-topics.sh get our stand-in (kafka_path/).
               KAFKA_PATH=str(KAFKA_PATH),
               BROKERS=bootstrap,
               STREAMSCOPE_PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join(
                   p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
               RDKAFKA_GITVER="debian",
               LD_LIBRARY_PATH=f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}".rstrip(":"))
    # TESTS selects by number, so 0045 runs all three broker tests of that number; those
    # not asked for (or of another scenario, which test-runner skips) are ignored below.
    # test-runner runs in a directory of its own (it writes stats files there) whose
    # parent has "src": tests open ../src/statistics_schema.json, as from tests/.
    cwd = workdir / "cwd"
    cwd.mkdir(exist_ok=True)
    if not (workdir / "src").exists():
        (workdir / "src").symlink_to(src / "src")
    out_path = workdir / "output.txt"
    started = time.monotonic()
    timed_out = False
    with open(out_path, "wb") as out:
        proc = _track(subprocess.Popen([str(tests_dir / "test-runner"), f"-p{parallel}", "-L"],
                                       cwd=cwd, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True))
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            _untrack(proc)
    elapsed = time.monotonic() - started
    output = out_path.read_text(errors="replace")
    found: dict[str, tuple[str, float]] = {}
    if report.exists():
        for match in _REPORT_RE.finditer(report.read_text(errors="replace")):
            found[match.group("name")] = (match.group("state"),
                                          float(match.group("duration")))
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    results = {}
    for name in names:
        # A killed run writes no report: the test's own end line still tells.
        marker = re.search(rf"Test {re.escape(name)} (PASSED|FAILED|SKIPPED) =", plain)
        if name in found:
            state, seconds = found[name]
        elif marker:
            state, seconds = marker.group(1), elapsed
        elif timed_out:
            state, seconds = "TIMED_OUT", elapsed
        else:
            state, seconds = "MISSING", elapsed
        results[name] = Result(name, state, seconds,
                               "" if state == "PASSED" else _test_output_tail(output, name))
    return results
