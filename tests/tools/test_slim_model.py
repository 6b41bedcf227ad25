"""tools/slim_model.py: an archive without the optimizer's state predicts exactly as before,
loaded zhiyin's quick way and Rasa's own way, and keeps every model weight bit for bit."""

from __future__ import annotations

import logging
import shutil
import tarfile
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from tests.components.test_quick_load import (  # noqa: F401  (fixtures)
    dialogue_states,
    domain,
    load_ted,
    model,
    parses,
    probabilities,
    rankings,
    rasas_own_loading,
    rasas_ted,
    ted,
)
from tools import slim_model


def checkpoints(archive: Path, folder: Path) -> Dict[str, Dict[str, np.ndarray]]:
    """Every TensorFlow checkpoint in an archive: its values by key."""
    import tensorflow as tf

    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(folder, filter="data")
    found = {}
    for index in sorted(folder.glob("components/*/*.tf_model.index")):
        prefix = str(index.with_suffix(""))
        found[index.parent.name] = {
            key: tf.train.load_variable(prefix, key)
            for key, _ in tf.train.list_variables(prefix)
            if key != slim_model.OBJECT_GRAPH_KEY
        }
    return found


@pytest.fixture(scope="module")
def slimmed(model, tmp_path_factory) -> Path:  # noqa: F811
    archive = tmp_path_factory.mktemp("slim") / "tiny.tar.gz"
    shutil.copy(model, archive)
    assert slim_model.main([str(archive)]) == 0
    return archive


def test_only_the_optimizers_moments_go(model, slimmed, tmp_path):  # noqa: F811
    before = checkpoints(Path(model), tmp_path / "before")
    after = checkpoints(slimmed, tmp_path / "after")
    assert len(before) == len(after) == 2  # DIET and the ResponseSelector
    assert slimmed.stat().st_size < Path(model).stat().st_size
    for component, values in before.items():
        moments = {key for key in values if slim_model.OPTIMIZER_VARIABLES in key}
        assert moments, component
        assert after[component].keys() == values.keys() - moments
        for key, value in after[component].items():
            np.testing.assert_array_equal(value, values[key], err_msg=key)


def test_a_slim_model_predicts_as_before_either_way_it_loads(model, slimmed, monkeypatch, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="components.quick_load")
    original = parses(model)
    quick = parses(str(slimmed))
    assert "loaded QuickLoadDIET" in caplog.text and "Rasa's way" not in caplog.text
    rasas_own_loading(monkeypatch)
    naive = parses(str(slimmed))
    for before, ours, theirs in zip(original, quick, naive, strict=True):
        assert rankings(ours) == rankings(before)
        assert [name for name, _ in rankings(theirs)] == [name for name, _ in rankings(before)]
        assert [c for _, c in rankings(theirs)] == pytest.approx([c for _, c in rankings(before)], abs=1e-5)


def test_slimming_twice_changes_nothing(slimmed, capsys):
    content = slimmed.read_bytes()
    assert slim_model.main([str(slimmed)]) == 0
    assert "no optimizer state, left as it is" in capsys.readouterr().out
    assert slimmed.read_bytes() == content


def test_a_missing_archive_is_a_clear_error(tmp_path, capsys):
    assert slim_model.main([str(tmp_path / "none.tar.gz")]) == 2
    assert "make train" in capsys.readouterr().err


def test_ted_without_its_optimizer_state_predicts_as_before_either_way_it_loads(
    ted,  # noqa: F811
    rasas_ted,  # noqa: F811
    dialogue_states,  # noqa: F811
    domain,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    from rasa.core.policies.ted_policy import TED
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from components.quick_load import RASA_LOAD

    copy = tmp_path / "ted"
    shutil.copytree(ted["model_storage"]._storage_path, copy)
    slim_ted = {**ted, "model_storage": LocalModelStorage(copy)}
    prefix = copy / ted["resource"].name / "ted_policy.tf_model"
    slimmed = slim_model.slim_checkpoint(prefix)
    assert slimmed is not None and slimmed.dropped > 0 and slimmed.bytes_after < slimmed.bytes_before
    before = rasas_ted["probabilities"]
    np.testing.assert_allclose(probabilities(load_ted(slim_ted), dialogue_states, domain), before, atol=1e-5, rtol=0)
    monkeypatch.setattr(TED, "load", classmethod(RASA_LOAD))
    np.testing.assert_allclose(probabilities(load_ted(slim_ted), dialogue_states, domain), before, atol=1e-5, rtol=0)
