"""Entities with a regex of their own name keep only the values of that shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.entity_shapes import EntityShapeFilter
from zhiyin.paths import PROJECT_ROOT

CONTEXT = ExecutionContext(GraphSchema({}), "test")


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    return LocalModelStorage(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def shapes(storage: LocalModelStorage) -> EntityShapeFilter:
    component = EntityShapeFilter.create({}, storage, Resource("shapes"), CONTEXT)
    data = load_data(str(PROJECT_ROOT / "data" / "nlu"))
    component.train(data)
    return component


def entity(kind: str, text: str, words: str) -> dict:
    start = text.index(words)
    return {"entity": kind, "start": start, "end": start + len(words), "value": words}


@pytest.mark.parametrize(
    "text, kind, words, kept",
    [
        ("订单202611087743今天都20号了", "order_id", "202611087743", True),
        ("订单202611087743今天都20号了", "order_id", "20", False),
        ("昨天下单今天便宜了100 退差价", "order_id", "100", False),
        ("电话 13905712846", "phone_number", "13905712846", True),
        ("电话 1390571284", "phone_number", "1390571284", False),
        ("小米14多少钱", "product", "小米14", True),  # no regex named product: untouched
    ],
)
def test_only_entities_of_their_shape_are_kept(shapes, text, kind, words, kept):
    [message] = shapes.process([Message(data={"text": text, "entities": [entity(kind, text, words)]})])
    assert bool(message.get("entities")) is kept


def test_the_shapes_come_from_the_training_data_and_are_stored(shapes, storage):
    assert set(shapes.shapes) == {"order_id", "phone_number"}
    loaded = EntityShapeFilter.load({}, storage, Resource("shapes"), CONTEXT)
    assert loaded.shapes == shapes.shapes


def test_without_stored_shapes_nothing_is_dropped(tmp_path: Path):
    loaded = EntityShapeFilter.load({}, LocalModelStorage(tmp_path), Resource("none"), CONTEXT)
    text = "便宜了100"
    [message] = loaded.process([Message(data={"text": text, "entities": [entity("order_id", text, "100")]})])
    assert len(message.get("entities")) == 1
