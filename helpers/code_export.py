'''Take a panel home: the text of a short PyTorch script that reproduces its numbers.

Every live panel's "code" button shows a script built here. A script is one file, plain `torch`
(no `helpers` import, nothing downloaded), that reruns the panel's setting and seed and prints
each central number on its own line as `name = value`. It looks like this:

    """Reproduces the course panel "lesson 1: training" for one setting.

    Settings: init='he_normal', depth=6, seed=0
    Run it with `python script.py`; it prints each number as `name = value`.
    """
    import math
    from dataclasses import dataclass, field

    import torch
    from torch import nn

    torch.set_num_threads(1)

    init = 'he_normal'              # <- the settings, ready to edit
    depth = 6
    seed = 0

    def moons(...): ...              # <- MOONS, MLP, TRAIN: copies of the course's
    def mlp(...): ...                #    helpers, same random draws in the same order
    def train(...): ...

    model = mlp(2, [64] * (depth - 1), init=init, seed=seed)   # <- the lesson's own body
    history = train(model, moons_split(seed=seed), steps=300, seed=seed)
    show("final_train_loss", history.train_loss[-1])

The snippets below reproduce `helpers.data` (moons, train_val_split, standardize, moons_split),
`helpers.models.mlp` with `helpers.init`'s schemes, and `helpers.train.train` bit for bit
(tests/test_code_export.py runs them against the helpers). `run_script` runs such a script in a
fresh interpreter and reads its numbers back, which is how each lesson's code test compares a
script with its panel.
'''

import os
import re
import subprocess
import sys
import tempfile

from helpers._check import check_float

PREAMBLE = '''\
import math
from dataclasses import dataclass, field

import torch
from torch import nn

torch.set_num_threads(1)  # one thread: the same last digits on every run


def show(name, value):
    """Print one result as `name = value` (full precision)."""
    value = value.item() if hasattr(value, "item") else value
    print(f"{name} = {int(value) if isinstance(value, bool) else value!r}")
'''

MOONS = '''\
@dataclass
class Split:
    """Train and validation tensors: X_* is (n, 2), y_* is (n,) with labels 0/1."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor


def moons(n=200, noise=0.2, seed=0, flip=0.0):
    """Two interleaving half circles plus Gaussian noise, shuffled (scikit-learn's make_moons);
    `flip` is the fraction of labels flipped at random."""
    g = torch.Generator().manual_seed(seed)
    n_upper = n // 2
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([torch.cos(t[:n_upper]), torch.sin(t[:n_upper])], dim=1)
    lower = torch.stack([1 - torch.cos(t[n_upper:]), 0.5 - torch.sin(t[n_upper:])], dim=1)
    X = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=g)
    y = torch.cat([torch.zeros(n_upper), torch.ones(n - n_upper)])
    order = torch.randperm(n, generator=g)
    X, y = X[order], y[order]
    n_flip = round(flip * n)
    if n_flip:
        idx = torch.randperm(n, generator=g)[:n_flip]
        y = y.clone()
        y[idx] = 1 - y[idx]
    return X, y


def train_val_split(X, y, val_fraction=0.5, seed=0):
    """Shuffle with `seed` and hold out `val_fraction` of the rows for validation."""
    n_val = max(1, round(len(X) * val_fraction))
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    val, train = order[:n_val], order[n_val:]
    return Split(X[train], y[train], X[val], y[val])


def standardize(split):
    """x' = (x - mean) / std per feature, with the training rows' mean and std."""
    mean = split.X_train.mean(dim=0)
    std = split.X_train.std(dim=0).clamp_min(1e-12)
    return Split((split.X_train - mean) / std, split.y_train, (split.X_val - mean) / std, split.y_val)


def moons_split(n=400, noise=0.2, val_fraction=0.5, seed=0):
    """`n` two-moons points, `val_fraction` held out, standardized."""
    X, y = moons(n, noise=noise, seed=seed)
    return standardize(train_val_split(X, y, val_fraction=val_fraction, seed=seed))
'''

