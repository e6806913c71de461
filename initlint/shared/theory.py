"""The math of initialization: activation gains, fans, and the std an init implies.

Pure Python (``math`` only) so that every stage, including the static mode that
never imports torch, shares one source of truth. Formulas and their sources are
in ``shared/reference/initialization.md``; the tests check them against
hand-computed values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

SQRT2 = math.sqrt(2.0)
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _Phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / SQRT2))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _softplus(z: float, beta: float = 1.0, threshold: float = 20.0) -> float:
    if beta * z > threshold:
        return z
    return math.log1p(math.exp(beta * z)) / beta


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

# How an activation behaves as the signal's scale changes: it decides how far a
# variance-preserving gain can be trusted.
RECTIFIER = "rectifier"  # positively homogeneous: one gain holds at every scale
SATURATING = "saturating"  # tanh, sigmoid...: linear near 0, bounded far out
SMOOTH = "smooth"  # x * gate(x) (GELU, SiLU...): no stable gain
SELF_NORMALIZING = "self-normalizing"  # SELU
IDENTITY = "identity"
CUSTOM = "custom"


@dataclass(frozen=True)
class ActivationMath:
    """A named elementwise activation: its function, kinks and behaviour."""

    fn: Callable[..., float]
    family: str
    kinks: Callable[..., Sequence[float]] = lambda **_: ()
    defaults: Mapping[str, float] = field(default_factory=dict)

    def params(self, given: Mapping[str, float]) -> dict[str, float]:
        merged = dict(self.defaults)
        merged.update({k: v for k, v in given.items() if k in merged})
        return merged


ACTIVATIONS: dict[str, ActivationMath] = {
    "identity": ActivationMath(lambda z: z, IDENTITY),
    "relu": ActivationMath(lambda z: max(z, 0.0), RECTIFIER, lambda: (0.0,)),
    "leaky_relu": ActivationMath(
        lambda z, negative_slope: z if z >= 0 else negative_slope * z,
        RECTIFIER,
        lambda negative_slope: (0.0,),
        {"negative_slope": 0.01},
    ),
    "relu6": ActivationMath(lambda z: min(max(z, 0.0), 6.0), RECTIFIER, lambda: (0.0, 6.0)),
    "tanh": ActivationMath(math.tanh, SATURATING),
    "sigmoid": ActivationMath(_sigmoid, SATURATING),
    "hardtanh": ActivationMath(
        lambda z, min_val, max_val: min(max(z, min_val), max_val),
        SATURATING,
        lambda min_val, max_val: (min_val, max_val),
        {"min_val": -1.0, "max_val": 1.0},
    ),
    "softsign": ActivationMath(lambda z: z / (1.0 + abs(z)), SATURATING, lambda: (0.0,)),
    "hardsigmoid": ActivationMath(lambda z: min(max(z / 6.0 + 0.5, 0.0), 1.0), SATURATING, lambda: (-3.0, 3.0)),
    "gelu": ActivationMath(lambda z: z * _Phi(z), SMOOTH),
    "gelu_tanh": ActivationMath(
        lambda z: 0.5 * z * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3))),
        SMOOTH,
    ),
    "silu": ActivationMath(lambda z: z * _sigmoid(z), SMOOTH),
    "mish": ActivationMath(lambda z: z * math.tanh(_softplus(z)), SMOOTH),
    "hardswish": ActivationMath(lambda z: z * min(max(z + 3.0, 0.0), 6.0) / 6.0, SMOOTH, lambda: (-3.0, 3.0)),
    "softplus": ActivationMath(
        lambda z, beta, threshold: _softplus(z, beta, threshold),
        SMOOTH,
        defaults={"beta": 1.0, "threshold": 20.0},
    ),
    "elu": ActivationMath(
        lambda z, alpha: z if z > 0 else alpha * math.expm1(z),
        SMOOTH,
        lambda alpha: (0.0,),
        {"alpha": 1.0},
    ),
    "celu": ActivationMath(
        lambda z, alpha: z if z > 0 else alpha * math.expm1(z / alpha),
        SMOOTH,
        lambda alpha: (0.0,),
        {"alpha": 1.0},
    ),
    "selu": ActivationMath(
        lambda z: _SELU_SCALE * (z if z > 0 else _SELU_ALPHA * math.expm1(z)),
        SELF_NORMALIZING,
        lambda: (0.0,),
    ),
}

# Where the standard normal's mass is: beyond +-12 it is below 1e-32.
_RANGE = 12.0
_PANELS_PER_SEGMENT = 600  # Simpson panels; error well below 1e-8 here


def _simpson(values: Sequence[float], h: float) -> float:
    n = len(values) - 1
    total = values[0] + values[-1]
    total += 4.0 * sum(values[1:n:2]) + 2.0 * sum(values[2 : n - 1 : 2])
    return total * h / 3.0


def _segments(kinks: Sequence[float]) -> list[tuple[float, float]]:
    cuts = sorted({-_RANGE, _RANGE, *(k for k in kinks if -_RANGE < k < _RANGE)})
    return list(zip(cuts, cuts[1:]))


def gaussian_expectation(
    g: Callable[[float], float], kinks: Sequence[float] = (), panels: int = _PANELS_PER_SEGMENT
) -> float:
    """E[g(z)] for z ~ N(0, 1), by Simpson's rule split at the kinks of g (``panels`` per segment)."""
    total = 0.0
    for lo, hi in _segments(kinks):
        n = 2 * panels
        h = (hi - lo) / n
        total += _simpson([g(lo + i * h) * _phi(lo + i * h) for i in range(n + 1)], h)
    return total


