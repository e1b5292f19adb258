"""The claims of lesson 5 (notebooks/05_dropout.ipynb), each over 5 seeds, on the notebook's own setup.

Setup (as in the notebook): helpers.overfit two moons, noise 0.2, 10% of the training labels flipped,
50 training points, a 2-32-32-1 ReLU network, Adam lr 0.01, 400 full-batch steps, seeds 0-4; metrics in
eval mode. Thresholds were set from measurements over 8 seeds (see the lesson's report), with margin.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import dropout, overfit

pytestmark = pytest.mark.claims

SEEDS = range(5)
SETUP = dict(width=32, n_train=50, steps=400, lr=1e-2)
P = {p: i for i, p in enumerate(dropout.P_GRID)}


@pytest.fixture(scope="module")
def sweep():
    return dropout.p_sweep(ps=dropout.P_GRID, seeds=SEEDS, **SETUP)


@pytest.fixture(scope="module")
def test_sets():
    return [overfit.moons_test(2000, seed=s) for s in SEEDS]


def inverted_dropout(h, p):
    """The notebook's from-scratch dropout: a mask and a rescale."""
    return h * (torch.rand(h.shape) >= p).float() / (1 - p)


# 1. The mechanism ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_from_scratch_dropout_matches_nn_dropout_statistics(p):
    for seed in SEEDS:
        for fn in (inverted_dropout, lambda h, p: F.dropout(h, p, training=True)):
            stats = dropout.mask_statistics(fn, p, seed=seed)
            assert abs(stats.dropped - p) < 0.01
            assert abs(stats.mean_ratio - 1) < 0.01
            assert stats.kept_scale == pytest.approx(1 / (1 - p), rel=1e-4)


def test_masks_are_independent_across_steps_and_examples():
    for seed in SEEDS:
        torch.manual_seed(seed)
        first, second = (torch.rand(256, 512) >= 0.5), (torch.rand(256, 512) >= 0.5)
        assert abs((first == second).float().mean().item() - 0.5) < 0.01
        assert abs((first[:-1] == first[1:]).float().mean().item() - 0.5) < 0.01


# 2. Inverted dropout and the weight-scaling rule -----------------------------------------------------------

def test_train_mode_average_converges_at_the_layer_but_not_at_the_output(sweep, test_sets):
    """Measured (8 seeds): layer gap(1000)/gap(1) = 0.025-0.026; output gap(1000) = 0.023-0.059, flat from n = 100."""
    for i, seed in enumerate(SEEDS):
        gap = dropout.monte_carlo_gap(sweep.model(i, P[0.5]), test_sets[i][0][:500], seed=seed)
        assert gap.layer_gap[-1] < 0.04 * gap.layer_gap[0]  # 1/sqrt(1000) = 0.032
        assert gap.output_gap[-1] > 0.015
        assert gap.output_gap[-1] > 0.9 * gap.output_gap[-3]  # levelled off between 100 and 1000 passes


# 3. Train mode vs eval mode --------------------------------------------------------------------------------

def test_eval_is_deterministic_train_mode_flips_labels_and_costs_accuracy(sweep, test_sets):
    """Measured at p = 0.5 (8 seeds): 3.0-15.0% of labels flip between passes; one train-mode pass is 1.1-4.8
    points below eval mode on 7 of 8 seeds (0.2 above on seed 5); the mean of 20 passes is within 1.5 points
    of eval mode, never below it by more than 0.3."""
    costs = []
    for i, seed in enumerate(SEEDS):
        result = dropout.mode_disagreement(sweep.model(i, P[0.5]), *test_sets[i], passes=20, seed=seed)
        assert result.eval_repeat_equal
        assert 0.02 < result.flipped.min() and result.flipped.max() < 0.25
        assert result.train_acc.mean() < result.eval_acc + 0.01
        assert result.mean_acc > result.eval_acc - 0.01
        costs.append(result.eval_acc - result.train_acc.mean())
    assert np.mean(costs) > 0.01


# 4. Co-adaptation ------------------------------------------------------------------------------------------

def test_largest_single_unit_ablation_drop_is_smaller_with_dropout(sweep, test_sets):
    """Measured (8 seeds, both layers): largest drop 1.8-33 points without dropout, at most 2.4 with p = 0.5."""
    for i in range(len(SEEDS)):
        without = [dropout.ablation_drops(sweep.model(i, 0), *test_sets[i], layer=k).max() for k in (0, 1)]
        with_dropout = [dropout.ablation_drops(sweep.model(i, P[0.5]), *test_sets[i], layer=k).max() for k in (0, 1)]
        assert all(w < wo for w, wo in zip(with_dropout, without, strict=True))
        assert max(with_dropout) < 0.04
        assert max(without) > 0.1


# 5. Overfitting, not capacity ------------------------------------------------------------------------------

def test_gap_shrinks_at_p_half_measured_in_eval_mode(sweep):
    assert (sweep.acc_gap[:, P[0.5]] < sweep.acc_gap[:, 0] - 0.05).all()
    assert (sweep.loss_gap[:, P[0.5]] < sweep.loss_gap[:, 0]).all()


