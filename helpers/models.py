"""An MLP builder: input -> [Linear -> activation -> (Dropout)] x len(hidden) -> Linear.

Depth, in this course, is the number of weight matrices: `mlp(2, [64] * 9, 1)` has depth 10.
"""

import torch
from torch import nn

from helpers import init as init_schemes
from helpers._check import check_choice, check_float, check_int

ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def mlp(in_features: int, hidden: list[int], out_features: int = 1, activation: str = "relu",
        dropout: float = 0.0, init: str = "pytorch_default", gain: float = 1.0, std: float = 0.01,
        bias: bool = True, seed: int | None = 0) -> nn.Sequential:
    """Build a fully connected network and initialize every Linear layer with `init`.

    in_features -> hidden[0] -> ... -> hidden[-1] -> out_features, `activation` after every
    hidden layer (none after the last), and `nn.Dropout(dropout)` after each activation when
    dropout > 0 (p is the probability of *dropping* a unit, as in PyTorch).
    `init`, `gain` and `std` are passed to `helpers.init.init_linear_` (see `helpers.init.SCHEMES`).
    `seed` fixes the initial weights (None: use the global RNG).
    """
    check_int("in_features", in_features, 1)
    check_int("out_features", out_features, 1)
    if not isinstance(hidden, (list, tuple)):
        raise ValueError(f"hidden must be a list of layer widths, got {hidden!r}")
    for width in hidden:
        check_int("hidden width", width, 1)
    check_choice("activation", activation, ACTIVATIONS)
    check_float("dropout", dropout, 0.0, 1.0)
    if dropout >= 1.0:
        raise ValueError(f"dropout must be < 1 (the probability of dropping a unit), got {dropout!r}")
    check_choice("init", init, init_schemes.SCHEMES)
    if seed is not None:
        check_int("seed", seed, 0)

    generator_state = torch.random.get_rng_state()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        return _build(in_features, hidden, out_features, activation, dropout, init, gain, std, bias)
    finally:
        if seed is not None:
            torch.random.set_rng_state(generator_state)


def _build(in_features, hidden, out_features, activation, dropout, init, gain, std, bias):
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out, bias=bias), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(widths[-1], out_features, bias=bias))
    model = nn.Sequential(*layers)
    for layer in linear_layers(model):
        init_schemes.init_linear_(layer, init, std=std, gain=gain)
    return model


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's nn.Linear layers, first to last."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
