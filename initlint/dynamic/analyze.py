"""Inside a worker: import a file, build each model while recording, trace it.

Produces ``facts.ModelFacts`` for each model; everything torch stays here.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn as nn
from torch.nn.modules.module import register_module_parameter_registration_hook
from torch.nn.parameter import UninitializedTensorMixin  # type: ignore[attr-defined]  # public, not in the stubs
from torch.nn.utils import parametrize
from torch.utils.hooks import RemovableHandle

from ..shared import theory
from ..shared.facts import (
    BUILT_ELSEWHERE,
    ERROR,
    LIBRARY,
    PARTIAL,
    SKIPPED,
    VARIANT,
    AnalysisProblem,
    LayerFacts,
    ModelFacts,
    ModelSpec,
    ProblemKind,
    Span,
)
from ..shared.graph import FunctionalLayer, Pairing, pair_layers
from ..shared.knowledge.modules import ATTENTION, CONV, CONV_TRANSPOSE, RECURRENT, layer_fans
from ..shared.layer_facts import layer_facts as shared_layer_facts
from ..shared.signal import signal_nodes
from . import measure, ops, probes
from .recipes import build_with, config_recipe, required_arguments
from .record import InitRecorder, span_of_frame, storage_key
from .trace import Flow, trace_model
from .userimport import project_imports
from .variants import signature


class ImportFailed(Exception):
    """The file raised (or exited) while being imported."""

    def __init__(self, message: str, line: int | None = None, missing: bool = False):
        super().__init__(message)
        self.line = line
        self.missing = missing  # an ImportError: a dependency is not installed here


class ConstructionFailed(Exception):
    """The model's constructor raised (on ``device``)."""

    def __init__(self, message: str, line: int | None = None, device: str = "cpu"):
        super().__init__(message)
        self.line = line
        self.device = device


class NotAModule(Exception):
    """The factory returned something that is not an nn.Module."""


def line_in(error: BaseException, path: str) -> int | None:
    """The deepest line of ``path`` the exception's traceback passed through."""
    found = None
    target = os.path.normcase(os.path.abspath(path))
    tb = error.__traceback__
    while tb is not None:
        if os.path.normcase(os.path.abspath(tb.tb_frame.f_code.co_filename)) == target:
            found = tb.tb_lineno
        tb = tb.tb_next
    if (
        found is None
        and isinstance(error, SyntaxError)
        and error.filename
        and os.path.normcase(os.path.abspath(error.filename)) == target
    ):
        found = error.lineno
    return found


_OWN_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(os.path.abspath(torch.__file__)),
)


