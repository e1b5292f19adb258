"""Pin: the pinned setting's curves stay as ghosts while the controls move; unpin, reset and a second pin clear them.

Checked on a fake panel that draws every kind of artist a lesson uses (lines, reference lines, a contour line,
stairs, bars, an axes cleared with `ax.clear()`), and on one real panel per lesson, built from the lesson's own
compute and draw functions with small settings.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import data, models, plots, train, widgets
from helpers.plots import GHOST_GID


def ghosts(fig) -> list:
    return [line for ax in fig.axes for line in ax.lines if line.get_gid() == GHOST_GID]


def ghost_labels(fig) -> list[str]:
    return [t.get_text() for t in fig.texts if t.get_gid() == GHOST_GID]


def drawn_lines(fig) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(axes index, x, y) of every visible, non-empty data line the draw function made."""
    out = []
    for i, ax in enumerate(fig.axes):
        for line in ax.lines:
            if line.get_gid() != GHOST_GID and line.get_visible():
                x = np.asarray(line.get_xdata(), dtype=float).ravel()
                y = np.asarray(line.get_ydata(), dtype=float).ravel()
                if x.size:
                    out.append((i, x, y))
    return out


def has_ghost_of(fig, index: int, x: np.ndarray, y: np.ndarray) -> bool:
    ax = fig.axes[index]
    return any(np.array_equal(g.get_xdata(), x, equal_nan=True) and np.array_equal(g.get_ydata(), y, equal_nan=True)
               for g in ax.lines if g.get_gid() == GHOST_GID)


def check_pin_cycle(panel: widgets.LivePanel, move: dict) -> None:
    """Pin, move: the ghost is the pinned setting's lines. New seed keeps it, pin again replaces it,
    unpin and reset clear it."""
    fig = panel.fig
    pinned_values = panel.values
    before = drawn_lines(fig)
    panel.pin_button.value = True  # what a click does
    assert panel.pinned is not None and panel.pinned["values"] == pinned_values
    assert panel.pinned["result"] is panel.last_result
    assert panel.pin_button.description == "unpin"
    assert "pinned" in panel.status.value and panel.pinned["label"] in panel.status.value.replace("&middot;", "·")
    assert len(ghost_labels(fig)) == 1 and panel.pinned["label"] in ghost_labels(fig)[0]
    n_ghosts = len(ghosts(fig))
    assert n_ghosts >= len(before)

    panel.set(**move)
    assert panel.error.value == "", panel.error.value
    assert len(ghosts(fig)) == n_ghosts, "a redraw lost or duplicated ghosts"
    for index, x, y in before:
        assert has_ghost_of(fig, index, x, y), f"no ghost of a line on axes {index} after the move"
    assert "pinned" in panel.status.value
    fig.canvas.draw()  # the ghosts render

    if panel.seed is not None:
        panel.set_seed(panel.seed + 1)
        assert len(ghosts(fig)) == n_ghosts and panel.pinned["values"] == pinned_values

    moved_lines = drawn_lines(fig)
    panel.pin()  # a second pin replaces the first: one pinned setting at a time
    assert panel.pinned["values"] == panel.values
    assert len(ghost_labels(fig)) == 1
    for index, x, y in moved_lines:
        assert has_ghost_of(fig, index, x, y)
    assert not any(has_ghost_of(fig, index, x, y) for index, x, y in before
                   if not any(i == index and np.array_equal(x, mx, equal_nan=True) and
                              np.array_equal(y, my, equal_nan=True) for i, mx, my in moved_lines))

    panel.pin_button.value = False  # unpin
    assert panel.pinned is None and ghosts(fig) == [] and ghost_labels(fig) == []
    assert panel.pin_button.description == "pin" and "pinned" not in panel.status.value

    panel.pin()
    panel.reset()
    assert panel.pinned is None and ghosts(fig) == [] and ghost_labels(fig) == []
    assert panel.pin_button.value is False
    assert panel.values == panel.defaults
    plt.close(fig)


# ---------------------------------------------------------------- a fake panel with every kind of artist


def fake_panel(code=None) -> widgets.LivePanel:
    fig, (ax_curve, ax_map, ax_bars) = plots.figure(ncols=3)
    grid = np.linspace(-1, 1, 30)
    gx, gy = np.meshgrid(grid, grid)

    def compute(k, seed):
        return {"curve": np.arange(12) * k + seed, "field": gx * k + gy + 0.1 * seed, "counts": np.arange(4) + k}

    def draw(result, k):
        plots.clear_artists(ax_curve)
        ax_curve.plot(result["curve"], color=plots.COLORS["train"], label="curve")
        ax_curve.plot([0, 11], [0, 20], "o", color=plots.COLORS["val"])  # points only
        ax_curve.axhline(5, color=plots.COLORS["theory"], linestyle="--")
        ax_curve.legend()
        plots.clear_artists(ax_map)
        ax_map.contourf(gx, gy, result["field"], levels=5)
        ax_map.contour(gx, gy, result["field"], levels=[0.5], colors="black")
        ax_bars.clear()  # the unusual way: the panel puts the ghost back
        ax_bars.bar(range(4), result["counts"], color=plots.COLORS["test"])
        ax_bars.stairs(result["counts"], np.arange(5), color=plots.COLORS["penalty"])
        for ax in (ax_curve, ax_map, ax_bars):
            ax.set_xlabel("x")
            ax.set_ylabel("y")

    return widgets.LivePanel(compute, draw, fig, {"k": widgets.int_slider("k", 1, 5, 1, 2)}, code=code)


