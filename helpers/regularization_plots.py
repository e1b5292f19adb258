"""The drawing half of lesson 4's panels (the computing half is `helpers.regularization`).

Each view is made once on the axes of a figure from `helpers.plots.figure`; calling it with a
panel's result updates its artists in place (set_data, set_height...) instead of clearing the axes,
which keeps a redraw well under a tenth of a second. After the first draw the figure's layout is
frozen, so a longer title never makes the axes jump.
Colours: training blue and validation vermilion as everywhere; each penalty has its own colour.
"""

import numpy as np
from matplotlib.ticker import LogLocator, NullLocator

from helpers import regularization as reg
from helpers.plots import COLORS, OKABE_ITO, freeze_layout, mark_diverged

PENALTY_COLORS = {"none": OKABE_ITO["grey"], "l2": OKABE_ITO["green"], "l1": OKABE_ITO["orange"],
                  "l1_prox": OKABE_ITO["sky_blue"]}
SHORT_LABELS = {"none": "none", "l2": "L2", "l1": "L1 subgr.", "l1_prox": "L1 prox."}
ZERO_X = 1e-9   # where the "exactly 0" bar of a log-|w| histogram is drawn
FLOOR = 1e-9    # gaps below this are drawn at it (a log axis cannot show 0)
HIST_BINS = np.logspace(-8, 0.5, 35)
FLOAT32_EPS = float(np.finfo(np.float32).eps)  # one rounding of a float32 number, relative: 1.2e-7


def _ring(ax):
    """The hollow black ring that marks the slider's current setting on a curve."""
    return ax.plot([], [], marker="o", markersize=11, markerfacecolor="none", markeredgecolor="black",
                   markeredgewidth=1.5, linestyle="none", zorder=5)[0]


def abs_histogram(ax, weights_by_kind: dict, sparsity_by_kind: dict, title: str = "") -> None:
    """A static histogram of |w| on a log axis, one step line per penalty, exact zeros as a bar at far left."""
    for kind, w in weights_by_kind.items():
        w = np.abs(np.asarray(w))
        counts, _ = np.histogram(w[w > 0], bins=HIST_BINS)
        s = sparsity_by_kind[kind]
        color = PENALTY_COLORS[kind]
        ax.stairs(counts, HIST_BINS, color=color, linewidth=1.5, label=_sparsity_label(kind, s))
        ax.bar(ZERO_X, s.exact_zero, width=ZERO_X * 1.5, color=color, alpha=0.8)
    _style_abs_axis(ax)
    ax.set_title(title)


def _style_abs_axis(ax, legend_size: float = 6.5) -> None:
    ax.set_xscale("log")
    ax.set_xlim(ZERO_X / 3, 5)
    ax.set_xticks([ZERO_X, 1e-6, 1e-3, 1], ["= 0", "1e-6", "1e-3", "1"])
    ax.minorticks_off()
    ax.axvline(reg.SMALL, color=COLORS["marker"], linestyle=":", linewidth=1)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(0, 3e4)
    ax.set_ylabel("number of weights (symlog scale)")
    ax.set_xlabel("|w| (log scale; left bar: exactly 0)")
    ax.legend(loc="upper left", fontsize=legend_size)


def _sparsity_label(kind: str, s) -> str:
    return f"{reg.PENALTY_LABELS[kind]}: {s.exact_zero_fraction:.0%} exactly 0, {s.below_small_fraction:.0%} < 1e-3"


