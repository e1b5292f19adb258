"""Lesson 0's claims (notebooks/00_start_here.ipynb), over 12 seeds.

Thresholds come from measurements over seeds 0-11 on three numeric paths (native, MKL_CBWR=AVX2 +
ATEN_CPU_CAPABILITY=avx2, MKL_CBWR=COMPATIBLE + default), with margin; the measured values are in the comments.
The wide networks differ in their last digits between paths (width 64, seed 0: validation accuracy 95.5% or 96.5%),
so the lesson quotes none of their single-run figures.
"""

import functools
import inspect
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import data, models, train

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.claims
SEEDS = range(12)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def train_moons(width, noise, seed):
    X, y = data.moons(400, noise=noise, seed=seed)
    split = data.train_val_split(X, y, val_fraction=0.5, seed=seed)
    model = models.mlp(2, [width, width], activation="relu", seed=seed)
    history = train.train(model, split, steps=300, lr=1e-2, optimizer="adam", eval_every=10)
    return model, split, history


@functools.cache
def history(width, noise, seed):
    return train_moons(width, noise, seed)[2]


def test_this_file_checks_the_notebooks_own_experiment():
    """The claims below run `train_moons` as written above; the notebook's cell must define it word for word."""
    notebook = json.loads((REPO / "notebooks" / "00_start_here.ipynb").read_text())
    cell = next("".join(c["source"]) for c in notebook["cells"] if "def train_moons(" in "".join(c["source"]))
    assert inspect.getsource(train_moons).strip() in cell


def test_width_8_separates_the_moons_on_every_seed():
    assert min(history(8, 0.2, s).val_acc[-1] for s in SEEDS) >= 0.94       # 0.945 .. 0.985, every path


def test_width_1_and_2_underfit_and_a_single_unit_sometimes_dies():
    widest = max(history(w, 0.2, s).val_acc[-1] for w in (1, 2) for s in SEEDS)
    assert widest <= 0.91                                                        # at most 0.905 (width 2, seed 9)
    dead = [s for s in SEEDS if history(1, 0.2, s).val_acc[-1] < 0.55]     # 0.47-0.495: one class everywhere
    assert 2 <= len(dead) <= 8                                                   # 4 of 12 (seeds 0, 4, 6, 9)
    assert history(1, 0.2, 0).val_acc[-1] < 0.55 and abs(history(1, 0.2, 0).val_loss[-1] - np.log(2)) < 0.005


def test_the_first_loss_is_near_ln_2():
    """Before the first update the logits are small: the loss is ln 2 = 0.693 plus a little (0.66-0.86, 12 seeds)."""
    first = [history(w, 0.2, s).train_loss[0] for w in (1, 8, 64) for s in SEEDS]
    assert 0.6 < min(first) and max(first) < 0.95


def test_seed_0_reaches_94_percent_first_at_width_4():
    """The prediction before the panel: widths 1, 2, 4 reach 0.495, 0.88, 0.96 on seed 0, every path."""
    acc = {w: history(w, 0.2, 0).val_acc[-1] for w in (1, 2, 4)}
    assert acc[1] < 0.9 and acc[2] < 0.92 and acc[4] >= 0.95


def test_wide_networks_start_to_overfit_the_validation_loss_turns_up():
    best = [history(32, 0.2, s).best_step for s in SEEDS]
    assert np.median(best) <= 150                                                # 60 .. 260, median 90


def test_noise_05_small_nets_level_off_and_a_wide_net_climbs():
    """Measured (12 seeds): lowest validation loss of widths 2 and 8 0.36-0.48 (one width-2 net dies: 0.693), final
    within 1.26x of it; width 64 ends 1.47-3.9x above its lowest, more than twice on 10 of 12 seeds."""
    lowest = [history(w, 0.5, s).best_val_loss for w in (2, 8) for s in SEEDS]
    alive = [v for v in lowest if v < 0.6]
    assert len(alive) >= 20 and 0.3 < min(alive) and max(alive) < 0.52
    assert all(history(8, 0.5, s).val_loss[-1] < 1.4 * history(8, 0.5, s).best_val_loss for s in SEEDS)
    climbs = [history(64, 0.5, s).val_loss[-1] / history(64, 0.5, s).best_val_loss for s in SEEDS]
    assert min(climbs) > 1.3 and sum(c > 2 for c in climbs) >= 8