MLP = '''\
ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def weight_variance(scheme, fan_in, fan_out, std=0.01, gain=1.0):
    """Var(w) of each scheme: LeCun 1/fan_in, Xavier 2/(fan_in+fan_out), He 2/fan_in, PyTorch 1/(3 fan_in)."""
    base = {
        "zeros": 0.0, "constant": 0.0, "normal": std**2, "lecun_normal": 1.0 / fan_in,
        "xavier_normal": 2.0 / (fan_in + fan_out), "xavier_uniform": 2.0 / (fan_in + fan_out),
        "he_normal": 2.0 / fan_in, "he_uniform": 2.0 / fan_in, "pytorch_default": 1.0 / (3 * fan_in),
    }[scheme]
    return base * gain**2


@torch.no_grad()
def init_linear_(layer, scheme, std=0.01, gain=1.0, value=0.1, bias=0.0):
    """Initialize one nn.Linear with `scheme`; biases 0 (PyTorch's default keeps its uniform bias)."""
    w = layer.weight
    fan_in, fan_out = w.shape[1], w.shape[0]
    if scheme == "pytorch_default":  # what nn.Linear does: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        bound = 1.0 / math.sqrt(fan_in)
        w.uniform_(-bound, bound)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound)
        w.mul_(gain)
        return layer
    if scheme == "zeros":
        w.zero_()
    elif scheme == "constant":
        w.fill_(value)
        bias = value
    elif scheme == "normal":
        w.normal_(0.0, std * gain)
    else:
        std_w = math.sqrt(weight_variance(scheme, fan_in, fan_out, gain=gain))
        if scheme.endswith("uniform"):
            w.uniform_(-math.sqrt(3) * std_w, math.sqrt(3) * std_w)
        else:
            w.normal_(0.0, std_w)
    if layer.bias is not None:
        layer.bias.fill_(bias)
    return layer


def mlp(in_features, hidden, out_features=1, activation="relu", dropout=0.0, init="pytorch_default",
        gain=1.0, std=0.01, bias=True, seed=0):
    """in_features -> hidden[0] -> ... -> out_features, `activation` (and dropout) after each hidden layer."""
    saved_rng = torch.random.get_rng_state()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        widths = [in_features, *hidden]
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out, bias=bias), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-1], out_features, bias=bias))
        model = nn.Sequential(*layers)
        for layer in model:
            if isinstance(layer, nn.Linear):
                init_linear_(layer, init, std=std, gain=float(gain))
        return model
    finally:
        if seed is not None:
            torch.random.set_rng_state(saved_rng)
'''

TRAIN = '''\
@dataclass
class History:
    """One entry per evaluation; `step` says which update it followed."""

    step: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    penalty: list = field(default_factory=list)
    diverged_at: int = None
    best_step: int = None
    best_val_loss: float = math.inf


def data_loss(output, y, loss):
    """Mean loss: "bce" is binary cross-entropy on one logit, "mse" mean squared error."""
    output = output.squeeze(-1) if output.dim() == 2 and output.shape[1] == 1 else output
    if loss == "bce":
        return nn.functional.binary_cross_entropy_with_logits(output, y)
    return nn.functional.mse_loss(output, y)


@torch.no_grad()
def evaluate(model, X, y, loss="bce"):
    """(loss, accuracy) in eval mode; accuracy is NaN for "mse"."""
    was_training = model.training
    model.eval()
    out = model(X)
    model.train(was_training)
    value = data_loss(out, y, loss).item()
    if loss == "bce":
        return value, ((out.squeeze(-1) > 0).float() == y).float().mean().item()
    return value, math.nan


def make_optimizer(name, params, lr, weight_decay=0.0, momentum=0.0):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def record(history, model, split, loss, penalty, step):
    train_loss, train_acc = evaluate(model, split.X_train, split.y_train, loss)
    val_loss, val_acc = evaluate(model, split.X_val, split.y_val, loss)
    history.step.append(step)
    history.train_loss.append(train_loss)
    history.val_loss.append(val_loss)
    if loss == "bce":
        history.train_acc.append(train_acc)
        history.val_acc.append(val_acc)
    if penalty is not None:
        with torch.no_grad():
            history.penalty.append(float(penalty(model)))
    if math.isfinite(val_loss) and val_loss < history.best_val_loss:
        history.best_val_loss, history.best_step = val_loss, step


def train(model, split, steps=300, lr=1e-2, optimizer="adam", loss="bce", batch_size=None, weight_decay=0.0,
          momentum=0.0, penalty=None, clip_norm=None, eval_every=1, seed=0, transform=None, after_step=None):
    """Train `model` in place for `steps` updates (full batch unless batch_size) and return its History.

    Each update: loss = data_loss + penalty(model); backward; (clip the gradient norm); optimizer step.
    Training stops at a NaN/inf loss (`history.diverged_at`).
    """
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay, momentum)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout masks
    n = len(split.X_train)
    history = History()
    record(history, model, split, loss, penalty, 0)
    for step in range(1, steps + 1):
        if batch_size is None or batch_size >= n:
            xb, yb = split.X_train, split.y_train
        else:
            idx = torch.randint(0, n, (batch_size,), generator=g)
            xb, yb = split.X_train[idx], split.y_train[idx]
        if transform is not None:
            xb = transform(xb)
        model.train()
        value = data_loss(model(xb), yb, loss)
        if penalty is not None:
            value = value + penalty(model)
        if not torch.isfinite(value):
            history.diverged_at = step
            break
        opt.zero_grad()
        value.backward()
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        if step % eval_every == 0 or step == steps:
            record(history, model, split, loss, penalty, step)
            if not math.isfinite(history.train_loss[-1]):
                history.diverged_at = step
                break
        if after_step is not None:
            after_step(step, model, history)
    model.eval()
    return history
'''

