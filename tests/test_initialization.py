"""Unit tests of helpers/initialization.py and helpers/initialization_plots.py (lesson 1):
the theory, the measurements, the checker, the panels."""

import math

import matplotlib
import numpy as np
import pytest
import torch

from helpers import init
from helpers import initialization as lesson
from helpers import initialization_plots as panels

matplotlib.use("Agg")


# --- the theory -----------------------------------------------------------------------------------

def test_gaussian_expectation_is_exact_for_moments():
    assert lesson.gaussian_expectation(lambda u: u**2, 0.0, 2.5) == pytest.approx(2.5)
    assert lesson.gaussian_expectation(lambda u: u**4, 0.0, 1.0) == pytest.approx(3.0)
    assert lesson.gaussian_expectation(lambda u: u, 1.5, 4.0) == pytest.approx(1.5)
    relu2 = lesson.gaussian_expectation(lambda u: np.maximum(u, 0) ** 2, 0.0, 3.0)
    assert relu2 == pytest.approx(1.5)  # ReLU halves the second moment


def test_recursion_reduces_to_the_linear_formulas():
    linear = lesson.moment_recursion("linear", 5, gain2=1.0, input_second_moment=2.0)
    assert linear.pre_std == pytest.approx([math.sqrt(2.0)] * 5)
    he = lesson.moment_recursion("relu", 5, gain2=2.0)
    assert he.pre_std == pytest.approx([math.sqrt(2.0)] * 5)  # level
    assert he.grad_rms == pytest.approx([1.0] * 5)
    xavier = lesson.moment_recursion("relu", 5, gain2=1.0)
    assert xavier.pre_std[1:] / xavier.pre_std[:-1] == pytest.approx([1 / math.sqrt(2)] * 4)
    default = lesson.moment_recursion("relu", 60, gain2=1 / 3, bias_var=1 / 768)
    assert default.pre_std[-1] == pytest.approx(math.sqrt(1.2 / 768), rel=1e-3)  # fixed point q = q/6 + Var(b)


def test_scheme_gain2_uses_shared_weight_variance():
    assert lesson.scheme_gain2("he_normal", 256) == pytest.approx(2.0)
    assert lesson.scheme_gain2("xavier_normal", 256) == pytest.approx(1.0)
    assert lesson.scheme_gain2("pytorch_default", 256) == pytest.approx(1 / 3)
    assert lesson.scheme_gain2("normal", 100, std=0.1) == pytest.approx(1.0)
    assert lesson.scheme_gain2("xavier_normal", 256, gain=5 / 3) == pytest.approx(25 / 9)


# --- the measurements ------------------------------------------------------------------------------

def test_layer_statistics_shapes_and_determinism():
    a = lesson.layer_statistics("he_normal", "relu", depth=7, width=64, seed=3)
    b = lesson.layer_statistics("he_normal", "relu", depth=7, width=64, seed=3)
    for name in ("pre_std", "post_std", "across_std", "cos_sim", "dead", "saturated", "grad_rms"):
        assert getattr(a, name).shape == (7,)
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.hist_layers == [1, 3, 7] and len(a.hist_counts) == 3
    assert a.hist_counts[0].sum() == pytest.approx(1.0)
    assert a.grad_rms[-1] == pytest.approx(1.0, rel=0.05)


def test_pytorch_default_weights_match_nn_linear_statistics():
    # The explorer draws U(-1/sqrt n, 1/sqrt n) weights and biases from erf of normals: same variance as nn.Linear.
    draws = lesson._random_draws(0)[0][0, :256, :256]
    w = lesson._weight(lesson._random_draws(0)[0], 0, 256, "pytorch_default", math.sqrt(1 / 768))
    assert w.abs().max() <= 1 / 16
    assert float(w.double().var()) == pytest.approx(1 / 768, rel=0.03)
    assert draws.shape == (256, 256)


