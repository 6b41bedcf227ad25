"""Product catalog look-ups: exact resolution of a mention, fuzzy suggestions, listings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhiyin.db import Company, Product
from zhiyin.text import normalize

# Below this WRatio score a catalog name is not offered as "did you mean".
SUGGESTION_CUTOFF = 70


@dataclass(frozen=True)
class Suggestion:
    product: Product
    score: float


def _product_names(product: Product) -> List[str]:
    return [product.name, *product.aliases]


def name_index(session: Session) -> Dict[str, Product]:
    """Normalised name or alias -> product (the first product wins a shared alias)."""
    index: Dict[str, Product] = {}
    for product in session.scalars(select(Product)):
        for name in _product_names(product):
            index.setdefault(normalize(name), product)
    return index


def find_product(session: Session, mention: Optional[str]) -> Optional[Product]:
    """The product a customer named, by exact (normalised) name or alias; None if unknown."""
    key = normalize(mention or "")
    if not key:
        return None
    return name_index(session).get(key)


def suggest_products(session: Session, mention: str, limit: int = 3) -> List[Suggestion]:
    """Closest catalog products to an unknown mention, best first.

    Matches against product names, aliases and "company + name", so "华为的平板" finds the
    Huawei tablet and "苹果16" finds the iPhone; a mention that extends a catalog name
    (「iPhone 15 Pro Max」) puts that product first.
    """
    key = normalize(mention)
    if not key:
        return []
    choices: Dict[str, Product] = {}
    for product in session.scalars(select(Product)):
        for name in _product_names(product):
            choices.setdefault(normalize(name), product)
        choices.setdefault(normalize(product.company + product.category), product)
    matches = process.extract(key, list(choices), scorer=fuzz.WRatio, limit=None, score_cutoff=SUGGESTION_CUTOFF)
    # A model the catalog lacks that extends one it has (「iPhone 15 Pro Max」, 「红米K70至尊版」):
    # the longest name it starts with is the closest product.
    extended = max((choice for choice in choices if key.startswith(choice) and key != choice), key=len, default=None)
    if extended:
        matches.append((extended, 100.0, -1))
    best: Dict[str, Suggestion] = {}
    for choice, score, _ in matches:
        product = choices[choice]
        if product.sku not in best or best[product.sku].score < score:
            best[product.sku] = Suggestion(product, score)
    ranked = sorted(best.values(), key=lambda s: (-s.score, s.product.name))
    return ranked[:limit]


def find_company(session: Session, mention: Optional[str]) -> Optional[str]:
    """Canonical company name for a mention such as "Apple" or "华为公司"; None if unknown."""
    key = normalize(mention or "")
    return company_index(session).get(key) if key else None


def company_index(session: Session) -> Dict[str, str]:
    """Normalised company name or alias -> canonical company name."""
    index: Dict[str, str] = {}
    for company in session.scalars(select(Company)):
        for name in [company.name, *company.aliases]:
            index.setdefault(normalize(name), company.name)
    return index


def products_by_company(session: Session, company: str) -> List[Product]:
    query = select(Product).where(Product.company == company).order_by(Product.category, Product.price_fen)
    return list(session.scalars(query))


def in_stock_alternatives(session: Session, product: Product, limit: int = 3) -> List[Product]:
    """Other products of the same category that can ship now, closest in price first."""
    query = select(Product).where(Product.category == product.category, Product.sku != product.sku, Product.stock > 0)
    candidates = list(session.scalars(query))
    candidates.sort(key=lambda p: abs(p.price_fen - product.price_fen))
    return candidates[:limit]
