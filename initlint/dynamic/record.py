"""Record which init each parameter received during construction, and where.

A ``TorchFunctionMode`` sees every torch call made while a model is built:
``nn.init`` functions (directly, or through their inner tensor ops with the
``nn.init`` frame on the stack, which also catches functions imported by name
before initlint ran), in-place tensor ops (``.data.normal_()``, ``fill_``,
``mul_``...), ``.data =`` assignments, slice writes, and the factory calls
(``torch.randn(...) * 0.01``, ``torch.empty``) that a parameter may be built
from. Tensors are keyed by storage, so ``p``, ``p.data`` and ``p.detach()`` are
one parameter; this works on the meta device too.
"""

from __future__ import annotations

import inspect
import linecache
import os
import site
import sys
import sysconfig
import types
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.init as nn_init
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves, tree_map_only

from ..shared.facts import DEFAULT, LIBRARY, USER, InitStep, ParamInit, Span
from ..shared.knowledge.params import bind
from ..shared.knowledge.params import signature as python_signature
from ..shared.knowledge.values import FACTORIES, INIT_FUNCTIONS, TENSOR_WRITES
from ..shared.positions import char_column
from ..shared.theory import Distribution
from ..shared.writes import (
    SiteKey,
    Write,
    call_text,
    created,
    final_state,
    fold,
    init_write,
    method_write,
    site_key,
)

# -- the calls that matter -------------------------------------------------

# nn.init functions, their signatures from the knowledge table (tests check them against torch's).
_INIT_SIGNATURES = {name: python_signature(f.params) for name, f in INIT_FUNCTIONS.items()}
_INIT_FILE = os.path.normcase(os.path.abspath(nn_init.__file__))

_WRITES = set(TENSOR_WRITES)
# Random fills. On meta torch runs some (normal_, exponential_) through Python
# references whose first call imports torch._dynamo: 1-2 s.
_RANDOM_FILLS = {name for name, row in TENSOR_WRITES.items() if row.random}
# Calls that can turn a small (or expanded) tensor into a big one, and whose meta
# kernels are cheap (cat, outer, kron would import torch._dynamo).
_GROWING = {
    "repeat",
    "repeat_interleave",
    "tile",
    "clone",
    "contiguous",
    "matmul",
    "mm",
    "bmm",
    "__matmul__",
    "to",
    "float",
    "double",
}

# Calls that create a tensor whose distribution we can name.
_FACTORIES = set(FACTORIES)
# Out-of-place ops that carry a known distribution to a new tensor.
_SCALAR_OPS = {"mul", "__mul__", "__rmul__", "div", "__truediv__", "add", "__add__",
               "__radd__", "sub", "__sub__", "neg", "__neg__"}  # fmt: skip
_VALUE_PRESERVING = {
    "clone", "contiguous", "t", "transpose", "view", "reshape", "permute", "float",
    "double", "half", "bfloat16", "to", "detach", "view_as", "reshape_as", "squeeze",
    "unsqueeze", "flatten",
}  # fmt: skip


# -- where code lives ------------------------------------------------------


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


_TORCH_DIR = _norm(os.path.dirname(torch.__file__)) + os.sep
_INITLINT_DIR = _norm(os.path.dirname(os.path.dirname(__file__))) + os.sep  # the package, not this folder
_STDLIB_DIRS = tuple(
    _norm(p) + os.sep
    for p in {sysconfig.get_paths().get("stdlib", ""), sysconfig.get_paths().get("platstdlib", "")}
    if p
)
_SITE_DIRS = tuple(_norm(p) + os.sep for p in [*site.getsitepackages(), site.getusersitepackages()] if p)


def library_name(path: str) -> str | None:
    """The installed package a file belongs to, or None for user code."""
    for root in _SITE_DIRS:
        if path.startswith(root):
            return path[len(root) :].split(os.sep, 1)[0].split(".")[0]
    for marker in (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep):
        if marker in path:
            return path.split(marker, 1)[1].split(os.sep, 1)[0].split(".")[0]
    return None