_NAME_VALUE = re.compile(r"^\s*([\w.\[\]()-]+)\s*=\s*(\S+)\s*$")


def script(*parts: str, settings: dict, panel: str = "a live panel of the course") -> str:
    """Assemble one runnable script: a docstring naming `panel` and `settings`, the imports and `show`,
    the settings as editable assignments, then `parts` in order (the snippets, then the lesson's body).

    `settings` maps names to plain values (numbers, strings, bools, None, lists and dicts of those); each
    becomes a line `name = repr(value)` so the body can use it and the learner can change it.
    """
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a dict of name -> value, got {type(settings).__name__}")
    for name, value in settings.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"setting names must be Python identifiers, got {name!r}")
        if not _is_plain(value):
            raise ValueError(f"setting {name!r} must be a plain value (number, str, bool, None, list, dict), "
                             f"got {value!r}")
    for part in parts:
        if not isinstance(part, str):
            raise ValueError(f"every part must be a str of Python code, got {type(part).__name__}")
        if re.search(r"^\s*(from|import)\s+helpers\b", part, re.MULTILINE):
            raise ValueError("a generated script must not import helpers (it has to run without the course)")
    listed = ", ".join(f"{name}={value!r}" for name, value in settings.items()) or "(none)"
    header = (f'"""Reproduces {panel} for one setting.\n\nSettings: {listed}\n'
              'Plain PyTorch, no course code: run it with `python script.py`; it prints each number as '
              '`name = value`.\n"""\n')
    assignments = "".join(f"{name} = {value!r}\n" for name, value in settings.items())
    blocks = [header + PREAMBLE.rstrip("\n"), assignments.rstrip("\n"), *(p.strip("\n") for p in parts)]
    return "\n\n\n".join(b for b in blocks if b) + "\n"


def run_script(source: str, timeout: float = 120) -> dict[str, float]:
    """Run `source` with `python -I` in a fresh temp directory and return its `name = value` lines as floats.

    One thread (OMP/MKL_NUM_THREADS=1); the caller's MKL_CBWR and ATEN_CPU_CAPABILITY are kept, so the
    script computes on the same numeric path as the caller. Lines of any other form are ignored.
    Raises RuntimeError (with the script's stderr) on a non-zero exit or a timeout, and ValueError if
    the script prints no `name = value` line or one name twice.
    """
    if not isinstance(source, str) or not source.strip():
        raise ValueError("source must be the non-empty text of a Python script")
    timeout = check_float("timeout", timeout, 0.0, low_open=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "script.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        try:
            done = subprocess.run([sys.executable, "-I", path], cwd=workdir, env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"the script did not finish within {timeout:g} s; stderr:\n"
                               f"{_tail(error.stderr)}") from None
    if done.returncode != 0:
        raise RuntimeError(f"the script exited with code {done.returncode}; stderr:\n{_tail(done.stderr)}")
    return parse_numbers(done.stdout)


def parse_numbers(stdout: str) -> dict[str, float]:
    """The `name = value` lines of `stdout` whose value reads as a float, in order."""
    numbers: dict[str, float] = {}
    for line in stdout.splitlines():
        match = _NAME_VALUE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(2))
        except ValueError:
            continue
        if match.group(1) in numbers:
            raise ValueError(f"the script printed {match.group(1)!r} twice")
        numbers[match.group(1)] = value
    if not numbers:
        raise ValueError(f"the script printed no `name = value` line; its output was:\n{_tail(stdout)}")
    return numbers


def _is_plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return isinstance(value, (list, tuple)) and all(_is_plain(v) for v in value)


def _tail(text, limit: int = 3000) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else (text or "")
    return text[-limit:]
