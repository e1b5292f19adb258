"""A small training loop that records a `History` and survives divergence.

    for each step:  loss = data_loss(model(x_batch), y_batch) + penalty(model)
                    loss.backward(); (clip); optimizer.step()

Training and validation metrics in the history are measured in eval mode, with a separate
no-grad pass over the whole split, so dropout's noise never enters a train/validation
comparison. The data loss and the penalty are recorded separately.
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from helpers._check import check_choice, check_float, check_int
from helpers.data import Split

LOSSES = ["bce", "mse"]
OPTIMIZERS = ["sgd", "adam", "adamw"]


@dataclass
class History:
    """What happened during training, one entry per evaluation (`step` says which update it followed).

    `train_acc` / `val_acc` are filled for "bce" only. `diverged_at` is the update at which the
    loss became NaN or infinite (training stopped there), else None. `best_step` / `best_state`
    are the evaluation with the lowest validation loss and a copy of the weights at that point.
    """

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    best_step: int | None = None
    best_val_loss: float = math.inf
    best_state: dict | None = None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def final_gap(self) -> float:
        """Validation loss minus training loss at the last evaluation (> 0: the model does better on seen data)."""
        return self.val_loss[-1] - self.train_loss[-1]


def data_loss(output: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean loss over the batch. "bce": binary cross-entropy on one logit; "mse": mean squared error."""
    output = output.squeeze(-1) if output.dim() == 2 and output.shape[1] == 1 else output
    if loss == "bce":
        return nn.functional.binary_cross_entropy_with_logits(output, y)
    return nn.functional.mse_loss(output, y)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str = "bce") -> tuple[float, float]:
    """(loss, accuracy) on (X, y) in eval mode; accuracy is NaN for "mse"."""
    check_choice("loss", loss, LOSSES)
    was_training = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was_training)
    value = data_loss(out, y, loss).item()
    if loss == "bce":
        pred = (out.squeeze(-1) > 0).float()
        return value, (pred == y).float().mean().item()
    return value, math.nan


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0, momentum: float = 0.0):
    """"sgd" (with optional momentum), "adam", or "adamw". `weight_decay` is passed as is:
    for SGD and Adam PyTorch adds weight_decay * w to the gradient (L2 in the loss); AdamW
    decays the weights directly (decoupled)."""
    check_choice("optimizer", name, OPTIMIZERS)
    check_float("lr", lr, 0.0, low_open=True)
    check_float("weight_decay", weight_decay, 0.0)
    check_float("momentum", momentum, 0.0, 1.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def train(model: nn.Module, split: Split, steps: int = 300, lr: float = 1e-2, optimizer: str = "adam",
          loss: str = "bce", batch_size: int | None = None, weight_decay: float = 0.0, momentum: float = 0.0,
          penalty: Callable[[nn.Module], torch.Tensor] | None = None, clip_norm: float | None = None,
          eval_every: int = 1, seed: int = 0, keep_best: bool = False,
          transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
          after_step: Callable[[int, nn.Module, History], None] | None = None) -> History:
    """Train `model` in place on `split` for `steps` updates and return its `History`.

    batch_size=None is full batch; otherwise mini-batches drawn by a generator seeded with
    `seed`, so the same call gives the same history. `penalty(model)` is added to the data
    loss (L1/L2 lessons); `clip_norm` clips the global gradient norm before each step.
    If the loss becomes NaN/inf, training stops and `history.diverged_at` records the step.
    `keep_best` stores a copy of the weights at the best validation loss (early stopping).
    `transform(x_batch)` changes the inputs of every update (data augmentation: the training
    metrics are still measured on the unchanged rows). `after_step(step, model, history)` runs
    after every update, and after its evaluation on the steps that have one (except the update
    whose evaluation finds the loss not finite: training stops there).
    """
    check_int("steps", steps, 1)
    check_choice("loss", loss, LOSSES)
    check_int("eval_every", eval_every, 1)
    check_int("seed", seed, 0)
    if batch_size is not None:
        check_int("batch_size", batch_size, 1)
    if clip_norm is not None:
        check_float("clip_norm", clip_norm, 0.0, low_open=True)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay, momentum)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout masks
    n = len(split.X_train)
    history = History()
    _record(history, model, split, loss, penalty, 0, keep_best)

    for step in range(1, steps + 1):
        if batch_size is None or batch_size >= n:
            xb, yb = split.X_train, split.y_train
        else:
            idx = torch.randint(0, n, (batch_size,), generator=g)
            xb, yb = split.X_train[idx], split.y_train[idx]
        if transform is not None:
            xb = transform(xb)
        if not model.training:  # evaluations and callbacks restore the mode: no recursive call on every update
            model.train()
        value = data_loss(model(xb), yb, loss)
        if penalty is not None:
            value = value + penalty(model)
        if not torch.isfinite(value):
            history.diverged_at = step
            break
        opt.zero_grad()
        value.backward()
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        if step % eval_every == 0 or step == steps:
            _record(history, model, split, loss, penalty, step, keep_best)
            if not math.isfinite(history.train_loss[-1]):
                history.diverged_at = step
                break
        if after_step is not None:
            after_step(step, model, history)
    model.eval()
    return history


def _record(history, model, split, loss, penalty, step, keep_best):
    train_loss, train_acc = evaluate(model, split.X_train, split.y_train, loss)
    val_loss, val_acc = evaluate(model, split.X_val, split.y_val, loss)
    history.step.append(step)
    history.train_loss.append(train_loss)
    history.val_loss.append(val_loss)
    if loss == "bce":
        history.train_acc.append(train_acc)
        history.val_acc.append(val_acc)
    if penalty is not None:
        with torch.no_grad():
            history.penalty.append(float(penalty(model)))
    if math.isfinite(val_loss) and val_loss < history.best_val_loss:
        history.best_val_loss = val_loss
        history.best_step = step
        if keep_best:
            history.best_state = copy.deepcopy(model.state_dict())