class CodeMap:
    """Classifies source files as torch, initlint, stdlib, library or user code."""

    def __init__(self, user_files: Iterable[str] = ()):
        self._user = {_norm(p) for p in user_files}
        self._cache: dict[str, tuple[str, str | None]] = {}

    def classify(self, filename: str) -> tuple[str, str | None]:
        """('torch'|'internal'|'library'|'user', library name)."""
        hit = self._cache.get(filename)
        if hit is not None:
            return hit
        path = _norm(filename)
        if filename.startswith("<"):
            kind: tuple[str, str | None] = ("internal", None)
        elif path in self._user:
            kind = ("user", None)
        elif path.startswith(_TORCH_DIR):
            kind = ("torch", None)
        elif path.startswith(_INITLINT_DIR) or path.startswith(_STDLIB_DIRS) and library_name(path) is None:
            kind = ("internal", None)
        else:
            lib = library_name(path)
            kind = ("library", lib) if lib else ("user", None)
        self._cache[filename] = kind
        return kind


_TORCH_NN_DIR = _TORCH_DIR + "nn" + os.sep
_TORCH_NN_PLUMBING = {_INIT_FILE, _TORCH_NN_DIR + "parameter.py"}


def _is_torch_module_code(filename: str) -> bool:
    """torch.nn's modules and utils: code that applies PyTorch's defaults."""
    path = _norm(filename)
    return path.startswith(_TORCH_NN_DIR) and path not in _TORCH_NN_PLUMBING


