"""Historical consultations become candidate NLU examples in valid Rasa YAML, for review only."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from insight.__main__ import main
from insight.candidates import (
    TRAINING_DATA,
    ConsultationFileError,
    Prediction,
    Utterance,
    annotated,
    build_candidates,
    cluster,
    import_consultations,
    read_utterances,
    training_keys,
)

INTENTS = {"ask_price", "ask_stock", "ask_shipping", "greet", "file_complaint"}


def keyword_model(texts: Sequence[str]) -> List[Prediction]:
    """A stand-in for the trained model with known answers (the real one: tests/smoke)."""
    out = []
    for text in texts:
        if "多少钱" in text:
            start = text.find("Mate60")
            entities = (
                [{"entity": "product", "start": start - 2, "end": start + 6, "value": text[start - 2 : start + 6]}]
                if start >= 2
                else []
            )
            out.append(("ask_price", 0.9, entities))
        elif "货" in text:
            out.append(("ask_stock", 0.6, []))
        else:
            out.append(("greet", 0.3, []))
    return out


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CSV = """text,label
华为Mate60多少钱,ask_price
華為Ｍａｔｅ６０多少錢？,ask_price
华为Mate60 多少钱！！,
小米14有货吗,ask_stock
小米14还有货吗,ask_price
快递什么时候到,
,
😀😀,
你好,greet
"""


@pytest.fixture
def result(tmp_path):
    return build_candidates(
        read_utterances(write_csv(tmp_path / "c.csv", CSV)), keyword_model, known={"你好"}, intents=INTENTS
    )


def test_cleaned_deduplicated_and_counted(result):
    texts = [c.text for c in result.candidates]
    assert result.rows == 9 and result.skipped_empty == 2 and result.already_trained == 1
    assert result.duplicates == 2
    assert texts.count("华为Mate60多少钱") == 1
    assert next(c for c in result.candidates if c.text == "华为Mate60多少钱").count == 3


def test_ordered_for_review_disagreement_first_then_low_confidence(result):
    order = [(c.text, c.disagrees, c.confidence) for c in result.candidates]
    assert order[0] == ("小米14还有货吗", True, 0.6)  # labelled ask_price, model says ask_stock
    rest = [confidence for _, disagrees, confidence in order[1:]]
    assert rest == sorted(rest) and not any(d for _, d, _ in order[1:])


def test_label_wins_over_prediction_and_both_are_kept(result):
    candidate = next(c for c in result.candidates if c.text == "小米14还有货吗")
    assert (candidate.intent, candidate.predicted, candidate.label) == ("ask_price", "ask_stock", "ask_price")


def test_similar_utterances_share_a_cluster():
    ids = cluster(["小米14有货吗", "小米14还有货吗", "退款多久到账", "退款什么时候到账"])
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


def test_review_file_is_valid_rasa_yaml_with_entities_and_metadata(tmp_path):
    out = tmp_path / "review" / "candidates.yml"
    result = import_consultations(write_csv(tmp_path / "c.csv", CSV), out, keyword_model, known=set(), intents=INTENTS)
    data = RasaYAMLReader().read(str(out))
    assert [m.get("text") for m in data.intent_examples] == [c.text for c in result.candidates]
    price = next(m for m in data.intent_examples if m.get("text") == "华为Mate60多少钱")
    assert price.get("intent") == "ask_price"
    assert [(e["entity"], e["value"]) for e in price.get("entities")] == [("product", "华为Mate60")]
    assert price.get("metadata")["example"]["confidence"] == 0.9
    assert out.read_text(encoding="utf-8").startswith("# Candidate NLU examples")


def test_brackets_in_customer_text_do_not_become_entity_markup():
    result = build_candidates([Utterance("[急]华为Mate60多少钱")], keyword_model)
    assert result.candidates[0].text.startswith("［急］")


def test_annotated_skips_overlapping_or_out_of_range_entities():
    entities = [
        {"entity": "a", "start": 0, "end": 2},
        {"entity": "b", "start": 1, "end": 3},
        {"entity": "c", "start": 5, "end": 9},
    ]
    assert annotated("华为手机", entities) == "[华为](a)手机"


def test_never_written_into_the_training_data(tmp_path):
    with pytest.raises(ConsultationFileError, match="must not be written"):
        import_consultations(
            write_csv(tmp_path / "c.csv", CSV),
            TRAINING_DATA / "imported.yml",
            keyword_model,
            known=set(),
            intents=INTENTS,
        )
    assert not (TRAINING_DATA / "imported.yml").exists()


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("utterance\n你好\n", "'text' column"), ("text\n", "no rows")],
)
def test_unusable_files_are_refused_with_a_reason(tmp_path, content, message):
    path = tmp_path / "c.csv"
    if content is not None:
        write_csv(path, content)
    with pytest.raises(ConsultationFileError, match=message):
        read_utterances(path)


def test_training_keys_know_the_training_data():
    keys = training_keys()
    assert "你好" in keys and len(keys) > 300


def test_cli_import_without_a_model_exits_with_a_reason(tmp_path, capsys):
    csv_path = write_csv(tmp_path / "c.csv", CSV)
    assert main(["import", str(csv_path), "--model", str(tmp_path / "none.tar.gz")]) == 2
    assert "no trained model" in capsys.readouterr().err
