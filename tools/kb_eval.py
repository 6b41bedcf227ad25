"""How the knowledge base answers questions it was not trained on: tests/faq_paraphrases.yml.

`python -m tools.kb_eval` parses every held-out paraphrase with the trained model and prints how
many get their entry's answer, another entry's answer, or none (“没太理解” or another intent),
how many of those the confidence gate held back, and how many entries are reached at all. The
smoke test (tests/smoke/test_knowledge_base.py) counts the same way through the running server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set

import yaml

from zhiyin.paths import MODEL_PATH, PROJECT_ROOT

PARAPHRASES = PROJECT_ROOT / "tests" / "faq_paraphrases.yml"
KNOWLEDGE = PROJECT_ROOT / "knowledge" / "faq.yml"
RETRIEVAL_INTENT = "faq"


def load_paraphrases(path: Path = PARAPHRASES) -> Dict[str, List[str]]:
    paraphrases: Dict[str, List[str]] = yaml.safe_load(path.read_text(encoding="utf-8"))["paraphrases"]
    return paraphrases


def entry_ids(path: Path = KNOWLEDGE) -> Set[str]:
    return {str(e["id"]) for e in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]}


def answered_entry(parsed: Mapping[str, Any]) -> str:
    """The entry whose answer a parse result gets ("" when the message is not answered from it)."""
    if (parsed.get("intent") or {}).get("name") != RETRIEVAL_INTENT:
        return ""
    key = str(parsed["response_selector"][RETRIEVAL_INTENT]["response"]["intent_response_key"])
    return key.split("/", 1)[1]


def held_back(parsed: Mapping[str, Any]) -> bool:
    """Whether the confidence gate turned a knowledge-base question into the fallback."""
    ranking = parsed.get("intent_ranking") or []
    return (parsed.get("intent") or {}).get("name") == "nlu_fallback" and any(
        item.get("name") == RETRIEVAL_INTENT for item in ranking[1:2]
    )


@dataclass
class Score:
    right: int = 0
    wrong: int = 0  # another entry's answer: a confident wrong answer
    unanswered: int = 0
    held_back: int = 0  # of the unanswered: stopped by the gate
    reached: Set[str] = field(default_factory=set)
    misses: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.unanswered

    def add(self, entry: str, text: str, parsed: Mapping[str, Any]) -> None:
        got = answered_entry(parsed)
        if got == entry:
            self.right += 1
            self.reached.add(entry)
            return
        if got:
            self.wrong += 1
        else:
            self.unanswered += 1
            self.held_back += held_back(parsed)
        self.misses.append(f"{text!r}: {entry} -> {got or 'not answered'}")

    def summary(self, entries: int) -> str:
        return (
            f"{self.right} of {self.total} paraphrases get their entry's answer, {self.wrong} another entry's, "
            f"{self.unanswered} none ({self.held_back} held back by the confidence gate); "
            f"{len(self.reached)} of {entries} entries reached"
        )


async def score_with_model(model: Path, paraphrases: Mapping[str, List[str]]) -> Score:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    score = Score()
    for entry, texts in paraphrases.items():
        for text in texts:
            score.add(entry, text, await agent.parse_message(text))
    return score


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--misses", action="store_true", help="also list every paraphrase that missed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    score = asyncio.run(score_with_model(args.model, load_paraphrases()))
    print(score.summary(len(entry_ids())))
    if args.misses:
        print("\n".join(score.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
