"""Unit tests of helpers.regularization and helpers.regularization_plots (fast: tiny models, few steps)."""

import math

import matplotlib
import numpy as np
import pytest
import torch

from helpers import models, overfit, plots, train
from helpers import regularization as reg
from helpers import regularization_plots as rplots

matplotlib.use("Agg")


def tiny_model(seed=0):
    return models.mlp(3, [4], 1, activation="relu", seed=seed)


def test_penalties_cover_weights_only_unless_asked():
    model = tiny_model()
    weights = [model[0].weight, model[2].weight]
    assert [id(p) for p in reg.penalized_parameters(model)] == [id(p) for p in weights]
    assert len(reg.penalized_parameters(model, include_bias=True)) == 4
    expected_l2 = 0.3 / 2 * sum((w ** 2).sum() for w in weights)
    expected_l1 = 0.3 * sum(w.abs().sum() for w in weights)
    assert torch.isclose(reg.l2_penalty(0.3)(model), expected_l2)
    assert torch.isclose(reg.l1_penalty(0.3)(model), expected_l1)
    with_bias = reg.l1_penalty(0.3, include_bias=True)(model)
    assert with_bias > expected_l1


def test_l2_gradient_is_lambda_w_and_l1_gradient_is_lambda_sign_w():
    model = tiny_model()
    reg.l2_penalty(0.5)(model).backward()
    assert torch.allclose(model[0].weight.grad, 0.5 * model[0].weight)
    assert model[0].bias.grad is None
    model.zero_grad()
    reg.l1_penalty(0.5)(model).backward()
    assert torch.allclose(model[0].weight.grad, 0.5 * torch.sign(model[0].weight))


def test_prox_penalty_records_value_without_gradient():
    model = tiny_model()
    value = reg.make_penalty("l1_prox", 0.2)(model)
    assert not value.requires_grad
    assert torch.isclose(value, reg.l1_penalty(0.2)(model))
    assert reg.make_penalty("none", 0.2) is None


def test_soft_threshold():
    w = torch.tensor([-1.0, -0.05, 0.0, 0.02, 0.5])
    reg.soft_threshold_(w, 0.1)
    assert torch.equal(w, torch.tensor([-0.9, 0.0, 0.0, 0.0, 0.4]))


def test_proximal_step_is_soft_threshold_after_sgd_step_and_hook_is_removed():
    torch.manual_seed(0)
    model = tiny_model()
    x, y = torch.randn(8, 3), torch.randn(8)
    lam, lr = 0.05, 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    before = model[0].weight.detach().clone()
    loss = train.data_loss(model(x), y, "mse")
    loss.backward()
    grad = model[0].weight.grad.clone()
    with reg.proximal_l1(model, lam):
        opt.step()
    v = before - lr * grad
    expected = torch.sign(v) * torch.clamp(v.abs() - lr * lam, min=0)
    assert torch.allclose(model[0].weight, expected, atol=1e-7)
    # outside the block, a step is a plain step
    after = model[0].weight.detach().clone()
    opt.step()
    assert torch.allclose(model[0].weight, after - lr * grad, atol=1e-7)


def test_train_regularized_prox_gives_exact_zeros_and_records_penalty():
    split = overfit.regression_split(seed=0)
    model = overfit.big_model(in_features=1, width=16, seed=0)
    history = reg.train_regularized(model, split, "l1_prox", 1.0, steps=50, lr=1e-2, loss="mse", eval_every=10)
    assert reg.sparsity(model).exact_zero > 0
    assert len(history.penalty) == len(history.step)
    with pytest.raises(ValueError, match="penalty"):
        reg.train_regularized(model, split, "l2", 1.0, penalty=reg.l2_penalty(1.0), steps=1)


def test_sparsity_counts():
    s = reg.sparsity(np.array([0.0, 0.0, 1e-4, -5e-4, 0.1]))
    assert (s.n, s.exact_zero, s.below_small) == (5, 2, 4)
    assert s.exact_zero_fraction == pytest.approx(0.4)
    assert reg.sparsity(tiny_model()).n == 3 * 4 + 4


