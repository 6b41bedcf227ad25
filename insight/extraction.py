"""Who and what complaints are about: products, companies, order and phone numbers.

Catalog matching finds the names customers write (any alias, any width or case); the NLU's
own entities from the same conversation add what the customer named before filing; the
order number links to the product ordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy.orm import Session

from insight.conversations import Message, TicketRecord
from zhiyin.db import Order
from zhiyin.services.catalog import company_index, name_index
from zhiyin.services.orders import order_ids_in
from zhiyin.services.tickets import phones_in
from zhiyin.text import normalize

# NLU entities from the sender's messages this long before a ticket count towards it.
CONVERSATION_WINDOW = timedelta(hours=1)


@dataclass
class Mentions:
    products: List[str] = field(default_factory=list)
    companies: List[str] = field(default_factory=list)
    order_ids: List[str] = field(default_factory=list)
    phones: List[str] = field(default_factory=list)


def _unique(values: Iterable[Optional[str]]) -> List[str]:
    return list(dict.fromkeys(v for v in values if v))


class Catalog:
    """Normalised product and company names (with aliases) -> canonical names, read once."""

    def __init__(
        self,
        products: Dict[str, Tuple[str, str]],
        companies: Dict[str, str],
        order_products: Optional[Dict[str, str]] = None,
    ) -> None:
        self.products = products  # alias -> (product name, company)
        self.companies = companies  # alias -> company
        self.order_products = order_products or {}  # order id -> product name
        # Longest alias first, so "华为Mate60" wins over "Mate60" inside it.
        self._product_aliases = sorted(((a, name) for a, (name, _) in products.items() if a), key=lambda p: -len(p[0]))
        self._company_aliases = sorted(((a, name) for a, name in companies.items() if a), key=lambda p: -len(p[0]))

    @classmethod
    def from_session(cls, session: Session) -> Catalog:
        products = {alias: (p.name, p.company) for alias, p in name_index(session).items()}
        orders = {o.order_id: o.product.name for o in session.query(Order)}
        return cls(products, company_index(session), orders)

    def company_of(self, product: str) -> Optional[str]:
        entry = self.products.get(normalize(product))
        return entry[1] if entry else None

    def resolve_product(self, mention: str) -> str:
        """The catalog name for a mention, or the mention itself when it is not in the catalog."""
        entry = self.products.get(normalize(mention))
        return entry[0] if entry else mention

    @staticmethod
    def _find(text: str, aliases: Sequence[Tuple[str, str]]) -> List[str]:
        """Canonical names found in the text in order, longest alias first, no overlapping matches."""
        haystack = normalize(text)
        taken = [False] * len(haystack)
        found: List[Tuple[int, str]] = []
        for alias, name in aliases:
            start = haystack.find(alias)
            while start >= 0:
                end = start + len(alias)
                if not any(taken[start:end]):
                    taken[start:end] = [True] * len(alias)
                    found.append((start, name))
                start = haystack.find(alias, end)
        return _unique(name for _, name in sorted(found))

    def products_in(self, text: str) -> List[str]:
        return self._find(text, self._product_aliases)

    def companies_in(self, text: str) -> List[str]:
        return self._find(text, self._company_aliases)


def extract(text: str, catalog: Catalog, entities: Sequence[Dict] = ()) -> Mentions:
    """Everything a free text names, plus the NLU entities extracted from it or near it."""
    entity_values = {
        name: [str(e["value"]) for e in entities if e.get("entity") == name]
        for name in ("product", "company", "order_id", "phone_number")
    }
    order_ids = _unique([*order_ids_in(text), *entity_values["order_id"]])
    products = _unique(
        [
            *catalog.products_in(text),
            *(catalog.resolve_product(v) for v in entity_values["product"]),
            *(catalog.order_products.get(o) for o in order_ids),
        ]
    )
    companies = _unique(
        [
            *catalog.companies_in(text),
            *(catalog.companies.get(normalize(v), v) for v in entity_values["company"]),
            *(catalog.company_of(p) for p in products),
        ]
    )
    phones = _unique([*phones_in(text), *(p for v in entity_values["phone_number"] for p in phones_in(v))])
    return Mentions(products, companies, order_ids, phones)


def ticket_mentions(ticket: TicketRecord, messages: Sequence[Message], catalog: Catalog) -> Mentions:
    """What a ticket is about: its text, its form fields, and the conversation that led to it."""
    entities = [
        entity
        for m in messages
        if m.sender == ticket.sender
        and m.channel == ticket.channel
        and ticket.created_at - CONVERSATION_WINDOW <= m.time <= ticket.created_at
        for entity in m.entities
    ]
    fields = [
        {"entity": "product", "value": ticket.product},
        {"entity": "order_id", "value": ticket.order_id},
        {"entity": "phone_number", "value": ticket.phone},
    ]
    return extract(ticket.text, catalog, [*entities, *(f for f in fields if f["value"])])
