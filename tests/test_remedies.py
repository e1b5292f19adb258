"""Unit tests of helpers.remedies: the overfitting run, early stopping, and argument checks."""

import numpy as np
import pytest
import torch

from helpers import remedies, train


def test_early_stopping_point_on_a_made_up_curve():
    steps = np.arange(0, 110, 10)
    val = np.array([1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    assert remedies.early_stopping_point(steps, val, 30) == (3, 6)   # best at step 30, stop at 60
    assert remedies.early_stopping_point(steps, val, 1000) == (3, 10)  # never out of patience: the end
    assert remedies.early_stopping_point(steps, val, 10) == (3, 4)


def test_early_stopping_point_ignores_nan():
    assert remedies.early_stopping_point([0, 10, 20], [1.0, float("nan"), 0.5], 100) == (2, 2)


def test_patience_run_restores_the_best_check_and_matches_the_curve_rule():
    torch.set_num_threads(1)
    run = remedies.train_moons(n_train=30, width=32, steps=150, lr=1e-2, patience=30, seed=1)
    h = run.history
    assert run.stopped_at - run.best_step >= 30 or run.stopped_at == h.step[-1]
    best, stop = remedies.early_stopping_point(h.step, h.val_loss, 30)
    assert (h.step[best], h.step[stop]) == (run.best_step, run.stopped_at)
    restored_val, _ = train.evaluate(run.restored, run.split.X_val, run.split.y_val)
    assert restored_val == pytest.approx(h.val_loss[best], abs=1e-6)
    scores = remedies.test_scores(run, n_test=200)
    assert np.isfinite([scores.restored_loss, scores.final_loss]).all()


def test_runs_are_deterministic_and_jitter_changes_the_run():
    a = remedies.train_moons(n_train=20, width=16, steps=30, seed=3)
    b = remedies.train_moons(n_train=20, width=16, steps=30, seed=3)
    c = remedies.train_moons(n_train=20, width=16, steps=30, jitter=0.2, seed=3)
    assert a.history.val_loss == b.history.val_loss
    assert a.history.val_loss != c.history.val_loss


@pytest.mark.parametrize("kwargs, name", [
    ({"n_train": 2}, "n_train"), ({"width": 0}, "width"), ({"depth": 0}, "depth"), ({"jitter": -0.1}, "jitter"),
    ({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"), ({"eval_every": 0}, "eval_every"), ({"patience": 0}, "patience"),
    ({"seed": -1}, "seed"),
])
def test_bad_arguments_raise_value_error(kwargs, name):
    with pytest.raises(ValueError, match=name):
        remedies.train_moons(**kwargs)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        remedies.early_stopping_point([0, 10], [1.0, 0.5], 0)
    with pytest.raises(ValueError, match="steps and val_loss"):
        remedies.early_stopping_point([0, 10], [1.0], 10)
    run = remedies.train_moons(n_train=20, width=4, steps=5)
    with pytest.raises(ValueError, match="restored"):
        remedies.test_scores(run)


def test_overfit_run_is_cached_and_rounds_the_jitter():
    torch.set_num_threads(1)
    a = remedies.overfit_run(n_train=25, width=8, jitter=0.1, seed=3)
    assert remedies.overfit_run(n_train=25, width=8, jitter=0.30000000000000004 - 0.2, seed=3) is a
    assert a.best_step is not None and a.restored is not None       # patience 50 recorded


def test_panel_marks_early_stopping_only_with_patience():
    torch.set_num_threads(1)
    run, best, stop, base = remedies.panel(n_train=25, width=8, jitter=0.0, patience=0, seed=3)
    assert best is None and stop is None and base is remedies.overfit_run(seed=3)
    run, best, stop, _ = remedies.panel(n_train=25, width=8, jitter=0.0, patience=20, seed=3)
    assert run.history.step[stop] - run.history.step[best] >= 20 or stop == len(run.history.step) - 1


def test_smaller_model_at_convergence_reads_the_runs_it_names():
    torch.set_num_threads(1)
    c = remedies.smaller_model_at_convergence(width=4, long_steps=400, seed=3)
    long = remedies.train_moons_stacked(width=4, steps=400, seeds=(3,))[0]
    assert c.small_best == long.history.best_val_loss and c.small_long_train == long.history.train_loss[-1]
    assert c.small_best_step == long.best_step == long.history.best_step
    assert c.small_best_test == remedies.test_scores(long).restored_loss
    assert c.big_best == remedies.overfit_run(seed=3).history.best_val_loss
    assert c.big_best_test == remedies.test_scores(remedies.overfit_run(seed=3)).restored_loss
    assert c.small_300 == remedies.overfit_run(width=4, seed=3).history.val_loss[-1]
    with pytest.raises(ValueError, match="long_steps"):
        remedies.smaller_model_at_convergence(long_steps=100)


def test_stacked_runs_match_one_at_a_time_runs():
    torch.set_num_threads(1)
    stacked = remedies.train_moons_stacked(width=4, steps=200, seeds=(3, 4))
    assert [r.seed for r in stacked] == [3, 4]
    for run in stacked:
        alone = remedies.train_moons(width=4, steps=200, patience=200, seed=run.seed)   # never stops: its lowest check
        assert run.history.step == alone.history.step
        np.testing.assert_allclose(run.history.train_loss, alone.history.train_loss, rtol=1e-4)
        np.testing.assert_allclose(run.history.val_loss, alone.history.val_loss, rtol=1e-4)
        assert run.best_step == alone.best_step
        assert remedies.test_scores(run).restored_loss == pytest.approx(remedies.test_scores(alone).restored_loss,
                                                                         rel=1e-4)
    again = remedies.train_moons_stacked(width=4, steps=200, seeds=(3, 4))
    assert [r.history.val_loss for r in again] == [r.history.val_loss for r in stacked]
    with pytest.raises(ValueError, match="seeds"):
        remedies.train_moons_stacked(seeds=())


def test_l2_penalty_sums_squared_weights_not_biases():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    expected = 0.5 * sum((m.weight ** 2).sum() for m in model if isinstance(m, torch.nn.Linear))
    assert float(remedies.l2_penalty(0.5)(model)) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="lam"):
        remedies.l2_penalty(-1.0)
