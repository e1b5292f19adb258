"""The static site's pieces (tools/site.py), without a browser: math to MathML, widget outputs, page names, links."""

from pathlib import Path

from tools import links, site

PNG = "iVBORw0KGgoAAAA"


def test_math_becomes_mathml_in_markdown_and_in_raw_html():
    page = site.markdown_to_html("Inline $x^2$ and\n\n$$\\sum_i w_i$$\n\n<details>\n<summary>why $\\sqrt{n}$?</summary>"
                                 "\n\ntext\n\n</details>\n")
    assert page.count("<math") == 3 and "$" not in page
    assert 'display="block"' in page and "<msqrt>" in page


def test_a_panel_keeps_its_png_and_a_widget_without_one_points_to_a_live_run():
    panel = {"output_type": "execute_result", "execution_count": 3, "metadata": {},
             "data": {"text/plain": "LivePanel(...)", "image/png": PNG, "text/html": "<img>",
                      site.WIDGET_VIEW: {"model_id": "abc"}}}
    quiz = {"output_type": "execute_result", "execution_count": 4, "metadata": {},
            "data": {"text/plain": "MultipleChoice(...)", site.WIDGET_VIEW: {"model_id": "def"}}}
    printed = {"output_type": "stream", "name": "stdout", "text": "loss 0.12\n"}
    shown = site.static_outputs([panel, quiz, printed], "<p>live only</p>")
    assert set(shown[0]["data"]) == {"text/plain", "image/png"} and shown[0]["execution_count"] is None
    assert shown[1]["data"] == {"text/html": "<p>live only</p>"}
    assert shown[2]["text"] == "loss 0.12\n"
    assert site.WIDGET_VIEW in panel["data"]  # the saved outputs are left as they were


def test_every_page_has_its_own_name():
    names = [f"{n.stem}.html" for n in site.NOTEBOOKS] + [site.doc_page(d) for d in site.DOCS] + ["index.html"]
    assert len(names) == len(set(names))


def test_links_in_docs_pages_go_to_pages_or_to_github():
    claims = site.REPO / "docs" / "claims" / "01_initialization.md"
    page = ('<a href="../../notebooks/01_initialization.ipynb">a</a> <a href="../performance.md">b</a> '
            '<a href="../../tests/test_init.py">c</a> <a href="https://example.org">d</a> <a href="#x">e</a>')
    rewritten = site._rewrite_links(page, "alice/course", claims)
    assert 'href="01_initialization.html"' in rewritten and 'href="performance.html"' in rewritten
    assert 'href="https://github.com/alice/course/blob/main/tests/test_init.py"' in rewritten
    assert 'href="https://example.org"' in rewritten and 'href="#x"' in rewritten


def test_a_lessons_bar_links_to_binder_and_colab_for_that_lesson():
    bar = site.nav(2, "alice/course")
    notebook = f"notebooks/{site.NOTEBOOKS[2].name}"
    assert links.binder_url(notebook, "alice/course") in bar and links.colab_url(notebook, "alice/course") in bar
    assert f"{site.NOTEBOOKS[1].stem}.html" in bar and f"{site.NOTEBOOKS[3].stem}.html" in bar


def test_stale_or_missing_outputs_are_not_used(tmp_path):
    notebook = site.NOTEBOOKS[0]
    assert site.saved_outputs(notebook, tmp_path) is None
    (tmp_path / f"{notebook.stem}.json").write_text('{"complete": true, "cells": [{"source": "old", "outputs": []}]}')
    assert site.saved_outputs(notebook, Path(tmp_path)) is None
