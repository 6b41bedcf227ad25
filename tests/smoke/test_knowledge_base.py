"""The knowledge base through the trained model: held-out paraphrases reach their entries."""

from __future__ import annotations

import json

import pytest

from tests.smoke.stack import post
from tools import kb_eval

pytestmark = pytest.mark.servers

# Floors under the figures `python -m tools.kb_eval` measures (README): a regression guard.
MIN_RIGHT = 0.60
MAX_WRONG = 0.15
MIN_ENTRIES_REACHED = 50


def parse(stack, text: str) -> dict:
    status, parsed = post(f"{stack.base}/model/parse?token={stack.token}", json.dumps({"text": text}).encode())
    assert status == 200, parsed
    return parsed


def test_paraphrases_it_was_not_trained_on_reach_their_entries(stack):
    paraphrases = kb_eval.load_paraphrases()
    entries = kb_eval.entry_ids()
    assert set(paraphrases) == entries, "every knowledge-base entry needs held-out paraphrases"
    score = kb_eval.Score()
    for entry, texts in paraphrases.items():
        for text in texts:
            score.add(entry, text, parse(stack, text))
    report = score.summary(len(entries)) + "\n" + "\n".join(score.misses)
    assert score.right / score.total >= MIN_RIGHT, report
    assert score.wrong / score.total <= MAX_WRONG, report
    assert len(score.reached) >= MIN_ENTRIES_REACHED, report
