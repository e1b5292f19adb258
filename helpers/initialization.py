"""Lesson 1 (initialization): the signal-propagation theory, the explorer's measurements, the
symmetry experiment, the training comparison and the checker for the learner's He init.
Its figures and live panels are in `helpers.initialization_plots`.

Notation (as in `helpers.probes`): layer l computes z_l = W_l h_{l-1} + b_l and h_l = phi(z_l),
h_0 = x. Every layer here is width -> width, weights drawn with zero mean and variance Var(w).

The theory is the layer-to-layer recursion for the pre-activations' variance (Poole et al.,
"Exponential expressivity in deep neural networks through transient chaos", 2016; Schoenholz et
al., "Deep information propagation", 2017), which generalizes the derivations of Glorot & Bengio
(2010) and He et al. (2015) to any activation:

    q_1     = n Var(w) E[x^2] + Var(b)
    q_{l+1} = n Var(w) E[phi(b + sqrt(q_l) z)^2] + Var(b),        z ~ N(0, 1)

and, backwards, for the gradient g_l = dL/dh_l that backpropagation carries to layer l's output:

    E[g_{l-1}^2] = n Var(w) E[phi'(b + sqrt(q_l) z)^2] E[g_l^2]

The expectations over z are computed by Gauss-Hermite quadrature.
"""

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from helpers import data, init, models, probes, train
from helpers._check import check_choice, check_float, check_int

ACTIVATIONS = ["linear", "tanh", "relu", "sigmoid"]
EXPLORER_SCHEMES = ["zeros", "normal", "lecun_normal", "xavier_normal", "he_normal", "pytorch_default"]
MAX_DEPTH = 100
MAX_WIDTH = 320
N_SAMPLES = 256
SATURATION = 0.97  # |tanh| above this (|2 sigmoid - 1| for sigmoid): slope below 0.06, the unit barely passes gradient
FLOAT32_RANGE = (1e-18, 1e18)  # the explorer stops measuring outside this: squares must stay in float32 (1e-38..3e38)
NOT_MEASURED = (f"'-': not measured: the forward pass stops where every |h| falls below {FLOAT32_RANGE[0]:.0e} "
                f"or some |z| rises above {FLOAT32_RANGE[1]:.0e} (their squares would leave float32's range), "
                "and then no gradient is computed")
_HERMITE = np.polynomial.hermite.hermgauss(80)


# ---------------------------------------------------------------------------------------------
# activation functions and the theory
# ---------------------------------------------------------------------------------------------

def phi(activation: str, z):
    """The activation function, for numpy arrays or torch tensors."""
    check_choice("activation", activation, ACTIVATIONS)
    lib = torch if isinstance(z, torch.Tensor) else np
    if activation == "linear":
        return z
    if activation == "tanh":
        return lib.tanh(z)
    if activation == "relu":
        return lib.maximum(z, lib.zeros_like(z)) if lib is np else torch.relu(z)
    return 1.0 / (1.0 + lib.exp(-z))


def phi_prime(activation: str, z):
    """The activation's slope phi'(z), for numpy arrays."""
    check_choice("activation", activation, ACTIVATIONS)
    z = np.asarray(z, dtype=float)
    if activation == "linear":
        return np.ones_like(z)
    if activation == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if activation == "relu":
        return (z > 0).astype(float)
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 - s)


def gaussian_expectation(f, mean: float = 0.0, var: float = 1.0) -> float:
    """E[f(u)] for u ~ N(mean, var), by 80-point Gauss-Hermite quadrature.

    E[f(u)] = (1 / sqrt(pi)) * sum_i w_i f(mean + sqrt(2 var) x_i), exact for polynomials of degree < 160.
    """
    check_float("mean", mean)
    check_float("var", var, 0.0)
    x, w = _HERMITE
    return float(np.sum(w * f(mean + math.sqrt(2.0 * var) * x)) / math.sqrt(math.pi))


@dataclass
class Theory:
    """The recursion's prediction per layer l = 1..depth (index l-1).

    `pre_std`: pooled std of z_l; `post_std`: pooled std of h_l; `grad_rms`: rms of dL/dh_l when
    the last layer receives a unit-variance error (so grad_rms[-1] = 1).
    """

    pre_std: np.ndarray
    post_std: np.ndarray
    grad_rms: np.ndarray


