"""Staff accounts: hashed passwords, sessions that expire, throttled logins, the first lead."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from zhiyin import staff as accounts
from zhiyin.db import Staff, StaffSession

T0 = datetime(2026, 11, 28, 10, 0)
PASSWORD = "correct horse 42"


@pytest.fixture
def wang(session):
    return accounts.add_staff(session, "wang", "小王", PASSWORD)


def test_passwords_are_stored_as_argon2_hashes(session, wang):
    assert wang.password_hash.startswith("$argon2id$") and PASSWORD not in wang.password_hash
    assert accounts.authenticate(session, "wang", PASSWORD, "10.0.0.1", T0).staff is wang


@pytest.mark.parametrize(
    "username, name, password, role",
    [
        ("", "小王", PASSWORD, "agent"),
        ("li", "", PASSWORD, "agent"),
        ("li", "小李", "short", "agent"),
        ("li", "小李", PASSWORD, "boss"),
    ],
)
def test_invalid_accounts_are_refused(session, username, name, password, role):
    with pytest.raises(accounts.StaffError):
        accounts.add_staff(session, username, name, password, role)


def test_a_username_is_taken_once(session, wang):
    with pytest.raises(accounts.StaffError, match="taken"):
        accounts.add_staff(session, "wang", "另一个小王", PASSWORD)


@pytest.mark.parametrize("username, password", [("wang", "wrong password"), ("nobody", PASSWORD), ("wang", "")])
def test_wrong_credentials_open_nothing(session, wang, username, password):
    result = accounts.authenticate(session, username, password, "10.0.0.1", T0)
    assert result.staff is None and result.reason == "wrong"


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(session, wang):
    token, _ = accounts.start_session(session, wang, T0)
    accounts.disable(session, "wang")
    assert accounts.session_for(session, token, T0) is None
    assert accounts.authenticate(session, "wang", PASSWORD, "10.0.0.1", T0).staff is None


def test_failed_logins_throttle_the_username_even_with_the_right_password(session, wang):
    for minute in range(accounts.MAX_FAILURES_PER_USERNAME):
        accounts.authenticate(session, "wang", "guess", f"10.0.0.{minute}", T0 + timedelta(minutes=minute))
    later = T0 + timedelta(minutes=accounts.MAX_FAILURES_PER_USERNAME)
    assert accounts.authenticate(session, "wang", PASSWORD, "10.0.9.9", later).reason == "throttled"
    # After the window the account opens again, and a success clears the count.
    after_window = T0 + accounts.FAILURE_WINDOW + timedelta(minutes=accounts.MAX_FAILURES_PER_USERNAME)
    assert accounts.authenticate(session, "wang", PASSWORD, "10.0.9.9", after_window).staff is wang


def test_failed_logins_throttle_the_address_across_usernames(session, wang):
    for attempt in range(accounts.MAX_FAILURES_PER_ADDRESS):
        accounts.authenticate(session, f"user{attempt}", "guess", "10.6.6.6", T0)
    assert accounts.authenticate(session, "wang", PASSWORD, "10.6.6.6", T0).reason == "throttled"
    assert accounts.authenticate(session, "wang", PASSWORD, "10.0.0.1", T0).staff is wang


def test_the_database_keeps_only_a_hash_of_the_session_token(session, wang):
    token, csrf = accounts.start_session(session, wang, T0)
    stored = session.scalars(select(StaffSession)).one()
    assert token not in stored.token_hash and len(stored.token_hash) == 64 and stored.csrf_token == csrf
    assert accounts.session_for(session, token, T0 + timedelta(minutes=1)).staff is wang
    assert accounts.session_for(session, token + "x", T0) is None
    assert accounts.session_for(session, None, T0) is None


def test_sessions_expire_when_idle_and_at_the_latest_after_the_maximum(session, wang):
    token, _ = accounts.start_session(session, wang, T0)
    assert accounts.session_for(session, token, T0 + accounts.SESSION_IDLE + timedelta(seconds=1)) is None

    token, _ = accounts.start_session(session, wang, T0)
    moment = T0
    while moment + accounts.SESSION_IDLE / 2 < T0 + accounts.SESSION_MAX:  # used all day long
        moment += accounts.SESSION_IDLE / 2
        assert accounts.session_for(session, token, moment) is not None
    assert accounts.session_for(session, token, T0 + accounts.SESSION_MAX + timedelta(seconds=1)) is None


def test_logout_ends_the_session(session, wang):
    token, _ = accounts.start_session(session, wang, T0)
    accounts.end_session(session, token)
    assert accounts.session_for(session, token, T0) is None


def test_a_new_password_ends_every_session(session, wang):
    token, _ = accounts.start_session(session, wang, T0)
    accounts.set_password(session, "wang", "another password")
    assert accounts.session_for(session, token, T0) is None
    assert accounts.authenticate(session, "wang", "another password", "10.0.0.1", T0).staff is wang


def test_online_counts_people_whose_desk_is_open(session, wang):
    li = accounts.add_staff(session, "li", "小李", PASSWORD)
    accounts.start_session(session, wang, T0)
    accounts.start_session(session, wang, T0)  # two tabs, one person
    accounts.start_session(session, li, T0 - timedelta(minutes=10))
    assert accounts.online_count(session, T0 + timedelta(seconds=30), timedelta(minutes=2)) == 1


def test_the_first_lead_is_created_once_on_a_fresh_install(session):
    username, password = accounts.ensure_first_lead(session)
    lead = session.scalars(select(Staff)).one()
    assert (lead.username, lead.role) == (username, "lead")
    assert accounts.authenticate(session, username, password, "127.0.0.1", T0).staff is lead
    assert accounts.ensure_first_lead(session) is None


def test_cli_adds_lists_and_disables(database, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert accounts.main(["add", "zhao", "--name", "小赵", "--role", "lead", "--password-stdin"]) == 0
    assert accounts.main(["list"]) == 0
    assert "zhao\t小赵\tlead" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert accounts.main(["add", "qian", "--name", "小钱", "--password-stdin"]) == 2
    assert accounts.main(["disable", "zhao"]) == 0
    accounts.main(["list"])
    assert "(disabled)" in capsys.readouterr().out
