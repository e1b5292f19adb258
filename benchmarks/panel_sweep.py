"""Runs inside a notebook's kernel after Run All: times every LivePanel's own compute and draw.

For each panel, every control is moved to several values (the others at their defaults), the
cache is bypassed (each call does the real work), and each setting is timed `repeats` times:
    compute  panel.compute(**values, seed=)             (training / statistics)
    draw     panel.draw(result, **values)               (matplotlib artists)
    render   fig.canvas.draw() + PNG encode of the canvas (what ipympl sends the browser)
One warm-up call per panel is excluded. The floor beside each panel is measured in the same run:
the PyTorch work the compute did, replayed bare (`benchmarks.floors`), plus one render of a
figure of the same size and axes holding one line each. Beside it, `repaint`: after each setting,
the panel's own figure rendered once more with nothing changed (median over the settings): the
cost of painting these pictures at all.
With `profile=True`, each panel's compute, draw and render of every setting also run once under
cProfile (nothing of the benchmark's own) and the functions that took most of that time are
listed: where the time goes, not a timing (cProfile slows Python code down).
"""

import cProfile
import io
import json
import pstats
import statistics
import time

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from benchmarks.floors import WorkRecorder
from helpers.widgets import LivePanel


def control_values(widget, n: int) -> list:
    """Up to `n` values of a control spread over its range, its default included."""
    if isinstance(widget, W.Dropdown):
        options = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        return options[:n]
    if isinstance(widget, W.FloatLogSlider):
        grid = 10 ** np.linspace(widget.min, widget.max, n)
        return sorted({float(v) for v in grid} | {widget.value})
    if isinstance(widget, (W.IntSlider, W.FloatSlider)):
        grid = np.linspace(widget.min, widget.max, n)
        step = widget.step
        snapped = [widget.min + round((v - widget.min) / step) * step for v in grid]
        cast = int if isinstance(widget, W.IntSlider) else float
        return sorted({cast(v) for v in snapped} | {widget.value})
    return [widget.value]


def render_seconds(fig) -> float:
    started = time.perf_counter()
    fig.canvas.draw()
    buffer = np.asarray(fig.canvas.buffer_rgba())
    Image.fromarray(buffer).save(io.BytesIO(), format="png")
    return time.perf_counter() - started


def blank_render_seconds(fig) -> float:
    width, height = fig.get_size_inches()
    with plt.ioff():
        blank = plt.figure(figsize=(width, height), dpi=fig.dpi)
    for ax in fig.axes:
        blank.add_axes(ax.get_position()).plot([0, 1], [0, 1])
    seconds = statistics.median(render_seconds(blank) for _ in range(7))
    plt.close(blank)
    return seconds


def settings_of(panel: LivePanel, values_per_control: int) -> list[dict]:
    """The defaults, then each control alone at up to `values_per_control` values (the others at their defaults)."""
    defaults = panel.values
    settings = [dict(defaults)]
    for name, widget in panel.controls.items():
        for value in control_values(widget, values_per_control):
            setting = {**defaults, name: value}
            if setting not in settings:
                settings.append(setting)
    return settings


def with_seed(panel: LivePanel, setting: dict) -> dict:
    return setting if panel.seed is None else {**setting, "seed": panel.seed}


def sweep_panel(panel: LivePanel, values_per_control: int, repeats: int) -> dict:
    settings = settings_of(panel, values_per_control)
    defaults = settings[0]
    panel.draw(panel.compute(**with_seed(panel, defaults)), **defaults)  # warm-up, excluded
    compute, draw, render, floor_train, repaint = [], [], [], [], []
    for setting in settings:
        for _ in range(repeats):
            with WorkRecorder() as recorder:
                t0 = time.perf_counter()
                result = panel.compute(**with_seed(panel, setting))
                t1 = time.perf_counter()
            panel.draw(result, **setting)
            t2 = time.perf_counter()
            render.append(render_seconds(panel.fig))
            compute.append(t1 - t0 - recorder.overhead)
            draw.append(t2 - t1)
            floor_train.append(recorder.replay_seconds())
        repaint.append(render_seconds(panel.fig))  # the same picture again, nothing changed
    panel.draw(panel.compute(**with_seed(panel, defaults)), **defaults)
    total = [c + d + r for c, d, r in zip(compute, draw, render, strict=True)]
    return {
        "controls": list(panel.controls),
        "settings": len(settings),
        "compute": compute, "draw_render": [d + r for d, r in zip(draw, render, strict=True)], "total": total,
        "floor_train_median": statistics.median(floor_train),
        "work_replayed": any(v > 0 for v in floor_train),
        "floor_render": blank_render_seconds(panel.fig),
        "repaint": statistics.median(repaint),
    }


def profile_panel(panel: LivePanel, values_per_control: int, top: int) -> str:
    """The `top` functions by cumulative time over compute + draw + render of every setting (nothing else)."""
    profiler = cProfile.Profile()
    for setting in settings_of(panel, values_per_control):
        profiler.enable()
        panel.draw(panel.compute(**with_seed(panel, setting)), **setting)
        render_seconds(panel.fig)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def sweep_all(values_per_control: int = 4, repeats: int = 3, profile: bool = False, top: int = 25) -> None:
    """Sweep every live panel of this kernel and print one JSON line for the driver."""
    torch.set_num_threads(1)
    panels = LivePanel.live_instances()
    results = [sweep_panel(p, values_per_control, repeats) for p in panels]
    if profile:
        for p, result in zip(panels, results, strict=True):
            result["profile"] = profile_panel(p, values_per_control, top)
    print("BENCH_JSON " + json.dumps(results))
