"""`make bench`: speed and cost figures written to docs/benchmarks.md.

Each section measures one part against a baseline measured in the same run, on the machine
described at the top of the report. Nothing here is a test: figures are reported, met or not.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
from pathlib import Path
from typing import Dict, List, Sequence


def median_p95(values: Sequence[float]) -> Dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def machine() -> str:
    """One line saying what the figures were measured on."""
    cpu = "unknown CPU"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), cpu
        )
        memory_kb = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal"))
        memory = f"{memory_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        memory = "unknown RAM"
    return f"{cpu}, {os.cpu_count()} cores, {memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def versions(packages: List[str]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in packages:
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{name} {version(name)}")
    return ", ".join(found)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), in MB."""
    return _status_kb(pid, "VmHWM") / 1024


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def private_rss_mb(pid: int) -> float:
    """The anonymous part of a process's resident memory (RssAnon), in MB: what is its own.
    The rest of RSS is file-backed, mostly shared libraries (TensorFlow's), which replicas on
    one node share through the page cache."""
    return _status_kb(pid, "RssAnon") / 1024


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise ValueError(f"{field} not in /proc/{pid}/status")