def moment_recursion(activation: str, depth: int, gain2: float, input_second_moment: float = 1.0,
                     bias_mean: float = 0.0, bias_var: float = 0.0) -> Theory:
    """Run the second-moment recursion of the module docstring for `depth` layers.

    `gain2` is n * Var(w) (1 for LeCun, 2 for He, 1/3 for PyTorch's default at equal widths);
    `input_second_moment` is E[x^2] = mean^2 + std^2 of the inputs; every bias is
    `bias_mean` plus independent noise of variance `bias_var`.
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_int("depth", depth, 1)
    check_float("gain2", gain2, 0.0)
    check_float("input_second_moment", input_second_moment, 0.0)
    check_float("bias_mean", bias_mean)
    check_float("bias_var", bias_var, 0.0)
    f = lambda u: phi(activation, u)  # noqa: E731
    q = gain2 * input_second_moment + bias_var
    pre, post, slope2 = [], [], []
    for _ in range(depth):
        q = min(q, 1e300)
        m1 = gaussian_expectation(f, bias_mean, q)
        m2 = gaussian_expectation(lambda u: f(u) ** 2, bias_mean, q)
        pre.append(math.sqrt(q))
        post.append(math.sqrt(max(m2 - m1**2, 0.0)))
        slope2.append(gaussian_expectation(lambda u: phi_prime(activation, u) ** 2, bias_mean, q))
        q = gain2 * m2 + bias_var
    grad = np.ones(depth)
    for k in range(depth - 2, -1, -1):  # dL/dh_k = W_{k+1}^T (phi'(z_{k+1}) * dL/dh_{k+1})
        grad[k] = grad[k + 1] * math.sqrt(gain2 * slope2[k + 1])
    return Theory(np.array(pre), np.array(post), grad)


def scheme_gain2(scheme: str, width: int, std: float = 0.01, gain: float = 1.0) -> float:
    """n * Var(w) for a width -> width layer initialized with `scheme` (from `helpers.init.weight_variance`)."""
    check_choice("scheme", scheme, EXPLORER_SCHEMES)
    check_int("width", width, 1)
    check_float("gain", gain, 0.0)
    return width * init.weight_variance(scheme, width, width, std=std, gain=gain)


def theory(scheme: str, activation: str, depth: int, width: int, std: float = 0.01, input_mean: float = 0.0,
           input_scale: float = 1.0, bias: float = 0.0, gain: float = 1.0) -> Theory:
    """The recursion's prediction for the explorer's network (same arguments as `layer_statistics`)."""
    check_float("input_scale", input_scale, 0.0)
    bias_mean, bias_var = (0.0, 1.0 / (3 * width)) if scheme == "pytorch_default" else (bias, 0.0)
    return moment_recursion(activation, depth, scheme_gain2(scheme, width, std, gain),
                            input_mean**2 + input_scale**2, bias_mean, bias_var)


# ---------------------------------------------------------------------------------------------
# the explorer's measurement
# ---------------------------------------------------------------------------------------------

@dataclass
class LayerStats:
    """Per-layer measurements of one random network, layer l = 1..depth at index l-1.

    Pooled stds are over units and samples (`helpers.probes.pooled_std`); `across_std` is the
    std across samples (`probes.std_across_samples`: the part that depends on the input);
    `cos_sim` the mean cosine similarity between the h_l of two different samples; `dead`
    the fraction of units that are 0 for every sample; `saturated` the fraction of values with
    |tanh| > 0.97 (|2 sigmoid - 1| > 0.97). `grad_rms` is the rms of dL/dh_l for a
    unit-variance random error at the last layer. Layers past `stopped_at` were not measured
    (values left outside float32's safe range): their entries are NaN.
    """

    pre_std: np.ndarray
    post_std: np.ndarray
    across_std: np.ndarray
    cos_sim: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray
    grad_rms: np.ndarray
    hist_layers: list[int] = field(default_factory=list)
    hist_edges: np.ndarray | None = None
    hist_counts: list[np.ndarray] = field(default_factory=list)
    stopped_at: int | None = None
    stop_reason: str = ""
    theory: Theory | None = None


@lru_cache(maxsize=2)
def _random_draws(seed: int):
    """Standard normal draws for one seed: weights (MAX_DEPTH, MAX_WIDTH, MAX_WIDTH), biases, inputs, errors.

    Every setting of the explorer slices these, so changing the scheme, width or depth keeps the
    same underlying randomness and only the formula changes.
    """
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(MAX_DEPTH, MAX_WIDTH, MAX_WIDTH, generator=g)
    biases = torch.randn(MAX_DEPTH, MAX_WIDTH, generator=g)
    inputs = torch.randn(N_SAMPLES, MAX_WIDTH, generator=g)
    errors = torch.randn(N_SAMPLES, MAX_WIDTH, generator=g)
    return weights, biases, inputs, errors


def mean_cosine_similarity(h: torch.Tensor) -> float:
    """Mean cosine similarity cos(h_i, h_j) over all pairs of different samples i != j (rows of `h`).

    With unit rows u_i: sum_{i != j} u_i . u_j = |sum_i u_i|^2 - n, computed in O(n * width).
    Rows that are exactly zero are left out. 1 means every sample looks the same to the next layer.
    """
    if not isinstance(h, torch.Tensor) or h.dim() != 2:
        raise ValueError("h must be a 2-D tensor (samples, units)")
    norms = h.norm(dim=1)
    u = h[norms > 0] / norms[norms > 0, None]
    n = len(u)
    if n < 2:
        return float("nan")
    s = u.sum(dim=0).double()
    return float(((s @ s) - n) / (n * (n - 1)))


def layer_statistics(scheme: str = "xavier_normal", activation: str = "tanh", depth: int = 50, width: int = 256,
                     std: float = 0.01, input_mean: float = 0.0, input_scale: float = 1.0, bias: float = 0.0,
                     seed: int = 0, hist_layers: list[int] | None = None, gain: float = 1.0) -> LayerStats:
    """Push N_SAMPLES = 256 random inputs through a random width -> width network and measure every layer.

    Inputs: x = input_mean + input_scale * N(0, 1) in R^width. Weights from `scheme` (one of
    EXPLORER_SCHEMES; "normal" uses N(0, std^2)); biases all equal to `bias`, except for
    "pytorch_default", which draws nn.Linear's own U(-1/sqrt(n), 1/sqrt(n)) biases. Then one
    backward pass of a random unit-variance error from the last layer gives dL/dh_l per layer.
    `gain` multiplies the weights' std (e.g. 5/3 for tanh, `torch.nn.init.calculate_gain('tanh')`).
    float32, as in training; measuring stops where values leave [1e-18, 1e18] (their squares
    would leave float32's range).
    """
    check_choice("scheme", scheme, EXPLORER_SCHEMES)
    check_choice("activation", activation, ACTIVATIONS)
    check_int("depth", depth, 1, MAX_DEPTH)
    check_int("width", width, 2, MAX_WIDTH)
    check_float("std", std, 0.0)
    check_float("input_mean", input_mean)
    check_float("input_scale", input_scale, 0.0)
    check_float("bias", bias)
    check_int("seed", seed, 0)
    check_float("gain", gain, 0.0)
    if hist_layers is None:
        hist_layers = sorted({1, max(1, depth // 2), depth})
    for layer in hist_layers:
        check_int("hist_layers entry", layer, 1, depth)

    weights, biases, inputs, errors = _random_draws(seed)
    w_std = math.sqrt(init.weight_variance(scheme, width, width, std=std, gain=gain))
    h = input_mean + input_scale * inputs[:, :width]
    stats = LayerStats(*(np.full(depth, np.nan) for _ in range(7)))
    kept, slopes = {}, []
    with torch.inference_mode():
        for layer in range(depth):
            z = h @ _weight(weights, layer, width, scheme, w_std).T + _bias(biases, layer, width, scheme, bias)
            h = phi(activation, z)
            peak = float(z.abs().max())
            if not peak <= FLOAT32_RANGE[1] or 0.0 < float(h.abs().max()) < FLOAT32_RANGE[0]:
                stats.stopped_at = layer + 1
                stats.stop_reason = "underflow (< 1e-18)" if peak <= FLOAT32_RANGE[1] else "overflow (> 1e18)"
                break
            _measure_layer(stats, layer, z, h, activation)
            slopes.append(_slope(activation, z, h))
            if layer + 1 in hist_layers:
                kept[layer + 1] = h
        stats.theory = theory(scheme, activation, depth, width, std, input_mean, input_scale, bias, gain)
        if len(slopes) == depth:  # backward: g_{l-1} = W_l^T (phi'(z_l) * g_l), from a unit-variance error at the top
            g = errors[:, :width]
            for layer in range(depth - 1, -1, -1):
                rms = float(g.pow(2).mean().sqrt())
                if not (FLOAT32_RANGE[0] < rms < FLOAT32_RANGE[1]):
                    break
                stats.grad_rms[layer] = rms
                if layer > 0:
                    g = (g * slopes[layer]) @ _weight(weights, layer, width, scheme, w_std)
        _histograms(stats, kept, activation)
    return stats


def _weight(weights, layer, width, scheme, w_std):
    base = weights[layer, :width, :width]
    if scheme == "pytorch_default":  # erf(N(0,1) / sqrt 2) is U(-1, 1): nn.Linear's kaiming_uniform_(a=sqrt 5)
        return torch.erf(base * (1 / math.sqrt(2.0))) * (w_std * math.sqrt(3.0))
    return base * w_std


def _bias(biases, layer, width, scheme, bias):
    if scheme == "pytorch_default":
        return torch.erf(biases[layer, :width] * (1 / math.sqrt(2.0))) * (1 / math.sqrt(width))
    return bias


def _measure_layer(stats, layer, z, h, activation):
    """Fill entry `layer` of `stats` from one layer's z and h (samples, units), in float32.

    Pooled variance = (mean over units of the variance across samples) + (variance of the units'
    means): the first part is `across_std`^2, what depends on the input (population variances).
    """
    unit_means = h.mean(dim=0)
    within = float((h - unit_means).pow(2).mean())
    stats.post_std[layer] = math.sqrt(within + float(unit_means.var(unbiased=False)))
    stats.across_std[layer] = math.sqrt(within)
    stats.pre_std[layer] = float((z - z.mean()).pow(2).mean().sqrt())
    stats.cos_sim[layer] = mean_cosine_similarity(h)
    stats.dead[layer] = float((h == 0).all(dim=0).float().mean()) if activation == "relu" else 0.0
    if activation in ("tanh", "sigmoid"):
        stats.saturated[layer] = float(((h if activation == "tanh" else 2 * h - 1).abs() > SATURATION).float().mean())
    else:
        stats.saturated[layer] = 0.0


def _slope(activation, z, h):
    if activation == "linear":
        return torch.ones_like(z)
    if activation == "tanh":
        return 1.0 - h * h
    if activation == "relu":
        return (z > 0).to(z.dtype)
    return h * (1.0 - h)


def _histograms(stats, kept, activation):
    layers = sorted(kept)
    post = {k: kept[k] for k in layers}
    if activation == "tanh":
        edges = np.linspace(-1.0, 1.0, 41)
    elif activation == "sigmoid":
        edges = np.linspace(0.0, 1.0, 41)
    else:
        spread = max([float(post[k].std()) for k in layers] + [1e-30])
        low = 0.0 if activation == "relu" else -4 * spread
        edges = np.linspace(low, 4 * spread, 41)
    stats.hist_layers = layers
    stats.hist_edges = edges
    stats.hist_counts = [torch.histc(post[k].clamp(edges[0], edges[-1]), len(edges) - 1, edges[0], edges[-1])
                         .double().numpy() / post[k].numel() for k in layers]


def explorer_compute(**settings) -> LayerStats:
    """`layer_statistics` at the explorer's settings (its sigma slider matters for scheme "normal" only)."""
    return layer_statistics(**settings)


# ---------------------------------------------------------------------------------------------
# PyTorch's real default, measured from nn.Linear
# ---------------------------------------------------------------------------------------------

def linear_default_variances(fan_in: int = 256, fan_out: int = 256, layers: int = 20,
                             seed: int = 0) -> tuple[float, float]:
    """(Var(w), Var(b)) measured over `layers` freshly constructed `nn.Linear(fan_in, fan_out)`.

    PyTorch 2.x: weight `kaiming_uniform_(a=sqrt(5))` = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so
    Var(w) = 1 / (3 fan_in); bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the same variance. He would be 2 / fan_in.
    """
    check_int("fan_in", fan_in, 1)
    check_int("fan_out", fan_out, 1)
    check_int("layers", layers, 1)
    check_int("seed", seed, 0)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        made = [nn.Linear(fan_in, fan_out) for _ in range(layers)]
    finally:
        torch.random.set_rng_state(state)
    w = torch.cat([m.weight.detach().ravel() for m in made]).double()
    b = torch.cat([m.bias.detach().ravel() for m in made]).double()
    return float(w.var()), float(b.var())


def one_layer_check(n_in: int = 256, n_out: int = 256, n_samples: int = 4096, seed: int = 0) -> dict[str, dict]:
    """Measure Var(y) for y = W x, W ~ N(0, 1/n_in), against n_in Var(w) E[x^2] and n_in Var(w) Var(x).

    Two inputs: x ~ N(0, 1) (zero mean: E[x^2] = Var(x) = 1) and x = ReLU(N(0, 1)) (E[x^2] = 1/2
    but Var(x) = 1/2 - 1/(2 pi) = 0.34): the formula needs the second moment, not the variance.
    """
    check_int("n_in", n_in, 1)
    check_int("n_out", n_out, 1)
    check_int("n_samples", n_samples, 2)
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(n_out, n_in, generator=g, dtype=torch.float64) / math.sqrt(n_in)
    z = torch.randn(n_samples, n_in, generator=g, dtype=torch.float64)
    out = {}
    for name, x in (("x ~ N(0, 1)", z), ("x = ReLU(N(0, 1))", torch.relu(z))):
        out[name] = {"measured Var(y)": float((x @ weight.T).var()),
                     "n Var(w) E[x^2]": n_in * (1.0 / n_in) * float(x.pow(2).mean()),
                     "n Var(w) Var(x)": n_in * (1.0 / n_in) * float(x.var())}
    return out


def default_stack_statistics(bias: bool = True, depth: int = 20, width: int = 256, n_samples: int = 256,
                             seed: int = 0) -> dict[str, np.ndarray]:
    """A real `nn.Linear` ReLU stack with PyTorch's default init (`helpers.models.mlp`), probed per layer.

    Returns the hidden layers' post-activation `pooled` std and std `across` samples
    (`helpers.probes`), for unit-variance Gaussian inputs. Theory: the input-dependent part falls
    by sqrt(n Var(w) / 2) = sqrt(1/6) = 0.41 per layer; with biases the pooled std levels off
    where q = q / 6 + Var(b), Var(b) = 1 / (3 n).
    """
    check_int("depth", depth, 2)
    check_int("width", width, 1)
    check_int("n_samples", n_samples, 2)
    model = models.mlp(width, [width] * depth, 1, activation="relu", init="pytorch_default", bias=bias, seed=seed)
    X = torch.randn(n_samples, width, generator=torch.Generator().manual_seed(seed + 1))
    post = probes.activations(model, X).post[:depth]
    return {"pooled": probes.pooled_std(post), "across": probes.std_across_samples(post)}


def geometric_ratio(values, first: int, last: int) -> float:
    """Average factor per layer between layers `first` and `last` (1-based): (v_last / v_first)^(1 / (last - first))."""
    check_int("first", first, 1)
    check_int("last", last, first + 1)
    values = np.asarray(values, dtype=float)
    return float((values[last - 1] / values[first - 1]) ** (1.0 / (last - first)))


def seed_mean(settings: dict, fields, layers, seeds=range(5)) -> dict[tuple[str, int], float]:
    """Average of `layer_statistics(**settings, seed=s)` over `seeds`: {(field, layer): mean}.

    A field is a LayerStats attribute ("post_std", "cos_sim", ...) or "theory_post_std".
    """
    totals: dict[tuple[str, int], list[float]] = {}
    for seed in seeds:
        stats = layer_statistics(**settings, seed=seed)
        for name in fields:
            source = stats.theory.post_std if name == "theory_post_std" else getattr(stats, name)
            for layer in layers:
                totals.setdefault((name, layer), []).append(float(source[layer - 1]))
    return {key: float(np.mean(values)) for key, values in totals.items()}


def depth_table(settings: dict[str, dict], activation: str, depth: int = 50, width: int = 256,
                layers=(1, 10, 50), seed: int = 0, saturated: bool = False) -> tuple[dict[str, LayerStats], str]:
    """`layer_statistics` for each named setting (name -> scheme keywords), and a table to print.

    Per setting: the pooled std of h_l at `layers` and the rms gradient dL/dh_1 reaching layer 1 when the last
    layer receives a unit-variance error, each measured in float32 with the recursion's value in brackets
    ('-': not measured, see NOT_MEASURED); with `saturated`, the fraction of |h_1| > 0.97 (tanh).
    """
    if not isinstance(settings, dict) or not settings:
        raise ValueError("settings must be a non-empty dict of name -> layer_statistics keywords")
    for layer in layers:
        check_int("layers entry", layer, 1, depth)
    results = {name: layer_statistics(activation=activation, depth=depth, width=width, seed=seed, **kw)
               for name, kw in settings.items()}
    pad = max(len(name) for name in settings) + 2
    head = f"{'':{pad}s}" + "".join(f"{'std h_' + str(k):>20s}" for k in layers) + f"{'gradient at layer 1':>22s}"
    rows = [head + (f"{'saturated, layer 1':>20s}" if saturated else "")]
    for name, s in results.items():
        pairs = [(s.post_std[k - 1], s.theory.post_std[k - 1]) for k in layers]
        pairs.append((s.grad_rms[0], s.theory.grad_rms[0]))
        cells = [f"{fmt(m)} ({fmt(t)})" for m, t in pairs]
        row = f"{name:{pad}s}" + "".join(f"{c:>20s}" for c in cells[:-1]) + f"{cells[-1]:>22s}"
        rows.append(row + (f"{s.saturated[0]:20.0%}" if saturated else ""))
    return results, "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# symmetry: constant init keeps every hidden unit identical
# ---------------------------------------------------------------------------------------------

def unit_spread(layer: nn.Linear) -> float:
    """How different the units of a layer are: max_i ||w_i - w_0|| / ||w_0||, w_i = unit i's incoming weights.

    0 means every unit has exactly the same incoming weights (a row of `layer.weight`).
    """
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    rows = layer.weight.detach().double()
    size = float(rows[0].norm())
    spread = float((rows - rows[0]).norm(dim=1).max())
    return spread / size if size > 0 else (0.0 if spread == 0 else math.inf)


@dataclass
class SymmetryResult:
    """Per hidden layer: the units' spread (`unit_spread`) before and after training, the final training loss,
    and the trained model with its data (to draw its decision boundary)."""

    spread_before: list[float]
    spread_after: list[float]
    final_loss: float
    model: nn.Module | None = None
    split: data.Split | None = None


SYMMETRY_CONSTANT = 0.1  # every weight (and bias) of the constant init: helpers.init.init_linear_'s default


def symmetry_experiment(weights: str = "constant", biases: str = "constant", activation: str = "tanh",
                        width: int = 16, steps: int = 2000, lr: float = 0.1, seed: int = 0) -> SymmetryResult:
    """Train a 2 -> width -> width -> 1 MLP on two moons (SGD, full batch) and measure `unit_spread`.

    `weights`: "constant" (every weight SYMMETRY_CONSTANT = 0.1) or "random" (Xavier normal); `biases`: "constant"
    (every bias 0.1), "zero" or "pytorch_default" (nn.Linear's own random U(-1/sqrt(n), 1/sqrt(n))).
    """
    check_choice("weights", weights, ["constant", "random"])
    check_choice("biases", biases, ["constant", "zero", "pytorch_default"])
    check_choice("activation", activation, ACTIVATIONS)
    check_int("width", width, 2)
    check_int("steps", steps, 1)
    check_float("lr", lr, 0.0, low_open=True)
    check_int("seed", seed, 0)
    model = models.mlp(2, [width, width], 1, activation=activation, seed=seed,
                       init="constant" if weights == "constant" else "xavier_normal")
    if biases in ("constant", "zero"):
        for layer in models.linear_layers(model):
            with torch.no_grad():
                layer.bias.fill_(SYMMETRY_CONSTANT if biases == "constant" else 0.0)
    else:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed + 1000)
        for layer in models.linear_layers(model):
            bound = 1.0 / math.sqrt(layer.weight.shape[1])
            with torch.no_grad():
                layer.bias.uniform_(-bound, bound)
        torch.random.set_rng_state(generator_state)
    hidden = models.linear_layers(model)[:-1]
    before = [unit_spread(layer) for layer in hidden]
    split = moons_split(seed)
    history = train.train(model, split, steps=steps, lr=lr, optimizer="sgd", eval_every=steps)
    return SymmetryResult(before, [unit_spread(layer) for layer in hidden], history.train_loss[-1], model, split)


def zero_init_gradients(activation: str = "relu", depth: int = 4, width: int = 16,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """Gradients at an all-zero init (weights and biases 0): per layer ||dL/dW_l|| and ||dL/db_l||.

    With phi(0) = 0 (ReLU, tanh, linear) every h_l is 0, so dL/dW_l = delta_l h_{l-1}^T = 0 and
    dL/dh_{l-1} = W_l^T delta_l = 0: only the output bias receives a gradient.
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_int("depth", depth, 2)
    check_int("width", width, 1)
    model = models.mlp(2, [width] * (depth - 1), 1, activation=activation, init="zeros", seed=seed)
    split = moons_split(seed)
    model.zero_grad()
    train.data_loss(model(split.X_train), split.y_train, "bce").backward()
    layers = models.linear_layers(model)
    return {"weight": np.array([float(m.weight.grad.norm()) for m in layers]),
            "bias": np.array([float(m.bias.grad.norm()) for m in layers])}


# ---------------------------------------------------------------------------------------------
# training with each scheme
# ---------------------------------------------------------------------------------------------

TRAIN_SCHEMES = {  # label -> (init scheme, std)
    "zeros": ("zeros", 0.0),
    "N(0, 0.01²)": ("normal", 0.01),
    "N(0, 1)": ("normal", 1.0),
    "LeCun": ("lecun_normal", 0.0),
    "Xavier": ("xavier_normal", 0.0),
    "He": ("he_normal", 0.0),
    "PyTorch default": ("pytorch_default", 0.0),
}
OPTIMIZER_LR = {"sgd": 0.1, "adam": 0.01}


@lru_cache(maxsize=16)
def moons_split(seed: int = 0, n: int = 256) -> data.Split:
    """Two moons (noise 0.2), `n` points: half for training, half for validation, standardized with the
    training rows' mean and std."""
    check_int("seed", seed, 0)
    check_int("n", n, 4)
    return data.moons_split(n, noise=0.2, val_fraction=0.5, seed=seed)


def train_scheme(scheme: str = "He", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
                 steps: int = 150, width: int = 64, seed: int = 0, eval_every: int = 15, after_step=None,
                 model: nn.Module | None = None):
    """Train a depth-`depth` MLP (depth - 1 hidden layers of `width`) on two moons with one init scheme.

    `scheme` is a key of TRAIN_SCHEMES; full-batch `optimizer` ("sgd" at lr 0.1 or "adam" at
    lr 0.01), binary cross-entropy. Returns (model, split, history). `after_step` is passed to `train.train`;
    `model`, if given, is that network already built by this function's own `models.mlp` call (`traced_run`).
    """
    check_choice("scheme", scheme, TRAIN_SCHEMES)
    check_choice("activation", activation, ACTIVATIONS)
    check_int("depth", depth, 2)
    check_choice("optimizer", optimizer, OPTIMIZER_LR)
    name, std = TRAIN_SCHEMES[scheme]
    if model is None:
        model = models.mlp(2, [width] * (depth - 1), 1, activation=activation, init=name, std=std or 0.01,
                           seed=seed)
    split = moons_split(seed)
    history = train.train(model, split, steps=steps, lr=OPTIMIZER_LR[optimizer], optimizer=optimizer,
                          eval_every=eval_every, seed=seed, after_step=after_step)
    return model, split, history


# ---------------------------------------------------------------------------------------------
# layers over training: each hidden layer's activations on a fixed probe batch
# ---------------------------------------------------------------------------------------------

NEAR_ZERO = 1e-3  # a unit is "near zero" when |h| < 1e-3 on every probe point (a dead ReLU unit, exactly 0, counts)
TRACE_EVERY = 10  # record every 10 updates (and before the first)
TRACE_LOG10_RANGE = (-8.0, 2.0)  # the |h| histogram's bins: 40 bins of equal width in log10 |h| over [1e-8, 1e2]
TRACE_BINS = 40


@dataclass
class ActivationTrace:
    """Each hidden layer's activations h_l on the probe batch (the training inputs), at the recorded steps.

    Arrays are indexed [layer l - 1, record]. `hist[l - 1, t]` counts the values |h_l| (probe points x units)
    per bin of `log10_edges` (values below 1e-8, zeros included, counted in the lowest bin, above 1e2 in the
    highest); `near_zero` is the share of units with |h| < NEAR_ZERO = 1e-3 on every probe point; `mean`
    and `std` are pooled over units and probe points. A record whose values are not all finite holds NaN.
    """

    steps: np.ndarray
    hist: np.ndarray
    log10_edges: np.ndarray
    near_zero: np.ndarray
    mean: np.ndarray
    std: np.ndarray


class ActivationRecorder:
    """Call it as `after_step(step, model, history)` of `train.train`: every `every` updates it runs the model
    on `probe` (no gradient, no random numbers drawn, so training is unchanged; the lesson's MLPs have no dropout,
    so train and eval mode compute the same) and records
    each hidden layer's |h| histogram, near-zero share, mean and std. `trace()` returns an ActivationTrace."""

    def __init__(self, probe: torch.Tensor, every: int = TRACE_EVERY):
        check_int("every", every, 1)
        self.probe, self.every = probe, every
        self.steps, self.hists, self.near, self.means, self.stds = [], [], [], [], []

    def __call__(self, step: int, model: nn.Module, history=None) -> None:
        if step % self.every:
            return
        hidden, h = [], self.probe
        with torch.no_grad():
            for module in model:
                h = module(h)
                if not isinstance(module, nn.Linear):
                    hidden.append(h)
        h = torch.stack(hidden).reshape(len(hidden), -1)  # (layers, probe points x units), float32
        size = h.abs()
        low, high = TRACE_LOG10_RANGE
        logs = torch.log10(size.clamp(10**low, 10**high)).nan_to_num_(nan=high)
        mean = h.mean(dim=1)
        std = (h - mean[:, None]).pow(2).mean(dim=1).sqrt()  # pooled (population) std
        self.steps.append(step)
        self.hists.append(np.stack([torch.histc(x, TRACE_BINS, low, high).numpy() for x in logs]))
        self.near.append((size.reshape(len(hidden), len(self.probe), -1) < NEAR_ZERO).all(dim=1)
                         .float().mean(dim=1).numpy())
        self.means.append(mean.numpy())
        self.stds.append(std.numpy())

    def trace(self) -> ActivationTrace:
        return ActivationTrace(np.array(self.steps), np.stack(self.hists, axis=1),
                               np.linspace(*TRACE_LOG10_RANGE, TRACE_BINS + 1), np.stack(self.near, axis=1),
                               np.stack(self.means, axis=1), np.stack(self.stds, axis=1))


@lru_cache(maxsize=48)
def traced_run(scheme: str = "He", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
               seed: int = 0, steps: int = 150, every: int = TRACE_EVERY):
    """`train_scheme` (same run, bit for bit) with an ActivationRecorder on the training inputs:
    (model, split, history, trace). Cached, so the training panel and the layers panel share one run."""
    check_choice("scheme", scheme, TRAIN_SCHEMES)
    check_choice("activation", activation, ACTIVATIONS)
    check_int("depth", depth, 2)
    recorder = ActivationRecorder(moons_split(seed).X_train, every)
    name, std = TRAIN_SCHEMES[scheme]
    model = models.mlp(2, [64] * (depth - 1), 1, activation=activation, init=name, std=std or 0.01, seed=seed)
    recorder(0, model)
    model, split, history = train_scheme(scheme, activation, depth, optimizer, steps=steps, seed=seed,
                                         after_step=recorder, model=model)
    return model, split, history, recorder.trace()


def _hidden_layers(model: nn.Module, X: torch.Tensor) -> list[torch.Tensor]:
    """Each hidden layer's h_l (after its activation) for the inputs X, without gradient."""
    hidden, h = [], X
    with torch.no_grad():
        for module in model:
            h = module(h)
            if not isinstance(module, nn.Linear):
                hidden.append(h)
    return hidden


def initial_model(scheme: str = "He", activation: str = "relu", depth: int = 10, seed: int = 0) -> nn.Module:
    """The network `traced_run` starts from (the same `models.mlp` call, so the same weights), before training."""
    check_choice("scheme", scheme, TRAIN_SCHEMES)
    check_choice("activation", activation, ACTIVATIONS)
    check_int("depth", depth, 2)
    name, std = TRAIN_SCHEMES[scheme]
    return models.mlp(2, [64] * (depth - 1), 1, activation=activation, init=name, std=std or 0.01, seed=seed)


@dataclass
class SignalSplit:
    """Per hidden layer (index l - 1), at the start and end of a `traced_run`, on the training inputs:
    `pooled_*` is the std of h_l over units and inputs together (what the layers panel draws); `signal_*` is the
    std across inputs, sqrt(mean over units j of Var_x h_l[x, j]): the part of h_l that depends on the input (a
    bias, the same for every input, adds to the pooled std and not to this one); `zero_*` is the share of units
    exactly 0 on every input (dead ReLU units)."""

    pooled_start: np.ndarray
    pooled_end: np.ndarray
    signal_start: np.ndarray
    signal_end: np.ndarray
    zero_start: np.ndarray
    zero_end: np.ndarray


def _split_of(model: nn.Module, X: torch.Tensor):
    hidden = _hidden_layers(model, X)
    pooled = np.array([h.std(unbiased=False).item() for h in hidden])
    signal = np.array([h.var(dim=0, unbiased=False).mean().sqrt().item() for h in hidden])
    zero = np.array([(h == 0).all(dim=0).float().mean().item() for h in hidden])
    return pooled, signal, zero


@lru_cache(maxsize=16)
def signal_split(scheme: str = "He", activation: str = "relu", depth: int = 10, optimizer: str = "sgd",
                 seed: int = 0) -> SignalSplit:
    """Pooled std vs std across inputs of every hidden layer, before and after the cached `traced_run`."""
    model, split, _, _ = traced_run(scheme, activation, depth, optimizer, seed=seed)
    start = _split_of(initial_model(scheme, activation, depth, seed), split.X_train)
    end = _split_of(model, split.X_train)
    return SignalSplit(start[0], end[0], start[1], end[1], start[2], end[2])


def signal_table(result: SignalSplit) -> str:
    """One row per hidden layer: pooled std, std across inputs and share of units exactly 0, start -> end."""
    rows = [f"{'layer':>5s}{'pooled std: start -> end':>28s}{'std across inputs: start -> end':>36s}"
            f"{'units exactly 0: start -> end':>32s}"]
    for l in range(len(result.pooled_start)):
        pooled = f"{fmt(result.pooled_start[l])} -> {fmt(result.pooled_end[l])}"
        signal = f"{fmt(result.signal_start[l])} -> {fmt(result.signal_end[l])}"
        zero = f"{result.zero_start[l]:.0%} -> {result.zero_end[l]:.0%}"
        rows.append(f"{l + 1:5d}{pooled:>28s}{signal:>36s}{zero:>32s}")
    return "\n".join(rows)


def init_gradients(scheme: str = "He", activation: str = "relu", depth: int = 10, seed: int = 0) -> dict:
    """At initialization, on the training inputs of `moons_split(seed)`, binary cross-entropy: the largest
    |dL/dW| and |dL/db| of each weight layer (index l - 1, the output layer last), and the std of the output
    logit. dL/db_l = sum over inputs of delta_l, which h_(l-1) does not scale; dL/dW_l = delta_l h_(l-1)^T does."""
    model = initial_model(scheme, activation, depth, seed)
    split = moons_split(seed)
    logits = model(split.X_train).reshape(-1)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, split.y_train.float().reshape(-1))
    loss.backward()
    linear = [m for m in model if isinstance(m, nn.Linear)]
    return {"weight": np.array([m.weight.grad.abs().max().item() for m in linear]),
            "bias": np.array([m.bias.grad.abs().max().item() for m in linear]),
            "logit_std": logits.detach().std().item()}


# ---------------------------------------------------------------------------------------------
# the exercise: check a learner's He init statistically
# ---------------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    """`ok` and a message saying what is right or, if not, what is wrong and how to fix it."""

    ok: bool
    message: str

    def _repr_html_(self):
        color = "#009E73" if self.ok else "#D55E00"
        mark = "&#10004; Passed." if self.ok else "&#10008; Not yet."
        return f"<span style='color:{color};font-weight:bold'>{mark}</span> {self.message}"

    def __repr__(self):
        return ("Passed. " if self.ok else "Not yet. ") + self.message


def check_he_init(fn, seed: int = 0) -> CheckResult:
    """Test `fn(weight)` statistically: it must fill a (fan_out, fan_in) tensor from N(0, 2 / fan_in).

    Three shapes, (512, 128), (64, 1024), (300, 300): the sample mean must be within 5 standard
    errors of 0 and the sample variance within 6% of 2 / fan_in (its standard error is under 1%),
    the values must look Gaussian (excess kurtosis within 0.3 of 0; a uniform gives -1.2), and two
    calls must differ. A failure names the likely mistake (fan_out for fan_in, std for variance, ...).
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function taking a weight tensor, got {fn!r}")
    check_int("seed", seed, 0)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for fan_out, fan_in in ((512, 128), (64, 1024), (300, 300)):
            problem = _check_one(fn, fan_out, fan_in)
            if problem:
                return CheckResult(False, problem)
        first, second = _call(fn, 300, 300), _call(fn, 300, 300)
    finally:
        torch.random.set_rng_state(state)
    if torch.equal(first, second):
        return CheckResult(False, "two calls gave the same numbers: draw fresh random values each time.")
    return CheckResult(True, "mean 0 and Var(w) = 2 / fan_in (within 6%) for all three shapes, Gaussian-shaped: "
                             "that is He (Kaiming) normal init.")


def _call(fn, fan_out, fan_in):
    weight = torch.full((fan_out, fan_in), float("nan"))
    returned = fn(weight)
    if torch.isnan(weight).all() and isinstance(returned, torch.Tensor) and returned.shape == weight.shape:
        return returned.detach()  # a new tensor instead of filling in place: accepted
    return weight.detach()


def _check_one(fn, fan_out, fan_in) -> str:
    shape = f"for a weight of shape ({fan_out}, {fan_in}) (fan_in = {fan_in}, fan_out = {fan_out})"
    try:
        w = _call(fn, fan_out, fan_in).double()
    except Exception as error:  # the learner's code: report it, never crash the notebook
        return f"your function raised {type(error).__name__}: {error}"
    if torch.isnan(w).any():
        return ("the weight still holds its old values: fill it in place (e.g. `weight.normal_(0, std)` inside "
                "`with torch.no_grad():`) or return the new tensor.")
    target, mean, var = 2.0 / fan_in, float(w.mean()), float(w.var())
    if var == 0:
        return (f"every weight is {float(w.ravel()[0]):g} {shape}: the weights must be random "
                "(equal weights keep every unit identical, section 7).")
    if abs(mean) > 5 * math.sqrt(var / w.numel()):
        return f"the weights' mean is {mean:.3g} {shape}; He init has mean 0."
    if abs(var / target - 1) > 0.06:
        return f"Var(w) = {var:.3g} {shape}, but He needs 2 / fan_in = {target:.3g}. " + _diagnose(var, fan_in, fan_out)
    kurtosis = float(((w - mean) ** 4).mean() / var**2 - 3)
    if abs(kurtosis) > 0.3:
        kind = "uniform" if kurtosis < -0.8 else "non-Gaussian"
        return (f"the variance is right but the values look {kind} (excess kurtosis {kurtosis:.2f}, a normal has 0): "
                "draw from a normal distribution (this exercise asks for He *normal*).")
    return ""


def _diagnose(var: float, fan_in: int, fan_out: int) -> str:
    guesses = {
        "you used fan_out (weight.shape[0]) where He uses fan_in (weight.shape[1])": 2.0 / fan_out,
        "you used 1 / fan_in (LeCun): He has a factor 2 for the half a ReLU removes": 1.0 / fan_in,
        "you used 1 / fan_out: He uses 2 / fan_in, with fan_in = weight.shape[1]": 1.0 / fan_out,
        "this is Xavier's 2 / (fan_in + fan_out), not He's 2 / fan_in": 2.0 / (fan_in + fan_out),
        "you set the std to 2 / fan_in: the std is sqrt(2 / fan_in)": (2.0 / fan_in) ** 2,
        "you set the std to 2 / sqrt(fan_in): the std is sqrt(2) / sqrt(fan_in)": 4.0 / fan_in,
        "this is PyTorch's default 1 / (3 fan_in), not He": 1.0 / (3 * fan_in),
        "the std ignores the layer's size: it must be sqrt(2 / fan_in)": 1.0,
    }
    for message, value in guesses.items():
        if abs(var / value - 1) < 0.06:
            return message[0].upper() + message[1:] + "."
    return "Draw from N(0, std^2) with std = sqrt(2 / fan_in), fan_in = weight.shape[1]."


def compare_schemes(activation: str = "relu", depth: int = 10, optimizer: str = "sgd", steps: int = 150,
                    seed: int = 0, schemes=None) -> dict[str, train.History]:
    """`train_scheme` for each scheme of TRAIN_SCHEMES (or `schemes`): label -> History."""
    schemes = list(TRAIN_SCHEMES) if schemes is None else schemes
    return {name: train_scheme(name, activation, depth, optimizer, steps=steps, seed=seed)[2] for name in schemes}


def verdict(history: train.History) -> str:
    """How a run went, judged by its losses (not its accuracy), at the last evaluation.

    'diverged' (the loss became NaN/inf), 'stalled' (training loss within 0.01 of ln 2 = 0.693: chance),
    'learns' (training loss below 0.5 and validation loss below ln 2: better than chance on new points too),
    'overfits' (training loss below 0.5, validation loss at or above ln 2), 'loss high' (anything else:
    training loss at or above 0.5, e.g. huge logits that get most points right and a few wrong by a mile).
    """
    if history.diverged:
        return "diverged"
    final, val = history.train_loss[-1], history.val_loss[-1]
    if abs(final - math.log(2)) < 0.01:
        return "stalled"
    if final < 0.5:
        return "learns" if val < math.log(2) else "overfits"
    return "loss high"


def final_loss(history: train.History) -> float:
    """The training loss at the end of a run; NaN for a diverged run (its last recorded loss predates the blow-up)."""
    return math.nan if history.diverged else history.train_loss[-1]


def comparison_table(runs: dict[str, dict[str, train.History]], title: str = "") -> str:
    """One row per scheme, and per optimizer (`runs`: optimizer -> label -> History) its final training and
    validation loss, `verdict` and validation accuracy ('-' for a diverged run, whose last evaluation is from
    before it diverged)."""
    columns = f"{'train loss':>10s} {'val loss':>9s} {'verdict':>9s} {'val acc':>7s}"
    head = f"{title:18s}" + "".join(f" | {name:>5s}: {columns}" for name in runs)
    rows = [head]
    for label in next(iter(runs.values())):
        cells = []
        for histories in runs.values():
            h = histories[label]
            acc = "-" if h.diverged else f"{h.val_acc[-1]:.0%}"
            val = math.nan if h.diverged else h.val_loss[-1]
            cells.append(f" | {'':5s}  {final_loss(h):10.3g} {val:9.3g} {verdict(h):>9s} {acc:>7s}")
        rows.append(f"{label:18s}" + "".join(cells))
    return "\n".join(rows)


def fmt(values, digits: int = 2) -> str:
    """Numbers for a printed table: '1.2e-08' style, '-' for NaN (not measured)."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    def one(v):
        if not np.isfinite(v):
            return "-"
        return f"{v:.{digits - 1}e}" if v != 0 and not 1e-2 <= abs(v) < 1e4 else f"{v:.{digits}g}"

    text = [one(v) for v in array]
    return text[0] if np.ndim(values) == 0 else "[" + " ".join(text) + "]"


def layers_table(traces: dict[str, ActivationTrace]) -> str:
    """One row per run (`traces`: label -> ActivationTrace of a `traced_run`): the range of every hidden layer's
    std over all recorded steps, the last hidden layer's std at the first and last record, and the share of
    near-zero units (|h| < NEAR_ZERO on every probe point), mean over layers, at the first and last record."""
    head = (f"{'':18s}{'std of h, all layers and steps':>32s}{'std, last hidden layer: start -> end':>39s}"
            f"{'near-zero share (mean over layers): start -> end':>50s}")
    rows = [head]
    for label, trace in traces.items():
        stds = trace.std[np.isfinite(trace.std)]
        spread = f"{fmt(stds.min())} .. {fmt(stds.max())}"
        last = f"{fmt(trace.std[-1, 0])} -> {fmt(trace.std[-1, -1])}"
        near = trace.near_zero.mean(axis=0)
        rows.append(f"{label:18s}{spread:>32s}{last:>39s}{f'{near[0]:.2f} -> {near[-1]:.2f}':>50s}")
    return "\n".join(rows)