def span_of_frame(frame: Any) -> Span:
    """The exact source range of the call a frame is executing."""
    code = frame.f_code
    path = _norm(code.co_filename)
    line = frame.f_lineno or code.co_firstlineno
    end_line, col, end_col = line, 0, None
    positions = getattr(code, "co_positions", None)
    if positions is not None and frame.f_lasti >= 0:
        try:
            pos = list(positions())[frame.f_lasti // 2]
        except IndexError:
            pos = None
        if pos and pos[0] is not None:
            line, end_line = pos[0], pos[1] or pos[0]
            col, end_col = pos[2] or 0, pos[3]
    # linecache reads with universal newlines: its lines are the compiler's, each ending in "\n".
    text = linecache.getline(code.co_filename, line).rstrip("\n")
    end_text = text if end_line == line else linecache.getline(code.co_filename, end_line).rstrip("\n")
    column = char_column(text, col)
    end_column = char_column(end_text, end_col) if end_col is not None else len(end_text) + 1
    return Span(path, line, column, end_line, end_column)


# -- formatting calls --------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, torch.Tensor):
        return _fmt(value.item()) if value.numel() == 1 and value.device.type != "meta" else "tensor"
    return repr(value)


def describe_call(function: str, args: dict[str, Any], signature: inspect.Signature) -> str:
    """``kaiming_normal_(mode='fan_out', nonlinearity='relu')``: non-default args only."""
    defaults = {n: p.default for n, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
    return call_text(function, args, defaults, lambda _, value: _fmt(value))


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return float(value.item())
    return None


# -- the recording ------------------------------------------------------------


@dataclass
class _Origin:
    """How a tensor came to be: a factory call and the ops applied since."""

    dist: Distribution | None
    step: InitStep | None


def storage_key(t: torch.Tensor) -> int:
    return int(t.untyped_storage()._cdata)  # the storage's address


def _handed_a_tensor(frame: Any) -> bool:
    """Whether user code called this library function with a tensor: an init helper it chose
    (``trunc_normal_(w, std=.02)``), not a library's own init of its modules (``post_init(self)``)."""
    if frame is None:
        return False
    code = frame.f_code
    arguments = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return any(isinstance(frame.f_locals.get(name), torch.Tensor) for name in arguments)


class InitRecorder(TorchFunctionMode):
    """Use as ``with InitRecorder(user_files) as rec: model = Model()``.

    With ``real_budget``, the calls that can make a big tensor (factories,
    ``repeat``, ``clone``...) are sized on meta first: those that would leave
    more than the budget's elements in real tensors not yet moved to meta make
    meta tensors instead (``spilled``), so no size of model can exhaust memory.
    An op that mixes meta and real tensors runs on meta; inits and random
    fills of meta tensors are recorded, not run.
    """

    def __init__(self, user_files: Iterable[str] = (), real_budget: int | None = None):
        super().__init__()
        self.code = CodeMap(user_files)
        self._real_budget = real_budget
        self._real: dict[int, int] = {}  # storage key -> elements, of real tensors made by sized calls
        self._real_total = 0
        self._registered = 0  # elements of the real parameters registered so far
        self.spilled = False  # something went to meta to stay within the budget
        self._writes: dict[int, list[Write]] = defaultdict(list)
        self._origins: dict[int, _Origin] = {}
        # Storages we hold facts about, kept alive while recording so that their
        # address (the key) cannot be reused by another tensor.
        self._held: dict[int, Any] = {}
        self._site_params: dict[SiteKey, set[int]] = defaultdict(set)

    # The mode is disabled inside this method, so torch calls here are not seen.
    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if _is_data_setter(func) and len(args) == 2:
            try:  # before the call: afterwards p no longer shows its old storage
                self._record_data_set(args[0], args[1], sys._getframe(1))
            except Exception:
                pass
        budget = self._real_budget
        result = func(*args, **kwargs) if budget is None else self._call_within_budget(func, args, kwargs, budget)
        try:
            self._observe(func, args, kwargs, result)
        except Exception:  # recording must never break the user's construction
            pass
        return result

    def _call_within_budget(
        self, func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], budget: int
    ) -> Any:
        name = getattr(func, "__name__", "")
        target = args[0] if args else kwargs.get("tensor")
        if isinstance(target, torch.Tensor) and target.is_meta and (_init_function_name(func) or name in _RANDOM_FILLS):
            return target  # no values to fill on meta: recording the call is all there is to do
        sized = name in _FACTORIES or name in _GROWING
        if sized:
            probe = _on_meta_first(func, name, args, kwargs)
            if probe is not None and self._real_total + probe.numel() > budget:
                self.spilled = True
                return probe
        try:
            result = func(*args, **kwargs)
        except Exception:
            if not _mixes_meta((args, kwargs)):
                raise
            result = func(*self._on_meta(args), **self._on_meta(kwargs))
        if sized and isinstance(result, torch.Tensor) and not result.is_meta:
            key = storage_key(result)
            self._real_total += result.numel() - self._real.get(key, 0)
            self._real[key] = result.numel()
        return result

    def admit(self, param: torch.Tensor) -> torch.Tensor | None:
        """A parameter being registered in a budgeted build: None to keep it, or its meta copy
        once real parameters would pass the budget (numpy-backed ones were never sized)."""
        if self._real_budget is None or param.is_meta:
            return None
        if self._registered + param.numel() <= self._real_budget:
            self._registered += param.numel()
            return None
        self.spilled = True
        return self.to_meta(param)

    def _on_meta(self, value: Any) -> Any:
        return tree_map_only(torch.Tensor, lambda t: t if t.is_meta else self.to_meta(t), value)

    def to_meta(self, tensor: torch.Tensor) -> torch.Tensor:
        """A meta copy of a real tensor (a Parameter stays one) that takes over what was recorded about it.

        The real tensor is let go of: registering it as a parameter (or mixing
        it with meta tensors) was its last use in practice.
        """
        with torch._C.DisableTorchFunction():
            copy = tensor.detach().to("meta")
        if isinstance(tensor, torch.nn.Parameter):
            copy = torch.nn.Parameter(copy, tensor.requires_grad)
            copy.__dict__.update(tensor.__dict__)
        old, new = storage_key(tensor), self._hold(copy)
        if old in self._origins:
            self._origins[new] = self._origins.pop(old)
        if old in self._writes:
            self._writes[new] = self._writes.pop(old)
        for keys in self._site_params.values():
            if old in keys:
                keys.discard(old)
                keys.add(new)
        self._held.pop(old, None)
        self._real_total -= self._real.pop(old, 0)
        return copy

    def _observe(self, func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], result: Any) -> None:
        init_name = _init_function_name(func)
        if init_name is not None:
            bound = _INIT_SIGNATURES[init_name].bind(*args, **kwargs)
            bound.apply_defaults()
            self._record_init(init_name, dict(bound.arguments), sys._getframe(2))
            return
        name = getattr(func, "__name__", "")
        if name in _WRITES:
            if args and isinstance(args[0], torch.Tensor):
                self._record_write(name, args, kwargs, sys._getframe(2))
        elif "out" in kwargs and isinstance(kwargs["out"], torch.Tensor):  # before factories: eye_ writes this way
            self._record_unknown_write(kwargs["out"], name, sys._getframe(2))
        elif name in _FACTORIES and isinstance(result, torch.Tensor):
            self._record_factory(name, args, kwargs, result, sys._getframe(2))
        elif name in _SCALAR_OPS and isinstance(result, torch.Tensor):
            self._derive_scaled(name, args, result)
        elif name in _VALUE_PRESERVING and isinstance(result, torch.Tensor) and args:
            self._derive_same(args[0], result)

    # -- where a call comes from --------------------------------------------

    def locate(self, frame: Any) -> tuple[Any, str, str | None]:
        """(user frame, origin, library) for a call made at ``frame``.

        The origin is DEFAULT when torch's module code made the call
        (``reset_parameters``), LIBRARY when an installed package did, USER
        otherwise. torch's thin wrappers (overrides, _tensor) are looked through.
        """
        origin: tuple[str, str | None] | None = None
        torch_module_code = False
        outermost_library = None  # the library frame user code called
        f = frame
        while f is not None:
            filename = f.f_code.co_filename
            kind, lib = self.code.classify(filename)
            if kind == "torch":
                if origin is None and _is_torch_module_code(filename):
                    torch_module_code = True
            elif kind != "internal":
                if origin is None:
                    origin = ("torch", None) if torch_module_code else (kind, lib)
                if kind == "user":
                    break
                if kind == "library":
                    outermost_library = f
            f = f.f_back
        kind, lib = origin or (("torch", None) if torch_module_code else ("user", None))
        if kind == "library" and f is not None and _handed_a_tensor(outermost_library):
            kind = "user"  # `timm.layers.trunc_normal_(self.pos_embed, std=.02)`: the user's choice
        label = DEFAULT if kind == "torch" else LIBRARY if kind == "library" else USER
        return f, label, lib

    def _step(self, call: str, function: str, frame: Any, partial: bool = False) -> tuple[InitStep, Any]:
        user_frame, origin, lib = self.locate(frame)
        site = span_of_frame(user_frame) if user_frame is not None else None
        return InitStep(call, function, origin, site, lib if origin == LIBRARY else None, partial), user_frame

    # -- recording writes -----------------------------------------------------

    def _record_init(self, name: str, arguments: dict[str, Any], frame: Any) -> None:
        tensor = arguments["tensor"]
        call = describe_call(name, arguments, _INIT_SIGNATURES[name])
        step, _ = self._step(call, f"init.{name}", frame)
        self._add_init(tensor, name, arguments, step, None)

    def _hold(self, tensor: torch.Tensor) -> int:
        key = storage_key(tensor)
        self._held.setdefault(key, tensor.untyped_storage())
        return key

    def _new_tensor(self, tensor: torch.Tensor, origin: _Origin) -> None:
        """A freshly allocated tensor: its facts start here."""
        key = self._hold(tensor)
        self._writes.pop(key, None)
        self._origins[key] = origin

    def _add_init(
        self, tensor: torch.Tensor, name: str, arguments: dict[str, Any], step: InitStep, init_frame: Any
    ) -> None:
        key = self._hold(tensor)
        writes = self._writes[key]
        if init_frame is not None and writes and writes[-1].init_frame is init_frame:
            return  # another inner op of the same nn.init call (orthogonal_: copy_ then mul_)
        write = init_write(name, arguments, tuple(tensor.shape), step, "partial" if self._is_partial(tensor) else "set")
        write.init_frame = init_frame
        writes.append(write)
        self._note_site(step, key)

    def _record_write(self, name: str, args: Sequence[Any], kwargs: dict[str, Any], frame: Any) -> None:
        tensor = args[0]
        init_frame = self._init_frame(frame)
        if init_frame is not None:
            # An inner op of an nn.init function that does not dispatch itself
            # (xavier_*, orthogonal_...): record the init call, read off its frame.
            init_name = init_frame.f_code.co_name
            sig = _INIT_SIGNATURES[init_name]
            arguments = {k: init_frame.f_locals.get(k, p.default) for k, p in sig.parameters.items()}
            if not isinstance(arguments.get("tensor"), torch.Tensor):
                return
            if storage_key(arguments["tensor"]) != storage_key(tensor):
                return  # a scratch tensor inside the init (orthogonal_'s QR input)
            call = describe_call(init_name, arguments, sig)
            step, _ = self._step(call, f"init.{init_name}", frame)
            self._add_init(arguments["tensor"], init_name, arguments, step, init_frame)
            return
        partial = name == "__setitem__" or self._is_partial(tensor)
        rest = list(args[1:])
        call = _describe_write(name, rest)
        step, _ = self._step(call, f"Tensor.{name}", frame, partial)
        if partial:
            region, value = _partial_region(name, tensor, rest)
            step = replace(step, region=region, value=value)
        write = self._write_for(name, rest, kwargs, step)
        key = self._hold(tensor)
        self._writes[key].append(write)
        if not partial:
            self._note_site(step, key)

    def _write_for(self, name: str, rest: list[Any], kwargs: dict[str, Any], step: InitStep) -> Write:
        arguments = bind(TENSOR_WRITES[name].params, rest, kwargs)
        if name == "copy_" and not step.partial:
            source = arguments.get("other")
            origin = self.origin_of(source) if isinstance(source, torch.Tensor) else None
            return Write("set", step, origin.dist if origin else None)
        return method_write(name, {k: _scalar(v) for k, v in arguments.items()}, step)

    def _record_data_set(self, target: Any, source: Any, frame: Any) -> None:
        """``p.data = t``: p moves to t's storage, keeping its history, with t's values."""
        if not (isinstance(target, torch.Tensor) and isinstance(source, torch.Tensor)):
            return
        if storage_key(target) == storage_key(source):
            return  # `w.data -= c` assigns w its own (already recorded) storage
        origin = self.origin_of(source)
        step, _ = self._step("data = ...", "Tensor.data", frame)
        if origin is not None and origin.step is not None:
            step = replace(origin.step, call=f"data = {origin.step.call}")
        history = self._writes.get(storage_key(target), [])
        key = self._hold(source)
        self._writes[key] = [*history, Write("set", step, origin.dist if origin else None)]
        self._note_site(step, key)

    def _record_unknown_write(self, tensor: torch.Tensor, name: str, frame: Any) -> None:
        init_frame = self._init_frame(frame)
        if init_frame is not None:
            self._record_write("copy_", (tensor, tensor), {}, frame)  # eye_ writes via out=
            return
        step, _ = self._step(f"{name}(out=...)", f"torch.{name}", frame, self._is_partial(tensor))
        self._writes[self._hold(tensor)].append(Write("unknown", step))

    # -- where tensors come from ----------------------------------------------

    def _record_factory(
        self, name: str, args: Sequence[Any], kwargs: dict[str, Any], result: torch.Tensor, frame: Any
    ) -> None:
        if self._init_frame(frame) is not None:
            return  # scratch tensors inside nn.init functions
        row = FACTORIES[name]
        fill = args[row.fill_at] if row.fill_at is not None and len(args) > row.fill_at else None
        dist = created(name, tuple(result.shape), _scalar(kwargs.get("fill_value", fill)))
        step = None
        if result.dim() >= 2:  # biases and scalars do not need a site
            step, _ = self._step(f"torch.{name}(...)", f"torch.{name}", frame)
        self._new_tensor(result, _Origin(dist, step))

    def _derive_scaled(self, name: str, args: Sequence[Any], result: torch.Tensor) -> None:
        tensors = [a for a in args if isinstance(a, torch.Tensor) and a.dim() > 0]
        if len(tensors) != 1:
            return
        source = tensors[0]
        origin = self.origin_of(source)
        if origin is None or origin.dist is None or origin.dist.family == "uninitialized":
            return
        value = -1.0 if name in ("neg", "__neg__") else _scalar(next((a for a in args if a is not source), None))
        if value is None:
            return
        source_first = args[0] is source
        if name in ("neg", "__neg__", "mul", "__mul__", "__rmul__"):
            dist, symbol = origin.dist.scaled(value), "*"
        elif name in ("div", "__truediv__") and source_first and value != 0:
            dist, symbol = origin.dist.scaled(1.0 / value), "/"
        elif name in ("add", "__add__", "__radd__"):
            dist, symbol = origin.dist.shifted(value), "+"
        elif name in ("sub", "__sub__") and source_first:
            dist, symbol = origin.dist.shifted(-value), "-"
        else:
            return
        step = origin.step
        if step is not None:
            step = replace(step, call=f"{step.call} {symbol} {_fmt(value)}")
        self._new_tensor(result, _Origin(dist, step))

    def _derive_same(self, source: Any, result: torch.Tensor) -> None:
        if not isinstance(source, torch.Tensor):
            return
        origin = self.origin_of(source)
        if origin is not None and storage_key(result) != storage_key(source):
            self._new_tensor(result, _Origin(origin.dist, origin.step))

    def origin_of(self, tensor: torch.Tensor) -> _Origin | None:
        """What a tensor holds now: its creation, then the writes since."""
        key = storage_key(tensor)
        origin = self._origins.get(key)
        writes = self._writes.get(key)
        if writes:
            dist, _, _, known = fold(origin.dist if origin else None, writes)
            return _Origin(dist if known else None, writes[-1].step)
        return origin

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _init_frame(frame: Any) -> Any:
        """The outermost public nn.init frame on the stack, if any."""
        found = None
        f = frame
        depth = 0
        while f is not None and depth < 12:
            if f.f_code.co_name in _INIT_SIGNATURES and _norm(f.f_code.co_filename) == _INIT_FILE:
                found = f
            f = f.f_back
            depth += 1
        return found

    @staticmethod
    def _is_partial(tensor: torch.Tensor) -> bool:
        try:
            total = tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)
        except Exception:
            return False
        return tensor.numel() < total

    def _note_site(self, step: InitStep, key: int) -> None:
        site = site_key(step)
        if site is not None:
            self._site_params[site].add(key)

    # -- results --------------------------------------------------------------

    def param_init(self, param: torch.Tensor) -> ParamInit:
        """The final distribution of a parameter and the steps that made it."""
        key = storage_key(param)
        origin = self._origins.get(key)

        def measure() -> Distribution | None:
            if param.device.type == "meta" or param.numel() <= 1:
                return None
            with torch.no_grad():
                values = param.detach().float()
                return Distribution("unknown", float(values.std()), float(values.mean()))

        return final_state(
            tuple(param.shape),
            origin.dist if origin else None,
            origin.step if origin else None,
            self._writes.get(key, []),
            self._is_generic,
            measure,
        )

    def _is_generic(self, step: InitStep) -> bool:
        """The same call site initialised several parameters (a loop, an apply function)."""
        key = site_key(step)
        return key is not None and len(self._site_params.get(key, ())) > 1


