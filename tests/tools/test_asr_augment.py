"""ASR-noised training examples: entities re-marked where the recogniser kept them, else dropped."""

from __future__ import annotations

from rasa.shared.nlu.training_data.loading import load_data

from tools import asr_augment


def test_an_entity_the_transcript_kept_is_marked_again():
    entities = [{"entity": "order_id", "value": "202611016468", "start": 2, "end": 14}]
    assert asr_augment.annotate("定单202611016468到哪了", entities) == "定单[202611016468](order_id)到哪了"


def test_a_synonym_keeps_its_value():
    entities = [{"entity": "product", "value": "华为Mate60", "text": "麦特60", "start": 0, "end": 4}]
    marked = asr_augment.annotate("麦特60多少钱", entities)
    assert marked == '[麦特60]{"entity": "product", "value": "华为Mate60"}多少钱'


def test_a_garbled_entity_drops_the_example():
    entities = [{"entity": "product", "value": "小米14", "start": 0, "end": 4}]
    assert asr_augment.annotate("小米是私多少钱", entities) is None


def test_sampling_is_seeded_per_intent_and_skips_the_knowledge_base(tmp_path):
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: greet\n    examples: |\n"
        + "".join(f"      - 你好{i}\n" for i in range(10))
        + "  - intent: faq/hours\n    examples: |\n      - 几点上班\n",
        encoding="utf-8",
    )
    first = asr_augment.sample_examples(3, tmp_path)
    assert first == asr_augment.sample_examples(3, tmp_path)
    assert [e["intent"] for e in first] == ["greet"] * 3


def test_the_written_file_is_rasa_training_data(tmp_path):
    path = tmp_path / "speech.yml"
    path.write_text(
        asr_augment.render({"check_order_status": ["定单[202611016468](order_id)到哪了", "我的快地呢"]}),
        encoding="utf-8",
    )
    examples = load_data(str(path)).intent_examples
    assert [m.get("text") for m in examples] == ["定单202611016468到哪了", "我的快地呢"]
    assert examples[0].get("entities")[0]["value"] == "202611016468"


def test_sampled_entities_carry_the_words_as_written(tmp_path):
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: ask_price\n    examples: |\n'
        '      - [麦特60]{"entity": "product", "value": "华为Mate60"}多少钱\n',
        encoding="utf-8",
    )
    [example] = asr_augment.sample_examples(1, tmp_path)
    assert example["entities"][0]["text"] == "麦特60"
    assert asr_augment.annotate("麦特60多少钱啊", example["entities"]).startswith("[麦特60]{")
