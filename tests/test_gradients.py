"""Unit tests of helpers.gradients (lesson 2): shapes, exact identities, bad arguments."""

import math

import matplotlib
import numpy as np
import pytest
import torch

from helpers import gradients as G
from helpers import gradients_plots as GP
from helpers import plots

matplotlib.use("Agg")


def test_scalar_chain_is_a_power():
    g = G.scalar_chain(1.1, 50)
    assert g.shape == (51,)
    assert g[-1] == 1.0
    assert g[0] == pytest.approx(1.1**50, rel=1e-12)
    assert g[10] == pytest.approx(1.1**40, rel=1e-12)


def test_predicted_ratio():
    assert G.predicted_ratio(1.2, 30) == pytest.approx(1.2**29)
    assert G.predicted_ratio(0.5, 1) == 1.0


def test_flow_shapes_and_float64():
    f = G.flow(depth=5, width=16, activation="relu", init="he_normal", n_samples=8)
    for values in (f.signal, f.weight, f.forward_std):
        assert values.shape == (5,)
        assert values.dtype == np.float64
        assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert f.dead.shape == (4,) and f.saturated.shape == (4,)
    assert f.ratio == pytest.approx(f.signal[0] / f.signal[-1])


def test_flow_is_deterministic():
    a = G.flow(depth=6, width=16, activation="tanh", init="xavier_normal", seed=3, n_samples=8)
    b = G.flow(depth=6, width=16, activation="tanh", init="xavier_normal", seed=3, n_samples=8)
    np.testing.assert_array_equal(a.signal, b.signal)


def test_flow_float64_does_not_underflow():
    # sigmoid at depth 60: the first layer's signal is far below float32's range, still > 0 in float64
    f = G.flow(depth=60, width=32, activation="sigmoid", init="xavier_normal", n_samples=8)
    assert 0 < f.signal[0] < 1e-30


def test_preactivation_signal_last_layer_equals_signal():
    f = G.flow(depth=4, width=16, n_samples=8)
    pre = G.preactivation_signal(depth=4, width=16, n_samples=8)
    assert pre.shape == (4,)
    assert pre[-1] == pytest.approx(f.signal[-1], rel=1e-12)  # no activation after the last layer
    assert np.all(pre[:-1] <= f.signal[:-1] * (1 + 1e-12))  # relu' in {0, 1} can only shrink the norm


def test_linear_loss_starts_from_an_error_independent_of_the_network():
    # L = mean(output * y): dL/d output = y / N whatever the weights, so the first/last ratio of a bias-free ReLU
    # net scales exactly like gain^(L-1)
    X, y = G.random_regression(16, 8, seed=0)
    f = G.flow(depth=4, width=16, n_samples=8, loss="linear")
    assert f.signal[-1] == pytest.approx(y.norm().item() / y.numel(), rel=1e-6)
    g = G.flow(depth=4, width=16, n_samples=8, gain=1.5, loss="linear")
    assert g.signal[-1] == pytest.approx(f.signal[-1], rel=1e-12)
    assert g.ratio / f.ratio == pytest.approx(1.5**3, rel=1e-6)
    pre = G.preactivation_signal(depth=4, width=16, n_samples=8, loss="linear")
    assert pre[-1] == pytest.approx(f.signal[-1], rel=1e-12)


def test_gain_effect_is_gain_to_depth_minus_one_with_zero_targets():
    assert G.gain_effect(gain=1.2, depth=4, seed=0) == pytest.approx(G.predicted_ratio(1.2, 4), rel=1e-5)


def test_lesson_experiments_return_one_run_per_setting():
    failing = G.failing_network_runs(seed=0, steps=2)
    assert list(failing) == ["failing: He x 1.3, no clipping", "good init: He x 1.0", "He x 1.3 + clip norm 1.0"]
    assert all(run.steps == 2 for run in failing.values())
    assert len(G.residual_runs(seed=0, steps=2)) == len(G.RESIDUAL_MODES)
    assert list(G.gain_11_at_depth_50(seed=0, steps=1)) == G.GAIN_11_SETTINGS


def test_y_axis_is_linear_below_a_decade_and_log_above():
    fig, (a, b) = plots.figure(ncols=2)
    GP._fit_y(a, [0.4, 0.9], "std")
    assert a.get_yscale() == "linear" and a.get_ylabel() == "std"
    GP._fit_y(b, [1e-3, 1.0], "norm")
    assert b.get_yscale() == "log" and b.get_ylabel() == "norm (log scale)"
    GP._fit_y(b, [2.0, 3.0], "norm")
    assert b.get_yscale() == "linear"


def test_flow_explorer_tells_signal_and_weights_apart():
    fig, (a, b) = plots.figure(ncols=2)
    GP.draw_flow(a, b, G.flow(depth=3, width=8, n_samples=4), "he_normal")
    signal, weight = a.get_lines()[:2]
    assert signal.get_color() != weight.get_color()
    assert signal.get_marker() != weight.get_marker() and signal.get_linestyle() != weight.get_linestyle()


