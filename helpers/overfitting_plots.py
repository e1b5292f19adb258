"""Lesson 3's figures: one static overview and four live views, each drawn from computed results.

- `curves_overview`  the three diagnoses side by side: overfit, underfit (flat), underfit (still falling)
- `PolynomialView`   degree explorer: the fit and the train/validation "bathtub" against the degree
- `WidthView`        width explorer: boundary, this width's curves, and final loss against width
- `RemediesView`     remedies panel: curves with the early-stopping marks, boundary, validation loss bars
- `DigitsView`       augmentation on digits: what the network trains on, accuracy per augmentation, gain vs size

A view holds its axes; its `draw(result, **slider_values)` is the `draw` of a `helpers.widgets.LivePanel`.
Colours come from `helpers.plots`; a log axis is used only where the values span more than a decade.
"""

import numpy as np
import torch

from helpers import capacity, digits, plots
from helpers._check import check_int

AUGMENTATION_COLORS = {"none": plots.OKABE_ITO["black"], "shift": plots.OKABE_ITO["vermilion"],
                       "noise": plots.OKABE_ITO["sky_blue"], "shift+noise": plots.OKABE_ITO["green"]}
AUGMENTATION_MARKERS = {"none": "o", "shift": "s", "noise": "^", "shift+noise": "D"}


def curves_overview(overfit, flat, still_falling):
    """Three `train.History`s side by side. The overfit curves span three decades (log axis); the two underfit
    runs stay between about 0.3 and 0.7, less than a decade, so their axes are linear."""
    fig, axes = plots.figure(ncols=3, width=10, height=3.2)
    plots.loss_curves(axes[0], overfit, title="Overfit: validation turns up, train -> 0")
    plots.loss_curves(axes[1], flat, title="Underfit, flat: too little capacity", log=False)
    plots.loss_curves(axes[2], still_falling, title="Underfit, still falling: under-trained", log=False)
    return fig


class PolynomialView:
    """Left: the degree-d Legendre fit, the true sin(2 pi x) and the training points. Right: training and validation
    MSE against the degree on a fixed log axis (the values span eight decades), the current degree marked."""

    def __init__(self, axes):
        self.ax_fit, self.ax_u = axes
        self.x_grid = np.linspace(0, 1, 400)

    def draw(self, result, degree, noise, n_train):
        reg, sweep = result
        ax = self.ax_fit
        plots.clear_artists(ax)
        ax.plot(self.x_grid, np.sin(2 * np.pi * self.x_grid), "--", color=plots.COLORS["theory"], lw=1,
                label="true sin(2πx)")
        ax.scatter(reg.x_train, reg.y_train, color=plots.COLORS["train"], s=18, zorder=3, label="training points")
        if degree < n_train:
            coef = capacity.legendre_fit(reg.x_train, reg.y_train, degree)
            ax.plot(self.x_grid, capacity.legendre_predict(coef, self.x_grid), color=plots.OKABE_ITO["black"], lw=1.5,
                    label=f"degree {degree} fit")
        else:
            plots.mark_diverged(ax, f"degree {degree} needs more than\n{n_train} points: lower the degree")
        ax.set_ylim(-2.5, 2.5)
        ax.set(xlabel="x", ylabel="y", title=f"Degree {degree}: does the curve follow the sine or the noise?")
        ax.legend(loc="lower left")
        self._draw_bathtub(sweep, degree)

    def _draw_bathtub(self, sweep, degree):
        ax = self.ax_u
        plots.clear_artists(ax)
        ax.plot(sweep.degrees, sweep.train_mse + 1e-6, "o-", ms=3, color=plots.COLORS["train"], label="train")
        ax.plot(sweep.degrees, sweep.val_mse, "o-", ms=3, color=plots.COLORS["val"], label="validation")
        ax.axvline(degree, color=plots.COLORS["marker"], ls=":", label="current degree")
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1e4)  # the same scale for every setting (smaller training errors sit on the bottom edge)
        ax.set(xlabel="polynomial degree (capacity)", ylabel="mean squared error (log scale)",
               title=f"The bathtub: best validation at degree {sweep.best_degree}")
        ax.legend(loc="upper left")