def _describe_write(name: str, rest: list[Any]) -> str:
    """``.normal_(0, 0.01)``, ``[8:16] = 1``: a tensor write as it reads in code."""
    if name == "__setitem__" and len(rest) == 2:
        key = rest[0]
        if isinstance(key, slice):
            index = f"{'' if key.start is None else key.start}:{'' if key.stop is None else key.stop}"
        else:
            index = "..." if key is Ellipsis else _fmt(key)
        return f"[{index}] = {_fmt(rest[1])}"
    shown = ", ".join(_fmt(a) for a in rest if not isinstance(a, torch.Tensor) or a.numel() == 1)
    return f".{name}({shown})"


def _partial_region(name: str, tensor: torch.Tensor, rest: list[Any]) -> tuple[tuple[int, int] | None, float | None]:
    """Which elements a slice write covered and the constant it wrote (LSTM forget gates)."""
    if name == "__setitem__":
        key, value = (rest + [None, None])[:2]
        if tensor.dim() == 1 and isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(tensor.shape[0])
            offset = _storage_offset(tensor)
            return (offset + start, offset + stop), _scalar(value)
        return None, _scalar(value)
    start = _storage_offset(tensor)
    value = _scalar(rest[0]) if name == "fill_" and rest else 0.0 if name == "zero_" else None
    return (start, start + tensor.numel()) if tensor.is_contiguous() else None, value


