"""The shared snippets reproduce the course's helpers bit for bit, and run_script reads scripts back."""

import math

import pytest
import torch

from helpers import code_export, data, models, train
from helpers.code_export import MLP, MOONS, TRAIN, parse_numbers, run_script, script


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_moons_snippet_matches_helpers_bit_for_bit():
    body = """
split = moons_split(n=n, noise=noise, seed=seed)
X, y = moons(60, noise=0.3, seed=seed + 1, flip=0.2)
for name, t in [("X_train", split.X_train), ("y_train", split.y_train), ("X_val", split.X_val),
                ("y_val", split.y_val), ("X_flip", X), ("y_flip", y)]:
    for i, v in enumerate(t.flatten().tolist()):
        show(f"{name}[{i}]", v)
"""
    got = run_script(script(MOONS, body, settings={"n": 40, "noise": 0.25, "seed": 3}))
    split = data.moons_split(n=40, noise=0.25, seed=3)
    X, y = data.moons(60, noise=0.3, seed=4, flip=0.2)
    want = {"X_train": split.X_train, "y_train": split.y_train, "X_val": split.X_val, "y_val": split.y_val,
            "X_flip": X, "y_flip": y}
    assert len(got) == sum(t.numel() for t in want.values())
    for name, t in want.items():
        for i, v in enumerate(t.flatten().tolist()):
            assert got[f"{name}[{i}]"] == v, (name, i)


INITS = ["pytorch_default", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "lecun_normal", "normal",
         "constant", "zeros"]


def test_mlp_snippet_matches_helpers_bit_for_bit():
    body = """
torch.manual_seed(123)
for init in inits:
    model = mlp(2, [5, 4], activation=activation, dropout=dropout, init=init, gain=gain, std=std, seed=seed)
    after = torch.rand(3)  # the global RNG state after the build
    for j, p in enumerate(model.parameters()):
        for i, v in enumerate(p.detach().flatten().tolist()):
            show(f"{init}.p{j}[{i}]", v)
    for i, v in enumerate(after.tolist()):
        show(f"{init}.after[{i}]", v)
    show(f"{init}.layers", len(model))
"""
    settings = {"activation": "tanh", "dropout": 0.1, "inits": INITS, "gain": 1.5, "std": 0.2, "seed": 7}
    got = run_script(script(MLP, body, settings=settings))
    torch.manual_seed(123)
    for init in INITS:
        model = models.mlp(2, [5, 4], activation="tanh", dropout=0.1, init=init, gain=1.5, std=0.2, seed=7)
        after = torch.rand(3)
        for j, p in enumerate(model.parameters()):
            for i, v in enumerate(p.detach().flatten().tolist()):
                assert got[f"{init}.p{j}[{i}]"] == v, (init, j, i)
        for i, v in enumerate(after.tolist()):
            assert got[f"{init}.after[{i}]"] == v, init
        assert got[f"{init}.layers"] == len(model)


TRAIN_CASES = [
    {"steps": 25, "lr": 0.01, "optimizer": "adam"},
    {"steps": 20, "lr": 0.1, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 1e-3, "clip_norm": 0.5,
     "batch_size": 32, "eval_every": 3},
    {"steps": 15, "lr": 0.01, "optimizer": "adamw", "weight_decay": 0.1, "loss": "mse"},
]
KEYS = ["step", "train_loss", "val_loss", "train_acc", "val_acc", "penalty"]


def _l1(model):
    return 1e-3 * sum(p.abs().sum() for p in model.parameters())


def test_train_snippet_matches_helpers_bit_for_bit():
    body = """
def l1(model):
    return 1e-3 * sum(p.abs().sum() for p in model.parameters())


for case, kwargs in enumerate(cases):
    split = moons_split(n=120, seed=seed)
    model = mlp(2, [16, 16], dropout=0.2, init="he_normal", seed=seed)
    history = train(model, split, seed=seed, penalty=l1 if case == 2 else None, **kwargs)
    for key in keys:
        for i, v in enumerate(getattr(history, key)):
            show(f"{case}.{key}[{i}]", v)
    show(f"{case}.best_step", history.best_step)
    show(f"{case}.best_val_loss", history.best_val_loss)
"""
    got = run_script(script(MOONS, MLP, TRAIN, body, settings={"seed": 2, "cases": TRAIN_CASES, "keys": KEYS}))
    for case, kwargs in enumerate(TRAIN_CASES):
        split = data.moons_split(n=120, seed=2)
        model = models.mlp(2, [16, 16], dropout=0.2, init="he_normal", seed=2)
        history = train.train(model, split, seed=2, penalty=_l1 if case == 2 else None, **kwargs)
        n_values = 0
        for key in KEYS:
            for i, v in enumerate(getattr(history, key)):
                assert _same(got[f"{case}.{key}[{i}]"], v), (case, key, i)
                n_values += 1
        assert n_values > 3 * kwargs["steps"] // kwargs.get("eval_every", 1)
        assert got[f"{case}.best_step"] == history.best_step
        assert got[f"{case}.best_val_loss"] == history.best_val_loss


