"""The desk in headless Chromium with two browser contexts on the real stack: a customer on
the web chat asks for a person, an agent signed in to /agent/ takes over, they talk live,
the agent hands back, and a second handoff ends with the satisfaction rating. Screenshots of
the queue and the conversation go to docs/screenshots/ for the README."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.smoke.stack import PASSWORD, wait_for
from tests.smoke.test_webchat import SCREENSHOTS, TIMEOUT_MS, ask, bot_messages, browser, open_chat, playwright  # noqa: F401
from zhiyin import db
from zhiyin.db import Ticket

pytestmark = pytest.mark.servers

expect = pytest.importorskip("playwright.sync_api").expect
LIVE_MS = 10_000  # the desk streams changes about once a second


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/agent/")
    expect(page).to_have_url(f"{base}/agent/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    expect(page.locator("#queue-waiting")).to_be_visible(timeout=TIMEOUT_MS)


def waiting_card(page, text: str):
    return page.locator("#queue-waiting [data-ticket-id]", has_text=text)


def ratings(engine, ticket_id):
    with db.session_scope(engine) as session:
        return session.get(Ticket, ticket_id).rating


def test_an_agent_takes_a_web_chat_over_live(stack, team, browser, engine):  # noqa: F811
    desk_context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    chat_context = browser.new_context(viewport={"width": 480, "height": 860}, locale="zh-CN")
    agent, customer = desk_context.new_page(), chat_context.new_page()
    try:
        sign_in(agent, stack.base, "wang")
        open_chat(customer, stack.base)

        ask(customer, "我要转人工，冰箱一直不制冷")
        expect(bot_messages(customer).last).to_contain_text("排在第", timeout=TIMEOUT_MS)
        card = waiting_card(agent, "冰箱一直不制冷")
        expect(card).to_be_visible(timeout=LIVE_MS)  # streamed in, no reload
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        agent.screenshot(path=str(SCREENSHOTS / "desk-queue.png"))

        card.locator(".claim").click()
        transcript = agent.locator("#transcript")
        expect(transcript).to_contain_text("冰箱一直不制冷", timeout=TIMEOUT_MS)
        expect(bot_messages(customer).last).to_have_text(
            "您好，客服小王已加入对话，接下来由我为您服务。", timeout=LIVE_MS
        )

        agent.locator("#reply-text").fill("您好，我是小王。请问冰箱是哪天买的？")
        agent.locator("#reply-send").click()
        expect(bot_messages(customer).last).to_have_text("您好，我是小王。请问冰箱是哪天买的？", timeout=LIVE_MS)
        expect(customer.locator(".zy-agent").last).to_have_text("客服小王")

        bot_count = bot_messages(customer).count()
        ask(customer, "上周买的，美的冰箱")
        expect(transcript.locator(".msg-customer").last).to_contain_text("上周买的，美的冰箱", timeout=LIVE_MS)
        customer.wait_for_timeout(1500)
        assert bot_messages(customer).count() == bot_count  # the bot stays out of it
        agent.screenshot(path=str(SCREENSHOTS / "desk-conversation.png"))

        agent.locator("#handback").click()
        expect(bot_messages(customer).last).to_contain_text("智能助手继续为您服务", timeout=LIVE_MS)
        ask(customer, "小米14多少钱")
        expect(bot_messages(customer).last).to_contain_text("小米14（小米）售价", timeout=TIMEOUT_MS)

        # A second handoff, closed by the agent: the customer rates the service.
        agent.goto(f"{stack.base}/agent/#queue")
        ask(customer, "还是转人工吧")
        card = waiting_card(agent, "还是转人工吧")
        expect(card).to_be_visible(timeout=LIVE_MS)
        ticket_id = int(card.get_attribute("data-ticket-id"))
        card.locator(".claim").click()
        expect(bot_messages(customer).last).to_contain_text("客服小王已加入对话", timeout=LIVE_MS)
        agent.locator("#close").click()
        expect(bot_messages(customer).last).to_contain_text("请为客服小王的服务打分", timeout=LIVE_MS)
        customer.locator(".zy-reply", has_text="5 非常满意").click()
        expect(bot_messages(customer).last).to_contain_text("感谢您的评价（5 分）", timeout=TIMEOUT_MS)
        assert wait_for(lambda: ratings(engine, ticket_id)) == 5
        with db.session_scope(engine) as session:
            assert session.scalars(select(Ticket.status).where(Ticket.id == ticket_id)).one() == "closed"
    finally:
        desk_context.close()
        chat_context.close()