def _storage_offset(tensor: torch.Tensor) -> int:
    """Typed ``int | SymInt``: a plain int for the real and meta tensors recorded here."""
    return int(tensor.storage_offset())


def _init_function_name(func: Callable[..., Any]) -> str | None:
    """The nn.init function a dispatched call is, if any.

    By name, not identity: libraries (transformers) temporarily replace
    ``torch.nn.init.normal_`` and friends, and torch dispatches whatever the
    module attribute holds at call time. Tensor methods of the same name
    (``Tensor.normal_``) are builtins, not Python functions.
    """
    name = getattr(func, "__name__", "")
    return name if name in _INIT_SIGNATURES and isinstance(func, types.FunctionType) else None


def _on_meta_first(
    func: Callable[..., Any], name: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> torch.Tensor | None:
    """What a call would newly allocate, made on the meta device (None: nothing, or it cannot say)."""
    try:
        if name in _FACTORIES:
            probe = func(*args, **{**kwargs, "device": "meta"})
        else:
            probe = func(*_meta_copies(args), **_meta_copies(kwargs))
    except Exception:
        return None
    return probe if isinstance(probe, torch.Tensor) and probe._base is None else None


def _meta_copies(value: Any) -> Any:
    return tree_map_only(torch.Tensor, lambda t: t.to("meta"), value)


def _mixes_meta(value: Any) -> bool:
    devices = {t.device.type for t in tree_leaves(value) if isinstance(t, torch.Tensor)}
    return "meta" in devices and len(devices) > 1


def _is_data_setter(func: Callable[..., Any]) -> bool:
    return (
        getattr(func, "__name__", "") == "__set__"
        and getattr(getattr(func, "__self__", None), "__name__", "") == "data"
    )
