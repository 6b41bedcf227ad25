import logging

import pytest

from zhiyin.redaction import mask_phone_numbers_in_logs


@pytest.fixture
def masking():
    original = logging.getLogRecordFactory()
    mask_phone_numbers_in_logs()
    mask_phone_numbers_in_logs()  # idempotent
    yield
    logging.setLogRecordFactory(original)


@pytest.mark.parametrize(
    "message, args",
    [
        ("customer said %s", ("我的手机号是13812345678",)),
        ("phone 138-1234-5678 given", ()),
        ("slot %(slot)s=%(value)s", ({"slot": "phone_number", "value": "+8613812345678"},)),
    ],
)
def test_no_log_line_carries_a_full_phone_number(masking, caplog, message, args):
    with caplog.at_level(logging.INFO, logger="rasa.core.processor"):
        logging.getLogger("rasa.core.processor").info(message, *args)
    [record] = caplog.records
    assert "5678" in record.getMessage() and "1234" not in record.getMessage()
    assert "****" in caplog.text


def test_other_lines_are_left_as_they_are(masking, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("zhiyin.test").info("order %s of %d items", "202611016468", 3)
    assert caplog.records[0].getMessage() == "order 202611016468 of 3 items"
