"""Compute a live panel's neighbouring settings while the learner looks at the plot.

A slider move that retrains a network costs its compute (0.05-0.2 s here) before anything can be drawn. Most moves
are one step from the setting on screen, so once a move's picture has been rendered, the panel computes, one at a
time, the settings one step away on each control and keeps them in its cache:

    update() draws setting S, then schedule(S, neighbours)
    the figure is rendered (its draw_event) -> start()
        kernel free for DELAY_S ->  compute(S with width + 1 step)   -> cache       (the control just moved, in the
        kernel free again       ->  compute(S with width - 1 step)   -> cache        same direction first, then
        ...                          compute(S with noise +- 1 step) -> cache        back, then the other controls)
    a new move                  ->  a new schedule; what was left of the old one is dropped, and so are the
                                    results it computed that the learner did not use (memory: a result can
                                    hold a training run's records, megabytes); at most MAX_AHEAD per move

Each compute runs on the kernel's main event loop, between messages, never in a thread of its own. It starts only
after the picture of the last move has been rendered: in JupyterLab 4 with ipykernel 7, ipympl's draw request is
handled on a kernel subshell thread, and a compute running beside that render would slow it down. A move that
arrives while a neighbour is being computed waits for that one compute at most. Outside a running kernel (tests,
scripts, nbval without a front end) nothing is scheduled. Results are the panel's own `compute` output for exactly
those settings (the compute is pure), so a prefetched setting draws exactly what a live one would.
"""

import math
from collections.abc import Callable

import ipywidgets as W

DELAY_S = 0.1  # after the render: its PNG encode and send (10-15 ms on a quiet machine) finish first
# A move that lands off the prefetched settings waits for the one compute in flight, then does its own: prefetching
# only panels whose compute takes at most this keeps such a move's worst case near 2 x 0.25 s + its draw.
MAX_COMPUTE_S = 0.25
MAX_AHEAD = 8  # neighbours computed ahead per move, the likeliest first; unused ones are dropped at the next move


def cache_key(kwargs: dict) -> tuple:
    """The cache key of a setting: floats rounded to 12 significant digits, so 0.2 + 0.05 and the browser's 0.25
    (or 10 ** -2.25 computed in JavaScript and in Python) are the same setting."""
    return tuple(sorted((name, float(f"{value:.12g}") if isinstance(value, float) else value)
                        for name, value in kwargs.items()))


def neighbours(controls: dict[str, W.ValueWidget], moved: str | None = None, direction: int = 1) -> list[dict]:
    """The settings one step away on each control, as {name: value} changes, most likely first: the control just
    moved, in the direction it moved, then back; then every other control, up then down.

    Sliders step by their `step` (log sliders by their exponent step) within [min, max]; drop-downs to the option
    before and after the current one."""
    order = sorted(controls, key=lambda name: name != moved)
    changes = []
    for name in order:
        steps = (direction, -direction) if name == moved else (1, -1)
        for sign in steps:
            value = _step(controls[name], sign)
            if value is not None:
                changes.append({name: value})
    return changes


def _step(widget, sign: int):
    if isinstance(widget, W.Dropdown):
        values = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        index = values.index(widget.value) + sign if widget.value in values else -1
        return values[index] if 0 <= index < len(values) else None
    if isinstance(widget, W.FloatLogSlider):
        exponent = math.log10(widget.value) + sign * widget.step
        if exponent < widget.min - 1e-9 or exponent > widget.max + 1e-9:
            return None
        return widget.base ** round(exponent, 10)
    if isinstance(widget, (W.IntSlider, W.FloatSlider)):
        value = widget.value + sign * widget.step
        if value < widget.min - 1e-9 or value > widget.max + 1e-9:
            return None
        return int(value) if isinstance(widget, W.IntSlider) else round(value, 10)
    return None


def _kernel_loop():
    """The running kernel's event loop, or None outside a kernel."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    if not Kernel.initialized():
        return None
    return getattr(Kernel.instance(), "io_loop", None)


class Prefetcher:
    """Schedules a panel's neighbouring settings, one compute per turn of the kernel's event loop.

    `compute(kwargs) -> result`, `store(key, result)` and `discard(key)` are the panel's cache; `cached(key)`
    says whether a key is there. `enabled` is False outside a kernel; `prefetched` counts the settings computed
    ahead; `used(key)` marks one the learner moved to (kept in the cache like any setting shown)."""

    def __init__(self, compute: Callable[[dict], object], store: Callable[[tuple, object], None],
                 cached: Callable[[tuple], bool], discard: Callable[[tuple], None] = lambda key: None):
        self.compute, self.store, self.cached, self.discard = compute, store, cached, discard
        self.loop = _kernel_loop()
        self.enabled = self.loop is not None
        self.generation = 0
        self.pending: tuple[int, list[dict]] | None = None
        self.prefetched = 0
        self.keys: set[tuple] = set()  # settings this prefetcher computed (the status line says so)
        self.unused: list[tuple] = []  # computed ahead, not moved to yet

    def used(self, key: tuple) -> None:
        if key in self.unused:
            self.unused.remove(key)

    def schedule(self, base: dict, changes: list[dict], compute_seconds: float) -> None:
        """Drop what is left of the last schedule; `base` with each of `changes` applied waits for `start()`."""
        self.generation += 1
        self.pending = None
        for key in self.unused:
            self.discard(key)
            self.keys.discard(key)
        self.unused = []
        if self.enabled and compute_seconds <= MAX_COMPUTE_S:
            self.pending = (self.generation, [{**base, **change} for change in changes][:MAX_AHEAD])

    def start(self, *_event) -> None:
        """Begin the scheduled computes on the kernel's loop (callable from any thread: a figure's draw_event)."""
        if self.pending is None:
            return
        generation, todo = self.pending
        self.pending = None
        self.loop.add_callback(self.loop.call_later, DELAY_S, self._next, generation, todo)

    def _next(self, generation: int, pending: list[dict]) -> None:
        if generation != self.generation:
            return  # the learner moved since: this schedule is stale
        while pending:
            kwargs = pending.pop(0)
            key = cache_key(kwargs)
            if self.cached(key):
                continue
            try:
                result = self.compute(kwargs)
            except Exception:  # a setting that fails is shown, with its error, if the learner moves there
                continue
            self.store(key, result)
            self.keys.add(key)
            self.unused.append(key)
            self.prefetched += 1
            break
        if pending:
            self.loop.call_later(0, self._next, generation, pending)

