"""Historical consultations -> candidate NLU examples for a person to review.

A CSV of past utterances (column ``text``, optional ``label``) is cleaned, de-duplicated
(also against the training data), clustered, and pre-labelled with the current model's
intent, confidence and entities. The result is a Rasa YAML file ordered for review: label
disagreements first, then lowest confidence first. It is written outside ``data/`` and
never merged automatically: a reviewer moves what is right into ``data/nlu/``.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import AbstractSet, Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from insight.cleaning import dedup_key, fold_variants
from zhiyin.paths import PROJECT_ROOT

TRAINING_DATA = PROJECT_ROOT / "data" / "nlu"
DOMAIN = PROJECT_ROOT / "domain.yml"
# Cosine distance below which two utterances fall into one cluster (average linkage).
CLUSTER_DISTANCE = 0.75
MAX_TEXT_CHARS = 500

Prediction = Tuple[str, float, List[Dict[str, Any]]]
Predict = Callable[[Sequence[str]], List[Prediction]]


class ConsultationFileError(ValueError):
    """The consultation file cannot be used as given (missing, empty, no text column)."""


@dataclass
class Utterance:
    text: str
    label: Optional[str] = None


@dataclass
class Candidate:
    text: str
    intent: str
    predicted: str
    confidence: float
    entities: List[Dict[str, Any]]
    label: Optional[str] = None
    count: int = 1
    cluster: int = 0
    cluster_size: int = 1

    @property
    def disagrees(self) -> bool:
        return self.label is not None and self.label != self.predicted


@dataclass
class ImportResult:
    candidates: List[Candidate]
    rows: int
    skipped_empty: int = 0
    duplicates: int = 0
    already_trained: int = 0
    clusters: int = 0
    unknown_labels: Counter = field(default_factory=Counter)


def read_utterances(path: Path) -> List[Utterance]:
    """Rows of a CSV with a ``text`` column (and optionally ``label``), UTF-8 with or without BOM."""
    if not path.exists():
        raise ConsultationFileError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        if "text" not in columns:
            raise ConsultationFileError(f"{path}: needs a header row with a 'text' column (found {reader.fieldnames})")
        reader.fieldnames = columns
        rows = [Utterance(row.get("text") or "", (row.get("label") or "").strip() or None) for row in reader]
    if not rows:
        raise ConsultationFileError(f"{path}: no rows under the header")
    return rows


def training_keys(path: Path = TRAINING_DATA) -> Set[str]:
    """De-duplication keys of every example already in the training data."""
    from rasa.shared.nlu.training_data.loading import load_data

    return {dedup_key(m.get("text")) for m in load_data(str(path)).intent_examples}


def domain_intents(path: Path = DOMAIN) -> Set[str]:
    return set(yaml.safe_load(path.read_text(encoding="utf-8"))["intents"])


def cluster(texts: Sequence[str], distance: float = CLUSTER_DISTANCE) -> List[int]:
    """Cluster ids (0 = largest cluster) from character n-gram TF-IDF, cosine, average linkage."""
    if len(texts) < 2:
        return [0] * len(texts)
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit_transform(texts).toarray()
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, affinity="cosine", linkage="average"
    ).fit_predict(matrix)
    rank = {label: i for i, (label, _) in enumerate(Counter(labels).most_common())}
    return [rank[label] for label in labels]


def build_candidates(
    utterances: Iterable[Utterance],
    predict: Predict,
    known: AbstractSet[str] = frozenset(),
    intents: AbstractSet[str] = frozenset(),
) -> ImportResult:
    """Clean, de-duplicate, cluster and pre-label the utterances."""
    utterances = list(utterances)
    result = ImportResult([], rows=len(utterances))
    unique: Dict[str, Utterance] = {}
    counts: Counter = Counter()
    for utterance in utterances:
        text = fold_variants(utterance.text)[:MAX_TEXT_CHARS].replace("[", "［").replace("]", "］")
        key = dedup_key(text)
        if not key:
            result.skipped_empty += 1
        elif key in known:
            result.already_trained += 1
        else:
            counts[key] += 1
            unique.setdefault(key, Utterance(text, utterance.label))
    result.duplicates = sum(counts.values()) - len(counts)
    kept = list(unique.values())
    if not kept:
        return result
    predictions = predict([u.text for u in kept])
    clusters = cluster([u.text for u in kept])
    sizes = Counter(clusters)
    result.clusters = len(sizes)
    for (key, utterance), (predicted, confidence, entities), cluster_id in zip(
        unique.items(), predictions, clusters, strict=True
    ):
        label = utterance.label
        if label and intents and label not in intents:
            result.unknown_labels[label] += 1
        intent = label if label and (not intents or label in intents) else predicted
        result.candidates.append(
            Candidate(
                utterance.text,
                intent,
                predicted,
                round(float(confidence), 4),
                entities,
                label,
                counts[key],
                cluster_id,
                sizes[cluster_id],
            )
        )
    result.candidates.sort(key=lambda c: (not c.disagrees, c.confidence, c.cluster))
    return result


def annotated(text: str, entities: Sequence[Dict[str, Any]]) -> str:
    """Rasa's inline entity markup ("[华为Mate60](product)多少钱"), written by Rasa's own writer.

    Overlapping or out-of-range spans are dropped first: the writer assumes clean ones. Only
    the span is marked, not a synonym's value (the writer would write it as \\u-escaped JSON;
    training maps synonyms anyway).
    """
    from rasa.shared.nlu.training_data.formats.readerwriter import TrainingDataWriter

    clean, position = [], 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        if entity["start"] >= position and entity["end"] <= len(text):
            clean.append({key: entity[key] for key in ("entity", "start", "end")})
            position = entity["end"]
    return TrainingDataWriter.generate_message({"text": text, "entities": clean})


def review_yaml(result: ImportResult, source: str) -> str:
    """The candidates as Rasa NLU YAML, one block per example with its review metadata."""
    nlu = []
    for c in result.candidates:
        metadata: Dict[str, Any] = {"predicted": c.predicted, "confidence": c.confidence}
        if c.label:
            metadata["label"] = c.label
        metadata.update(cluster=c.cluster, cluster_size=c.cluster_size, count=c.count)
        nlu.append({"intent": c.intent, "examples": [{"text": annotated(c.text, c.entities), "metadata": metadata}]})
    header = (
        f"# Candidate NLU examples from {source}: FOR REVIEW, NOT TRAINING DATA.\n"
        f"# {len(result.candidates)} unique utterances of {result.rows} rows; label disagreements first,\n"
        "# then lowest model confidence. Correct the intent and entities, then move the examples\n"
        "# you accept into data/nlu/ by hand. Metadata: the model's prediction and confidence,\n"
        "# the historical label, the cluster of similar utterances, and how often it occurred.\n"
    )
    return header + yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False, width=1000)


class ModelPredictor:
    """The trained zhiyin model, loaded in this process (Rasa's Agent), as a ``Predict``."""

    def __init__(self, model: Path) -> None:
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # else Rasa prints a debug line for every parse
        if not Path(model).exists():
            raise ConsultationFileError(f"{model}: no trained model (run `make train`)")
        self.agent = Agent.load(str(model))

    def __call__(self, texts: Sequence[str]) -> List[Prediction]:
        async def parse_all() -> List[Prediction]:
            out = []
            for text in texts:
                parsed = await self.agent.parse_message(text)
                entities = [{k: e[k] for k in ("entity", "start", "end", "value")} for e in parsed.get("entities", [])]
                out.append((parsed["intent"]["name"], parsed["intent"]["confidence"], entities))
            return out

        return asyncio.run(parse_all())


def import_consultations(
    csv_path: Path,
    out_path: Path,
    predict: Predict,
    known: Optional[Set[str]] = None,
    intents: Optional[Set[str]] = None,
) -> ImportResult:
    """Read, build and write the review file; refuses to write into the training data folder."""
    out_path = out_path.resolve()
    if TRAINING_DATA.resolve() in out_path.parents:
        raise ConsultationFileError(f"{out_path}: candidates must not be written into {TRAINING_DATA} (review first)")
    result = build_candidates(
        read_utterances(csv_path),
        predict,
        training_keys() if known is None else known,
        domain_intents() if intents is None else intents,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(review_yaml(result, csv_path.name), encoding="utf-8")
    return result
