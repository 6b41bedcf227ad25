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
    assert lookups == {"product", "company"}
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
    monkeypatch.setattr(build, "PROJECT_ROOT", tmp_path)
    assert build.main(["--check"]) == 1
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
