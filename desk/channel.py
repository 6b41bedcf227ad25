"""The desk's web app and API at /agent/, mounted on the Rasa server like an input channel.

Staff sign in (zhiyin.staff); every page but the login page and every API call needs a
session (401 otherwise) and the right role (403); state-changing calls also need the
session's CSRF token in the X-CSRF-Token header. Conversations change only through the
token-protected Rasa HTTP API on loopback (desk.rasa_api); the customer is reached live on
their channel (desk.delivery). Queue and conversation views are Server-Sent Events streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import time as clock
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from desk import texts, transcript
from desk.delivery import PUSHED_CHANNELS, DeliveryError, deliver, is_pushed
from desk.rasa_api import RasaAPI, RasaAPIError
from zhiyin import staff as accounts
from zhiyin.db import AgentMessage, Staff, Ticket, TicketChange, TicketNote, session_scope
from zhiyin.http import client_address, json_error
from zhiyin.paths import PROJECT_ROOT, VAR_DIR
from zhiyin.services import desk, orders
from zhiyin.services.tickets import mask_phone, mask_phones_in
from zhiyin.settings import desk_claim_timeout_minutes, rasa_api_url

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE = "zhiyin_desk"
CSRF_HEADER = "X-CSRF-Token"
STREAM_INTERVAL_SECONDS = 1.0
STREAM_HEARTBEAT_SECONDS = 15.0
STREAM_MAX_SECONDS = 30 * 60  # the browser reconnects; a session that ended is noticed then
SWEEP_INTERVAL_SECONDS = 15.0
EVENTS_CACHE_SECONDS = 0.8
MAX_BODY_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CONTENT_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

NOT_SIGNED_IN = "请先登录 / sign in first"
NOT_ALLOWED = "没有权限 / not allowed for your role"
BAD_CSRF = "页面已过期，请刷新 / missing or wrong CSRF token"
WRONG_LOGIN = "用户名或密码不正确 / wrong username or password"
THROTTLED = "登录失败次数过多，请 15 分钟后再试 / too many failed logins, try again later"
RASA_DOWN = "对话服务暂时不可用，请稍后再试 / the Rasa API is unavailable"
BAD_BODY = "请求体必须是 JSON 对象 / body must be a JSON object"
DATABASE_DOWN = "数据库暂时不可用，请稍后再试 / the database is unavailable"


def now() -> datetime:
    """Local time as the database stores it (naive)."""
    return datetime.now()


def iso(moment: Optional[datetime]) -> Optional[str]:
    """ISO 8601 with the server's UTC offset, so a browser anywhere shows the right time."""
    return moment.astimezone().isoformat(timespec="seconds") if moment else None


def masked(phone: Optional[str]) -> Optional[str]:
    """A phone number as the desk shows it before a reveal."""
    if not phone:
        return None
    return mask_phone(phone) if len(phone) == 11 else "****"


def staff_json(staff: Optional[Staff]) -> Optional[Dict[str, Any]]:
    if staff is None:
        return None
    return {"id": staff.id, "username": staff.username, "name": staff.display_name, "role": staff.role}


def ticket_json(ticket: Ticket) -> Dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "kind": ticket.kind,
        "status": ticket.status,
        "text": mask_phones_in(ticket.text),
        "product": ticket.product,
        "order_id": ticket.order_id,
        "channel": ticket.channel,
        "sender": ticket.sender,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at or ticket.created_at),
        "claimed_at": iso(ticket.claimed_at),
        "assignee": staff_json(ticket.assignee),
        "rating": ticket.rating,
        "phone_masked": masked(ticket.phone),
    }


def order_json(session: Any, order_id: Optional[str]) -> Optional[Dict[str, Any]]:
    order = orders.get_order(session, order_id) if order_id else None
    if order is None:
        return None
    return {
        "order_id": order.order_id,
        "product": order.product.name,
        "quantity": order.quantity,
        "status": order.status,
        "carrier": order.carrier,
        "tracking_no": order.tracking_no,
        "address": order.address,
        "created_at": iso(order.created_at),
        "events": [
            {"time": iso(event.time), "location": event.location, "description": event.description}
            for event in order.events
        ],
    }


