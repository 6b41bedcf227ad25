"""A held-out example that nearly copies a training example measures memory, not understanding.

Fails (exit 1) when an example of a held-out set (tests/nlu_test.yml, tests/nlu_hard.yml,
tests/out_of_scope_held_out.yml) has a character n-gram similarity of 0.8 or more (cosine of
character 1–3-gram TF-IDF vectors) with any training example under data/nlu/, and lists those
pairs. Run by `make validate`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from zhiyin.paths import PROJECT_ROOT

HELD_OUT = [
    PROJECT_ROOT / "tests" / "nlu_test.yml",
    PROJECT_ROOT / "tests" / "nlu_hard.yml",
    PROJECT_ROOT / "tests" / "out_of_scope_held_out.yml",
]
TRAINING = PROJECT_ROOT / "data" / "nlu"
THRESHOLD = 0.8


def texts(path: Path) -> List[str]:
    """The example texts of Rasa NLU data (entity markup removed), through Rasa's own reader."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [str(m.get("text")) for m in load_data(str(path)).intent_examples]


def near_duplicates(
    held_out: Sequence[str], training: Sequence[str], threshold: float = THRESHOLD
) -> List[Tuple[float, str, str]]:
    """(similarity, held-out text, closest training text) for every held-out text at or over the threshold."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).fit([*held_out, *training])
    similarity = cosine_similarity(vectorizer.transform(held_out), vectorizer.transform(training))
    found = []
    for row, text in enumerate(held_out):
        column = int(similarity[row].argmax())
        if similarity[row, column] >= threshold:
            found.append((float(similarity[row, column]), text, training[column]))
    return sorted(found, reverse=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", type=Path, nargs="+", default=HELD_OUT)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    args = parser.parse_args(argv)
    held_out = [text for path in args.held_out for text in texts(path)]
    found = near_duplicates(held_out, texts(TRAINING), args.threshold)
    if found:
        print(f"{len(found)} held-out examples are near-copies of training examples (similarity >= {args.threshold}):")
        print("\n".join(f"  {score:.2f}  {text}  ~  {twin}" for score, text, twin in found))
        return 1
    print(f"held-out sets: {len(held_out)} examples, none within {args.threshold} of a training example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
