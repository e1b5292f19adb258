"""Fixtures for the browser tests: a JupyterLab server on a copy of the notebooks, and headless Chromium.

Without /usr/bin/chromium the tests skip with a one-line reason, unless REQUIRE_BROWSER=1 (set by
.ci/run), where a missing browser is a failure.
"""

import os

import pytest

from tests.browser.lab_server import CHROMIUM, CHROMIUM_FLAGS, REPO, api, start_lab, stop_lab

__all__ = ["REPO", "api"]


def _require_browser():
    if CHROMIUM.exists():
        return
    reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; REQUIRE_BROWSER=1 makes its absence a failure")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 (free port, no token: tests only) serving a copy of notebooks/."""
    _require_browser()
    try:
        server = start_lab(tmp_path_factory.mktemp("lab"))
    except RuntimeError as error:
        pytest.fail(str(error))
    yield server
    stop_lab(server)


@pytest.fixture(scope="session")
def browser_context(lab, tmp_path_factory):
    """Headless Debian Chromium driven by Playwright (never `playwright install`: it cannot download)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        yield context
        context.close()
