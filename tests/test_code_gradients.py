"""Lesson 2's "code" buttons: each generated script, run in a fresh interpreter, prints its panel's numbers.

For two settings of each panel (the default and one other), `run_script(<panel>_code(...))` is compared with the
panel's own compute at the same setting and seed: float64 one-pass quantities and trained quantities within
rel 1e-4 / abs 1e-6, counts exactly.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from helpers import gradients as G
from helpers import gradients_code as GC
from helpers.code_export import run_script

FLOW = [dict(depth=50, width=256, activation="relu", init="he_normal", gain=1.0),
        dict(depth=20, width=64, activation="sigmoid", init="xavier_normal", gain=1.3)]
TRAINING = [dict(depth=15, activation="relu", init="he_normal", gain=1.3, optimizer="sgd", lr=0.1, clip_norm="off"),
            dict(depth=6, activation="tanh", init="xavier_normal", gain=1.0, optimizer="adam", lr=0.01, clip_norm="1")]
LAYERS = [dict(depth=15, activation="sigmoid", init="xavier_normal", gain=1.0, optimizer="sgd", lr=0.1,
               clip_norm="off", layer=1),
          dict(depth=15, activation="relu", init="he_normal", gain=1.3, optimizer="sgd", lr=0.1, clip_norm="1",
               layer=8)]


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


@pytest.fixture(scope="module")
def printed():
    """Every script's printed numbers, two scripts at a time (each runs on one thread)."""
    jobs = {("flow", i): GC.flow_code(**s, seed=0) for i, s in enumerate(FLOW)}
    jobs |= {("training", i): GC.training_code(**s, seed=1 if i else 0) for i, s in enumerate(TRAINING)}
    jobs |= {("layers", i): GC.layers_code(**s, seed=0) for i, s in enumerate(LAYERS)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(jobs, pool.map(run_script, jobs.values()), strict=True))
    return results


def test_scripts_import_no_course_code():
    for source in (GC.flow_code(**FLOW[0], seed=0), GC.training_code(**TRAINING[0], seed=0),
                   GC.layers_code(**LAYERS[0], seed=0)):
        assert "helpers" not in source.replace('"helpers"', "")
        assert "import torch" in source


@pytest.mark.parametrize("i", range(len(FLOW)))
def test_flow_script_matches_the_panel(printed, i):
    out, f = printed[("flow", i)], G.flow(**FLOW[i], seed=0)
    expected = {"signal_first": f.signal[0], "signal_last": f.signal[-1], "signal_first_over_last": f.ratio,
                "weight_grad_first": f.weight[0], "weight_grad_last": f.weight[-1],
                "forward_std_first": f.forward_std[0], "forward_std_last": f.forward_std[-1]}
    assert set(out) == set(expected)
    for name, value in expected.items():
        assert _close(out[name], value), (name, out[name], value)


@pytest.mark.parametrize("i", range(len(TRAINING)))
def test_training_script_matches_the_panel(printed, i):
    seed = 1 if i else 0
    out, run = printed[("training", i)], G.panel_run(**TRAINING[i], seed=seed)
    assert out["diverged"] == float(run.diverged)
    if run.diverged:
        assert out["diverged_at"] == run.diverged_at  # a count: exact
    assert _close(out["final_val_acc"], run.val_acc[-1])
    mean = run.mean_update_ratio
    for k in (0, len(mean) - 1):
        name = f"mean_update_ratio_layer{k + 1}"
        if np.isfinite(mean[k]):
            assert _close(out[name], mean[k]), (name, out[name], mean[k])
        else:
            assert name not in out


@pytest.mark.parametrize("i", range(len(LAYERS)))
def test_layers_script_matches_the_panel(printed, i):
    settings = LAYERS[i]
    layer = settings["layer"]
    run = G.panel_run(**{k: v for k, v in settings.items() if k != "layer"}, seed=0)
    out, rec = printed[("layers", i)], run.layers
    ratio = rec.first_last_ratio()
    assert out["updates_recorded"] == len(rec.step)  # a count: exact
    expected = {"first_over_last_min": ratio.min(), "first_over_last_max": ratio.max(),
                f"mean_abs_g_layer{layer}_first_update": rec.mean_abs[0, layer - 1],
                f"mean_abs_g_layer{layer}_last_update": rec.mean_abs[-1, layer - 1],
                f"std_g_layer{layer}_last_update": rec.std[-1, layer - 1],
                f"near_zero_share_layer{layer}_first_update": rec.near_zero[0, layer - 1],
                f"near_zero_share_layer{layer}_last_update": rec.near_zero[-1, layer - 1]}
    for name, value in expected.items():
        assert math.isclose(out[name], value, rel_tol=1e-4, abs_tol=0 if value < 1e-6 else 1e-6), \
            (name, out[name], value)
