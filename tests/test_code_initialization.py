"""Lesson 1's "code" scripts: run each in a fresh interpreter and compare every number it prints with the
panel's own compute for the same setting and seed (helpers.code_export.run_script)."""

import math

import pytest

from helpers import code_export
from helpers import initialization as lesson
from helpers.initialization_code import explorer_code, layers_code, training_code


def _close(name, value, expected):
    assert math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6), (name, value, expected)


@pytest.mark.parametrize("settings", [
    dict(scheme="xavier_normal", std=0.01, activation="tanh", depth=50, width=256, bias=0.0, input_mean=0.0,
         input_scale=1.0, seed=0),
    dict(scheme="normal", std=0.01, activation="sigmoid", depth=30, width=64, bias=0.1, input_mean=0.0,
         input_scale=1.0, seed=0),  # N(0, 0.01^2) underflows: the script stops where the panel stops
])
def test_explorer_script_prints_the_panels_numbers(settings):
    printed = code_export.run_script(explorer_code(**settings))
    stats = lesson.explorer_compute(**settings)
    measured = stats.stopped_at - 1 if stats.stopped_at else len(stats.post_std)
    assert printed.get("stopped_at_layer") == stats.stopped_at
    for k in range(1, measured + 1):
        _close(f"std_h_{k}", printed[f"std_h_{k}"], stats.post_std[k - 1])
        if settings["activation"] == "relu":
            assert printed[f"dead_{k}"] == stats.dead[k - 1]
        if settings["activation"] in ("tanh", "sigmoid"):
            assert printed[f"saturated_{k}"] == stats.saturated[k - 1]
    grads = {k: v for k, v in enumerate(stats.grad_rms, 1) if math.isfinite(v)}
    assert {name for name in printed if name.startswith("grad_rms_")} == {f"grad_rms_{k}" for k in grads}
    for k, value in grads.items():
        _close(f"grad_rms_{k}", printed[f"grad_rms_{k}"], value)


@pytest.mark.parametrize("settings", [
    dict(scheme="He", activation="relu", depth=10, optimizer="sgd", seed=0),
    dict(scheme="N(0, 1)", activation="relu", depth=10, optimizer="sgd", seed=0),  # diverges
])
def test_training_script_prints_the_panels_numbers(settings):
    printed = code_export.run_script(training_code(**settings))
    history = lesson.traced_run(**settings)[2]
    if history.diverged:
        assert printed == {"diverged_at": history.diverged_at}
        return
    assert set(printed) == {"final_train_loss", "final_val_loss", "final_val_acc"}
    _close("final_train_loss", printed["final_train_loss"], history.train_loss[-1])
    _close("final_val_loss", printed["final_val_loss"], history.val_loss[-1])
    assert printed["final_val_acc"] == history.val_acc[-1]


@pytest.mark.parametrize("settings", [
    dict(scheme="N(0, 0.01²)", activation="relu", depth=10, optimizer="sgd", layer="last", seed=0),
    dict(scheme="Xavier", activation="tanh", depth=5, optimizer="adam", layer="middle", seed=1),
])
def test_layers_script_prints_the_panels_numbers(settings):
    printed = code_export.run_script(layers_code(**settings))
    layer = settings.pop("layer")
    _, _, history, trace = lesson.traced_run(**settings)
    hidden = trace.hist.shape[0]
    for name in ("near_zero", "mean", "std"):
        values = getattr(trace, name)
        for k in range(hidden):
            _close(f"{name}_layer{k + 1}_first", printed[f"{name}_layer{k + 1}_first"], values[k, 0])
            _close(f"{name}_layer{k + 1}_last", printed[f"{name}_layer{k + 1}_last"], values[k, -1])
    assert printed["records"] == len(trace.steps)
    assert printed["last_recorded_step"] == trace.steps[-1]
    shown = {"first": 0, "middle": (hidden - 1) // 2, "last": hidden - 1}[layer]
    assert printed[f"count_near_0_layer{shown + 1}_last"] == trace.hist[shown, -1, 0]


def test_every_lesson_1_panel_has_its_code_button():
    from helpers import initialization_plots as panels

    for factory, code in ((panels.explorer_panel, explorer_code), (panels.training_panel, training_code),
                          (panels.layers_panel, layers_code)):
        panel = factory(depth=4)
        assert panel.code is code
