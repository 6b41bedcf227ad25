"""Traditional and full-width text reaches the NLU simplified, with every position kept."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.simplify_text import SimplifiedTextNormalizer, simplify


@pytest.mark.parametrize(
    "text, expected",
    [
        ("運費怎麼算", "运费怎么算"),
        ("多謝 再見", "多谢 再见"),
        ("ＩＰｈｏｎｅ１５有貨嗎？", "IPhone15有货吗?"),
        ("我的订单到哪了", "我的订单到哪了"),
        ("", ""),
    ],
)
def test_simplify(text, expected):
    assert simplify(text) == expected
    assert len(simplify(text)) == len(text)


def test_characters_that_fold_to_several_stay_as_they_are():
    assert simplify("重量5㎏") == "重量5㎏"


def test_messages_and_training_examples_are_rewritten_in_place():
    component = SimplifiedTextNormalizer()
    [message] = component.process([Message(data={"text": "訂單[202611016468]到哪了"})])
    assert message.get("text") == "订单[202611016468]到哪了"
    example = Message(
        data={
            "text": "ＭａｃＢｏｏｋ有貨嗎",
            "intent": "ask_stock",
            "entities": [{"start": 0, "end": 7, "entity": "product"}],
        }
    )
    [processed] = component.process_training_data(TrainingData([example])).training_examples
    assert processed.get("text") == "MacBook有货吗"
    assert processed.get("text")[0:7] == "MacBook"


def test_an_entity_value_that_is_its_words_is_rewritten_and_a_synonym_is_kept():
    example = Message(
        data={
            "text": "華為nova12和麥特60",
            "intent": "ask_price",
            "entities": [
                {"start": 0, "end": 8, "entity": "product", "value": "華為nova12"},
                {"start": 9, "end": 13, "entity": "product", "value": "华为Mate60"},
            ],
        }
    )
    [processed] = SimplifiedTextNormalizer().process_training_data(TrainingData([example])).training_examples
    assert [e["value"] for e in processed.get("entities")] == ["华为nova12", "华为Mate60"]