def test_pin_keeps_every_kind_of_ghost_through_moves():
    panel = fake_panel()
    fig = panel.fig
    ax_curve, ax_map, ax_bars = fig.axes
    panel.pin()
    curve_ghosts = [g for g in ax_curve.lines if g.get_gid() == GHOST_GID]
    assert len(curve_ghosts) == 3  # the curve, the points, the reference line
    assert all(g.get_alpha() == plots.GHOST_ALPHA and g.get_label().startswith("_") for g in curve_ghosts)
    assert sorted(g.get_linestyle() for g in curve_ghosts) == ["-", "--", "None"]  # each keeps its own style
    ghost_of_curve = next(g for g in curve_ghosts if len(g.get_xdata()) == 12)
    assert np.array_equal(ghost_of_curve.get_ydata(), np.arange(12) * 2)
    assert ghost_of_curve.get_zorder() < ax_curve.lines[0].get_zorder()
    assert all(t.get_text() != "" for t in ax_curve.get_legend().get_texts())
    assert len(ax_curve.get_legend().get_texts()) == 1  # the ghost is not in the legend
    contour_ghost = [g for g in ax_map.lines if g.get_gid() == GHOST_GID]
    assert len(contour_ghost) == 1 and np.isfinite(contour_ghost[0].get_xdata()).sum() > 10
    bar_ghosts = [g for g in ax_bars.lines if g.get_gid() == GHOST_GID]
    assert len(bar_ghosts) == 2  # the bars' outline and the stairs
    heights = sorted({y for g in bar_ghosts for y in g.get_ydata() if np.isfinite(y)})
    assert heights[-1] == 5  # counts 2..5 at k = 2
    before = [(g.axes, g.get_xdata().copy(), g.get_ydata().copy()) for g in ghosts(fig)]

    panel.set(k=4)
    after = ghosts(fig)
    assert len(after) == len(before)
    for ax, x, y in before:
        assert any(g.axes is ax and np.array_equal(g.get_xdata(), x, equal_nan=True)
                   and np.array_equal(g.get_ydata(), y, equal_nan=True) for g in after)
    live = [line for line in ax_curve.lines if line.get_gid() != GHOST_GID]
    assert np.array_equal(live[0].get_ydata(), np.arange(12) * 4)  # the live curve moved on
    plt.close(fig)


def test_pin_cycle_on_fake_panel():
    check_pin_cycle(fake_panel(), {"k": 5})


def test_pinning_does_not_move_the_view():
    panel = fake_panel()
    ax = panel.fig.axes[0]
    panel.fig.canvas.draw()
    limits = ax.get_xlim(), ax.get_ylim()
    panel.pin()
    panel.fig.canvas.draw()
    assert (ax.get_xlim(), ax.get_ylim()) == limits
    plt.close(panel.fig)


def test_clear_artists_keeps_ghosts_and_remove_ghosts_drops_them():
    fig, ax = plots.figure(ncols=1)
    ax.plot([0, 1], [1, 2])
    plots.pin_ghosts(fig, "a=1")
    plots.clear_artists(ax)
    assert len(ghosts(fig)) == 1 and len(ax.lines) == 1
    plots.remove_ghosts(fig)
    assert ax.lines == [] or list(ax.lines) == [] and ghost_labels(fig) == []
    with pytest.raises(ValueError, match="label"):
        plots.pin_ghosts(fig, 3)
    plt.close(fig)


def test_settings_label():
    label = widgets.settings_label({"width": 8, "lr": 0.0123456, "init": "he"}, 2)
    assert label == "width=8, lr=0.0123, init=he, seed 2"
    assert widgets.settings_label({"p": 0.5}) == "p=0.5"


# ---------------------------------------------------------------- the code button


def test_code_button_shows_the_current_settings_script_and_follows_moves():
    panel = fake_panel(code=lambda k, seed: f"print('k = {k}')\nprint('seed = {seed}')\n")
    assert panel.code_button is not None and "course-panel-code" in panel.code_button._dom_classes
    assert "course-panel-code-text" in panel.code_text._dom_classes
    assert panel.code_text.layout.display == "none"
    panel.code_button.value = True
    assert panel.code_text.layout.display is None
    assert panel.code_text.value == "print('k = 2')\nprint('seed = 0')\n"
    panel.set(k=3)
    panel.set_seed(4)
    assert panel.code_text.value == "print('k = 3')\nprint('seed = 4')\n"
    panel.code_text.value = "edited"  # read-only: the edit is undone
    assert panel.code_text.value == "print('k = 3')\nprint('seed = 4')\n"
    plt.close(panel.fig)


