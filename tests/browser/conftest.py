"""Headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

Playwright's sync API keeps an asyncio event loop running in the thread that drives it, and
Django refuses database access from a thread with a running loop (SynchronousOnlyOperation).
So the browser lives in a thread of its own and the test hands it steps to run there: the
test's thread keeps the database, with Django's async-safety check left on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from django.conf import settings

from tests.conftest import _unavailable

ARTIFACTS = Path(settings.VAR_DIR) / "test-artifacts"
T = TypeVar("T")


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


class Browser:
    """One Chromium page, driven from its own thread; `browser(step)` runs step(page) there."""

    def __init__(self, executable: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._thread.submit(self._launch, executable).result()

    def _launch(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._chromium = self._playwright.chromium.launch(executable_path=executable, headless=True)
        self.page = self._chromium.new_page(viewport={"width": 1440, "height": 1000})
        self.page.set_default_timeout(30_000)

    def __call__(self, step: Callable[..., T]) -> T:
        return self._thread.submit(step, self.page).result()

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self(lambda page: page.screenshot(path=str(path), full_page=True))
        return path

    def close(self) -> None:
        def stop(_page) -> None:
            self._chromium.close()
            self._playwright.stop()

        self._thread.submit(stop, None).result()
        self._thread.shutdown()


@pytest.fixture
def browser():
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium (make browser installs Debian's)")
    opened = Browser(executable)
    yield opened
    opened.close()