def seed_spread(ax, spread, title: str = "") -> None:
    """A static plot of `reg.SeedSpread`: every seed's validation loss at each setting (a thin grey line joins one
    seed's points, so a paired comparison is visible), and the mean with its standard deviation over the seeds."""
    x = np.arange(len(spread.settings))
    for j in range(len(spread.seeds)):
        ax.plot(x, spread.val_loss[:, j], color=COLORS["marker"], linewidth=0.8, marker="o", markersize=4,
                alpha=0.8, label="one seed" if j == 0 else None)
    mean = spread.val_loss.mean(axis=1)
    std = spread.val_loss.std(axis=1, ddof=1) if len(spread.seeds) > 1 else np.zeros_like(mean)
    for i, (kind, _) in enumerate(spread.settings):
        ax.errorbar(x[i], mean[i], yerr=std[i], color=PENALTY_COLORS[kind], marker="s", markersize=8, capsize=5,
                    linewidth=2, zorder=4, label="mean ± std over seeds" if i == 0 else None)
    names = ["no penalty" if kind == "none" else f"{SHORT_LABELS[kind]}, λ = {lam:g}" for kind, lam in spread.settings]
    ax.set_xticks(x, names)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set(xlabel="penalty and strength", ylabel="final validation loss (MSE)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)


class ExplorerView:
    """The L1 vs L2 explorer, four axes:  fit | data losses and penalty  /  |w| histogram | validation loss vs λ.

    The histogram compares the chosen penalty with no penalty (two step lines, not three); the penalty term
    has its own right-hand axis on the loss plot, so it is never added into the data losses.
    """

    def __init__(self, fig, axes):
        self.fig, self.axes = fig, axes
        self.built_for = None

    def _build(self, result):
        ax_fit, ax_loss, ax_hist, ax_u = self.axes
        split, x = result["split"], result["fit"].x_grid
        ax_fit.plot(x, np.sin(2 * np.pi * x), color=COLORS["marker"], linestyle="--", linewidth=1,
                    label="true sin(2πx)")
        ax_fit.scatter(split.X_val[:80, 0], split.y_val[:80], s=6, color=COLORS["val"], alpha=0.35,
                       label="validation")
        ax_fit.scatter(split.X_train[:, 0], split.y_train, s=22, color=COLORS["train"], edgecolors="black",
                       linewidths=0.4, label="train", zorder=3)
        self.fit_line = ax_fit.plot(x, result["fit"].y_grid, linewidth=2, label="network")[0]
        ax_fit.set_ylim(-2.5, 2.5)
        ax_fit.set(xlabel="input x", ylabel="output y")
        self.fit_handle = ax_fit.legend(loc="lower left", ncols=2, fontsize=8).legend_handles[-1]

        self.train_line = ax_loss.plot([], [], color=COLORS["train"], label="train data loss")[0]
        self.val_line = ax_loss.plot([], [], color=COLORS["val"], label="validation data loss")[0]
        ax_loss.set(xlabel="update step", ylabel="mean squared error (data loss only)")
        self.ax_pen = ax_loss.twinx()
        self.pen_line = self.ax_pen.plot([], [], color=COLORS["penalty"], linestyle="--", label="penalty term")[0]
        self.ax_pen.set_ylabel("penalty term (right axis)", color=COLORS["penalty"])
        self.ax_pen.tick_params(axis="y", colors=COLORS["penalty"])
        ax_loss.legend(handles=[self.train_line, self.val_line, self.pen_line], loc="upper right", fontsize=8)

        self.stairs, self.zero_bars = {}, {}
        for key in ("none", "chosen"):
            color = PENALTY_COLORS["none"]
            self.stairs[key] = ax_hist.stairs(np.zeros(len(HIST_BINS) - 1), HIST_BINS, color=color,
                                              linewidth=2.5 if key == "chosen" else 1.2, label=key)
            self.zero_bars[key] = ax_hist.bar(ZERO_X, 0, width=ZERO_X * 1.5, color=color, alpha=0.8)[0]
        _style_abs_axis(ax_hist, legend_size=8)
        self.hist_legend = ax_hist.get_legend()

        self.u_lines = {}
        for kind, sweep in result["sweeps"].items():
            self.u_lines[kind] = ax_u.plot(sweep.lams, sweep.val_loss, marker="o", markersize=4,
                                           color=PENALTY_COLORS[kind], label=reg.PENALTY_LABELS[kind])[0]
        ax_u.axhline(result["fits_none"].val_loss, color=PENALTY_COLORS["none"], linestyle="--", linewidth=1.2,
                     label="no penalty (λ = 0)")
        ax_u.set_xscale("log")
        ax_u.xaxis.set_major_locator(LogLocator(numticks=8))
        ax_u.xaxis.set_minor_locator(NullLocator())
        ax_u.set(xlabel="λ (log scale)", ylabel="final validation loss (MSE)")
        ax_u.legend(loc="upper left", fontsize=8)
        self.u_ring = _ring(ax_u)
        self.built_for = id(result["sweeps"])
        self.frozen = False

    def __call__(self, result, **_):
        if self.built_for != id(result["sweeps"]):
            for ax in self.axes:
                ax.clear()
            if getattr(self, "ax_pen", None) is not None:
                self.ax_pen.remove()
            self._build(result)
        ax_fit, ax_loss, ax_hist, ax_u = self.axes
        fit, kind, lam = result["fit"], result["kind"], result["lam"]
        label = reg.PENALTY_LABELS[kind]
        ok = bool(np.isfinite(fit.y_grid).all())
        self.fit_line.set_ydata(fit.y_grid if ok else np.full_like(fit.y_grid, np.nan))
        self.fit_line.set_color(PENALTY_COLORS[kind])
        self.fit_handle.set_color(PENALTY_COLORS[kind])
        ax_fit.set_title(f"{label}, λ={lam:.0e}: final data loss val {fit.val_loss:.3f}, train {fit.train_loss:.3f}")

        h = fit.history
        self.train_line.set_data(h.step, h.train_loss)
        self.val_line.set_data(h.step, h.val_loss)
        ax_loss.set_xlim(0, h.step[-1])
        _set_linear_ylim(ax_loss, h.train_loss + h.val_loss)
        self.pen_line.set_data(h.step, h.penalty)
        _set_linear_ylim(self.ax_pen, h.penalty)
        formula = "λ/2·Σw²" if kind == "l2" else "λ·Σ|w|"
        ax_loss.set_title(f"Data losses (left axis); penalty {formula} (right axis)")

        for key, f in (("none", result["fits_none"]), ("chosen", fit)):
            w = np.abs(f.weights)
            counts, _ = np.histogram(w[w > 0], bins=HIST_BINS)
            color = PENALTY_COLORS[f.kind]
            self.stairs[key].set_data(counts)
            self.stairs[key].set_color(color)
            self.zero_bars[key].set_height(f.sparsity.exact_zero)
            self.zero_bars[key].set_color(color)
        for text, handle, key in zip(self.hist_legend.get_texts(), self.hist_legend.legend_handles,
                                     ("none", "chosen"), strict=True):
            f = result["fits_none"] if key == "none" else fit
            text.set_text(_sparsity_label(f.kind, f.sparsity))
            handle.set_color(PENALTY_COLORS[f.kind])
        ax_hist.set_title(f"|w| after training: {label} at λ={lam:.0e} vs no penalty")

        sweep = result["sweeps"][kind]
        i = int(np.argmin(np.abs(np.log10(sweep.lams) - np.log10(lam))))
        self.u_ring.set_data([lam], [sweep.val_loss[i]])
        for k in reg.EXPLORER_PENALTIES:
            self.u_lines[k].set_linewidth(2.5 if k == kind else 1.0)
        ax_u.set_title(f"Validation loss against λ, seed {result['seed']} "
                       f"({SHORT_LABELS[kind]} best: {sweep.best_lam:.0e})")
        for text in list(ax_fit.texts):
            text.remove()
        if not ok or h.diverged:
            mark_diverged(ax_fit, "training diverged: no fit to draw")
        if not self.frozen:
            freeze_layout(self.fig)
            self.frozen = True


def _set_linear_ylim(ax, values, pad: float = 0.08) -> None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size:
        low, high = min(values.min(), 0.0), values.max()
        span = high - low if high > low else max(abs(high), 1e-3)
        ax.set_ylim(low, high + pad * span)


def _ellipse(center, hessian, level, n=120):
    """Points of {w : 1/2 (w - c)^T H (w - c) = level}."""
    values, vectors = np.linalg.eigh(np.asarray(hessian, dtype=float))
    angle = np.linspace(0, 2 * np.pi, n)
    unit = np.stack([np.cos(angle), np.sin(angle)])
    return (np.asarray(center)[:, None] + vectors @ (np.sqrt(2 * max(level, 0.0) / values)[:, None] * unit)).T


def _ball(norm, t):
    if norm == "l1":
        return np.array([[t, 0], [0, t], [-t, 0], [0, -t], [t, 0]])
    angle = np.linspace(0, 2 * np.pi, 120)
    return np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)


