"""The ``torch.nn`` module classes: what each is in a forward, its weight, its fans, its constructor.

The full mode finds a module's row through its class's MRO (``row_of``), the
static mode by the class's dotted name. Classes neither mode has a row for are
in ``UNSUPPORTED`` with the reason; ``tests/test_knowledge.py`` keeps both
lists complete and the bases and signatures equal to torch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import graph, theory
from .params import Param, params

# Roles beside graph's node kinds (LAYER, ACTIVATION, NORM, PASS, OPAQUE).
CONTAINER = "container"  # Sequential, ModuleList, ModuleDict: their children in order, or by key
COMPOSITE = "composite"  # submodules and a forward of its own: traced into by the full mode, built by static mode

# Weight layer kinds (LayerFacts.kind; "custom" is a module of the user's with a 2-D weight).
DENSE = "dense"  # weight (out, in) (Bilinear: (out, in1, in2))
CONV = "conv"  # weight (out, in / groups, *kernel)
CONV_TRANSPOSE = "conv_transpose"  # weight (in, out / groups, *kernel)
EMBEDDING = "embedding"  # weight (num_embeddings, dim)
RECURRENT = "recurrent"  # weight_ih (gates * hidden, in)
ATTENTION = "attention"  # in_proj_weight (3 * embed, embed): q, k and v packed


@dataclass(frozen=True)
class ModuleClass:
    """A torch.nn class."""

    name: str  # as torch.nn (or torch.nn.modules.<file>, for private bases) names it
    role: str  # graph.LAYER | ACTIVATION | NORM | PASS | OPAQUE, or CONTAINER | COMPOSITE
    kind: str | None = None  # weight layers: DENSE | CONV | CONV_TRANSPOSE | EMBEDDING | RECURRENT | ATTENTION
    bases: tuple[str, ...] = ()  # its torch.nn ancestors below Module
    params: tuple[Param, ...] | None = None  # constructor after self; None: not described (nothing reads it)
    weight: str | None = None  # weight layers: the attribute holding the weight whose fans are judged


_DEVICE = {"device": None, "dtype": None}
_CONV = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros", **_DEVICE}
_ATTENTION = {"dropout": 0.0, "bias": True, "add_bias_kv": False, "add_zero_attn": False, "kdim": None,
              "vdim": None, "batch_first": False, **_DEVICE}  # fmt: skip
_RECURRENT = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False,
              "proj_size": 0, **_DEVICE}  # fmt: skip
_RNN_CELL = {"bias": True, "nonlinearity": "tanh"}


@dataclass(frozen=True, eq=False)
class TorchFunction:
    """A default that is a torch function (``activation=F.relu``), named by its dotted path so the table
    stays torch-free; it equals the function itself, as ``tests/test_knowledge.py`` compares signatures."""

    path: str  # torch.nn.functional.relu

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TorchFunction):
            return other.path == self.path
        return f"{getattr(other, '__module__', '')}.{getattr(other, '__name__', '')}" == self.path

    def __hash__(self) -> int:
        return hash(self.path)


_TRANSFORMER_LAYER = params(
    "d_model nhead dim_feedforward dropout activation layer_norm_eps batch_first norm_first bias device dtype",
    {"dim_feedforward": 2048, "dropout": 0.1, "activation": TorchFunction("torch.nn.functional.relu"),
     "layer_norm_eps": 1e-5, "batch_first": False, "norm_first": False, "bias": True, **_DEVICE},
)  # fmt: skip
_NORM = {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True, "bias": True, **_DEVICE}
_ACTIVATION_PARAMS = {
    "ReLU": "inplace", "LeakyReLU": "negative_slope inplace", "ReLU6": "inplace", "Tanh": "*args **kwargs",
    "Sigmoid": "*args **kwargs", "Hardtanh": "min_val max_val inplace min_value max_value",
    "Softsign": "*args **kwargs", "Hardsigmoid": "inplace", "GELU": "approximate", "SiLU": "inplace",
    "Mish": "inplace", "Hardswish": "inplace", "Softplus": "beta threshold", "ELU": "alpha inplace",
    "CELU": "alpha inplace", "SELU": "inplace", "PReLU": "num_parameters init device dtype",
    "RReLU": "lower upper inplace",
}  # fmt: skip
_ACTIVATION_DEFAULTS = {
    "inplace": False, "negative_slope": 0.01, "min_val": -1.0, "max_val": 1.0, "min_value": None,
    "max_value": None, "approximate": "none", "beta": 1.0, "threshold": 20.0, "alpha": 1.0,
    "num_parameters": 1, "init": 0.25, "lower": 1 / 8, "upper": 1 / 3, **_DEVICE,
}  # fmt: skip


def _table() -> dict[str, ModuleClass]:
    rows: dict[str, ModuleClass] = {}

    def add(
        name: str,
        role: str,
        parents: Sequence[str] = (),
        kind: str | None = None,
        weight: str | None = None,
        params: tuple[Param, ...] | None = None,
    ) -> None:
        bases: list[str] = []
        for parent in parents:
            for base in (parent, *rows[parent].bases):
                if base not in bases:
                    bases.append(base)
        kind = kind or next((rows[p].kind for p in parents if rows[p].kind), None)
        weight = weight or next((rows[p].weight for p in parents if rows[p].weight), None)
        rows[name] = ModuleClass(name, role, kind, tuple(bases), params, weight)

    layer, norm, pass_ = graph.LAYER, graph.NORM, graph.PASS
    linear_params = params("in_features out_features bias device dtype", {"bias": True, **_DEVICE})
    add("Linear", layer, kind=DENSE, weight="weight", params=linear_params)
    add("LazyLinear", layer, ["Linear"])
    add("NonDynamicallyQuantizableLinear", layer, ["Linear"], params=linear_params)  # MultiheadAttention's out_proj
    add("Bilinear", layer, kind=DENSE, weight="weight")
    add("_ConvNd", layer, kind=CONV, weight="weight")
    add("_ConvTransposeNd", layer, ["_ConvNd"], kind=CONV_TRANSPOSE)
    for d in (1, 2, 3):
        add(
            f"Conv{d}d",
            layer,
            ["_ConvNd"],
            params=params(
                "in_channels out_channels kernel_size stride padding dilation groups bias padding_mode device dtype",
                _CONV,
            ),
        )
        add(
            f"ConvTranspose{d}d",
            layer,
            ["_ConvTransposeNd"],
            params=params(
                "in_channels out_channels kernel_size stride padding output_padding groups bias dilation padding_mode "
                "device dtype",
                {**_CONV, "output_padding": 0},
            ),
        )
        add(f"LazyConv{d}d", layer, [f"Conv{d}d"])
        add(f"LazyConvTranspose{d}d", layer, [f"ConvTranspose{d}d"])
    add("Embedding", layer, kind=EMBEDDING, weight="weight")
    add("EmbeddingBag", layer, kind=EMBEDDING, weight="weight")
    add(
        "RNNBase",
        layer,
        kind=RECURRENT,
        weight="weight_ih_l0",
        params=params(
            "mode input_size hidden_size num_layers bias batch_first dropout bidirectional proj_size device dtype",
            _RECURRENT,
        ),
    )
    add(
        "RNNCellBase",
        layer,
        kind=RECURRENT,
        weight="weight_ih",
        params=params("input_size hidden_size bias num_chunks device dtype", _DEVICE),
    )
    cell_params = "input_size hidden_size bias device dtype"
    for name in ("RNN", "LSTM", "GRU"):
        # RNN, LSTM and GRU take ``*args, **kwargs`` and hand them to RNNBase after their mode.
        add(name, layer, ["RNNBase"], params=params("*args **kwargs"))
        signature = cell_params.replace("bias", "bias nonlinearity") if name == "RNN" else cell_params
        add(f"{name}Cell", layer, ["RNNCellBase"], params=params(signature, {**_RNN_CELL, **_DEVICE}))
    add(
        "MultiheadAttention",
        layer,
        kind=ATTENTION,
        weight="in_proj_weight",
        params=params(
            "embed_dim num_heads dropout bias add_bias_kv add_zero_attn kdim vdim batch_first device dtype",
            _ATTENTION,
        ),
    )

    norm_params = "num_features eps momentum affine track_running_stats device dtype * bias"
    add("_NormBase", norm)
    add("_BatchNorm", norm, ["_NormBase"])
    add("_InstanceNorm", norm, ["_NormBase"])
    add("_LazyNormBase", norm, ["_NormBase"])
    for d in (1, 2, 3):
        add(f"BatchNorm{d}d", norm, ["_BatchNorm"], params=params(norm_params, _NORM))
        add(
            f"InstanceNorm{d}d",
            norm,
            ["_InstanceNorm"],
            params=params(norm_params, {**_NORM, "affine": False, "track_running_stats": False}),
        )
        add(f"LazyBatchNorm{d}d", norm, ["_LazyNormBase", "_BatchNorm"])
        add(f"LazyInstanceNorm{d}d", norm, ["_LazyNormBase", "_InstanceNorm"])
    add(
        "SyncBatchNorm",
        norm,
        ["_BatchNorm"],
        params=params(
            "num_features eps momentum affine track_running_stats process_group device dtype * bias",
            {**_NORM, "process_group": None},
        ),
    )
    add(
        "LayerNorm",
        norm,
        params=params(
            "normalized_shape eps elementwise_affine bias device dtype",
            {"eps": 1e-5, "elementwise_affine": True, "bias": True, **_DEVICE},
        ),
    )
    add(
        "GroupNorm",
        norm,
        params=params(
            "num_groups num_channels eps affine device dtype * bias",
            {"eps": 1e-5, "affine": True, "bias": True, **_DEVICE},
        ),
    )
    add(
        "RMSNorm",
        norm,
        params=params(
            "normalized_shape eps elementwise_affine device dtype", {"eps": None, "elementwise_affine": True, **_DEVICE}
        ),
    )
    add("LocalResponseNorm", norm)

    add("Hardtanh", graph.ACTIVATION, params=params(_ACTIVATION_PARAMS["Hardtanh"], _ACTIVATION_DEFAULTS))
    for name, signature in _ACTIVATION_PARAMS.items():
        if name != "Hardtanh":
            parents = ["Hardtanh"] if name == "ReLU6" else []
            add(name, graph.ACTIVATION, parents, params=params(signature, _ACTIVATION_DEFAULTS))
    for name in ("Softmax", "LogSoftmax", "Softmin", "Softmax2d"):
        add(name, graph.SOFTMAX)

    for name in (
        "Identity",
        "Flatten",
        "Unflatten",
        "Upsample",
        "PixelShuffle",
        "PixelUnshuffle",
        "ChannelShuffle",
        "_DropoutNd",
        "_MaxPoolNd",
        "_AvgPoolNd",
        "_LPPoolNd",
        "_AdaptiveAvgPoolNd",
        "_AdaptiveMaxPoolNd",
        "_ConstantPadNd",
        "_ReflectionPadNd",
        "_ReplicationPadNd",
        "_CircularPadNd",
    ):
        add(name, pass_)
    add("UpsamplingNearest2d", pass_, ["Upsample"])
    add("UpsamplingBilinear2d", pass_, ["Upsample"])
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        add(name, pass_, ["_DropoutNd"])
    for d in (1, 2, 3):
        for family in (
            "MaxPool",
            "AvgPool",
            "LPPool",
            "AdaptiveAvgPool",
            "AdaptiveMaxPool",
            "ConstantPad",
            "ReflectionPad",
            "ReplicationPad",
            "CircularPad",
        ):
            add(f"{family}{d}d", pass_, [f"_{family}Nd"])
        add(f"ZeroPad{d}d", pass_, [f"ConstantPad{d}d"])

    add("Sequential", CONTAINER, params=params("*args"))
    add("ModuleList", CONTAINER, params=params("modules", {"modules": None}))
    add("ModuleDict", CONTAINER, params=params("modules", {"modules": None}))
    add("Transformer", COMPOSITE)
    add("TransformerEncoderLayer", COMPOSITE, params=_TRANSFORMER_LAYER)
    add("TransformerDecoderLayer", COMPOSITE, params=_TRANSFORMER_LAYER)
    add(
        "TransformerEncoder",
        COMPOSITE,
        params=params(
            "encoder_layer num_layers norm enable_nested_tensor mask_check",
            {"norm": None, "enable_nested_tensor": True, "mask_check": True},
        ),
    )
    add("TransformerDecoder", COMPOSITE, params=params("decoder_layer num_layers norm", {"norm": None}))
    return rows


MODULE_CLASSES: dict[str, ModuleClass] = _table()

_MEASURED = "elementwise, but theory.ACTIVATIONS has no closed form for it: the full mode measures it, the static mode treats it as opaque"  # noqa: E501
_TRACED = "the full mode traces into it (what it computes is opaque to the pairing walk); opaque from source"
UNSUPPORTED: dict[str, str] = {
    "Module": "the base class: a model's own classes are followed through their own code",
    "Container": "deprecated since torch 0.4, never built",
    "ParameterList": "holds parameters, not layers: a parameter used as a weight is a functional layer (full mode)",
    "ParameterDict": "holds parameters, not layers: a parameter used as a weight is a functional layer (full mode)",
    "GLU": "halves its input: a gate over two halves, not an elementwise activation; " + _TRACED,
    **dict.fromkeys(("Hardshrink", "LogSigmoid", "Softshrink", "Tanhshrink", "Threshold"), _MEASURED),
    "CrossMapLRN2d": "Lua torch's cross-map normalization; " + _TRACED,
    **dict.fromkeys(("Fold", "Unfold", "FractionalMaxPool2d", "FractionalMaxPool3d", "_MaxUnpoolNd", "MaxUnpool1d",
                     "MaxUnpool2d", "MaxUnpool3d"), "rearranges or subsamples values with indices; " + _TRACED),
    **dict.fromkeys(("CosineSimilarity", "PairwiseDistance"), "reduces two inputs to a distance; " + _TRACED),
    "AdaptiveLogSoftmaxWithLoss": "an output layer that computes its loss; " + _TRACED,
    "_ConvTransposeMixin": "deprecated mixin kept for old pickles",
}  # fmt: skip
# Whole families, by base class.
UNSUPPORTED_FAMILIES: dict[str, str] = {"_Loss": "a loss: computed on a model's output, not part of its forward"}


def row_of(mro: Sequence[type]) -> ModuleClass | None:
    """The row of the nearest torch.nn class in a class's ``__mro__`` (torch-free: reads names only)."""
    for cls in mro:
        if getattr(cls, "__module__", "").startswith("torch.nn.modules."):
            row = MODULE_CLASSES.get(cls.__name__)
            if row is not None:
                return row
    return None


