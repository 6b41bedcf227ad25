"""Intent accuracy on the synthesised customer speech, beside the same utterances as clean text.

Each utterance of tests/audio/utterances.yml (run `make speech` first) is transcribed by the
voice engine and parsed by the trained model; the script prints the misses and both
accuracies. This is the measurement behind issue 3's "voice intent accuracy >= 0.90".
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import List, Optional

from actions.db import PROJECT_ROOT
from tools.synth_speech import OUTPUT_DIR, load_utterances


async def evaluate(model: Path, speech_dir: Path) -> int:
    from rasa.core.agent import Agent

    from asr_channel.audio import decode
    from asr_channel.engine import build_engine

    agent = Agent.load(str(model))
    engine = build_engine({})
    utterances = load_utterances()
    clean = voice = 0
    for utterance in utterances:
        audio = decode((speech_dir / f"{utterance['id']}.wav").read_bytes(), max_seconds=60)
        heard = engine.transcribe(audio.samples).text
        text_intent = (await agent.parse_message(utterance["text"]))["intent"]["name"]
        voice_intent = (await agent.parse_message(heard))["intent"]["name"]
        clean += text_intent == utterance["intent"]
        voice += voice_intent == utterance["intent"]
        if voice_intent != utterance["intent"]:
            print(f"miss: {utterance['text']} | heard {heard} | {utterance['intent']} -> {voice_intent}")
    total = len(utterances)
    print(f"intent accuracy on {total} utterances: clean text {clean / total:.3f}, speech {voice / total:.3f}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "zhiyin.tar.gz")
    parser.add_argument("--speech-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    return asyncio.run(evaluate(args.model, args.speech_dir))


if __name__ == "__main__":
    sys.exit(main())
