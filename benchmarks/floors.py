"""The floor under a panel's compute: the same PyTorch work as a bare loop, with no helper layers around it.

`WorkRecorder` patches the helpers that do a panel's PyTorch work (wherever a module imported them)
and records the arguments of each outermost call. After the timed run, each recorded call is
replayed by its bare version below: the same model (a copy taken at call time), data, optimizer
and number of steps, or the same forward/backward passes, and nothing else (no History, no
evaluation passes, no statistics, no input checks). Model and data are built outside the timer.

A panel whose compute calls none of these helpers has no PyTorch work to replay (its results were
made at Run All, or it does a little numpy): its work floor is 0.
"""

import copy
import inspect
import math
import sys
import time

import torch
from torch import nn

import helpers.gradients
import helpers.init
import helpers.initialization
import helpers.probes
import helpers.regularization
import helpers.train
from helpers.train import data_loss, make_optimizer


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _bare_loop(model, opt, X, y, a: dict, penalty=None) -> float:
    """`a["steps"]` full updates on (X, y), stopping where the loss stops being finite (as the helpers do)."""
    started = time.perf_counter()
    model.train()
    for _ in range(a["steps"]):
        loss = data_loss(model(X if a.get("transform") is None else a["transform"](X)), y, a["loss"])
        if penalty is not None:
            loss = loss + penalty(model)
        if not torch.isfinite(loss):
            break
        opt.zero_grad()
        loss.backward()
        if a["clip_norm"] is not None:
            nn.utils.clip_grad_norm_(model.parameters(), a["clip_norm"])
        opt.step()
    return time.perf_counter() - started


def bare_train(a: dict, result=None) -> float:
    """helpers.train.train: `steps` updates (mini-batches of the first `batch_size` rows), penalty and clip included."""
    model, split = a["model"], a["split"]
    opt = make_optimizer(a["optimizer"], model.parameters(), a["lr"], a["weight_decay"], a["momentum"])
    X, y = split.X_train, split.y_train
    if a["batch_size"] is not None:
        X, y = X[: a["batch_size"]], y[: a["batch_size"]]
    return _bare_loop(model, opt, X, y, a, a["penalty"])


