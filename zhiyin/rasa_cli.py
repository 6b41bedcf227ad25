"""The `rasa` command line, minus third-party deprecation warnings.

Importing sanic installs a "show once" filter for DeprecationWarning in front of any filter
from PYTHONWARNINGS, so Rasa 3.6's dependencies (pkg_resources, distutils, jax, pyparsing,
SQLAlchemy 1.4) print a dozen deprecation notices on every start. None is actionable for a
user of zhiyin. This wrapper puts an "ignore" filter in front after sanic is imported (and
one for a validator false positive, below), then runs Rasa's own entry point with the given
arguments: `python -m zhiyin.rasa_cli train`.

`rasa run` (the server, not `run actions`) gets `--auth-token` (zhiyin.settings.rasa_api_token:
``RASA_API_TOKEN``, else var/rasa-api-token), so the HTTP API is never open and the token
stays out of the process list. Log lines are masked of phone numbers (zhiyin.redaction).
JAX is kept out of the process (zhiyin.lean_process).
"""

from __future__ import annotations

import sys
import warnings
from typing import List, Optional

from zhiyin.lean_process import keep_jax_out

keep_jax_out()

warnings.filterwarnings("ignore", category=DeprecationWarning)
import sanic  # noqa: E402,F401  (its import adds the filter this module overrides)

warnings.filterwarnings("ignore", category=DeprecationWarning)
# Rasa's recipe validator looks for lookup-table users by exact class, so it does not see that
# components.quick_load.QuickLoadDIETClassifier is a DIETClassifier (it uses the lookup features).
warnings.filterwarnings(
    "ignore",
    message="You have defined training data consisting of lookup tables, but your NLU configuration does not include any components",
)

from rasa.__main__ import main  # noqa: E402

from zhiyin.redaction import mask_phone_numbers_in_logs  # noqa: E402
from zhiyin.settings import rasa_api_token  # noqa: E402


def with_api_token(argv: List[str], token: Optional[str]) -> List[str]:
    """`argv` with `--auth-token token` added to a `rasa run` that has no token of its own."""
    serving = len(argv) > 1 and argv[1] == "run" and (len(argv) == 2 or argv[2] != "actions")
    if not token or not serving or "--auth-token" in argv or "--jwt-secret" in argv:
        return argv
    return [*argv, "--auth-token", token]


if __name__ == "__main__":
    mask_phone_numbers_in_logs()
    sys.argv = with_api_token(["rasa", *sys.argv[1:]], rasa_api_token())
    main()