def test_code_argument_is_checked_and_optional():
    with pytest.raises(ValueError, match="code must be a callable"):
        fake_panel(code="print(1)")
    panel = fake_panel()
    assert panel.code_button is None and panel.code_text is None
    with pytest.raises(ValueError, match="no code"):
        panel.code_text_value  # noqa: B018
    plt.close(panel.fig)


def test_code_errors_show_in_the_error_area():
    def broken(k, seed):
        if k == 3:
            raise RuntimeError("no script for k = 3")
        return "print('k = 1')"

    panel = fake_panel(code=broken)
    panel.code_button.value = True
    assert panel.error.value == ""
    panel.set(k=3)
    assert "no script for k = 3" in panel.error.value and "error" in panel.status.value
    panel.set(k=4)
    assert panel.error.value == ""
    plt.close(panel.fig)


# ---------------------------------------------------------------- one real panel per lesson, small settings


def lesson0_panel():
    fig, (ax_boundary, ax_loss) = plots.figure(ncols=2)

    def compute(width, seed):
        split = data.moons_split(n=80, seed=seed)
        model = models.mlp(2, [width], seed=seed)
        return model, split, train.train(model, split, steps=20, seed=seed)

    def draw(result, width):
        model, split, history = result
        plots.decision_boundary(ax_boundary, model, split.X_train, split.y_train, resolution=30)
        plots.loss_curves(ax_loss, history, log=False)
        ax_loss.axhline(math.log(2), color=plots.COLORS["theory"], linestyle="--")

    return widgets.LivePanel(compute, draw, fig, {"width": widgets.int_slider("width", 2, 16, 2, 4)}), {"width": 8}


def lesson1_panel():
    from helpers import initialization_plots

    return initialization_plots.explorer_panel(depth=4, width=32), {"depth": 6}


def lesson2_panel():
    from helpers import gradients, gradients_plots

    fig, (ax_grad, ax_std) = plots.figure(ncols=2)

    def compute(depth, seed):
        return gradients.flow(depth=depth, width=32, seed=seed)

    def draw(result, depth):
        gradients_plots.draw_flow(ax_grad, ax_std, result, "he_normal", title=f"depth {depth}")

    return widgets.LivePanel(compute, draw, fig, {"depth": widgets.int_slider("depth", 2, 10, 1, 4)}), {"depth": 7}


def lesson3_panel():
    from helpers import capacity, overfitting_plots

    fig, axes = plots.figure(ncols=2)
    controls = {"degree": widgets.int_slider("degree", 0, 9, 1, 3),
                "noise": widgets.float_slider("noise", 0, 1, 0.05, 0.25),
                "n_train": widgets.int_slider("n", 10, 30, 5, 20)}
    return (widgets.LivePanel(capacity.polynomial_panel, overfitting_plots.PolynomialView(axes).draw, fig, controls),
            {"degree": 6})


def lesson4_panel():
    from helpers import regularization, regularization_plots

    fig, axes = plots.figure(ncols=2, width=9, height=4.9)
    controls = {"radius": widgets.float_slider("t", 0.2, 2.6, 0.1, 0.8, readout_format=".1f")}
    return (widgets.LivePanel(regularization.geometry, regularization_plots.GeometryView(fig, axes), fig, controls,
                              seed=None), {"radius": 1.5})


def lesson5_panel():
    from helpers import dropout_plots

    def mechanism(p, seed):
        g = torch.Generator().manual_seed(seed)
        h = torch.relu(torch.randn(8, 16, generator=g) + 0.5)
        keep = lambda shape: (torch.rand(shape, generator=g) >= p).float()  # noqa: E731
        mask = keep(h.shape)
        return h, mask, h * mask / (1 - p), (h * keep((200, 8, 16)) / (1 - p)).mean(0)

    fig, axes = plots.figure(ncols=3, width=10, height=3.3)
    view = dropout_plots.MechanismView(axes, n_average=200)
    controls = {"p": widgets.float_slider("p", 0.0, 0.9, 0.05, 0.5)}
    return widgets.LivePanel(mechanism, lambda result, p: view.draw(*result, p=p), fig, controls), {"p": 0.2}


@pytest.mark.parametrize("build", [lesson0_panel, lesson1_panel, lesson2_panel, lesson3_panel, lesson4_panel,
                                   lesson5_panel], ids=lambda f: f.__name__)
def test_pin_cycle_on_real_panels(build):
    panel, move = build()
    check_pin_cycle(panel, move)
