"""``streamscope inspect``: one look at any Kafka-compatible cluster, printed.

Usage::

    streamscope inspect [--bootstrap HOST:PORT[,HOST:PORT...]] [--group G] [--json]
                        [--security-protocol PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL]
                        [--sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512]
                        [--username NAME] [--password-env VAR] [--ca-file FILE]
                        [--timeout S]

Contract:

* Takes one :class:`core.monitor.external.ExternalObserver` snapshot (default bootstrap
  ``127.0.0.1:9092``, timeout 10 s per call) and prints topics (partitions with log
  start, high watermark, leader, replicas, ISR) and consumer groups (state, assignor,
  members with their assignment, committed offsets and lag). ``--group G`` asks for and
  prints only that group (topics are still printed); a group that does not exist exits 1 with one
  ``streamscope: ...`` line.
* The security options are :mod:`.security_options`' (shared with ``streamscope sim``).
  SASL needs ``--username``; the password is read from the environment variable named by
  ``--password-env`` or else asked for on the terminal (never taken on the command line,
  where other users could read it from the process list).
* Default output is a readable table: the brokers (partitions each leads, replicas each
  hosts, the controller), then topics, then groups; an under-replicated partition
  or one no live broker leads (unavailable) is marked on its line. ``--json`` prints one JSON object, stable shape::

    {"bootstrap": str, "cluster_id": str, "controller": int,
     "brokers": [{"node_id": int, "host": str|null, "port": int|null}],
     "topics": [{"name": str, "configs": {str: str},
                 "partitions": [{"partition": int, "log_start_offset": int,
                                 "high_watermark": int, "leader": int|null,
                                 "replicas": [int], "isr": [int],
                                 "under_replicated": bool, "unavailable": str|null}]}],
     "groups": [{"group_id": str, "state": str, "protocol_type": str, "assignor": str,
                 "members": [{"member_id": str, "client_id": str, "host": str,
                              "group_instance_id": str|null,
                              "assignment": [[topic, partition]]}],
                 "offsets": [{"topic": str, "partition": int, "committed_offset": int,
                              "high_watermark": int, "lag": int|null,
                              "member_id": str|null}],
                 "total_lag": int}]}

  Lists are sorted (topics and groups by name, partitions by index, offsets by topic and
  partition); ``committed_offset`` -1 and ``lag`` null mean nothing committed.
* An unreachable cluster, failed authentication, a TLS failure or a timeout print one
  ``streamscope: ...`` line on stderr and exit 2; so do bad arguments (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from streamscope.core.monitor.external import ExternalError, ExternalObserver
from streamscope.core.monitor.security_options import add_security_options, settings_from_args
from streamscope.core.monitor.snapshot import ClusterSnapshot, GroupSnapshot

__all__ = ["add_security_options", "main", "settings_from_args", "snapshot_json"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="streamscope inspect",
                                description="Print a Kafka-compatible cluster's topics "
                                            "and consumer groups.")
    p.add_argument("--bootstrap", default="127.0.0.1:9092",
                   help="bootstrap servers HOST:PORT[,HOST:PORT] (default 127.0.0.1:9092)")
    p.add_argument("--group", help="only this consumer group")
    p.add_argument("--json", action="store_true", help="print JSON (shape: module doc)")
    add_security_options(p)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    return p


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(list(argv))
    if not args.timeout > 0:
        parser.error("--timeout must be positive")
    settings = settings_from_args(parser, args, args.bootstrap)
    try:
        with ExternalObserver(settings, timeout_s=args.timeout) as observer:
            snap = observer.snapshot(None if args.group is None else [args.group])
    except ExternalError as exc:
        print(f"streamscope: {exc.reason}", file=sys.stderr)
        return 2
    groups = snap.groups
    if args.group is not None:
        groups = tuple(g for g in groups if g.group_id == args.group)
        if not groups:
            print(f"streamscope: no consumer group {args.group!r} on {args.bootstrap}",
                  file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(snapshot_json(snap, args.bootstrap, groups), indent=2))
    else:
        print(_table(snap, args.bootstrap, groups))
    return 0


def snapshot_json(snap: ClusterSnapshot, bootstrap: str,
                  groups: Sequence[GroupSnapshot] | None = None) -> dict:
    """The ``--json`` shape (module doc) of a snapshot."""
    return {
        "bootstrap": bootstrap,
        "cluster_id": snap.broker.cluster_id,
        "controller": (snap.controller_id if snap.controller_id is not None
                       else snap.broker.node_id),
        "brokers": [{"node_id": b.node_id, "host": b.host, "port": b.port}
                    for b in snap.all_brokers],
        "topics": [
            {
                "name": t.name,
                "configs": dict(t.configs),
                "partitions": [
                    {"partition": p.index, "log_start_offset": p.log_start_offset,
                     "high_watermark": p.high_watermark, "leader": p.leader,
                     "replicas": list(p.replicas), "isr": list(p.isr),
                     "under_replicated": p.under_replicated,
                     "unavailable": p.unavailable}
                    for p in t.partitions
                ],
            }
            for t in snap.topics
        ],
        "groups": [
            {
                "group_id": g.group_id,
                "state": g.state,
                "protocol_type": g.protocol_type,
                "assignor": g.assignor,
                "members": [
                    {"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                     "group_instance_id": m.group_instance_id,
                     "assignment": [list(tp) for tp in m.assignment]}
                    for m in g.members
                ],
                "offsets": [
                    {"topic": o.topic, "partition": o.partition,
                     "committed_offset": o.committed_offset,
                     "high_watermark": o.high_watermark, "lag": o.lag,
                     "member_id": o.member_id}
                    for o in g.offsets
                ],
                "total_lag": g.total_lag,
            }
            for g in (snap.groups if groups is None else groups)
        ],
    }


def _ids(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids) or "-"


def _table(snap: ClusterSnapshot, bootstrap: str, groups: Sequence[GroupSnapshot]) -> str:
    lines = [f"cluster {snap.broker.cluster_id or '?'} at {bootstrap} "
             f"(controller {snap.broker.node_id})"]
    for b in snap.all_brokers:
        led = sum(1 for t in snap.topics for p in t.partitions if p.leader == b.node_id)
        hosted = sum(1 for t in snap.topics for p in t.partitions if b.node_id in p.replicas)
        mark = "  controller" if b.node_id == snap.controller_id else ""
        lines.append(f"  broker {b.node_id} at {b.bootstrap or '?'}: leads {led}, "
                     f"hosts {hosted} replicas{mark}")
    lines.append("")
    lines.append(f"TOPIC / PARTITION{'':14} START       END  LEADER  REPLICAS  ISR")
    if not snap.topics:
        lines.append("(no topics)")
    for t in snap.topics:
        overrides = " ".join(f"{k}={v}" for k, v in t.configs)
        lines.append(f"{t.name}  ({t.partition_count} partitions, {t.messages} messages)"
                     + (f"  {overrides}" if overrides else ""))
        for p in t.partitions:
            leader = "-" if p.leader is None else str(p.leader)
            lines.append(f"  {p.index:<29}{p.log_start_offset:>6}{p.high_watermark:>10}"
                         f"  {leader:>6}  {_ids(p.replicas):>8}  {_ids(p.isr)}"
                         + ("  UNDER-REPLICATED" if p.under_replicated else "")
                         + (f"  UNAVAILABLE: {p.unavailable}" if p.unavailable else ""))
    lines.append("")
    if not groups:
        lines.append("(no consumer groups)")
    for g in groups:
        lines.append(f"group {g.group_id}: {g.state}, {len(g.members)} members, "
                     f"assignor {g.assignor or '-'}, total lag {g.total_lag}")
        for m in g.members:
            assigned = " ".join(f"{t}-{p}" for t, p in m.assignment) or "(nothing)"
            lines.append(f"  member {m.member_id} ({m.client_id}@{m.host}): {assigned}")
        if g.offsets:
            lines.append(f"  {'TOPIC-PARTITION':<30}{'COMMITTED':>10}{'END':>10}"
                         f"{'LAG':>11}  MEMBER")
        for o in g.offsets:
            committed = "-" if o.committed_offset < 0 else str(o.committed_offset)
            lag = "no commit" if o.lag is None else str(o.lag)
            lines.append(f"  {f'{o.topic}-{o.partition}':<30}{committed:>10}"
                         f"{o.high_watermark:>10}{lag:>11}  {o.member_id or '-'}")
    return "\n".join(lines)
