"""Lesson 3's "code" scripts (helpers/overfitting_code.py) print the numbers its panels compute.

Each script runs in a fresh interpreter (`code_export.run_script`: one thread, this process's numeric path);
every number it prints is compared with the panel's own compute for the same setting and seed: trained
quantities to rel 1e-4 / abs 1e-6, counts and chosen widths or degrees exactly.
"""

import math

import numpy as np
import pytest

from helpers import capacity, digits, overfitting_code, remedies
from helpers.code_export import run_script


def close(script_value: float, panel_value: float) -> bool:
    return math.isclose(script_value, float(panel_value), rel_tol=1e-4, abs_tol=1e-6)


@pytest.mark.parametrize("degree, noise, n_train, seed", [(3, 0.25, 20, 0), (18, 0.5, 10, 1)])
def test_polynomial_script_matches_the_panel(degree, noise, n_train, seed):
    printed = run_script(overfitting_code.polynomial_code(degree=degree, noise=noise, n_train=n_train, seed=seed))
    _, sweep = capacity.polynomial_panel(degree, noise, n_train, seed)
    assert printed["best_degree"] == sweep.best_degree
    if degree < n_train:
        assert close(printed["train_mse"], sweep.train_mse[degree])
        assert close(printed["val_mse"], sweep.val_mse[degree])
    else:  # the panel shows "needs more than n points": no fit, and the script prints none
        assert set(printed) == {"best_degree"}


@pytest.mark.parametrize("width_index, n_train, epochs, seed", [(3, 160, 400, 0), (5, 40, 150, 1)])
def test_widths_script_matches_the_panel(width_index, n_train, epochs, seed):
    printed = run_script(overfitting_code.widths_code(width_index=width_index, n_train=n_train, epochs=epochs,
                                                      seed=seed))
    _, fam, _, _ = capacity.explore_widths(width_index, n_train, epochs, seed)
    at = int(np.searchsorted(fam.steps, epochs))
    assert close(printed["train_loss"], fam.train_loss[at, width_index])
    assert close(printed["val_loss"], fam.val_loss[at, width_index])
    assert printed["lowest_val_width"] == capacity.lowest_validation_width(fam, epochs)


@pytest.mark.parametrize("n_train, width, jitter, patience, seed",
                         [(50, 256, 0.0, 50, 0), (100, 32, 0.30000000000000004 - 0.2, 0, 1)])
def test_remedies_script_matches_the_panel(n_train, width, jitter, patience, seed):
    printed = run_script(overfitting_code.remedies_code(n_train=n_train, width=width, jitter=jitter,
                                                        patience=patience, seed=seed))
    run, best, stop, _ = remedies.panel(n_train, width, jitter, patience, seed)
    h = run.history
    assert close(printed["final_train_loss"], h.train_loss[-1])
    assert close(printed["final_val_loss"], h.val_loss[-1])
    assert close(printed["gap"], h.final_gap)
    assert close(printed["final_val_acc"], h.val_acc[-1])
    if patience:
        assert printed["restored_update"] == h.step[best]
        assert printed["stop_update"] == h.step[stop]
        assert close(printed["restored_val_loss"], h.val_loss[best])
    else:
        assert "restored_update" not in printed


@pytest.mark.parametrize("kind, n_train", [("shift+noise", 50), ("shift", 100)])
def test_digits_script_matches_the_panel(kind, n_train):
    printed = run_script(overfitting_code.digits_code(kind=kind, n_train=n_train))  # the panel's sigma 0.2, 10 seeds
    base, result = (digits.train_mlps(n_train, k, 0.2, seeds=tuple(range(10)), steps=200) for k in ("none", kind))
    gains = digits.paired_gains(result, base)
    assert close(printed["none_test_acc"], base.mean_acc)
    assert close(printed["kind_test_acc"], result.mean_acc)
    assert close(printed["gain_points"], 100 * gains.mean())
    assert printed["seeds_that_gain"] == (gains > 0).sum()


def test_scripts_need_no_course_code():
    scripts = [overfitting_code.polynomial_code(3, 0.25, 20), overfitting_code.widths_code(3, 160, 400),
               overfitting_code.remedies_code(50, 256, 0.0, 50), overfitting_code.digits_code("shift", 50)]
    for source in scripts:
        assert "helpers" not in source.replace(str(digits.DATA_FILE.resolve()), "")
        compile(source, "script.py", "exec")


@pytest.mark.parametrize("build, kwargs", [
    (overfitting_code.polynomial_code, {"degree": -1, "noise": 0.25, "n_train": 20}),
    (overfitting_code.widths_code, {"width_index": 7, "n_train": 40, "epochs": 400}),
    (overfitting_code.widths_code, {"width_index": 0, "n_train": 40, "epochs": 75}),
    (overfitting_code.remedies_code, {"n_train": 50, "width": 256, "jitter": -0.1, "patience": 50}),
    (overfitting_code.digits_code, {"kind": "rotate", "n_train": 50}),
    (overfitting_code.digits_code, {"kind": "noise", "n_train": 50, "sigma": 1.5}),
])
def test_bad_settings_are_rejected(build, kwargs):
    with pytest.raises(ValueError):
        build(**kwargs)
