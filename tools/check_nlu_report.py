"""Enforce the NLU quality floor on a `rasa test nlu` result folder.

Reads intent_report.json (accuracy) and the DIET entity report (entity micro-average F1)
and exits 1 if either is below its floor, printing the per-label figures that missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

SUMMARY_KEYS = {"accuracy", "micro avg", "macro avg", "weighted avg"}


def load_scores(results: Path) -> Tuple[float, float, Dict, Dict]:
    intents = json.loads((results / "intent_report.json").read_text(encoding="utf-8"))
    # Named after the extractor class: DIETClassifier_report.json, QuickLoadDIETClassifier_report.json
    reports = sorted(results.glob("*DIETClassifier_report.json"))
    if len(reports) != 1:
        raise SystemExit(f"expected one DIET entity report in {results}, found {[r.name for r in reports]}")
    entities = json.loads(reports[0].read_text(encoding="utf-8"))
    return (
        float(intents["accuracy"]),
        float(entities["micro avg"]["f1-score"]),
        intents,
        entities,
    )


def weak_labels(report: Dict, floor: float) -> List[str]:
    return [
        f"  {label}: f1={scores['f1-score']:.3f} (support {scores['support']})"
        for label, scores in sorted(report.items())
        if label not in SUMMARY_KEYS and isinstance(scores, dict) and scores["f1-score"] < floor
    ]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--min-intent-accuracy", type=float, default=0.95)
    parser.add_argument("--min-entity-f1", type=float, default=0.95)
    args = parser.parse_args(argv)

    accuracy, entity_f1, intents, entities = load_scores(args.results)
    print(f"intent accuracy {accuracy:.4f} (floor {args.min_intent_accuracy})")
    print(f"entity F1       {entity_f1:.4f} (floor {args.min_entity_f1})")
    failed = False
    if accuracy < args.min_intent_accuracy:
        failed = True
        print("intent accuracy below the floor; weakest intents:", *weak_labels(intents, 0.95), sep="\n")
    if entity_f1 < args.min_entity_f1:
        failed = True
        print("entity F1 below the floor; weakest entities:", *weak_labels(entities, 0.95), sep="\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
