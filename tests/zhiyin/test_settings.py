"""Settings from the environment, and the paths everything else names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zhiyin import settings
from zhiyin.paths import MODEL_PATH, MODELS_DIR, PROJECT_ROOT, VAR_DIR
from zhiyin.rasa_cli import with_api_token
from zhiyin.settings import DEFAULT_DATABASE_URL, database_url, settings_from


def test_database_url_defaults_to_sqlite_in_var(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == DEFAULT_DATABASE_URL == f"sqlite:///{VAR_DIR / 'zhiyin.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://shop@127.0.0.1/zhiyin")
    assert database_url() == "postgresql://shop@127.0.0.1/zhiyin"


def test_credentials_win_over_the_environment_and_blanks_are_unset(monkeypatch):
    monkeypatch.setenv("TOKEN_VARIABLE", "from-env")
    monkeypatch.setenv("URL_VARIABLE", "")
    names = {"token": "TOKEN_VARIABLE", "url": "URL_VARIABLE", "secret": "UNSET_VARIABLE"}
    assert settings_from(None, names) == {"token": "from-env", "url": None, "secret": None}
    assert settings_from({"token": "from-yml"}, names)["token"] == "from-yml"


def test_the_model_file_is_the_one_make_train_writes():
    assert MODEL_PATH == MODELS_DIR / "zhiyin.tar.gz" and MODELS_DIR.parent == PROJECT_ROOT
    assert "--fixed-model-name zhiyin" in (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")


def test_the_rasa_api_token_comes_from_the_environment_else_a_private_file(monkeypatch, tmp_path):
    token_file = tmp_path / "var" / "rasa-api-token"
    monkeypatch.setattr(settings, "RASA_API_TOKEN_FILE", token_file)
    monkeypatch.setenv("RASA_API_TOKEN", "from-env")
    assert settings.rasa_api_token() == "from-env" and not token_file.exists()
    monkeypatch.delenv("RASA_API_TOKEN")
    generated = settings.rasa_api_token()
    assert len(generated) >= 32 and token_file.read_text().strip() == generated
    assert token_file.stat().st_mode & 0o077 == 0  # its owner's only
    assert settings.rasa_api_token() == generated  # kept across restarts


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["rasa", "run", "--port", "5005"], ["rasa", "run", "--port", "5005", "--auth-token", "t0k"]),
        (["rasa", "run"], ["rasa", "run", "--auth-token", "t0k"]),
        (["rasa", "run", "actions"], ["rasa", "run", "actions"]),
        (["rasa", "train"], ["rasa", "train"]),
        (["rasa", "run", "--auth-token", "mine"], ["rasa", "run", "--auth-token", "mine"]),
    ],
)
def test_rasa_run_gets_the_api_token(argv, expected):
    assert with_api_token(argv, "t0k") == expected
    assert with_api_token(argv, None) == argv


def test_the_rasa_process_loads_tensorflow_without_jax():
    """TensorFlow imports JAX only for TFLite's converter; the wrapper keeps it out (about 64 MB)."""
    probe = (
        "import sys, zhiyin.rasa_cli, tensorflow, rasa.core.agent; "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('jax') and sys.modules[m]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
