"""The widget embedded with the shop's customer token (data-customer-token), in headless Chromium:
every message carries the token, and the server adds the client's address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.smoke.test_webchat import TIMEOUT_MS, ask, bot_messages, browser, expect, playwright, shop_page  # noqa: F401

pytestmark = pytest.mark.servers

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzaG9wLWN1c3RvbWVyLTQyIn0.c2lnbmF0dXJl"


def test_widget_sends_the_customer_token_with_every_message(stack, browser, tmp_path: Path):  # noqa: F811
    host_page = shop_page(tmp_path, stack.base, f'data-customer-token="{TOKEN}"')
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(host_page.as_uri())
        page.locator(".zy-launcher").click()
        expect(bot_messages(page).first).to_contain_text("您好", timeout=TIMEOUT_MS)  # the /greet carried it too
        ask(page, "华为Mate60多少钱")
        expect(bot_messages(page).last).to_contain_text("华为Mate60", timeout=TIMEOUT_MS)
        session = json.loads(page.evaluate(f"localStorage.getItem('zhiyin:{stack.base}:session')"))
    finally:
        context.close()
    events = [event for event in stack.tracker(session)["events"] if event["event"] == "user"]
    assert [event["text"] for event in events] == ["/greet", "华为Mate60多少钱"]
    sent = [{key: event["metadata"].get(key) for key in ("customer_token", "client_address")} for event in events]
    assert sent == [{"customer_token": TOKEN, "client_address": "127.0.0.1"}] * 2
