"""The live slider panel every lesson uses.

Data flows one way:

    slider values -> compute(**values)   (pure, cached: training or statistics, returns plain data)
                  -> draw(result, **values)  (updates the axes of a figure made once)
                  -> fig.canvas.draw_idle()

    fig, (ax_boundary, ax_loss) = plots.figure(ncols=2)
    panel = LivePanel(compute=train_moons, draw=draw_moons, fig=fig,
                      controls={"width": int_slider("hidden width", 2, 64, 2, 8)}, seed=0)
    panel

With `seed` set, `compute` also receives `seed=` and the panel shows it, with a "new seed"
button (same settings, another draw of data and initial weights: how much of the plot is
luck?) and a "reset" button (back to the first settings and seed). Results are cached per
(settings, seed), so going back to a setting is instant; once a move's picture is rendered, the
settings one step away on each control are computed ahead, one at a time, while the learner looks
(`helpers.prefetch`; the status line says "computed ahead" when a move lands on one of them). An
exception raised while the
learner moves a slider is shown under the panel, in red, not only in the log console.
Retraining sliders never fire while being dragged (`continuous_update=False`).

Two more buttons compare and take home. "pin" copies the curves the figure shows now into faded,
faded ghosts labelled with their settings (`plots.pin_ghosts`); they stay while the learner moves
the controls or draws a new seed, and "unpin" or "reset" removes them (one pinned setting at a
time). "code" (when the panel has `code=`) opens a box with a short, self-contained PyTorch script
for the current settings and seed (`code(**values, seed=seed)`, see `helpers.code_export`), which
reproduces the panel's central numbers and prints them; the box follows every move while open.

A panel's display also carries a PNG of its figure as it was drawn when the cell ran (`PictureFallback`),
so a page without a kernel (GitHub, nbviewer, an HTML export, the course's static site) shows the
default setting's plot where a live notebook shows the panel.
"""

import base64
import html
import io
import time
import traceback
import weakref
from collections import OrderedDict
from collections.abc import Callable

import ipywidgets as W

from helpers import plots, prefetch
from helpers._check import check_float, check_int

BUSY_AFTER_SECONDS = 0.3
CACHE_SIZE = 256
_STYLE = {"description_width": "initial"}
_LAYOUT = W.Layout(width="340px")


def int_slider(description: str, min: int, max: int, step: int = 1, value: int | None = None) -> W.IntSlider:
    """An integer slider that fires once, on release."""
    check_int("min", min)
    check_int("max", max, min + 1)
    check_int("step", step, 1)
    return W.IntSlider(value=min if value is None else value, min=min, max=max, step=step, description=description,
                       continuous_update=False, style=_STYLE, layout=_LAYOUT)


def float_slider(description: str, min: float, max: float, step: float, value: float | None = None,
                 readout_format: str = ".2f") -> W.FloatSlider:
    """A float slider that fires once, on release."""
    check_float("min", min)
    check_float("max", max, min)
    check_float("step", step, 0.0, low_open=True)
    return W.FloatSlider(value=min if value is None else value, min=min, max=max, step=step,
                         description=description, continuous_update=False, readout_format=readout_format,
                         style=_STYLE, layout=_LAYOUT)


def log_slider(description: str, min: float, max: float, value: float, steps_per_decade: int = 4,
               readout_format: str = ".1e") -> W.FloatLogSlider:
    """A slider over [min, max] on a log scale (for learning rates, lambdas, stds), on release."""
    check_float("min", min, 0.0, low_open=True)
    check_float("max", max, min, low_open=True)
    check_float("value", value, min, max)
    check_int("steps_per_decade", steps_per_decade, 1)
    from math import log10

    return W.FloatLogSlider(value=value, base=10, min=log10(min), max=log10(max), step=1 / steps_per_decade,
                            description=description, continuous_update=False, readout_format=readout_format,
                            style=_STYLE, layout=_LAYOUT)


