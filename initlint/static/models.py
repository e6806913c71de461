"""Each model class of a file: build it, follow its forward, and describe it as ``ModelFacts``."""

from __future__ import annotations

import ast
import os

from ..shared.facts import SKIPPED, STATIC, ModelFacts
from ..shared.positions import Positions
from . import layers
from .construct import Builder, torch_base
from .describe import layer_facts
from .forward import FlowBuilder
from .objects import named_modules, unique_children
from .pairing import pair_layers
from .runtime import GiveUp
from .values import ClassInfo


def required_arguments(cls: ClassInfo) -> list[str] | None:
    """Constructor parameters without defaults; None when the constructor is in another file."""
    for c in cls.mro():
        if isinstance(c, ClassInfo) and "__init__" in c.methods:
            spec = c.methods["__init__"].args
            positional = [*spec.posonlyargs, *spec.args][1:]
            missing = [a.arg for a in positional[: len(positional) - len(spec.defaults)]]
            missing += [a.arg for a, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is None]
            return missing
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


def model_facts(path: str, cls: ClassInfo, positions: Positions) -> ModelFacts:
    """Static facts of one model class."""
    line = cls.node.lineno
    missing = required_arguments(cls)
    if missing is None:
        return ModelFacts(path, cls.name, line, STATIC, "its constructor is defined in another file: not followed")
    if missing:
        detail = f"constructor needs arguments: {', '.join(missing)}"
        return ModelFacts(path, cls.name, line, SKIPPED, detail, needs=tuple(missing))
    try:
        return _analysed(path, cls, positions, line)
    except (GiveUp, RecursionError) as error:
        return ModelFacts(path, cls.name, line, STATIC, f"constructor not followed: {_reason(error)}")
    except Exception as error:  # a bug here must cost one model, never the file; the detail says so
        return ModelFacts(
            path, cls.name, line, STATIC, f"internal error in static analysis: {type(error).__name__}: {error}"
        )


def _analysed(path: str, cls: ClassInfo, positions: Positions, line: int) -> ModelFacts:
    root = Builder(positions).build(cls)
    names = {id(module): name for name, module in named_modules(root)}
    detail, pairings = "", {}
    try:
        flow = FlowBuilder(names).trace(root, cls.node)
        pairings = pair_layers(flow) if flow is not None else {}
    except (GiveUp, RecursionError) as error:
        detail = f"forward not followed: {_reason(error)}"
    components = frozenset(
        (os.path.normcase(os.path.abspath(path)), module.cls.name)
        for _, module in named_modules(root)
        if module is not root and isinstance(module.cls, ClassInfo)
    )
    attributes = tuple((name, child.assigned) for name, child in unique_children(root) if child.assigned is not None)
    return ModelFacts(
        path,
        cls.name,
        line,
        STATIC,
        detail,
        layer_facts(root, pairings),
        component_classes=components,
        attributes=attributes,
    )


def _reason(error: BaseException) -> str:
    return "nesting too deep" if isinstance(error, RecursionError) else str(error)
