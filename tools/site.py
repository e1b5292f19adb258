"""`make site`: the six lessons as static HTML pages, executed, with every figure and panel picture, math
rendered, and on each page links to open the lesson live on Binder and Colab. Also the claims pages and the
performance page of docs/.

Why this builder: nbconvert's HTML export ships with JupyterLab (nothing more to install, no Node) and is
maintained by the Jupyter project; Jupyter Book 2 / MyST needs Node and would still show no widget without a
kernel. Math goes through latex2mathml (pure Python, on PyPI) into MathML, which current browsers render
themselves: no MathJax, no CDN, nothing fetched when a page opens, so the site works offline.

Pages are built from the outputs `make nbval` saved (.nb-outputs/native/<notebook>.json, see conftest.py).
A notebook whose saved outputs are missing or older than the notebook is run once with nbval first.
Widgets have no kernel on a static page: a live panel shows the PNG of its default setting (LivePanel's display
carries one), a quiz or prediction widget shows a line pointing to Binder and Colab.

    python -m tools.site --outputs .nb-outputs/native --out _site
"""

import argparse
import copy
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from jinja2 import pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from tools import links

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "site_templates"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
DOCS = [REPO / "docs" / "performance.md", *sorted((REPO / "docs" / "claims").glob("*.md"))]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LIVE_ONLY = ("<p class='course-live-only'>An interactive widget (a self-check or a prediction) is here in the "
             "live notebook: open this lesson on {binder} or {colab} to use it.</p>")

CSS = """
nav.course-nav { font-family: system-ui, sans-serif; font-size: 14px; padding: 8px 12px; margin: 0 0 12px 0;
  background: #f3f6fa; border-bottom: 1px solid #d0d7de; display: flex; flex-wrap: wrap; gap: 14px; }
nav.course-nav a { color: #0072B2; text-decoration: none; }
nav.course-nav a.live { font-weight: 600; }
p.course-live-only { font-style: italic; color: #555; margin: 4px 0; }
math { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", math; }
math[display="block"] { margin: 0.6em 0; }
main.course-doc { max-width: 60em; margin: 0 auto; padding: 0 16px 32px 16px; font-family: system-ui, sans-serif; }
main.course-doc table { border-collapse: collapse; } main.course-doc td, main.course-doc th
  { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
"""


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with $...$ and $$...$$ turned into MathML instead of left for MathJax."""

    def block_math(self, body: str) -> str:
        return latex_to_mathml(body, display="block")

    def inline_math(self, body: str) -> str:
        return latex_to_mathml(body)

    def latex_environment(self, name: str, body: str) -> str:
        return latex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display="block")

    # Raw HTML (a <summary> line, for one) is not parsed as Markdown, but JupyterLab typesets the math in it.
    def block_html(self, html_text: str) -> str:
        return super().block_html(math_in_html(html_text))

    def inline_html(self, html_text: str) -> str:
        return super().inline_html(math_in_html(html_text))


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")


def math_in_html(html_text: str) -> str:
    """$$...$$ and $...$ inside raw HTML, as MathML."""
    html_text = _DISPLAY_MATH.sub(lambda m: latex_to_mathml(html.unescape(m.group(1)), display="block"), html_text)
    return _INLINE_MATH.sub(lambda m: latex_to_mathml(html.unescape(m.group(1))), html_text)


def markdown_to_html(source: str) -> str:
    return MarkdownWithMath(renderer=MathMLRenderer(escape=False)).render(source)


class CourseExporter(HTMLExporter):
    """nbconvert's HTML exporter with the course's template and Markdown renderer."""

    @pass_context
    def markdown2html(self, context, source):
        return markdown_to_html(source)


def saved_outputs(notebook: Path, outputs_dir: Path) -> dict | None:
    """The outputs nbval saved for `notebook`, or None if missing, incomplete or from an older notebook."""
    saved_file = outputs_dir / f"{notebook.stem}.json"
    if not saved_file.exists():
        return None
    saved = json.loads(saved_file.read_text())
    sources = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    if not saved.get("complete") or [c["source"] for c in saved["cells"]] != sources:
        return None
    return saved


def run_notebooks(notebooks: list[Path], outputs_dir: Path) -> None:
    """Run notebooks once with nbval, saving their outputs (conftest.py) into `outputs_dir`."""
    print(f"running {len(notebooks)} notebook(s) to save their outputs: {', '.join(n.name for n in notebooks)}")
    env = {**os.environ, "NB_OUTPUTS_DIR": str(outputs_dir.resolve())}
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval-lax",
                    "--nbval-current-env", "--nbval-cell-timeout=300", *map(str, notebooks)],
                   cwd=REPO, env=env, check=True)


def static_outputs(outputs: list[dict], live_only: str) -> list:
    """Saved outputs as a static page shows them: a widget's PNG where it has one, else a pointer to a live run."""
    shown = []
    for output in outputs:
        output = copy.deepcopy(output)
        data = output.get("data")
        if data is not None and WIDGET_VIEW in data:
            del data[WIDGET_VIEW]
            if "image/png" in data:
                data.pop("text/html", None)  # ipympl's <img> wrapper of the same PNG
            else:
                output = {"output_type": "display_data", "metadata": {}, "data": {"text/html": live_only}}
        if output["output_type"] == "execute_result":
            output["execution_count"] = None
        shown.append(nbformat.from_dict(output))
    return shown


