"""Protocol fuzz soak: a million hostile requests against one broker, then its totals.

    .venv/bin/python benchmarks/fuzz_soak.py                     # 1,000,000 inputs
    .venv/bin/python benchmarks/fuzz_soak.py --inputs 200000 --atheris 60

One broker (a real Broker and Server, tmp data dir, 1 MiB frame limit) gets the suite's
fuzz inputs at scale (tests/core/test_fuzz_harness.py): frames real clients sent
(tests/fuzz_corpus) mutated, each served API and version's defaults mutated,
hypothesis-drawn requests for every API and version, as drawn and mutated; most through
the server's own connection protocol in memory, ``--socket-share`` of them over real
TCP connections with lying size prefixes among them. A sentinel connection must stay
open throughout. Progress lines every ``--progress-every`` inputs; at the end the
totals: inputs by kind and outcome, connections the broker closed, crashes (a handler
that raised, a sentinel that was closed or stopped answering: must be 0), whether a topic
stored before the fuzz reads back byte for byte, requests that took over a second (by
API), peak RSS.

``--atheris SECONDS`` then runs coverage-guided fuzzing (atheris, libFuzzer) of the codec
alone for that long, in a child process seeded with the corpus: request headers and
bodies of every API and version, the hand-tuned Produce decoder, record batches
(bounded decompression included) and consumer-protocol blobs. Anything but the codec's
documented refusals is a crash, and its input is saved by libFuzzer.

``--max-partitions N`` caps partitions per topic for the run (default 64; 0 keeps the
broker's own cap): mutated counts ask for thousands, each created in seconds, and the
soak is about the protocol, not topic creation.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.core.test_fuzz_harness
CORPUS = ROOT / "tests" / "fuzz_corpus" / "frames"
FRAME_LIMIT = 1 << 20
# streamscope is imported inside the functions: the atheris child must import the codec
# for the first time under atheris.instrument_imports(), or it gets no coverage.


def _timed_handlers(server, slow: Counter[str], worst: dict[str, float]) -> None:
    """Wrap each API handler to count the requests that took over a second."""
    for key, module in server.handlers.items():
        real = module.handle

        async def handle(ctx, version, request, real=real, key=key):
            t = time.perf_counter()
            try:
                return await real(ctx, version, request)
            finally:
                dt = time.perf_counter() - t
                if dt > 1.0:
                    name = f"{module_name(key)} (key {key})"
                    slow[name] += 1
                    worst[name] = max(worst.get(name, 0.0), dt)

        module.handle = handle


def module_name(key: int) -> str:
    from streamscope.core.protocol import SCHEMAS

    schema = SCHEMAS.get(key)
    return schema.name if schema is not None else str(key)


async def soak(args: argparse.Namespace) -> int:
    from streamscope.core.config import BrokerConfig
    from streamscope.core.node import start_node

    from tests.core import test_fuzz_harness as fz

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    errors = fz.ErrorRecords()
    logging.getLogger().addHandler(errors)
    started = time.perf_counter()
    print(f"drawing structure-aware requests ({args.examples} x 50) ...", flush=True)
    structured = fz.request_frames(args.examples, 50, seed=args.seed)
    corpus, schema = fz.load_corpus(), fz.schema_frames()
    print(f"corpus {len(corpus)} frames, schema {len(schema)}, structured "
          f"{len(structured)} ({time.perf_counter() - started:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="fuzz-soak-") as tmp:
        limits = ({"max_partitions_per_topic": args.max_partitions}
                  if args.max_partitions else {})
        node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(tmp),
                                             max_request_bytes=FRAME_LIMIT, **limits))
        broker, server = node.broker, node.server
        slow: Counter[str] = Counter()
        worst: dict[str, float] = {}
        _timed_handlers(server, slow, worst)
        crashes = 0
        verified = False
        totals = fz.Totals()
        try:
            fz.fuzz_topics(broker)
            kept = fz.kept_topic(broker)
            mutator = fz.Mutator(args.seed, corpus + schema + structured)
            n_socket = int(args.inputs * args.socket_share)
            n_memory = args.inputs - n_socket
            t0 = time.perf_counter()

            def progress(t: fz.Totals) -> None:
                dt = time.perf_counter() - t0
                print(f"  {t.inputs:>9,} inputs  {t.inputs / dt:7.0f}/s  "
                      f"closed {t.outcomes[fz.Outcome.CLOSED]:,}  "
                      f"parked {t.outcomes[fz.Outcome.PARKED]:,}  topics {len(broker.topics)}  "
                      f"rss {_rss_mib():.0f} MiB", flush=True)

            def mix(n: int, framing: int) -> Iterator[tuple[str, bytes]]:
                own = structured[: max(0, min(len(structured), n // 20))]
                left = n - len(own) - framing
                from_corpus, from_schema = left * 45 // 100, left * 25 // 100
                return fz.interleave(
                    (("structured", f) for f in own),
                    fz.framing_inputs(corpus + schema, framing, seed=args.seed),
                    fz.mutants("corpus", corpus, from_corpus, mutator),
                    fz.mutants("schema", schema, from_schema, mutator),
                    fz.mutants("structured-mutant", structured,
                               left - from_corpus - from_schema, mutator),
                )

            async def in_memory() -> fz.InProcessWire:
                return fz.InProcessWire(server)

            async def over_tcp() -> fz.SocketWire:
                return await fz.SocketWire.open(server.host, server.port)

            print(f"in-process: {n_memory:,} inputs", flush=True)
            try:
                await fz.run_inputs(mix(n_memory, 0), in_memory, workers=args.workers,
                                    park_s=1.0, totals=totals, progress=progress,
                                    progress_every=args.progress_every)
                print(f"sockets: {n_socket:,} inputs", flush=True)
                if n_socket:
                    await fz.run_inputs(mix(n_socket, n_socket // 20), over_tcp,
                                        workers=8, park_s=1.0, totals=totals,
                                        progress=progress,
                                        progress_every=args.progress_every)
            except AssertionError as exc:  # the sentinel was closed or stopped answering
                crashes += 1
                print(f"SENTINEL FAILED: {exc}", flush=True)
            deadline = time.monotonic() + 120
            while broker.connections and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            lingering = len(broker.connections)
            try:
                fz.check_kept(broker, kept)
                verified = True
            except AssertionError as exc:
                print(f"STORED DATA CHANGED: {exc}", flush=True)
            fresh = await _api_versions(server.host, server.port)
        finally:
            await node.close()
            logging.getLogger().removeHandler(errors)
    crashes += len(errors.records)
    elapsed = time.perf_counter() - started
    closed = totals.outcomes[fz.Outcome.CLOSED]
    print()
    print("=== fuzz soak totals ===")
    print(f"inputs: {totals.inputs:,} in {elapsed:.0f} s "
          f"({totals.inputs / max(elapsed, 1e-9):.0f}/s overall)")
    print("by kind: " + ", ".join(f"{k} {n:,}" for k, n in sorted(totals.by_kind.items())))
    print("outcomes: " + ", ".join(f"{k} {n:,}" for k, n in sorted(totals.outcomes.items())))
    print(f"connections closed by the broker: {closed:,} (each the offending one; the "
          f"sentinel answered {totals.sentinel_checks} checks and was never closed)")
    print(f"crashes: {crashes} (handler exceptions {len(errors.records)})")
    for message in [r.getMessage() for r in errors.records[:10]]:
        print(f"  {message}")
    print(f"connections left open after the fuzz: {lingering}")
    print(f"stored data verified: {'yes' if verified else 'NO'}")
    print(f"fresh connection ApiVersions after the fuzz: error_code {fresh['error_code']}")
    print("requests over 1 s: " + (", ".join(
        f"{name} {n} (worst {worst[name]:.1f} s)" for name, n in slow.most_common())
        or "none"))
    print(f"peak RSS: {_peak_mib():.0f} MiB")
    return 0 if crashes == 0 and verified and lingering == 0 else 1


async def _api_versions(host: str, port: int) -> dict:
    from streamscope.core.protocol import decode_response, encode_request

    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(encode_request(18, 3, 5, "after-soak", {}, size_prefix=True))
        await writer.drain()
        size = struct.unpack(">i", await asyncio.wait_for(reader.readexactly(4), 30))[0]
        return decode_response(18, 3, await reader.readexactly(size))[1]
    finally:
        writer.close()


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- atheris: coverage-guided fuzzing of the codec ------------------------------------


def run_atheris(seconds: int) -> int:
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed (.venv/bin/pip install atheris): skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="fuzz-atheris-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(CORPUS, corpus)
        artifacts = ROOT / "benchmarks" / "atheris-crashes"
        cmd = [sys.executable, __file__, "--atheris-child", str(corpus),
               f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-timeout=10",
               f"-artifact_prefix={artifacts}/", "-print_final_stats=1"]
        artifacts.mkdir(exist_ok=True)
        print(f"atheris: {seconds} s of coverage-guided fuzzing of the codec ...", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = (done.stdout + done.stderr).splitlines()
        for line in lines:
            if line.startswith(("stat::", "==", "#")) and ("DONE" in line or "stat::" in line
                                                           or "ERROR" in line):
                print("  " + line)
        crashed = done.returncode != 0
        if crashed:
            print("\n".join("  " + line for line in lines[-40:]))
        else:
            with __import__("contextlib").suppress(OSError):
                artifacts.rmdir()  # nothing was saved
        print(f"atheris: exit {done.returncode} ({'CRASH' if crashed else 'no crash'})")
        return done.returncode


def _atheris_child(argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports():
        from streamscope.core.errors import KafkaError
        from streamscope.core.protocol import (
            ProtocolError,
            codec_for,
            decode_consumer_assignment,
            decode_consumer_subscription,
            read_request_header,
        )
        from streamscope.core.protocol.hotpath import decode_produce_request
        from streamscope.core.records import iter_all_records
    from streamscope.core.api import load_handlers

    served = {k: (m.MIN_VERSION, m.MAX_VERSION) for k, m in load_handlers().items()}
    refusals = (ProtocolError, KafkaError, ValueError, IndexError, UnicodeDecodeError,
                struct.error, OverflowError)

    def one_input(data: bytes) -> None:
        view = memoryview(data)
        try:
            header, pos = read_request_header(view)
            versions = served.get(header.api_key)
            if versions is None or not versions[0] <= header.api_version <= versions[1]:
                return
            if header.api_key == 0:
                body = decode_produce_request(header.api_version, view, pos)[0]
                for t in body["topic_data"]:
                    for p in t["partition_data"]:
                        for _r in iter_all_records(p["records"] or b"",
                                                   max_uncompressed=FRAME_LIMIT):
                            pass
            else:
                codec_for(header.api_key, header.api_version, True).decode(view, pos)
        except refusals:
            pass
        for decode in (decode_consumer_subscription, decode_consumer_assignment):
            try:
                decode(data)
            except refusals:
                pass

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--atheris-child":
        _atheris_child([sys.argv[0], *sys.argv[2:]])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--socket-share", type=float, default=0.05,
                        help="share of the inputs sent over real TCP connections")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--examples", type=int, default=100,
                        help="hypothesis examples of 50 requests each")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--max-partitions", type=int, default=64)
    parser.add_argument("--progress-every", type=int, default=50_000)
    parser.add_argument("--atheris", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args()
    status = asyncio.run(soak(args))
    if args.atheris:
        status |= run_atheris(args.atheris) != 0
    return status


if __name__ == "__main__":
    sys.exit(main())