class GeometryView:
    """Two axes, L1 ball and L2 ball: loss contours, the ball, the contour touching it, the minimum."""

    def __init__(self, fig, axes):
        self.fig, self.axes = fig, axes
        self.artists = None

    def _build(self, result):
        self.artists = {}
        for ax, norm in zip(self.axes, ("l1", "l2"), strict=True):
            ax.contour(result["gx"], result["gy"], result["loss"], levels=np.geomspace(0.05, 6, 8),
                       colors=COLORS["marker"], linewidths=0.7)
            color = PENALTY_COLORS[norm]
            fill = ax.fill([0], [0], color=color, alpha=0.25)[0]
            edge = ax.plot([], [], color=color, linewidth=1.5)[0]
            touch = ax.plot([], [], color="black", linewidth=1.6, label="loss contour touching the ball")[0]
            ax.plot(*result[norm]["path"].T, color="black", linestyle=":", linewidth=1,
                    label="minimum as the ball grows")
            c = result["center"]
            ax.plot(c[0], c[1], marker="*", markersize=11, color=COLORS["val"], linestyle="none",
                    label="unconstrained minimum w*")
            point = ax.plot([], [], marker="o", markersize=8, color="black", linestyle="none",
                            label="constrained minimum")[0]
            ax.axhline(0, color="black", linewidth=0.6)
            ax.axvline(0, color="black", linewidth=0.6)
            ax.set_xlim(-3, 3)
            ax.set_ylim(-3, 3)
            ax.set_aspect("equal")
            ax.set(xlabel="weight $w_1$", ylabel="weight $w_2$")
            ax.legend(loc="lower left", fontsize=7)
            self.artists[norm] = (fill, edge, touch, point)

    def __call__(self, result, **_):
        if self.artists is None:
            self._build(result)
        t = result["radius"]
        for ax, norm in zip(self.axes, ("l1", "l2"), strict=True):
            fill, edge, touch, point = self.artists[norm]
            ball = _ball(norm, t)
            fill.set_xy(ball)
            edge.set_data(ball[:, 0], ball[:, 1])
            sol = result[norm]
            ring = _ellipse(result["center"], reg.GEOMETRY_HESSIAN, sol["level"])
            touch.set_data(ring[:, 0], ring[:, 1])
            point.set_data([sol["w"][0]], [sol["w"][1]])
            name = "L1 ball |w₁|+|w₂| ≤ t" if norm == "l1" else "L2 ball √(w₁²+w₂²) ≤ t"
            where = "on an axis: w₂ = 0 exactly" if sol["w"][1] == 0 else "off the axes"
            ax.set_title(f"{name}\nminimum ({sol['w'][0]:.2f}, {sol['w'][1]:.2f}), {where}")
        if not getattr(self, "frozen", False):
            freeze_layout(self.fig)
            self.frozen = True


