"""``streamscope clone``: copy a cluster's topics (and newest records) into a sandbox.

Usage::

    streamscope clone --bootstrap HOST:PORT[,HOST:PORT...] --to HOST:PORT
                      [--topic T ...] [--records N]
                      [--security-protocol P] [--sasl-mechanism M] [--username U]
                      [--password-env VAR] [--ca-file F] [--timeout S]

Contract:

* Runs :func:`core.monitor.clone.clone_to_sandbox` from ``--bootstrap`` (the source,
  with the security options of ``streamscope inspect``: the password from
  ``--password-env`` or asked on the terminal) to ``--to`` (the sandbox: the embedded
  broker's PLAINTEXT listener). ``--topic`` (repeatable): only those topics, else every
  one; ``--records N``: each partition's newest N records too (default 0).
* Prints one progress line per topic (``[done/total] topic: N records copied so far``)
  and per partition copied, then a summary: the topics created, the records copied,
  each skipped topic and skipped config with why. Exit 0 when done (even with skips),
  2 with one ``streamscope: ...`` line on stderr on an ExternalError (unreachable,
  authentication failed, a refused record...) or bad arguments, 130 on Ctrl-C (the
  clone stops; what it had produced is flushed to the sandbox first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from streamscope.core.external_conn import ExternalError
from streamscope.core.monitor.clone import CloneProgress, CloneReport, clone_to_sandbox
from streamscope.core.monitor.inspect_cli import add_security_options, settings_from_args

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="streamscope clone",
        description="Copy a Kafka-compatible cluster's topics (names, partition counts, "
                    "configs the sandbox accepts) and optionally their newest records "
                    "into the sandbox broker.")
    p.add_argument("--bootstrap", required=True,
                   help="the source cluster's bootstrap servers HOST:PORT[,HOST:PORT]")
    p.add_argument("--to", required=True, metavar="HOST:PORT",
                   help="the sandbox (the embedded broker's listener)")
    p.add_argument("--topic", action="append", default=None, metavar="T",
                   help="clone only this topic (repeatable; default: every topic)")
    p.add_argument("--records", type=int, default=0, metavar="N",
                   help="also copy each partition's newest N records (default 0)")
    add_security_options(p)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    return p


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(list(argv))
    if not args.timeout > 0:
        parser.error("--timeout must be positive")
    if args.records < 0:
        parser.error("--records must not be negative")
    settings = settings_from_args(parser, args, args.bootstrap)
    def progress(p: CloneProgress) -> None:
        print(f"[{p.done_topics}/{p.total_topics}] {p.topic}: "
              f"{p.records_copied} records copied so far", flush=True)

    try:
        report = clone_to_sandbox(settings, args.to, topics=args.topic,
                                  last_n=args.records, progress=progress,
                                  timeout_s=args.timeout)
    except ExternalError as exc:
        print(f"streamscope: {exc.reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("streamscope: cancelled", file=sys.stderr)
        return 130
    print(_summary(report, args.bootstrap, args.to))
    return 0


def _summary(report: CloneReport, source: str, target: str) -> str:
    lines = [f"cloned {len(report.topics)} topics and {report.records} records "
             f"from {source} to {target}" + (" (cancelled)" if report.cancelled else "")]
    for name in report.topics:
        lines.append(f"  created {name}")
    for name, why in report.skipped_topics:
        lines.append(f"  skipped topic {name}: {why}")
    for name, key, why in report.skipped_configs:
        lines.append(f"  skipped config {key} of {name}: {why}")
    return "\n".join(lines)
