"""A knowledge-base answer only when the ResponseSelector is sure which entry was asked.

DIET decides that a message is a knowledge-base question (intent `faq`) with high confidence
for almost anything phrased as a general question — out-of-domain ones included — because
`faq` is one large, varied class. Which answer to give is the ResponseSelector's separate
choice among the entries, and when it is unsure (a low confidence spread over many entries)
its pick is usually wrong: a confident wrong answer. This component, placed after the
ResponseSelector and before the FallbackClassifier, turns such a message into
`nlu_fallback` (“没太理解”, then a person), like the FallbackClassifier does for a low intent
confidence. `threshold` is the selector confidence below which that happens.
"""

from __future__ import annotations

from typing import Any, Dict

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

RETRIEVAL_INTENT_KEY = "retrieval_intent"
RESPONSE_SELECTOR_KEY = "response_selector"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RetrievalConfidenceGate(FallbackClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), RETRIEVAL_INTENT_KEY: "faq", "threshold": 0.3}

    def selector_confidence(self, message: Message) -> float:
        retrieval_intent = self.component_config[RETRIEVAL_INTENT_KEY]
        selected = (message.get(RESPONSE_SELECTOR_KEY) or {}).get(retrieval_intent) or {}
        return float((selected.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)

    def _should_fallback(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != self.component_config[RETRIEVAL_INTENT_KEY]:
            return False
        return self.selector_confidence(message) < self.component_config["threshold"]
