"""Scoring final decisions: right, honest fallback, confident wrong; entities by span; calibration."""

from __future__ import annotations

import pytest

from tools import held_out_eval
from tools.held_out_eval import FALLBACK, Parsed


def parsed(intent, predicted, ranking, entities=(), predicted_entities=(), selector=1.0):
    return Parsed(
        text="x",
        intent=intent,
        entities=set(entities),
        predicted=predicted,
        predicted_entities=set(predicted_entities),
        ranking=list(ranking),
        selector_confidence=selector,
    )


ROWS = [
    parsed("ask_price", "ask_price", [("ask_price", 0.9), ("ask_stock", 0.05)]),
    parsed("ask_stock", FALLBACK, [("ask_stock", 0.5), ("ask_price", 0.3)]),
    parsed("cancel_order", "stop", [("stop", 0.7), ("cancel_order", 0.2)]),
    parsed("out_of_scope", FALLBACK, [("check_order_status", 0.4), ("out_of_scope", 0.35)]),
    parsed("out_of_scope", "check_order_status", [("check_order_status", 0.95), ("out_of_scope", 0.01)]),
]


def test_scores_separate_right_fallback_and_confident_wrong():
    s = held_out_eval.scores(ROWS)
    assert s["count"] == 5
    assert s["accuracy"] == pytest.approx(2 / 5)  # ask_price, and the rejected out-of-scope message
    assert s["fallback"] == pytest.approx(1 / 5)
    assert s["wrong_confident"] == pytest.approx(2 / 5)


def test_entities_count_only_exact_span_and_type():
    rows = [
        parsed("ask_price", "ask_price", [], [(0, 8, "product")], [(0, 8, "product")]),
        parsed("ask_price", "ask_price", [], [(2, 6, "product")], [(2, 5, "product"), (7, 19, "order_id")]),
    ]
    e = held_out_eval.entity_scores(rows)
    assert e["precision"] == pytest.approx(1 / 3)
    assert e["recall"] == pytest.approx(1 / 2)
    assert e["f1"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    "threshold, ambiguity, faq_threshold, ranking, selector, decision",
    [
        (0.55, 0.1, 0.3, [("ask_price", 0.6), ("ask_stock", 0.2)], 1.0, "ask_price"),
        (0.65, 0.1, 0.3, [("ask_price", 0.6), ("ask_stock", 0.2)], 1.0, FALLBACK),
        (0.55, 0.1, 0.3, [("ask_price", 0.6), ("ask_stock", 0.55)], 1.0, FALLBACK),  # ambiguous
        (0.55, 0.1, 0.3, [("faq", 0.9), ("ask_stock", 0.05)], 0.2, FALLBACK),  # unsure which answer
        (0.55, 0.1, 0.3, [("faq", 0.9), ("ask_stock", 0.05)], 0.8, "faq"),
        (0.55, 0.1, 0.3, [], 1.0, FALLBACK),
    ],
)
def test_decide_replays_the_fallback(threshold, ambiguity, faq_threshold, ranking, selector, decision):
    row = parsed("ask_price", "?", ranking, selector=selector)
    assert held_out_eval.decide(row, threshold, ambiguity, faq_threshold) == decision


def test_a_higher_threshold_trades_wrong_answers_for_fallbacks():
    low, high = held_out_eval.calibration(ROWS, [0.3, 0.8], ambiguity=0.1, faq_threshold=0.3)
    assert (low["right"], low["fallback"], low["wrong_confident"]) == pytest.approx((2 / 3, 0, 1 / 3))
    assert (high["right"], high["fallback"], high["wrong_confident"]) == pytest.approx((1 / 3, 2 / 3, 0))
    assert low["rejected"] == pytest.approx(0.5) and high["rejected"] == pytest.approx(0.5)
    # At 0.3: the cancel_order taken for stop and the accepted out-of-scope message, of five.
    assert low["wrong_confident_all"] == pytest.approx(2 / 5) and high["wrong_confident_all"] == pytest.approx(1 / 5)


def test_shipped_thresholds_come_from_config():
    threshold, ambiguity, faq_threshold = held_out_eval.shipped_thresholds()
    assert 0 < threshold < 1 and 0 <= ambiguity < 1 and 0 < faq_threshold < 1


def test_the_report_names_every_set_and_marks_the_shipped_threshold():
    threshold, _, _ = held_out_eval.shipped_thresholds()
    report = held_out_eval.markdown({"hard": ROWS[:3], "out_of_scope": ROWS[3:]})
    assert held_out_eval.LABELS["hard"] in report and held_out_eval.LABELS["out_of_scope"] in report
    assert f"{threshold:.2f} (shipped)" in report


def test_the_calibrated_threshold_is_the_lowest_within_the_wrong_answer_budget():
    curve = [
        {"threshold": 0.5, "wrong_confident_all": 0.08},
        {"threshold": 0.6, "wrong_confident_all": 0.05},
        {"threshold": 0.7, "wrong_confident_all": 0.03},
    ]
    assert held_out_eval.calibrated_threshold(curve) == 0.6
    assert held_out_eval.calibrated_threshold(curve, max_wrong=0.01) is None