def test_zero_weights_give_zero_std_and_a_message():
    s = lesson.layer_statistics("zeros", "tanh", depth=5, width=32)
    assert np.all(s.post_std == 0)
    fig = panels.ExplorerFigure()
    fig.draw(s, scheme="zeros", activation="tanh")
    assert "std 0" in fig.notes["std"].get_text() and fig.notes["std"].get_visible()


def test_overflow_stops_the_measurement_and_says_so():
    s = lesson.layer_statistics("normal", "relu", depth=100, width=256, std=1.0)
    assert s.stopped_at is not None and "overflow" in s.stop_reason
    assert np.all(np.isnan(s.post_std[s.stopped_at - 1:]))
    assert np.all(np.isfinite(s.post_std[: s.stopped_at - 1]))
    fig = panels.ExplorerFigure()
    fig.draw(s, scheme="normal", activation="relu", std=1.0)
    assert "overflow" in fig.notes["std"].get_text()


def test_mean_cosine_similarity():
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert lesson.mean_cosine_similarity(h) == pytest.approx(1 / 3)  # pairs: 0, 1, 0 (each counted twice)
    assert lesson.mean_cosine_similarity(torch.ones(5, 3)) == pytest.approx(1.0)
    assert math.isnan(lesson.mean_cosine_similarity(torch.zeros(4, 3)))
    with pytest.raises(ValueError, match="h"):
        lesson.mean_cosine_similarity(torch.ones(3))


def test_unit_spread():
    layer = torch.nn.Linear(3, 4)
    init.constant_(layer.weight, 0.5)
    assert lesson.unit_spread(layer) == 0.0
    init.xavier_normal_(layer.weight)
    assert lesson.unit_spread(layer) > 0.1
    with pytest.raises(ValueError, match="layer"):
        lesson.unit_spread(torch.nn.ReLU())


def test_geometric_ratio_and_fmt():
    assert lesson.geometric_ratio([1.0, 0.5, 0.25], 1, 3) == pytest.approx(0.5)
    assert lesson.fmt(float("nan")) == "-"
    assert lesson.fmt([0.5, 1e-9]) == "[0.5 1.0e-09]"


# --- the checker ---------------------------------------------------------------------------------------

def _normal_with(var_of):
    def fn(weight):
        with torch.no_grad():
            return weight.normal_(0.0, math.sqrt(var_of(*weight.shape)))
    return fn


