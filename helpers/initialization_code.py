"""Lesson 1 (initialization): each live panel's "code" button, a self-contained PyTorch script per setting.

    explorer_code(**values, seed)  -> reruns `initialization.layer_statistics` (the explorer)
    training_code(**values, seed)  -> reruns `initialization.train_scheme` (the training comparison)
    layers_code(**values, seed)    -> reruns `initialization.traced_run` (layers over training)

Each script is plain torch (no `helpers` import) and prints its numbers as `name = value`;
tests/test_code_initialization.py runs them and compares every number with the panel's compute.
"""

from helpers import code_export
from helpers.initialization import (
    FLOAT32_RANGE,
    MAX_DEPTH,
    MAX_WIDTH,
    N_SAMPLES,
    NEAR_ZERO,
    OPTIMIZER_LR,
    SATURATION,
    TRACE_BINS,
    TRACE_EVERY,
    TRACE_LOG10_RANGE,
    TRAIN_SCHEMES,
)

_EXPLORER_BODY = '''\
# Var(w) of each scheme for a width -> width layer (std multiplies the normal scheme only)
var_w = {"zeros": 0.0, "normal": std**2, "lecun_normal": 1 / width, "xavier_normal": 2 / (2 * width),
         "he_normal": 2 / width, "pytorch_default": 1 / (3 * width)}[scheme]
w_std = math.sqrt(var_w)

# every setting slices the same standard-normal draws of one seed (as the panel does)
g = torch.Generator().manual_seed(seed)
weights = torch.randn(MAX_DEPTH, MAX_WIDTH, MAX_WIDTH, generator=g)
biases = torch.randn(MAX_DEPTH, MAX_WIDTH, generator=g)
inputs = torch.randn(N_SAMPLES, MAX_WIDTH, generator=g)
errors = torch.randn(N_SAMPLES, MAX_WIDTH, generator=g)


def weight(layer):
    base = weights[layer, :width, :width]
    if scheme == "pytorch_default":  # erf(N(0, 1) / sqrt 2) is U(-1, 1): nn.Linear's own uniform weights
        return torch.erf(base * (1 / math.sqrt(2.0))) * (w_std * math.sqrt(3.0))
    return base * w_std


def layer_bias(layer):
    if scheme == "pytorch_default":
        return torch.erf(biases[layer, :width] * (1 / math.sqrt(2.0))) * (1 / math.sqrt(width))
    return bias


def phi(z):
    return {"linear": z, "tanh": torch.tanh(z), "relu": torch.relu(z), "sigmoid": 1.0 / (1.0 + torch.exp(-z))}[
        activation]


def slope(z, h):
    return {"linear": torch.ones_like(z), "tanh": 1.0 - h * h, "relu": (z > 0).to(z.dtype),
            "sigmoid": h * (1.0 - h)}[activation]


h = input_mean + input_scale * inputs[:, :width]
slopes = []
with torch.inference_mode():
    for layer in range(depth):
        z = h @ weight(layer).T + layer_bias(layer)
        h = phi(z)
        peak = float(z.abs().max())
        if not peak <= FLOAT32_RANGE[1] or 0.0 < float(h.abs().max()) < FLOAT32_RANGE[0]:
            show("stopped_at_layer", layer + 1)  # float32 would under- or overflow: stop measuring
            break
        unit_means = h.mean(dim=0)
        within = float((h - unit_means).pow(2).mean())
        show(f"std_h_{layer + 1}", math.sqrt(within + float(unit_means.var(unbiased=False))))
        if activation == "relu":
            show(f"dead_{layer + 1}", float((h == 0).all(dim=0).float().mean()))
        if activation in ("tanh", "sigmoid"):
            show(f"saturated_{layer + 1}",
                 float(((h if activation == "tanh" else 2 * h - 1).abs() > SATURATION).float().mean()))
        slopes.append(slope(z, h))
    if len(slopes) == depth:  # backward: g_{l-1} = W_l^T (phi'(z_l) * g_l), a unit-variance error at the top
        g = errors[:, :width]
        for layer in range(depth - 1, -1, -1):
            rms = float(g.pow(2).mean().sqrt())
            if not (FLOAT32_RANGE[0] < rms < FLOAT32_RANGE[1]):
                break
            show(f"grad_rms_{layer + 1}", rms)
            if layer > 0:
                g = (g * slopes[layer]) @ weight(layer)
'''

_TRAIN_BODY = '''\
model = mlp(2, [64] * (depth - 1), 1, activation=activation, init=init, std=std, seed=seed)
split = moons_split(256, noise=0.2, val_fraction=0.5, seed=seed)
history = train(model, split, steps=steps, lr=lr, optimizer=optimizer, eval_every=15, seed=seed{after})
if history.diverged_at is not None:
    show("diverged_at", history.diverged_at)
else:
    show("final_train_loss", history.train_loss[-1])
    show("final_val_loss", history.val_loss[-1])
    show("final_val_acc", history.val_acc[-1])
'''

