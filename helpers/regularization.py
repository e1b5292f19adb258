"""L1 and L2 regularization: penalties, the proximal L1 step, sparsity, the 2-D geometry, the lasso, weight decay.

    L2 (ridge, Tikhonov; "weight decay"):  objective = data loss + lambda/2 * sum w^2,  gradient  lambda * w
    L1 (lasso, Tibshirani 1996):           objective = data loss + lambda   * sum |w|,  subgradient lambda * sign(w)

Which parameters a penalty covers: the course penalizes the *weights* of the Linear layers (every
parameter with two or more dimensions) and leaves the biases alone, as Goodfellow, Bengio & Courville,
"Deep Learning" (2016), section 7.1, recommend: a bias only shifts one unit's output, it does not
multiply an input, so it adds no sensitivity to the input to be reined in, and pulling it to zero only
pulls the function towards passing through the origin. PyTorch's `weight_decay=` argument, by contrast,
decays every parameter of the optimizer's parameter group, biases included, unless the biases are
given a group of their own with weight_decay 0 (`decay_param_groups` builds those groups).

Each penalty is a callable `penalty(model) -> tensor`, the form `helpers.train.train(penalty=...)`
takes; the training history records the data loss and the penalty separately.
"""

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from helpers import models, overfit, train
from helpers._check import check_choice, check_float, check_int
from helpers.data import Split, standardize

PENALTIES = ["none", "l2", "l1", "l1_prox"]
PENALTY_LABELS = {"none": "no penalty", "l2": "L2", "l1": "L1 (subgradient)", "l1_prox": "L1 (proximal step)"}
SMALL = 1e-3  # the "|w| < 1e-3" threshold the sparsity counts use


# --------------------------------------------------------------------------------------------------
# Penalties
# --------------------------------------------------------------------------------------------------

def penalized_parameters(model: nn.Module, include_bias: bool = False) -> list[nn.Parameter]:
    """The parameters a penalty covers: weight matrices (dim >= 2), and the biases too if `include_bias`."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [p for p in model.parameters() if p.requires_grad and (include_bias or p.dim() >= 2)]


def l2_penalty(lam: float, include_bias: bool = False) -> Callable[[nn.Module], torch.Tensor]:
    """The L2 penalty  lambda/2 * sum_i w_i^2  as a callable for `train.train(penalty=...)`.

    Its gradient is lambda * w: each weight is pulled towards zero in proportion to its size, so the
    large weights shrink most and the small ones hardly move (Hoerl & Kennard 1970, "ridge regression";
    Krogh & Hertz 1992 for neural networks). The 1/2 makes the gradient exactly lambda * w, the form
    PyTorch's `weight_decay=lambda` adds to the gradient.
    """
    lam = check_float("lam", lam, 0.0)

    def penalty(model: nn.Module) -> torch.Tensor:
        return lam / 2 * sum((w * w).sum() for w in penalized_parameters(model, include_bias))

    penalty.__name__ = f"l2_penalty(lam={lam:g})"
    return penalty


def l1_penalty(lam: float, include_bias: bool = False) -> Callable[[nn.Module], torch.Tensor]:
    """The L1 penalty  lambda * sum_i |w_i|  as a callable for `train.train(penalty=...)`.

    Its subgradient is lambda * sign(w): every weight, large or small, is pulled towards zero by the
    same amount (Tibshirani 1996, "the lasso"). Autograd uses sign(0) = 0. A gradient step on it makes
    weights jump back and forth across zero rather than land on it: use `proximal_l1` for exact zeros.
    """
    lam = check_float("lam", lam, 0.0)

    def penalty(model: nn.Module) -> torch.Tensor:
        return lam * sum(w.abs().sum() for w in penalized_parameters(model, include_bias))

    penalty.__name__ = f"l1_penalty(lam={lam:g})"
    return penalty


def make_penalty(kind: str, lam: float, include_bias: bool = False) -> Callable[[nn.Module], torch.Tensor] | None:
    """The penalty callable for `kind` in PENALTIES ("none" gives None).

    "l1_prox" returns the L1 value with its gradient switched off (`.detach()`): the training loss and
    `history.penalty` still show the whole objective, but the L1 part is handled by the proximal step
    (`proximal_l1`), not by a gradient.
    """
    check_choice("kind", kind, PENALTIES)
    if kind == "none":
        return None
    if kind == "l2":
        return l2_penalty(lam, include_bias)
    l1 = l1_penalty(lam, include_bias)
    if kind == "l1":
        return l1
    return lambda model: l1(model).detach()


def decay_param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer parameter groups: the weight matrices with `weight_decay`, the biases with 0.

    `torch.optim.AdamW(decay_param_groups(model, 0.01), lr=1e-3)` decays the weights only, the
    course's convention; `AdamW(model.parameters(), weight_decay=0.01)` would decay the biases too.
    """
    check_float("weight_decay", weight_decay, 0.0)
    weights = penalized_parameters(model)
    ids = {id(p) for p in weights}
    others = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": weights, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]


# --------------------------------------------------------------------------------------------------
# The proximal (soft-threshold) step and sparsity
# --------------------------------------------------------------------------------------------------

@torch.no_grad()
def soft_threshold_(w: torch.Tensor, threshold: float) -> torch.Tensor:
    """In place, w <- sign(w) * max(|w| - threshold, 0): the proximal operator of threshold * |w|.

    Daubechies, Defrise & De Mol (2004); the update of ISTA (Beck & Teboulle 2009, "FISTA"). Every
    weight within `threshold` of zero becomes exactly 0; the others move `threshold` towards zero.
    """
    threshold = check_float("threshold", threshold, 0.0)
    return w.copy_(torch.sign(w) * torch.clamp(w.abs() - threshold, min=0.0))


@contextmanager
def proximal_l1(model: nn.Module, lam: float, include_bias: bool = False):
    """Within this block, every optimizer step on `model` is followed by the L1 proximal step.

        w <- soft_threshold(w_after_step, lr * lambda)

    With plain SGD this is proximal gradient descent (ISTA) on  data loss + lambda * sum |w|: the
    gradient step handles the smooth data loss, the soft-threshold handles the L1 term exactly, and a
    weight whose data gradient cannot hold it away from zero lands *on* zero. With Adam it is the L1
    analogue of AdamW's decoupled decay: the shrinkage lr * lambda is the same for every weight.

        with proximal_l1(model, lam=1e-2):
            history = train.train(model, split, penalty=make_penalty("l1_prox", 1e-2), ...)

    It works through a post-step hook on all optimizers (`register_optimizer_step_post_hook`) that
    acts only on optimizers holding this model's weights; the hook is removed when the block ends.
    """
    lam = check_float("lam", lam, 0.0)
    params = penalized_parameters(model, include_bias)
    ids = {id(p) for p in params}

    def hook(optimizer, args, kwargs):
        for group in optimizer.param_groups:
            for p in group["params"]:
                if id(p) in ids:
                    soft_threshold_(p, float(group["lr"]) * lam)

    handle = register_optimizer_step_post_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def weight_values(model: nn.Module, include_bias: bool = False) -> np.ndarray:
    """All penalized weights of `model` flattened into one numpy array (float64)."""
    params = penalized_parameters(model, include_bias)
    return torch.cat([p.detach().flatten() for p in params]).double().numpy()