def test_check_he_init_accepts_he_and_torch_kaiming():
    assert lesson.check_he_init(_normal_with(lambda out, inp: 2 / inp)).ok
    assert lesson.check_he_init(lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")).ok
    assert lesson.check_he_init(lambda w: torch.randn(w.shape) * math.sqrt(2 / w.shape[1])).ok  # returns a new tensor


@pytest.mark.parametrize("var_of,phrase", [
    (lambda out, inp: 2 / out, "fan_out"),
    (lambda out, inp: 1 / inp, "LeCun"),
    (lambda out, inp: 2 / (inp + out), "Xavier"),
    (lambda out, inp: (2 / inp) ** 2, "std is sqrt"),
    (lambda out, inp: 1.0, "ignores the layer's size"),
])
def test_check_he_init_names_the_mistake(var_of, phrase):
    result = lesson.check_he_init(_normal_with(var_of))
    assert not result.ok and phrase in result.message


def test_check_he_init_other_failures():
    assert "uniform" in lesson.check_he_init(lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")).message
    assert "random" in lesson.check_he_init(lambda w: torch.nn.init.constant_(w, 0.1)).message
    assert "old values" in lesson.check_he_init(lambda w: None).message
    assert "ZeroDivisionError" in lesson.check_he_init(lambda w: 1 / 0).message
    shifted = lesson.check_he_init(lambda w: torch.nn.init.normal_(w, 0.1, math.sqrt(2 / w.shape[1])))
    assert "mean" in shifted.message
    fixed = lesson.check_he_init(lambda w: w.copy_(torch.randn(w.shape, generator=torch.Generator().manual_seed(0))
                                                   * math.sqrt(2 / w.shape[1])))
    assert "same numbers" in fixed.message
    assert "Passed" in lesson.check_he_init(_normal_with(lambda out, inp: 2 / inp))._repr_html_()


# --- bad arguments ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,name", [
    (lambda: lesson.layer_statistics(scheme="kaiming"), "scheme"),
    (lambda: lesson.layer_statistics(activation="gelu"), "activation"),
    (lambda: lesson.layer_statistics(depth=0), "depth"),
    (lambda: lesson.layer_statistics(depth=101), "depth"),
    (lambda: lesson.layer_statistics(width=1000), "width"),
    (lambda: lesson.layer_statistics(std=-1.0), "std"),
    (lambda: lesson.layer_statistics(input_scale=-1.0), "input_scale"),
    (lambda: lesson.layer_statistics(bias=float("nan")), "bias"),
    (lambda: lesson.layer_statistics(seed=-1), "seed"),
    (lambda: lesson.layer_statistics(depth=5, hist_layers=[6]), "hist_layers"),
    (lambda: lesson.moment_recursion("relu", 0, 2.0), "depth"),
    (lambda: lesson.moment_recursion("relu", 3, -2.0), "gain2"),
    (lambda: lesson.gaussian_expectation(np.square, 0.0, -1.0), "var"),
    (lambda: lesson.phi("swish", np.zeros(2)), "activation"),
    (lambda: lesson.train_scheme("Kaiming"), "scheme"),
    (lambda: lesson.train_scheme(depth=1), "depth"),
    (lambda: lesson.train_scheme(optimizer="rmsprop"), "optimizer"),
    (lambda: lesson.symmetry_experiment(weights="zeros"), "weights"),
    (lambda: lesson.symmetry_experiment(biases="random"), "biases"),
    (lambda: lesson.zero_init_gradients(depth=1), "depth"),
    (lambda: lesson.linear_default_variances(fan_in=0), "fan_in"),
    (lambda: lesson.one_layer_check(n_samples=1), "n_samples"),
    (lambda: lesson.geometric_ratio([1, 2], 2, 2), "last"),
    (lambda: lesson.check_he_init("he"), "fn"),
    (lambda: panels.draw_activation_near_zero(None, "elu"), "activation"),
])
def test_bad_arguments_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- the panels ----------------------------------------------------------------------------------------------

def _one_step_right(widget):
    if hasattr(widget, "options"):
        values = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        return values[(values.index(widget.value) + 1) % len(values)]
    if widget.__class__.__name__ == "FloatLogSlider":
        return min(widget.base ** (math.log(widget.value, widget.base) + widget.step), widget.base ** widget.max)
    return min(widget.value + widget.step, widget.max)


@pytest.mark.parametrize("factory", [panels.explorer_panel, panels.training_panel, panels.layers_panel])
def test_every_control_moves_without_error(factory):
    panel = factory()
    for name, widget in panel.controls.items():
        panel.set(**{name: _one_step_right(widget)})
        assert panel.error.value == "", (name, panel.error.value)
        panel.reset()
    assert panel.error.value == ""


def test_explorer_handles_every_scheme_and_activation():
    panel = panels.explorer_panel(depth=12, width=64)
    for scheme in lesson.EXPLORER_SCHEMES:
        for activation in lesson.ACTIVATIONS:
            panel.set(scheme=scheme, activation=activation, std=1.0)
            assert panel.error.value == "", (scheme, activation, panel.error.value)
    panel.fig.canvas.draw()


def test_training_panel_marks_divergence():
    panel = panels.training_panel(scheme="N(0, 1)")
    history = panel.last_result[2]
    assert history.diverged
    texts = [t.get_text() for ax in panel.fig.axes for t in ax.texts]
    assert any("diverged" in t for t in texts)


