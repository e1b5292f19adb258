"""Lesson 1 (initialization): the figures and live panels, drawn from `helpers.initialization`'s results.

    explorer_panel()   sliders -> initialization.explorer_compute -> ExplorerFigure.draw
    training_panel()   sliders -> initialization.traced_run       -> TrainingFigure.draw
    layers_panel()     sliders -> initialization.traced_run       -> LayersFigure.draw   (same cached runs)

Each figure is made once; a redraw only moves its artists' data and is laid out once (constrained
layout at every redraw would cost about 0.15 s).
"""

import math

import numpy as np
import torch
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from helpers import plots, train, widgets
from helpers._check import check_choice
from helpers.initialization import (
    ACTIVATIONS,
    MAX_DEPTH,
    MAX_WIDTH,
    NEAR_ZERO,
    TRACE_BINS,
    TRACE_EVERY,
    TRACE_LOG10_RANGE,
    TRAIN_SCHEMES,
    LayerStats,
    explorer_compute,
    final_loss,
    phi,
    phi_prime,
    traced_run,
    verdict,
)
from helpers.initialization_code import explorer_code, layers_code, training_code


def draw_activation_near_zero(ax, activation: str = "tanh", span: float = 3.0) -> None:
    """Plot phi(z) and its slope phi'(z) against the identity on [-span, span]: where is phi nearly linear?"""
    check_choice("activation", activation, ACTIVATIONS)
    z = np.linspace(-span, span, 301)
    ax.clear()
    ax.plot(z, z, ":", color=plots.COLORS["theory"], label="identity z")
    ax.plot(z, phi(activation, z), "-", color=plots.SCHEME_COLORS["xavier_normal"], lw=2, label=f"{activation}(z)")
    ax.plot(z, phi_prime(activation, z), "--", color=plots.OKABE_ITO["vermilion"], lw=1.5,
            label=f"slope {activation}'(z)")
    ax.axvspan(-0.5, 0.5, color=plots.OKABE_ITO["grey"], alpha=0.2, label="|z| < 0.5: nearly equal")
    ax.set_ylim(-1.6, 1.6)
    ax.set_xlabel("pre-activation z")
    ax.set_ylabel("output / slope")
    ax.set_title(f"{activation} is the identity near 0; its slope is 1 only at z = 0")
    ax.legend(loc="upper left")


def draw_symmetry_boundary(ax, result, title: str) -> None:
    """The decision boundary a `symmetry_experiment` run learned, with its training points and final loss."""
    if result.model is None or result.split is None:
        raise ValueError("result must come from initialization.symmetry_experiment (it keeps the model and data)")
    plots.decision_boundary(ax, result.model, result.split.X_train, result.split.y_train, resolution=80,
                            title=f"{title}\ntraining loss {result.final_loss:.3f} (black: p = 0.5)")
    key = [Line2D([], [], marker="o", linestyle="", markerfacecolor=plots.COLORS[name], markeredgecolor="black",
                  markeredgewidth=0.4, label=label)
           for name, label in (("class0", "class 0"), ("class1", "class 1"))]
    key.append(Patch(facecolor=plots.BOUNDARY_CMAP(0.85), alpha=0.8, label="shading: p(class 1)"))
    ax.legend(handles=key, loc="lower left", fontsize=7)


SCHEME_LABELS = {"zeros": "zeros", "normal": "N(0, σ²)", "lecun_normal": "LeCun", "xavier_normal": "Xavier",
                 "he_normal": "He", "pytorch_default": "PyTorch default"}
_HIST_STYLES = [("orange", "-"), ("purple", "--"), ("black", ":")]
FRAC_TOP = 1.42