def bare_train_recording(a: dict, result=None) -> float:
    """helpers.gradients.train_recording: the same full-batch steps, without the per-layer update ratios."""
    model, split = a["model"], a["split"]
    if a["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a["lr"], eps=a["eps"])
    else:
        opt = make_optimizer(a["optimizer"], model.parameters(), a["lr"])
    return _bare_loop(model, opt, split.X_train, split.y_train, a)


def bare_decay_trajectories(a: dict, result=None) -> float:
    """helpers.regularization.decay_trajectories: two models in lockstep (L2 in the loss; decay in the step)."""
    reg = helpers.regularization
    lr = reg.DECAY_LR[a["optimizer"]] if a["lr"] is None else a["lr"]
    split, model_a = reg._decay_setup(a["seed"], a["width"])
    _, model_b = reg._decay_setup(a["seed"], a["width"])
    momentum = 0.9 if a["optimizer"] == "sgd_momentum" else 0.0

    def make(model):
        if a["optimizer"] == "adam":
            return torch.optim.Adam(model.parameters(), lr=lr)
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    opt_a, opt_b = make(model_a), make(model_b)
    weights_a = [p for p in model_a.parameters() if p.dim() >= 2]
    weights_b = [p for p in model_b.parameters() if p.dim() >= 2]
    X, y = split.X_train, split.y_train

    def loop():
        for _ in range(a["steps"]):
            loss = data_loss(model_a(X), y, "bce") + a["lam"] / 2 * sum((w * w).sum() for w in weights_a)
            opt_a.zero_grad()
            loss.backward()
            opt_a.step()
            loss = data_loss(model_b(X), y, "bce")
            opt_b.zero_grad()
            loss.backward()
            with torch.no_grad():
                torch._foreach_mul_(weights_b, 1 - lr * a["lam"])
            opt_b.step()

    return _timed(loop)


def bare_layer_statistics(a: dict, stats) -> float:
    """helpers.initialization.layer_statistics: the layers it ran (z = h W^T + b, h = phi(z)), then, if it did not
    stop early, the backward products g <- (g * phi'(z)) W. The same weight draws, made outside the timer."""
    init = helpers.initialization
    width, scheme = a["width"], a["scheme"]
    layers = stats.stopped_at or a["depth"]
    draws, biases, inputs, errors = init._random_draws(a["seed"])
    w_std = math.sqrt(helpers.init.weight_variance(scheme, width, width, std=a["std"], gain=a["gain"]))
    weights = [init._weight(draws, layer, width, scheme, w_std) for layer in range(layers)]
    bias = [init._bias(biases, layer, width, scheme, a["bias"]) for layer in range(layers)]
    h0 = a["input_mean"] + a["input_scale"] * inputs[:, :width]
    error = errors[:, :width]
    phi = {"linear": lambda z: z, "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[a["activation"]]
    slope = {"linear": lambda z, h: torch.ones_like(z), "tanh": lambda z, h: 1 - h * h, "relu": lambda z, h: z > 0,
             "sigmoid": lambda z, h: h * (1 - h)}[a["activation"]]

    def passes():
        with torch.inference_mode():
            h, slopes = h0, []
            for layer in range(layers):
                z = h @ weights[layer].T + bias[layer]
                h = phi(z)
                slopes.append(slope(z, h))
            if stats.stopped_at is None:
                g = error
                for layer in range(layers - 1, 0, -1):
                    g = (g * slopes[layer]) @ weights[layer]

    return _timed(passes)


def bare_gradients(a: dict, result=None) -> float:
    """helpers.probes.gradients: one float64 forward and backward pass."""
    model = copy.deepcopy(a["model"]).double()
    X, y = a["X"].double(), a["y"].double()

    def passes():
        out = model(X)
        out = out.squeeze(-1) if out.shape[-1] == 1 and y.dim() == 1 else out
        data_loss(out, y, a["loss"]).backward()

    return _timed(passes)


def bare_activations(a: dict, result=None) -> float:
    """helpers.probes.activations: one forward pass without gradients."""
    model, X = a["model"], a["X"]

    def passes():
        with torch.no_grad():
            model(X)

    return _timed(passes)


REPLAYS = {
    helpers.train.train: bare_train,
    helpers.gradients.train_recording: bare_train_recording,
    helpers.regularization.decay_trajectories: bare_decay_trajectories,
    helpers.initialization.layer_statistics: bare_layer_statistics,
    helpers.probes.gradients: bare_gradients,
    helpers.probes.activations: bare_activations,
}


class WorkRecorder:
    """Within `with`, every outermost call of a REPLAYS helper is recorded: its arguments (bound, models copied
    before the call changes them) and its result. A REPLAYS helper called inside another is not recorded again."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.patched: list[tuple] = []
        self.overhead = 0.0  # seconds spent recording (binding, copying models): subtract from the timed compute
        self._depth = 0

    def _wrap(self, original):
        signature = inspect.signature(original)

        def recording(*args, **kwargs):
            if self._depth == 0:
                started = time.perf_counter()
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                arguments = {k: copy.deepcopy(v) if isinstance(v, nn.Module) else v
                             for k, v in bound.arguments.items()}
                call = {"original": original, "arguments": arguments, "result": None}
                self.calls.append(call)
                self.overhead += time.perf_counter() - started
            else:
                call = None
            self._depth += 1
            try:
                result = original(*args, **kwargs)
            finally:
                self._depth -= 1
            if call is not None:
                call["result"] = result
            return result

        return recording

    def __enter__(self):
        wrappers = {id(original): (original, self._wrap(original)) for original in REPLAYS}
        for module in list(sys.modules.values()):
            for name, value in list(getattr(module, "__dict__", {}).items()):
                if id(value) in wrappers:
                    original, wrapper = wrappers[id(value)]
                    self.patched.append((module, name, original))
                    setattr(module, name, wrapper)
        return self

    def __exit__(self, *exc):
        for module, name, original in self.patched:
            setattr(module, name, original)

    def replay_seconds(self) -> float:
        """Seconds the recorded calls take as bare PyTorch (0 if the compute called none of them)."""
        return sum(REPLAYS[c["original"]](c["arguments"], c["result"]) for c in self.calls)
