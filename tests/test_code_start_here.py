"""Lesson 0's "code" button: the generated script, run in a fresh interpreter, prints the panel's numbers.

The panel's compute is the notebook's own `train_moons`, read from notebooks/00_start_here.ipynb, so the test
follows the notebook if its experiment changes.
"""

import ast
import json
import math
from pathlib import Path

import pytest

from helpers import code_export, data, models, train
from helpers.start_here_code import moons_code

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "00_start_here.ipynb"


def notebook_functions(path: Path, names: list[str], namespace: dict) -> dict:
    """Define the notebook's functions `names` (from its code cells) in `namespace` and return it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell with IPython magics defines none of them
            continue
        found.update({node.name: node for node in tree.body
                      if isinstance(node, ast.FunctionDef) and node.name in names})
    missing = sorted(set(names) - set(found))
    assert not missing, f"{path.name} no longer defines {missing}"
    exec(compile(ast.Module(body=[found[n] for n in names], type_ignores=[]), str(path), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def train_moons():
    namespace = {"data": data, "models": models, "train": train}
    return notebook_functions(NOTEBOOK, ["train_moons"], namespace)["train_moons"]


@pytest.mark.parametrize("width, noise, seed", [(8, 0.2, 0), (64, 0.45, 3), (1, 0.0, 1)])
def test_script_prints_the_panels_numbers(train_moons, width, noise, seed):
    _, _, history = train_moons(width=width, noise=noise, seed=seed)
    expected = {"first_train_loss": history.train_loss[0], "train_loss": history.train_loss[-1],
                "val_loss": history.val_loss[-1], "train_accuracy": history.train_acc[-1],
                "val_accuracy": history.val_acc[-1]}
    printed = code_export.run_script(moons_code(width=width, noise=noise, seed=seed))
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        assert math.isclose(printed[name], value, rel_tol=1e-4, abs_tol=1e-6), (name, printed[name], value)


def test_script_is_plain_pytorch_with_the_settings():
    source = moons_code(width=16, noise=0.35, seed=7)
    assert "import helpers" not in source and "from helpers" not in source
    assert "width = 16\nnoise = 0.35\nseed = 7\n" in source
    compile(source, "script.py", "exec")


@pytest.mark.parametrize("kwargs", [dict(width=0, noise=0.2), dict(width=8, noise=-0.1), dict(width=8.0, noise=0.2),
                                    dict(width=8, noise=0.2, seed=-1)])
def test_bad_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        moons_code(**kwargs)