class ExplorerFigure:
    """The explorer's 2 x 2 figure. Its artists are made once; `draw` only moves their data.

    top left: std of h_l per layer (theory line, measured points); top right: rms of dL/dh_l;
    bottom left: histograms of h_l at three layers; bottom right: cosine similarity between
    samples and the fraction of dead (ReLU) or saturated (tanh, sigmoid) units.
    """

    def __init__(self, width: float = 9.5, height: float = 6.0):
        self.fig, axes = plots.figure(2, 2, width=width, height=height)
        self.ax_std, self.ax_grad, self.ax_hist, self.ax_frac = axes
        theory = plots.COLORS["theory"]
        ax = self.ax_std
        (self.std_theory,) = ax.plot([], [], "-", color=theory, label="theory (recursion)")
        (self.std_pooled,) = ax.plot([], [], "o", ms=3, label="measured: pooled std")
        (self.std_across,) = ax.plot([], [], "o", ms=3, mfc="none", label="measured: std across samples")
        ax.set_yscale("log")
        ax.set_xlabel("layer l")
        ax.set_ylabel("std of h_l (log scale)")
        ax.legend(loc="lower left")
        ax = self.ax_grad
        (self.grad_theory,) = ax.plot([], [], "-", color=theory, label="theory")
        (self.grad_measured,) = ax.plot([], [], "o", ms=3, label="measured")
        ax.set_yscale("log")
        ax.set_xlabel("layer l")
        ax.set_ylabel("rms of dL/dh_l (log scale)")
        ax.set_title("Backward: how much gradient reaches layer l?\n(a unit-size error at the last layer)")
        ax.legend(loc="lower right")
        ax = self.ax_hist
        self.hists = [ax.stairs([0], [0, 1], color=plots.OKABE_ITO[c], linestyle=ls, linewidth=1.5, label=" ")
                      for c, ls in _HIST_STYLES]
        ax.set_xlabel("value of h_l")
        ax.set_ylabel("fraction of values")
        ax.set_title("Where do the values of h_l sit?")
        self.hist_legend = ax.legend(loc="upper right")
        ax = self.ax_frac
        (self.cos_line,) = ax.plot([], [], "-", lw=1.5, label="cosine similarity between samples")
        (self.frac_line,) = ax.plot([], [], "--", lw=1.5, label="fraction dead / saturated")
        ax.set_ylim(-0.05, FRAC_TOP)  # the legend sits above 1, where no curve goes
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
        ax.set_xlabel("layer l")
        ax.set_ylabel("similarity / fraction (0 to 1)")
        ax.legend(loc="upper center")
        self.notes = {name: getattr(self, "ax_" + name).text(
            0.5, 0.5, "", transform=getattr(self, "ax_" + name).transAxes, ha="center", va="center", fontsize=10,
            color=plots.OKABE_ITO["vermilion"], zorder=10,
            bbox={"boxstyle": "round", "fc": "white", "ec": plots.OKABE_ITO["vermilion"]})
            for name in ("std", "grad", "frac")}
        self.stop_lines = [ax.axvline(1, color=plots.OKABE_ITO["vermilion"], ls="--", lw=1, visible=False)
                           for ax in (self.ax_std, self.ax_grad, self.ax_frac)]
        plots.freeze_layout(self.fig)  # lay out once: constrained layout would cost ~0.1 s at every redraw

    def draw(self, stats: LayerStats, scheme: str, activation: str, std: float = 0.01, width: int = 256,
             **_) -> None:
        """Move every artist to show `stats` (from `layer_statistics`)."""
        color = plots.SCHEME_COLORS[scheme]
        depth = len(stats.post_std)
        layers = np.arange(1, depth + 1)
        name = SCHEME_LABELS[scheme] + (f" (σ = {std:.2g})" if scheme == "normal" else "")
        sigma = (f"n·σ² = {width * std**2:.3g} (He: 2)" if scheme == "normal"
                 else f"σ slider ({std:.3g}) is used by N(0, σ²) only")
        _set_positive(self.std_theory, layers, stats.theory.post_std)
        _set_positive(self.std_pooled, layers, stats.post_std, color)
        _set_positive(self.std_across, layers, stats.across_std, color)
        _set_positive(self.grad_theory, layers, stats.theory.grad_rms)
        _set_positive(self.grad_measured, layers, stats.grad_rms, color)
        for ax, values in ((self.ax_std, [stats.post_std, stats.across_std, stats.theory.post_std]),
                           (self.ax_grad, [stats.grad_rms, stats.theory.grad_rms])):
            _log_limits(ax, values, depth)
        self.ax_std.set_title(f"{name} + {activation}: does the std of h_l stay level?\n{sigma}")
        self.ax_std.legend(loc="lower left")
        self.ax_grad.legend(loc="lower right")

        note = ""
        if not (np.nan_to_num(stats.post_std) > 0).any():
            note = "every h_l has std 0:\nall units compute the same value"
        elif stats.stopped_at:
            note = f"float32 {stats.stop_reason}\nat layer {stats.stopped_at}: measured up to there"
        self.notes["std"].set_text(note)
        self.notes["std"].set_visible(bool(note))
        grad_note = ""
        if stats.stopped_at:
            grad_note = f"the forward pass left float32's\nrange at layer {stats.stopped_at}: no backward pass"
        elif not (np.nan_to_num(stats.grad_rms[:-1]) > 0).any() and depth > 1:
            grad_note = "the gradient below the last\nlayer is 0 (or < 1e-18)"
        self.notes["grad"].set_text(grad_note)
        self.notes["grad"].set_visible(bool(grad_note))
        for line in self.stop_lines:
            line.set_xdata([stats.stopped_at or 1] * 2)
            line.set_visible(bool(stats.stopped_at))

        edges = stats.hist_edges
        top = 0.0
        for i, artist in enumerate(self.hists):
            if i < len(stats.hist_layers):
                artist.set_data(stats.hist_counts[i], edges)
                artist.set_label(f"layer {stats.hist_layers[i]}")
                artist.set_visible(True)
                top = max(top, float(stats.hist_counts[i].max()))
            else:
                artist.set_visible(False)
        self.ax_hist.set_xlim(edges[0], edges[-1])
        self.ax_hist.set_ylim(0, max(top, 1e-3) * 1.08)
        self.hist_legend.remove()
        self.hist_legend = self.ax_hist.legend(handles=[a for a in self.hists if a.get_visible()],
                                               loc="upper right")

        self.cos_line.set_data(layers, stats.cos_sim)  # NaN (not drawn) where every h_l is 0
        undefined = bool(np.isnan(stats.cos_sim[:stats.stopped_at or depth]).all())
        self.notes["frac"].set_text("cosine similarity undefined:\nevery h_l is 0 (no direction)" if undefined else "")
        self.notes["frac"].set_visible(undefined)
        self.cos_line.set_color(color)
        kind = {"relu": stats.dead, "tanh": stats.saturated, "sigmoid": stats.saturated}.get(activation)
        self.frac_line.set_data(layers, kind if kind is not None else np.zeros(depth))
        self.frac_line.set_color(color)
        label = {"relu": "fraction of units dead (0 for every input)",
                 "tanh": "fraction saturated (|h| > 0.97)",
                 "sigmoid": "fraction saturated (|2h - 1| > 0.97)"}.get(activation, "linear: nothing dead or saturated")
        self.frac_line.set_label(label)
        self.ax_frac.legend(loc="upper center")
        self.ax_frac.set_xlim(0.5, depth + 0.5)
        self.ax_frac.set_title("Do inputs look alike? Dead or saturated units?")


