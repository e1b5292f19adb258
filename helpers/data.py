"""Seeded toy data sets. The same seed always gives the same tensors.

Classification sets are 2-D with labels 0/1 (float32, shape (n,)), ready for a one-logit
network and binary cross-entropy. The regression set is 1-D: y = f(x) + noise.
"""

import math
from dataclasses import dataclass

import torch

from helpers._check import check_choice, check_float, check_int


@dataclass
class Split:
    """Train and validation tensors of one data set. `X_*` is (n, features), `y_*` is (n,)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]


def _generator(seed: int) -> torch.Generator:
    check_int("seed", seed, 0)
    return torch.Generator().manual_seed(seed)


def moons(n: int = 200, noise: float = 0.2, seed: int = 0, flip: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles (scikit-learn's make_moons), plus Gaussian noise.

    Upper moon: (cos t, sin t); lower moon: (1 - cos t, 0.5 - sin t), t in [0, pi].
    `flip` is the fraction of labels flipped at random (label noise, a sure way to overfit).
    """
    check_int("n", n, 2)
    check_float("noise", noise, 0.0)
    check_float("flip", flip, 0.0, 0.5)
    g = _generator(seed)
    n_upper = n // 2
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([torch.cos(t[:n_upper]), torch.sin(t[:n_upper])], dim=1)
    lower = torch.stack([1 - torch.cos(t[n_upper:]), 0.5 - torch.sin(t[n_upper:])], dim=1)
    X = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=g)
    y = torch.cat([torch.zeros(n_upper), torch.ones(n - n_upper)])
    return _shuffle_and_flip(X, y, flip, g)


def circles(n: int = 200, noise: float = 0.1, factor: float = 0.5, seed: int = 0,
            flip: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A small circle (label 1, radius `factor`) inside a large one (label 0, radius 1), plus noise."""
    check_int("n", n, 2)
    check_float("noise", noise, 0.0)
    check_float("factor", factor, 0.0, 1.0, low_open=True)
    check_float("flip", flip, 0.0, 0.5)
    g = _generator(seed)
    n_outer = n // 2
    t = torch.rand(n, generator=g) * 2 * math.pi
    radius = torch.cat([torch.ones(n_outer), torch.full((n - n_outer,), factor)])
    X = torch.stack([radius * torch.cos(t), radius * torch.sin(t)], dim=1) + noise * torch.randn(n, 2, generator=g)
    y = torch.cat([torch.zeros(n_outer), torch.ones(n - n_outer)])
    return _shuffle_and_flip(X, y, flip, g)


def spirals(n: int = 200, noise: float = 0.1, turns: float = 1.5, seed: int = 0,
            flip: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved Archimedean spirals, r = t, angle = 2 pi * turns * t (+ pi for label 1)."""
    check_int("n", n, 2)
    check_float("noise", noise, 0.0)
    check_float("turns", turns, 0.0, 5.0, low_open=True)
    check_float("flip", flip, 0.0, 0.5)
    g = _generator(seed)
    n_first = n // 2
    t = 0.1 + 0.9 * torch.rand(n, generator=g)
    angle = 2 * math.pi * turns * t + torch.cat([torch.zeros(n_first), torch.full((n - n_first,), math.pi)])
    X = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) + noise * torch.randn(n, 2, generator=g)
    y = torch.cat([torch.zeros(n_first), torch.ones(n - n_first)])
    return _shuffle_and_flip(X, y, flip, g)


def regression_1d(n: int = 20, noise: float = 0.25, seed: int = 0,
                  x_spacing: str = "even") -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy samples of y = sin(2 pi x) on x in [0, 1], X of shape (n, 1).

    `x_spacing`: "even" (evenly spaced), "random" (uniform), or "binned" (one uniform point
    in each of n equal bins: random but never clumped).
    """
    check_int("n", n, 1)
    check_float("noise", noise, 0.0)
    check_choice("x_spacing", x_spacing, ["even", "random", "binned"])
    g = _generator(seed)
    if x_spacing == "even":
        x = torch.linspace(0, 1, n)
    elif x_spacing == "random":
        x = torch.rand(n, generator=g)
    else:
        x = (torch.arange(n) + torch.rand(n, generator=g)) / n
    y = torch.sin(2 * math.pi * x) + noise * torch.randn(n, generator=g)
    return x[:, None], y


def train_val_split(X: torch.Tensor, y: torch.Tensor, val_fraction: float = 0.5, seed: int = 0) -> Split:
    """Shuffle with `seed` and hold out `val_fraction` of the rows for validation."""
    check_float("val_fraction", val_fraction, 0.0, 1.0, low_open=True)
    if val_fraction >= 1.0:
        raise ValueError(f"val_fraction must be < 1, got {val_fraction!r}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    n_val = max(1, round(len(X) * val_fraction))
    if n_val >= len(X):
        raise ValueError(f"val_fraction={val_fraction} leaves no training rows out of {len(X)}")
    order = torch.randperm(len(X), generator=_generator(seed))
    val, train = order[:n_val], order[n_val:]
    return Split(X[train], y[train], X[val], y[val])


def standardize(split: Split) -> Split:
    """Shift and scale every feature to mean 0, std 1, using the *training* rows' statistics only.

    x' = (x - mean_train) / std_train. Validation rows use the same numbers, so nothing about
    them leaks into training.
    """
    mean = split.X_train.mean(dim=0)
    std = split.X_train.std(dim=0).clamp_min(1e-12)
    return Split((split.X_train - mean) / std, split.y_train, (split.X_val - mean) / std, split.y_val)


def moons_split(n: int = 400, noise: float = 0.2, val_fraction: float = 0.5, seed: int = 0) -> Split:
    """The lessons' everyday data set: `n` two-moons points, `val_fraction` held out, standardized
    with the training rows' statistics (`moons`, then `train_val_split`, then `standardize`)."""
    X, y = moons(n, noise=noise, seed=seed)
    return standardize(train_val_split(X, y, val_fraction=val_fraction, seed=seed))


def _shuffle_and_flip(X, y, flip, g):
    order = torch.randperm(len(X), generator=g)
    X, y = X[order], y[order]
    n_flip = round(flip * len(y))
    if n_flip:
        idx = torch.randperm(len(y), generator=g)[:n_flip]
        y = y.clone()
        y[idx] = 1 - y[idx]
    return X, y
