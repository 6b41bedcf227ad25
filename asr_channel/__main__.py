"""Operators' command line: `python -m asr_channel transcribe FILE...` prints transcripts and timing."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from asr_channel.audio import AudioError, decode
from asr_channel.engine import build_engine
from asr_channel.text import cer, corpus_cer, read_references


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asr_channel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    transcribe = commands.add_parser("transcribe", help="transcribe audio files")
    transcribe.add_argument("files", nargs="+", type=Path)
    transcribe.add_argument("--beam-size", type=int, default=5)
    transcribe.add_argument("--compute-type", default="int8")
    transcribe.add_argument("--model-dir", help="a faster-whisper model directory (default: Whisper base)")
    transcribe.add_argument("--hotwords", action="store_true", help="bias toward the shop's vocabulary")
    transcribe.add_argument("--max-seconds", type=float, default=600)
    transcribe.add_argument("--vad", action="store_true", help="trim silence with Silero VAD first")
    transcribe.add_argument("--no-correction", action="store_true", help="print what Whisper heard, uncorrected")
    transcribe.add_argument("--reference", type=Path, help="TSV of file name and reference text: also print the CER")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    engine = build_engine(
        {
            "beam_size": args.beam_size,
            "compute_type": args.compute_type,
            "model_dir": args.model_dir,
            "hotwords": args.hotwords,
            "vad_filter": args.vad,
            "correct_homophones": not args.no_correction,
        }
    )
    print(f"model loaded in {engine.load_seconds:.2f}s")
    references = {}
    if args.reference:
        references = read_references(args.reference)
    failed, scored, audio_s, busy_s = 0, [], 0.0, 0.0
    for path in args.files:
        try:
            audio = decode(path.read_bytes(), args.max_seconds)
        except (OSError, AudioError) as problem:
            print(f"{path}: error: {problem}", file=sys.stderr)
            failed += 1
            continue
        result = engine.transcribe(audio.samples)
        audio_s, busy_s = audio_s + audio.duration_s, busy_s + result.seconds
        line = f"{path}\t{audio.duration_s:.2f}s audio\t{result.seconds:.2f}s (RTF {result.real_time_factor:.3f})\t{result.text}"
        reference = references.get(path.name)
        if reference is not None:
            scored.append((reference, result.text))
            line += f"\tCER {cer(reference, result.text):.3f}"
        print(line)
    if audio_s:
        summary = f"total: {audio_s:.1f}s audio, RTF {busy_s / audio_s:.3f}"
        if scored:
            summary += f", CER {corpus_cer(scored):.4f} over {len(scored)} files"
        print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
