"""Lesson 2: vanishing and exploding gradients, measured layer by layer.

Backpropagation multiplies one Jacobian per layer. For a network of depth L (L weight matrices,
notation of `helpers.probes`: z_k = W_k h_{k-1}, h_k = phi(z_k), h_L = z_L the output)

    dL/dh_{k-1} = W_k^T (phi'(z_k) * dL/dh_k)        so   dL/dh_1 = J_2^T ... J_L^T dL/dh_L.

If each factor scales a vector's norm by about `a`, the first layer's signal is about a^(L-1)
times the last one's: the product explodes for a > 1 and vanishes for a < 1 (Bengio, Simard &
Frasconi 1994; Glorot & Bengio 2010). This module holds what only lesson 2 needs:

- `scalar_chain`      the one-line version: x_k = a x_{k-1}, so dx_L/dx_0 = a^L
- `flow`              per-layer signal ||dL/dh_k||, weight gradient ||dL/dW_k|| and forward std (float64)
- `depth_gain_map`    log10 ||dL/dh_1|| over a grid of depth x gain
- `train_recording`   a training loop that also records each layer's update-to-weight ratio ||dW|| / ||W||
- `ResidualMLP`, `residual_flow`   residual stacks: plain skips, scaled, zero-initialized or normalized branches
- `big_step`          what one step with a huge gradient does (overshoot, one direction dominates)

Its plots are in `helpers.gradients_plots`.

"gain" always multiplies the init scheme's std (gain 1 = the scheme as published, as in
`helpers.models.mlp`); "depth" is the number of weight matrices.
"""

import copy
import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from helpers import data, models, probes
from helpers._check import check_choice, check_float, check_int
from helpers.models import linear_layers
from helpers.train import data_loss, evaluate, make_optimizer

ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"]
INITS = ["he_normal", "xavier_normal", "lecun_normal", "pytorch_default"]
RESIDUAL_MODES = ["residual", "residual_scaled", "residual_zero", "residual_norm"]


# ---------------------------------------------------------------------------------------------
# 1. the scalar chain
# ---------------------------------------------------------------------------------------------
def scalar_chain(gain: float, depth: int) -> np.ndarray:
    """Backpropagate through x_k = gain * x_{k-1}, k = 1..depth, in float64 with autograd.

    Returns g with g[k] = dx_depth / dx_k for k = 0..depth: g[k] = gain^(depth - k), so the
    input's gradient g[0] = gain^depth (1.1^50 = 117, 0.9^50 = 0.0052). The same product,
    with matrices for the scalars, is what a deep network's backward pass computes.
    """
    check_float("gain", gain, 0.0, low_open=True)
    check_int("depth", depth, 1, 10_000)
    xs = [torch.tensor(1.0, dtype=torch.float64, requires_grad=True)]
    for _ in range(depth):
        xs.append(gain * xs[-1])
    for x in xs:
        x.retain_grad()
    xs[-1].backward()
    return np.array([x.grad.item() for x in xs])


def predicted_ratio(gain: float, depth: int) -> float:
    """gain^(depth - 1): how much a `gain` multiplier on every layer's weights changes ||dL/dh_1|| / ||dL/dh_L||.

    From h_L back to h_1 the signal crosses depth - 1 weight matrices (W_L, ..., W_2). Scaling
    every weight by `gain` scales each crossing by `gain`; in a ReLU (or linear) net with zero biases
    the units that are on do not change (phi is positively homogeneous), so the prediction is exact.
    """
    check_float("gain", gain, 0.0, low_open=True)
    check_int("depth", depth, 1)
    return gain ** (depth - 1)


# ---------------------------------------------------------------------------------------------
# 2-3. gradient flow at initialization
# ---------------------------------------------------------------------------------------------
@dataclass
class Flow:
    """Per layer k = 1..L (index k-1), float64, one forward + backward pass at initialization.

    `signal` = ||dL/dh_k||, `weight` = ||dL/dW_k|| (Frobenius), `forward_std` = std of h_k,
    `dead` = fraction of units that are 0 for every sample, `saturated` = fraction of |h_k| > 0.97.
    """

    signal: np.ndarray
    weight: np.ndarray
    forward_std: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray

    @property
    def ratio(self) -> float:
        """||dL/dh_1|| / ||dL/dh_L||: > 1 the signal grew on its way back, < 1 it shrank."""
        return float(self.signal[0] / self.signal[-1])

    @property
    def weight_ratio(self) -> float:
        """||dL/dW_1|| / ||dL/dW_L||."""
        return float(self.weight[0] / self.weight[-1])


