"""The desk adapter against a stand-in Rasa API and stand-in channels: what goes into the
conversation, what reaches the customer, and claims that time out."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, Dict, List

import pytest
from sqlalchemy import select

from desk import texts
from desk.channel import DeskInput
from desk.delivery import DeliveryError, deliver
from desk.rasa_api import RasaAPIError
from zhiyin import staff as accounts
from zhiyin.db import AgentMessage
from zhiyin.services import desk, tickets


class FakeRasaAPI:
    """Conversations as lists of event dicts, like Rasa's tracker store holds them."""

    def __init__(self) -> None:
        self.conversations: Dict[str, List[Dict[str, Any]]] = {}
        self.down = False

    async def events(self, sender: str) -> List[Dict[str, Any]]:
        if self.down:
            raise RasaAPIError("down")
        return list(self.conversations.get(sender, []))

    async def append(self, sender: str, events: List[Dict[str, Any]]) -> None:
        if self.down:
            raise RasaAPIError("down")
        self.conversations.setdefault(sender, []).extend(events)


class FakeSocketIO:
    def __init__(self) -> None:
        self.emitted: List[tuple] = []

    async def emit(self, event: str, payload: Dict[str, Any], room: str) -> None:
        self.emitted.append((event, payload, room))


class FakeSocketIOInput:
    bot_message_evt = "bot_uttered"

    def __init__(self) -> None:
        self.sio = FakeSocketIO()

    @classmethod
    def name(cls) -> str:
        return "socketio"


class FakeOutput:
    def __init__(self, fail: bool = False) -> None:
        self.sent: List[tuple] = []
        self.fail = fail

    async def send_text_message(self, recipient_id: str, text: str) -> None:
        if self.fail:
            raise ConnectionError("api.telegram.org unreachable")
        self.sent.append((recipient_id, text, None))

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, str]]) -> None:
        self.sent.append((recipient_id, text, buttons))


class FakeTelegramInput:
    def __init__(self, output: FakeOutput) -> None:
        self.output = output

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def get_output_channel(self) -> FakeOutput:
        return self.output


def customer(text: str, channel: str, intent: str = "request_human") -> Dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "timestamp": 1_764_300_000.0,
        "parse_data": {"intent": {"name": intent, "confidence": 0.97}, "entities": []},
    }


@pytest.fixture
def rasa() -> FakeRasaAPI:
    return FakeRasaAPI()


@pytest.fixture
def socketio() -> FakeSocketIOInput:
    return FakeSocketIOInput()


@pytest.fixture
def channel(rasa, socketio, tmp_path) -> DeskInput:
    desk_input = DeskInput(rasa, report_dir=tmp_path, claim_timeout=timedelta(minutes=5))  # type: ignore[arg-type]
    desk_input.input_channels = [socketio, FakeTelegramInput(FakeOutput())]
    return desk_input


@pytest.fixture
def wang(session):
    staff = accounts.add_staff(session, "wang", "小王", "correct horse 42")
    session.commit()
    return staff


def waiting_ticket(session, rasa, sender, channel_name, text="转人工", **fields):
    rasa.conversations[sender] = [customer(text, channel_name)]
    ticket = tickets.create_ticket(session, "handoff", text, channel=channel_name, sender=sender, **fields)
    session.commit()
    return ticket


def test_a_web_chat_customer_gets_the_agents_words_live_with_the_agents_name(session, rasa, socketio, channel, wang):
    ticket = waiting_ticket(session, rasa, "web-1", "socketio")
    told = asyncio.run(channel.tell(ticket.id, "socketio", "web-1", "您好", wang, "joined", [{"event": "pause"}]))
    assert told == (True, "socketio")
    assert socketio.sio.emitted == [("bot_uttered", {"text": "您好", "agent": "小王"}, "web-1")]
    pause, said = rasa.conversations["web-1"][-2:]
    assert pause == {"event": "pause"}
    assert said["event"] == "bot" and said["metadata"] == {"desk": "joined", "agent": "小王", "agent_id": wang.id}
    [stored] = session.scalars(select(AgentMessage)).all()
    assert stored.delivered_at is not None


def test_a_rest_customer_gets_the_message_with_the_next_call(session, rasa, channel, wang):
    ticket = waiting_ticket(session, rasa, "rest-1", "rest")
    assert asyncio.run(channel.tell(ticket.id, "rest", "rest-1", "您好", wang, "joined")) == (False, "rest")
    assert desk.take_undelivered("voice", "rest-1") == []  # another channel's conversation
    assert [m["text"] for m in desk.take_undelivered("rest", "rest-1")] == ["您好"]
    assert desk.take_undelivered("rest", "rest-1") == []


