"""What the assistant decides on held-out messages: intent, entities, and how sure it was.

Scores the trained model's final parse (after the catalog extractor, the knowledge-base gate
and the FallbackClassifier: what the dialogue acts on) on three held-out sets, none of which
training ever sees:

  tests/nlu_test.yml               written alongside the training data;
  tests/nlu_hard.yml               written separately, in real customers' style;
  tests/out_of_scope_held_out.yml  requests the shop cannot serve, written separately.

An in-scope message is right when its intent is; falling back (「没太理解」, then a person) is not
right but honest; any other intent is a wrong answer given with confidence. An out-of-scope
message is right when it is rejected (out_of_scope or the fallback). Entities are scored by
exact span and type over the final entities.

The calibration table replays the fallback decision at other thresholds from the same parses,
so `make eval` shows what each threshold would trade. With `--min-*` floors this is the
`make nlu-test` gate.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import yaml

from tools.bench import table
from zhiyin.paths import MODEL_PATH, PROJECT_ROOT

SETS = {
    "old": PROJECT_ROOT / "tests" / "nlu_test.yml",
    "hard": PROJECT_ROOT / "tests" / "nlu_hard.yml",
    "out_of_scope": PROJECT_ROOT / "tests" / "out_of_scope_held_out.yml",
}
LABELS = {
    "old": "held-out, written with the training data",
    "hard": "held-out, written separately (real style)",
    "out_of_scope": "out-of-scope, written separately",
}
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
REJECTED = {OUT_OF_SCOPE, FALLBACK}
THRESHOLDS = [round(0.30 + 0.05 * step, 2) for step in range(14)]
# The calibration rule: a confident wrong answer for at most one in-scope message in twenty.
MAX_WRONG_CONFIDENT = 0.05

Span = Tuple[int, int, str]


@dataclass
class Parsed:
    """One held-out message: what was expected and what the model decided."""

    text: str
    intent: str
    entities: Set[Span]
    predicted: str
    predicted_entities: Set[Span]
    # The classifier's own ranking without the fallback, and the knowledge-base choice's confidence.
    ranking: List[Tuple[str, float]] = field(default_factory=list)
    selector_confidence: float = 1.0

    @property
    def right(self) -> bool:
        if self.intent == OUT_OF_SCOPE:
            return self.predicted in REJECTED
        return self.predicted == self.intent


def load_examples(path: Path) -> List[Tuple[str, str, Set[Span]]]:
    """(text, intent, entity spans) of a Rasa NLU file."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for message in load_data(str(path)).intent_examples:
        spans = {(e["start"], e["end"], e["entity"]) for e in message.get("entities") or []}
        examples.append((str(message.get("text")), str(message.get("intent")), spans))
    return examples


