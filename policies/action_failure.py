"""A policy that apologises when a custom action failed, e.g. the action server is down.

Rasa logs a failed custom action (or form) and drops its events, then carries on: the
customer would get no answer at all. A failed action leaves a tell-tale in the tracker: its
``ActionExecuted`` is the latest event, with nothing after it, whereas every zhiyin action
and form returns at least one event (a message or a slot) when it succeeds. This policy
spots that state and predicts an apology, then listens, so the conversation survives and
resumes (an interrupted form stays active) once the action server is back.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class ActionFailurePolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Above RulePolicy (6): a failure must be answered even where a rule would go on.
        return {"priority": 7, "response": "utter_action_failed"}

    def train(
        self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn: the policy reads the tracker's latest events."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        next_action = self._next_action(tracker, domain)
        if next_action is not None:
            probabilities[domain.index_for_action(next_action)] = 1.0
        return self._prediction(probabilities)

    def _next_action(self, tracker: DialogueStateTracker, domain: Domain) -> Optional[Text]:
        if not tracker.events:
            return None
        last = tracker.events[-1]
        if not isinstance(last, ActionExecuted):
            return None
        response = self.config["response"]
        if last.action_name == response:
            return ACTION_LISTEN_NAME
        custom = set(domain.user_actions) | set(domain.form_names)
        if last.action_name in custom:
            return response
        return None
