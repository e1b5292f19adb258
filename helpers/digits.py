"""The 8x8 handwritten digits, shipped with the course, and the augmentations lesson 3 measures on them.

1797 images of 8x8 pixels (values 0..16, scaled here to [0, 1]) with labels 0..9, from
E. Alpaydin and C. Kaynak, UCI Machine Learning Repository (1998), CC BY 4.0: see
`data_files/DIGITS_LICENSE.md`. The file is read with NumPy alone, relative to this module.

Data augmentation trains on x' = T(x) instead of x, a fresh random T at every update. It adds
the knowledge "the label does not change under T". That helps when T is a change the test
images really show, and hurts when it is not: these digits were centred and size-normalized,
so a shift of one pixel (12% of the width) makes a training image *less* like a test image.

    shift:  x'[i, j] = x[i - di, j - dj], (di, dj) in {-1, 0, 1}^2, empty pixels 0
    noise:  x' = x + sigma * eps, eps ~ N(0, 1) per pixel
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from helpers._check import check_choice, check_float, check_int

DATA_FILE = Path(__file__).parent / "data_files" / "digits.npz"
N_IMAGES = 1797
N_TEST = 797
AUGMENTATIONS = ["none", "shift", "noise", "shift+noise"]


@lru_cache(maxsize=1)
def _load_arrays() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA_FILE) as f:
        return f["images"], f["labels"]


def load() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 images as float32 (1797, 8, 8) in [0, 1] (pixel / 16) and labels int64 (1797,)."""
    images, labels = _load_arrays()
    return torch.tensor(images, dtype=torch.float32) / 16.0, torch.tensor(labels, dtype=torch.int64)


@dataclass
class DigitsSplit:
    """`n_train` training images and a fixed test set of `N_TEST` images (never trained on)."""

    X_train: torch.Tensor  # (n_train, 8, 8)
    y_train: torch.Tensor
    X_test: torch.Tensor  # (N_TEST, 8, 8)
    y_test: torch.Tensor


def split(n_train: int = 100, seed: int = 0) -> DigitsSplit:
    """The last `N_TEST` images (in a fixed shuffled order) are the test set; `n_train` training
    images are drawn, with `seed`, from the other 1000."""
    check_int("n_train", n_train, 10, N_IMAGES - N_TEST)
    check_int("seed", seed, 0)
    X, y = load()
    order = torch.randperm(N_IMAGES, generator=torch.Generator().manual_seed(12345))
    pool, test = order[:N_IMAGES - N_TEST], order[N_IMAGES - N_TEST:]
    pick = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n_train]]
    return DigitsSplit(X[pick], y[pick], X[test], y[test])


def shift(images: torch.Tensor, generator: torch.Generator, fraction: float = 1.0) -> torch.Tensor:
    """Shift each image by (di, dj) drawn from {-1, 0, 1}^2 (empty pixels become 0).

    `fraction` of the images (chosen at random) are shifted; the others are left as they are.
    """
    check_float("fraction", fraction, 0.0, 1.0)
    padded = nn.functional.pad(images, (1, 1, 1, 1))
    n = len(images)
    di = torch.randint(0, 3, (n,), generator=generator)
    dj = torch.randint(0, 3, (n,), generator=generator)
    keep = torch.rand(n, generator=generator) >= fraction
    di[keep], dj[keep] = 1, 1
    window = (torch.arange(8)[:, None] * 10 + torch.arange(8)[None, :]).reshape(1, 64)  # an 8x8 window of the 10x10
    index = (di * 10 + dj)[:, None] + window                                             # moved to row di, column dj
    return torch.gather(padded.reshape(n, 100), 1, index).reshape(n, 8, 8)


