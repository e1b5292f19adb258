"""Unit tests of helpers.overfitting_plots: every view draws a real result, labels its axes, and keeps log axes for
values that span more than a decade."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import capacity, digits, drill, overfitting_plots, plots, remedies  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def labelled(ax):
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_overview_is_log_only_where_the_curves_span_decades():
    overfit = remedies.train_moons(n_train=30, width=64, steps=200, seed=0).history
    flat = drill.run_setting("too_small", seed=0)
    fig = overfitting_plots.curves_overview(overfit, flat, flat)
    scales = [ax.get_yscale() for ax in fig.axes]
    assert scales == ["log", "linear", "linear"]
    assert np.max(flat.train_loss + flat.val_loss) / np.min(flat.train_loss + flat.val_loss) < 10
    assert all(labelled(ax) for ax in fig.axes)


def test_polynomial_view_draws_and_marks_an_impossible_degree():
    fig, axes = plots.figure(ncols=2)
    view = overfitting_plots.PolynomialView(axes)
    view.draw(capacity.polynomial_panel(3, 0.25, 20, 0), degree=3, noise=0.25, n_train=20)
    assert all(labelled(ax) for ax in axes) and "best validation at degree" in axes[1].get_title()
    view.draw(capacity.polynomial_panel(15, 0.25, 10, 0), degree=15, noise=0.25, n_train=10)
    assert any("lower the degree" in t.get_text() for t in axes[0].texts)


def test_width_view_names_the_lowest_width():
    fig, axes = plots.figure(ncols=3)
    result = capacity.explore_widths(width_index=3, n_train=40, epochs=200, seed=0)
    overfitting_plots.WidthView(axes).draw(result, width_index=3, n_train=40, epochs=200)
    fam = result[1]
    at = int(np.searchsorted(fam.steps, 200))
    best = capacity.WIDTHS[int(np.argmin(fam.val_loss[at]))]
    assert axes[2].get_title().endswith(f"width {best}") and all(labelled(ax) for ax in axes)


def test_remedies_view_adds_the_early_stopping_bar_only_with_patience():
    fig, axes = plots.figure(ncols=3)
    view = overfitting_plots.RemediesView(axes)
    view.draw(remedies.panel(25, 8, 0.0, 0, seed=1), n_train=25, width=8, jitter=0.0, patience=0)
    assert len(axes[2].patches) == 2
    view.draw(remedies.panel(25, 8, 0.0, 30, seed=1), n_train=25, width=8, jitter=0.0, patience=30)
    assert len(axes[2].patches) == 3 and all(labelled(ax) for ax in axes)


def test_image_grid_pairs_rows_and_rejects_bad_shapes():
    a, b = torch.full((6, 8, 8), 0.8), torch.full((6, 8, 8), 0.5)
    grid = overfitting_plots.image_grid(a, b, per_row=3)
    assert grid.shape == (4 * 8 + 3, 24)
    assert torch.all(grid[8] == 0)   # the blank (white) line between a row and its augmented copy
    assert torch.all(grid[9:17] == 0.5) and torch.all(grid[:8] == 0.8)
    with pytest.raises(ValueError):
        overfitting_plots.image_grid(a, b[:5])
    with pytest.raises(ValueError):
        overfitting_plots.image_grid(a, b, per_row=4)


def test_digits_view_tells_augmentations_apart_by_colour():
    table = digits.augmentation_table(sizes=(20, 30), sigma=0.2, seeds=(0, 1), steps=5)
    fig, axes = plots.figure(ncols=3)
    view = overfitting_plots.DigitsView(axes, table, (20, 30))
    view.draw(digits.panel_images("shift", 0.2), kind="shift", n_train=20)
    colours = [container.lines[0].get_color() for container in axes[2].containers]
    assert len(colours) == 3 and len(set(colours)) == 3          # not told apart by dash alone
    widths = [container.lines[0].get_linewidth() for container in axes[2].containers]
    assert widths[0] > max(widths[1:])                           # the selected one ("shift") stands out
    assert len(axes[1].patches) == len(digits.AUGMENTATIONS) and axes[0].images
    assert all(labelled(ax) for ax in axes[1:])
