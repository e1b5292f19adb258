"""Unit tests of helpers.capacity: Legendre fits, the degree sweep, and the side-by-side width family."""

import numpy as np
import pytest
import torch

from helpers import capacity, models, train


def test_legendre_fit_recovers_a_polynomial_exactly():
    x = np.linspace(0, 1, 12)
    y = 3 * x**2 - x + 0.5
    coef = capacity.legendre_fit(x, y, 2)
    grid = np.linspace(0, 1, 50)
    assert np.allclose(capacity.legendre_predict(coef, grid), 3 * grid**2 - grid + 0.5, atol=1e-10)


def test_degree_n_minus_1_interpolates():
    d = capacity.regression_data(n_train=10, noise=0.3, seed=1)
    coef = capacity.legendre_fit(d.x_train, d.y_train, 9)
    assert np.allclose(capacity.legendre_predict(coef, d.x_train), d.y_train, atol=1e-8)


def test_sweep_training_error_never_rises():
    sweep = capacity.degree_sweep(capacity.regression_data(seed=3), degrees=range(19))
    assert np.all(np.diff(sweep.train_mse) <= 1e-12)
    assert sweep.best_degree == int(np.argmin(sweep.val_mse))


def test_regression_data_shapes_and_determinism():
    a, b = capacity.regression_data(seed=2), capacity.regression_data(seed=2)
    assert a.x_train.shape == (20,) and a.x_val.shape == (1000,)
    assert np.array_equal(a.y_train, b.y_train)
    assert np.allclose(a.x_train, np.linspace(0, 1, 20))


def test_raw_basis_is_worse_conditioned_than_legendre():
    x = np.linspace(0, 1, 20)
    raw, legendre = capacity.basis_condition(x, 16)
    assert raw > 1e10 and legendre < 1e3
    _, rank = capacity.raw_power_fit(x, np.sin(x), 18)
    assert rank < 19


@pytest.mark.parametrize("call, name", [
    (lambda: capacity.legendre_fit(np.zeros(5), np.zeros(5), 5), "degree"),
    (lambda: capacity.legendre_fit(np.zeros(5), np.zeros(5), -1), "degree"),
    (lambda: capacity.legendre_fit(np.zeros(5), np.zeros(4), 1), "x and y"),
    (lambda: capacity.regression_data(noise=-1.0), "noise"),
    (lambda: capacity.regression_data(n_train=1), "n_train"),
    (lambda: capacity.degree_sweep(capacity.regression_data(), degrees=[]), "degrees"),
    (lambda: capacity.moons_data(n_train=2), "n_train"),
    (lambda: capacity.train_width_family(capacity.moons_data(), widths=(0,)), "width"),
    (lambda: capacity.train_width_family(capacity.moons_data(), widths=()), "widths"),
    (lambda: capacity.train_width_family(capacity.moons_data(), steps=0), "steps"),
    (lambda: capacity.train_width_family(capacity.moons_data(), lr=0.0), "lr"),
    (lambda: capacity.train_width_family(capacity.moons_data(), steps=5, snapshot_steps=(6,)), "snapshot step"),
])
def test_bad_arguments_raise_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_width_family_equals_training_each_width_alone():
    torch.set_num_threads(1)
    split = capacity.moons_data(n_train=40, noise=0.3, seed=0)
    fam = capacity.train_width_family(split, widths=(2, 8, 16), steps=40, lr=1e-2, eval_every=10, seed=0,
                                      snapshot_steps=(20,))
    for i, width in enumerate((2, 8, 16)):
        model = models.mlp(2, [width, width], 1, seed=0)
        history = train.train(model, split, steps=40, lr=1e-2, eval_every=10)
        assert np.allclose(fam.train_loss[:, i], history.train_loss, atol=1e-5)
        assert np.allclose(fam.val_loss[:, i], history.val_loss, atol=1e-5)
        with torch.no_grad():
            assert torch.allclose(fam.models[i](split.X_val), model(split.X_val), atol=1e-4)
    short = capacity.train_width_family(split, widths=(2, 8, 16), steps=20, lr=1e-2, seed=0)
    with torch.no_grad():
        for a, b in zip(fam.snapshots[20], short.models, strict=True):
            assert torch.allclose(a(split.X_val), b(split.X_val), atol=1e-5)
    assert not fam.diverged


def test_polynomial_panel_sweeps_every_degree_below_the_point_count():
    reg, sweep = capacity.polynomial_panel(degree=3, noise=0.25, n_train=10, seed=0)
    assert len(reg.x_train) == 10 and list(sweep.degrees) == list(range(10))
    assert capacity.polynomial_panel(degree=3, noise=0.25, n_train=40, seed=0)[1].degrees[-1] == 18


def test_explorer_looks_up_the_cached_family_and_checks_its_arguments():
    torch.set_num_threads(1)
    split, fam, nets, upto = capacity.explore_widths(width_index=2, n_train=40, epochs=100, seed=0)
    assert capacity.width_family(40, 0)[1] is fam                     # cached: one run per (size, seed)
    assert len(nets) == len(capacity.WIDTHS) and fam.steps[upto][-1] == 100
    assert capacity.lowest_validation_width(fam, 400) == capacity.WIDTHS[int(np.argmin(fam.val_loss[-1]))]
    with pytest.raises(ValueError, match="epochs"):
        capacity.explore_widths(width_index=2, n_train=40, epochs=75, seed=0)
    with pytest.raises(ValueError, match="width_index"):
        capacity.explore_widths(width_index=7, n_train=40, epochs=100, seed=0)
    with pytest.raises(ValueError, match="no check"):
        capacity.lowest_validation_width(fam, 405)
