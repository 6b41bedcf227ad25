"""Validation of the complaint and suggestion forms."""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.orders import check_order_id
from actions.services import tickets


def check_description(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
) -> Dict[Text, Any]:
    """Keep a description that says something; a bare "我要投诉" is asked again.

    The message that opened the form pre-fills the slot. If it only asked to complain, the
    form's own question follows, so the rejection stays silent then.
    """
    text = str(value or "").strip()
    if tickets.is_substantive(text):
        return {slot: text}
    if tracker.get_slot("requested_slot") == slot:
        dispatcher.utter_message(response="utter_description_too_short")
    return {slot: None}


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"order_id": check_order_id(value, dispatcher, allow_none=True)}

    def validate_complaint_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return check_description(value, dispatcher, tracker, "complaint_text")

    def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        phone = tickets.extract_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_invalid")
        return {"phone_number": phone}


    def validate_complaint_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Only a yes or a no (set from affirm / deny) answers the confirmation."""
        return {"complaint_confirmed": value if isinstance(value, bool) else None}


class ValidateSuggestionForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_suggestion_form"

    def validate_suggestion_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return check_description(value, dispatcher, tracker, "suggestion_text")
