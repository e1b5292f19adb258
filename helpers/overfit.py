"""The course's standard overfitting setups, shared by lessons 3 (over/underfitting), 4 (L1/L2) and 5 (dropout).

Each remedy is measured on the same network and data, so the lessons can be compared:

- classification: two moons, noise 0.2, 10% of the training labels flipped (label noise a big
  network can memorize), a 2-256-256-1 ReLU MLP trained with Adam, full batch.
- regression: 20 noisy samples of sin(2 pi x), one per bin, noise 0.5, a 1-256-256-1 ReLU MLP.

Validation and test rows are drawn from the same distribution *without* label noise flips
(flip applies to the training rows only), so they measure how well the true pattern was learned.
"""

import torch

from helpers import data, models
from helpers._check import check_int

MOONS_NOISE = 0.2
MOONS_FLIP = 0.1
REGRESSION_NOISE = 0.5


def moons_split(n_train: int = 50, n_val: int = 500, seed: int = 0, flip: float = MOONS_FLIP,
                noise: float = MOONS_NOISE) -> data.Split:
    """Two-moons training rows (with `flip` of their labels flipped) and clean validation rows.

    Training and validation use different seeds of the same generator, so adding training rows
    (a larger `n_train`) never changes the validation set.
    """
    check_int("n_train", n_train, 4)
    check_int("n_val", n_val, 2)
    check_int("seed", seed, 0)
    X_train, y_train = data.moons(n_train, noise=noise, seed=1000 + seed, flip=flip)
    X_val, y_val = data.moons(n_val, noise=noise, seed=2000 + seed)
    return data.Split(X_train, y_train, X_val, y_val)


def moons_test(n: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A large clean test set, never used for any choice (early stopping, lambda, p)."""
    return data.moons(n, noise=MOONS_NOISE, seed=3000 + check_int("seed", seed, 0))


def regression_split(n_train: int = 20, n_val: int = 500, seed: int = 0,
                     noise: float = REGRESSION_NOISE) -> data.Split:
    """`n_train` samples of sin(2 pi x) + noise, one per bin of [0, 1]; validation rows evenly spread."""
    check_int("n_train", n_train, 2)
    check_int("seed", seed, 0)
    X_train, y_train = data.regression_1d(n_train, noise=noise, seed=1000 + seed, x_spacing="binned")
    X_val, y_val = data.regression_1d(n_val, noise=noise, seed=2000 + seed, x_spacing="random")
    return data.Split(X_train, y_train, X_val, y_val)


def big_model(in_features: int = 2, width: int = 256, depth: int = 3, dropout: float = 0.0,
              seed: int = 0) -> torch.nn.Sequential:
    """The overfitting network: `depth` weight matrices (depth - 1 hidden layers of `width`), ReLU,
    PyTorch's default init, optional dropout after each hidden layer."""
    check_int("depth", depth, 1)
    return models.mlp(in_features, [width] * (depth - 1), 1, activation="relu", dropout=dropout, seed=seed)
