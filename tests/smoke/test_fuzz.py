"""Random and malformed requests against every public endpoint of the running stack.

Hypothesis generates bodies (random bytes and text, JSON of any shape, wrong types where the
channels expect a sender, a message or metadata, deeply nested JSON, audio-like bytes and
broken multipart, Telegram updates and Slack events of the wrong shape, properly signed so
they reach parsing) and socket.io payloads. Every answer must be 2xx or 4xx, never a 5xx or a
dropped connection, and afterwards the server must still answer a normal 你好.

Reproducible: derandomised, no example database. Bounded: a few dozen examples per endpoint,
so the file runs in about a minute on 2 cores. Senders, chats, Slack users and event ids carry
a `fuzz` mark or lie far from the ids other smoke tests use, so no test sees another's history.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import socket
import threading
import time
import urllib.parse
import uuid
from typing import Any, Dict, List

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.replies import TOO_FAST
from tests.fakes.slack_api import signed
from tests.smoke.stack import TELEGRAM_SECRET, Stack
from zhiyin.http import http_post

pytestmark = pytest.mark.servers

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# --- strategies -----------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
fuzz_text = st.text(max_size=60).map(lambda text: "fuzz-" + text)
# Long enough to pass or cross the 20,000-character limit without generating it character by character.
long_text = st.integers(min_value=19_990, max_value=20_010).map(lambda n: "好" * n)
deep_json = st.integers(min_value=1, max_value=50_000).map(lambda depth: "[" * depth + "]" * depth)
small_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=4)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def nested(depth: int) -> Dict[str, Any]:
    value: Dict[str, Any] = {"customer_token": "t"}
    for _ in range(depth):
        value = {"a": value}
    return value


def post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    """The status of a POST; a dropped connection fails the test (urllib raises)."""
    status = http_post(url, body, headers, timeout=120).status
    assert 200 <= status < 500, f"{status} for {body[:200]!r}"
    return status


def still_answers(stack: Stack) -> None:
    assert stack.rasa_server.running(), "the Rasa server died"
    replies = stack.say(f"fuzz-after-{uuid.uuid4().hex}", "你好")
    assert any("您好" in reply.get("text", "") for reply in replies), replies


# --- REST -------------------------------------------------------------------------------------

# Well-formed with random content reaches the dialogue; the rest is refused on the way.
valid_rest = st.fixed_dictionaries(
    {"sender": fuzz_text, "message": st.text(max_size=200)}, optional={"metadata": small_objects}
)
rest_bodies = st.one_of(
    valid_rest.map(dumps),
    st.binary(max_size=2_000),
    st.text(max_size=500).map(str.encode),
    json_values.map(dumps),
    deep_json.map(str.encode),
    st.fixed_dictionaries(
        {"sender": fuzz_text | json_values, "message": st.text(max_size=200) | long_text | json_values},
        optional={
            "metadata": json_values | st.integers(min_value=1, max_value=40).map(nested),
            "input_channel": st.just("rest") | json_values,
            "customer_token": json_values,
        },
    ).map(dumps),
)


@FUZZ
@given(body=rest_bodies, content_type=st.sampled_from(["application/json", "text/plain", "application/octet-stream"]))
def test_rest_answers_any_body_with_2xx_or_4xx(stack, body, content_type):
    post(f"{stack.base}/webhooks/rest/webhook", body, {"Content-Type": content_type})


def test_rest_still_answers_after_fuzzing(stack):
    still_answers(stack)


# --- voice ------------------------------------------------------------------------------------

audio_like = st.tuples(
    st.sampled_from([b"RIFF\x24\x00\x00\x00WAVEfmt ", b"OggS\x00\x02", b"\x1aE\xdf\xa3", b"ID3\x03", b"fLaC", b""]),
    st.binary(max_size=3_000),
).map(b"".join)


@st.composite
def multipart(draw) -> tuple:
    boundary = draw(st.sampled_from(["zhiyinfuzz", "x" * 70, ""]))
    fields = draw(
        st.dictionaries(
            st.sampled_from(["sender", "file", "customer_token", "other"]),
            st.binary(max_size=500) | fuzz_text.map(str.encode),
            max_size=3,
        )
    )
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        + (b'; filename="voice.wav"\r\nContent-Type: audio/wav' if name == "file" else b"")
        + b"\r\n\r\n"
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    if draw(st.booleans()):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'.encode()
            + draw(audio_like)
            + b"\r\n"
        )
    tail = draw(st.sampled_from([f"--{boundary}--\r\n".encode(), b"", b"--garbage"]))
    content_type = draw(
        st.sampled_from([f"multipart/form-data; boundary={boundary}", "multipart/form-data", "multipart/mixed"])
    )
    return b"".join(parts) + tail, content_type


@FUZZ
@given(
    upload=multipart()
    | st.tuples(
        audio_like | st.binary(max_size=2_000),
        st.sampled_from(["audio/wav", "audio/webm", "application/octet-stream", "text/plain"]),
    ),
    sender=st.none() | fuzz_text,
)
def test_voice_answers_any_upload_with_2xx_or_4xx(stack, upload, sender):
    body, content_type = upload
    query = "" if sender is None else "?sender=" + urllib.parse.quote(sender)
    post(f"{stack.base}/webhooks/voice/webhook{query}", body, {"Content-Type": content_type})


def test_voice_still_answers_after_fuzzing(stack):
    still_answers(stack)


# --- Telegram (with the secret, so the body is parsed) ----------------------------------------

# Chats of their own, or ids that are no integer (refused): never a chat another test talks in.
FUZZ_CHATS = st.integers(min_value=5_000_000_000, max_value=5_000_000_100) | json_values.filter(
    lambda value: not isinstance(value, int)
)
FUZZ_UPDATE_IDS = st.integers(min_value=10**12, max_value=10**12 + 10**6)  # never another test's
telegram_messages = st.fixed_dictionaries(
    {"chat": st.fixed_dictionaries({"id": FUZZ_CHATS}) | json_values.filter(lambda value: not isinstance(value, dict))},
    optional={
        "text": st.text(max_size=100) | long_text | json_values,
        "voice": json_values,
        "audio": json_values,
        "sticker": json_values,
    },
)
valid_telegram = st.fixed_dictionaries(
    {
        "update_id": FUZZ_UPDATE_IDS,
        "message": st.fixed_dictionaries(
            {
                "chat": st.fixed_dictionaries({"id": st.integers(5_000_000_000, 5_000_000_100)}),
                "text": st.text(max_size=100),
            }
        ),
    }
)
telegram_updates = st.one_of(
    valid_telegram,
    json_values,
    st.fixed_dictionaries(
        {"update_id": FUZZ_UPDATE_IDS | json_values.filter(lambda value: not isinstance(value, int))},
        optional={
            "message": telegram_messages | json_values,
            "edited_message": telegram_messages,
            "callback_query": st.fixed_dictionaries(
                {"id": json_values, "data": json_values, "message": telegram_messages | json_values}
            )
            | json_values,
        },
    ),
)


UNIQUE = itertools.count(1)


@FUZZ
@given(update=telegram_updates | st.binary(max_size=500))
def test_telegram_answers_any_update_with_2xx_or_4xx(stack, update):
    if isinstance(update, dict) and isinstance(update.get("update_id"), int):
        # Hypothesis repeats its favourite ids: a fresh one, so the update is not a "resend".
        update = {**update, "update_id": 10**12 + 10**7 + next(UNIQUE)}
    body = update if isinstance(update, bytes) else dumps(update)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    post(f"{stack.base}/webhooks/telegram/webhook", body, headers)


def test_telegram_still_answers_after_fuzzing(stack):
    still_answers(stack)


# --- Slack (signed, so the body reaches parsing) ----------------------------------------------

slack_events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "app_mention"]) | json_values},
    optional={
        "text": st.text(max_size=100) | json_values,
        "user": st.text(max_size=10).map(lambda text: "UFUZZ" + text) | json_values,
        "channel": st.just("DFUZZ") | json_values,
        "channel_type": st.just("im") | json_values,
        "ts": st.just("1700000000.000100") | json_values,
        "bot_id": json_values,
    },
)
valid_slack_event = st.fixed_dictionaries(
    {
        "type": st.just("event_callback"),
        "event_id": fuzz_text,
        "event": st.fixed_dictionaries(
            {
                "type": st.just("message"),
                "text": st.text(min_size=1, max_size=100),
                "user": st.text(max_size=10).map(lambda text: "UFUZZ" + text),
                "channel": st.just("DFUZZ"),
                "channel_type": st.just("im"),
                "ts": st.just("1700000000.000100"),
            }
        ),
    }
)
slack_json = st.one_of(
    valid_slack_event,
    json_values,
    st.fixed_dictionaries(
        {"type": st.just("event_callback"), "event_id": fuzz_text | json_values, "event": slack_events | json_values},
        optional={"authorizations": json_values, "authed_users": json_values, "challenge": json_values},
    ),
)
slack_actions = st.fixed_dictionaries(
    {"type": st.sampled_from(["button", "select", "static_select", "overflow", "datepicker"]) | json_values},
    optional={"value": json_values, "selected_option": json_values, "selected_options": json_values},
)
slack_payloads = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {
            "type": st.just("block_actions"),
            "trigger_id": fuzz_text | json_values,
            "user": st.fixed_dictionaries({"id": st.just("UFUZZ") | json_values}) | json_values,
            "actions": st.lists(slack_actions | json_values, max_size=2) | json_values,
        },
        optional={"channel": json_values, "message": json_values},
    ).map(json.dumps),
)


@FUZZ
@given(
    request=st.tuples(slack_json.map(dumps), st.just("application/json"))
    | st.tuples(
        slack_payloads.map(lambda payload: urllib.parse.urlencode({"payload": payload}).encode()),
        st.just("application/x-www-form-urlencoded"),
    )
    | st.tuples(st.binary(max_size=500), st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
)
def test_slack_answers_any_signed_request_with_2xx_or_4xx(stack, request):
    body, content_type = request
    # Hypothesis repeats its favourite event ids: a fresh one, so the event is not a "retry".
    body = body.replace(b'"event_id": "fuzz-', f'"event_id": "fuzz-{next(UNIQUE)}-'.encode(), 1)
    post(f"{stack.base}/webhooks/slack/webhook", body, signed(body, content_type=content_type))


def test_slack_still_answers_after_fuzzing(stack):
    still_answers(stack)


# --- socket.io --------------------------------------------------------------------------------


class SocketClient:
    """A python-socketio client on its own event loop thread, so Hypothesis can drive it."""

    def __init__(self, base: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: List[Any] = []
        self.dropped = False
        self.client.on("bot_uttered", self.inbox.append)
        self.client.on("session_confirm", self.inbox.append)
        self.client.on("disconnect", self._dropped)
        self.run(self.client.connect(base, socketio_path="/socket.io", transports=["polling"]))

    def _dropped(self) -> None:
        self.dropped = True

    def run(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def emit(self, event: str, data: Any) -> None:
        self.run(self.client.emit(event, data))

    def call(self, event: str, data: Any) -> None:
        """Emit and wait for the server's acknowledgement, sent once its handler has returned
        (none comes if the handler raised). One packet at a time: over long-polling, engine.io
        refuses a request that carries more than 16 packets, as rapid emits would."""
        self.run(self.client.call(event, data, timeout=60), timeout=90)

    def wait_for(self, condition, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [item for item in list(self.inbox) if condition(item)]
            if found:
                return found[0]
            time.sleep(0.2)
        pytest.fail(f"nothing arrived in {timeout}s; inbox: {self.inbox[-5:]}")

    def close(self) -> None:
        if self.client.connected:
            self.run(self.client.disconnect())
        self.run(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @staticmethod
    async def _cancel_the_rest() -> None:
        """engine.io's read and write loops, so none is destroyed while pending."""
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(scope="module")
def socket_client(stack):
    client = SocketClient(stack.base)
    yield client
    client.close()


