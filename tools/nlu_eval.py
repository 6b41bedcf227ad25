"""Which parts of the pipeline carry the understanding: the shipped pipeline, baselines, ablations.

Every pipeline is config.yml with one change, so they share everything else, and none has the
knowledge base's answer selector (ResponseSelector and its gate: tools/kb_eval.py scores those):

  diet                 config.yml as shipped (without the answer selector);
  lr+crf               LogisticRegressionClassifier for intents, CRFEntityExtractor for entities;
  diet-intents         DIET with entity recognition off, plus CRFEntityExtractor (what joint
                       training contributes);
  no-char-ngrams       without the character 1-4-gram counts;
  no-word-counts       without the jieba word counts;
  no-regex-lexical     without the regex/lookup and lexical-syntactic features;
  no-catalog-extractor without the deterministic catalog extractor (DIET's entities only).

Each is trained on data/nlu (wall time and model size recorded) and scored on the three held-out
sets by its final decisions (tools/held_out_eval.py) and on ASR transcripts of the synthesised
customer speech. The shipped pipeline is also cross-validated (5 folds, seeded) and gets Rasa's
reports and plots (confusion matrix, confidence histogram) for the separately written set in
var/eval/diet/; the summary goes into docs/evaluation.md through tools/evaluate.
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

from tools import held_out_eval
from zhiyin.paths import PROJECT_ROOT, VAR_DIR

OUT_DIR = VAR_DIR / "eval"
TRAINING = PROJECT_ROOT / "data" / "nlu"
FOLDS = 5
FOLD_SEED = 42

PIPELINES = {
    "diet": "DIET: intents + entities jointly (shipped)",
    "lr+crf": "LogisticRegression intents + CRF entities",
    "diet-intents": "DIET intents only + CRF entities",
    "no-char-ngrams": "shipped without character n-grams",
    "no-word-counts": "shipped without word counts",
    "no-regex-lexical": "shipped without regex/lookup and lexical features",
    "no-catalog-extractor": "shipped without the catalog extractor",
}
CROSS_VALIDATED = {"diet"}
# Which knowledge-base answer to give is scored by tools/kb_eval.py; left out here, every pipeline
# trains in half the time and is compared on intents and entities alone.
KNOWLEDGE_BASE_STEPS = {"ResponseSelector", "RetrievalConfidenceGate"}


def _is_char_counts(step: Dict[str, Any]) -> bool:
    return step["name"] == "CountVectorsFeaturizer" and step.get("analyzer") in ("char", "char_wb")


def _removed_by(name: str, step: Dict[str, Any]) -> bool:
    """Whether ablation `name` drops this pipeline step."""
    short = step["name"].rsplit(".", 1)[-1]
    return {
        "no-char-ngrams": _is_char_counts(step),
        "no-word-counts": short == "CountVectorsFeaturizer" and not _is_char_counts(step),
        "no-regex-lexical": short in ("RegexFeaturizer", "LexicalSyntacticFeaturizer"),
        "no-catalog-extractor": short == "CatalogEntityExtractor",
    }.get(name, False)


def pipeline_config(name: str) -> Dict[str, Any]:
    """config.yml with the change of pipeline `name` made."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}")
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    config.pop("policies", None)
    steps: List[Dict[str, Any]] = []
    for step in config["pipeline"]:
        if _removed_by(name, step) or step["name"].rsplit(".", 1)[-1] in KNOWLEDGE_BASE_STEPS:
            continue
        if not step["name"].endswith("DIETClassifier") or name not in ("lr+crf", "diet-intents"):
            steps.append(step)
        elif name == "lr+crf":
            steps += [
                {"name": "LogisticRegressionClassifier", "random_state": FOLD_SEED},
                {"name": "CRFEntityExtractor"},
            ]
        else:
            steps += [{**copy.deepcopy(step), "entity_recognition": False}, {"name": "CRFEntityExtractor"}]
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

    print(f"[{name}] held-out sets", flush=True)
    sets = {
        set_name: held_out_eval.scores(await held_out_eval.parse_all(agent, held_out_eval.load_examples(path)))
        for set_name, path in held_out_eval.SETS.items()
    }
    voice_correct = 0
    for row in transcripts:
        voice_correct += (await agent.parse_message(row["heard"]))["intent"]["name"] == row["intent"]

    result: Dict[str, Any] = {
        "name": name,
        "label": PIPELINES[name],
        "train_s": train_s,
        "model_mb": file_size_mb(Path(model)),
        "sets": sets,
        "cv": None,
        "voice_accuracy": voice_correct / len(transcripts) if transcripts else None,
    }
    if name in CROSS_VALIDATED:
        hard = held_out_eval.SETS["hard"]
        await run_evaluation(str(hard), agent.processor, str(folder / "held-out"), successes=True, errors=True)
        print(f"[{name}] {FOLDS}-fold cross-validation", flush=True)
        np.random.seed(FOLD_SEED)  # StratifiedKFold(shuffle=True) in Rasa draws from numpy's global state
        cv = folder / "cross-validation"
        await cross_validate(load_data(str(TRAINING)), FOLDS, str(config_path), str(cv), successes=True, errors=True)
        result["held_out"] = {
            "intents": json.loads((folder / "held-out" / "intent_report.json").read_text(encoding="utf-8")),
        }
        result["cv"] = {
            "intents": json.loads((cv / "intent_report.json").read_text(encoding="utf-8")),
            "entities": entity_report(cv),
        }
    return result


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