class LassoView:
    """Left: the lasso's weights per feature; right: how many features survive against λ."""

    def __init__(self, fig, axes):
        self.fig, self.axes = fig, axes
        self.artists = None

    def _build(self, result):
        ax_coef, ax_count = self.axes
        sel = result["selection"]
        p, k = sel["p"], sel["k"]
        ax_coef.axhline(0, color="black", linewidth=0.6)
        self.relevant = ax_coef.vlines(np.arange(k), 0, np.zeros(k), color=OKABE_ITO["green"], linewidth=4,
                                       label="relevant feature")
        self.noise = ax_coef.vlines(np.arange(k, p), 0, np.zeros(p - k), color=COLORS["val"], linewidth=4,
                                    label="irrelevant feature kept (false positive)")
        self.truth = ax_coef.plot([], [], marker="_", markersize=14, markeredgewidth=2, color="black",
                                  linestyle="none", label="true weight")[0]
        ax_coef.set_xlim(-1, p)
        ax_coef.set_ylim(-2.3, 2.3)
        ax_coef.set(xlabel=f"feature index (0-{k - 1} relevant, {k}-{p - 1} pure noise)", ylabel="lasso weight")
        ax_coef.legend(loc="upper right", fontsize=7)

        self.fp_line = ax_count.plot(result["lams"], result["false_positives"], color=COLORS["val"], marker="o",
                                     markersize=3, label="irrelevant features kept")[0]
        self.kept_line = ax_count.plot(result["lams"], result["relevant_kept"], color=OKABE_ITO["green"], marker="o",
                                       markersize=3, label=f"relevant features kept (of {k})")[0]
        ax_count.axvline(result["theory_lam"], color=COLORS["theory"], linestyle="--", linewidth=1,
                         label=f"σ·√(2 ln p / n) = {result['theory_lam']:.2f}")
        self.ring = _ring(ax_count)
        ax_count.set_xscale("log")
        ax_count.set_ylim(-1, p - k + 1)
        ax_count.set(xlabel="λ (log scale)", ylabel="number of features with w ≠ 0")
        ax_count.set_title("False positives fall as λ grows")
        ax_count.legend(loc="upper right", fontsize=7)

    def __call__(self, result, lam, **_):
        if not hasattr(self, "fp_line"):
            self._build(result)
        sel = result["selection"]
        p, k, w = sel["p"], sel["k"], sel["w"]
        self.relevant.set_segments([[(i, 0), (i, w[i])] for i in range(k)])
        self.noise.set_segments([[(i, 0), (i, w[i])] for i in range(k, p)])
        self.truth.set_data(np.arange(k), sel["w_true"][:k])
        self.fp_line.set_ydata(result["false_positives"])
        self.kept_line.set_ydata(result["relevant_kept"])
        self.ring.set_data([lam], [sel["false_positives"]])
        self.axes[0].set_title(f"λ = {lam:.3g}: {sel['relevant_kept']}/{k} relevant kept, "
                               f"{sel['false_positives']} of {p - k} noise features kept")
        if not getattr(self, "frozen", False):
            freeze_layout(self.fig)
            self.frozen = True


