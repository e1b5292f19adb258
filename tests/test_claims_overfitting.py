"""Lesson 3's claims, each checked over several seeds with thresholds set from measurements (see the report).

Numbers in comments are the measured ranges the thresholds leave room against.
"""

import functools

import numpy as np
import pytest
import torch

from helpers import capacity, data, digits, drill, models, remedies, train

pytestmark = pytest.mark.claims
SEEDS = range(5)


@functools.lru_cache(maxsize=None)
def base_run(seed):
    """The overfitting setup; patience only records where early stopping would stop (training is the same)."""
    return remedies.train_moons(patience=50, seed=seed)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


# 1. What over- and underfitting look like ---------------------------------------------------------

def test_overfit_setup_gap_and_turning_validation_loss():
    for seed in SEEDS:
        h = base_run(seed).history
        assert h.final_gap > 0.3                               # measured 0.38 .. 2.5
        assert h.val_loss[-1] > 1.5 * h.best_val_loss          # the validation loss turned up: 2.6x .. 8.5x
        assert h.best_step <= 100                              # minimum at update 30 .. 60 of 300
        assert h.train_loss[-1] < 0.1                          # while training loss kept falling: 0.001 .. 0.042
        assert h.train_loss[-1] < h.train_loss[h.step.index(h.best_step)]