def test_explorer_sigma_slider_always_changes_the_plot():
    # Under another scheme sigma changes nothing computed; the title says so and shows its value (no stray line).
    figure = panels.ExplorerFigure()
    stats = lesson.explorer_compute(scheme="xavier_normal", activation="tanh", depth=10, width=64, std=0.01)
    figure.draw(stats, scheme="xavier_normal", activation="tanh", std=0.01, width=64)
    first = figure.ax_std.get_title()
    figure.draw(stats, scheme="xavier_normal", activation="tanh", std=0.0178, width=64)
    assert first != figure.ax_std.get_title() and "only" in first
    labels = [line.get_label() for line in figure.ax_std.get_lines()]
    assert not any("N(0, σ²)" in label for label in labels)
    figure.draw(lesson.explorer_compute(scheme="normal", activation="relu", depth=10, width=256, std=0.1),
                scheme="normal", activation="relu", std=0.1, width=256)
    assert "n·σ² = 2.56" in figure.ax_std.get_title()


def test_explorer_legend_sits_above_the_dead_unit_curve_at_depth_100():
    figure = panels.ExplorerFigure()
    stats = lesson.explorer_compute(scheme="he_normal", activation="relu", depth=100, width=256)
    figure.draw(stats, scheme="he_normal", activation="relu", width=256)
    figure.fig.canvas.draw()
    ax = figure.ax_frac
    legend_box = ax.get_legend().get_window_extent().transformed(ax.transData.inverted())
    assert legend_box.y0 > 1.0  # every curve lies in [0, 1]
    assert np.nanmax(stats.cos_sim) <= 1.0 + 1e-6 and np.nanmax(stats.dead) <= 1.0


def test_explorer_says_the_cosine_similarity_is_undefined_for_zeros():
    figure = panels.ExplorerFigure()
    for activation, undefined in (("relu", True), ("tanh", True), ("sigmoid", False)):
        stats = lesson.explorer_compute(scheme="zeros", activation=activation, depth=5, width=32)
        figure.draw(stats, scheme="zeros", activation=activation, width=32)
        assert figure.notes["frac"].get_visible() == undefined, activation
        assert ("undefined" in figure.notes["frac"].get_text()) == undefined
        drawn = figure.cos_line.get_xydata()
        assert np.isfinite(drawn[:, 1]).sum() == (0 if undefined else 5)


def test_comparison_figure_keeps_its_legend_off_the_curves_and_uses_linear_axes_below_a_decade():
    runs = {name: lesson.train_scheme(name, "relu", 3, "sgd", steps=10, eval_every=5)[2] for name in ("He", "zeros")}
    fig = panels.comparison_figure({"left": runs, "right": runs})
    fig.canvas.draw()
    ax = fig.axes[1]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # to the right of the axes, over no line
    assert fig.axes[0].get_legend() is None
    assert ax.get_yscale() == "linear"  # 10 steps: the losses span less than a decade
    spread = {"He": runs["He"], "N(0, 1) (tanh)": lesson.train_scheme("N(0, 1)", "tanh", 10, "sgd", steps=150)[2]}
    fig = panels.comparison_figure({"only": spread})
    assert fig.axes[0].get_yscale() == "log"


def test_training_panel_uses_a_linear_axis_when_the_losses_span_less_than_a_decade():
    panel = panels.training_panel(scheme="zeros")
    assert panel.fig.axes[0].get_yscale() == "linear"
    panel.set(scheme="He", optimizer="adam")
    assert panel.fig.axes[0].get_yscale() == "log"


def test_symmetry_biases_are_what_the_argument_says():
    for biases, value in (("constant", lesson.SYMMETRY_CONSTANT), ("zero", 0.0)):
        result = lesson.symmetry_experiment(weights="random", biases=biases, steps=1, lr=1e-12, seed=0)
        biases_seen = [float(v) for n, b in result.model.named_parameters() if n.endswith("bias") for v in b.detach()]
        assert biases_seen and all(abs(b - value) < 1e-6 for b in biases_seen)


