"""`rasa data validate`, failing on every warning but two Rasa cannot know about.

Rasa warns that a response "is not used in any story or rule" when only a custom action
sends it. Such a warning is accepted only if an action really names the response (or it is
a form's `utter_ask_*` question). It also warns that the retrieval intent `faq` is declared
twice (domain.yml and the generated knowledge base). Any other warning fails the check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List

from zhiyin.paths import PROJECT_ROOT

UNUSED_RESPONSE = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")
WARNING = re.compile(r"UserWarning: (.*)")
# Responses sent by Rasa itself rather than by a story, rule or action.
RASA_SENT = ("utter_ask_",)
GATEWAY_SENT = {"utter_action_failed"}  # channels/action_gateway.py
# The knowledge base's answers live beside its questions in data/nlu/faq.yml, so Rasa sees the
# retrieval intent `faq` both there and in domain.yml, where it must be listed.
# `rate_service` comes only from the desk's satisfaction buttons (a payload, never typed text),
# so it has no NLU examples.
KNOWN = (
    re.compile(r"duplicated intents have been found across multiple domain files: faq$"),
    re.compile(r"The intent 'rate_service' is listed in the domain file, but is not found in the NLU training data"),
)


def responses_named_in_code() -> str:
    sources = Path(PROJECT_ROOT, "actions").rglob("*.py")
    return "\n".join(path.read_text(encoding="utf-8") for path in sources)


def unexpected_warnings(output: str) -> List[str]:
    code = responses_named_in_code()
    problems = []
    for message in WARNING.findall(output):
        if any(known.search(message.strip()) for known in KNOWN):
            continue
        unused = UNUSED_RESPONSE.search(message)
        if unused:
            name = unused.group(1)
            if name.startswith(RASA_SENT) or name in GATEWAY_SENT or f'"{name}"' in code:
                continue
        problems.append(message.strip())
    return problems


def main() -> int:
    rasa = Path(sys.executable).parent / "rasa"
    result = subprocess.run([str(rasa), "data", "validate"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    problems = unexpected_warnings(output)
    if result.returncode != 0 or problems:
        print(output)
        print("\n".join(["data validation failed:", *problems]))
        return 1
    print("rasa data validate: no unexpected warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
