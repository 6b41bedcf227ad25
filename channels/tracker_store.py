"""Rasa's SQL tracker store with every event encrypted at rest.

Conversations hold what customers typed and said: phone numbers, addresses, names. This store
writes each event's `data` (the JSON that carries texts, slots and entities) as a token of
zhiyin.crypto and decrypts it when Rasa reads the conversation back, so the Rasa server, the
desk (through the Rasa API) and insight (zhiyin.tracker_events) see plain events while the
database file holds none. Rows written before encryption was switched on still read, and
`python -m zhiyin privacy rotate-key` encrypts them. Sender ids, event types, timestamps and
intent/action names stay plain: they carry no personal data and Rasa queries by them.

endpoints.yml: ``tracker_store: type: channels.tracker_store.EncryptedSQLTrackerStore`` with
the SQLTrackerStore settings (dialect, db, url, username, password…). The encryption hooks into
Rasa's event table class, so from the first instance on every SQL tracker store in the process
encrypts: there is no way to write a plain event next to an encrypted one by mistake.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import event
from sqlalchemy.orm.attributes import set_committed_value

from zhiyin import crypto

SQLEvent = SQLTrackerStore.SQLEvent


def _encrypt_before_insert(_mapper: Any, _connection: Any, target: Any) -> None:
    if target.data is not None and not crypto.is_encrypted(target.data):
        target.data = crypto.encrypt(target.data)


def _decrypt_on_load(target: Any, _context: Any) -> None:
    # Set as the committed value: the plain text is never flushed back to the database.
    if target.data is not None:
        set_committed_value(target, "data", crypto.decrypt(target.data))


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose events are encrypted in the database (zhiyin.crypto)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not event.contains(SQLEvent, "before_insert", _encrypt_before_insert):
            event.listen(SQLEvent, "before_insert", _encrypt_before_insert)
            event.listen(SQLEvent, "load", _decrypt_on_load)
        super().__init__(*args, **kwargs)
