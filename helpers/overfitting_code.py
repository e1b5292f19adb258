"""Lesson 3's "code" buttons: for each of its four panels, a short self-contained script (plain numpy and torch,
no `helpers` import, nothing downloaded) that reproduces the panel's central numbers for one setting and seed and
prints each as `name = value`.

Each script repeats the course's own steps with the same random draws in the same order (the two-moons data, the
network and the training loop come from `helpers.code_export`'s shared snippets), so what it prints matches the
panel; tests/test_code_overfitting.py runs the scripts and compares:

- `polynomial_code`: the Legendre least-squares fits of `helpers.capacity.polynomial_panel`;
- `widths_code`: the 2-w-w-1 networks of `helpers.capacity.explore_widths`, side by side in one block-diagonal
  network as the course trains them (trained one by one, the last digits differ after 400 updates);
- `remedies_code`: one run of `helpers.remedies.panel` and its early-stopping point;
- `digits_code`: the digits networks of `helpers.digits.train_mlps` (as `digits.augmentation_table` runs them), the
  seeds side by side as the course trains them, reading the course's own copy of the 8x8 digits
  (`helpers.digits.DATA_FILE`) by its absolute path.
"""

import textwrap

from helpers import capacity, code_export, digits, remedies
from helpers._check import check_choice, check_float, check_int

# -------------------------------------------------------------------------------------------------
# The four panels


