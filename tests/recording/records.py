"""Where a test run records what it produced, and the secrets it made.

Every process of the run (pytest itself, which serves the API in-process, and the workers and
relays the tests start, all on tests.settings) appends to files under TEST_RECORD_DIR, one folder
per kind and one file per process:

- `envelopes/`: every event envelope written to the outbox (rolled back or not);
- `logs/`: every log record, as the JSON lines production writes (tests/settings.py);
- `webhooks/`: every body a test webhook receiver got;
- `secrets/`: the secrets the run made (TOTP keys, e-mailed codes), which none of the others
  may contain.

tests/security/test_secrets_scan.py reads them all at the end of the run.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

KINDS = ("envelopes", "logs", "webhooks")


def folder(kind: str) -> Path:
    path = Path(settings.TEST_RECORD_DIR) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(kind: str, text: str) -> None:
    """One line per record: a newline inside the text is kept as the two characters \\n."""
    with (folder(kind) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as out:
        out.write(text.replace("\n", "\\n") + "\n")
