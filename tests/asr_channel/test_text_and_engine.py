import sys

import numpy as np
import pytest

from asr_channel.audio import decode
from asr_channel.engine import build_engine, domain_hotwords, strip_prompt_leak
from asr_channel.text import cer, clean_transcript, corpus_cer, to_simplified
from tests.asr_channel.audio_helpers import REAL_DIR, real_transcripts, speech

# A broken decoder or a missing traditional-to-simplified step shows far above this;
# Whisper base measures about 6.5 % on these clips (make bench reports the figure).
CER_FLOOR = 0.12


@pytest.fixture(scope="module")
def engine():
    return build_engine({"cpu_threads": 2})


@pytest.mark.parametrize(
    "traditional, simplified",
    [("我想問我在濱海新區有房", "我想问我在滨海新区有房"), ("訂單到哪裡了", "订单到哪里了"), ("退貨", "退货")],
)
def test_traditional_to_simplified(traditional, simplified):
    assert to_simplified(traditional) == simplified


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        (" 我要投訴 訂單 ", "我要投诉订单"),
        ("好的,谢谢,再见", "好的，谢谢，再见"),
        ("有货吗?", "有货吗？"),
        ("iPhone 15 Pro, 多少钱", "iPhone 15 Pro, 多少钱"),
    ],
)
def test_clean_transcript(raw, cleaned):
    assert clean_transcript(raw) == cleaned


@pytest.mark.parametrize(
    "reference, hypothesis, expected",
    [("订单到了", "订单到了", 0.0), ("订单到了", "定单到了", 0.25), ("退货", "", 1.0), ("退货。", "退 货", 0.0)],
)
def test_cer(reference, hypothesis, expected):
    assert cer(reference, hypothesis) == pytest.approx(expected)


def test_corpus_cer_weights_by_reference_length():
    assert corpus_cer([("订单到了", "定单到了"), ("退货", "退货")]) == pytest.approx(1 / 6)
    assert corpus_cer([]) == 0.0


def test_real_clips_cer_below_floor(engine):
    pairs = []
    for name, reference in real_transcripts().items():
        result = engine.transcribe(decode((REAL_DIR / name).read_bytes(), max_seconds=60).samples)
        assert result.language == "zh"
        pairs.append((reference, result.text))
    assert corpus_cer(pairs) <= CER_FLOOR, pairs


def test_silence_gives_no_transcript(engine):
    assert engine.transcribe(np.zeros(16_000 * 3, dtype=np.float32)).text == ""


def test_synthesised_customer_speech(engine):
    # A longer sentence: short synthetic clips (转人工) vary between 人工 and 员工 from run to run.
    result = engine.transcribe(decode(speech("complaint_1"), max_seconds=60).samples)
    assert "投诉" in result.text and result.duration_s > 1.5 and result.seconds > 0


@pytest.mark.parametrize(
    "text, kept",
    [
        ("订单 快递 客服", ""),
        ("客服", ""),
        ("我的快递到哪了", "我的快递到哪了"),
        ("", ""),
        ("明天天气怎么样订单订单订单订单订单", "明天天气怎么样"),
        ("我的订单，订单，订单，订单。", "我的"),
        ("订单订单号是多少", "订单订单号是多少"),
    ],
)
def test_prompt_leak_is_discarded(text, kept):
    assert strip_prompt_leak(text, domain_hotwords()) == kept


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError):
        build_engine({"engine": "kaldi"})


def test_engine_and_model_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ASR_ENGINE", "kaldi")
    with pytest.raises(ValueError, match="kaldi"):
        build_engine({})
    monkeypatch.setenv("ASR_ENGINE", "faster-whisper")
    monkeypatch.setenv("ASR_MODEL", str(tmp_path / "no-such-model"))
    with pytest.raises(Exception, match="no-such-model|model"):
        build_engine({})


def test_openai_whisper_needs_a_checkpoint_and_the_extra(monkeypatch, tmp_path):
    monkeypatch.delenv("ASR_MODEL", raising=False)
    with pytest.raises(ValueError, match="checkpoint"):
        build_engine({"engine": "openai-whisper"})
    monkeypatch.setitem(sys.modules, "whisper", None)  # not installed (the default install)
    with pytest.raises(RuntimeError, match="pip install openai-whisper"):
        build_engine({"engine": "openai-whisper", "checkpoint": str(tmp_path / "base.pt")})


class FakeOpenAIWhisper:
    """Stands in for the `whisper` package (torch and the .pt weights cannot be installed here)."""

    def __init__(self):
        self.loaded, self.options = None, None

    def load_model(self, path, device):
        self.loaded = (path, device)
        return self

    def transcribe(self, samples, **options):
        self.options = options
        return {"text": "我要投訴，定單還沒到", "language": "zh"}


def test_openai_whisper_adapter_loads_once_and_normalises_like_the_default(monkeypatch, tmp_path):
    fake = FakeOpenAIWhisper()
    monkeypatch.setitem(sys.modules, "whisper", fake)
    checkpoint = tmp_path / "base.pt"
    checkpoint.write_bytes(b"weights")
    monkeypatch.setenv("ASR_ENGINE", "openai-whisper")
    monkeypatch.setenv("ASR_MODEL", str(checkpoint))
    engine = build_engine({"compute_type": "int8", "hotwords": True})
    assert fake.loaded == (str(checkpoint), "cpu")
    result = engine.transcribe(np.zeros(16_000, dtype=np.float32))
    assert (result.heard, result.text) == ("我要投诉，定单还没到", "我要投诉，订单还没到")
    assert fake.options["language"] == "zh" and fake.options["fp16"] is False
    assert fake.options["initial_prompt"] == domain_hotwords()
    with pytest.raises(FileNotFoundError):
        build_engine({"checkpoint": str(tmp_path / "missing.pt")})
