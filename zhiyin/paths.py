"""Where zhiyin keeps its files, named once: the project root and the folders and files in it."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_ROOT / "var"  # runtime data: databases, logs, caches, reports (not committed)
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_NAME = "zhiyin"  # `rasa train --fixed-model-name`
MODEL_PATH = MODELS_DIR / f"{MODEL_NAME}.tar.gz"
SEED_DIR = PROJECT_ROOT / "seed"
DOMAIN_PATH = PROJECT_ROOT / "domain.yml"
