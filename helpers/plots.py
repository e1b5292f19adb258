"""The course's plot style: one colour-blind-safe palette and the plot pieces every lesson shares.

Colours are Okabe & Ito's palette (2008), readable with every common colour-vision deficiency.
A quantity keeps its colour in every lesson: training is always blue, validation always
vermilion, and each init scheme has its own colour.
"""

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LinearSegmentedColormap, to_rgba
from matplotlib.container import BarContainer
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D
from matplotlib.patches import StepPatch

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermilion": "#D55E00", "purple": "#CC79A7", "grey": "#999999",
}

COLORS = {
    "train": OKABE_ITO["blue"],
    "val": OKABE_ITO["vermilion"],
    "test": OKABE_ITO["green"],
    "theory": OKABE_ITO["black"],
    "penalty": OKABE_ITO["purple"],
    "class0": OKABE_ITO["blue"],
    "class1": OKABE_ITO["orange"],
    "marker": OKABE_ITO["grey"],
}

SCHEME_COLORS = {
    "zeros": OKABE_ITO["grey"],
    "constant": OKABE_ITO["yellow"],
    "normal": OKABE_ITO["orange"],
    "lecun_normal": OKABE_ITO["purple"],
    "xavier_normal": OKABE_ITO["green"],
    "xavier_uniform": OKABE_ITO["green"],
    "he_normal": OKABE_ITO["sky_blue"],
    "he_uniform": OKABE_ITO["sky_blue"],
    "pytorch_default": OKABE_ITO["black"],
}

# Class 0 blue -> white at the boundary -> class 1 orange.
BOUNDARY_CMAP = LinearSegmentedColormap.from_list("course_boundary", [COLORS["class0"], "#FFFFFF", COLORS["class1"]])


def apply_style() -> None:
    """Matplotlib defaults for the course: palette order, grid, readable font sizes."""
    matplotlib.rcParams.update({
        "axes.prop_cycle": matplotlib.cycler(color=[OKABE_ITO[c] for c in
                                                    ("blue", "vermilion", "green", "orange", "purple",
                                                     "sky_blue", "black", "yellow", "grey")]),
        "axes.grid": True, "grid.alpha": 0.3, "font.size": 10, "axes.titlesize": 10,
        "figure.dpi": 90, "legend.fontsize": 8, "legend.framealpha": 0.8,
    })


def figure(nrows: int = 1, ncols: int = 2, width: float = 9.0, height: float = 3.4):
    """A figure for a live panel: made once, its artists updated by the panel's draw function.

    Created with interactive mode off so it is shown once, inside its panel. With the ipympl
    backend (`%matplotlib widget`) the canvas's header, toolbar and footer are hidden.
    """
    with plt.ioff():
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", squeeze=False)
    canvas = fig.canvas
    for attribute in ("header_visible", "footer_visible", "toolbar_visible", "resizable"):
        if hasattr(canvas, attribute):
            setattr(canvas, attribute, False)
    axes = axes.ravel()
    return fig, (axes[0] if len(axes) == 1 else axes)


def show(fig):
    """Show a static figure in the notebook: its canvas under ipympl (`%matplotlib widget`), a PNG under any
    other backend (the inline fallback without ipympl, Colab, nbconvert). Use it as a cell's last line."""
    from IPython.display import display

    if "ipympl" in type(fig.canvas).__module__:
        display(fig.canvas)
    else:
        display(fig)


def freeze_layout(fig) -> None:
    """Keep the axes where the first rendered frame put them; later redraws skip the layout pass.

    Constrained layout re-measures every tick label on every draw, roughly half of a small panel's
    redraw (measured: 0.17 s against 0.08 s). Use it for panels whose tick labels keep their width
    from setting to setting (fix the limits of log axes). The freeze waits for the first real draw:
    drawing an ipympl figure before its widget is shown leaves the canvas blank in JupyterLab.
    """

    def freeze(event):
        fig.set_layout_engine("none")
        fig.canvas.mpl_disconnect(connection)

    connection = fig.canvas.mpl_connect("draw_event", freeze)


def clear_artists(ax) -> None:
    """Remove what the last redraw put on `ax` (lines, points, bars, images, texts, legend) and autoscale again.

    Use it instead of `ax.clear()` in a live panel's draw function: `ax.clear()` also throws away the
    axes' tick objects, and matplotlib rebuilds every tick (and, on a log axis, every minor tick) at
    the next render, which was a third to a half of a redraw. What stays: ticks, scale, grid, tick
    settings, and the categories of a categorical axis (so give bars numeric positions and set the tick
    labels, not strings). Titles and labels stay until the draw function sets them again. The view
    autoscales to what the draw adds next; a draw that adds no data must set its limits itself.
    Pinned ghosts (`pin_ghosts`) stay.
    """
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.images, *ax.texts, *ax.artists, *ax.tables]:
        if artist.get_gid() != GHOST_GID:
            artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.containers.clear()
    ax.set_prop_cycle(None)  # the next line without a colour gets the first colour again
    ax.relim()
    ax.set_autoscale_on(True)


