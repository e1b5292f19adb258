import math

import pytest
import torch

from helpers import data, models, train


def _split(seed=0):
    return data.train_val_split(*data.moons(200, seed=seed), seed=seed)


def test_training_learns_moons_and_history_is_complete():
    h = train.train(models.mlp(2, [32, 32], seed=0), _split(), steps=200, lr=1e-2, eval_every=10)
    assert h.step[0] == 0 and h.step[-1] == 200 and len(h.step) == 21
    assert len(h.train_loss) == len(h.val_loss) == len(h.train_acc) == len(h.val_acc) == 21
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.val_acc[-1] > 0.9
    assert not h.diverged and h.best_step is not None


def test_same_seed_same_history_minibatch_and_dropout():
    def run():
        m = models.mlp(2, [32], dropout=0.3, seed=1)
        return train.train(m, _split(), steps=50, batch_size=16, seed=5).train_loss
    assert run() == run()


def test_divergence_is_recorded_not_raised():
    m = models.mlp(2, [64] * 6, init="normal", std=1.0, seed=0)
    h = train.train(m, _split(), steps=100, lr=10.0, optimizer="sgd", loss="bce")
    assert h.diverged and h.diverged_at <= 100
    assert len(h.step) >= 1


def test_metrics_are_measured_in_eval_mode():
    """With heavy dropout, the recorded training loss equals the deterministic eval-mode loss."""
    split = _split()
    m = models.mlp(2, [64], dropout=0.9, seed=0)
    h = train.train(m, split, steps=5, eval_every=5)
    loss, _ = train.evaluate(m, split.X_train, split.y_train, "bce")
    assert h.train_loss[-1] == pytest.approx(loss, rel=1e-6)
    assert m.training is False


def test_penalty_recorded_separately_and_keep_best():
    penalty = lambda model: 1e-3 * sum((p ** 2).sum() for p in model.parameters())  # noqa: E731
    h = train.train(models.mlp(2, [16], seed=0), _split(), steps=20, penalty=penalty, keep_best=True)
    assert len(h.penalty) == len(h.step) and all(v > 0 for v in h.penalty)
    assert h.best_state is not None and h.best_val_loss == min(h.val_loss)


def test_transform_changes_what_each_update_sees_but_not_the_recorded_metrics():
    split = _split()
    seen = []

    def record_inputs(X):
        seen.append(X.clone())
        return X * 0.0  # the network sees nothing: it can only learn the class balance

    m = models.mlp(2, [16], seed=0)
    h = train.train(m, split, steps=30, eval_every=30, transform=record_inputs)
    assert len(seen) == 30 and all(torch.equal(x, split.X_train) for x in seen)
    assert h.train_loss[-1] == pytest.approx(train.evaluate(m, split.X_train, split.y_train)[0], rel=1e-6)
    assert h.train_acc[-1] <= 0.6  # measured on the real inputs, which the network never saw
    plain = train.train(models.mlp(2, [16], seed=0), split, steps=30, eval_every=30)
    assert plain.train_acc[-1] >= 0.7


def test_after_step_runs_after_every_update_and_sees_its_evaluation():
    calls = []

    def after(step, model, history):
        calls.append((step, history.step[-1], model.training))

    train.train(models.mlp(2, [8], seed=0), _split(), steps=12, eval_every=5, after_step=after)
    assert [c[0] for c in calls] == list(range(1, 13))
    assert all(training for _, _, training in calls)  # the model is back in training mode after each evaluation
    assert [c[1] for c in calls] == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 12]  # latest evaluation, this one included


def test_mse_has_no_accuracy():
    split = data.train_val_split(*data.regression_1d(40, seed=0), seed=0)
    h = train.train(models.mlp(1, [16], seed=0), split, steps=10, loss="mse")
    assert h.train_acc == [] and math.isfinite(h.val_loss[-1])


def test_clip_norm_keeps_a_large_learning_rate_finite():
    split = _split()
    kwargs = dict(steps=30, lr=1.0, optimizer="sgd")
    wild = train.train(models.mlp(2, [64] * 8, init="he_normal", gain=1.5, seed=0), split, **kwargs)
    tame = train.train(models.mlp(2, [64] * 8, init="he_normal", gain=1.5, seed=0), split, clip_norm=1.0, **kwargs)
    assert not tame.diverged
    assert wild.diverged or max(wild.train_loss) > max(tame.train_loss)


@pytest.mark.parametrize("kwargs, name", [
    ({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"loss": "hinge"}, "loss"), ({"batch_size": 0}, "batch_size"), ({"clip_norm": -1.0}, "clip_norm"),
    ({"weight_decay": -0.1}, "weight_decay"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train.train(models.mlp(2, [4]), _split(), **kwargs)
