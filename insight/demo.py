"""Demo data for the report: scripted customers talk to the real assistant.

Starts zhiyin (zhiyin.serve, the way `make run` does) on free ports with its own database and
tracker store under var/demo/, so a real installation's data is never touched, runs the
conversations in resources/demo_conversations.yml over REST, socket.io (as the web chat) and
the voice channel, and stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import socketio
import yaml

from zhiyin import serve
from zhiyin.http import http_post
from zhiyin.paths import MODEL_PATH, VAR_DIR
from zhiyin.serve import HOST, free_port

logger = logging.getLogger(__name__)

SCRIPT = Path(__file__).parent / "resources" / "demo_conversations.yml"
DEMO_DIR = VAR_DIR / "demo"
SPEECH_DIR = VAR_DIR / "speech"
MODEL = MODEL_PATH
START_TIMEOUT = 240
MAX_FORM_TURNS = 8


@dataclass
class DemoStores:
    database_url: str
    tracker_db: Path


class Assistant:
    """A running zhiyin, talked to over HTTP like a channel would."""

    def __init__(self, base: str) -> None:
        self.base = base

    def say(self, sender: str, text: str) -> str:
        body = json.dumps({"sender": sender, "message": text}).encode()
        reply = http_post(f"{self.base}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
        return "\n".join(r.get("text", "") for r in reply.body if isinstance(r, dict)) if reply.status == 200 else ""

    def speak(self, sender: str, wav: Path) -> str:
        reply = http_post(
            f"{self.base}/webhooks/voice/webhook?sender={sender}", wav.read_bytes(), {"Content-Type": "audio/wav"}
        )
        if reply.status != 200:
            logger.warning("voice message %s refused: %s", wav.name, reply.body)
            return ""
        return "\n".join(r.get("text", "") for r in reply.body.get("responses", []))


class SocketCustomer:
    """One socket.io connection bound to a session id (Rasa's session persistence), as the
    web widget talks. Replies are collected until none arrives for ``quiet_s``."""

    def __init__(self, base: str, session_id: str, quiet_s: float = 2.0, first_s: float = 60.0) -> None:
        self.base, self.session_id = base, session_id
        self.quiet_s, self.first_s = quiet_s, first_s
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[Dict] = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.client.on("bot_uttered", self.inbox.put_nowait)
        self.client.on("session_confirm", lambda _id: self.confirmed.set())

    async def __aenter__(self) -> SocketCustomer:
        # Long-polling: python-engineio's websocket client needs aiohttp >= 3.10, and Rasa 3.6
        # pins 3.9 (the browser tests cover websocket).
        await self.client.connect(self.base, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(self.confirmed.wait(), 10)
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.client.disconnect()

    async def say(self, text: str) -> List[Dict]:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        replies = [await asyncio.wait_for(self.inbox.get(), self.first_s)]
        while True:
            try:
                replies.append(await asyncio.wait_for(self.inbox.get(), self.quiet_s))
            except asyncio.TimeoutError:
                return replies


def chat_over_socketio(base: str, session_id: str, turns: List[str]) -> None:
    async def conversation() -> None:
        async with SocketCustomer(base, session_id, quiet_s=1.0) as customer:
            for text in turns:
                await customer.say(text)

    asyncio.run(conversation())


def answer_form(assistant: Assistant, sender: str, first: str, facts: Dict[str, str]) -> bool:
    """Send ``first``, then answer what the assistant asks from ``facts``; True once filed."""
    reply = assistant.say(sender, first)
    for _ in range(MAX_FORM_TURNS):
        if "ZY" in reply:
            return True
        if "确认提交吗" in reply:
            answer = "确认"
        elif "订单号" in reply:
            answer = facts.get("order_id", "没有")
        elif "手机号" in reply:
            answer = facts.get("phone", "13812345678")
        elif "描述" in reply or "想法" in reply or "具体" in reply:
            answer = facts["text"]
        else:
            logger.warning("demo customer %s did not expect %r", sender, reply)
            return False
        reply = assistant.say(sender, answer)
    return "ZY" in reply


def run_script(assistant: Assistant, script: Dict, speech_dir: Path = SPEECH_DIR) -> Dict[str, int]:
    """Every scripted conversation, one sender each; returns counts of what was done."""
    done = {"conversations": 0, "scripted_tickets": 0, "voice_messages": 0}
    for i, turns in enumerate(script.get("consultations", [])):
        for text in turns:
            assistant.say(f"demo-ask-{i:02d}", str(text))
        done["conversations"] += 1
    for i, turns in enumerate(script.get("web_chat", [])):
        chat_over_socketio(assistant.base, f"demo-web-{i:02d}", [str(t) for t in turns])
        done["conversations"] += 1
    clips_missing = not speech_dir.exists()
    if clips_missing:
        logger.warning("no synthesised speech in %s (make speech): voice conversations skipped", speech_dir)
    for i, clips in enumerate([] if clips_missing else script.get("voice", [])):
        for clip in clips:
            assistant.speak(f"demo-voice-{i:02d}", speech_dir / f"{clip}.wav")
            done["voice_messages"] += 1
        done["conversations"] += 1
    for i, (order_id, text, phone) in enumerate(script.get("complaints", [])):
        first = "我要投诉" if i % 2 == 0 else f"{text}，我要投诉"
        facts = {"order_id": str(order_id), "text": text, "phone": str(phone)}
        done["scripted_tickets"] += answer_form(assistant, f"demo-complaint-{i:02d}", first, facts)
        done["conversations"] += 1
    for i, text in enumerate(script.get("suggestions", [])):
        first = "我想提个建议" if i % 2 == 0 else text
        done["scripted_tickets"] += answer_form(assistant, f"demo-suggestion-{i:02d}", first, {"text": text})
        done["conversations"] += 1
    for i, turns in enumerate(script.get("handoffs", [])):
        replies = [assistant.say(f"demo-handoff-{i:02d}", str(text)) for text in turns]
        done["scripted_tickets"] += "ZY" in replies[-1]
        done["conversations"] += 1
    return done


def generate(out_dir: Path = DEMO_DIR, model: Path = MODEL, script_path: Path = SCRIPT) -> DemoStores:
    """Fresh demo stores in out_dir, filled by the scripted conversations."""
    if not model.exists():
        raise FileNotFoundError(f"{model}: no trained model (run `make train`)")
    out_dir.mkdir(parents=True, exist_ok=True)
    # Only what a previous demo wrote: out_dir may be any folder the user named.
    for name in ("zhiyin.db", "tracker.db"):
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "logs", ignore_errors=True)
    env = serve.isolated_env(out_dir)
    stores = DemoStores(env["DATABASE_URL"], Path(env["TRACKER_DB"]))
    rasa_port, action_port = free_port(), free_port()
    group = serve.servers(rasa_port, action_port, str(model))
    try:
        serve.start_group(group, START_TIMEOUT, out_dir / "logs", env)
        script = yaml.safe_load(script_path.read_text(encoding="utf-8"))
        done = run_script(Assistant(f"http://{HOST}:{rasa_port}"), script)
        logger.info("demo data: %s", done)
    finally:
        for server in reversed(group):
            server.stop()
    return stores
