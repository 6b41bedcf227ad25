"""Catalog names found deterministically, whatever the case, width or spacing.

DIET learns entities from examples, so a catalog name it has rarely seen written a certain way
(「Apple Watch 9」, 「ＸＩＡＯＭＩ１４」, 「诺瓦12」) can be missed or cut short, and a customer who
named a product is then told it does not exist. This extractor, placed after DIET and the
synonym mapper, looks every name and alias of the lookup tables up in the message compared
as `zhiyin.text.normalize` compares names (NFKC, lowercase, no white space) and replaces
whatever DIET found at those places:

- a catalog product or alias → `product` with the canonical name as value;
- a catalog company or alias → `company` with its canonical name;
- a catalog name or any brand (lookup `brand`: brands the shop does not sell) followed by model
  words (「iPhone 15 Pro Max」, 「诺基亚N95」, 「红米K70至尊版」) → `product` with the words the customer
  wrote, so the answer can name that product and suggest the closest ones the shop sells.

The names come from the training data (lookup tables and synonyms, generated from the catalog
by tools/build_nlu_resources.py) and are stored with the model.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from zhiyin.text import normalize

NAMES_FILE = "names.json"
PRODUCT, COMPANY, BRAND = "product", "company", "brand"

# Words that continue a model name after a space: 「iPhone 15 Pro Max」, 「小米14 Ultra」.
SERIES_WORDS = frozenset(
    [
        "pro",
        "max",
        "ultra",
        "plus",
        "mini",
        "air",
        "se",
        "lite",
        "note",
        "fold",
        "flip",
        "turbo",
        "neo",
        "gt",
        "x",
        "s",
        "e",
        "r",
        "xr",
        "xs",
        "pad",
        "book",
        "watch",
        "buds",
        "galaxy",
        "magic",
        "mate",
        "nova",
        "reno",
        "find",
        "ipad",
        "iphone",
        "macbook",
        "thinkpad",
        "matebook",
        "matepad",
        "freebuds",
    ]
)
# Editions written in Chinese right after a model: 「红米K70至尊版」.
EDITION = re.compile(r"(至尊版|青春版|典藏版|标准版|增强版|旗舰版|冠军版|热血版|活力版|尊享版|保时捷版|卫星版)")
MODEL_TOKEN = re.compile(r"(\s*)([A-Za-z]+\d*[A-Za-z]*|\d+[A-Za-z]*|\+)")
# Storage, power, size: not part of the model's name (「iPhone 15 Pro 256G」).
CAPACITY = re.compile(r"^(\d+(g|gb|t|tb|w|mah|hz|mm|寸)|\d{3,})$", re.IGNORECASE)
# What follows a number that measures something: a unit, a decimal point, a storage "+".
MEASURE = re.compile(r"[升匹寸米斤克元块号台个件瓦度岁]|\.\d|\+\d")
MAX_MODEL_TOKENS = 4


@dataclass(frozen=True)
class Name:
    """A normalised name: what it is (product, company, brand) and its canonical value."""

    kind: str
    value: str


def _ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def normalised_with_positions(text: str) -> Tuple[str, List[int]]:
    """`normalize(text)` and, for each of its characters, the index of the source character."""
    chars: List[str] = []
    positions: List[int] = []
    for index, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).lower():
            if not folded.isspace():
                chars.append(folded)
                positions.append(index)
    return "".join(chars), positions


def model_suffix(text: str, start: int, anchor: str) -> int:
    """Where the model words after a name end (== start when there are none).

    After a brand or company (anchor "brand"/"company") the words must contain a digit
    (「苹果16」, 「三星 S24」) or nothing is a model; after a product, only attached words or
    series words count, so 「小米14 2台」 stays 小米14.
    """
    end, tokens, has_digit, position = start, 0, False, start
    folded = unicodedata.normalize("NFKC", text[start:])
    if len(folded) != len(text) - start:  # a character that folds to several: stop at once
        return start
    while tokens < MAX_MODEL_TOKENS:
        edition = EDITION.match(folded, position - start)
        if edition and (tokens or anchor == PRODUCT):
            return start + edition.end()
        match = MODEL_TOKEN.match(folded, position - start)
        if not match:
            break
        spaced, word = bool(match.group(1)), match.group(2)
        if CAPACITY.match(word) or MEASURE.match(folded, match.end()) and word[-1].isdigit():
            break  # 「256G」, 「1.5匹」, 「60升」, 「12+512」: a size, not the model's name
        digit = any(c.isdigit() for c in word)
        if spaced and not digit and word.lower() not in SERIES_WORDS:
            break
        if spaced and anchor == PRODUCT and not any(c.isalpha() for c in word):
            break
        tokens += 1
        has_digit = has_digit or digit
        position = start + match.end()
        end = position
    if anchor != PRODUCT and not has_digit:
        return start
    return end


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class CatalogEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Products, companies and brands of the lookup tables, found in any spelling."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"product_lookup": PRODUCT, "company_lookup": COMPANY, "brand_lookup": BRAND}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        names: Optional[Dict[str, Name]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.names: Dict[str, Name] = names or {}
        self._longest = max((len(key) for key in self.names), default=0)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CatalogEntityExtractor:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        synonyms = {normalize(alias): value for alias, value in training_data.entity_synonyms.items()}
        tables = {table["name"]: table["elements"] for table in training_data.lookup_tables}
        names: Dict[str, Name] = {}
        # Products first, then companies, then other brands: a name in two tables keeps the first.
        for kind in (PRODUCT, COMPANY, BRAND):
            for element in tables.get(self._config[f"{kind}_lookup"], []):
                key = normalize(str(element))
                if key and key not in names:
                    value = str(element) if kind == BRAND else str(synonyms.get(key, element))
                    names[key] = Name(kind, value)
        self.names = names
        self._longest = max((len(key) for key in names), default=0)
        with self._model_storage.write_to(self._resource) as directory:
            payload = {key: [name.kind, name.value] for key, name in names.items()}
            (directory / NAMES_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CatalogEntityExtractor:
        try:
            with model_storage.read_from(resource) as directory:
                payload = json.loads((directory / NAMES_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            payload = {}
        names = {key: Name(kind, value) for key, (kind, value) in payload.items()}
        return cls(config, model_storage, resource, names)

    def _longest_name_at(self, normalised: str, start: int) -> Optional[Tuple[str, Name]]:
        if start and _ascii_alnum(normalised[start - 1]) and _ascii_alnum(normalised[start]):
            return None  # 「p60」 inside 「ip600」 is not a name
        for length in range(min(self._longest, len(normalised) - start), 0, -1):
            name = self.names.get(normalised[start : start + length])
            if name is not None:
                return normalised[start : start + length], name
        return None

    def find(self, text: str) -> List[Dict[str, Any]]:
        """The catalog entities of `text`, left to right, as Rasa entity dicts."""
        normalised, positions = normalised_with_positions(text)
        found: List[Dict[str, Any]] = []
        index = 0
        while index < len(normalised):
            hit = self._longest_name_at(normalised, index)
            if hit is None:
                index += 1
                continue
            key, name = hit
            start = positions[index]
            end = positions[index + len(key) - 1] + 1
            model_end = model_suffix(text, end, name.kind)
            if model_end > end:
                entity_type, value, end = PRODUCT, text[start:model_end].strip(), model_end
            elif name.kind == BRAND:
                entity_type, value = COMPANY, text[start:end]
            else:
                entity_type, value = name.kind, name.value
            found.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: entity_type,
                    ENTITY_ATTRIBUTE_START: start,
                    ENTITY_ATTRIBUTE_END: end,
                    ENTITY_ATTRIBUTE_VALUE: value,
                    ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                    EXTRACTOR: self.__class__.__name__,
                }
            )
            # Continue after the entity (in normalised positions).
            while index < len(normalised) and positions[index] < end:
                index += 1
        return found

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            found = self.find(text)
            if not found:
                continue
            kept = [entity for entity in message.get(ENTITIES, []) if not any(_overlap(entity, ours) for ours in found)]
            merged = sorted([*kept, *found], key=lambda e: e[ENTITY_ATTRIBUTE_START])
            message.set(ENTITIES, merged, add_to_output=True)
        return messages


def _overlap(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a[ENTITY_ATTRIBUTE_START] < b[ENTITY_ATTRIBUTE_END] and b[ENTITY_ATTRIBUTE_START] < a[ENTITY_ATTRIBUTE_END]