class WidthView:
    """Left: the chosen width's boundary after `epochs` updates. Middle: its curves up to there. Right: training and
    validation loss of every width at `epochs` (widths on a log-2 axis: 1 to 64), the chosen width marked."""

    def __init__(self, axes, widths=capacity.WIDTHS, max_epochs: int = max(capacity.EXPLORER_EPOCHS)):
        self.ax_b, self.ax_c, self.ax_w = axes
        self.widths = tuple(check_int("width", w, 1) for w in widths)
        self.max_epochs = check_int("max_epochs", max_epochs, 1)

    def draw(self, result, width_index, n_train, epochs):
        split, fam, nets, upto = result
        i, w = width_index, self.widths[width_index]
        plots.decision_boundary(self.ax_b, nets[i], split.X_train, split.y_train, resolution=80,
                                title=f"Width {w}, {epochs} updates, {n_train} points:\nsmooth or contorted?")
        ax = self.ax_c
        plots.clear_artists(ax)
        ax.plot(fam.steps[upto], fam.train_loss[upto, i], color=plots.COLORS["train"], label="train")
        ax.plot(fam.steps[upto], fam.val_loss[upto, i], color=plots.COLORS["val"], label="validation")
        ax.set(xlabel="update step", ylabel="loss (BCE)", title="Does validation turn up?",
               xlim=(0, self.max_epochs))
        ax.legend(loc="upper right")
        at = int(np.searchsorted(fam.steps, epochs))
        ax = self.ax_w
        plots.clear_artists(ax)
        ax.plot(self.widths, fam.train_loss[at], "o-", ms=3, color=plots.COLORS["train"], label="train")
        ax.plot(self.widths, fam.val_loss[at], "o-", ms=3, color=plots.COLORS["val"], label="validation")
        ax.axvline(w, color=plots.COLORS["marker"], ls=":", label="current width")
        ax.set_xscale("log", base=2)
        best = self.widths[int(np.argmin(fam.val_loss[at]))]
        ax.set(xlabel="hidden width w (log-2 scale)", ylabel=f"loss after {epochs} updates (BCE)",
               title=f"Lowest validation at width {best}")
        ax.legend(loc="upper right")


