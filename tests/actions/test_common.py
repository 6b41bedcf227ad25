"""Helpers the actions share: reading the tracker, rendering domain texts."""

from __future__ import annotations

import pytest

from actions.common import latest_entity_values, render
from tests.helpers import entity


def test_render_fills_a_domain_response(domain):
    text = render(domain, "utter_order_carrier", carrier="顺丰速运", tracking_no="SF1234567890")
    assert text == "承运快递：顺丰速运，运单号 SF1234567890。"


def test_render_names_a_missing_response(domain):
    with pytest.raises(KeyError, match="utter_no_such_reply"):
        render(domain, "utter_no_such_reply")


def test_render_needs_every_value_the_text_names(domain):
    with pytest.raises(KeyError, match="tracking_no"):
        render(domain, "utter_order_carrier", carrier="顺丰速运")


def test_latest_entity_values_in_order_without_repeats(make_tracker):
    tracker = make_tracker(
        "小米14和华为Mate60，小米14",
        "ask_price",
        [
            entity("product", "小米14"),
            entity("product", "华为Mate60"),
            entity("product", "小米14"),
            entity("company", "小米"),
        ],
    )
    assert latest_entity_values(tracker, "product") == ["小米14", "华为Mate60"]