def test_train_snippet_stops_at_divergence_like_helpers():
    body = """
history = train(mlp(2, [32], init="normal", std=3.0, seed=0), moons_split(n=60, seed=0), steps=30, lr=1e9,
                optimizer="sgd", loss="mse")
show("diverged_at", history.diverged_at)
show("evaluations", len(history.step))
"""
    got = run_script(script(MOONS, MLP, TRAIN, body, settings={}))
    history = train.train(models.mlp(2, [32], init="normal", std=3.0, seed=0), data.moons_split(n=60, seed=0),
                          steps=30, lr=1e9, optimizer="sgd", loss="mse")
    assert history.diverged_at is not None
    assert got == {"diverged_at": history.diverged_at, "evaluations": len(history.step)}


def test_script_has_header_settings_and_no_helpers_import():
    text = script(MOONS, MLP, TRAIN, "show('width', width)", settings={"width": 8, "init": "he_normal"},
                  panel='the panel "lesson 0: width"')
    assert text.startswith('"""Reproduces the panel "lesson 0: width"')
    assert "width=8, init='he_normal'" in text
    assert "\nwidth = 8\ninit = 'he_normal'\n" in text
    assert "import helpers" not in text and "from helpers" not in text
    compile(text, "script.py", "exec")
    assert run_script(text) == {"width": 8.0}


def test_script_rejects_bad_arguments():
    with pytest.raises(ValueError, match="settings"):
        script("x = 1", settings=[("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="identifier"):
        script("x = 1", settings={"not a name": 1})
    with pytest.raises(ValueError, match="plain value"):
        script("x = 1", settings={"t": torch.zeros(2)})
    with pytest.raises(ValueError, match="helpers"):
        script("from helpers import data", settings={})
    with pytest.raises(ValueError, match="str"):
        script(3, settings={})


def test_parse_numbers_reads_name_value_lines_only():
    out = "training...\nloss = 0.25\nacc = 1\nlayer[2].std = nan\nnote = big\nx = -1e-07\n"
    got = parse_numbers(out)
    assert got["loss"] == 0.25 and got["acc"] == 1.0 and got["x"] == -1e-07
    assert math.isnan(got["layer[2].std"])
    assert "note" not in got
    with pytest.raises(ValueError, match="twice"):
        parse_numbers("a = 1\na = 2\n")
    with pytest.raises(ValueError, match="no `name = value`"):
        parse_numbers("hello\n")


def test_run_script_reports_failures_with_stderr():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        run_script("print('a = 1')\n1 / 0\n")
    with pytest.raises(RuntimeError, match="within"):
        run_script("import time\ntime.sleep(5)\n", timeout=0.5)
    with pytest.raises(ValueError):
        run_script("   ")
    with pytest.raises(ValueError, match="timeout"):
        run_script("print('a = 1')", timeout=0)


def test_run_script_is_isolated_and_single_threaded(tmp_path, monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    got = run_script("import os, sys\nprint('threads =', os.environ['OMP_NUM_THREADS'])\n"
                     "print('isolated =', sys.flags.isolated)\n"
                     "print('cbwr_kept =', int(os.environ.get('MKL_CBWR') == 'COMPATIBLE'))\n"
                     "print('cwd_is_temp =', int(os.getcwd() != %r))\n" % str(tmp_path.cwd()))
    assert got == {"threads": 1.0, "isolated": 1.0, "cbwr_kept": 1.0, "cwd_is_temp": 1.0}
    assert "helpers" not in code_export.PREAMBLE + MOONS + MLP + TRAIN