GHOST_GID = "course-ghost"
GHOST_ALPHA = 0.35


def pin_ghosts(fig, label: str) -> list[dict]:
    """Copy what `fig` shows now into faded "ghost" lines that stay while the panel redraws.

    Copied, on every axes: each visible Line2D with data (same colour and line style, alpha 0.35, just under
    the original's zorder: a ghost is told apart by its fading, not by a dash pattern a panel may already
    use), the lines of each unfilled contour set (e.g. the p = 0.5 boundary), each
    histogram drawn with `stairs`, and each bar container as the outline of its bars. Images, filled
    contours and scatter points are not copied (a second map cannot be overlaid on the first). A small
    grey "faded: pinned <label>" stands at the figure's top right. Ghosts replace any earlier ghosts,
    carry the gid "course-ghost", stay out of legends and survive `clear_artists`; `remove_ghosts`
    drops them. They do not move the view when pinned; a later autoscale (`relim`) counts them, and a
    draw function that sets its own limits keeps them, so a ghost may then fall outside the view.
    Returns the ghosts' specifications, for `keep_ghosts`.
    """
    if not isinstance(label, str):
        raise ValueError(f"label must be a str, got {type(label).__name__}")
    remove_ghosts(fig)
    specs = []
    for ax in fig.axes:
        specs += [spec for artist in [*ax.lines, *ax.collections, *ax.patches] if (spec := _ghost_spec(ax, artist))]
        for container in ax.containers:
            if isinstance(container, BarContainer) and len(container.patches):
                specs.append(_bar_outline_spec(ax, container))
    specs.append({"home": fig, "text": f"faded: pinned {label}"})
    keep_ghosts(fig, specs)
    return specs


def keep_ghosts(fig, specs: list[dict]) -> None:
    """Put back any ghost of `specs` that a redraw removed (`ax.clear()`, removing lines by hand)."""
    shown = {id(a) for ax in fig.axes for a in ax.lines if a.get_gid() == GHOST_GID}
    shown |= {id(t) for t in fig.texts if t.get_gid() == GHOST_GID}
    for spec in specs:
        if id(spec.get("artist")) in shown:
            continue
        if "text" in spec:
            spec["artist"] = fig.text(0.995, 0.995, spec["text"], ha="right", va="top", fontsize=7,
                                      color=OKABE_ITO["grey"], gid=GHOST_GID)
        elif spec["home"] in fig.axes:
            ax = spec["home"]
            line = Line2D(spec["x"], spec["y"], color=spec["color"], alpha=GHOST_ALPHA, linewidth=spec["width"],
                          linestyle="none" if spec["points"] else spec.get("style", "-"),
                          marker="." if spec["points"] else "none",
                          markersize=3, zorder=spec["zorder"], label="_ghost", gid=GHOST_GID,
                          transform=spec["transform"] or ax.transData)
            ax.add_line(line)
            spec["artist"] = line


def remove_ghosts(fig) -> None:
    """Drop every ghost that `pin_ghosts` drew on `fig`."""
    for artist in [*(a for ax in fig.axes for a in ax.lines), *fig.texts]:
        if artist.get_gid() == GHOST_GID:
            artist.remove()


def _ghost_spec(ax, artist):
    if artist.get_gid() == GHOST_GID or not artist.get_visible():
        return None
    spec = {"home": ax, "zorder": artist.get_zorder() - 0.05, "points": False, "transform": None, "width": 1.2,
            "style": "-"}
    try:
        if isinstance(artist, Line2D):
            x = np.asarray(artist.get_xdata(), dtype=float).ravel()
            y = np.asarray(artist.get_ydata(), dtype=float).ravel()
            if artist.get_transform() is not ax.transData:
                spec["transform"] = artist.get_transform()
            spec.update(color=to_rgba(artist.get_color()), width=max(artist.get_linewidth(), 1.0),
                        points=artist.get_linestyle() in ("None", "none", "", " "), style=artist.get_linestyle())
        elif isinstance(artist, ContourSet) and not artist.filled:
            x, y = _joined([seg for level in artist.allsegs for seg in level])
            spec["color"] = to_rgba(artist.get_edgecolor()[0]) if len(artist.get_edgecolor()) else (0, 0, 0, 1)
        elif isinstance(artist, StepPatch):
            values, edges, _ = artist.get_data()
            x, y = np.repeat(np.asarray(edges, float), 2)[1:-1], np.repeat(np.asarray(values, float), 2)
            if artist.orientation == "horizontal":
                x, y = y, x
            spec["color"] = to_rgba(artist.get_edgecolor())
        else:
            return None
    except (TypeError, ValueError):  # categorical or unit data: not copied
        return None
    if x.size == 0 or x.shape != y.shape:
        return None
    spec.update(x=x, y=y)
    return spec


