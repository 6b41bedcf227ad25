"""Consultation about products: information, price and stock, answered from the catalog."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

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
)
from zhiyin.db import Product, session_scope
from zhiyin.services import catalog

# Which aspect of a product each consultation intent asks about.
ASPECT_BY_INTENT = {"ask_product_info": "info", "ask_price": "price", "ask_stock": "stock"}
INTENT_BY_ASPECT = {aspect: intent for intent, aspect in ASPECT_BY_INTENT.items()}
MAX_PRODUCTS_PER_ANSWER = 3


def format_price(product: Product) -> str:
    price = product.price
    return f"{price:.0f}" if price == price.to_integral_value() else f"{price:.2f}"


def describe_stock(product: Product) -> str:
    return f"有货（库存 {product.stock} 件）" if product.stock > 0 else "暂时缺货"


def describe_specs(product: Product) -> str:
    return "；".join(f"{key}：{value}" for key, value in product.specs.items())


def answer_text(product: Product, aspect: str) -> str:
    """The customer-facing answer about one product."""
    if aspect == "price":
        return f"{product.name}（{product.company}）售价 {format_price(product)} 元，目前{describe_stock(product)}。"
    if aspect == "stock":
        if product.stock > 0:
            return f"{product.name} 目前有货，库存 {product.stock} 件，付款后 48 小时内发货。"
        return f"抱歉，{product.name} 暂时缺货，到货时间以页面通知为准。"
    return (
        f"{product.name}（{product.company} · {product.category}）\n"
        f"参数：{describe_specs(product)}\n"
        f"价格：{format_price(product)} 元；保修：{product.warranty}；库存：{describe_stock(product)}"
    )


def aspect_of_conversation(tracker: Tracker) -> str:
    """What the customer wants to know: from the latest consultation intent, else product info.

    A follow-up such as "iPhone15" (inform) after "多少钱？" keeps asking about the price.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event_intent(event) in ASPECT_BY_INTENT:
            return ASPECT_BY_INTENT[event_intent(event)]
    return "info"


def suggestion_buttons(products: List[Product], aspect: str) -> List[Dict[str, str]]:
    intent = INTENT_BY_ASPECT[aspect]
    return [
        {"title": p.name, "payload": f"/{intent}{json.dumps({'product': p.name}, ensure_ascii=False)}"}
        for p in products
    ]


class ActionAnswerProduct(Action):
    """Answers ask_product_info / ask_price / ask_stock (and product follow-ups) from the DB."""

    def name(self) -> Text:
        return "action_answer_product"

    @database_guard
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> RunResult:
        aspect = aspect_of_conversation(tracker)
        mentions = latest_entity_values(tracker, "product")
        companies = latest_entity_values(tracker, "company")
        with session_scope() as session:
            if mentions:
                return self._answer_mentions(session, dispatcher, mentions, aspect)
            if companies:
                return self._list_company(session, dispatcher, companies[0], aspect)
            remembered = tracker.get_slot("product")
            asking = latest_intent(tracker) in ASPECT_BY_INTENT
            if remembered and asking:
                return self._answer_mentions(session, dispatcher, [remembered], aspect)
        # A consultation without a product: ask which. Anything else the customer tells us
        # outside a form (a problem, a phone number): offer the ways we can help.
        dispatcher.utter_message(response="utter_ask_which_product" if asking else "utter_offer_help")
        return [SlotSet("product", None)]

    def _answer_mentions(
        self, session: Session, dispatcher: CollectingDispatcher, mentions: List[str], aspect: str
    ) -> RunResult:
        found: Optional[Product] = None
        for mention in mentions[:MAX_PRODUCTS_PER_ANSWER]:
            product = catalog.find_product(session, mention)
            if product is None:
                self._not_found(session, dispatcher, mention, aspect)
                continue
            found = product
            dispatcher.utter_message(text=answer_text(product, aspect))
            if aspect == "stock" and product.stock == 0:
                self._offer_alternatives(session, dispatcher, product, aspect)
        return [SlotSet("product", found.name if found else None)]

    @staticmethod
    def _not_found(
        session: Session, dispatcher: CollectingDispatcher, mention: str, aspect: str
    ) -> None:
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
    def _offer_alternatives(
        session: Session, dispatcher: CollectingDispatcher, product: Product, aspect: str
    ) -> None:
        alternatives = catalog.in_stock_alternatives(session, product)
        if alternatives:
            dispatcher.utter_message(
                text="同类有货的商品供您参考：",
                buttons=suggestion_buttons(alternatives, aspect),
            )

    @staticmethod
    def _list_company(
        session: Session, dispatcher: CollectingDispatcher, mention: str, aspect: str
    ) -> RunResult:
        company = catalog.find_company(session, mention)
        products = catalog.products_by_company(session, company) if company else []
        if not products:
            dispatcher.utter_message(response="utter_company_not_found", mention=mention)
            return [SlotSet("product", None)]
        listing = "、".join(f"{p.name}（{format_price(p)}元）" for p in products)
        dispatcher.utter_message(
            text=f"{company}在售的商品有：{listing}。请问您想了解哪一款？",
            buttons=suggestion_buttons(products[:6], aspect),
        )
        return [SlotSet("product", None)]
