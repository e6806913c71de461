"""How a parameter gets its values: ``torch.nn.init`` functions, in-place tensor writes, tensor factories.

One row per torch function, with its signature and what it does to the
values; ``shared.writes`` turns a call into a ``Write`` with these rows and
``theory`` computes the distributions' numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .params import Param, defaults, names, params

# -- torch.nn.init -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitFunction:
    """A public ``torch.nn.init`` function."""

    name: str
    params: tuple[Param, ...]  # torch's signature: ``tensor`` first, ``generator`` last for random inits
    family: str  # the theory.Distribution family it draws (theory.init_distribution has the numbers)
    gain: bool = False  # assumes an activation's gain: xavier, kaiming, orthogonal
    alias: bool = True  # torch also has the deprecated spelling without the trailing underscore

    @property
    def arguments(self) -> tuple[str, ...]:
        """What a call sets besides the tensor (and the generator), in positional order."""
        return tuple(n for n in names(self.params) if n not in ("tensor", "generator"))

    @property
    def defaults(self) -> dict[str, object]:
        return {k: v for k, v in defaults(self.params).items() if k != "generator"}


def _init(
    name: str,
    signature: str,
    family: str,
    defaults: Mapping[str, object] | None = None,
    gain: bool = False,
    alias: bool = True,
) -> InitFunction:
    return InitFunction(name, params(signature, {"generator": None, **(defaults or {})}), family, gain, alias)


_FANS = {"a": 0, "mode": "fan_in", "nonlinearity": "leaky_relu"}
INIT_FUNCTIONS: dict[str, InitFunction] = {
    f.name: f
    for f in (
        _init("uniform_", "tensor a b generator", "uniform", {"a": 0.0, "b": 1.0}),
        _init("normal_", "tensor mean std generator", "normal", {"mean": 0.0, "std": 1.0}),
        _init("trunc_normal_", "tensor mean std a b generator", "truncated_normal",
              {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}, alias=False),
        _init("constant_", "tensor val", "constant"),
        _init("ones_", "tensor", "constant", alias=False),
        _init("zeros_", "tensor", "constant", alias=False),
        _init("eye_", "tensor", "identity"),
        _init("dirac_", "tensor groups", "identity", {"groups": 1}),
        _init("xavier_uniform_", "tensor gain generator", "uniform", {"gain": 1.0}, gain=True),
        _init("xavier_normal_", "tensor gain generator", "normal", {"gain": 1.0}, gain=True),
        _init("kaiming_uniform_", "tensor a mode nonlinearity generator", "uniform", _FANS, gain=True),
        _init("kaiming_normal_", "tensor a mode nonlinearity generator", "normal", _FANS, gain=True),
        _init("orthogonal_", "tensor gain generator", "orthogonal", {"gain": 1}, gain=True),
        _init("sparse_", "tensor sparsity std generator", "sparse", {"std": 0.01}),
    )
}  # fmt: skip
# Deprecated spellings (``nn.init.xavier_uniform``): torch forwards them to the in-place function.
INIT_ALIASES: dict[str, str] = {f.name.rstrip("_"): f.name for f in INIT_FUNCTIONS.values() if f.alias}
# Public torch.nn.init functions that initialise nothing.
NOT_INITS: dict[str, str] = {"calculate_gain": "returns a gain, reproduced as theory.torch_gain"}


def init_function(name: str) -> InitFunction | None:
    """The init ``torch.nn.init.<name>`` is, deprecated spellings included."""
    return INIT_FUNCTIONS.get(INIT_ALIASES.get(name, name))


# -- in-place tensor writes ----------------------------------------------------------------------

# What a write does to a parameter's values (shared.writes.Write effects).
SET = "set"  # replaces them all
SCALE = "scale"  # multiplies them by a constant
SHIFT = "shift"  # adds a constant
PARTIAL = "partial"  # writes some of them
UNKNOWN = "unknown"  # changes them in a way the distribution does not follow

# What a SET writes.
NORMAL = "normal"  # N(mean, std)
UNIFORM = "uniform"  # U(from, to)
FILL = "fill"  # the constant ``value``
ZEROS = "zeros"
COPY = "copy"  # another tensor's values


@dataclass(frozen=True)
class TensorWrite:
    """A tensor method that writes its receiver in place."""

    name: str
    effect: str  # SET | SCALE | SHIFT | PARTIAL | UNKNOWN
    params: tuple[Param, ...] = ()  # after self: the keywords a call may use
    writes: str | None = None  # for SET: NORMAL | UNIFORM | FILL | ZEROS | COPY
    inverse: bool = False  # divides (SCALE) or subtracts (SHIFT)
    random: bool = False  # draws random values (nothing to compute on the meta device)


def _write(
    name: str,
    effect: str,
    signature: str = "",
    writes: str | None = None,
    inverse: bool = False,
    random: bool = False,
    defaults: Mapping[str, object] | None = None,
) -> TensorWrite:
    return TensorWrite(name, effect, params(signature, defaults), writes, inverse, random)


# In-place methods whose effect on the values no row follows: a write of unknown values.
_UNFOLLOWED = (
    "abs_", "absolute_", "acos_", "acosh_", "addbmm_", "addcdiv_", "addcmul_", "addmm_", "addmv_", "addr_",
    "apply_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan2_", "arctan_", "arctanh_", "as_strided_",
    "asin_", "asinh_", "atan2_", "atan_", "atanh_", "baddbmm_", "bitwise_and_", "bitwise_left_shift_",
    "bitwise_not_", "bitwise_or_", "bitwise_right_shift_", "bitwise_xor_", "ceil_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "conj_physical_", "copysign_", "cos_", "cosh_", "cumprod_", "cumsum_", "deg2rad_",
    "digamma_", "eq_", "erf_", "erfc_", "erfinv_", "exp2_", "exp_", "expm1_", "fill_diagonal_", "fix_",
    "float_power_", "floor_", "floor_divide_", "fmod_", "frac_", "gcd_", "ge_", "greater_", "greater_equal_",
    "gt_", "heaviside_", "hypot_", "i0_", "igamma_", "igammac_", "index_add_", "index_copy_", "index_fill_",
    "index_put_", "index_reduce_", "lcm_", "ldexp_", "le_", "lerp_", "less_", "less_equal_", "lgamma_", "log10_",
    "log1p_", "log2_", "log_", "logical_and_", "logical_not_", "logical_or_", "logical_xor_", "logit_", "lt_",
    "map2_", "map_", "masked_fill_", "masked_scatter_", "mvlgamma_", "nan_to_num_", "ne_", "neg_", "negative_",
    "nextafter_", "not_equal_", "polygamma_", "pow_", "put_", "rad2deg_", "reciprocal_", "relu_", "remainder_",
    "renorm_", "resize_", "resize_as_", "resize_as_sparse_", "round_", "rsqrt_", "scatter_", "scatter_add_",
    "scatter_reduce_", "set_", "sgn_", "sigmoid_", "sign_", "sin_", "sinc_", "sinh_", "sparse_resize_",
    "sparse_resize_and_clear_", "sqrt_", "square_", "squeeze_", "swapaxes_", "swapdims_", "t_", "tan_", "tanh_",
    "transpose_", "tril_", "triu_", "trunc_", "unsqueeze_", "xlogy_",
)  # fmt: skip
_RANDOM_REFILLS = ("exponential_", "bernoulli_", "random_", "log_normal_", "cauchy_", "geometric_")
_SCALE = {"rounding_mode": None}
_SHIFT = {"alpha": 1.0}
TENSOR_WRITES: dict[str, TensorWrite] = {
    w.name: w
    for w in (
        _write("normal_", SET, "mean std * generator", NORMAL, random=True,
               defaults={"mean": 0.0, "std": 1.0, "generator": None}),
        _write("uniform_", SET, "from to * generator", UNIFORM, random=True,
               defaults={"from": 0.0, "to": 1.0, "generator": None}),
        _write("fill_", SET, "value", FILL),
        _write("zero_", SET, "", ZEROS),
        _write("copy_", SET, "other non_blocking", COPY, defaults={"non_blocking": False}),
        _write("mul_", SCALE, "other"),
        _write("multiply_", SCALE, "other"),
        _write("__imul__", SCALE, "other"),
        _write("div_", SCALE, "other * rounding_mode", inverse=True, defaults=_SCALE),
        _write("divide_", SCALE, "other * rounding_mode", inverse=True, defaults=_SCALE),
        _write("true_divide_", SCALE, "other", inverse=True),
        _write("__itruediv__", SCALE, "other", inverse=True),
        # alpha is keyword-only in torch; read positionally too, as a call that ran may pass it so.
        _write("add_", SHIFT, "other alpha", defaults=_SHIFT),
        _write("__iadd__", SHIFT, "other"),
        _write("sub_", SHIFT, "other alpha", inverse=True, defaults=_SHIFT),
        _write("subtract_", SHIFT, "other alpha", inverse=True, defaults=_SHIFT),
        _write("__isub__", SHIFT, "other", inverse=True),
        _write("__setitem__", PARTIAL, "key value"),
        *(_write(name, UNKNOWN, random=True) for name in _RANDOM_REFILLS),
        *(_write(name, UNKNOWN) for name in _UNFOLLOWED),
    )
}  # fmt: skip
# Public in-place tensor methods that leave the values as they are.
NOT_WRITES: dict[str, str] = {
    "requires_grad_": "sets whether gradients are computed",
    "detach_": "detaches the tensor from the autograd graph",
    "share_memory_": "moves the storage to shared memory, with its values",
}


# -- tensor factories -----------------------------------------------------------------------------

# What a factory's values are.
STANDARD_NORMAL = "standard_normal"  # N(0, 1)
STANDARD_UNIFORM = "standard_uniform"  # U(0, 1)
ONES = "ones"
IDENTITY = "identity"  # eye: one 1 per row
UNINITIALIZED = "uninitialized"  # whatever the memory held
NOT_FOLLOWED = "not_followed"  # values no row describes

# How a factory is told the size.
SIZES = "sizes"  # torch.randn(2, 3) / torch.randn((2, 3)); full: the sizes, then the value
MATRIX = "matrix"  # torch.eye(n, m=n)
STRIDED = "strided"  # torch.empty_strided(size, stride)
MOMENTS = "moments"  # torch.normal(mean, std, size)
LIKE = "like"  # torch.randn_like(t): t's shape
NEW = "new"  # t.new_zeros(2, 3): a method of a tensor


@dataclass(frozen=True)
class Factory:
    """A call that creates a tensor whose values it decides."""

    name: str
    values: str  # STANDARD_NORMAL | STANDARD_UNIFORM | ZEROS | ONES | FILL | IDENTITY | UNINITIALIZED | NOT_FOLLOWED
    form: str  # SIZES | MATRIX | STRIDED | MOMENTS | LIKE | NEW
    fill_at: int | None = None  # FILL: the position of ``fill_value`` (the receiver counts for NEW)


FACTORIES: dict[str, Factory] = {
    f.name: f
    for f in (
        Factory("randn", STANDARD_NORMAL, SIZES),
        Factory("rand", STANDARD_UNIFORM, SIZES),
        Factory("empty", UNINITIALIZED, SIZES),
        Factory("empty_strided", UNINITIALIZED, STRIDED),
        Factory("zeros", ZEROS, SIZES),
        Factory("ones", ONES, SIZES),
        Factory("full", FILL, SIZES, fill_at=1),
        Factory("eye", IDENTITY, MATRIX),
        Factory("normal", NOT_FOLLOWED, MOMENTS),  # means and stds may be tensors
        Factory("randn_like", STANDARD_NORMAL, LIKE),
        Factory("rand_like", STANDARD_UNIFORM, LIKE),
        Factory("empty_like", UNINITIALIZED, LIKE),
        Factory("zeros_like", ZEROS, LIKE),
        Factory("ones_like", ONES, LIKE),
        Factory("full_like", FILL, LIKE, fill_at=1),
        Factory("new_empty", UNINITIALIZED, NEW),
        Factory("new_zeros", ZEROS, NEW),
        Factory("new_ones", ONES, NEW),
        Factory("new_full", FILL, NEW, fill_at=2),
        # Legacy constructors: uninitialized memory, but no torch function mode sees them,
        # so neither mode claims more than "not followed".
        Factory("Tensor", NOT_FOLLOWED, SIZES),
        Factory("FloatTensor", NOT_FOLLOWED, SIZES),
    )
}
