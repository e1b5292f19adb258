"""Dropout, measured: its statistics, train vs eval mode, the weight-scaling rule, co-adaptation, p sweeps.

Dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, "Dropout: A Simple Way to Prevent
Neural Networks from Overfitting", JMLR 2014). In training, every hidden unit of every example is
zeroed independently with probability p, and the survivors are scaled up ("inverted" dropout):

    m ~ Bernoulli(1 - p)  (one per unit, per example, per step),    y = m * h / (1 - p),    E[y] = h.

At test time (`model.eval()`) nothing is dropped and nothing is rescaled: y = h. Here, as in PyTorch,
p is the probability of *dropping*; the paper writes p for the probability of *keeping*.

The lesson implements the mask and the rescale itself; this module holds the measurements:

- `mask_statistics`       fraction dropped and mean kept, for any dropout function
- `monte_carlo_gap`       train-mode average vs eval output, at the dropout layer and at the output
- `mode_disagreement`     the forgotten-`model.eval()` bug: flipped labels and accuracy per pass
- `ablation_drops`        remove one hidden unit at a time: how much accuracy does each take with it?
- `largest_ablation_drops` the most any single unit takes with it, per seed and hidden layer, for a whole sweep
- `confident_mistakes`    wrong answers given with near certainty (what a validation loss punishes)
- `p_sweep`               many networks (p values x seeds) trained at once on the overfitting setup

The lesson's figures are in `helpers.dropout_plots`.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers import models, overfit
from helpers._check import check_choice, check_float, check_int
from helpers.train import History

P_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _check_p(name: str, p) -> float:
    p = check_float(name, p, 0.0, 1.0)
    if p >= 1.0:
        raise ValueError(f"{name} must be < 1 (the probability of dropping a unit), got {p!r}")
    return p


# ----------------------------------------------------------------------------------------------------------
# 1. Statistics of one dropout layer
# ----------------------------------------------------------------------------------------------------------

@dataclass
class MaskStatistics:
    """What one application of a dropout function did to a positive input `h` (no zeros of its own).

    `dropped` is the fraction of entries set to 0 (should be p); `mean_ratio` is mean(y) / mean(h)
    (should be 1: inverted dropout keeps the mean); `kept_scale` is y / h on the survivors
    (should be 1 / (1 - p)).
    """

    p: float
    dropped: float
    mean_ratio: float
    kept_scale: float


def mask_statistics(dropout_fn: Callable[[torch.Tensor, float], torch.Tensor], p: float,
                    shape: tuple[int, int] = (256, 512), seed: int = 0) -> MaskStatistics:
    """Apply `dropout_fn(h, p)` to h ~ Uniform(0.5, 1.5) of `shape` and measure it.

    The input has no zeros, so every zero in the output was made by the mask (after a ReLU many
    activations are zero already, and counting zeros there would overstate p).
    """
    p = _check_p("p", p)
    if not callable(dropout_fn):
        raise ValueError("dropout_fn must be a callable (h, p) -> tensor")
    if len(shape) != 2:
        raise ValueError(f"shape must be (rows, columns), got {shape!r}")
    check_int("shape[0]", shape[0], 1)
    check_int("shape[1]", shape[1], 1)
    check_int("seed", seed, 0)
    g = torch.Generator().manual_seed(10_000 + seed)  # not `seed`: the mask must not reuse the input's random numbers
    h = 0.5 + torch.rand(shape, generator=g)
    torch.manual_seed(seed)
    y = dropout_fn(h, p)
    kept = y != 0
    dropped = 1.0 - kept.float().mean().item()
    scale = (y[kept] / h[kept]).mean().item() if kept.any() else math.nan
    return MaskStatistics(p, dropped, (y.mean() / h.mean()).item(), scale)


# ----------------------------------------------------------------------------------------------------------
# 2. The weight-scaling rule: the eval-mode output vs the average over many train-mode masks
# ----------------------------------------------------------------------------------------------------------

@dataclass
class MonteCarloGap:
    """Mean |average of n train-mode passes - eval-mode output|, for each n in `n_passes`.

    `layer_gap`: at the first dropout layer's output (exact in expectation: shrinks like 1/sqrt(n)).
    `output_gap`: at the network's output probability sigmoid(f(x)) (an approximation: levels off
    at the weight-scaling rule's own error, `output_gap[-1]`).
    That floor has two nonlinear sources, split after all the passes:
    `relu_gap` = mean |sigmoid(average logit f) - eval probability| (the hidden ReLU between the dropout layers:
    the logits' average already differs from the eval-mode logit) and
    `sigmoid_gap` = mean |average probability - sigmoid(average logit f)| (the output sigmoid: averaging
    probabilities is not averaging logits).
    """

    n_passes: np.ndarray
    layer_gap: np.ndarray
    output_gap: np.ndarray
    layer_scale: float
    output_scale: float
    relu_gap: float
    sigmoid_gap: float


def _dropout_layers(model: nn.Module) -> list[nn.Dropout]:
    return [m for m in model.modules() if isinstance(m, nn.Dropout)]


@torch.no_grad()
def monte_carlo_gap(model: nn.Sequential, X: torch.Tensor, n_passes=(1, 3, 10, 30, 100, 300, 1000),
                    seed: int = 0) -> MonteCarloGap:
    """Average `max(n_passes)` train-mode (dropout on) passes of `model` on `X` and compare running
    averages with the deterministic eval-mode pass, at the first dropout layer and at the output.

    Eval mode computes f(x; E[m]) (every unit on, no rescale); the train-mode average estimates
    E_m[f(x; m)]. For a layer that is linear in m they agree; after a ReLU or the output sigmoid they do
    not (Jensen: E[phi(z)] != phi(E[z])), which is why dropout's test rule is "only" an approximation of
    averaging the 2^n thinned networks (Srivastava et al. 2014, section 7.5; Baldi & Sadowski 2013).
    """
    check_int("seed", seed, 0)
    n_passes = np.asarray(sorted(n_passes))
    if len(n_passes) == 0 or n_passes[0] < 1:
        raise ValueError(f"n_passes must be positive ints, got {n_passes!r}")
    drops = _dropout_layers(model)
    if not drops:
        raise ValueError("model has no nn.Dropout layer: build it with dropout > 0")
    captured = {}
    hook = drops[0].register_forward_hook(lambda mod, inp, out: captured.__setitem__("y", out))
    was_training = model.training
    try:
        model.eval()
        eval_logit = model(X).squeeze(-1)
        eval_out = torch.sigmoid(eval_logit)
        eval_layer = captured["y"].clone()
        model.train()
        torch.manual_seed(seed)
        sum_out = torch.zeros_like(eval_out)
        sum_logit = torch.zeros_like(eval_out)
        sum_layer = torch.zeros_like(eval_layer)
        layer_gap, output_gap = [], []
        targets = set(n_passes.tolist())
        for n in range(1, int(n_passes[-1]) + 1):
            logit = model(X).squeeze(-1)
            sum_out += torch.sigmoid(logit)
            sum_logit += logit
            sum_layer += captured["y"]
            if n in targets:
                layer_gap.append((sum_layer / n - eval_layer).abs().mean().item())
                output_gap.append((sum_out / n - eval_out).abs().mean().item())
    finally:
        hook.remove()
        model.train(was_training)
    n = int(n_passes[-1])
    of_average_logit = torch.sigmoid(sum_logit / n)
    return MonteCarloGap(n_passes, np.array(layer_gap), np.array(output_gap),
                         eval_layer.abs().mean().item(), eval_out.sub(0.5).abs().mean().item(),
                         relu_gap=(of_average_logit - eval_out).abs().mean().item(),
                         sigmoid_gap=(sum_out / n - of_average_logit).abs().mean().item())


# ----------------------------------------------------------------------------------------------------------
# 3. Forgetting model.eval()
# ----------------------------------------------------------------------------------------------------------

@dataclass
class ModeDisagreement:
    """Predicted labels of one model on one test set, in eval mode and in train mode (dropout on).

    `flipped`: fraction of labels that differ between two train-mode passes (per pair of passes).
    `eval_acc`: accuracy in eval mode (the same every time). `train_acc`: accuracy of each single
    train-mode pass. `mean_acc`: accuracy of the average probability of all train-mode passes.
    `eval_repeat_equal`: two eval-mode passes gave bit-identical outputs.
    """

    flipped: np.ndarray
    eval_acc: float
    train_acc: np.ndarray
    mean_acc: float
    eval_repeat_equal: bool


@torch.no_grad()
def mode_disagreement(model: nn.Module, X: torch.Tensor, y: torch.Tensor, passes: int = 10,
                      seed: int = 0) -> ModeDisagreement:
    """Evaluate `model` on (X, y) once in eval mode and `passes` times in train mode."""
    check_int("passes", passes, 2)
    check_int("seed", seed, 0)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    was_training = model.training
    try:
        model.eval()
        out_a, out_b = model(X).squeeze(-1), model(X).squeeze(-1)
        model.train()
        torch.manual_seed(seed)
        probs = torch.stack([torch.sigmoid(model(X).squeeze(-1)) for _ in range(passes)])
    finally:
        model.train(was_training)
    labels = (probs > 0.5).float()
    flipped = (labels[1:] != labels[:-1]).float().mean(dim=1).numpy()
    return ModeDisagreement(flipped=flipped, eval_acc=((out_a > 0).float() == y).float().mean().item(),
                            train_acc=(labels == y).float().mean(dim=1).numpy(),
                            mean_acc=((probs.mean(0) > 0.5).float() == y).float().mean().item(),
                            eval_repeat_equal=bool(torch.equal(out_a, out_b)))


# ----------------------------------------------------------------------------------------------------------
# 4. Co-adaptation: remove one hidden unit at a time
# ----------------------------------------------------------------------------------------------------------

@torch.no_grad()
def ablation_drops(model: nn.Sequential, X: torch.Tensor, y: torch.Tensor, layer: int = -1) -> np.ndarray:
    """Accuracy lost on (X, y) when one hidden unit of hidden layer `layer` is removed, for every unit.

    Removing unit j means zeroing column j of the next Linear layer's weight (the unit's outgoing
    weights), in eval mode: acc(full) - acc(without j). If units co-adapt (one unit corrects another's
    mistakes), removing one costs a lot; dropout trains every unit to work with random subsets of
    the others (Hinton et al. 2012), so no single removal should cost much.
    """
    linears = models.linear_layers(model)
    n_hidden = len(linears) - 1
    if n_hidden < 1:
        raise ValueError("model has no hidden layer")
    check_int("layer", layer, -n_hidden, n_hidden - 1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    following = linears[layer % n_hidden + 1]
    was_training = model.training
    model.eval()
    try:
        base = ((model(X).squeeze(-1) > 0).float() == y).float().mean().item()
        drops = []
        for j in range(following.weight.shape[1]):
            column = following.weight[:, j].clone()
            following.weight[:, j] = 0.0
            acc = ((model(X).squeeze(-1) > 0).float() == y).float().mean().item()
            following.weight[:, j] = column
            drops.append(base - acc)
    finally:
        model.train(was_training)
    return np.array(drops)


def largest_ablation_drops(sweep: "Sweep", p_index: int, test_sets) -> np.ndarray:
    """[seed, hidden layer]: max over units of `ablation_drops` for network (seed, `p_index`) of `sweep`,
    each seed measured on its own test set `test_sets[i] = (X, y)`.

    The largest drop, not the mean: the mean adds units whose removal costs accuracy to units whose removal
    helps (those that fitted flipped training labels), and in a wide layer most units change nothing.
    """
    check_int("p_index", p_index, 0, len(sweep.ps) - 1)
    if len(test_sets) != len(sweep.seeds):
        raise ValueError(f"need one test set per seed ({len(sweep.seeds)}), got {len(test_sets)}")
    n_hidden = len(sweep.weights) - 1
    return np.array([[ablation_drops(sweep.model(i, p_index), *test_sets[i], layer=k).max() for k in range(n_hidden)]
                     for i in range(len(sweep.seeds))])


@torch.no_grad()
def confident_mistakes(model: nn.Module, X: torch.Tensor, y: torch.Tensor, confidence: float = 0.99) -> float:
    """Fraction of rows of (X, y) that `model` (eval mode) gets wrong with probability > `confidence`.

    Each such row adds more than -log(1 - confidence) to the summed cross-entropy (4.6 nats at 0.99),
    so a few of them can dominate a validation loss while hardly moving the accuracy.
    """
    check_float("confidence", confidence, 0.5, 1.0)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    was_training = model.training
    model.eval()
    try:
        prob = torch.sigmoid(model(X).squeeze(-1))
    finally:
        model.train(was_training)
    prob_of_truth = torch.where(y > 0.5, prob, 1 - prob)
    return (prob_of_truth < 1 - confidence).float().mean().item()


# ----------------------------------------------------------------------------------------------------------
# 5. and 6. Many networks at once: p values x seeds on the overfitting setup
# ----------------------------------------------------------------------------------------------------------

@dataclass
class Sweep:
    """Networks of one width trained on `helpers.overfit.moons_split(n_train, seed)`, one per (seed, p).

    Arrays are indexed [seed, p] (final values, metrics in eval mode) or [seed, p, evaluation]
    (`curve_*`, at the updates in `step`). `test_acc` is on `overfit.moons_test(2000, seed)`.
    `weights[k]` / `biases[k]` hold layer k of every network, stacked (seed * len(ps) + p index first).
    """

    ps: np.ndarray
    seeds: list[int]
    width: int
    n_train: int
    weight_decay: float
    step: np.ndarray
    curve_train_loss: np.ndarray
    curve_val_loss: np.ndarray
    curve_train_acc: np.ndarray
    curve_val_acc: np.ndarray
    test_acc: np.ndarray
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]

    @property
    def train_loss(self) -> np.ndarray:
        return self.curve_train_loss[:, :, -1]

    @property
    def val_loss(self) -> np.ndarray:
        return self.curve_val_loss[:, :, -1]

    @property
    def train_acc(self) -> np.ndarray:
        return self.curve_train_acc[:, :, -1]

    @property
    def val_acc(self) -> np.ndarray:
        return self.curve_val_acc[:, :, -1]

    @property
    def acc_gap(self) -> np.ndarray:
        """Training accuracy minus validation accuracy (eval mode), [seed, p]."""
        return self.train_acc - self.val_acc

    @property
    def loss_gap(self) -> np.ndarray:
        """Validation loss minus training loss (eval mode), [seed, p]."""
        return self.val_loss - self.train_loss

    def history(self, seed_index: int = 0, p_index: int = 0) -> History:
        """The training curves of network (seed_index, p_index) as a `helpers.train.History`."""
        check_int("seed_index", seed_index, 0, len(self.seeds) - 1)
        check_int("p_index", p_index, 0, len(self.ps) - 1)
        i, j = seed_index, p_index
        return History(step=self.step.tolist(), train_loss=self.curve_train_loss[i, j].tolist(),
                       val_loss=self.curve_val_loss[i, j].tolist(), train_acc=self.curve_train_acc[i, j].tolist(),
                       val_acc=self.curve_val_acc[i, j].tolist())

    def model(self, seed_index: int = 0, p_index: int = 0) -> nn.Sequential:
        """Network (seed_index, p_index) as an ordinary `overfit.big_model` (with its nn.Dropout(p))."""
        check_int("seed_index", seed_index, 0, len(self.seeds) - 1)
        check_int("p_index", p_index, 0, len(self.ps) - 1)
        k = seed_index * len(self.ps) + p_index
        net = overfit.big_model(width=self.width, dropout=float(self.ps[p_index]), seed=0)
        with torch.no_grad():
            for layer, W, b in zip(models.linear_layers(net), self.weights, self.biases, strict=True):
                layer.weight.copy_(W[k].T)
                layer.bias.copy_(b[k, 0])
        return net.eval()


def _batched_forward(weights, biases, X, keep=None, generators=()):
    """X (K, n, d) through K networks at once; with `keep` (K,), inverted dropout after each hidden layer.

    The K networks come in equal blocks, one per generator: block i draws its masks from generators[i].
    """
    h = X
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        h = torch.relu(torch.baddbmm(b, h, W))
        if keep is not None:
            block = (h.shape[0] // len(generators), *h.shape[1:])
            uniform = torch.cat([torch.rand(block, generator=g) for g in generators])
            h = h * (uniform < keep[:, None, None]) / keep[:, None, None]
    return torch.baddbmm(biases[-1], h, weights[-1]).squeeze(-1)


def _metrics(weights, biases, X, y):
    with torch.no_grad():
        out = _batched_forward(weights, biases, X)
        loss = F.binary_cross_entropy_with_logits(out, y, reduction="none").mean(dim=1)
        acc = ((out > 0).float() == y).float().mean(dim=1)
    return loss, acc


def p_sweep(ps=P_GRID, seeds=(0,), width: int = 32, n_train: int = 50, steps: int = 400, lr: float = 1e-2,
            weight_decay: float = 0.0, optimizer: str = "adam", eval_every: int = 20, n_val: int = 500,
            test: bool = True) -> Sweep:
    """Train one `overfit.big_model(width, dropout=p, seed=s)` per (s, p) on `overfit.moons_split(n_train, seed=s)`,
    full batch, all at once.

    The same computation as `helpers.train.train(model, split, steps, lr, optimizer)` for each network
    (Adam and AdamW act on each weight separately, so stacking the networks changes nothing;
    `weight_decay` acts on the weight matrices only, not on the biases, as in lesson 4),
    written with batched matrix products so that len(ps) * len(seeds) small networks cost about as much as
    one big one. Metrics are measured in eval mode on the whole split every `eval_every` updates.
    The network for seed s starts from the same initial weights for every p, so p is the only difference,
    and its dropout masks come from a generator seeded with s: its result does not depend on which other
    seeds are trained alongside it (it does depend on `ps`, which share that generator).
    """
    ps = np.asarray([_check_p("ps", p) for p in ps], dtype=float)
    if len(ps) == 0:
        raise ValueError("ps must not be empty")
    seeds = [check_int("seeds", s, 0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    check_int("width", width, 1)
    check_int("n_train", n_train, 4)
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_float("weight_decay", weight_decay, 0.0)
    check_choice("optimizer", optimizer, ["adam", "adamw"])
    check_int("eval_every", eval_every, 1)

    n_p = len(ps)
    runs = [(s, p) for s in seeds for p in ps]
    nets = {s: models.linear_layers(overfit.big_model(width=width, seed=s)) for s in seeds}
    weights = [torch.stack([nets[s][k].weight.detach().T.contiguous() for s, _ in runs]).requires_grad_()
               for k in range(3)]
    biases = [torch.stack([nets[s][k].bias.detach()[None, :].clone() for s, _ in runs]).requires_grad_()
              for k in range(3)]
    splits = {s: overfit.moons_split(n_train=n_train, n_val=n_val, seed=s) for s in seeds}
    X_train = torch.stack([splits[s].X_train for s, _ in runs])
    y_train = torch.stack([splits[s].y_train for s, _ in runs])
    X_val = torch.stack([splits[s].X_val for s, _ in runs])
    y_val = torch.stack([splits[s].y_val for s, _ in runs])
    keep = torch.tensor([1.0 - p for _, p in runs], dtype=torch.float32)
    opt_class = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    # weight decay on the weights only, not the biases: the course's convention (lesson 4)
    opt = opt_class([{"params": weights, "weight_decay": weight_decay}, {"params": biases, "weight_decay": 0.0}], lr=lr)
    generators = [torch.Generator().manual_seed(s) for s in seeds]  # seed s's masks do not depend on the other seeds

    curves = {key: [] for key in ("train_loss", "train_acc", "val_loss", "val_acc")}
    recorded = []

    def record(step):
        recorded.append(step)
        for split_name, X, y in (("train", X_train, y_train), ("val", X_val, y_val)):
            loss, acc = _metrics(weights, biases, X, y)
            curves[f"{split_name}_loss"].append(loss)
            curves[f"{split_name}_acc"].append(acc)

    record(0)
    for step in range(1, steps + 1):
        out = _batched_forward(weights, biases, X_train, keep, generators)
        loss = F.binary_cross_entropy_with_logits(out, y_train, reduction="none").mean(dim=1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            record(step)

    shape = (len(seeds), n_p, len(recorded))

    def as_array(values):
        return torch.stack(values, dim=1).reshape(shape).numpy()

    test_acc = np.full((len(seeds), n_p), np.nan)
    if test:
        for i, s in enumerate(seeds):
            X_test, y_test = overfit.moons_test(2000, seed=s)
            block = slice(i * n_p, (i + 1) * n_p)
            _, acc = _metrics([W[block] for W in weights], [b[block] for b in biases],
                              X_test.expand(n_p, -1, -1), y_test.expand(n_p, -1))
            test_acc[i] = acc.numpy()
    return Sweep(ps=ps, seeds=seeds, width=width, n_train=n_train, weight_decay=weight_decay,
                 step=np.array(recorded), curve_train_loss=as_array(curves["train_loss"]),
                 curve_val_loss=as_array(curves["val_loss"]), curve_train_acc=as_array(curves["train_acc"]),
                 curve_val_acc=as_array(curves["val_acc"]), test_acc=test_acc,
                 weights=[W.detach() for W in weights], biases=[b.detach() for b in biases])