@dataclass
class Sparsity:
    """How many weights are exactly zero, and how many are merely small (|w| < `small`)."""

    n: int
    exact_zero: int
    below_small: int
    small: float = SMALL

    @property
    def exact_zero_fraction(self) -> float:
        return self.exact_zero / self.n

    @property
    def below_small_fraction(self) -> float:
        return self.below_small / self.n


def sparsity(weights, small: float = SMALL) -> Sparsity:
    """Count exact zeros (w == 0.0) and small weights (|w| < `small`) in a model or an array of weights.

    Only exact zeros can be removed from a network for free; |w| < 1e-3 cannot tell a weight that
    is zero from one that keeps crossing zero.
    """
    check_float("small", small, 0.0, low_open=True)
    w = weight_values(weights) if isinstance(weights, nn.Module) else np.asarray(weights, dtype=float).ravel()
    if w.size == 0:
        raise ValueError("weights must not be empty")
    return Sparsity(int(w.size), int((w == 0.0).sum()), int((np.abs(w) < small).sum()), small)


def train_regularized(model: nn.Module, split, kind: str, lam: float, include_bias: bool = False,
                      **train_kwargs) -> train.History:
    """Train `model` with the penalty `kind` (see PENALTIES) of strength `lam` via `helpers.train.train`.

    "l2" and "l1" add the penalty to the loss (its gradient or subgradient drives the weights);
    "l1_prox" takes gradient steps on the data loss and soft-thresholds after each (`proximal_l1`).
    The other keyword arguments go to `train.train` (steps, lr, optimizer, loss, eval_every, seed...).
    """
    check_choice("kind", kind, PENALTIES)
    lam = check_float("lam", lam, 0.0)
    if "penalty" in train_kwargs:
        raise ValueError("penalty is set by kind and lam; do not pass it too")
    penalty = make_penalty(kind, lam, include_bias)
    if kind != "l1_prox":
        return train.train(model, split, penalty=penalty, **train_kwargs)
    with proximal_l1(model, lam, include_bias):
        return train.train(model, split, penalty=penalty, **train_kwargs)


# --------------------------------------------------------------------------------------------------
# The overfitting network under a penalty (lesson 3's regression setup), and the lambda sweep
# --------------------------------------------------------------------------------------------------

FIT_WIDTH = 64      # hidden width of the 1-64-64-1 ReLU network (sized so a sweep runs in seconds)
FIT_STEPS = 500     # full-batch Adam steps
FIT_LR = 1e-2
SWEEP_LAMBDAS = tuple(10.0 ** k for k in range(-6, 1))  # 1e-6 ... 1, by decades


@dataclass
class Fit:
    """One network trained on the regression overfitting setup under one penalty (plain data only)."""

    kind: str
    lam: float
    x_grid: np.ndarray          # where the fitted curve is evaluated
    y_grid: np.ndarray          # the network's prediction there
    history: train.History      # data losses and penalty per evaluation
    weights: np.ndarray         # every penalized weight after training
    sparsity: Sparsity
    l2_norm: float              # sqrt(sum w^2) over the penalized weights
    l1_norm: float              # sum |w|
    dead_units: int             # hidden ReLU units that are off (output 0) for every training input
    small_on_dead: int          # weights with |w| < SMALL that feed into or out of a dead unit

    @property
    def val_loss(self) -> float:
        return self.history.val_loss[-1]

    @property
    def train_loss(self) -> float:
        return self.history.train_loss[-1]


def fit_regression(kind: str, lam: float, seed: int = 0, width: int = FIT_WIDTH, steps: int = FIT_STEPS,
                   lr: float = FIT_LR, eval_every: int = 20) -> Fit:
    """Train the overfitting regression network (`overfit.regression_split`, `overfit.big_model` with
    one input) with penalty `kind` of strength `lam`, full-batch Adam.

    Cached per setting: `fit_regression("l2", 0.1)`, `fit_regression("l2", 0.1, 0)` and
    `fit_regression(kind="l2", lam=0.1, seed=0)` are one network, trained once.
    """
    return fit_many(kind, ((lam, seed),), width, steps, lr, eval_every)[0]


_FITS: dict[tuple, Fit] = {}   # (kind, lam, seed, width, steps, lr, eval_every) -> Fit, however it was trained


def fit_many(kind: str, settings, width: int = FIT_WIDTH, steps: int = FIT_STEPS, lr: float = FIT_LR,
             eval_every: int = 20) -> list[Fit]:
    """`fit_regression(kind, lam, seed, ...)` for every (lam, seed) of `settings`, in that order.

    The settings not trained yet are trained side by side as one stacked model (`_train_stacked`), whose
    every network is bit for bit the network `train.train` gives alone (same data, start, Adam steps and
    records); only the Python and dispatch overhead per step is shared, so 7 networks cost about as much
    as 1.5 (at width FIT_WIDTH; other widths are trained one at a time). Cached per setting, whichever
    call trained it.
    """
    check_choice("kind", kind, PENALTIES)
    check_int("width", width, 1)
    check_int("steps", steps, 1)
    lr = check_float("lr", lr, 0.0, low_open=True)
    check_int("eval_every", eval_every, 1)
    keys = [(kind, check_float("lam", lam, 0.0), check_int("seed", seed, 0), width, steps, lr, eval_every)
            for lam, seed in settings]
    missing = list(dict.fromkeys(k for k in keys if k not in _FITS))
    if len(missing) == 1 or width != FIT_WIDTH:
        _FITS.update((k, _fit_alone(*k)) for k in missing)
    elif missing:
        _FITS.update(zip(missing, _train_stacked(kind, [k[1:3] for k in missing], width, steps, lr, eval_every),
                         strict=True))
    return [_FITS[k] for k in keys]


def _fit_alone(kind: str, lam: float, seed: int, width: int, steps: int, lr: float, eval_every: int) -> Fit:
    split = overfit.regression_split(seed=seed)
    model = overfit.big_model(in_features=1, width=width, seed=seed)
    history = train_regularized(model, split, kind, lam, steps=steps, lr=lr, optimizer="adam", loss="mse",
                                eval_every=eval_every, seed=seed)
    return _fit_result(kind, lam, model, split, history)


