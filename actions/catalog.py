"""Consultation about products: information, price and stock, answered from the catalog."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import (
    RunResult,
    database_guard,
    event_intent,
    latest_entity_values,
    latest_intent,
    render,
)
from zhiyin.db import Product, session_scope
from zhiyin.services import catalog
from zhiyin.text import yuan

# Which aspect of a product each consultation intent asks about.
ASPECT_BY_INTENT = {"ask_product_info": "info", "ask_price": "price", "ask_stock": "stock"}
INTENT_BY_ASPECT = {aspect: intent for intent, aspect in ASPECT_BY_INTENT.items()}
MAX_PRODUCTS_PER_ANSWER = 3
# (aspect, in stock?) -> the answer's text in domain.yml
ANSWERS = {
    ("price", True): "utter_product_price_in_stock",
    ("price", False): "utter_product_price_sold_out",
    ("stock", True): "utter_product_in_stock",
    ("stock", False): "utter_product_sold_out",
    ("info", True): "utter_product_info_in_stock",
    ("info", False): "utter_product_info_sold_out",
}


def format_price(product: Product) -> str:
    return yuan(product.price_fen)


def describe_specs(product: Product) -> str:
    return "；".join(f"{key}：{value}" for key, value in product.specs.items())


def answer_text(domain: Dict[str, Any], product: Product, aspect: str) -> str:
    """The customer-facing answer about one product (texts: domain.yml, utter_product_*)."""
    return render(
        domain,
        ANSWERS[aspect, product.stock > 0],
        product=product.name,
        company=product.company,
        category=product.category,
        price=format_price(product),
        stock=product.stock,
        specs=describe_specs(product),
        warranty=product.warranty,
    )


def aspect_of_conversation(tracker: Tracker) -> str:
    """What the customer wants to know: from the latest consultation intent, else product info.

    A follow-up such as "iPhone15" (inform) after "多少钱？" keeps asking about the price.
    """
    for event in reversed(tracker.events):
        intent = event_intent(event) if event.get("event") == "user" else None
        if intent in ASPECT_BY_INTENT:
            return ASPECT_BY_INTENT[intent]
    return "info"


def suggestion_buttons(products: List[Product], aspect: str) -> List[Dict[str, str]]:
    intent = INTENT_BY_ASPECT[aspect]
    return [
        {"title": p.name, "payload": f"/{intent}{json.dumps({'product': p.name}, ensure_ascii=False)}"}
        for p in products
    ]


class ActionAnswerProduct(Action):
    """Answers ask_product_info / ask_price / ask_stock (and product follow-ups) from the DB."""

    def name(self) -> str:
        return "action_answer_product"

    @database_guard
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> RunResult:
        aspect = aspect_of_conversation(tracker)
        mentions = latest_entity_values(tracker, "product")
        companies = latest_entity_values(tracker, "company")
        with session_scope() as session:
            if mentions:
                return self._answer_mentions(session, dispatcher, domain, mentions, aspect)
            if companies:
                return self._list_company(session, dispatcher, domain, companies[0], aspect)
            remembered = tracker.get_slot("product")
            asking = latest_intent(tracker) in ASPECT_BY_INTENT
            if remembered and asking:
                return self._answer_mentions(session, dispatcher, domain, [remembered], aspect)
        # A consultation without a product: ask which. Anything else the customer tells us
        # outside a form (a problem, a phone number): offer the ways we can help.
        dispatcher.utter_message(response="utter_ask_which_product" if asking else "utter_offer_help")
        return [SlotSet("product", None)]

    def _answer_mentions(
        self,
        session: Session,
        dispatcher: CollectingDispatcher,
        domain: Dict[str, Any],
        mentions: List[str],
        aspect: str,
    ) -> RunResult:
        found: Optional[Product] = None
        for mention in mentions[:MAX_PRODUCTS_PER_ANSWER]:
            product = catalog.find_product(session, mention)
            if product is None:
                self._not_found(session, dispatcher, mention, aspect)
                continue
            found = product
            dispatcher.utter_message(text=answer_text(domain, product, aspect))
            if aspect == "stock" and product.stock == 0:
                self._offer_alternatives(session, dispatcher, product, aspect)
        return [SlotSet("product", found.name if found else None)]

    @staticmethod
    def _not_found(session: Session, dispatcher: CollectingDispatcher, mention: str, aspect: str) -> None:
        suggestions = [s.product for s in catalog.suggest_products(session, mention)]
        if suggestions:
            dispatcher.utter_message(
                response="utter_product_not_found_suggest",
                mention=mention,
                buttons=suggestion_buttons(suggestions, aspect),
            )
        else:
            dispatcher.utter_message(response="utter_product_not_found", mention=mention)

    @staticmethod
    def _offer_alternatives(session: Session, dispatcher: CollectingDispatcher, product: Product, aspect: str) -> None:
        alternatives = catalog.in_stock_alternatives(session, product)
        if alternatives:
            dispatcher.utter_message(
                response="utter_in_stock_alternatives", buttons=suggestion_buttons(alternatives, aspect)
            )

    @staticmethod
    def _list_company(
        session: Session, dispatcher: CollectingDispatcher, domain: Dict[str, Any], mention: str, aspect: str
    ) -> RunResult:
        company = catalog.find_company(session, mention)
        products = catalog.products_by_company(session, company) if company else []
        if not products:
            dispatcher.utter_message(response="utter_company_not_found", mention=mention)
            return [SlotSet("product", None)]
        listing = "、".join(f"{p.name}（{format_price(p)}元）" for p in products)
        dispatcher.utter_message(
            text=render(domain, "utter_company_products", company=company, listing=listing),
            buttons=suggestion_buttons(products[:6], aspect),
        )
        return [SlotSet("product", None)]