def test_depth_gain_map_shape():
    m = G.depth_gain_map([1, 3], [0.5, 1.0, 2.0], width=8, n_samples=4)
    assert m.shape == (2, 3)
    assert m[1, 2] > m[1, 0]


def test_training_run_records_update_ratios():
    run = G.training_run(depth=4, width=8, steps=6, eval_every=3, lr=0.05)
    assert run.update_ratio.shape == (6, 4)
    assert run.step == [0, 3, 6]
    assert len(run.step_loss) == 6 and np.all(np.isfinite(run.step_loss))
    assert np.all(run.update_ratio > 0)
    assert run.mean_update_ratio.shape == (4,)
    assert not run.diverged


def test_training_run_diverges_cleanly():
    run = G.training_run(depth=15, width=32, gain=1.3, lr=0.1, steps=30)
    assert run.diverged and run.diverged_at <= 5
    assert len(run.update_ratio) == run.diverged_at - 1
    fig, (a, b) = plots.figure(ncols=2)
    GP.draw_run(a, b, run)  # must not raise
    assert any("diverged at step" in t.get_text() for t in a.texts)


def test_clipping_bounds_the_step():
    run = G.training_run(depth=6, width=16, gain=1.5, lr=0.1, steps=3, clip_norm=0.5)
    assert run.grad_norm.shape == (3,)  # recorded before clipping


def test_residual_modes():
    x = torch.randn(5, 3)
    for mode in G.RESIDUAL_MODES:
        model = G.ResidualMLP(3, 8, 4, 2, mode=mode)
        assert model(x).shape == (5, 2)
        assert len(model.stream) == 5
    zero = G.ResidualMLP(8, 8, 3, 8, mode="residual_zero")
    h = zero.inp(x.new_ones(2, 8))
    torch.testing.assert_close(zero(x.new_ones(2, 8)), zero.out(h))  # every block starts as the identity


def test_residual_flow_shapes():
    std, signal = G.residual_flow(blocks=3, mode="residual_scaled", width=8, n_samples=4)
    assert std.shape == (4,) and signal.shape == (4,)


def test_gain_scaling_output_is_exact_power():
    s = G.gain_scaling(depth=4, gains=(0.5, 1.0, 2.0), width=16, n_samples=8)
    assert s.output_rms[2] / s.output_rms[1] == pytest.approx(2.0**4, rel=1e-9)


def test_big_step_fields():
    b = G.big_step(depth=4, gain=1.0, width=8)
    assert math.isfinite(b.loss_before) and b.best_lr > 0
    assert b.top_share_before.shape == (2,)


def test_draw_functions_run():
    fig, (a, b) = plots.figure(ncols=2)
    GP.draw_flow(a, b, G.flow(depth=3, width=8, n_samples=4), "he_normal")
    GP.draw_update_profiles(a, {"x": G.training_run(depth=3, width=8, steps=3)})
    grid = G.depth_gain_map([1, 2], [0.5, 1.0, 2.0], width=8, n_samples=4)
    GP.draw_map(b, grid, [1, 2], [0.5, 1.0, 2.0], reference=0.0)
    with pytest.raises(ValueError, match="values"):
        GP.draw_map(b, grid, [1, 2, 3], [0.5, 1.0, 2.0], reference=0.0)


