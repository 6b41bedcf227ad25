"""What a Rasa process leaves out of memory; called before TensorFlow is imported.

TensorFlow 2.12 imports JAX (a dependency of its package) only for TFLite's JAX converter,
which nothing here uses: about 64 MB in every Rasa process (`python -m tools.cold_start --with-jax` shows
the imports' RSS). Its `from jax import xla_computation` (tensorflow/lite/python/util.py) is
guarded by `except ImportError`, and a None entry in sys.modules makes that import fail at once.
"""

from __future__ import annotations

import sys


def keep_jax_out() -> None:
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
