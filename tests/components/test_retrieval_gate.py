"""The knowledge-base gate: an unsure entry choice becomes nlu_fallback, nothing else changes."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from components.retrieval_gate import RetrievalConfidenceGate


def message(intent: str, selector_confidence: float) -> Message:
    return Message(
        data={
            "text": "x",
            "intent": {"name": intent, "confidence": 0.99},
            "intent_ranking": [{"name": intent, "confidence": 0.99}],
            "response_selector": {
                "faq": {"response": {"confidence": selector_confidence, "intent_response_key": "faq/a"}}
            },
        }
    )


@pytest.mark.parametrize(
    "intent, selector_confidence, result",
    [("faq", 0.12, "nlu_fallback"), ("faq", 0.31, "faq"), ("ask_price", 0.01, "ask_price")],
)
def test_gate(intent, selector_confidence, result):
    gate = RetrievalConfidenceGate({**RetrievalConfidenceGate.get_default_config(), "threshold": 0.3})
    [processed] = gate.process([message(intent, selector_confidence)])
    assert processed.get("intent")["name"] == result
    assert processed.get("intent_ranking")[0]["name"] == result


def test_a_faq_message_without_a_selection_is_not_answered():
    gate = RetrievalConfidenceGate(RetrievalConfidenceGate.get_default_config())
    [processed] = gate.process([Message(data={"text": "x", "intent": {"name": "faq", "confidence": 1.0}})])
    assert processed.get("intent")["name"] == "nlu_fallback"