class RemediesView:
    """Left: the run's curves (log axis, 1e-4 to 10) with the check early stopping restores (dotted) and where it
    stops (dashed). Middle: the boundary after the last update. Right: validation loss of the plain setup, of this
    setting, and of the restored weights."""

    def __init__(self, axes):
        self.ax_c, self.ax_b, self.ax_v = axes

    def draw(self, result, n_train, width, jitter, patience):
        run, best, stop, base = result
        h = run.history
        title = f"n={n_train}, width {width}, jitter {jitter:.1f}: gap {h.final_gap:+.2f}"
        plots.loss_curves(self.ax_c, h, title=title, mark_best=False)
        self.ax_c.set_ylim(1e-4, 10)  # the same scale for every setting
        labels, values = ["plain\nsetup", "your\nsetting"], [base.history.val_loss[-1], h.val_loss[-1]]
        if stop is not None:
            black = plots.OKABE_ITO["black"]
            self.ax_c.axvline(h.step[best], color=black, ls=":", lw=1, label=f"restored (update {h.step[best]})")
            self.ax_c.axvline(h.step[stop], color=black, ls="--", lw=1, label=f"stop (patience {patience})")
            self.ax_c.legend(loc="best")
            labels.append(f"early stop\n(update {h.step[best]})")
            values.append(h.val_loss[best])
        plots.decision_boundary(self.ax_b, run.model, run.split.X_train, run.split.y_train, resolution=60,
                                title=f"Boundary after {h.step[-1]} updates")
        self._draw_bars(labels, values)

    def _draw_bars(self, labels, values):
        ax = self.ax_v
        plots.clear_artists(ax)
        colors = [plots.OKABE_ITO["grey"], plots.COLORS["val"], plots.OKABE_ITO["green"]][:len(values)]
        ax.bar(range(len(values)), values, color=colors)
        ax.set_xticks(range(len(values)), labels)
        ax.set_ylim(0, 1.15 * max(values))  # room for the value above the tallest bar
        for x, v in enumerate(values):
            ax.text(x, v, f"{v:.2f}", ha="center", va="bottom", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.set(xlabel="run (after the last update, or restored)", ylabel="validation loss (BCE)",
               title="Validation loss: lower is better")


def image_grid(originals: torch.Tensor, changed: torch.Tensor, per_row: int = 3) -> torch.Tensor:
    """Images as one picture: rows of `per_row` originals, each followed by a row of the same images changed,
    separated by a blank line (pixel value 0: white in the "Greys" colour map)."""
    check_int("per_row", per_row, 1)
    if originals.shape != changed.shape or originals.ndim != 3 or len(originals) % per_row:
        raise ValueError(f"need two (n, h, w) stacks of the same shape with n a multiple of {per_row}, "
                         f"got {tuple(originals.shape)} and {tuple(changed.shape)}")
    rows = []
    for start in range(0, len(originals), per_row):
        for stack in (originals, changed):
            row = torch.cat(list(stack[start:start + per_row]), dim=1)
            rows += [row, torch.zeros(1, row.shape[1])]
    return torch.cat(rows[:-1]).clamp(0, 1)


class DigitsView:
    """Left: training images as they are and as the chosen augmentation changes them (pairs of rows). Middle: test
    accuracy of each augmentation at the chosen size (bars: mean over seeds, dots: each seed). Right: each
    augmentation's gain over "none" against the training size (mean, and the range of the per-seed gains)."""

    def __init__(self, axes, results: dict, sizes):
        self.ax_img, self.ax_bar, self.ax_n = axes
        self.results, self.sizes = results, tuple(sizes)

    def draw(self, result, kind, n_train):
        originals, changed = result
        ax = self.ax_img
        plots.clear_artists(ax)
        ax.imshow(image_grid(originals, changed), cmap="Greys", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[3.5, 12.5, 21.5, 30.5], yticklabels=["original", kind, "original", kind],
               title="What the network trains on")
        ax.grid(False)
        self._draw_bars(kind, n_train)
        self._draw_gains(kind)

    def _draw_bars(self, kind, n_train):
        ax = self.ax_bar
        plots.clear_artists(ax)
        by_kind = {k: self.results[n_train, k] for k in digits.AUGMENTATIONS}
        for i, (k, r) in enumerate(by_kind.items()):
            ax.bar(i, 100 * r.mean_acc, color=AUGMENTATION_COLORS[k], alpha=0.9 if k == kind else 0.35,
                   edgecolor="black", linewidth=1.5 if k == kind else 0)
            ax.scatter(np.full(len(r.test_acc), i), 100 * r.test_acc, color="black", s=8, zorder=3)
        ax.set_xticks(range(len(by_kind)), [k.replace("+", "+\n") for k in by_kind])
        lowest = min(r.test_acc.min() for r in by_kind.values())
        ax.set_ylim(100 * lowest - 3, 100)
        ax.set(xlabel="augmentation", ylabel="test accuracy (%), dots: seeds",
               title=f"{n_train} training images: which one helps?")

    def _draw_gains(self, kind):
        ax = self.ax_n
        plots.clear_artists(ax)
        for k in digits.AUGMENTATIONS[1:]:
            gains = np.array([100 * digits.paired_gains(self.results[n, k], self.results[n, "none"])
                              for n in self.sizes])  # (sizes, seeds)
            mean = gains.mean(axis=1)
            ax.errorbar(self.sizes, mean, yerr=[mean - gains.min(axis=1), gains.max(axis=1) - mean],
                        marker=AUGMENTATION_MARKERS[k], ms=5, capsize=3, color=AUGMENTATION_COLORS[k],
                        lw=2.8 if k == kind else 1.2, alpha=1.0 if k == kind else 0.6, label=k)
        ax.axhline(0, color=AUGMENTATION_COLORS["none"], lw=1, label="none (0)")
        ax.set(xlabel="training images", ylabel="gain over 'none' (points)",
               title="Gain vs size (mean; bars: seeds' range)")
        ax.legend(loc="upper right")