def _body(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def polynomial_code(degree: int, noise: float, n_train: int, seed: int = 0) -> str:
    """Script for the degree explorer (`capacity.polynomial_panel`): training and validation MSE of the degree-d
    Legendre least-squares fit, and the degree with the lowest validation MSE."""
    check_int("degree", degree, 0)
    check_float("noise", noise, 0.0)
    check_int("n_train", n_train, 2)
    check_int("seed", seed, 0)
    settings = {"degree": degree, "noise": float(noise), "n_train": n_train, "seed": seed}
    return code_export.script(_body('''
        import numpy as np


        def noisy_sine(n, spacing, data_seed):
            """n samples of y = sin(2 pi x) + N(0, noise^2) on [0, 1], drawn in float32 as the course does."""
            g = torch.Generator().manual_seed(data_seed)
            x = torch.linspace(0, 1, n) if spacing == "even" else torch.rand(n, generator=g)
            y = torch.sin(2 * math.pi * x) + noise * torch.randn(n, generator=g)
            return x.double().numpy(), y.double().numpy()


        # 1. Data: n_train evenly spaced training points, 1000 uniformly drawn validation points
        x_train, y_train = noisy_sine(n_train, "even", 1000 + seed)
        x_val, y_val = noisy_sine(1000, "random", 2000 + seed)

        # 2. Least squares in the Legendre basis P_k(2x - 1) (well conditioned), every degree below min(19, n_train)
        legendre = np.polynomial.legendre
        train_mse, val_mse = [], []
        for d in range(min(19, n_train)):
            coef = legendre.legfit(2 * x_train - 1, y_train, d)
            train_mse.append(float(np.mean((legendre.legval(2 * x_train - 1, coef) - y_train) ** 2)))
            val_mse.append(float(np.mean((legendre.legval(2 * x_val - 1, coef) - y_val) ** 2)))

        # 3. The chosen degree's errors, and the bottom of the bathtub
        if degree < len(train_mse):
            show("train_mse", train_mse[degree])
            show("val_mse", val_mse[degree])
        else:
            print(f"# degree {degree} needs more than {n_train} points: no fit")
        show("best_degree", int(np.argmin(val_mse)))
    '''), settings=settings, panel='lesson 3\'s degree explorer ("polynomial fits to a noisy sine")')


def widths_code(width_index: int, n_train: int, epochs: int, seed: int = 0) -> str:
    """Script for the width explorer (`capacity.explore_widths`): every width of `capacity.WIDTHS` trained for
    `epochs` full-batch Adam updates on the noisy two moons; the chosen width's training and validation loss and
    the width with the lowest validation loss."""
    check_int("width_index", width_index, 0, len(capacity.WIDTHS) - 1)
    check_int("n_train", n_train, 4)
    if epochs not in capacity.EXPLORER_EPOCHS:
        raise ValueError(f"epochs must be one of {capacity.EXPLORER_EPOCHS}, got {epochs!r}")
    check_int("seed", seed, 0)
    settings = {"width": capacity.WIDTHS[width_index], "n_train": n_train, "epochs": epochs, "seed": seed,
                "widths": list(capacity.WIDTHS)}
    return code_export.script(code_export.MOONS, code_export.MLP, _body('''
        # 1. Data: two moons with noise 0.3, 10% of the training labels flipped; 400 clean validation points
        X_train, y_train = moons(n_train, noise=0.3, seed=1000 + seed, flip=0.1)
        X_val, y_val = moons(400, noise=0.3, seed=2000 + seed)

        # 2. Lay the 2-w-w-1 ReLU networks of every width side by side in one network (as the course trains them):
        #    the first layers stacked, the second block-diagonal (a 0/1 mask keeps the other blocks at zero), one
        #    output logit per width. Each block gets exactly its own network's gradient, Adam works element by
        #    element, so each width trains as it would alone (this only keeps the course's last digits).
        nets = [mlp(2, [w, w], 1, seed=seed) for w in widths]
        total, k = sum(widths), len(widths)
        W1, b1, W2, b2 = torch.zeros(total, 2), torch.zeros(total), torch.zeros(total, total), torch.zeros(total)
        W3, b3, M2, M3 = torch.zeros(k, total), torch.zeros(k), torch.zeros(total, total), torch.zeros(k, total)
        start = 0
        for i, (w, net) in enumerate(zip(widths, nets)):
            block = slice(start, start + w)
            W1[block], b1[block] = net[0].weight.detach(), net[0].bias.detach()
            W2[block, block], b2[block], M2[block, block] = net[2].weight.detach(), net[2].bias.detach(), 1.0
            W3[i, block], b3[i], M3[i, block] = net[4].weight.detach()[0], net[4].bias.detach()[0], 1.0
            start += w
        params = [p.requires_grad_() for p in (W1, b1, W2, b2, W3, b3)]


        def logits(X):
            h = torch.relu(X @ W1.T + b1)
            h = torch.relu(h @ (W2 * M2).T + b2)
            return h @ (W3 * M3).T + b3  # (rows, widths): one logit per width


        def losses(X, y):
            """Binary cross-entropy of every width, averaged over the rows: one number per width."""
            out = logits(X)
            per_row = nn.functional.binary_cross_entropy_with_logits(out, y[:, None].expand_as(out), reduction="none")
            return per_row.mean(0)


        # 3. Train all widths: full batch (one update = one epoch), Adam, lr 0.01, the sum of the widths' losses
        optimizer = torch.optim.Adam(params, lr=0.01)
        for update in range(epochs):
            loss = losses(X_train, y_train).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            train_loss, val_loss = losses(X_train, y_train), losses(X_val, y_val)
        chosen = widths.index(width)
        show("train_loss", train_loss[chosen])
        show("val_loss", val_loss[chosen])

        # 4. Which width generalizes best after this many updates?
        show("lowest_val_width", widths[int(val_loss.argmin())])
    '''), settings=settings, panel='lesson 3\'s width explorer ("2-w-w-1 networks on two moons")')


def remedies_code(n_train: int, width: int, jitter: float, patience: int, seed: int = 0) -> str:
    """Script for the remedies panel (`remedies.panel`): one 2-w-w-1 network, 300 full-batch Adam updates at
    lr 3e-3 with optional input jitter, checks every 10 updates; its final losses and validation accuracy, and
    where early stopping with `patience` (0 = off) stops and which check it restores."""
    check_int("n_train", n_train, 4)
    check_int("width", width, 1)
    jitter = round(check_float("jitter", jitter, 0.0, 2.0), 2)
    check_int("patience", patience, 0)
    check_int("seed", seed, 0)
    settings = {"n_train": n_train, "width": width, "jitter": jitter, "patience": patience, "seed": seed,
                "updates": remedies.STEPS, "lr": remedies.LR, "check_every": remedies.EVAL_EVERY}
    return code_export.script(code_export.MOONS, code_export.MLP, code_export.TRAIN, _body('''
        # 1. Data: two moons with noise 0.2, 10% of the training labels flipped; 500 clean validation points
        X_train, y_train = moons(n_train, noise=0.2, seed=1000 + seed, flip=0.1)
        X_val, y_val = moons(500, noise=0.2, seed=2000 + seed)
        split = Split(X_train, y_train, X_val, y_val)

        # 2. Augmentation: fresh Gaussian jitter on the training inputs at every update
        jitter_noise = torch.Generator().manual_seed(5000 + seed)


        def jitter_inputs(X):
            return X + jitter * torch.randn(X.shape, generator=jitter_noise)


        # 3. Train a 2-width-width-1 ReLU network: full batch, Adam; losses checked on the unchanged rows
        model = mlp(2, [width, width], 1, seed=seed)
        history = train(model, split, steps=updates, lr=lr, optimizer="adam", eval_every=check_every, seed=seed,
                        transform=jitter_inputs if jitter > 0 else None)
        show("final_train_loss", history.train_loss[-1])
        show("final_val_loss", history.val_loss[-1])
        show("gap", history.val_loss[-1] - history.train_loss[-1])
        show("final_val_acc", history.val_acc[-1])

        # 4. Early stopping: stop at the first check `patience` updates after the lowest validation loss so far,
        #    and restore the weights of that lowest check
        if patience > 0:
            best = 0
            for stop, update in enumerate(history.step):
                if history.val_loss[stop] < history.val_loss[best]:
                    best = stop
                if update - history.step[best] >= patience:
                    break
            show("restored_update", history.step[best])
            show("stop_update", update)
            show("restored_val_loss", history.val_loss[best])
    '''), settings=settings, panel='lesson 3\'s remedies panel ("more data, a smaller network, jitter, early '
                                   'stopping")')


def digits_code(kind: str, n_train: int, sigma: float = 0.2, seeds: int = 10, steps: int = 200) -> str:
    """Script for the digits panel: `digits.train_mlps(n_train, k, sigma, seeds=range(seeds), steps)` for k = "none"
    and k = `kind` (what `digits.augmentation_table` runs), 64-128-10 MLPs, one per seed; the mean test accuracy of
    each and the gain in points. The images are read from the course's own file by its absolute path."""
    check_choice("kind", kind, digits.AUGMENTATIONS)
    check_int("n_train", n_train, 10, digits.N_IMAGES - digits.N_TEST)
    check_float("sigma", sigma, 0.0, 1.0)
    check_int("seeds", seeds, 1)
    check_int("steps", steps, 1)
    settings = {"kind": kind, "n_train": n_train, "sigma": float(sigma), "seeds": seeds, "updates": steps,
                "data_file": str(digits.DATA_FILE.resolve())}
    return code_export.script(_body('''
        import numpy as np

        # The course ships the 8x8 digits (E. Alpaydin and C. Kaynak, UCI, CC BY 4.0) as `data_file` above:
        # the script reads that copy, nothing is downloaded.

        # 1. Data: 797 fixed test images; each seed draws its n_train training images from the other 1000
        with np.load(data_file) as f:
            images = torch.tensor(f["images"], dtype=torch.float32) / 16.0  # pixels in [0, 1]
            labels = torch.tensor(f["labels"], dtype=torch.int64)
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(12345))
        pool, test = order[:1000], order[1000:]
        picks = [pool[torch.randperm(1000, generator=torch.Generator().manual_seed(s))[:n_train]] for s in range(seeds)]
        X, y = torch.stack([images[p] for p in picks]), torch.stack([labels[p] for p in picks])  # (seeds, n, 8, 8)


        def shift(batch, g, fraction):
            """Move `fraction` of the images by an offset in {-1, 0, 1}^2 (empty pixels 0)."""
            padded, n = nn.functional.pad(batch, (1, 1, 1, 1)), len(batch)
            di, dj = torch.randint(0, 3, (n,), generator=g), torch.randint(0, 3, (n,), generator=g)
            keep = torch.rand(n, generator=g) >= fraction
            di[keep], dj[keep] = 1, 1
            rows = (di[:, None] + torch.arange(8)[None, :])[:, :, None]
            cols = (dj[:, None] + torch.arange(8)[None, :])[:, None, :]
            return padded[torch.arange(n)[:, None, None], rows, cols]


        def augment(batch, kind, g):
            """A fresh random change of every image: a shift, noise x + sigma * N(0, 1), or half shifted then noise."""
            if kind in ("shift", "shift+noise"):
                batch = shift(batch, g, 1.0 if kind == "shift" else 0.5)
            if kind in ("noise", "shift+noise") and sigma > 0:
                batch = batch + sigma * torch.randn(batch.shape, generator=g)
            return batch


        # 2. One 64-128-10 ReLU MLP per seed, side by side (weights (seeds, in, out)), PyTorch's default init
        def init(widths=(64, 128, 10)):
            per_seed = []
            for s in range(seeds):
                g, layers = torch.Generator().manual_seed(s), []
                for n_in, n_out in zip(widths[:-1], widths[1:]):
                    bound = 1.0 / n_in**0.5
                    layers += [(torch.rand(n_in, n_out, generator=g) * 2 - 1) * bound,
                               (torch.rand(1, n_out, generator=g) * 2 - 1) * bound]
                per_seed.append(layers)
            return [torch.stack(group).requires_grad_() for group in zip(*per_seed)]


        def forward(params, x):
            h = torch.relu(torch.baddbmm(params[1], x, params[0]))
            return torch.baddbmm(params[3], h, params[2])


        # 3. Train full batch with Adam (lr 3e-3), a fresh augmentation at every update; test accuracy per seed
        def test_accuracy(kind):
            params = init()
            optimizer = torch.optim.Adam(params, lr=3e-3)
            g = torch.Generator().manual_seed(10_000 + seeds)
            for update in range(updates):
                xb = X if kind == "none" else augment(X.reshape(seeds * n_train, 8, 8), kind, g)
                logits = forward(params, xb.reshape(seeds, n_train, 64))
                loss = nn.functional.cross_entropy(logits.reshape(-1, 10), y.reshape(-1), reduction="sum") / n_train
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                test_logits = forward(params, images[test].reshape(1, -1, 64).expand(seeds, -1, -1))
                return (test_logits.argmax(-1) == labels[test]).float().mean(-1)  # one accuracy per seed


        none_acc = test_accuracy("none")
        show("none_test_acc", none_acc.mean())
        if kind != "none":
            kind_acc = test_accuracy(kind)
            show("kind_test_acc", kind_acc.mean())
            show("gain_points", 100 * (kind_acc - none_acc).mean())
            show("seeds_that_gain", int((kind_acc > none_acc).sum()))
    '''), settings=settings, panel='lesson 3\'s digits panel ("which augmentation helps?")')
