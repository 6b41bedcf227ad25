"""`make eval`: quality figures written to docs/evaluation.md (a measurement, not a test).

NLU: zhiyin's DIET pipeline beside two baselines (tools/nlu_eval.py), held-out and 5-fold
cross-validation, per-intent and per-entity figures, confusion matrix and confidence
histogram. Voice: intent accuracy on ASR transcripts (tools/voice_eval.py). Dialogue:
`rasa test core` on the test stories.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from tools import nlu_eval, voice_eval
from tools.bench import machine, table, versions
from zhiyin.paths import MODEL_PATH, PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
IMAGES = DOCS / "evaluation"
SUMMARY_KEYS = {"accuracy", "micro avg", "macro avg", "weighted avg", "extractor"}


def held_out_count() -> int:
    lines = (line.strip() for line in nlu_eval.HELD_OUT.read_text(encoding="utf-8").splitlines())
    return sum(1 for line in lines if line.startswith("- ") and not line.startswith("- intent:"))


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def comparison(results: List[Dict[str, Any]]) -> str:
    rows = []
    for r in results:
        held, cv = r["held_out"], r["cv"]
        rows.append(
            [
                r["label"],
                percent(held["intents"]["accuracy"]),
                percent(held["intents"]["macro avg"]["f1-score"]),
                percent(held["entities"].get("micro avg", {}).get("f1-score")),
                percent(cv["intents"]["accuracy"]),
                percent(cv["intents"]["macro avg"]["f1-score"]),
                percent(cv["entities"].get("micro avg", {}).get("f1-score")),
                percent(r["voice_accuracy"]),
                f"{r['train_s']:.0f} s",
                f"{r['model_mb']:.1f} MB",
            ]
        )
    return table(
        [
            "pipeline",
            "held-out intent acc.",
            "held-out intent macro F1",
            "held-out entity F1",
            "CV intent acc.",
            "CV intent macro F1",
            "CV entity F1",
            "voice intent acc.",
            "training",
            "model",
        ],
        rows,
    )


def per_label(report: Dict[str, Any]) -> List[List[str]]:
    return [
        [label, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1-score']:.3f}", str(s["support"])]
        for label, s in sorted(report.items())
        if label not in SUMMARY_KEYS and isinstance(s, dict) and "precision" in s
    ]


def misclassified(folder: Path, limit: int = 30) -> List[str]:
    path = folder / "intent_errors.json"
    rows = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    return [
        f"- 「{row['text']}」 {row['intent']} → {row['intent_prediction']['name']} ({row['intent_prediction']['confidence']:.2f})"
        for row in rows[:limit]
    ] or ["- none"]


def shipped_details(result: Dict[str, Any]) -> str:
    folder = nlu_eval.OUT_DIR / result["name"]
    IMAGES.mkdir(parents=True, exist_ok=True)
    images = []
    for source, target in [
        ("held-out/intent_confusion_matrix.png", "confusion-held-out.png"),
        ("held-out/intent_histogram.png", "confidence-held-out.png"),
        ("cross-validation/intent_confusion_matrix.png", "confusion-cv.png"),
    ]:
        if (folder / source).exists():
            shutil.copy(folder / source, IMAGES / target)
            images.append(f"![{target}](evaluation/{target})")
    return "\n".join(
        [
            "### The shipped pipeline in detail",
            "",
            "Per intent, held-out set:",
            "",
            table(["intent", "precision", "recall", "F1", "support"], per_label(result["held_out"]["intents"])),
            "",
            "Per entity, held-out set and cross-validation:",
            "",
            table(
                ["entity (held-out)", "precision", "recall", "F1", "support"], per_label(result["held_out"]["entities"])
            ),
            "",
            table(["entity (CV)", "precision", "recall", "F1", "support"], per_label(result["cv"]["entities"])),
            "",
            "Confusion matrix (held-out), confidence histogram (held-out), confusion matrix (cross-validation):",
            "",
            *images,
            "",
            "Misclassified held-out examples:",
            "",
            *misclassified(folder / "held-out"),
            "",
            "Misclassified in cross-validation:",
            "",
            *misclassified(folder / "cross-validation"),
        ]
    )


def dialogue_section(model: Path) -> str:
    out = nlu_eval.OUT_DIR / "core"
    command = [
        sys.executable,
        "-m",
        "zhiyin.rasa_cli",
        "test",
        "core",
        "--stories",
        "tests/test_stories.yml",
        "--model",
        str(model),
        "--endpoints",
        "endpoints.yml",
        "--out",
        str(out),
        "--quiet",
    ]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)
    report = json.loads((out / "story_report.json").read_text(encoding="utf-8"))
    failed = (
        (out / "failed_test_stories.yml").read_text(encoding="utf-8")
        if (out / "failed_test_stories.yml").exists()
        else ""
    )
    stories = [line for line in failed.splitlines() if line.strip().startswith("- story:")]
    return "\n".join(
        [
            "## Dialogue: test stories",
            "",
            f"`rasa test core` on `tests/test_stories.yml` (`make test` runs it with `--fail-on-prediction-errors`). "
            f"Action-level figures over every predicted action; {len(stories)} failed stories.",
            "",
            table(["action", "precision", "recall", "F1", "support"], per_label(report)),
            "",
            f"Overall: action accuracy {percent(report.get('accuracy'))}, conversation accuracy "
            f"{percent((report.get('conversation_accuracy') or {}).get('accuracy'))}, macro F1 {percent(report['macro avg']['f1-score'])}, "
            f"weighted F1 {percent(report['weighted avg']['f1-score'])}.",
        ]
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--out", type=Path, default=DOCS / "evaluation.md")
    parser.add_argument("--pipelines", nargs="*", choices=list(nlu_eval.PIPELINES), help="default: all")
    args = parser.parse_args(argv)
    voice_eval.quiet_rasa()
    started = time.perf_counter()

    results = nlu_eval.run(args.pipelines)
    rows, misses = asyncio.run(voice_eval.evaluate(args.model, voice_eval.OUTPUT_DIR))
    parts = [
        "# zhiyin evaluation",
        "",
        "Written by `make eval` (`python -m tools.evaluate`); measurements, not assertions.",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {versions(['rasa', 'tensorflow', 'scikit-learn', 'sklearn-crfsuite', 'faster-whisper'])}",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M %Z')}, {time.perf_counter() - started:.0f} s",
        "",
        "## NLU: does joint learning help?",
        "",
        f"Held-out: `tests/nlu_test.yml` ({held_out_count()} "
        f"examples never seen in training). CV: {nlu_eval.FOLDS}-fold stratified cross-validation over `data/nlu`, the same folds "
        "for every pipeline. Voice: the 32 synthesised customer utterances as Whisper heard them. All pipelines share "
        "config.yml's tokenizer, featurizers, synonym mapper and fallback threshold; each trains from scratch (no Rasa "
        "training cache). Entity F1 is the micro average over product, company, order_id, phone_number.",
        "",
        comparison(results),
        "",
    ]
    shipped = next((r for r in results if r["name"] == "diet"), None)
    if shipped:
        parts += [shipped_details(shipped), ""]
    parts += [voice_eval.markdown(rows, misses), "", dialogue_section(args.model), ""]
    args.out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
