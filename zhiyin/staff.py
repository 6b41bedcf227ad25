"""Support-team accounts: who may use the desk (/agent/), their passwords and their sessions.

Passwords are hashed with Argon2id (argon2-cffi). A session is a random token in an HttpOnly
cookie; the database keeps only its SHA-256, so a copied database opens no session. Sessions
end after SESSION_IDLE without use and SESSION_MAX after login. Failed logins are counted per
username and per client address: past the limit, logins are refused for a while, whatever
the password.

    python -m zhiyin.staff add wang --name 小王 [--role lead]   # asks for the password
    python -m zhiyin.staff list
    python -m zhiyin.staff passwd wang
    python -m zhiyin.staff disable wang
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zhiyin.db import LoginFailure, Staff, StaffSession, session_scope

ROLES = ("agent", "lead")
MIN_PASSWORD_CHARS = 8
SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20
FIRST_LEAD_USERNAME = "admin"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash("zhiyin-no-such-account")
TOUCH_EVERY = timedelta(seconds=30)  # how often a session in use records that it is


class StaffError(ValueError):
    """An account that cannot be created or changed as asked."""


@dataclass(frozen=True)
class LoginResult:
    staff: Optional[Staff]
    reason: str = ""  # "wrong" (unknown user, wrong password, disabled) or "throttled"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")


def add_staff(session: Session, username: str, display_name: str, password: str, role: str = "agent") -> Staff:
    username = (username or "").strip()
    if not username or not (display_name or "").strip():
        raise StaffError("a username and a display name are required")
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}; expected one of {ROLES}")
    _check_password(password)
    if session.scalars(select(Staff).where(Staff.username == username)).first() is not None:
        raise StaffError(f"username {username!r} is taken")
    staff = Staff(username=username, display_name=display_name.strip(), role=role, password_hash=_hasher.hash(password))
    session.add(staff)
    session.flush()
    return staff


def find_staff(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise StaffError(f"no staff account {username!r}")
    return staff


def set_password(session: Session, username: str, password: str) -> None:
    """A new password; every open session of the account ends."""
    _check_password(password)
    staff = find_staff(session, username)
    staff.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))


def disable(session: Session, username: str) -> None:
    staff = find_staff(session, username)
    staff.active = False
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))


def _recent_failures(session: Session, column: object, value: str, now: datetime) -> int:
    query = (
        select(func.count()).select_from(LoginFailure).where(column == value, LoginFailure.at > now - FAILURE_WINDOW)
    )
    return int(session.scalar(query) or 0)


def authenticate(session: Session, username: str, password: str, address: str, now: datetime) -> LoginResult:
    """The account these credentials open, or why not. Counts failures; refuses while throttled."""
    username = (username or "").strip()[:64]
    address = (address or "unknown")[:64]
    if (
        _recent_failures(session, LoginFailure.username, username, now) >= MAX_FAILURES_PER_USERNAME
        or _recent_failures(session, LoginFailure.address, address, now) >= MAX_FAILURES_PER_ADDRESS
    ):
        return LoginResult(None, "throttled")
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    try:
        hashed = staff.password_hash if staff is not None else _DUMMY_HASH
        valid = _hasher.verify(hashed, password or "") and staff is not None and staff.active
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid or staff is None:
        session.add(LoginFailure(username=username, address=address, at=now))
        return LoginResult(None, "wrong")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return LoginResult(staff)


def start_session(session: Session, staff: Staff, now: datetime) -> Tuple[str, str]:
    """(session token for the cookie, CSRF token for the page)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    # Housekeeping: ended sessions and failures too old to count are not kept.
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - FAILURE_WINDOW))
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=staff.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_IDLE,
        )
    )
    session.flush()
    return token, csrf


def session_for(session: Session, token: Optional[str], now: datetime) -> Optional[StaffSession]:
    """The live session a cookie token names, its idle timer restarted; None if none or expired."""
    if not token:
        return None
    found = session.scalars(select(StaffSession).where(StaffSession.token_hash == _token_hash(token))).first()
    if found is None or found.expires_at <= now or not found.staff.active:
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:  # not a write on every request
        found.last_seen_at = now
        found.expires_at = min(found.created_at + SESSION_MAX, now + SESSION_IDLE)
    return found


def end_session(session: Session, token: Optional[str]) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def online_count(session: Session, now: datetime, within: timedelta) -> int:
    """How many people have a live session that was used in the last `within` (the desk page
    keeps its session in use while it is open)."""
    query = (
        select(func.count(func.distinct(StaffSession.staff_id)))
        .where(StaffSession.expires_at > now, StaffSession.last_seen_at > now - within)
        .select_from(StaffSession)
    )
    return int(session.scalar(query) or 0)


def ensure_first_lead(session: Session) -> Optional[Tuple[str, str]]:
    """On a fresh install (no account yet): a lead account with a random password, returned
    once as (username, password) to be shown to the operator; None when accounts exist."""
    if session.scalar(select(func.count()).select_from(Staff)):
        return None
    password = secrets.token_urlsafe(12)
    add_staff(session, FIRST_LEAD_USERNAME, "组长", password, role="lead")
    return FIRST_LEAD_USERNAME, password


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise StaffError("the passwords differ")
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zhiyin.staff", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name customers see, e.g. 小王")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    commands.add_parser("list", help="list the accounts")
    passwd = commands.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    off = commands.add_parser("disable", help="disable an account (ends its sessions)")
    off.add_argument("username")
    args = parser.parse_args(argv)

    from zhiyin.migrate import upgrade

    upgrade()
    try:
        with session_scope() as session:
            if args.command == "add":
                staff = add_staff(session, args.username, args.name, _read_password(args.password_stdin), args.role)
                print(f"added {staff.role} {staff.username} ({staff.display_name})")
            elif args.command == "passwd":
                set_password(session, args.username, _read_password(args.password_stdin))
                print(f"password of {args.username} changed")
            elif args.command == "disable":
                disable(session, args.username)
                print(f"{args.username} disabled")
            else:
                for staff in session.scalars(select(Staff).order_by(Staff.id)):
                    state = "" if staff.active else " (disabled)"
                    print(f"{staff.username}\t{staff.display_name}\t{staff.role}{state}")
    except StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