def test_decay_param_groups_leave_biases_alone():
    model = tiny_model()
    groups = reg.decay_param_groups(model, 0.01)
    assert groups[0]["weight_decay"] == 0.01 and all(p.dim() == 2 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0.0 and all(p.dim() == 1 for p in groups[1]["params"])


def test_l1_ball_projection():
    v = np.array([2.0, 0.5, -0.1])
    w = reg.project_l1_ball(v, 1.0)
    assert np.abs(w).sum() == pytest.approx(1.0)
    assert w[2] == 0.0
    assert np.array_equal(reg.project_l1_ball(np.array([0.1, 0.2]), 1.0), [0.1, 0.2])
    assert np.linalg.norm(reg.project_l2_ball(np.array([3.0, 4.0]), 1.0)) == pytest.approx(1.0)


def test_constrained_minimum_inside_ball_is_the_unconstrained_one():
    w = reg.constrained_minimum("l2", 5.0)
    assert np.allclose(w, reg.GEOMETRY_CENTER, atol=1e-6)


def test_lasso_matches_soft_threshold_for_an_orthogonal_design():
    n = 4
    X = np.sqrt(n) * np.eye(n)       # X^T X / n = I, so the lasso is soft(X^T y / n, lam)
    y = np.array([2.0, -0.3, 0.05, 1.0])
    w = reg.lasso(X, y, 0.2)
    z = X.T @ y / n
    assert np.allclose(w, np.sign(z) * np.maximum(np.abs(z) - 0.2, 0), atol=1e-8)


def test_theory_lambda():
    assert reg.lasso_theory_lambda(1.0, 50, 100) == pytest.approx(math.sqrt(2 * math.log(50) / 100))


def test_snap_to_sweep():
    assert reg.snap_to_sweep(9.99e-7) == 1e-6
    assert reg.snap_to_sweep(0.012) == 1e-2


def test_decay_trajectory_shapes_and_zero_lambda():
    r = reg.decay_trajectories("sgd", 0.0, steps=6, record_every=2, width=4)
    assert list(r["step"]) == [0, 2, 4, 6]
    assert np.all(r["rel_gap"] == 0.0)


@pytest.mark.parametrize("call, name", [
    (lambda: reg.l2_penalty(-1.0), "lam"),
    (lambda: reg.l1_penalty(float("nan")), "lam"),
    (lambda: reg.make_penalty("l3", 1.0), "kind"),
    (lambda: reg.penalized_parameters("model"), "model"),
    (lambda: reg.soft_threshold_(torch.zeros(2), -0.1), "threshold"),
    (lambda: reg.sparsity(np.array([])), "weights"),
    (lambda: reg.sparsity(np.ones(3), small=0.0), "small"),
    (lambda: reg.project_l1_ball(np.ones(2), -1.0), "radius"),
    (lambda: reg.constrained_minimum("linf", 1.0), "norm"),
    (lambda: reg.geometry(0.0), "radius"),
    (lambda: reg.lasso(np.ones((3, 2)), np.ones(2), 0.1), "X"),
    (lambda: reg.lasso_theory_lambda(1.0, 1, 10), "p"),
    (lambda: reg.sparse_regression(k=60, p=50), "k"),
    (lambda: reg.sgd_sparsity(lam=0.0), "lam"),
    (lambda: reg.sgd_sparsity(kinds=("l5",)), "kinds"),
    (lambda: reg.fit_regression("l2", -1.0), "lam"),
    (lambda: reg.lambda_sweep("l2", lams=(1.0,)), "lams"),
    (lambda: reg.explore("none", 1e-2), "kind"),
    (lambda: reg.snap_to_sweep(0.0), "lam"),
    (lambda: reg.decay_trajectories("rmsprop", 0.1), "optimizer"),
    (lambda: reg.decay_trajectories("sgd", 0.1, when="during"), "when"),
    (lambda: reg.builtin_matches_penalty("lbfgs"), "optimizer"),
    (lambda: reg.decay_param_groups(tiny_model(), -0.1), "weight_decay"),
    (lambda: reg.lasso_panel(0.0), "lam"),
])
def test_bad_arguments_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def _small_explore(kind, lam):
    lams = (1e-3, 1e-1)
    sweeps = {k: reg.lambda_sweep(k, lams=lams, width=8, steps=20) for k in reg.EXPLORER_PENALTIES}
    return {"kind": kind, "lam": lam, "seed": 0, "fit": reg.fit_regression(kind, lam, 0, width=8, steps=20),
            "fits_none": reg.fit_regression("none", 0.0, 0, width=8, steps=20), "sweeps": sweeps,
            "split": overfit.regression_split(seed=0)}


def test_fit_regression_is_trained_once_however_it_is_called():
    first = reg.fit_regression("l2", 1e-3, 0, width=4, steps=3)
    assert reg.fit_regression(kind="l2", lam=1e-3, seed=0, width=4, steps=3) is first
    assert reg.fit_regression("l2", 1e-3, width=4, steps=3, eval_every=20) is first
    assert reg.lambda_sweep("l2", lams=(1e-3, 1e-2), width=4, steps=3).val_loss[0] == first.val_loss


@pytest.mark.parametrize("kind", reg.PENALTIES)
def test_networks_trained_side_by_side_are_the_networks_trained_alone(kind):
    """fit_many trains its missing settings as one stacked model: each must be bit for bit what
    train.train gives for that network alone (history, weights, fitted curve), on every numeric path."""
    settings = [(1e-2, 0), (1e-1, 1), (1e-3, 2)]
    stacked = reg.fit_many(kind, settings, width=reg.FIT_WIDTH, steps=60, eval_every=20)
    for (lam, seed), fit in zip(settings, stacked, strict=True):
        alone = reg._fit_alone(kind, lam, seed, reg.FIT_WIDTH, 60, reg.FIT_LR, 20)
        assert fit.history.step == alone.history.step == [0, 20, 40, 60]
        assert fit.history.train_loss == alone.history.train_loss and fit.history.val_loss == alone.history.val_loss
        assert fit.history.penalty == alone.history.penalty
        assert np.array_equal(fit.weights, alone.weights) and np.array_equal(fit.y_grid, alone.y_grid)
        assert (fit.dead_units, fit.small_on_dead) == (alone.dead_units, alone.small_on_dead)
        assert fit.sparsity == alone.sparsity
    assert reg.fit_regression(kind, 1e-1, 1, steps=60) is stacked[1]


@pytest.mark.parametrize("kind", reg.WARMUP_KINDS)
def test_warmup_runs_trained_side_by_side_are_the_runs_trained_alone(kind):
    """warmup_runs trains its missing runs as one stacked model per kind: each must be bit for bit what
    train.train gives for that network alone, with its own warm-up switch, on every numeric path."""
    settings = [(kind, 0.03, 0), (kind, 0.1, 20)]
    runs = reg.warmup_runs(settings, seeds=(0, 1), steps=60)
    for setting in settings:
        for seed, run in zip((0, 1), runs[setting], strict=True):
            alone = reg._warmup_alone(*setting, seed, 60)
            assert run.history.step == alone.history.step == [0, 20, 40, 60]
            for name in ("train_loss", "val_loss", "train_acc", "val_acc", "penalty"):
                assert getattr(run.history, name) == getattr(alone.history, name), (setting, seed, name)
            assert run.small_fraction == alone.small_fraction
    assert reg.warmup_run(kind, 0.1, 20, seed=1, steps=60) is runs[kind, 0.1, 20][1]


def test_prune_small_zeroes_only_small_weights():
    model = tiny_model()
    with torch.no_grad():
        model[0].weight[0, 0] = 5e-4
        model[0].weight[0, 1] = -2e-3
        model[0].bias[0] = 1e-4
    assert reg.prune_small_(model) >= 1
    assert model[0].weight[0, 0] == 0.0 and model[0].weight[0, 1] == -2e-3 and model[0].bias[0] == 1e-4


def test_views_draw_and_update_without_error():
    fig, axes = plots.figure(nrows=2, ncols=2, width=10, height=7)
    view = rplots.ExplorerView(fig, axes)
    first = _small_explore("l2", 1e-3)
    view(first)
    view({**_small_explore("l1_prox", 1e-1), "sweeps": first["sweeps"]})
    assert "L1 (proximal step)" in axes[0].get_title()
    assert any("L1 (proximal step)" in t.get_text() for t in axes[2].get_legend().get_texts())
    assert axes[1].get_yscale() == "linear"

    fig, axes = plots.figure(ncols=2)
    geometry = rplots.GeometryView(fig, axes)
    geometry(reg.geometry(0.8))
    assert "w₂ = 0 exactly" in axes[0].get_title()
    assert "off the axes" in axes[1].get_title()

    fig, axes = plots.figure(ncols=2)
    rplots.LassoView(fig, axes)(reg.lasso_panel(0.3), lam=0.3)
    assert "5/5 relevant kept" in axes[0].get_title()

    fig, axes = plots.figure(ncols=2)
    decay = rplots.DecayView(fig, axes)
    result = reg.decay_trajectories("sgd", 1e-2, steps=4, width=4, record_every=2)
    decay(result)
    result["rel_gap"][-1] = np.nan
    result["w_step"][0] = np.nan
    decay(result)           # a diverged run is drawn with a message, not a crash
    assert any("diverged" in t.get_text() for t in axes[0].texts)


def test_seed_spread_rows_wins_and_plot():
    spread = reg.seed_spread(settings=(("none", 0.0), ("l2", 1e-1)), seeds=(0, 1), width=4, steps=3)
    assert spread.val_loss.shape == (2, 2)
    assert np.array_equal(spread.row("l2", 0.1), spread.val_loss[1])
    assert spread.wins(("l2", 0.1), ("none", 0.0)) == int((spread.val_loss[1] < spread.val_loss[0]).sum())
    fig, ax = plots.figure(ncols=1)
    rplots.seed_spread(ax, spread, title="t")
    assert ax.get_ylabel() and ax.get_xlabel()
    with pytest.raises(ValueError, match="seeds"):
        reg.seed_spread(seeds=())


def test_penalty_only_steps_l2_fraction_l1_hops_prox_stops_at_zero():
    w = reg.penalty_only_steps(0.05, 0.01, 20)
    assert math.isclose(w["l2"], 0.05 * 0.99 ** 20)
    assert w["l1_prox"] == 0.0                             # the soft threshold stops at zero
    assert 0.0 < abs(w["l1"]) <= 0.01 + 1e-12               # the subgradient step keeps hopping across it
    big = reg.penalty_only_steps(1.0, 0.01, 20)
    assert math.isclose(big["l1"], 0.8) and math.isclose(big["l1_prox"], 0.8)
    with pytest.raises(ValueError, match="steps"):
        reg.penalty_only_steps(1.0, 0.01, -1)


def test_dead_unit_weights_counts_units_off_on_every_row_and_their_small_weights():
    model = models.mlp(1, [2, 2], 1, activation="relu", seed=0)
    with torch.no_grad():
        for layer in (model[0], model[2], model[4]):
            layer.weight.fill_(1.0)
            layer.bias.zero_()
        model[0].weight[1] = -1.0        # unit 1 of layer 1 is off for every positive input
        model[2].weight[:, 1] = 1e-4     # its outgoing weights are small: 2 small weights attached to a dead unit
        model[0].weight[0] = 1e-4        # a small weight on a live unit: not counted
    X = torch.tensor([[0.5], [1.0], [2.0]])
    assert reg.dead_unit_weights(model, X) == (1, 2)
    with pytest.raises(ValueError, match="Linear and ReLU"):
        reg.dead_unit_weights(models.mlp(1, [2], 1, activation="tanh", seed=0), X)


def test_true_curve_loss_is_the_noise_of_the_split():
    train_mse, val_mse = reg.true_curve_loss(0)
    split = overfit.regression_split(seed=0)
    expected = float(((torch.sin(2 * math.pi * split.X_val[:, 0]) - split.y_val) ** 2).mean())
    assert math.isclose(val_mse, expected, rel_tol=1e-6)
    assert 0.15 < val_mse < 0.35 and train_mse > 0


def test_builtin_matches_penalty_relative_divides_by_the_largest_weight():
    absolute = reg.builtin_matches_penalty("sgd", steps=5, width=8)
    relative = reg.builtin_matches_penalty("sgd", steps=5, width=8, relative=True)
    assert (absolute == 0 and relative == 0) or not math.isclose(absolute, relative)


def test_penalty_from_step_is_zero_during_the_warm_up_then_the_penalty():
    model = models.mlp(2, [4], 1, seed=0)
    base = reg.l1_penalty(0.5)
    delayed, after_step = reg.penalty_from_step(base, warmup=3)
    values = []
    for step in range(1, 6):               # the order train.train calls them in: penalty, then after_step
        values.append(float(delayed(model).detach()))
        after_step(step, model, train.History())
    assert values[:3] == [0.0, 0.0, 0.0]
    assert values[3] == values[4] == pytest.approx(float(base(model).detach()))
    with pytest.raises(ValueError, match="warmup"):
        reg.penalty_from_step(base, warmup=-1)


def test_a_warm_up_as_long_as_training_is_no_penalty_and_from_start_differs():
    never_on = reg.warmup_run("l1", 0.1, 40, seed=0, steps=40)
    unpenalized = reg.warmup_run("l1", 0.0, 0, seed=0, steps=40)
    from_start = reg.warmup_run("l1", 0.1, 0, seed=0, steps=40)
    assert never_on.history.train_loss == unpenalized.history.train_loss
    assert from_start.history.train_loss[-1] != never_on.history.train_loss[-1]
    assert never_on.history.step[-1] == 40 and 0.0 <= never_on.small_fraction <= 1.0


@pytest.mark.parametrize("kwargs, name", [({"kind": "l1_prox"}, "kind"), ({"warmup": 401}, "warmup"),
                                          ({"lam": -1.0}, "lam"), ({"seed": -1}, "seed")])
def test_warmup_run_rejects_bad_arguments(kwargs, name):
    args = {"kind": "l1", "lam": 0.01, "warmup": 0, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        reg.warmup_run(**args)


def test_warmup_view_draws_both_runs_and_the_switch_line():
    fig, axes = plots.figure(ncols=2)
    view = rplots.WarmupView(fig, axes)
    result = {"run": reg.warmup_run("l2", 1e-3, 20, seed=0, steps=40),
              "from_start": reg.warmup_run("l2", 1e-3, 0, seed=0, steps=40)}
    view(result)
    run_line = view.lines["val_acc", "run"]
    assert list(run_line.get_ydata()) == result["run"].history.val_acc
    assert list(view.lines["train_loss", "switch"].get_xdata()) == [20, 20]
    matplotlib.pyplot.close(fig)
