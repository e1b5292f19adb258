"""Remedies for overfitting, each measured on the course's overfitting setup (`helpers.overfit`).

One run: two moons (noise 0.2, 10% of the training labels flipped), a 2-w-w-1 ReLU MLP
(w = 256 is the standard big model), Adam, full batch: every update sees the whole training set,
so one update is one epoch and more data never means more updates. The remedies:

- more data: a larger `n_train` at the *same* number of updates;
- augmentation: `jitter` > 0 adds fresh Gaussian noise to the training inputs at every update,
  x' = x + jitter * N(0, I). The moons' points really do scatter around their curves, so this is a
  change the test data shows (for images, see `helpers.digits`);
- a smaller model: a narrower `width` (or fewer layers, `depth`);
- early stopping with patience p (Prechelt, "Early Stopping - But When?", 1998): check the
  validation loss every `eval_every` updates, stop once it has not improved for p updates, and
  restore the weights of the best check.
"""

import copy
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import models, overfit, train
from helpers._check import check_float, check_int

STEPS = 300
LR = 3e-3
EVAL_EVERY = 10


@dataclass
class Run:
    """One training run. `history` holds the curves (`train.History`); `model` is the final model.

    With `patience` set, `stopped_at` is the update at which early stopping would have stopped,
    `best_step` the check it restores, and `restored` a copy of the model with those weights
    (the run itself goes on to the last update, so both can be compared).
    """

    history: train.History
    model: nn.Module
    split: object
    seed: int = 0
    stopped_at: int | None = None
    best_step: int | None = None
    restored: nn.Module | None = None


def train_moons(n_train: int = 50, width: int = 256, depth: int = 3, jitter: float = 0.0, steps: int = STEPS,
                lr: float = LR, eval_every: int = EVAL_EVERY, patience: int | None = None, seed: int = 0) -> Run:
    """Train `overfit.big_model(width=width, depth=depth)` on `overfit.moons_split(n_train)` with Adam, full batch.

    Losses in the history are measured on the clean training rows (no jitter) and the validation rows.
    """
    check_int("n_train", n_train, 4)
    check_int("width", width, 1)
    check_int("depth", depth, 1)
    check_float("jitter", jitter, 0.0, 2.0)
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_int("eval_every", eval_every, 1)
    check_int("seed", seed, 0)
    if patience is not None:
        check_int("patience", patience, 1)
    split = overfit.moons_split(n_train, seed=seed)
    model = overfit.big_model(width=width, depth=depth, seed=seed)
    run = Run(train.History(), model, split, seed)
    noise = torch.Generator().manual_seed(5000 + seed)

    def jitter_inputs(X):
        return X + jitter * torch.randn(X.shape, generator=noise)

    improved = {0: copy.deepcopy(model.state_dict())}  # the weights at each check that set a new lowest validation loss

    def keep_improvements(step, model, history):
        if history.best_step == step:
            improved[step] = copy.deepcopy(model.state_dict())

    run.history = train.train(model, split, steps=steps, lr=lr, optimizer="adam", eval_every=eval_every, seed=seed,
                              transform=jitter_inputs if jitter > 0 else None,
                              after_step=keep_improvements if patience is not None else None)
    if patience is not None:
        best, stop = early_stopping_point(run.history.step, run.history.val_loss, patience)
        run.stopped_at, run.best_step = run.history.step[stop], run.history.step[best]
        run.restored = _with_state(model, improved[run.best_step])
    return run


def _with_state(model: nn.Module, state: dict) -> nn.Module:
    restored = copy.deepcopy(model)
    restored.load_state_dict(state)
    return restored


def early_stopping_point(steps, val_loss, patience: int) -> tuple[int, int]:
    """(best index, stop index) that early stopping with `patience` (in updates) picks from a curve.

    Walk the checks in order, remember the best validation loss so far; stop at the first check
    that comes `patience` or more updates after the best one. If that never happens, stop at the end.
    `train_moons(patience=...)` applies it to its own curve and restores the weights of the best check.
    """
    check_int("patience", patience, 1)
    steps, val_loss = np.asarray(steps), np.asarray(val_loss, dtype=float)
    if steps.shape != val_loss.shape or steps.size == 0:
        raise ValueError("steps and val_loss must be non-empty and of the same length")
    best = 0
    for i in range(len(steps)):
        if np.isfinite(val_loss[i]) and val_loss[i] < val_loss[best]:
            best = i
        if steps[i] - steps[best] >= patience:
            return best, i
    return best, len(steps) - 1


@dataclass
class TestScores:
    """Test loss and accuracy of the early-stopped (restored) and the final model."""

    restored_loss: float
    final_loss: float
    restored_acc: float
    final_acc: float


