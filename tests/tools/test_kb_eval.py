from tools import kb_eval


def parsed(intent: str, key: str = "faq/a", second: str = "") -> dict:
    ranking = [{"name": intent}, *([{"name": second}] if second else [])]
    return {
        "intent": {"name": intent},
        "intent_ranking": ranking,
        "response_selector": {"faq": {"response": {"intent_response_key": key}}},
    }


def test_score_counts_right_wrong_and_unanswered():
    score = kb_eval.Score()
    score.add("a", "q1", parsed("faq", "faq/a"))
    score.add("a", "q2", parsed("faq", "faq/b"))
    score.add("b", "q3", parsed("nlu_fallback", second="faq"))
    score.add("b", "q4", parsed("ask_price"))
    assert (score.right, score.wrong, score.unanswered, score.held_back, score.reached) == (1, 1, 2, 1, {"a"})
    assert score.summary(2).startswith(
        "1 of 4 paraphrases get their entry's answer, 1 another entry's, 2 none (1 held back"
    )
    assert len(score.misses) == 3


def test_every_entry_has_held_out_paraphrases():
    assert set(kb_eval.load_paraphrases()) == kb_eval.entry_ids()
