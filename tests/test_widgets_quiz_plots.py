import math

import matplotlib.pyplot as plt
import pytest

from helpers import data, models, plots, quiz, train, widgets


def _panel(compute, draw=None, seed=0):
    fig, ax = plots.figure(ncols=1)
    draws = []

    def default_draw(result, width):
        draws.append((result, width))

    return widgets.LivePanel(compute, draw or default_draw, fig,
                             {"width": widgets.int_slider("width", 1, 10, 1, 2)}, seed=seed), draws


def test_panel_draws_on_creation_and_on_slider_change_and_caches():
    calls = []

    def compute(width, seed):
        calls.append((width, seed))
        return width * 10 + seed

    panel, draws = _panel(compute)
    assert draws == [(20, 2)]
    panel.controls["width"].value = 3
    assert draws[-1] == (30, 3)
    panel.controls["width"].value = 2  # visited before: from the cache
    assert calls == [(2, 0), (3, 0)] and "cache" in panel.status.value
    panel.set_seed(1)
    assert calls[-1] == (2, 1) and "seed 1" in panel.status.value
    panel.controls["width"].value = 7
    panel.reset()
    assert panel.seed == 0 and panel.controls["width"].value == 2 and draws[-1] == (20, 2)


def test_error_in_callback_is_shown_under_the_panel_not_raised():
    def compute(width, seed):
        if width == 5:
            raise RuntimeError("width five is cursed")
        return width

    panel, _ = _panel(compute)
    panel.controls["width"].value = 5
    assert "width five is cursed" in panel.error.value and "RuntimeError" in panel.error.value
    panel.controls["width"].value = 4
    assert panel.error.value == ""


def test_error_on_first_draw_raises_in_the_cell():
    with pytest.raises(ZeroDivisionError):
        _panel(lambda width, seed: 1 / 0)


def test_sliders_fire_on_release_only():
    for slider in (widgets.int_slider("a", 0, 5), widgets.float_slider("b", 0, 1, 0.1),
                   widgets.log_slider("c", 1e-4, 1, 1e-2)):
        assert slider.continuous_update is False
    assert widgets.log_slider("c", 1e-4, 1, 1e-2).value == pytest.approx(1e-2)


@pytest.mark.parametrize("call, name", [
    (lambda: widgets.int_slider("a", 5, 5), "max"), (lambda: widgets.log_slider("a", 0, 1, 0.5), "min"),
    (lambda: widgets.log_slider("a", 1e-3, 1, 5.0), "value"), (lambda: widgets.choice("a", []), "options"),
    (lambda: widgets.LivePanel(lambda: 0, lambda r: 0, plots.figure()[0], {}), "controls"),
])
def test_widget_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_multiple_choice_feedback():
    q = quiz.multiple_choice("2 + 2?", ["3", "4"], answer=1, explanation="Arithmetic.", hints={0: "Count again."})
    assert q.check(0) is False and "Count again" in q.feedback.value
    assert q.check(1) is True and "Correct" in q.feedback.value
    q.choice.value = "3"  # picking an option in the widget gives feedback at once
    assert "Not quite" in q.feedback.value
    with pytest.raises(ValueError, match="answer"):
        quiz.multiple_choice("?", ["a", "b"], answer=2, explanation="")


def test_numeric_feedback_tolerance_and_direction():
    q = quiz.numeric("1/3?", 1 / 3, explanation="A third.", rel_tol=0.01)
    assert q.check(0.333) is True
    assert q.check(0.5) is False and "too large" in q.feedback.value
    assert q.check("abc") is False and "number" in q.feedback.value
    q.entry.value = 0.3333
    assert "Correct" in q.feedback.value


def test_loss_curves_mark_divergence_and_label_axes():
    split = data.train_val_split(*data.moons(100, seed=0), seed=0)
    h = train.train(models.mlp(2, [64] * 6, init="normal", std=1.0, seed=0), split, steps=50, lr=10.0,
                    optimizer="sgd")
    assert h.diverged
    fig, ax = plt.subplots()
    plots.loss_curves(ax, h)
    texts = [t.get_text() for t in ax.texts]
    assert any("diverged at step" in t for t in texts)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(fig)


def test_decision_boundary_draws_and_handles_nan_model():
    X, y = data.moons(60, seed=0)
    fig, ax = plt.subplots()
    model = models.mlp(2, [8], seed=0)
    plots.decision_boundary(ax, model, X, y, resolution=20)
    assert ax.get_xlabel() and ax.get_title()
    with __import__("torch").no_grad():
        model[0].weight.fill_(math.nan)
    plots.decision_boundary(ax, model, X, y, resolution=20)
    assert any("NaN" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_palette_is_shared_and_distinct_for_train_and_validation():
    assert plots.COLORS["train"] != plots.COLORS["val"]
    assert set(plots.COLORS.values()) <= set(plots.OKABE_ITO.values())
    assert set(plots.SCHEME_COLORS) >= {"zeros", "normal", "xavier_normal", "he_normal", "lecun_normal",
                                         "pytorch_default"}


def test_clear_artists_removes_the_last_draw_but_keeps_the_ticks():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 10, 100], label="a")
    ax.bar([1, 2], [3, 4])
    ax.text(0.5, 0.5, "note")
    ax.legend()
    ax.set_yscale("log")
    fig.canvas.draw()
    tick = ax.yaxis.get_major_ticks()[0]
    plots.clear_artists(ax)
    assert not (ax.lines or ax.patches or ax.texts or ax.containers) and ax.get_legend() is None
    assert ax.get_yscale() == "log" and ax.yaxis.get_major_ticks()[0] is tick  # ticks are reused, not rebuilt
    ax.plot([0, 1], [5, 6])
    ax.autoscale_view()
    low, high = ax.get_ylim()
    assert 4 < low < 5 and 6 < high < 7  # limits follow the new data only
    plt.close(fig)


