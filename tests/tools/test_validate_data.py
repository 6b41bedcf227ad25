from tools.validate_data import unexpected_warnings


def warning(message):
    return f"/x/rasa/shared/utils/io.py:100: UserWarning: {message}\n"


def test_responses_sent_by_actions_forms_or_policy_are_accepted():
    output = "".join(
        warning(f"The utterance '{name}' is not used in any story or rule.")
        for name in ("utter_handoff", "utter_ask_phone_number", "utter_action_failed")
    )
    assert unexpected_warnings(output) == []


def test_truly_unused_response_and_other_warnings_fail():
    output = warning("The utterance 'utter_never_sent' is not used in any story or rule.") + warning(
        "Issue found in 'data/stories/x.yml': intent 'foo' is not in the domain."
    )
    assert len(unexpected_warnings(output)) == 2


def test_the_knowledge_base_retrieval_intent_declared_twice_is_expected_but_no_other_duplicate():
    faq = warning("The following duplicated intents have been found across multiple domain files: faq")
    other = warning("The following duplicated intents have been found across multiple domain files: greet")
    assert unexpected_warnings(faq) == []
    assert len(unexpected_warnings(other)) == 1
