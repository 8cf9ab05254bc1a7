"""One SI format for short counts and rates: no "5000" next to "10.0 k" (issue 9, item 6)."""

from __future__ import annotations

import pytest
from streamscope.desktop import format as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (3, "3"),
        (2.5, "2.5"),
        (950, "950"),
        (1000, "1.00 k"),
        (5000, "5.00 k"),
        (12_345, "12.3 k"),
        (123_456, "123 k"),
        (999_999, "1.00 M"),
        (1_234_567, "1.23 M"),
        (-5000, "-5.00 k"),
    ],
)
def test_short_counts_use_si_prefixes_from_a_thousand_up(value: float, text: str) -> None:
    assert fmt.short_count(value) == text


def test_neighbouring_rates_share_one_format() -> None:
    # The finding: a table showed "5000" in one row and "10.0 k" in the next.
    assert [fmt.rate(v) for v in (5000, 10_000)] == ["5.00 k msg/s", "10.0 k msg/s"]
