"""Every figure and every live panel leaves a picture in the notebook's outputs (an `image/png`), so GitHub,
nbviewer, an HTML export and the course's static site show the default setting's plot without a kernel.

Reads the outputs nbval saved while it ran the notebooks (`make nbval`, into .nb-outputs/<numeric path>/);
`make pictures` runs this file. Without saved outputs it fails and says what to run.
"""

import os
from pathlib import Path

import pytest

from tests import pictures

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
OUTPUTS = Path(os.environ.get("NB_OUTPUTS_ROOT", REPO / ".nb-outputs"))

pytestmark = pytest.mark.pictures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_and_panel_carries_a_png(path):
    saved_dirs = sorted(d for d in OUTPUTS.glob("*") if (d / f"{path.stem}.json").exists())
    if not saved_dirs:
        pytest.fail(f"no saved outputs for {path.name} in {OUTPUTS}: run `make nbval` first")
    for outputs_dir in saved_dirs:
        saved = pictures.load(outputs_dir, path)
        assert [c["source"] for c in saved["cells"]] == pictures.code_sources(path), \
            f"{path.name}: the outputs in {outputs_dir} come from an older version of the notebook; run `make nbval`"
        found = pictures.problems(saved, f"{path.name} [{outputs_dir.name}]")
        assert not found, "\n".join(found)


def test_the_check_finds_a_panel_without_png_and_a_bare_figure():
    png = {"text/plain": "LivePanel(children=(...))", "image/png": pictures.PNG_SIGNATURE + "AAAA"}
    saved = {"complete": True, "cells": [
        {"source": "panel = widgets.LivePanel(compute, draw, fig, controls)\npanel",
         "outputs": [{"output_type": "execute_result", "data": {"text/plain": "LivePanel(children=(...))"}}]},
        {"source": "fig.canvas", "outputs": [{"output_type": "execute_result",
                                              "data": {"text/plain": "<matplotlib.backends.backend_agg.FigureCanvasAgg"
                                                                     " object at 0x7f>"}}]},
        {"source": "plots.show(fig)", "outputs": []},
        {"source": "lesson.explorer_panel(seed=0)", "outputs": [{"output_type": "display_data", "data": png}]},
        {"source": "plots.show(other)", "outputs": [{"output_type": "display_data", "data": png}]},
        {"source": "plots.show(fig)", "outputs": [{"output_type": "display_data", "data": {
            "text/plain": "<Figure size 810x306 with 2 Axes>", "image/png": pictures.PNG_SIGNATURE + "BBBB"}}]},
    ]}
    found = pictures.problems(saved, "nb")
    assert len(found) == 5, found
    assert "cell 4" in found[4] and "picture code cell 3 showed" in found[4]
    assert "cell 0" in found[0] and "LivePanel carries no image/png" in found[0]
    assert "cell 0" in found[1] and "no image/png output" in found[1]
    assert "cell 1" in found[2] and "instead of the figure" in found[2]
    assert "cell 2" in found[3]
