"""Capacity sweeps for lesson 3: error against model capacity, from underfit through good fit to overfit.

Two sweeps:

- 1-D regression with polynomials of degree d in the Legendre basis, fitted by least squares
  (closed form, a whole sweep takes milliseconds):

      f(x) = sum_{k=0}^{d} c_k P_k(t),   t = 2x - 1 in [-1, 1],   c = argmin sum_i (f(x_i) - y_i)^2

  The Legendre polynomials P_k are orthogonal on [-1, 1], so the least-squares problem stays well
  conditioned up to high degree. In the raw basis 1, x, x^2, ... the columns become nearly
  parallel (on 20 points of [0, 1] the condition number is about 5e12 at d = 16 against about 100
  for Legendre), numpy's least-squares solver declares the matrix rank-deficient (here at d = 18),
  and the fit is smoother than the true least-squares fit: the overfit end of the U looks milder.

- 2-D classification with 2-w-w-1 ReLU networks of several widths w, trained *together* as one
  block-diagonal network (`train_width_family`): each width keeps its own weights, loss and Adam
  state, so the result equals training them one by one, at the cost of about one network.
"""

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import data, models, overfit
from helpers._check import check_float, check_int

# -------------------------------------------------------------------------------------------------
# 1-D regression: polynomial degree as capacity


@dataclass
class RegressionData:
    """Noisy samples of y = sin(2 pi x): evenly spaced training points, uniformly drawn validation points."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def regression_data(n_train: int = 20, noise: float = 0.25, n_val: int = 1000, seed: int = 0) -> RegressionData:
    """`n_train` evenly spaced points of sin(2 pi x) + N(0, noise^2) on [0, 1], and `n_val`
    validation points (x uniform on [0, 1], the same noise), as float64 numpy arrays."""
    check_int("n_train", n_train, 2)
    check_int("n_val", n_val, 1)
    check_float("noise", noise, 0.0)
    check_int("seed", seed, 0)
    x, y = data.regression_1d(n_train, noise=noise, seed=1000 + seed, x_spacing="even")
    xv, yv = data.regression_1d(n_val, noise=noise, seed=2000 + seed, x_spacing="random")
    as_np = lambda t: t.double().numpy().ravel()  # noqa: E731
    return RegressionData(as_np(x), as_np(y), as_np(xv), as_np(yv))


def legendre_fit(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    """Least-squares coefficients c_0..c_d of sum_k c_k P_k(2x - 1), for x in [0, 1].

    Needs degree < len(x) (with degree + 1 >= len(x) the fit interpolates: degree + 1 = len(x)
    is exact interpolation, more is underdetermined).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    check_int("degree", degree, 0)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got {x.shape} and {y.shape}")
    if degree >= len(x):
        raise ValueError(f"degree must be < the number of points ({len(x)}), got {degree}")
    return np.polynomial.legendre.legfit(2 * x - 1, y, degree)


