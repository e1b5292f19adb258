"""Lesson 2's plots: gradient flow per layer, training runs, the depth x gain map.

Live plots (`draw_flow`, `draw_run`) make their lines once per axes and then only update them
(`set_data`), which halves the redraw time of a slider move compared with clearing the axes.
Colours come from `helpers.plots`: in the flow explorer the signal is blue and the weights' gradient vermilion
(two quantities, two colours), the forward std takes the init scheme's colour (`SCHEME_COLORS`); training is blue
(`COLORS["train"]`). A y axis is logarithmic only where its values span a decade or more (`_fit_y`).
"""

import weakref

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, MaxNLocator, NullLocator

from helpers import plots
from helpers.gradients import Flow, Run


# ---------------------------------------------------------------------------------------------
def _sparse_log_ticks(axis, low: float = 1e-3, high: float = 1e3) -> None:
    """About 6 labelled ticks and no minor ticks on a log axis spanning [low, high].

    Wide ranges get whole decades only, narrow ones (under 2 decades) 1-2-5 steps. Matplotlib measures every
    minor tick label on each redraw, which dominated the redraw time of a 30-decade axis.
    """
    if high / low > 100:
        axis.set_major_locator(LogLocator(base=10, numticks=6))
        axis.set_major_formatter(LogFormatterSciNotation())
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    axis.set_minor_locator(NullLocator())


def _artists(ax, make):
    """The artists of a live plot, made once per axes by `make(ax)` and reused on every redraw.

    Updating artists in place (instead of `ax.clear()`) keeps the axes' ticks, and halves the redraw time.
    """
    if ax not in _LIVE:
        _LIVE[ax] = make(ax)
    for text in list(ax.texts):  # the previous "diverged" box, if any
        text.remove()
    return _LIVE[ax]


_LIVE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _set_yscale(ax, scale: str) -> None:
    if ax.get_yscale() != scale:  # setting the same scale again would reset the tick locators
        ax.set_yscale(scale)


def _fit_y(ax, values, label: str, fallback=(1e-3, 1e3)) -> None:
    """Fit the y axis to the positive finite `values`: a log axis (labelled "(log scale)") when they span a decade
    or more, a linear one when they span less (a log axis over less than a decade labels its ticks "9x10^-1").
    The fallback range is used if there are no such values."""
    values = np.asarray(values, dtype=float)
    ok = values[np.isfinite(values) & (values > 0)]
    low, high = (ok.min(), ok.max()) if ok.size else fallback
    if high / low >= 10:
        _set_yscale(ax, "log")
        ax.set_ylim(low / 2, high * 2)
        _sparse_log_ticks(ax.yaxis, low / 2, high * 2)
        ax.set_ylabel(f"{label} (log scale)")
    else:
        _set_yscale(ax, "linear")
        pad = 0.1 * (high - low) or 0.1 * high
        ax.set_ylim(max(0.0, low - pad), high + pad)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
        ax.set_ylabel(label)


SIGNAL_COLOR = plots.OKABE_ITO["blue"]       # the backpropagated signal dL/dh_k
WEIGHT_COLOR = plots.OKABE_ITO["vermilion"]  # the weights' gradient dL/dW_k


