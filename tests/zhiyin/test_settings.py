"""Settings from the environment, and the paths everything else names."""

from __future__ import annotations

from zhiyin.paths import MODEL_PATH, MODELS_DIR, PROJECT_ROOT, VAR_DIR
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