def lesson_title(notebook: Path) -> str:
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            match = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)
            if match:
                return match.group(1).strip()
    return notebook.stem


def nav(notebook_index: int | None, path: str) -> str:
    """The bar on top of every page: home, previous and next lesson, and (on a lesson) Binder and Colab."""
    items = ["<a href='index.html'>All lessons</a>"]
    if notebook_index is not None:
        if notebook_index > 0:
            items.append(f"<a href='{NOTEBOOKS[notebook_index - 1].stem}.html'>&larr; previous lesson</a>")
        if notebook_index < len(NOTEBOOKS) - 1:
            items.append(f"<a href='{NOTEBOOKS[notebook_index + 1].stem}.html'>next lesson &rarr;</a>")
        notebook = f"notebooks/{NOTEBOOKS[notebook_index].name}"
        items.append(f"<a class='live binder' href='{html.escape(links.binder_url(notebook, path))}'>"
                     "Open live on Binder</a>")
        items.append(f"<a class='live colab' href='{html.escape(links.colab_url(notebook, path))}'>"
                     "Open in Colab</a>")
    return "<nav class='course-nav'>" + " ".join(items) + "</nav>"


def build_lesson(exporter: CourseExporter, index: int, saved: dict, path: str) -> str:
    notebook_path = NOTEBOOKS[index]
    nb = nbformat.read(notebook_path, as_version=4)
    nb.metadata.pop("widgets", None)
    notebook = f"notebooks/{notebook_path.name}"
    live_only = LIVE_ONLY.format(binder=f"<a href='{html.escape(links.binder_url(notebook, path))}'>Binder</a>",
                                 colab=f"<a href='{html.escape(links.colab_url(notebook, path))}'>Colab</a>")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell, saved_cell in zip(code_cells, saved["cells"], strict=True):
        cell.outputs = static_outputs(saved_cell["outputs"], live_only)
        cell.execution_count = None
    resources = {"course": {"css": CSS, "nav": nav(index, path)}, "metadata": {"name": lesson_title(notebook_path)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _rewrite_links(page_html: str, path: str, here: Path) -> str:
    """Links in a docs/ page: a lesson to its page, a docs page to its page, any other repository file to GitHub."""
    docs = {doc.resolve(): doc for doc in DOCS}

    def target(match):
        href = match.group(1)
        if re.match(r"^[a-z]+:|^#", href):
            return match.group(0)
        file = (here.parent / href.split("#")[0]).resolve()
        if file.suffix == ".ipynb":
            return f'href="{file.stem}.html"'
        if file in docs:
            return f'href="{doc_page(docs[file])}"'
        try:
            relative = file.relative_to(REPO)
        except ValueError:
            return match.group(0)
        return f'href="https://github.com/{path}/blob/{links.BRANCH}/{relative}"'

    return re.sub(r'href="([^"]+)"', target, page_html)


def page(title: str, body: str, navigation: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1.0'>\n<link rel='icon' href='data:,'>\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{navigation}\n"
            f"<main class='course-doc'>\n{body}\n</main>\n</body>\n</html>\n")


def build_index(path: str) -> str:
    lessons = "\n".join(f"<li><a href='{n.stem}.html'>{html.escape(lesson_title(n))}</a> "
                        f"(<a href='{html.escape(links.binder_url(f'notebooks/{n.name}', path))}'>Binder</a>, "
                        f"<a href='{html.escape(links.colab_url(f'notebooks/{n.name}', path))}'>Colab</a>)</li>"
                        for n in NOTEBOOKS)
    docs = "\n".join(f"<li><a href='{doc_page(d)}'>{html.escape(doc_title(d))}</a></li>" for d in DOCS)
    body = (f"<h1>How deep networks train: an interactive course</h1>\n<p>The lessons below are static pages: "
            "every plot shows the default setting. To move the sliders, open a lesson live on Binder (nothing to "
            "install) or Colab, or run it on your laptop (<code>make lab</code>, see the README).</p>\n"
            f"<h2>Lessons</h2>\n<ol start='0'>\n{lessons}\n</ol>\n<h2>What the course shows, and how fast</h2>\n"
            f"<ul>\n{docs}\n</ul>\n")
    return page("How deep networks train", body, nav(None, path))


def doc_page(doc: Path) -> str:
    """A docs/ page's file name on the site: claims pages are prefixed, so they never clash with a lesson's."""
    return f"{doc.parent.name}-{doc.stem}.html" if doc.parent.name == "claims" else f"{doc.stem}.html"


def doc_title(doc: Path) -> str:
    match = re.search(r"^#\s+(.+)$", doc.read_text(), re.M)
    return match.group(1).strip() if match else doc.stem


def build(outputs_dir: Path, out_dir: Path) -> list[Path]:
    """Write index.html, one page per lesson and one per docs page into `out_dir`; returns the pages written."""
    path = links.github_path()
    stale = [n for n in NOTEBOOKS if saved_outputs(n, outputs_dir) is None]
    if stale:
        run_notebooks(stale, outputs_dir)
    exporter = CourseExporter(template_name="lab", template_file=str(TEMPLATES / "course.html.j2"),
                              exclude_input_prompt=True, exclude_output_prompt=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, notebook in enumerate(NOTEBOOKS):
        saved = saved_outputs(notebook, outputs_dir)
        if saved is None:
            raise RuntimeError(f"{notebook.name}: no complete saved outputs in {outputs_dir} even after running it")
        target = out_dir / f"{notebook.stem}.html"
        target.write_text(build_lesson(exporter, index, saved, path))
        written.append(target)
    for doc in DOCS:
        target = out_dir / doc_page(doc)
        target.write_text(page(doc_title(doc), _rewrite_links(markdown_to_html(doc.read_text()), path, doc),
                               nav(None, path)))
        written.append(target)
    (out_dir / "index.html").write_text(build_index(path))
    written.append(out_dir / "index.html")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the course's static site.")
    parser.add_argument("--outputs", type=Path, default=REPO / ".nb-outputs" / "native",
                        help="where nbval saved the notebooks' outputs (make nbval)")
    parser.add_argument("--out", type=Path, default=REPO / "_site", help="where to write the pages")
    args = parser.parse_args()
    pages = build(args.outputs, args.out)
    print(f"wrote {len(pages)} pages to {args.out}/ (open {args.out}/index.html)")


if __name__ == "__main__":
    main()
