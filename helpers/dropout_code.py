"""Lesson 5's "code" buttons: each dropout panel as a short, self-contained PyTorch script.

- `mechanism_code(p, seed)`: one layer's activations, one dropout mask and the average of 1000 masks, as the
  mechanism panel computes them; prints the dropped count and fraction and the means they keep.
- `overfitting_code(p, width, n_train, seed)`: the overfitting panel's ten networks (one per p of
  `helpers.dropout.P_GRID`), trained together with batched matrix products exactly as `helpers.dropout.p_sweep`
  does, then the chosen p's training, validation and test accuracy, its gap and its losses.

Plain `torch`, no `helpers` import; the same random calls in the same order as the lesson's code, so on one
machine the printed numbers are the panel's, bit for bit (tests/test_code_dropout.py runs them).
Dropout: Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, JMLR 2014; inverted dropout keeps
E[m * h / (1 - p)] = h with m ~ Bernoulli(1 - p).
"""

import numpy as np

from helpers import code_export
from helpers._check import check_choice, check_float, check_int
from helpers.dropout import P_GRID

N_AVERAGE = 1000  # masks averaged by the mechanism panel
OVERFITTING_WIDTHS = (8, 32, 64)
OVERFITTING_N_TRAIN = (50, 200)
STEPS = 400  # Adam steps of the panel's training (lr 0.01, full batch)
MECHANISM_PANEL = "lesson 5 (dropout): the mechanism panel"
OVERFITTING_PANEL = "lesson 5 (dropout): the overfitting panel"

_MECHANISM = '''\
# 1. A hidden layer's activations: 8 examples x 16 units, after a ReLU
g = torch.Generator().manual_seed(seed)
h = torch.relu(torch.randn(8, 16, generator=g) + 0.5)

# 2. One training pass: drop each entry with probability p, scale the survivors by 1 / (1 - p)
torch.manual_seed(10_000 + seed)  # the masks' random numbers are not the ones that made h
mask = (torch.rand(h.shape) >= p).float()  # 1 = keep, 0 = drop
one_pass = h * mask / (1 - p)

# 3. Many training passes, a fresh mask each, averaged: inverted dropout leaves the mean where it was
many = h.expand(n_masks, 8, 16)
if p > 0:
    many = many * (torch.rand(many.shape) >= p).float() / (1 - p)
average = many.mean(0)

# 4. The panel's numbers: how much one mask dropped, and the means before, after one mask, after many
show("dropped", int((mask == 0).sum()))
show("dropped_fraction", (mask == 0).float().mean())
show("mean_eval", h.mean())
show("mean_one_pass", one_pass.mean())
show("mean_average", average.mean())
show("largest_unit_gap", (average.mean(0) - h.mean(0)).abs().max())  # per unit: |average - eval|
'''

_OVERFITTING = '''\
import torch.nn.functional as F

# 1. Data: two moons, 10% of the training labels flipped; clean validation and test points
X_train, y_train = moons(n_train, noise=0.2, seed=1000 + seed, flip=0.1)
X_val, y_val = moons(500, noise=0.2, seed=2000 + seed)
X_test, y_test = moons(2000, noise=0.2, seed=3000 + seed)

# 2. One 2-width-width-1 ReLU network per p in ps, stacked: layer k of network i is W[k][i] (in x out), b[k][i].
#    All start from the same weights: PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)), written out
torch.manual_seed(seed)
layers = [nn.Linear(2, width), nn.Linear(width, width), nn.Linear(width, 1)]
with torch.no_grad():
    for layer in layers:
        bound = 1.0 / math.sqrt(layer.in_features)
        layer.weight.uniform_(-bound, bound)
        layer.bias.uniform_(-bound, bound)
K = len(ps)
W = [torch.stack([layer.weight.detach().T] * K).requires_grad_() for layer in layers]  # K copies, (K, in, out)
b = [torch.stack([layer.bias.detach()[None, :]] * K).requires_grad_() for layer in layers]  # (K, 1, out)
keep = torch.tensor([1.0 - q for q in ps])[:, None, None]  # each network's probability of keeping a unit


def forward(X, masks=None):
    # X (K, n, 2) -> logits (K, n); with a mask generator, inverted dropout after each hidden layer (training)
    h = X
    for k in range(2):
        h = torch.relu(torch.baddbmm(b[k], h, W[k]))
        if masks is not None:
            h = h * (torch.rand(h.shape, generator=masks) < keep) / keep
    return torch.baddbmm(b[2], h, W[2]).squeeze(-1)


@torch.no_grad()
def evaluate(X, y):
    # eval mode (every unit on, nothing rescaled): the loss and accuracy of each of the K networks
    X, y = X.repeat(K, 1, 1), y.repeat(K, 1)  # one copy per network
    logit = forward(X)
    loss = F.binary_cross_entropy_with_logits(logit, y, reduction="none").mean(dim=1)
    return loss, ((logit > 0).float() == y).float().mean(dim=1)


# 3. Training: full batch, Adam at lr 0.01, every network on the same points with its own p
optimizer = torch.optim.Adam([{"params": W}, {"params": b}], lr=1e-2)
masks = torch.Generator().manual_seed(seed)
X, y = X_train.repeat(K, 1, 1), y_train.repeat(K, 1)
for step in range(steps):
    loss = F.binary_cross_entropy_with_logits(forward(X, masks), y, reduction="none").mean(dim=1).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# 4. The panel's numbers for the network with dropout p
i = ps.index(p)
train_loss, train_accuracy = evaluate(X_train, y_train)
val_loss, val_accuracy = evaluate(X_val, y_val)
_, test_accuracy = evaluate(X_test, y_test)
show("train_accuracy", train_accuracy[i])
show("val_accuracy", val_accuracy[i])
show("test_accuracy", test_accuracy[i])
show("accuracy_gap", train_accuracy[i] - val_accuracy[i])  # train - validation
show("train_loss", train_loss[i])
show("val_loss", val_loss[i])
'''


def _check_p(p) -> float:
    p = check_float("p", p, 0.0, 1.0)
    if p >= 1.0:
        raise ValueError(f"p must be < 1 (the probability of dropping a unit), got {p!r}")
    return p


def mechanism_code(p: float, seed: int = 0) -> str:
    """The script reproducing the mechanism panel for drop probability `p` and `seed`:
    y = m * h / (1 - p), m ~ Bernoulli(1 - p), one mask and the mean over 1000 masks."""
    p = _check_p(p)
    check_int("seed", seed, 0)
    return code_export.script(_MECHANISM, settings={"p": p, "seed": seed, "n_masks": N_AVERAGE}, panel=MECHANISM_PANEL)


def overfitting_code(p: float, width: int, n_train: int, seed: int = 0) -> str:
    """The script reproducing the overfitting panel for (`p`, `width`, `n_train`, `seed`).

    `p` is snapped to the nearest value of `helpers.dropout.P_GRID`, as the panel does.
    """
    p = _check_p(p)
    check_choice("width", width, OVERFITTING_WIDTHS)
    check_choice("n_train", n_train, OVERFITTING_N_TRAIN)
    check_int("seed", seed, 0)
    nearest = P_GRID[int(np.argmin(np.abs(np.asarray(P_GRID) - p)))]
    settings = {"p": nearest, "width": width, "n_train": n_train, "seed": seed, "ps": list(P_GRID), "steps": STEPS}
    return code_export.script(code_export.MOONS, _OVERFITTING, settings=settings, panel=OVERFITTING_PANEL)
