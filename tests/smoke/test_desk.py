"""The support desk on the real stack: sign-in and permissions, and a person taking a
conversation over on REST, Telegram and Slack (fake clouds on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.fakes.slack_api import button_click, message_event, signed
from tests.fakes.telegram_api import button_update, text_update
from tests.smoke.stack import TELEGRAM_SECRET, Desk, http_get, wait_for
from zhiyin import db
from zhiyin.db import Ticket, TicketChange
from zhiyin.http import http_post
from zhiyin.services import tickets

pytestmark = pytest.mark.servers


@pytest.fixture
def agent(stack, team) -> Desk:
    desk = Desk(stack)
    assert desk.login("wang").status_code == 200
    return desk


@pytest.fixture
def lead(stack, team) -> Desk:
    desk = Desk(stack)
    assert desk.login("zhao").status_code == 200
    return desk


def ticket_row(engine, ticket_id):
    with db.session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        session.expunge(ticket)
        return ticket


# ---- the private surfaces -------------------------------------------------------------------


def test_the_rasa_api_needs_the_token(stack):
    for path in ("/status", "/conversations/anyone/tracker", "/domain"):
        assert http_get(f"{stack.base}{path}")[0] == 401
        assert http_get(f"{stack.base}{path}?token=wrong")[0] == 401
    assert http_get(f"{stack.base}/status?token={stack.token}")[0] == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/me"),
        ("GET", "/api/queue"),
        ("GET", "/api/stream"),
        ("GET", "/api/tickets"),
        ("GET", "/api/tickets/1"),
        ("GET", "/api/conversations/1"),
        ("POST", "/api/conversations/1/claim"),
        ("POST", "/api/conversations/1/reply"),
        ("POST", "/api/tickets/1/notes"),
        ("GET", "/api/stats"),
        ("GET", "/report/"),
    ],
)
def test_nothing_answers_without_a_session(stack, method, path):
    desk = Desk(stack)
    answer = desk.get(path) if method == "GET" else desk.post(path, {"text": "x"})
    assert answer.status_code == 401 and "登录" in answer.json()["error"]


def test_the_desk_page_sends_strangers_to_the_login_page(stack, agent):
    stranger = Desk(stack)
    page = stranger.get("/")
    assert page.status_code == 302 and page.headers["Location"] == "/agent/login"
    login = stranger.get("/login")
    assert login.status_code == 200 and "script-src 'self'" in login.headers["Content-Security-Policy"]
    assert agent.get("/").status_code == 200


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(stack, team):
    desk = Desk(stack)
    answer = desk.login("li")
    cookie = answer.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/agent" in cookie
    assert desk.get("/api/me").json()["staff"]["name"] == "小李"
    assert desk.post("/api/logout").status_code == 200
    assert desk.get("/api/me").status_code == 401


def test_state_changes_need_the_csrf_token(stack, agent):
    answer = agent.post("/api/tickets/1/notes", {"text": "备注"}, csrf=False)
    assert answer.status_code == 403 and "CSRF" in answer.json()["error"]
    agent.csrf = "forged"
    assert agent.post("/api/tickets/1/notes", {"text": "备注"}).status_code == 403


def test_lead_pages_are_for_leads(agent, lead):
    assert agent.get("/api/stats").status_code == 403
    assert agent.get("/report/").status_code == 403
    figures = lead.get("/api/stats").json()
    assert set(figures["tickets_by_status"]) == {"open", "in_progress", "resolved", "closed"}


def test_logins_are_throttled_after_repeated_failures(stack, team):
    desk = Desk(stack)
    statuses = [desk.login("sun", "wrong password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert desk.login("sun").status_code == 429  # even with the right password, for a while
    assert "15 分钟" in desk.login("sun").json()["error"]


def test_bad_desk_requests_get_a_4xx_with_a_reason(agent):
    for answer, status in (
        (agent.http.post(f"{agent.base}/api/login", data=b"{not json"), 400),
        (agent.post("/api/tickets/999999/notes", {"text": "x"}), 404),
        (agent.get("/api/tickets?kind=praise"), 400),
        (agent.get("/api/tickets?since=yesterday"), 400),
        (agent.post("/api/conversations/999999/claim"), 404),
        (agent.post(f"/api/conversations/{2**63}/claim"), 404),
        (agent.http.post(f"{agent.base}/api/tickets/1/notes", json={"text": "x"}, headers={"X-CSRF-Token": "é"}), 403),
    ):
        assert answer.status_code == status and answer.json()["error"]
    assert agent.get("/api/tickets?until=9999-12-31").status_code == 200


# ---- taking a conversation over ---------------------------------------------------------------


def test_takeover_on_rest_delivers_replies_with_the_next_call(stack, agent, engine):
    sender = "desk-rest-1"
    asked = stack.texts(sender, "我要转人工")
    assert "排在第" in asked and "工单号" in asked
    entry = agent.ticket_for(sender)
    assert entry["status"] == "waiting" and entry["channel"] == "rest"
    assert entry["last_message"] == "我要转人工" and entry["understood"]["intent"] == "request_human"

    assert agent.post(f"/api/conversations/{entry['ticket_id']}/claim").status_code == 200
    assert agent.post(f"/api/conversations/{entry['ticket_id']}/reply", {"text": "您好，请问有什么可以帮您？"}).ok
    # The bot is silent; the customer gets what the agent wrote since their last call.
    answer = stack.texts(sender, "我的冰箱门关不严")
    assert answer == "您好，客服小王已加入对话，接下来由我为您服务。\n您好，请问有什么可以帮您？"
    assert stack.texts(sender, "小米14多少钱") == ""

    conversation = agent.get(f"/api/conversations/{entry['ticket_id']}").json()
    said = [(m["who"], m["text"]) for m in conversation["transcript"]]
    assert ("customer", "我的冰箱门关不严") in said and ("agent", "您好，请问有什么可以帮您？") in said
    assert [m["agent"] for m in conversation["transcript"] if m["who"] == "agent"] == ["小王"]
    # The tracker holds the agent's reply as a bot event carrying the agent's name.
    bot_events = [e for e in stack.tracker(sender)["events"] if e["event"] == "bot"]
    assert {"text": "您好，请问有什么可以帮您？", "agent": "小王"} in [
        {"text": e["text"], "agent": (e.get("metadata") or {}).get("agent")} for e in bot_events
    ]

    assert agent.post(f"/api/conversations/{entry['ticket_id']}/handback").status_code == 200
    assert "智能助手继续为您服务" in stack.texts(sender, "好的")
    assert "小米14（小米）售价" in stack.texts(sender, "小米14多少钱")
    assert ticket_row(engine, entry["ticket_id"]).status == "resolved"


def test_a_colleague_cannot_take_or_answer_a_held_conversation(stack, agent, team):
    sender = "desk-rest-2"
    stack.texts(sender, "转人工")
    ticket_id = agent.ticket_for(sender)["ticket_id"]
    assert agent.post(f"/api/conversations/{ticket_id}/claim").ok
    colleague = Desk(stack)
    colleague.login("li")
    assert colleague.post(f"/api/conversations/{ticket_id}/claim").status_code == 409
    assert colleague.post(f"/api/conversations/{ticket_id}/reply", {"text": "我来"}).status_code == 403
    assert colleague.post(f"/api/conversations/{ticket_id}/close").status_code == 403
    assert colleague.ticket_for(sender)["assignee"]["name"] == "小王"
    agent.post(f"/api/conversations/{ticket_id}/close")


def telegram(stack, update) -> int:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return http_post(f"{stack.base}/webhooks/telegram/webhook", json.dumps(update).encode(), headers).status


def test_takeover_on_telegram(stack, telegram_api, agent, engine):
    chat = 7001
    assert telegram(stack, text_update(7100, chat, "人工客服")) == 200
    assert "排在第" in telegram_api.texts(chat)[-1]
    entry = agent.ticket_for(str(chat))
    assert entry["channel"] == "telegram"

    agent.post(f"/api/conversations/{entry['ticket_id']}/claim")
    assert telegram_api.texts(chat)[-1] == "您好，客服小王已加入对话，接下来由我为您服务。"
    agent.post(f"/api/conversations/{entry['ticket_id']}/reply", {"text": "请把订单号发给我"})
    assert telegram_api.texts(chat)[-1] == "请把订单号发给我"
    sent_before = len(telegram_api.sent())
    assert telegram(stack, text_update(7101, chat, "订单号202611016468")) == 200
    assert len(telegram_api.sent()) == sent_before  # the bot stays silent
    transcript = agent.transcript(entry["ticket_id"])
    assert transcript[-1]["who"] == "customer" and transcript[-1]["text"] == "订单号202611016468"

    agent.post(f"/api/conversations/{entry['ticket_id']}/close")
    prompt = telegram_api.sent()[-1]
    assert "请为客服小王的服务打分" in prompt["text"]
    keyboard = json.loads(prompt["reply_markup"]) if isinstance(prompt["reply_markup"], str) else prompt["reply_markup"]
    payloads = [button["callback_data"] for row in keyboard["inline_keyboard"] for button in row]
    assert len(payloads) == 5
    five = next(p for p in payloads if '"5"' in p)
    assert telegram(stack, button_update(7102, chat, five)) == 200
    assert "感谢您的评价（5 分）" in telegram_api.texts(chat)[-1]
    ticket = ticket_row(engine, entry["ticket_id"])
    assert (ticket.status, ticket.rating) == ("closed", 5)


def slack(stack, body: bytes, content_type: str = "application/json") -> int:
    return http_post(f"{stack.base}/webhooks/slack/webhook", body, signed(body, content_type=content_type)).status


def test_takeover_on_slack(stack, slack_api, agent, engine):
    """Slack is answered at once and the message handled afterwards, hence the waiting."""
    user, channel = "U0DESK", "D0DESK"
    assert slack(stack, message_event("Ev-desk-1", user, "转人工", channel)) == 200
    entry = wait_for(lambda: agent.entry(user))
    assert entry["channel"] == "slack"
    agent.post(f"/api/conversations/{entry['ticket_id']}/claim")
    agent.post(f"/api/conversations/{entry['ticket_id']}/reply", {"text": "您好，我是小王"})
    assert slack_api.texts(channel)[-2:] == ["您好，客服小王已加入对话，接下来由我为您服务。", "您好，我是小王"]
    posted_before = len(slack_api.posted)
    assert slack(stack, message_event("Ev-desk-2", user, "洗衣机漏水怎么办", channel)) == 200
    wait_for(lambda: agent.transcript(entry["ticket_id"])[-1]["text"] == "洗衣机漏水怎么办")
    assert len(slack_api.posted) == posted_before  # the bot stays silent
    agent.post(f"/api/conversations/{entry['ticket_id']}/close")
    prompt = slack_api.posted[-1]
    values = [element["value"] for block in prompt["blocks"] for element in block.get("elements", [])]
    four = next(v for v in values if '"4"' in v)
    body = button_click(user, four, "trigger-desk-1", channel)
    assert slack(stack, body, "application/x-www-form-urlencoded") == 200
    assert wait_for(lambda: ticket_row(engine, entry["ticket_id"]).rating) == 4


def test_tickets_workflow_over_http(stack, agent, lead, engine):
    with db.session_scope(engine) as session:
        tickets.create_ticket(
            session,
            "complaint",
            "格力空调装好第二天就不制冷了",
            product="格力空调",
            channel="rest",
            sender="desk-complaint-1",
        )
    listed = agent.get("/api/tickets?kind=complaint&status=open").json()["tickets"]
    ticket = next(t for t in listed if t["sender"] == "desk-complaint-1")
    path = f"/api/tickets/{ticket['id']}"
    assert agent.post(path, {"assignee_id": agent.get("/api/me").json()["staff"]["id"]}).ok
    assert agent.post(path, {"status": "in_progress"}).ok
    assert agent.post(f"{path}/notes", {"text": "已联系安装师傅"}).ok
    colleague = Desk(stack)
    colleague.login("li")
    assert colleague.post(path, {"status": "closed"}).status_code == 403
    assert lead.post(path, {"status": "resolved"}).ok
    detail = agent.get(path).json()
    assert [n["text"] for n in detail["notes"]] == ["已联系安装师傅"]
    assert [(h["actor"], h["field"], h["new"]) for h in detail["history"]] == [
        ("小王", "assignee", "wang"),
        ("小王", "status", "in_progress"),
        ("赵组长", "status", "resolved"),
    ]


def test_revealing_a_phone_number_is_logged(stack, agent, engine):
    sender = "desk-phone-1"
    stack.texts(sender, "转人工，我电话13912345678")
    entry = agent.ticket_for(sender)
    conversation = agent.get(f"/api/conversations/{entry['ticket_id']}").json()
    assert conversation["customer"]["phone_masked"] == "139****5678"
    assert "13912345678" not in json.dumps(conversation, ensure_ascii=False)
    assert agent.post(f"/api/conversations/{entry['ticket_id']}/reveal-phone").json() == {"phone": "13912345678"}
    with db.session_scope(engine) as session:
        changes = session.scalars(select(TicketChange).where(TicketChange.ticket_id == entry["ticket_id"])).all()
        assert [(c.field, c.new) for c in changes] == [("phone_viewed", "wang")]