def legendre_predict(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate sum_k coef[k] P_k(2x - 1)."""
    return np.polynomial.legendre.legval(2 * np.asarray(x, dtype=float) - 1, coef)


@dataclass
class DegreeSweep:
    """Mean squared error of the least-squares fit at each degree."""

    degrees: np.ndarray
    train_mse: np.ndarray
    val_mse: np.ndarray

    @property
    def best_degree(self) -> int:
        return int(self.degrees[np.argmin(self.val_mse)])


def degree_sweep(d: RegressionData, degrees=range(19)) -> DegreeSweep:
    """Fit every degree in `degrees` (each < n_train) and measure training and validation MSE."""
    degrees = np.asarray(list(degrees), dtype=int)
    if degrees.size == 0:
        raise ValueError("degrees must not be empty")
    train_mse, val_mse = [], []
    for degree in degrees:
        coef = legendre_fit(d.x_train, d.y_train, int(degree))
        train_mse.append(np.mean((legendre_predict(coef, d.x_train) - d.y_train) ** 2))
        val_mse.append(np.mean((legendre_predict(coef, d.x_val) - d.y_val) ** 2))
    return DegreeSweep(degrees, np.array(train_mse), np.array(val_mse))


def raw_power_fit(x: np.ndarray, y: np.ndarray, degree: int) -> tuple[np.ndarray, int]:
    """Least squares in the raw basis 1, x, ..., x^d with numpy's default cutoff: (coefficients, rank).

    Shown only to compare: the rank drops below degree + 1 once the columns are numerically dependent.
    """
    check_int("degree", degree, 0)
    V = np.vander(np.asarray(x, dtype=float), degree + 1, increasing=True)
    coef, _, rank, _ = np.linalg.lstsq(V, np.asarray(y, dtype=float), rcond=None)
    return coef, int(rank)


def basis_condition(x: np.ndarray, degree: int) -> tuple[float, float]:
    """Condition numbers of the least-squares matrix in the raw power basis and in the Legendre basis."""
    check_int("degree", degree, 0)
    x = np.asarray(x, dtype=float)
    raw = np.vander(x, degree + 1, increasing=True)
    legendre = np.polynomial.legendre.legvander(2 * x - 1, degree)
    return float(np.linalg.cond(raw)), float(np.linalg.cond(legendre))


# -------------------------------------------------------------------------------------------------
# 2-D classification: network width as capacity


def moons_data(n_train: int = 60, noise: float = 0.3, flip: float = 0.1, n_val: int = 400, seed: int = 0) -> data.Split:
    """Two moons with `noise`; `flip` of the *training* labels flipped; clean validation rows."""
    return overfit.moons_split(n_train, n_val, seed=seed, flip=flip, noise=noise)


@dataclass
class WidthFamily:
    """Curves of every width, trained together. Arrays are (n_evals, n_widths); `models[i]` has width widths[i]."""

    widths: list[int]
    steps: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    models: list[nn.Sequential]
    snapshots: dict[int, list[nn.Sequential]]

    @property
    def diverged(self) -> bool:
        return not (np.isfinite(self.train_loss).all() and np.isfinite(self.val_loss).all())


def train_width_family(split: data.Split, widths=(1, 2, 4, 8, 16, 32, 64), steps: int = 300, lr: float = 1e-2,
                       eval_every: int = 10, seed: int = 0, snapshot_steps=()) -> WidthFamily:
    """Train a 2-w-w-1 ReLU MLP for each w in `widths` (full batch, Adam, binary cross-entropy), all at once.

    The networks are laid side by side in one network whose hidden layers have sum(widths) units:
    the first layer's weights are stacked, the second layer's are block-diagonal (a fixed 0/1 mask
    keeps the off-diagonal blocks at zero), and the output layer has one logit per width, each seeing
    only its own block. The loss is the sum of the widths' losses, so each block receives exactly its
    own network's gradient; Adam works element by element, so each block takes exactly the steps it
    would take alone. Each network starts from `models.mlp(2, [w, w], seed=seed)`, PyTorch's default init.
    `snapshot_steps`: also keep copies of every network after these updates (`family.snapshots[step]`):
    full-batch Adam with a fixed rate is deterministic, so they are the networks a shorter run would give.
    """
    widths = [check_int("width", w, 1) for w in widths]
    if not widths:
        raise ValueError("widths must not be empty")
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_int("eval_every", eval_every, 1)
    nets = [models.mlp(2, [w, w], 1, seed=seed) for w in widths]
    total, k = sum(widths), len(widths)
    starts = np.cumsum([0, *widths])
    W1, b1 = torch.zeros(total, 2), torch.zeros(total)
    W2, b2, M2 = torch.zeros(total, total), torch.zeros(total), torch.zeros(total, total)
    W3, b3, M3 = torch.zeros(k, total), torch.zeros(k), torch.zeros(k, total)
    for i, net in enumerate(nets):
        a, b = starts[i], starts[i + 1]
        l1, l2, l3 = models.linear_layers(net)
        W1[a:b], b1[a:b] = l1.weight.detach(), l1.bias.detach()
        W2[a:b, a:b], b2[a:b], M2[a:b, a:b] = l2.weight.detach(), l2.bias.detach(), 1.0
        W3[i, a:b], b3[i], M3[i, a:b] = l3.weight.detach()[0], l3.bias.detach()[0], 1.0
    params = [p.requires_grad_() for p in (W1, b1, W2, b2, W3, b3)]

    def logits(X):
        h = torch.relu(X @ params[0].T + params[1])
        h = torch.relu(h @ (params[2] * M2).T + params[3])
        return h @ (params[4] * M3).T + params[5]  # (n, k): one logit per width

    def measure(X, y):
        with torch.no_grad():
            out = logits(X)
            loss = nn.functional.binary_cross_entropy_with_logits(out, y[:, None].expand_as(out), reduction="none")
            acc = ((out > 0).float() == y[:, None]).float().mean(0)
        return loss.mean(0).numpy(), acc.numpy()

    opt = torch.optim.Adam(params, lr=lr)
    y_rep = split.y_train[:, None].expand(-1, k)
    record = {"steps": [], "train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}

    def log(step):
        tl, ta = measure(split.X_train, split.y_train)
        vl, va = measure(split.X_val, split.y_val)
        for key, value in zip(record, (step, tl, vl, ta, va), strict=True):
            record[key].append(value)

    snapshot_steps = {check_int("snapshot step", s, 1, steps) for s in snapshot_steps}
    snapshots = {}
    log(0)
    for step in range(1, steps + 1):
        per_width = nn.functional.binary_cross_entropy_with_logits(logits(split.X_train), y_rep, reduction="none")
        loss = per_width.mean(0).sum()
        if not torch.isfinite(loss):
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            log(step)
        if step in snapshot_steps:
            snapshots[step] = _unpack(params, widths, seed)
    arrays = {key: np.array(value) for key, value in record.items()}
    return WidthFamily(widths, arrays["steps"], arrays["train_loss"], arrays["val_loss"], arrays["train_acc"],
                       arrays["val_acc"], _unpack(params, widths, seed), snapshots)


def _unpack(params, widths, seed) -> list[nn.Sequential]:
    """Copy each width's block of the side-by-side network into its own 2-w-w-1 MLP."""
    starts = np.cumsum([0, *widths])
    nets = []
    with torch.no_grad():
        for i, w in enumerate(widths):
            a, b = starts[i], starts[i + 1]
            net = models.mlp(2, [w, w], 1, seed=seed)
            l1, l2, l3 = models.linear_layers(net)
            l1.weight.copy_(params[0][a:b]), l1.bias.copy_(params[1][a:b])
            l2.weight.copy_(params[2][a:b, a:b]), l2.bias.copy_(params[3][a:b])
            l3.weight.copy_(params[4][i:i + 1, a:b]), l3.bias.copy_(params[5][i:i + 1])
            nets.append(net.eval())
    return nets


# -------------------------------------------------------------------------------------------------
# The lesson's explorers: the computations behind its two capacity panels (pure, cached per setting)

WIDTHS = (1, 2, 4, 8, 16, 32, 64)
EXPLORER_EPOCHS = tuple(range(50, 401, 50))


def polynomial_panel(degree: int, noise: float, n_train: int, seed: int) -> tuple[RegressionData, DegreeSweep]:
    """The degree explorer's data and sweep of every degree below min(19, n_train); `degree` only selects what
    the figure highlights, so it does not change the result."""
    reg = regression_data(n_train=n_train, noise=noise, seed=seed)
    return reg, degree_sweep(reg, degrees=range(min(19, n_train)))


@functools.lru_cache(maxsize=32)
def width_family(n_train: int, seed: int) -> tuple[data.Split, WidthFamily]:
    """The width explorer's run: two moons (noise 0.3, 10% of the training labels flipped), every width of `WIDTHS`
    trained side by side for 400 full-batch Adam updates at lr 0.01, snapshots at every `EXPLORER_EPOCHS` value.
    Cached: one run per (training size, seed)."""
    split = moons_data(n_train=n_train, noise=0.3, flip=0.1, seed=seed)
    return split, train_width_family(split, WIDTHS, steps=max(EXPLORER_EPOCHS), lr=1e-2, eval_every=10, seed=seed,
                                     snapshot_steps=EXPLORER_EPOCHS)


def explore_widths(width_index: int, n_train: int, epochs: int, seed: int):
    """(split, family, the networks after `epochs` updates, mask of the checks up to `epochs`) for the width panel."""
    check_int("width_index", width_index, 0, len(WIDTHS) - 1)
    if epochs not in EXPLORER_EPOCHS:
        raise ValueError(f"epochs must be one of {EXPLORER_EPOCHS}, got {epochs!r}")
    split, fam = width_family(n_train, seed)
    return split, fam, fam.snapshots[epochs], fam.steps <= epochs


def lowest_validation_width(fam: WidthFamily, epochs: int) -> int:
    """The width whose validation loss is lowest at the check after `epochs` updates."""
    at = int(np.searchsorted(fam.steps, epochs))
    if at >= len(fam.steps) or fam.steps[at] != epochs:
        raise ValueError(f"no check at update {epochs}")
    return int(fam.widths[int(np.argmin(fam.val_loss[at]))])