def _set_positive(line, x, y, color=None):
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y) & (y > 0)
    line.set_data(x[ok], y[ok])
    if color is not None:
        line.set_color(color)


def _log_limits(ax, series, depth):
    values = np.concatenate([np.asarray(v, dtype=float) for v in series])
    values = values[np.isfinite(values) & (values > 0)]
    values = values[(values > 1e-60) & (values < 1e60)]
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.1, 10.0)
    if high / low < 100:  # at least two decades, centred on the data
        middle = math.sqrt(high * low)
        low, high = middle / 10, middle * 10
    ax.set_ylim(low / 1.5, high * 1.5)
    ax.set_xlim(0.5, depth + 0.5)


def explorer_panel(scheme: str = "xavier_normal", activation: str = "tanh", depth: int = 50, width: int = 256,
                   std: float = 0.01, input_mean: float = 0.0, input_scale: float = 1.0, bias: float = 0.0,
                   seed: int = 0):
    """The explorer: a LivePanel over `layer_statistics`, drawn on an `ExplorerFigure`."""
    figure = ExplorerFigure()
    controls = {
        "scheme": widgets.choice("init scheme", [(label, key) for key, label in SCHEME_LABELS.items()], scheme),
        "std": widgets.log_slider("σ (for N(0, σ²))", 1e-3, 1.0, std, readout_format=".3f"),
        "activation": widgets.choice("activation", ACTIVATIONS, activation),
        "depth": widgets.int_slider("depth (layers)", 1, MAX_DEPTH, 1, depth),
        "width": widgets.int_slider("width (units per layer)", 32, MAX_WIDTH, 32, width),
        "bias": widgets.float_slider("bias b (every unit)", -0.5, 0.5, 0.05, bias),
        "input_mean": widgets.float_slider("input mean", -5.0, 5.0, 0.5, input_mean, readout_format=".1f"),
        "input_scale": widgets.log_slider("input scale (std)", 0.1, 10.0, input_scale, readout_format=".2f"),
    }
    return _live_panel(explorer_compute, figure.draw, figure.fig, controls, seed, explorer_code)


