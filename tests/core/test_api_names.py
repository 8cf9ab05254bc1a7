"""API names shown for request counters come from the one table of API keys (ApiKey)."""

from __future__ import annotations

from streamscope.core.api import load_handlers
from streamscope.core.monitor import API_NAMES, api_name
from streamscope.core.protocol import ApiKey


def test_every_kafka_api_key_has_its_kafka_name_including_ones_we_do_not_serve():
    assert api_name(ApiKey.LEADER_AND_ISR) == "LeaderAndIsr"
    assert api_name(74) == "ListConfigResources"
    assert api_name(ApiKey.INIT_PRODUCER_ID) == "InitProducerId"
    assert API_NAMES == {key.value: key.title for key in ApiKey}


def test_every_served_api_is_named_by_its_api_key_and_unknown_keys_by_number():
    for key, module in load_handlers().items():
        assert api_name(key) == ApiKey(key).title, module.__name__
    assert api_name(999) == "Api999"
