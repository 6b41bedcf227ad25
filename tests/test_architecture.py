"""The import rules between layers (pyproject.toml, [tool.importlinter]) hold, and a breach fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zhiyin.paths import PROJECT_ROOT

PACKAGES = ("zhiyin", "actions", "channels", "asr_channel", "components", "desk", "insight", "tools", "tests")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_contract_is_kept():
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The project's packages and import rules, copied so that a test can break a rule."""
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "module, line, broken",
    [
        ("asr_channel/audio.py", "import actions.common", "asr_channel.audio -> actions.common"),
        ("asr_channel/engine.py", "from channels import rest", "asr_channel.engine -> channels.rest"),
        ("channels/rest.py", "from actions import handoff", "channels.rest -> actions.handoff"),
        ("desk/channel.py", "from channels import rest", "desk.channel -> channels.rest"),
        ("insight/report.py", "from tools import serve", "insight.report -> tools"),
        ("insight/conversations.py", "import actions.handoff", "insight.conversations -> actions.handoff"),
        ("actions/orders.py", "import channels.rest", "actions.orders -> channels.rest"),
        ("zhiyin/db.py", "import actions.orders", "zhiyin.db -> actions.orders"),
        ("zhiyin/services/orders.py", "from rasa_sdk import Tracker", "zhiyin.services.orders -> rasa_sdk"),
    ],
)
def test_an_import_against_the_rules_fails(project_copy: Path, module: str, line: str, broken: str):
    path = project_copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # against the rules\n", encoding="utf-8")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert broken in result.stdout, result.stdout
