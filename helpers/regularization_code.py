"""The "code" button of lesson 4's panels: for a setting and seed, a self-contained PyTorch script.

One function per panel, `<panel>_code(**values, seed=...)`, returning the text of a script built by
`helpers.code_export.script`: the course's shared snippets (two moons, the MLP, the training loop) where
the panel uses them, then the lesson's own part, which prints the panel's central numbers as
`name = value`. tests/test_code_regularization.py runs each script and compares with the panel.
"""

from helpers import regularization as reg
from helpers.code_export import MLP, MOONS, TRAIN, script

_PENALTIES = '''\
def penalized(model):
    """The weight matrices (dim >= 2); the biases are not penalized."""
    return [p for p in model.parameters() if p.dim() >= 2]


def l2_penalty(lam):
    return lambda model: lam / 2 * sum((w * w).sum() for w in penalized(model))


def l1_penalty(lam):
    return lambda model: lam * sum(w.abs().sum() for w in penalized(model))


def weight_values(model):
    return torch.cat([w.detach().flatten() for w in penalized(model)]).double()
'''

_REGRESSION = '''\
def regression_1d(n, noise, seed, x_spacing):
    """Noisy samples of sin(2 pi x) on [0, 1]: one uniform x per bin ("binned") or uniform ("random")."""
    g = torch.Generator().manual_seed(seed)
    if x_spacing == "random":
        x = torch.rand(n, generator=g)
    else:
        x = (torch.arange(n) + torch.rand(n, generator=g)) / n
    y = torch.sin(2 * math.pi * x) + noise * torch.randn(n, generator=g)
    return x[:, None], y


def regression_split(seed, n_train=20, n_val=500, noise=0.5):
    X_train, y_train = regression_1d(n_train, noise, 1000 + seed, "binned")
    X_val, y_val = regression_1d(n_val, noise, 2000 + seed, "random")
    return Split(X_train, y_train, X_val, y_val)
'''


def warmup_code(kind: str, lam: float, warmup: int, seed: int = 0) -> str:
    """The warm-up panel (`reg.warmup_panel`): the penalty switched on after `warmup` updates, and from the start."""
    body = f'''\
def penalty_from_step(penalty, warmup):
    """The penalty is 0 for updates 1..warmup, then penalty(model) from update warmup + 1 on.

    train() calls after_step(step, ...) once update `step` is done, so while update t is computed,
    done["updates"] holds t - 1: the test `t - 1 >= warmup` is `t > warmup`."""
    done = {{"updates": 0}}

    def delayed(model):
        return penalty(model) if done["updates"] >= warmup else torch.zeros(())

    def after_step(step, model, history):
        done["updates"] = step

    return delayed, after_step


def run(warmup):
    """2-32-32-1 ReLU network, two moons (50 training points, 10% labels flipped; 500 clean validation
    points), {reg.WARMUP_STEPS} full-batch SGD updates in all (the warm-up's unpenalized ones included)."""
    X_train, y_train = moons(50, noise=0.2, seed=1000 + seed, flip=0.1)
    X_val, y_val = moons(500, noise=0.2, seed=2000 + seed)
    split = Split(X_train, y_train, X_val, y_val)
    model = mlp(2, [{reg.WARMUP_WIDTH}, {reg.WARMUP_WIDTH}], 1, activation="relu", seed=seed)
    base = l1_penalty(lam) if kind == "l1" else l2_penalty(lam)
    penalty, after_step = penalty_from_step(base, warmup)
    history = train(model, split, steps={reg.WARMUP_STEPS}, lr={reg.WARMUP_LR}, optimizer="sgd", loss="bce",
                    penalty=penalty, eval_every={reg.WARMUP_EVAL_EVERY}, seed=seed, after_step=after_step)
    small = (weight_values(model).abs() < 1e-2).double().mean().item()   # share of weights with |w| < 1e-2
    return history, small


history, small = run(warmup)
show("train_loss", history.train_loss[-1])
show("val_acc", history.val_acc[-1])
show("small_fraction", small)   # how many weights the penalty has pulled close to 0 (the panel does not draw it)
history, small = run(0)         # the same penalty from update 1 (the panel's grey curves)
show("from_start_train_loss", history.train_loss[-1])
show("from_start_val_acc", history.val_acc[-1])
'''
    return script(MOONS, MLP, TRAIN, _PENALTIES, body, panel="lesson 4's warm-up panel",
                  settings={"kind": kind, "lam": float(lam), "warmup": int(warmup), "seed": int(seed)})