@pytest.mark.parametrize("call, name", [
    (lambda: G.scalar_chain(0.0, 5), "gain"),
    (lambda: G.scalar_chain(1.1, 0), "depth"),
    (lambda: G.predicted_ratio(-1.0, 5), "gain"),
    (lambda: G.flow(depth=0), "depth"),
    (lambda: G.flow(depth=3, width=0), "width"),
    (lambda: G.flow(depth=3, activation="gelu"), "activation"),
    (lambda: G.flow(depth=3, init="orthogonal"), "init"),
    (lambda: G.flow(depth=3, gain=-1.0), "gain"),
    (lambda: G.flow(depth=3, width=8, n_samples=1), "n_samples"),
    (lambda: G.flow(depth=3, width=8, targets="ones"), "targets"),
    (lambda: G.flow(depth=3, width=8, loss="l1"), "loss"),
    (lambda: G.flows_at_depth_50("relu", "he_normal", 1.0, seeds=[]), "seeds"),
    (lambda: G.depth_gain_map([], [1.0]), "depths"),
    (lambda: G.depth_gain_map([2], []), "gains"),
    (lambda: G.training_run(depth=3, steps=0), "steps"),
    (lambda: G.training_run(depth=3, lr=0.0), "lr"),
    (lambda: G.training_run(depth=3, optimizer="rmsprop"), "optimizer"),
    (lambda: G.training_run(depth=3, clip_norm=0.0), "clip_norm"),
    (lambda: G.training_run(depth=3, optimizer="adam", eps=0.0), "eps"),
    (lambda: G.training_run(depth=3, dtype=torch.float16), "dtype"),
    (lambda: G.ResidualMLP(2, 8, 3, mode="dense"), "mode"),
    (lambda: G.ResidualMLP(2, 8, 0), "blocks"),
    (lambda: G.gain_scaling(gains=(1.0, -2.0)), "gains"),
    (lambda: G.big_step(lr=0.0), "lr"),
])
def test_bad_arguments_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_layer_record_matches_each_layers_gradient_at_the_recorded_updates():
    model = G.deep_mlp(4, 8, "relu", "he_normal", 1.0, in_features=2, out_features=1, bias=True, seed=0)
    split = G.moons_split(n=40, seed=0)
    run = G.train_recording(model, split, steps=5, lr=0.1, record_every=2)
    rec = run.layers
    assert list(rec.step) == [1, 3, 5]  # every 2 updates from update 1, and the last one
    assert rec.hist.shape == (3, 4, len(G.HIST_EDGES) - 1) and rec.mean_abs.shape == (3, 4)
    assert list(rec.size) == [16, 64, 64, 8]
    # the last record is the gradient of update 5: recompute it from the weights before that update
    fresh = G.deep_mlp(4, 8, "relu", "he_normal", 1.0, in_features=2, out_features=1, bias=True, seed=0)
    G.train_recording(fresh, split, steps=4, lr=0.1)
    from helpers.train import data_loss
    fresh.zero_grad()
    data_loss(fresh(split.X_train), split.y_train, "bce").backward()
    grads = [layer.weight.grad.double() for layer in G.linear_layers(fresh)]
    for k, g in enumerate(grads):
        a = g.abs().flatten()
        assert rec.mean_abs[-1, k] == pytest.approx(a.mean().item(), rel=1e-12)
        assert rec.std[-1, k] == pytest.approx(g.std().item(), rel=1e-9)
        assert rec.hist[-1, k].sum() == (a > 0).sum().item()
        expected = np.histogram(np.log10(a[a > 0].numpy()).clip(G.HIST_EDGES[0], G.HIST_EDGES[-1]), G.HIST_EDGES)[0]
        assert np.array_equal(rec.hist[-1, k], expected)
        threshold = G.NEAR_ZERO * grads[-1].abs().mean().item()
        assert rec.near_zero[-1, k] == pytest.approx((a < threshold).double().mean().item())
    assert rec.first_last_ratio()[-1] == pytest.approx(rec.mean_abs[-1, 0] / rec.mean_abs[-1, -1])


def test_no_recording_unless_asked_and_bad_record_every_raises():
    assert G.training_run(3, steps=2, width=4).layers is None
    with pytest.raises(ValueError, match="record_every"):
        G.training_run(3, steps=2, width=4, record_every=0)


def test_panel_run_is_shared_and_draw_layers_handles_divergence():
    run = G.panel_run(15, "relu", "he_normal", 1.3, "sgd", 0.1, "off", seed=0)
    assert G.panel_run(15, "relu", "he_normal", 1.3, "sgd", 0.1, "off", seed=0) is run  # trained once
    assert run.diverged and len(run.layers.step) == run.diverged_at - 1
    fig, axes = plots.figure(ncols=3, width=12)
    GP.draw_layers(*axes, run, layer=1)
    assert all("diverged" in ax.texts[0].get_text() for ax in axes)
    good = G.panel_run(4, "relu", "he_normal", 1.0, "sgd", 0.1, "off", seed=0)
    GP.draw_layers(*axes, good, layer=4)
    assert not any(ax.texts for ax in axes)
    assert axes[0].images[0].get_array().shape == (len(G.HIST_EDGES) - 1, 60)
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    with pytest.raises(ValueError, match="layer"):
        GP.draw_layers(*axes, good, layer=5)


def test_draw_layers_keeps_the_last_layer_colour_and_one_scale_for_every_layer():
    run = G.panel_run(4, "relu", "he_normal", 1.0, "sgd", 0.1, "off", seed=0)
    fig, axes = plots.figure(ncols=3, width=12)
    views = {}
    for layer in (1, 2, 4):
        GP.draw_layers(*axes, run, layer=layer)
        legend = [text.get_text() for text in axes[1].get_legend().get_texts()]
        views[layer] = (axes[0].images[0].get_clim(), axes[0].get_ylim(), legend)
    assert views[1][0] == views[2][0] == views[4][0]  # the same colour means the same count in every view
    assert views[1][1] == views[2][1] == views[4][1]
    assert views[2][2] == ["layer 1: mean |g|", "layer 2: mean |g|", "layer 4 (last): mean |g|"]
    assert views[4][2] == ["layer 1: mean |g|", "layer 4 (last): mean |g|"]  # not redrawn as plain "layer 4"
    assert views[1][2] == ["layer 1: mean |g|", "layer 4 (last): mean |g|"]
