"""The knowledge tables against the installed torch: complete, with torch's signatures, saying what torch does.

A torch release that adds an init function, an in-place tensor method or a
module class, or changes a signature, fails here instead of drifting. The
oracles are torch itself (what a call does to real tensors) and numbers
computed by hand.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.init as nn_init

from initlint.shared import activations, graph, theory, writes
from initlint.shared.facts import USER, InitStep
from initlint.shared.knowledge import modules, params, values

# -- torch.nn.init ---------------------------------------------------------------------------------


def _public_init_names() -> set[str]:
    defined = {
        name
        for name, value in vars(nn_init).items()
        if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == nn_init.__name__
    }
    return defined | set(getattr(nn_init, "__all__", ()))


def test_every_init_function_is_described_or_listed():
    described = set(values.INIT_FUNCTIONS) | set(values.INIT_ALIASES) | set(values.NOT_INITS)
    assert _public_init_names() - described == set(), "new torch.nn.init functions: describe them or list them"
    assert described - _public_init_names() == set(), "described functions torch does not have"


def _shape(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize("name", sorted(values.INIT_FUNCTIONS))
def test_init_signatures_are_torchs(name):
    assert _shape(params.signature(values.INIT_FUNCTIONS[name].params)) == _shape(
        inspect.signature(getattr(nn_init, name))
    )


# Arguments for the inits that require one.
_REQUIRED = {"constant_": {"val": 0.5}, "sparse_": {"sparsity": 0.5}}


@pytest.mark.parametrize("alias,name", sorted(values.INIT_ALIASES.items()))
def test_deprecated_spellings_make_the_same_values(alias, name):
    shape = (8, 4, 3) if name == "dirac_" else (8, 6)
    made = []
    for function in (getattr(nn_init, alias), getattr(nn_init, name)):
        torch.manual_seed(0)
        tensor = torch.empty(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecation notice
            function(tensor, **_REQUIRED.get(name, {}))
        made.append(tensor)
    assert torch.equal(made[0], made[1])


def _kurtosis(x: torch.Tensor) -> float:
    x = x.double().flatten()
    z = (x - x.mean()) / x.std()
    return float((z**4).mean())


@pytest.mark.parametrize("name", sorted(values.INIT_FUNCTIONS))
def test_each_init_draws_the_family_the_table_names(name):
    row = values.INIT_FUNCTIONS[name]
    shape = (64, 64, 3) if name == "dirac_" else (256, 512)
    torch.manual_seed(0)
    w = torch.empty(shape)
    getattr(nn_init, name)(w, **_REQUIRED.get(name, {}))
    arguments = {**row.defaults, **_REQUIRED.get(name, {})}
    assert theory.init_distribution(name, arguments, shape).family == row.family
    if row.family == "constant":
        assert torch.all(w == w.flatten()[0])
    elif row.family == "identity":
        assert set(w.unique().tolist()) == {0.0, 1.0} and int(w.sum()) == min(shape[0], shape[1])
    elif row.family == "uniform":
        assert _kurtosis(w) == pytest.approx(1.8, abs=0.05)  # flat: 9/5
    elif row.family == "normal":
        assert _kurtosis(w) == pytest.approx(3.0, abs=0.1)
    elif row.family == "truncated_normal":
        assert float(w.min()) >= -2.0 and float(w.max()) <= 2.0 and _kurtosis(w) < 2.9
    elif row.family == "orthogonal":
        assert torch.allclose(w @ w.T, torch.eye(shape[0]), atol=1e-4)
    elif row.family == "sparse":
        zeros = (w == 0).sum(dim=0)
        assert torch.all(zeros == math.ceil(0.5 * shape[0]))
    else:
        pytest.fail(f"no check for family {row.family}")
    assert row.gain == (theory.init_gain(name, arguments) is not None)


# -- in-place tensor writes ---------------------------------------------------------------------------


def test_every_in_place_tensor_method_is_described_or_listed():
    in_place = {n for n in dir(torch.Tensor) if n.endswith("_") and not n.startswith("_")}
    described = set(values.TENSOR_WRITES) | set(values.NOT_WRITES)
    assert in_place - described == set(), "new in-place tensor methods: describe them or list them"
    assert {n for n in described if not hasattr(torch.Tensor, n)} == set()
    assert set(values.TENSOR_WRITES) & set(values.NOT_WRITES) == set()


_SAMPLES = {"other": 2.5, "alpha": 2.0, "mean": 1.0, "std": 2.0, "from": -1.0, "to": 3.0, "value": 0.5}


def _step(name: str) -> InitStep:
    return InitStep(f".{name}()", f"Tensor.{name}", USER, None)


@pytest.mark.parametrize(
    "name",
    sorted(n for n, w in values.TENSOR_WRITES.items() if w.effect in (values.SCALE, values.SHIFT)),
)
def test_scaling_and_shifting_writes_do_what_the_table_says(name):
    row = values.TENSOR_WRITES[name]
    torch.manual_seed(0)
    x = torch.randn(100)
    keywords = {p.name: _SAMPLES[p.name] for p in row.params if p.name in _SAMPLES}
    y = getattr(x.clone(), name)(*keywords.values()) if name.startswith("__") else getattr(x.clone(), name)(**keywords)
    write = writes.method_write(name, {**params.defaults(row.params), **keywords}, _step(name))
    assert write.effect == row.effect
    expected = x * write.factor if row.effect == values.SCALE else x + write.factor
    assert torch.allclose(y, expected)


@pytest.mark.parametrize("name", sorted(n for n, w in values.TENSOR_WRITES.items() if w.writes in (
    values.NORMAL, values.UNIFORM, values.FILL, values.ZEROS)))  # fmt: skip
def test_setting_writes_draw_what_the_table_says(name):
    row = values.TENSOR_WRITES[name]
    keywords = {p.name: _SAMPLES[p.name] for p in row.params if p.name in _SAMPLES}
    torch.manual_seed(0)
    y = getattr(torch.empty(200_000), name)(**keywords)
    dist = writes.method_write(name, {**params.defaults(row.params), **keywords}, _step(name)).dist
    assert float(y.std()) == pytest.approx(dist.std, abs=0.01) and float(y.mean()) == pytest.approx(dist.mean, abs=0.01)


@pytest.mark.parametrize("name", sorted(values.TENSOR_WRITES))
def test_write_keywords_are_torchs(name):
    """Each parameter the table names can be passed by keyword (builtins have no inspectable signature)."""
    row = values.TENSOR_WRITES[name]
    if name.startswith("__") or not row.params:
        return
    samples = {**_SAMPLES, "non_blocking": False, "rounding_mode": None, "generator": None}
    keywords = {p.name: samples[p.name] for p in row.params}
    if name == "copy_":
        keywords["other"] = torch.ones(4)
    getattr(torch.zeros(4), name)(**keywords)


# -- tensor factories ---------------------------------------------------------------------------------

_SIZE = (128, 128)


def _make(row: values.Factory, base: torch.Tensor) -> tuple[torch.Tensor, tuple]:
    """Call the factory as its form says, positionally: (result, arguments)."""
    if row.form == values.SIZES:
        args = (_SIZE, 0.5) if row.fill_at is not None else _SIZE
        return getattr(torch, row.name)(*args), args
    if row.form == values.MATRIX:
        return torch.eye(_SIZE[0]), (_SIZE[0],)
    if row.form == values.STRIDED:
        return torch.empty_strided(_SIZE, (_SIZE[1], 1)), (_SIZE, (_SIZE[1], 1))
    if row.form == values.MOMENTS:
        return torch.normal(0.0, 1.0, _SIZE), (0.0, 1.0, _SIZE)
    if row.form == values.LIKE:
        args = (base, 0.5) if row.fill_at else (base,)
        return getattr(torch, row.name)(*args), args
    args = (base, _SIZE, 0.5) if row.fill_at else (base, _SIZE)
    return getattr(torch.Tensor, row.name)(*args), args


@pytest.mark.parametrize("name", sorted(values.FACTORIES))
def test_factories_make_what_the_table_says(name):
    row = values.FACTORIES[name]
    torch.manual_seed(0)
    made, args = _make(row, torch.zeros(_SIZE))
    assert tuple(made.shape) == _SIZE
    fill = args[row.fill_at] if row.fill_at is not None else None
    dist = writes.created(name, tuple(made.shape), fill)
    if row.values in (values.UNINITIALIZED, values.NOT_FOLLOWED):
        assert dist is None or dist.family == "uninitialized"
    elif row.values == values.IDENTITY:
        assert torch.equal(made, torch.eye(_SIZE[0])) and dist.family == "identity"
    else:
        assert float(made.std()) == pytest.approx(dist.std, abs=0.02)
        assert float(made.mean()) == pytest.approx(dist.mean, abs=0.02)


# -- torch.nn module classes ------------------------------------------------------------------------------


def _module_classes() -> dict[str, type]:
    found = {}
    for info in pkgutil.iter_modules(nn.modules.__path__):
        module = importlib.import_module(f"torch.nn.modules.{info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
                found[name] = value
    return found


CLASSES = _module_classes()


def _unsupported(cls: type) -> bool:
    return cls.__name__ in modules.UNSUPPORTED or any(c.__name__ in modules.UNSUPPORTED_FAMILIES for c in cls.__mro__)


def test_every_module_class_is_described_or_listed():
    missing = {name for name, cls in CLASSES.items() if name not in modules.MODULE_CLASSES and not _unsupported(cls)}
    assert missing == set(), "new torch.nn classes: describe them or list them as unsupported"
    assert set(modules.MODULE_CLASSES) - set(CLASSES) == set(), "described classes torch does not have"
    assert set(modules.UNSUPPORTED) - set(CLASSES) == set()
    assert set(modules.MODULE_CLASSES) & set(modules.UNSUPPORTED) == set()


@pytest.mark.parametrize("name", sorted(modules.MODULE_CLASSES))
def test_bases_are_torchs(name):
    cls = CLASSES[name]
    torch_bases = {c.__name__ for c in cls.__mro__[1:] if issubclass(c, nn.Module) and c is not nn.Module}
    assert set(modules.MODULE_CLASSES[name].bases) == torch_bases


@pytest.mark.parametrize("name", sorted(n for n, row in modules.MODULE_CLASSES.items() if row.params is not None))
def test_constructor_signatures_are_torchs(name):
    torch_signature = inspect.signature(CLASSES[name].__init__)
    without_self = torch_signature.replace(parameters=list(torch_signature.parameters.values())[1:])
    assert _shape(params.signature(modules.MODULE_CLASSES[name].params)) == _shape(without_self)


def test_row_of_finds_the_nearest_torch_class():
    class Mine(nn.Conv2d):
        pass

    assert modules.row_of(Mine.__mro__).name == "Conv2d"
    assert modules.row_of(nn.modules.linear.NonDynamicallyQuantizableLinear.__mro__).kind == modules.DENSE
    assert modules.row_of(nn.Module.__mro__) is None


# (module, the attribute torch keeps its weight in, true (fan_in, fan_out) by hand)
_LAYERS = [
    (nn.Linear(5, 3), "weight", (5, 3)),
    (nn.Bilinear(5, 6, 3), "weight", (30, 18)),  # each output sums 5 * 6 products; each x1 feeds 3 * 6
    (nn.Conv2d(4, 8, 3, groups=2), "weight", (18, 36)),  # 2 channels x 9 taps in; 4 channels x 9 taps out
    (nn.ConvTranspose2d(4, 8, 3, stride=2, groups=2), "weight", (4, 36)),  # 2 x 9 taps over stride 2x2 -> 4
    (nn.LSTM(10, 20), "weight_ih_l0", (10, 20)),  # 4 gates stacked: each (20, 10)
    (nn.GRU(10, 20), "weight_ih_l0", (10, 20)),
    (nn.RNN(10, 20), "weight_ih_l0", (10, 20)),
    (nn.LSTMCell(10, 20), "weight_ih", (10, 20)),
    (nn.GRUCell(10, 20), "weight_ih", (10, 20)),
    (nn.RNNCell(10, 20), "weight_ih", (10, 20)),
    (nn.MultiheadAttention(16, 4), "in_proj_weight", (16, 16)),  # q, k, v packed: each (16, 16)
]


@pytest.mark.parametrize(
    "module,attribute,fans", _LAYERS, ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else ""
)
def test_weight_layers_weights_and_fans(module, attribute, fans):
    row = modules.row_of(type(module).__mro__)
    assert row.role == graph.LAYER and row.weight == attribute
    weight = getattr(module, attribute)
    mode = str(getattr(module, "mode", type(module).__name__))
    found = modules.layer_fans(
        row.kind,
        tuple(weight.shape),
        groups=getattr(module, "groups", 1),
        stride=getattr(module, "stride", ()),
        recurrent_mode=mode,
    )
    assert (found.fan_in, found.fan_out) == fans


@pytest.mark.parametrize("module,kind,sizes", [
    (nn.Linear(5, 3), modules.DENSE, (5, 3, 1, ())),
    (nn.Conv2d(4, 8, (3, 5), groups=2), modules.CONV, (4, 8, 2, (3, 5))),
    (nn.ConvTranspose1d(6, 4, 3, groups=2), modules.CONV_TRANSPOSE, (6, 4, 2, (3,))),
])  # fmt: skip
def test_weight_layout_is_torchs(module, kind, sizes):
    assert modules.weight_shape(kind, *sizes) == tuple(module.weight.shape)


def test_every_module_with_an_activation_is_an_activation_row():
    rows = {name for name, row in modules.MODULE_CLASSES.items() if row.role == graph.ACTIVATION}
    assert set(activations.MODULES) <= rows
    assert rows - set(activations.MODULES) == {"PReLU", "RReLU"}  # slopes read off the module


def test_activation_functions_and_methods_exist():
    for dotted in activations.FUNCTIONS:
        owner, _, attr = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(owner), attr)), dotted
    for method in [*activations.METHODS, *(c for c in activations.CLAMPS if "." not in c)]:
        assert hasattr(torch.Tensor, method), method