def _history(train_loss, val_loss, diverged_at=None):
    h = train.History(step=list(range(len(train_loss))), train_loss=list(train_loss), val_loss=list(val_loss))
    h.diverged_at = diverged_at
    return h


def test_loss_curves_scale_follows_log_and_redraws_do_not_pile_up():
    fig, ax = plt.subplots()
    plots.loss_curves(ax, _history([0.7, 0.1, 0.01], [0.7, 0.3, 0.4]))
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    plots.loss_curves(ax, _history([0.75, 0.72, 0.70], [0.76, 0.73, 0.71]), log=False)
    assert ax.get_yscale() == "linear" and "log" not in ax.get_ylabel()
    plots.loss_curves(ax, _history([0.7, 0.0], [0.7, 0.1]))  # a zero loss cannot go on a log axis
    assert ax.get_yscale() == "linear"
    plots.loss_curves(ax, _history([0.7, float("nan")], [0.7, float("nan")], diverged_at=1))
    plots.loss_curves(ax, _history([0.7, 0.6], [0.7, 0.65]))
    assert len(ax.lines) == 2 and not ax.texts  # one train and one validation line; no stale "diverged" box
    plt.close(fig)


def test_prediction_hides_the_measurement_until_there_is_a_guess():
    guess = quiz.predict("Layer 50's std?", choices=["about 1", "below 1e-40"])
    line = guess.reveal(measured="2.5e-95", answer=1, why="x0.1 per layer.")
    assert "2.5e-95" not in line.value and "guess" in line.value
    guess.set_guess(0)
    assert "2.5e-95" in line.value and "about 1" in line.value and "below 1e-40" in line.value
    guess.set_guess(1)
    assert "as you predicted" in line.value


def test_prediction_reveal_adds_the_hint_for_the_wrong_option_picked():
    guess = quiz.predict("?", choices=["a", "b", "c"])
    line = guess.reveal(measured="b", answer=1, why="Because.", hints={0: "a misses X.", 2: "c misses Y."})
    guess.set_guess(2)
    assert "c misses Y." in line.value and "a misses X." not in line.value
    guess.set_guess(1)
    assert "misses" not in line.value


def test_numeric_prediction_says_how_far_off_the_guess_was():
    guess = quiz.predict("Initial loss?", number=True)
    line = guess.reveal(measured="0.693", value=0.693, why="ln 2.")
    guess.entry.value = "not a number"
    assert guess.guess is None and "0.693" not in line.value
    guess.entry.value = "0.7"
    assert "within 10%" in line.value
    guess.entry.value = "1e-3"
    assert "off by a factor 6.9e+02" in line.value


def test_prediction_rejects_bad_arguments():
    with pytest.raises(ValueError):
        quiz.predict("?")
    with pytest.raises(ValueError):
        quiz.predict("?", choices=["only one"])
    with pytest.raises(ValueError):
        quiz.predict("?", choices=["a", "b"]).reveal(measured="1", why="", answer=5)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_panel_display_carries_a_png_of_its_current_figure_and_moves_make_none(monkeypatch):
    import base64

    fig, ax = plots.figure(ncols=1, width=4.0, height=2.0)
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(0, 10)

    def draw(result, width):
        line.set_ydata([0, result])

    panel = widgets.LivePanel(lambda width, seed: width, draw, fig,
                              {"width": widgets.int_slider("width", 1, 10, 1, 2)}, seed=0)
    pictures = []
    savefig = fig.savefig
    monkeypatch.setattr(fig, "savefig", lambda *a, **k: (pictures.append(1), savefig(*a, **k))[1])
    panel.controls["width"].value = 9
    panel.controls["width"].value = 3
    assert pictures == []  # the live redraw path makes no PNG
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and pictures == [1]
    png = base64.b64decode(bundle["image/png"])
    assert _png_size(png) == (round(4.0 * fig.dpi), round(2.0 * fig.dpi))
    panel.controls["width"].value = 9
    assert panel._repr_mimebundle_()["image/png"] != bundle["image/png"]  # the picture follows the settings


def test_panel_without_ipympl_takes_its_figure_out_of_pyplot():
    fig, _ = plots.figure(ncols=1)
    assert plt.fignum_exists(fig.number)
    widgets.LivePanel(lambda width, seed: width, lambda result, width: None, fig,
                      {"width": widgets.int_slider("width", 1, 10, 1, 2)}, seed=0)
    assert not plt.fignum_exists(fig.number)  # the inline backend will not show it a second time
