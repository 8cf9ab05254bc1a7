"""The subset of Apache Kafka's ``kafka-topics.sh`` that librdkafka's tests run.

``kafka_path/bin/kafka-topics.sh`` execs this module. Options, as Kafka's tool takes
them: ``--bootstrap-server HOST:PORT`` and one of ``--create --topic T --partitions N
--replication-factor R [--config K=V ...]``, ``--alter --topic T --partitions N``,
``--delete --topic T``. Each is done with confluent-kafka's AdminClient (CreateTopics,
CreatePartitions, DeleteTopics) and waits for the result; any error is printed and
exits 1, so the test that ran it fails with that message. Anything else (``--zookeeper``,
``--describe``...) exits 2 saying it is not supported.
"""

from __future__ import annotations

import argparse
import sys

TIMEOUT_S = 30.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="kafka-topics.sh")
    ap.add_argument("--bootstrap-server", required=True)
    action = ap.add_mutually_exclusive_group(required=True)
    action.add_argument("--create", action="store_true")
    action.add_argument("--alter", action="store_true")
    action.add_argument("--delete", action="store_true")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int)
    ap.add_argument("--replication-factor", type=int, default=1)
    ap.add_argument("--config", action="append", default=[])
    try:
        args = ap.parse_args(argv)
    except SystemExit:
        print("kafka-topics.sh stand-in: unsupported arguments", file=sys.stderr)
        return 2

    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": args.bootstrap_server})
    if args.create:
        configs = dict(c.split("=", 1) for c in args.config)
        futures = admin.create_topics(
            [NewTopic(args.topic, num_partitions=args.partitions or 1,
                      replication_factor=args.replication_factor, config=configs)],
            operation_timeout=TIMEOUT_S)
    elif args.alter:
        if args.partitions is None:
            print("kafka-topics.sh stand-in: --alter needs --partitions", file=sys.stderr)
            return 2
        futures = admin.create_partitions([NewPartitions(args.topic, args.partitions)],
                                          operation_timeout=TIMEOUT_S)
    else:
        futures = admin.delete_topics([args.topic], operation_timeout=TIMEOUT_S)
    try:
        futures[args.topic].result(timeout=TIMEOUT_S + 10)
    except Exception as exc:
        print(f"kafka-topics.sh stand-in: {args.topic}: {exc}", file=sys.stderr)
        return 1
    print(f"kafka-topics.sh stand-in: {args.topic}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