def test_symmetry_boundary_figure():
    result = lesson.symmetry_experiment(weights="random", steps=20, seed=0)
    fig, ax = panels.plots.figure(1, 1)
    panels.draw_symmetry_boundary(ax, result, "random")
    assert "training loss" in ax.get_title() and ax.get_xlabel()
    with pytest.raises(ValueError, match="result"):
        panels.draw_symmetry_boundary(ax, lesson.SymmetryResult([0.0], [0.0], 0.5), "bare")


# --- tables and verdicts ------------------------------------------------------------------------------------------

def test_depth_table_prints_measured_and_recursion_values():
    results, table = lesson.depth_table({"He": dict(scheme="he_normal"), "tiny": dict(scheme="normal", std=0.01)},
                                        activation="relu", depth=12, width=64, layers=(1, 12), saturated=True)
    assert list(results) == ["He", "tiny"] and results["He"].post_std.shape == (12,)
    lines = table.splitlines()
    assert len(lines) == 3 and "std h_12" in lines[0] and "gradient at layer 1" in lines[0]
    assert f"{lesson.fmt(results['He'].post_std[11])} ({lesson.fmt(results['He'].theory.post_std[11])})" in lines[1]
    with pytest.raises(ValueError, match="layers"):
        lesson.depth_table({"He": dict(scheme="he_normal")}, activation="relu", depth=5, layers=(6,))
    with pytest.raises(ValueError, match="settings"):
        lesson.depth_table({}, activation="relu")


def _history(train_loss, val_loss, diverged_at=None):
    from helpers import train
    return train.History(step=[0, 1], train_loss=train_loss, val_loss=val_loss, val_acc=[0.5, 0.9],
                         diverged_at=diverged_at)


def test_verdict_judges_by_both_losses():
    assert lesson.verdict(_history([0.7, 0.1], [0.7, 0.3])) == "learns"
    assert lesson.verdict(_history([0.7, 0.1], [0.7, 2.0])) == "overfits"
    assert lesson.verdict(_history([0.7, 0.6935], [0.7, 0.69])) == "stalled"
    assert lesson.verdict(_history([1e6, 178.0], [1e6, 5e4])) == "loss high"  # a hundredth of the start is not learning
    assert lesson.verdict(_history([1e6, 0.0], [1e6, 5e4])) == "overfits"
    assert lesson.verdict(_history([0.7, float("nan")], [0.7, 0.7], diverged_at=1)) == "diverged"


def test_comparison_table_shows_validation_loss():
    runs = {"SGD": {"He": _history([0.7, 0.1], [0.7, 0.3])}, "Adam": {"He": _history([0.7, 0.0], [0.7, 5e4])}}
    table = lesson.comparison_table(runs, "title")
    assert "val loss" in table.splitlines()[0] and "5e+04" in table and "overfits" in table


def test_traced_run_is_the_training_panels_run_bit_for_bit():
    # The recorder draws no random numbers and runs in eval mode without gradients: training is unchanged.
    _, _, plain = lesson.train_scheme("He", "relu", 4, "sgd", steps=30, seed=1)
    _, _, history, trace = lesson.traced_run("He", "relu", 4, "sgd", seed=1, steps=30, every=10)
    assert history.train_loss == plain.train_loss and history.val_loss == plain.val_loss
    assert list(trace.steps) == [0, 10, 20, 30]
    assert trace.hist.shape == (3, 4, lesson.TRACE_BINS)
    assert (trace.hist.sum(axis=2) == 128 * 64).all()  # every value of every layer lands in one bin


