import copy
import math

import pytest
import torch
from torch import nn

from helpers import models, probes


def test_mlp_shape_depth_and_dropout():
    m = models.mlp(3, [16, 8], 2, activation="tanh", dropout=0.5)
    layers = models.linear_layers(m)
    assert [(layer.in_features, layer.out_features) for layer in layers] == [(3, 16), (16, 8), (8, 2)]
    assert sum(isinstance(x, nn.Dropout) for x in m) == 2
    assert sum(isinstance(x, nn.Tanh) for x in m) == 2
    assert m(torch.zeros(5, 3)).shape == (5, 2)


def test_mlp_seed_fixes_weights_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = models.mlp(2, [8], init="he_normal", seed=7)
    after = torch.rand(1)
    b = models.mlp(2, [8], init="he_normal", seed=7)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_count_parameters():
    assert models.count_parameters(models.mlp(2, [8, 8], 1)) == 105


@pytest.mark.parametrize("kwargs, name", [
    ({"hidden": 8}, "hidden"), ({"hidden": [8], "activation": "gelu"}, "activation"),
    ({"hidden": [8], "dropout": 1.0}, "dropout"), ({"hidden": [0]}, "hidden width"),
    ({"hidden": [8], "init": "he"}, "init"),
])
def test_mlp_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        models.mlp(2, **kwargs)


def test_activations_pre_and_post_per_layer():
    m = models.mlp(4, [32, 32], 1, activation="relu", init="he_normal", seed=0)
    X = torch.randn(200, 4)
    acts = probes.activations(m, X)
    assert len(acts.pre) == 3 and len(acts.post) == 3
    assert torch.allclose(acts.post[0], torch.relu(acts.pre[0]))
    assert torch.equal(acts.post[-1], acts.pre[-1])  # the output has no activation
    assert torch.allclose(acts.pre[-1], m(X))


def test_statistics_on_known_values():
    values = [torch.tensor([[0.0, 1.0], [0.0, -1.0]])]
    assert probes.dead_fraction(values)[0] == 0.5
    assert probes.saturated_fraction(values, 0.97)[0] == 0.5
    assert probes.pooled_std(values)[0] == pytest.approx(torch.tensor([0.0, 1, 0, -1]).std().item())
    assert probes.std_across_samples([torch.tensor([[5.0], [5.0]])])[0] == 0.0


def test_gradients_match_autograd_for_a_one_layer_net():
    m = models.mlp(3, [], 1, activation="linear", init="he_normal", seed=0)
    X, y = torch.randn(10, 3), torch.randn(10)
    grads = probes.gradients(m, X, y, loss="mse")
    out = m(X).squeeze(-1)
    ((out - y) ** 2).mean().backward()
    assert grads.weight[0] == pytest.approx(m[0].weight.grad.norm().item(), rel=1e-5)
    expected_signal = (2 * (out - y) / 10).norm().item()
    assert grads.signal[0] == pytest.approx(expected_signal, rel=1e-5)


def test_gradients_do_not_underflow_in_deep_sigmoid_net():
    m = models.mlp(8, [32] * 30, 1, activation="sigmoid", init="xavier_normal", seed=0)
    grads = probes.gradients(m, torch.randn(64, 8), torch.randn(64))
    assert all(math.isfinite(math.log10(g)) for g in grads.signal)
    assert grads.signal[0] < 1e-6 * grads.signal[-1]


def test_gradients_keep_the_forward_pass_they_measured():
    model = models.mlp(8, [16, 16], 4, activation="tanh", seed=0)
    X, y = torch.randn(32, 8), torch.randn(32, 4)
    grads = probes.gradients(model, X, y)
    again = probes.activations(copy.deepcopy(model).double(), X.double())
    assert len(grads.forward.post) == len(again.post) == 3
    for mine, theirs in zip(grads.forward.post + grads.forward.pre, again.post + again.pre, strict=True):
        assert mine.dtype == torch.float64 and not mine.requires_grad
        assert torch.equal(mine, theirs)
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is left as it was
