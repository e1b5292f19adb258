"""The dropout lesson's figures: two live views updated in place, and two static plots.

- `MechanismView`    one layer's activations, its mask, the rescale, and the train-mode average (p slider)
- `OverfittingView`  boundary, loss curves, and accuracy / loss against p for a `helpers.dropout.Sweep`
- `draw_monte_carlo` the weight-scaling rule: exact at the dropout layer, approximate at the output
- `draw_ablation`    accuracy lost when one hidden unit is removed, units sorted

The views build their artists on the first draw and afterwards only swap data in them (`set_data`,
`set_offsets`, a new contour set): clearing and redrawing axes costs several times more, most of it in
re-creating tick labels. Colours come from `helpers.plots` only.
"""

import matplotlib
import matplotlib.ticker
import numpy as np
import torch
from matplotlib.colors import LinearSegmentedColormap

from helpers import overfit, plots
from helpers._check import check_float, check_int
from helpers.dropout import MonteCarloGap, Sweep

ACTIVATION_CMAP = LinearSegmentedColormap.from_list("activation", ["#FFFFFF", plots.OKABE_ITO["blue"]])
LINE_COLORS = {"no dropout": plots.OKABE_ITO["black"], "dropout": plots.OKABE_ITO["green"],
               "weight decay": plots.OKABE_ITO["purple"], "both": plots.OKABE_ITO["orange"]}


class MechanismView:
    """The mechanism panel's three axes, drawn once and then updated in place (no axes cleared on a redraw).

    Left: the layer as eval mode passes it on (every unit on), this step's dropped entries crossed.
    Middle: the same layer after the mask and the rescale, on the left's colour scale (one colour bar for both,
    up to the largest rescaled value). Right: per unit, the batch mean in eval mode
    (bars), after one training pass (dots) and averaged over `n_average` passes (line).
    """

    def __init__(self, axes, n_average: int):
        self.axes = axes
        self.n_average = check_int("n_average", n_average, 1)
        self.artists = None

    def draw(self, h: torch.Tensor, mask: torch.Tensor, one_pass: torch.Tensor, average: torch.Tensor,
             p: float) -> None:
        p = check_float("p", p, 0.0, 0.99)
        ax_eval, ax_train, ax_units = self.axes
        # one colour scale for both, up to the largest rescaled survivor (h.max / (1-p)): a survivor at p = 0.5 is
        # exactly twice as dark as the same entry on the left, and the colour bar gives the values
        vmax = max(float(h.max()) / (1 - p), 1e-6)
        rows, cols = torch.nonzero(mask == 0, as_tuple=True)
        crosses = np.column_stack([cols.numpy(), rows.numpy()]) if len(rows) else np.empty((0, 2))
        unit_means = (h.mean(0).numpy(), one_pass.mean(0).numpy(), average.mean(0).numpy())
        if self.artists is None:
            self._setup(h, crosses, unit_means)
        a = self.artists
        for image, values in ((a["eval"], h), (a["train"], one_pass)):
            image.set_data(values.numpy())
            image.set_clim(0, vmax)
        a["crosses"].set_offsets(crosses)
        for bar, height in zip(a["bars"], unit_means[0], strict=True):
            bar.set_height(height)
        a["one_pass"].set_ydata(unit_means[1])
        a["average"].set_ydata(unit_means[2])
        # headroom above the data for the legend, so it never hides a bar or a dot
        ax_units.set_ylim(0, 1.6 * max(float(np.max(unit_means[1])), float(np.max(unit_means[0])), 1e-6))
        ax_train.set_title(f"Train: 0 or x 1/(1-p) = x {1 / (1 - p):.2f}")
        ax_eval.set_title(f"Eval: all on (x: {len(rows)} of {h.numel()} dropped)")

    def _setup(self, h, crosses, unit_means):
        ax_eval, ax_train, ax_units = self.axes
        images = {}
        for key, ax in (("eval", ax_eval), ("train", ax_train)):
            plots.clear_artists(ax)
            images[key] = ax.imshow(h.numpy(), cmap=ACTIVATION_CMAP, vmin=0, vmax=1, aspect="auto",
                                    interpolation="nearest")
            ax.grid(False)
            ax.set_xlabel("hidden unit")
            ax.set_ylabel("example in the batch")
        colorbar = ax_train.figure.colorbar(images["train"], ax=[ax_eval, ax_train], pad=0.02, fraction=0.04)
        colorbar.set_label("value passed on")
        crosses_artist = ax_eval.scatter(crosses[:, 0], crosses[:, 1], marker="x", s=22,
                                         color=plots.OKABE_ITO["vermilion"], linewidths=1.2)
        units = np.arange(h.shape[1])
        plots.clear_artists(ax_units)
        bars = ax_units.bar(units, unit_means[0], color=plots.OKABE_ITO["grey"], label="eval mode")
        (one_pass,) = ax_units.plot(units, unit_means[1], "o", color=plots.COLORS["train"], ms=4,
                                    label="one training pass")
        (average,) = ax_units.plot(units, unit_means[2], "-", color=plots.OKABE_ITO["orange"], lw=2,
                                   label=f"average of {self.n_average} passes")
        ax_units.set_xlabel("hidden unit")
        ax_units.set_ylabel("mean activation over the batch")
        ax_units.legend(loc="upper center", ncols=2, fontsize="small")
        ax_units.set_title("Many passes average to eval")
        self.artists = {"eval": images["eval"], "train": images["train"], "crosses": crosses_artist,
                        "bars": list(bars), "one_pass": one_pass, "average": average}