def random_regression(width: int, n_samples: int = 64, seed: int = 0,
                      targets: str = "random") -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x ~ N(0, I_width) and targets y ~ N(0, I_width) (`targets="random"`) or y = 0 (`"zero"`).

    The probe's data: nothing to learn, only a loss to backpropagate. With zero targets the MSE's output
    gradient 2 output / N points the same way whatever the weights' scale.
    """
    check_int("width", width, 1)
    check_int("n_samples", n_samples, 2)
    check_int("seed", seed, 0)
    check_choice("targets", targets, ["random", "zero"])
    g = torch.Generator().manual_seed(10_000 + seed)
    X, y = torch.randn(n_samples, width, generator=g), torch.randn(n_samples, width, generator=g)
    return X, (y if targets == "random" else torch.zeros_like(y))


def deep_mlp(depth: int, width: int, activation: str = "relu", init: str = "he_normal", gain: float = 1.0,
             in_features: int | None = None, out_features: int | None = None, bias: bool = False,
             seed: int = 0) -> nn.Sequential:
    """`helpers.models.mlp` with `depth` weight matrices, all hidden layers `width` wide.

    In and out default to `width` (a square stack, so every layer's factor is alike); bias-free
    by default, as the variance derivations assume.
    """
    check_int("depth", depth, 1, 500)
    check_int("width", width, 1)
    check_choice("activation", activation, ACTIVATIONS)
    return models.mlp(in_features or width, [width] * (depth - 1), out_features or width, activation=activation,
                      init=init, gain=gain, bias=bias, seed=seed)


LOSSES = ["mse", "linear"]


def flow(depth: int, width: int = 256, activation: str = "relu", init: str = "he_normal", gain: float = 1.0,
         n_samples: int = 64, seed: int = 0, targets: str = "random", loss: str = "mse") -> Flow:
    """Measure a fresh `deep_mlp`'s gradient flow at initialization, in float64, on `random_regression` data.

    `loss="mse"`: L = mean((output - y)^2), so the error the backward pass starts from,
    dL/d output = 2 (output - y) / N, contains the network's own output.
    `loss="linear"`: L = mean(output * y) with y ~ N(0, I) drawn independently of the network, so
    dL/d output = y / N: a random error that knows nothing of the forward pass (as lesson 1's probe).
    Built on `helpers.probes`; one backward pass.
    """
    check_choice("loss", loss, LOSSES)
    model = deep_mlp(depth, width, activation, init, gain, seed=seed)
    X, y = random_regression(width, n_samples, seed, targets)
    if loss == "mse":  # the live panel's path: `probes.gradients` (which the benchmark's floor replays)
        grads = probes.gradients(model, X, y, loss="mse")
        signal, weight, post = grads.signal, grads.weight, grads.forward.post
    else:
        _, post, model64 = _backward(model, X, y, loss)
        signal = np.array([h.grad.norm().item() for h in post])
        weight = np.array([layer.weight.grad.norm().item() for layer in linear_layers(model64)])
        post = [h.detach() for h in post]
    hidden = post[:-1] if depth > 1 else post
    dead = probes.dead_fraction(hidden) if activation == "relu" else np.zeros(len(hidden))
    saturated = probes.saturated_fraction(hidden) if activation == "tanh" else np.zeros(len(hidden))
    return Flow(signal=signal, weight=weight, forward_std=probes.pooled_std(post), dead=dead, saturated=saturated)


def _backward(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str):
    """One float64 forward and backward pass on a copy of `model`: (pre, post, the float64 copy).

    `pre[k]` = z_{k+1} and `post[k]` = h_{k+1} with their `.grad` set; the copy holds the weights' gradients.
    """
    model64 = copy.deepcopy(model).double().eval()
    pre, post = probes._record(model64, X.double(), keep_graph=True)
    for t in pre + post:
        t.retain_grad()
    out, y64 = post[-1], y.double()
    value = ((out - y64) ** 2).mean() if loss == "mse" else (out * y64).mean()
    model64.zero_grad()
    value.backward()
    return pre, post, model64


def preactivation_signal(depth: int, width: int = 256, activation: str = "relu", init: str = "he_normal",
                         gain: float = 1.0, n_samples: int = 64, seed: int = 0, loss: str = "mse") -> np.ndarray:
    """||dL/dz_k|| per layer (the gradient at the pre-activation z_k, not at h_k), same setup as `flow`.

    dL/dz_k = phi'(z_k) * dL/dh_k, so at the first layer it is smaller than the signal by the typical
    slope phi'(z_1) (ReLU: half the units are off, about 1/sqrt(2)).
    """
    check_choice("loss", loss, LOSSES)
    model = deep_mlp(depth, width, activation, init, gain, seed=seed)
    X, y = random_regression(width, n_samples, seed)
    pre, _, _ = _backward(model, X, y, loss)
    return np.array([z.grad.norm().item() for z in pre])


# ---------------------------------------------------------------------------------------------
# 4. depth x gain
# ---------------------------------------------------------------------------------------------
def depth_gain_map(depths, gains, activation: str = "relu", init: str = "he_normal", width: int = 64,
                   n_samples: int = 32, seed: int = 0) -> np.ndarray:
    """log10 ||dL/dh_1|| (float64) for every (depth, gain): array of shape (len(depths), len(gains)).

    One fresh network per cell (`flow`'s setup, narrower and fewer samples to stay cheap).
    A value of -inf means the first layer's signal is exactly 0 even in float64.
    """
    depths, gains = list(depths), list(gains)
    if not depths:
        raise ValueError("depths must not be empty")
    if not gains:
        raise ValueError("gains must not be empty")
    out = np.empty((len(depths), len(gains)))
    for i, depth in enumerate(depths):
        for j, gain in enumerate(gains):
            model = deep_mlp(depth, width, activation, init, gain, seed=seed)
            X, y = random_regression(width, n_samples, seed)
            with np.errstate(divide="ignore"):
                out[i, j] = np.log10(probes.gradients(model, X, y).signal[0])
    return out


# ---------------------------------------------------------------------------------------------
# 5-6. training, recording every layer's update-to-weight ratio
# ---------------------------------------------------------------------------------------------
@dataclass
class Run:
    """A training run. `step`, `train_loss`, `val_acc`: one entry per evaluation.

    `update_ratio[t, k]` = ||W_k(t) - W_k(t-1)|| / ||W_k(t-1)|| for update t = 1..T and layer k
    (0 exactly when the layer did not move); `mean_update_ratio` averages it over the updates.
    `grad_norm[t]` is the global gradient norm before clipping and `step_loss[t]` the training loss just
    before update t (full batch, so every update's loss). `diverged_at` is the update at which the loss
    became NaN/inf, else None; `steps` is the number of updates asked for.
    """

    step: list[int]
    train_loss: list[float]
    val_acc: list[float]
    update_ratio: np.ndarray
    grad_norm: np.ndarray
    step_loss: np.ndarray
    steps: int = 0
    diverged_at: int | None = None
    recorder: "_LayerRecorder | None" = field(default=None, repr=False)

    @functools.cached_property
    def layers(self) -> "LayerRecord | None":
        """Each layer's weight gradient over training (`LayerRecord`), if the run recorded it (`record_every`).
        Summarized on first use, so a run whose layers are never looked at does not pay for the histograms."""
        if self.recorder is None:
            return None
        result = self.recorder.result()
        self.recorder = None  # the raw per-update rows are summarized: free them
        return result

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def mean_update_ratio(self) -> np.ndarray:
        """Per layer, the mean over finite updates of ||dW_k|| / ||W_k|| (NaN if there is none)."""
        r = np.where(np.isfinite(self.update_ratio), self.update_ratio, np.nan)
        if not np.isfinite(r).any():
            return np.full(r.shape[1], np.nan)
        with np.errstate(all="ignore"):
            return np.nanmean(r, axis=0)


HIST_EDGES = np.linspace(-14.0, 10.0, 49)  # log10 |g| bins, half a decade each; the outer bins also take what is beyond
NEAR_ZERO = 1e-3  # an entry is "near zero" when |g| < NEAR_ZERO x the last layer's mean |g| at that step


@dataclass
class LayerRecord:
    """Each layer's weight gradient g = dL/dW_k over training, recorded before the updates in `step`.

    `hist[r, k, b]`: how many entries of g at record r, layer k have log10 |g| in bin b (`HIST_EDGES`; entries
    that are exactly 0 are not in any bin). `mean_abs[r, k]` = mean |g|, `std[r, k]` = std of the entries of g,
    `near_zero[r, k]` = share of entries with |g| < `NEAR_ZERO` x mean |g| of the last layer at that step
    (exact zeros, such as a dead ReLU's row, included). `size[k]`: entries per layer. In the spirit of
    fastai's ActivationStats "colorful dimension" plot, for gradients instead of activations.
    """

    step: np.ndarray
    hist: np.ndarray
    mean_abs: np.ndarray
    std: np.ndarray
    near_zero: np.ndarray
    size: np.ndarray

    def first_last_ratio(self) -> np.ndarray:
        """mean |g| of layer 1 / mean |g| of the last layer, per recorded step."""
        with np.errstate(all="ignore"):
            return self.mean_abs[:, 0] / self.mean_abs[:, -1]


class _LayerRecorder:
    """Collects a `LayerRecord`, one row per recorded update (`every` updates apart, and the last one).

    A record only copies the weights' gradients into one flat row; `result` then bins every row and every layer in
    one pass (`index_add_` and `bincount` over record x layer x bin), so recording costs little per update.
    """

    def __init__(self, weights, every: int):
        self.weights, self.every = weights, every
        self.size = torch.tensor([w.numel() for w in weights], dtype=torch.float64)
        self.layer_id = torch.repeat_interleave(torch.arange(len(weights)), self.size.long())
        self.steps, self.rows = [], []

    def record(self, step: int, last: bool) -> None:
        if (step - 1) % self.every and not last:
            return
        self.steps.append(step)
        self.rows.append(torch.cat([w.grad.detach().flatten() for w in self.weights]))

    def result(self) -> LayerRecord:
        n, bins, rows = len(self.weights), len(HIST_EDGES) - 1, len(self.rows)
        size, layer = self.size, self.layer_id
        if not rows:
            return LayerRecord(step=np.zeros(0, dtype=int), hist=np.zeros((0, n, bins)), mean_abs=np.zeros((0, n)),
                               std=np.zeros((0, n)), near_zero=np.zeros((0, n)), size=size.numpy().astype(int))
        g = torch.stack(self.rows).double()  # (records, entries)
        a = g.abs()

        def per_layer(values):  # (records, entries) -> (records, layers): the sum over each layer's entries
            return torch.zeros(rows, n, dtype=torch.float64).index_add_(1, layer, values)

        mean = per_layer(a) / size
        centred = g - (per_layer(g) / size)[:, layer]
        std = (per_layer(centred * centred) / (size - 1)).sqrt()
        near = per_layer((a < NEAR_ZERO * mean[:, -1:]).double()) / size
        width = HIST_EDGES[1] - HIST_EDGES[0]  # equal bins: the bin index is arithmetic, as np.histogram's
        which = ((torch.log10(a) - HIST_EDGES[0]) / width).floor().clamp(0, bins - 1).long()
        cell = (torch.arange(rows)[:, None] * n + layer) * bins + which
        hist = torch.bincount(cell.flatten(), weights=(a > 0).double().flatten(), minlength=rows * n * bins)
        return LayerRecord(step=np.array(self.steps, dtype=int), hist=hist.reshape(rows, n, bins).numpy(),
                           mean_abs=mean.numpy(), std=std.numpy(), near_zero=near.numpy(),
                           size=size.numpy().astype(int))


def moons_split(n: int = 400, seed: int = 0, dtype: torch.dtype = torch.float32) -> data.Split:
    """Two moons (noise 0.2), half for validation, standardized with the training rows' statistics."""
    split = data.moons_split(n, noise=0.2, val_fraction=0.5, seed=seed)
    return data.Split(*(t.to(dtype) for t in (split.X_train, split.y_train, split.X_val, split.y_val)))


def train_recording(model: nn.Module, split: data.Split, steps: int = 100, lr: float = 0.1,
                    optimizer: str = "sgd", clip_norm: float | None = None, eval_every: int = 5,
                    loss: str = "bce", eps: float = 1e-8, record_every: int | None = None) -> Run:
    """Full-batch training like `helpers.train.train`, also recording every layer's ||dW|| / ||W|| per update.

    The update-to-weight ratio says how much a step changes a layer relative to its size; a common
    rule of thumb is about 1e-3 for a healthy layer under SGD (Karpathy, CS231n notes). Runs in the
    model's dtype (pass a float64 model and split to see updates below float32's resolution).
    `eps` is Adam's: its step is lr * m / (sqrt(v) + eps), so gradients far below eps move by about lr * g / eps.
    `record_every`: if set, every layer's weight gradient (before clipping) is summarized every `record_every`
    updates, from update 1 on, and at the last one (`Run.layers`, a `LayerRecord`).
    """
    check_int("steps", steps, 1)
    if record_every is not None:
        check_int("record_every", record_every, 1)
    check_int("eval_every", eval_every, 1)
    check_choice("loss", loss, ["bce", "mse"])
    if clip_norm is not None:
        check_float("clip_norm", clip_norm, 0.0, low_open=True)
    check_float("eps", eps, 0.0, low_open=True)
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=check_float("lr", lr, 0.0, low_open=True), eps=eps)
    else:
        opt = make_optimizer(optimizer, model.parameters(), lr)
    weights = [layer.weight for layer in linear_layers(model)]
    ratios = np.zeros((steps, len(weights)))
    grad_norm = np.zeros(steps)
    step_loss = np.full(steps, np.nan)
    run = Run([], [], [], ratios, grad_norm, step_loss, steps)
    _evaluate(run, model, split, loss, 0)
    params = [p for p in model.parameters() if p.requires_grad]
    recorder = _LayerRecorder(weights, record_every) if record_every is not None else None
    model.train()
    for step in range(1, steps + 1):
        value = data_loss(model(split.X_train), split.y_train, loss)
        step_loss[step - 1] = value.item()
        if not torch.isfinite(value):
            run.diverged_at = step
            break
        opt.zero_grad()
        value.backward()
        if recorder is not None:
            recorder.record(step, last=step == steps)
        grads = [p.grad for p in params if p.grad is not None]
        norm = nn.utils.get_total_norm(grads)
        if clip_norm is not None:
            nn.utils.clip_grads_with_norm_(params, clip_norm, norm)
        with torch.no_grad():
            before = [w.detach().clone() for w in weights]
            size = torch.stack(torch._foreach_norm(before))
            opt.step()
            moved = torch.stack(torch._foreach_norm(torch._foreach_sub(weights, before)))
            ratios[step - 1] = (moved / size).numpy()
            grad_norm[step - 1] = norm.item()
        if step % eval_every == 0 or step == steps:
            _evaluate(run, model, split, loss, step)
            if not math.isfinite(run.train_loss[-1]):
                run.diverged_at = step
                break
    if run.diverged_at is not None:
        run.update_ratio = ratios[: run.diverged_at - 1]
        run.grad_norm = grad_norm[: run.diverged_at - 1]
    run.recorder = recorder
    model.eval()
    return run


def _evaluate(run, model, split, loss, step):
    train_loss, _ = evaluate(model, split.X_train, split.y_train, loss)
    _, val_acc = evaluate(model, split.X_val, split.y_val, loss)
    run.step.append(step)
    run.train_loss.append(train_loss)
    run.val_acc.append(val_acc)


def training_run(depth: int, activation: str = "relu", init: str = "he_normal", gain: float = 1.0,
                 lr: float = 0.1, optimizer: str = "sgd", clip_norm: float | None = None, steps: int = 100,
                 width: int = 64, seed: int = 0, eval_every: int = 5, dtype: torch.dtype = torch.float32,
                 bias: bool = True, eps: float = 1e-8, record_every: int | None = None) -> Run:
    """Train a `depth`-layer MLP (2 -> width x (depth-1) -> 1 logit) on two moons with full-batch steps."""
    check_choice("dtype", dtype, [torch.float32, torch.float64])
    model = deep_mlp(depth, width, activation, init, gain, in_features=2, out_features=1, bias=bias,
                     seed=seed).to(dtype)
    return train_recording(model, moons_split(seed=seed, dtype=dtype), steps=steps, lr=lr, optimizer=optimizer,
                           clip_norm=clip_norm, eval_every=eval_every, eps=eps, record_every=record_every)


PANEL_STEPS, PANEL_WIDTH, PANEL_RECORD_EVERY = 60, 32, 1


@functools.lru_cache(maxsize=16)  # a run keeps its per-update gradient rows (about 3 MB at depth 15) until summarized
def panel_run(depth: int, activation: str, init: str, gain: float, optimizer: str, lr: float, clip_norm: str,
              seed: int = 0) -> Run:
    """The training panels' run: `training_run` for 60 steps at width 32, gradients recorded at every update.

    `clip_norm` is the panel's drop-down value ("off" or a number as text). Cached, so the loss panel and the
    layers-over-training panel share one training per setting (treat the result as read-only).
    """
    return training_run(depth, activation, init, gain=gain, lr=lr, optimizer=optimizer,
                        clip_norm=None if clip_norm == "off" else float(clip_norm), steps=PANEL_STEPS,
                        width=PANEL_WIDTH, seed=seed, eval_every=20, record_every=PANEL_RECORD_EVERY)


# ---------------------------------------------------------------------------------------------
# 6. residual stacks
# ---------------------------------------------------------------------------------------------
class ResidualMLP(nn.Module):
    """in -> Linear -> `blocks` blocks -> Linear -> out, every block h <- h + s * W2 relu(W1 h) (He init).

    `mode`:
      "residual"         h + f(h) with He init: each block adds its branch's variance (Var(h) x 3 per block)
      "residual_scaled"  h + f(h) / sqrt(blocks)  (branch scaled down; Var grows at most e-fold in total)
      "residual_zero"    h + f(h), W2 initialized to 0: every block starts as the identity (Goyal et al. 2017,
                         "zero-gamma"; Zhang et al. 2019, Fixup)
      "residual_norm"    h + f(LayerNorm(h)) (pre-norm, Xiong et al. 2020; the branch sees unit-scale input)
    He et al., "Deep Residual Learning for Image Recognition" (2016).
    """

    def __init__(self, in_features: int, width: int, blocks: int, out_features: int = 1, mode: str = "residual",
                 seed: int = 0):
        super().__init__()
        check_int("in_features", in_features, 1)
        check_int("width", width, 1)
        check_int("blocks", blocks, 1, 500)
        check_int("out_features", out_features, 1)
        check_choice("mode", mode, RESIDUAL_MODES)
        self.mode = mode
        self.scale = 1.0 / math.sqrt(blocks) if mode == "residual_scaled" else 1.0
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            self.inp = nn.Linear(in_features, width)
            self.w1 = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
            self.w2 = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
            self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(blocks)) if mode == "residual_norm" \
                else None
            self.out = nn.Linear(width, out_features)
            for layer in linear_layers(self):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
            nn.init.xavier_normal_(self.inp.weight)
            nn.init.xavier_normal_(self.out.weight)
            if mode == "residual_zero":
                for layer in self.w2:
                    nn.init.zeros_(layer.weight)
        finally:
            torch.random.set_rng_state(state)
        self.stream: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        self.stream = [h]
        for k, (w1, w2) in enumerate(zip(self.w1, self.w2, strict=True)):
            u = self.norms[k](h) if self.norms is not None else h
            branch = w2(torch.relu(w1(u)))
            h = h + self.scale * branch
            self.stream.append(h)
        return self.out(h)


def residual_flow(blocks: int, mode: str, width: int = 64, n_samples: int = 64,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(forward std, ||dL/dh||) of the residual stream h after the input layer and after each block, float64.

    MSE to random targets on N(0, I) inputs, as in `flow`. Index 0 is the stream before block 1.
    """
    model = ResidualMLP(width, width, blocks, width, mode, seed).double()
    X, y = random_regression(width, n_samples, seed)
    out = model(X.double())
    for h in model.stream:
        h.retain_grad()
    ((out - y.double()) ** 2).mean().backward()
    std = np.array([h.detach().std().item() for h in model.stream])
    signal = np.array([h.grad.norm().item() for h in model.stream])
    return std, signal


def residual_training(blocks: int, mode: str, lr: float = 0.1, optimizer: str = "sgd", steps: int = 100,
                      width: int = 64, clip_norm: float | None = None, seed: int = 0, eval_every: int = 5) -> Run:
    """Train a `ResidualMLP` on two moons (`moons_split`), recording update ratios like `training_run`."""
    model = ResidualMLP(2, width, blocks, 1, mode, seed)
    return train_recording(model, moons_split(seed=seed), steps=steps, lr=lr, optimizer=optimizer,
                           clip_norm=clip_norm, eval_every=eval_every)


# ---------------------------------------------------------------------------------------------
# 7. what a huge gradient does to one step
# ---------------------------------------------------------------------------------------------
@dataclass
class BigStep:
    """One full-batch SGD step of size `lr` along -g, compared with the best step along the same line.

    `loss_before` / `loss_after`: training loss before and after the step; `best_lr`: the step size
    (on a log grid from 1e-12 lr to lr) that minimizes the loss along -g; `step_to_weight`:
    ||lr g|| / ||w|| over all weights; `top_share_before` / `top_share_after`: per hidden layer, the
    fraction of ||W_k||_F^2 in its top singular direction (a random 64 x 64 matrix: about 0.06;
    1 = every unit of the layer computes the same feature); `dead_before` / `dead_after`: fraction of hidden
    ReLUs that output 0 for every training input before / after the step.
    """

    grad_norm: float
    loss_before: float
    loss_after: float
    best_lr: float
    step_to_weight: float
    top_share_before: np.ndarray
    top_share_after: np.ndarray
    dead_after: float
    dead_before: float


def big_step(depth: int = 15, gain: float = 1.3, lr: float = 0.1, width: int = 64, seed: int = 0) -> BigStep:
    """Measure one SGD step on two moons for a ReLU `deep_mlp` (He x `gain`, biases, BCE), in float64."""
    check_float("lr", lr, 0.0, low_open=True)
    model = deep_mlp(depth, width, "relu", "he_normal", gain, in_features=2, out_features=1, bias=True,
                     seed=seed).double()
    split = moons_split(seed=seed, dtype=torch.float64)
    value = data_loss(model(split.X_train), split.y_train, "bce")
    model.zero_grad()
    value.backward()
    params = list(model.parameters())
    g = [p.grad.detach().clone() for p in params]
    w0 = [p.detach().clone() for p in params]
    hidden = linear_layers(model)[1:-1]

    def loss_at(step_size):
        with torch.no_grad():
            for p, p0, gi in zip(params, w0, g, strict=True):
                p.copy_(p0 - step_size * gi)
            return data_loss(model(split.X_train), split.y_train, "bce").item()

    def top_share():
        shares = []
        for layer in hidden:
            s = torch.linalg.svdvals(layer.weight.detach())
            shares.append((s[0] ** 2 / (s**2).sum()).item())
        return np.array(shares)

    before = top_share()
    dead_before = float(probes.dead_fraction(probes.activations(model, split.X_train).post[:-1]).mean())
    grid = np.logspace(-12, 0, 49) * lr
    losses = np.array([loss_at(s) for s in grid])
    losses = np.where(np.isfinite(losses), losses, np.inf)
    after_loss = loss_at(lr)
    after = top_share()
    acts = probes.activations(model, split.X_train)
    dead = float(probes.dead_fraction(acts.post[:-1]).mean())
    grad_norm = math.sqrt(sum((gi**2).sum().item() for gi in g))
    weight_norm = math.sqrt(sum((p0**2).sum().item() for p0 in w0))
    return BigStep(grad_norm=grad_norm, loss_before=value.item(), loss_after=after_loss,
                   best_lr=float(grid[int(np.argmin(losses))]), step_to_weight=lr * grad_norm / weight_norm,
                   top_share_before=before, top_share_after=after, dead_after=dead,
                   dead_before=dead_before)


# ---------------------------------------------------------------------------------------------
# homogeneity of a bias-free ReLU network (point 2)
# ---------------------------------------------------------------------------------------------
@dataclass
class Scaling:
    """For each gain: the output's rms, ||dL/d output||, and the mean over layers of ||dL/dW_k||."""

    gains: np.ndarray
    output_rms: np.ndarray
    output_grad: np.ndarray
    weight_grad: np.ndarray
    weight_grad_spread: np.ndarray  # max / min over layers of ||dL/dW_k||


def gain_scaling(depth: int = 10, gains=(0.5, 0.8, 1.0, 1.25, 2.0), width: int = 256, n_samples: int = 64,
                 seed: int = 0) -> Scaling:
    """How a bias-free ReLU net's output and weight gradients scale when every weight is multiplied by `gain`.

    ReLU is positively homogeneous (relu(c z) = c relu(z) for c > 0), so scaling all L weight matrices by
    c scales the output by c^L and every ||dL/dW_k|| by c^(L-1) * ||dL/d output||: the same power for every
    layer, so the weights' gradients stay level across layers at any gain, while their size does not.
    Under MSE, dL/d output = 2 (output - y) / N grows like c^L once the output swamps the targets,
    so ||dL/dW_k|| ~ c^(2L-1) there.
    """
    gains = np.asarray(list(gains), dtype=float)
    if gains.size == 0 or not np.all(gains > 0):
        raise ValueError(f"gains must be a non-empty list of positive numbers, got {gains!r}")
    X, y = random_regression(width, n_samples, seed)
    rows = []
    for gain in gains:
        model = deep_mlp(depth, width, "relu", "he_normal", float(gain), seed=seed)
        grads = probes.gradients(model, X, y)
        with torch.no_grad():
            out = model.double()(X.double())
        rows.append((out.pow(2).mean().sqrt().item(), grads.signal[-1], grads.weight.mean(),
                     grads.weight.max() / grads.weight.min()))
    a = np.array(rows)
    return Scaling(gains, a[:, 0], a[:, 1], a[:, 2], a[:, 3])


# ---------------------------------------------------------------------------------------------
# the lesson's experiments: the notebook and tests/test_claims_gradients.py both call these, so the
# claims are checked on the notebook's own settings (only the seeds differ)
# ---------------------------------------------------------------------------------------------
FLOW_SETUPS = [("relu", "he_normal", 1.0), ("relu", "xavier_normal", 1.0), ("relu", "he_normal", 1.5),
               ("tanh", "xavier_normal", 1.0), ("tanh", "xavier_normal", 5 / 3), ("sigmoid", "xavier_normal", 1.0)]


def flows_at_depth_50(activation: str, init: str, gain: float, seeds=range(3), loss: str = "mse") -> list[Flow]:
    """`flow` of a 50-layer, 256-wide bias-free stack on 64 samples, one per seed (section 2's table)."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    return [flow(depth=50, width=256, activation=activation, init=init, gain=gain, seed=s, loss=loss) for s in seeds]


def gain_effect(gain: float = 1.2, depth: int = 30, seed: int = 0, targets: str = "zero") -> float:
    """(first/last signal at `gain`) / (first/last signal at gain 1), He + ReLU, width 256, same seed.

    Predicted: gain^(depth - 1) (`predicted_ratio`), exact for a bias-free ReLU net when the output's error
    does not turn with the scale (zero targets: dL/d output = 2 output / N).
    """
    ratios = [flow(depth=depth, width=256, activation="relu", init="he_normal", gain=g, seed=seed,
                   targets=targets).ratio for g in (1.0, gain)]
    return ratios[1] / ratios[0]


FAILING = {"depth": 15, "activation": "relu", "init": "he_normal", "gain": 1.3, "lr": 0.1}


def failing_network_runs(seed: int = 0, steps: int = 300) -> dict[str, Run]:
    """Section 6's failing network (15 ReLU layers, width 64, He x 1.3, SGD lr 0.1, BCE on two moons) and two fixes:
    the good init (He x 1.0) and gradient clipping at norm 1 (Pascanu, Mikolov & Bengio 2013)."""
    settings = {"failing: He x 1.3, no clipping": {},
                "good init: He x 1.0": {"gain": 1.0},
                "He x 1.3 + clip norm 1.0": {"clip_norm": 1.0}}
    return {name: training_run(**{**FAILING, **change}, steps=steps, seed=seed, eval_every=20)
            for name, change in settings.items()}


def residual_runs(seed: int = 0, steps: int = 300) -> dict[str, Run]:
    """7 residual blocks (16 layers) on section 6's task, SGD lr 0.1, one run per `RESIDUAL_MODES` entry."""
    return {f"7 blocks, {mode}": residual_training(7, mode, lr=0.1, steps=steps, seed=seed, eval_every=20)
            for mode in RESIDUAL_MODES}


GAIN_11_SETTINGS = [("sgd", 0.1), ("sgd", 0.01), ("sgd", 0.001), ("adam", 0.001)]


def gain_11_at_depth_50(seed: int = 0, steps: int = 100) -> dict[tuple[str, float], Run]:
    """He x 1.1 (a 10% error in the weights' std) at depth 50, width 64, biases, on two moons, for each
    (optimizer, learning rate) of `GAIN_11_SETTINGS`: whether a 10% error is fatal depends on the step size."""
    return {(opt, lr): training_run(50, "relu", "he_normal", gain=1.1, lr=lr, optimizer=opt, steps=steps, seed=seed,
                                    eval_every=steps)
            for opt, lr in GAIN_11_SETTINGS}