def test_rating_buttons_go_out_with_the_closing_message(session, rasa, channel, wang):
    ticket = waiting_ticket(session, rasa, "4242", "telegram")
    buttons = texts.rating_buttons()
    asyncio.run(channel.tell(ticket.id, "telegram", "4242", "请打分", wang, "closed", [{"event": "resume"}], buttons))
    output = channel.input_channels[1].output
    assert output.sent == [("4242", "请打分", buttons)]
    assert [json.loads(b["payload"][len("/rate_service") :]) for b in buttons] == [
        {"csat": str(n)} for n in (5, 4, 3, 2, 1)
    ]
    assert rasa.conversations["4242"][-1]["data"] == {"buttons": buttons}


def test_a_channel_that_does_not_take_the_message_is_an_error():
    with pytest.raises(DeliveryError, match="telegram did not take") as failed:
        asyncio.run(deliver([FakeTelegramInput(FakeOutput(fail=True))], "telegram", "1", "您好"))
    assert failed.value.channel == "telegram"
    with pytest.raises(DeliveryError, match="off"):
        asyncio.run(deliver([], "slack", "U1", "您好"))
    assert asyncio.run(deliver([], "rest", "r", "您好")) is False


def test_a_claim_nobody_answers_goes_back_and_the_customer_is_told(session, rasa, socketio, channel, wang):
    ticket = waiting_ticket(session, rasa, "web-2", "socketio")
    desk.claim(session, ticket, wang, datetime.now() - timedelta(minutes=6))
    session.commit()
    asyncio.run(channel.sweep())
    session.expire_all()
    assert desk.waiting(session)[0].id == ticket.id
    resume, notice = rasa.conversations["web-2"][-2:]
    assert resume == {"event": "resume"}
    assert notice["text"] == texts.RETURNED.format(name="小王", position=1)
    assert socketio.sio.emitted[-1][1]["text"] == notice["text"]


def test_the_queue_shows_what_the_customer_said_and_what_the_bot_understood(session, rasa, channel, wang):
    waiting_ticket(session, rasa, "web-3", "socketio", text="我要找人工，订单一直不发货")
    rasa.conversations["web-3"].append({"event": "slot", "name": "order_id", "value": "202611016468"})
    queue = asyncio.run(channel.queue(wang))
    [entry] = queue["waiting"]
    assert entry["last_message"] == "我要找人工，订单一直不发货" and entry["position"] == 1
    assert entry["understood"] == {"intent": "request_human", "product": None, "order_id": "202611016468"}
    assert queue["mine"] == [] and queue["others"] == []
    rasa.down = True  # the queue still shows, from the ticket
    channel._events_cache.clear()
    assert asyncio.run(channel.queue(wang))["waiting"][0]["last_message"] == "我要找人工，订单一直不发货"


def test_the_customer_panel_masks_the_phone_and_shows_the_order(session, rasa, channel, wang):
    ticket = waiting_ticket(session, rasa, "web-4", "socketio", order_id="202611016468", phone="13812345678")
    conversation = asyncio.run(channel.conversation(ticket.id))
    panel = conversation["customer"]
    assert panel["phone_masked"] == "138****5678" and panel["has_phone"]
    assert "13812345678" not in json.dumps(conversation, ensure_ascii=False)
    assert panel["order"]["order_id"] == "202611016468" and panel["order"]["events"]
    with pytest.raises(desk.DeskError):
        asyncio.run(channel.conversation(999_999))


def test_a_claim_is_undone_when_rasa_cannot_be_told(session, rasa, channel, wang):
    """Telling Rasa fails: nothing is appended and the error reaches the route, which releases the claim."""
    ticket = waiting_ticket(session, rasa, "web-5", "socketio")
    desk.claim(session, ticket, wang, datetime.now())
    session.commit()
    rasa.down = True
    with pytest.raises(RasaAPIError):
        asyncio.run(channel.tell(ticket.id, "socketio", "web-5", "您好", wang, "joined", [{"event": "pause"}]))
    assert rasa.conversations["web-5"] == [customer("转人工", "socketio")]  # nothing appended


def test_a_returned_claim_rasa_did_not_hear_about_is_retried(session, rasa, socketio, channel, wang):
    ticket = waiting_ticket(session, rasa, "web-6", "socketio")
    desk.claim(session, ticket, wang, datetime.now() - timedelta(minutes=6))
    session.commit()
    rasa.down = True
    asyncio.run(channel.sweep())
    assert rasa.conversations["web-6"] == [customer("转人工", "socketio")]
    rasa.down = False
    asyncio.run(channel.sweep())
    assert rasa.conversations["web-6"][-2]["event"] == "resume"
    asyncio.run(channel.sweep())  # told once
    assert [e["event"] for e in rasa.conversations["web-6"]].count("resume") == 1