def rasa_api_from_environment() -> RasaAPI:
    return RasaAPI(rasa_api_url(), os.environ.get("RASA_API_TOKEN"))


class DeskInput(InputChannel):
    """Registered as an input channel only to mount the desk on the Rasa server."""

    def __init__(
        self,
        rasa_api: Optional[RasaAPI] = None,
        static_dir: Path = STATIC_DIR,
        report_dir: Optional[Path] = None,
        claim_timeout: Optional[timedelta] = None,
    ) -> None:
        self.rasa_api = rasa_api or rasa_api_from_environment()
        self.static_dir = static_dir
        self.report_dir = report_dir or Path(os.environ.get("REPORT_DIR") or VAR_DIR / "report")
        if not self.report_dir.is_absolute():
            self.report_dir = PROJECT_ROOT / self.report_dir
        self.claim_timeout = claim_timeout or timedelta(minutes=desk_claim_timeout_minutes())
        desk.configured_hours()  # a DESK_HOURS that cannot be read stops the start, with its reason
        self._events_cache: Dict[str, Tuple[float, List[Dict[str, Any]]]] = {}
        self.input_channels: List[Any] = []
        self._untold: List[desk.ReturnedClaim] = []  # back in the queue, Rasa not told yet

    @classmethod
    def name(cls) -> str:
        return "desk"

    def url_prefix(self) -> str:
        return "/agent"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> DeskInput:
        return cls()

    # ---- conversations through the Rasa API --------------------------------------------

    async def events(self, sender: str, fresh: bool = False) -> List[Dict[str, Any]]:
        cached = self._events_cache.get(sender)
        if cached and not fresh and clock.monotonic() - cached[0] < EVENTS_CACHE_SECONDS:
            return cached[1]
        events = await self.rasa_api.events(sender)
        self._events_cache[sender] = (clock.monotonic(), events)
        if len(self._events_cache) > 500:
            self._events_cache.clear()
        return events

    async def tell(
        self,
        ticket_id: int,
        channel: Optional[str],
        sender: str,
        text: str,
        agent: Optional[Staff],
        kind: str,
        events_before: Optional[List[Dict[str, Any]]] = None,
        buttons: Optional[List[Dict[str, str]]] = None,
    ) -> Tuple[bool, Optional[str]]:
        """Put a desk message into the conversation (a bot event carrying the agent's name) and
        send it to the customer. (pushed, channel): not pushed when it waits for their next call
        (REST and voice). RasaAPIError when Rasa did not take the events (nothing appended);
        DeliveryError when the customer's channel did not take the message."""
        metadata = {
            "desk": kind,
            "agent": agent.display_name if agent else None,
            "agent_id": agent.id if agent else None,
        }
        bot_event: Dict[str, Any] = {"event": "bot", "text": text, "metadata": metadata}
        if buttons:
            bot_event["data"] = {"buttons": buttons}
        await self.rasa_api.append(sender, [*(events_before or []), bot_event])
        self._events_cache.pop(sender, None)
        history = await self.events(sender)
        channel = transcript.reachable_channel(history, PUSHED_CHANNELS, channel)
        pushed = False
        if is_pushed(channel):
            latest = transcript.last_customer(history) or {}
            pushed = await deliver(
                self.input_channels,
                channel,
                sender,
                text,
                agent.display_name if agent else None,
                buttons,
                latest.get("metadata"),
            )
        if kind != "reply":  # replies are stored by desk.record_reply
            with session_scope() as session:
                session.add(
                    AgentMessage(
                        ticket_id=ticket_id,
                        sender=sender,
                        channel=channel,
                        agent_id=None,
                        text=text,
                        created_at=now(),
                        delivered_at=now() if pushed else None,
                    )
                )
        return pushed, channel

    # ---- snapshots ------------------------------------------------------------------------

    async def queue(self, me: Staff) -> Dict[str, Any]:
        with session_scope() as session:
            waiting = [(ticket_json(t), t.sender) for t in desk.waiting(session)]
            held = [(ticket_json(t), t.sender) for t in desk.held(session)]
        moment = datetime.now().astimezone()

        async def entry(ticket: Dict[str, Any], sender: str, position: int) -> Dict[str, Any]:
            try:
                events = await self.events(sender)
            except RasaAPIError as error:
                logger.warning("queue: %s", error)
                events = []
            latest = transcript.last_customer(events) or {}
            return {
                "ticket_id": ticket["id"],
                "number": ticket["number"],
                "sender": sender,
                "channel": ticket["channel"],
                "status": "claimed" if ticket["claimed_at"] else "waiting",
                "created_at": ticket["created_at"],
                "wait_seconds": int((moment - datetime.fromisoformat(ticket["created_at"])).total_seconds()),
                "last_message": mask_phones_in(latest.get("text")) or ticket["text"].splitlines()[-1],
                "understood": transcript.understood(events),
                "assignee": ticket["assignee"],
                "position": position,
            }

        waiting_entries = [await entry(t, s, i) for i, (t, s) in enumerate(waiting, 1)]
        held_entries = [await entry(t, s, 0) for t, s in held]
        return {
            "waiting": waiting_entries,
            "mine": [e for e in held_entries if (e["assignee"] or {}).get("id") == me.id],
            "others": [e for e in held_entries if (e["assignee"] or {}).get("id") != me.id],
        }

    async def conversation(self, ticket_id: int, fresh: bool = False) -> Dict[str, Any]:
        with session_scope() as session:
            ticket = desk.get_ticket(session, ticket_id)
            sender = ticket.sender
            data = ticket_json(ticket)
        events = await self.events(sender, fresh) if sender else []
        known = {**transcript.entities(events), **transcript.slots(events)}
        with session_scope() as session:
            ticket = desk.get_ticket(session, ticket_id)
            phone = ticket.phone or known.get("phone_number")
            customer = {
                "channel": ticket.channel,
                "sender": ticket.sender,
                "entities": {k: v for k, v in known.items() if k != "phone_number"},
                "phone_masked": masked(phone),
                "has_phone": bool(phone),
                "order": order_json(session, ticket.order_id or known.get("order_id")),
                "tickets": [ticket_json(t) for t in desk.customer_tickets(session, ticket, phone)],
            }
        # Phone numbers stay masked until an agent reveals one (logged): in what the customer
        # wrote too.
        shown = [{**message, "text": mask_phones_in(message["text"])} for message in transcript.messages(events)]
        return {"ticket": data, "transcript": shown, "customer": customer}

    # ---- background: claims nobody answers go back to the queue ----------------------------

    async def sweep(self) -> None:
        """Claims nobody answered go back to the queue and their customers are told. When Rasa
        cannot be reached, telling them (and resuming the bot) is retried on the next sweep."""
        with session_scope() as session:
            returned = desk.expire_claims(session, now(), self.claim_timeout)
        for claim in returned:
            logger.info("ticket %s: no agent reply for %s, back to the queue", claim.ticket_id, self.claim_timeout)
        for claim in [*self._untold, *returned]:
            try:
                await self.tell(
                    claim.ticket_id,
                    claim.channel,
                    claim.sender,
                    texts.RETURNED.format(name=claim.agent_name, position=claim.position),
                    None,
                    "returned",
                    [{"event": "resume"}],
                )
            except RasaAPIError as error:
                logger.error("ticket %s is back in the queue; telling Rasa failed, retried: %s", claim.ticket_id, error)
                if claim not in self._untold:
                    self._untold.append(claim)
                continue
            except DeliveryError as error:
                logger.error(
                    "ticket %s is back in the queue, but the customer was not told: %s", claim.ticket_id, error
                )
            if claim in self._untold:
                self._untold.remove(claim)

    # ---- the web app ---------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("desk", __name__)
        channel = self

        @bp.listener("after_server_start")
        async def start_sweeper(app: Any, _loop: Any) -> None:
            channel.input_channels = list(getattr(app.ctx, "input_channels", []) or [])

            async def sweeper() -> None:
                while True:
                    await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
                    try:
                        await channel.sweep()
                    except Exception:  # keep sweeping; the next round retries
                        logger.exception("desk sweep failed")

            app.add_task(sweeper())

        def signed_in(request: Request) -> Optional[Dict[str, Any]]:
            with session_scope() as session:
                found = accounts.session_for(session, request.cookies.get(COOKIE), now())
                if found is None:
                    return None
                return {"staff": found.staff, "csrf": found.csrf_token}

        def guard(role: Optional[str] = None) -> Callable:
            def decorate(handler: Callable) -> Callable:
                async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
                    try:
                        who = signed_in(request)
                    except SQLAlchemyError as error:
                        logger.error("desk: database unavailable: %r", error)
                        return json_error(503, DATABASE_DOWN)
                    if who is None:
                        return json_error(401, NOT_SIGNED_IN)
                    if request.method not in ("GET", "HEAD") and not hmac.compare_digest(
                        request.headers.get(CSRF_HEADER, "").encode("utf-8", "replace"), who["csrf"].encode()
                    ):
                        return json_error(403, BAD_CSRF)
                    if role and who["staff"].role != role:
                        return json_error(403, NOT_ALLOWED)
                    try:
                        return await handler(request, who["staff"], *args, **kwargs)
                    except desk.DeskError as error:
                        return json_error(error.status, error.reason)
                    except RasaAPIError as error:
                        logger.error("desk: %s", error)
                        return json_error(502, RASA_DOWN)
                    except SQLAlchemyError as error:
                        logger.error("desk: database unavailable: %r", error)
                        return json_error(503, DATABASE_DOWN)

                wrapped.__name__ = handler.__name__
                return wrapped

            return decorate

        def body(request: Request) -> Dict[str, Any]:
            if len(request.body or b"") > MAX_BODY_BYTES:
                raise desk.DeskError(413, "请求体过大 / body too large")
            try:
                parsed = json.loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise desk.DeskError(400, BAD_BODY) from None
            if not isinstance(parsed, dict):
                raise desk.DeskError(400, BAD_BODY)
            return parsed

        def text_field(request: Request) -> str:
            text = body(request).get("text")
            if not isinstance(text, str):
                raise desk.DeskError(400, "text 必须是字符串 / 'text' must be a string")
            return text

        def page(name: str) -> HTTPResponse:
            html = (channel.static_dir / name).read_text(encoding="utf-8")
            return response.html(html, headers=SECURITY_HEADERS)

        @bp.route("/", methods=["GET"])
        async def app_page(request: Request) -> HTTPResponse:
            if signed_in(request) is None:
                return response.redirect("/agent/login")
            return page("index.html")

        @bp.route("/login", methods=["GET"])
        async def login_page(_: Request) -> HTTPResponse:
            return page("login.html")

        @bp.route("/static/<name>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            path = (channel.static_dir / name).resolve()
            if path.parent != channel.static_dir.resolve() or not path.is_file():
                return json_error(404, "没有这个文件 / not found")
            headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
            return await response.file(path, mime_type=CONTENT_TYPES.get(path.suffix, "text/plain"), headers=headers)

        @bp.route("/api/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            try:
                data = body(request)
            except desk.DeskError as error:
                return json_error(error.status, error.reason)
            username, password = data.get("username"), data.get("password")
            if not isinstance(username, str) or not isinstance(password, str):
                return json_error(400, "需要 username 和 password / username and password are required")

            def sign_in() -> Tuple[str, Optional[Dict[str, Any]], str, str]:
                """(reason, staff, token, csrf); Argon2 is slow on purpose, so off the event loop."""
                with session_scope() as session:
                    result = accounts.authenticate(session, username, password, client_address(request), now())
                    if result.staff is None:
                        return result.reason, None, "", ""
                    token, csrf = accounts.start_session(session, result.staff, now())
                    return "", staff_json(result.staff), token, csrf

            try:
                reason, staff, token, csrf = await asyncio.get_running_loop().run_in_executor(None, sign_in)
            except SQLAlchemyError as error:
                logger.error("desk: database unavailable: %r", error)
                return json_error(503, DATABASE_DOWN)
            if staff is None:
                logger.warning("desk login refused for %r from %s: %s", username[:64], client_address(request), reason)
                return json_error(
                    429 if reason == "throttled" else 401, THROTTLED if reason == "throttled" else WRONG_LOGIN
                )
            answer = response.json({"staff": staff, "csrf": csrf})
            logger.info("desk login: %s", username)
            secure = request.headers.get("X-Forwarded-Proto", request.scheme) == "https"
            answer.cookies[COOKIE] = token
            cookie = answer.cookies[COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["path"] = "/agent"
            cookie["max-age"] = int(accounts.SESSION_MAX.total_seconds())
            if secure:
                cookie["secure"] = True
            return answer

        @bp.route("/api/logout", methods=["POST"])
        @guard()
        async def logout(request: Request, staff: Staff) -> HTTPResponse:
            with session_scope() as session:
                accounts.end_session(session, request.cookies.get(COOKIE))
            answer = response.json({"ok": True})
            answer.cookies[COOKIE] = ""  # replaces the browser's cookie (same path) and ends it
            answer.cookies[COOKIE]["path"] = "/agent"
            answer.cookies[COOKIE]["max-age"] = 0
            return answer

        @bp.route("/api/me", methods=["GET"])
        @guard()
        async def me(request: Request, staff: Staff) -> HTTPResponse:
            who = signed_in(request) or {}
            hours = desk.configured_hours()
            return response.json(
                {
                    "staff": staff_json(staff),
                    "csrf": who.get("csrf"),
                    "service": {"open": hours.covers(desk.local_time()), "hours": hours.label},
                }
            )

        @bp.route("/api/queue", methods=["GET"])
        @guard()
        async def queue(_: Request, staff: Staff) -> HTTPResponse:
            return response.json(await channel.queue(staff))

        async def stream(request: Request, name: str, snapshot: Callable[[], Awaitable[Dict[str, Any]]]) -> None:
            out = await request.respond(
                content_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
            )
            started = last_sent = clock.monotonic()
            last_digest = ""
            token = request.cookies.get(COOKIE)
            while clock.monotonic() - started < STREAM_MAX_SECONDS:
                with session_scope() as session:  # also keeps the session (and presence) alive
                    if accounts.session_for(session, token, now()) is None:
                        break
                try:
                    data = json.dumps(await snapshot(), ensure_ascii=False)
                except RasaAPIError as error:
                    logger.warning("desk stream: %s", error)
                    data = ""
                digest = hashlib.sha256(data.encode()).hexdigest()
                if data and digest != last_digest:
                    await out.send(f"event: {name}\ndata: {data}\n\n")
                    last_digest, last_sent = digest, clock.monotonic()
                elif clock.monotonic() - last_sent > STREAM_HEARTBEAT_SECONDS:
                    await out.send(": keep-alive\n\n")
                    last_sent = clock.monotonic()
                if getattr(request.transport, "is_closing", lambda: False)():
                    break
                await asyncio.sleep(STREAM_INTERVAL_SECONDS)
            with contextlib.suppress(Exception):
                await out.eof()

        @bp.route("/api/stream", methods=["GET"])
        @guard()
        async def queue_stream(request: Request, staff: Staff) -> None:
            await stream(request, "queue", lambda: channel.queue(staff))

        @bp.route("/api/conversations/<ticket_id:int>", methods=["GET"])
        @guard()
        async def conversation(_: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            return response.json(await channel.conversation(ticket_id, fresh=True))

        @bp.route("/api/conversations/<ticket_id:int>/stream", methods=["GET"])
        @guard()
        async def conversation_stream(request: Request, staff: Staff, ticket_id: int) -> None:
            await channel.conversation(ticket_id)  # 404 before the stream opens
            await stream(request, "conversation", lambda: channel.conversation(ticket_id))

        @bp.route("/api/conversations/<ticket_id:int>/claim", methods=["POST"])
        @guard()
        async def claim(_: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            with session_scope() as session:
                ticket = desk.claim(session, desk.get_ticket(session, ticket_id), session.merge(staff), now())
                channel_name, sender, data = ticket.channel, ticket.sender, ticket_json(ticket)
            logger.info("ticket %s claimed by %s", ticket_id, staff.username)
            try:
                await channel.tell(
                    ticket_id,
                    channel_name,
                    sender,
                    texts.JOINED.format(name=staff.display_name),
                    staff,
                    "joined",
                    [{"event": "pause"}],
                )
            except (RasaAPIError, DeliveryError):
                # Not taken over after all: the bot answers again and the conversation waits.
                with contextlib.suppress(RasaAPIError):
                    await channel.rasa_api.append(sender, [{"event": "resume"}])
                with session_scope() as session:
                    desk.release(session, desk.get_ticket(session, ticket_id), now())
                raise
            return response.json({"ticket": data})

        @bp.route("/api/conversations/<ticket_id:int>/reply", methods=["POST"])
        @guard()
        async def reply(request: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            text = text_field(request)
            # Stored first, so that a claim timing out meanwhile cannot lose it.
            with session_scope() as session:
                ticket = desk.get_ticket(session, ticket_id)
                message = desk.record_reply(session, ticket, session.merge(staff), text, now(), delivered=False)
                message_id, text, channel_name, sender = message.id, message.text, ticket.channel, ticket.sender
                answer = {"id": message.id, "who": "agent", "text": text, "time": iso(message.created_at)}
            failed = False
            try:
                pushed, reached = await channel.tell(ticket_id, channel_name, sender, text, staff, "reply")
            except RasaAPIError:
                with session_scope() as session:
                    session.execute(delete(AgentMessage).where(AgentMessage.id == message_id))
                raise
            except DeliveryError as error:
                logger.error("ticket %s: %s", ticket_id, error)
                pushed, reached, failed = False, error.channel, True
            with session_scope() as session:
                stored = session.get(AgentMessage, message_id)
                stored.channel = reached  # REST and voice collect only what is theirs
                stored.delivered_at = now() if pushed else None
            if failed:
                return json_error(
                    502, "消息已记录，但没能送达客户 / stored, but the customer's channel did not take it"
                )
            return response.json({"message": {**answer, "agent": staff.display_name, "delivered": pushed}})

        async def finish(staff: Staff, ticket_id: int, closing: bool) -> HTTPResponse:
            with session_scope() as session:
                ticket = desk.get_ticket(session, ticket_id)
                desk.require_holder(ticket, session.merge(staff))
                channel_name, sender = ticket.channel, ticket.sender
            name = staff.display_name
            if closing:
                text, buttons = texts.CLOSED.format(name=name), texts.rating_buttons()
            else:
                text, buttons = texts.HANDED_BACK.format(name=name), None
            # Rasa first: if it cannot resume the bot, the agent still holds the conversation.
            try:
                await channel.tell(
                    ticket_id,
                    channel_name,
                    sender,
                    text,
                    staff,
                    "closed" if closing else "handed_back",
                    [{"event": "resume"}],
                    buttons,
                )
            except DeliveryError as error:
                logger.error("ticket %s: %s", ticket_id, error)
            with session_scope() as session:
                ticket = desk.get_ticket(session, ticket_id)
                (desk.close if closing else desk.hand_back)(session, ticket, session.merge(staff), now())
                data = ticket_json(ticket)
            logger.info("ticket %s %s by %s", ticket_id, "closed" if closing else "handed back", staff.username)
            return response.json({"ticket": data})

        @bp.route("/api/conversations/<ticket_id:int>/handback", methods=["POST"])
        @guard()
        async def handback(_: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            return await finish(staff, ticket_id, closing=False)

        @bp.route("/api/conversations/<ticket_id:int>/close", methods=["POST"])
        @guard()
        async def close(_: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            return await finish(staff, ticket_id, closing=True)

        @bp.route("/api/conversations/<ticket_id:int>/reveal-phone", methods=["POST"])
        @guard()
        async def reveal_phone(_: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            with session_scope() as session:
                ticket = desk.get_ticket(session, ticket_id)
                sender, phone = ticket.sender, ticket.phone
            if not phone and sender:  # the number the panel shows masked: slot or NLU entity
                events = await channel.events(sender, fresh=True)
                phone = {**transcript.entities(events), **transcript.slots(events)}.get("phone_number")
            with session_scope() as session:
                ticket = desk.get_ticket(session, ticket_id)
                revealed = desk.reveal_phone(session, ticket, session.merge(staff), now(), phone)
            logger.info("ticket %s: phone number shown to %s", ticket_id, staff.username)
            return response.json({"phone": revealed})

        def day(value: Optional[str]) -> Optional[date]:
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise desk.DeskError(400, f"日期格式应为 YYYY-MM-DD / bad date {value!r}") from None

        @bp.route("/api/tickets", methods=["GET"])
        @guard()
        async def tickets(request: Request, staff: Staff) -> HTTPResponse:
            args = request.args
            with session_scope() as session:
                found = desk.list_tickets(
                    session,
                    kind=args.get("kind") or None,
                    status=args.get("status") or None,
                    product=args.get("product") or None,
                    since=day(args.get("since")),
                    until=day(args.get("until")),
                )
                return response.json({"tickets": [ticket_json(t) for t in found]})

        def ticket_detail(session: Any, ticket: Ticket) -> Dict[str, Any]:
            def actor(change: TicketChange) -> str:
                return change.actor.display_name if change.actor else "系统"

            def note(n: TicketNote) -> Dict[str, Any]:
                return {"author": n.author.display_name, "text": n.text, "time": iso(n.created_at)}

            return {
                "ticket": ticket_json(ticket),
                "notes": [note(n) for n in desk.notes(session, ticket)],
                "history": [
                    {"actor": actor(c), "field": c.field, "old": c.old, "new": c.new, "time": iso(c.at)}
                    for c in desk.history(session, ticket)
                ],
            }

        @bp.route("/api/tickets/<ticket_id:int>", methods=["GET", "POST"])
        @guard()
        async def ticket(request: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            with session_scope() as session:
                found = desk.get_ticket(session, ticket_id)
                if request.method == "POST":
                    data = body(request)
                    status = data.get("status")
                    if status is not None and not isinstance(status, str):
                        raise desk.DeskError(400, "status 必须是字符串 / 'status' must be a string")
                    assignee_id = data.get("assignee_id")
                    if assignee_id is not None and (not isinstance(assignee_id, int) or isinstance(assignee_id, bool)):
                        raise desk.DeskError(400, "assignee_id 必须是整数 / 'assignee_id' must be an integer")
                    desk.update_ticket(
                        session,
                        found,
                        session.merge(staff),
                        now(),
                        status=status,
                        assign="assignee_id" in data,
                        assignee_id=assignee_id,
                    )
                    session.flush()
                return response.json(ticket_detail(session, found))

        @bp.route("/api/tickets/<ticket_id:int>/notes", methods=["POST"])
        @guard()
        async def add_note(request: Request, staff: Staff, ticket_id: int) -> HTTPResponse:
            text = text_field(request)
            with session_scope() as session:
                note = desk.add_note(session, desk.get_ticket(session, ticket_id), session.merge(staff), text, now())
                return response.json(
                    {"note": {"author": staff.display_name, "text": note.text, "time": iso(note.created_at)}}
                )

        @bp.route("/api/staff", methods=["GET"])
        @guard()
        async def staff_list(_: Request, staff: Staff) -> HTTPResponse:
            with session_scope() as session:
                return response.json({"staff": [staff_json(s) for s in desk.staff_list(session)]})

        @bp.route("/api/stats", methods=["GET"])
        @guard(role="lead")
        async def stats(_: Request, staff: Staff) -> HTTPResponse:
            with session_scope() as session:
                return response.json(desk.stats(session))

        @bp.route("/report/", methods=["GET"])
        @bp.route("/report/<relative:path>", methods=["GET"])
        @guard(role="lead")
        async def report(_: Request, staff: Staff, relative: str = "index.html") -> HTTPResponse:
            root = channel.report_dir.resolve()
            path = (root / relative).resolve()
            if root not in path.parents or not path.is_file():
                return json_error(404, "还没有洞察报告：运行 make report / no report yet: run `make report`")
            return await response.file(path, headers={"Cache-Control": "no-store"})

        return bp
