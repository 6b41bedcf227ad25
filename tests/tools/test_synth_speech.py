"""Test speech comes from the frozen synthesis, so every run hears the same audio."""

from __future__ import annotations

import wave

from tools.synth_speech import FROZEN_DIR, freeze, load_utterances, synthesise


def test_every_utterance_has_a_frozen_clip():
    assert {u["id"] for u in load_utterances()} <= {p.stem for p in FROZEN_DIR.glob("*.ogg")}


def test_wavs_are_decoded_from_the_frozen_clips_identically_each_time(tmp_path):
    utterance = [u for u in load_utterances() if u["id"] == "price_1"]
    assert synthesise(tmp_path / "a", utterance) == 0  # nothing synthesised: decoded
    assert synthesise(tmp_path / "b", utterance) == 0
    first, second = (tmp_path / d / "price_1.wav" for d in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()
    with wave.open(str(first)) as clip:
        assert clip.getframerate() == 16_000 and clip.getnframes() / 16_000 > 1.0


def test_freeze_writes_ogg_that_decodes_back(tmp_path):
    synthesise(tmp_path / "speech", [u for u in load_utterances() if u["id"] == "deny_1"])
    assert freeze(tmp_path / "speech", tmp_path / "frozen") == 1
    assert (tmp_path / "frozen" / "deny_1.ogg").read_bytes()[:4] == b"OggS"
