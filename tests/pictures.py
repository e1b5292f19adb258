"""What counts as a picture in a notebook's saved outputs, for tests/test_static_pictures.py and the run without
ipympl: a cell that shows a figure or a panel must carry an `image/png`, and no output may be a figure's bare repr
(`<Figure size ...>`, `<...FigureCanvasAgg object at 0x...>`: a cell that returned `fig` or `fig.canvas` under
the inline backend), nor a figure-holding widget (ipympl's `Canvas`, a `LivePanel`) without its PNG, nor the
same picture twice (the inline backend shows every figure pyplot still holds at the end of a cell).

Saved outputs are what conftest.py writes while nbval runs: {"complete": bool, "cells": [{"source", "outputs"}]}.
"""

import json
import re
from pathlib import Path

# A cell that shows a figure: plots.show(fig), a LivePanel, a lesson's *_panel(...) builder (as
# tests/test_lesson_shape.py defines a panel).
SHOWS_FIGURE = re.compile(r"plots\.show\(|LivePanel\(|\b\w+_panel\(|Drill\(")
BARE_FIGURE = re.compile(r"^<(Figure size|[\w.]*FigureCanvas\w* object at)")
FIGURE_WIDGETS = ("Canvas(", "LivePanel(", "Drill(")
PNG_SIGNATURE = "iVBORw0KGgo"  # base64 of the 8-byte PNG signature


def load(outputs_dir: Path, notebook: Path) -> dict:
    saved = outputs_dir / f"{notebook.stem}.json"
    if not saved.exists():
        raise FileNotFoundError(f"no saved outputs {saved}: run `make nbval` first")
    return json.loads(saved.read_text())


def code_sources(notebook: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def _has_png(output: dict) -> bool:
    png = output.get("data", {}).get("image/png", "")
    return isinstance(png, str) and png.startswith(PNG_SIGNATURE)


def problems(saved: dict, notebook_name: str) -> list[str]:
    """Every cell that shows a figure without a PNG, and every bare figure repr, as one line each."""
    found, seen = [], {}
    if not saved["complete"]:
        found.append(f"{notebook_name}: the saved outputs are incomplete (a cell failed or the run stopped)")
    for index, cell in enumerate(saved["cells"]):
        where = f"{notebook_name} code cell {index} ({cell['source'].strip().splitlines()[-1][:60]!r})" \
            if cell["source"].strip() else f"{notebook_name} code cell {index}"
        outputs = cell["outputs"]
        for output in outputs:
            text = output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            if BARE_FIGURE.match(text) and not _has_png(output):  # a displayed figure has both
                found.append(f"{where}: shows {text[:40]!r} instead of the figure")
            elif text.startswith(FIGURE_WIDGETS) and not _has_png(output):
                found.append(f"{where}: its {text.split('(')[0]} carries no image/png")
        if SHOWS_FIGURE.search(cell["source"]) and not any(_has_png(o) for o in outputs):
            found.append(f"{where}: shows a figure or panel but has no image/png output")
        for output in outputs:
            if _has_png(output):
                png = output["data"]["image/png"]
                if png in seen:
                    found.append(f"{where}: shows again the picture code cell {seen[png]} showed (a figure pyplot "
                                 "still held, shown a second time by the inline backend?)")
                seen.setdefault(png, index)
    return found