def _fit_result(kind: str, lam: float, model: nn.Sequential, split, history: train.History) -> Fit:
    x_grid = torch.linspace(0, 1, 200)[:, None]
    with torch.no_grad():
        y_grid = model(x_grid).squeeze(-1).numpy()
    w = weight_values(model)
    dead, small_on_dead = dead_unit_weights(model, split.X_train)
    return Fit(kind, lam, x_grid.squeeze(-1).numpy(), y_grid, history, w, sparsity(w),
               float(np.sqrt((w ** 2).sum())), float(np.abs(w).sum()), dead, small_on_dead)


class _FirstLayer(torch.autograd.Function):
    """K stacked 1-input Linear layers, out[k] = X[k] W[k]^T + b[k], computed with the same roundings as
    `nn.Linear` on one network: the forward as one fused multiply-add (what addmm does with one input
    column), the weight gradient as one X[k]^T grad[k] matrix product per network (what addmm's backward
    does; a batched product or a broadcast sum rounds differently)."""

    @staticmethod
    def forward(ctx, X, W, b):
        ctx.save_for_backward(X)
        return torch.addcmul(b[:, None, :], X, W.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad):
        (X,) = ctx.saved_tensors
        grad_w = torch.stack([X[k].t().mm(grad[k]) for k in range(len(X))]).transpose(1, 2)
        return None, grad_w, grad.sum(1)


def _train_stacked(kind: str, settings, width: int, steps: int, lr: float, eval_every: int) -> list[Fit]:
    """Train the 1-width-width-1 networks of `settings` ((lam, seed), ...) under `kind` as one stacked model:
    weights (K, out, in), one Adam over the stacked tensors (its update is elementwise, so each slice takes
    its own network's step), the sum of the K losses (its gradient reaches each network unchanged). Each
    network's `nn.Sequential` shares its slice of the stacked weights, so the records (`train._record`,
    every `eval_every` steps) and the final measurements are made on it exactly as after `train.train`.
    Checked bit for bit against `_fit_alone` on the three numeric paths (tests/test_regularization.py) at
    FIT_WIDTH only: at width 16 the batched product of the last layer rounds differently from `nn.Linear`
    (measured), so `fit_many` trains other widths one at a time.
    Falls back to training one at a time if any loss stops being finite (train.train stops there)."""
    splits = [overfit.regression_split(seed=seed) for _, seed in settings]
    nets = [overfit.big_model(in_features=1, width=width, seed=seed) for _, seed in settings]
    layers = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
    if len(layers[0]) != 3 or layers[0][0].in_features != 1:
        raise ValueError("the stacked trainer expects overfit.big_model(in_features=1) with depth 3")
    weights = [torch.stack([ls[i].weight.detach() for ls in layers]).requires_grad_() for i in range(3)]
    biases = [torch.stack([ls[i].bias.detach() for ls in layers]).requires_grad_() for i in range(3)]
    with torch.no_grad():
        for k, ls in enumerate(layers):
            for i, layer in enumerate(ls):
                layer.weight.data, layer.bias.data = weights[i].data[k], biases[i].data[k]
    X = torch.stack([s.X_train for s in splits])
    y = torch.stack([s.y_train for s in splits])
    # float32 of each double, as a Python number meets a float32 tensor in the one-network penalty and hook
    l1_scale = torch.tensor([lam for lam, _ in settings], dtype=torch.float32)
    l2_scale = torch.tensor([lam / 2 for lam, _ in settings], dtype=torch.float32)
    threshold = torch.tensor([lr * lam for lam, _ in settings], dtype=torch.float32)[:, None, None]
    penalties = [make_penalty(kind, lam) for lam, _ in settings]
    histories = [train.History() for _ in settings]
    opt = torch.optim.Adam([weights[0], biases[0], weights[1], biases[1], weights[2], biases[2]], lr=lr)

    def record(step):
        for net, split, penalty, history in zip(nets, splits, penalties, histories, strict=True):
            train._record(history, net, split, "mse", penalty, step, False)   # exactly train.train's record

    record(0)
    for step in range(1, steps + 1):
        h = torch.relu(_FirstLayer.apply(X, weights[0], biases[0]))
        h = torch.relu(torch.baddbmm(biases[1][:, None, :], h, weights[1].transpose(1, 2)))
        out = torch.baddbmm(biases[2][:, :, None], weights[2], h.transpose(1, 2)).squeeze(1)
        value = ((out - y) ** 2).mean(dim=1)
        if kind == "l2":
            value = value + l2_scale * sum((w * w).sum(dim=(1, 2)) for w in weights)
        elif kind == "l1":
            value = value + l1_scale * sum(w.abs().sum(dim=(1, 2)) for w in weights)
        total = value.sum()
        if not torch.isfinite(total):
            return [_fit_alone(kind, lam, seed, width, steps, lr, eval_every) for lam, seed in settings]
        opt.zero_grad()
        total.backward()
        opt.step()
        if kind == "l1_prox":
            with torch.no_grad():
                for w in weights:
                    w.copy_(torch.sign(w) * torch.clamp(w.abs() - threshold, min=0.0))
        if step % eval_every == 0 or step == steps:
            record(step)
            if not all(math.isfinite(hist.train_loss[-1]) for hist in histories):
                return [_fit_alone(kind, lam, seed, width, steps, lr, eval_every) for lam, seed in settings]
    fits = []
    for (lam_k, _), net, split, history in zip(settings, nets, splits, histories, strict=True):
        net.eval()
        fits.append(_fit_result(kind, lam_k, net, split, history))
    return fits


@torch.no_grad()
def dead_unit_weights(model: nn.Sequential, X: torch.Tensor, small: float = SMALL) -> tuple[int, int]:
    """(number of dead hidden units, number of |w| < `small` weights attached to one) of a Linear/ReLU stack.

    A hidden ReLU unit is dead on `X` when relu(pre-activation) = 0 for every row: it then passes no data
    gradient to its incoming weights, nor to its outgoing ones (they multiply a 0). A weight is attached
    to a dead unit if it is a row of the Linear layer feeding the unit or a column of the layer it feeds.
    """
    small = check_float("small", small, 0.0, low_open=True)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    if len(linears) < 2 or not all(isinstance(m, (nn.Linear, nn.ReLU)) for m in model):
        raise ValueError("model must be an nn.Sequential of Linear and ReLU layers with at least one hidden layer")
    h, dead = X, []
    for layer in linears[:-1]:
        h = torch.relu(layer(h))
        dead.append((h <= 0).all(dim=0))
    attached = 0
    for i, layer in enumerate(linears):
        mask = torch.zeros_like(layer.weight, dtype=torch.bool)
        if i < len(dead):
            mask |= dead[i][:, None]                 # rows feeding a dead unit
        if i > 0:
            mask |= dead[i - 1][None, :]             # columns fed by a dead unit
        attached += int((mask & (layer.weight.abs() < small)).sum())
    return int(sum(int(d.sum()) for d in dead)), attached