def augment(images: torch.Tensor, kind: str, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """A fresh random augmentation of a batch of images.

    "none": unchanged; "shift": every image gets an offset drawn from {-1, 0, 1}^2 (1 in 9 draws (0, 0) and stays
    put); "noise": x + sigma * N(0, 1); "shift+noise": a random half of the images get such an offset (so about
    5 in 9 stay put), then noise on all (the mix lesson 3 measures as the most useful).
    """
    check_choice("kind", kind, AUGMENTATIONS)
    check_float("sigma", sigma, 0.0, 1.0)
    if kind in ("shift", "shift+noise"):
        images = shift(images, generator, fraction=1.0 if kind == "shift" else 0.5)
    if kind in ("noise", "shift+noise") and sigma > 0:
        images = images + sigma * torch.randn(images.shape, generator=generator)
    return images


@dataclass
class AugmentResult:
    """Test accuracy (and final train/test loss) of one setting, one entry per seed."""

    n_train: int
    kind: str
    sigma: float
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray

    @property
    def mean_acc(self) -> float:
        return float(self.test_acc.mean())


def train_mlps(n_train: int = 100, kind: str = "none", sigma: float = 0.0, seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
               hidden: int = 128, steps: int = 300, lr: float = 3e-3, batch_size: int | None = None) -> AugmentResult:
    """Train one 64-`hidden`-10 ReLU MLP per seed (all at once, stacked on a leading seed axis),
    with Adam and cross-entropy, a fresh augmentation of the batch at every step. `batch_size=None` is full
    batch; otherwise each network draws its own `batch_size` training images (with replacement) per step.

    Seed s draws the training images (`split(n_train, s)`) and the initial weights (PyTorch's
    default U(-1/sqrt(fan_in), 1/sqrt(fan_in))); the augmentations are drawn from one generator
    seeded by the tuple of seeds. The seeds' networks never
    interact: stacking them only saves Python overhead (the summed loss has a separate gradient per network).
    """
    check_int("n_train", n_train, 10, N_IMAGES - N_TEST)
    check_choice("kind", kind, AUGMENTATIONS)
    check_float("sigma", sigma, 0.0, 1.0)
    check_int("hidden", hidden, 1)
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    if batch_size is not None:
        check_int("batch_size", batch_size, 1)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for s in seeds:
        check_int("seed", s, 0)
    splits = [split(n_train, s) for s in seeds]
    X = torch.stack([sp.X_train for sp in splits])  # (S, n, 8, 8)
    y = torch.stack([sp.y_train for sp in splits])  # (S, n)
    S = len(seeds)
    params = _init_stacked([64, hidden, 10], seeds)
    opt = torch.optim.Adam(params, lr=lr)
    g = torch.Generator().manual_seed(10_000 + 7919 * seeds[0] + len(seeds))
    batch = n_train if batch_size is None else min(batch_size, n_train)
    for _ in range(steps):
        if batch < n_train:
            idx = torch.randint(0, n_train, (S, batch), generator=g)
            xb = torch.gather(X.reshape(S, n_train, 64), 1, idx[:, :, None].expand(-1, -1, 64))
            yb = torch.gather(y, 1, idx)
        else:
            xb, yb = X.reshape(S, n_train, 64), y
        if kind != "none":
            xb = augment(xb.reshape(S * batch, 8, 8), kind, sigma, g)
        logits = _forward(params, xb.reshape(S, batch, 64))
        loss = nn.functional.cross_entropy(logits.reshape(-1, 10), yb.reshape(-1), reduction="sum") / batch
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        train_logits = _forward(params, X.reshape(S, n_train, 64))
        X_test = splits[0].X_test.reshape(1, -1, 64).expand(S, -1, -1)
        test_logits = _forward(params, X_test)
        y_test = splits[0].y_test
        test_acc = (test_logits.argmax(-1) == y_test).float().mean(-1)
        train_loss = torch.stack([nn.functional.cross_entropy(train_logits[i], y[i]) for i in range(S)])
        test_loss = torch.stack([nn.functional.cross_entropy(test_logits[i], y_test) for i in range(S)])
    return AugmentResult(n_train, kind, sigma, test_acc.numpy(), train_loss.numpy(), test_loss.numpy())


def _init_stacked(widths: list[int], seeds) -> list[torch.Tensor]:
    """Weights (S, n_in, n_out) and biases (S, 1, n_out) from U(-1/sqrt(n_in), 1/sqrt(n_in)), seeded per network."""
    per_seed = []
    for s in seeds:
        g = torch.Generator().manual_seed(s)
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
            bound = 1.0 / n_in**0.5
            layers += [(torch.rand(n_in, n_out, generator=g) * 2 - 1) * bound,
                       (torch.rand(1, n_out, generator=g) * 2 - 1) * bound]
        per_seed.append(layers)
    return [torch.stack(group).requires_grad_() for group in zip(*per_seed, strict=True)]


def _forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    n_layers = len(params) // 2
    for k in range(n_layers):
        x = torch.baddbmm(params[2 * k + 1], x, params[2 * k])
        if k < n_layers - 1:
            x = torch.relu(x)
    return x


def paired_gains(result: AugmentResult, base: AugmentResult) -> np.ndarray:
    """Per seed, test accuracy with the augmentation minus without it (same seed: same images, same initial
    weights), as fractions."""
    if result.n_train != base.n_train or result.test_acc.shape != base.test_acc.shape:
        raise ValueError("compare results of the same training size and seeds")
    return result.test_acc - base.test_acc


def augmentation_table(sizes=(50, 100, 200), sigma: float = 0.2, seeds: tuple[int, ...] = tuple(range(10)),
                       steps: int = 200) -> dict[tuple[int, str], AugmentResult]:
    """`train_mlps(n, kind, sigma, seeds, steps)` for every training size `n` in `sizes` and every augmentation:
    {(n, kind): result}. The lesson's table: 10 seeds, 200 full-batch Adam updates, sigma 0.2."""
    return {(n, kind): train_mlps(n, kind, sigma, seeds=tuple(seeds), steps=steps)
            for n in sizes for kind in AUGMENTATIONS}


def panel_images(kind: str, sigma: float, n_images: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n_images` training images of `split(50, seed=0)` and one augmentation of them (generator seed 0)."""
    originals = split(50, seed=0).X_train[:check_int("n_images", n_images, 1, 50)]
    return originals, augment(originals, kind, sigma, torch.Generator().manual_seed(0))
