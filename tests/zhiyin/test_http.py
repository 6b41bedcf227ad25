"""HTTP helpers: the error format and sender rule the channels share, retry memory, the client."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from tests.fakes.http import one_route_server
from zhiyin.http import (
    MAX_SENDER_CHARS,
    SENDER_MISSING,
    SENDER_TOO_LONG,
    Deliveries,
    http_post,
    json_error,
    sender_problem,
)


def test_json_error_carries_status_reason_and_headers():
    answer = json_error(503, "忙 / busy", **{"Retry-After": "5"})
    assert answer.status == 503 and answer.headers["Retry-After"] == "5"
    assert json.loads(answer.body) == {"error": "忙 / busy", "status": 503}


@pytest.mark.parametrize(
    "sender, problem",
    [
        ("customer-1", None),
        (42, None),
        ("", SENDER_MISSING),
        ("   ", SENDER_MISSING),
        (None, SENDER_MISSING),
        (True, SENDER_MISSING),
        (["a"], SENDER_MISSING),
        ("x" * MAX_SENDER_CHARS, None),
        ("x" * (MAX_SENDER_CHARS + 1), SENDER_TOO_LONG),
    ],
)
def test_sender_rule(sender, problem):
    assert sender_problem(sender) == problem


def test_remembers_handled_deliveries_up_to_a_bound():
    deliveries = Deliveries("telegram", size=2)
    assert deliveries.first_time(10) and not deliveries.first_time(10) and deliveries.first_time(11)
    assert deliveries.first_time(None) and deliveries.first_time(None)  # no id: cannot be a known retry
    assert deliveries.first_time(12) and deliveries.first_time(10)  # 10 was forgotten when 12 came


async def post_to(handler, body: bytes = b'{"q": 1}'):
    async with one_route_server(handler) as url:
        return await asyncio.to_thread(http_post, url, body, {"Content-Type": "application/json"}, 10)


def test_http_post_parses_a_json_answer():
    async def echo(request):
        return web.json_response({"got": await request.json()}, headers={"X-Seen": "yes"})

    reply = asyncio.run(post_to(echo))
    assert (reply.status, reply.body, reply.headers["X-Seen"]) == (200, {"got": {"q": 1}}, "yes")


def test_http_post_returns_error_statuses_and_plain_text_as_replies():
    async def refuse(_request):
        return web.Response(status=413, text="too large")

    reply = asyncio.run(post_to(refuse))
    assert (reply.status, reply.body) == (413, "too large")