def test_activation_recorder_measures_near_zero_mean_and_std():
    from torch import nn
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1e-5], [-1.0, 0.0]]))
        model[0].bias.zero_()
    probe = torch.tensor([[1.0, 1.0], [3.0, 2.0]])
    recorder = lesson.ActivationRecorder(probe, every=2)
    recorder(1, model)  # not a recorded step
    recorder(2, model)
    trace = recorder.trace()
    h = torch.relu(probe @ model[0].weight.detach().T)  # units 2 (< 1e-3) and 3 (0) near 0
    assert list(trace.steps) == [2]
    assert trace.near_zero[0, 0] == pytest.approx(2 / 3)
    assert trace.mean[0, 0] == pytest.approx(float(h.mean()))
    assert trace.std[0, 0] == pytest.approx(float(h.std(unbiased=False)), rel=1e-6)
    # log10 |h| bins over [-8, 2]: the two zeros in the lowest bin, 1e-5 and 2e-5 in the bin of -5 and -4.7
    edges = trace.log10_edges
    assert trace.hist[0, 0, 0] == 2
    assert trace.hist[0, 0, np.searchsorted(edges, -5.0, side="right") - 1] >= 1
    with pytest.raises(ValueError, match="every"):
        lesson.ActivationRecorder(probe, every=0)


def test_layers_panel_draws_every_layer_choice_and_a_diverged_run():
    panel = panels.layers_panel(depth=4)
    for layer in ("first", "middle", "last"):
        panel.set(layer=layer)
        assert panel.error.value == ""
    panel.set(scheme="N(0, 1)", depth=10)
    assert panel.error.value == ""
    assert any("diverged" in t.get_text() for ax in panel.fig.axes for t in ax.texts if t.get_visible())
    panel.fig.canvas.draw()


def test_signal_split_separates_the_bias_from_the_input_dependent_part():
    # a layer whose weights are 0 outputs its bias for every input: pooled std > 0, std across inputs exactly 0
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor([1.0, 3.0, -2.0]))
    pooled, signal, zero = lesson._split_of(model, torch.randn(5, 2))
    assert pooled[0] == pytest.approx(np.std([1.0, 3.0, 0.0])) and signal[0] == 0.0
    assert zero[0] == pytest.approx(1 / 3)  # the unit with bias -2 is exactly 0 on every input
    # the ordinary case: the std across inputs is the rms over units of each unit's std over inputs
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh())
    X = torch.randn(50, 2)
    h = model(X).detach().numpy()
    pooled, signal, _ = lesson._split_of(model, X)
    assert signal[0] == pytest.approx(math.sqrt(h.var(axis=0).mean()), rel=1e-5)
    assert pooled[0] == pytest.approx(h.std(), rel=1e-5)


def test_signal_table_and_initial_model():
    result = lesson.SignalSplit(*(np.array([0.5, 1e-9]),) * 4, np.array([0.0, 0.25]), np.array([0.0, 0.5]))
    text = lesson.signal_table(result)
    assert "1.0e-09 -> 1.0e-09" in text and "25% -> 50%" in text and len(text.splitlines()) == 3
    # initial_model is traced_run's network before training: the same pooled std as its first record
    trace = lesson.traced_run("He", "relu", 3, "sgd", seed=1, steps=10)[3]
    pooled, _, _ = lesson._split_of(lesson.initial_model("He", "relu", 3, seed=1), lesson.moons_split(1).X_train)
    np.testing.assert_allclose(pooled, trace.std[:, 0], rtol=1e-5)
    with pytest.raises(ValueError):
        lesson.initial_model("nope", "relu", 3)


def test_init_gradients_output_bias_is_the_mean_error():
    # dL/db of the output = mean over inputs of (sigmoid(logit) - y) for the mean binary cross-entropy
    grads = lesson.init_gradients("He", "relu", 3, seed=0)
    model, split = lesson.initial_model("He", "relu", 3, seed=0), lesson.moons_split(0)
    with torch.no_grad():
        p = torch.sigmoid(model(split.X_train).reshape(-1))
    assert grads["bias"][-1] == pytest.approx(abs((p - split.y_train.float().reshape(-1)).mean().item()), rel=1e-4)
    assert len(grads["weight"]) == 3 and grads["logit_std"] > 0