class DecayView:
    """Left: relative gap between "L2 in the loss" and "decay in the step" per step; right: final weights."""

    def __init__(self, fig, axes):
        self.fig, self.axes = fig, axes
        self.gap_line = None

    def _build(self):
        ax_gap, ax_scatter = self.axes
        self.gap_line = ax_gap.plot([], [], color=COLORS["penalty"], linewidth=2, label="relative gap")[0]
        self.rounding_line = ax_gap.plot([], [], color=COLORS["marker"], linestyle=":", linewidth=1.5,
                                         label=f"float32 rounding piled up, ε·step (ε = {FLOAT32_EPS:.1e})")[0]
        ax_gap.set_yscale("log")
        ax_gap.set_ylim(FLOOR / 2, 20)
        ax_gap.set(xlabel="update step", ylabel="‖w_loss − w_step‖ / ‖w_loss‖ (log scale)")
        ax_gap.legend(loc="lower right", fontsize=8)
        self.diagonal = ax_scatter.plot([], [], color=COLORS["marker"], linewidth=1, linestyle="--",
                                        label="same weight in both runs")[0]
        self.dots = ax_scatter.scatter([], [], s=6, color=COLORS["penalty"], alpha=0.6)
        ax_scatter.set(xlabel="weight after training, L2 in the loss", ylabel="weight, decay in the step")
        ax_scatter.set_title("Each dot is one weight: off the diagonal = different")
        ax_scatter.legend(loc="upper left", fontsize=7)

    def __call__(self, result, **_):
        if self.gap_line is None:
            self._build()
        ax_gap, ax_scatter = self.axes
        gap = np.where(np.isfinite(result["rel_gap"]), np.maximum(result["rel_gap"], FLOOR), np.nan)
        self.gap_line.set_data(result["step"], gap)
        self.rounding_line.set_data(result["step"], np.maximum(FLOAT32_EPS * result["step"], FLOOR))
        ax_gap.set_xlim(0, result["step"][-1])
        name = {"sgd": "SGD", "sgd_momentum": "SGD+momentum", "adam": "Adam vs AdamW"}[result["optimizer"]]
        ax_gap.set_title(f"{name}, λ={result['lam']:.0e}, decay {result['when']}: "
                         f"gap {result['rel_gap'][-1]:.1e} at step {result['step'][-1]}")
        a, b = result["w_loss"], result["w_step"]
        for text in list(ax_gap.texts):
            text.remove()
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            mark_diverged(ax_gap, "a run diverged (NaN weights)")
            a, b = np.nan_to_num(a), np.nan_to_num(b)
        lim = max(float(np.abs(np.concatenate([a, b])).max()), 1e-3) * 1.05
        self.diagonal.set_data([-lim, lim], [-lim, lim])
        self.dots.set_offsets(np.column_stack([a, b]))
        ax_scatter.set_xlim(-lim, lim)
        ax_scatter.set_ylim(-lim, lim)
        if not getattr(self, "frozen", False):
            freeze_layout(self.fig)
            self.frozen = True


