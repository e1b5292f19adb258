"""Lesson 0's "code" button: the width/noise panel as a self-contained PyTorch script.

`moons_code(width, noise, seed)` returns the text of a script (plain `torch`, no `helpers` import) that runs
the panel's `train_moons(width, noise, seed)`: the same two-moons split, the same 2-w-w-1 ReLU network with
PyTorch's default init, the same 300 full-batch Adam steps. It is assembled by `helpers.code_export.script`
from the course's shared snippets (`MOONS`, `MLP`, `TRAIN`, copies of `helpers.data`, `helpers.models.mlp`
and `helpers.train.train` with the same random draws in the same order), so on one machine the numbers it
prints are the panel's, bit for bit (tests/test_code_start_here.py runs it and compares).
"""

from helpers import code_export
from helpers._check import check_float, check_int

PANEL = "lesson 0 (start here): the width / noise panel"

_BODY = '''\
# The panel's run, as the notebook's train_moons(width, noise, seed) does it:
# 1. data: 400 two-moons points, half held out for validation
X, y = moons(400, noise=noise, seed=seed)
split = train_val_split(X, y, val_fraction=0.5, seed=seed)

# 2. model: 2 -> width -> width -> 1, ReLU, PyTorch's default init
model = mlp(2, [width, width], activation="relu", seed=seed)

# 3. training: 300 full-batch Adam steps at lr 0.01, binary cross-entropy on one logit
history = train(model, split, steps=300, lr=1e-2, optimizer="adam", eval_every=10)

# 4. the panel's numbers (losses and accuracies measured in eval mode on the whole split)
show("first_train_loss", history.train_loss[0])
show("train_loss", history.train_loss[-1])
show("val_loss", history.val_loss[-1])
show("train_accuracy", history.train_acc[-1])
show("val_accuracy", history.val_acc[-1])
'''


def moons_code(width: int, noise: float, seed: int = 0) -> str:
    """The script reproducing the width/noise panel's run for (`width`, `noise`, `seed`).

    The network of lesson 0: x -> ReLU(W1 x + b1) -> ReLU(W2 h1 + b2) -> W3 h2 + b3 (a logit), binary
    cross-entropy, Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", 2015) at lr 0.01.
    """
    check_int("width", width, 1)
    noise = check_float("noise", noise, 0.0)
    check_int("seed", seed, 0)
    return code_export.script(code_export.MOONS, code_export.MLP, code_export.TRAIN, _BODY,
                              settings={"width": width, "noise": noise, "seed": seed}, panel=PANEL)
