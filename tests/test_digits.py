"""Unit tests of helpers.digits: the shipped data file, the split, the augmentations, the stacked training."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers import digits


def test_data_file_is_shipped_with_its_licence():
    assert digits.DATA_FILE.exists()
    assert digits.DATA_FILE.stat().st_size < 60_000
    licence = (digits.DATA_FILE.parent / "DIGITS_LICENSE.md").read_text()
    assert "CC BY 4.0" in licence and "Alpaydin" in licence and "Kaynak" in licence


def test_load_shapes_values_and_classes():
    X, y = digits.load()
    assert X.shape == (1797, 8, 8) and X.dtype == torch.float32
    assert X.min() == 0 and X.max() == 1
    counts = np.bincount(y.numpy())
    assert len(counts) == 10 and counts.min() >= 174 and counts.max() <= 183


def test_loading_does_not_import_sklearn():
    code = "import sys, helpers.digits as d; d.load(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_split_sizes_and_a_fixed_test_set():
    a, b = digits.split(50, seed=0), digits.split(200, seed=3)
    assert a.X_train.shape == (50, 8, 8) and len(a.y_test) == digits.N_TEST
    assert torch.equal(a.X_test, b.X_test)
    train_rows = {tuple(r) for r in b.X_train.reshape(len(b.X_train), -1).tolist()}
    test_rows = {tuple(r) for r in b.X_test.reshape(len(b.X_test), -1).tolist()}
    assert len(train_rows & test_rows) <= 2  # only exact duplicate images in the data set itself


def test_shift_moves_pixels_by_at_most_one():
    image = torch.zeros(1, 8, 8)
    image[0, 4, 4] = 1.0
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        moved = digits.shift(image, g)
        i, j = torch.nonzero(moved[0])[0].tolist()
        assert abs(i - 4) <= 1 and abs(j - 4) <= 1 and moved.sum() == 1
    X = digits.split(30).X_train
    assert torch.equal(digits.shift(X, g, fraction=0.0), X)


def test_augment_kinds():
    X = digits.split(30).X_train
    g = torch.Generator().manual_seed(0)
    assert torch.equal(digits.augment(X, "none", 0.3, g), X)
    noisy = digits.augment(X, "noise", 0.2, g)
    assert (noisy - X).std().item() == pytest.approx(0.2, rel=0.1)
    assert digits.augment(X, "shift+noise", 0.1, g).shape == X.shape


def test_train_mlps_small_run():
    r = digits.train_mlps(n_train=30, kind="shift+noise", sigma=0.1, seeds=(0, 1), steps=5)
    assert r.test_acc.shape == (2,) and np.all((r.test_acc >= 0) & (r.test_acc <= 1))
    again = digits.train_mlps(n_train=30, kind="shift+noise", sigma=0.1, seeds=(0, 1), steps=5)
    assert np.array_equal(r.test_acc, again.test_acc)
    batched = digits.train_mlps(n_train=30, seeds=(0,), steps=3, batch_size=8)
    assert batched.test_acc.shape == (1,)


@pytest.mark.parametrize("call, name", [
    (lambda: digits.split(5), "n_train"),
    (lambda: digits.split(2000), "n_train"),
    (lambda: digits.augment(torch.zeros(1, 8, 8), "flip", 0.1, torch.Generator()), "kind"),
    (lambda: digits.augment(torch.zeros(1, 8, 8), "noise", -0.1, torch.Generator()), "sigma"),
    (lambda: digits.shift(torch.zeros(1, 8, 8), torch.Generator(), fraction=2.0), "fraction"),
    (lambda: digits.train_mlps(seeds=()), "seeds"),
    (lambda: digits.train_mlps(steps=0), "steps"),
    (lambda: digits.train_mlps(batch_size=0), "batch_size"),
])
def test_bad_arguments_raise_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_augmentation_table_and_paired_gains():
    torch.set_num_threads(1)
    table = digits.augmentation_table(sizes=(20,), sigma=0.2, seeds=(0, 1), steps=5)
    assert set(table) == {(20, k) for k in digits.AUGMENTATIONS}
    gains = digits.paired_gains(table[20, "shift"], table[20, "none"])
    assert gains.shape == (2,) and np.allclose(gains, table[20, "shift"].test_acc - table[20, "none"].test_acc)
    other = digits.train_mlps(30, "none", 0.0, seeds=(0, 1), steps=5)
    with pytest.raises(ValueError, match="same training size"):
        digits.paired_gains(table[20, "shift"], other)


def test_panel_images_are_the_first_training_images_and_their_augmentation():
    originals, changed = digits.panel_images("noise", 0.2)
    assert originals.shape == changed.shape == (6, 8, 8)
    assert torch.equal(originals, digits.split(50, seed=0).X_train[:6]) and not torch.equal(originals, changed)
    assert torch.equal(*digits.panel_images("none", 0.2))