def test_underfit_high_and_close_flat_versus_still_falling():
    for seed in SEEDS:
        flat = drill.run_setting("too_small", seed)
        assert flat.train_loss[-1] > 0.2                                     # 0.23 .. 0.33
        assert abs(flat.val_loss[-1] - flat.train_loss[-1]) < 0.06           # |gap| < 0.045
        assert flat.train_loss[len(flat.train_loss) // 2] - flat.train_loss[-1] < 0.01   # flat 2nd half: < 0.004
        assert not drill.still_falling(flat)
        slow = drill.run_setting("under_trained", seed)
        assert slow.train_loss[-1] > 0.3 and abs(slow.val_loss[-1] - slow.train_loss[-1]) < 0.06     # 0.45-0.60
        assert drill.still_falling(slow)


# 2. Capacity sweep --------------------------------------------------------------------------------

def test_legendre_bathtub_on_many_seeds():
    worst_best, val18 = [], []
    for seed in range(30):
        sweep = capacity.degree_sweep(capacity.regression_data(n_train=20, noise=0.25, seed=seed), degrees=range(19))
        assert np.all(np.diff(sweep.train_mse) <= 1e-12)        # training MSE never rises
        assert 0.35 < sweep.val_mse[0] < 0.9                    # underfit end, ~0.57
        assert 3 <= sweep.best_degree <= 10                     # good fit in the middle: 3 .. 9 on 30 seeds
        worst_best.append(sweep.val_mse.min())
        val18.append(sweep.val_mse[18])
        assert sweep.val_mse[18] > 5 * sweep.val_mse.min()      # overfit end: 7x .. 34000x the best (median ~2000x)
    assert max(worst_best) < 0.12 and np.median(worst_best) < 0.09   # ~0.074 (noise floor 0.0625)
    assert np.median(val18) > 30                                     # median ~100-200


def test_raw_power_basis_understates_the_overfit_end():
    ratios = []
    for seed in range(10):
        d = capacity.regression_data(seed=seed)
        coef, rank = capacity.raw_power_fit(d.x_train, d.y_train, 18)
        assert rank < 19
        raw = np.mean((np.polynomial.polynomial.polyval(d.x_val, coef) - d.y_val) ** 2)
        leg = np.mean((capacity.legendre_predict(capacity.legendre_fit(d.x_train, d.y_train, 18), d.x_val)
                       - d.y_val) ** 2)
        ratios.append(leg / raw)
    assert np.median(ratios) > 1.5


def test_width_family_walks_from_underfit_to_overfit():
    for seed in (0, 1):
        split = capacity.moons_data(n_train=40, noise=0.3, flip=0.1, seed=seed)
        fam = capacity.train_width_family(split, (1, 2, 64), steps=400, lr=1e-2, seed=seed)
        assert fam.train_loss[-1, 0] > 0.2                                   # width 1: 0.27 .. 0.69
        assert fam.train_loss[-1, 2] < 0.05                                  # width 64 memorizes 40 points
        assert fam.val_loss[-1, 2] > fam.train_loss[-1, 2] + 0.5              # ... with a large gap


# 3. Remedies for overfitting ---------------------------------------------------------------------

def test_more_data_shrinks_the_gap_at_a_fixed_number_of_updates():
    for seed in SEEDS:   # the lesson's setup: 300 full-batch updates for every size
        small = remedies.train_moons(n_train=25, seed=seed).history.final_gap     # 0.47 .. 3.7
        large = remedies.train_moons(n_train=200, seed=seed).history.final_gap    # 0.00 .. 0.14 (6 seeds)
        assert large < small - 0.2 and large < 0.3


def test_more_data_issue_setup_30_vs_300_points_at_200_updates():
    for seed in SEEDS:   # the independent check's setup: Adam lr 1e-3, 200 updates
        small = remedies.train_moons(n_train=30, steps=200, lr=1e-3, seed=seed).history.final_gap   # 0.18 .. 0.69
        large = remedies.train_moons(n_train=300, steps=200, lr=1e-3, seed=seed).history.final_gap  # -0.16 .. -0.11
        assert large < small - 0.15


def test_more_data_buys_time_not_immunity():
    # Condition of the claim above: with many more (and larger) updates the big network starts memorizing
    # 300 points too, and its gap grows from below 0 to about 0.5 (measured 0.51 and 0.51 on seeds 0 and 1).
    for seed in (0, 1):
        h = remedies.train_moons(n_train=300, steps=1000, lr=1e-2, eval_every=100, seed=seed).history
        assert h.final_gap > 0.3 and h.val_loss[-1] > 2 * h.best_val_loss


def test_smaller_model_and_input_jitter_shrink_the_gap():
    for seed in SEEDS:
        base = base_run(seed).history
        narrow = remedies.train_moons(width=8, seed=seed).history
        jitter = remedies.train_moons(jitter=0.2, seed=seed).history
        assert narrow.final_gap < base.final_gap - 0.2           # 256: 0.38 .. 2.5; 8: -0.14 .. 0.11
        assert jitter.val_loss[-1] < 0.8 * base.val_loss[-1]     # 0.18-0.29 vs 0.39-2.5


def test_width_8_trades_overfitting_for_underfitting():
    for seed in SEEDS:
        narrow = remedies.train_moons(width=8, seed=seed).history
        big = base_run(seed)
        restored_val = big.history.val_loss[big.history.step.index(big.best_step)]
        assert narrow.val_loss[-1] > restored_val                 # 0.20-0.42 vs 0.14-0.30 early-stopped
        assert narrow.best_step >= 0.75 * narrow.step[-1]          # still at its lowest late: 230..300 of 300


def test_early_stopping_can_only_restore_a_check_it_saw_25_points():
    h = remedies.train_moons(n_train=25, patience=50, seed=0)
    assert h.best_step == 0 and h.history.best_val_loss == h.history.val_loss[0]   # 0.664 at update 0


def test_a_small_gap_can_hide_a_rising_validation_loss_200_points():
    h = remedies.train_moons(n_train=200, seed=0).history
    assert h.final_gap < 0.2 and h.val_loss[-1] > 1.5 * h.best_val_loss          # +0.14; 0.31 vs 0.18 at update 40


def test_early_stopping_restored_model_beats_final_on_held_out_test():
    for seed in range(8):
        t = remedies.test_scores(base_run(seed))
        assert t.final_loss > 1.8 * t.restored_loss              # measured 2.3x .. 10x on 10 seeds
        assert t.restored_acc >= t.final_acc - 0.01              # accuracy: not more than 0.01 worse


def test_digits_augmentation_that_matches_the_data_helps_and_shift_alone_hurts():
    seeds = (0, 1, 2, 3, 4)
    for n in (50, 100):
        none = digits.train_mlps(n, "none", 0.0, seeds=seeds, steps=200)
        mix = digits.train_mlps(n, "shift+noise", 0.2, seeds=seeds, steps=200)
        assert mix.mean_acc > none.mean_acc + 0.01                # +4.1 and +2.7 points measured
    none = digits.train_mlps(200, "none", 0.0, seeds=seeds, steps=200)
    shifted = digits.train_mlps(200, "shift", 0.0, seeds=seeds, steps=200)
    assert shifted.mean_acc < none.mean_acc - 0.01                # -4.1 points measured


# 4. Remedies for underfitting --------------------------------------------------------------------

def _moons_200(seed):
    return data.Split(*data.moons(200, noise=0.2, seed=1000 + seed), *data.moons(400, noise=0.2, seed=2000 + seed))


def test_underfitting_remedies_bigger_longer_less_regularized():
    for seed in (0, 1, 2):
        tiny, bigger = drill.run_setting("too_small", seed), drill.run_setting("good", seed)  # no hidden vs 16-16
        assert bigger.train_loss[-1] < tiny.train_loss[-1] - 0.15 and bigger.val_loss[-1] < tiny.val_loss[-1] - 0.1
        moons = _moons_200(seed)
        short = train.train(models.mlp(2, [32, 32], seed=seed), moons, steps=150, lr=2e-2, optimizer="sgd")
        long = train.train(models.mlp(2, [32, 32], seed=seed), moons, steps=1500, lr=2e-2, optimizer="sgd",
                           eval_every=50)
        assert long.train_loss[-1] < short.train_loss[-1] - 0.15 and long.val_loss[-1] < short.val_loss[-1] - 0.15

        def l2(lam):
            return lambda m: lam * sum((layer.weight ** 2).sum() for layer in models.linear_layers(m))

        strong = train.train(models.mlp(2, [16, 16], seed=seed), moons, steps=300, lr=1e-2, penalty=l2(0.1))
        none = train.train(models.mlp(2, [16, 16], seed=seed), moons, steps=300, lr=1e-2)
        assert strong.train_loss[-1] > 0.5 and none.train_loss[-1] < strong.train_loss[-1] - 0.3


# 5. The drill labels its own hidden settings right ---------------------------------------------------

@pytest.mark.parametrize("name", list(drill.SETTINGS))
def test_drill_labels_are_right(name):
    for seed in range(6):
        assert drill.diagnose(drill.run_setting(name, seed)) == drill.SETTINGS[name].label
