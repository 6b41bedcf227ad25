import pytest

from channels.webchat import WEB_DIR, resolve


@pytest.mark.parametrize(
    "relative, name", [("", "index.html"), ("widget.js", "widget.js"), ("vendor/socket.io.min.js", "socket.io.min.js")]
)
def test_files_under_web_are_served(relative, name):
    assert resolve(WEB_DIR, relative).name == name


@pytest.mark.parametrize(
    "relative", ["../credentials.yml", "vendor/../../zhiyin/db.py", "/etc/passwd", "vendor", "missing.js"]
)
def test_nothing_outside_web_or_missing_is_served(relative):
    assert resolve(WEB_DIR, relative) is None
