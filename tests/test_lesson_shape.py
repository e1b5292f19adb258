"""Every lesson keeps the course's arc: a prediction before each live panel, "What you should see" collapsed until
the learner has guessed, a main path (outside <details>) of about 2,500 words at most, and figures displayed."""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
MAIN_PATH_WORDS = 2600  # "about 2,500"
PANEL = re.compile(r"LivePanel\(|\w+_panel\(")


def cells(path):
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]


def main_path_words(markdown: str) -> int:
    """Words outside <details> blocks (depth and caveats live inside them)."""
    outside = re.sub(r"<details>.*?</details>", " ", markdown, flags=re.S)
    return len(outside.split())


def test_main_path_words_leaves_details_out():
    assert main_path_words("one two <details><summary>x</summary>\n\nthree four\n</details> five") == 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_main_path_is_about_2500_words_at_most(path):
    words = sum(main_path_words(src) for kind, src in cells(path) if kind == "markdown")
    assert words <= MAIN_PATH_WORDS, f"{path.name}: {words} words outside <details>"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_prediction_comes_before_every_live_panel(path):
    predicted = False
    for index, (kind, src) in enumerate(cells(path)):
        if kind != "code":
            continue
        if "quiz.predict(" in src:
            predicted = True
        if PANEL.search(re.sub(r"def \w+_panel\(", "", src)):
            assert predicted, f"{path.name} cell {index}: a live panel with no quiz.predict before it"
            predicted = False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_what_you_should_see_is_collapsed(path):
    for index, (kind, src) in enumerate(cells(path)):
        if kind == "markdown" and "What you should see" in src:
            before = src[:src.index("What you should see")]
            assert "<details>" in before and "<summary>" in before, \
                f"{path.name} cell {index}: 'What you should see' must sit in a collapsed <details> block"
            assert "</details>" in src[src.index("What you should see"):], f"{path.name} cell {index}: unclosed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figure_cells_display_the_figure_not_its_canvas(path):
    for index, (kind, src) in enumerate(cells(path)):
        last = src.strip().splitlines()[-1].strip() if kind == "code" and src.strip() else ""
        assert not re.fullmatch(r"[\w.]*\.canvas|fig", last), \
            f"{path.name} cell {index} ends with {last!r}: show the figure with plots.show(fig) (works without ipympl)"
