"""Speech recognition: model load time, real-time factor and CER per engine setting.

CER is measured on the four real recordings in tests/audio/real (what the channel returns,
after t2s and homophone correction); the real-time factor on the 5-second clip, repeated
after a warm-up run. The shipped setting (beam 5, int8) is the baseline of the table.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Tuple

from tools.bench import median_p95, table
from zhiyin.paths import PROJECT_ROOT

REAL_DIR = PROJECT_ROOT / "tests" / "audio" / "real"
RTF_CLIP = "paddlespeech_zh.wav"  # 5.0 s
SETTINGS: List[Tuple[str, Dict[str, Any]]] = [
    ("beam 5, int8 (shipped)", {"beam_size": 5, "compute_type": "int8"}),
    ("beam 1, int8", {"beam_size": 1, "compute_type": "int8"}),
    ("beam 5, float32", {"beam_size": 5, "compute_type": "float32"}),
    ("beam 1, float32", {"beam_size": 1, "compute_type": "float32"}),
    ("beam 5, int8, domain hotwords", {"beam_size": 5, "compute_type": "int8", "hotwords": True}),
    ("beam 5, int8, Silero VAD", {"beam_size": 5, "compute_type": "int8", "vad_filter": True}),
]


def references() -> Dict[str, str]:
    from asr_channel.text import read_references

    return read_references(REAL_DIR / "transcripts.tsv")


def measure(settings: Dict[str, Any], repeats: int, loads: int) -> Dict[str, Any]:
    from asr_channel.audio import decode
    from asr_channel.engine import build_engine
    from asr_channel.text import corpus_cer

    load_times = []
    for _ in range(loads):
        started = time.perf_counter()
        engine = build_engine(dict(settings))
        load_times.append(time.perf_counter() - started)
    clips = {name: decode((REAL_DIR / name).read_bytes(), 60).samples for name in references()}
    heard = {name: engine.transcribe(samples).text for name, samples in clips.items()}
    rtf = [engine.transcribe(clips[RTF_CLIP]).real_time_factor for _ in range(repeats)]
    return {
        "load": median_p95(load_times),
        "rtf": median_p95(rtf),
        "cer": corpus_cer((reference, heard[name]) for name, reference in references().items()),
        "heard": heard,
    }


def section(repeats: int = 7, loads: int = 3) -> str:
    rows, details = [], []
    for label, settings in SETTINGS:
        print(f"  asr: {label}", flush=True)
        result = measure(settings, repeats, loads)
        rows.append(
            [
                label,
                f"{result['cer'] * 100:.2f} %",
                f"{result['rtf']['median']:.3f}",
                f"{result['rtf']['p95']:.3f}",
                f"{result['load']['median']:.2f} s",
            ]
        )
        details.append(f"- {label}: " + "; ".join(result["heard"].values()))
    return "\n".join(
        [
            "## Speech recognition (faster-whisper, Whisper base)",
            "",
            f"CER over the {len(references())} real clips of `tests/audio/real` (character-weighted); real-time factor "
            f"(recognition time / audio length) on `{RTF_CLIP}` (5.0 s), median and p95 of {repeats} runs after the first; "
            f"model load time median of {loads} loads. Targets: CER <= 7 %, RTF <= 0.25.",
            "",
            table(["setting", "CER", "RTF median", "RTF p95", "load"], rows),
            "",
            "What each setting heard:",
            "",
            *details,
        ]
    )
