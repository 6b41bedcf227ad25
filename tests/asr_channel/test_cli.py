from asr_channel.__main__ import main
from tests.asr_channel.audio_helpers import REAL_DIR


def test_transcribe_prints_transcript_timing_and_cer(capsys, tmp_path):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello")
    code = main(
        [
            "transcribe",
            str(REAL_DIR / "paddlespeech_zh.wav"),
            str(not_audio),
            "--reference",
            str(REAL_DIR / "transcripts.tsv"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # one file was not audio
    assert "身体健康" in captured.out and "RTF" in captured.out and "CER" in captured.out
    assert "notes.txt: error: 不支持的音频格式" in captured.err