def _derivative(fn: Callable[[float], float], lo: float, hi: float) -> Callable[[float], float]:
    """f' inside [lo, hi], one-sided at the ends so a kink is never straddled."""
    eps = 1e-6

    def d(z: float) -> float:
        a, b = max(z - eps, lo), min(z + eps, hi)
        return (fn(b) - fn(a)) / (b - a)

    return d


@dataclass(frozen=True)
class Gains:
    """What an activation does to the second moment of a unit Gaussian."""

    second_moment: float  # E[f(z)^2]
    derivative_moment: float  # E[f'(z)^2]

    @property
    def forward(self) -> float:
        """g_fwd = 1/sqrt(E[f(z)^2]): keeps activations' second moment (fan_in)."""
        return 1.0 / math.sqrt(self.second_moment)

    @property
    def backward(self) -> float:
        """g_bwd = 1/sqrt(E[f'(z)^2]): keeps gradients' second moment (fan_out)."""
        return 1.0 / math.sqrt(self.derivative_moment)


def _gains_of(fn: Callable[[float], float], kinks: Sequence[float]) -> Gains:
    second = gaussian_expectation(lambda z: fn(z) ** 2, kinks)
    deriv = 0.0
    for lo, hi in _segments(kinks):
        d = _derivative(fn, lo, hi)
        n = 2 * _PANELS_PER_SEGMENT
        h = (hi - lo) / n
        deriv += _simpson([d(lo + i * h) ** 2 * _phi(lo + i * h) for i in range(n + 1)], h)
    return Gains(second, deriv)


@lru_cache(maxsize=256)
def _cached_gains(name: str, params: tuple[tuple[str, float], ...]) -> Gains:
    spec = ACTIVATIONS[name]
    kw = dict(params)
    return _gains_of(lambda z: spec.fn(z, **kw), spec.kinks(**kw))


def gains(name: str, **params: float) -> Gains:
    """Gains of a named activation from ``ACTIVATIONS`` (KeyError if unknown)."""
    spec = ACTIVATIONS[name]
    return _cached_gains(name, tuple(sorted(spec.params(params).items())))


# Sample points for activations known only as a function (a user's nn.Module):
# the worker evaluates the function here and hands the values back.
SAMPLE_STEP = 0.005
SAMPLE_POINTS: tuple[float, ...] = tuple(-_RANGE + i * SAMPLE_STEP for i in range(int(2 * _RANGE / SAMPLE_STEP) + 1))