def _live_panel(compute, draw, fig, controls, seed, code):
    """A LivePanel with its "code" button (`code(**values, seed=seed)`: the panel's self-contained script)."""
    return widgets.LivePanel(compute=compute, draw=draw, fig=fig, controls=controls, seed=seed, code=code)


def draw_comparison(ax, histories: dict[str, train.History], title: str) -> None:
    """Training loss of every scheme on one axis (scheme colours; N(0, 0.01²) dotted, tanh runs dashed).

    The y-range covers the runs that did not diverge; diverged runs are listed in a box instead. The axis is
    logarithmic where the losses span a decade or more, linear otherwise.
    """
    plots.clear_artists(ax)
    ax.axhline(math.log(2), color=plots.COLORS["marker"], ls=":", lw=1.5, label="ln 2 = 0.693 (chance)")
    finite, diverged = [], []
    for label, history in histories.items():
        scheme = TRAIN_SCHEMES[label.split(" (")[0]][0]
        style = ":" if label.startswith("N(0, 0.01") else ("--" if "(tanh)" in label else "-")
        loss = np.asarray(history.train_loss, dtype=float)
        ok = np.isfinite(loss) & (loss > 0)
        if history.diverged:
            diverged.append(f"{label}: diverged at step {history.diverged_at}")
        else:
            finite.append(loss[ok])
        ax.plot(np.asarray(history.step)[ok], loss[ok], style, color=plots.SCHEME_COLORS[scheme], lw=1.5,
                label=label + (" (diverged)" if history.diverged else ""))
    values = np.concatenate(finite + [np.array([math.log(2)])])
    _loss_axis(ax, values, "training loss")
    if diverged:
        ax.text(0.01, 0.98, "\n".join(diverged), transform=ax.transAxes, va="top", fontsize=8,
                color=plots.OKABE_ITO["vermilion"],
                bbox={"boxstyle": "round", "fc": "white", "ec": plots.OKABE_ITO["vermilion"]})
    ax.set_xlabel("update step")
    ax.set_title(title)


def comparison_figure(runs: dict[str, dict[str, train.History]]):
    """One `draw_comparison` axis per optimizer (`runs`: title -> label -> History), side by side, and one
    legend to the right of them, where it hides no curve."""
    fig, axes = plots.figure(1, len(runs), width=11.5, height=3.8)
    axes = np.atleast_1d(axes)
    for ax, (title, histories) in zip(axes, runs.items(), strict=True):
        draw_comparison(ax, histories, title)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return fig