def test_scores(run: Run, n_test: int = 2000) -> TestScores:
    """Score `run.restored` and `run.model` on `overfit.moons_test(seed)`: rows that neither
    training nor early stopping ever saw (early stopping chose its step on the validation rows)."""
    if run.restored is None:
        raise ValueError("run has no restored model: train it with patience=...")
    check_int("n_test", n_test, 2)
    X, y = overfit.moons_test(n_test, seed=run.seed)
    rl, ra = train.evaluate(run.restored, X, y)
    fl, fa = train.evaluate(run.model, X, y)
    return TestScores(rl, fl, ra, fa)


# -------------------------------------------------------------------------------------------------
# The lesson's remedies panel and its comparisons (pure, cached per setting)

PANEL_GRID = {"n_train": (25, 50, 100, 200), "width": (8, 32, 128, 256), "jitter": (0.0, 0.1, 0.2)}
PANEL_DEFAULT = {"n_train": 50, "width": 256, "jitter": 0.0}


def overfit_run(n_train: int = 50, width: int = 256, jitter: float = 0.0, seed: int = 0) -> Run:
    """`train_moons(n_train, width, jitter, patience=50, seed)`, cached. Patience only records where early stopping
    would stop and keeps those weights; the training is the same as without it. `jitter` is rounded to 2 decimals
    (a slider's 0.30000000000000004 is 0.3)."""
    return _overfit_run(n_train, width, round(float(jitter), 2), seed)


@functools.lru_cache(maxsize=128)
def _overfit_run(n_train, width, jitter, seed):
    return train_moons(n_train=n_train, width=width, jitter=jitter, patience=50, seed=seed)


def panel(n_train: int, width: int, jitter: float, patience: int, seed: int):
    """The remedies panel's result: (run, best index, stop index, the plain setup's run); with `patience` 0 the
    early-stopping marks are off (best and stop are None)."""
    run = overfit_run(n_train, width, jitter, seed)
    h = run.history
    best, stop = early_stopping_point(h.step, h.val_loss, patience) if patience else (None, None)
    return run, best, stop, overfit_run(**PANEL_DEFAULT, seed=seed)


@dataclass
class SizeAtConvergence:
    """A narrow network against the big one with training time taken out: both judged by their best check.

    `big_best`/`big_best_step`: the 2-256-256-1 network's lowest validation loss in its 300 updates (what early
    stopping restores). `small_300`: the narrow network's final validation loss after the same 300 updates;
    `small_best`/`small_best_step`: its lowest validation loss over `long_steps` updates, `small_long_train` and
    `small_long_val` its training and validation loss after them. Both best checks were picked on the validation
    set (the narrow network's among ten times as many checks), so `big_best_test`/`small_best_test` score the two
    restored models on `overfit.moons_test`, rows used for no decision: that is the fair comparison."""

    big_best: float
    big_best_step: int
    small_300: float
    small_best: float
    small_best_step: int
    small_long_train: float
    small_long_val: float
    big_best_test: float
    small_best_test: float


def smaller_model_at_convergence(width: int = 8, long_steps: int = 3000, seed: int = 0) -> SizeAtConvergence:
    """`smaller_models_at_convergence` for one seed."""
    return smaller_models_at_convergence(width, long_steps, seeds=(seed,))[0]


def smaller_models_at_convergence(width: int = 8, long_steps: int = 3000, seeds=(0, 1, 2)) -> list[SizeAtConvergence]:
    """Is a narrow network too small, or only slower? Train it for `long_steps` full-batch updates (checks every
    10) and compare its best check with the big network's early-stopped one (same data, seed, Adam, lr), per seed.

    The long runs of all `seeds` train at once (`train_moons_stacked`); the 300-update runs are `overfit_run`'s."""
    check_int("long_steps", long_steps, STEPS)
    seeds = tuple(seeds)
    long_runs = train_moons_stacked(width=width, steps=long_steps, seeds=seeds)
    out = []
    for seed, long in zip(seeds, long_runs, strict=True):
        big = overfit_run(seed=seed)
        small = overfit_run(width=width, seed=seed).history
        h = long.history
        out.append(SizeAtConvergence(big.history.best_val_loss, big.history.best_step, small.val_loss[-1],
                                     h.best_val_loss, h.best_step, h.train_loss[-1], h.val_loss[-1],
                                     test_scores(big).restored_loss, test_scores(long).restored_loss))
    return out


