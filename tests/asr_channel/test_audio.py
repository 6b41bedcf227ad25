import pytest

from asr_channel.audio import AudioError, decode, sniff
from tests.asr_channel.audio_helpers import ENCODINGS, REAL_DIR, encode, tone, wav_bytes


@pytest.mark.parametrize("container", sorted(ENCODINGS))
def test_every_browser_and_phone_format_decodes_to_16k_mono(container):
    data = encode(tone(2.0), container)
    assert sniff(data) == container
    audio = decode(data, max_seconds=60)
    assert audio.format == container
    assert 1.8 < audio.duration_s < 2.3
    assert audio.samples.dtype.name == "float32" and abs(audio.samples).max() > 0.1


def test_real_wav_clip():
    audio = decode((REAL_DIR / "paddlespeech_zh.wav").read_bytes(), max_seconds=60)
    assert audio.format == "wav" and 4.9 < audio.duration_s < 5.1


@pytest.mark.parametrize("data", [b"hello world, not audio", b"", b'{"sender": 1}', bytes(range(256))])
def test_unknown_content_is_unsupported(data):
    with pytest.raises(AudioError) as problem:
        decode(data, max_seconds=60)
    assert problem.value.status == 415


@pytest.mark.parametrize("container", ["wav", "webm"])
def test_truncated_or_garbled_audio_is_corrupt(container):
    data = wav_bytes(tone(1.0)) if container == "wav" else encode(tone(1.0), "webm")
    garbled = data[:12] + bytes(b ^ 0x5A for b in data[12:400])
    with pytest.raises(AudioError) as problem:
        decode(garbled, max_seconds=60)
    assert problem.value.status == 422


def test_audio_longer_than_allowed_is_refused():
    with pytest.raises(AudioError) as problem:
        decode(wav_bytes(tone(3.0)), max_seconds=2)
    assert problem.value.status == 422 and "2 秒" in str(problem.value)