def true_curve_loss(seed: int = 0) -> tuple[float, float]:
    """Mean squared error of the noise-free target sin(2 pi x) on `overfit.regression_split(seed)`'s
    training and validation rows: the loss of a perfect model, i.e. the noise of that draw. Its expectation
    is REGRESSION_NOISE^2 = 0.25 on both, but 20 training points scatter around it far more than 500
    validation points do."""
    split = overfit.regression_split(seed=check_int("seed", seed, 0))
    out = []
    for X, y in ((split.X_train, split.y_train), (split.X_val, split.y_val)):
        out.append(float(((torch.sin(2 * math.pi * X.squeeze(-1)) - y) ** 2).mean()))
    return out[0], out[1]


def penalty_only_steps(w0: float, eta_lam: float, steps: int) -> dict:
    """Where `steps` gradient steps on the penalty alone take one weight `w0` (step size eta * lambda):

        L2:               w <- (1 - eta lambda) w
        L1 (subgradient): w <- w - eta lambda sign(w)       (crosses zero and keeps hopping)
        L1 (proximal):    w <- soft(w, eta lambda)          (stops at exactly 0)
    """
    w0 = check_float("w0", w0)
    eta_lam = check_float("eta_lam", eta_lam, 0.0)
    check_int("steps", steps, 0)
    w = {"l2": w0, "l1": w0, "l1_prox": w0}
    for _ in range(steps):
        w["l2"] = (1 - eta_lam) * w["l2"]
        w["l1"] = w["l1"] - eta_lam * float(np.sign(w["l1"]))
        w["l1_prox"] = float(np.sign(w["l1_prox"])) * max(abs(w["l1_prox"]) - eta_lam, 0.0)
    return w


@dataclass
class Sweep:
    """Final train/validation data loss of one penalty at each lambda of a sweep."""

    kind: str
    lams: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    exact_zero_fraction: np.ndarray
    l2_norm: np.ndarray

    @property
    def best_index(self) -> int:
        finite = np.where(np.isfinite(self.val_loss), self.val_loss, np.inf)
        return int(np.argmin(finite))

    @property
    def best_lam(self) -> float:
        return float(self.lams[self.best_index])

    @property
    def u_ratios(self) -> tuple[float, float]:
        """(best / left end, best / right end) of the validation loss: both < 1 is a U."""
        best = self.val_loss[self.best_index]
        return float(best / self.val_loss[0]), float(best / self.val_loss[-1])


def lambda_sweep(kind: str, lams=SWEEP_LAMBDAS, seed: int = 0, **fit_kwargs) -> Sweep:
    """`fit_regression` at every lambda of `lams` (each fit is cached, so the explorer reuses them)."""
    check_choice("kind", kind, PENALTIES)
    lams = tuple(float(lam) for lam in lams)
    if len(lams) < 2:
        raise ValueError(f"lams must hold at least 2 values, got {lams!r}")
    fits = fit_many(kind, [(lam, seed) for lam in lams], **fit_kwargs)
    return Sweep(kind, np.array(lams), np.array([f.train_loss for f in fits]), np.array([f.val_loss for f in fits]),
                 np.array([f.sparsity.exact_zero_fraction for f in fits]), np.array([f.l2_norm for f in fits]))


# --------------------------------------------------------------------------------------------------
# One seed is not a claim: the same settings over several seeds
# --------------------------------------------------------------------------------------------------

SPREAD_SETTINGS = (("none", 0.0), ("l1", 1e-2), ("l2", 1e-2), ("l2", 1e-1))   # no penalty, then moderate λs
SPREAD_SEEDS = tuple(range(5))


@dataclass
class SeedSpread:
    """Final validation loss of the regression network under each (kind, lambda) setting, on each seed."""

    settings: tuple             # ((kind, lam), ...)
    seeds: tuple
    val_loss: np.ndarray        # shape (len(settings), len(seeds))

    def row(self, kind: str, lam: float) -> np.ndarray:
        """The validation losses of one setting, seed by seed."""
        return self.val_loss[self.settings.index((kind, float(lam)))]

    def wins(self, better: tuple, than: tuple) -> int:
        """On how many seeds the setting `better` has a lower validation loss than `than`."""
        return int((self.row(*better) < self.row(*than)).sum())


def seed_spread(settings=SPREAD_SETTINGS, seeds=SPREAD_SEEDS, **fit_kwargs) -> SeedSpread:
    """`fit_regression` at every setting on every seed (cached: the explorer's seed-0 networks are reused)."""
    settings = tuple((check_choice("kind", kind, PENALTIES), check_float("lam", lam, 0.0)) for kind, lam in settings)
    seeds = tuple(check_int("seed", seed, 0) for seed in seeds)
    if not settings or not seeds:
        raise ValueError(f"settings and seeds must not be empty, got {settings!r} and {seeds!r}")
    val = np.array([[fit.val_loss for fit in fit_many(kind, [(lam, seed) for seed in seeds], **fit_kwargs)]
                    for kind, lam in settings])
    return SeedSpread(settings, seeds, val)


# --------------------------------------------------------------------------------------------------
# Exact zeros need the right update: proximal vs subgradient on a 50-32-1 MLP
# --------------------------------------------------------------------------------------------------

def sparse_regression(n: int = 100, p: int = 50, k: int = 5, noise: float = 1.0, seed: int = 0):
    """Linear data with few relevant features: y = X w* + noise, X ~ N(0, 1)^(n x p).

    w* has `k` non-zero entries (the first k features), each +-1 to +-2 with a random sign, the rest 0.
    Returns (X, y, w_true) as float32 tensors.
    """
    check_int("n", n, 2)
    check_int("p", p, 1)
    check_int("k", k, 0, p)
    check_float("noise", noise, 0.0)
    check_int("seed", seed, 0)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, p, generator=g)
    w_true = torch.zeros(p)
    signs = torch.where(torch.rand(k, generator=g) < 0.5, -1.0, 1.0)
    w_true[:k] = signs * (1.0 + torch.rand(k, generator=g))
    y = X @ w_true + noise * torch.randn(n, generator=g)
    return X, y, w_true


