"""What zhiyin's channels answer when a request cannot reach the dialogue, in one place.

Replies the assistant gives in a conversation live in domain.yml; these are the few that
Rasa never sees: HTTP errors (`Chinese / English` reasons in a JSON body) and a notice for
message types a channel cannot handle.
"""

from __future__ import annotations

# REST
NOT_JSON = "请求体不是有效的 JSON / body is not valid JSON"
NOT_AN_OBJECT = "请求体必须是 JSON 对象 / body must be a JSON object"
MESSAGE_NOT_TEXT = "message 必须是字符串 / 'message' must be a string"
MESSAGE_TOO_LONG = "消息过长（最多 {max_chars} 字） / 'message' is too long"

# Said in the chat (socket.io, Telegram, Slack) instead of answering; HTTP clients get 429
# (zhiyin.http.too_many_requests).
TOO_FAST = "您发送得太快了，请稍等片刻再试。"
CHAT_MESSAGE_TOO_LONG = "您的消息太长了，请精简一下或分几次发送（每条最多 {max_chars} 字）。"

# Telegram
UNSUPPORTED_MESSAGE = "抱歉，目前只能处理文字和语音消息。"
TELEGRAM_OFF = "Telegram 渠道未启用 / telegram channel is off: set TELEGRAM_ACCESS_TOKEN"
WRONG_SECRET = "secret token 不正确 / wrong secret token"
NOT_AN_UPDATE = "不是 Telegram update / not a Telegram update (update_id missing)"
MALFORMED_UPDATE = "Telegram update 格式不对 / malformed update: {error}"

# Slack
BAD_SIGNATURE = "签名无效 / X-Slack-Signature missing or wrong"
SLACK_OFF = "Slack 渠道未启用 / slack channel is off: set SLACK_TOKEN and SLACK_SIGNING_SECRET"
MALFORMED_SLACK = "Slack 请求格式不对 / malformed Slack request: {error}"

# Web chat files and the action gateway
FILE_NOT_FOUND = "没有这个文件 / not found: {path}"
LOOPBACK_ONLY = "本接口仅供本机调用 / loopback only"