def train_moons_stacked(width: int = 8, depth: int = 3, steps: int = STEPS, lr: float = LR,
                        eval_every: int = EVAL_EVERY, seeds=(0, 1, 2)) -> list[Run]:
    """`train_moons(width, depth, steps, lr, eval_every, patience=steps, seed=s)` for every seed in `seeds`, trained
    side by side: layer k of all the networks is one (S, n_in, n_out) view of one flat tensor (Adam makes one
    update per step, not one per layer), and x W + b one batched matmul.

    Each network starts from `overfit.big_model(width, depth, seed=s)`'s weights and sees only its own data
    (`overfit.moons_split(50, seed=s)`); the summed loss gives each its own gradient, and Adam acts elementwise,
    so stacking only saves Python overhead per update. The last digits differ from `train_moons`' runs (other
    kernels), and a network's last digits also depend on which seeds share its stack (vectorized kernels split a
    tensor by position): the same `seeds` give the same runs.
    Each run's `restored` holds the weights of its lowest validation check (patience = `steps`:
    early stopping never stops, it restores the minimum)."""
    check_int("width", width, 1)
    check_int("depth", depth, 1)
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_int("eval_every", eval_every, 1)
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for s in seeds:
        check_int("seed", s, 0)
    splits = [overfit.moons_split(50, seed=s) for s in seeds]
    models_ = [overfit.big_model(width=width, depth=depth, seed=s) for s in seeds]
    layers = [models.linear_layers(m) for m in models_]
    stacked = []
    for k in range(len(layers[0])):
        stacked += [torch.stack([ls[k].weight.detach().T for ls in layers]),
                    torch.stack([ls[k].bias.detach()[None, :] for ls in layers])]
    shapes = [p.shape for p in stacked]
    flat = torch.cat([p.reshape(-1) for p in stacked]).requires_grad_()   # one tensor: one Adam update per step

    def unflatten(values):
        return [part.view(shape) for part, shape in zip(values.split([s.numel() for s in shapes]), shapes, strict=True)]

    X_train = torch.stack([sp.X_train for sp in splits])
    y_train = torch.stack([sp.y_train for sp in splits])
    X_val = torch.stack([sp.X_val for sp in splits])
    y_val = torch.stack([sp.y_val for sp in splits])
    histories = [train.History() for _ in seeds]
    best_params = [None] * len(seeds)

    def logits(X):
        params = unflatten(flat)
        for k in range(0, len(params), 2):
            X = torch.baddbmm(params[k + 1], X, params[k])
            if k < len(params) - 2:
                X = torch.relu(X)
        return X.squeeze(-1)

    def per_seed_bce(out, y):
        return nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none").mean(-1)

    @torch.no_grad()
    def record(step):
        out_train, out_val = logits(X_train), logits(X_val)
        train_loss, val_loss = per_seed_bce(out_train, y_train).tolist(), per_seed_bce(out_val, y_val).tolist()
        train_acc = ((out_train > 0).float() == y_train).float().mean(-1).tolist()
        val_acc = ((out_val > 0).float() == y_val).float().mean(-1).tolist()
        for i, h in enumerate(histories):
            h.step.append(step)
            h.train_loss.append(train_loss[i])
            h.val_loss.append(val_loss[i])
            h.train_acc.append(train_acc[i])
            h.val_acc.append(val_acc[i])
            if math.isfinite(val_loss[i]) and val_loss[i] < h.best_val_loss:
                h.best_val_loss, h.best_step = val_loss[i], step
                best_params[i] = [p[i].detach().clone() for p in unflatten(flat)]

    opt = torch.optim.Adam([flat], lr=lr)
    record(0)
    for step in range(1, steps + 1):
        loss = per_seed_bce(logits(X_train), y_train).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            record(step)
    runs = []
    for i, (seed, model, split, h) in enumerate(zip(seeds, models_, splits, histories, strict=True)):
        _load_slice(model, unflatten(flat.detach()), i)
        restored = copy.deepcopy(model)
        _load_slice(restored, best_params[i], None)
        run = Run(h, model.eval(), split, seed, stopped_at=h.step[-1], best_step=h.best_step, restored=restored.eval())
        runs.append(run)
    return runs


@torch.no_grad()
def _load_slice(model: nn.Module, params, index) -> None:
    """Copy network `index` of stacked `params` (or unstacked per-network `params`, index None) into `model`."""
    for k, layer in enumerate(models.linear_layers(model)):
        w, b = params[2 * k], params[2 * k + 1]
        if index is not None:
            w, b = w[index], b[index]
        layer.weight.copy_(w.T)
        layer.bias.copy_(b[0])


def l2_penalty(lam: float):
    """The penalty lam * sum(w^2) over the weight matrices of a model (biases left out), for `train.train(penalty=)`.
    Lesson 4 takes it apart (it equals weight decay only under plain SGD)."""
    check_float("lam", lam, 0.0)

    def penalty(model):
        return lam * sum((layer.weight ** 2).sum() for layer in models.linear_layers(model))

    return penalty
