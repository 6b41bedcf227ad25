"""The security suite against the real servers: order numbers cannot be guessed, and a
customer's phone number is in no database file, no log line and, after `privacy forget`,
nowhere at all."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import jwt
import pytest
from sqlalchemy import select

from tests.smoke.stack import CUSTOMER_TOKEN_SECRET, post
from zhiyin import db
from zhiyin.db import Ticket
from zhiyin.paths import PROJECT_ROOT

pytestmark = pytest.mark.servers

REAL_ORDER = "202611059353"
MADE_UP_ORDER = "202611059999"
TEST_PHONE = "13766668888"


def order_tail(engine, order_id: str) -> str:
    with db.session_scope(engine) as session:
        return session.get(db.Order, order_id).phone[-4:]


def test_a_real_and_a_made_up_order_number_get_the_same_replies(stack):
    real = [stack.texts("guess-real", "订单" + REAL_ORDER + "到哪了"), stack.texts("guess-real", "1111")]
    made_up = [stack.texts("guess-fake", "订单" + MADE_UP_ORDER + "到哪了"), stack.texts("guess-fake", "1111")]
    assert real == made_up
    assert "手机号的后四位" in real[0] and "订单号或手机号不匹配" in real[1]
    assert REAL_ORDER not in "".join(real)


def test_the_try_after_the_limit_is_refused_even_when_right(stack, engine):
    sender = "guess-many"
    limit = int(stack.env.get("VERIFY_MAX_FAILURES") or 5)
    for attempt in range(limit):
        assert "手机号的后四位" in stack.texts(sender, f"查订单20261106{attempt:04d}")
        assert "订单号或手机号不匹配" in stack.texts(sender, "0000")
    assert "手机号的后四位" in stack.texts(sender, "查订单" + REAL_ORDER)
    refused = stack.texts(sender, order_tail(engine, REAL_ORDER))
    assert "验证失败次数过多" in refused and REAL_ORDER not in refused
    # The customer who owns the order, in their own conversation, still gets it.
    assert "手机号的后四位" in stack.texts("owner", "查订单" + REAL_ORDER)
    assert f"订单 {REAL_ORDER}" in stack.texts("owner", order_tail(engine, REAL_ORDER))


def test_a_signed_in_customer_is_not_asked_to_prove_their_own_order(stack, engine):
    """The shop's site signs a token for its signed-in customer; the chat passes it along."""
    with db.session_scope(engine) as session:
        phone = session.get(db.Order, REAL_ORDER).phone
    claims = {"sub": "shop-customer-7", "phone": phone, "exp": int(time.time()) + 600}
    token = jwt.encode(claims, CUSTOMER_TOKEN_SECRET, algorithm="HS256")
    body = json.dumps(
        {"sender": "signed-in", "message": f"订单{REAL_ORDER}到哪了", "metadata": {"customer_token": token}}
    )
    status, replies = post(f"{stack.base}/webhooks/rest/webhook", body.encode())
    assert status == 200 and f"订单 {REAL_ORDER}" in replies[0]["text"]
    forged = jwt.encode(claims, "not-the-shop-secret-0123456789abcdef", algorithm="HS256")
    body = json.dumps(
        {"sender": "forger", "message": f"订单{REAL_ORDER}到哪了", "metadata": {"customer_token": forged}}
    )
    status, replies = post(f"{stack.base}/webhooks/rest/webhook", body.encode())
    assert status == 200 and "手机号的后四位" in replies[0]["text"]


def database_files(stack) -> List[Path]:
    """Every file of the stack's SQLite databases (with their journals, if any)."""
    business = Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))
    tracker = Path(stack.env["TRACKER_DB"])
    return [p for base in (business, tracker) for p in base.parent.glob(base.name + "*")]


def file_a_complaint(stack, sender: str) -> None:
    stack.texts(sender, "我要投诉")
    stack.texts(sender, "没有")
    reply = stack.texts(sender, f"快递员态度很差，可以打我电话{TEST_PHONE}")
    if "确认提交吗" not in reply:  # the number in the description may have answered already
        reply = stack.texts(sender, TEST_PHONE)
    assert "确认提交吗" in reply
    assert "投诉已提交" in stack.texts(sender, "确认")


def test_a_phone_number_is_in_no_database_file_and_no_log(stack, engine):
    file_a_complaint(stack, "pii-complaint")
    with db.session_scope(engine) as session:  # the application reads it back
        [ticket] = session.scalars(select(Ticket).where(Ticket.sender == "pii-complaint")).all()
        assert ticket.phone == TEST_PHONE and TEST_PHONE in ticket.text
    assert any(TEST_PHONE in str(e) for e in stack.tracker("pii-complaint")["events"])  # Rasa does too
    files = database_files(stack)
    assert len(files) >= 2
    for path in files:
        raw = path.read_bytes()
        assert TEST_PHONE.encode() not in raw, path
        assert "快递员态度很差".encode() not in raw, path
    for log in stack.log_dir.glob("*.log"):
        assert TEST_PHONE not in log.read_text(encoding="utf-8", errors="replace"), log


def test_forget_leaves_nothing_of_the_customer(stack, engine):
    file_a_complaint(stack, "pii-forget")
    stack.texts("pii-forget-other", "我要投诉")  # another customer, untouched
    result = subprocess.run(
        [sys.executable, "-m", "zhiyin", "privacy", "forget", "--phone", TEST_PHONE, "--operator", "smoke"],
        cwd=PROJECT_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for sender in ("pii-forget", "pii-complaint"):
        events = stack.tracker(sender)["events"]
        assert not any(TEST_PHONE in str(e) for e in events), sender
    assert stack.tracker("pii-forget-other")["events"]
    with db.session_scope(engine) as session:
        tickets = session.scalars(select(Ticket)).all()
        assert all(TEST_PHONE not in (t.phone or "") + t.text for t in tickets)
        audit = session.scalars(select(db.PrivacyAudit).where(db.PrivacyAudit.action == "forget")).all()
        assert audit and all(TEST_PHONE not in str(a.detail) + str(a.subject) for a in audit)


def files_written_since(roots: List[Path], since: float) -> List[Path]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            try:
                if path.is_file() and path.stat().st_mtime >= since and path.stat().st_size < 50_000_000:
                    found.append(path)
            except OSError:  # a file another process removed meanwhile
                continue
    return found


def test_no_audio_is_kept_after_recognition(stack):
    import tempfile
    import time

    from tests.asr_channel.audio_helpers import speech
    from tests.smoke.test_servers import post_voice

    audio = speech("complaint_1")
    sample = audio[len(audio) // 2 : len(audio) // 2 + 256]  # a stretch of the recording itself
    since = time.time() - 1
    status, answer = post_voice(stack, audio, "voice-not-kept")
    assert status == 200 and answer["transcript"]
    roots = [stack.log_dir.parent, PROJECT_ROOT / "var", Path(tempfile.gettempdir())]
    test_audio = PROJECT_ROOT / "var" / "speech"  # where the test's own recordings come from
    for path in files_written_since(roots, since):
        if test_audio in path.parents:
            continue
        try:
            assert sample not in path.read_bytes(), path
        except OSError:
            continue
