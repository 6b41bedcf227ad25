import numpy as np
import pytest

from asr_channel.audio import decode
from asr_channel.engine import build_engine, domain_hotwords, strip_prompt_leak
from asr_channel.text import cer, clean_transcript, to_simplified
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


def test_clean_transcript_joins_chinese_segments():
    assert clean_transcript(" 我要投訴 訂單 ") == "我要投诉订单"


@pytest.mark.parametrize("reference, hypothesis, expected", [("订单到了", "订单到了", 0.0), ("订单到了", "定单到了", 0.25), ("退货", "", 1.0), ("退货。", "退 货", 0.0)])
def test_cer(reference, hypothesis, expected):
    assert cer(reference, hypothesis) == pytest.approx(expected)


def test_real_clips_cer_below_floor(engine):
    errors = []
    for name, reference in real_transcripts().items():
        audio = decode((REAL_DIR / name).read_bytes(), max_seconds=60)
        result = engine.transcribe(audio.samples)
        assert result.language == "zh"
        errors.append((cer(reference, result.text), len(reference)))
    total = sum(e * n for e, n in errors) / sum(n for _, n in errors)
    assert total <= CER_FLOOR, errors


def test_silence_gives_no_transcript(engine):
    assert engine.transcribe(np.zeros(16_000 * 3, dtype=np.float32)).text == ""


def test_synthesised_customer_speech(engine):
    # A longer sentence: short synthetic clips (转人工) vary between 人工 and 员工 from run to run.
    result = engine.transcribe(decode(speech("complaint_1"), max_seconds=60).samples)
    assert "投诉" in result.text and result.duration_s > 1.5 and result.seconds > 0


@pytest.mark.parametrize(
    "text, kept",
    [("订单 快递 客服", ""), ("客服", ""), ("我的快递到哪了", "我的快递到哪了"), ("", "")],
)
def test_prompt_leak_is_discarded(text, kept):
    assert strip_prompt_leak(text, domain_hotwords()) == kept


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError):
        build_engine({"engine": "kaldi"})
