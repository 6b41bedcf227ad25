"""An entity with a known shape must have it: an order number is 12 digits, not 「28号」.

DIET tags by context, so a number near words like 「下单」 or 「降了」 (「10号」, 「便宜了300」) can come
out as an `order_id`, and the dialogue would then look up order 300. Training data gives some
entities a regex of the same name (data/nlu/regex.yml: `order_id`, `phone_number`); this
component, after the extractors, drops an entity of such a type whose words match none of its
patterns in full. Entities without a regex of their own name pass untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

PATTERNS_FILE = "shapes.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class EntityShapeFilter(GraphComponent):
    """Drops entities that do not have the shape of their type's regex."""

    def __init__(
        self, model_storage: ModelStorage, resource: Resource, shapes: Optional[Dict[str, List[str]]] = None
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._use(shapes or {})

    def _use(self, shapes: Dict[str, List[str]]) -> None:
        self.shapes = shapes
        self._compiled = {name: [re.compile(p) for p in patterns] for name, patterns in shapes.items()}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityShapeFilter:
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        entity_types = training_data.entities
        shapes: Dict[str, List[str]] = {}
        for feature in training_data.regex_features:
            if feature["name"] in entity_types:
                shapes.setdefault(feature["name"], []).append(feature["pattern"])
        with self._model_storage.write_to(self._resource) as directory:
            (directory / PATTERNS_FILE).write_text(json.dumps(shapes), encoding="utf-8")
        self._use(shapes)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EntityShapeFilter:
        try:
            with model_storage.read_from(resource) as directory:
                shapes = json.loads((directory / PATTERNS_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            shapes = {}
        return cls(model_storage, resource, shapes)

    def has_shape(self, entity: Dict[str, Any], text: str) -> bool:
        patterns = self._compiled.get(entity[ENTITY_ATTRIBUTE_TYPE])
        if not patterns:
            return True
        words = text[entity["start"] : entity["end"]].strip()
        return any(pattern.fullmatch(words) for pattern in patterns)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            kept = [entity for entity in entities if self.has_shape(entity, message.get(TEXT) or "")]
            if len(kept) != len(entities):
                message.set(ENTITIES, kept, add_to_output=True)
        return messages