def _loss_axis(ax, values, what: str) -> None:
    """Log y-axis where `values` (positive) span a decade or more, linear otherwise; limits with some room."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    low, high = max(float(values.min()), 1e-4), float(values.max())
    if high / low >= 10:
        ax.set_yscale("log")
        ax.set_ylim(low / 1.5, high * 1.5)
        ax.set_ylabel(f"{what} (log scale)")
    else:
        ax.set_yscale("linear")
        pad = 0.08 * (high - low) + 0.02
        ax.set_ylim(max(0.0, low - pad), high + pad)
        ax.set_ylabel(what)


class TrainingFigure:
    """The training comparison's 1 x 2 figure: loss curves (left) and decision boundary (right).

    Artists are made once and `draw` moves their data (an image and one contour line for the
    boundary), which keeps a redraw well under 0.1 s.
    """

    GRID = 60

    def __init__(self, width: float = 9.5, height: float = 3.6):
        self.fig, (self.ax_loss, self.ax_boundary) = plots.figure(1, 2, width=width, height=height)
        ax = self.ax_loss
        (self.train_line,) = ax.plot([], [], "-", color=plots.COLORS["train"], label="train")
        (self.val_line,) = ax.plot([], [], "-", color=plots.COLORS["val"], label="validation")
        ax.axhline(math.log(2), color=plots.COLORS["marker"], ls=":", lw=1, label="ln 2 = 0.693 (chance)")
        ax.set_xlabel("update step")
        ax.set_ylabel("loss")
        ax.legend(loc="lower left")
        self.loss_note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=10,
                                 color=plots.OKABE_ITO["vermilion"], zorder=10, visible=False,
                                 bbox={"boxstyle": "round", "fc": "white", "ec": plots.OKABE_ITO["vermilion"]})
        ax = self.ax_boundary
        self.image = ax.imshow(np.full((self.GRID, self.GRID), 0.5), origin="lower", cmap=plots.BOUNDARY_CMAP,
                               vmin=0, vmax=1, alpha=0.8, aspect="auto", extent=(0, 1, 0, 1))
        self.points = ax.scatter([], [], s=14, edgecolors="black", linewidths=0.4)
        self.contour = None
        self.boundary_note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=10,
                                     color=plots.OKABE_ITO["vermilion"], zorder=10, visible=False,
                                     bbox={"boxstyle": "round", "fc": "white", "ec": plots.OKABE_ITO["vermilion"]})
        ax.set_xlabel("feature $x_1$ (standardized)")
        ax.set_ylabel("feature $x_2$ (standardized)")
        ax.grid(False)
        plots.freeze_layout(self.fig)  # lay out once: constrained layout would cost ~0.1 s at every redraw

    def draw(self, result, scheme: str, activation: str, depth: int, optimizer: str) -> None:
        """Show one run of `train_scheme` or `traced_run`: (model, split, history[, trace])."""
        model, split, history = result[:3]
        steps = np.asarray(history.step)
        losses = []
        for line, values in ((self.train_line, history.train_loss), (self.val_line, history.val_loss)):
            values = np.asarray(values, dtype=float)
            ok = np.isfinite(values) & (values > 0)
            line.set_data(steps[ok], values[ok])
            losses.append(values[ok])
        _loss_axis(self.ax_loss, np.concatenate(losses + [np.array([math.log(2)])]), "loss")
        self.ax_loss.set_xlim(0, max(int(steps.max()), 1))
        outcome = "loss NaN" if history.diverged else f"final loss {final_loss(history):.3g}"
        self.ax_loss.set_title(f"{scheme} + {activation}, depth {depth}:\n{verdict(history)} ({outcome})")
        diverged = f"diverged at step {history.diverged_at}\n(loss became NaN or infinite)" if history.diverged else ""
        self.loss_note.set_text(diverged)
        self.loss_note.set_visible(history.diverged)

        X, y = split.X_train.numpy(), split.y_train.numpy()
        low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], self.GRID), np.linspace(low[1], high[1], self.GRID))
        grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
        model.eval()
        with torch.no_grad():
            prob = torch.sigmoid(model(grid).squeeze(-1)).numpy().reshape(gx.shape)
        if self.contour is not None:
            self.contour.remove()
            self.contour = None
        finite = bool(np.isfinite(prob).all())
        self.image.set_data(np.where(np.isfinite(prob), prob, 0.5))
        self.image.set_extent((low[0], high[0], low[1], high[1]))
        if finite and prob.min() < 0.5 < prob.max():
            self.contour = self.ax_boundary.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1)
        self.points.set_offsets(X)
        self.points.set_facecolors(np.where(y > 0.5, plots.COLORS["class1"], plots.COLORS["class0"]))
        self.ax_boundary.set_xlim(low[0], high[0])
        self.ax_boundary.set_ylim(low[1], high[1])
        note = "the output is NaN:\nno boundary to draw" if not finite else (
            "one class everywhere:\nno boundary" if not prob.min() < 0.5 < prob.max() else "")
        self.boundary_note.set_text(note)
        self.boundary_note.set_visible(bool(note))
        acc = history.val_acc[-1] if history.val_acc else float("nan")
        acc = "-" if history.diverged else f"{acc:.0%}"
        self.ax_boundary.set_title(f"Decision boundary (black: p = 0.5)\nvalidation accuracy {acc}")


def training_panel(scheme: str = "He", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
                   seed: int = 0):
    """The training comparison: scheme, activation, depth and optimizer retrain a 2-D classifier; loss + boundary."""
    figure = TrainingFigure()
    controls = {
        "scheme": widgets.choice("init scheme", list(TRAIN_SCHEMES), scheme),
        "activation": widgets.choice("activation", ["relu", "tanh"], activation),
        "depth": widgets.int_slider("depth (weight matrices)", 2, 16, 1, depth),
        "optimizer": widgets.choice("optimizer", [("SGD, lr 0.1", "sgd"), ("Adam, lr 0.01", "adam")], optimizer),
    }

    def compute(scheme, activation, depth, optimizer, seed):
        return traced_run(scheme, activation, depth, optimizer, seed=seed)

    return _live_panel(compute, figure.draw, figure.fig, controls, seed, training_code)


LAYER_IMAGE = {"first": 0, "middle": None, "last": -1}  # which hidden layer the |h| image shows (middle: (L-1) // 2)
MAX_HIDDEN = 15  # the panels' depth slider goes to 16 weight matrices


def layer_color(index: int, hidden: int) -> tuple:
    """Layer 1 light blue ... last hidden layer black: the course's sky blue -> blue -> black ramp."""
    ramp = LinearSegmentedColormap.from_list(
        "course_layers", [plots.OKABE_ITO["sky_blue"], plots.OKABE_ITO["blue"], plots.OKABE_ITO["black"]])
    return ramp(index / max(hidden - 1, 1))


