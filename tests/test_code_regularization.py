"""Lesson 4's "code" scripts reproduce their panels: each script runs in a fresh interpreter and every
number it prints is compared with the panel's own compute for the same setting and seed."""

import math

import numpy as np
import pytest

from helpers import regularization as reg
from helpers import regularization_code as code
from helpers.code_export import run_script


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


@pytest.mark.parametrize("kind, lam, warmup, seed", [("l1", 0.03, 100, 0), ("l2", 1e-3, 0, 1)])
def test_warmup_script_matches_panel(kind, lam, warmup, seed):
    printed = run_script(code.warmup_code(kind=kind, lam=lam, warmup=warmup, seed=seed))
    panel = reg.warmup_panel(kind, lam, warmup, seed)
    run, start = panel["run"], panel["from_start"]
    expected = {"train_loss": run.train_loss, "val_acc": run.val_acc, "small_fraction": run.small_fraction,
                "from_start_train_loss": start.train_loss, "from_start_val_acc": start.val_acc}
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        assert close(printed[name], value), (name, printed[name], value)


@pytest.mark.parametrize("kind, lam", [("l2", 1e-2), ("l1_prox", 1e-1)])
def test_explore_script_matches_panel(kind, lam):
    printed = run_script(code.explore_code(kind=kind, lam=lam))
    fit = reg.fit_regression(kind, reg.snap_to_sweep(lam), 0)   # reg.explore's "fit", without its 21-network sweeps
    expected = {"train_loss": fit.train_loss, "val_loss": fit.val_loss,
                "exact_zero_fraction": fit.sparsity.exact_zero_fraction,
                "below_1e-3_fraction": fit.sparsity.below_small_fraction, "l2_norm": fit.l2_norm}
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        assert close(printed[name], value), (name, printed[name], value)


@pytest.mark.parametrize("radius", [0.8, 2.0])
def test_geometry_script_matches_panel(radius):
    printed = run_script(code.geometry_code(radius=radius))
    g = reg.geometry(radius)
    for norm in ("l1", "l2"):
        assert close(printed[f"{norm}_w1"], g[norm]["w"][0])
        assert close(printed[f"{norm}_w2"], g[norm]["w"][1])
        assert close(printed[f"{norm}_loss"], g[norm]["level"])


@pytest.mark.parametrize("lam, seed", [(10 ** -1.25, 0), (0.3, 2)])
def test_lasso_script_matches_panel(lam, seed):
    printed = run_script(code.lasso_code(lam=lam, seed=seed))
    selection = reg.lasso_panel(lam, seed)["selection"]
    assert printed["relevant_kept"] == selection["relevant_kept"]
    assert printed["false_positives"] == selection["false_positives"]
    assert close(printed["theory_lambda"], reg.lasso_theory_lambda(1.0, 50, 100))


@pytest.mark.parametrize("optimizer, when, lam, seed", [("sgd", "before", 1e-2, 0), ("adam", "after", 1e-3, 1)])
def test_decay_script_matches_panel(optimizer, when, lam, seed):
    printed = run_script(code.decay_code(optimizer=optimizer, when=when, lam=lam, seed=seed))
    result = reg.decay_trajectories(optimizer, lam, steps=100, when=when, seed=seed, width=16, record_every=2)
    a, b = result["w_loss"], result["w_step"]
    assert close(printed["rel_gap"], float(np.linalg.norm(a - b) / np.linalg.norm(a)))
    assert close(printed["max_gap"], float(np.abs(a - b).max()))