_RECORDER = '''\
def record_layers(step, model, history=None):
    """Every `every` updates: each hidden layer's h on the training inputs (no gradient; no dropout here)."""
    if step % every:
        return
    hidden, h = [], split.X_train
    with torch.no_grad():
        for module in model:
            h = module(h)
            if not isinstance(module, nn.Linear):
                hidden.append(h)
    h = torch.stack(hidden).reshape(len(hidden), -1)  # (layers, points x units)
    size = h.abs()
    low, high = LOG10_RANGE
    logs = torch.log10(size.clamp(10**low, 10**high)).nan_to_num_(nan=high)
    mean = h.mean(dim=1)
    std = (h - mean[:, None]).pow(2).mean(dim=1).sqrt()  # pooled (population) std
    records.append({
        "step": step,
        "hist": [torch.histc(x, BINS, low, high) for x in logs],  # counts of log10 |h| per bin, per layer
        "near_zero": (size.reshape(len(hidden), len(split.X_train), -1) < NEAR_ZERO).all(dim=1).float().mean(dim=1),
        "mean": mean,
        "std": std,
    })


records = []
split = moons_split(256, noise=0.2, val_fraction=0.5, seed=seed)
'''

_LAYERS_PRINT = '''\
shown = {"first": 0, "middle": (depth - 2) // 2, "last": depth - 2}[layer]
for name in ("near_zero", "mean", "std"):
    for k in range(depth - 1):
        show(f"{name}_layer{k + 1}_first", records[0][name][k])
        show(f"{name}_layer{k + 1}_last", records[-1][name][k])
show("records", len(records))
show("last_recorded_step", records[-1]["step"])
show(f"count_near_0_layer{shown + 1}_last", records[-1]["hist"][shown][0])  # |h| <= 1e-8, zeros included
'''


def explorer_code(scheme: str = "xavier_normal", std: float = 0.01, activation: str = "tanh", depth: int = 50,
                  width: int = 256, bias: float = 0.0, input_mean: float = 0.0, input_scale: float = 1.0,
                  seed: int = 0) -> str:
    """The explorer's script: pooled std of h_l, dead or saturated share per layer, rms of dL/dh_l."""
    settings = dict(scheme=scheme, std=float(std), activation=activation, depth=int(depth), width=int(width),
                    bias=float(bias), input_mean=float(input_mean), input_scale=float(input_scale), seed=int(seed),
                    MAX_DEPTH=MAX_DEPTH, MAX_WIDTH=MAX_WIDTH, N_SAMPLES=N_SAMPLES, SATURATION=SATURATION,
                    FLOAT32_RANGE=list(FLOAT32_RANGE))
    return code_export.script(_EXPLORER_BODY, settings=settings, panel='the course panel "lesson 1: explorer"')


def _train_settings(scheme, activation, depth, optimizer, seed):
    name, std = TRAIN_SCHEMES[scheme]
    return dict(scheme=scheme, init=name, std=std or 0.01, activation=activation, depth=int(depth),
                optimizer=optimizer, lr=OPTIMIZER_LR[optimizer], steps=150, seed=int(seed))


def training_code(scheme: str = "He", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
                  seed: int = 0) -> str:
    """The training comparison's script: final training and validation loss and validation accuracy."""
    return code_export.script(code_export.MOONS, code_export.MLP, code_export.TRAIN,
                              _TRAIN_BODY.format(after=""),
                              settings=_train_settings(scheme, activation, depth, optimizer, seed),
                              panel='the course panel "lesson 1: training comparison"')


def layers_code(scheme: str = "N(0, 0.01²)", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
                layer: str = "last", seed: int = 0) -> str:
    """Layers over training: the training run with each hidden layer recorded on the training inputs every
    10 updates; prints each layer's near-zero share, mean and std at the first and last record."""
    settings = {**_train_settings(scheme, activation, depth, optimizer, seed), "layer": layer,
                "every": TRACE_EVERY, "NEAR_ZERO": NEAR_ZERO, "BINS": TRACE_BINS,
                "LOG10_RANGE": list(TRACE_LOG10_RANGE)}
    body = _TRAIN_BODY.format(after=", after_step=record_layers").replace(
        "split = moons_split(256, noise=0.2, val_fraction=0.5, seed=seed)\n", "")
    body = body.replace("history = train(", "record_layers(0, model)\nhistory = train(")
    return code_export.script(code_export.MOONS, code_export.MLP, code_export.TRAIN, _RECORDER, body, _LAYERS_PRINT,
                              settings=settings, panel='the course panel "lesson 1: layers over training"')
