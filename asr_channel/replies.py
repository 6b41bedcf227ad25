"""What the voice path says to customers, in one place: the voice webhook and Telegram voice notes.

Each audio problem has a reason for the customer (Chinese) and one for developers (English);
HTTP clients get both, `customer / developer`, in a JSON error.
"""

from __future__ import annotations

NO_SPEECH = "抱歉，没有听清您说的话，请再说一遍，或者直接输入文字。"
BUSY = "语音识别正忙，请稍后再发，或者直接输入文字。"
BUSY_ERROR = "语音识别繁忙，请稍后再试 / recogniser busy"
DOWNLOAD_FAILED = "抱歉，语音消息没有收到，请重新发送，或者直接输入文字。"
NO_AUDIO_ERROR = "缺少音频文件 file / no audio in the request"
# A rejected voice message, with the customer's reason from AudioError filled in.
REJECTED = "抱歉，{reason}。您也可以直接输入文字。"
# Echoed before the answer, so a misheard word is visible at once.
HEARD = "🎤 {text}"

UNSUPPORTED_FORMAT = "不支持的音频格式（支持 WAV、WebM、Ogg、MP3、M4A）"
NO_AUDIO_STREAM = "文件中没有音频"
TOO_LONG = "语音过长，请控制在 {max_seconds:.0f} 秒以内"
CORRUPT = "音频文件已损坏或无法解码"
EMPTY = "音频为空"
TOO_LARGE = "音频文件过大（最大 {max_megabytes} MB）"