def gains_from_samples(values: Sequence[float]) -> Gains:
    """Gains of an activation sampled at ``SAMPLE_POINTS``."""
    if len(values) != len(SAMPLE_POINTS):
        raise ValueError("values must be sampled at SAMPLE_POINTS")
    h = SAMPLE_STEP
    weights = [_phi(z) for z in SAMPLE_POINTS]
    second = _simpson([v * v * w for v, w in zip(values, weights)], h)
    slopes = [(values[i + 1] - values[i - 1]) / (2 * h) for i in range(1, len(values) - 1)]
    slopes = [slopes[0], *slopes, slopes[-1]]
    deriv = _simpson([s * s * w for s, w in zip(slopes, weights)], h)
    return Gains(second, deriv)


def match_activation(values: Sequence[float], tolerance: float = 2e-3) -> str | None:
    """The named activation these samples (at ``SAMPLE_POINTS``) are, if any.

    Only parameter-free activations and the common leaky slopes are matched;
    a leaky slope is read off the samples by the caller.
    """
    window = [(z, v) for z, v in zip(SAMPLE_POINTS, values) if -4.0 <= z <= 4.0]
    for name, spec in ACTIVATIONS.items():
        if spec.defaults:
            continue
        if all(abs(spec.fn(z) - v) <= tolerance * max(1.0, abs(v)) for z, v in window):
            return name
    return None


# ---------------------------------------------------------------------------
# PyTorch's calculate_gain, reproduced so the static mode needs no torch
# ---------------------------------------------------------------------------

_LINEAR_LIKE = {
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "sigmoid",
}  # fmt: skip


def torch_gain(nonlinearity: str, param: float | None = None) -> float:
    """``torch.nn.init.calculate_gain``; ValueError for names torch rejects."""
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return SQRT2
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


# ---------------------------------------------------------------------------
# Fans
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fans:
    fan_in: int
    fan_out: int


def torch_fans(shape: Sequence[int]) -> Fans:
    """``torch.nn.init._calculate_fan_in_and_fan_out``: what torch's inits use."""
    if len(shape) < 2:
        raise ValueError("fans need a tensor with at least 2 dimensions")
    receptive = math.prod(shape[2:])
    return Fans(shape[1] * receptive, shape[0] * receptive)


