"""The repository itself: notebooks stored clean, pins in step, the two commands documented."""

import json
import re
import tomllib
from pathlib import Path

import pytest

from tools import links

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stored_without_outputs_counts_or_widget_state(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name} stores widget state in its metadata"


def _first_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_colab_cell_then_setup_that_picks_the_backend(path):
    """The Colab cell, then a cell calling helpers.setup_notebook(), which picks the backend itself (ipympl's live
    canvas, or inline pictures where ipympl is missing), so no `%matplotlib` line anywhere: it fails without ipympl."""
    code = _first_cells(path)
    assert code[0] == links.colab_cell(), f"{path.name}: the first code cell must be the Colab cell"
    assert "helpers.setup_notebook(" in code[1], f"{path.name}: the cell after the Colab cell must set up"
    assert not any(re.search(r"^\s*%matplotlib", c, re.M) for c in code), f"{path.name} has a %matplotlib line"


def _pins_from_pyproject() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        name, _, version = requirement.partition("==")
        assert version, f"{requirement!r} is not pinned exactly"
        pins[name.lower()] = version
    return pins


def test_environment_yml_names_the_same_versions_as_pyproject():
    text = (REPO / "environment.yml").read_text()
    pin = re.compile(r"^\s*-\s*([A-Za-z0-9_.-]+)==([^\s#]+)", re.M)
    env_pins = {m.group(1).lower(): m.group(2) for m in pin.finditer(text)}
    assert env_pins == _pins_from_pyproject()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M)
    assert re.search(r"^\s*-\s*-e \.\s*$", text, re.M), "Binder must install the helpers package itself"
    assert "whl/cpu" in text, "Binder must get PyTorch's CPU build"


def test_torch_pinned_to_the_local_cpu_wheel_and_test_tools_pinned():
    assert _pins_from_pyproject()["torch"] == "2.13.0"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["optional-dependencies"]["test"]:
        assert "==" in requirement, f"{requirement!r} is not pinned exactly"


def test_readme_gives_the_two_commands_and_binder_badge():
    readme = (REPO / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "urlpath=lab/tree/notebooks/00_start_here.ipynb" in readme
    for path in NOTEBOOKS:
        assert path.name in readme or path.stem in readme, f"README's lesson list lacks {path.name}"
