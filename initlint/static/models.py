"""Each model of a file: build it (a class with no arguments or from config defaults), follow its forward,
and describe it as ``ModelFacts``."""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..shared.facts import BUILT_ELSEWHERE, SKIPPED, STATIC, ModelFacts, SignalNode, Span
from ..shared.positions import Positions
from ..shared.signal import signal_nodes
from . import instances, layers
from .construct import NO_ARGUMENTS, Builder, torch_base
from .describe import layer_facts
from .forward import FlowBuilder
from .objects import ModuleObj, named_modules, unique_children
from .pairing import pair_layers
from .recipes import config_recipe
from .runtime import GiveUp
from .values import Args, ClassInfo, DictVal, Instance, ListVal


def required_arguments(cls: ClassInfo) -> list[str] | None:
    """Constructor parameters without defaults; None when the constructor is in another file."""
    for c in cls.mro():
        if isinstance(c, ClassInfo) and "__init__" in c.methods:
            return instances.required_parameters(c.methods["__init__"])
        if not isinstance(c, ClassInfo):
            base = torch_base(cls)
            spec_ = layers.spec_of(base.name) if base is not None and base.name != "torch.nn.Module" else None
            if base is None or spec_ is not None and not spec_.known_bases:
                return None
            return spec_.required() if spec_ is not None else []
    return []


def is_abstract(cls: ClassInfo) -> bool:
    """The class (or a base of it in the file) leaves an abstract method unimplemented."""
    seen: set[str] = set()
    for c in cls.mro():
        if not isinstance(c, ClassInfo):
            continue
        for item in c.node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name not in seen:
                seen.add(item.name)
                if any(_is_abstract_decorator(d) for d in item.decorator_list):
                    return True
    return False


def _is_abstract_decorator(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "abstractmethod") or (
        isinstance(node, ast.Attribute) and node.attr == "abstractmethod"
    )


@dataclass(frozen=True)
class Construction:
    """How a model was built, as its facts say: its name and line, ``built_by``/``built_at`` and kind."""

    name: str
    line: int
    built_by: str = "no-arguments"
    built_at: Span | None = None  # a script's construction statement
    kind: str = "class"  # factory for a script's build: no __init__ of its own to insert fixes into

    def facts(self, path: str, status: str, detail: str, **more: Any) -> ModelFacts:
        return ModelFacts(
            path, self.name, self.line, status, detail, kind=self.kind, built_by=self.built_by,
            built_at=self.built_at, **more,
        )  # fmt: skip


def model_facts(path: str, cls: ClassInfo, positions: Positions, classes: Sequence[ClassInfo]) -> ModelFacts:
    """Static facts of one model class, built with no arguments or from config defaults (``recipes``);
    ``classes`` are the file's top-level classes, where its config class is found."""
    line = cls.node.lineno
    missing = required_arguments(cls)
    if missing is None:
        return ModelFacts(path, cls.name, line, STATIC, "its constructor is defined in another file: not followed")
    recipe = config_recipe(cls, missing, classes) if missing else None
    if missing and recipe is None:
        detail = f"constructor needs arguments: {', '.join(missing)}"
        return ModelFacts(path, cls.name, line, SKIPPED, detail, needs=tuple(missing))
    how = Construction(cls.name, line, recipe.built_by if recipe is not None else "no-arguments")
    builder = Builder(positions)
    try:
        arguments = Args((), {p: _config(builder, c, cls) for p, c in recipe.configs}) if recipe else NO_ARGUMENTS
        root = builder.build(cls, arguments)
    except (GiveUp, RecursionError) as error:
        return not_followed(path, how, error)
    except Exception as error:  # a bug here must cost one model, never the file; the detail says so
        return internal_error(path, how, error)
    return described(path, how, root)


def configured_model_facts(
    path: str, cls: ClassInfo, name: str, kwargs: Mapping[str, Any], positions: Positions
) -> ModelFacts:
    """Static facts of a model a ``[tool.initlint] models`` entry builds: the class with the entry's
    keyword arguments (TOML values: numbers, strings, booleans, lists and tables)."""
    how = Construction(name, cls.node.lineno, "config")
    builder = Builder(positions)
    try:
        root = builder.build(cls, Args((), {key: _value(v) for key, v in kwargs.items()}))
    except (GiveUp, RecursionError) as error:
        return not_followed(path, how, error)
    except Exception as error:  # a bug here must cost one model, never the file; the detail says so
        return internal_error(path, how, error)
    return described(path, how, root)


def _value(toml: Any) -> Any:
    """A TOML value as the interpreter holds it."""
    if isinstance(toml, list):
        return ListVal([_value(item) for item in toml])
    if isinstance(toml, dict):
        return DictVal({key: _value(item) for key, item in toml.items()})
    return toml


def _config(builder: Builder, config: ClassInfo, model: ClassInfo) -> Instance:
    made = instances.make(builder, config, NO_ARGUMENTS, model.node)
    if made is None:  # recipes chose it because it can be made
        raise GiveUp(f"cannot make {config.name}()", model.node)
    return made


def not_followed(path: str, how: Construction, error: BaseException) -> ModelFacts:
    """A model whose construction static mode could not follow: nothing of it is judged."""
    return how.facts(path, STATIC, f"constructor not followed: {_reason(error)}")


def internal_error(path: str, how: Construction, error: Exception) -> ModelFacts:
    return how.facts(path, STATIC, f"internal error in static analysis: {type(error).__name__}: {error}")


def described(path: str, how: Construction, root: ModuleObj) -> ModelFacts:
    """The facts of a built model: its forward followed, its layers described."""
    try:
        return _described(path, how, root)
    except Exception as error:  # a bug here must cost one model, never the file; the detail says so
        return internal_error(path, how, error)


def _described(path: str, how: Construction, root: ModuleObj) -> ModelFacts:
    assert isinstance(root.cls, ClassInfo)
    modules = named_modules(root)  # a forward never changes the module tree: one walk serves all below
    names = {id(module): qualified for qualified, module in modules}
    detail, pairings = "", {}
    dataflow: tuple[SignalNode, ...] = ()
    try:
        flow = FlowBuilder(names).trace(root, root.cls.node)
        pairings = pair_layers(flow) if flow is not None else {}
        dataflow = signal_nodes((flow,)) if flow is not None else ()
    except (GiveUp, RecursionError) as error:
        detail = f"forward not followed: {_reason(error)}"
    # Classes inside it are building blocks judged here; so is its own class when something other
    # than the class's own check built it (a script's construction), as full mode says.
    here = os.path.normcase(os.path.abspath(path))
    components = frozenset(
        (here, module.cls.name)
        for _, module in modules
        if (module is not root or how.built_by in BUILT_ELSEWHERE) and isinstance(module.cls, ClassInfo)
    )
    attributes = tuple((child_name, c.assigned) for child_name, c in unique_children(root) if c.assigned is not None)
    layers = layer_facts(root, modules, pairings)
    return how.facts(
        path, STATIC, detail, layers=layers, component_classes=components, attributes=attributes, signal=dataflow
    )


def _reason(error: BaseException) -> str:
    return "nesting too deep" if isinstance(error, RecursionError) else str(error)
