"""Lesson 5's "code" buttons: each generated script, run in a fresh interpreter, prints its panel's numbers.

The panels' computes are the notebook's own functions (`mechanism` with its `dropout_mask` and
`inverted_dropout`; `overfitting` with `sweep_for`), read from notebooks/05_dropout.ipynb, so the test follows
the notebook if an experiment changes.
"""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import code_export, dropout
from helpers.dropout_code import mechanism_code, overfitting_code
from tests.test_code_start_here import notebook_functions

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_dropout.ipynb"
SETUP = dict(width=32, n_train=50, steps=400, lr=1e-2)  # the notebook's SETUP; checked below


def assert_same(printed: dict, expected: dict, exact=()):
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        if name in exact:
            assert printed[name] == value, (name, printed[name], value)
        else:
            assert math.isclose(printed[name], value, rel_tol=1e-4, abs_tol=1e-6), (name, printed[name], value)


@pytest.fixture(scope="module")
def panels():
    namespace = {"torch": torch, "np": np, "dropout": dropout, "panel_sweeps": {},
                 "TRAINING": dict(steps=SETUP["steps"], lr=SETUP["lr"])}
    return notebook_functions(NOTEBOOK, ["dropout_mask", "inverted_dropout", "mechanism", "sweep_for", "overfitting"],
                              namespace)


def test_notebook_setup_is_the_one_the_script_trains():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert 'SETUP = dict(width=32, n_train=50, steps=400, lr=1e-2)' in text
    assert 'TRAINING = dict(steps=SETUP[\\"steps\\"], lr=SETUP[\\"lr\\"])' in text


@pytest.mark.parametrize("p, seed", [(0.5, 0), (0.0, 3), (0.85, 1)])
def test_mechanism_script_prints_the_panels_numbers(panels, p, seed):
    h, mask, one_pass, average = panels["mechanism"](p, seed)
    expected = {"dropped": int((mask == 0).sum()), "dropped_fraction": (mask == 0).float().mean().item(),
                "mean_eval": h.mean().item(), "mean_one_pass": one_pass.mean().item(),
                "mean_average": average.mean().item(),
                "largest_unit_gap": (average.mean(0) - h.mean(0)).abs().max().item()}
    assert_same(code_export.run_script(mechanism_code(p=p, seed=seed)), expected, exact=("dropped",))


@pytest.mark.parametrize("p, width, n_train, seed", [(0.0, 32, 50, 2), (0.5, 8, 200, 0)])
def test_overfitting_script_prints_the_panels_numbers(panels, p, width, n_train, seed):
    sweep, j, i = panels["overfitting"](p, width, n_train, seed)
    expected = {"train_accuracy": sweep.train_acc[i, j], "val_accuracy": sweep.val_acc[i, j],
                "test_accuracy": sweep.test_acc[i, j], "accuracy_gap": sweep.acc_gap[i, j],
                "train_loss": sweep.train_loss[i, j], "val_loss": sweep.val_loss[i, j]}
    assert_same(code_export.run_script(overfitting_code(p=p, width=width, n_train=n_train, seed=seed)),
                {k: float(v) for k, v in expected.items()})


def test_overfitting_script_snaps_p_to_the_panels_grid():
    assert "\np = 0.3\n" in overfitting_code(p=0.30000000000000004, width=8, n_train=50)
    assert "\np = 0.9\n" in overfitting_code(p=0.88, width=8, n_train=50)


@pytest.mark.parametrize("make", [lambda: mechanism_code(p=1.0), lambda: mechanism_code(p=-0.1),
                                  lambda: mechanism_code(p=0.5, seed=-1),
                                  lambda: overfitting_code(p=0.5, width=16, n_train=50),
                                  lambda: overfitting_code(p=0.5, width=32, n_train=100),
                                  lambda: overfitting_code(p=1.0, width=32, n_train=50)])
def test_bad_settings_are_rejected(make):
    with pytest.raises(ValueError):
        make()
