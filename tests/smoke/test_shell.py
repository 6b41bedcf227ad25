"""`rasa shell`, driven through a pseudo-terminal like an operator typing, files a complaint.

The shell runs its own Rasa server on a free port against the stack's action server and
database; the confirmation's buttons are answered with Enter (the first choice, 确认).
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select as sql_select

from tests.smoke.stack import MODEL
from zhiyin import db
from zhiyin.db import Ticket
from zhiyin.paths import PROJECT_ROOT
from zhiyin.serve import free_port

pytestmark = pytest.mark.servers

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    def __init__(self, command, env) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, cwd=PROJECT_ROOT, env=env, start_new_session=True
        )
        os.close(slave)
        self.screen = ""  # everything shown so far, without colour codes
        self.cursor = 0  # where the next expect() starts looking

    def expect(self, pattern: str, timeout: float = 120) -> str:
        """Read until `pattern` appears after everything already matched; return what was read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.screen, self.cursor)
            if found:
                seen, self.cursor = self.screen[self.cursor : found.end()], found.end()
                return seen
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
                self.screen += ANSI.sub("", chunk)
        raise AssertionError(f"{pattern!r} not seen; terminal shows:\n{self.screen[-3000:]}")

    def type(self, text: str) -> None:
        os.write(self.master, (text + "\r").encode())

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        os.close(self.master)


def test_complaint_in_rasa_shell(stack, engine, tmp_path):
    conversation = f"shell-{uuid.uuid4().hex[:8]}"
    env = {
        **stack.env,
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{stack.action_port}/webhook",
        "TRACKER_DB": str(tmp_path / "shell-tracker.db"),
        "TERM": "xterm",
    }
    command = [
        sys.executable,
        "-m",
        "zhiyin.rasa_cli",
        "shell",
        "--model",
        str(MODEL),
        "--endpoints",
        "endpoints.yml",
        "--port",
        str(free_port()),
        "--conversation-id",
        conversation,
    ]
    terminal = Terminal(command, env)
    try:
        terminal.expect(r"Your input ->", timeout=240)
        terminal.type("我要投诉")
        terminal.expect(r"订单号")
        terminal.expect(r"Your input ->")
        terminal.type("没有")
        terminal.expect(r"描述")
        terminal.expect(r"Your input ->")
        terminal.type("客服电话一直打不通")
        terminal.expect(r"手机号")
        terminal.expect(r"Your input ->")
        terminal.type("13700001111")
        terminal.expect(r"确认提交吗")
        terminal.expect(r"确认")
        time.sleep(1)
        os.write(terminal.master, b"\r")  # the first button: 确认
        done = terminal.expect(r"ZY\d+")
        terminal.expect(r"Your input ->")
        terminal.type("/stop")
        assert terminal.process.wait(60) == 0
    finally:
        terminal.close()
    with db.session_scope(engine) as session:
        [ticket] = session.scalars(sql_select(Ticket).where(Ticket.sender == conversation)).all()
        assert (ticket.kind, ticket.channel, ticket.text, ticket.phone) == (
            "complaint",
            "cmdline",
            "客服电话一直打不通",
            "13700001111",
        )
        assert ticket.number in terminal.screen
    assert done