class WarmupView:
    """Left: the training data loss per update; right: the validation accuracy. Solid: the penalty
    switched on after the warm-up (dotted vertical line); thin grey: the same penalty from the start."""

    def __init__(self, fig, axes):
        self.fig, self.axes = fig, axes
        self.lines = None

    def _build(self):
        ax_loss, ax_acc = self.axes
        self.lines = {}
        for ax, key in ((ax_loss, "train_loss"), (ax_acc, "val_acc")):
            color = COLORS["train"] if key == "train_loss" else COLORS["val"]
            self.lines[key, "start"] = ax.plot([], [], color=OKABE_ITO["grey"], linewidth=1.2,
                                               label="penalty from the start")[0]
            self.lines[key, "run"] = ax.plot([], [], color=color, linewidth=2, label="penalty after the warm-up")[0]
            self.lines[key, "switch"] = ax.axvline(0, color=COLORS["marker"], linestyle=":", linewidth=1.5,
                                                   label="penalty switches on")
        ax_loss.axhline(np.log(2), color=COLORS["marker"], linewidth=0.8, linestyle="--")
        ax_loss.text(0.99, np.log(2), " ln 2: a constant 50/50 guess", transform=ax_loss.get_yaxis_transform(),
                     ha="right", va="bottom", fontsize=7)
        ax_acc.axhline(0.5, color=COLORS["marker"], linewidth=0.8, linestyle="--")
        ax_loss.set(xlabel="update", ylabel="training data loss (BCE, penalty not included)", ylim=(0, 0.8),
                    xlim=(0, reg.WARMUP_STEPS))
        ax_acc.set(xlabel="update", ylabel="validation accuracy", ylim=(0.4, 1.0), xlim=(0, reg.WARMUP_STEPS))
        ax_acc.legend(loc="lower right", fontsize=7)

    def __call__(self, result, **_):
        if self.lines is None:
            self._build()
        run, start = result["run"], result["from_start"]
        for key in ("train_loss", "val_acc"):
            self.lines[key, "run"].set_data(run.history.step, getattr(run.history, key))
            self.lines[key, "start"].set_data(start.history.step, getattr(start.history, key))
            self.lines[key, "switch"].set_xdata([run.warmup, run.warmup])
        name = "L1" if run.kind == "l1" else "L2"
        ax_loss, ax_acc = self.axes
        ax_loss.set_title(f"{name} λ={run.lam:.0e} from update {run.warmup + 1}: loss {run.train_loss:.3f} "
                          f"(from the start {start.train_loss:.3f})", fontsize=9)
        ax_acc.set_title(f"validation accuracy {run.val_acc:.1%} (from the start {start.val_acc:.1%})", fontsize=9)
        if not getattr(self, "frozen", False):
            freeze_layout(self.fig)
            self.frozen = True
