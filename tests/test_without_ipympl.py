"""Every notebook runs with ipympl made unimportable, as in Colab: `helpers.setup_notebook()` falls back to the
inline backend with its one-line message, no cell fails, and every figure and every panel shows a PNG.

Every notebook's first code cells are the Colab cell and the lesson's setup cell, with no `%matplotlib widget`
(setup_notebook picks the backend). Marker `pictures`: `make pictures` runs it (it runs each notebook once, with
nbval, as `make nbval` does, into a temporary folder).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.setup import NO_IPYMPL_MESSAGE
from tests import pictures

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.pictures


def run_without_ipympl(notebook: Path, outputs_dir: Path, shadow_dir: Path) -> subprocess.CompletedProcess:
    """Run `notebook` with nbval in a kernel where `import ipympl` raises ImportError; outputs go to outputs_dir."""
    package = shadow_dir / "ipympl"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('raise ImportError("ipympl made unimportable for this test, as in Colab")\n')
    env = {**os.environ, "NB_OUTPUTS_DIR": str(outputs_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(shadow_dir), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval-lax",
                           "--nbval-current-env", "--nbval-cell-timeout=300", str(notebook)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_every_picture_without_ipympl(notebook, tmp_path):
    result = run_without_ipympl(notebook, tmp_path / "outputs", tmp_path / "shadow")
    assert result.returncode == 0, f"{notebook.name} failed without ipympl:\n{result.stdout[-4000:]}"
    saved = json.loads((tmp_path / "outputs" / f"{notebook.stem}.json").read_text())
    printed = "".join(o.get("text", "") for cell in saved["cells"] for o in cell["outputs"])
    assert printed.count(NO_IPYMPL_MESSAGE) == 1, "setup_notebook() should say once that plots are pictures"
    widget_canvases = [o for cell in saved["cells"] for o in cell["outputs"]
                       if o.get("data", {}).get("text/plain", "").startswith("Canvas(")]
    assert widget_canvases == [], "an ipympl canvas without ipympl?"
    found = pictures.problems(saved, notebook.name)
    # The drill holds a figure too: its display must carry the PNG itself (helpers/drill.py: class
    # Drill(widgets.PictureFallback, W.VBox)); nbval also records what its Output widget displays, which a saved
    # notebook would keep only inside the widget's state.
    found += [f"{notebook.name}: the drill's display carries no image/png" for cell in saved["cells"]
              for o in cell["outputs"] if o.get("data", {}).get("text/plain", "").startswith("Drill(")
              and "image/png" not in o["data"]]
    assert not found, "\n".join(found)
