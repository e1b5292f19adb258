"""Unit tests of helpers.drill: the rule that reads a label off curves, and the drill widget."""

import pytest

from helpers import drill, train


def make_history(train_loss, val_loss):
    h = train.History()
    h.step = list(range(0, 10 * len(train_loss), 10))
    h.train_loss, h.val_loss = list(train_loss), list(val_loss)
    h.best_step = h.step[min(range(len(val_loss)), key=val_loss.__getitem__)]
    return h


def test_diagnose_rules():
    assert drill.diagnose(make_history([0.7, 0.3, 0.05, 0.01], [0.7, 0.3, 0.5, 0.9])) == "overfit"
    assert drill.diagnose(make_history([0.7, 0.5, 0.45, 0.45], [0.7, 0.5, 0.46, 0.46])) == "underfit"
    assert drill.diagnose(make_history([0.7, 0.2, 0.08, 0.07], [0.7, 0.2, 0.1, 0.1])) == "good fit"


def test_still_falling():
    assert drill.still_falling(make_history([0.7, 0.6, 0.5, 0.4, 0.3], [0.7] * 5))
    assert not drill.still_falling(make_history([0.7, 0.4, 0.4, 0.4, 0.4], [0.7] * 5))


def test_drill_rounds_cover_every_setting_and_feedback_shows():
    d = drill.Drill(seed=0)
    seen = set()
    for _ in range(4):
        seen.add(d.name)
        setting = drill.SETTINGS[d.name]
        wrong = next(label for label in drill.LABELS if label != setting.label)
        assert d.answer(wrong) is False
        assert "not" in d.feedback.value
        assert d.answer(setting.label, setting.remedy) is True
        assert "Remedy right" in d.feedback.value and "hidden setting" in d.feedback.value
        d.new_round()
    assert seen == set(drill.SETTINGS)
    assert d.round == 5


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="name"):
        drill.run_setting("huge")
    with pytest.raises(ValueError, match="seed"):
        drill.run_setting("good", seed=-1)
    d = drill.Drill(seed=1)
    with pytest.raises(ValueError, match="label"):
        d.answer("fine")
    with pytest.raises(ValueError, match="remedy"):
        d.answer("overfit", "pray")


def test_labelled_run_draws_again_until_the_rule_agrees(monkeypatch):
    import random

    calls = []

    def fake_run(name, seed):
        calls.append(seed)
        h = make_history([0.7, 0.2, 0.08, 0.07], [0.7, 0.2, 0.1, 0.1])          # reads as a good fit
        if len(calls) < 3:
            h = make_history([0.7, 0.3, 0.05, 0.01], [0.7, 0.3, 0.5, 0.9])      # reads as overfit: rejected
        return h

    monkeypatch.setattr(drill, "run_setting", fake_run)
    rng = random.Random(0)
    seed, history = drill.labelled_run("good", rng)
    assert len(calls) == 3 and seed == calls[-1] and drill.diagnose(history) == "good fit"
    calls.clear()
    with pytest.raises(RuntimeError, match="no seed"):
        drill.labelled_run("too_small", rng, max_tries=2)   # overfit curves never read as underfit
    with pytest.raises(ValueError):
        drill.labelled_run("nonsense", rng)