def draw_monte_carlo(ax, gap: MonteCarloGap) -> None:
    """Log-log: the gap at the dropout layer falls like 1/sqrt(n); the gap at the output levels off."""
    ax.clear()
    n = gap.n_passes
    ax.loglog(n, gap.layer_gap, "o-", color=plots.OKABE_ITO["green"], label="at the dropout layer")
    ax.loglog(n, gap.output_gap, "s-", color=plots.OKABE_ITO["orange"], label="at the output (probability)")
    ax.loglog(n, gap.layer_gap[0] / np.sqrt(n), "--", color=plots.COLORS["theory"], lw=1, label=r"$\propto 1/\sqrt{n}$")
    ax.set_xlabel("number of train-mode passes averaged, n (log scale)")
    ax.set_ylabel("mean |average - eval output| (log scale)")
    ax.legend(loc="lower left")
    ax.set_title("Exact at the layer, approximate at the output")


def draw_ablation(ax, without: np.ndarray, with_dropout: np.ndarray, p: float,
                  with_decay: np.ndarray | None = None, weight_decay: float = 0.0) -> None:
    """Accuracy lost when each hidden unit is removed, units sorted from most to least important; optionally a
    third network trained with weight decay and no dropout (the control: does any regularizer spread the work?)."""
    ax.clear()
    curves = [(without, "no dropout", "no regularization"),
              (with_dropout, "dropout", f"dropout p = {p:.1f}")]
    if with_decay is not None:
        curves.append((with_decay, "weight decay", f"weight decay {weight_decay:g}, no dropout"))
    for values, key, label in curves:
        ordered = np.sort(np.asarray(values))[::-1]
        ax.plot(np.arange(1, len(ordered) + 1), 100 * ordered, "o-", ms=3, color=LINE_COLORS[key], label=label)
    ax.axhline(0, color=plots.OKABE_ITO["grey"], lw=1)
    ax.set_xlabel("hidden unit, sorted by the accuracy it takes with it")
    ax.set_ylabel("test accuracy lost when removed (points)")
    ax.legend(loc="upper right")
    ax.set_title("Which units carry the network?")


# Where two-moons points fall (noise 0.2): the boundary panel keeps these limits, so its axes never change.
MOONS_XLIM, MOONS_YLIM = (-1.8, 2.8), (-1.4, 1.9)


