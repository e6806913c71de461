"""The parameters ``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` and their cells register and initialise.

``nn.LSTM(*args, **kwargs)`` is ``nn.RNNBase("LSTM", *args, **kwargs)`` (``nn.GRU``
likewise; ``nn.RNN`` first takes out its ``nonlinearity``: mode RNN_TANH or
RNN_RELU). RNNBase registers, per layer k and direction (the second one's names
end in ``_reverse``), ``weight_ih_l{k}`` (G*H, input_size; H' * directions above
the first layer), ``weight_hh_l{k}`` (G*H, H'), ``bias_ih_l{k}`` and
``bias_hh_l{k}`` (G*H,) unless ``bias=False``, and ``weight_hr_l{k}`` (proj_size,
H) when an LSTM projects, with G gates (4 LSTM, 3 GRU, 1 RNN), H = hidden_size
and H' = proj_size or H. A cell registers ``weight_ih`` (G*H, input_size),
``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (None without bias). Both
``reset_parameters`` give every parameter uniform_(-1/sqrt(H), 1/sqrt(H)).
Sizes the source does not decide leave the shapes unknown, so the layer is never
judged; when even the parameters' names are undecided (``num_layers``,
``bidirectional``, ``bias`` not literal) none is registered.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from ..shared.facts import Span
from ..shared.knowledge.modules import MODULE_CLASSES, RECURRENT_GATES
from ..shared.knowledge.params import defaults, names
from .inits import ParamState, default_write
from .literals import truth
from .names import Qual
from .objects import ModuleObj
from .values import UNKNOWN, Args

# The classes that hand their arguments to RNNBase after their mode (RNN's mode comes from its nonlinearity).
_FORWARDING = {"LSTM": "LSTM", "GRU": "GRU", "RNN": None}
_STACKED = frozenset({"RNNBase", *_FORWARDING})
_RNN_MODES = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
_BASE_PARAMS = MODULE_CLASSES["RNNBase"].params or ()

# More stacked layers than any model has: a literal this large is a typo, not parameters to list one by one.
_MAX_LAYERS = 1024

Shape = tuple[int, ...]
T = TypeVar("T")


def bind(class_name: str, args: Args) -> dict[str, Any] | None:
    """The constructor's arguments by name, as torch receives them: for RNN, LSTM and GRU, RNNBase's
    (``mode`` first; RNN's ``nonlinearity`` kept beside them); None when they do not fit."""
    if class_name not in _FORWARDING:
        row = MODULE_CLASSES[class_name].params or ()
        return args.bind(names(row), defaults(row))
    positional, keywords = args.positional, dict(args.keywords)
    if class_name != "LSTM" and "proj_size" in keywords:
        return None  # torch: "proj_size argument is only supported for LSTM"
    mode = _FORWARDING[class_name]
    nonlinearity: Any = None
    if class_name == "RNN":
        if len(positional) > 3:
            nonlinearity, positional = positional[3], positional[:3] + positional[4:]
        else:
            nonlinearity = keywords.pop("nonlinearity", "tanh")
        mode = _RNN_MODES.get(nonlinearity) if isinstance(nonlinearity, str) else UNKNOWN
        if mode is None:
            return None  # torch: "Unknown nonlinearity"
    bound = Args((mode, *positional), keywords, args.complete).bind(names(_BASE_PARAMS), defaults(_BASE_PARAMS))
    if bound is not None and class_name == "RNN":
        bound["nonlinearity"] = nonlinearity
    return bound


def attributes(bound: dict[str, Any]) -> dict[str, Any]:
    """``bias`` is the flag torch keeps (no parameter has that name): the one argument ``layers`` leaves out."""
    return {"bias": bound["bias"]}


def own_params(class_name: str, bound: dict[str, Any], site: Span | None) -> dict[str, ParamState | None]:
    """Its parameters in torch's registration order (None: registered as None), with their default inits.

    ``class_name`` is the torch class, ``bound`` its constructor's arguments (``bind``), ``site`` its
    call (where torch's init runs).
    """
    layout = _stacked_layout(bound) if class_name in _STACKED else _cell_layout(class_name, bound)
    if layout is None:
        return {}
    hidden = bound["hidden_size"]
    return {name: _initialised(shape, hidden, site) if present else None for name, shape, present in layout}


def mode(module: ModuleObj) -> str:
    """LSTM, GRU, RNN_TANH, RNN_RELU (``RNNBase.mode``), or the cell's class name: what full mode reads."""
    return str(module.attrs.get("mode", module.type_name))


def outputs(module: ModuleObj, output: T) -> T | tuple[Any, ...]:
    """What calling it returns, every tensor being the layer's ``output`` (full mode's graph has the one
    module): ``(output, (h, c))`` for an LSTM, ``(output, h)`` for a GRU or RNN, ``(h, c)`` for an
    LSTMCell and ``h`` for the other cells."""
    torch_class = _torch_class(module)
    if torch_class in _STACKED:
        return (output, (output, output)) if module.attrs.get("mode") == "LSTM" else (output, output)
    return (output, output) if torch_class == "LSTMCell" else output


def _torch_class(module: ModuleObj) -> str | None:
    """The torch.nn class the module is (or its class of the file derives from)."""
    if isinstance(module.cls, Qual):
        return module.cls.last
    return next((c.last for c in module.cls.mro() if isinstance(c, Qual)), None)


# -- layouts: (name, shape or None when not sized, registered as a parameter), in registration order ------------

Layout = list[tuple[str, Shape | None, bool]]


def _stacked_layout(bound: dict[str, Any]) -> Layout | None:
    count, proj = bound["num_layers"], bound["proj_size"]
    bidirectional, bias = truth(bound["bidirectional"]), truth(bound["bias"])
    if not _sizes(count) or count > _MAX_LAYERS or not _sizes(proj, minimum=0) or bidirectional is None or bias is None:
        return None
    gates = RECURRENT_GATES.get(bound["mode"]) if isinstance(bound["mode"], str) else None
    n_in, hidden = bound["input_size"], bound["hidden_size"]
    sized = gates is not None and _sizes(n_in, hidden) and proj < hidden
    real_hidden = proj or hidden
    kept = ["weight_ih", "weight_hh", *(["bias_ih", "bias_hh"] if bias else []), *(["weight_hr"] if proj else [])]
    layout: Layout = []
    for layer in range(count):
        shapes: dict[str, Shape] = {}
        if sized:
            rows, width = gates * hidden, n_in if layer == 0 else real_hidden * (2 if bidirectional else 1)
            shapes = {"weight_ih": (rows, width), "weight_hh": (rows, real_hidden), "bias_ih": (rows,),
                      "bias_hh": (rows,), "weight_hr": (proj, hidden)}  # fmt: skip
        for suffix in ("", "_reverse") if bidirectional else ("",):
            layout += [(f"{name}_l{layer}{suffix}", shapes.get(name), True) for name in kept]
    return layout


def _cell_layout(class_name: str, bound: dict[str, Any]) -> Layout | None:
    gates = bound["num_chunks"] if class_name == "RNNCellBase" else RECURRENT_GATES.get(class_name)
    bias = truth(bound["bias"])
    if bias is None:
        return None
    n_in, hidden = bound["input_size"], bound["hidden_size"]
    sized = _sizes(n_in, hidden, gates)
    rows = gates * hidden if sized else 0
    return [
        ("weight_ih", (rows, n_in) if sized else None, True),
        ("weight_hh", (rows, hidden) if sized else None, True),
        ("bias_ih", (rows,) if sized else None, bias),
        ("bias_hh", (rows,) if sized else None, bias),
    ]


def _sizes(*values: Any, minimum: int = 1) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in values)


def _initialised(shape: Shape | None, hidden: int, site: Span | None) -> ParamState:
    """``reset_parameters``' uniform_(-1/sqrt(H), 1/sqrt(H)) on a parameter of ``shape``."""
    if shape is None:
        return ParamState(None)
    bound = 1.0 / math.sqrt(hidden)
    return ParamState(shape, [default_write("uniform_", {"a": -bound, "b": bound}, shape, site)])