def sgd_sparsity(lam: float = 0.01, steps: int = 1000, lr: float = 0.05, seed: int = 0, hidden: int = 32,
                 kinds=("l2", "l1", "l1_prox")) -> dict:
    """Train a 50-`hidden`-1 ReLU MLP on `sparse_regression` (100 training rows, 100 validation rows,
    standardized) with plain full-batch SGD under each penalty of `kinds`, same lambda, same start.

    Returns, per kind: the weights, their `Sparsity` (all weights and first layer), the final
    validation loss, and the validation loss after `prune_small_` has zeroed every |w| < 1e-3.
    With plain SGD the update rules are literally the ones of the lesson:
    L2 w <- w - lr (g + lam w);  L1 w <- w - lr (g + lam sign w);  proximal L1 w <- soft(w - lr g, lr lam).
    """
    lam = check_float("lam", lam, 0.0, low_open=True)
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_int("hidden", hidden, 1)
    for kind in kinds:
        check_choice("kinds", kind, PENALTIES)
    X, y, _ = sparse_regression(n=200, seed=seed)
    split = standardize(Split(X[:100], y[:100], X[100:], y[100:]))
    out = {}
    for kind in kinds:
        model = models.mlp(X.shape[1], [hidden], 1, activation="relu", seed=seed)
        history = train_regularized(model, split, kind, lam, steps=steps, lr=lr, optimizer="sgd", loss="mse",
                                    eval_every=steps, seed=seed)
        w = weight_values(model)
        out[kind] = {"weights": w, "sparsity": sparsity(w), "val_loss": history.val_loss[-1],
                     "first_layer": sparsity(model[0].weight.detach().numpy())}
        prune_small_(model)
        out[kind]["pruned_val_loss"] = train.evaluate(model, split.X_val, split.y_val, "mse")[0]
    return out


@torch.no_grad()
def prune_small_(model: nn.Module, small: float = SMALL) -> int:
    """Set every penalized weight with |w| < `small` to exactly 0 (magnitude pruning, a threshold step taken
    once after training); returns how many weights it zeroed. Biases are left alone."""
    small = check_float("small", small, 0.0, low_open=True)
    zeroed = 0
    for w in penalized_parameters(model):
        mask = w.abs() < small
        zeroed += int(mask.sum())
        w[mask] = 0.0
    return zeroed


# --------------------------------------------------------------------------------------------------
# The lasso: which features survive
# --------------------------------------------------------------------------------------------------