def choice(description: str, options, value=None) -> W.Dropdown:
    """A drop-down list. `options` is a list of values or of (label, value) pairs."""
    if not options:
        raise ValueError("options must not be empty")
    dropdown = W.Dropdown(options=options, description=description, style=_STYLE, layout=_LAYOUT)
    if value is not None:
        dropdown.value = value
    return dropdown


def settings_label(values: dict, seed: int | None = None) -> str:
    """A short label of a panel's settings, e.g. "width=8, lr=0.01, seed 0" (floats to 3 significant digits)."""
    parts = [f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}" for name, value in values.items()]
    if seed is not None:
        parts.append(f"seed {seed}")
    return ", ".join(parts)


def figure_png(fig) -> str:
    """The figure as a base64 PNG at its own dpi, as a notebook's `image/png` output holds it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi="figure")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class PictureFallback:
    """Mixin for a widget that holds a matplotlib figure in `self.fig`: its display bundle gets an `image/png`.

    A live front end (JupyterLab, Notebook 7, Colab) draws the widget view and ignores the picture; a viewer
    without a kernel draws the picture. The PNG is made once per display of the cell, never per slider move.
    Put it before the widget class: `class Drill(PictureFallback, W.VBox)`.
    """

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["image/png"] = figure_png(self.fig)
        return bundle


class LivePanel(PictureFallback, W.VBox):
    """Controls on top, the figure, a status line, and an error area that stays empty unless something breaks."""

    _instances: list = []  # weak references, so benchmarks/ can find every panel a notebook made

    @classmethod
    def live_instances(cls) -> list["LivePanel"]:
        """The panels made so far in this kernel that still exist, oldest first."""
        return [panel for ref in cls._instances if (panel := ref()) is not None]

    def __init__(self, compute: Callable, draw: Callable, fig, controls: dict[str, W.ValueWidget],
                 seed: int | None = 0, cache: bool = True, code: Callable | None = None):
        if not callable(compute) or not callable(draw):
            raise ValueError("compute and draw must be callables")
        if code is not None and not callable(code):
            raise ValueError(f"code must be a callable code(**values, seed=seed) -> str, or None; got {code!r}")
        if not isinstance(controls, dict) or not controls:
            raise ValueError("controls must be a non-empty dict of name -> widget")
        if seed is not None:
            check_int("seed", seed, 0)
        self.compute, self.draw, self.fig = compute, draw, fig
        self.controls = controls
        self.defaults = {name: widget.value for name, widget in controls.items()}
        self.first_seed = self.seed = seed
        self.use_cache = cache
        self.cache: OrderedDict = OrderedDict()
        self.last_result = None
        self.last_compute_seconds = 0.0
        self._quiet = False
        self.code = code
        self.pinned: dict | None = None  # {"values", "seed", "result", "label"} of the pinned setting
        self._ghosts: list[dict] = []
        self._how = ""
        self._last_move: tuple[str | None, int] = (None, 1)  # (control, +1 or -1): the likeliest next move first
        self.prefetcher = prefetch.Prefetcher(compute=lambda kwargs: self.compute(**kwargs), store=self._store,
                                              cached=lambda key: key in self.cache,
                                              discard=lambda key: self.cache.pop(key, None))
        self.prefetcher.enabled = self.prefetcher.enabled and cache
        fig.canvas.mpl_connect("draw_event", self.prefetcher.start)  # neighbours once the picture is rendered

        self.status = W.HTML("")
        self.status.add_class("course-panel-status")
        self.error = W.HTML("")
        self.error.add_class("course-panel-error")
        buttons = []
        if seed is not None:
            new_seed = W.Button(description="new seed", icon="random", tooltip="same settings, another random draw",
                                layout=W.Layout(width="110px"))
            new_seed.on_click(lambda _: self.set_seed(self.seed + 1))
            buttons.append(new_seed)
        reset = W.Button(description="reset", icon="undo", tooltip="back to the first settings and seed",
                         layout=W.Layout(width="90px"))
        reset.on_click(lambda _: self.reset())
        buttons.append(reset)
        self.pin_button = W.ToggleButton(description="pin", icon="thumb-tack", value=False,
                                         tooltip="keep the curves of this setting as a faded ghost while you move on",
                                         layout=W.Layout(width="90px"))
        self.pin_button.add_class("course-panel-pin")
        self.pin_button.observe(self._on_pin_button, names="value")
        buttons.append(self.pin_button)
        self.code_button = self.code_text = None
        extra = []
        if code is not None:
            self.code_button = W.ToggleButton(description="code", icon="code", value=False,
                                              tooltip="a short PyTorch script that reproduces this setting's numbers",
                                              layout=W.Layout(width="90px"))
            self.code_button.add_class("course-panel-code")
            self.code_button.observe(self._on_code_button, names="value")
            buttons.append(self.code_button)
            self.code_text = W.Textarea(value="", rows=16, layout=W.Layout(width="100%", display="none"))
            self.code_text.add_class("course-panel-code-text")
            self.code_text.observe(self._keep_code_text, names="value")
            extra = [W.HTML("<style>.course-panel-code-text textarea {font-family: monospace; font-size: 12px;"
                            " white-space: pre;}</style>"), self.code_text]
        for widget in controls.values():
            widget.observe(self._on_change, names="value")
        canvas = fig.canvas if isinstance(fig.canvas, W.DOMWidget) else W.Output()
        self._inline_out = None if canvas is fig.canvas else canvas
        if self._inline_out is not None:
            # Without ipympl the inline backend shows every figure pyplot still holds at the end of a cell:
            # this one is shown by the panel only.
            import matplotlib.pyplot as plt

            plt.close(fig)
        rows = [W.HBox(list(controls.values())[i:i + 2]) for i in range(0, len(controls), 2)]
        super().__init__([*rows, W.HBox([*buttons, self.status]), canvas, *extra, self.error])
        self.add_class("course-panel")
        LivePanel._instances.append(weakref.ref(self))
        self.update(raise_errors=True)  # the first draw runs in the cell: a bug fails the cell (and nbval)

    @property
    def values(self) -> dict:
        return {name: widget.value for name, widget in self.controls.items()}

    def set(self, **values) -> None:
        """Move several controls at once and redraw once (used by tests and by `reset`)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown controls {sorted(unknown)}; this panel has {sorted(self.controls)}")
        self._quiet = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._quiet = False
        self.update()

    def set_seed(self, seed: int) -> None:
        self.seed = check_int("seed", seed, 0)
        self.update()

    def reset(self) -> None:
        """Back to the first settings and seed; removes the pinned ghost."""
        self.unpin(redraw=False)
        self.seed = self.first_seed
        self.set(**self.defaults)

    def pin(self) -> None:
        """Keep the current setting's curves as a faded ghost (replacing an earlier one) and say so."""
        values = self.values
        self.pinned = {"values": values, "seed": self.seed, "result": self.last_result,
                       "label": settings_label(values, self.seed)}
        self._ghosts = plots.pin_ghosts(self.fig, self.pinned["label"])
        self._set_pin_button(True)
        self._show_figure()
        self._show_status()

    def unpin(self, redraw: bool = True) -> None:
        """Remove the ghost, if any."""
        self.pinned, self._ghosts = None, []
        plots.remove_ghosts(self.fig)
        self._set_pin_button(False)
        if redraw:
            self._show_figure()
            self._show_status()

    @property
    def code_text_value(self) -> str:
        """The script the "code" button shows for the current settings (computed on demand)."""
        if self.code is None:
            raise ValueError("this panel has no code= function")
        kwargs = dict(self.values) if self.seed is None else {**self.values, "seed": self.seed}
        text = self.code(**kwargs)
        if not isinstance(text, str):
            raise ValueError(f"code(...) must return the script as a str, got {type(text).__name__}")
        return text

    def _set_pin_button(self, pinned: bool) -> None:
        self._quiet_pin = True
        try:
            self.pin_button.value = pinned
            self.pin_button.description = "unpin" if pinned else "pin"
        finally:
            self._quiet_pin = False

    def _on_pin_button(self, change) -> None:
        if getattr(self, "_quiet_pin", False):
            return
        try:
            self.pin() if change["new"] else self.unpin()
        except Exception:
            self._show_error("pinning")

    def _on_code_button(self, change) -> None:
        self.code_text.layout.display = None if change["new"] else "none"
        if change["new"]:
            try:
                self._refresh_code()
                self.error.value = ""
            except Exception:
                self._show_error("making the code")

    def _refresh_code(self) -> None:
        self._code_shown = self.code_text_value
        self.code_text.value = self._code_shown

    def _keep_code_text(self, change) -> None:
        shown = getattr(self, "_code_shown", None)
        if shown is not None and change["new"] != shown:  # read-only: an edit is undone (copying still works)
            self.code_text.value = shown

    def _show_error(self, doing: str) -> None:
        self.error.value = ("<pre style='color:#D55E00;white-space:pre-wrap'>This panel hit an error while "
                            f"{doing}:\n{html.escape(traceback.format_exc())}</pre>")
        self.status.value = "<span style='color:#D55E00'>error: see below</span>"

    def _show_status(self) -> None:
        seed_text = "" if self.seed is None else f"seed {self.seed} &middot; "
        pinned = "" if self.pinned is None else f" &middot; pinned (faded): {html.escape(self.pinned['label'])}"
        self.status.value = f"<span style='color:#555'>{seed_text}{self._how}{pinned}</span>"

    def _on_change(self, change) -> None:
        if not self._quiet:
            name = next((n for n, w in self.controls.items() if w is change["owner"]), None)
            self._last_move = (name, _direction(change["owner"], change["old"], change["new"]))
            self.update()

    def _store(self, key: tuple, result) -> None:
        self.cache[key] = result
        if len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    def update(self, raise_errors: bool = False) -> None:
        """Compute (or fetch from the cache) and redraw for the current settings."""
        values = self.values
        kwargs = dict(values) if self.seed is None else {**values, "seed": self.seed}
        key = prefetch.cache_key(kwargs)
        try:
            started = time.perf_counter()
            if self.use_cache and key in self.cache:
                self.cache.move_to_end(key)
                result = self.cache[key]
                how = "computed ahead while you looked" if key in self.prefetcher.keys else "from cache"
                self.prefetcher.used(key)
            else:
                if self.last_compute_seconds > BUSY_AFTER_SECONDS:
                    self.status.value = "<span style='color:#E69F00'>&#9203; computing&hellip;</span>"
                result = self.compute(**kwargs)
                self.last_compute_seconds = time.perf_counter() - started
                how = f"computed in {self.last_compute_seconds:.2f} s"
                if self.use_cache:
                    self._store(key, result)
            self.last_result = result
            self.draw(result, **values)
            if self._ghosts:
                plots.keep_ghosts(self.fig, self._ghosts)  # a draw that cleared its axes gets the ghost back
            if self.code_button is not None and self.code_button.value:
                self._refresh_code()
            moved, direction = self._last_move
            self.prefetcher.schedule(kwargs, prefetch.neighbours(self.controls, moved, direction),
                                     self.last_compute_seconds)
            self._show_figure()
        except Exception:
            if raise_errors:
                raise
            self.error.value = ("<pre style='color:#D55E00;white-space:pre-wrap'>This panel hit an error "
                                f"(settings {html.escape(repr(kwargs))}):\n{html.escape(traceback.format_exc())}</pre>")
            self.status.value = "<span style='color:#D55E00'>error: see below</span>"
            return
        self.error.value = ""
        self._how = how
        self._show_status()

    def _show_figure(self) -> None:
        if self._inline_out is None:
            self.fig.canvas.draw_idle()
            return
        from IPython.display import display  # inline backend: re-display the figure as an image

        with self._inline_out:
            self._inline_out.clear_output(wait=True)
            display(self.fig)


def _direction(widget, old, new) -> int:
    """+1 if a control moved up (or to a later option), -1 if down."""
    if isinstance(widget, W.Dropdown):
        values = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        if old in values and new in values:
            return 1 if values.index(new) >= values.index(old) else -1
        return 1
    try:
        return 1 if new >= old else -1
    except TypeError:
        return 1
