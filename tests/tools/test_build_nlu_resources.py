import pytest
import yaml

from tools import build_nlu_resources as build


def test_committed_resources_match_the_catalog():
    assert build.main(["--check"]) == 0, "run `python -m tools.build_nlu_resources`"


def test_userdict_has_every_product_once_and_no_spaces():
    content = build.outputs()[build.USERDICT]
    words = [line.split(" ")[0] for line in content.splitlines()]
    assert len(words) == len(set(words))
    assert {"华为Mate60", "戴森V12", "小米笔记本Pro14"} <= set(words)
    assert all(len(line.split(" ")) == 3 for line in content.splitlines())


def test_catalog_nlu_has_lookups_and_unambiguous_synonyms():
    nlu = yaml.safe_load(build.outputs()[build.CATALOG_NLU])["nlu"]
    lookups = {item["lookup"] for item in nlu if "lookup" in item}
    assert lookups == {"product", "company", "brand"}
    brands = next(item for item in nlu if item.get("lookup") == "brand")["examples"]
    assert "- 诺基亚\n" in brands and "- 华为\n" not in brands
    synonyms = {}
    for item in nlu:
        if "synonym" in item:
            for variant in item["examples"].splitlines():
                key = variant[2:].lower()
                assert key not in synonyms, f"{key} maps to two names"
                synonyms[key] = item["synonym"]
    assert synonyms["apple"] == "苹果" and synonyms["iphone"] == "苹果"
    assert synonyms["mate60"] == "华为Mate60"


def test_check_reports_stale_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build, "USERDICT", tmp_path / "userdict.txt")
    monkeypatch.setattr(build, "CATALOG_NLU", tmp_path / "catalog.yml")
    monkeypatch.setattr(build, "FAQ_NLU", tmp_path / "faq.yml")
    monkeypatch.setattr(build, "PROJECT_ROOT", tmp_path)
    assert build.main(["--check"]) == 1
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0


def test_knowledge_base_becomes_retrieval_intents_with_answers():
    generated = yaml.safe_load(build.outputs()[build.FAQ_NLU])
    entries = build.faq_entries(build.KNOWLEDGE)
    assert len(entries) >= 60
    assert {item["intent"] for item in generated["nlu"]} == {f"faq/{e['id']}" for e in entries}
    first = entries[0]
    assert generated["responses"][f"utter_faq/{first['id']}"] == [{"text": first["answer"].strip()}]


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"id": "Bad Id", "answer": "a", "examples": list("abcde")}, "id must be unique"),
        ({"id": "no_answer", "answer": " ", "examples": list("abcde")}, "answer is empty"),
        ({"id": "few", "answer": "a", "examples": ["a", "a", "b"]}, "at least 5 different examples"),
    ],
)
def test_a_broken_knowledge_entry_is_named(tmp_path, monkeypatch, capsys, entry, problem):
    knowledge = tmp_path / "faq.yml"
    good = {"id": "fine", "answer": "好的", "examples": ["一", "二", "三", "四", "五"]}
    knowledge.write_text(yaml.safe_dump({"entries": [good, entry]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(build, "KNOWLEDGE", knowledge)
    assert build.main(["--check"]) == 2
    assert problem in capsys.readouterr().out