class LayersFigure:
    """Layers over training (fastai's ActivationStats "colorful dimension"), 2 x 2, artists made once.

    top left: one hidden layer's histogram of log10 |h| per recorded step, as an image (colour: log10 count);
    top right: share of near-zero units (|h| < 1e-3 on every probe point) per layer over steps;
    bottom: each layer's mean and std of h over steps (one line per layer, light = first, dark = last).
    """

    def __init__(self, width: float = 9.5, height: float = 6.2):
        self.fig, axes = plots.figure(2, 2, width=width, height=height)
        self.ax_image, self.ax_near, self.ax_mean, self.ax_std = axes
        edges = np.linspace(*TRACE_LOG10_RANGE, TRACE_BINS + 1)
        self.image = self.ax_image.imshow(np.full((TRACE_BINS, 2), np.nan), origin="lower", aspect="auto",
                                          cmap="viridis", vmin=0, vmax=4, extent=(0, 150, edges[0], edges[-1]),
                                          interpolation="nearest")
        bar = self.fig.colorbar(self.image, ax=self.ax_image)
        bar.set_label("log10 count")
        self.ax_image.set_xlabel("update step")
        self.ax_image.set_ylabel("log10 |h| (bottom row ≤ -8: 0 or tiny;\ntop row ≥ 2, or nan)")
        self.ax_image.grid(False)
        self.lines = {}
        for name, ax in (("near", self.ax_near), ("mean", self.ax_mean), ("std", self.ax_std)):
            self.lines[name] = [ax.plot([], [], "-", lw=1.4, label=f"layer {k + 1}")[0] for k in range(MAX_HIDDEN)]
            ax.set_xlabel("update step")
        self.ax_near.set_ylabel(f"share of units near 0\n(|h| < {NEAR_ZERO:g} on every point)")
        self.ax_near.set_ylim(-0.03, 1.03)
        self.ax_mean.set_ylabel("mean of h_l")
        self.ax_std.set_ylabel("std of h_l (log scale)")
        self.ax_std.set_yscale("log")
        self.note = self.ax_std.text(0.5, 0.5, "", transform=self.ax_std.transAxes, ha="center", va="center",
                                     fontsize=10, color=plots.OKABE_ITO["vermilion"], zorder=10, visible=False,
                                     bbox={"boxstyle": "round", "fc": "white", "ec": plots.OKABE_ITO["vermilion"]})
        self.legend = None
        plots.freeze_layout(self.fig)

    def draw(self, result, scheme: str, activation: str, depth: int, optimizer: str, layer: str = "last") -> None:
        """Show the ActivationTrace of one `traced_run`: (model, split, history, trace)."""
        history, trace = result[2], result[3]
        hidden = trace.hist.shape[0]
        shown = LAYER_IMAGE[layer] if LAYER_IMAGE[layer] is not None else (hidden - 1) // 2
        shown = shown % hidden
        counts = trace.hist[shown].T  # (bins, records)
        with np.errstate(divide="ignore"):
            self.image.set_data(np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan))
        steps = trace.steps
        last = max(int(steps[-1]), 1)
        half = TRACE_EVERY / 2
        self.image.set_extent((steps[0] - half, steps[-1] + half, *TRACE_LOG10_RANGE))
        self.ax_image.set_xlim(-half, max(last, 150) + half)
        self.ax_image.set_title(f"{scheme} + {activation}, depth {depth}: |h| of layer {shown + 1} "
                                f"of {hidden}\n(each column: one recorded step)")
        stds = trace.std[np.isfinite(trace.std) & (trace.std > 0)]
        for name, values in (("near", trace.near_zero), ("mean", trace.mean), ("std", trace.std)):
            for k, line in enumerate(self.lines[name]):
                visible = k < hidden
                line.set_visible(visible)
                if visible:
                    y = values[k]
                    ok = np.isfinite(y) & ((y > 0) if name == "std" else True)
                    line.set_data(steps[ok], y[ok])
                    line.set_color(layer_color(k, hidden))
                else:
                    line.set_data([], [])
        for ax in (self.ax_near, self.ax_mean, self.ax_std):
            ax.set_xlim(0, max(last, 150))
        means = trace.mean[np.isfinite(trace.mean)]
        top = float(np.abs(means).max()) if len(means) else 1.0
        self.ax_mean.set_ylim(-1.1 * top - 1e-12, 1.1 * top + 1e-12) if activation != "relu" else \
            self.ax_mean.set_ylim(-0.05 * top - 1e-12, 1.1 * top + 1e-12)
        if len(stds):
            _log_limits(self.ax_std, [stds], hidden)
            self.ax_std.set_xlim(0, max(last, 150))
        self.ax_near.set_title("Which layers' units sit near 0?")
        self.ax_mean.set_title("Mean of each layer's h over training")
        self.ax_std.set_title("Std of each layer's h over training")
        note = f"diverged at step {history.diverged_at}:\nrecords stop there" if history.diverged else ""
        self.note.set_text(note)
        self.note.set_visible(bool(note))
        if self.legend is not None:
            self.legend.remove()
        shown_lines = [self.lines["std"][k] for k in sorted({0, (hidden - 1) // 2, hidden - 1})]
        self.legend = self.ax_std.legend(handles=shown_lines, loc="lower left", fontsize=7)


def layers_panel(scheme: str = "N(0, 0.01²)", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
                 layer: str = "last", seed: int = 0):
    """Layers over training: the training panel's runs (shared cache, `traced_run`) seen layer by layer."""
    figure = LayersFigure()
    controls = {
        "scheme": widgets.choice("init scheme", list(TRAIN_SCHEMES), scheme),
        "activation": widgets.choice("activation", ["relu", "tanh"], activation),
        "depth": widgets.int_slider("depth (weight matrices)", 2, MAX_HIDDEN + 1, 1, depth),
        "optimizer": widgets.choice("optimizer", [("SGD, lr 0.1", "sgd"), ("Adam, lr 0.01", "adam")], optimizer),
        "layer": widgets.choice("image: hidden layer", list(LAYER_IMAGE), layer),
    }

    def compute(scheme, activation, depth, optimizer, layer, seed):
        return traced_run(scheme, activation, depth, optimizer, seed=seed)

    return _live_panel(compute, figure.draw, figure.fig, controls, seed, layers_code)
