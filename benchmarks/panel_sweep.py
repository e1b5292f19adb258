"""Runs inside a notebook's kernel after Run All: times every LivePanel's own compute and draw.

For each panel, every control is moved to several values (the others at their defaults), the
cache is bypassed (each call does the real work), and each setting is timed `repeats` times:
    compute  panel.compute(**values, seed=)             (training / statistics)
    draw     panel.draw(result, **values)               (matplotlib artists)
    render   fig.canvas.draw() + PNG encode of the canvas (what ipympl sends the browser)
One warm-up call per panel is excluded. The floor beside each panel is measured in the same run:
every `helpers.train.train` call a compute made is replayed as a bare PyTorch loop (same model
copy, data, optimizer, steps; no evaluation passes, no History), plus one render of an empty
figure of the same size and number of axes.
"""

import copy
import io
import json
import statistics
import sys
import time

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

import helpers.train
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


class TrainRecorder:
    """Replace helpers.train.train everywhere it was imported, recording each call's arguments."""

    def __init__(self):
        self.original = helpers.train.train
        self.calls: list[dict] = []
        self.patched: list[tuple] = []

    def __enter__(self):
        def recording_train(model, split, *args, **kwargs):
            self.calls.append({"model": copy.deepcopy(model), "split": split, "args": args, "kwargs": kwargs})
            return self.original(model, split, *args, **kwargs)

        for module in list(sys.modules.values()):
            for name, value in list(getattr(module, "__dict__", {}).items()):
                if value is self.original:
                    self.patched.append((module, name))
                    setattr(module, name, recording_train)
        return self

    def __exit__(self, *exc):
        for module, name in self.patched:
            setattr(module, name, self.original)


def bare_loop_seconds(call: dict) -> float:
    """The same training as one recorded call, as a plain loop with nothing around it."""
    names = ["steps", "lr", "optimizer", "loss", "batch_size", "weight_decay", "momentum"]
    params = {"steps": 300, "lr": 1e-2, "optimizer": "adam", "loss": "bce", "batch_size": None,
              "weight_decay": 0.0, "momentum": 0.0}
    params.update(dict(zip(names, call["args"], strict=False)))
    params.update({k: v for k, v in call["kwargs"].items() if k in params})
    model, split = copy.deepcopy(call["model"]), call["split"]
    opt = helpers.train.make_optimizer(params["optimizer"], model.parameters(), params["lr"],
                                       params["weight_decay"], params["momentum"])
    X, y = split.X_train, split.y_train
    if params["batch_size"] is not None:
        X, y = X[: params["batch_size"]], y[: params["batch_size"]]
    started = time.perf_counter()
    model.train()
    for _ in range(params["steps"]):
        opt.zero_grad()
        helpers.train.data_loss(model(X), y, params["loss"]).backward()
        opt.step()
    return time.perf_counter() - started


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
    seconds = statistics.median(render_seconds(blank) for _ in range(3))
    plt.close(blank)
    return seconds


def sweep_panel(panel: LivePanel, values_per_control: int, repeats: int) -> dict:
    defaults = panel.values
    seed = panel.seed
    settings = [dict(defaults)]
    for name, widget in panel.controls.items():
        for value in control_values(widget, values_per_control):
            setting = {**defaults, name: value}
            if setting not in settings:
                settings.append(setting)

    def kwargs_of(setting):
        return setting if seed is None else {**setting, "seed": seed}

    panel.draw(panel.compute(**kwargs_of(defaults)), **defaults)  # warm-up, excluded
    compute, draw, render, floor_train = [], [], [], []
    with TrainRecorder() as recorder:
        for setting in settings:
            for _ in range(repeats):
                recorder.calls.clear()
                t0 = time.perf_counter()
                result = panel.compute(**kwargs_of(setting))
                t1 = time.perf_counter()
                panel.draw(result, **setting)
                t2 = time.perf_counter()
                render.append(render_seconds(panel.fig))
                compute.append(t1 - t0)
                draw.append(t2 - t1)
                calls = list(recorder.calls)
            floor_train.append(sum(bare_loop_seconds(call) for call in calls) if calls else 0.0)
    panel.draw(panel.compute(**kwargs_of(defaults)), **defaults)
    total = [c + d + r for c, d, r in zip(compute, draw, render, strict=True)]
    blank = blank_render_seconds(panel.fig)
    return {
        "controls": list(panel.controls),
        "settings": len(settings),
        "compute": compute, "draw_render": [d + r for d, r in zip(draw, render, strict=True)], "total": total,
        "floor_train_median": statistics.median(floor_train),
        "train_calls_seen": any(v > 0 for v in floor_train),
        "floor_render": blank,
    }


def sweep_all(values_per_control: int = 4, repeats: int = 3) -> None:
    """Sweep every live panel of this kernel and print one JSON line for the driver."""
    torch.set_num_threads(1)
    results = [sweep_panel(p, values_per_control, repeats) for p in LivePanel.live_instances()]
    print("BENCH_JSON " + json.dumps(results))