def describe_exception(error: BaseException) -> str:
    """One line: the exception and the deepest place in user code it passed."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    where = ""
    tb = error.__traceback__
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if not tb.tb_frame.f_code.co_filename.startswith("<") and not filename.startswith(_OWN_DIRS):
            where = f" (at {os.path.basename(filename)}:{tb.tb_lineno})"
        tb = tb.tb_next
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"


def _module_name(path: str) -> tuple[str, str]:
    """(import root directory, dotted module name) for a file, honouring packages."""
    directory, filename = os.path.split(os.path.abspath(path))
    parts = [] if filename == "__init__.py" else [os.path.splitext(filename)[0]]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.insert(0, package)
    return directory, ".".join(parts) or "__initlint_module__"


def import_file(path: str) -> Any:
    """Import a user's file as the module it is, so its relative imports work.

    It and the project files it imports run from the bytes read now, never from
    bytecode (``userimport``).
    """
    imports = project_imports()
    root, name = _module_name(path)
    for entry in (root, os.path.dirname(os.path.abspath(path))):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    existing = sys.modules.get(name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") != os.path.abspath(path):
        name = f"__initlint__.{name}"  # would shadow an installed module
    try:
        if "." in name and not name.startswith("__initlint__"):
            importlib.import_module(name.rpartition(".")[0])
        spec = imports.spec(name, path)
        if spec is None or spec.loader is None:
            raise ImportFailed(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except ImportFailed:
        raise
    except BaseException as error:  # SystemExit included: user code may call sys.exit
        raise ImportFailed(describe_exception(error), line_in(error, path), isinstance(error, ImportError)) from error
    return module


def model_classes(module: Any, lines: dict[str, int]) -> list[tuple[str, type]]:
    """nn.Module subclasses defined in this file, in source order."""
    found = []
    for name, value in vars(module).items():
        if (
            isinstance(value, type)
            and issubclass(value, nn.Module)
            and value.__module__ == module.__name__
            and not inspect.isabstract(value)
        ):
            found.append((name, value))
    return sorted(found, key=lambda item: lines.get(item[0]) or _first_line(item[1]))


def _first_line(cls: type) -> int:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 0


# -- one model ------------------------------------------------------------------


class _Registrations:
    """Where each submodule was assigned (``self.fc = nn.Linear(...)``)."""

    def __init__(self, recorder: InitRecorder):
        self.sites: dict[int, Span] = {}
        self._recorder = recorder
        self._handle: RemovableHandle | None = None

    def __enter__(self) -> _Registrations:
        self._handle = nn.modules.module.register_module_module_registration_hook(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.remove()

    def _hook(self, parent: nn.Module, name: str, submodule: Any) -> None:
        if submodule is None or id(submodule) in self.sites:
            return
        frame, origin, _ = self._recorder.locate(sys._getframe(1))
        if frame is not None:
            self.sites[id(submodule)] = span_of_frame(frame)


# A model with more parameter and buffer elements than this is analysed on the
# meta device: at most 200 MB of float32 is ever allocated on the CPU.
CPU_BUDGET = 50_000_000


@dataclass
class Built:
    """A constructed model and what was recorded while building it."""

    model: nn.Module
    recorder: InitRecorder
    sites: dict[int, Span]
    device: str  # cpu | meta
    note: str = ""


@contextmanager
def _parameters_moved(recorder: InitRecorder, everything: bool) -> Iterator[None]:
    """Parameters go to the meta device as they are registered: every one (``everything``, as
    accelerate's ``init_empty_weights`` does), or those past the recorder's budget.

    Other tensors stay real, so constructors that compute with them
    (``[x.item() for x in torch.linspace(0, rate, depth)]``, rotary tables
    made from a buffer) work as on the CPU. Buffers stay real too: they are
    small, and the recorder's budget makes big ones on meta.
    """

    def moved(module: nn.Module, name: str, param: nn.Parameter | None) -> nn.Parameter | None:
        if param is None or param.is_meta or isinstance(param, UninitializedTensorMixin):
            return None
        copy = recorder.to_meta(param) if everything else recorder.admit(param)
        return copy if isinstance(copy, nn.Parameter) else None

    # torch's stub says the hook returns None; a returned Parameter replaces the one registered (documented).
    hook = register_module_parameter_registration_hook(moved)  # type: ignore[arg-type]
    try:
        yield
    finally:
        hook.remove()


class _Spilled(Exception):
    """A budgeted CPU build sent tensors to meta: the model is too big to build on the CPU."""


def _construct(factory: Callable[[], Any], user_files: list[str], path: str, device: str) -> Built:
    """Build with every parameter on meta (``meta``), on the CPU, or (``budget``) on the CPU until
    tensors or parameters would pass CPU_BUDGET, which raises _Spilled before allocating them."""
    budgeted = device in ("meta", "budget")
    recorder = InitRecorder(user_files, real_budget=CPU_BUDGET if budgeted else None)
    registrations = _Registrations(recorder)
    moving = _parameters_moved(recorder, everything=device == "meta") if budgeted else nullcontext()
    try:
        with warnings.catch_warnings(), registrations, recorder, moving:
            warnings.simplefilter("ignore")
            torch.manual_seed(0)  # the same weights on every run: values measured from them are reproducible
            model = factory()
    except BaseException as error:
        if device == "budget" and recorder.spilled:
            raise _Spilled from error
        raise ConstructionFailed(
            describe_exception(error), line_in(error, path) if path else None, "meta" if device == "meta" else "cpu"
        ) from error
    if device == "budget" and recorder.spilled:
        raise _Spilled
    if not isinstance(model, nn.Module):
        raise NotAModule(type(model).__name__)
    return Built(model, recorder, registrations.sites, "meta" if device == "meta" else "cpu")


def build_model(factory: Callable[[], Any], user_files: list[str], path: str = "", device: str = "cpu") -> Built:
    """Build a model while recording its init, on the device the option (and its size) calls for.

    ``auto`` decides before allocating: it builds on the CPU while the
    tensors that calls would make (sized on meta first) and the parameters
    registered stay within CPU_BUDGET elements; a model that would pass it
    is built again with its parameters on the meta device, where any size
    costs little memory, and its inits are judged analytically.
    """
    if device == "cpu":
        return _construct(factory, user_files, path, "cpu")
    if device == "auto":
        try:
            return _construct(factory, user_files, path, "budget")
        except _Spilled:
            pass
    built = _construct(factory, user_files, path, "meta")
    if device == "auto":
        size = _elements(built.model)
        built.note = (
            f"built on the meta device: {_count(size)} parameters exceed the {_count(CPU_BUDGET)} CPU budget"
            if size > CPU_BUDGET
            else f"built on the meta device: building it on the CPU allocates more than {_count(CPU_BUDGET)} elements"
        )
    else:
        built.note = "built on the meta device (--device meta)"
    built.note += "; inits judged analytically"
    _library_init_on_meta(built)
    return built


def _elements(model: nn.Module) -> int:
    tensors = {storage_key(t): t.numel() for t in (*model.parameters(), *model.buffers())}
    return sum(tensors.values())


def _count(n: int) -> str:
    """1.2B, 50M, 300K."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _library_init_on_meta(built: Built) -> None:
    """transformers skips ``_init_weights`` under a meta device context: run it here, analytically.

    Its init calls are then recorded as the library's, as they would be on the CPU.
    """
    model = built.model
    initialize = getattr(model, "initialize_weights", None)
    if not callable(initialize) or not hasattr(model, "_init_weights"):
        return
    library_steps = any(
        step.origin == LIBRARY for p in model.parameters() for step in built.recorder.param_init(p).steps
    )
    if library_steps:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with built.recorder:
                initialize()
        built.note += "; the library's own init, which it skips there, was run analytically"
    except Exception as error:
        built.note += f"; the library skipped its init there and running it failed ({describe_exception(error)})"


def _weight_of(module: nn.Module) -> torch.Tensor | None:
    """The weight whose fans are judged: the one knowledge names for a torch layer, else ``weight``."""
    row = ops.torch_class(module)
    value = getattr(module, row.weight if row is not None and row.weight else "weight", None)
    return value if isinstance(value, torch.Tensor) and value.dim() >= 2 else None


def _initialised(module: nn.Module, weight: torch.Tensor) -> torch.Tensor:
    """The tensor whose init is the weight's: a parametrized weight is computed on every access from
    its original (weight norm's ``v``: equal to the weight at init), which is what the init wrote."""
    if not parametrize.is_parametrized(module, "weight"):
        return weight
    originals = getattr(getattr(module, "parametrizations", None), "weight", None)
    if not isinstance(originals, nn.Module):
        return weight
    same_shape = [p for p in originals.parameters(recurse=False) if p.shape == weight.shape]
    return same_shape[0] if len(same_shape) == 1 else weight


def _int_attribute(module: nn.Module, name: str) -> int:
    """A layer's integer setting (``groups``, ``hidden_size``): plain attributes, not submodules."""
    return int(getattr(module, name))


def _int_tuple_attribute(module: nn.Module, name: str) -> tuple[int, ...]:
    return tuple(int(v) for v in getattr(module, name))


def _fans(module: nn.Module, kind: str, shape: tuple[int, ...], input_major: bool | None) -> theory.Fans:
    return layer_fans(
        kind,
        shape,
        groups=_int_attribute(module, "groups") if kind in (CONV, CONV_TRANSPOSE) else 1,
        stride=_int_tuple_attribute(module, "stride") if kind == CONV_TRANSPOSE else (),
        recurrent_mode=_recurrent_mode(module) if kind == RECURRENT else "",
        input_major=bool(input_major),
    )


def _recurrent_mode(module: nn.Module) -> str:
    """LSTM, GRU, RNN_TANH, RNN_RELU (nn.RNNBase.mode), or the cell's class name."""
    return str(getattr(module, "mode", type(module).__name__))


def layer_facts(
    name: str,
    module: nn.Module,
    kind: str,
    recorder: InitRecorder,
    sites: dict[int, Span],
    pairing: Pairing | None,
) -> LayerFacts | None:
    weight = _weight_of(module)
    if weight is None:
        return None
    bias = getattr(module, "bias", None)
    input_major = probes.input_major(module, weight) if kind == "custom" else None
    return shared_layer_facts(
        name,
        type(module).__name__,
        kind,
        recorder.param_init(_initialised(module, weight)),
        recorder.param_init(bias) if isinstance(bias, torch.Tensor) else None,
        _fans(module, kind, tuple(weight.shape), input_major),
        pairing,
        site=sites.get(id(module)),
        assigned=sites.get(id(module)),
        groups=_int_attribute(module, "groups") if kind in (CONV, CONV_TRANSPOSE) else 1,
        layout_known=kind != "custom" or input_major is not None or weight.shape[0] == weight.shape[1],
        recurrent=(_recurrent_mode(module), _int_attribute(module, "hidden_size")) if kind == RECURRENT else None,
        params=tuple((n, recorder.param_init(p)) for n, p in module.named_parameters(recurse=False))
        if kind in (RECURRENT, ATTENTION)
        else (),
        scale_free=probes.scale_free(module, kind),
    )


def functional_layer_facts(
    model: nn.Module, name: str, details: FunctionalLayer, recorder: InitRecorder, pairing: Pairing | None
) -> LayerFacts | None:
    """A parameter used as a weight by ``F.linear``/``F.conv*`` in a forward."""
    try:
        weight = model.get_parameter(name)
    except AttributeError:
        return None
    if weight.dim() < 2:
        return None
    init = recorder.param_init(weight)
    bias = None
    if details.bias:
        try:
            bias = recorder.param_init(model.get_parameter(details.bias))
        except AttributeError:
            bias = None
    fans = layer_fans(details.kind, tuple(weight.shape), groups=details.groups, stride=details.stride)
    return shared_layer_facts(
        name,
        details.call,
        details.kind,
        init,
        bias,
        fans,
        pairing,
        site=next((s.site for s in init.steps if s.site), None),
        groups=details.groups,
    )


def _layers(
    model: nn.Module, built: Built, pairings: dict[str, Pairing], functional: dict[str, FunctionalLayer]
) -> list[LayerFacts]:
    """The model's weight layers: modules, then parameters used by ``F.linear``/``F.conv*`` in a
    forward, unless that parameter is already a listed module's weight (one layer, listed once)."""
    layers = []
    listed_weights: set[str] = set()
    for qualname, module in model.named_modules():
        kind = ops.layer_kind(module)
        facts = (
            layer_facts(qualname, module, kind, built.recorder, built.sites, pairings.get(qualname)) if kind else None
        )
        if facts is not None:
            layers.append(facts)
            listed_weights.add(f"{qualname}.weight" if qualname else "weight")
    for name, details in functional.items():
        if name in listed_weights:
            continue
        facts = functional_layer_facts(model, name, details, built.recorder, pairings.get(name))
        if facts is not None:
            layers.append(facts)
    return layers


def _class_key(cls: type) -> tuple[str, str] | None:
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return None
    return os.path.normcase(os.path.abspath(filename)), cls.__qualname__


def analyze_model(
    path: str,
    name: str,
    line: int,
    factory: Callable[[], Any],
    user_files: list[str],
    accept_other: bool = False,
    model_kind: str | None = None,
    device: str = "cpu",
    built_by: str = "no-arguments",
    built_at: Span | None = None,
) -> ModelFacts | None:
    """Build, record, trace and describe one model.

    With ``accept_other``, a factory that returns something other than a
    module gives None (it was not a model factory after all).
    """
    try:
        built = build_model(factory, user_files, path, device)
    except NotAModule:
        if accept_other:
            return None
        problem = AnalysisProblem(
            ProblemKind.CONSTRUCTION_ERROR, f"{name}() did not return an nn.Module", Span(path, line, 1, line, 1)
        )
        return ModelFacts(path, name, line, ERROR, problem.message, error=problem, built_by=built_by, built_at=built_at)
    except ConstructionFailed as error:
        where = error.line or line
        message = f"{name}() raised {error}"
        if error.device == "meta":
            message += (
                " while built on the meta device, where parameters hold no values; --device cpu builds it for real"
            )
        problem = AnalysisProblem(ProblemKind.CONSTRUCTION_ERROR, message, Span(path, where, 1, where, 1))
        return ModelFacts(
            path, name, line, ERROR, str(problem.message), error=problem, built_by=built_by, built_at=built_at
        )
    model = built.model
    flow = _trace(model)
    pairings, functional = _pairings(flow)
    layers = _measured(model, _layers(model, built, pairings, functional))
    # Classes inside it are building blocks judged here; so is its own class when something other
    # than the class's own check built it (a factory, a configured entry, a script's construction).
    components = frozenset(
        key
        for m in model.modules()
        if m is not model or built_by in BUILT_ELSEWHERE
        for key in [_class_key(type(m))]
        if key is not None
    )
    attributes = tuple((child, built.sites[id(m)]) for child, m in model.named_children() if id(m) in built.sites)
    detail = "; ".join(d for d in (flow.detail, built.note) if d)
    return ModelFacts(
        path,
        name,
        line,
        flow.status,
        detail,
        tuple(layers),
        component_classes=components,
        attributes=attributes,
        kind=model_kind or ("class" if isinstance(factory, type) else "factory"),
        built_by=built_by,
        built_at=built_at,
        signal=signal_nodes(flow.graphs),
    )


def _measured(model: nn.Module, layers: list[LayerFacts]) -> list[LayerFacts]:
    """The layers with the RMS one forward at init measured at their input and output (``measure``).

    None is measured when a parameter was made with torch.empty and never written (IL303): a forward
    through it measures whatever memory held, which changes from process to process and run to run.
    """
    if any(
        init is not None and init.family == "uninitialized"
        for layer in layers
        for init in (layer.weight, layer.bias, *(param for _, param in layer.params))
    ):
        return layers
    found = measure.layer_rms(model, [layer.name for layer in layers])
    return [
        replace(layer, input_rms=m.input_rms, measured_rms=m.output_rms) if (m := found.get(layer.name)) else layer
        for layer in layers
    ]


def _trace(model: nn.Module) -> Flow:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return trace_model(model)
        except Exception as error:  # tracing is best effort: report, keep the init facts
            return Flow((), PARTIAL, f"could not trace: {describe_exception(error)}")


def _pairings(flow: Flow) -> tuple[dict[str, Pairing], dict[str, FunctionalLayer]]:
    """Every layer's pairing over all its calls in the flow's graphs, and the functional layers."""
    functional: dict[str, FunctionalLayer] = {}
    for graph in flow.graphs:
        functional.update(graph.functional)
    return pair_layers(flow.graphs), functional


def skipped_model(path: str, name: str, line: int, missing: list[str]) -> ModelFacts:
    detail = f"constructor needs arguments: {', '.join(missing)}"
    return ModelFacts(path, name, line, SKIPPED, detail, needs=tuple(missing))


def _resolve(module: Any, dotted: str) -> Any:
    value = module
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def analyze_file(
    path: str,
    user_files: list[str],
    skip: frozenset[str] = frozenset(),
    lines: dict[str, int] | None = None,
    specs: tuple[ModelSpec, ...] = (),
    device: str = "cpu",
) -> Iterator[tuple[str, Any]]:
    """Events for one file: ("models", [names]), ("start", (name, line)),
    ("model", ModelFacts), ("dropped", name) for a factory that built no module.

    Raises ImportFailed when the file cannot be imported.
    """
    module = import_file(path)
    lines = lines or {}
    configured = {spec.attribute for spec in specs} | {spec.replaces for spec in specs if spec.replaces}
    classes = [(name, cls) for name, cls in model_classes(module, lines) if name not in configured]
    yield "models", [name for name, _ in classes] + [spec.name for spec in specs]
    for name, cls in classes:
        if name in skip:
            continue
        line = lines.get(name) or _first_line(cls)
        missing = required_arguments(cls)
        recipe = config_recipe(cls) if missing else None
        if missing and recipe is None:
            yield "model", skipped_model(path, name, line, missing)
            continue
        yield "start", (name, line)
        if recipe is None:
            yield "model", analyze_model(path, name, line, cls, user_files, device=device)
            continue
        configs, built_by = recipe  # GPT(config) with a GPTConfig whose fields all have defaults
        factory = build_with(cls, configs)
        yield (
            "model",
            analyze_model(path, name, line, factory, user_files, model_kind="class", device=device, built_by=built_by),
        )
    analysed: dict[str, str] = {}  # signature -> the first factory that built it
    for spec in specs:
        if spec.name in skip:
            continue
        yield "start", (spec.name, spec.line)
        try:
            target = _resolve(module, spec.attribute)
        except AttributeError:
            problem = AnalysisProblem(
                ProblemKind.CONSTRUCTION_ERROR,
                f"{spec.attribute} is not defined in this file",
                Span(path, max(spec.line, 1), 1, max(spec.line, 1), 1),
            )
            yield "model", ModelFacts(path, spec.name, spec.line, ERROR, problem.message, error=problem)
            continue
        line = spec.line or _first_line(target)
        kwargs = dict(spec.kwargs)
        model_kind = "class" if isinstance(target, type) else "factory"
        built_at = Span(path, line, 1, line, 1) if spec.built_by == "call-site" else None
        build = functools.partial(target, **kwargs)
        probe = _signature(build, user_files, path) if len(specs) > 1 else None
        if probe is not None and probe in analysed:
            detail = f"builds the same model as {analysed[probe]} (class, layers, settings and init): judged with it"
            yield (
                "model",
                ModelFacts(path, spec.name, line, VARIANT, detail, built_by=spec.built_by, variant_of=analysed[probe]),
            )
            continue
        facts = analyze_model(
            path,
            spec.name,
            line,
            build,
            user_files,
            accept_other=True,
            model_kind=model_kind,
            device=device,
            built_by=spec.built_by,
            built_at=built_at,
        )
        if facts is not None and probe is not None and facts.status != ERROR:
            analysed[probe] = spec.name
        yield ("dropped", spec.name) if facts is None else ("model", facts)


def _signature(build: Callable[[], Any], user_files: list[str], path: str) -> str | None:
    """The model a factory builds, summarised from a build on the meta device (``variants``);
    None when it cannot be built there or builds no module (it is then analysed as it is)."""
    try:
        built = build_model(build, user_files, path, "meta")
    except (ConstructionFailed, NotAModule):
        return None
    return signature(built.model, built.recorder)
