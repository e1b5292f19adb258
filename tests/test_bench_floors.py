"""The benchmark's floor recorder: it must see a panel's PyTorch work, once, and leave the helpers as they were."""

import helpers.probes
import helpers.train
from benchmarks.floors import WorkRecorder
from helpers import data, models, remedies


def test_recorder_sees_calls_through_other_modules_and_restores_the_helpers():
    original = helpers.train.train
    with WorkRecorder() as recorder:
        assert helpers.train.train is not original
        run = remedies.train_moons(n_train=8, width=4, steps=3, eval_every=3)  # calls train.train inside remedies
    assert helpers.train.train is original and remedies.train.train is original
    assert len(recorder.calls) == 1
    call = recorder.calls[0]
    assert call["original"] is original and call["arguments"]["steps"] == 3 and call["result"] is run.history
    assert recorder.replay_seconds() > 0


def test_recorder_records_only_the_outermost_call():
    split = data.train_val_split(*data.moons(40, seed=0), seed=0)

    def penalty(model):  # a helper that is itself replayed, called inside train.train
        helpers.probes.activations(model, split.X_train)
        return 0.0 * sum(p.sum() for p in model.parameters())

    with WorkRecorder() as recorder:
        helpers.train.train(models.mlp(2, [4], seed=0), split, steps=2, penalty=penalty)
    assert [c["original"] for c in recorder.calls] == [helpers.train.train]
