"""The web chat page in headless Chromium (Debian's, driven by Playwright), against the real stack.

What a customer does: open /chat/, type a question, click a quick reply, reload, speak into
the microphone (Chromium's fake capture device playing a synthesised WAV). Screenshots of the
page go to docs/screenshots/ for the README.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Iterator, List

import pytest

from tests.asr_channel.audio_helpers import SPEECH_DIR
from zhiyin.paths import PROJECT_ROOT

pytestmark = pytest.mark.servers

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TIMEOUT_MS = 60_000


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium not found: `make browser` installs Debian's chromium (make test does)")
    return path


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    with playwright_api.sync_playwright() as driver:
        yield driver


def launch(playwright, extra_args: List[str] = ()):
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=BASE_ARGS + list(extra_args))


@pytest.fixture(scope="module")
def browser(playwright):
    browser = launch(playwright)
    yield browser
    browser.close()


def bot_messages(page):
    return page.locator(".zy-bot .zy-bubble")


def open_chat(page, base: str) -> None:
    page.goto(f"{base}/chat/")
    expect(page.locator(".zy-status")).to_have_text("在线", timeout=TIMEOUT_MS)
    expect(bot_messages(page).first).to_contain_text("您好", timeout=TIMEOUT_MS)


def ask(page, text: str) -> None:
    page.locator(".zy-input").fill(text)
    page.locator(".zy-input").press("Enter")


def test_price_quick_reply_and_history_across_a_reload(stack, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    try:
        open_chat(page, stack.base)
        ask(page, "小米14多少钱")
        expect(page.locator(".zy-user .zy-bubble").last).to_have_text("小米14多少钱")
        expect(bot_messages(page).last).to_contain_text("小米14（小米）售价", timeout=TIMEOUT_MS)
        page.locator(".zy-reply", has_text="包邮吗").first.click()
        expect(page.locator(".zy-user .zy-bubble").last).to_have_text("包邮吗")
        expect(bot_messages(page).last).to_contain_text("包邮", timeout=TIMEOUT_MS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "webchat-desktop.png"))

        page.reload()
        expect(page.locator(".zy-status")).to_have_text("在线", timeout=TIMEOUT_MS)
        expect(page.locator(".zy-user .zy-bubble").first).to_have_text("小米14多少钱")
        # Same conversation on the server: "有货吗" refers to the product asked about before the reload.
        ask(page, "有货吗")
        expect(bot_messages(page).last).to_contain_text("小米14 目前有货", timeout=TIMEOUT_MS)
    finally:
        context.close()


def test_phone_sized_page(stack, playwright, browser):
    context = browser.new_context(**playwright.devices["Pixel 7"], locale="zh-CN")
    page = context.new_page()
    try:
        open_chat(page, stack.base)
        ask(page, "你们支持七天无理由退货吗")
        expect(bot_messages(page).last).to_contain_text("7 天内可无理由退货", timeout=TIMEOUT_MS)
        box = page.locator(".zy-composer").bounding_box()
        assert (
            box["width"] <= page.viewport_size["width"] and box["y"] + box["height"] <= page.viewport_size["height"] + 1
        )
        page.screenshot(path=str(SCREENSHOTS / "webchat-phone.png"))
    finally:
        context.close()


def test_spoken_question_through_the_microphone(stack, playwright):
    wav = SPEECH_DIR / "price_1.wav"
    assert wav.exists(), "run `make speech` (make test does)"
    browser = launch(
        playwright,
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop",
        ],
    )
    context = browser.new_context(locale="zh-CN")
    context.grant_permissions(["microphone"], origin=stack.base)
    page = context.new_page()
    try:
        open_chat(page, stack.base)
        page.locator(".zy-mic").click()
        expect(page.locator(".zy-mic")).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(3500)  # the recording itself: the clip is about 2 s long
        page.locator(".zy-mic").click()
        expect(page.locator(".zy-user .zy-bubble").last).to_contain_text(re.compile("🎤.*美的空调"), timeout=TIMEOUT_MS)
        expect(bot_messages(page).last).to_contain_text("售价 2899 元", timeout=TIMEOUT_MS)
    finally:
        context.close()
        browser.close()


def test_microphone_refused_is_explained(stack, browser):
    context = browser.new_context(locale="zh-CN")  # no permission granted: Chromium denies
    page = context.new_page()
    try:
        open_chat(page, stack.base)
        page.locator(".zy-mic").click()
        expect(page.locator(".zy-notice").last).to_contain_text("麦克风", timeout=TIMEOUT_MS)
        expect(page.locator(".zy-mic")).not_to_have_attribute("aria-pressed", "true")
    finally:
        context.close()


@pytest.mark.parametrize(
    "status, error, shown",
    [
        (503, "语音识别繁忙，请稍后再试 / recogniser busy", "语音识别繁忙"),
        (422, "语音过长，请控制在 60 秒以内 / audio longer than 60 s", "60 秒以内"),
        (415, "不支持的音频格式（支持 WAV、WebM、Ogg、MP3、M4A） / unsupported audio format", "不支持的音频格式"),
    ],
)
def test_voice_errors_are_shown_in_chinese(stack, playwright, status, error, shown):
    """The server's error answers (each tested for real in test_servers.py) as the page shows them."""
    browser = launch(playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    context = browser.new_context(locale="zh-CN")
    context.grant_permissions(["microphone"], origin=stack.base)
    page = context.new_page()
    page.route(
        "**/webhooks/voice/webhook",
        lambda route: route.fulfill(
            status=status, content_type="application/json", body=json.dumps({"error": error, "status": status})
        ),
    )
    try:
        open_chat(page, stack.base)
        page.locator(".zy-mic").click()
        page.wait_for_timeout(1000)
        page.locator(".zy-mic").click()
        expect(page.locator(".zy-notice").last).to_contain_text(shown, timeout=TIMEOUT_MS)
        assert "/" not in page.locator(".zy-notice").last.inner_text()  # the English half is for developers
    finally:
        context.close()
        browser.close()


def test_reconnects_after_the_server_restarts(stack, browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        open_chat(page, stack.base)
        ask(page, "iPhone15Pro多少钱")
        expect(bot_messages(page).last).to_contain_text("iPhone15Pro", timeout=TIMEOUT_MS)
        stack.rasa_server.stop()
        expect(page.locator(".zy-banner")).to_contain_text("正在重新连接", timeout=TIMEOUT_MS)
        stack.restart(stack.rasa_server)
        expect(page.locator(".zy-status")).to_have_text("在线", timeout=TIMEOUT_MS)
        expect(page.locator(".zy-banner")).to_be_hidden()
        ask(page, "有货吗")
        expect(bot_messages(page).last).to_contain_text("iPhone15Pro 目前有货", timeout=TIMEOUT_MS)
    finally:
        context.close()


def shop_page(folder: Path, base: str, attributes: str = "") -> Path:
    """A page of the shop's own site with the widget's embed snippet (and its attributes)."""
    page = folder / "shop.html"
    page.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>某网店</title></head>'
        f'<body><h1>某网店</h1><script src="{base}/chat/widget.js" {attributes} defer></script></body></html>',
        encoding="utf-8",
    )
    return page


def test_embed_snippet_puts_a_floating_widget_on_another_page(stack, browser, tmp_path: Path):
    host_page = shop_page(tmp_path, stack.base)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(host_page.as_uri())
        page.locator(".zy-launcher").click()
        expect(page.locator(".zy-status")).to_have_text("在线", timeout=TIMEOUT_MS)
        ask(page, "戴森V12多少钱")
        expect(bot_messages(page).last).to_contain_text("戴森V12", timeout=TIMEOUT_MS)
        expect(page.locator("h1")).to_have_text("某网店")
    finally:
        context.close()


@pytest.mark.parametrize(
    "path, status, content_type",
    [
        ("/chat/", 200, "text/html"),
        ("/chat/widget.js", 200, "application/javascript"),
        ("/chat/vendor/socket.io.min.js", 200, "application/javascript"),
        ("/chat/%2e%2e/credentials.yml", 404, "application/json"),
        ("/chat/nothing.js", 404, "application/json"),
    ],
)
def test_static_files_and_nothing_else(stack, path, status, content_type):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(stack.base + path, timeout=30) as reply:
            got, headers = reply.status, reply.headers
    except urllib.error.HTTPError as error:
        got, headers = error.code, error.headers
    assert got == status and headers["Content-Type"].startswith(content_type)