def _bar_outline_spec(ax, container):
    outlines = []
    for bar in container.patches:
        x0, y0, w, h = bar.get_x(), bar.get_y(), bar.get_width(), bar.get_height()
        outlines.append(np.array([[x0, y0], [x0, y0 + h], [x0 + w, y0 + h], [x0 + w, y0]]))
    x, y = _joined(outlines)
    color = to_rgba(container.patches[0].get_facecolor())
    return {"home": ax, "zorder": container.patches[0].get_zorder() + 0.05, "points": False, "transform": None,
            "width": 1.2, "x": x, "y": y, "color": color}


def _joined(segments):
    """Polylines joined into one (x, y) pair with NaN between them, so one Line2D draws them all."""
    if not segments:
        return np.array([]), np.array([])
    parts = []
    for seg in segments:
        parts += [np.asarray(seg, dtype=float).reshape(-1, 2), np.full((1, 2), np.nan)]
    joined = np.concatenate(parts[:-1])
    return joined[:, 0], joined[:, 1]


def mark_diverged(ax, message: str) -> None:
    """Write `message` across the middle of `ax` in a box, so a NaN run never shows a blank plot."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=11,
            color=OKABE_ITO["vermilion"], bbox={"boxstyle": "round", "fc": "white", "ec": OKABE_ITO["vermilion"]},
            zorder=10)


def loss_curves(ax, history, title: str | None = None, log: bool = True, mark_best: bool = True) -> None:
    """Draw a `helpers.train.History`'s training and validation loss against the update step.

    The loss axis is logarithmic if `log` and every loss is positive. `mark_best` draws a dotted line
    at the evaluation with the lowest validation loss. Non-finite values are left out; a diverged run
    gets a "diverged at step N" box.
    """
    clear_artists(ax)
    steps = np.asarray(history.step)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        values = np.asarray(getattr(history, key), dtype=float)
        ok = np.isfinite(values)
        ax.plot(steps[ok], values[ok], color=COLORS["train" if key == "train_loss" else "val"], label=label)
    if log and _all_positive(history.train_loss + history.val_loss):
        _set_yscale(ax, "log")
        ax.set_ylabel("loss (log scale)")
    else:
        _set_yscale(ax, "linear")
        ax.set_ylabel("loss")
    ax.set_xlabel("update step")
    if mark_best and history.best_step is not None:
        ax.axvline(history.best_step, color=COLORS["marker"], linestyle=":", linewidth=1,
                   label=f"lowest validation loss (step {history.best_step})")
    if history.diverged:
        mark_diverged(ax, f"diverged at step {history.diverged_at}\n(loss became NaN or infinite)")
    ax.legend(loc="best")  # where it hides the least of the curves
    ax.set_title(title or "Loss: does validation follow training down?")


def decision_boundary(ax, model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, resolution: int = 100,
                      title: str | None = None, X_val: torch.Tensor | None = None,
                      y_val: torch.Tensor | None = None) -> None:
    """Shade the model's predicted probability of class 1 over the plane and scatter the points.

    Training points are filled circles; validation points (if given) are hollow.
    """
    clear_artists(ax)
    points = X if X_val is None else torch.cat([X, X_val])
    lo = points.min(dim=0).values.numpy() - 0.5
    hi = points.max(dim=0).values.numpy() + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        prob = torch.sigmoid(model(grid).squeeze(-1)).numpy().reshape(gx.shape)
    model.train(was_training)
    if np.isfinite(prob).all():
        ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap=BOUNDARY_CMAP, alpha=0.8)
        ax.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1)
    else:
        mark_diverged(ax, "the network's output is NaN:\nno boundary to draw")
    colors = np.where(y.numpy() > 0.5, COLORS["class1"], COLORS["class0"])
    ax.scatter(X[:, 0], X[:, 1], c=colors, s=14, edgecolors="black", linewidths=0.4, label="train")
    if X_val is not None:
        val_colors = np.where(y_val.numpy() > 0.5, COLORS["class1"], COLORS["class0"])
        ax.scatter(X_val[:, 0], X_val[:, 1], facecolors="none", edgecolors=val_colors, s=14, linewidths=0.8,
                   label="validation")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("feature $x_1$")
    ax.set_ylabel("feature $x_2$")
    ax.set_title(title or "Decision boundary (black line: p = 0.5)")


def _set_yscale(ax, scale: str) -> None:
    if ax.get_yscale() != scale:  # setting the same scale again would reset the tick locators
        ax.set_yscale(scale)


def _all_positive(values) -> bool:
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0
