"""The course's init schemes, proven against torch.nn.init and against their formulas.

Layers are 64 -> 512 (weight stored 512 x 64): a square layer would hide a fan_in/fan_out swap.
"""

import math

import pytest
import torch
from torch import nn

from helpers import init

FAN_IN, FAN_OUT = 64, 512


def _weight():
    return torch.empty(FAN_OUT, FAN_IN)


def _same_draw(ours, theirs):
    """Run both fill functions from the same RNG state; they must give the same numbers."""
    torch.manual_seed(0)
    a = ours(_weight())
    torch.manual_seed(0)
    b = theirs(_weight())
    return torch.allclose(a, b, atol=1e-6)


def test_fans_read_out_by_in():
    assert init.fans(_weight()) == (FAN_IN, FAN_OUT)


def test_xavier_matches_torch():
    assert _same_draw(init.xavier_normal_, nn.init.xavier_normal_)
    assert _same_draw(init.xavier_uniform_, nn.init.xavier_uniform_)
    assert _same_draw(lambda w: init.xavier_normal_(w, gain=5 / 3), lambda w: nn.init.xavier_normal_(w, gain=5 / 3))


def test_he_matches_torch_kaiming_fan_in_relu():
    assert _same_draw(init.he_normal_, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"))
    assert _same_draw(init.he_uniform_, lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"))


def test_lecun_matches_kaiming_linear():
    assert _same_draw(init.lecun_normal_, lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"))


def test_pytorch_default_matches_nn_linear_reset_parameters():
    torch.manual_seed(0)
    reference = nn.Linear(FAN_IN, FAN_OUT)
    torch.manual_seed(0)
    ours = nn.Linear(FAN_IN, FAN_OUT)  # consume the same RNG as the reference's construction
    torch.manual_seed(0)
    init.pytorch_default_(ours)
    assert torch.allclose(ours.weight, reference.weight) and torch.allclose(ours.bias, reference.bias)


@pytest.mark.parametrize("scheme", [s for s in init.SCHEMES if s not in ("zeros", "constant")])
def test_measured_variance_matches_formula(scheme):
    torch.manual_seed(1)
    layer = init.init_linear_(nn.Linear(FAN_IN, FAN_OUT), scheme, std=0.05)
    expected = init.weight_variance(scheme, FAN_IN, FAN_OUT, std=0.05)
    # 32768 draws: the sample variance is within about 2% (4 standard errors) of the truth.
    assert layer.weight.var().item() == pytest.approx(expected, rel=0.04)
    assert abs(layer.weight.mean().item()) < 4 * math.sqrt(expected / layer.weight.numel())


def test_pytorch_default_is_a_sixth_of_he():
    he = init.weight_variance("he_normal", 256, 256)
    assert init.weight_variance("pytorch_default", 256, 256) == pytest.approx(he / 6)


def test_biases_zero_except_pytorch_default_and_constant():
    torch.manual_seed(0)
    assert init.init_linear_(nn.Linear(8, 4), "he_normal").bias.abs().sum() == 0
    assert init.init_linear_(nn.Linear(8, 4), "pytorch_default").bias.abs().sum() > 0
    assert torch.all(init.init_linear_(nn.Linear(8, 4), "constant", value=0.3).bias == 0.3)
    assert torch.all(init.init_linear_(nn.Linear(8, 4), "zeros").weight == 0)


def test_gain_multiplies_std():
    torch.manual_seed(0)
    a = init.init_linear_(nn.Linear(FAN_IN, FAN_OUT), "he_normal", gain=2.0).weight.std().item()
    assert a == pytest.approx(2 * math.sqrt(2 / FAN_IN), rel=0.03)


@pytest.mark.parametrize("call, name", [
    (lambda: init.init_linear_(nn.Linear(2, 2), "glorot"), "scheme"),
    (lambda: init.init_linear_(nn.Conv1d(2, 2, 1), "he_normal"), "layer"),
    (lambda: init.normal_(_weight(), std=-1.0), "std"),
    (lambda: init.he_normal_(torch.empty(3)), "weight"),
    (lambda: init.xavier_normal_(_weight(), gain=float("nan")), "gain"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()