def test_test_accuracy_is_best_at_an_interior_p_and_too_large_p_underfits(sweep):
    best_p = sweep.ps[sweep.test_acc.argmax(axis=1)]
    assert ((best_p >= 0.2) & (best_p <= 0.7)).all()
    assert (sweep.test_acc[:, -1] < sweep.test_acc.max(axis=1) - 0.01).all()
    assert (sweep.train_acc[:, -1] < sweep.train_acc[:, P[0.5]]).all() and (sweep.train_acc[:, -1] <= 0.86).all()
    assert (sweep.test_acc.max(axis=1) > sweep.test_acc[:, 0] + 0.01).all()


def test_validation_loss_on_50_points_is_mostly_overconfidence(sweep, test_sets):
    """No clean U: the loss falls steeply from p = 0 and is still near its lowest at p = 0.8 (mean over seeds);
    confident mistakes are what p = 0 pays for."""
    mean_loss = sweep.val_loss.mean(axis=0)
    assert mean_loss[0] > 2 * mean_loss[P[0.5]]
    assert mean_loss[P[0.8]] < 1.3 * mean_loss.min()
    for i in range(len(SEEDS)):
        wrong = [dropout.confident_mistakes(sweep.model(i, P[p]), *test_sets[i]) for p in (0.0, 0.5)]
        assert wrong[1] <= wrong[0]


def test_validation_loss_on_50_points_per_seed(sweep):
    """Huge at p = 0 on 4 of 5 seeds, a U on most seeds, none on seed 0 (the panel's), which falls to p = 0.9."""
    lowest = sweep.val_loss.min(axis=1)
    assert (sweep.val_loss[:, 0] > 2 * lowest).sum() >= 4                        # 3.6, 1.5, 3.1, 1.0 vs 0.17-0.41
    best_p = sweep.ps[sweep.val_loss.argmin(axis=1)]
    u_shaped = (best_p >= 0.2) & (best_p <= 0.5) & (sweep.val_loss[:, -1] > 1.5 * lowest)
    assert u_shaped.sum() >= 3                                                   # seeds 1-4: 1.8x .. 2.9x
    assert best_p[0] >= 0.8                                                      # seed 0: lowest at p = 0.9


def test_width_8_on_50_points_holds_until_p_09_then_predicts_one_class():
    s = dropout.p_sweep(ps=dropout.P_GRID, seeds=[0], **{**SETUP, "width": 8})
    assert s.val_acc[0, :-1].min() > 0.8 and s.val_acc[0, :-1].max() < 0.88    # 0.818 .. 0.858
    assert s.val_acc[0, -1] < 0.6                                                 # 0.50: one class everywhere


def test_with_200_points_the_gap_still_shrinks_and_validation_loss_has_a_u():
    big = dropout.p_sweep(ps=dropout.P_GRID, seeds=SEEDS, **{**SETUP, "n_train": 200})
    assert big.acc_gap[:, P[0.5]].mean() < big.acc_gap[:, 0].mean() - 0.02  # per seed: 7 of 8 (seed 4 ties)
    assert (big.loss_gap[:, P[0.5]] < big.loss_gap[:, 0]).all()
    lowest = big.ps[big.val_loss.argmin(axis=1)]
    assert (lowest <= 0.4).all()
    assert (big.val_loss[:, -1] > 1.5 * big.val_loss.min(axis=1)).all()


def test_dropout_does_not_let_a_small_network_fit_more():
    """Training accuracy (eval mode) of 2-8-8-1 and 2-32-32-1: never clearly higher with dropout, lower on average."""
    small = dropout.p_sweep(ps=(0.0, 0.5), seeds=SEEDS, **{**SETUP, "width": 8})
    assert (small.train_acc[:, 1] <= small.train_acc[:, 0] + 0.03).all()
    assert small.train_acc[:, 1].mean() < small.train_acc[:, 0].mean() - 0.03
    assert small.test_acc[:, 1].mean() < small.test_acc[:, 0].mean() + 0.01


# 6. Dropout and weight decay -------------------------------------------------------------------------------

def test_dropout_and_weight_decay_combined(sweep):
    """Measured (AdamW weight decay 0.3 on the weights, not the biases; 8 seeds): test accuracy none 0.835,
    decay 0.866, dropout 0.894, both 0.906; 5 seeds as in the notebook: decay 0.852, dropout 0.912, both 0.907.
    Both beat no regularization on every seed; adding decay to dropout moves the mean by about a point."""
    decayed = dropout.p_sweep(ps=(0.0, 0.5), seeds=SEEDS, weight_decay=0.3, optimizer="adamw", **SETUP)
    both, dropout_only, decay_only = decayed.test_acc[:, 1], sweep.test_acc[:, P[0.5]], decayed.test_acc[:, 0]
    none = sweep.test_acc[:, 0]
    assert (both > none).all() and (decay_only > none - 0.005).all()
    assert both.mean() > decay_only.mean() + 0.02
    assert abs(both.mean() - dropout_only.mean()) < 0.02
    assert (decayed.acc_gap[:, 1] < sweep.acc_gap[:, 0]).all()
