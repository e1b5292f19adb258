"""Per-layer probes: what the activations and the gradients look like inside a network.

Notation used across the course, for a network of depth L (L weight matrices):
    z_k = W_k h_{k-1} + b_k     the pre-activation of layer k   (h_0 = x, the input)
    h_k = phi(z_k)              the post-activation (h_L = z_L, the output, has no phi)
The "signal" at layer k is dL/dh_k, the gradient that backpropagation carries to layer k's output.
"""

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers.models import linear_layers


@dataclass
class Activations:
    """`pre[k]` is z_{k+1} and `post[k]` is h_{k+1}, each (n_samples, width), for k = 0..L-1."""

    pre: list[torch.Tensor]
    post: list[torch.Tensor]


def activations(model: nn.Sequential, X: torch.Tensor) -> Activations:
    """Run `model` on `X` (no grad, eval mode) and keep every layer's pre- and post-activation."""
    pre, post = _record(model, X, keep_graph=False)
    return Activations([z.detach() for z in pre], [h.detach() for h in post])


def pooled_std(values: list[torch.Tensor]) -> np.ndarray:
    """Std of each layer's values pooled over units and samples: one number per layer."""
    return np.array([v.double().std().item() for v in values])


def std_across_samples(values: list[torch.Tensor]) -> np.ndarray:
    """Per layer: the std of each unit across the samples, averaged over units (rms).

    Unlike `pooled_std` this ignores what is the same for every sample (a bias, a constant
    offset): it measures how much the layer's output still depends on the input.
    """
    return np.array([v.double().var(dim=0).mean().sqrt().item() for v in values])


def dead_fraction(values: list[torch.Tensor]) -> np.ndarray:
    """Per layer: fraction of units that are exactly 0 for *every* sample (dead ReLUs)."""
    return np.array([(v == 0).all(dim=0).double().mean().item() for v in values])


def saturated_fraction(values: list[torch.Tensor], threshold: float = 0.97) -> np.ndarray:
    """Per layer: fraction of values with |h| > threshold (for tanh: in its flat tails)."""
    return np.array([(v.abs() > threshold).double().mean().item() for v in values])


@dataclass
class Gradients:
    """Per layer k = 1..L (index k-1): ||dL/dh_k|| (the signal) and ||dL/dW_k|| (the weights' gradient).

    `forward` holds the same pass's activations (float64), so a caller needs no second forward pass.
    """

    signal: np.ndarray
    weight: np.ndarray
    forward: Activations


def gradients(model: nn.Sequential, X: torch.Tensor, y: torch.Tensor, loss: str = "mse") -> Gradients:
    """One forward and backward pass in float64 on a copy of `model`; Frobenius norms per layer.

    float64 because deep products of small factors underflow float32 (near 1e-38 for values,
    sooner for sums of squares) and log10 of 0 is -inf. `loss` is "mse" (y same shape as the
    output) or "bce" (binary cross-entropy on one logit, y in {0, 1}).
    """
    if loss not in ("mse", "bce"):
        raise ValueError(f"loss must be 'mse' or 'bce', got {loss!r}")
    model64 = copy.deepcopy(model).double().eval()
    X64 = X.double()
    pre, post = _record(model64, X64, keep_graph=True)
    out = post[-1].squeeze(-1) if post[-1].shape[-1] == 1 and y.dim() == 1 else post[-1]
    if loss == "mse":
        value = ((out - y.double()) ** 2).mean()
    else:
        value = nn.functional.binary_cross_entropy_with_logits(out, y.double())
    for h in post:
        h.retain_grad()
    model64.zero_grad()
    value.backward()
    signal = np.array([h.grad.norm().item() for h in post])
    weight = np.array([layer.weight.grad.norm().item() for layer in linear_layers(model64)])
    forward = Activations([z.detach() for z in pre], [h.detach() for h in post])
    return Gradients(signal=signal, weight=weight, forward=forward)


def _record(model, X, keep_graph):
    """Forward pass that returns (pre, post) lists, one entry per Linear layer."""
    layers = linear_layers(model)
    if not layers:
        raise ValueError("model has no nn.Linear layer to probe")
    pre: list[torch.Tensor] = []
    post: list[torch.Tensor] = []
    layer_ids = {id(layer) for layer in layers}
    hooks = []

    def after_linear(module, inputs, output):
        pre.append(output)
        post.append(output)  # replaced by the activation's output if one follows

    def after_activation(module, inputs, output):
        if len(post) == len(pre) and pre and post[-1] is pre[-1]:
            post[-1] = output

    for module in model.modules():
        if id(module) in layer_ids:
            hooks.append(module.register_forward_hook(after_linear))
        elif isinstance(module, (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity)):
            hooks.append(module.register_forward_hook(after_activation))
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(keep_graph):
            model(X)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return pre, post