def explore_code(kind: str, lam: float) -> str:
    """The L1 vs L2 explorer (`reg.explore`, seed 0): one regression network under `kind` at `lam`."""
    lam = reg.snap_to_sweep(lam)
    body = f'''\
@torch.no_grad()
def soft_threshold_(w, threshold):
    w.copy_(torch.sign(w) * torch.clamp(w.abs() - threshold, min=0.0))


split = regression_split(seed)
model = mlp(1, [{reg.FIT_WIDTH}, {reg.FIT_WIDTH}], 1, activation="relu", seed=seed)
l1 = l1_penalty(lam)
penalty = {{"l2": l2_penalty(lam), "l1": l1, "l1_prox": lambda model: l1(model).detach()}}[kind]


def prox_step(optimizer, args, kwargs):
    """The proximal L1 step after every optimizer step: soft-threshold each weight by lr * lambda."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.dim() >= 2:
                soft_threshold_(p, float(group["lr"]) * lam)


if kind == "l1_prox":
    from torch.optim.optimizer import register_optimizer_step_post_hook

    register_optimizer_step_post_hook(prox_step)
history = train(model, split, steps={reg.FIT_STEPS}, lr={reg.FIT_LR}, optimizer="adam", loss="mse", penalty=penalty,
                eval_every=20, seed=seed)
w = weight_values(model)
show("train_loss", history.train_loss[-1])
show("val_loss", history.val_loss[-1])
show("exact_zero_fraction", (w == 0).double().mean().item())
show("below_1e-3_fraction", (w.abs() < 1e-3).double().mean().item())
show("l2_norm", w.pow(2).sum().sqrt().item())
'''
    return script(MOONS, MLP, TRAIN, _PENALTIES, _REGRESSION, body, panel="lesson 4's L1 vs L2 explorer",
                  settings={"kind": kind, "lam": lam, "seed": 0})


def geometry_code(radius: float) -> str:
    """The geometry panel (`reg.geometry`): the L1 and L2 constrained minima at constraint size `radius`."""
    body = f'''\
import numpy as np

center = np.array({reg.GEOMETRY_CENTER!r})
H = np.array({reg.GEOMETRY_HESSIAN!r})


def loss(w):
    d = w - center
    return 0.5 * d @ H @ d


def project_l1(v, r):
    """Euclidean projection onto the L1 ball (Duchi et al. 2008)."""
    if np.abs(v).sum() <= r:
        return v.copy()
    u = np.sort(np.abs(v))[::-1]
    c = np.cumsum(u)
    j = np.arange(1, len(u) + 1)
    rho = np.nonzero(u * j > c - r)[0][-1]
    theta = (c[rho] - r) / (rho + 1)
    return np.sign(v) * np.maximum(np.abs(v) - theta, 0.0)


def project_l2(v, r):
    n = np.linalg.norm(v)
    return v.copy() if n <= r else v * (r / n)


def constrained_minimum(project, r, iters=500):
    """Projected gradient descent on the quadratic loss over the ball of size r."""
    step = 1.0 / np.linalg.eigvalsh(H).max()
    w = project(np.zeros(2), r)
    for _ in range(iters):
        w = project(w - step * H @ (w - center), r)
    return w


for name, project in (("l1", project_l1), ("l2", project_l2)):
    w = constrained_minimum(project, radius)
    show(f"{{name}}_w1", float(w[0]))
    show(f"{{name}}_w2", float(w[1]))
    show(f"{{name}}_loss", float(loss(w)))
'''
    return script(body, panel="lesson 4's L1-diamond vs L2-disc panel", settings={"radius": float(radius)})


