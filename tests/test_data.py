import math

import pytest
import torch

from helpers import data


@pytest.mark.parametrize("make", [data.moons, data.circles, data.spirals])
def test_classification_sets_are_seeded_balanced_and_binary(make):
    X1, y1 = make(101, seed=3)
    X2, y2 = make(101, seed=3)
    X3, _ = make(101, seed=4)
    assert X1.shape == (101, 2) and y1.shape == (101,)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert not torch.equal(X1, X3)
    assert set(y1.tolist()) == {0.0, 1.0}
    assert abs(y1.sum().item() - 50.5) <= 1


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = data.moons(200, noise=0.0, seed=0)
    upper = X[y == 0]
    lower = X[y == 1]
    assert torch.allclose(upper.norm(dim=1), torch.ones(len(upper)), atol=1e-5)
    assert torch.allclose((lower - torch.tensor([1.0, 0.5])).norm(dim=1), torch.ones(len(lower)), atol=1e-5)


def test_flip_flips_that_fraction_of_labels():
    _, clean = data.moons(200, seed=1)
    _, noisy = data.moons(200, seed=1, flip=0.1)
    assert (clean != noisy).sum().item() == 20


def test_regression_follows_sine_and_spacings():
    x, y = data.regression_1d(50, noise=0.0, seed=0)
    assert x.shape == (50, 1)
    assert torch.allclose(y, torch.sin(2 * math.pi * x[:, 0]), atol=1e-6)
    xb, _ = data.regression_1d(10, seed=0, x_spacing="binned")
    bins = (xb[:, 0] * 10).floor().long()
    assert sorted(bins.tolist()) == list(range(10))


def test_split_and_standardize_use_training_statistics():
    X, y = data.moons(100, seed=0)
    split = data.train_val_split(X, y, val_fraction=0.3, seed=0)
    assert len(split.X_val) == 30 and len(split.X_train) == 70
    s = data.standardize(split)
    assert torch.allclose(s.X_train.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(s.X_train.std(0), torch.ones(2), atol=1e-5)
    assert not torch.allclose(s.X_val.mean(0), torch.zeros(2), atol=1e-5)


@pytest.mark.parametrize("call, name", [
    (lambda: data.moons(1), "n"), (lambda: data.moons(10, noise=-1), "noise"),
    (lambda: data.moons(10, seed=-1), "seed"), (lambda: data.moons(10, seed=1.5), "seed"),
    (lambda: data.moons(10, flip=0.9), "flip"), (lambda: data.circles(10, factor=0), "factor"),
    (lambda: data.regression_1d(10, x_spacing="log"), "x_spacing"),
    (lambda: data.train_val_split(torch.zeros(10, 2), torch.zeros(10), val_fraction=1.0), "val_fraction"),
    (lambda: data.train_val_split(torch.zeros(10, 2), torch.zeros(9)), "same number of rows"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_moons_split_is_standardized_and_seeded():
    a = data.moons_split(100, seed=2)
    b = data.moons_split(100, seed=2)
    assert len(a.X_train) == 50 and len(a.X_val) == 50
    assert torch.equal(a.X_train, b.X_train)
    assert torch.allclose(a.X_train.mean(0), torch.zeros(2), atol=1e-5)
