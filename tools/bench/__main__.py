"""`python -m tools.bench`: run the benchmarks and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional

from tools.bench import asr, cluster, desk, machine, servers, train, turns, versions
from zhiyin.paths import MODEL_PATH, PROJECT_ROOT

SECTIONS = ("train", "servers", "turns", "cluster", "desk", "asr")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per ASR setting")
    parser.add_argument("--starts", type=int, default=3, help="cold starts of the servers")
    parser.add_argument("--trainings", type=int, default=3, help="training runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    started = time.perf_counter()
    chosen = args.only or list(SECTIONS)
    parts = []
    if "train" in chosen:
        parts.append(train.section(args.trainings))
    if "servers" in chosen:
        parts.append(servers.section(args.model, args.starts))
    if "turns" in chosen:
        parts.append(turns.section(args.model))
    if "cluster" in chosen:
        parts.append(cluster.section(args.model))
    if "desk" in chosen:
        parts.append(desk.section(args.model))
    if "asr" in chosen:
        parts.append(asr.section(repeats=args.repeats))
    header = [
        "# zhiyin benchmarks",
        "",
        "Written by `make bench` (`python -m tools.bench`); figures are measurements of one run, not assertions.",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {versions(['rasa', 'faster-whisper', 'ctranslate2', 'tensorflow', 'SQLAlchemy'])}",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M %Z')}, {time.perf_counter() - started:.0f} s",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header + ["\n\n".join(parts), ""]), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