class OverfittingView:
    """The overfitting panel's four axes, drawn once and then updated in place.

    Top left: the decision boundary of the network with the chosen p (training points filled). Top right:
    its training and validation loss during training. Bottom: accuracy and loss against p for the whole
    sweep, the current p marked. Moving p, width or training size only swaps data in existing artists,
    which is several times faster than clearing and redrawing the axes.
    """

    def __init__(self, axes, resolution: int = 70):
        self.axes = axes
        self.resolution = check_int("resolution", resolution, 10)
        gx, gy = np.meshgrid(np.linspace(*MOONS_XLIM, resolution), np.linspace(*MOONS_YLIM, resolution))
        self.grid = (gx, gy, torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32))
        self.artists = None
        self.contours = []
        self.warnings = []

    def draw(self, sweep: Sweep, p_index: int, seed_index: int = 0) -> None:
        check_int("p_index", p_index, 0, len(sweep.ps) - 1)
        check_int("seed_index", seed_index, 0, len(sweep.seeds) - 1)
        ax_boundary, ax_curves, ax_acc, ax_loss = self.axes
        if self.artists is None:
            self._setup()
        a = self.artists
        for artist in self.contours + self.warnings:
            artist.remove()
        self.contours, self.warnings = [], []
        i, j, p = seed_index, p_index, float(sweep.ps[p_index])

        gx, gy, grid = self.grid
        with torch.no_grad():
            prob = torch.sigmoid(sweep.model(i, j)(grid).squeeze(-1)).numpy().reshape(gx.shape)
        if np.isfinite(prob).all():
            filled = ax_boundary.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap=plots.BOUNDARY_CMAP,
                                          alpha=0.8, zorder=0)
            line = ax_boundary.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1, zorder=1)
            self.contours = [filled, line]
        else:
            self._warn(ax_boundary, "the network's output is NaN:\nno boundary to draw")
        split = overfit.moons_split(n_train=sweep.n_train, seed=sweep.seeds[i])
        a["points"].set_offsets(split.X_train.numpy())
        a["points"].set_facecolors(np.where(split.y_train.numpy()[:, None] > 0.5,
                                            matplotlib.colors.to_rgba_array([plots.COLORS["class1"]]),
                                            matplotlib.colors.to_rgba_array([plots.COLORS["class0"]])))
        ax_boundary.set_title(f"p = {p:.1f}, width {sweep.width}, {sweep.n_train} training points")

        steps = sweep.step
        for key, curve in (("curve_train", sweep.curve_train_loss[i, j]), ("curve_val", sweep.curve_val_loss[i, j])):
            a[key].set_data(steps, np.where(np.isfinite(curve) & (curve > 0), curve, np.nan))
        curves = np.concatenate([sweep.curve_train_loss[i, j], sweep.curve_val_loss[i, j]])
        self._set_log_limits(ax_curves, curves)
        ax_curves.set_xlim(0, max(steps[-1], 1))
        ax_curves.set_title(f"Loss during training (eval mode; val acc {sweep.val_acc[i, j]:.1%})")

        for ax, key, train, val in ((ax_acc, "acc", sweep.train_acc[i], sweep.val_acc[i]),
                                    (ax_loss, "loss", sweep.train_loss[i], sweep.val_loss[i])):
            a[f"{key}_train"].set_data(sweep.ps, train)
            a[f"{key}_val"].set_data(sweep.ps, val)
            a[f"{key}_marker"].set_xdata([p, p])
            ax.set_xlim(-0.03, max(float(sweep.ps.max()), 0.1) + 0.03)
            if not (np.isfinite(train).any() or np.isfinite(val).any()):
                self._warn(ax, "every run diverged")
        values = np.concatenate([sweep.train_acc[i], sweep.val_acc[i]])
        values = values[np.isfinite(values)]
        if len(values):
            # room below the lowest point for the legend (lower left), so it never hides the p = 0 values
            ax_acc.set_ylim(min(values.min() - max(0.02, 0.4 * (1.01 - values.min())), 0.8), 1.01)
        self._set_log_limits(ax_loss, np.concatenate([sweep.train_loss[i], sweep.val_loss[i]]))
        ax_acc.set_title(f"Accuracy vs p: train - val = {sweep.acc_gap[i, j]:+.3f} at p = {p:.1f}")
        ax_loss.set_title("Loss vs p: does validation loss have a U?")
        if sweep.curve_train_loss.shape[2] and not np.isfinite(sweep.curve_train_loss[i, j]).all():
            self._warn(ax_curves, "training diverged\n(loss became NaN or infinite)")

    def _warn(self, ax, message):
        plots.mark_diverged(ax, message)
        self.warnings.append(ax.texts[-1])

    @staticmethod
    def _set_log_limits(ax, values):
        """Loss axis limits; a log axis only where the values span a decade or more, else a linear one."""
        values = values[np.isfinite(values) & (values > 0)]
        if not len(values):
            return
        low, high = float(values.min()), float(values.max())
        scale = "log" if high >= 10 * low else "linear"
        if ax.get_yscale() != scale:
            _set_loss_scale(ax, scale)
        if scale == "log":
            ax.set_ylim(low / 1.3, high * 1.3)
        else:
            pad = 0.1 * (high - low) + 0.01 * high
            ax.set_ylim(max(0.0, low - pad), high + pad)

    def _setup(self):
        ax_boundary, ax_curves, ax_acc, ax_loss = self.axes
        for ax in self.axes:
            ax.clear()
        points = ax_boundary.scatter([], [], s=14, edgecolors="black", linewidths=0.4, zorder=2)
        ax_boundary.set_xlim(*MOONS_XLIM)
        ax_boundary.set_ylim(*MOONS_YLIM)
        ax_boundary.set_xlabel("feature $x_1$")
        ax_boundary.set_ylabel("feature $x_2$")
        ax_boundary.grid(False)
        artists = {"points": points}
        (artists["curve_train"],) = ax_curves.plot([], [], color=plots.COLORS["train"], label="train")
        (artists["curve_val"],) = ax_curves.plot([], [], color=plots.COLORS["val"], label="validation")
        ax_curves.set_xlabel("update step")
        ax_curves.legend(loc="best")  # the curves end high (p = 0) or low (200 points): let the legend move
        for ax, key, ylabel in ((ax_acc, "acc", "accuracy"), (ax_loss, "loss", "loss (BCE)")):
            (artists[f"{key}_train"],) = ax.plot([], [], "o-", ms=4, color=plots.COLORS["train"],
                                                 label="train (eval mode)")
            (artists[f"{key}_val"],) = ax.plot([], [], "o-", ms=4, color=plots.COLORS["val"], label="validation")
            artists[f"{key}_marker"] = ax.axvline(0, color=plots.COLORS["marker"], ls=":", lw=2, label="current p")
            ax.set_xlabel("dropout probability p")
            ax.set_ylabel(ylabel)
            ax.legend(loc="lower left" if key == "acc" else "best")  # acc: the y limits leave room below the data
        ax_acc.set_ylim(0.5, 1.01)
        for ax in (ax_curves, ax_loss):
            _set_loss_scale(ax, "log")
            ax.set_ylim(0.01, 10)  # replaced by the data's range; kept if every value is NaN
        self.artists = artists


def _set_loss_scale(ax, scale: str) -> None:
    """A loss axis in `scale` ("log" or "linear"), with plain tick labels (0.2, 0.5, 1) and a label that says which."""
    ax.set_yscale(scale)
    if scale == "log":
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        # labelled ticks at 1, 2 and 5 per decade are the scale; unlabelled minor ticks between them cost about a
        # tenth of this figure's render (measured: 216 -> 192 ms CPU) and add nothing to read off
        ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylabel("loss (BCE, log scale)" if scale == "log" else "loss (BCE)")
