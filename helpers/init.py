"""Initialization schemes, each written from its formula.

A weight of `nn.Linear(n_in, n_out)` is stored with shape (n_out, n_in), so
fan_in = weight.shape[1] and fan_out = weight.shape[0]. Every scheme here draws the weights
with zero mean and a variance set by the fans:

    scheme            Var(w)                   designed for
    LeCun             1 / fan_in               linear / SELU           (LeCun et al. 1998)
    Xavier (Glorot)   2 / (fan_in + fan_out)   tanh                    (Glorot & Bengio 2010)
    He (Kaiming)      2 / fan_in               ReLU                    (He et al. 2015)
    PyTorch default   1 / (3 fan_in)           (nn.Linear's default; not He)

`gain` multiplies the standard deviation, as in `torch.nn.init` (std = gain * sqrt(Var)).
tests/test_init.py compares each function with `torch.nn.init` on a 64 -> 512 layer.
"""

import math

import torch
from torch import nn

from helpers._check import check_choice, check_float

SCHEMES = ["zeros", "constant", "normal", "lecun_normal", "xavier_normal", "xavier_uniform",
           "he_normal", "he_uniform", "pytorch_default"]


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a 2-D weight stored as (out_features, in_features)."""
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    return weight.shape[1], weight.shape[0]


def zeros_(weight: torch.Tensor) -> torch.Tensor:
    """Fill with 0. Every unit then computes the same thing: the symmetry is never broken."""
    with torch.no_grad():
        return weight.zero_()


def constant_(weight: torch.Tensor, value: float) -> torch.Tensor:
    """Fill with `value`. Like zeros, every hidden unit of a layer stays identical to the others."""
    check_float("value", value)
    with torch.no_grad():
        return weight.fill_(value)


def normal_(weight: torch.Tensor, std: float) -> torch.Tensor:
    """Fill from N(0, std^2), a fixed std whatever the layer's size (the naive choice)."""
    check_float("std", std, 0.0)
    with torch.no_grad():
        return weight.normal_(0.0, std)


def lecun_normal_(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fill from N(0, std^2) with std = gain / sqrt(fan_in).

    LeCun, Bottou, Orr & Mueller, "Efficient BackProp" (1998). For a linear layer
    Var(y) = fan_in * Var(w) * E[x^2], so Var(w) = 1 / fan_in keeps the second moment unchanged.
    """
    fan_in, _ = fans(weight)
    return normal_(weight, _gain(gain) / math.sqrt(fan_in))


def xavier_normal_(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fill from N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
    networks" (2010). Forward needs Var(w) = 1/fan_in, backward 1/fan_out; the harmonic
    compromise 2/(fan_in + fan_out) balances both. Derived for tanh, which is nearly the
    identity near 0; gain 5/3 (`calculate_gain('tanh')`) makes up for tanh's slope below 1.
    """
    fan_in, fan_out = fans(weight)
    return normal_(weight, _gain(gain) * math.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform_(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fill from U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Glorot & Bengio (2010). U(-a, a) has variance a^2 / 3, so this is Var(w) = 2 / (fan_in + fan_out).
    """
    fan_in, fan_out = fans(weight)
    bound = _gain(gain) * math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def he_normal_(weight: torch.Tensor, gain: float = math.sqrt(2.0)) -> torch.Tensor:
    """Fill from N(0, std^2) with std = gain / sqrt(fan_in), gain = sqrt(2) for ReLU.

    He, Zhang, Ren & Sun, "Delving Deep into Rectifiers" (2015). A ReLU zeroes half of a
    zero-mean symmetric input, halving its second moment E[x^2]; Var(w) = 2 / fan_in gives that
    half back. Also known as Kaiming init (`torch.nn.init.kaiming_normal_`).
    """
    fan_in, _ = fans(weight)
    return normal_(weight, _gain(gain) / math.sqrt(fan_in))


def he_uniform_(weight: torch.Tensor, gain: float = math.sqrt(2.0)) -> torch.Tensor:
    """Fill from U(-a, a) with a = gain * sqrt(3 / fan_in), i.e. Var(w) = gain^2 / fan_in.

    He et al. (2015), uniform form (`torch.nn.init.kaiming_uniform_`).
    """
    fan_in, _ = fans(weight)
    bound = _gain(gain) * math.sqrt(3.0 / fan_in)
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def pytorch_default_(layer: nn.Linear) -> nn.Linear:
    """Reproduce what `nn.Linear.__init__` does (PyTorch 2.x `reset_parameters`).

    weight: `kaiming_uniform_(a=sqrt(5))`, which works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    so Var(w) = 1 / (3 fan_in): a third of LeCun's and a sixth of He's, not He init.
    bias:   U(-1/sqrt(fan_in), 1/sqrt(fan_in)), not zero.
    """
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    fan_in, _ = fans(layer.weight)
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound)
    return layer


def weight_variance(scheme: str, fan_in: int, fan_out: int, std: float = 0.01, gain: float = 1.0) -> float:
    """Var(w) that `scheme` gives a (fan_out, fan_in) weight: the table at the top of this module.

    For "normal" it is std^2; for "zeros" and "constant" it is 0. `gain` multiplies the std
    (He's default sqrt(2) is already in its formula: gain=1 means plain He).
    """
    check_choice("scheme", scheme, SCHEMES)
    base = {
        "zeros": 0.0,
        "constant": 0.0,
        "normal": std**2,
        "lecun_normal": 1.0 / fan_in,
        "xavier_normal": 2.0 / (fan_in + fan_out),
        "xavier_uniform": 2.0 / (fan_in + fan_out),
        "he_normal": 2.0 / fan_in,
        "he_uniform": 2.0 / fan_in,
        "pytorch_default": 1.0 / (3 * fan_in),
    }[scheme]
    return base * gain**2


def init_linear_(layer: nn.Linear, scheme: str, std: float = 0.01, gain: float = 1.0,
                 value: float = 0.1, bias: float = 0.0) -> nn.Linear:
    """Initialize one `nn.Linear` with `scheme` (one of `SCHEMES`).

    `gain` multiplies the scheme's std (gain=1: the scheme as published; He's sqrt(2) is
    included). `std` is used by "normal", `value` by "constant" (weights and bias both).
    Biases are set to the constant `bias` (0 by default, as the derivations assume), except
    for "pytorch_default", which keeps PyTorch's own uniform bias.
    """
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    check_choice("scheme", scheme, SCHEMES)
    check_float("gain", gain, 0.0)
    check_float("bias", bias)
    w = layer.weight
    if scheme == "pytorch_default":
        pytorch_default_(layer)
        with torch.no_grad():
            w.mul_(gain)
        return layer
    if scheme == "zeros":
        zeros_(w)
    elif scheme == "constant":
        constant_(w, value)
        bias = value
    elif scheme == "normal":
        normal_(w, std * gain)
    else:
        std_w = math.sqrt(weight_variance(scheme, *fans(w), gain=gain))
        if scheme.endswith("uniform"):
            with torch.no_grad():
                w.uniform_(-math.sqrt(3) * std_w, math.sqrt(3) * std_w)
        else:
            normal_(w, std_w)
    if layer.bias is not None:
        with torch.no_grad():
            layer.bias.fill_(bias)
    return layer


def _gain(gain):
    return check_float("gain", gain, 0.0)
