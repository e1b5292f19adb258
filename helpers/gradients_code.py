"""Lesson 2's "code" buttons: the text of a plain-PyTorch script for each live panel's current setting and seed.

One function per panel, called as `code(**panel_values, seed=seed)` by `helpers.widgets.LivePanel`:

- `flow_code`      the gradient-flow explorer (`gradients.flow`): per-layer ||dL/dh_k||, ||dL/dW_k||, std of h_k
- `training_code`  the training panel (`gradients.panel_run`): loss, accuracy, update-to-weight ratios
- `layers_code`    the layers-over-training panel: each layer's weight gradient at every update

Each script copies the course's data and model code (`helpers.code_export`'s MOONS and MLP snippets, the same
random draws in the same order) and writes out the lesson's own loop, so it prints the panel's numbers
(tests/test_code_gradients.py runs the scripts and compares).
"""

from helpers.code_export import MLP, MOONS, script

_FLOW = '''\
# A square bias-free stack: `depth` Linear layers width -> width, the activation after all but the last.
model = mlp(width, [width] * (depth - 1), width, activation=activation, init=init, gain=gain, bias=False, seed=seed)
g = torch.Generator().manual_seed(10_000 + seed)  # the probe's data: x ~ N(0, I), targets y ~ N(0, I)
X, y = torch.randn(64, width, generator=g), torch.randn(64, width, generator=g)

model = model.double().eval()  # float64: deep products of small factors underflow float32
modules, h, post = list(model), X.double(), []
for i, module in enumerate(modules):
    h = module(h)
    if i + 1 == len(modules) or isinstance(modules[i + 1], nn.Linear):
        post.append(h)  # h_k: layer k's output after its activation (the last layer has none)
for t in post:
    t.retain_grad()
loss = ((post[-1] - y.double()) ** 2).mean()  # MSE to random targets
loss.backward()
signal = [t.grad.norm().item() for t in post]  # ||dL/dh_k||
weight = [m.weight.grad.norm().item() for m in model if isinstance(m, nn.Linear)]  # ||dL/dW_k||
show("signal_first", signal[0])
show("signal_last", signal[-1])
show("signal_first_over_last", signal[0] / signal[-1])
show("weight_grad_first", weight[0])
show("weight_grad_last", weight[-1])
show("forward_std_first", post[0].detach().std())
show("forward_std_last", post[-1].detach().std())
'''

_TRAIN = '''\
# The training panels' run: 2 -> width x (depth - 1) -> 1 logit with biases, two moons, full-batch steps.
model = mlp(2, [width] * (depth - 1), 1, activation=activation, init=init, gain=gain, bias=True, seed=seed)
split = moons_split(400, noise=0.2, val_fraction=0.5, seed=seed)
X, y = split.X_train, split.y_train
clip = None if clip_norm == "off" else float(clip_norm)
if optimizer == "adam":
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-8)
else:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
weights = [m.weight for m in model if isinstance(m, nn.Linear)]
params = list(model.parameters())


def bce(output, target):
    return nn.functional.binary_cross_entropy_with_logits(output.squeeze(-1), target)


@torch.no_grad()
def evaluate():
    """(training loss, validation accuracy) in eval mode."""
    model.eval()
    train_loss = bce(model(X), y).item()
    accuracy = ((model(split.X_val).squeeze(-1) > 0).float() == split.y_val).float().mean().item()
    model.train()
    return train_loss, accuracy


train_loss, val_acc = evaluate()
ratios, records, diverged_at = [], [], None  # records: per update, every layer's weight gradient |g|
model.train()
for step in range(1, steps + 1):
    loss = bce(model(X), y)
    if not torch.isfinite(loss):
        diverged_at = step
        break
    opt.zero_grad()
    loss.backward()
    records.append([w.grad.detach().double().clone() for w in weights])  # before clipping
    norm = nn.utils.get_total_norm([p.grad for p in params])
    if clip is not None:
        nn.utils.clip_grads_with_norm_(params, clip, norm)
    with torch.no_grad():
        before = [w.detach().clone() for w in weights]
        opt.step()
        ratios.append([((w - b).norm() / b.norm()).item() for w, b in zip(weights, before)])  # ||dW|| / ||W||
    if step % 20 == 0 or step == steps:
        train_loss, val_acc = evaluate()
        if not math.isfinite(train_loss):
            diverged_at = step
            break
if diverged_at is not None:
    ratios = ratios[: diverged_at - 1]
'''

_TRAIN_SHOW = '''\
show("diverged", diverged_at is not None)
if diverged_at is not None:
    show("diverged_at", diverged_at)
show("final_val_acc", val_acc)
for k in (0, depth - 1):
    finite = [r[k] for r in ratios if math.isfinite(r[k])]
    if finite:
        show(f"mean_update_ratio_layer{k + 1}", sum(finite) / len(finite))
'''

_LAYERS_SHOW = '''\
# Each layer's weight gradient at every update: mean |g|, and the share "near zero":
# |g| < 1e-3 x the last layer's mean |g| at that update (exact zeros included).
mean_abs = [[g.abs().mean().item() for g in record] for record in records]
ratio = [m[0] / m[-1] for m in mean_abs]  # layer 1 / last layer
show("updates_recorded", len(records))
show("first_over_last_min", min(ratio))
show("first_over_last_max", max(ratio))
show(f"mean_abs_g_layer{layer}_first_update", mean_abs[0][layer - 1])
show(f"mean_abs_g_layer{layer}_last_update", mean_abs[-1][layer - 1])
show(f"std_g_layer{layer}_last_update", records[-1][layer - 1].std())
for name, record, m in (("first", records[0], mean_abs[0]), ("last", records[-1], mean_abs[-1])):
    near_zero = (record[layer - 1].abs() < 1e-3 * m[-1]).double().mean()
    show(f"near_zero_share_layer{layer}_{name}_update", near_zero)
'''


def flow_code(depth: int, width: int, activation: str, init: str, gain: float, seed: int = 0) -> str:
    """The flow explorer's script: one float64 forward and backward pass of a fresh bias-free stack
    (`gradients.flow`)."""
    settings = {"depth": int(depth), "width": int(width), "activation": activation, "init": init,
                "gain": float(gain), "seed": int(seed)}
    return script(MLP, _FLOW, settings=settings, panel='the course panel "lesson 2: gradient flow explorer"')


def training_code(depth: int, activation: str, init: str, gain: float, optimizer: str, lr: float, clip_norm: str,
                  seed: int = 0) -> str:
    """The training panel's script: 60 full-batch steps at width 32 (`gradients.panel_run`)."""
    settings = {"depth": int(depth), "activation": activation, "init": init, "gain": float(gain),
                "optimizer": optimizer, "lr": float(lr), "clip_norm": str(clip_norm), "seed": int(seed),
                "width": 32, "steps": 60}
    return script(MOONS, MLP, _TRAIN, _TRAIN_SHOW, settings=settings,
                  panel='the course panel "lesson 2: training"')


def layers_code(depth: int, activation: str, init: str, gain: float, optimizer: str, lr: float, clip_norm: str,
                layer: int, seed: int = 0) -> str:
    """The layers-over-training panel's script: the same run, each layer's weight gradient at every update."""
    settings = {"depth": int(depth), "activation": activation, "init": init, "gain": float(gain),
                "optimizer": optimizer, "lr": float(lr), "clip_norm": str(clip_norm), "seed": int(seed),
                "layer": min(int(layer), int(depth)), "width": 32, "steps": 60}
    return script(MOONS, MLP, _TRAIN, _LAYERS_SHOW, settings=settings,
                  panel='the course panel "lesson 2: layers over training"')
