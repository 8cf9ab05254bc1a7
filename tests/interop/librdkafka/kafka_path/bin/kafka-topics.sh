#!/usr/bin/env bash
# Stand-in for Apache Kafka's bin/kafka-topics.sh, which some of librdkafka's tests run
# through KAFKA_PATH: the same options, done with a real Kafka admin client
# (tests/interop/librdkafka/kafka_topics.py). runner.py sets KAFKA_PATH to the
# directory above this one and STREAMSCOPE_PYTHON to the interpreter to use.
exec "${STREAMSCOPE_PYTHON:-python3}" -m tests.interop.librdkafka.kafka_topics "$@"