socket_payloads = st.one_of(
    st.fixed_dictionaries(
        {"message": st.text(max_size=100), "session_id": fuzz_text}, optional={"customData": small_objects}
    ),
    json_values,
    st.binary(max_size=200),
    st.fixed_dictionaries(
        {},
        optional={
            "message": st.text(max_size=100) | long_text | json_values | st.binary(max_size=50),
            "session_id": fuzz_text | json_values,
            "customData": json_values | st.integers(1, 40).map(nested) | deep_json,
            "metadata": json_values,
        },
    ),
)


@FUZZ
@given(
    event=st.sampled_from(["user_uttered", "user_uttered", "user_uttered", "session_request", "fuzz_event"]),
    data=socket_payloads,
)
def test_socketio_takes_any_payload_without_dropping_the_connection(socket_client, event, data):
    if event == "fuzz_event":  # no handler, no acknowledgement
        socket_client.emit(event, data)
        time.sleep(0.05)
    else:
        socket_client.call(event, data)
    assert not socket_client.dropped


def test_socketio_still_answers_on_the_same_connection(stack, socket_client):
    session_id = f"fuzz-after-{uuid.uuid4().hex}"
    socket_client.emit("session_request", {"session_id": session_id})
    socket_client.wait_for(lambda item: item == session_id, 30)
    socket_client.inbox.clear()
    socket_client.emit("user_uttered", {"message": "你好", "session_id": session_id})
    greeting = socket_client.wait_for(lambda item: isinstance(item, dict) and "您好" in item.get("text", ""), 180)
    assert greeting["text"] != TOO_FAST and not socket_client.dropped and socket_client.client.connected
    still_answers(stack)


