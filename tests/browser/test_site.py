"""The static site (`make site`): every page opens in headless Chromium with no broken image, no console error,
nothing fetched from the network, its math rendered as MathML, every picture the notebook saved, and links to
open the lesson live on Binder and Colab.

Builds the site into a temporary folder from the outputs `make nbval` saved (.nb-outputs/native), which
`make test` writes before the browser tests run; a notebook whose outputs are missing or stale is run first.
"""

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path

import pytest

from tests.browser.conftest import _require_browser
from tools import links, site

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
OUTPUTS = Path(os.environ.get("NB_OUTPUTS_ROOT", REPO / ".nb-outputs")) / "native"
PAGES = [n.stem for n in site.NOTEBOOKS] + [site.doc_page(d).removesuffix(".html") for d in site.DOCS] + ["index"]
RAW_TEX = re.compile(r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$")

PAGE_STATE = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const maths = [...document.querySelectorAll('math')];
  const markdown = [...document.querySelectorAll('.jp-MarkdownOutput, main.course-doc')]
    .map(e => e.textContent).join('\\n');
  return {
    images: document.images.length,
    broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 60)),
    maths: maths.length,
    unrendered: maths.filter(m => { const r = m.getBoundingClientRect();
        const d = getComputedStyle(m).display;
        return !(r.width > 0 && r.height > 0 && d.endsWith('math')); }).length,
    markdown: markdown,
    binder: [...document.querySelectorAll('a.binder')].map(a => a.href),
    colab: [...document.querySelectorAll('a.colab')].map(a => a.href),
  };
}"""


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    _require_browser()
    out = tmp_path_factory.mktemp("site")
    site.build(OUTPUTS, out)
    return out


@pytest.fixture(scope="module")
def base_url(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chromium(browser_context):
    """The browser the notebook tests use: one Playwright per session (a second sync_playwright cannot start)."""
    return browser_context


def _saved_pngs(stem: str) -> int:
    saved = json.loads((OUTPUTS / f"{stem}.json").read_text())
    return sum("image/png" in output.get("data", {}) for cell in saved["cells"] for output in cell["outputs"])


@pytest.mark.parametrize("name", PAGES)
def test_page_shows_every_picture_and_its_math_with_no_error(name, base_url, chromium):
    page = chromium.new_page()
    errors, outside = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((base_url, "data:")) else None)
    try:
        response = page.goto(f"{base_url}/{name}.html", wait_until="load")
        assert response is not None and response.ok, f"{name}.html: HTTP {response and response.status}"
        state = page.evaluate(PAGE_STATE)
    finally:
        page.close()
    assert errors == [], f"{name}.html: console errors {errors}"
    assert outside == [], f"{name}.html fetched from outside the site: {outside}"
    assert state["broken"] == [], f"{name}.html: broken images {state['broken']}"
    raw = RAW_TEX.search(state["markdown"])
    assert raw is None, f"{name}.html: TeX left unrendered: {raw and raw.group(0)}"
    assert state["unrendered"] == 0, f"{name}.html: {state['unrendered']} of {state['maths']} formulas not laid out"
    if name in {n.stem for n in site.NOTEBOOKS}:
        notebook = f"notebooks/{name}.ipynb"
        assert state["images"] == _saved_pngs(name) > 0, f"{name}.html: {state['images']} pictures"
        assert state["maths"] > 0
        assert set(state["binder"]) == {links.binder_url(notebook)}
        assert set(state["colab"]) == {links.colab_url(notebook)}