def draw_flow(ax_grad, ax_std, result: Flow, init: str, title: str = "") -> None:
    """Left: ||dL/dh_k|| (blue, solid, circles) and ||dL/dW_k|| (vermilion, dashed, squares) per layer: two different
    quantities, told apart by colour, line and marker. Right: std of h_k per layer, in the init scheme's colour.
    A y axis is logarithmic only where its values span a decade or more."""
    def make_grad(ax):
        signal, = ax.plot([], [], "-", color=SIGNAL_COLOR, marker="o", markersize=3,
                          label="signal $\\|\\partial L/\\partial h_k\\|$")
        weight, = ax.plot([], [], "--", color=WEIGHT_COLOR, marker="s", markersize=2.5, markevery=3,
                          label="weights' gradient $\\|\\partial L/\\partial W_k\\|$")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
        ax.set_xlabel("layer k (1 = first, L = output)")
        ax.legend(loc="best")  # placed at each draw where it hides the least of the lines
        return signal, weight

    def make_std(ax):
        line, = ax.plot([], [], marker="o", markersize=2.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
        ax.set_xlabel("layer k")
        ax.set_title("Forward: activation std per layer (lesson 1)")
        return (line,)

    layers = np.arange(1, len(result.signal) + 1)
    signal_line, weight_line = _artists(ax_grad, make_grad)
    for line, values in ((signal_line, result.signal), (weight_line, result.weight)):
        ok = np.isfinite(values) & (values > 0)
        line.set_data(layers[ok], values[ok])
    ax_grad.set_xlim(0, len(layers) + 1)
    _fit_y(ax_grad, np.concatenate([result.signal, result.weight]), "gradient norm")
    ax_grad.set_title(title or f"Signal first/last = {result.ratio:.3g}: level, or a slope?")
    if not (np.isfinite(result.signal).all() and (result.signal > 0).all()):
        plots.mark_diverged(ax_grad, "some gradients are 0 or not finite\neven in float64")
    (std_line,) = _artists(ax_std, make_std)
    ok = np.isfinite(result.forward_std) & (result.forward_std > 0)
    std_line.set_data(layers[ok], result.forward_std[ok])
    std_line.set_color(plots.SCHEME_COLORS.get(init, plots.OKABE_ITO["black"]))
    ax_std.set_xlim(0, len(layers) + 1)
    _fit_y(ax_std, result.forward_std, "std of $h_k$")
    if not ok.all():
        plots.mark_diverged(ax_std, "activations overflowed")


RULE_OF_THUMB = 1e-3  # update / weight per step for a healthy layer under SGD (Karpathy, CS231n notes)


def draw_run(ax_loss, ax_ratio, run: Run, title: str = "") -> None:
    """Left: training loss at every update, "diverged at step N" if it did.
    Right: mean over the updates of each layer's ||dW_k|| / ||W_k||, with the 1e-3 rule of thumb dotted; layers
    that never moved (exactly 0) as triangles at the bottom. Log axes only where the values span a decade."""
    def make_loss(ax):
        line, = ax.plot([], [], color=plots.COLORS["train"], markersize=3, label="training loss before each update")
        ax.set_xlabel("update step")
        ax.legend(loc="upper right")
        return (line,)

    def make_ratio(ax):
        moved, = ax.plot([], [], color=plots.COLORS["train"], marker="o", markersize=3, label="mean over updates")
        frozen, = ax.plot([], [], "v", color=plots.OKABE_ITO["vermilion"], markersize=6,
                          label="did not move at all (0)")
        rule = ax.axhline(RULE_OF_THUMB, color=plots.COLORS["marker"], linestyle=":", linewidth=1,
                          label="rule of thumb 1e-3 (CS231n)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
        ax.set_xlabel("layer k")
        ax.set_title("Which layers learn? (update-to-weight ratio)")
        return moved, frozen, rule

    (loss_line,) = _artists(ax_loss, make_loss)
    steps = np.arange(1, len(run.step_loss) + 1)
    ok = np.isfinite(run.step_loss)
    loss_line.set_data(steps[ok], run.step_loss[ok])
    loss_line.set_marker("o" if ok.sum() < 10 else "None")
    ax_loss.set_xlim(0, max(run.steps, 1) + 1)
    _fit_y(ax_loss, run.step_loss, "training loss", fallback=(0.1, 10))
    ax_loss.set_title(title or f"Loss (validation accuracy {run.val_acc[-1]:.0%})")
    if run.diverged:
        plots.mark_diverged(ax_loss, f"diverged at step {run.diverged_at}\n(loss became NaN or infinite)")
    moved, frozen, rule = _artists(ax_ratio, make_ratio)
    mean = run.mean_update_ratio
    layers = np.arange(1, len(mean) + 1)
    ok = np.isfinite(mean) & (mean > 0)
    zero = np.isfinite(mean) & (mean == 0)
    low = min(mean[ok].min() if ok.any() else RULE_OF_THUMB, RULE_OF_THUMB)
    moved.set_data(layers[ok], mean[ok])
    frozen.set_data(layers[zero], np.full(zero.sum(), low / 10))
    ax_ratio.set_xlim(0, len(layers) + 1)
    _fit_y(ax_ratio, np.concatenate([mean[ok], [low / 10 if zero.any() else low, RULE_OF_THUMB]]),
           "update / weight $\\|\\Delta W_k\\|/\\|W_k\\|$")
    ax_ratio.legend(handles=[moved, frozen, rule] if zero.any() else [moved, rule], loc="lower right")
    if not ok.any() and not zero.any():
        plots.mark_diverged(ax_ratio, "no finite update to show:\nthe run diverged at once")


def draw_map(ax, values: np.ndarray, depths, gains, reference: float, band: float = 2.0, title: str = "") -> None:
    """Colour a depth x gain grid by log10 ||dL/dh_1||; dashed lines where it is `band` decades from `reference`.

    Blue: the first layer's signal vanished; vermilion: it exploded; white: near `reference`.
    """
    depths, gains = np.asarray(list(depths)), np.asarray(list(gains), dtype=float)
    if values.shape != (len(depths), len(gains)):
        raise ValueError(f"values must have shape (len(depths), len(gains)) = {(len(depths), len(gains))}, "
                         f"got {values.shape}")
    cmap = LinearSegmentedColormap.from_list(
        "vanish_explode", [plots.OKABE_ITO["blue"], plots.OKABE_ITO["sky_blue"], "#FFFFFF",
                           plots.OKABE_ITO["orange"], plots.OKABE_ITO["vermilion"]])
    finite = np.where(np.isfinite(values), values, np.nan)
    low, high = np.nanmin(finite), np.nanmax(finite)
    norm = TwoSlopeNorm(vcenter=reference, vmin=min(low, reference - 1), vmax=max(high, reference + 1))
    ax.clear()
    cols, rows = np.arange(len(gains)), np.arange(len(depths))
    mesh = ax.pcolormesh(cols, rows, finite, cmap=cmap, norm=norm, shading="nearest")
    ax.contour(cols, rows, finite, levels=[reference - band, reference + band], colors="black",
               linestyles="--", linewidths=1)
    ax.set_xticks(cols)
    ax.set_xticklabels([f"{g:g}" for g in gains], fontsize=8)
    ax.set_yticks(rows)
    ax.set_yticklabels([str(d) for d in depths])
    ax.set_xlabel("gain (multiplier on the init std; uneven steps, denser near 1)")
    ax.set_ylabel("depth L (weight matrices)")
    ax.set_title(title or f"log10 of the first layer's signal: the band within {band:g} decades is dashed")
    ax.grid(False)
    return mesh


def draw_update_profiles(ax, runs: dict, title: str = "") -> None:
    """One line per run: mean over updates of ||dW_k|| / ||W_k|| against the layer k (log scale).

    Layers that did not move at all (ratio exactly 0) are drawn at the bottom edge with a triangle.
    """
    colors = [plots.OKABE_ITO[c] for c in ("blue", "vermilion", "green", "orange", "purple", "sky_blue")]
    ax.clear()
    means = {label: run.mean_update_ratio for label, run in runs.items()}
    positive = [m[m > 0].min() for m in means.values() if (m > 0).any()]
    floor = min(positive) / 10 if positive else 1e-12
    for (label, med), color in zip(means.items(), colors, strict=False):
        layers = np.arange(1, len(med) + 1)
        pos = med > 0
        ax.plot(layers[pos], med[pos], color=color, marker="o", markersize=3, label=label)
        if (~pos).any():
            ax.plot(layers[~pos], np.full((~pos).sum(), floor), "v", color=color, markersize=6,
                    label=f"{label}: did not move (exactly 0)")
    _fit_y(ax, np.concatenate([m[m > 0] for m in means.values()] + [[floor]]),
           "mean $\\|\\Delta W_k\\| / \\|W_k\\|$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    ax.set_xlabel("layer k (1 = first)")
    ax.set_title(title or "How far each layer moves per update")
    ax.legend(loc="lower right")


LAYER_COLORS = (plots.OKABE_ITO["blue"], plots.OKABE_ITO["orange"], plots.OKABE_ITO["vermilion"])


def draw_layers(ax_hist, ax_mean, ax_zero, run: Run, layer: int, title: str = "") -> None:
    """Layers over training, from `run.layers` (a `LayerRecord`), in the spirit of fastai's "colorful dimension".

    Left: the histogram of log10 |g| of layer `layer`'s weight gradient at every recorded update, stacked as an
    image (x: update, y: |g| on log-spaced bins, colour: log10 of the count, empty bins white).
    Middle: mean |g| (solid) and the std of g (dotted) over the updates, for layer 1, layer `layer` and the last.
    Right: the share of near-zero entries (|g| < 1e-3 x the last layer's mean |g| at that update) for the same layers.
    """
    from helpers.gradients import HIST_EDGES, NEAR_ZERO

    record = run.layers
    depth = record.mean_abs.shape[1]
    if not 1 <= layer <= depth:
        raise ValueError(f"layer must be between 1 and the depth {depth}, got {layer!r}")

    def make_hist(ax):
        image = ax.imshow(np.full((len(HIST_EDGES) - 1, 2), np.nan), origin="lower", aspect="auto",
                          cmap="viridis", vmin=0, vmax=3, interpolation="nearest",
                          extent=(0.5, 2.5, HIST_EDGES[0], HIST_EDGES[-1]))
        ax.figure.colorbar(image, ax=ax, label="log10 count")
        ax.set_xlabel("update step")
        ax.set_ylabel("log10 |g| (weight gradient)")
        return (image,)

    def make_lines(ax, ylabel):
        lines = []
        for color in LAYER_COLORS:
            lines.append(ax.plot([], [], "-", color=color, linewidth=1.5)[0])
            lines.append(ax.plot([], [], ":", color=color, linewidth=1.2)[0])
        ax.set_xlabel("update step")
        ax.set_ylabel(ylabel)
        return tuple(lines)

    def make_zero(ax):
        lines = tuple(ax.plot([], [], "-", color=color, marker="o", markersize=2)[0] for color in LAYER_COLORS)
        ax.set_xlabel("update step")
        ax.set_ylabel(f"share |g| < {NEAR_ZERO:g} x last layer's mean")
        ax.set_ylim(-0.03, 1.03)
        return lines

    steps = record.step
    chosen = [1, layer, depth]
    names = ["layer 1", f"layer {layer}", f"layer {depth} (last)"]
    shown = [True, layer not in (1, depth), depth != 1]  # a layer picked twice keeps its layer-1 or "last" colour
    (image,) = _artists(ax_hist, make_hist)
    counts = record.hist[:, layer - 1, :].T if len(steps) else np.full((len(HIST_EDGES) - 1, 1), np.nan)
    with np.errstate(divide="ignore"):
        image.set_data(np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan))
    last = steps[-1] if len(steps) else 1
    image.set_extent((0.5, last + 0.5, HIST_EDGES[0], HIST_EDGES[-1]))
    image.set_clim(0, max(np.log10(record.size.max()), 0.5))  # one colour scale for every layer, so views compare
    ax_hist.set_xlim(0.5, last + 0.5)
    positive = record.hist.sum(axis=(0, 1)) > 0  # one vertical range for every layer, for the same reason
    if positive.any():
        low = HIST_EDGES[:-1][positive].min()
        high = HIST_EDGES[1:][positive].max()
        ax_hist.set_ylim(low - 1, high + 1)
    ax_hist.set_title(title or f"Layer {layer}: |g| at every update")

    lines = _artists(ax_mean, lambda ax: make_lines(ax, "mean |g| (-), std of g (:)"))
    values = []
    for i, (k, name) in enumerate(zip(chosen, names, strict=True)):
        for line, series, label in ((lines[2 * i], record.mean_abs[:, k - 1], f"{name}: mean |g|"),
                                    (lines[2 * i + 1], record.std[:, k - 1], None)):
            ok = np.isfinite(series) & (series > 0) & shown[i]
            line.set_data(steps[ok], series[ok])
            line.set_label(label if label else "_nolegend_")
            values.append(series[ok])
    ax_mean.set_xlim(0, max(last, 1) + 1)
    _fit_y(ax_mean, np.concatenate(values), "mean |g| (-), std of g (:)", fallback=(1e-3, 1))
    ax_mean.legend(handles=[line for line, s in zip(lines[::2], shown, strict=True) if s], loc="best", fontsize=8)
    ax_mean.set_title("Mean |g| per layer over training")

    zero_lines = _artists(ax_zero, make_zero)
    for line, k, name, show in zip(zero_lines, chosen, names, shown, strict=True):
        line.set_data(steps if show else [], record.near_zero[:, k - 1] if show else [])
        line.set_label(name)
    ax_zero.set_xlim(0, max(last, 1) + 1)
    ax_zero.legend(handles=[line for line, s in zip(zero_lines, shown, strict=True) if s], loc="best", fontsize=8)
    ax_zero.set_title("Near-zero share of each layer's |g|")
    if run.diverged:
        message = f"diverged at step {run.diverged_at}:\nrecorded up to step {last}" if len(steps) else \
            f"diverged at step {run.diverged_at}:\nno update to show"
        for ax in (ax_hist, ax_mean, ax_zero):
            plots.mark_diverged(ax, message)