# --- bounded requests -------------------------------------------------------------------------


def test_huge_bodies_are_refused_with_4xx(stack):
    rest = f"{stack.base}/webhooks/rest/webhook"
    assert post(rest, dumps({"sender": "fuzz-huge", "message": "好" * 1_000_000}), {}) == 413
    assert post(rest, bytes(range(256)) * 12_000, {"Content-Type": "application/json"}) == 400
    deep = '{"sender": "fuzz-huge", "message": "x", "metadata": ' + '{"a": ' * 20_000 + "1" + "}" * 20_001
    assert post(rest, deep.encode(), {}) == 400
    voice = f"{stack.base}/webhooks/voice/webhook?sender=fuzz-huge"
    assert post(voice, b"RIFF" + bytes(3_000_000), {"Content-Type": "audio/wav"}) in (415, 422)
    telegram = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    update = {"update_id": 10**12 + 2 * 10**6, "message": {"chat": {"id": 5_000_000_000}, "text": "好" * 1_000_000}}
    assert post(f"{stack.base}/webhooks/telegram/webhook", dumps(update), telegram) == 400
    still_answers(stack)


def test_a_body_over_the_servers_maximum_is_refused_before_it_is_read(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack.rasa_port, timeout=30)
    try:
        connection.putrequest("POST", "/webhooks/rest/webhook")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(12 * 1024 * 1024))  # SANIC_REQUEST_MAX_SIZE is 11 MiB
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_a_client_that_never_finishes_its_request_is_cut_off(stack):
    """SANIC_REQUEST_TIMEOUT (15 s): a slow client cannot hold a connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", stack.rasa_port), timeout=40) as connection:
        connection.sendall(b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never end
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") and 10 < waited < 35, (answer[:100], waited)
