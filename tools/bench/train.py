"""`rasa train` from scratch: wall time, peak memory, model size.

Each run trains into a temporary directory with --force, so Rasa's cache of unchanged
components cannot shorten it; peak memory is the child process's maximum RSS.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from tools.bench import median_p95, table
from zhiyin.paths import PROJECT_ROOT


def train_once(out_dir: Path) -> Dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "zhiyin.rasa_cli",
        "train",
        "--force",
        "--quiet",
        "--skip-validation",
        "--fixed-model-name",
        "bench",
        "--out",
        str(out_dir),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": seconds,
        "peak_mb": max(peak_kb, before) / 1024,
        "model_mb": (out_dir / "bench.tar.gz").stat().st_size / 1e6,
    }


def section(runs: int = 3) -> str:
    results: List[Dict[str, float]] = []
    for attempt in range(runs):
        print(f"  train: run {attempt + 1}/{runs}", flush=True)
        with tempfile.TemporaryDirectory(prefix="zhiyin-train-") as tmp:
            results.append(train_once(Path(tmp)))
    seconds = median_p95([r["seconds"] for r in results])
    return "\n".join(
        [
            "## Training",
            "",
            f"`rasa train --force` (NLU and dialogue, from scratch) {runs} times. Target: <= 2 min. Peak memory is the largest "
            "resident set of the training process over all runs.",
            "",
            table(
                ["wall time median", "p95", "runs", "peak memory", "model size"],
                [
                    [
                        f"{seconds['median']:.0f} s",
                        f"{seconds['p95']:.0f} s",
                        str(runs),
                        f"{max(r['peak_mb'] for r in results):.0f} MB",
                        f"{results[-1]['model_mb']:.1f} MB",
                    ]
                ],
            ),
        ]
    )
