"""Unit tests of helpers.dropout: the measurements, the batched sweep, the drawing, and bad arguments."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.layout_engine import ConstrainedLayoutEngine

from helpers import dropout, dropout_plots, models, overfit, plots, train


def torch_dropout(h, p):
    return F.dropout(h, p, training=True)


def test_mask_statistics_of_torch_dropout():
    stats = dropout.mask_statistics(torch_dropout, 0.3, seed=1)
    assert stats.dropped == pytest.approx(0.3, abs=0.01)
    assert stats.mean_ratio == pytest.approx(1.0, abs=0.01)
    assert stats.kept_scale == pytest.approx(1 / 0.7, rel=1e-5)


def test_mask_statistics_catches_a_missing_rescale():
    no_rescale = lambda h, p: h * (torch.rand(h.shape) >= p).float()  # noqa: E731
    stats = dropout.mask_statistics(no_rescale, 0.5, seed=0)
    assert stats.mean_ratio == pytest.approx(0.5, abs=0.02)
    assert stats.kept_scale == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs", [dict(p=1.0), dict(p=-0.1), dict(p="0.5"), dict(p=0.5, shape=(3,)),
                                    dict(p=0.5, shape=(0, 4)), dict(p=0.5, seed=-1)])
def test_mask_statistics_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        dropout.mask_statistics(torch_dropout, **kwargs)
    with pytest.raises(ValueError, match="dropout_fn"):
        dropout.mask_statistics("not a function", 0.5)


def test_p_sweep_at_p0_is_exactly_helpers_train():
    """Stacking networks changes nothing: at p = 0 the batched sweep reproduces train.train step for step."""
    sweep = dropout.p_sweep(ps=[0.0], seeds=[3], width=16, n_train=40, steps=60, eval_every=10)
    model = overfit.big_model(width=16, seed=3)
    history = train.train(model, overfit.moons_split(40, seed=3), steps=60, lr=1e-2, eval_every=10)
    np.testing.assert_allclose(sweep.curve_train_loss[0, 0], history.train_loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sweep.curve_val_acc[0, 0], history.val_acc, atol=1e-6)
    _, test_acc = train.evaluate(sweep.model(0, 0), *overfit.moons_test(2000, seed=3))
    assert sweep.test_acc[0, 0] == pytest.approx(test_acc, abs=1e-6)


def test_p_sweep_adamw_decays_the_weights_not_the_biases():
    sweep = dropout.p_sweep(ps=[0.0], seeds=[0], width=8, steps=30, weight_decay=0.5, optimizer="adamw", test=False)
    model = overfit.big_model(width=8, seed=0)
    split = overfit.moons_split(50, seed=0)
    weights = [m.weight for m in models.linear_layers(model)]
    biases = [m.bias for m in models.linear_layers(model)]
    opt = torch.optim.AdamW([{"params": weights, "weight_decay": 0.5}, {"params": biases, "weight_decay": 0.0}],
                            lr=1e-2)
    for _ in range(30):
        loss = train.data_loss(model(split.X_train), split.y_train, "bce")
        opt.zero_grad()
        loss.backward()
        opt.step()
    loss, _ = train.evaluate(model, split.X_train, split.y_train)
    assert sweep.train_loss[0, 0] == pytest.approx(loss, rel=1e-4)


def test_p_sweep_shapes_determinism_and_independence_of_seeds():
    kwargs = dict(ps=(0.0, 0.5), width=8, steps=25, eval_every=10, test=False)
    both = dropout.p_sweep(seeds=[0, 1], **kwargs)
    again = dropout.p_sweep(seeds=[0, 1], **kwargs)
    alone = dropout.p_sweep(seeds=[1], **kwargs)
    assert both.curve_train_loss.shape == (2, 2, 4) and list(both.step) == [0, 10, 20, 25]
    assert both.train_acc.shape == both.acc_gap.shape == both.loss_gap.shape == (2, 2)
    np.testing.assert_array_equal(both.curve_train_loss, again.curve_train_loss)
    np.testing.assert_allclose(both.curve_train_loss[1], alone.curve_train_loss[0], rtol=1e-5)  # same masks
    assert not np.allclose(both.curve_train_loss[0, 0], both.curve_train_loss[0, 1])  # the masks did something
    assert np.isnan(both.test_acc).all()
    history = both.history(1, 1)
    assert history.step == [0, 10, 20, 25] and history.val_loss[-1] == both.val_loss[1, 1]
    net = both.model(0, 1)
    assert not net.training and [m.p for m in net if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]


@pytest.mark.parametrize("kwargs", [dict(ps=[]), dict(ps=[1.0]), dict(seeds=[]), dict(seeds=[-1]), dict(width=0),
                                    dict(n_train=2), dict(steps=0), dict(lr=0.0), dict(weight_decay=-1.0),
                                    dict(optimizer="sgd"), dict(eval_every=0)])
def test_p_sweep_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        dropout.p_sweep(**{"steps": 2, **kwargs})


def test_sweep_accessors_reject_bad_indices():
    sweep = dropout.p_sweep(ps=[0.0, 0.5], seeds=[0], width=4, steps=2, test=False)
    with pytest.raises(ValueError, match="p_index"):
        sweep.model(0, 2)
    with pytest.raises(ValueError, match="seed_index"):
        sweep.history(1, 0)


def _dropout_net(p=0.5, width=16, seed=0):
    return models.mlp(2, [width, width], dropout=p, seed=seed)


def test_monte_carlo_gap_layer_shrinks_and_model_mode_is_restored():
    model = _dropout_net()
    model.eval()
    X = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    gap = dropout.monte_carlo_gap(model, X, n_passes=(1, 100), seed=0)
    assert gap.layer_gap[1] < 0.2 * gap.layer_gap[0]
    assert gap.output_gap.shape == (2,) and gap.layer_scale > 0
    assert not model.training


def test_monte_carlo_gap_splits_the_output_floor_into_relu_and_sigmoid_parts():
    """One hidden layer: the logit is linear in the only mask, so averaging logits leaves sampling noise alone
    (no ReLU after the dropout layer); the floor is the sigmoid's. Two hidden layers add a ReLU after a dropout
    layer. Either way the two parts bound the total (triangle inequality)."""
    X = 2 * torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    parts = {}
    for hidden in ([16], [16, 16]):
        model = models.mlp(2, hidden, dropout=0.5, seed=0)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(3)  # confident outputs, where the sigmoid bends
        gap = dropout.monte_carlo_gap(model, X, n_passes=(1, 1000), seed=0)
        assert gap.output_gap[-1] <= gap.relu_gap + gap.sigmoid_gap + 1e-6
        parts[len(hidden)] = gap
    assert parts[1].relu_gap < 0.1 * parts[1].sigmoid_gap
    assert parts[2].relu_gap > 5 * parts[1].relu_gap


def test_monte_carlo_gap_rejects_bad_arguments():
    X = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="no nn.Dropout"):
        dropout.monte_carlo_gap(models.mlp(2, [4], seed=0), X)
    with pytest.raises(ValueError, match="n_passes"):
        dropout.monte_carlo_gap(_dropout_net(), X, n_passes=(0, 10))


def test_mode_disagreement_without_dropout_is_all_agreement():
    X, y = overfit.moons_test(300, seed=0)
    result = dropout.mode_disagreement(models.mlp(2, [8], seed=0), X, y, passes=3)
    assert result.eval_repeat_equal and (result.flipped == 0).all()
    assert np.allclose(result.train_acc, result.eval_acc) and result.mean_acc == pytest.approx(result.eval_acc)


def test_mode_disagreement_with_dropout_flips_labels():
    X, y = overfit.moons_test(300, seed=0)
    result = dropout.mode_disagreement(_dropout_net(0.5), X, y, passes=4, seed=0)
    assert result.eval_repeat_equal and result.flipped.shape == (3,) and result.flipped.max() > 0


def test_mode_disagreement_rejects_bad_arguments():
    X, y = overfit.moons_test(10, seed=0)
    with pytest.raises(ValueError, match="passes"):
        dropout.mode_disagreement(_dropout_net(), X, y, passes=1)
    with pytest.raises(ValueError, match="same number of rows"):
        dropout.mode_disagreement(_dropout_net(), X, y[:5])


def test_ablation_drops_finds_the_one_unit_that_matters():
    """A network whose output reads only unit 0 of its hidden layer: removing unit 0 costs everything."""
    model = models.mlp(2, [3], seed=0)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[1.0, 0.0, 0.0]]))
        model[2].bias.fill_(-0.5)
    X = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 1.0], [0.2, 0.3]])
    y = (X[:, 0] > 0.5).float()
    drops = dropout.ablation_drops(model, X, y)
    assert drops.shape == (3,)
    assert drops[0] == pytest.approx(0.5) and drops[1] == 0 and drops[2] == 0


def test_ablation_drops_rejects_bad_arguments():
    X, y = overfit.moons_test(10, seed=0)
    with pytest.raises(ValueError, match="layer"):
        dropout.ablation_drops(_dropout_net(), X, y, layer=2)
    with pytest.raises(ValueError, match="hidden layer"):
        dropout.ablation_drops(torch.nn.Sequential(torch.nn.Linear(2, 1)), X, y)
    with pytest.raises(ValueError, match="same number of rows"):
        dropout.ablation_drops(_dropout_net(), X, y[:3])


def test_largest_ablation_drops_is_the_max_of_ablation_drops_per_seed_and_layer():
    sweep = dropout.p_sweep(ps=(0.0, 0.5), seeds=[0, 1], width=8, steps=20, eval_every=10, test=False)
    test_sets = [overfit.moons_test(200, seed=s) for s in (0, 1)]
    largest = dropout.largest_ablation_drops(sweep, 1, test_sets)
    assert largest.shape == (2, 2)
    for i in range(2):
        for k in range(2):
            assert largest[i, k] == dropout.ablation_drops(sweep.model(i, 1), *test_sets[i], layer=k).max()
    with pytest.raises(ValueError, match="one test set per seed"):
        dropout.largest_ablation_drops(sweep, 1, test_sets[:1])
    with pytest.raises(ValueError, match="p_index"):
        dropout.largest_ablation_drops(sweep, 2, test_sets)


def test_confident_mistakes():
    model = models.mlp(2, [4], seed=0)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        model[-1].bias.fill_(10.0)  # always "class 1" with probability 0.99995
    X = torch.zeros(4, 2)
    assert dropout.confident_mistakes(model, X, torch.tensor([0.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)
    assert dropout.confident_mistakes(model, X, torch.tensor([0.0, 1.0, 1.0, 1.0]), confidence=0.99999) == 0
    with pytest.raises(ValueError, match="confidence"):
        dropout.confident_mistakes(model, X, torch.ones(4), confidence=1.5)
    with pytest.raises(ValueError, match="same number of rows"):
        dropout.confident_mistakes(model, X, torch.ones(3))


def test_views_draw_in_place_and_label_their_axes():
    sweep = dropout.p_sweep(ps=(0.0, 0.5), seeds=[0], width=8, steps=10, eval_every=5)
    fig, axes = plots.figure(nrows=2, ncols=2)
    view = dropout_plots.OverfittingView(axes)
    view.draw(sweep, 1)
    plots.freeze_layout(fig)
    fig.canvas.draw()  # the layout freezes after the first rendered frame
    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    lines_before = [len(ax.lines) for ax in axes]
    view.draw(sweep, 0)
    fig.canvas.draw()
    assert [len(ax.lines) for ax in axes] == lines_before  # updated, not stacked
    assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in axes)
    with pytest.raises(ValueError, match="p_index"):
        view.draw(sweep, 2)

    h = torch.rand(4, 6)
    mask = (torch.rand(4, 6) > 0.5).float()
    fig2, axes2 = plots.figure(ncols=3)
    mechanism = dropout_plots.MechanismView(axes2, n_average=10)
    for p in (0.5, 0.0):
        mechanism.draw(h, mask if p else torch.ones(4, 6), h * mask * 2, h, p=p)
    fig2.canvas.draw()
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes2)
    with pytest.raises(ValueError, match="p"):
        mechanism.draw(h, mask, h, h, p=1.0)
    with pytest.raises(ValueError, match="n_average"):
        dropout_plots.MechanismView(axes2, n_average=0)

    X, y = overfit.moons_test(50, seed=0)
    fig3, ax3 = plots.figure(ncols=1)
    dropout_plots.draw_monte_carlo(ax3, dropout.monte_carlo_gap(_dropout_net(), X, n_passes=(1, 10)))
    dropout_plots.draw_ablation(ax3, np.array([0.1, 0.0]), np.array([0.01, 0.0]), p=0.5)
    assert ax3.get_xlabel() and ax3.get_ylabel() and len(ax3.get_legend().get_texts()) == 2
    dropout_plots.draw_ablation(ax3, np.array([0.1, 0.0]), np.array([0.01, 0.0]), p=0.5,
                                with_decay=np.array([0.2, 0.05]), weight_decay=0.3)
    labels = [t.get_text() for t in ax3.get_legend().get_texts()]
    assert len(ax3.lines) == 4 and "weight decay 0.3, no dropout" in labels
    plt.close("all")


def test_overfitting_view_marks_a_diverged_run():
    sweep = dropout.p_sweep(ps=(0.0, 0.5), seeds=[0], width=8, steps=10, eval_every=5)
    for name in ("curve_train_loss", "curve_val_loss", "curve_train_acc", "curve_val_acc"):
        getattr(sweep, name)[:] = math.nan
    for tensor in sweep.weights:
        tensor.fill_(math.nan)
    fig, axes = plots.figure(nrows=2, ncols=2)
    view = dropout_plots.OverfittingView(axes)
    view.draw(sweep, 1)
    fig.canvas.draw()
    texts = [t.get_text() for ax in axes for t in ax.texts]
    assert any("NaN" in t for t in texts) and any("diverged" in t for t in texts)
    view.draw(sweep, 0)  # the old messages are replaced, not stacked
    assert sum(len(ax.texts) for ax in axes) == len(texts)
    plt.close("all")
