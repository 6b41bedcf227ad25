"""channels/metrics.py: the private /metrics route, mounted as Rasa mounts channels, in a real
Sanic server; the turn hook on Rasa's real Agent with a processor that stands in for the model."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage, register
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from asr_channel.engine import Transcription
from asr_channel.recognizer import Recognizer
from channels.metrics import HOOKED, MetricsInput, install_turn_hook
from tests.asr_channel.audio_helpers import tone, wav_bytes
from zhiyin import metrics
from zhiyin.serve import free_port

TOKEN = "metrics-test-token"

# The handoff gauge reads the database on each scrape: none here (tests/zhiyin/test_metrics.py
# has one), and the scrape answers without it.
pytestmark = pytest.mark.usefixtures("unreachable_database")


@contextlib.asynccontextmanager
async def metrics_server(channel: MetricsInput) -> AsyncIterator[str]:
    """The channel in a Sanic app, registered the way `rasa run` registers credentials.yml's
    channels (under /webhooks/, which the channel's url_prefix replaces); the server's base URL."""
    Sanic.test_mode = True  # lets Sanic 21.12 start more than one app in a process
    app = Sanic(f"metrics_test_{free_port()}")
    register([channel], app, "/webhooks/")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()


def scrape(path: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str, str]:
    """(status, content type, body) of GET `path` on a fresh metrics server."""

    async def get() -> Tuple[int, str, str]:
        async with (
            metrics_server(MetricsInput(token=TOKEN)) as base,
            aiohttp.ClientSession() as http,
            http.get(base + path, headers=headers or {}) as answer,
        ):
            return answer.status, answer.headers.get("Content-Type", ""), await answer.text()

    return asyncio.run(get())


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/metrics", {}),
        ("/metrics?token=wrong", {}),
        ("/metrics", {"Authorization": "Bearer wrong"}),
        ("/metrics", {"Authorization": f"Basic {TOKEN}"}),
        ("/metrics?token=", {}),
    ],
    ids=["no token", "wrong token", "wrong bearer", "not bearer", "empty token"],
)
def test_metrics_need_the_api_token(path, headers):
    status, content_type, body = scrape(path, headers)
    assert status == 401 and "application/json" in content_type
    assert "token" in body and "zhiyin_" not in body


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/metrics", {"Authorization": f"Bearer {TOKEN}"}),
        (f"/metrics?token={TOKEN}", {}),
        (f"/metrics/?token={TOKEN}", {}),
    ],
    ids=["bearer", "query", "trailing slash"],
)
def test_metrics_with_the_token_in_prometheus_text_format(path, headers):
    status, content_type, body = scrape(path, headers)
    assert status == 200, body
    assert content_type.startswith("text/plain; version=0.0.4")
    for name in ("zhiyin_turn_seconds", "zhiyin_turns_total", "zhiyin_fallbacks_total", "zhiyin_asr_seconds"):
        assert f"# TYPE {name.removesuffix('_total')}" in body


def test_openmetrics_when_the_scraper_asks_for_it():
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/openmetrics-text; version=1.0.0"}
    status, content_type, body = scrape("/metrics", headers)
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")


def test_the_route_is_not_under_webhooks():
    status, _, _ = scrape(f"/webhooks/metrics?token={TOKEN}")
    assert status == 404


# ---- the turn hook ------------------------------------------------------------------------


class StandInProcessor(MessageProcessor):
    """A MessageProcessor without a model: NLU gives `parse_data`, the policies run `actions`.

    Rasa's own `log_message` runs (the hook wraps it); only what it calls is replaced."""

    def __init__(self, parse_data: Dict[str, Any], actions: List[Any], delay: float = 0.0, fail: bool = False) -> None:
        self.parse_data, self.actions, self.delay, self.fail = parse_data, actions, delay, fail

    async def fetch_tracker_and_update_session(self, sender_id: str, *args: Any, **kwargs: Any) -> DialogueStateTracker:
        return DialogueStateTracker(sender_id, [])

    async def _handle_message_with_tracker(self, message: UserMessage, tracker: DialogueStateTracker) -> None:
        tracker.update(UserUttered(message.text, self.parse_data["intent"], [], self.parse_data))

    async def handle_message(self, message: UserMessage) -> Optional[List[Dict[str, Any]]]:
        tracker = await self.log_message(message, should_save_tracker=False)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the action server fell over")
        for event in self.actions:
            tracker.update(ActionExecuted(event) if isinstance(event, str) else event)
        return [{"recipient_id": message.sender_id, "text": "好的"}]


def intent(name: str, confidence: float) -> Dict[str, Any]:
    return {"name": name, "confidence": confidence}


UNDERSTOOD = {"intent": intent("greet", 0.98), "intent_ranking": [intent("greet", 0.98), intent("goodbye", 0.01)]}
NLU_FALLBACK = {
    "intent": intent("nlu_fallback", 0.65),
    "intent_ranking": [intent("nlu_fallback", 0.65), intent("greet", 0.4), intent("inform", 0.35)],
}
# components/retrieval_gate.py first (its threshold 0.3), then the FallbackClassifier (0.65).
GATE_FALLBACK = {
    "intent": intent("nlu_fallback", 0.65),
    "intent_ranking": [intent("nlu_fallback", 0.65), intent("nlu_fallback", 0.3), intent("faq", 0.97)],
}
FALLBACK_ANSWER = ["action_fallback", UserUtteranceReverted(), "action_listen"]


@pytest.fixture
def hooked(monkeypatch):
    """The hook installed on Rasa's classes for this test only."""
    monkeypatch.setattr(Agent, "handle_message", Agent.handle_message)
    monkeypatch.setattr(MessageProcessor, "log_message", MessageProcessor.log_message)
    install_turn_hook()


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def counts() -> Dict[str, float]:
    kinds = {kind: value("zhiyin_fallbacks_total", kind=kind) for kind in metrics.FALLBACK_KINDS}
    return {**kinds, "turns": value("zhiyin_turns_total", channel="telegram")}


def take_turn(processor: StandInProcessor, channel: str = "telegram") -> Any:
    agent = Agent()
    agent.processor = processor
    return asyncio.run(agent.handle_message(UserMessage("你好", sender_id="metrics-hook", input_channel=channel)))


def test_a_turn_is_counted_and_timed_by_channel(hooked):
    before = (value("zhiyin_turns_total", channel="telegram"), value("zhiyin_turn_seconds_count", channel="telegram"))
    seconds = value("zhiyin_turn_seconds_sum", channel="telegram")
    quick = value("zhiyin_turn_seconds_bucket", channel="telegram", le="0.02")
    elsewhere = value("zhiyin_turns_total", channel="slack")
    answers = take_turn(StandInProcessor(UNDERSTOOD, ["utter_greet", "action_listen"], delay=0.05))
    assert answers == [{"recipient_id": "metrics-hook", "text": "好的"}]
    after = (value("zhiyin_turns_total", channel="telegram"), value("zhiyin_turn_seconds_count", channel="telegram"))
    assert after == (before[0] + 1, before[1] + 1)
    assert value("zhiyin_turn_seconds_sum", channel="telegram") - seconds >= 0.045  # the loop may wake early
    assert value("zhiyin_turn_seconds_bucket", channel="telegram", le="0.02") == quick
    assert value("zhiyin_turns_total", channel="slack") == elsewhere


@pytest.mark.parametrize(
    "parse_data, actions, kind",
    [
        (NLU_FALLBACK, FALLBACK_ANSWER, "nlu"),
        (GATE_FALLBACK, FALLBACK_ANSWER, "knowledge_base"),
        (UNDERSTOOD, FALLBACK_ANSWER, "core"),
        (UNDERSTOOD, ["action_default_fallback", "action_listen"], "core"),
        (UNDERSTOOD, ["utter_greet", "action_listen"], None),
    ],
    ids=["nlu", "knowledge base", "core", "rasa default fallback", "understood"],
)
def test_fallbacks_are_counted_by_kind(hooked, parse_data, actions, kind):
    before = counts()
    take_turn(StandInProcessor(parse_data, actions))
    expected = {**before, "turns": before["turns"] + 1}
    if kind:
        expected[kind] += 1
    assert counts() == expected


def test_a_failed_turn_is_an_error_and_still_fails(hooked):
    errors = value("zhiyin_turn_errors_total", channel="voice")
    turns = value("zhiyin_turns_total", channel="voice")
    with pytest.raises(RuntimeError, match="fell over"):
        take_turn(StandInProcessor(NLU_FALLBACK, [], fail=True), channel="voice")
    assert value("zhiyin_turn_errors_total", channel="voice") == errors + 1
    assert value("zhiyin_turns_total", channel="voice") == turns + 1


def test_messages_logged_outside_a_turn_count_nothing(hooked):
    """The HTTP API logs messages without a turn (/conversations/<id>/messages)."""
    before = counts()
    processor = StandInProcessor(NLU_FALLBACK, [])
    message = UserMessage("你好", sender_id="api", input_channel="telegram")
    asyncio.run(processor.log_message(message, should_save_tracker=False))
    assert counts() == before


def test_credentials_install_the_hook_once(monkeypatch):
    monkeypatch.setattr(Agent, "handle_message", Agent.handle_message)
    monkeypatch.setattr(MessageProcessor, "log_message", MessageProcessor.log_message)
    assert not getattr(Agent.handle_message, HOOKED, False)
    MetricsInput.from_credentials(None)
    MetricsInput.from_credentials(None)
    assert getattr(Agent.handle_message, HOOKED) and getattr(MessageProcessor.log_message, HOOKED)
    assert not getattr(Agent.handle_message.__wrapped__, HOOKED, False)
    assert not getattr(MessageProcessor.log_message.__wrapped__, HOOKED, False)


# ---- speech recognition (asr_channel, for the voice channel and Telegram's voice notes) -----


class SlowEngine:
    def transcribe(self, samples: Any) -> Transcription:
        time.sleep(0.03)
        return Transcription("你好", "你好", "zh", len(samples) / 16_000, 0.03)


def test_speech_recognition_is_timed():
    before = [
        value(name) for name in ("zhiyin_asr_seconds_count", "zhiyin_asr_seconds_sum", "zhiyin_asr_audio_seconds_sum")
    ]
    asyncio.run(Recognizer(SlowEngine()).transcribe(wav_bytes(tone(2.0))))
    count, seconds, audio = (
        value(name) for name in ("zhiyin_asr_seconds_count", "zhiyin_asr_seconds_sum", "zhiyin_asr_audio_seconds_sum")
    )
    assert count == before[0] + 1 and seconds - before[1] >= 0.03
    assert audio - before[2] == pytest.approx(2.0, abs=0.01)
