"""The catalog extractor: every name and alias in any spelling, and models the shop lacks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.catalog_entities import CatalogEntityExtractor
from zhiyin.paths import PROJECT_ROOT
from zhiyin.seed import load_catalog

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    return LocalModelStorage(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def extractor(storage: LocalModelStorage) -> CatalogEntityExtractor:
    context = ExecutionContext(GraphSchema({}), "test")
    component = CatalogEntityExtractor.create({}, storage, Resource("catalog"), context)
    component.train(load_data(str(PROJECT_ROOT / "data" / "nlu" / "catalog.yml")))
    return component


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spaced(text: str) -> str:
    """A space wherever the script or letters/digits change: 华为Mate60 → 华为 Mate 60."""
    return re.sub(
        r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u4e00-\u9fff])|(?<=[A-Za-z])(?=\d)", " ", text
    )


def spellings(name: str) -> List[str]:
    return sorted({name, name.lower(), name.upper(), full_width(name), spaced(name), spaced(name).lower()})


def catalog_mentions() -> Iterator[Tuple[str, str, str]]:
    for product in CATALOG["products"]:
        for name in [product["name"], *product.get("aliases", [])]:
            yield "product", product["name"], name
    for company in CATALOG["companies"]:
        for name in [company["name"], *company.get("aliases", [])]:
            yield "company", company["name"], name


CASES = [(kind, value, spelling) for kind, value, name in catalog_mentions() for spelling in spellings(name)]


def found(extractor: CatalogEntityExtractor, text: str) -> List[Tuple[str, str, str]]:
    return [(e["entity"], text[e["start"] : e["end"]], e["value"]) for e in extractor.find(text)]


@pytest.mark.parametrize("kind, value, spelling", CASES, ids=[c[2] for c in CASES])
def test_every_catalog_name_and_alias_in_any_spelling(extractor, kind, value, spelling):
    text = f"请问{spelling}现在什么价"
    assert found(extractor, text) == [(kind, spelling, value)]


def test_the_case_list_covers_the_catalog():
    products = sum(1 + len(p.get("aliases", [])) for p in CATALOG["products"])
    assert len(CASES) > 3 * products


@pytest.mark.parametrize(
    "text, expected",
    [
        # Models the catalog lacks keep the customer's words, so the answer names them.
        ("iPhone 15 Pro Max多少钱", [("product", "iPhone 15 Pro Max", "iPhone 15 Pro Max")]),
        ("iphone15promax有货吗", [("product", "iphone15promax", "iphone15promax")]),
        ("诺基亚N95还有卖吗", [("product", "诺基亚N95", "诺基亚N95")]),
        ("三星 S24 Ultra 256G 多少", [("product", "三星 S24 Ultra", "三星 S24 Ultra")]),
        ("红米K70至尊版呢", [("product", "红米K70至尊版", "红米K70至尊版")]),
        ("苹果16什么时候上", [("product", "苹果16", "苹果16")]),
        (
            "华为mate60pro和华为P60哪个好",
            [("product", "华为mate60pro", "华为mate60pro"), ("product", "华为P60", "华为P60")],
        ),
        # What follows a catalog name but is not part of it.
        ("小米14 2台", [("product", "小米14", "小米14")]),
        ("iPhone15 256G 黑色", [("product", "iPhone15", "iPhone15")]),
        ("格力云佳空调1.5匹的多少钱", [("product", "格力云佳空调", "格力云佳空调")]),
        ("海尔热水器60升的有货吗", [("product", "海尔热水器", "海尔热水器")]),
        ("红米k7012+512的还有吗", [("product", "红米k70", "红米K70")]),
        ("华为Mate60 Pro+", [("product", "华为Mate60 Pro+", "华为Mate60 Pro+")]),
        ("订单202611016468里的MacBook Air", [("product", "MacBook Air", "MacBookAir")]),
        # A brand without a model is the company, ours or not.
        ("Xiaomi的手机有哪些", [("company", "Xiaomi", "小米")]),
        ("三星的冰箱有吗", [("company", "三星", "三星")]),
        ("华为手机", [("company", "华为", "华为")]),
        # Nothing to find.
        ("我的快递到哪了", []),
        ("ip600的数据", []),
    ],
)
def test_mentions(extractor, text, expected):
    assert found(extractor, text) == expected


def test_replaces_what_diet_found_at_the_same_place_and_keeps_the_rest(extractor):
    text = "订单202611016468的iPhone 15 Pro Max"
    start = text.index("iPhone")
    diet = [
        {"entity": "order_id", "start": 2, "end": 14, "value": "202611016468", "extractor": "DIETClassifier"},
        {"entity": "product", "start": start, "end": start + 6, "value": "苹果", "extractor": "DIETClassifier"},
    ]
    [message] = extractor.process([Message(data={"text": text, "entities": diet})])
    entities: List[Dict] = message.get("entities")
    assert [(e["entity"], e["value"]) for e in entities] == [
        ("order_id", "202611016468"),
        ("product", "iPhone 15 Pro Max"),
    ]


def test_the_names_are_stored_with_the_model(extractor, storage):
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = CatalogEntityExtractor.load({}, storage, Resource("catalog"), context)
    assert loaded.names == extractor.names
    assert found(loaded, "华为 nova 12呢") == [("product", "华为 nova 12", "华为nova12")]


def test_a_model_without_names_finds_nothing(tmp_path: Path):
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = CatalogEntityExtractor.load({}, LocalModelStorage(tmp_path), Resource("missing"), context)
    [message] = loaded.process([Message(data={"text": "iPhone15", "entities": []})])
    assert message.get("entities") == []
