"""What the desk tells customers, in one place (the assistant's own replies live in domain.yml)."""

from __future__ import annotations

from typing import Dict, List

JOINED = "您好，客服{name}已加入对话，接下来由我为您服务。"
HANDED_BACK = "客服{name}的人工服务已结束，接下来由智能助手继续为您服务，需要时可随时回复“转人工”。"
CLOSED = "本次人工服务已结束，感谢您的耐心。请为客服{name}的服务打分："
RETURNED = "抱歉，客服{name}暂时离开了。您的对话已重新排队（第 {position} 位），其他客服会尽快接入；等待期间您也可以继续向智能助手提问。"
RATING_INTENT = "rate_service"
RATING_ENTITY = "csat"
RATING_TITLES = {5: "5 非常满意", 4: "4 满意", 3: "3 一般", 2: "2 不满意", 1: "1 非常不满意"}


def rating_buttons() -> List[Dict[str, str]]:
    """1-5 satisfaction buttons; the payload reaches the assistant as intent rate_service."""
    return [
        {"title": title, "payload": f'/{RATING_INTENT}{{"{RATING_ENTITY}":"{score}"}}'}
        for score, title in RATING_TITLES.items()
    ]
