"""librdkafka's own test suite, the whole list, against Streamscope's broker.

Runs every test that tests/interop/librdkafka/tests.txt lists as ``fast`` or ``run``
(``--all`` instead: every numbered test that talks to a broker, listed or not, to find
out which pass), each in its own test-runner process against its own fresh
``streamscope broker`` (port 0, temp data dir), ``--jobs`` at a time. Prints one line per
test (result, the test's own seconds, the wall seconds of its step with the broker's
start and stop) as it finishes, then passed/total, the left-out tests with their
reasons, and the failures with the tail of their output. Exit status 0 only when every
test run passed. Needs the build .ci/setup makes (.ci/build-librdkafka).

    .venv/bin/python benchmarks/librdkafka_suite.py [--jobs 2] [--only 0001,0012] [--all]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.interop.librdkafka.runner import (  # noqa: E402
    CliBroker,
    Entry,
    Result,
    broker_tests,
    find_build,
    kill_started,
    load_list,
    run_tests,
    sasl_setup,
    scenario_of,
)


def run_one(src: Path, entry: Entry, workdir: Path, timeout_s: float) -> tuple[Result, float]:
    """One test on its own fresh broker; its result and the wall time of the whole step
    (broker start and stop included)."""
    started = time.monotonic()
    name = entry.name
    workdir.mkdir(parents=True)
    scenario = scenario_of(src, name)
    # The noautocreate scenario's tests expect a broker that does not create topics.
    extra: tuple[str, ...] = (
        ("--auto-create-topics", "false") if scenario == "noautocreate" else ())
    conf: dict[str, str] = {}
    try:
        if entry.sasl:
            sasl_args, conf = sasl_setup(workdir / "data", entry.sasl)
            extra += sasl_args
        broker = CliBroker(workdir / "data", workdir / "broker.log", extra_args=extra)
    except (RuntimeError, subprocess.SubprocessError) as exc:
        return Result(name, "BROKER_FAILED", 0.0, str(exc)), time.monotonic() - started
    with broker:
        result = run_tests(src, [name], broker.bootstrap, workdir / "run", timeout_s,
                           scenario=scenario, subtests=entry.subtests,
                           extra_conf=conf)[name]
        if not broker.alive():
            result.state = "BROKER_DIED"
    if not result.passed:
        result.output_tail += "\n--- broker log tail ---\n" + (
            workdir / "broker.log").read_text(errors="replace")[-2000:]
    return result, time.monotonic() - started


def _on_signal(signum: int, _frame: object) -> None:
    kill_started()
    raise SystemExit(128 + signum)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2, help="tests run at once (default 2)")
    ap.add_argument("--only", default="", help="comma separated test names or numbers")
    ap.add_argument("--all", action="store_true",
                    help="every broker-facing test, including the left-out ones")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds before one test's run is killed (default 300)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)

    src, why = find_build()
    if src is None:
        print(f"librdkafka test suite unavailable: {why}", file=sys.stderr)
        return 2
    entries = load_list()
    if args.all:
        names = broker_tests(src)
    else:
        names = [e.name for e in entries if e.mode != "skip"]
    if args.only:
        wanted = args.only.split(",")
        names = [n for n in names if any(n == w or n.startswith(w) for w in wanted)]
    workroot = Path(tempfile.mkdtemp(prefix="librdkafka-suite-"))
    print(f"librdkafka tests from {src}; {len(names)} tests, {args.jobs} at a time; "
          f"work dir {workroot}", flush=True)

    started = time.monotonic()
    results: dict[str, Result] = {}
    walls: dict[str, float] = {}
    pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
    try:
        by_name = {e.name: e for e in entries}
        futures = {pool.submit(run_one, src, by_name.get(n, Entry(n, "run")), workroot / n,
                               args.timeout): n for n in names}
        for fut in concurrent.futures.as_completed(futures):
            r, wall = fut.result()
            results[r.name] = r
            walls[r.name] = wall
            print(f"{r.name:48s} {r.state:12s} test {r.seconds:6.1f} s  wall {wall:6.1f} s",
                  flush=True)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_started()
        raise
    pool.shutdown()
    wall = time.monotonic() - started

    ordered = [results[n] for n in names]
    passed = [r for r in ordered if r.passed]
    print(f"\npassed {len(passed)}/{len(ordered)} in {wall:.0f} s wall "
          f"(sum of test times {sum(r.seconds for r in ordered):.0f} s)")
    if not args.all and not args.only:
        skipped = [e for e in entries if e.mode == "skip"]
        print(f"left out ({len(skipped)}):")
        for e in skipped:
            print(f"  {e.name:48s} {e.reason}")
    for r in ordered:
        if not r.passed:
            print(f"\n=== {r.name}: {r.state} ===\n{r.output_tail}")
    if args.json:
        args.json.write_text(json.dumps(
            [{"name": r.name, "state": r.state, "seconds": round(r.seconds, 2),
              "wall_seconds": round(walls[r.name], 2)}
             for r in ordered], indent=1))
    if not args.keep:
        import shutil

        shutil.rmtree(workroot, ignore_errors=True)
    return 0 if len(passed) == len(ordered) else 1


if __name__ == "__main__":
    sys.exit(main())
