"""GET /metrics on the running Rasa server (channels/metrics.py): what a REST message and a
message the assistant does not understand do to the counters, and that it wants the API token."""

from __future__ import annotations

from typing import Dict, Tuple

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.smoke.stack import Stack

pytestmark = pytest.mark.servers

Samples = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


def scrape(stack: Stack) -> Samples:
    """Every sample of one scrape as Prometheus makes it (Bearer token): (name, labels) -> value."""
    answer = requests.get(f"{stack.base}/metrics", headers={"Authorization": f"Bearer {stack.token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def rest(name: str) -> Tuple[str, Tuple[Tuple[str, str], ...]]:
    return name, (("channel", "rest"),)


def fallbacks(samples: Samples) -> float:
    return sum(value for (name, _), value in samples.items() if name == "zhiyin_fallbacks_total")


def test_a_rest_message_is_counted_and_timed(stack):
    before = scrape(stack)
    assert stack.say("metrics-smoke-hello", "你好")
    after = scrape(stack)
    assert after[rest("zhiyin_turns_total")] == before.get(rest("zhiyin_turns_total"), 0) + 1
    assert after[rest("zhiyin_turn_seconds_count")] == before.get(rest("zhiyin_turn_seconds_count"), 0) + 1
    assert after[rest("zhiyin_turn_seconds_sum")] > before.get(rest("zhiyin_turn_seconds_sum"), 0)
    # Read from the stack's database at scrape time.
    assert after[("zhiyin_handoffs_waiting", ())] >= 0
    assert after[("process_resident_memory_bytes", ())] > 0


# Messages the shipped model does not understand (checked first with /model/parse, so a model
# that learns them fails here with that reason): no intent is confident enough (the
# FallbackClassifier), and a knowledge-base question without a sure entry (the retrieval gate).
# Plain gibberish is not one: the model calls it out_of_scope, answered as such.
NOT_UNDERSTOOD = [("你们公司的股票代码是多少？", "nlu"), ("你们招聘吗", "knowledge_base")]


@pytest.mark.parametrize("text, kind", NOT_UNDERSTOOD, ids=[kind for _, kind in NOT_UNDERSTOOD])
def test_a_message_the_assistant_does_not_understand_is_a_fallback(stack, text, kind):
    parsed = requests.post(f"{stack.base}/model/parse?token={stack.token}", json={"text": text}, timeout=60).json()
    assert parsed["intent"]["name"] == "nlu_fallback", f"the model understands {text!r} now: pick another message"
    before = scrape(stack)
    stack.say(f"metrics-smoke-{kind}", text)
    after = scrape(stack)
    assert (
        after[("zhiyin_fallbacks_total", (("kind", kind),))]
        == before[("zhiyin_fallbacks_total", (("kind", kind),))] + 1
    )
    assert fallbacks(after) == fallbacks(before) + 1
    assert after[rest("zhiyin_turns_total")] == before[rest("zhiyin_turns_total")] + 1


@pytest.mark.parametrize("query, headers", [("", {}), ("?token=wrong", {}), ("", {"Authorization": "Bearer wrong"})])
def test_metrics_need_the_api_token(stack, query, headers):
    answer = requests.get(f"{stack.base}/metrics{query}", headers=headers, timeout=30)
    assert answer.status_code == 401 and "token" in answer.json()["error"]
    assert requests.get(f"{stack.base}/metrics?token={stack.token}", timeout=30).status_code == 200
