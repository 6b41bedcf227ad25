"""One written form for the same words: simplified characters and half-width letters and digits.

Customers type traditional characters (「運費怎麼算」, 「多謝」), full-width letters from Chinese input
methods (「ＩＰｈｏｎｅ１５」), and Whisper often writes Mandarin in traditional characters. The
training data is simplified and half-width, so the featurizers would see unknown words. This
component, first in the pipeline, rewrites the message text character for character (OpenCC t2s
through `zhiyin.text.to_simplified`, then NFKC for characters that fold to one character), so
every position stays where it was: entity offsets, in training data and in answers, still point
at the customer's own characters.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_VALUE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from zhiyin.text import to_simplified


def _fold(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


def simplify(text: str) -> str:
    """Simplified, half-width text of exactly the same length (unchanged where that is impossible)."""
    converted = to_simplified(text)
    if len(converted) != len(text):  # a phrase conversion changed the length: keep the positions
        converted = "".join(to_simplified(char) if len(to_simplified(char)) == 1 else char for char in text)
    return "".join(_fold(char) for char in converted)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SimplifiedTextNormalizer(GraphComponent):
    """Rewrites message text to simplified, half-width characters before tokenization."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SimplifiedTextNormalizer:
        return cls()

    @staticmethod
    def _rewrite(message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text:
            message.set(TEXT, simplify(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            original = example.get(TEXT)
            self._rewrite(example)
            # An entity whose value is just its words (「華為nova12」) gets the rewritten words as
            # value; otherwise the synonym mapper would learn 华为nova12 → 華為nova12.
            for entity in example.get(ENTITIES) or []:
                if (
                    isinstance(original, str)
                    and entity.get(ENTITY_ATTRIBUTE_VALUE) == original[entity["start"] : entity["end"]]
                ):
                    entity[ENTITY_ATTRIBUTE_VALUE] = example.get(TEXT)[entity["start"] : entity["end"]]
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._rewrite(message)
        return messages