async def parse_all(agent: Any, examples: Sequence[Tuple[str, str, Set[Span]]]) -> List[Parsed]:
    rows = []
    for text, intent, spans in examples:
        result = await agent.parse_message(text)
        ranking = [
            (r["name"], float(r["confidence"])) for r in result.get("intent_ranking", []) if r["name"] != FALLBACK
        ]
        selected = ((result.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        rows.append(
            Parsed(
                text=text,
                intent=intent,
                entities=spans,
                predicted=result["intent"]["name"],
                predicted_entities={(e["start"], e["end"], e["entity"]) for e in result.get("entities", [])},
                ranking=ranking,
                selector_confidence=float(selected.get("confidence") or 0.0),
            )
        )
    return rows


def entity_scores(rows: Sequence[Parsed]) -> Dict[str, float]:
    expected = sum(len(r.entities) for r in rows)
    predicted = sum(len(r.predicted_entities) for r in rows)
    correct = sum(len(r.entities & r.predicted_entities) for r in rows)
    precision = correct / predicted if predicted else 1.0
    recall = correct / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": float(expected)}


def scores(rows: Sequence[Parsed]) -> Dict[str, float]:
    """Share right, fallen back (in scope) and wrong-with-confidence; entity precision/recall/F1."""
    total = len(rows) or 1
    fell_back = sum(1 for r in rows if r.intent != OUT_OF_SCOPE and r.predicted == FALLBACK)
    wrong = sum(1 for r in rows if not r.right and r.predicted != FALLBACK)
    return {
        "count": float(len(rows)),
        "accuracy": sum(r.right for r in rows) / total,
        "fallback": fell_back / total,
        "wrong_confident": wrong / total,
        **{f"entity_{key}": value for key, value in entity_scores(rows).items()},
    }


def decide(row: Parsed, threshold: float, ambiguity: float, faq_threshold: float) -> str:
    """The intent the pipeline would give with the FallbackClassifier at `threshold`."""
    if not row.ranking:
        return FALLBACK
    top, confidence = row.ranking[0]
    second = row.ranking[1][1] if len(row.ranking) > 1 else 0.0
    if confidence < threshold or confidence - second < ambiguity:
        return FALLBACK
    if top == "faq" and row.selector_confidence < faq_threshold:
        return FALLBACK
    return top


def calibration(
    rows: Sequence[Parsed], thresholds: Sequence[float], ambiguity: float, faq_threshold: float
) -> List[Dict[str, float]]:
    """For each threshold: in-scope right / fallback / wrong-confident, out-of-scope rejected / accepted."""
    in_scope = [r for r in rows if r.intent != OUT_OF_SCOPE]
    out_of_scope = [r for r in rows if r.intent == OUT_OF_SCOPE]
    table_rows = []
    for threshold in thresholds:
        decided = [(r, decide(r, threshold, ambiguity, faq_threshold)) for r in in_scope]
        rejected = [decide(r, threshold, ambiguity, faq_threshold) in REJECTED for r in out_of_scope]
        n = len(in_scope) or 1
        table_rows.append(
            {
                "threshold": threshold,
                "right": sum(d == r.intent for r, d in decided) / n,
                "fallback": sum(d == FALLBACK for _, d in decided) / n,
                "wrong_confident": sum(d not in (r.intent, FALLBACK) for r, d in decided) / n,
                "rejected": sum(rejected) / (len(out_of_scope) or 1),
                # Every message answered with something it did not ask for, out-of-scope ones included.
                "wrong_confident_all": (
                    sum(d not in (r.intent, FALLBACK) for r, d in decided) + sum(not ok for ok in rejected)
                )
                / (len(rows) or 1),
            }
        )
    return table_rows


def calibrated_threshold(curve: Sequence[Dict[str, float]], max_wrong: float = MAX_WRONG_CONFIDENT) -> Optional[float]:
    """The lowest threshold at which at most `max_wrong` of all messages get a confident wrong answer.

    Lowest, because every step up sends more right answers to a person too.
    """
    return next((c["threshold"] for c in curve if c["wrong_confident_all"] <= max_wrong), None)


def shipped_thresholds(config_path: Path = PROJECT_ROOT / "config.yml") -> Tuple[float, float, float]:
    """(fallback threshold, ambiguity threshold, knowledge-base gate threshold) of config.yml."""
    steps = {step["name"].rsplit(".", 1)[-1]: step for step in yaml.safe_load(config_path.read_text())["pipeline"]}
    fallback = steps["FallbackClassifier"]
    gate = steps.get("RetrievalConfidenceGate", {})
    return (
        float(fallback["threshold"]),
        float(fallback.get("ambiguity_threshold", 0.1)),
        float(gate.get("threshold", 0.0)),
    )


async def evaluate(model: Path, sets: Dict[str, Path] = SETS) -> Dict[str, List[Parsed]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return {name: await parse_all(agent, load_examples(path)) for name, path in sets.items() if path.exists()}


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def markdown(parsed: Dict[str, List[Parsed]], misses: int = 40) -> str:
    threshold, ambiguity, faq_threshold = shipped_thresholds()
    summary = []
    for name, rows in parsed.items():
        s = scores(rows)
        has_entities = s["entity_support"] > 0
        summary.append(
            [
                LABELS.get(name, name),
                str(len(rows)),
                percent(s["accuracy"]),
                percent(s["fallback"]),
                percent(s["wrong_confident"]),
                f"{s['entity_f1']:.3f} (P {s['entity_precision']:.3f}, R {s['entity_recall']:.3f})"
                if has_entities
                else "–",
            ]
        )
    pooled = [row for rows in parsed.values() for row in rows]
    curve = calibration(pooled, THRESHOLDS, ambiguity, faq_threshold)
    calibrated = calibrated_threshold(curve)
    curve_rows = [
        [
            f"{c['threshold']:.2f}" + (" (shipped)" if abs(c["threshold"] - threshold) < 1e-9 else ""),
            percent(c["right"]),
            percent(c["fallback"]),
            percent(c["wrong_confident"]),
            percent(c["rejected"]),
            percent(c["wrong_confident_all"]),
        ]
        for c in curve
    ]
    wrong = [r for r in parsed.get("hard", []) + parsed.get("out_of_scope", []) if not r.right][:misses]
    return "\n".join(
        [
            "## Held-out understanding: final decisions",
            "",
            "The trained model's final parse (catalog extractor, knowledge-base gate and fallback included) on three "
            "held-out sets (`python -m tools.held_out_eval`). Right: the intent (out-of-scope: rejected). Fallback: "
            "「没太理解」 then a person. Wrong-confident: another intent, answered. Entities: exact span and type.",
            "",
            table(["set", "examples", "right", "fallback", "wrong-confident", "entity F1"], summary),
            "",
            f"### Calibration of the fallback threshold (all three sets, {len(pooled)} messages)",
            "",
            "The same parses replayed with the FallbackClassifier at each threshold (ambiguity threshold "
            f"{ambiguity}, knowledge-base gate {faq_threshold} as shipped). In-scope columns are shares of in-scope "
            "messages; rejected is the share of out-of-scope messages rejected; the last column counts every message "
            "answered with something it did not ask for (an out-of-scope one accepted included).",
            "",
            table(
                [
                    "threshold",
                    "in-scope right",
                    "in-scope fallback",
                    "in-scope wrong-confident",
                    "out-of-scope rejected",
                    "all messages wrong-confident",
                ],
                curve_rows,
            ),
            "",
            f"Calibration rule: the lowest threshold with at most {MAX_WRONG_CONFIDENT:.0%} wrong-confident answers: "
            f"{calibrated if calibrated is not None else 'none in range'}; shipped: {threshold} (config.yml).",
            "",
            "Wrong on the separately written sets:" if wrong else "Nothing wrong on the separately written sets.",
            "",
            *[f"- 「{r.text}」 {r.intent} → {r.predicted}" for r in wrong],
        ]
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--min-intent-accuracy", type=float, help="floor for the separately written set")
    parser.add_argument("--min-old-intent-accuracy", type=float, help="floor for tests/nlu_test.yml")
    parser.add_argument("--min-entity-f1", type=float, help="floor for entity F1 on both in-scope sets")
    parser.add_argument("--min-rejection", type=float, help="floor for out-of-scope rejection")
    args = parser.parse_args(argv)
    from tools.voice_eval import quiet_rasa

    quiet_rasa()
    parsed = asyncio.run(evaluate(args.model))
    print(markdown(parsed))
    floors = [
        ("hard", "accuracy", args.min_intent_accuracy),
        ("old", "accuracy", args.min_old_intent_accuracy),
        ("hard", "entity_f1", args.min_entity_f1),
        ("old", "entity_f1", args.min_entity_f1),
        ("out_of_scope", "accuracy", args.min_rejection),
    ]
    failed = []
    for name, metric, floor in floors:
        if floor is not None:
            value = scores(parsed[name])[metric]
            if value < floor:
                failed.append(f"{LABELS[name]}: {metric} {value:.3f} < {floor}")
    for line in failed:
        print(f"BELOW FLOOR: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