def lasso(X, y, lam: float, max_iter: int = 5000, tol: float = 1e-10) -> np.ndarray:
    """Minimize  1/(2n) ||y - X w||^2 + lambda ||w||_1  by FISTA (Beck & Teboulle 2009); exact zeros.

    The 1/(2n) scaling is the lasso's usual one (glmnet, scikit-learn), so a lambda here compares with
    theirs and with the theory's scale sigma * sqrt(2 log p / n). Without an intercept: centre y first.
    """
    lam = check_float("lam", lam, 0.0)
    check_int("max_iter", max_iter, 1)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, p) and y (n,), got {X.shape} and {y.shape}")
    n = X.shape[0]
    step = n / np.linalg.norm(X, 2) ** 2            # 1 / Lipschitz constant of the smooth part
    w = z = np.zeros(X.shape[1])
    t = 1.0
    for _ in range(max_iter):
        grad = X.T @ (X @ z - y) / n
        v = z - step * grad
        w_next = np.sign(v) * np.maximum(np.abs(v) - step * lam, 0.0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = w_next + (t - 1) / t_next * (w_next - w)
        done = np.max(np.abs(w_next - w)) < tol
        w, t = w_next, t_next
        if done:
            break
    return w


def lasso_theory_lambda(noise: float, p: int, n: int) -> float:
    """The lasso's natural scale  sigma * sqrt(2 log p / n): about the largest correlation pure noise
    has with any of p irrelevant features (Bickel, Ritov & Tsybakov 2009; Hastie, Tibshirani &
    Wainwright 2015, ch. 11)."""
    check_float("noise", noise, 0.0)
    check_int("p", p, 2)
    check_int("n", n, 1)
    return noise * math.sqrt(2 * math.log(p) / n)


def lasso_selection(lam: float, seed: int = 0, n: int = 100, p: int = 50, k: int = 5,
                    noise: float = 1.0) -> dict:
    """Fit the lasso at `lam` on `sparse_regression(n, p, k, noise, seed)` (y centred).

    Returns the weights, the indices of the surviving (non-zero) features, how many of the k relevant
    ones survived, and how many irrelevant ones did (false positives).
    """
    X, y, w_true = sparse_regression(n, p, k, noise, seed)
    y = y - y.mean()
    w = lasso(X.numpy(), y.numpy(), lam)
    survivors = np.flatnonzero(w)
    return {"w": w, "w_true": w_true.numpy(), "survivors": survivors, "relevant_kept": int((survivors < k).sum()),
            "false_positives": int((survivors >= k).sum()), "k": k, "p": p}


# --------------------------------------------------------------------------------------------------
# The geometry in 2-D
# --------------------------------------------------------------------------------------------------

GEOMETRY_CENTER = (2.0, 0.7)                  # the unconstrained minimum w*
GEOMETRY_HESSIAN = ((1.0, 0.35), (0.35, 0.6))  # loss(w) = 1/2 (w - w*)^T H (w - w*)


def quadratic_loss(w, center=GEOMETRY_CENTER, hessian=GEOMETRY_HESSIAN) -> np.ndarray:
    """1/2 (w - c)^T H (w - c) for w of shape (..., 2)."""
    d = np.asarray(w, dtype=float) - np.asarray(center, dtype=float)
    return 0.5 * np.einsum("...i,ij,...j->...", d, np.asarray(hessian, dtype=float), d)


def project_l1_ball(v, radius: float) -> np.ndarray:
    """Euclidean projection of v onto {w : ||w||_1 <= radius} (Duchi, Shalev-Shwartz, Singer & Chandra 2008)."""
    radius = check_float("radius", radius, 0.0)
    v = np.asarray(v, dtype=float)
    if np.abs(v).sum() <= radius:
        return v.copy()
    u = np.sort(np.abs(v))[::-1]
    cumulative = np.cumsum(u)
    j = np.arange(1, len(u) + 1)
    rho = np.nonzero(u * j > cumulative - radius)[0][-1]
    theta = (cumulative[rho] - radius) / (rho + 1)
    return np.sign(v) * np.maximum(np.abs(v) - theta, 0.0)


def project_l2_ball(v, radius: float) -> np.ndarray:
    """Euclidean projection of v onto {w : ||w||_2 <= radius}."""
    radius = check_float("radius", radius, 0.0)
    v = np.asarray(v, dtype=float)
    norm = np.linalg.norm(v)
    return v.copy() if norm <= radius else v * (radius / norm)


def constrained_minimum(norm: str, radius: float, center=GEOMETRY_CENTER, hessian=GEOMETRY_HESSIAN,
                        iters: int = 500) -> np.ndarray:
    """argmin of the quadratic loss over the L1 or L2 ball of `radius`, by projected gradient descent.

    Minimizing loss + lambda * ||w|| has the same solutions as minimizing loss subject to ||w|| <= t
    for a matching t (Lagrange), so this is what the penalty does, seen as a constraint.
    """
    check_choice("norm", norm, ["l1", "l2"])
    check_float("radius", radius, 0.0)
    H = np.asarray(hessian, dtype=float)
    c = np.asarray(center, dtype=float)
    project = project_l1_ball if norm == "l1" else project_l2_ball
    step = 1.0 / np.linalg.eigvalsh(H).max()
    w = project(np.zeros(2), radius)
    for _ in range(iters):
        w = project(w - step * H @ (w - c), radius)
    return w


@lru_cache(maxsize=64)
def geometry(radius: float, grid_points: int = 81) -> dict:
    """Everything the geometry panel draws for a constraint of size `radius`: the loss on a grid, each
    ball's constrained minimum and the loss level there (the contour that touches the ball), and both
    solution paths over all radii (how the minimum moves as the constraint loosens)."""
    radius = check_float("radius", radius, 0.0, low_open=True)
    check_int("grid_points", grid_points, 10)
    axis = np.linspace(-3.0, 3.0, grid_points)
    gx, gy = np.meshgrid(axis, axis)
    loss = quadratic_loss(np.stack([gx, gy], axis=-1))
    radii = np.linspace(0.02, 3.0, 40)
    out = {"gx": gx, "gy": gy, "loss": loss, "radius": radius, "center": np.asarray(GEOMETRY_CENTER)}
    for norm in ("l1", "l2"):
        w = constrained_minimum(norm, radius)
        out[norm] = {"w": w, "level": float(quadratic_loss(w)),
                     "path": np.array([_path_point(norm, r) for r in radii])}
    return out


@lru_cache(maxsize=256)
def _path_point(norm: str, radius: float) -> np.ndarray:
    return constrained_minimum(norm, radius)


# --------------------------------------------------------------------------------------------------
# When L2 is exactly weight decay
# --------------------------------------------------------------------------------------------------

DECAY_OPTIMIZERS = ["sgd", "sgd_momentum", "adam"]
DECAY_WHEN = ["before", "after"]
DECAY_LR = {"sgd": 0.05, "sgd_momentum": 0.01, "adam": 1e-2}


def _decay_setup(seed: int, width: int):
    split = overfit.moons_split(seed=seed)
    model = overfit.big_model(in_features=2, width=width, depth=3, seed=seed)
    return split, model


def decay_trajectories(optimizer: str, lam: float, steps: int = 200, when: str = "before", seed: int = 0,
                       width: int = 32, lr: float | None = None, record_every: int = 5) -> dict:
    """Train the same network from the same start twice, with the same data, and measure how far apart
    the weights drift:

    A, "L2 in the loss": minimize  data loss + lambda/2 sum w^2  (autograd adds lambda * w to the gradient)
    B, "decay in the step": take the optimizer's step on the data loss and shrink w <- (1 - lr lambda) w,
       either `when`="before" the step (using the gradient at the old weights, as AdamW does) or "after".

    optimizer: "sgd" (plain), "sgd_momentum" (momentum 0.9), or "adam" (then B "before" is exactly
    `torch.optim.AdamW`, i.e. `Adam(decoupled_weight_decay=True)`). Biases are not decayed in either.
    Full batch on the two-moons overfitting split (`overfit.moons_split`), a 2-width-width-1 ReLU MLP.

    For plain SGD, A and B-"before" are the same update,  w - lr (g + lambda w) = (1 - lr lambda) w - lr g,
    so they agree to float rounding; B-"after" differs by lr^2 lambda g per step.
    Returns steps, relative gap ||w_A - w_B|| / ||w_A|| and max |w_A - w_B| per recorded step, and
    the final weights of both.
    """
    check_choice("optimizer", optimizer, DECAY_OPTIMIZERS)
    lam = check_float("lam", lam, 0.0)
    check_int("steps", steps, 1)
    check_choice("when", when, DECAY_WHEN)
    check_int("seed", seed, 0)
    check_int("width", width, 1)
    check_int("record_every", record_every, 1)
    lr = DECAY_LR[optimizer] if lr is None else check_float("lr", lr, 0.0, low_open=True)
    split, model_a = _decay_setup(seed, width)
    _, model_b = _decay_setup(seed, width)
    momentum = 0.9 if optimizer == "sgd_momentum" else 0.0

    def make(model):
        if optimizer == "adam":
            return torch.optim.Adam(model.parameters(), lr=lr)
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    opt_a, opt_b = make(model_a), make(model_b)
    penalty = l2_penalty(lam)
    weights_b = penalized_parameters(model_b)
    record_steps, rel_gap, max_gap = [0], [0.0], [0.0]
    for step in range(1, steps + 1):
        loss_a = train.data_loss(model_a(split.X_train), split.y_train, "bce") + penalty(model_a)
        opt_a.zero_grad()
        loss_a.backward()
        opt_a.step()

        loss_b = train.data_loss(model_b(split.X_train), split.y_train, "bce")
        opt_b.zero_grad()
        loss_b.backward()              # the gradient at the old weights
        if when == "before":
            _decay_(weights_b, lr * lam)
        opt_b.step()
        if when == "after":
            _decay_(weights_b, lr * lam)
        if step % record_every == 0 or step == steps:
            wa, wb = weight_values(model_a), weight_values(model_b)
            record_steps.append(step)
            rel_gap.append(float(np.linalg.norm(wa - wb) / np.linalg.norm(wa)))
            max_gap.append(float(np.abs(wa - wb).max()))
    return {"step": np.array(record_steps), "rel_gap": np.array(rel_gap), "max_gap": np.array(max_gap),
            "w_loss": weight_values(model_a), "w_step": weight_values(model_b), "lr": lr, "lam": lam,
            "optimizer": optimizer, "when": when}


@torch.no_grad()
def _decay_(params, factor: float) -> None:
    for p in params:
        p.mul_(1.0 - factor)


def builtin_matches_penalty(optimizer: str, lam: float = 1e-2, steps: int = 100, seed: int = 0,
                            width: int = 32, relative: bool = False) -> float:
    """Largest |w| difference after `steps` between "L2 in the loss" and PyTorch's own option
    (with `relative=True`, divided by the largest |w| of the reference run, to compare with float32's eps):
    "sgd" / "sgd_momentum": SGD(weight_decay=lam); "adam": Adam(weight_decay=lam);
    "adamw": AdamW(weight_decay=lam) against decay-before-the-step by hand (`decay_trajectories`).
    The built-in options get `decay_param_groups`, so they also leave the biases alone."""
    check_choice("optimizer", optimizer, [*DECAY_OPTIMIZERS, "adamw"])
    lam = check_float("lam", lam, 0.0)
    check_int("steps", steps, 1)
    base = "adam" if optimizer == "adamw" else optimizer
    lr = DECAY_LR[base]
    split, model_a = _decay_setup(seed, width)
    _, model_b = _decay_setup(seed, width)
    momentum = 0.9 if optimizer == "sgd_momentum" else 0.0
    if optimizer == "adamw":
        reference = decay_trajectories("adam", lam, steps=steps, when="before", seed=seed, width=width,
                                       record_every=steps)["w_step"]
        opt_b = torch.optim.AdamW(decay_param_groups(model_b, lam), lr=lr)
    else:
        if base == "adam":
            opt_a = torch.optim.Adam(model_a.parameters(), lr=lr)
            opt_b = torch.optim.Adam(decay_param_groups(model_b, lam), lr=lr)
        else:
            opt_a = torch.optim.SGD(model_a.parameters(), lr=lr, momentum=momentum)
            opt_b = torch.optim.SGD(decay_param_groups(model_b, lam), lr=lr, momentum=momentum)
        penalty = l2_penalty(lam)
        for _ in range(steps):
            loss_a = train.data_loss(model_a(split.X_train), split.y_train, "bce") + penalty(model_a)
            opt_a.zero_grad()
            loss_a.backward()
            opt_a.step()
        reference = weight_values(model_a)
    for _ in range(steps):
        loss_b = train.data_loss(model_b(split.X_train), split.y_train, "bce")
        opt_b.zero_grad()
        loss_b.backward()
        opt_b.step()
    gap = float(np.abs(reference - weight_values(model_b)).max())
    return gap / float(np.abs(reference).max()) if relative else gap


# --------------------------------------------------------------------------------------------------
# What the live panels compute
# --------------------------------------------------------------------------------------------------

EXPLORER_PENALTIES = ["l2", "l1", "l1_prox"]
LASSO_LAMBDAS = tuple(float(v) for v in np.logspace(-2, 0, 13))


def snap_to_sweep(lam: float, lams=SWEEP_LAMBDAS) -> float:
    """The value of `lams` nearest to `lam` on a log scale (a log slider's 1e-06 may arrive as 9.99e-07)."""
    lam = check_float("lam", lam, 0.0, low_open=True)
    return float(min(lams, key=lambda v: abs(math.log10(v) - math.log10(lam))))


def explore(kind: str, lam: float, seed: int = 0) -> dict:
    """The L1 vs L2 explorer at (kind, lambda): the fit under `kind`, the unpenalized fit (the histogram's
    and the U-curve's reference), and the three lambda sweeps (U-curves). Every fit is cached, so after
    `lambda_sweep` has run for each penalty and `fit_regression("none", 0.0)` once, this costs no training."""
    check_choice("kind", kind, EXPLORER_PENALTIES)
    lam = snap_to_sweep(lam)
    return {"kind": kind, "lam": lam, "seed": seed, "fit": fit_regression(kind, lam, seed),
            "fits_none": fit_regression("none", 0.0, seed), "sweeps": _explorer_sweeps(seed),
            "split": overfit.regression_split(seed=seed)}


@lru_cache(maxsize=8)
def _explorer_sweeps(seed: int) -> dict:
    # one object per seed, so the explorer's view sees the same sweeps and draws their curves only once
    return {k: lambda_sweep(k, seed=seed) for k in EXPLORER_PENALTIES}


@lru_cache(maxsize=32)
def _lasso_counts(seed: int) -> tuple[np.ndarray, np.ndarray]:
    picks = [lasso_selection(lam, seed) for lam in LASSO_LAMBDAS]
    return (np.array([s["false_positives"] for s in picks]), np.array([s["relevant_kept"] for s in picks]))


def lasso_panel(lam: float, seed: int = 0) -> dict:
    """The lasso panel at `lam`: the selection there, and the survivor counts over LASSO_LAMBDAS."""
    lam = check_float("lam", lam, 0.0, low_open=True)
    false_positives, relevant_kept = _lasso_counts(check_int("seed", seed, 0))
    return {"selection": lasso_selection(lam, seed), "lams": np.array(LASSO_LAMBDAS),
            "false_positives": false_positives, "relevant_kept": relevant_kept,
            "theory_lam": lasso_theory_lambda(1.0, 50, 100)}


# --------------------------------------------------------------------------------------------------
# Switching the penalty on after a warm-up
# --------------------------------------------------------------------------------------------------

WARMUP_KINDS = ["l1", "l2"]
WARMUP_STEPS = 400       # total full-batch SGD updates; the warm-up's unpenalized updates count in them
WARMUP_LR = 0.1
WARMUP_WIDTH = 32
WARMUP_EVAL_EVERY = 20
# the settings lesson 4 compares: (kind, lambda, warm-up updates)
WARMUP_SETTINGS = (("l1", 0.03, 0), ("l1", 0.03, 100), ("l1", 0.1, 100), ("l1", 0.01, 0),
                   ("l2", 1e-3, 0), ("l2", 1e-3, 100))


@dataclass
class WarmupRun:
    """One 2-32-32-1 ReLU network trained on the two-moons split with the penalty switched on late."""

    kind: str
    lam: float
    warmup: int
    seed: int
    history: train.History      # data loss and accuracy every WARMUP_EVAL_EVERY updates
    small_fraction: float       # share of penalized weights with |w| < 1e-2 at the end

    @property
    def train_loss(self) -> float:
        return self.history.train_loss[-1]

    @property
    def val_acc(self) -> float:
        return self.history.val_acc[-1]


def penalty_from_step(penalty: Callable[[nn.Module], torch.Tensor], warmup: int):
    """(penalty, after_step) for `train.train`: the penalty is 0 for the first `warmup` updates and
    `penalty(model)` from update warmup + 1 on (warmup = 0: from the start)."""
    check_int("warmup", warmup, 0)
    done = {"updates": 0}

    def delayed(model: nn.Module) -> torch.Tensor:
        return penalty(model) if done["updates"] >= warmup else torch.zeros(())

    def after_step(step: int, model: nn.Module, history: train.History) -> None:
        done["updates"] = step

    return delayed, after_step


def warmup_run(kind: str, lam: float, warmup: int, seed: int = 0, steps: int = WARMUP_STEPS) -> WarmupRun:
    """Train `overfit.big_model(2, width 32, depth 3)` on `overfit.moons_split(seed)` with full-batch SGD
    (lr 0.1, BCE) for `steps` updates in all; the L1 or L2 penalty `kind` of strength `lam` is added
    to the loss from update `warmup` + 1 on. Cached per setting.

    Why it can matter: near w = 0 the data loss hardly changes with any one weight (every path through
    the network multiplies three of them), while L1 charges lambda per unit of |w| from the first update:
    started from small weights, a large lambda can pull every weight to zero before the data gradient
    has found features, and the network stalls at a constant guess (data loss ln 2).
    """
    check_choice("kind", kind, WARMUP_KINDS)
    lam = check_float("lam", lam, 0.0)
    check_int("steps", steps, 1)
    check_int("warmup", warmup, 0, steps)
    check_int("seed", seed, 0)
    return warmup_runs([(kind, lam, warmup)], [seed], steps)[(kind, lam, warmup)][0]


_WARMUPS: dict[tuple, WarmupRun] = {}   # (kind, lam, warmup, seed, steps) -> WarmupRun, however it was trained


def warmup_runs(settings=WARMUP_SETTINGS, seeds=range(5), steps: int = WARMUP_STEPS) -> dict[tuple, list[WarmupRun]]:
    """`warmup_run(kind, lam, warmup, seed)` for every (kind, lam, warmup) of `settings` on every seed of
    `seeds`: {setting: [run on each seed]}. The runs not trained yet are trained side by side, one stacked
    model per kind (`_train_warmup_stacked`), each bit for bit the network `train.train` gives alone."""
    check_int("steps", steps, 1)
    seeds = [check_int("seed", seed, 0) for seed in seeds]
    keys = {}
    for kind, lam, warmup in settings:
        check_choice("kind", kind, WARMUP_KINDS)
        lam = check_float("lam", lam, 0.0)
        check_int("warmup", warmup, 0, steps)
        keys[kind, lam, warmup] = [(kind, lam, warmup, seed, steps) for seed in seeds]
    missing = list(dict.fromkeys(k for ks in keys.values() for k in ks if k not in _WARMUPS))
    for kind in WARMUP_KINDS:
        group = [k for k in missing if k[0] == kind]
        if len(group) == 1:
            _WARMUPS[group[0]] = _warmup_alone(*group[0])
        elif group:
            _WARMUPS.update(zip(group, _train_warmup_stacked(kind, [k[1:4] for k in group], steps), strict=True))
    return {setting: [_WARMUPS[k] for k in ks] for setting, ks in keys.items()}


def _warmup_alone(kind: str, lam: float, warmup: int, seed: int, steps: int) -> WarmupRun:
    split = overfit.moons_split(seed=seed)
    model = overfit.big_model(in_features=2, width=WARMUP_WIDTH, depth=3, seed=seed)
    penalty, after_step = penalty_from_step(make_penalty(kind, lam), warmup)
    history = train.train(model, split, steps=steps, lr=WARMUP_LR, optimizer="sgd", loss="bce", penalty=penalty,
                          eval_every=WARMUP_EVAL_EVERY, seed=seed, after_step=after_step)
    w = weight_values(model)
    return WarmupRun(kind, lam, warmup, seed, history, float(np.mean(np.abs(w) < 1e-2)))


def _linear_relu_stack(x: torch.Tensor, weights, biases, k: int) -> torch.Tensor:
    """Network k of a stack of Linear/ReLU networks, layer by layer with `F.linear` (nn.Linear's kernels)."""
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        x = nn.functional.linear(x, w[k], b[k])
        if i < len(weights) - 1:
            x = torch.relu(x)
    return x


def _train_warmup_stacked(kind: str, settings, steps: int) -> list[WarmupRun]:
    """The warm-up runs of `settings` ((lam, warmup, seed), ...) under `kind`, trained as one stacked model as
    `_train_stacked` does, but with each network's forward and loss computed one network at a time (`F.linear`,
    BCE: the same kernels as alone; batched products of this size round differently on the avx2 path),
    one plain SGD step over the stacked weights and one backward pass for all, the
    penalty with a per-network factor that is 0 until that network's warm-up ends (adding a gradient of 0
    changes nothing). Records and the warm-up switch go through each network's own `nn.Sequential`,
    `penalty_from_step` and `train._record`, in train.train's order. Checked bit for bit against
    `_warmup_alone` on the three numeric paths (tests/test_regularization.py)."""
    splits = [overfit.moons_split(seed=seed) for _, _, seed in settings]
    nets = [overfit.big_model(in_features=2, width=WARMUP_WIDTH, depth=3, seed=seed) for _, _, seed in settings]
    layers = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
    weights = [torch.stack([ls[i].weight.detach() for ls in layers]).requires_grad_() for i in range(3)]
    biases = [torch.stack([ls[i].bias.detach() for ls in layers]).requires_grad_() for i in range(3)]
    with torch.no_grad():
        for k, ls in enumerate(layers):
            for i, layer in enumerate(ls):
                layer.weight.data, layer.bias.data = weights[i].data[k], biases[i].data[k]
    X = [s.X_train for s in splits]
    y = [s.y_train for s in splits]
    # float32 of each double, as a Python number meets a float32 tensor in l1_penalty / l2_penalty
    scale = torch.tensor([lam if kind == "l1" else lam / 2 for lam, _, _ in settings], dtype=torch.float32)
    warmups = torch.tensor([warmup for _, warmup, _ in settings])
    switches = [penalty_from_step(make_penalty(kind, lam), warmup) for lam, warmup, _ in settings]
    histories = [train.History() for _ in settings]
    opt = torch.optim.SGD([weights[0], biases[0], weights[1], biases[1], weights[2], biases[2]], lr=WARMUP_LR)
    K = len(settings)

    def alone():
        return [_warmup_alone(kind, lam, warmup, seed, steps) for lam, warmup, seed in settings]

    for net, split, (penalty, _), history in zip(nets, splits, switches, histories, strict=True):
        train._record(history, net, split, "bce", penalty, 0, False)          # exactly train.train's record
    for step in range(1, steps + 1):
        value = torch.stack([train.data_loss(_linear_relu_stack(X[k], weights, biases, k), y[k], "bce")
                             for k in range(K)])
        factor = torch.where(warmups <= step - 1, scale, 0.0)     # penalty_from_step: on from update warmup + 1
        if kind == "l1":
            value = value + factor * sum(w.abs().sum(dim=(1, 2)) for w in weights)
        else:
            value = value + factor * sum((w * w).sum(dim=(1, 2)) for w in weights)
        total = value.sum()
        if not torch.isfinite(total):
            return alone()
        opt.zero_grad()
        total.backward()
        opt.step()
        for net, split, (penalty, after_step), history in zip(nets, splits, switches, histories, strict=True):
            if step % WARMUP_EVAL_EVERY == 0 or step == steps:
                train._record(history, net, split, "bce", penalty, step, False)
                if not math.isfinite(history.train_loss[-1]):
                    return alone()
            after_step(step, net, history)
    runs = []
    for (lam, warmup, seed), net, history in zip(settings, nets, histories, strict=True):
        net.eval()
        w = weight_values(net)
        runs.append(WarmupRun(kind, lam, warmup, seed, history, float(np.mean(np.abs(w) < 1e-2))))
    return runs


def warmup_panel(kind: str, lam: float, warmup: int, seed: int = 0) -> dict:
    """The warm-up panel: the run with the penalty switched on after `warmup` updates, and the same
    penalty from the start (warmup 0) on the same seed, for comparison."""
    return {"run": warmup_run(kind, lam, warmup, seed), "from_start": warmup_run(kind, lam, 0, seed)}
