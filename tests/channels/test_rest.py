import json
from types import SimpleNamespace

import pytest

from channels.rest import MAX_MESSAGE_CHARS, request_problem


def problem(raw):
    body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    return request_problem(SimpleNamespace(body=body))


@pytest.mark.parametrize(
    "raw",
    [
        {"sender": "u1", "message": "你好"},
        {"sender": 42, "message": ""},
        {"sender": "u1", "message": "好" * MAX_MESSAGE_CHARS, "metadata": {"a": 1}},
    ],
)
def test_valid_requests_pass(raw):
    assert problem(raw) is None


@pytest.mark.parametrize(
    "raw, status, word",
    [
        (b"{not json", 400, "JSON"),
        (b"\xff\xfe", 400, "JSON"),
        (b"", 400, "JSON"),
        ([1, 2], 400, "JSON"),
        ({"message": "你好"}, 400, "sender"),
        ({"sender": "  ", "message": "你好"}, 400, "sender"),
        ({"sender": True, "message": "你好"}, 400, "sender"),
        ({"sender": "x" * 129, "message": "你好"}, 400, "sender"),
        ({"sender": "u1"}, 400, "message"),
        ({"sender": "u1", "message": ["你好"]}, 400, "message"),
        ({"sender": "u1", "message": "好" * (MAX_MESSAGE_CHARS + 1)}, 413, "message"),
    ],
)
def test_bad_requests_are_named(raw, status, word):
    got_status, reason = problem(raw)
    assert got_status == status and word in reason