# -- weights and fans ---------------------------------------------------------------------------------


def weight_shape(kind: str, n_in: int, n_out: int, groups: int = 1, kernel: Sequence[int] = ()) -> tuple[int, ...]:
    """The weight a Linear (DENSE) or a convolution makes for these sizes: torch's layout."""
    if kind == DENSE:
        return (n_out, n_in)
    if kind == CONV:
        return (n_out, n_in // groups, *kernel)
    if kind == CONV_TRANSPOSE:
        return (n_in, n_out // groups, *kernel)
    raise ValueError(f"no weight layout for {kind}")


# Blocks of rows per hidden unit in a recurrent weight, by ``nn.RNNBase.mode`` or cell class name.
RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1, "LSTMCell": 4, "GRUCell": 3, "RNNCell": 1}


def layer_fans(
    kind: str,
    shape: Sequence[int],
    *,
    groups: int = 1,
    stride: Sequence[int] = (),
    recurrent_mode: str = "",
    input_major: bool = False,
) -> theory.Fans:
    """The true fans of a weight layer's weight (see ``theory.true_fans``).

    Attention weights pack q, k and v, (E, E) each (torch sees fan_out 3E);
    a recurrent weight stacks one (hidden, in) block per gate.
    """
    if kind == CONV:
        return theory.true_fans(shape, groups=groups)
    if kind == CONV_TRANSPOSE:
        return theory.true_fans(shape, groups=groups, transposed=True, stride=tuple(stride))
    if kind == ATTENTION:
        return theory.Fans(shape[1], shape[1])
    if kind == RECURRENT:
        return theory.Fans(shape[1], shape[0] // RECURRENT_GATES.get(recurrent_mode, 1))
    return theory.true_fans(shape, input_major=input_major)