def lasso_code(lam: float, seed: int = 0) -> str:
    """The lasso panel (`reg.lasso_panel`): which of 50 features survive at `lam` (5 relevant)."""
    body = '''\
import numpy as np


def sparse_regression(n=100, p=50, k=5, noise=1.0, seed=0):
    """y = X w* + noise; only the first k of the p features matter (weights +-1 to +-2)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, p, generator=g)
    w_true = torch.zeros(p)
    signs = torch.where(torch.rand(k, generator=g) < 0.5, -1.0, 1.0)
    w_true[:k] = signs * (1.0 + torch.rand(k, generator=g))
    y = X @ w_true + noise * torch.randn(n, generator=g)
    return X, y


def lasso(X, y, lam, max_iter=5000, tol=1e-10):
    """min 1/(2n) ||y - Xw||^2 + lam ||w||_1 by FISTA (Beck & Teboulle 2009)."""
    n = X.shape[0]
    step = n / np.linalg.norm(X, 2) ** 2
    w = z = np.zeros(X.shape[1])
    t = 1.0
    for _ in range(max_iter):
        v = z - step * (X.T @ (X @ z - y) / n)
        w_next = np.sign(v) * np.maximum(np.abs(v) - step * lam, 0.0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = w_next + (t - 1) / t_next * (w_next - w)
        done = np.max(np.abs(w_next - w)) < tol
        w, t = w_next, t_next
        if done:
            break
    return w


X, y = sparse_regression(seed=seed)
y = y - y.mean()
w = lasso(X.numpy().astype(float), y.numpy().astype(float), lam)
survivors = np.flatnonzero(w)
show("relevant_kept", int((survivors < 5).sum()))
show("false_positives", int((survivors >= 5).sum()))
show("theory_lambda", 1.0 * math.sqrt(2 * math.log(50) / 100))
'''
    return script(body, panel="lesson 4's lasso panel", settings={"lam": float(lam), "seed": int(seed)})


def decay_code(optimizer: str, when: str, lam: float, seed: int = 0) -> str:
    """The weight-decay panel (`reg.decay_trajectories`, 100 steps, width 16): L2 in the loss vs decay in the step."""
    lr = reg.DECAY_LR[optimizer]
    body = f'''\
def setup():
    """Lesson 3's two-moons split and a 2-16-16-1 ReLU network (PyTorch's default init)."""
    X_train, y_train = moons(50, noise=0.2, seed=1000 + seed, flip=0.1)
    X_val, y_val = moons(500, noise=0.2, seed=2000 + seed)
    return Split(X_train, y_train, X_val, y_val), mlp(2, [16, 16], 1, activation="relu", seed=seed)


def make(model):
    if optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9 if optimizer == "sgd_momentum" else 0.0)


lr = {lr!r}
split, model_a = setup()    # A: L2 in the loss
_, model_b = setup()        # B: decay in the step, w <- (1 - lr lambda) w, before or after the step
opt_a, opt_b = make(model_a), make(model_b)
for step in range(100):
    loss_a = data_loss(model_a(split.X_train), split.y_train, "bce") + l2_penalty(lam)(model_a)
    opt_a.zero_grad()
    loss_a.backward()
    opt_a.step()
    loss_b = data_loss(model_b(split.X_train), split.y_train, "bce")
    opt_b.zero_grad()
    loss_b.backward()
    with torch.no_grad():
        if when == "before":
            for w in penalized(model_b):
                w.mul_(1.0 - lr * lam)
    opt_b.step()
    with torch.no_grad():
        if when == "after":
            for w in penalized(model_b):
                w.mul_(1.0 - lr * lam)
wa, wb = weight_values(model_a).numpy(), weight_values(model_b).numpy()
import numpy as np
show("rel_gap", float(np.linalg.norm(wa - wb) / np.linalg.norm(wa)))
show("max_gap", float(np.abs(wa - wb).max()))
'''
    return script(MOONS, MLP, TRAIN, _PENALTIES, body, panel="lesson 4's weight-decay panel",
                  settings={"optimizer": optimizer, "when": when, "lam": float(lam), "seed": int(seed)})
