"""Logs never print a full phone number.

Rasa logs what customers typed at debug level, and our own log lines name tickets and
conversations; a log file is read by more people than the database. Every log record created
in the process is masked (138****5678) before any handler sees it, whichever library logged it.
"""

from __future__ import annotations

import logging
from typing import Any

from zhiyin.services.tickets import mask_phones_in


def _masking(factory: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        masked = mask_phones_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    make_record.masks_phone_numbers = True  # type: ignore[attr-defined]
    return make_record


def mask_phone_numbers_in_logs() -> None:
    """Install the masking record factory (once per process)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "masks_phone_numbers", False):
        logging.setLogRecordFactory(_masking(factory))
