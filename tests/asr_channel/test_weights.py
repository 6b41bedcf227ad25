import pytest

from asr_channel import weights


def test_assembles_verified_model_once(tmp_path):
    target = weights.whisper_base_dir(tmp_path)
    assert {p.name for p in target.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert (target / "model.bin.sha256").read_text() == weights.MODEL_SHA256
    stamp = (target / "model.bin").stat().st_mtime_ns
    weights.whisper_base_dir(tmp_path)
    assert (target / "model.bin").stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "MODEL_SHA256", "0" * 64)
    with pytest.raises(weights.WeightsError):
        weights.whisper_base_dir(tmp_path)
    assert not (tmp_path / "model.bin").exists()
