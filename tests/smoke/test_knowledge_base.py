"""The knowledge base through the trained model: held-out paraphrases reach their entries."""

from __future__ import annotations

import json
from collections import Counter

import yaml

from tests.smoke.stack import post
from zhiyin.paths import PROJECT_ROOT

PARAPHRASES = PROJECT_ROOT / "tests" / "faq_paraphrases.yml"
# Share of all held-out paraphrases that must get their entry's answer (make eval reports it).
MIN_ACCURACY = 0.85


def answered_entry(stack, text: str) -> str:
    """The knowledge-base entry whose answer this message gets ("" when it is not a faq question)."""
    status, parsed = post(f"{stack.base}/model/parse", json.dumps({"text": text}).encode())
    assert status == 200, parsed
    if parsed["intent"]["name"] != "faq":
        return ""
    key = parsed["response_selector"]["faq"]["response"]["intent_response_key"]
    return key.split("/", 1)[1]


def test_every_entry_is_reached_by_paraphrases_it_was_not_trained_on(stack):
    paraphrases = yaml.safe_load(PARAPHRASES.read_text(encoding="utf-8"))["paraphrases"]
    entries = {
        e["id"] for e in yaml.safe_load((PROJECT_ROOT / "knowledge" / "faq.yml").read_text(encoding="utf-8"))["entries"]
    }
    assert set(paraphrases) == entries, "every knowledge-base entry needs held-out paraphrases"
    hits: Counter = Counter()
    misses = []
    for entry, texts in paraphrases.items():
        for text in texts:
            got = answered_entry(stack, text)
            if got == entry:
                hits[entry] += 1
            else:
                misses.append(f"{text!r}: {entry} -> {got or 'not faq'}")
    total = sum(len(texts) for texts in paraphrases.values())
    unreached = sorted(entries - set(hits))
    assert unreached == [], f"entries no paraphrase reaches: {unreached}\n" + "\n".join(misses)
    assert sum(hits.values()) / total >= MIN_ACCURACY, "\n".join(misses)
