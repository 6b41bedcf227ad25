"""Does joint intent + entity learning help? zhiyin's DIET pipeline beside two baselines.

Three pipelines, all derived from config.yml so they share the tokenizer, featurizers,
synonym mapper and fallback threshold, differ only in what learns intents and entities:

  diet          config.yml as shipped: DIET learns intents and entities jointly;
  lr+crf        LogisticRegressionClassifier for intents, CRFEntityExtractor for entities;
  diet-intents  DIET with entity recognition off, plus CRFEntityExtractor, isolating what
                joint training contributes.

Each is trained on data/nlu (wall time and model size recorded), tested on the held-out
tests/nlu_test.yml, cross-validated (5 folds, the same folds for every pipeline: the fold
generator is seeded before each run), and run on ASR transcripts of the synthesised customer
speech. Rasa's own reports and plots (confusion matrix, confidence histogram) land in
var/eval/<pipeline>/; the summary goes into docs/evaluation.md through tools/evaluate.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from zhiyin.paths import PROJECT_ROOT, VAR_DIR

OUT_DIR = VAR_DIR / "eval"
HELD_OUT = PROJECT_ROOT / "tests" / "nlu_test.yml"
TRAINING = PROJECT_ROOT / "data" / "nlu"
FOLDS = 5
FOLD_SEED = 42

PIPELINES = {
    "diet": "DIET: intents + entities jointly (shipped)",
    "lr+crf": "LogisticRegression intents + CRF entities",
    "diet-intents": "DIET intents only + CRF entities",
}


def pipeline_config(name: str) -> Dict[str, Any]:
    """config.yml with the intent/entity learners of pipeline `name` swapped in."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    config.pop("policies", None)
    steps: List[Dict[str, Any]] = []
    for step in config["pipeline"]:
        if not step["name"].endswith("DIETClassifier") or name == "diet":
            steps.append(step)
        elif name == "lr+crf":
            steps += [
                {"name": "LogisticRegressionClassifier", "random_state": FOLD_SEED},
                {"name": "CRFEntityExtractor"},
            ]
        elif name == "diet-intents":
            steps += [{**copy.deepcopy(step), "entity_recognition": False}, {"name": "CRFEntityExtractor"}]
        else:
            raise ValueError(f"unknown pipeline {name!r}")
    config["pipeline"] = steps
    return config


def file_size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def entity_report(folder: Path) -> Dict[str, Any]:
    """The entity report of whichever extractor learned entities (DIET or CRF)."""
    for report in sorted(folder.glob("*_report.json")):
        if report.name.endswith(("DIETClassifier_report.json", "CRFEntityExtractor_report.json")):
            return {"extractor": report.name[: -len("_report.json")], **json.loads(report.read_text(encoding="utf-8"))}
    return {}


async def evaluate_pipeline(name: str, transcripts: List[Dict[str, str]]) -> Dict[str, Any]:
    import numpy as np
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.nlu.test import cross_validate, run_evaluation
    from rasa.shared.nlu.training_data.loading import load_data

    folder = OUT_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.yml"
    config_path.write_text(yaml.safe_dump(pipeline_config(name), allow_unicode=True), encoding="utf-8")

    print(f"[{name}] training on {TRAINING.relative_to(PROJECT_ROOT)}", flush=True)
    started = time.perf_counter()
    model = rasa.model_training.train_nlu(str(config_path), str(TRAINING), str(folder), fixed_model_name=name)
    train_s = time.perf_counter() - started
    agent = Agent.load(model)

    print(f"[{name}] held-out test", flush=True)
    await run_evaluation(str(HELD_OUT), agent.processor, str(folder / "held-out"), successes=True, errors=True)

    voice_correct = 0
    for row in transcripts:
        voice_correct += (await agent.parse_message(row["heard"]))["intent"]["name"] == row["intent"]

    print(f"[{name}] {FOLDS}-fold cross-validation", flush=True)
    np.random.seed(FOLD_SEED)  # StratifiedKFold(shuffle=True) in Rasa draws from numpy's global state
    await cross_validate(
        load_data(str(TRAINING)), FOLDS, str(config_path), str(folder / "cross-validation"), successes=True, errors=True
    )

    held_out, cv = folder / "held-out", folder / "cross-validation"
    return {
        "name": name,
        "label": PIPELINES[name],
        "train_s": train_s,
        "model_mb": file_size_mb(Path(model)),
        "held_out": {
            "intents": json.loads((held_out / "intent_report.json").read_text(encoding="utf-8")),
            "entities": entity_report(held_out),
        },
        "cv": {
            "intents": json.loads((cv / "intent_report.json").read_text(encoding="utf-8")),
            "entities": entity_report(cv),
        },
        "voice_accuracy": voice_correct / len(transcripts) if transcripts else None,
    }


def transcribe_speech() -> List[Dict[str, str]]:
    """ASR transcripts of the synthesised utterances (var/speech, `make speech`), once for all pipelines."""
    from tools.synth_speech import load_utterances
    from tools.voice_eval import transcribe

    heard = transcribe({})
    return [{"text": u["text"], "intent": u["intent"], "heard": heard[u["id"]]} for u in load_utterances()]


def run(names: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    logging.getLogger("rasa").setLevel(logging.WARNING)
    # No training cache: every pipeline trains from scratch, so its training time is real.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    transcripts = transcribe_speech()
    results = [asyncio.run(evaluate_pipeline(name, transcripts)) for name in (names or list(PIPELINES))]
    (OUT_DIR / "summary.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return results