def true_fans(
    shape: Sequence[int],
    *,
    groups: int = 1,
    transposed: bool = False,
    stride: Sequence[int] = (),
    input_major: bool = False,
) -> Fans:
    """How many inputs each output sums (fan_in) and outputs each input feeds.

    Differs from torch for grouped convs (torch's fan_out is ``groups`` times
    too large), transposed convs (weight is (in, out/g, k..): torch swaps the
    fans and ignores the stride) and input-major weights such as transformers'
    ``Conv1D`` (in, out).
    """
    if len(shape) < 2:
        raise ValueError("fans need a tensor with at least 2 dimensions")
    receptive = math.prod(shape[2:])
    if input_major:
        return Fans(shape[0] * receptive, shape[1] * receptive)
    if transposed:
        in_channels, out_per_group = shape[0], shape[1]
        overlap = max(1, math.prod(stride)) if stride else 1
        return Fans(
            max(1, (in_channels // groups) * receptive // overlap),
            out_per_group * receptive,
        )
    return Fans(shape[1] * receptive, (shape[0] // groups) * receptive)


# ---------------------------------------------------------------------------
# What an init call implies
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """The distribution a parameter's values were drawn from, as far as known."""

    family: str  # normal | uniform | truncated_normal | orthogonal | constant | identity | sparse
    std: float
    mean: float = 0.0

    @property
    def is_constant(self) -> bool:
        return self.std == 0.0

    def scaled(self, factor: float) -> Distribution:
        return Distribution(self.family, self.std * abs(factor), self.mean * factor)

    def shifted(self, offset: float) -> Distribution:
        return Distribution(self.family, self.std, self.mean + offset)

    @property
    def second_moment(self) -> float:
        return self.std**2 + self.mean**2


def uniform_std(low: float, high: float) -> float:
    return abs(high - low) / math.sqrt(12.0)


def truncated_normal_std(mean: float, std: float, low: float, high: float) -> float:
    """Std of N(mean, std) truncated to [low, high] (absolute bounds)."""
    if std <= 0:
        return 0.0
    alpha, beta = (low - mean) / std, (high - mean) / std
    mass = _Phi(beta) - _Phi(alpha)
    if mass <= 0:
        return 0.0
    pa = _phi(alpha) if math.isfinite(alpha) else 0.0
    pb = _phi(beta) if math.isfinite(beta) else 0.0
    ta = alpha * pa if math.isfinite(alpha) else 0.0
    tb = beta * pb if math.isfinite(beta) else 0.0
    var = 1.0 + (ta - tb) / mass - ((pa - pb) / mass) ** 2
    return std * math.sqrt(max(var, 0.0))


def truncated_normal_mean(mean: float, std: float, low: float, high: float) -> float:
    if std <= 0:
        return mean
    alpha, beta = (low - mean) / std, (high - mean) / std
    mass = _Phi(beta) - _Phi(alpha)
    if mass <= 0:
        return mean
    return mean + std * (_phi(alpha) - _phi(beta)) / mass


def init_gain(function: str, args: Mapping[str, Any]) -> float | None:
    """The gain an ``nn.init`` call assumes, or None for gain-less inits.

    ``args`` are the call's arguments as the user passed them, any objects:
    float() raising TypeError or ValueError says they are not numbers.
    """
    if function in ("xavier_uniform_", "xavier_normal_", "orthogonal_"):
        return float(args.get("gain", 1.0))
    if function in ("kaiming_uniform_", "kaiming_normal_"):
        return _kaiming_gain(args)
    return None


def _kaiming_gain(args: Mapping[str, Any]) -> float:
    return torch_gain(str(args.get("nonlinearity", "leaky_relu")), args.get("a", 0))


def init_distribution(function: str, args: Mapping[str, Any], shape: Sequence[int]) -> Distribution:
    """The distribution ``torch.nn.init.<function>(tensor, **args)`` draws.

    ``shape`` is the tensor's; fans are torch's (what the call really used).
    Raises KeyError for a function it does not know.
    """
    a = dict(args)
    if function == "uniform_":
        low, high = float(a.get("a", 0.0)), float(a.get("b", 1.0))
        return Distribution("uniform", uniform_std(low, high), (low + high) / 2)
    if function == "normal_":
        return Distribution("normal", abs(float(a.get("std", 1.0))), float(a.get("mean", 0.0)))
    if function == "trunc_normal_":
        mean, std = float(a.get("mean", 0.0)), float(a.get("std", 1.0))
        low, high = float(a.get("a", -2.0)), float(a.get("b", 2.0))
        return Distribution(
            "truncated_normal",
            truncated_normal_std(mean, std, low, high),
            truncated_normal_mean(mean, std, low, high),
        )
    if function == "constant_":
        return Distribution("constant", 0.0, float(a.get("val", 0.0)))
    if function == "ones_":
        return Distribution("constant", 0.0, 1.0)
    if function == "zeros_":
        return Distribution("constant", 0.0, 0.0)
    if function in ("eye_", "dirac_"):
        # Copies one input to each output: preserves the signal like an
        # orthogonal matrix, so its "std" is the orthogonal one at gain 1.
        return Distribution("identity", 1.0 / math.sqrt(torch_fans(shape).fan_in))
    fans = torch_fans(shape)
    if function in ("xavier_uniform_", "xavier_normal_"):
        std = float(a.get("gain", 1.0)) * math.sqrt(2.0 / (fans.fan_in + fans.fan_out))
        return Distribution("uniform" if function == "xavier_uniform_" else "normal", std)
    if function in ("kaiming_uniform_", "kaiming_normal_"):
        mode = str(a.get("mode", "fan_in"))
        fan = fans.fan_in if mode == "fan_in" else fans.fan_out
        std = _kaiming_gain(a) / math.sqrt(fan)
        return Distribution("uniform" if function == "kaiming_uniform_" else "normal", std)
    if function == "orthogonal_":
        rows = shape[0]
        cols = math.prod(shape) // rows
        return Distribution("orthogonal", float(a.get("gain", 1.0)) / math.sqrt(max(rows, cols)))
    if function == "sparse_":
        rows = shape[0]
        zeroed = math.ceil(float(a.get("sparsity", 0.0)) * rows)
        kept = max(rows - zeroed, 0) / rows
        return Distribution("sparse", float(a.get("std", 0.01)) * math.sqrt(kept))
    raise KeyError(function)


def expected_std(gain: float, fan: int) -> float:
    """Variance-preserving std: gain / sqrt(fan) (He et al. 2015, eq. 10/14)."""
    return gain / math.sqrt(fan)


def variance_factor(fan_in: int, weight: Distribution, input_moment: float = 1.0) -> float:
    """How a layer scales its input's second moment: fan_in * E[w^2] * E[x^2].

    ``input_moment`` is E[f(z)^2] of the activation feeding the layer (1 for
    raw data or no activation), so a He-initialised layer after a ReLU gives 1.
    """
    return fan_in * weight.second_moment * input_moment


def moment_through(name: str, params: tuple[tuple[str, float], ...], moment: float) -> float:
    """E[f(x)^2] for x ~ N(0, ``moment``): what a named activation of ``ACTIVATIONS`` does to a signal
    of that second moment, at that scale (tanh saturates a large one, is linear on a small one).
    Positively homogeneous activations scale exactly; the others are integrated, at a scale rounded
    to 1% (cached)."""
    spec = ACTIVATIONS[name]
    if spec.family in (IDENTITY, RECTIFIER) and name != "relu6":
        return moment * gains(name, **dict(params)).second_moment
    if not 0.0 < moment < math.inf:
        return moment if moment == 0.0 else _moment_at(name, params, 2000)  # 1e20: as far out as counts
    return _moment_at(name, params, round(50 * math.log10(moment)))


@lru_cache(maxsize=4096)
def _moment_at(name: str, params: tuple[tuple[str, float], ...], step: int) -> float:
    """E[f(s z)^2] for z ~ N(0, 1), s^2 = 10^(step / 50)."""
    spec = ACTIVATIONS[name]
    kw = spec.params(dict(params))
    scale = math.sqrt(10.0 ** (step / 50))
    # Where f(s z) turns (|s z| of 1 to 3) gets its own segments, so a tenth of the gains' panels
    # (a signal model comparing moments against factors of 1e4 needs no more) still resolve it.
    turns = [sign * k / scale for sign in (-1.0, 1.0) for k in (1.0, 3.0)]
    kinks = [k / scale for k in spec.kinks(**kw)] + turns
    return gaussian_expectation(lambda z: spec.fn(scale * z, **kw) ** 2, kinks, _PANELS_PER_SEGMENT // 10)


# PyTorch's default for Linear/Conv*: kaiming_uniform_(a=sqrt(5)) == U(+-1/sqrt(fan_in)).
DEFAULT_INIT_ARGS = {"a": math.sqrt(5.0), "mode": "fan_in", "nonlinearity": "leaky_relu"}


# ---------------------------------------------------------------------------
# Saturation: how much of a bounded activation's input starts where it is flat
# ---------------------------------------------------------------------------

# "Flat": the activation's slope is below this share of its slope at 0.
FLAT_SLOPE = 0.1


@cache
def saturation_threshold(name: str, flat: float = FLAT_SLOPE) -> float | None:
    """|z| past which a saturating activation's slope is below ``flat`` times its slope at 0:
    3.64 for sigmoid (sigma' = 0.025), 1.82 for tanh (1 - tanh^2 = 0.1). None for others."""
    math_ = ACTIVATIONS.get(name)
    if math_ is None or math_.family != SATURATING:
        return None
    fn = lambda z: math_.fn(z, **math_.defaults)  # noqa: E731
    slope = _derivative(fn, -50.0, 50.0)
    at_zero = slope(0.0)
    if at_zero <= 0:
        return None
    low, high = 0.0, 50.0
    if slope(high) > flat * at_zero:
        return None
    for _ in range(80):  # bisection: the slope falls monotonically away from 0
        middle = (low + high) / 2
        low, high = (middle, high) if slope(middle) > flat * at_zero else (low, middle)
    return (low + high) / 2


def saturated_fraction(pre_activation_std: float, threshold: float) -> float:
    """P(|z| > threshold) for z ~ N(0, std^2): the share of units that start saturated."""
    if pre_activation_std <= 0:
        return 0.0
    return math.erfc(threshold / (pre_activation_std * SQRT2))
