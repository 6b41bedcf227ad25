"""Charts for the report (matplotlib, no display), with a font that has Chinese characters."""

from __future__ import annotations

import logging
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

logger = logging.getLogger(__name__)
DPI = 90


@lru_cache(maxsize=1)
def chinese_font() -> Optional[str]:
    """Register the system's Chinese sans-serif font (fontconfig) and return its family name.

    Matplotlib does not index .ttc collections such as Debian's fonts-noto-cjk by itself.
    Without such a font the labels still render, as boxes; the log says what to install.
    """
    try:
        path = subprocess.run(
            ["fc-match", "-f", "%{file}", "sans-serif:lang=zh-cn"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        path = ""
    if not path or not Path(path).exists():
        logger.warning("no Chinese font found: charts will show boxes (install fonts-noto-cjk)")
        return None
    charmap = FT2Font(path).get_charmap()
    if not all(ord(ch) in charmap for ch in "投诉产品"):
        logger.warning("font %s has no Chinese characters: install fonts-noto-cjk", path)
        return None
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _figure(height: float = 3.2):
    font = chinese_font()
    if font:
        plt.rcParams["font.family"] = [font, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt.subplots(figsize=(7.5, height))


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, path: Path, xlabel: str = "") -> Path:
    """Horizontal bars, largest on top: intents, words, products, companies."""
    fig, ax = _figure(max(2.0, 0.32 * len(labels) + 1.0))
    ax.barh(list(labels)[::-1], list(values)[::-1], color="#2f7ed8")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, value in enumerate(list(values)[::-1]):
        ax.text(value, y, f" {value:g}", va="center", fontsize=8)
    return _save(fig, path)


def stacked_bars(
    categories: Sequence[str], series: Mapping[str, Sequence[float]], title: str, path: Path, ylabel: str = ""
) -> Path:
    """Vertical bars per category (day, ticket kind), stacked by series (channel, status)."""
    fig, ax = _figure()
    bottom = [0.0] * len(categories)
    for name, values in series.items():
        ax.bar(list(categories), list(values), bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    if len(categories) > 8:
        ax.tick_params(axis="x", labelrotation=45)
    return _save(fig, path)


def line_chart(categories: Sequence[str], values: Sequence[float], title: str, path: Path, ylabel: str = "") -> Path:
    fig, ax = _figure(2.6)
    ax.plot(list(categories), list(values), marker="o", color="#d8472f")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(1.0, max(values, default=0) * 1.2))
    if len(categories) > 8:
        ax.tick_params(axis="x", labelrotation=45)
    return _save(fig, path)
